"""check.answer: predict-then-run questions (a number, a shape, a multiple choice)."""

import numpy as np
import pytest

from bpkit import check
from bpkit.check import AnswerTypeError, ExerciseFailed
from bpkit.check.questions import QUESTIONS, Question, register


def test_a_right_number_prints_why(capsys):
    check.answer("q07_sigmoid_factor", 0.25)
    out = capsys.readouterr().out
    assert out.startswith("✓ q07_sigmoid_factor: right. ") and out.count("\n") == 1


def test_a_number_within_its_tolerance_is_right(capsys):
    check.answer("q07_sigmoid_factor", 0.2504)
    check.answer("q07_sigmoid_factor", np.float64(0.25))
    check.answer("q04_fd_error_order", 2)  # an int for a float
    check.answer("q05_momentum_factor", 10.005)  # relative 1e-3
    assert capsys.readouterr().out.count("✓") == 4


@pytest.mark.parametrize("value", [0.5, 0.26, 1.0])
def test_a_wrong_number_gets_a_hint_not_the_answer(value):
    with pytest.raises(ExerciseFailed) as info:
        check.answer("q07_sigmoid_factor", value)
    message = str(info.value)
    assert message.startswith("q07_sigmoid_factor: not quite.")
    assert "0.25" not in message and "1/4" not in message


def test_a_shape_as_tuple_or_list(capsys):
    check.answer("q03_linear_dW_shape", (10, 5))
    check.answer("q03_linear_dW_shape", [10, 5])
    assert capsys.readouterr().out.count("✓") == 2
    with pytest.raises(ExerciseFailed, match="not quite"):
        check.answer("q03_linear_dW_shape", (5, 10))


def test_a_multiple_choice_letter_in_any_case(capsys):
    for value in ("b", "B", " b) "):
        check.answer("q06_softmax_rows", value)
    assert capsys.readouterr().out.count("✓") == 3
    with pytest.raises(ExerciseFailed, match="not quite"):
        check.answer("q06_softmax_rows", "a")


@pytest.mark.parametrize(
    "question, value, says",
    [
        ("q07_sigmoid_factor", "0.25", "expects a number"),
        ("q07_sigmoid_factor", None, "expects a number"),
        ("q07_sigmoid_factor", True, "expects a number"),
        ("q07_sigmoid_factor", float("nan"), "finite"),
        ("q03_linear_dW_shape", np.zeros((10, 5)), "give x.shape, not x"),
        ("q03_linear_dW_shape", "(10, 5)", "a tuple of ints"),
        ("q03_linear_dW_shape", (10.0, 5.0), "a tuple of ints"),
        ("q06_softmax_rows", 2, "one letter in quotes"),
        ("q06_softmax_rows", "e", "one of a, b, c, d"),
    ],
)
def test_an_answer_of_the_wrong_kind_is_a_clear_error_naming_the_question(question, value, says):
    with pytest.raises(AnswerTypeError) as info:
        check.answer(question, value)
    assert str(info.value).startswith(f"{question}: this question expects")
    assert says in str(info.value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ExerciseFailed)


def test_an_unknown_question_suggests_the_nearest():
    with pytest.raises(ValueError, match="did you mean 'q07_sigmoid_factor'"):
        check.answer("q07_sigmoid_factr", 0.25)


def test_sets_register_their_own_questions(capsys):
    register(Question("q99_test", "2 + 2?", "number", 4, wrong="add", right="4", tol=0))
    try:
        check.answer("q99_test", 4)
        assert "✓ q99_test" in capsys.readouterr().out
    finally:
        del QUESTIONS["q99_test"]


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_no_hint_gives_the_answer_away(question):
    q = QUESTIONS[question]
    if q.kind == "number":
        assert f"{q.expected:g}" not in q.wrong, q.wrong
    elif q.kind == "shape":
        assert str(q.expected) not in q.wrong, q.wrong
    assert q.prompt and q.right
