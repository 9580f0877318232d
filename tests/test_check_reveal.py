"""Feedback that does not give the answer away at once (issue 10).

The first failure says what is wrong and where; the formula shows only from the
3rd failed attempt of the same exercise in the same kernel, on request
(``check.reveal(name)`` or ``reveal=True``), and never while grading
(env BPKIT_GRADING=1). A placeholder answer never earns the formula.
"""

import numpy as np
import pytest

from bpkit import check
from bpkit.check import ExerciseFailed, reset_attempts

FORMULA = "dout * (x > 0)"


def doubled(dout, x):
    return 2 * dout * (x > 0)


def _attempt(fn, **kwargs):
    with pytest.raises(ExerciseFailed) as info:
        check.relu_backward(fn, **kwargs)
    return str(info.value)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv("BPKIT_GRADING", raising=False)
    reset_attempts()
    yield
    reset_attempts()


def test_the_first_failure_names_the_mistake_but_not_the_formula():
    message = _attempt(doubled)
    assert "dx is 2 times the right answer" in message, message
    assert FORMULA not in message and "expected:" not in message, message
    assert 'check.reveal("relu_backward")' in message


def test_a_catalogue_message_loses_its_formula_too():
    message = _attempt(lambda dout, x: dout)  # forgot relu's derivative
    assert "you forgot relu's derivative" in message, message
    assert FORMULA not in message, message


def test_the_third_failure_shows_the_formula():
    first, second, third = (_attempt(doubled) for _ in range(3))
    assert FORMULA not in first and FORMULA not in second
    assert FORMULA in third, third


def test_attempts_count_per_exercise():
    _attempt(doubled)
    _attempt(doubled)
    with pytest.raises(ExerciseFailed) as info:
        check.sigmoid_backward(lambda dout, x: 2 * dout)
    assert "s * (1 - s)" not in str(info.value)


def test_reveal_on_request(capsys):
    check.reveal("relu_backward")
    out = capsys.readouterr().out
    assert "relu_backward" in out and FORMULA in out
    assert FORMULA in _attempt(doubled, reveal=True)


def test_reveal_of_an_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="no exercise called 'relu_forward'"):
        check.reveal("relu_forward")


def test_the_grader_never_reveals(monkeypatch, capsys):
    monkeypatch.setenv("BPKIT_GRADING", "1")
    for _ in range(4):
        message = _attempt(doubled, reveal=True)
        assert FORMULA not in message and "reveal" not in message, message
    assert "dx is 2 times the right answer" in message
    check.reveal("relu_backward")
    assert FORMULA not in capsys.readouterr().out


@pytest.mark.parametrize(
    "placeholder, says",
    [
        (lambda dout, x: np.zeros_like(x), "placeholder (all zeros)"),
        (lambda dout, x: np.full_like(x, 0.5), "placeholder (every entry 0.5)"),
        (lambda dout, x: x.copy(), "the input x itself"),
    ],
    ids=["zeros", "constant", "the input"],
)
def test_a_placeholder_never_gets_the_formula(placeholder, says):
    for _ in range(5):
        message = _attempt(placeholder)
        assert says in message, message
        assert FORMULA not in message, message


def test_the_formula_of_a_derivative_exercise_is_hidden_too():
    with pytest.raises(ExerciseFailed) as info:
        check.linear_backward(lambda dout, x, W, b: (dout @ W.T, x.T @ dout + W, dout.sum(0)))
    message = str(info.value)
    assert "dW = (right answer) + W" in message, message
    assert "x.T @ dout" not in message


def test_returning_an_input_unchanged_never_earns_the_formula_even_as_a_known_bug():
    for _ in range(4):
        message = _attempt(lambda dout, x: dout)  # "you forgot relu's derivative"
        assert "you forgot relu's derivative" in message and FORMULA not in message, message
