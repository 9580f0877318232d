"""Hypothesis strategies shared by the engine tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Values kept away from huge magnitudes: finite differences need |f| moderate.
floats = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.2, max_value=3.0)


def arrays(shape, elements=floats):
    return hnp.arrays(np.float64, shape, elements=elements)


broadcastable_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
