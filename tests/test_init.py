"""bpkit.nn.init: variances as derived in the papers, checked statistically; uniform bounds exactly.

Tolerances come from the sample size: the sample variance s^2 of n iid draws
has standard error sqrt((mu_4 - sigma^4) / n), with mu_4 the fourth central
moment: 3 sigma^4 for a normal (SE = sigma^2 sqrt(2/n)) and a^4/5 for U(-a, a)
whose sigma^2 = a^2/3 (SE = a^2 sqrt(4 / (45 n))). We allow 5 standard errors
and check that the tolerance is tight enough to reject the neighbouring formula.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit.nn import init

FAN_IN, FAN_OUT = 300, 200  # non-square: a fan_in/fan_out mix-up changes the answer
N = FAN_IN * FAN_OUT

# Published formulas, written here independently of the module.
XAVIER_VAR = 2.0 / (FAN_IN + FAN_OUT)  # Glorot & Bengio (2010), eq. 12
HE_VAR = 2.0 / FAN_IN  # He et al. (2015), eq. 10
XAVIER_LIMIT = math.sqrt(6.0 / (FAN_IN + FAN_OUT))  # Glorot & Bengio (2010), eq. 16
HE_LIMIT = math.sqrt(6.0 / FAN_IN)


def se_var_normal(var, n):
    return var * math.sqrt(2.0 / n)


def se_var_uniform(limit, n):
    return limit**2 * math.sqrt(4.0 / (45.0 * n))


CASES = {
    "xavier_uniform": (init.xavier_uniform, XAVIER_VAR, se_var_uniform(XAVIER_LIMIT, N)),
    "xavier_normal": (init.xavier_normal, XAVIER_VAR, se_var_normal(XAVIER_VAR, N)),
    "he_uniform": (init.he_uniform, HE_VAR, se_var_uniform(HE_LIMIT, N)),
    "he_normal": (init.he_normal, HE_VAR, se_var_normal(HE_VAR, N)),
}
# The formula each one is most easily confused with (LeCun's 1 / fan_in, or the other paper's).
NEIGHBOUR_VAR = {
    "xavier_uniform": 1.0 / FAN_IN,
    "xavier_normal": 1.0 / FAN_IN,
    "he_uniform": 1.0 / FAN_IN,
    "he_normal": 1.0 / FAN_IN,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_variance_matches_the_paper(name):
    fn, var, se = CASES[name]
    w = fn((FAN_IN, FAN_OUT), rng=np.random.default_rng(7))
    assert w.shape == (FAN_IN, FAN_OUT)
    assert w.dtype == np.float64
    assert abs(w.var() - var) < 5 * se, (w.var(), var, se)
    assert abs(w.mean()) < 5 * math.sqrt(var / N)
    # The tolerance can tell the right formula from its neighbour.
    assert abs(NEIGHBOUR_VAR[name] - var) > 20 * se


@pytest.mark.parametrize(
    "fn, limit",
    [(init.xavier_uniform, XAVIER_LIMIT), (init.he_uniform, HE_LIMIT)],
)
def test_uniform_limits_exact(fn, limit):
    w = fn((FAN_IN, FAN_OUT), rng=3)
    assert np.max(np.abs(w)) <= limit
    # P(all 60,000 draws inside 0.999 * limit) = 0.999**60000 ~ e^-60.
    assert np.max(w) > 0.999 * limit and np.min(w) < -0.999 * limit


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_uniform_never_exceeds_limit(fan_in, fan_out, seed):
    xavier = init.xavier_uniform((fan_in, fan_out), rng=seed)
    he = init.he_uniform((fan_in, fan_out), rng=seed)
    assert np.all(np.abs(xavier) <= math.sqrt(6.0 / (fan_in + fan_out)))
    assert np.all(np.abs(he) <= math.sqrt(6.0 / fan_in))


def test_he_depends_on_fan_in_only_and_xavier_on_both():
    # Swapping the fans changes Xavier by nothing and He by fan_out / fan_in.
    a = init.he_normal((50, 2000), rng=1).var()
    b = init.he_normal((2000, 50), rng=1).var()
    assert abs(a / b - 40.0) < 4.0
    c = init.xavier_normal((50, 2000), rng=1).var()
    d = init.xavier_normal((2000, 50), rng=1).var()
    assert abs(c / d - 1.0) < 0.05


def test_gain_scales_the_standard_deviation():
    limit = 2.5 * XAVIER_LIMIT
    w = init.xavier_uniform((FAN_IN, FAN_OUT), rng=0, gain=2.5)
    assert np.max(np.abs(w)) <= limit < np.max(np.abs(w)) / 0.999
    v = init.xavier_normal((FAN_IN, FAN_OUT), rng=0, gain=2.5)
    assert abs(v.var() - 6.25 * XAVIER_VAR) < 5 * se_var_normal(6.25 * XAVIER_VAR, N)


def test_normal_and_uniform_fixed_scale():
    w = init.normal((FAN_IN, FAN_OUT), std=0.01, rng=0)
    assert abs(w.var() - 1e-4) < 5 * se_var_normal(1e-4, N)
    u = init.uniform((4, 5, 6), bound=0.3, rng=0)
    assert u.shape == (4, 5, 6)
    assert np.all(np.abs(u) <= 0.3)
    assert init.normal(7, std=1.0).shape == (7,)


def test_rng_seeds_generators_and_default():
    a = init.he_uniform((3, 4), rng=11)
    assert np.array_equal(a, init.he_uniform((3, 4), rng=11))
    assert np.array_equal(a, init.he_uniform((3, 4), rng=np.random.default_rng(11)))
    assert not np.array_equal(a, init.he_uniform((3, 4), rng=12))
    # rng=None means seed 0: notebooks stay reproducible.
    assert np.array_equal(init.he_uniform((3, 4)), init.he_uniform((3, 4), rng=0))
    g = np.random.default_rng(5)
    first, second = init.xavier_normal((3, 4), rng=g), init.xavier_normal((3, 4), rng=g)
    assert not np.array_equal(first, second)  # a shared generator moves on


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), (0, 3), (3, -1), (2.0, 3), "ab", (True, 3)])
def test_bad_shapes_are_refused(shape):
    with pytest.raises(ValueError, match=r"he_normal: shape must be \(fan_in, fan_out\)"):
        init.he_normal(shape)


def test_bad_scales_are_refused():
    with pytest.raises(ValueError, match="normal: std must be a non-negative number"):
        init.normal((2, 2), std=-1.0)
    with pytest.raises(ValueError, match="uniform: bound must be a non-negative number"):
        init.uniform((2, 2), bound=float("nan"))
    with pytest.raises(ValueError, match="xavier_uniform: gain must be a positive number"):
        init.xavier_uniform((2, 2), gain=0)
    with pytest.raises(TypeError, match="rng must be"):
        init.he_uniform((2, 2), rng="seed")
