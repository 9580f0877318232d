"""Weight initialisation: draw W of shape (fan_in, fan_out) with a variance chosen so signals keep their size.

Variance propagation. For one layer ``y = x @ W`` with independent zero-mean
weights and inputs, each output sums ``fan_in`` products, so

    Var(y) = fan_in * Var(W) * E[x^2].

Forward, the signal keeps its size when ``fan_in Var(W) = 1``; backward, the
gradient ``dx = dy @ W.T`` sums ``fan_out`` products and keeps its size when
``fan_out Var(W) = 1``.

- Glorot & Bengio (2010) compromise between the two for tanh/sigmoid-like
  units (linear near 0): ``Var(W) = 2 / (fan_in + fan_out)``.
- He et al. (2015): ReLU zeroes half its inputs, so ``E[relu(z)^2] = Var(z) / 2``,
  and the forward condition becomes ``Var(W) = 2 / fan_in``.

A uniform distribution on [-a, a] has variance a^2 / 3, so the uniform
versions use ``a = sqrt(3 Var(W))``: sqrt(6 / (fan_in + fan_out)) and sqrt(6 / fan_in).

Every function takes ``shape = (fan_in, fan_out)`` (bpkit's Linear stores W as
(in, out)) and ``rng`` (a Generator, an int seed, or None for seed 0), and
returns a float64 ndarray.
"""

import math

import numpy as np

from bpkit.random import as_generator

__all__ = ["he_normal", "he_uniform", "normal", "uniform", "xavier_normal", "xavier_uniform"]


def _fans(shape, name):
    """(fan_in, fan_out) from a 2-D shape of positive ints, or an error naming ``name``."""
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape)
        or min(shape) <= 0
    ):
        raise ValueError(
            f"{name}: shape must be (fan_in, fan_out), two positive ints, got {shape!r}"
        )
    return int(shape[0]), int(shape[1])


def _check_shape(shape, name):
    """Any shape of non-negative ints, as a tuple (for ``normal`` and ``uniform``)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ValueError(f"{name}: shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _check_gain(gain, name):
    if not (isinstance(gain, (int, float)) and gain > 0 and math.isfinite(gain)):
        raise ValueError(f"{name}: gain must be a positive number, got {gain!r}")
    return float(gain)


def xavier_uniform(shape, rng=None, gain=1.0):
    """W ~ U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)); Var(W) = gain^2 2 / (fan_in + fan_out).

    Glorot & Bengio (2010), their "normalized initialization". ``gain`` scales
    the standard deviation (e.g. 5/3 for tanh, as PyTorch's ``calculate_gain``).
    """
    fan_in, fan_out = _fans(shape, "xavier_uniform")
    limit = _check_gain(gain, "xavier_uniform") * math.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(rng).uniform(-limit, limit, size=(fan_in, fan_out))


def xavier_normal(shape, rng=None, gain=1.0):
    """W ~ N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _fans(shape, "xavier_normal")
    std = _check_gain(gain, "xavier_normal") * math.sqrt(2.0 / (fan_in + fan_out))
    return as_generator(rng).normal(0.0, std, size=(fan_in, fan_out))


def he_uniform(shape, rng=None):
    """W ~ U(-a, a), a = sqrt(6 / fan_in); Var(W) = 2 / fan_in (He et al. 2015, for ReLU)."""
    fan_in, fan_out = _fans(shape, "he_uniform")
    limit = math.sqrt(6.0 / fan_in)
    return as_generator(rng).uniform(-limit, limit, size=(fan_in, fan_out))


def he_normal(shape, rng=None):
    """W ~ N(0, 2 / fan_in) (He et al. 2015, for ReLU)."""
    fan_in, fan_out = _fans(shape, "he_normal")
    return as_generator(rng).normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def normal(shape, std, rng=None):
    """W ~ N(0, std^2): a fixed scale, e.g. the 0.01 that makes deep nets' signals vanish."""
    shape = _check_shape(shape, "normal")
    if not (isinstance(std, (int, float)) and std >= 0 and math.isfinite(std)):
        raise ValueError(f"normal: std must be a non-negative number, got {std!r}")
    return as_generator(rng).normal(0.0, float(std), size=shape)


def uniform(shape, bound, rng=None):
    """W ~ U(-bound, bound), e.g. Rumelhart, Hinton & Williams (1986) used bound = 0.3."""
    shape = _check_shape(shape, "uniform")
    if not (isinstance(bound, (int, float)) and bound >= 0 and math.isfinite(bound)):
        raise ValueError(f"uniform: bound must be a non-negative number, got {bound!r}")
    return as_generator(rng).uniform(-float(bound), float(bound), size=shape)
