"""conv2d and max_pool2d: loop references written here, finite differences, ties, errors; the layers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit import ShapeError, Tensor, data, functional, gradcheck, nn, no_grad, optim

RNG = np.random.default_rng(13)


# --- references: explicit loops over n, f, i, j -------------------------------------------------
def reference_conv2d(x, w, b, stride, padding):
    """out[n, f, i, j] = sum_{c,u,v} x_pad[n, c, s i + u, s j + v] w[f, c, u, v] + b[f], by loops."""
    n_batch, _, h, wd = x.shape
    f_count, _, kh, kw = w.shape
    p, s = padding, stride
    xp = np.zeros((n_batch, x.shape[1], h + 2 * p, wd + 2 * p))
    xp[:, :, p : p + h, p : p + wd] = x
    oh, ow = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    out = np.zeros((n_batch, f_count, oh, ow))
    for n in range(n_batch):
        for f in range(f_count):
            for i in range(oh):
                for j in range(ow):
                    window = xp[n, :, i * s : i * s + kh, j * s : j * s + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + (0.0 if b is None else b[f])
    return out


def reference_conv2d_backward(g, x, w, stride, padding):
    """(dx, dw, db) by the same loops: each output pixel sends g back to its window and filter."""
    n_batch, _, h, wd = x.shape
    f_count, _, kh, kw = w.shape
    p, s = padding, stride
    xp = np.zeros((n_batch, x.shape[1], h + 2 * p, wd + 2 * p))
    xp[:, :, p : p + h, p : p + wd] = x
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(f_count)
    for n in range(n_batch):
        for f in range(f_count):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    rows, cols = slice(i * s, i * s + kh), slice(j * s, j * s + kw)
                    dxp[n, :, rows, cols] += g[n, f, i, j] * w[f]
                    dw[f] += g[n, f, i, j] * xp[n, :, rows, cols]
                    db[f] += g[n, f, i, j]
    return dxp[:, :, p : p + h, p : p + wd], dw, db


def reference_max_pool2d(x, k, s):
    """(out, dx for upstream g = 1 ... via a callback): scan each window, the first max wins."""
    n_batch, channels, h, w = x.shape
    kh, kw = k
    sh, sw = s
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n_batch, channels, oh, ow))
    winners = {}
    for n in range(n_batch):
        for c in range(channels):
            for i in range(oh):
                for j in range(ow):
                    best, where = -math.inf, None
                    for u in range(kh):
                        for v in range(kw):
                            value = x[n, c, i * sh + u, j * sw + v]
                            if value > best:  # strictly greater: the first maximum stays
                                best, where = value, (i * sh + u, j * sw + v)
                    out[n, c, i, j] = best
                    winners[n, c, i, j] = where
    return out, winners


def reference_max_pool2d_backward(g, x, winners):
    dx = np.zeros_like(x)
    for (n, c, i, j), (r, q) in winners.items():
        dx[n, c, r, q] += g[n, c, i, j]
    return dx


# --- strategies ----------------------------------------------------------------------------------
@st.composite
def conv_case(draw):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    # The padded input must hold at least one window.
    h = draw(st.integers(max(1, kh - 2 * padding), 6))
    w = draw(st.integers(max(1, kw - 2 * padding), 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    bias = rng.standard_normal(f) if draw(st.booleans()) else None
    x, weight = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, kh, kw))
    return x, weight, bias, stride, padding


@st.composite
def pool_case(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    h, w = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # Distinct values 0.01 apart: no ties, and a 1e-6 nudge never changes a window's winner;
    # |x| stays below 3, so the differences' round-off stays far below the tolerance.
    x = rng.permutation(n * c * h * w).reshape(n, c, h, w) * 0.01
    return x, (kh, kw), stride


# --- conv2d ----------------------------------------------------------------------------------------
@settings(max_examples=40)
@given(case=conv_case())
def test_conv2d_matches_loop_reference_forward_and_backward(case):
    x, w, b, stride, padding = case
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    bt = None if b is None else Tensor(b, requires_grad=True)
    out = functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    np.testing.assert_allclose(
        out.data, reference_conv2d(x, w, b, stride, padding), rtol=1e-12, atol=1e-12
    )
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    dx, dw, db = reference_conv2d_backward(g, x, w, stride, padding)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-12, atol=1e-12)
    if bt is not None:
        np.testing.assert_allclose(bt.grad, db, rtol=1e-12, atol=1e-12)


@settings(max_examples=30)
@given(case=conv_case())
def test_conv2d_gradcheck_random_shapes_strides_paddings(case):
    x, w, b, stride, padding = case
    inputs = [Tensor(x), Tensor(w)] + ([] if b is None else [Tensor(b)])
    report = gradcheck(lambda *t: functional.conv2d(*t, stride=stride, padding=padding), *inputs)
    assert report.passed, report


def test_conv2d_is_cross_correlation_not_convolution():
    # A kernel with one 1 at its top-left corner copies the pixel up-left of each output:
    # out[i, j] = x[i + 0, j + 0] for a 2x2 kernel [[1, 0], [0, 0]] (no flip, as PyTorch).
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    k = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])
    np.testing.assert_array_equal(functional.conv2d(x, k).data[0, 0], [[0, 1], [3, 4]])
    # Stride 2, padding 1 on a 3x3 image: windows start at padded rows/cols 0 and 2.
    np.testing.assert_array_equal(
        functional.conv2d(x, k, stride=2, padding=1).data[0, 0], [[0, 0], [0, 4]]
    )


def test_conv2d_accepts_arrays_keeps_float32_and_records_nothing_under_no_grad():
    x = RNG.standard_normal((2, 1, 5, 5)).astype(np.float32)
    w = RNG.standard_normal((3, 1, 3, 3)).astype(np.float32)
    out = functional.conv2d(x, w, np.zeros(3, dtype=np.float32), padding=1)
    assert isinstance(out, Tensor) and out.shape == (2, 3, 5, 5) and out.dtype == np.float32
    wt = Tensor(w.astype(np.float64), requires_grad=True)
    with no_grad():
        quiet = functional.conv2d(x.astype(np.float64), wt)
    assert quiet.parents == () and not quiet.requires_grad
    # Only the weight needs a gradient: the input's (the batch) is not computed.
    out = functional.conv2d(Tensor(x.astype(np.float64)), wt)
    out.sum().backward()
    assert wt.grad.shape == w.shape


def test_conv2d_errors_name_the_op_and_shapes():
    x, w = np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3))
    with pytest.raises(
        ShapeError,
        match=r"conv2d: x must have shape \(N, C, H, W\), got shape \(3, 8, 8\) "
        r"\(one image\? x\[None\] adds the batch axis\)",
    ):
        functional.conv2d(np.zeros((3, 8, 8)), w)
    with pytest.raises(
        ShapeError, match=r"conv2d: weight must have shape \(F, C, KH, KW\), got shape \(3, 3\)"
    ):
        functional.conv2d(x, np.zeros((3, 3)))
    with pytest.raises(
        ShapeError,
        match=r"conv2d: x has 3 channels \(shape \(2, 3, 8, 8\)\) but weight expects 1 "
        r"\(shape \(4, 1, 3, 3\)\)",
    ):
        functional.conv2d(x, np.zeros((4, 1, 3, 3)))
    with pytest.raises(
        ShapeError,
        match=r"conv2d: kernel 5x5 \(weight \(1, 1, 5, 5\)\) is larger than the padded input "
        r"4x4 \(x \(1, 1, 2, 2\), padding 1\)",
    ):
        functional.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 5, 5)), padding=1)
    with pytest.raises(
        ShapeError,
        match=r"conv2d: bias must have shape \(4,\), one per filter of weight "
        r"\(4, 3, 3, 3\), got shape \(3,\)",
    ):
        functional.conv2d(x, w, np.zeros(3))
    with pytest.raises(ValueError, match="conv2d: stride must be a positive int, got 0"):
        functional.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="conv2d: padding must be a non-negative int, got -1"):
        functional.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match=r"conv2d: stride must be a positive int, got \(1, 1\)"):
        functional.conv2d(x, w, stride=(1, 1))


# --- max_pool2d ----------------------------------------------------------------------------------
@settings(max_examples=40)
@given(case=pool_case())
def test_max_pool2d_matches_loop_reference_and_gradcheck(case):
    x, k, stride = case
    xt = Tensor(x, requires_grad=True)
    out = functional.max_pool2d(xt, k, stride)
    s = k if stride is None else (stride, stride)
    expected, winners = reference_max_pool2d(x, k, s)
    np.testing.assert_array_equal(out.data, expected)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_allclose(xt.grad, reference_max_pool2d_backward(g, x, winners), rtol=1e-15)
    report = gradcheck(lambda t: functional.max_pool2d(t, k, stride), Tensor(x))
    assert report.passed, report


def test_max_pool2d_ties_give_the_whole_gradient_to_the_first_winner():
    x = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    out = functional.max_pool2d(x, 2)
    np.testing.assert_array_equal(out.data, np.ones((1, 1, 2, 2)))
    out.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    # One winner per window, its top-left entry (first in row-major order), as PyTorch.
    expected = np.array(
        [[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    )
    np.testing.assert_array_equal(x.grad[0, 0], expected)
    # A tie that is not at the corner: the first maximum in reading order wins.
    y = Tensor(np.array([[[[0.0, 5.0], [5.0, 1.0]]]]), requires_grad=True)
    functional.max_pool2d(y, 2).sum().backward()
    np.testing.assert_array_equal(y.grad[0, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_max_pool2d_overlapping_windows_accumulate():
    # Stride 1 with a 2x2 kernel: the centre 9 wins all four windows and collects 1 + 2 + 3 + 4.
    x = Tensor(
        np.array([[[[0.0, 1.0, 0.0], [2.0, 9.0, 3.0], [0.0, 4.0, 0.0]]]]), requires_grad=True
    )
    out = functional.max_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(out.data[0, 0], [[9.0, 9.0], [9.0, 9.0]])
    out.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert x.grad[0, 0, 1, 1] == 10.0 and x.grad.sum() == 10.0


def test_max_pool2d_rectangles_and_dropped_edges():
    x = np.arange(2 * 3 * 5 * 7, dtype=float).reshape(2, 3, 5, 7)
    out = functional.max_pool2d(x, (2, 3), stride=(2, 2))
    expected, _ = reference_max_pool2d(x, (2, 3), (2, 2))
    assert out.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(out.data, expected)


def test_max_pool2d_errors():
    with pytest.raises(
        ShapeError,
        match=r"max_pool2d: kernel 3x3 is larger than the input 2x2 \(x \(1, 1, 2, 2\)\)",
    ):
        functional.max_pool2d(np.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(
        ShapeError, match=r"max_pool2d: x must have shape \(N, C, H, W\), got shape \(4, 4\)"
    ):
        functional.max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="max_pool2d: kernel_size must be a positive int, got 0"):
        functional.max_pool2d(np.zeros((1, 1, 4, 4)), 0)
    with pytest.raises(ValueError, match="max_pool2d: stride must be a positive int, got -1"):
        functional.max_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=-1)


# --- layers ----------------------------------------------------------------------------------------
def test_conv2d_layer_layout_init_forward_and_repr():
    layer = nn.Conv2d(3, 8, 3, padding=1, rng=0)
    assert layer.weight.shape == (8, 3, 3, 3) and layer.bias.shape == (8,)
    assert np.array_equal(layer.bias.data, np.zeros(8))
    # He-uniform over fan_in = 3 * 3 * 3: filter f is column f of a (27, 8) draw.
    drawn = nn.init.he_uniform((27, 8), rng=0)
    np.testing.assert_array_equal(layer.weight.data.reshape(8, 27), drawn.T)
    assert np.abs(layer.weight.data).max() <= math.sqrt(6 / 27)
    x = RNG.standard_normal((2, 3, 5, 4))
    layer.bias.data[:] = RNG.standard_normal(8)
    expected = reference_conv2d(x, layer.weight.data, layer.bias.data, 1, 1)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert repr(layer) == "Conv2d(3, 8, kernel_size=3, padding=1)"
    other = nn.Conv2d(1, 2, (3, 2), stride=2, bias=False)
    assert repr(other) == "Conv2d(1, 2, kernel_size=(3, 2), stride=2, bias=False)"
    assert other.parameters() == [other.weight]
    assert other(np.zeros((1, 1, 7, 6))).shape == (1, 2, 3, 3)


def test_layer_shape_errors():
    with pytest.raises(
        ShapeError,
        match=r"Conv2d\(3, 8, kernel_size=3\): expected input of shape \(N, 3, H, W\), "
        r"got shape \(2, 1, 8, 8\)",
    ):
        nn.Conv2d(3, 8, 3)(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be a positive int, got 0"):
        nn.Conv2d(1, 2, 0)
    with pytest.raises(ValueError, match="Conv2d: out_channels must be a positive int"):
        nn.Conv2d(1, 0, 3)
    with pytest.raises(ShapeError, match=r"Flatten\(\): expected input with a batch axis"):
        nn.Flatten()(np.zeros(3))


def test_pool_and_flatten_layers():
    pool = nn.MaxPool2d(2)
    assert repr(pool) == "MaxPool2d(kernel_size=2, stride=2)"
    assert repr(nn.MaxPool2d(3, stride=1)) == "MaxPool2d(kernel_size=3, stride=1)"
    x = RNG.standard_normal((2, 3, 4, 6))
    np.testing.assert_array_equal(pool(x).data, reference_max_pool2d(x, (2, 2), (2, 2))[0])
    flat = nn.Flatten()
    assert repr(flat) == "Flatten()" and flat.parameters() == []
    t = Tensor(x, requires_grad=True)
    y = flat(t)
    assert y.shape == (2, 72)
    np.testing.assert_array_equal(y.data, x.reshape(2, 72))
    y.backward(np.arange(144.0).reshape(2, 72))
    np.testing.assert_array_equal(t.grad, np.arange(144.0).reshape(2, 3, 4, 6))


def test_small_cnn_gradcheck_end_to_end():
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, rng=0),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * 2 * 2, 3, rng=1),
    )
    conv, lin = net[0], net[4]
    x = RNG.standard_normal((2, 1, 4, 4))
    y = np.array([0, 2])

    def loss(xt, w, b, v):
        conv.weight, conv.bias, lin.weight = w, b, v
        return functional.cross_entropy(net(xt), y)

    inputs = [
        Tensor(x),
        Tensor(conv.weight.data),
        Tensor(RNG.standard_normal(2)),
        Tensor(lin.weight.data),
    ]
    report = gradcheck(loss, *inputs)
    assert report.passed, report


def test_cnn_learns_digits_quickly():
    X, y = data.load_digits(return_images=True)
    X, y = X[:256, None], y[:256]
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, rng=0),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10, rng=1),
    )
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    first = None
    for epoch in range(8):
        for start in range(0, 256, 32):
            loss = functional.cross_entropy(net(X[start : start + 32]), y[start : start + 32])
            net.zero_grad()
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
    with no_grad():
        accuracy = np.mean(net(X).data.argmax(axis=1) == y)
    assert first > 2.0 and accuracy > 0.9, (first, accuracy)


def test_conv_and_pool_match_torch_when_installed():
    torch = pytest.importorskip("torch")
    x, w, b = (
        RNG.standard_normal((2, 3, 7, 6)),
        RNG.standard_normal((4, 3, 3, 2)),
        RNG.standard_normal(4),
    )
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
    out = functional.conv2d(xt, wt, bt, stride=2, padding=1)
    assert out.shape == (2, 4, 4, 4)  # (7 + 2 - 3) // 2 + 1 rows, (6 + 2 - 2) // 2 + 1 columns
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch.nn.functional.conv2d(tx, tw, tb, stride=2, padding=1).backward(torch.from_numpy(g))
    for ours, theirs in ((xt, tx), (wt, tw), (bt, tb)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    ties = np.round(RNG.standard_normal((1, 2, 6, 6)))  # many ties
    pt = Tensor(ties, requires_grad=True)
    functional.max_pool2d(pt, 3, 2).sum().backward()
    tt = torch.tensor(ties, requires_grad=True)
    torch.nn.functional.max_pool2d(tt, 3, 2).sum().backward()
    np.testing.assert_array_equal(pt.grad, tt.grad.numpy())
