"""LSTMCell and GRUCell: against loop references written here, finite differences, and torch if present."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit import ShapeError, Tensor, gradcheck, nn

RNG = np.random.default_rng(11)


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def dot(row, vec):
    """sum_m row[m] * vec[m], added exactly (math.fsum) in plain Python floats."""
    return math.fsum(float(a) * float(b) for a, b in zip(row, vec, strict=True))


def reference_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step, example by example and unit by unit, from PyTorch's documented equations.

    Row k*H + j of the stacked weights belongs to gate k (0 i, 1 f, 2 g, 3 o) of unit j.
    """
    n_batch, hidden = h.shape
    h_next, c_next = np.zeros_like(h), np.zeros_like(c)
    for n in range(n_batch):
        for j in range(hidden):
            pre = [
                dot(w_ih[k * hidden + j], x[n])
                + b_ih[k * hidden + j]
                + dot(w_hh[k * hidden + j], h[n])
                + b_hh[k * hidden + j]
                for k in range(4)
            ]
            i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), math.tanh(pre[2]), sigmoid(pre[3])
            c_next[n, j] = f * c[n, j] + i * g
            h_next[n, j] = o * math.tanh(c_next[n, j])
    return h_next, c_next


def reference_gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step, unit by unit: r, z, n blocks; r multiplies (W_hn h + b_hn), as PyTorch does."""
    n_batch, hidden = h.shape
    h_next = np.zeros_like(h)
    for n in range(n_batch):
        for j in range(hidden):
            gi = [dot(w_ih[k * hidden + j], x[n]) + b_ih[k * hidden + j] for k in range(3)]
            gh = [dot(w_hh[k * hidden + j], h[n]) + b_hh[k * hidden + j] for k in range(3)]
            r = sigmoid(gi[0] + gh[0])
            z = sigmoid(gi[1] + gh[1])
            cand = math.tanh(gi[2] + r * gh[2])
            h_next[n, j] = (1.0 - z) * cand + z * h[n, j]
    return h_next


def params(cell):
    return [p.data for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]


# --- LSTMCell ----------------------------------------------------------------------------------
def test_lstm_layout_init_and_repr():
    cell = nn.LSTMCell(3, 5, rng=0)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (20, 3)),
        ("weight_hh", (20, 5)),
        ("bias_ih", (20,)),
        ("bias_hh", (20,)),
    ]
    bound = 1 / math.sqrt(5)
    assert all(np.all(np.abs(p) <= bound) for p in params(cell))
    # Drawn from one generator in this order, so a seed reproduces the cell.
    rng = np.random.default_rng(0)
    expected = [rng.uniform(-bound, bound, size=p.shape) for p in params(cell)]
    for got, want in zip(params(cell), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert repr(cell) == "LSTMCell(input_size=3, hidden_size=5)"


def test_lstm_matches_loop_reference_over_steps():
    cell = nn.LSTMCell(3, 4, rng=1)
    xs = RNG.standard_normal((6, 2, 3))
    h, c = RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))
    h_ref, c_ref = h, c
    state = (h, c)
    for x in xs:
        state = cell(x, state)
        h_ref, c_ref = reference_lstm_step(x, h_ref, c_ref, *params(cell))
    np.testing.assert_allclose(state[0].data, h_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state[1].data, c_ref, rtol=1e-12, atol=1e-14)
    # No state means zeros.
    h0, c0 = cell(xs[0])
    h1, c1 = reference_lstm_step(xs[0], np.zeros((2, 4)), np.zeros((2, 4)), *params(cell))
    np.testing.assert_allclose(h0.data, h1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c0.data, c1, rtol=1e-12, atol=1e-14)


def test_lstm_gate_order_is_i_f_g_o():
    # Saturate one gate at a time through its bias block and watch which quantity it controls.
    cell = nn.LSTMCell(1, 1, rng=0)
    for p in (cell.weight_ih, cell.weight_hh, cell.bias_hh):
        p.data[:] = 0.0
    x, h, c = np.zeros((1, 1)), np.zeros((1, 1)), np.full((1, 1), 0.8)
    # i, f, o open (bias 50, sigmoid = 1), g = tanh(0.5): c' = c + tanh(0.5).
    cell.bias_ih.data[:] = [50.0, 50.0, 0.5, 50.0]
    _, c_next = cell(x, (h, c))
    assert math.isclose(c_next.item(), 0.8 + math.tanh(0.5), rel_tol=1e-12)
    cell.bias_ih.data[:] = [50.0, -50.0, 0.5, 50.0]  # forget gate shut: c is dropped
    h_next, c_next = cell(x, (h, c))
    assert math.isclose(c_next.item(), math.tanh(0.5), rel_tol=1e-12)
    cell.bias_ih.data[:] = [-50.0, 50.0, 0.5, 50.0]  # input gate shut: c' = c
    _, c_next = cell(x, (h, c))
    assert math.isclose(c_next.item(), 0.8, rel_tol=1e-12)
    cell.bias_ih.data[:] = [50.0, 50.0, 0.5, -50.0]  # output gate shut: h' = 0
    h_next, _ = cell(x, (h, c))
    assert abs(h_next.item()) < 1e-20


def test_lstm_cell_state_gradient_is_the_forget_gate():
    # c' = f * c + i * g, so dc'/dc = f elementwise: the additive path of notebook 09.
    cell = nn.LSTMCell(3, 4, rng=2)
    x, h = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4))
    c = Tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    _, c_next = cell(x, (h, c))
    c_next.sum().backward()
    a = x @ cell.weight_ih.data.T + cell.bias_ih.data + h @ cell.weight_hh.data.T
    f = 1 / (1 + np.exp(-(a + cell.bias_hh.data)[:, 4:8]))
    np.testing.assert_allclose(c.grad, f, rtol=1e-12)


@st.composite
def recurrent_case(draw, gates):
    """(sizes, arrays) for a short unrolled sequence with random sizes and seeded values."""
    n = draw(st.integers(1, 3))
    d = draw(st.integers(1, 4))
    hidden = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arrays = {
        "xs": rng.standard_normal((steps, n, d)),
        "h": rng.standard_normal((n, hidden)),
        "c": rng.standard_normal((n, hidden)),
        "w_ih": rng.standard_normal((gates * hidden, d)),
        "w_hh": rng.standard_normal((gates * hidden, hidden)),
        "b_ih": rng.standard_normal(gates * hidden),
        "b_hh": rng.standard_normal(gates * hidden),
    }
    return (d, hidden), arrays


@settings(max_examples=25)
@given(case=recurrent_case(gates=4))
def test_lstm_bptt_gradcheck_random_sizes(case):
    (d, hidden), a = case
    cell = nn.LSTMCell(d, hidden)
    weights = np.random.default_rng(0).standard_normal((2, *a["h"].shape))

    def unrolled(xs, h, c, w_ih, w_hh, b_ih, b_hh):
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = w_ih, w_hh, b_ih, b_hh
        state = (h, c)
        for t in range(xs.shape[0]):
            state = cell(xs[t], state)
        return (state[0] * weights[0] + state[1] * weights[1]).sum()

    inputs = [Tensor(a[k]) for k in ("xs", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh")]
    report = gradcheck(unrolled, *inputs)
    assert report.passed, report


def test_lstm_shape_errors_name_the_cell_and_shapes():
    cell = nn.LSTMCell(3, 4)
    with pytest.raises(
        ShapeError,
        match=r"LSTMCell\(input_size=3, hidden_size=4\): expected x of shape \(batch, 3\), "
        r"got shape \(2, 5\)",
    ):
        cell(np.zeros((2, 5)))
    with pytest.raises(ShapeError, match=r"expected x of shape \(batch, 3\), got shape \(3,\)"):
        cell(np.zeros(3))
    with pytest.raises(
        ShapeError, match=r"expected h of shape \(2, 4\) to match x \(2, 3\), got shape \(2, 3\)"
    ):
        cell(np.zeros((2, 3)), (np.zeros((2, 3)), np.zeros((2, 4))))
    with pytest.raises(
        ShapeError, match=r"expected c of shape \(2, 4\) to match x \(2, 3\), got shape \(1, 4\)"
    ):
        cell(np.zeros((2, 3)), (np.zeros((2, 4)), np.zeros((1, 4))))
    with pytest.raises(TypeError, match=r"LSTMCell\(.*\): state must be a tuple \(h, c\) or None"):
        cell(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="LSTMCell: hidden_size must be a positive int, got 0"):
        nn.LSTMCell(3, 0)


# --- GRUCell -----------------------------------------------------------------------------------
def test_gru_layout_and_loop_reference():
    cell = nn.GRUCell(3, 4, rng=3)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (12, 3)),
        ("weight_hh", (12, 4)),
        ("bias_ih", (12,)),
        ("bias_hh", (12,)),
    ]
    assert all(np.all(np.abs(p) <= 0.5) for p in params(cell))
    assert repr(cell) == "GRUCell(input_size=3, hidden_size=4)"
    xs = RNG.standard_normal((5, 2, 3))
    h = h_ref = RNG.standard_normal((2, 4))
    for x in xs:
        h = cell(x, h)
        h_ref = reference_gru_step(x, h_ref, *params(cell))
    np.testing.assert_allclose(h.data, h_ref, rtol=1e-12, atol=1e-14)
    h_zero = reference_gru_step(xs[0], np.zeros((2, 4)), *params(cell))
    np.testing.assert_allclose(cell(xs[0]).data, h_zero, rtol=1e-12, atol=1e-14)


@settings(max_examples=25)
@given(case=recurrent_case(gates=3))
def test_gru_bptt_gradcheck_random_sizes(case):
    (d, hidden), a = case
    cell = nn.GRUCell(d, hidden)

    def unrolled(xs, h, w_ih, w_hh, b_ih, b_hh):
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = w_ih, w_hh, b_ih, b_hh
        for t in range(xs.shape[0]):
            h = cell(xs[t], h)
        return h

    inputs = [Tensor(a[k]) for k in ("xs", "h", "w_ih", "w_hh", "b_ih", "b_hh")]
    report = gradcheck(unrolled, *inputs)
    assert report.passed, report


def test_gru_shape_errors():
    cell = nn.GRUCell(2, 3)
    with pytest.raises(
        ShapeError,
        match=r"GRUCell\(input_size=2, hidden_size=3\): expected x of shape \(batch, 2\), "
        r"got shape \(4, 3\)",
    ):
        cell(np.zeros((4, 3)))
    with pytest.raises(
        ShapeError, match=r"expected h of shape \(4, 3\) to match x \(4, 2\), got shape \(4, 2\)"
    ):
        cell(np.zeros((4, 2)), np.zeros((4, 2)))


# --- torch as an optional oracle -----------------------------------------------------------------
def test_cells_match_torch_when_installed():
    torch = pytest.importorskip("torch")
    x, h, c = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))
    xt, ht, ct = (torch.from_numpy(a) for a in (x, h, c))  # float64 tensors
    pairs = [
        (nn.LSTMCell(3, 4, rng=5), torch.nn.LSTMCell(3, 4).double()),
        (nn.GRUCell(3, 4, rng=5), torch.nn.GRUCell(3, 4).double()),
    ]
    for ours, theirs in pairs:
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(theirs, name).copy_(torch.from_numpy(getattr(ours, name).data))
            if isinstance(ours, nn.LSTMCell):
                got, want = ours(x, (h, c)), theirs(xt, (ht, ct))
            else:
                got, want = (ours(x, h),), (theirs(xt, ht),)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g.data, w.numpy(), rtol=1e-10)
