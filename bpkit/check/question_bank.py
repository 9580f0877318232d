"""Predict-then-run questions of the redesigned exercise sets (issue 10): ``check.answer(id, value)``.

Each set registers its questions here with ``register(Question(...))``; a question's
``wrong`` text points the way and never contains the answer (tests/test_check_question_bank.py
checks that).
"""

from bpkit.check.questions import Question, register

__all__ = ["SET_QUESTIONS"]

SET_QUESTIONS = [
    register(
        Question(
            "q07_relu_std_growth",
            "A stack of 10 ReLU layers, each with fan_in = 100 and weights of std 0.2 (no "
            "biases): by what factor does the STANDARD DEVIATION of z grow from layer 1 to "
            "layer 11, i.e. over 10 layers?",
            "number",
            32.0,
            rel=0.02,
            wrong="first the variance factor of one layer, fan_in * Var(w) * (the part of "
            "Var(z) that relu keeps); the variance multiplies by it once per layer, and a "
            "standard deviation is the square root of a variance",
            right="one layer multiplies Var(z) by 100 * 0.04 / 2 = 2, ten layers by 2**10 = 1024, "
            "so the std grows by sqrt(1024) = 32",
        )
    ),
]
