"""Helpers shared by the checker tests (tests/test_check*.py)."""

import numpy as np
import pytest
from hypothesis import strategies as st

from bpkit import Tensor, Value
from bpkit.check import ExerciseFailed, reset_attempts

__all__ = ["GARBAGE", "assert_diagnosis", "assert_passes", "diagnosis"]


def assert_passes(checker, fn, capsys):
    """``checker(fn)`` accepts ``fn`` and prints exactly its one success line."""
    reset_attempts()
    checker(fn)
    out = capsys.readouterr().out
    assert out.startswith(f"✓ {checker.__name__}: correct on "), out
    assert out.count("\n") == 1, out


def diagnosis(checker, fn):
    """The message of the ExerciseFailed that ``checker(fn)`` must raise (a first attempt)."""
    reset_attempts()
    with pytest.raises(ExerciseFailed) as info:
        checker(fn)
    return str(info.value)


def assert_diagnosis(checker, fn, fragments):
    """``checker(fn)`` fails with a message containing every one of ``fragments``."""
    message = diagnosis(checker, fn)
    for fragment in fragments:
        assert fragment in message, message


# Answers of every wrong type and shape: a checker must turn each into ExerciseFailed, never crash.
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.just(Value(1.0)),
    st.just(Tensor(np.ones(3))),
    st.just({"dx": 1}),
    st.lists(st.floats(-1, 1), max_size=4),
    st.sampled_from(
        [
            np.zeros((2, 3), dtype=np.int64),
            np.array([1, "a"], dtype=object),
            np.full((4, 6), np.nan),
            np.full((4, 4), np.nan),
            np.ones((4, 6), dtype=np.float32),
            np.zeros(0),
            np.array(1.5),
            np.ones((6, 4)),
            1j,
        ]
    ),
)
