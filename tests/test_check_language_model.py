"""Set 14's checkers (bpkit/check/language_model.py): catalogue, unseen bugs, equivalent answers."""

import math

import numpy as np
import pytest

from bpkit import check
from bpkit.check import language_model as lm
from bpkit.check.questions import QUESTIONS
from bpkit.functional import layer_norm, scaled_dot_product_attention
from tests.checkers import assert_passes, diagnosis


def _emb(**kw):
    return lambda dout, ids, W: lm._embedding(dout, ids, W, **kw)


def _ln(**kw):
    return lambda dout, x, gamma, eps=1e-5: lm._layernorm(dout, x, gamma, eps, **kw)


def _att(bug=None):
    return lambda dout, q, k, v, causal=False: lm._attention(dout, q, k, v, causal, bug)


# --- the numpy references agree with bpkit's autograd ---------------------------------------
def test_numpy_references_agree_with_autograd():
    rng = np.random.default_rng(0)
    ids, W = rng.integers(0, 4, size=(3, 5)), rng.normal(size=(5, 2))
    dout = rng.normal(size=(3, 5, 2))
    (dW,) = lm._autograd(lambda t: lm.embedding(ids, t), dout, W)
    assert np.allclose(lm._embedding(dout, ids, W), dW, rtol=1e-12, atol=1e-14)

    x, g = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
    auto = lm._autograd(lambda a, b, c: layer_norm(a, b, c), g, x, gamma, beta)
    for mine, theirs in zip(lm._layernorm(g, x, gamma), auto):
        assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-12)

    for causal in (False, True):
        q, k = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
        v, g = rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 4))

        def attention(a, b, c):
            return scaled_dot_product_attention(a, b, c, causal=causal)

        auto = lm._autograd(attention, g, q, k, v)
        for mine, theirs in zip(lm._attention(g, q, k, v, causal), auto):
            assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-12)

    X, y = rng.integers(0, 6, size=(7, 3)), rng.integers(0, 6, size=7)
    shapes = dict(C=(6, 2), W1=(6, 4), b1=(4,), gamma=(4,), beta=(4,), W2=(4, 6), b2=(6,))
    params = {name: rng.normal(size=s) for name, s in shapes.items()}
    for mine, theirs in zip(lm._mlp(X, y, *params.values()), lm._mlp_autograd(X, y, params)):
        assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-12)


# --- correct answers, written differently, pass ---------------------------------------------------
def _onehot_embedding(dout, ids, W):
    onehot = (np.ravel(ids)[:, None] == np.arange(W.shape[0])).astype(np.float64)
    return onehot.T @ dout.reshape(-1, W.shape[1])


def _loop_embedding(dout, ids, W):
    dW = np.zeros_like(W)
    for position, row in np.ndenumerate(ids):
        dW[row] += dout[position]
    return dW


def _einsum_attention(dout, q, k, v, causal=False):
    d = q.shape[-1]
    S = np.einsum("...td,...sd->...ts", q, k) / math.sqrt(d)
    if causal:
        S = S + np.triu(np.full(S.shape[-2:], -np.inf), k=1)
    P = np.exp(S - S.max(-1, keepdims=True))
    P /= P.sum(-1, keepdims=True)
    dP = np.einsum("...tv,...sv->...ts", dout, v)
    dS = P * dP - P * np.einsum("...ts,...ts->...t", dP, P)[..., None]
    return (
        [np.einsum("...ts,...sd->...td", dS, k) / math.sqrt(d)]
        + [np.einsum("...ts,...td->...sd", dS, q) / math.sqrt(d)]
        + [np.einsum("...ts,...tv->...sv", P, dout)]
    )


def _layernorm_with_std(dout, x, gamma, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    s = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    xhat = (x - mu) / s
    M = x.shape[-1]
    ghat = dout * gamma
    coupled = ghat.sum(-1, keepdims=True) + xhat * (ghat * xhat).sum(-1, keepdims=True)
    dx = (M * ghat - coupled) / (M * s)
    flat = dout.reshape(-1, M)
    return dx, (flat * xhat.reshape(-1, M)).sum(0), flat.sum(0)


def test_equivalent_answers_pass(capsys):
    assert_passes(check.embedding_backward, lm._embedding_reference, capsys)
    assert_passes(check.embedding_backward, _onehot_embedding, capsys)
    assert_passes(check.embedding_backward, _loop_embedding, capsys)
    assert_passes(check.layernorm_backward, _ln(), capsys)
    assert_passes(check.layernorm_backward, _layernorm_with_std, capsys)
    assert_passes(check.attention_backward, _att(), capsys)
    assert_passes(check.attention_backward, _einsum_attention, capsys)  # a list, not a tuple
    assert_passes(check.mlp_lm_backward, lm._mlp_reference, capsys)

    def mlp_as_list(*args):
        return list(lm._mlp(*args))

    assert_passes(check.mlp_lm_backward, mlp_as_list, capsys)


# --- every catalogue bug is named ----------------------------------------------------------
@pytest.mark.parametrize(
    "bug, fragment",
    [("plus_equals", "the last write wins"), ("mean", "MEAN of their gradients")],
)
def test_embedding_catalogue(bug, fragment):
    message = diagnosis(check.embedding_backward, _emb(bug=bug))
    assert fragment in message, message


def test_embedding_assignment_is_the_same_bug():
    def assign(dout, ids, W):
        dW = np.zeros_like(W)
        dW[ids] = dout
        return dW

    assert "the last write wins" in diagnosis(check.embedding_backward, assign)


@pytest.mark.parametrize(
    "kw, fragment",
    [
        (dict(stats_axis=0), "normalised over the batch axis"),
        (dict(mean_axis=0), "means in your dx run over the batch axis"),
        (dict(paths=()), "as constants"),
        (dict(paths=("mu",)), "not the one through the variance"),
        (dict(paths=("var",)), "not the one through the mean"),
        (dict(unbiased=True), "unbiased variance"),
    ],
    ids=["batch-axis", "batch-axis-bwd", "constants", "no-var-path", "no-mean-path", "unbiased"],
)
def test_layernorm_catalogue(kw, fragment):
    message = diagnosis(check.layernorm_backward, _ln(**kw))
    assert fragment in message, message


def test_layernorm_catalogue_gamma_eps_and_leading_axes():
    no_gamma = lambda d, x, g, eps=1e-5: lm._layernorm(d, x, np.ones_like(g), eps)  # noqa: E731
    assert "does not contain gamma" in diagnosis(check.layernorm_backward, no_gamma)
    no_eps = lambda d, x, g, eps=1e-5: lm._layernorm(d, x, g)  # noqa: E731
    assert "ignored the eps argument" in diagnosis(check.layernorm_backward, no_eps)

    def first_axis_only(dout, x, gamma, eps=1e-5):
        dx, _, _ = lm._layernorm(dout, x, gamma, eps)
        centred = x - x.mean(-1, keepdims=True)
        xhat = centred / np.sqrt((centred**2).mean(-1, keepdims=True) + eps)
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)

    assert "summed over the first axis only" in diagnosis(check.layernorm_backward, first_axis_only)


@pytest.mark.parametrize(
    "bug, fragment",
    [
        ("no_scale", "not divided by sqrt(d)"),
        ("no_scale_backward", "but dq and dk do not"),
        ("scale_d", "divided by d itself"),
        ("mask_after", "AFTER the softmax"),
        ("mask_after_P", "AFTER the softmax"),
        ("diagonal", "only the diagonal of the softmax's Jacobian"),
        ("dk_no_transpose", "without transposing it"),
        ("dq_transpose", "TRANSPOSED score gradient"),
        ("dv_no_transpose", "weights untransposed"),
        ("no_mask", "without the mask"),
        ("dv_unmasked", "WITHOUT the causal mask"),
    ],
)
def test_attention_catalogue(bug, fragment):
    message = diagnosis(check.attention_backward, _att(bug))
    assert fragment in message, message


@pytest.mark.parametrize(
    "bug, fragment",
    [
        ("plus_equals", "keeps only one of the contributions"),
        ("ln_batch", "means in your LayerNorm backward run over the batch axis"),
        ("ln_batch_forward", "normalises over the batch axis"),
        ("sum_loss", "N times too large"),
        ("tanh_at_n", "tanh's INPUT n"),
        ("no_tanh", "derivative is missing"),
    ],
)
def test_mlp_catalogue_and_table(bug, fragment):
    message = diagnosis(check.mlp_lm_backward, lambda *a: lm._mlp(*a, bug=bug))
    assert fragment in message, message
    assert "gradient by gradient against Tensor autograd" in message
    table = message.split("gradient by gradient")[1]
    assert "WRONG" in table and table.count("\n") >= 7


def test_mlp_table_says_which_tensors_are_right():
    message = diagnosis(check.mlp_lm_backward, lambda *a: lm._mlp(*a, bug="plus_equals"))
    rows = message.split("gradient by gradient")[1].splitlines()[1:]
    lines = {line.split()[0]: line for line in rows}
    assert "WRONG" in lines["dC"]
    assert all("WRONG" not in lines[g] for g in ("dW1", "db1", "dgamma", "dbeta", "dW2", "db2"))


def _dgamma_with_x(dout, x, gamma, eps=1e-5):
    dx, _, dbeta = lm._layernorm(dout, x, gamma, eps)
    return dx, (dout * x).sum(axis=tuple(range(x.ndim - 1))), dbeta


# --- plausible bugs outside the catalogue get a specific explanation ------------------------
def _reordered(fn, order):
    def answer(*args, **kwargs):
        values = fn(*args, **kwargs)
        return tuple(values[j] for j in order)

    return answer


def _coupling_sign_flipped(dout, q, k, v, causal=False):
    """ds = P * (rowsum(dP * P) - dP): the softmax Jacobian with its sign flipped."""
    dq, dk, dv = lm._attention(dout, q, k, v, causal)
    return -dq, -dk, dv


@pytest.mark.parametrize(
    "which, fn, fragment",
    [
        # the embedding gradient divided by the batch size (a mean over the N sequences)
        ("emb", lambda d, i, W: lm._embedding(d, i, W) / i.shape[0], "divided by dout.shape[0]"),
        # the table itself added in (dW started from W, not from zeros)
        ("emb", lambda d, i, W: lm._embedding(d, i, W) + W, "(right answer) + W"),
        # LayerNorm: dgamma and dbeta swapped
        ("ln", _reordered(_ln(), (0, 2, 1)), "what dbeta should be"),
        # LayerNorm: dgamma with x where x-hat belongs
        ("ln", _dgamma_with_x, "x in place of xhat"),
        # attention: dq and dk returned in each other's slot
        ("att", _reordered(_att(), (1, 0, 2)), "what dk should be"),
        # attention: the softmax Jacobian's sign flipped
        ("att", _coupling_sign_flipped, "wrong sign"),
    ],
    ids=["emb-mean-over-batch", "emb-plus-W", "ln-slots", "ln-x-for-xhat", "att-slots", "att-sign"],
)
def test_unseen_bugs_get_a_specific_explanation(which, fn, fragment):
    """A relation the general engine finds (factor, extra term, slot, sign, substituted input)."""
    checkers = {
        "emb": check.embedding_backward,
        "ln": check.layernorm_backward,
        "att": check.attention_backward,
    }
    message = diagnosis(checkers[which], fn)
    assert fragment in message, message


def test_unseen_mlp_bugs_get_a_specific_explanation():
    def db2_mean(*args):
        grads = list(lm._mlp(*args))
        grads[6] = grads[6] / args[0].shape[0]
        return tuple(grads)

    message = diagnosis(check.mlp_lm_backward, db2_mean)
    assert "db2 is the right answer divided by" in message, message

    def slots(*args):
        grads = list(lm._mlp(*args))
        grads[3], grads[4] = grads[4], grads[3]
        return tuple(grads)

    assert "what dbeta should be" in diagnosis(check.mlp_lm_backward, slots)


# --- no reveal on the first failure, placeholders, mutation, the question -------------------
def test_first_failure_hides_the_formula():
    message = diagnosis(check.attention_backward, _att("diagonal"))
    assert "swapaxes" not in message and "rowsum" not in message and "the formula:" not in message
    message = diagnosis(check.embedding_backward, _emb(bug="plus_equals"))
    assert "add.at" not in message
    message = diagnosis(check.layernorm_backward, _ln(stats_axis=0))
    assert "ghat.mean" not in message and "the formula:" not in message


def test_placeholders_and_mutation():
    assert "placeholder" in diagnosis(check.embedding_backward, lambda d, i, W: np.zeros_like(W))
    def zeros(dout, q, k, v, causal=False):
        return np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)

    assert "placeholder" in diagnosis(check.attention_backward, zeros)

    def mutates(dout, x, gamma, eps=1e-5):
        x -= x.mean(axis=-1, keepdims=True)
        return lm._layernorm(dout, x, gamma, eps)

    assert "in place" in diagnosis(check.layernorm_backward, mutates)

    def returns_two(*args):
        return lm._mlp(*args)[:2]

    assert "returned 2 values" in diagnosis(check.mlp_lm_backward, returns_two)


def test_question_registered_and_wrong_text_hides_the_answer():
    question = QUESTIONS["q14_score_std"] if isinstance(QUESTIONS, dict) else None
    assert question is not None
    assert "8" not in question.wrong
    from bpkit.check import ExerciseFailed

    with pytest.raises(ExerciseFailed) as info:
        check.answer("q14_score_std", 64)
    assert "8" not in str(info.value).split("q14_score_std", 1)[1]
