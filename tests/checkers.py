"""Helpers shared by the checker tests (tests/test_check*.py)."""

import pytest

from bpkit.check import ExerciseFailed

__all__ = ["assert_diagnosis", "assert_passes", "diagnosis"]


def assert_passes(checker, fn, capsys):
    """``checker(fn)`` accepts ``fn`` and prints exactly its one success line."""
    checker(fn)
    out = capsys.readouterr().out
    assert out.startswith(f"✓ {checker.__name__}: correct on "), out
    assert out.count("\n") == 1, out


def diagnosis(checker, fn):
    """The message of the ExerciseFailed that ``checker(fn)`` must raise."""
    with pytest.raises(ExerciseFailed) as info:
        checker(fn)
    return str(info.value)


def assert_diagnosis(checker, fn, fragments):
    """``checker(fn)`` fails with a message containing every one of ``fragments``."""
    message = diagnosis(checker, fn)
    for fragment in fragments:
        assert fragment in message, message
