"""bpkit.check, lecture 10 checkers: a right answer passes, each classic bug gets its diagnosis.

Covers classify_critical_point, numerical_hessian, gradient_descent_restarts,
interpolate_losses and filter_normalize.
"""

import numpy as np
import pytest

from bpkit import check
from tests.checkers import assert_diagnosis, assert_passes


# --- classify_critical_point -------------------------------------------------------------------
def _kind(values, zero):
    if np.any(np.abs(values) <= zero):
        return "degenerate"
    if np.all(values > 0):
        return "minimum"
    if np.all(values < 0):
        return "maximum"
    return "saddle"


def classify_ok(H):
    lam = np.linalg.eigvalsh(H)
    return _kind(lam, 1e-8 * np.abs(lam).max())


def _classify_determinant(H):
    det = np.linalg.det(H)
    if abs(det) < 1e-9:
        return "degenerate"
    return "minimum" if det > 0 else "saddle"


def _classify_no_degenerate(H):
    lam = np.linalg.eigvalsh(H)
    if np.all(lam >= -1e-9):
        return "minimum"
    if np.all(lam <= 1e-9):
        return "maximum"
    return "saddle"


CLASSIFY_BUGS = [
    ("diagonal", lambda H: _kind(np.diag(H), 1e-12), ["diagonal", "EIGENVALUES"]),
    ("determinant", _classify_determinant, ["determinant rule without the trace"]),
    (
        "swapped",
        lambda H: {"minimum": "maximum", "maximum": "minimum"}.get(classify_ok(H), classify_ok(H)),
        ["swapped"],
    ),
    ("no tolerance", lambda H: _kind(np.linalg.eigvalsh(H), 0.0), ["needs a tolerance"]),
    ("no degenerate", _classify_no_degenerate, ["'degenerate'"]),
    ("abbreviated", lambda H: classify_ok(H)[:3], ["returned 'sad'", "exactly one of"]),
    ("a number", lambda H: int(np.sum(np.linalg.eigvalsh(H) < 0)), ["returned a int"]),
    ("always a minimum", lambda H: "minimum", ["you answered 'minimum', expected 'saddle'"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in CLASSIFY_BUGS], ids=[n for n, _, _ in CLASSIFY_BUGS]
)
def test_classify_critical_point_names_each_bug(fn, expected):
    assert_diagnosis(check.classify_critical_point, fn, expected)


def test_classify_critical_point_accepts_a_right_answer(capsys):
    assert_passes(check.classify_critical_point, classify_ok, capsys)


def test_classify_critical_point_accepts_eig_and_an_absolute_tolerance(capsys):
    def with_eig(H):
        lam = np.real(np.linalg.eig(H)[0])
        return _kind(lam, 1e-10)

    assert_passes(check.classify_critical_point, with_eig, capsys)


# --- numerical_hessian -------------------------------------------------------------------------
def hessian_ok(grad, x, h=1e-5):
    n = len(x)
    H = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
    return (H + H.T) / 2


def _hessian_forward(grad, x, h=1e-5):
    return np.stack([(grad(x + h * e) - grad(x)) / h for e in np.eye(len(x))], axis=1)


def _hessian_in_place(grad, x, h=1e-5):
    H = np.zeros((len(x), len(x)))
    for j in range(len(x)):
        x[j] += h
        plus = grad(x)
        x[j] -= 2 * h
        H[:, j] = (plus - grad(x)) / (2 * h)
    return H


HESSIAN_BUGS = [
    ("forward", _hessian_forward, ["forward difference"]),
    (
        "forward, symmetrised",
        lambda g, x, h=1e-5: (_hessian_forward(g, x, h) + _hessian_forward(g, x, h).T) / 2,
        ["forward difference"],
    ),
    ("divided by h", lambda g, x, h=1e-5: 2 * hessian_ok(g, x, h), ["twice too big"]),
    (
        "all at once",
        lambda g, x, h=1e-5: np.repeat(((g(x + h) - g(x - h)) / (2 * h))[:, None], len(x), axis=1),
        ["moved all coordinates at once"],
    ),
    ("gradient", lambda g, x, h=1e-5: g(x), ["you returned the gradient"]),
    ("x changed", _hessian_in_place, ["changed its input `x` in place"]),
    ("no default h", lambda g, x, h: hessian_ok(g, x, h), []),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in HESSIAN_BUGS], ids=[n for n, _, _ in HESSIAN_BUGS]
)
def test_numerical_hessian_names_each_bug(fn, expected):
    if not expected:  # the checker passes h by keyword, so a missing default is allowed
        return
    assert_diagnosis(check.numerical_hessian, fn, expected)


def test_numerical_hessian_accepts_a_right_answer(capsys):
    assert_passes(check.numerical_hessian, hessian_ok, capsys)


def test_numerical_hessian_accepts_an_unsymmetrised_answer(capsys):
    def unsymmetrised(grad, x, h=1e-5):
        columns = [(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(len(x))]
        return np.stack(columns, axis=1)

    assert_passes(check.numerical_hessian, unsymmetrised, capsys)


# --- gradient_descent_restarts -----------------------------------------------------------------
def restarts_ok(grad, starts, lr, steps):
    finals = np.zeros_like(starts)
    for i, start in enumerate(starts):
        w = start.copy()
        for _ in range(steps):
            w = w - lr * grad(w)
        finals[i] = w
    return finals


def _restarts_chained(grad, starts, lr, steps):
    finals, w = [], starts[0].copy()
    for _ in starts:
        for _ in range(steps):
            w = w - lr * grad(w)
        finals.append(w.copy())
    return np.array(finals)


def _restarts_view(grad, starts, lr, steps):
    finals = []
    for start in starts:
        w = start  # a view: w -= ... writes into starts
        for _ in range(steps):
            w -= lr * grad(w)
        finals.append(w.copy())
    return np.array(finals)


def _restarts_steps(delta, sign=-1.0, use_lr=True):
    def fn(grad, starts, lr, steps):
        rate = lr if use_lr else 1.0
        out = []
        for start in starts:
            w = start.copy()
            for _ in range(steps + delta):
                w = w + sign * rate * grad(w)
            out.append(w)
        return np.array(out)

    return fn


RESTART_BUGS = [
    ("not restarted", _restarts_chained, ["continued from the previous run's end"]),
    ("one step too few", _restarts_steps(-1), ["steps - 1 in place of steps"]),
    ("one step too many", _restarts_steps(1), ["steps + 1 in place of steps"]),
    ("ascent", _restarts_steps(0, sign=1.0), ["-lr in place of lr"]),
    ("no lr", _restarts_steps(0, use_lr=False), ["learning rate is missing"]),
    ("starts returned", lambda g, s, lr, steps: s.copy(), ["returned the starts"]),
    ("last only", lambda g, s, lr, steps: restarts_ok(g, s, lr, steps)[-1], ["returned one point"]),
    ("view of starts", _restarts_view, ["changed its input `starts` in place", "starts[i].copy()"]),
    ("a list", lambda g, s, lr, steps: list(restarts_ok(g, s, lr, steps)), ["list of"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in RESTART_BUGS], ids=[n for n, _, _ in RESTART_BUGS]
)
def test_gradient_descent_restarts_names_each_bug(fn, expected):
    assert_diagnosis(check.gradient_descent_restarts, fn, expected)


def test_gradient_descent_restarts_accepts_a_right_answer(capsys):
    assert_passes(check.gradient_descent_restarts, restarts_ok, capsys)


# --- interpolate_losses ------------------------------------------------------------------------
def interpolate_ok(loss, theta0, theta1, alphas):
    return np.array([loss((1 - a) * theta0 + a * theta1) for a in alphas])


def _interpolate_in_place(loss, theta0, theta1, alphas):
    out = []
    start = theta0.copy()
    for a in alphas:
        theta0[:] = (1 - a) * start + a * theta1
        out.append(loss(theta0))
    return np.array(out)


INTERPOLATE_BUGS = [
    (
        "swapped",
        lambda loss, t0, t1, alphas: np.array([loss(a * t0 + (1 - a) * t1) for a in alphas]),
        ["swapped"],
    ),
    (
        "no difference",
        lambda loss, t0, t1, alphas: np.array([loss(t0 + a * t1) for a in alphas]),
        ["theta0 + a * theta1"],
    ),
    (
        "theta0 only",
        lambda loss, t0, t1, alphas: np.array([loss(t0) for _ in alphas]),
        ["every entry is loss(theta0)"],
    ),
    ("in place", _interpolate_in_place, ["changed its input `theta0` in place"]),
    (
        "a list",
        lambda loss, t0, t1, alphas: [loss((1 - a) * t0 + a * t1) for a in alphas],
        ["list of", "np.array"],
    ),
]


@pytest.mark.parametrize(
    "fn, expected",
    [(f, e) for _, f, e in INTERPOLATE_BUGS],
    ids=[n for n, _, _ in INTERPOLATE_BUGS],
)
def test_interpolate_losses_names_each_bug(fn, expected):
    assert_diagnosis(check.interpolate_losses, fn, expected)


def test_interpolate_losses_accepts_a_right_answer(capsys):
    assert_passes(check.interpolate_losses, interpolate_ok, capsys)


def test_interpolate_losses_accepts_the_difference_form(capsys):
    def difference(loss, theta0, theta1, alphas):
        return np.array([loss(theta0 + a * (theta1 - theta0)) for a in alphas])

    assert_passes(check.interpolate_losses, difference, capsys)


# --- filter_normalize --------------------------------------------------------------------------
def normalize_ok(direction, theta):
    out = []
    for d, w in zip(direction, theta):
        if w.ndim == 1:
            out.append(np.zeros_like(d))
        else:
            out.append(d * np.linalg.norm(w, axis=0) / np.linalg.norm(d, axis=0))
    return out


def _normalize(axis=0, scale=True, zero_bias=True):
    def fn(direction, theta):
        out = []
        for d, w in zip(direction, theta):
            if w.ndim == 1:
                out.append(np.zeros_like(d) if zero_bias else d.copy())
            elif axis is None:
                out.append(d * (np.linalg.norm(w) if scale else 1.0) / np.linalg.norm(d))
            else:
                norm_w = np.linalg.norm(w, axis=axis, keepdims=True) if scale else 1.0
                out.append(d * norm_w / np.linalg.norm(d, axis=axis, keepdims=True))
        return out

    return fn


def _normalize_in_place(direction, theta):
    for i, (d, w) in enumerate(zip(direction, theta)):
        if w.ndim == 1:
            d[:] = 0.0
        else:
            d *= np.linalg.norm(w, axis=0) / np.linalg.norm(d, axis=0)
    return direction


NORMALIZE_BUGS = [
    ("rows", _normalize(axis=1), ["ROWS", "axis=0"]),
    ("whole matrix", _normalize(axis=None), ["whole matrix at once"]),
    ("unit norm", _normalize(scale=False), ["norm 1"]),
    ("bias kept", _normalize(zero_bias=False), ["bias directions must be zeros"]),
    ("in place", _normalize_in_place, ["in place"]),
    ("one array", lambda direction, theta: normalize_ok(direction, theta)[0], ["return a list"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in NORMALIZE_BUGS], ids=[n for n, _, _ in NORMALIZE_BUGS]
)
def test_filter_normalize_names_each_bug(fn, expected):
    assert_diagnosis(check.filter_normalize, fn, expected)


def test_filter_normalize_accepts_a_right_answer(capsys):
    assert_passes(check.filter_normalize, normalize_ok, capsys)


def test_filter_normalize_accepts_a_tuple(capsys):
    assert_passes(check.filter_normalize, lambda d, t: tuple(normalize_ok(d, t)), capsys)
