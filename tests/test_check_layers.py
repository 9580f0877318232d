"""bpkit.check, layer checkers: right answers pass, each classic bug gets its own diagnosis.

Every "student" here is a plain function written the way a learner would write
it. The right answers are written differently from the checkers' references
(step-by-step chain rule, loops), and the references themselves are checked
against central finite differences of the forward pass at the bottom.
"""

import numpy as np
import pytest

from bpkit import Tensor, check
from bpkit.check import layers
from bpkit.gradcheck import numerical_grad
from tests.checkers import assert_passes, diagnosis


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- linear_backward -----------------------------------------------------------------------------
def linear_ok(dout, x, W, b):
    dx = np.einsum("nm,dm->nd", dout, W)
    dW = np.einsum("nd,nm->dm", x, dout)
    db = np.zeros_like(b)
    for row in dout:
        db = db + row
    return dx, dW, db


def test_linear_backward_accepts_a_right_answer(capsys):
    assert_passes(check.linear_backward, linear_ok, capsys)


def _mutating_linear(dout, x, W, b):
    dx, dW, db = linear_ok(dout, x, W, b)
    x -= x.mean(axis=0)
    return dx, dW, db


def _zeroing_dout(dout, x, W, b):
    grads = dout @ W.T, x.T @ dout, dout.sum(axis=0)
    dout[:] = 0  # "clear the gradient", but it is the caller's array
    return grads


LINEAR_BUGS = [
    (
        "dW transposed",
        lambda dout, x, W, b: (dout @ W.T, dout.T @ x, dout.sum(0)),
        ["dW looks transposed", "shape (3, 5)", "W's shape (5, 3)"],
    ),
    (
        "dx through W, not W.T",
        lambda dout, x, W, b: (dout @ W, x.T @ dout, dout.sum(0)),
        ["raised ValueError", "dout @ W", "shape"],
    ),
    (
        "db not summed",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout),
        ["db has shape (4, 3)", "summed over them"],
    ),
    (
        "db summed over the wrong axis",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.sum(1)),
        ["wrong axis"],
    ),
    (
        "db mean",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.mean(0)),
        ["db is the right answer divided by dout.shape[0]", "a mean where a sum belongs"],
    ),
    (
        "dW mean",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout / len(x), dout.sum(0)),
        ["dW is the right answer divided by dout.shape[0]"],
    ),
    (
        "dx mean",
        lambda dout, x, W, b: (dout @ W.T / len(x), x.T @ dout, dout.sum(0)),
        ["dx is the right answer divided by dout.shape[0]", "already in the loss"],
    ),
    (
        "all three averaged",
        lambda dout, x, W, b: (dout @ W.T / len(x), x.T @ dout / len(x), dout.mean(0)),
        ["dx is the right answer divided by dout.shape[0]", "also wrong: dW, db"],
    ),
    (
        "swapped outputs",
        lambda dout, x, W, b: (x.T @ dout, dout @ W.T, dout.sum(0)),
        ["dx and dW are swapped"],
    ),
    (
        "sign",
        lambda dout, x, W, b: (-(dout @ W.T), x.T @ dout, dout.sum(0)),
        ["dx has the wrong sign"],
    ),
    (
        "output's gradient",
        lambda dout, x, W, b: (dout, x.T @ dout, dout.sum(0)),
        ["dx is dout itself", "output"],
    ),
    (
        "keepdims",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.sum(0, keepdims=True)),
        ["db has shape (1, 3)", "size-1 axis"],
    ),
    (
        "summed everything",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.sum()),
        ["single number", "every axis"],
    ),
    ("mutation", _mutating_linear, ["changed its input `x` in place"]),
    ("mutation of dout", _zeroing_dout, ["changed its input `dout` in place", "dout.copy()"]),
    (
        "tuple of 2",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout),
        ["returned 2 values; expected 3"],
    ),
    ("None", lambda dout, x, W, b: None, ["returned None", "return dx, dW, db"]),
    (
        "a list",
        lambda dout, x, W, b: ((dout @ W.T).tolist(), x.T @ dout, dout.sum(0)),
        ["dx is a list", "np.array"],
    ),
    (
        "a Tensor",
        lambda dout, x, W, b: (Tensor(dout @ W.T), x.T @ dout, dout.sum(0)),
        ["dx is a bpkit Tensor", ".data"],
    ),
    (
        "NaN",
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout * np.nan, dout.sum(0)),
        ["dW contains NaN"],
    ),
    (
        "float32",
        lambda dout, x, W, b: (dout @ W.T, (x.T @ dout).astype(np.float32), dout.sum(0)),
        ["float32"],
    ),
    (
        "object array",
        lambda dout, x, W, b: (np.array([1, "a"], dtype=object), x.T @ dout, 0),
        ["dtype=object"],
    ),
    (
        "random garbage",
        lambda dout, x, W, b: (dout @ W.T + 0.1, x.T @ dout, dout.sum(0)),
        ["dx = (right answer) + 1/10", "a constant", "in every case"],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in LINEAR_BUGS], ids=[name for name, _, _ in LINEAR_BUGS]
)
def test_linear_backward_names_each_bug(fn, expected):
    message = diagnosis(check.linear_backward, fn)
    assert message.startswith("linear_backward: ")
    for fragment in expected:
        assert fragment in message, message


def test_linear_backward_names_the_case_shapes():
    message = diagnosis(check.linear_backward, lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout))
    assert "case 1: dout (4, 3), x (4, 5), W (5, 3), b (3,)" in message


# --- activations ---------------------------------------------------------------------------------
def relu_ok(dout, x):
    dx = dout.copy()
    dx[x <= 0] = 0.0
    return dx


def _relu_in_place(dout, x):
    dx = dout
    dx[x <= 0] = 0
    return dx


RELU_BUGS = [
    ("returned the mask", lambda dout, x: (x > 0).astype(float), ["forgot to multiply", "dout"]),
    ("returned a bool mask", lambda dout, x: x > 0, ["forgot to multiply"]),
    ("no derivative", lambda dout, x: dout * 1.0, ["forgot relu's derivative"]),
    ("mask on dout", lambda dout, x: np.maximum(dout, 0), ["masked on dout > 0"]),
    ("x * dout", lambda dout, x: x * dout, ["dx = x * dout"]),
    ("forward pass", lambda dout, x: np.maximum(x, 0), ["forward pass"]),
    ("in place on dout", _relu_in_place, ["changed its input `dout`", "`dx = dout` makes no copy"]),
    (
        "trailing comma",
        lambda dout, x: (dout * (x > 0),),
        ["returned a tuple of 1", "trailing comma"],
    ),
    ("sign", lambda dout, x: -dout * (x > 0), ["wrong sign"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in RELU_BUGS], ids=[name for name, _, _ in RELU_BUGS]
)
def test_relu_backward_names_each_bug(fn, expected):
    message = diagnosis(check.relu_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_relu_backward_accepts_a_right_answer(capsys):
    assert_passes(check.relu_backward, relu_ok, capsys)


def sigmoid_ok(dout, x):
    # d sigmoid / dx = exp(-x) / (1 + exp(-x))**2, written without s(1-s)
    return dout * np.exp(-x) / (1 + np.exp(-x)) ** 2


def sigmoid_backward_as_in_the_lecture(dA, A):
    # Lecture 03's version: its second argument was the OUTPUT A = sigmoid(Z).
    return dA * A * (1 - A)


def tanh_backward_as_in_the_lecture(dA, A):
    return dA * (1 - A**2)


SIGMOID_BUGS = [
    ("pre-activation", lambda dout, x: dout * x * (1 - x), ["pre-activation", "OUTPUT s"]),
    ("forgot dout", lambda dout, x: sigmoid(x) * (1 - sigmoid(x)), ["forgot to multiply", "dout"]),
    ("forgot derivative", lambda dout, x: dout + 0.0, ["forgot sigmoid's derivative"]),
    ("sign", lambda dout, x: -dout * sigmoid(x) * (1 - sigmoid(x)), ["wrong sign"]),
    ("forward value", lambda dout, x: sigmoid(x), ["forward pass"]),
    ("missing 1 - s", lambda dout, x: dout * sigmoid(x), ["misses a factor"]),
    (
        "the lecture's output-based version",
        sigmoid_backward_as_in_the_lecture,
        [
            "this checker passes the pre-activation x",
            "your function calls it `A`",
            "compute s = sigmoid(x) first",
            "lecture 03's sigmoid_backward(dA, A) received the output A",
        ],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in SIGMOID_BUGS], ids=[name for name, _, _ in SIGMOID_BUGS]
)
def test_sigmoid_backward_names_each_bug(fn, expected):
    message = diagnosis(check.sigmoid_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_sigmoid_backward_accepts_a_right_answer(capsys):
    assert_passes(check.sigmoid_backward, sigmoid_ok, capsys)


def tanh_ok(dout, x):
    return dout / np.cosh(x) ** 2


TANH_BUGS = [
    ("pre-activation", lambda dout, x: dout * (1 - x**2), ["pre-activation", "OUTPUT t"]),
    ("forgot dout", lambda dout, x: 1 - np.tanh(x) ** 2, ["forgot to multiply", "dout"]),
    ("forgot derivative", lambda dout, x: dout + 0.0, ["forgot tanh's derivative"]),
    ("forgot square", lambda dout, x: dout * (1 - np.tanh(x)), ["forgot the square"]),
    ("sign", lambda dout, x: dout * (np.tanh(x) ** 2 - 1), ["wrong sign"]),
    ("forward value", lambda dout, x: np.tanh(x), ["forward pass"]),
    (
        "squared the difference",
        lambda dout, x: dout * (1 - np.tanh(x)) ** 2,
        ["squared the wrong thing", "1 - t**2"],
    ),
    (
        "the lecture's output-based version",
        tanh_backward_as_in_the_lecture,
        [
            "this checker passes the pre-activation x",
            "your function calls it `A`",
            "compute t = tanh(x) first",
        ],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in TANH_BUGS], ids=[name for name, _, _ in TANH_BUGS]
)
def test_tanh_backward_names_each_bug(fn, expected):
    message = diagnosis(check.tanh_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_tanh_backward_accepts_a_right_answer(capsys):
    assert_passes(check.tanh_backward, tanh_ok, capsys)


# --- softmax + cross-entropy ---------------------------------------------------------------------
def ce_ok(logits, y):
    N, C = logits.shape
    dlogits = np.empty_like(logits)
    for n in range(N):
        z = logits[n] - logits[n].max()
        p = np.exp(z) / np.exp(z).sum()
        target = np.eye(C)[y[n]]
        dlogits[n] = (p - target) / N
    return dlogits


def _onehot(y, C):
    return np.eye(C)[y]


def _ce_unstable(logits, y):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return (p - _onehot(y, logits.shape[1])) / len(y)


def _ce_shift_in_place(logits, y):
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return (p - _onehot(y, logits.shape[1])) / len(y)


def _ce_global_max(logits, y):
    e = np.exp(logits - logits.max())  # one max for the whole array, not one per row
    p = e / e.sum(axis=1, keepdims=True)
    return (p - _onehot(y, logits.shape[1])) / len(y)


def _ce_global_max_guarded(logits, y):
    e = np.exp(logits - logits.max())
    p = e / (e.sum(axis=1, keepdims=True) + 1e-12)  # no NaN, but the low rows' p are all 0
    return (p - _onehot(y, logits.shape[1])) / len(y)


def _ce_with_loss(logits, y):
    p = softmax_rows(logits)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    return loss, (p - _onehot(y, logits.shape[1])) / len(y)


def _ce_every_row(logits, y):
    p = softmax_rows(logits)
    p[:, y] -= 1
    return p / len(y)


CE_BUGS = [
    (
        "sum not mean",
        lambda z, y: softmax_rows(z) - _onehot(y, z.shape[1]),
        ["N = 5 times too large", "MEAN"],
    ),
    (
        "divided by C",
        lambda z, y: (softmax_rows(z) - _onehot(y, z.shape[1])) / z.shape[1],
        ["divided by C = 3"],
    ),
    ("no one-hot", lambda z, y: softmax_rows(z) / len(y), ["forgot to subtract the one-hot"]),
    ("sign", lambda z, y: (_onehot(y, z.shape[1]) - softmax_rows(z)) / len(y), ["wrong sign"]),
    (
        "wrong axis",
        lambda z, y: (softmax_rows(z.T).T - _onehot(y, z.shape[1])) / len(y),
        ["softmax over the wrong axis", "axis=1"],
    ),
    (
        "logits as probabilities",
        lambda z, y: (z - _onehot(y, z.shape[1])) / len(y),
        ["used the logits where the probabilities belong"],
    ),
    ("p[:, y] -= 1", _ce_every_row, ["p[np.arange(N), y] -= 1"]),
    ("unstable", _ce_unstable, ["NaN", "Subtract each row's max"]),
    (
        "mutated logits",
        _ce_shift_in_place,
        ["changed its input `logits` in place", "shifted = logits - logits.max"],
    ),
    ("returned the loss", lambda z, y: 0.5, ["dlogits has shape ()"]),
    (
        "global max",
        _ce_global_max,
        [
            "case 5",
            "dlogits contains NaN",
            "subtract each row's own max (axis=1, keepdims=True), not the max of the whole array",
        ],
    ),
    (
        "global max with a guard",
        _ce_global_max_guarded,
        ["case 4", "subtract each row's own max (axis=1, keepdims=True)", "row 0 here sits 683"],
    ),
    ("(loss, dlogits)", _ce_with_loss, ["return only dlogits, not (loss, dlogits)"]),
    (
        "(dlogits, loss)",
        lambda z, y: _ce_with_loss(z, y)[::-1],
        ["return only dlogits, not (dlogits, loss)"],
    ),
    (
        "trailing comma",
        lambda z, y: (ce_ok(z, y),),
        ["returned a tuple of 1", "trailing comma"],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in CE_BUGS], ids=[name for name, _, _ in CE_BUGS]
)
def test_softmax_cross_entropy_backward_names_each_bug(fn, expected):
    with np.errstate(all="ignore"):  # the unstable answer overflows on purpose
        message = diagnosis(check.softmax_cross_entropy_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_softmax_cross_entropy_backward_accepts_a_right_answer(capsys):
    assert_passes(check.softmax_cross_entropy_backward, ce_ok, capsys)


# --- mse ------------------------------------------------------------------------------------------
def mse_ok(y_hat, y):
    n = np.prod(y_hat.shape)
    return (y_hat - y) * (2.0 / n)


MSE_BUGS = [
    ("no 2", lambda a, b: (a - b) / a.size, ["forgot the factor 2"]),
    (
        "sum",
        lambda a, b: 2 * (a - b),
        ["dy_hat is y_hat.size times the right answer", "a sum where a mean"],
    ),
    ("divided by N", lambda a, b: 2 * (a - b) / len(a), ["divided by N = 5", "y_hat.size"]),
    ("sign", lambda a, b: 2 * (b - a) / a.size, ["dy_hat has the wrong sign in every case"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in MSE_BUGS], ids=[name for name, _, _ in MSE_BUGS]
)
def test_mse_backward_names_each_bug(fn, expected):
    message = diagnosis(check.mse_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_mse_backward_accepts_a_right_answer(capsys):
    assert_passes(check.mse_backward, mse_ok, capsys)


# --- unbroadcast -------------------------------------------------------------------------------
def unbroadcast_ok(grad, shape):
    # Sum over every axis where the (left-padded) target has size 1 but grad does not.
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    axes = tuple(i for i, (n, g) in enumerate(zip(padded, grad.shape)) if n == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _unbroadcast_mean(grad, shape):
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    axes = tuple(i for i, (n, g) in enumerate(zip(padded, grad.shape)) if n == 1 and g != 1)
    return grad.mean(axis=axes, keepdims=True).reshape(shape)


def _unbroadcast_no_keepdims(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes) if axes else grad


def _unbroadcast_leading_only(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


UNBROADCAST_BUGS = [
    ("mean", _unbroadcast_mean, ["mean over the broadcast axes", "use sum"]),
    ("dropped keepdims", _unbroadcast_no_keepdims, ["dropped a size-1 axis", "keepdims=True"]),
    ("leading only", _unbroadcast_leading_only, ["only summed the leading axes"]),
    ("unchanged", lambda grad, shape: grad, ["returned grad unchanged", "leading axes"]),
]


@pytest.mark.parametrize(
    "fn, expected",
    [(f, e) for _, f, e in UNBROADCAST_BUGS],
    ids=[name for name, _, _ in UNBROADCAST_BUGS],
)
def test_unbroadcast_names_each_bug(fn, expected):
    message = diagnosis(check.unbroadcast, fn)
    for fragment in expected:
        assert fragment in message, message


def test_unbroadcast_accepts_a_right_answer(capsys):
    assert_passes(check.unbroadcast, unbroadcast_ok, capsys)


# --- batch norm --------------------------------------------------------------------------------
def batchnorm_ok(dout, x, gamma, eps=1e-5):
    # Staged backprop through mu, var, xhat, written node by node.
    N = x.shape[0]
    mu = x.sum(axis=0) / N
    xc = x - mu
    var = (xc * xc).sum(axis=0) / N
    std = np.sqrt(var + eps)
    xhat = xc / std
    dxhat = dout * gamma
    dstd = -(dxhat * xc).sum(axis=0) / std**2
    dvar = dstd / (2 * std)
    dxc = dxhat / std + dvar * 2 * xc / N
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / N
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _bn_parts(dout, x, gamma, eps, ddof=0):
    mu = x.mean(0)
    var = x.var(0, ddof=ddof)
    std = np.sqrt(var + eps)
    return (x - mu) / std, std, dout * gamma


def _bn_constants(dout, x, gamma, eps=1e-5):
    xhat, std, dxhat = _bn_parts(dout, x, gamma, eps)
    return dxhat / std, (dout * xhat).sum(0), dout.sum(0)


def _bn_no_sum(dout, x, gamma, eps=1e-5):
    dx, dgamma, _ = batchnorm_ok(dout, x, gamma, eps)
    return dx, dgamma, dout


def _bn_dgamma_no_sum(dout, x, gamma, eps=1e-5):
    dx, _, dbeta = batchnorm_ok(dout, x, gamma, eps)
    xhat, _, _ = _bn_parts(dout, x, gamma, eps)
    return dx, dout * xhat, dbeta


def _bn_unbiased(dout, x, gamma, eps=1e-5):
    # The same staged backprop, with the variance divided by N - 1.
    N = x.shape[0]
    xc = x - x.mean(0)
    var = (xc**2).sum(0) / (N - 1)
    std = np.sqrt(var + eps)
    xhat = xc / std
    dxhat = dout * gamma
    dvar = -(dxhat * xc).sum(0) / (2 * std**3)
    dxc = dxhat / std + dvar * 2 * xc / (N - 1)
    dx = dxc - dxc.mean(0)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def _bn_transposed(dout, x, gamma, eps=1e-5):
    dx, dgamma, dbeta = batchnorm_ok(dout, x, gamma, eps)
    return dx.T, dgamma, dbeta


def _bn_no_gamma(dout, x, gamma, eps=1e-5):
    dx, _, dbeta = batchnorm_ok(dout, x, np.ones_like(gamma), eps)
    return dx, batchnorm_ok(dout, x, gamma, eps)[1], dbeta


def _bn_fixed_eps(dout, x, gamma, eps=1e-5):
    return batchnorm_ok(dout, x, gamma)


BATCHNORM_BUGS = [
    ("dbeta not summed", _bn_no_sum, ["dbeta has shape (6, 4)", "summed over the batch"]),
    ("dgamma not summed", _bn_dgamma_no_sum, ["dgamma has shape (6, 4)"]),
    ("mu and var constant", _bn_constants, ["treated the batch mean and variance as constants"]),
    ("unbiased variance", _bn_unbiased, ["unbiased variance", "N-1"]),
    ("transposed dx", _bn_transposed, ["dx looks transposed", "x's shape (6, 4)"]),
    ("forgot gamma", _bn_no_gamma, ["forgot gamma"]),
    ("ignored eps", _bn_fixed_eps, ["ignored the eps argument"]),
]


@pytest.mark.parametrize(
    "fn, expected",
    [(f, e) for _, f, e in BATCHNORM_BUGS],
    ids=[name for name, _, _ in BATCHNORM_BUGS],
)
def test_batchnorm_backward_names_each_bug(fn, expected):
    message = diagnosis(check.batchnorm_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_batchnorm_backward_accepts_a_right_answer(capsys):
    assert_passes(check.batchnorm_backward, batchnorm_ok, capsys)


# --- RNN step ------------------------------------------------------------------------------------
def rnn_ok(dh_next, x, h_prev, Wx, Wh, b):
    a = x @ Wx + h_prev @ Wh + b
    da = dh_next / np.cosh(a) ** 2
    return (
        np.einsum("nh,dh->nd", da, Wx),
        np.einsum("nh,kh->nk", da, Wh),
        np.einsum("nd,nh->dh", x, da),
        np.einsum("nk,nh->kh", h_prev, da),
        da.sum(0),
    )


def _rnn_with(da_rule):
    def student(dh_next, x, h_prev, Wx, Wh, b):
        a = x @ Wx + h_prev @ Wh + b
        da = da_rule(dh_next, a)
        return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(0)

    return student


def _rnn_edit(edit):
    def student(*args):
        return edit(*rnn_ok(*args))

    return student


RNN_BUGS = [
    ("no tanh derivative", _rnn_with(lambda dh, a: dh), ["forgot tanh's derivative"]),
    ("pre-activation", _rnn_with(lambda dh, a: dh * (1 - a**2)), ["pre-activation", "1 - a**2"]),
    (
        "dWx/dWh swapped",
        _rnn_edit(lambda dx, dh, dWx, dWh, db: (dx, dh, dWh, dWx, db)),
        ["dWx and dWh are swapped"],
    ),
    (
        "dWh transposed",
        _rnn_edit(lambda dx, dh, dWx, dWh, db: (dx, dh, dWx, dWh.T, db)),
        ["dWh is the right answer transposed"],
    ),
    (
        "dWx transposed",
        _rnn_edit(lambda dx, dh, dWx, dWh, db: (dx, dh, dWx.T, dWh, db)),
        ["dWx looks transposed", "Wx's shape (3, 5)"],
    ),
]


def _rnn_db_not_summed(dh_next, x, h_prev, Wx, Wh, b):
    dx, dh, dWx, dWh, _ = rnn_ok(dh_next, x, h_prev, Wx, Wh, b)
    a = x @ Wx + h_prev @ Wh + b
    return dx, dh, dWx, dWh, dh_next * (1 - np.tanh(a) ** 2)


def _rnn_wh_not_transposed(dh_next, x, h_prev, Wx, Wh, b):
    a = x @ Wx + h_prev @ Wh + b
    da = dh_next * (1 - np.tanh(a) ** 2)
    return da @ Wx.T, da @ Wh, x.T @ da, h_prev.T @ da, da.sum(0)


RNN_BUGS += [
    ("db not summed", _rnn_db_not_summed, ["db has shape (4, 5)", "summed over it"]),
    ("Wh not transposed", _rnn_wh_not_transposed, ["dh_prev uses Wh where Wh.T"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in RNN_BUGS], ids=[name for name, _, _ in RNN_BUGS]
)
def test_rnn_step_backward_names_each_bug(fn, expected):
    message = diagnosis(check.rnn_step_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_rnn_step_backward_accepts_a_right_answer(capsys):
    assert_passes(check.rnn_step_backward, rnn_ok, capsys)


# --- the checkers' references agree with finite differences of the forward pass -----------------
def _numeric(f, x):
    return numerical_grad(f, x, eps=1e-6)


def test_linear_reference_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, W, b, dout = (
        rng.normal(size=(4, 5)),
        rng.normal(size=(5, 3)),
        rng.normal(size=3),
        rng.normal(size=(4, 3)),
    )
    dx, dW, db = layers._linear_reference(dout, x, W, b)
    np.testing.assert_allclose(dx, _numeric(lambda v: np.sum((v @ W + b) * dout), x), atol=1e-7)
    np.testing.assert_allclose(dW, _numeric(lambda v: np.sum((x @ v + b) * dout), W), atol=1e-7)
    np.testing.assert_allclose(db, _numeric(lambda v: np.sum((x @ W + v) * dout), b), atol=1e-7)


def test_softmax_cross_entropy_reference_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])

    def loss(z):
        logp = z - z.max(1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
        return -logp[np.arange(5), y].mean()

    np.testing.assert_allclose(
        layers._softmax_cross_entropy_reference(logits, y), _numeric(loss, logits), atol=1e-7
    )


@pytest.mark.parametrize("ddof", [0, 1])
def test_batchnorm_reference_matches_finite_differences(ddof):
    rng = np.random.default_rng(2)
    x, gamma, dout = 2 + rng.normal(size=(6, 4)), rng.uniform(0.5, 1.5, 4), rng.normal(size=(6, 4))
    eps = 1e-3

    def forward(v, g):
        xhat = (v - v.mean(0)) / np.sqrt(v.var(0, ddof=ddof) + eps)
        return np.sum((g * xhat) * dout)

    dx, dgamma, dbeta = layers._batchnorm_reference(dout, x, gamma, eps, ddof=ddof)
    np.testing.assert_allclose(dx, _numeric(lambda v: forward(v, gamma), x), atol=1e-7)
    np.testing.assert_allclose(dgamma, _numeric(lambda g: forward(x, g), gamma), atol=1e-7)
    np.testing.assert_allclose(dbeta, dout.sum(0), atol=1e-12)


def test_rnn_reference_matches_finite_differences():
    rng = np.random.default_rng(3)
    x, h, Wx, Wh, b = (rng.normal(size=s) for s in [(4, 3), (4, 5), (3, 5), (5, 5), (5,)])
    dh_next = rng.normal(size=(4, 5))
    da = dh_next * (1 - np.tanh(x @ Wx + h @ Wh + b) ** 2)
    grads = layers._rnn_grads(da, x, h, Wx, Wh)

    def loss(x=x, h=h, Wx=Wx, Wh=Wh, b=b):
        return np.sum(np.tanh(x @ Wx + h @ Wh + b) * dh_next)

    expected = dict(
        dx=_numeric(lambda v: loss(x=v), x),
        dh_prev=_numeric(lambda v: loss(h=v), h),
        dWx=_numeric(lambda v: loss(Wx=v), Wx),
        dWh=_numeric(lambda v: loss(Wh=v), Wh),
        db=_numeric(lambda v: loss(b=v), b),
    )
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("grad_shape, shape", [((4, 3), (3,)), ((2, 4, 3), (4, 1)), ((2, 3), ())])
def test_unbroadcast_reference_is_the_adjoint_of_broadcasting(grad_shape, shape):
    # <sum_to(g), v> = <g, broadcast_to(v)> for every v: the defining property of the VJP.
    rng = np.random.default_rng(4)
    grad, v = rng.normal(size=grad_shape), rng.normal(size=shape)
    reduced = layers._sum_to(grad, shape)
    assert reduced.shape == shape
    assert np.isclose(np.sum(reduced * v), np.sum(grad * np.broadcast_to(v, grad_shape)))
