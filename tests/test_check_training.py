"""bpkit.check, training checkers (optimisers, initialisation, clipping): pass and diagnose.

Right answers follow the papers' pseudo-code (PyTorch's SGD docs, Kingma & Ba
2015 Algorithm 1, Glorot & Bengio 2010 eq. 16, He et al. 2015 eq. 10), written
independently of the checkers' code.
"""

import math

import numpy as np
import pytest

from bpkit import check
from tests.checkers import assert_diagnosis, assert_passes


# --- SGD with momentum ----------------------------------------------------------------------------
def sgd_ok(w, dw, v, lr, momentum):
    v_new = np.empty_like(v)
    for i in np.ndindex(v.shape):
        v_new[i] = momentum * v[i] + dw[i]
    return w - lr * v_new, v_new


def _sgd_in_place(w, dw, v, lr, momentum):
    v *= momentum
    v += dw
    w -= lr * v
    return w, v


SGD_BUGS = [
    (
        "no momentum",
        lambda w, dw, v, lr, momentum: (w - lr * dw, dw.copy()),
        ["ignored the velocity"],
    ),
    (
        "sign",
        lambda w, dw, v, lr, momentum: (w + lr * (momentum * v + dw), momentum * v + dw),
        ["-lr in place of lr"],
    ),
    ("in place", _sgd_in_place, ["changed its input `w` in place", "new arrays"]),
    (
        "other convention",
        lambda w, dw, v, lr, momentum: (w + momentum * v - lr * dw, momentum * v - lr * dw),
        ["OTHER momentum convention", "Sutskever"],
    ),
    (
        "old velocity",
        lambda w, dw, v, lr, momentum: (w - lr * v, momentum * v + dw),
        ["OLD velocity"],
    ),
    (
        "dampened",
        lambda w, dw, v, lr, momentum: (
            w - lr * (momentum * v + (1 - momentum) * dw),
            momentum * v + (1 - momentum) * dw,
        ),
        ["exponential moving average"],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in SGD_BUGS], ids=[n for n, _, _ in SGD_BUGS]
)
def test_sgd_momentum_step_names_each_bug(fn, expected):
    assert_diagnosis(check.sgd_momentum_step, fn, expected)


def test_sgd_momentum_step_accepts_a_right_answer(capsys):
    assert_passes(check.sgd_momentum_step, sgd_ok, capsys)


# --- RMSProp -------------------------------------------------------------------------------------
def rmsprop_ok(w, dw, s, lr, alpha=0.99, eps=1e-8):
    s_new = s + (1 - alpha) * (dw * dw - s)  # the same average, written as a correction
    return w - lr * dw / (s_new**0.5 + eps), s_new


def _rms(w, dw, s, lr, alpha=0.99, eps=1e-8, root=True, swap=False, old=False):
    a = 1 - alpha if swap else alpha
    s_new = a * s + (1 - a) * dw**2
    denominator = (np.sqrt(s if old else s_new) if root else s_new) + eps
    return w - lr * dw / denominator, s_new


RMS_BUGS = [
    ("no sqrt", lambda *a, **k: _rms(*a, **k, root=False), ["forgot the square root"]),
    (
        "alpha swapped",
        lambda *a, **k: _rms(*a, **k, swap=True),
        ["alpha and 1 - alpha are swapped"],
    ),
    ("old s", lambda *a, **k: _rms(*a, **k, old=True), ["divided by the OLD s"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in RMS_BUGS], ids=[n for n, _, _ in RMS_BUGS]
)
def test_rmsprop_step_names_each_bug(fn, expected):
    with np.errstate(all="ignore"):  # the old-s bug divides by sqrt(0) + eps on a first step
        assert_diagnosis(check.rmsprop_step, fn, expected)


def test_rmsprop_step_accepts_a_right_answer(capsys):
    assert_passes(check.rmsprop_step, rmsprop_ok, capsys)


# --- Adam -----------------------------------------------------------------------------------------
def adam_ok(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    # Kingma & Ba (2015), Algorithm 1, line by line.
    m_t = beta1 * m + (1 - beta1) * dw
    v_t = beta2 * v + (1 - beta2) * dw**2
    m_hat = m_t / (1 - beta1**t)
    v_hat = v_t / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_t, v_t


def _adam_variant(t_shift=0, correct=True, root=True, swap=False, mutate=False):
    def student(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
        m_t = b1 * m + (1 - b1) * dw
        v_t = b2 * v + (1 - b2) * dw**2
        step = t + t_shift
        m_hat = m_t / (1 - b1**step) if correct else m_t
        v_hat = v_t / (1 - b2**step) if correct else v_t
        w_new = w - lr * m_hat / ((np.sqrt(v_hat) if root else v_hat) + eps)
        if mutate:
            m[...] = m_t
        return w_new, m_t, v_t

    return student


ADAM_BUGS = [
    ("no bias correction", _adam_variant(correct=False), ["no bias correction"]),
    ("t + 1", _adam_variant(t_shift=1), ["t + 1 in place of t"]),
    ("t - 1", _adam_variant(t_shift=-1), ["t already counts from 1"]),
    ("no sqrt", _adam_variant(root=False), ["forgot the square root"]),
    ("betas swapped", _adam_variant(swap=True), ["beta2 in place of beta1"]),
    ("mutated m", _adam_variant(mutate=True), ["changed its input `m` in place"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in ADAM_BUGS], ids=[n for n, _, _ in ADAM_BUGS]
)
def test_adam_step_names_each_bug(fn, expected):
    with np.errstate(all="ignore"):  # t - 1 divides by zero at t = 1, on purpose
        assert_diagnosis(check.adam_step, fn, expected)


def test_adam_step_accepts_a_right_answer(capsys):
    assert_passes(check.adam_step, adam_ok, capsys)


# --- initialisation -------------------------------------------------------------------------------
XAVIER_BUGS = [
    ("variance", lambda fi, fo: 2 / (fi + fo), ["square of the right answer", "sqrt"]),
    ("fan_in only", lambda fi, fo: math.sqrt(1 / fi), ["fan_in only", "LeCun"]),
    ("He", lambda fi, fo: math.sqrt(2 / fi), ["He's formula"]),
    ("uniform limit", lambda fi, fo: math.sqrt(6 / (fi + fo)), ["LIMIT", "uniform"]),
    ("returned a string", lambda fi, fo: "0.17", ["std is a str"]),
    (
        "returned an array",
        lambda fi, fo: np.full(2, math.sqrt(2 / (fi + fo))),
        ["shape (2,)", "single number"],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in XAVIER_BUGS], ids=[n for n, _, _ in XAVIER_BUGS]
)
def test_xavier_std_names_each_bug(fn, expected):
    assert_diagnosis(check.xavier_std, fn, expected)


def test_xavier_std_accepts_a_right_answer(capsys):
    # Glorot & Bengio (2010), eq. 16: Var[W] = 2 / (n_in + n_out).
    assert_passes(
        check.xavier_std, lambda fan_in, fan_out: (2.0 / (fan_in + fan_out)) ** 0.5, capsys
    )


HE_BUGS = [
    ("no 2", lambda fi: math.sqrt(1 / fi), ["forgot the 2"]),
    ("variance", lambda fi: 2 / fi, ["square of the right answer", "sqrt"]),
    ("Xavier with fan_out = fan_in", lambda fi: math.sqrt(2 / (fi + fi)), ["Xavier"]),
    ("uniform limit", lambda fi: math.sqrt(6 / fi), ["LIMIT"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in HE_BUGS], ids=[n for n, _, _ in HE_BUGS]
)
def test_he_std_names_each_bug(fn, expected):
    assert_diagnosis(check.he_std, fn, expected)


def test_he_std_accepts_a_right_answer(capsys):
    # He et al. (2015), eq. 10: n_l Var[w_l] / 2 = 1.
    assert_passes(check.he_std, lambda fan_in: math.sqrt(2) / math.sqrt(fan_in), capsys)


# --- gradient clipping ----------------------------------------------------------------------------
def clip_ok(grads, max_norm):
    total = float(np.sqrt(sum(np.vdot(g, g) for g in grads)))
    factor = max_norm / (total + 1e-6)  # PyTorch's guard against a zero norm
    return [g * factor if factor < 1 else g.copy() for g in grads], total


def _clip_each(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    return [g * min(1, max_norm / np.linalg.norm(g)) for g in grads], total


def _clip_always(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    return [g * max_norm / total for g in grads], total


def _clip_norm_after(grads, max_norm):
    clipped, _ = clip_ok(grads, max_norm)
    return clipped, math.sqrt(sum(float(np.sum(g**2)) for g in clipped))


def _clip_in_place(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return grads, total


def _clip_no_sqrt(grads, max_norm):
    total = sum(float(np.sum(g**2)) for g in grads)
    return [g * min(1, max_norm / total) for g in grads], total


CLIP_BUGS = [
    ("each separately", _clip_each, ["clipped each array by its own norm"]),
    ("scaled up", _clip_always, ["scaled the gradients UP"]),
    ("norm after clipping", _clip_norm_after, ["norm AFTER clipping"]),
    ("in place", _clip_in_place, ["changed its input `grads` in place", "g * scale"]),
    ("no sqrt", _clip_no_sqrt, ["no square root"]),
    ("one array back", lambda grads, max_norm: (grads[0], 1.0), ["clipped is a ndarray"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in CLIP_BUGS], ids=[n for n, _, _ in CLIP_BUGS]
)
def test_clip_grad_norm_names_each_bug(fn, expected):
    assert_diagnosis(check.clip_grad_norm, fn, expected)


def test_clip_grad_norm_accepts_a_right_answer(capsys):
    assert_passes(check.clip_grad_norm, clip_ok, capsys)
