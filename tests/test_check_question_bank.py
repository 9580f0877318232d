"""The predict-then-run questions of the redesigned sets (bpkit/check/question_bank.py)."""

import re

import pytest

from bpkit import check
from bpkit.check.question_bank import SET_QUESTIONS
from bpkit.check.questions import QUESTIONS

ANSWERS = {
    "q07_relu_std_growth": 32.0,
    "q09_bptt_terms": 5,
    "q09_linear_decay": 0.5**10,
    "q04_lse_large": 1000.6931,
    "q11_best_segments": 16,
    "q11_block_runs": 128,
}


def test_every_set_question_is_registered_and_answered_here():
    assert {q.id for q in SET_QUESTIONS} == set(ANSWERS)
    for q in SET_QUESTIONS:
        assert QUESTIONS[q.id] is q


@pytest.mark.parametrize("qid", sorted(ANSWERS))
def test_right_answer_passes(qid, capsys):
    check.answer(qid, ANSWERS[qid])
    assert capsys.readouterr().out.startswith(f"✓ {qid}: right.")


def _forms(value):
    """The ways an answer could be written in a hint: 32, 32.0, 9.8e-4, 0.000977, 1000.693 ..."""
    forms = {f"{value:g}", f"{value:.3g}", f"{value:.2g}", f"{value:.1e}", f"{value:.2e}"}
    if float(value).is_integer():
        forms |= {str(int(value)), f"{value:.1f}"}
    else:
        forms |= {f"{value:.3f}", f"{value:.4f}", f"{value:.6f}"}
    return forms


@pytest.mark.parametrize("qid", sorted(ANSWERS))
def test_wrong_answer_fails_with_a_hint_that_does_not_give_the_answer(qid):
    question = QUESTIONS[qid]
    for form in _forms(question.expected):
        assert not re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", question.wrong), (qid, form)
    with pytest.raises(check.ExerciseFailed) as info:
        check.answer(qid, question.expected * 3 + 1)
    assert question.wrong in str(info.value)
    for form in _forms(question.expected):
        assert not re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", str(info.value)), form


def test_wrong_kind_of_answer_is_refused():
    with pytest.raises(check.AnswerTypeError):
        check.answer("q11_block_runs", "128")
