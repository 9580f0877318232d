"""Checkers for the variance argument of lecture 07: predict a layer's factor, then measure it.

``variance_factor`` checks the prediction (a number per case); ``gradient_variances``
checks a measurement in a deep ReLU stack (one variance per layer). Both are written
with ``Exercise`` and ``Bug``, so the general diagnosis and the no-reveal rules apply.
Widths differ from layer to layer, so a missing transpose shows as a shape error.
"""

import math

import numpy as np

from bpkit.check._core import Bug, Exercise, checker

__all__ = ["variance_factor", "gradient_variances"]

#: E[h^2] / Var(z) for h = act(z), z ~ N(0, Var(z)): the activations the exercise names.
_KEEPS = {"linear": 1.0, "relu": 0.5}


def _factor_reference(fan_in, w_std, activation="relu"):
    """Var(z_next) / Var(z) = fan_in * w_std**2 * E[act(z)**2] / Var(z)."""
    keeps = _KEEPS.get(activation) if isinstance(activation, str) else None
    if keeps is None or not isinstance(fan_in, (int, float)) or not isinstance(w_std, (int, float)):
        return math.nan
    return fan_in * w_std**2 * keeps


@checker
def variance_factor(student_fn):
    """Check ``variance_factor(fan_in, w_std, activation) -> factor`` (a float).

    One layer z_next = act(z) @ W, W with ``fan_in`` rows and entries of std ``w_std``,
    z zero-mean and symmetric; activation "linear" or "relu". Return Var(z_next) / Var(z).
    Recognises: relu's half forgotten, the std used where the variance belongs, the
    factor inverted (the weight scale that would keep the variance), the std ratio.
    """
    ex = Exercise(
        "variance_factor",
        student_fn,
        returns="factor",
        signature="variance_factor(fan_in, w_std, activation) -> factor",
        formulas={"factor": "factor = fan_in * w_std**2 * (1/2 for relu, 1 for linear)"},
        reference=_factor_reference,
    )
    cases = [
        (100, 0.2, "relu"),
        (64, 0.1, "linear"),
        (300, 0.05, "relu"),
        (25, 0.4, "linear"),
        (512, 0.125, "relu"),
    ]
    for fan_in, w_std, activation in cases:
        factor = _factor_reference(fan_in, w_std, activation)
        keeps = _KEEPS[activation]
        bugs = [
            Bug(
                "for relu you kept the whole Var(z): relu zeroes the negative half of a "
                "symmetric z, so E[relu(z)**2] is only part of Var(z)",
                factor=fan_in * w_std**2,
            ),
            Bug(
                "you used w_std where the variance of the weights belongs: Var(w) is the "
                "square of the standard deviation",
                factor=fan_in * w_std * keeps,
            ),
            Bug(
                "you returned the inverse: the factor by which the variance GROWS per layer is "
                "asked, not the weight scale that would keep it",
                factor=1.0 / factor,
            ),
        ]
        ex.case(dict(fan_in=fan_in, w_std=w_std, activation=activation), factor, bugs)
    ex.passed()


def _grad_variances(x, Ws, dout):
    """v[l] = Var(dL/dh_l), l = 0..K, for h_l = relu(h_(l-1) @ W_l), h_0 = x, dL/dh_K = dout."""
    zs, h = [], x
    for W in Ws:
        z = h @ W
        zs.append(z)
        h = np.maximum(z, 0.0)
    g = dout
    v = [np.var(g)]
    for W, z in zip(reversed(Ws), reversed(zs)):
        g = (g * (z > 0)) @ W.T
        v.append(np.var(g))
    return np.array(v[::-1])


def _variant(x, Ws, dout, mask):
    """The backward walk with another mask (``mask(g, z)``), for the bugs below."""
    zs, h = [], x
    for W in Ws:
        z = h @ W
        zs.append(z)
        h = np.maximum(z, 0.0)
    g = dout
    v = [np.var(g)]
    for W, z in zip(reversed(Ws), reversed(zs)):
        g = mask(g, z) @ W.T
        v.append(np.var(g))
    return np.array(v[::-1])


@checker
def gradient_variances(student_fn):
    """Check ``gradient_variances(x, Ws, dout) -> v`` for a ReLU stack without biases.

    h_0 = x (N, D_0); z_l = h_(l-1) @ Ws[l-1] with Ws[l-1] of shape (D_(l-1), D_l);
    h_l = relu(z_l), l = 1..K; dout = dL/dh_K (N, D_K). Return v, a float64 array of
    shape (K + 1,): v[l] = the variance (over all entries) of dL/dh_l, v[K] = Var(dout).
    Recognises: the ReLU's mask forgotten, the mask taken on the gradient, the list
    in the wrong order (output side first).
    """
    ex = Exercise(
        "gradient_variances",
        student_fn,
        returns="v",
        signature="gradient_variances(x, Ws, dout) -> v",
        formulas={"v": "v[l] = np.var(dL/dh_l) with dL/dh_(l-1) = (dL/dh_l * (z_l > 0)) @ W_l.T"},
        reference=_grad_variances,
    )
    stacks = [(16, [6, 9, 5, 7]), (12, [4, 8, 8, 8, 3]), (20, [5, 3]), (10, [7, 6, 9])]
    for seed, (N, widths) in enumerate(stacks):
        rng = np.random.default_rng(700 + seed)
        x = rng.normal(size=(N, widths[0]))
        Ws = [
            rng.normal(scale=math.sqrt(2.0 / a), size=(a, b))
            for a, b in zip(widths[:-1], widths[1:])
        ]
        dout = rng.normal(size=(N, widths[-1]))
        v = _grad_variances(x, Ws, dout)
        bugs = [
            Bug(
                "v matches a stack with no ReLU at all: on the way down, each ReLU passes the "
                "gradient only where its input z was positive",
                v=_variant(x, Ws, dout, lambda g, z: g),
            ),
            Bug(
                "you masked the gradient where the GRADIENT is positive; the ReLU's mask comes "
                "from its forward input z",
                v=_variant(x, Ws, dout, lambda g, z: g * (g > 0)),
            ),
            Bug(
                "v is in the wrong order: v[0] must be the input side (dL/dx) and v[K] the "
                "output side (Var(dout)); you listed them from the output down",
                v=v[::-1],
            ),
        ]
        ex.case(
            dict(x=x, Ws=Ws, dout=dout),
            v,
            bugs,
            alternatives={"dout": {"dout / N (a batch mean the loss does not have)": dout / N}},
        )
    ex.passed()
