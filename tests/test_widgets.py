"""bpkit.widgets driven without a browser: set slider values, click buttons, read the state.

Expected numbers come from the math (update rules written out here, stability
limits of gradient descent, variance propagation, finite differences), not
from the widgets' own output.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from bpkit import Value, numerical_grad, plot
from bpkit import widgets as W
from bpkit.surfaces import SURFACES


def _trajectory_line(state):
    ax = state.figure.axes[0]
    return next(line for line in ax.get_lines() if (line.get_gid() or "").startswith("trajectory:"))


# --- gradient descent explorer -----------------------------------------------------------------


def test_sgd_path_is_the_gradient_descent_recursion():
    _, state = W.gradient_descent_explorer("rosenbrock", optimizer="sgd", lr=1e-3, steps=50)
    s = SURFACES["rosenbrock"]
    w = np.array(s.start)
    expected = [w]
    for _ in range(50):
        w = w - 1e-3 * np.array(s.grad(*w))  # w <- w - lr * grad f(w)
        expected.append(w)
    np.testing.assert_allclose(state.trajectory, np.array(expected), rtol=1e-12, atol=1e-14)
    assert state.final_loss == pytest.approx(s(*expected[-1]))


def test_momentum_path_follows_the_heavy_ball_rule():
    _, state = W.gradient_descent_explorer(
        "ill_conditioned", optimizer="momentum", lr=0.02, momentum=0.8, steps=30
    )
    s = SURFACES["ill_conditioned"]
    w, v = np.array(s.start), np.zeros(2)
    for _ in range(30):
        v = 0.8 * v + np.array(s.grad(*w))  # PyTorch's convention: v <- mu v + g; w <- w - lr v
        w = w - 0.02 * v
    np.testing.assert_allclose(state.trajectory[-1], w, rtol=1e-12)


def test_controls_drive_the_state_and_redraw():
    widget, state = W.gradient_descent_explorer(
        "ill_conditioned", optimizer="sgd", lr=0.01, steps=20
    )
    assert state.image in widget.children and state.status in widget.children
    first_png, first_path = state.png, state.trajectory.copy()
    assert state.image.value == first_png and first_png.startswith(b"\x89PNG")
    state.controls["lr"].value = 0.05
    assert state.lr == pytest.approx(0.05, rel=1e-6)
    assert not np.array_equal(state.trajectory, first_path)
    assert state.image.value == state.png != first_png
    state.controls["steps"].value = 60
    assert len(state.trajectory) == 61
    line = _trajectory_line(state)
    np.testing.assert_array_equal(line.get_xdata(), state.trajectory[:, 0])
    np.testing.assert_array_equal(line.get_ydata(), state.trajectory[:, 1])
    state.controls["surface"].value = "himmelblau"
    assert state.trajectory[0].tolist() == list(SURFACES["himmelblau"].start)
    assert "himmelblau" in state.figure.axes[0].get_title()
    assert state.status.value == state.summary


def test_every_optimizer_runs_and_momentum_slider_follows():
    _, state = W.gradient_descent_explorer("ill_conditioned", optimizer="sgd", lr=0.05, steps=200)
    for name in W.OPTIMIZERS:
        state.controls["optimizer"].value = name
        assert state.optimizer == name and not state.diverged
        assert state.final_loss < 0.5 * SURFACES["ill_conditioned"](
            *SURFACES["ill_conditioned"].start
        )
        assert state.controls["momentum"].disabled == (name in ("sgd", "rmsprop"))
        legend = [t.get_text() for t in state.figure.axes[0].get_legend().get_texts()]
        assert any(text.startswith(f"{name} (lr=") for text in legend), legend


def test_lr_above_two_over_curvature_diverges():
    # Along y the curvature is 20: gradient descent converges iff |1 - 20 lr| < 1, i.e. lr < 0.1.
    _, state = W.gradient_descent_explorer("ill_conditioned", optimizer="sgd", lr=0.09, steps=300)
    assert not state.diverged and state.final_loss < 1e-6
    state.set(lr=0.11)
    assert state.diverged and state.final_loss == math.inf
    assert "diverged at step" in state.summary
    assert np.isfinite(state.trajectory).all()
    # |1 - 20 * 0.11| = 1.2 per step from y = 1.5: |y| passes 1e6 after about 74 steps.
    assert state.diverged_at == pytest.approx(math.log(1e6 / 1.5) / math.log(1.2), abs=2)


def test_adam_beta1_is_the_momentum_slider():
    _, a = W.gradient_descent_explorer("saddle", optimizer="adam", lr=0.05, momentum=0.0, steps=40)
    _, b = W.gradient_descent_explorer("saddle", optimizer="adam", lr=0.05, momentum=0.9, steps=40)
    assert not np.allclose(a.trajectory, b.trajectory)
    assert "beta1=0" in a.label and "beta1=0.9" in b.label


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="gradient_descent_explorer: unknown optimizer 'lbfgs'"):
        W.gradient_descent_explorer(optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr must be a number"):
        W.gradient_descent_explorer(lr=-1.0)
    with pytest.raises(ValueError, match="unknown surface"):
        W.gradient_descent_explorer(surface="egg")
    _, state = W.gradient_descent_explorer(steps=5)
    with pytest.raises(TypeError, match="unknown setting 'speed'"):
        state.set(speed=3)


def test_no_stray_pyplot_figures():
    before = plt.get_fignums()
    W.gradient_descent_explorer(steps=5)
    W.gradient_flow_explorer(depth=3)
    W.backprop_stepper()
    assert plt.get_fignums() == before  # the inline backend would show a second copy


# --- gradient flow explorer ----------------------------------------------------------------------


def test_norms_are_the_weight_gradients_norms():
    _, state = W.gradient_flow_explorer(depth=3, activation="tanh", init="xavier", width=4, batch=5)
    from bpkit.functional import cross_entropy

    layer = state.model.linear_layers()[0]

    def loss_of(w0):
        saved = layer.weight.data.copy()
        layer.weight.data[...] = w0
        value = float(cross_entropy(state.model(state.X), state.y).data)
        layer.weight.data[...] = saved
        return value

    numeric = numerical_grad(loss_of, layer.weight.data)
    assert state.norms[0] == pytest.approx(np.linalg.norm(numeric), rel=1e-6)
    assert state.norms.shape == (3,)


def test_depth_slider_and_dropdowns():
    widget, state = W.gradient_flow_explorer(depth=4)
    assert state.image in widget.children
    state.controls["depth"].value = 12
    assert state.norms.shape == (12,) and len(state.figure.axes[0].patches) == 12
    heights = [bar.get_height() for bar in state.figure.axes[0].patches]
    np.testing.assert_allclose(heights, state.norms)
    state.controls["activation"].value = "relu"
    state.controls["init"].value = "he"
    assert (state.activation, state.init) == ("relu", "he")
    assert state.image.value == state.png
    norms = state.norms.copy()
    state.set(depth=12)
    np.testing.assert_array_equal(state.norms, norms)  # fixed seed: same network, same numbers


def test_setting_the_state_from_code_moves_the_controls_and_computes_once():
    _, state = W.gradient_flow_explorer(depth=4)
    runs = []
    state._listeners.append(runs.append)
    state.set(activation="relu", init="he", depth=60)
    assert len(runs) == 1  # the controls' echoes do not recompute
    controls = state.controls
    assert (controls["activation"].value, controls["init"].value) == ("relu", "he")
    assert controls["depth"].value == 60 and controls["depth"].max >= 60
    assert state.norms.shape == (60,)


def test_sigmoid_with_tiny_weights_vanishes():
    # Each layer back multiplies by at most max sigmoid' * ||W||_2 ~ 0.25 * 0.01 * 2 sqrt(64) = 0.04.
    _, state = W.gradient_flow_explorer(depth=10, activation="sigmoid", init="normal 0.01")
    assert state.norms[0] / state.norms[-1] < 0.04**9 * 1e3


def test_he_keeps_relu_gradients_steady_and_xavier_shrinks_them():
    # He et al. (2015): Var(W) = 2 / fan_in keeps the scale through ReLU layers. Xavier's
    # Var(W) = 2 / (fan_in + fan_out) = 1 / 64 halves the variance per layer in each direction,
    # so dW = x^T delta shrinks by 2^(-1/2) per layer overall: 2^(-29/2) for 30 layers.
    _, he = W.gradient_flow_explorer(depth=30, activation="relu", init="he")
    assert 0.1 < he.norms[0] / he.norms[-1] < 10
    _, xavier = W.gradient_flow_explorer(depth=30, activation="relu", init="xavier")
    decades = np.mean(np.log10(he.norms) - np.log10(xavier.norms))
    assert decades == pytest.approx(29 / 2 * math.log10(2), abs=1.0)


def test_tanh_with_large_weights_explodes_toward_the_input():
    _, state = W.gradient_flow_explorer(depth=10, activation="tanh", init="normal 1")
    assert state.norms[0] > 10 * state.norms[-1]
    assert "ratio" in state.status.value


def test_gradient_flow_bad_settings():
    with pytest.raises(ValueError, match="unknown init 'orthogonal'"):
        W.gradient_flow_explorer(init="orthogonal")
    with pytest.raises(ValueError, match="depth must be an int"):
        W.gradient_flow_explorer(depth=0)


# --- backprop stepper ------------------------------------------------------------------------


def _grads_by_backward(build):
    root = build()
    root.backward()
    from bpkit.graph import topological_order

    return [n.grad for n in topological_order(root)]


def _reused():
    a = Value(1.5, label="a")
    b = a + a
    b.label = "b"
    c = b * b
    c.label = "c"
    d = (c / a).exp().log() - a.sigmoid() + (-a).relu() + a**3
    d.label = "d"
    return d


@pytest.mark.parametrize("build", [W.default_graph, _reused])
def test_stepping_to_the_end_gives_backwards_gradients(build):
    _, state = W.backprop_stepper(build())
    assert state.step == 0 and state.node is None
    assert list(state.grads.values()) == [0.0] * (len(state.nodes) - 1) + [1.0]
    seen = []
    while not state.done:
        state.buttons["next"].click()
        seen.append(state.node)
    assert [id(n) for n in seen] == [id(n) for n in reversed(state.nodes) if n.parents]
    assert state.step == state.n_steps == len(seen)
    np.testing.assert_allclose(list(state.grads.values()), _grads_by_backward(build), rtol=1e-12)
    assert [n.grad for n in state.nodes] == list(state.grads.values())


def test_default_graph_gradients_match_finite_differences():
    _, state = W.backprop_stepper()
    while not state.done:
        state.next()

    def loss(v):
        x, w, b = v
        return math.tanh(w * x + b) ** 2

    numeric = numerical_grad(loss, np.array([0.5, -1.5, 0.8]))
    g = state.grads
    np.testing.assert_allclose([g["x"], g["w"], g["b"]], numeric, rtol=1e-7)


def test_each_step_explains_the_update_and_highlights_the_node():
    _, state = W.backprop_stepper()
    facecolours = [p.get_facecolor() for p in state.figure.axes[0].patches if p.get_gid() == "node"]
    highlight = to_rgba(plot.PALETTE[4], 0.75)
    assert highlight not in [tuple(c) for c in facecolours]
    state.next()  # loss = h * h: h gets two contributions
    assert state.text.count("h.grad += ") == 2
    assert state.grads["h"] == pytest.approx(2 * state.nodes[state.names.index("h")].data)
    state.next()
    assert "local dh/dz = 1 - h² = " in state.text and "z.grad += " in state.text
    faces = [
        tuple(p.get_facecolor()) for p in state.figure.axes[0].patches if p.get_gid() == "node"
    ]
    assert faces.count(highlight) == 1
    assert "processing h" in state.figure.axes[0].get_title()
    assert "z.grad +=" in state.explanation.value


def test_back_and_reset():
    _, state = W.backprop_stepper()
    assert state.buttons["back"].disabled and not state.buttons["next"].disabled
    state.next()
    state.next()
    after_two = dict(state.grads)
    state.next()
    state.buttons["back"].click()
    assert state.step == 2 and state.grads == after_two and state.node is state.order[1]
    state.buttons["reset"].click()
    assert state.step == 0 and state.node is None and state.grads["loss"] == 1.0
    assert sum(abs(g) for g in state.grads.values()) == 1.0
    while not state.done:
        state.next()
    assert state.buttons["next"].disabled
    state.next()  # nothing left: no change
    assert state.step == state.n_steps


def test_unlabelled_nodes_get_unique_names_and_bad_roots_are_refused():
    x = Value(2.0)
    y = x * x + x
    _, state = W.backprop_stepper(y)
    assert len(set(state.names)) == len(state.names) == 3
    with pytest.raises(TypeError, match="backprop_stepper: root must be a bpkit.Value"):
        W.backprop_stepper(3.0)
