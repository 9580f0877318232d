"""bpkit.plot: what is drawn (boxes, texts, line data, bar heights, images), not just no error."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import LogNorm, to_hex

from bpkit import Tensor, Value, plot


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _boxes(ax):
    return [p for p in ax.patches if p.get_gid() == "node"]


def _edges(ax):
    return [p for p in ax.patches if p.get_gid() == "edge"]


def _node_texts(ax):
    return [t.get_text() for t in ax.texts if t.get_gid() == "node-text"]


def _text_of(ax, label):
    (text,) = [t for t in _node_texts(ax) if t.splitlines()[0].split(":")[0] == label]
    return text


def _classic_graph():
    """L = (a*b + c)*d with a=2, b=-3, c=10, d=-2, after backward."""
    a, b, c, d = (
        Value(v, label=name) for v, name in [(2.0, "a"), (-3.0, "b"), (10.0, "c"), (-2.0, "d")]
    )
    e = a * b
    e.label = "e"
    f = e + c
    f.label = "f"
    L = f * d
    L.label = "L"
    L.backward()
    return L, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "L": L}


def test_palette_is_okabe_ito():
    # Okabe & Ito (2008): the eight colours as listed in the team's conventions.
    assert plot.PALETTE == [
        "#0072B2",
        "#E69F00",
        "#009E73",
        "#D55E00",
        "#CC79A7",
        "#56B4E9",
        "#F0E442",
        "#000000",
    ]


# --- draw_graph -------------------------------------------------------------------------


def test_draw_graph_value_boxes_ops_values_and_grads():
    L, _ = _classic_graph()
    ax = plot.draw_graph(L)
    assert len(_boxes(ax)) == 7
    assert len(_edges(ax)) == 6  # a,b -> e; e,c -> f; f,d -> L
    texts = _node_texts(ax)
    assert len(texts) == 7
    assert sum(t.splitlines()[0].endswith("*") for t in texts) == 2
    assert sum(t.splitlines()[0].endswith("+") for t in texts) == 1
    # Gradients by hand: L = (a*b + c)*d, f = a*b + c = 4, e = a*b = -6.
    by_hand = {
        "a": (2, 6),
        "b": (-3, -4),
        "c": (10, -2),
        "d": (-2, 4),
        "e": (-6, -2),
        "f": (4, -2),
        "L": (-8, 1),
    }
    for name, (value, grad) in by_hand.items():
        lines = _text_of(ax, name).splitlines()
        assert f"data {value:.4g}" in lines
        assert f"grad {grad:.4g}" in lines
    assert "L" in ax.get_title() and "7 nodes" in ax.get_title()


def test_draw_graph_show_grad_false_hides_grads():
    L, _ = _classic_graph()
    ax = plot.draw_graph(L, show_grad=False, title="forward only")
    assert not any("grad" in t for t in _node_texts(ax))
    assert ax.get_title() == "forward only"


def test_draw_graph_highlight_is_drawn_differently():
    L, nodes = _classic_graph()
    ax = plot.draw_graph(L, highlight=nodes["f"])
    boxes = _boxes(ax)
    widths = [b.get_linewidth() for b in boxes]
    thick = [b for b in boxes if b.get_linewidth() == max(widths)]
    assert len(thick) == 1 and max(widths) > min(widths)
    # It is f's box: the one at f's position in the layout.
    position = {id(n): xy for n, xy in plot.graph_layout(L)}[id(nodes["f"])]
    x, y = thick[0].get_x() + thick[0].get_width() / 2, thick[0].get_y() + thick[0].get_height() / 2
    assert (x, y) == pytest.approx(position)
    others = {to_hex(b.get_facecolor()) for b in boxes if b is not thick[0]}
    assert to_hex(thick[0].get_facecolor()) not in others
    ax2 = plot.draw_graph(L, highlight=[nodes["a"], nodes["L"]])
    widths2 = [b.get_linewidth() for b in _boxes(ax2)]
    assert widths2.count(max(widths2)) == 2


def test_draw_graph_highlight_must_be_in_the_graph():
    L, _ = _classic_graph()
    with pytest.raises(ValueError, match="not a node of the graph"):
        plot.draw_graph(L, highlight=Value(1.0))


def test_layout_columns_point_right_and_are_deterministic():
    L, nodes = _classic_graph()
    layout = plot.graph_layout(L)
    column = {id(n): xy[0] for n, xy in layout}
    for node, _ in layout:
        for parent in node.parents:
            assert column[id(parent)] < column[id(node)]
    # Longest path from the leaves: e=1, f=2, L=3; leaves just left of their first user.
    assert [column[id(nodes[k])] for k in "aebcfdL"] == [0, 1, 0, 1, 2, 2, 3]
    assert len({xy for _, xy in layout}) == len(layout)  # no two boxes in one place
    L2, _ = _classic_graph()
    assert [xy for _, xy in plot.graph_layout(L2)] == [xy for _, xy in layout]


def test_draw_graph_reused_node_gets_one_arrow_per_use():
    q = Value(3.0, label="q")
    r = q + q
    s = r + r
    s.backward()
    ax = plot.draw_graph(s)
    assert len(_boxes(ax)) == 3
    edges = _edges(ax)
    assert len(edges) == 4
    starts = {tuple(np.round(e.get_path().vertices[0], 6)) for e in edges}
    assert len(starts) == 4  # the two arrows of one reuse do not sit on top of each other
    assert "grad 4" in _text_of(ax, "q").splitlines()  # ds/dq = 4, summed over both paths


def test_draw_graph_tensor_shapes_and_norms():
    rng = np.random.default_rng(0)
    X = Tensor(rng.normal(size=(4, 3)), label="X")
    W = Tensor(rng.normal(size=(3, 2)), requires_grad=True, label="W")
    loss = (X @ W).relu().sum()
    loss.label = "loss"
    loss.backward()
    ax = plot.draw_graph(loss)
    assert len(_boxes(ax)) == 5 and len(_edges(ax)) == 4
    w_lines = _text_of(ax, "W").splitlines()
    assert "shape 3x2" in w_lines
    assert f"||data|| {np.sqrt((W.data**2).sum()):.4g}" in w_lines
    assert f"||grad|| {np.sqrt((W.grad**2).sum()):.4g}" in w_lines
    assert "||grad|| None" in _text_of(ax, "X").splitlines()  # a constant gets no gradient
    loss_lines = _text_of(ax, "loss").splitlines()
    assert loss_lines[0] == "loss: sum"
    assert f"data {loss.item():.4g}" in loss_lines and "grad 1" in loss_lines
    ops = [t.splitlines()[0] for t in _node_texts(ax)]
    assert "matmul" in ops and "relu" in ops


def test_draw_graph_refuses_large_graphs_and_non_nodes():
    x = Value(0.5, label="x")
    for _ in range(70):
        x = x * 1.0
    with pytest.raises(ValueError, match=r"141 nodes.*smaller graph"):
        plot.draw_graph(x)
    small = Value(1.0) + Value(2.0)
    with pytest.raises(ValueError, match="max_nodes=2"):
        plot.draw_graph(small, max_nodes=2)
    with pytest.raises(TypeError, match="Value or Tensor"):
        plot.draw_graph(3.0)


def test_draw_graph_uses_the_given_axes():
    fig, ax = plt.subplots()
    L, _ = _classic_graph()
    assert plot.draw_graph(L, ax=ax) is ax
    assert len(fig.axes) == 1


# --- loss_curve ----------------------------------------------------------------------------


def test_loss_curve_list():
    history = [2.0, 1.5, 0.9, 0.7, 0.65]
    ax = plot.loss_curve(history)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), history)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(5))
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    assert ax.get_title() == "Training loss"
    assert ax.get_yscale() == "linear"


def test_loss_curve_dict_log_and_tensor_items():
    history = {"train": [1.0, 0.1, 0.01], "val": [Tensor(1.2), Tensor(0.3), Tensor(0.2)]}
    ax = plot.loss_curve(history, logy=True, xlabel="epoch", title="curves")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["train", "val"]
    np.testing.assert_array_equal(lines[1].get_ydata(), [1.2, 0.3, 0.2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "val"]
    assert ax.get_yscale() == "log" and "log" in ax.get_ylabel()
    assert ax.get_xlabel() == "epoch" and ax.get_title() == "curves"
    assert to_hex(lines[0].get_color()) == plot.PALETTE[0].lower()


def test_loss_curve_takes_numpy_scalars():
    # history.append(np.mean(losses)) gives numpy scalars, which have a .data buffer attribute.
    history = [np.float64(1.0), np.float32(0.5), np.mean([0.2, 0.3]), Value(0.1)]
    ax = plot.loss_curve(history)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 0.5, 0.25, 0.1])


def test_loss_curve_errors():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot.loss_curve([])
    with pytest.raises(ValueError, match="logy=True needs positive"):
        plot.loss_curve([0.0, -1.0], logy=True)
    with pytest.raises(ValueError, match="empty dict"):
        plot.loss_curve({})


# --- decision_boundary -------------------------------------------------------------------


def _points():
    X = np.array([[0.0, 0.0], [1.0, 0.2], [0.2, 1.0], [1.0, 1.0], [-0.5, 0.4], [1.4, -0.3]])
    y = np.array([0, 1, 0, 1, 0, 1])
    return X, y


def test_decision_boundary_labels_scatter_by_class():
    X, y = _points()
    ax = plot.decision_boundary(lambda P: (P[:, 0] > 0.5).astype(int), X, y)
    scatters = [c for c in ax.collections if c.get_label().startswith("class")]
    assert [c.get_label() for c in scatters] == ["class 0", "class 1"]
    for c, label in zip(scatters, [0, 1], strict=True):
        np.testing.assert_array_equal(c.get_offsets(), X[y == label])
    (regions,) = [c for c in ax.collections if hasattr(c, "levels")]
    np.testing.assert_array_equal(regions.levels, [-0.5, 0.5, 1.5])  # one band per class
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "Decision boundary"


def _boundary_x(ax):
    """x coordinates of the black decision-boundary line."""
    lines = [c for c in ax.collections if hasattr(c, "levels") and len(c.levels) == 1]
    (line,) = lines
    return np.concatenate([p.vertices[:, 0] for p in line.get_paths()]), line.levels[0]


def test_decision_boundary_scores_line_at_zero_or_half():
    X, y = _points()
    ax = plot.decision_boundary(lambda P: np.tanh(3 * (P[:, 0] - 0.5)), X, y)
    xs, level = _boundary_x(ax)
    assert level == 0.0  # tanh scores: negative and positive
    np.testing.assert_allclose(xs, 0.5, atol=0.02)
    ax = plot.decision_boundary(lambda P: 1 / (1 + np.exp(-4 * (P[:, 1] - 0.2))), X, y)
    lines = [c for c in ax.collections if hasattr(c, "levels") and len(c.levels) == 1]
    ys = np.concatenate([p.vertices[:, 1] for p in lines[0].get_paths()])
    assert lines[0].levels[0] == 0.5  # probabilities
    np.testing.assert_allclose(ys, 0.2, atol=0.02)


def test_decision_boundary_class_scores_argmax_and_tensor_output():
    X, _ = _points()
    y3 = np.array([0, 1, 2, 1, 0, 2])

    def predict(P):
        return Tensor(np.column_stack([-P[:, 0], P[:, 0] - 1, P[:, 1]]))

    ax = plot.decision_boundary(predict, X, y3, resolution=50)
    (regions,) = [c for c in ax.collections if hasattr(c, "levels")]
    np.testing.assert_array_equal(regions.levels, [-0.5, 0.5, 1.5, 2.5])
    assert len([c for c in ax.collections if c.get_label().startswith("class")]) == 3


def test_decision_boundary_errors():
    X, y = _points()
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        plot.decision_boundary(lambda P: P[:, 0], X[:, :1], y)
    with pytest.raises(ValueError, match="y must have shape"):
        plot.decision_boundary(lambda P: P[:, 0], X, y[:3])
    with pytest.raises(ValueError, match="predict returned shape"):
        plot.decision_boundary(lambda P: P[:5, 0], X, y)
    with pytest.raises(ValueError, match="not among y's classes"):
        plot.decision_boundary(lambda P: np.full(len(P), 7), X, y)


# --- landscape ---------------------------------------------------------------------------


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def test_landscape_trajectories_start_and_end():
    sgd = np.array([[-1.5, 2.0], [-1.0, 1.0], [0.0, 0.2], [1.0, 1.0]])
    adam = np.array([[0.5, -0.5], [0.7, 0.4], [np.nan, np.nan]])  # diverged at the last step
    ax = plot.landscape(
        _rosenbrock, (-2, 2), (-1, 3), {"SGD": sgd, "Adam": adam}, minimum=(1, 1), resolution=60
    )
    lines = {line.get_gid(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["trajectory:SGD"].get_xydata(), sgd)
    np.testing.assert_array_equal(lines["trajectory:Adam"].get_xydata(), adam)
    np.testing.assert_array_equal(lines["start:SGD"].get_xydata(), sgd[:1])
    np.testing.assert_array_equal(lines["end:SGD"].get_xydata(), sgd[-1:])
    np.testing.assert_array_equal(lines["end:Adam"].get_xydata(), adam[1:2])  # last finite
    assert lines["start:SGD"].get_marker() != lines["end:SGD"].get_marker()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["minimum", "SGD", "Adam", "start", "end"]
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-1, 3)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "Loss landscape"


def test_landscape_log_levels_are_geometric():
    ax = plot.landscape(_rosenbrock, (-2, 2), (-1, 3), log=True, levels=12, resolution=60)
    (filled,) = [c for c in ax.collections if hasattr(c, "levels") and c.filled]
    ratios = filled.levels[1:] / filled.levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0])
    assert len(filled.levels) == 12 and isinstance(filled.norm, LogNorm)
    assert filled.get_cmap().name == plot.CMAP
    # The levels span f over the grid.
    g = np.linspace(-2, 2, 60)
    z = _rosenbrock(*np.meshgrid(g, np.linspace(-1, 3, 60)))
    assert filled.levels[0] == pytest.approx(z.min())
    assert filled.levels[-1] == pytest.approx(z.max())


def test_landscape_errors():
    with pytest.raises(ValueError, match="returned shape"):
        plot.landscape(lambda x, y: 1.0, (0, 1), (0, 1))
    with pytest.raises(ValueError, match="log=True needs f > 0"):
        plot.landscape(lambda x, y: -(x**2) - y**2 - 1, (0, 1), (0, 1), log=True)
    with pytest.raises(ValueError, match=r"must have shape \(k, 2\)"):
        plot.landscape(_rosenbrock, (0, 1), (0, 1), {"bad": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="xlim must be finite with low < high"):
        plot.landscape(_rosenbrock, (1, 0), (0, 1))


# --- gradient_flow -----------------------------------------------------------------------


def test_gradient_flow_bars():
    norms = [1.0, 0.3, 0.05, 0.002]
    ax = plot.gradient_flow(norms, layer_names=["fc1", "fc2", "fc3", "out"], log=True)
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], norms)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fc1", "fc2", "fc3", "out"]
    assert ax.get_yscale() == "log"
    assert "gradient norm" in ax.get_ylabel() and ax.get_xlabel() and ax.get_title()


def test_gradient_flow_heat_map():
    rng = np.random.default_rng(0)
    norms = np.abs(rng.normal(size=(12, 4)))  # 12 steps, 4 layers
    ax = plot.gradient_flow(norms)
    (image,) = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), norms.T)  # layers as rows
    assert image.get_cmap().name == plot.CMAP
    assert len(ax.figure.axes) == 2  # the heat map and its colourbar
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "layer" and ax.get_title()
    ax = plot.gradient_flow({"a": norms[:, 0], "b": norms[:, 1]}, log=True)
    (image,) = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), norms[:, :2].T)
    assert isinstance(image.norm, LogNorm)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


def test_gradient_flow_errors():
    with pytest.raises(ValueError, match=">= 0"):
        plot.gradient_flow([1.0, -0.5])
    with pytest.raises(ValueError, match="2 layer_names for 3 layers"):
        plot.gradient_flow([1.0, 2.0, 3.0], layer_names=["a", "b"])
    with pytest.raises(ValueError, match="1-D"):
        plot.gradient_flow(np.ones((2, 2, 2)))


# --- activation_histograms ---------------------------------------------------------------


def test_activation_histograms_one_panel_per_layer():
    rng = np.random.default_rng(0)
    acts = [np.tanh(rng.normal(size=(50, 8)) * k) for k in (0.5, 1.0, 3.0)]
    acts.append(Tensor(rng.normal(size=(50, 8))))
    acts[0][0, 0] = np.nan
    fig = plot.activation_histograms(acts, names=["h1", "h2", "h3", "h4"], bins=20, sharex=True)
    assert len(fig.axes) == 4
    for ax, name, a in zip(fig.axes, ["h1", "h2", "h3", "h4"], acts, strict=True):
        values = np.asarray(getattr(a, "data", a)).ravel()
        finite = values[np.isfinite(values)]
        assert sum(bar.get_height() for bar in ax.patches) == finite.size
        assert ax.get_title().startswith(name)
        assert f"mean {finite.mean():.3g}" in ax.get_title()
        assert ax.get_xlabel() == "activation" and ax.get_ylabel() == "count"
    assert "1 non-finite" in fig.axes[0].get_title()
    assert len({ax.get_xlim() for ax in fig.axes}) == 1  # shared x range
    assert fig.get_suptitle() == "Activations per layer"


def test_activation_histograms_dict_and_layout():
    acts = {f"layer {i}": np.linspace(-1, 1, 10) * i for i in range(1, 8)}
    fig = plot.activation_histograms(acts)
    assert len(fig.axes) == 7  # empty grid slots are removed
    assert [ax.get_title().splitlines()[0] for ax in fig.axes] == list(acts)
    with pytest.raises(ValueError, match="2 names for 3 layers"):
        plot.activation_histograms([np.ones(3)] * 3, names=["a", "b"])
    with pytest.raises(TypeError, match="non-empty list"):
        plot.activation_histograms([])
