"""check.variance_factor and check.gradient_variances (set 07): catalogue, unseen bugs, passes."""

import math

import numpy as np
import pytest

from bpkit import check
from bpkit.check.variance import _grad_variances
from tests.checkers import assert_passes, diagnosis

KEEPS = {"linear": 1.0, "relu": 0.5}


def _factor(n, s, a):
    return n * s**2 * KEEPS[a]


def _stack(x, Ws, dout, mask=lambda g, z: g * (z > 0), var=np.var):
    zs, h = [], x
    for W in Ws:
        zs.append(h @ W)
        h = np.maximum(zs[-1], 0.0)
    g, v = dout, [var(dout)]
    for W, z in zip(reversed(Ws), reversed(zs)):
        g = mask(g, z) @ W.T
        v.append(var(g))
    return np.array(v[::-1])


# --- variance_factor --------------------------------------------------------------------------
def test_variance_factor_passes_equivalent_answers(capsys):
    assert_passes(check.variance_factor, _factor, capsys)
    assert_passes(
        check.variance_factor,
        lambda n, s, a: float(np.float64(n) * np.square(s) / (2 if a == "relu" else 1)),
        capsys,
    )


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (lambda n, s, a: n * s**2, "relu zeroes the negative half"),
        (lambda n, s, a: n * s * KEEPS[a], "Var(w) is the square"),
        (lambda n, s, a: 1 / _factor(n, s, a), "you returned the inverse"),
    ],
    ids=["relu-half-forgotten", "std-for-variance", "inverted"],
)
def test_variance_factor_catalogue(fn, fragment):
    assert fragment in diagnosis(check.variance_factor, fn)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (lambda n, s, a: s**2 * KEEPS[a], "divided by fan_in"),
        (lambda n, s, a: math.sqrt(_factor(n, s, a)), "square root of the right answer"),
        (lambda n, s, a: 2 * _factor(n, s, a), "2 times the right answer"),
        (lambda n, s, a: _factor(n, s, a) / 2, "divided by 2"),
    ],
    ids=["no-fan-in", "std-ratio", "twice", "half-twice"],
)
def test_variance_factor_unseen_bugs_get_a_specific_explanation(fn, fragment):
    message = diagnosis(check.variance_factor, fn)
    assert fragment in message, message
    assert "max error" not in message


def test_variance_factor_message_hides_the_formula():
    message = diagnosis(check.variance_factor, lambda n, s, a: n * s * KEEPS[a])
    assert "fan_in * w_std**2" not in message


# --- gradient_variances -----------------------------------------------------------------------
def test_gradient_variances_passes_equivalent_answers(capsys):
    assert_passes(check.gradient_variances, _grad_variances, capsys)

    def with_outputs_and_einsum(x, Ws, dout):
        hs = [x]
        for W in Ws:
            hs.append(np.maximum(hs[-1] @ W, 0.0))
        g, v = dout, [float(((dout - dout.mean()) ** 2).mean())]
        for ell in range(len(Ws), 0, -1):  # the mask from the output h_l > 0 is the same
            g = np.einsum("nj,kj->nk", np.where(hs[ell] > 0, g, 0.0), Ws[ell - 1])
            v.insert(0, float(g.var()))
        return np.array(v)

    assert_passes(check.gradient_variances, with_outputs_and_einsum, capsys)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (lambda x, Ws, d: _stack(x, Ws, d, mask=lambda g, z: g), "no ReLU at all"),
        (lambda x, Ws, d: _stack(x, Ws, d, mask=lambda g, z: g * (g > 0)), "GRADIENT is positive"),
        (lambda x, Ws, d: _grad_variances(x, Ws, d)[::-1], "wrong order"),
    ],
    ids=["no-mask", "mask-on-gradient", "reversed"],
)
def test_gradient_variances_catalogue(fn, fragment):
    assert fragment in diagnosis(check.gradient_variances, fn)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (lambda x, Ws, d: _stack(x, Ws, d, var=np.std), "square root of the right answer"),
        (lambda x, Ws, d: _grad_variances(-x, Ws, d), "-x in place of x"),
        (lambda x, Ws, d: _grad_variances(x, Ws, d / len(x)), "dout / N"),
        (lambda x, Ws, d: _grad_variances(x, Ws, d) ** 2, "square of the right answer"),
    ],
    ids=["std-not-var", "negated-input", "mean-over-batch", "squared"],
)
def test_gradient_variances_unseen_bugs_get_a_specific_explanation(fn, fragment):
    message = diagnosis(check.gradient_variances, fn)
    assert fragment in message, message
    assert "max error" not in message


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, Ws, d: _stack(x, Ws, d, mask=lambda g, z: g * (z < 0)),  # inverted mask
        lambda x, Ws, d: _stack(x, Ws, d, var=lambda a: np.var(a, ddof=1)),  # sample variance
        lambda x, Ws, d: _stack(x, Ws, d, var=lambda a: np.mean(a**2)),  # not centred
    ],
    ids=["inverted-mask", "ddof-1", "mean-square"],
)
def test_gradient_variances_other_bugs_fail_and_say_where(fn):
    message = diagnosis(check.gradient_variances, fn)
    assert "v" in message and "expected" in message or "v is" in message, message


def test_gradient_variances_shapes():
    message = diagnosis(check.gradient_variances, lambda x, Ws, d: _grad_variances(x, Ws, d)[:-1])
    assert "shape" in message
    message = diagnosis(
        check.gradient_variances,
        lambda x, Ws, d: _stack(x, Ws, d, mask=lambda g, z: g @ np.ones((1, 1))),
    )
    assert "gradient_variances" in message


def test_gradient_variances_placeholder_gets_no_formula():
    message = diagnosis(check.gradient_variances, lambda x, Ws, d: np.zeros(len(Ws) + 1))
    assert "placeholder" in message and "W_l.T" not in message
