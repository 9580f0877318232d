"""Predict-then-run questions of the redesigned exercise sets (issue 10): ``check.answer``.

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
SET_QUESTIONS += [
    register(
        Question(
            "q09_bptt_terms",
            "A tanh RNN runs T = 6 steps from h0 = 0 (all zeros). dWh is a sum of one term per "
            "step: how many of those 6 terms can be nonzero?",
            "number",
            5.0,
            tol=1e-9,
            wrong="write the term of step t: which hidden state multiplies Wh in step t, and "
            "what is that state in the very first step?",
            right="step t contributes h_(t-1).T @ da_t; at t = 1 that is h0.T @ da_1 = 0, so only "
            "5 terms can be nonzero",
        )
    ),
    register(
        Question(
            "q09_linear_decay",
            "A tanh RNN in its linear regime (tiny inputs and states, so tanh' is about 1), with "
            "Wh = 0.5 * identity and a loss only at the last of T = 10 steps: about what is "
            "norm(dL/dh_0) / norm(dL/dh_10)?",
            "number",
            0.5**10,
            rel=0.05,
            wrong="each step back multiplies the gradient by tanh' (about 1 here) and by Wh.T; "
            "how many steps back are there from h_10 to h_0, and what does one of them do to "
            "the norm?",
            right="ten steps back, each multiplying by 0.5: 0.5**10 = 9.8e-4. The spectral radius "
            "of Wh (times tanh') is the per-step factor: below 1 the gradient vanishes "
            "geometrically",
        )
    ),
]
SET_QUESTIONS += [
    register(
        Question(
            "q04_lse_large",
            "logsumexp of the row [1000.0, 1000.0], i.e. log(exp(1000) + exp(1000)): what is it "
            "(to 3 decimals)?",
            "number",
            1000.0 + 0.6931471805599453,
            tol=1e-3,
            wrong="factor exp(1000) out of the sum: log(exp(c) * (...)) = c + log(...). What is "
            "left inside the log?",
            right="log(2 exp(1000)) = 1000 + log 2 = 1000.693, an ordinary number, although "
            "exp(1000) itself overflows float64 (largest about 1.8e308): a stable logsumexp "
            "shifts by the row max before exponentiating",
        )
    ),
]
SET_QUESTIONS += [
    register(
        Question(
            "q11_best_segments",
            "Checkpointing K = 64 blocks in k segments: each stored segment input is 1 array and "
            "each recorded block holds c = 4 arrays, so the peak is about Mem(k) = k + c K / k "
            "arrays. Which k makes it smallest?",
            "number",
            16.0,
            tol=1e-9,
            wrong="Mem(k) is the sum of a term that grows with k and one that shrinks with it: "
            "set its derivative in k to zero and solve (or try a few k and compare)",
            right="1 - cK/k**2 = 0 gives k = sqrt(cK) = sqrt(256) = 16, with Mem = 16 + 16 = 32 "
            "arrays against 256 without checkpointing",
        )
    ),
    register(
        Question(
            "q11_block_runs",
            "One training step (forward and backward) of 64 blocks cut into 8 checkpointed "
            "segments: how many forward runs of a block happen in all?",
            "number",
            128.0,
            tol=1e-9,
            wrong="count the forward pass first (every block once, no graph kept), then what the "
            "backward pass must do in each segment before it can back-propagate through it",
            right="64 in the forward pass plus 64 re-runs in the backward pass (each segment "
            "once): 128, one extra forward pass, whatever k is",
        )
    ),
]
