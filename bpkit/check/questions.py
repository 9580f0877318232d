"""Predict, then run: short checked questions (a number, a shape, a multiple choice).

    from bpkit import check
    check.answer("q07_sigmoid_factor", 0.25)
    ✓ q07_sigmoid_factor: right. sigma'(0) = 1/4 is the largest ...

A wrong answer raises ``check.ExerciseFailed`` with a hint that points the way
without giving the answer; an answer of the wrong kind (text for a number, an
array for a shape) raises ``check.AnswerTypeError`` naming the question and what it
expects. Exercise sets add their own questions with ``register``::

    from bpkit.check.questions import Question, register
    register(Question("q09_bptt_steps", "How many ...?", "number", 12, tol=0,
                      wrong="Count ...", right="..."))
"""

import difflib
import math
import numbers

import numpy as np

from bpkit.check._core import ExerciseFailed

__all__ = ["AnswerTypeError", "Question", "QUESTIONS", "answer", "register"]

KINDS = ("number", "shape", "choice")


class AnswerTypeError(ExerciseFailed, TypeError):
    """The answer is not of the kind the question asks for (a number, a shape, a letter)."""


class Question:
    """One predict-then-run question.

    id: "q07_sigmoid_factor" (q, the lecture's number, a short name).
    prompt: the question, as the notebook asks it.
    kind: "number" (``expected`` a float; right within ``tol`` absolute or ``rel`` relative),
        "shape" (``expected`` a tuple of ints; a list is as good), or
        "choice" (``expected`` one letter of ``choices``, a dict letter -> text).
    wrong: shown after a wrong answer: a direction, never the answer.
    right: shown after a right answer: why it is right.
    """

    def __init__(self, id, prompt, kind, expected, wrong, right, tol=0.0, rel=0.0, choices=None):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if kind == "choice" and (not choices or expected not in choices):
            raise ValueError(f"{id}: a choice question needs choices that include {expected!r}")
        self.id, self.prompt, self.kind = id, prompt, kind
        self.expected = tuple(expected) if kind == "shape" else expected
        self.wrong, self.right = wrong, right
        self.tol, self.rel = tol, rel
        self.choices = dict(choices or {})

    def __repr__(self):
        return f"Question({self.id!r}, kind={self.kind!r})"

    # -- reading the answer --
    def _refuse(self, value, wanted):
        shown = repr(value) if not isinstance(value, np.ndarray) else f"an array {value.shape}"
        raise AnswerTypeError(
            f"{self.id}: this question expects {wanted}; you gave {type(value).__name__} {shown}"
        )

    def read(self, value):
        """The answer as a float, a tuple of ints or an upper-case letter; refuse the wrong kind."""
        if self.kind == "number":
            if isinstance(value, np.ndarray) and value.size == 1:
                value = value.item()
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
                self._refuse(value, "a number, e.g. 0.3 (not in quotes)")
            value = float(value)
            if not math.isfinite(value):
                self._refuse(value, "a finite number")
            return value
        if self.kind == "shape":
            if isinstance(value, np.ndarray):
                self._refuse(value, "a shape, a tuple of ints such as (4, 3): give x.shape, not x")
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                value = (value,)
            if not isinstance(value, (tuple, list)) or not all(
                isinstance(n, (numbers.Integral, np.integer)) and not isinstance(n, bool)
                for n in value
            ):
                self._refuse(value, "a shape, a tuple of ints such as (4, 3)")
            return tuple(int(n) for n in value)
        letters = ", ".join(self.choices)
        if not isinstance(value, str):
            self._refuse(value, f"one letter in quotes, one of {letters}")
        letter = value.strip().rstrip(").").strip().lower()
        if letter not in {k.lower() for k in self.choices}:
            self._refuse(value, f"one letter in quotes, one of {letters}")
        return next(k for k in self.choices if k.lower() == letter)

    def is_right(self, value):
        if self.kind == "number":
            allowed = max(self.tol, self.rel * abs(self.expected))
            return abs(value - self.expected) <= allowed
        return value == self.expected


#: id -> Question. Exercise sets and lectures add theirs with ``register``.
QUESTIONS = {}


def register(question):
    """Add (or replace) a question; returns it."""
    QUESTIONS[question.id] = question
    return question


def answer(question_id, value):
    """Check the answer ``value`` to question ``question_id``: print why on a right answer.

    A wrong answer raises ``ExerciseFailed`` with a hint (never the answer); an
    answer of the wrong kind raises ``AnswerTypeError`` (also an ``ExerciseFailed``).
    """
    question = QUESTIONS.get(question_id)
    if question is None:
        close = difflib.get_close_matches(str(question_id), QUESTIONS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"there is no question {question_id!r}{hint}")
    got = question.read(value)
    if not question.is_right(got):
        raise ExerciseFailed(f"{question.id}: not quite. {question.wrong}")
    print(f"✓ {question.id}: right. {question.right}")


# --- questions for the lectures ---------------------------------------------------------------
register(
    Question(
        "q02_reused_node",
        "b = a * a with a = Value(3.0); after b.backward(), what is a.grad?",
        "number",
        6.0,
        tol=1e-9,
        wrong="a feeds the product twice, once as each factor: each use sends back its own "
        "contribution, and .grad adds them up (+=, not =)",
        right="d(a*a)/da = 2a = 6: both uses of a contribute 3, and the contributions add",
    )
)
register(
    Question(
        "q03_linear_dW_shape",
        "out = x @ W + b with x of shape (32, 10) and W of shape (10, 5): what is dW.shape?",
        "shape",
        (10, 5),
        wrong="a gradient has the shape of the thing it is the gradient of; which array is dW "
        "the gradient of?",
        right="dW = x.T @ dout has W's shape (10, 5): (10, 32) @ (32, 5)",
    )
)
register(
    Question(
        "q04_fd_error_order",
        "Central differences (f(x+eps) - f(x-eps)) / (2 eps): the truncation error shrinks "
        "like eps to which power?",
        "number",
        2.0,
        tol=1e-9,
        wrong="write the Taylor series of f(x + eps) and f(x - eps) up to eps**3 and subtract: "
        "which terms cancel, and which is the first that survives the division by the step?",
        right="the eps**2 terms cancel in the difference: the error is f'''(x) eps**2 / 6, so "
        "halving eps divides it by 4 (until round-off, which grows like 1/eps, takes over)",
    )
)
register(
    Question(
        "q05_momentum_factor",
        "SGD with momentum beta = 0.9 under a constant gradient g: the step approaches "
        "lr * g times what factor?",
        "number",
        10.0,
        rel=1e-3,
        wrong="the velocity is a running sum v = beta v + g; with g constant it stops growing "
        "when v = beta v + g: solve for v",
        right="v settles at g / (1 - beta) = 10 g: momentum multiplies a steady step by "
        "1 / (1 - beta)",
    )
)
register(
    Question(
        "q06_softmax_rows",
        "Each row of softmax(logits, axis=1) - onehot(y) sums to: (a) 1, (b) 0, (c) N, (d) C",
        "choice",
        "b",
        choices={"a": "1", "b": "0", "c": "N", "d": "C"},
        wrong="a row of softmax probabilities sums to 1, and so does a row of the one-hot labels",
        right="1 - 1 = 0: the gradient only moves probability between classes",
    )
)
register(
    Question(
        "q07_sigmoid_factor",
        "What is the largest value of the sigmoid's derivative sigma'(z) = sigma(z)(1 - sigma(z))?",
        "number",
        0.25,
        tol=1e-3,
        wrong="sigma(z) runs between 0 and 1: for which p is p (1 - p) largest, and how large?",
        right="sigma'(0) = 1/2 * 1/2 = 1/4: each sigmoid layer multiplies the backward signal by "
        "at most |w| / 4",
    )
)
register(
    Question(
        "q08_clipped_step_bound",
        "SGD with lr = 0.1, momentum beta = 0.9 and gradients clipped to norm tau = 1: the "
        "largest possible step norm?",
        "number",
        1.0,
        rel=1e-3,
        wrong="clipping bounds each gradient, but momentum adds up velocities: the bound on the "
        "step is a geometric sum of beta",
        right="eta tau / (1 - beta) = 0.1 * 1 / 0.1 = 1: with momentum a clipped step can be "
        "1 / (1 - beta) times eta tau",
    )
)
