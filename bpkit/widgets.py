"""Interactive explorers for JupyterLab (ipywidgets 8), each returned as ``(widget, state)``.

    widget, state = gradient_descent_explorer("rosenbrock", optimizer="adam")
    widget                      # show it (last line of a cell)
    state.trajectory[-1]        # what the library computed for the current settings

- ``gradient_descent_explorer``: an optimizer from bpkit.optim on a 2-D surface
  from bpkit.surfaces, contours with the path and the loss curve;
- ``gradient_flow_explorer``: per-layer gradient norms of a deep bpkit.nn MLP
  for a depth, activation and initialisation;
- ``backprop_stepper``: a bpkit.Value graph processed backward one node at a
  time, with each ``parent.grad += local * node.grad`` written out.

The state objects do the work and hold the results (``figure`` is a
matplotlib Figure, ``png`` its picture); the widgets only set them and show
``png`` in an Image widget. So everything works, and is tested, without a
browser: setting ``slider.value`` or calling ``button.click()`` runs the
same code a learner's click does. Figures are built with
``matplotlib.figure.Figure``, not pyplot, so the inline backend never shows
a stray copy below the widget. In tested notebooks, tag widget cells
``nbval-ignore-output``.
"""

import io
import math

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from bpkit import nn, optim, plot
from bpkit.functional import cross_entropy
from bpkit.graph import topological_order
from bpkit.scalar import Value
from bpkit.surfaces import SURFACES, get_surface
from bpkit.tensor import Tensor

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "OPTIMIZERS",
    "BackpropStepperState",
    "GradientDescentState",
    "GradientFlowState",
    "backprop_stepper",
    "default_graph",
    "gradient_descent_explorer",
    "gradient_flow_explorer",
]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: Initialisation name -> callable(shape, rng) for bpkit.nn.Linear.
INITS = {
    "normal 0.01": lambda shape, rng: nn.init.normal(shape, 0.01, rng),
    "normal 1": lambda shape, rng: nn.init.normal(shape, 1.0, rng),
    "xavier": nn.init.xavier_uniform,  # uniform, as Glorot & Bengio (2010) used it
    "he": nn.init.he_normal,  # Gaussian, as He et al. (2015) used it
}

# A learning rate that converges without drama for plain gradient descent on each surface;
# RMSProp and Adam take steps of about lr per coordinate whatever the curvature, so one value fits.
_SGD_LR = {
    "rosenbrock": 1e-3,
    "ill_conditioned": 0.05,
    "saddle": 0.05,
    "himmelblau": 0.01,
    "six_hump_camel": 0.02,
}
_ADAPTIVE_LR = 0.05
_ESCAPED = 1e6  # |w| beyond this counts as diverged: the next steps would overflow
_DPI = 80


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _choice(value, options, what, func):
    if value not in options:
        raise ValueError(f"{func}: unknown {what} {value!r}; choose one of {list(options)}")
    return value


def _number(value, what, func, low, high, integer=False):
    ok = isinstance(value, (int, np.integer) if integer else (int, float, np.integer, np.floating))
    if not ok or isinstance(value, bool) or not (low <= value <= high):
        kind = "an int" if integer else "a number"
        raise ValueError(f"{func}: {what} must be {kind} in [{low:g}, {high:g}], got {value!r}")
    return int(value) if integer else float(value)


class _Explorer:
    """Shared plumbing: a figure, its PNG, and callbacks run after each redraw."""

    def __init__(self, figsize):
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.png = b""
        self._listeners = []

    def _redraw(self):
        self.figure.clear()
        self._draw()
        self.png = _png(self.figure)
        for listener in self._listeners:
            listener(self)

    def _draw(self):
        raise NotImplementedError


# --- gradient descent on a 2-D surface --------------------------------------------------------


def _optimizer(name, params, lr, momentum):
    """The bpkit.optim optimizer called ``name``; the momentum slider is Adam's beta1."""
    if name == "sgd":
        return optim.SGD(params, lr)
    if name in ("momentum", "nesterov"):
        # Nesterov with zero momentum is plain SGD; bpkit's SGD refuses that combination.
        return optim.SGD(
            params, lr, momentum=momentum, nesterov=name == "nesterov" and momentum > 0
        )
    if name == "rmsprop":
        return optim.RMSProp(params, lr)
    return optim.Adam(params, lr, betas=(momentum, 0.999))


class GradientDescentState(_Explorer):
    """An optimizer's path on a surface: ``trajectory`` (k, 2), ``losses`` (k,), ``final_loss``.

    ``set(lr=..., steps=...)`` changes settings and reruns. The run starts at
    ``surface.start`` and stops early if the iterate escapes (|w| > 1e6) or
    turns NaN: then ``diverged`` is True, ``diverged_at`` is the step, and
    ``final_loss`` is inf.
    """

    def __init__(self, surface="rosenbrock", optimizer="sgd", lr=None, momentum=0.9, steps=100):
        super().__init__(figsize=(10.5, 4.2))
        self.surface = get_surface(surface)
        self.optimizer = _choice(optimizer, OPTIMIZERS, "optimizer", "gradient_descent_explorer")
        if lr is None:
            lr = (
                _ADAPTIVE_LR
                if optimizer in ("rmsprop", "adam")
                else _SGD_LR.get(self.surface.name, 0.01)
            )
        self.lr = _number(lr, "lr", "gradient_descent_explorer", 1e-8, 10.0)
        self.momentum = _number(momentum, "momentum", "gradient_descent_explorer", 0.0, 0.999)
        self.steps = _number(steps, "steps", "gradient_descent_explorer", 1, 100_000, integer=True)
        self.run()

    def set(self, **settings):
        """Change any of surface, optimizer, lr, momentum, steps; rerun and redraw once."""
        func = "GradientDescentState.set"
        for name, value in settings.items():
            if name == "surface":
                self.surface = get_surface(value)
            elif name == "optimizer":
                self.optimizer = _choice(value, OPTIMIZERS, "optimizer", func)
            elif name == "lr":
                self.lr = _number(value, "lr", func, 1e-8, 10.0)
            elif name == "momentum":
                self.momentum = _number(value, "momentum", func, 0.0, 0.999)
            elif name == "steps":
                self.steps = _number(value, "steps", func, 1, 100_000, integer=True)
            else:
                raise TypeError(f"{func}: unknown setting {name!r}")
        self.run()

    def run(self):
        """Optimise from the surface's start with bpkit.optim; store the path and redraw."""
        surface = self.surface
        w = Tensor(np.array(surface.start, dtype=np.float64), requires_grad=True)
        opt = _optimizer(self.optimizer, [w], self.lr, self.momentum)
        path, losses = [w.numpy()], [float(surface(*surface.start))]
        self.diverged, self.diverged_at = False, None
        # A large lr overflows on purpose (that is the lesson); stop at the first bad step, quietly.
        with np.errstate(over="ignore", invalid="ignore"):
            for step in range(1, self.steps + 1):
                opt.zero_grad()
                _, w.grad = surface.value_and_grad(w.data)
                opt.step()
                point = w.numpy()
                loss = float(surface(point[0], point[1]))
                finite = bool(np.isfinite(point).all()) and math.isfinite(loss)
                if finite:
                    path.append(point)
                    losses.append(loss)
                if not finite or np.abs(point).max() > _ESCAPED:
                    self.diverged, self.diverged_at = True, step
                    break
        self.trajectory = np.array(path)
        self.losses = np.array(losses)
        self.final_loss = math.inf if self.diverged else float(self.losses[-1])
        self._redraw()

    @property
    def label(self):
        """'adam (lr=0.05, beta1=0.9)': the run's name in the legend."""
        if self.optimizer in ("momentum", "nesterov"):
            return f"{self.optimizer} (lr={self.lr:.3g}, momentum={self.momentum:.3g})"
        if self.optimizer == "adam":
            return f"adam (lr={self.lr:.3g}, beta1={self.momentum:.3g})"
        return f"{self.optimizer} (lr={self.lr:.3g})"

    @property
    def summary(self):
        """One line saying how the run ended."""
        if self.diverged:
            return f"{self.label}: diverged at step {self.diverged_at}"
        best = min(np.hypot(*(self.trajectory[-1] - np.array(m))) for m in self.surface.minima)
        return (
            f"{self.label}: loss {self.final_loss:.4g} after {len(self.losses) - 1} steps "
            f"(minimum {self.surface.min_value:.4g}; distance to the nearest minimum {best:.3g})"
        )

    def _draw(self):
        s = self.surface
        ax_map, ax_loss = self.figure.subplots(1, 2, width_ratios=[1.25, 1])
        plot.landscape(
            s,
            s.xlim,
            s.ylim,
            trajectories={self.label: self.trajectory},
            ax=ax_map,
            log=s.log_levels,
            minimum=s.minima[0],
            resolution=150,
            title=f"{s.name}: $f = {s.formula}$",
        )
        gap = np.maximum(self.losses - s.min_value, 1e-16)  # log axis: distance above the minimum
        plot.loss_curve(
            gap,
            ax=ax_loss,
            logy=True,
            ylabel=f"f - min f (min f = {s.min_value:.4g})",
            title="Loss above the minimum",
        )
        if self.diverged:
            ax_loss.set_title(f"Diverged at step {self.diverged_at}")


def gradient_descent_explorer(
    surface="rosenbrock", optimizer="sgd", lr=None, momentum=0.9, steps=100
):
    """Controls for surface, optimizer, lr (log scale), momentum and steps; contours with the path.

    ``lr=None`` picks a rate that converges for the chosen surface and
    optimizer. ``momentum`` is the momentum of "momentum" and "nesterov" and
    Adam's beta1; plain SGD and RMSProp ignore it. Returns
    ``(widget, state)``: a VBox and a GradientDescentState, whose
    ``controls`` dict holds the widgets by setting name.
    """
    state = GradientDescentState(surface, optimizer, lr, momentum, steps)
    low = min(-4.0, math.floor(math.log10(state.lr)))
    high = max(0.0, math.ceil(math.log10(state.lr)))
    style = {"description_width": "initial"}
    controls = {
        "surface": widgets.Dropdown(
            options=list(SURFACES), value=state.surface.name, description="surface", style=style
        ),
        "optimizer": widgets.Dropdown(
            options=list(OPTIMIZERS), value=state.optimizer, description="optimizer", style=style
        ),
        "lr": widgets.FloatLogSlider(
            value=state.lr,
            base=10,
            min=low,
            max=high,
            step=0.05,
            description="lr",
            readout_format=".2e",
            continuous_update=False,
        ),
        "momentum": widgets.FloatSlider(
            value=state.momentum,
            min=0.0,
            max=0.99,
            step=0.01,
            description="momentum",
            continuous_update=False,
        ),
        "steps": widgets.IntSlider(
            value=state.steps,
            min=1,
            max=max(1000, state.steps),
            description="steps",
            continuous_update=False,
        ),
    }
    image = widgets.Image(value=state.png, format="png")
    status = widgets.HTML(value=state.summary)

    def uses_momentum():
        controls["momentum"].disabled = state.optimizer in ("sgd", "rmsprop")

    def show(_):
        image.value = state.png
        status.value = state.summary
        uses_momentum()

    def setter(name):
        return lambda change: state.set(**{name: change["new"]})

    for name, control in controls.items():
        control.observe(setter(name), names="value")
    state._listeners.append(show)
    state.controls, state.image, state.status = controls, image, status
    uses_momentum()
    widget = widgets.VBox(
        [
            widgets.HBox([controls["surface"], controls["optimizer"]]),
            widgets.HBox([controls["lr"], controls["momentum"], controls["steps"]]),
            image,
            status,
        ]
    )
    return widget, state


# --- gradient flow through a deep MLP -----------------------------------------------------------


class GradientFlowState(_Explorer):
    """Per-layer gradient norms ||dL/dW_l|| of a fresh random MLP on random data.

    The network has ``depth`` Linear layers (``width`` units each, 10
    outputs), the activation after every hidden layer, and weights from
    ``INITS[init]``; the data are ``batch`` standard-normal inputs with random
    labels, the loss is cross-entropy. Everything is drawn from ``seed``, so
    the same settings give the same ``norms`` (ndarray, input side first).
    """

    def __init__(self, depth=10, activation="tanh", init="xavier", width=64, batch=128, seed=0):
        super().__init__(figsize=(9, 3.8))
        func = "gradient_flow_explorer"
        self.width = _number(width, "width", func, 1, 4096, integer=True)
        self.batch = _number(batch, "batch", func, 1, 100_000, integer=True)
        self.seed = seed
        self.depth = _number(depth, "depth", func, 1, 200, integer=True)
        self.activation = _choice(activation, ACTIVATIONS, "activation", func)
        self.init = _choice(init, INITS, "init", func)
        self.run()

    def set(self, **settings):
        """Change any of depth, activation, init; recompute and redraw once."""
        func = "GradientFlowState.set"
        for name, value in settings.items():
            if name == "depth":
                self.depth = _number(value, "depth", func, 1, 200, integer=True)
            elif name == "activation":
                self.activation = _choice(value, ACTIVATIONS, "activation", func)
            elif name == "init":
                self.init = _choice(value, INITS, "init", func)
            else:
                raise TypeError(f"{func}: unknown setting {name!r}")
        self.run()

    def run(self):
        """Build the network, run one forward and backward pass, store the norms and redraw."""
        rng = np.random.default_rng(self.seed)
        X = rng.standard_normal((self.batch, self.width))
        y = rng.integers(0, 10, size=self.batch)
        model = nn.MLP(
            [self.width] * self.depth + [10],
            activation=self.activation,
            init=INITS[self.init],
            rng=rng,
        )
        # Exploding settings are part of the lesson: let inf/NaN through and say so below.
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            loss = cross_entropy(model(Tensor(X)), y)
            loss.backward()
            self.norms = np.array(
                [np.linalg.norm(layer.weight.grad) for layer in model.linear_layers()]
            )
        self.loss = float(loss.data)
        self.model, self.X, self.y = model, X, y
        self.layer_names = [str(i + 1) for i in range(self.depth)]
        self._redraw()

    @property
    def summary(self):
        """One line comparing the first layer's gradient with the last one's."""
        first, last = self.norms[0], self.norms[-1]
        if not np.isfinite(self.norms).all():
            return f"{self.depth} layers, {self.activation}, init {self.init}: gradients overflowed"
        ratio = first / last if last > 0 else math.inf
        return (
            f"{self.depth} layers, {self.activation}, init {self.init}: loss {self.loss:.3f}; "
            f"||dW|| first layer {first:.2e}, last layer {last:.2e} (ratio {ratio:.2e})"
        )

    def _draw(self):
        ax = self.figure.subplots()
        shown = np.where(np.isfinite(self.norms), self.norms, 0.0)
        log = bool((shown > 0).any())
        plot.gradient_flow(
            shown,
            self.layer_names,
            ax=ax,
            log=log,
            title=f"Gradient norm per layer: {self.activation}, init {self.init}",
        )
        if self.depth > 20:  # keep the layer numbers readable
            for i, label in enumerate(ax.get_xticklabels()):
                label.set_visible(i % 5 == 4 or i == 0)


def gradient_flow_explorer(depth=10, activation="tanh", init="xavier", width=64, batch=128, seed=0):
    """Controls for depth (2-50), activation (sigmoid, tanh, relu) and init; bar chart of ||dL/dW||.

    ``init`` is one of "normal 0.01", "normal 1", "xavier", "he". Returns
    ``(widget, state)``: a VBox and a GradientFlowState (``state.norms``,
    ``state.controls``).
    """
    state = GradientFlowState(depth, activation, init, width, batch, seed)
    controls = {
        "depth": widgets.IntSlider(
            value=state.depth,
            min=2,
            max=max(50, state.depth),
            description="depth",
            continuous_update=False,
        ),
        "activation": widgets.Dropdown(
            options=list(ACTIVATIONS), value=state.activation, description="activation"
        ),
        "init": widgets.Dropdown(options=list(INITS), value=state.init, description="init"),
    }
    image = widgets.Image(value=state.png, format="png")
    status = widgets.HTML(value=state.summary)

    def show(_):
        image.value = state.png
        status.value = state.summary
        # After state.set(...) from code, the controls show the new settings too
        # (setter below ignores these echoes, so nothing is computed twice).
        controls["depth"].max = max(controls["depth"].max, state.depth)
        for name, control in controls.items():
            control.value = getattr(state, name)

    def setter(name):
        def on_change(change):
            if change["new"] != getattr(state, name):
                state.set(**{name: change["new"]})

        return on_change

    for name, control in controls.items():
        control.observe(setter(name), names="value")
    state._listeners.append(show)
    state.controls, state.image, state.status = controls, image, status
    widget = widgets.VBox([widgets.HBox(list(controls.values())), image, status])
    return widget, state


# --- backprop, one node at a time ---------------------------------------------------------------

# d(out)/d(input) for each op, written with the nodes' names ({a}, {b}: inputs; {out}: the result).
_RULES = {
    "+": ("1", "1"),
    "-": ("1", "-1"),
    "*": ("{b}", "{a}"),
    "/": ("1/{b}", "-{a}/{b}²"),
    "neg": ("-1",),
    "exp": ("{out}",),
    "log": ("1/{a}",),
    "tanh": ("1 - {out}²",),
    "sigmoid": ("{out}·(1 - {out})",),
    "relu": ("1 if {a} > 0 else 0",),
    "**": ("{b}·{a}^({b} - 1)", "{out}·ln {a}"),
}


def default_graph():
    """loss = h * h with h = tanh(u + b), u = w * x: one neuron; ``h`` is used twice, so its gradients add up."""
    x = Value(0.5, label="x")
    w = Value(-1.5, label="w")
    b = Value(0.8, label="b")
    u = w * x
    u.label = "u"
    z = u + b
    z.label = "z"
    h = z.tanh()
    h.label = "h"
    loss = h * h
    loss.label = "loss"
    return loss


def _fmt(x):
    return f"{x:.4g}"


class BackpropStepperState(_Explorer):
    """Backprop through a Value graph by hand: ``next()``, ``back()``, ``reset()``.

    ``nodes`` lists the graph in topological order and ``names`` their
    labels (``n3`` for an unlabelled node, made unique). Each step takes the
    next node in reverse topological order that has inputs and does
    ``parent.grad += local * node.grad`` for each input. ``step`` counts the
    steps done (0 to ``n_steps``), ``node`` is the one processed last (None
    at the start), ``grads`` maps each name to its gradient so far, and
    ``text`` explains the last step. The stepper writes the same numbers into
    the nodes' ``.grad`` as it goes (as ``backward()`` would), so
    ``plot.draw_graph`` shows them; after the last step they equal what
    ``root.backward()`` gives.
    """

    def __init__(self, root):
        if not isinstance(root, Value):
            raise TypeError(
                f"backprop_stepper: root must be a bpkit.Value, got {type(root).__name__}"
            )
        super().__init__(figsize=(10, 4.5))
        self.root = root
        self.nodes = topological_order(root)
        if len(self.nodes) > plot.MAX_GRAPH_NODES:
            raise ValueError(
                f"backprop_stepper: the graph has {len(self.nodes)} nodes, more than the "
                f"{plot.MAX_GRAPH_NODES} that can be drawn readably; step through a smaller graph"
            )
        self.names = self._unique_names()
        self._name_of = {id(n): name for n, name in zip(self.nodes, self.names)}
        self._index = {id(n): i for i, n in enumerate(self.nodes)}
        self.order = [n for n in reversed(self.nodes) if n.parents]
        self.n_steps = len(self.order)
        self.reset()

    def _unique_names(self):
        names, used = [], set()
        for i, node in enumerate(self.nodes):
            base = node.label or f"n{i}"
            name, k = base, 1
            while name in used:
                k += 1
                name = f"{base}#{k}"
            used.add(name)
            names.append(name)
        return names

    @property
    def done(self):
        return self.step == self.n_steps

    @property
    def grads(self):
        """name -> gradient so far, in topological order (inputs first)."""
        return {name: self._grads[i] for i, name in enumerate(self.names)}

    def reset(self):
        """Every gradient 0, the root's 1: before the first step."""
        self._grads = [0.0] * len(self.nodes)
        self._grads[-1] = 1.0
        self.step, self.node = 0, None
        self.text = (
            f"Start: every grad is 0 except d{self.names[-1]}/d{self.names[-1]} = 1. "
            f"Next processes {self._name_of[id(self.order[0])]}."
            if self.order
            else "The root is a leaf: nothing to do."
        )
        self._sync()

    def next(self):
        """Process the next node; does nothing once all are done."""
        if self.done:
            return
        self._apply(self.order[self.step])
        self.step += 1
        self._sync()

    def back(self):
        """Undo the last step (by replaying the ones before it)."""
        if self.step == 0:
            return
        target = self.step - 1
        self._grads = [0.0] * len(self.nodes)
        self._grads[-1] = 1.0
        self.step, self.node = 0, None
        for node in self.order[:target]:
            self._apply(node)
            self.step += 1
        if target == 0:
            self.reset()
            return
        self._sync()

    def _apply(self, node):
        index = self._index
        name = self._name_of[id(node)]
        upstream = self._grads[index[id(node)]]
        op = node.op
        if op.startswith("**") and op != "**":  # a constant power, e.g. "**2"
            rules = (f"{op[2:]}·{{a}}^({op[2:]} - 1)",)
        else:
            rules = _RULES.get(op, ())
        names = [self._name_of[id(p)] for p in node.parents]
        slots = {"out": name, "a": names[0], "b": names[1] if len(names) > 1 else ""}
        head = (
            f"Processing {name} = {self._describe(node)}: data {_fmt(node.data)}, "
            f"grad {_fmt(upstream)} (complete: every node that uses {name} is done)"
        )
        lines = [head]
        for k, (parent, local) in enumerate(zip(node.parents, node.local_grads)):
            j = index[id(parent)]
            pname = names[k]
            rule = rules[k].format(**slots) if k < len(rules) else ""
            formula = f" = {rule}" if rule and rule != _fmt(local) else ""
            before = self._grads[j]
            self._grads[j] = before + local * upstream
            lines.append(
                f"  local d{name}/d{pname}{formula} = {_fmt(local)};  "
                f"{pname}.grad += {_fmt(local)} * {_fmt(upstream)}  ->  "
                f"{_fmt(before)} + {_fmt(local * upstream)} = {_fmt(self._grads[j])}"
            )
        self.node = node
        self.text = "\n".join(lines)

    def _describe(self, node):
        parents = [self._name_of[id(p)] for p in node.parents]
        op = node.op
        if op in ("+", "-", "*", "/") and len(parents) == 2:
            return f"{parents[0]} {op} {parents[1]}"
        if op.startswith("**") and len(parents) == 1:
            return f"{parents[0]}{op}"
        return f"{op}({', '.join(parents)})"

    def _sync(self):
        for node, grad in zip(self.nodes, self._grads):
            node.grad = grad
        self._redraw()

    def _draw(self):
        ax = self.figure.subplots()
        title = f"Step {self.step} of {self.n_steps}" + (
            f": processing {self._name_of[id(self.node)]}" if self.node is not None else ": start"
        )
        plot.draw_graph(self.root, ax=ax, highlight=self.node, title=title)


def backprop_stepper(root=None):
    """Walk backprop through ``root``'s graph (default: ``default_graph()``) with Next / Back / Reset.

    Returns ``(widget, state)``: a VBox and a BackpropStepperState;
    ``state.buttons`` holds the three buttons by name.
    """
    state = BackpropStepperState(default_graph() if root is None else root)
    buttons = {
        "back": widgets.Button(description="◀ Back", tooltip="undo the last step"),
        "next": widgets.Button(
            description="Next ▶", button_style="primary", tooltip="process the next node backward"
        ),
        "reset": widgets.Button(description="Reset", tooltip="all grads 0 again, root 1"),
    }
    image = widgets.Image(value=state.png, format="png")
    text = widgets.HTML()

    def show(_):
        image.value = state.png
        text.value = "<pre>" + _html_escape(state.text) + "</pre>"
        buttons["next"].disabled = state.done
        buttons["back"].disabled = state.step == 0

    buttons["next"].on_click(lambda _: state.next())
    buttons["back"].on_click(lambda _: state.back())
    buttons["reset"].on_click(lambda _: state.reset())
    state._listeners.append(show)
    state.buttons, state.image, state.explanation = buttons, image, text
    show(state)
    widget = widgets.VBox([widgets.HBox(list(buttons.values())), image, text])
    return widget, state


def _html_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
