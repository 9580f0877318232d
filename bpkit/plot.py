"""Pictures for the course, drawn with matplotlib only (no graphviz binary).

``draw_graph`` shows a ``Value`` or ``Tensor`` computation graph with each
node's op, value and gradient; ``loss_curve``, ``decision_boundary``,
``landscape`` (contours + optimizer paths), ``gradient_flow`` (gradient norm
per layer) and ``activation_histograms`` show training.

Every function accepts ``ax=None`` (it makes a figure when none is given),
labels its axes, sets a title and returns what it drew on: an ``Axes``, or a
``Figure`` when it draws several panels. Colours are the Okabe-Ito palette
(Okabe & Ito 2008, "Color Universal Design"), readable with the common forms
of colour blindness; heat maps and contours use viridis, which is too.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.colors import LogNorm, to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

from bpkit.graph import topological_order
from bpkit.scalar import Value
from bpkit.tensor import Tensor

__all__ = [
    "CMAP",
    "MAX_GRAPH_NODES",
    "PALETTE",
    "activation_histograms",
    "decision_boundary",
    "draw_graph",
    "gradient_flow",
    "graph_layout",
    "landscape",
    "loss_curve",
]

#: Okabe-Ito colours: blue, orange, bluish green, vermillion, reddish purple, sky blue,
#: yellow, black. Use ``PALETTE[i % len(PALETTE)]`` for the i-th series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

#: Colormap for heat maps and filled contours (perceptually uniform, colour-blind safe).
CMAP = "viridis"

#: Graphs with more nodes than this are refused by ``draw_graph``: the boxes would be unreadable.
MAX_GRAPH_NODES = 60

_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<"]
_LEAF_COLOUR, _OP_COLOUR, _HIGHLIGHT_COLOUR = PALETTE[5], PALETTE[1], PALETTE[4]
_BOX_W, _BOX_H = 0.8, 0.66  # in data units; columns and rows are 1 apart


# --- shared helpers ---------------------------------------------------------------------


def _new_axes(ax, figsize):
    """The caller's Axes, or a fresh one on a new figure."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _as_float_array(x, what, func):
    """Numbers from an ndarray, list, Tensor, Value, or a list of Tensors/Values, as float64."""
    # Tensors and Values hold their numbers in .data (numpy scalars have a .data too: a buffer).
    if isinstance(x, (Tensor, Value)):
        x = x.data
    if isinstance(x, (list, tuple)):
        x = [v.data if isinstance(v, (Tensor, Value)) else v for v in x]
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{func}: {what} must be numbers (a list, an ndarray or a Tensor), "
            f"got {type(x).__name__}"
        ) from None


def _count_arg(value, name, func):
    """A positive int argument, or an error naming ``func``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{func}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _named(series, what, func):
    """A dict name -> value from a dict (kept in order) or a single unnamed value (name None)."""
    if isinstance(series, dict):
        if not series:
            raise ValueError(f"{func}: {what} is an empty dict")
        return {str(k): v for k, v in series.items()}
    return {None: series}


# --- computation graphs -------------------------------------------------------------------


def graph_layout(root):
    """Where ``draw_graph`` puts each node: ``[(node, (column, row)), ...]`` in topological order.

    An op's column is the length of the longest path to it from a leaf, so
    every arrow points right. A leaf sits one column left of the first op
    that uses it (rather than all in column 0), which keeps arrows short.
    Within a column nodes go top to bottom in topological order, centred on
    row 0. The same graph always gets the same layout.
    """
    if not hasattr(root, "_parents"):
        raise TypeError(
            f"draw_graph: root must be a bpkit Value or Tensor, got {type(root).__name__}"
        )
    order = topological_order(root)
    depth = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
    leaf_column = {}  # a leaf goes just left of its leftmost user
    for node in order:
        for parent in node.parents:
            if not parent.parents:
                key = id(parent)
                leaf_column[key] = min(leaf_column.get(key, math.inf), depth[id(node)] - 1)
    column = {**depth, **leaf_column}
    columns = {}
    for node in order:
        columns.setdefault(column[id(node)], []).append(node)
    position = {}
    for col, members in columns.items():
        for i, node in enumerate(members):
            position[id(node)] = (float(col), (len(members) - 1) / 2 - i)
    return [(node, position[id(node)]) for node in order]


def _fmt(x):
    return f"{x:.4g}"


def _node_lines(node, show_grad):
    """The text in a node's box: name/op, then value and gradient (or shape and norms)."""
    label, op = getattr(node, "label", ""), node.op
    if op:
        head = f"{label}: {op}" if label else op
    else:
        head = label or "leaf"
    lines = [head]
    if hasattr(node, "shape"):  # a Tensor: one number if it holds one, else shape and norms
        data = np.asarray(node.data)
        grad = node.grad
        if data.size == 1:
            lines.append(f"data {_fmt(float(data.reshape(())))}")
            if show_grad:
                grad_text = "None" if grad is None else _fmt(float(np.asarray(grad).reshape(())))
                lines.append(f"grad {grad_text}")
        else:
            # NB: ||.|| is the Frobenius norm, the 2-norm of all entries.
            lines.append("shape " + "x".join(str(s) for s in data.shape))
            lines.append(f"||data|| {_fmt(float(np.linalg.norm(data)))}")
            if show_grad:
                grad_text = "None" if grad is None else _fmt(float(np.linalg.norm(grad)))
                lines.append(f"||grad|| {grad_text}")
    else:
        lines.append(f"data {_fmt(node.data)}")
        if show_grad:
            lines.append(f"grad {_fmt(node.grad)}")
    return lines


def draw_graph(
    root, ax=None, highlight=None, show_grad=True, title=None, max_nodes=MAX_GRAPH_NODES
):
    """Draw the graph that computed ``root`` (a Value or Tensor), inputs left, ``root`` right.

    Each node is a box holding its label and op (``leaf`` for an input), its
    value and gradient; Tensors show their shape and the norms of data and
    grad unless they hold a single number. Arrows go from each input to the
    op that used it (two parallel arrows for a node used twice). Leaves are
    sky blue, ops orange. ``highlight`` (a node, or a list of nodes) draws
    those boxes in reddish purple with a thick black edge and bold text: the
    backprop stepper uses it to show the node being processed (to redraw on
    the same Axes, call ``ax.clear()`` first). Positions come from
    ``graph_layout``.

    Graphs larger than ``max_nodes`` are refused with a ValueError. Returns
    the Axes. Boxes carry gid ``"node"``, their texts ``"node-text"`` and
    arrows ``"edge"``.
    """
    layout = graph_layout(root)
    if len(layout) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(layout)} nodes, more than max_nodes={max_nodes} "
            "can show readably; draw a smaller graph (one neuron, one layer, or the Tensor "
            "version of the computation) or pass a larger max_nodes"
        )
    where = {id(node): xy for node, xy in layout}
    marked = set()
    if highlight is not None:
        chosen = (
            list(highlight) if isinstance(highlight, (list, tuple, set, frozenset)) else [highlight]
        )
        for node in chosen:
            if id(node) not in where:
                raise ValueError(
                    f"draw_graph: highlight {type(node).__name__} "
                    f"{getattr(node, 'label', '') or '(unlabelled)'} is not a node of the graph"
                )
            marked.add(id(node))

    texts = {id(node): _node_lines(node, show_grad) for node, _ in layout}
    n_cols = 1 + int(max(x for x, _ in where.values()))
    n_rows = max(sum(1 for x, _ in where.values() if x == col) for col in range(n_cols))
    n_lines = max(len(lines) for lines in texts.values())
    row_inches = 0.45 + 0.16 * n_lines
    ax = _new_axes(ax, figsize=(0.6 + 1.9 * n_cols, 0.8 + row_inches * n_rows))

    for node, (x, y) in layout:
        is_marked = id(node) in marked
        colour = _HIGHLIGHT_COLOUR if is_marked else (_OP_COLOUR if node.parents else _LEAF_COLOUR)
        box = FancyBboxPatch(
            (x - _BOX_W / 2, y - _BOX_H / 2),
            _BOX_W,
            _BOX_H,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=to_rgba(colour, 0.75 if is_marked else 0.35),
            edgecolor="black" if is_marked else "0.35",
            linewidth=2.5 if is_marked else 1.0,
            gid="node",
            zorder=2,
        )
        ax.add_patch(box)
        ax.text(
            x,
            y,
            "\n".join(texts[id(node)]),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold" if is_marked else "normal",
            gid="node-text",
            zorder=3,
        )

    for node, (x, y) in layout:
        parents = node.parents
        for k, parent in enumerate(parents):
            px, py = where[id(parent)]
            # A parent used m times (b = a + a) gets m parallel arrows, so each use shows.
            same = [j for j, p in enumerate(parents) if p is parent]
            shift = 0.0 if len(same) == 1 else 0.2 * (same.index(k) - (len(same) - 1) / 2)
            ax.add_patch(
                FancyArrowPatch(
                    (px + _BOX_W / 2, py - shift),
                    (x - _BOX_W / 2, y - shift),
                    arrowstyle="-|>",
                    mutation_scale=10,
                    color="0.3",
                    linewidth=1.0,
                    shrinkA=0,
                    shrinkB=1,
                    gid="edge",
                    zorder=1,
                )
            )

    ax.set_xlim(-0.55, n_cols - 0.45)
    ax.set_ylim(-n_rows / 2, n_rows / 2)
    ax.set_axis_off()  # positions carry no units: columns are steps from the inputs
    if title is None:
        name = getattr(root, "label", "") or root.op or "leaf"
        title = f"Computation graph of {name} ({len(layout)} nodes)"
    ax.set_title(title)
    return ax


# --- training curves -------------------------------------------------------------------


def loss_curve(history, ax=None, logy=False, xlabel="step", ylabel="loss", title="Training loss"):
    """Plot loss against step: ``history`` is a list of numbers, or a dict name -> list (legend).

    Point i of a series is drawn at x = i. ``logy=True`` uses a log y axis,
    where slow late progress stays visible. Returns the Axes.
    """
    curves = _named(history, "history", "loss_curve")
    ax = _new_axes(ax, figsize=(6, 4))
    for i, (name, values) in enumerate(curves.items()):
        values = _as_float_array(values, "history", "loss_curve")
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                "loss_curve: each history must be a non-empty 1-D sequence, "
                f"got shape {values.shape}" + (f" for {name!r}" if name else "")
            )
        if logy and not (values > 0).any():
            raise ValueError("loss_curve: logy=True needs positive values to show")
        ax.plot(
            np.arange(values.size),
            values,
            color=PALETTE[i % len(PALETTE)],
            label=name or ylabel,
            linewidth=1.5,
        )
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1 or None not in curves:
        ax.legend()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


# --- decision boundaries --------------------------------------------------------------


def decision_boundary(
    predict,
    X,
    y,
    ax=None,
    resolution=200,
    margin=0.5,
    colorbar=True,
    title="Decision boundary",
    xlabel="$x_1$",
    ylabel="$x_2$",
):
    """Colour the plane by ``predict``'s answer and scatter the points ``X`` by class ``y``.

    ``predict`` maps an (m, 2) ndarray of grid points to one of:
    integer labels (m,) -> regions coloured by class; scores (m, k), k > 1 ->
    regions by argmax (class index); one float score (m,) or (m, 1) ->
    filled contours of the score (viridis) with the decision boundary as a
    black line, at 0.5 when every score lies in [0, 1] (probabilities), else
    at 0 (logits, tanh outputs). It may return a Tensor. Returns the Axes.
    """
    func = "decision_boundary"
    X = _as_float_array(X, "X", func)
    y = np.asarray(y.data if hasattr(y, "shape") and not isinstance(y, np.ndarray) else y)
    if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
        y = y.astype(np.int64)  # float labels such as 1.0: show "class 1", not "class 1.0"
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{func}: X must have shape (n, 2), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"{func}: y must have shape ({len(X)},) to match X, got {y.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{func}: X contains NaN or inf")
    resolution = _count_arg(resolution, "resolution", func)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    out = predict(grid)
    out = np.asarray(out.data if hasattr(out, "shape") and not isinstance(out, np.ndarray) else out)
    m = grid.shape[0]
    if out.shape not in ((m,), (m, 1)) and not (out.ndim == 2 and out.shape[0] == m):
        raise ValueError(
            f"{func}: predict returned shape {out.shape} for {m} grid points "
            f"of shape {grid.shape}; expected ({m},) labels or scores, or ({m}, k) class scores"
        )
    classes = np.unique(y)
    ax = _new_axes(ax, figsize=(5.5, 4.5))
    colours = [PALETTE[i % len(PALETTE)] for i in range(max(len(classes), 1))]

    if out.ndim == 2 and out.shape[1] > 1:
        region = np.argmax(out, axis=1)
        k = out.shape[1]
        region_colours = [PALETTE[i % len(PALETTE)] for i in range(k)]
        ax.contourf(
            gx,
            gy,
            region.reshape(gx.shape),
            levels=np.arange(k + 1) - 0.5,
            colors=region_colours,
            alpha=0.3,
        )
    elif out.dtype.kind in "biu":
        # Labels: colour each region like the class with that label in y.
        flat = out.ravel()
        index = np.clip(np.searchsorted(classes, flat), 0, len(classes) - 1)
        if not (classes[index] == flat).all():
            raise ValueError(
                f"{func}: predict returned labels that are not among y's classes {classes.tolist()}"
            )
        ax.contourf(
            gx,
            gy,
            index.reshape(gx.shape),
            levels=np.arange(len(classes) + 1) - 0.5,
            colors=colours,
            alpha=0.3,
        )
    else:
        score = out.astype(np.float64).reshape(gx.shape)
        finite = score[np.isfinite(score)]
        if finite.size == 0:
            raise ValueError(f"{func}: predict returned no finite scores")
        level = 0.5 if finite.min() >= 0.0 and finite.max() <= 1.0 else 0.0
        filled = ax.contourf(gx, gy, score, levels=20, cmap=CMAP, alpha=0.55)
        if finite.min() < level < finite.max():
            ax.contour(gx, gy, score, levels=[level], colors="black", linewidths=2)
        if colorbar:
            ax.figure.colorbar(filled, ax=ax, label=f"score (boundary at {level:g})")

    for i, c in enumerate(classes):
        members = y == c
        ax.scatter(
            X[members, 0],
            X[members, 1],
            color=colours[i],
            marker=_MARKERS[i % 8],
            edgecolors="black",
            linewidths=0.5,
            s=22,
            label=f"class {c}",
            zorder=3,
        )
    ax.legend(loc="best", fontsize=8)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


# --- loss landscapes ------------------------------------------------------------------

# Bright colours first: they stand out on viridis' dark purples (each line also has a white rim).
_TRAJECTORY_COLOURS = [
    PALETTE[1],
    PALETTE[3],
    PALETTE[4],
    PALETTE[5],
    PALETTE[6],
    PALETTE[2],
    PALETTE[0],
    PALETTE[7],
]


def landscape(
    f,
    xlim,
    ylim,
    trajectories=None,
    ax=None,
    levels=30,
    log=False,
    resolution=200,
    minimum=None,
    colorbar=True,
    title="Loss landscape",
    xlabel="$w_1$",
    ylabel="$w_2$",
):
    """Filled contours of ``f(x, y)`` over ``xlim`` x ``ylim`` with optimizer paths on top.

    ``f`` is called once on meshgrid arrays (vectorise it with numpy ops).
    ``log=True`` spaces the contour levels geometrically, which shows the
    floor of a valley like Rosenbrock's (needs f > 0 somewhere).
    ``trajectories`` is a dict name -> (k, 2) array of iterates (or a single
    array): each is a line with a dot at every step, a circle at its start
    and a star at its last finite point. Paths that leave the box (a
    diverging learning rate) are clipped at the box's edge. ``minimum``
    (x, y) marks the optimum with a cross. Returns the Axes; trajectory lines
    carry gid ``"trajectory:<name>"``.
    """
    func = "landscape"
    (x0, x1), (y0, y1) = _limits(xlim, "xlim"), _limits(ylim, "ylim")
    resolution = _count_arg(resolution, "resolution", func)
    if not isinstance(levels, (int, np.integer)):
        levels = np.sort(_as_float_array(levels, "levels", func))
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    z = _as_float_array(f(gx, gy), "f(x, y)", func)
    if z.shape != gx.shape:
        raise ValueError(
            f"{func}: f(x, y) on ({resolution}, {resolution}) meshgrid arrays returned shape "
            f"{z.shape}; write f with numpy operations so it works elementwise"
        )
    z = np.ma.masked_invalid(z)
    if z.count() == 0:
        raise ValueError(f"{func}: f(x, y) is NaN or inf everywhere in the box")
    ax = _new_axes(ax, figsize=(6, 5))
    if log:
        positive = z[z > 0]
        if positive.count() == 0:
            raise ValueError(f"{func}: log=True needs f > 0 somewhere; add a constant to f")
        z = np.ma.masked_less_equal(z, 0)
        lev = (
            np.geomspace(positive.min(), positive.max(), _count_arg(levels, "levels", func))
            if isinstance(levels, (int, np.integer))
            else levels
        )
        filled = ax.contourf(gx, gy, z, levels=lev, cmap=CMAP, norm=LogNorm(lev[0], lev[-1]))
        ax.contour(gx, gy, z, levels=lev, colors="white", linewidths=0.3, alpha=0.5)
    else:
        filled = ax.contourf(gx, gy, z, levels=levels, cmap=CMAP)
        ax.contour(gx, gy, z, levels=filled.levels, colors="white", linewidths=0.3, alpha=0.5)
    if colorbar:
        bar = ax.figure.colorbar(filled, ax=ax, label="f" + (" (log scale)" if log else ""))
        if log:  # ticks at powers of ten, not at the (arbitrary) contour levels
            bar.ax.yaxis.set_major_locator(LogLocator())
            bar.ax.yaxis.set_major_formatter(LogFormatterSciNotation())
            bar.ax.yaxis.set_minor_formatter(NullFormatter())
    if minimum is not None:
        ax.plot(
            *minimum,
            "x",
            color="black",
            markersize=10,
            markeredgewidth=2.5,
            label="minimum",
            gid="minimum",
        )

    outline = [patheffects.Stroke(linewidth=3.5, foreground="white"), patheffects.Normal()]
    paths = {} if trajectories is None else _named(trajectories, "trajectories", func)
    for i, (name, path) in enumerate(paths.items()):
        name = name or "trajectory"
        path = _as_float_array(path, f"trajectory {name!r}", func)
        if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
            raise ValueError(
                f"{func}: trajectory {name!r} must have shape (k, 2), got {path.shape}"
            )
        colour = _TRAJECTORY_COLOURS[i % len(_TRAJECTORY_COLOURS)]
        ax.plot(
            path[:, 0],
            path[:, 1],
            "-",
            marker=".",
            markersize=4,
            color=colour,
            linewidth=1.6,
            label=name,
            gid=f"trajectory:{name}",
            path_effects=outline,
        )
        ax.plot(
            path[0, 0],
            path[0, 1],
            "o",
            color=colour,
            markersize=8,
            markeredgecolor="white",
            gid=f"start:{name}",
        )
        finite = np.flatnonzero(np.isfinite(path).all(axis=1))
        if finite.size:
            end = path[finite[-1]]
            ax.plot(
                end[0],
                end[1],
                "*",
                color=colour,
                markersize=14,
                markeredgecolor="white",
                gid=f"end:{name}",
            )
    if paths or minimum is not None:
        handles, _ = ax.get_legend_handles_labels()
        if paths:
            handles += [
                Line2D([], [], linestyle="", marker="o", color="0.4", label="start"),
                Line2D([], [], linestyle="", marker="*", markersize=10, color="0.4", label="end"),
            ]
        ax.legend(handles=handles, loc="best", fontsize=8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def _limits(pair, name):
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise TypeError(f"landscape: {name} must be a pair (low, high), got {pair!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"landscape: {name} must be finite with low < high, got {pair!r}")
    return lo, hi


# --- gradients and activations by layer ------------------------------------------------


def gradient_flow(norms, layer_names=None, ax=None, log=False, title=None, xlabel=None):
    """Gradient norm per layer: a bar chart for one step, a heat map for many.

    ``norms`` is 1-D (one value per layer, input side first) or 2-D of shape
    (steps, layers); a dict name -> value (or name -> list over steps) gives
    the layer names too. The heat map shows ``norms.T``: layers as rows
    (first layer at the bottom), steps left to right, viridis with a
    colourbar. ``log=True`` uses a log scale, which is where vanishing
    gradients become visible. Returns the Axes.
    """
    func = "gradient_flow"
    if isinstance(norms, dict):
        if layer_names is not None:
            raise ValueError(
                f"{func}: norms is a dict, so its keys name the layers; drop layer_names"
            )
        layer_names = [str(k) for k in norms]
        columns = [_as_float_array(v, "norms", func) for v in norms.values()]
        norms = np.stack(columns, axis=-1) if columns else np.zeros(0)
    values = _as_float_array(norms, "norms", func)
    if values.ndim not in (1, 2) or values.size == 0:
        raise ValueError(
            f"{func}: norms must be 1-D (layers,) or 2-D (steps, layers), got shape {values.shape}"
        )
    if (values < 0).any():
        raise ValueError(f"{func}: norms must be >= 0, got a minimum of {np.nanmin(values):g}")
    n_layers = values.shape[-1]
    if layer_names is None:
        layer_names = [str(i + 1) for i in range(n_layers)]
    layer_names = [str(name) for name in layer_names]
    if len(layer_names) != n_layers:
        raise ValueError(f"{func}: {len(layer_names)} layer_names for {n_layers} layers")
    if log and not (values > 0).any():
        raise ValueError(f"{func}: log=True needs some positive norms")

    if values.ndim == 1:
        ax = _new_axes(ax, figsize=(max(4.0, 0.5 * n_layers + 1.5), 3.5))
        ax.bar(np.arange(n_layers), values, color=PALETTE[0], edgecolor="black", linewidth=0.5)
        ax.set_xticks(np.arange(n_layers), layer_names)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel or "layer (input side first)")
        ax.set_ylabel("gradient norm" + (" (log scale)" if log else ""))
        ax.set_title(title or "Gradient norm per layer")
        ax.grid(axis="y", alpha=0.3)
        return ax

    ax = _new_axes(ax, figsize=(7, max(3.5, 0.3 * n_layers + 1.5)))
    shown = np.ma.masked_invalid(values.T)
    norm = None
    if log:
        shown = np.ma.masked_less_equal(shown, 0)
        norm = LogNorm(shown.min(), shown.max())
    image = ax.imshow(
        shown, aspect="auto", origin="lower", cmap=CMAP, norm=norm, interpolation="nearest"
    )
    ax.set_yticks(np.arange(n_layers), layer_names)
    ax.figure.colorbar(image, ax=ax, label="gradient norm" + (" (log scale)" if log else ""))
    ax.set_xlabel(xlabel or "step")
    ax.set_ylabel("layer")
    ax.set_title(title or "Gradient norm per layer over training")
    return ax


def activation_histograms(
    activations,
    names=None,
    bins=40,
    sharex=False,
    ncols=None,
    title="Activations per layer",
    xlabel="activation",
):
    """One histogram per layer of all the values in that layer's activations.

    ``activations`` is a list of arrays or Tensors (any shape; all entries
    count), or a dict name -> array. Each panel's title gives the layer name
    with the mean and standard deviation. ``sharex=True`` puts every panel on
    the same x range, which shows saturation or shrinking from layer to
    layer. NaN and inf are left out (and counted in the panel title). Returns
    the Figure.
    """
    func = "activation_histograms"
    if isinstance(activations, dict):
        if names is not None:
            raise ValueError(
                f"{func}: activations is a dict, so its keys name the layers; drop names"
            )
        names = [str(k) for k in activations]
        activations = list(activations.values())
    if not isinstance(activations, (list, tuple)) or not activations:
        raise TypeError(
            f"{func}: activations must be a non-empty list (or dict) of arrays, "
            f"got {type(activations).__name__}"
        )
    arrays = [_as_float_array(a, "each activation", func).ravel() for a in activations]
    if names is None:
        names = [f"layer {i + 1}" for i in range(len(arrays))]
    names = [str(name) for name in names]
    if len(names) != len(arrays):
        raise ValueError(f"{func}: {len(names)} names for {len(arrays)} layers")
    n = len(arrays)
    if ncols is None:  # at most 5 per row, rows as even as possible
        ncols = math.ceil(n / math.ceil(n / 5))
    ncols = _count_arg(ncols, "ncols", func)
    nrows = math.ceil(n / ncols)
    finite_all = np.concatenate([a[np.isfinite(a)] for a in arrays])
    # Shared x: the same bins everywhere, so bar heights compare across panels too.
    bin_range = (finite_all.min(), finite_all.max()) if sharex and finite_all.size else None
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(2.7 * ncols, 2.3 * nrows + 0.5),
        sharex=sharex,
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()  # an empty slot in the last row
            continue
        values = arrays[i]
        finite = values[np.isfinite(values)]
        ax.hist(
            finite, bins=bins, range=bin_range, color=PALETTE[0], edgecolor="white", linewidth=0.3
        )
        ax.xaxis.set_tick_params(labelbottom=True)  # sharex hides them above an empty slot
        stats = (
            f"mean {finite.mean():.3g}, std {finite.std():.3g}"
            if finite.size
            else "no finite values"
        )
        dropped = values.size - finite.size
        ax.set_title(
            f"{names[i]}\n{stats}" + (f", {dropped} non-finite" if dropped else ""), fontsize=9
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
    fig.suptitle(title)
    return fig
