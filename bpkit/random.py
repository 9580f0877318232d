"""Seeds in, generators out: every bpkit function that draws random numbers takes ``rng``."""

import numpy as np

__all__ = ["as_generator"]


def as_generator(rng=None):
    """Return a ``np.random.Generator`` from a Generator (as is), an int seed, or None (seed 0).

    None gives seed 0 rather than fresh entropy on purpose: notebooks must be
    deterministic, so forgetting a seed should not make a run unrepeatable.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
