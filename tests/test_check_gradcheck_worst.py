"""bpkit.check.gradcheck_worst: a right answer passes; each classic bug gets its diagnosis."""

import numpy as np
import pytest

from bpkit import check
from bpkit.check import calculus
from bpkit.gradcheck import numerical_grad
from tests.checkers import assert_diagnosis, assert_passes


def _numeric(f, x, h):
    return numerical_grad(f, x, eps=h)


def _errors(a, n, floor):
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


def worst_ok(f, x, grad, h=1e-5, floor=1e-2):
    errors = _errors(grad, _numeric(f, x, h), floor)
    return float(np.max(errors)), np.unravel_index(np.argmax(errors), errors.shape)


def worst_own_loop(f, x, grad, h=1e-5, floor=1e-2):
    # Its own central differences, restoring x in place, and a loop for the max.
    best, where = -1.0, None
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        plus = f(x)
        x[i] = saved - h
        minus = f(x)
        x[i] = saved
        n = (plus - minus) / (2 * h)
        error = abs(grad[i] - n) / max(abs(grad[i]) + abs(n), floor)
        if error > best:
            best, where = error, i
    return best, where


def _with_errors(errors_of):
    """A gradcheck_worst whose per-element error is ``errors_of(a, n, floor)``."""

    def fn(f, x, grad, h=1e-5, floor=1e-2):
        with np.errstate(all="ignore"):
            errors = errors_of(grad, _numeric(f, x, h), floor)
        return float(np.max(errors)), np.unravel_index(np.argmax(errors), errors.shape)

    return fn


def _first_above(f, x, grad, h=1e-5, floor=1e-2):
    errors = _errors(grad, _numeric(f, x, h), floor)
    for i in np.ndindex(x.shape):
        if errors[i] > 1e-6:
            return float(errors[i]), i
    return 0.0, (0,) * x.ndim


def _smallest(f, x, grad, h=1e-5, floor=1e-2):
    errors = _errors(grad, _numeric(f, x, h), floor)
    return float(np.min(errors)), np.unravel_index(np.argmin(errors), errors.shape)


def _flat_index(f, x, grad, h=1e-5, floor=1e-2):
    errors = _errors(grad, _numeric(f, x, h), floor)
    return float(np.max(errors)), int(np.argmax(errors))


def _reversed_shape(f, x, grad, h=1e-5, floor=1e-2):
    errors = _errors(grad, _numeric(f, x, h), floor)
    return float(np.max(errors)), np.unravel_index(np.argmax(errors), x.shape[::-1])


def _flat_tuple(f, x, grad, h=1e-5, floor=1e-2):
    errors = _errors(grad, _numeric(f, x, h), floor).ravel()
    return float(np.max(errors)), (int(np.argmax(errors)),)


def _not_restored(f, x, grad, h=1e-5, floor=1e-2):
    n = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        n[i] = (plus - f(x)) / (2 * h)
    errors = _errors(grad, n, floor)
    return float(np.max(errors)), np.unravel_index(np.argmax(errors), errors.shape)


def _grad_zeroed(f, x, grad, h=1e-5, floor=1e-2):
    n = _numeric(f, x, h)
    grad -= n  # a - n, written into the caller's array
    errors = np.abs(grad) / np.maximum(np.abs(grad + n) + np.abs(n), floor)
    return float(np.max(errors)), np.unravel_index(np.argmax(errors), errors.shape)


def _fixed_floor(f, x, grad, h=1e-5, floor=1e-2):
    return worst_ok(f, x, grad, h)


BUGS = [
    (
        "no floor",
        _with_errors(lambda a, n, floor: np.abs(a - n) / (np.abs(a) + np.abs(n))),
        ["max(|a| + |n|, floor)", "both (almost) 0"],
    ),
    ("absolute error", _with_errors(lambda a, n, floor: np.abs(a - n)), ["absolute error"]),
    (
        "relative to |a|",
        _with_errors(lambda a, n, floor: np.abs(a - n) / np.abs(a)),
        ["one side only", "asymmetric"],
    ),
    (
        "relative to max(|a|, floor)",
        _with_errors(lambda a, n, floor: np.abs(a - n) / np.maximum(np.abs(a), floor)),
        ["asymmetric"],
    ),
    ("first above a threshold", _first_above, ["first element above a threshold", "np.argmax"]),
    ("index of the min", _smallest, ["smallest error", "np.argmin"]),
    ("flat index", _flat_index, ["flat index", "np.unravel_index"]),
    ("reversed shape", _reversed_shape, ["reversed shape", "np.unravel_index(flat, x.shape)"]),
    ("index of the flattened array", _flat_tuple, ["has 1 entry", "x has 2 axes"]),
    ("x not restored", _not_restored, ["changed its input `x` in place"]),
    ("floor ignored", _fixed_floor, ["ignores its floor argument"]),
    ("returns None", lambda f, x, grad, h=1e-5, floor=1e-2: None, ["returned None"]),
    (
        "max_error a string",
        lambda f, x, grad, h=1e-5, floor=1e-2: ("0.5", worst_ok(f, x, grad, h, floor)[1]),
        ["max_error is a str", "return a float"],
    ),
    (
        "index a list",
        lambda f, x, grad, h=1e-5, floor=1e-2: (
            worst_ok(f, x, grad, h, floor)[0],
            list(worst_ok(f, x, grad, h, floor)[1]),
        ),
        ["index is a list", "return a tuple"],
    ),
    (
        "max_error the error array",
        lambda f, x, grad, h=1e-5, floor=1e-2: (
            _errors(grad, _numeric(f, x, h), floor),
            worst_ok(f, x, grad, h, floor)[1],
        ),
        ["max_error is an array of shape (3, 4)", "np.max"],
    ),
    (
        "swapped outputs",
        lambda f, x, grad, h=1e-5, floor=1e-2: worst_ok(f, x, grad, h, floor)[::-1],
        ["swapped"],
    ),
    ("grad changed in place", _grad_zeroed, ["changed its input `grad` in place"]),
    (
        "no default h",
        lambda f, x, grad, h, floor=1e-2: worst_ok(f, x, grad, h, floor),
        ["could not be called", "h=1e-5"],
    ),
]


def test_the_checker_is_exported():
    assert check.gradcheck_worst is calculus.gradcheck_worst
    assert "gradcheck_worst" in check.__all__ and "gradcheck_worst" in calculus.__all__


@pytest.mark.parametrize("fn", [worst_ok, worst_own_loop], ids=["numpy", "own loop"])
def test_a_right_answer_passes(fn, capsys):
    assert_passes(check.gradcheck_worst, fn, capsys)


def test_the_success_line(capsys):
    check.gradcheck_worst(worst_ok)
    assert capsys.readouterr().out == (
        "✓ gradcheck_worst: correct on 3 cases (max_error and index of the worst element)\n"
    )


@pytest.mark.parametrize("fn, expected", [(f, e) for _, f, e in BUGS], ids=[n for n, _, _ in BUGS])
def test_each_bug_gets_its_diagnosis(fn, expected):
    assert_diagnosis(check.gradcheck_worst, fn, expected)


def test_the_planted_bugs_are_where_a_lazy_answer_would_miss_them():
    # Non-square, the worst element not at index 0, and a claimed 0 against a tiny numeric one.
    for x, f, grad, numeric, kwargs in calculus._gc_cases():
        assert len(set(x.shape)) == x.ndim and x.ndim >= 2
        _, index = worst_ok(f, x.copy(), grad, **kwargs)
        assert index != (0,) * x.ndim
        tiny = (grad == 0) & (np.abs(numeric) > 0) & (np.abs(numeric) < 1e-6)
        assert tiny.any()
