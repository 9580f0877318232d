"""Bugs that are NOT in their checker's catalogue: the general engine must still explain them.

Issue 10 found that plausible bugs outside a checker's list (an extra term in dW, an
inverted ReLU mask, clipping by value instead of by norm, Nesterov instead of plain
momentum, |dw| for dw**2 in Adam, dgamma from x instead of x-hat, ...) got only
"max error ...". Here are at least 3 such bugs per checker whose answers are numbers
or arrays (the graph, batching and classification checkers have their own logic).
Each must fail; those in FRAGMENTS with a text must get that specific explanation
(and not a catalogue message: they are not in the catalogue), and the few marked
None still get only the generic message: ``test_summary`` counts both.

Equivalent correct answers must pass: einsum, np.where, other stable softmax forms,
lists for tuples, integer counts.
"""

import math

import numpy as np
import pytest

from bpkit import check
from bpkit.check import ExerciseFailed, reset_attempts
from tests.checkers import assert_passes
from tests.test_check_catalogue import CATALOGUES


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _onehot(y, C):
    out = np.zeros((len(y), C))
    out[np.arange(len(y)), y] = 1.0
    return out


def _bn(dout, x, gamma, eps=1e-5, use_x_for_dgamma=False, extra=None):
    mu, var = x.mean(0), x.var(0)
    xhat = (x - mu) / np.sqrt(var + eps)
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / np.sqrt(var + eps)
    dgamma = (dout * (x if use_x_for_dgamma else xhat)).sum(0)
    return (dx if extra is None else extra(dx, x, xhat)), dgamma, dout.sum(0)


def _adam(
    w,
    dw,
    m,
    v,
    t,
    lr=1e-3,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    square=lambda g: g**2,
    eps_inside=False,
):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * square(dw)
    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)
    denom = np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps
    return w - lr * mh / denom, m, v


def _sum_to(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def _rnn(dh_next, x, h_prev, Wx, Wh, b, edit=None):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    da = dh_next * (1 - h**2)
    grads = [da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(0)]
    return tuple(edit(grads, locals()) if edit else grads)


def _two_layer(X, y, W1, b1, W2, b2, edit=None):
    N = X.shape[0]
    A = X @ W1 + b1
    H = np.maximum(A, 0)
    Z = H @ W2 + b2
    P = _softmax(Z)
    loss = -np.mean(np.log(P[np.arange(N), y]))
    dZ = (P - _onehot(y, W2.shape[1])) / N
    dA = (dZ @ W2.T) * (A > 0)
    out = [loss, X.T @ dA, dA.sum(0), H.T @ dZ, dZ.sum(0)]
    return tuple(edit(out, locals()) if edit else out)


def _clip(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = min(1.0, max_norm / total)
    return [g * scale for g in grads], total


def _grad(f, x, h, denom=2.0, at=None):
    x0 = np.array(x, dtype=np.float64) if at is None else at(np.array(x, dtype=np.float64))
    g = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[i] = h
        g[i] = (f(x0 + e) - f(x0 - e)) / (denom * h)
    return g


def _jac(f, x, h, denom=2.0, at=None):
    x0 = np.array(x, dtype=np.float64) if at is None else at(np.array(x, dtype=np.float64))
    cols = []
    for j in range(x0.size):
        e = np.zeros_like(x0)
        e[j] = h
        cols.append((np.asarray(f(x0 + e)) - np.asarray(f(x0 - e))) / (denom * h))
    return np.stack(cols, axis=1)


def _restarts(grad, starts, lr, steps, extra=0, sign=1.0):
    out = []
    for w in np.array(starts, dtype=np.float64):
        for _ in range(steps + extra):
            w = w - lr * grad(w)
        out.append(w)
    return sign * np.array(out)


def _filters(direction, theta, factor=1.0, keep_bias=False, sign=1.0):
    out = []
    for d, t in zip(direction, theta):
        if d.ndim == 1:
            out.append(d.copy() if keep_bias else np.zeros_like(d))
        else:
            out.append(sign * factor * d * np.linalg.norm(t, axis=0) / np.linalg.norm(d, axis=0))
    return out


def _adam_v_beta1(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    mh, vh = m / (1 - beta1**t), v / (1 - beta1**t)
    return w - lr * mh / (np.sqrt(vh) + eps), m, v


UNSEEN = {
    "linear_backward": [
        (
            "extra term W in dW (weight decay slipped in)",
            lambda dout, x, W, b: (dout @ W.T, x.T @ dout + W, dout.sum(0)),
        ),
        (
            "dx doubled (the gradient added twice)",
            lambda dout, x, W, b: (2 * dout @ W.T, x.T @ dout, dout.sum(0)),
        ),
        ("db negated", lambda dout, x, W, b: (dout @ W.T, x.T @ dout, -dout.sum(0))),
        (
            "dx with x added (residual reflex)",
            lambda dout, x, W, b: (dout @ W.T + x, x.T @ dout, dout.sum(0)),
        ),
    ],
    "relu_backward": [
        ("inverted mask", lambda dout, x: dout * (x < 0)),
        ("leaky slope 0.01 on the negative side", lambda dout, x: dout * np.where(x > 0, 1, 0.01)),
        ("sign flipped where x < 0 (|x| derivative)", lambda dout, x: dout * np.sign(x)),
        ("mask on x > 0.5", lambda dout, x: dout * (x > 0.5)),
    ],
    "sigmoid_backward": [
        ("s * (1 + s)", lambda dout, x: dout * (1 / (1 + np.exp(-x))) * (1 + 1 / (1 + np.exp(-x)))),
        ("sigmoid(-x) ** 2", lambda dout, x: dout * (1 / (1 + np.exp(x))) ** 2),
        (
            "an extra term + dout",
            lambda dout, x: dout * (1 / (1 + np.exp(-x))) * (1 / (1 + np.exp(x))) + dout,
        ),
        ("doubled", lambda dout, x: 2 * dout * (1 / (1 + np.exp(-x))) * (1 / (1 + np.exp(x)))),
    ],
    "tanh_backward": [
        ("1 + t**2", lambda dout, x: dout * (1 + np.tanh(x) ** 2)),
        ("derivative at 2x", lambda dout, x: dout * (1 - np.tanh(2 * x) ** 2)),
        ("dout * (1 - t**2) / 2", lambda dout, x: dout * (1 - np.tanh(x) ** 2) / 2),
        ("dout squared", lambda dout, x: dout**2 * (1 - np.tanh(x) ** 2)),
    ],
    "softmax_cross_entropy_backward": [
        (
            "onehot added, not subtracted",
            lambda logits, y: (_softmax(logits) + _onehot(y, logits.shape[1])) / logits.shape[0],
        ),
        (
            "divided by N twice",
            lambda logits, y: (
                (_softmax(logits) - _onehot(y, logits.shape[1])) / logits.shape[0] ** 2
            ),
        ),
        (
            "log-softmax in place of softmax",
            lambda logits, y: (
                (np.log(_softmax(logits)) - _onehot(y, logits.shape[1])) / logits.shape[0]
            ),
        ),
        (
            "labels shifted by one",
            lambda logits, y: (
                (_softmax(logits) - _onehot((y + 1) % logits.shape[1], logits.shape[1]))
                / logits.shape[0]
            ),
        ),
    ],
    "mse_backward": [
        ("divided by K (columns)", lambda y_hat, y: 2 * (y_hat - y) / y_hat.shape[1]),
        ("4/size", lambda y_hat, y: 4 * (y_hat - y) / y_hat.size),
        ("y_hat only (forgot y)", lambda y_hat, y: 2 * y_hat / y_hat.size),
    ],
    "unbroadcast": [
        ("sum twice (x2)", lambda grad, shape: 2 * _sum_to(grad, shape)),
        ("negated", lambda grad, shape: -_sum_to(grad, shape)),
        ("sum plus the mean", lambda grad, shape: _sum_to(grad, shape) + 1.0),
    ],
    "batchnorm_backward": [
        (
            "dgamma from x instead of xhat",
            lambda dout, x, gamma, eps=1e-5: _bn(dout, x, gamma, eps, True),
        ),
        (
            "dx with an extra + dout",
            lambda dout, x, gamma, eps=1e-5: _bn(
                dout, x, gamma, eps, extra=lambda dx, x, xh: dx + 0.0 + dout
            ),
        ),
        (
            "dx sign flipped",
            lambda dout, x, gamma, eps=1e-5: _bn(dout, x, gamma, eps, extra=lambda dx, x, xh: -dx),
        ),
        (
            "dbeta = -dout.sum(0)",
            lambda dout, x, gamma, eps=1e-5: _bn(dout, x, gamma, eps)[:2] + (-dout.sum(0),),
        ),
    ],
    "rnn_step_backward": [
        (
            "db averaged over the batch",
            lambda *a: _rnn(*a, edit=lambda g, l: g[:4] + [g[4] / a[1].shape[0]]),
        ),
        (
            "dh_prev with an extra dh_next (skip connection reflex)",
            lambda *a: _rnn(*a, edit=lambda g, l: [g[0], g[1] + a[0], g[2], g[3], g[4]]),
        ),
        ("dWx doubled", lambda *a: _rnn(*a, edit=lambda g, l: [g[0], g[1], 2 * g[2], g[3], g[4]])),
    ],
    "sgd_momentum_step": [
        (
            "Nesterov instead of plain momentum",
            lambda w, dw, v, lr, momentum: (
                w - lr * (dw + momentum * (momentum * v + dw)),
                momentum * v + dw,
            ),
        ),
        (
            "lr applied twice",
            lambda w, dw, v, lr, momentum: (w - lr * lr * (momentum * v + dw), momentum * v + dw),
        ),
        (
            "momentum on the gradient, not the velocity",
            lambda w, dw, v, lr, momentum: (w - lr * (v + momentum * dw), v + momentum * dw),
        ),
    ],
    "rmsprop_step": [
        (
            "|dw| for dw**2",
            lambda w, dw, s, lr, alpha=0.99, eps=1e-8: (
                w - lr * dw / (np.sqrt(alpha * s + (1 - alpha) * np.abs(dw)) + eps),
                alpha * s + (1 - alpha) * np.abs(dw),
            ),
        ),
        (
            "s_new with dw**2 not scaled by (1 - alpha)",
            lambda w, dw, s, lr, alpha=0.99, eps=1e-8: (
                w - lr * dw / (np.sqrt(alpha * s + dw**2) + eps),
                alpha * s + dw**2,
            ),
        ),
        (
            "lr halved",
            lambda w, dw, s, lr, alpha=0.99, eps=1e-8: (
                w - lr / 2 * dw / (np.sqrt(alpha * s + (1 - alpha) * dw**2) + eps),
                alpha * s + (1 - alpha) * dw**2,
            ),
        ),
    ],
    "adam_step": [
        ("|dw| for dw**2", lambda w, dw, m, v, t, **h: _adam(w, dw, m, v, t, square=np.abs, **h)),
        (
            "dw**3",
            lambda w, dw, m, v, t, **h: _adam(
                w, dw, m, v, t, square=lambda g: g**2 * np.abs(g), **h
            ),
        ),
        ("v corrected with beta1", lambda w, dw, m, v, t, **h: _adam_v_beta1(w, dw, m, v, t, **h)),
        (
            "t + 2 in the bias correction",
            lambda w, dw, m, v, t, **h: _adam(w, dw, m, v, t + 2, **h),
        ),
    ],
    "xavier_std": [
        (
            "uniform std: divided by sqrt(3)",
            lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out) / 3),
        ),
        ("sqrt(2 / fan_out)", lambda fan_in, fan_out: math.sqrt(2 / fan_out)),
        (
            "1 / (fan_in + fan_out) with sqrt of 2",
            lambda fan_in, fan_out: math.sqrt(2) / (fan_in + fan_out),
        ),
    ],
    "he_std": [
        ("sqrt(2) / fan_in", lambda fan_in: math.sqrt(2) / fan_in),
        ("sqrt(4 / fan_in)", lambda fan_in: math.sqrt(4 / fan_in)),
        ("2 / sqrt(fan_in)", lambda fan_in: 2 / math.sqrt(fan_in)),
    ],
    "clip_grad_norm": [
        (
            "clipping by value",
            lambda grads, max_norm: (
                [np.clip(g, -max_norm, max_norm) for g in grads],
                _clip(grads, max_norm)[1],
            ),
        ),
        (
            "total norm of the clipped arrays' mean",
            lambda grads, max_norm: (
                _clip(grads, max_norm)[0],
                _clip(grads, max_norm)[1] / len(grads),
            ),
        ),
        (
            "scale by max_norm / total, squared",
            lambda grads, max_norm: (
                [g * min(1.0, max_norm / _clip(grads, max_norm)[1]) ** 2 for g in grads],
                _clip(grads, max_norm)[1],
            ),
        ),
    ],
}

UNSEEN.update(
    {
        "value_mul_backward": [
            ("db = 2 * a * dout (the issue's case)", lambda a, b, dout: (b * dout, 2 * a * dout)),
            ("da = b * dout**2", lambda a, b, dout: (b * dout**2, a * dout)),
            ("da = b + dout", lambda a, b, dout: (b + dout, a * dout)),
        ],
        "value_tanh_backward": [
            ("1 + t**2", lambda x, dout: (1 + math.tanh(x) ** 2) * dout),
            ("dout / (1 - t**2)", lambda x, dout: dout / (1 - math.tanh(x) ** 2)),
            ("derivative at x / 2", lambda x, dout: (1 - math.tanh(x / 2) ** 2) * dout),
        ],
        "dual_mul": [
            ("tangent doubled", lambda a, da, b, db: (a * b, 2 * (a * db + da * b))),
            ("tangent minus", lambda a, da, b, db: (a * b, a * db - da * b)),
            ("value a + b", lambda a, da, b, db: (a + b, a * db + da * b)),
        ],
        "derivative": [
            ("divided by 4h", lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / (4 * h)),
            ("f(x + h) + f(x - h)", lambda f, x, h=1e-5: (f(x + h) + f(x - h)) / (2 * h)),
            ("evaluated at -x", lambda f, x, h=1e-5: (f(-x + h) - f(-x - h)) / (2 * h)),
        ],
        "numerical_gradient": [
            ("divided by 4h", lambda f, x, h=1e-5: _grad(f, x, h, 4.0)),
            ("evaluated at 2x", lambda f, x, h=1e-5: _grad(f, x, h, at=lambda z: 2 * z)),
            ("plus x", lambda f, x, h=1e-5: _grad(f, x, h) + x),
        ],
        "jacobian": [
            ("divided by 4h", lambda f, x, h=1e-5: _jac(f, x, h, 4.0)),
            ("negated", lambda f, x, h=1e-5: -_jac(f, x, h)),
            ("at -x", lambda f, x, h=1e-5: _jac(f, x, h, at=lambda z: -z)),
        ],
        "accuracy": [
            ("argmin", lambda logits, y: float(np.mean(np.argmin(logits, axis=1) == y))),
            (
                "mean over (N + 1)",
                lambda logits, y: float(np.sum(np.argmax(logits, 1) == y) / (len(y) + 1)),
            ),
            (
                "1 - error rate twice: 2 * acc - 1",
                lambda logits, y: 2 * float(np.mean(np.argmax(logits, 1) == y)) - 1,
            ),
        ],
        "confusion_matrix": [
            ("each count doubled", lambda t, p, k: 2 * _counts(t, p, k)),
            ("identity added", lambda t, p, k: _counts(t, p, k) + np.eye(k)),
            ("counts of y_true against itself", lambda t, p, k: _counts(t, t, k)),
        ],
        "two_layer_backward": [
            (
                "dW1 with an extra W1 (weight decay)",
                lambda *a: _two_layer(*a, edit=lambda o, l: [o[0], o[1] + a[2]] + o[2:]),
            ),
            (
                "inverted ReLU mask",
                lambda *a: _two_layer(
                    *a,
                    edit=lambda o, l: [
                        o[0],
                        a[0].T @ ((l["dZ"] @ a[4].T) * (l["A"] <= 0)),
                        ((l["dZ"] @ a[4].T) * (l["A"] <= 0)).sum(0),
                        o[3],
                        o[4],
                    ],
                ),
            ),
            ("db2 doubled", lambda *a: _two_layer(*a, edit=lambda o, l: o[:4] + [2 * o[4]])),
        ],
        "numerical_hessian": [
            ("divided by 4h", lambda grad, x, h=1e-5: _jac(grad, x, h, 4.0)),
            ("negated", lambda grad, x, h=1e-5: -_jac(grad, x, h)),
            ("plus the identity", lambda grad, x, h=1e-5: _jac(grad, x, h) + np.eye(len(x))),
        ],
        "gradient_descent_restarts": [
            ("lr doubled", lambda grad, starts, lr, steps: _restarts(grad, starts, 2 * lr, steps)),
            (
                "final points negated",
                lambda grad, starts, lr, steps: _restarts(grad, starts, lr, steps, sign=-1.0),
            ),
            (
                "steps + 2",
                lambda grad, starts, lr, steps: _restarts(grad, starts, lr, steps, extra=2),
            ),
        ],
        "interpolate_losses": [
            (
                "alphas negated",
                lambda loss, t0, t1, alphas: np.array(
                    [loss((1 + a) * t0 - a * t1) for a in alphas]
                ),
            ),
            (
                "losses doubled",
                lambda loss, t0, t1, alphas: np.array(
                    [2 * loss((1 - a) * t0 + a * t1) for a in alphas]
                ),
            ),
            (
                "alpha squared",
                lambda loss, t0, t1, alphas: np.array(
                    [loss((1 - a * a) * t0 + a * a * t1) for a in alphas]
                ),
            ),
        ],
        "filter_normalize": [
            ("columns scaled to twice the norm", lambda d, t: _filters(d, t, factor=2.0)),
            ("biases kept", lambda d, t: _filters(d, t, keep_bias=True)),
            ("directions negated", lambda d, t: _filters(d, t, sign=-1.0)),
        ],
    }
)


def _counts(t, p, k):
    out = np.zeros((k, k))
    np.add.at(out, (t, p), 1)
    return out


# What each bug is told (the start of the message's first line, after "name: "); None: generic.
FRAGMENTS = {
    ("accuracy", "1 - error rate twice: 2 * acc - 1"): None,
    (
        "accuracy",
        "argmin",
    ): "accuracy is what the right formula gives with -logits in place of logi",
    ("accuracy", "mean over (N + 1)"): None,
    ("adam_step", "dw**3"): None,
    ("adam_step", "t + 2 in the bias correction"): "w_new is what the right formula gives with t + "
    "2 in place of t",
    ("adam_step", "v corrected with beta1"): None,
    (
        "adam_step",
        "|dw| for dw**2",
    ): "v_new = (right answer) - (1 - beta2)·dw**2 + (1 - beta2)·|dw|",
    ("batchnorm_backward", "dbeta = -dout.sum(0)"): "dbeta has the wrong sign",
    ("batchnorm_backward", "dgamma from x instead of xhat"): "dgamma is what the right formula "
    "gives with x in place of xhat",
    ("batchnorm_backward", "dx sign flipped"): "dx has the wrong sign",
    ("batchnorm_backward", "dx with an extra + dout"): "dx = (right answer) + dout",
    ("clip_grad_norm", "clipping by value"): "clipped is grads clipped entry by entry to "
    "[-max_norm, max_norm]: that",
    ("clip_grad_norm", "scale by max_norm / total, squared"): None,
    ("clip_grad_norm", "total norm of the clipped arrays' mean"): "total_norm is the right answer "
    "divided by len(grads)",
    ("confusion_matrix", "counts of y_true against itself"): "C is what the right formula gives "
    "with y_true in place of y_pred",
    ("confusion_matrix", "each count doubled"): "C is 2 times the right answer",
    ("confusion_matrix", "identity added"): "C = (right answer) + the identity matrix",
    ("derivative", "divided by 4h"): "dfdx is 2.375, expected 4.75, and the error does not shrink "
    "when h doe",
    ("derivative", "evaluated at -x"): "the sign is flipped: it is f(x + h) - f(x - h), in that "
    "order",
    ("derivative", "f(x + h) + f(x - h)"): "dfdx is 375.004, expected 4.75, and the error does not "
    "shrink when h d",
    ("dual_mul", "tangent doubled"): "tangent is 2 times the right answer",
    ("dual_mul", "tangent minus"): None,
    ("dual_mul", "value a + b"): None,
    ("filter_normalize", "biases kept"): "the bias directions must be zeros (np.zeros_like(b)): Li "
    "et al. leave ",
    ("filter_normalize", "columns scaled to twice the norm"): "normalized is 2 times the right "
    "answer",
    ("filter_normalize", "directions negated"): "normalized has the wrong sign",
    ("gradient_descent_restarts", "final points negated"): "finals has the wrong sign",
    ("gradient_descent_restarts", "lr doubled"): "finals is what the right formula gives with 2 lr "
    "in place of lr",
    ("gradient_descent_restarts", "steps + 2"): "finals is what the right formula gives with steps "
    "+ 2 in place of step",
    ("he_std", "2 / sqrt(fan_in)"): "std is 1.414 times the right answer",
    ("he_std", "sqrt(2) / fan_in"): None,
    ("he_std", "sqrt(4 / fan_in)"): "std is 1.414 times the right answer",
    ("interpolate_losses", "alpha squared"): None,
    ("interpolate_losses", "alphas negated"): "losses is what the right formula gives with -alphas "
    "in place of alphas",
    ("interpolate_losses", "losses doubled"): "losses is 2 times the right answer",
    ("jacobian", "at -x"): "J is what the right formula gives with -x in place of x",
    ("jacobian", "divided by 4h"): "J is the right answer divided by 2",
    ("jacobian", "negated"): "J has the wrong sign",
    ("linear_backward", "db negated"): "db has the wrong sign",
    ("linear_backward", "dx doubled (the gradient added twice)"): "dx is 2 times the right answer",
    ("linear_backward", "dx with x added (residual reflex)"): "dx = (right answer) + x",
    ("linear_backward", "extra term W in dW (weight decay slipped in)"): "dW = (right answer) + W",
    ("mse_backward", "4/size"): "dy_hat is 2 times the right answer",
    ("mse_backward", "divided by K (columns)"): "dy_hat is y_hat.shape[0] times the right answer",
    ("mse_backward", "y_hat only (forgot y)"): "dy_hat is what the right formula gives with y = 0",
    ("numerical_gradient", "divided by 4h"): "grad is the right answer divided by 2",
    ("numerical_gradient", "evaluated at 2x"): "grad is what the right formula gives with 2 x in "
    "place of x",
    ("numerical_gradient", "plus x"): "grad = (right answer) + x",
    ("numerical_hessian", "divided by 4h"): "H is the right answer divided by 2",
    ("numerical_hessian", "negated"): "H has the wrong sign",
    ("numerical_hessian", "plus the identity"): "H = (right answer) + the identity matrix",
    ("relu_backward", "inverted mask"): "dx is what the right formula gives with -x in place of x",
    (
        "relu_backward",
        "leaky slope 0.01 on the negative side",
    ): "dx is right where x >= 0 and wrong exactly where x < 0 (182 entries ov",
    ("relu_backward", "mask on x > 0.5"): "dx is wrong only where 0.05 <= x <= 0.498 (80 entries "
    "over the cases) ",
    ("relu_backward", "sign flipped where x < 0 (|x| derivative)"): "dx is right where x >= 0 and "
    "wrong exactly where x < 0 (182 "
    "entries ov",
    ("rmsprop_step", "lr halved"): "w_new is what the right formula gives with lr / 2 in place of "
    "lr",
    ("rmsprop_step", "s_new with dw**2 not scaled by (1 - alpha)"): "s_new = (right answer) + "
    "alpha·dw**2",
    ("rmsprop_step", "|dw| for dw**2"): "s_new = (right answer) - (1 - alpha)·dw**2 + (1 - "
    "alpha)·|dw|",
    ("rnn_step_backward", "dWx doubled"): "dWx is 2 times the right answer",
    ("rnn_step_backward", "db averaged over the batch"): "db is the right answer divided by "
    "dh_next.shape[0]",
    ("rnn_step_backward", "dh_prev with an extra dh_next (skip connection reflex)"): "dh_prev = "
    "(right "
    "answer) + "
    "dh_next",
    ("sgd_momentum_step", "Nesterov instead of plain momentum"): "w_new = (right answer) - lr·dw + "
    "lr·(1 - momentum)·the right v_new",
    ("sgd_momentum_step", "lr applied twice"): "w_new = (right answer) + lr·(1 - lr)·the right "
    "v_new",
    ("sgd_momentum_step", "momentum on the gradient, not the velocity"): "w_new is what the right "
    "formula gives with dw and "
    "v swapped",
    ("sigmoid_backward", "an extra term + dout"): "dx = (right answer) + dout",
    ("sigmoid_backward", "doubled"): "dx is 2 times the right answer",
    ("sigmoid_backward", "s * (1 + s)"): None,
    ("sigmoid_backward", "sigmoid(-x) ** 2"): None,
    ("softmax_cross_entropy_backward", "divided by N twice"): "dlogits is the right answer divided "
    "by logits.shape[0]",
    ("softmax_cross_entropy_backward", "labels shifted by one"): None,
    ("softmax_cross_entropy_backward", "log-softmax in place of softmax"): None,
    (
        "softmax_cross_entropy_backward",
        "onehot added, not subtracted",
    ): "dlogits = (right answer) + 2/logits.shape[0]·onehot(y)",
    ("tanh_backward", "1 + t**2"): None,
    (
        "tanh_backward",
        "derivative at 2x",
    ): "dx is what the right formula gives with 2 x in place of x",
    ("tanh_backward", "dout * (1 - t**2) / 2"): "dx is the right answer divided by 2",
    ("tanh_backward", "dout squared"): "dx is the right answer times dout",
    ("two_layer_backward", "dW1 with an extra W1 (weight decay)"): "dW1 = (right answer) + W1",
    ("two_layer_backward", "db2 doubled"): "db2 is 2 times the right answer",
    ("two_layer_backward", "inverted ReLU mask"): "dW1 + (right answer) = X.T @ dH (no ReLU mask)",
    ("unbroadcast", "negated"): "result has the wrong sign",
    ("unbroadcast", "sum plus the mean"): "result = (right answer) + a constant",
    ("unbroadcast", "sum twice (x2)"): "result is 2 times the right answer",
    ("value_mul_backward", "da = b * dout**2"): "da is the right answer times dout",
    ("value_mul_backward", "da = b + dout"): None,
    (
        "value_mul_backward",
        "db = 2 * a * dout (the issue's case)",
    ): "db is 2 times the right answer",
    ("value_tanh_backward", "1 + t**2"): None,
    ("value_tanh_backward", "derivative at x / 2"): "dx is what the right formula gives with x / 2 "
    "in place of x",
    ("value_tanh_backward", "dout / (1 - t**2)"): None,
    ("xavier_std", "1 / (fan_in + fan_out) with sqrt of 2"): None,
    ("xavier_std", "sqrt(2 / fan_out)"): None,
    ("xavier_std", "uniform std: divided by sqrt(3)"): "std is 0.5774 times the right answer",
}

CASES = [(name, label, fn) for name, bugs in UNSEEN.items() for label, fn in bugs]


def _message(name, fn):
    reset_attempts()
    with pytest.raises(ExerciseFailed) as info:
        getattr(check, name)(fn)
    return str(info.value)


def _is_generic(message):
    return "max error" in message.split("\n")[0]


def test_at_least_three_unseen_bugs_per_checker():
    assert all(len(bugs) >= 3 for bugs in UNSEEN.values())
    assert {label for _, label, _ in CASES} and set(FRAGMENTS) == {(n, lb) for n, lb, _ in CASES}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, label, fn", CASES, ids=[f"{n}: {lb}" for n, lb, _ in CASES])
def test_an_unseen_bug_gets_a_specific_explanation(name, label, fn):
    message = _message(name, fn)
    assert "the checker itself failed" not in message, message
    expected = FRAGMENTS[(name, label)]
    if expected is None:
        assert _is_generic(message), f"now explained, update FRAGMENTS: {message}"
        return
    assert not _is_generic(message), message
    assert message.startswith(f"{name}: {expected}"), message
    for _, bugs in CATALOGUES.get(name, []):
        for bug in bugs:
            assert bug.message not in message, f"{label!r} is in the catalogue: {bug.message}"


def test_summary():
    specific = sum(v is not None for v in FRAGMENTS.values())
    generic = sum(v is None for v in FRAGMENTS.values())
    print(f"\nunseen bugs: {specific} specific, {generic} generic, over {len(UNSEEN)} checkers")
    assert specific >= 3 * generic


# --- equivalent correct answers pass -------------------------------------------------------
def _linear_einsum(dout, x, W, b):
    return np.einsum("nm,dm->nd", dout, W), np.einsum("nd,nm->dm", x, dout), dout.sum(0)


def _linear_list(dout, x, W, b):
    return [dout @ W.T, x.T @ dout, np.sum(dout, axis=0)]


def _relu_where(dout, x):
    return np.where(x > 0, dout, 0.0)


def _softmax_logsumexp(logits, y):
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    grad = np.exp(logp)
    grad[np.arange(len(y)), y] -= 1
    return grad / len(y)


def _softmax_min_shift(logits, y):
    # any per-row shift is exact; here the row's max via np.amax and a division by the sum
    e = np.exp(logits - np.amax(logits, axis=1)[:, None])
    p = e / e.sum(axis=1)[:, None]
    return (p - np.eye(logits.shape[1])[y]) / logits.shape[0]


def _sigmoid_tanh_form(dout, x):
    s = 0.5 * (1 + np.tanh(x / 2))
    return dout * s * (1 - s)


def _tanh_cosh(dout, x):
    return dout / np.cosh(x) ** 2


def _mse_mean(y_hat, y):
    return 2 * (y_hat - y) / np.prod(y_hat.shape)


def _bn_compact(dout, x, gamma, eps=1e-5):
    N = x.shape[0]
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * np.sqrt(x.var(0) + eps))
    return dx, np.einsum("nd,nd->d", dout, xhat), dout.sum(0)


def _counts_bincount(y_true, y_pred, num_classes):
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2)
    return flat.reshape(num_classes, num_classes)  # integer counts are fine


def _clip_concatenated(grads, max_norm):
    total = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads])))
    scale = max_norm / (total + 1e-6) if total > max_norm else 1.0
    return [g * scale for g in grads], total


EQUIVALENT = [
    ("linear_backward", _linear_einsum),
    ("linear_backward", _linear_list),
    ("relu_backward", _relu_where),
    ("softmax_cross_entropy_backward", _softmax_logsumexp),
    ("softmax_cross_entropy_backward", _softmax_min_shift),
    ("sigmoid_backward", _sigmoid_tanh_form),
    ("tanh_backward", _tanh_cosh),
    ("mse_backward", _mse_mean),
    ("batchnorm_backward", _bn_compact),
    ("confusion_matrix", _counts_bincount),
    ("clip_grad_norm", _clip_concatenated),
    ("xavier_std", lambda fan_in, fan_out: (2 / (fan_in + fan_out)) ** 0.5),
    ("he_std", lambda fan_in: np.sqrt(2.0 / fan_in)),  # a numpy float for a float
    ("value_mul_backward", lambda a, b, dout: [b * dout, a * dout]),  # a list for a tuple
    ("accuracy", lambda logits, y: np.mean(np.argmax(logits, axis=1) == y)),
]


@pytest.mark.parametrize("name, fn", EQUIVALENT, ids=[f"{n}: {f.__name__}" for n, f in EQUIVALENT])
def test_equivalent_correct_answers_pass(name, fn, capsys):
    assert_passes(getattr(check, name), fn, capsys)
