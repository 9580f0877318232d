"""Exercise checkers that diagnose the bug, not only report "wrong".

    from bpkit import check
    check.linear_backward(linear_backward)
    ✓ linear_backward: correct on 4 cases (dx, dW, db match to 1e-8)

Each ``check.<exercise>(student_fn)`` runs the learner's function on several
fixed-seed cases with non-square shapes (so a transpose cannot hide), on fresh
copies of the inputs and under a time limit, and either prints one line or
raises ``check.ExerciseFailed`` (an ``AssertionError``) whose message names the
most likely mistake, e.g.

    linear_backward: dW looks transposed: you returned shape (3, 5); dW must have W's shape (5, 3)

A wrong value is explained over every case (a known bug only if it explains all
of them, else a relation such as "dW = (right answer) + W" or "wrong exactly
where x < 0", see ``_explain.py``). The message names what is wrong and where,
not the formula: that shows from the 3rd failed attempt in the kernel, with
``check.reveal("linear_backward")`` or ``check.linear_backward(fn, reveal=True)``,
and never while grading (env BPKIT_GRADING=1).

A function that still raises ``NotImplementedError`` (an unanswered exercise)
gets a ``NotImplementedError`` back, so generated exercise notebooks stop only
on that. Every checker's docstring gives the exact signature it expects.
To add a checker, see ``bpkit/check/_core.py`` (``Exercise`` and ``Bug``).
"""

from bpkit.check._core import (  # noqa: F401 (helpers beside the checkers, see below)
    ExerciseFailed,
    formulas,
    grading,
    reset_attempts,
    reveal,
)
from bpkit.check.calculus import (
    derivative,
    dual_mul,
    dual_number,
    gradcheck_worst,
    jacobian,
    numerical_gradient,
)
from bpkit.check.classifier import accuracy, confusion_matrix, minibatches, two_layer_backward
from bpkit.check.graphs import (
    topological_sort,
    value_backward,
    value_mul_backward,
    value_tanh_backward,
)
from bpkit.check.questions import AnswerTypeError, answer  # noqa: F401
from bpkit.check.landscapes import (
    classify_critical_point,
    filter_normalize,
    gradient_descent_restarts,
    interpolate_losses,
    numerical_hessian,
)
from bpkit.check.layers import (
    batchnorm_backward,
    linear_backward,
    mse_backward,
    relu_backward,
    rnn_step_backward,
    sigmoid_backward,
    softmax_cross_entropy_backward,
    tanh_backward,
    unbroadcast,
)
from bpkit.check.training import (
    adam_step,
    clip_grad_norm,
    he_std,
    rmsprop_step,
    sgd_momentum_step,
    xavier_std,
)

# issue 10 redesigned sets (07, 09, 04, 11, 02): new checkers, and the questions they register
from bpkit.check import question_bank  # noqa: F401, E402 (registers the sets' questions)
from bpkit.check.custom_ops import logsumexp_op  # noqa: E402
from bpkit.check.memory import checkpoint_segment  # noqa: E402
from bpkit.check.scalar_ops import value_div  # noqa: E402
from bpkit.check.sequences import rnn_bptt  # noqa: E402
from bpkit.check.variance import gradient_variances, variance_factor  # noqa: E402

# issue 12 set (14): the capstone's backward passes, and its question q14_score_std
from bpkit.check.language_model import (  # noqa: E402
    attention_backward,
    embedding_backward,
    layernorm_backward,
    mlp_lm_backward,
)

# issue 11 set (13): convolution and pooling, and the questions q13_conv_out_shape, q13_receptive_field
from bpkit.check.convolution import (  # noqa: E402
    conv2d_backward,
    conv2d_forward_naive,
    conv2d_input_grad,
    max_pool_backward,
)

# issue 10, second round: each set's new checkers (and the questions their modules register)
# -- set 01 imports --
# -- set 03 imports --
# -- set 05 imports --
# -- set 06 imports --
# -- set 08 imports --
# -- set 10 imports --
# -- set 09 LSTM (issue 11) imports --
from bpkit.check.sequences import lstm_step_backward  # noqa: E402

# Helpers beside the checkers (not in __all__, which lists ExerciseFailed and the checkers):
# check.reveal("name") prints an exercise's formula, check.reset_attempts() hides it again,
# check.answer("q07_sigmoid_factor", 0.25) checks a predict-then-run question
# (bpkit/check/questions.py holds them; AnswerTypeError: an answer of the wrong kind).
__all__ = [
    "ExerciseFailed",
    # lecture 1 and 11: derivatives by hand
    "derivative",
    "numerical_gradient",
    "jacobian",
    "gradcheck_worst",
    "dual_mul",
    "dual_number",
    # lecture 2: the scalar engine
    "value_mul_backward",
    "value_tanh_backward",
    "topological_sort",
    "value_backward",
    # lectures 3, 4, 8, 9: layers and losses
    "linear_backward",
    "relu_backward",
    "sigmoid_backward",
    "tanh_backward",
    "softmax_cross_entropy_backward",
    "mse_backward",
    "unbroadcast",
    "batchnorm_backward",
    "rnn_step_backward",
    # lectures 5 and 8: training
    "sgd_momentum_step",
    "rmsprop_step",
    "adam_step",
    "xavier_std",
    "he_std",
    "clip_grad_norm",
    # lecture 6: training a classifier
    "accuracy",
    "confusion_matrix",
    "minibatches",
    "two_layer_backward",
    # lecture 10: landscapes
    "classify_critical_point",
    "numerical_hessian",
    "gradient_descent_restarts",
    "interpolate_losses",
    "filter_normalize",
    # issue 10 redesigned sets
    "variance_factor",
    "gradient_variances",
    "rnn_bptt",
    "logsumexp_op",
    "checkpoint_segment",
    "value_div",
    # issue 12 set (14)
    "embedding_backward",
    "layernorm_backward",
    "attention_backward",
    "mlp_lm_backward",
    # issue 11 set (13)
    "conv2d_forward_naive",
    "max_pool_backward",
    "conv2d_backward",
    "conv2d_input_grad",
    # issue 10, second round (each set adds its names under its own line)
    # set 01
    # set 03
    # set 05
    # set 06
    # set 08
    # set 10
    # set 09 LSTM (issue 11)
    "lstm_step_backward",
]
