"""Hypothesis strategies shared by the engine tests (and anyone testing code built on them).

Values stay moderate on purpose: central differences in float64 are accurate
to ~1e-10 only while |f| and its curvature are moderate, so gradient tests
draw from ``floats``; tests of numerical stability draw from ``extreme_logits``.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "arrays",
    "away_from_zero",
    "broadcastable_pairs",
    "extreme_logits",
    "floats",
    "logits_and_targets",
    "positive",
    "shape_and_axis",
    "shapes",
]

floats = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.2, max_value=3.0)
# Divisors: |b| >= 0.5 keeps a / b and its derivative -a / b^2 moderate.
away_from_zero = st.one_of(
    st.floats(min_value=0.5, max_value=3.0), st.floats(min_value=-3.0, max_value=-0.5)
)


def arrays(shape, elements=floats, unique=False):
    """float64 arrays of ``shape`` (a tuple or a strategy of tuples)."""
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)

# Pairs of shapes numpy can broadcast together, including 0-d, size-1 and missing leading axes.
broadcastable_pairs = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=3, max_side=4
)


@st.composite
def shape_and_axis(draw, min_dims=1, max_dims=3):
    """A shape and an ``axis`` for it: None, an int or a tuple, negative entries allowed."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    # Write some axes as negative numbers: -1 and ndim - 1 must mean the same axis.
    return shape, tuple(ax - ndim if draw(st.booleans()) else ax for ax in axes)


# Logits a softmax must survive: huge of either sign, tiny, and ordinary, mixed in one row.
extreme_logits = st.one_of(
    st.sampled_from([1e4, -1e4, 1e300, -1e300, 0.0, 700.0, -745.0, 1e-300]),
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False),
)


@st.composite
def logits_and_targets(draw, elements=extreme_logits, max_n=5, max_c=5):
    """(logits of shape (N, C), int targets of shape (N,)) for cross-entropy tests."""
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(1, max_c))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=elements))
    targets = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, targets
