"""Checkers for set 14 (lecture 14, the capstone): the backward passes of a character-level LM.

``embedding_backward`` (the scatter-add, ids of any shape), ``layernorm_backward``
(statistics over the last axis, inputs of any rank), ``attention_backward``
(dq, dk, dv of softmax(q k^T / sqrt(d) [+ causal mask]) v; the hardest exercise)
and ``mlp_lm_backward`` (the whole stage-1 model, every parameter's gradient,
reported tensor by tensor: exact / close / wrong). The right answers come from
``bpkit.functional``'s ops under ``Tensor`` autograd; the bugs of each catalogue
are numpy versions of the classic mistakes (``_attention(..., bug=True)`` etc.),
so that a diagnosis names the mistake that explains every case.
The predict-then-run question of the set is registered here too (``q14_score_std``).
"""

import math

import numpy as np

from bpkit.check._core import Bug, Exercise, ExerciseFailed, checker
from bpkit.check.questions import Question, register
from bpkit.functional import cross_entropy, embedding, layer_norm, scaled_dot_product_attention
from bpkit.tensor import Tensor

__all__ = ["embedding_backward", "layernorm_backward", "attention_backward", "mlp_lm_backward"]

QUESTIONS = [
    register(
        Question(
            "q14_score_std",
            "q and k are vectors of d = 64 independent entries, each of mean 0 and variance 1. "
            "What is std(q . k), the spread of one UNSCALED attention score?",
            "number",
            8.0,
            rel=0.02,
            wrong="q . k is a sum of d products q_i k_i: what is the variance of one product of "
            "two independent unit-variance numbers, what does adding d independent terms do to "
            "a variance, and how does a standard deviation follow from a variance?",
            right="each product has variance 1, the sum of 64 of them variance 64, so "
            "std(q . k) = sqrt(64) = 8: dividing the scores by sqrt(d) brings the spread back to 1",
        )
    ),
]


def _autograd(forward, dout, *arrays):
    """The gradients of sum(forward(*tensors) * dout) w.r.t. each array, by Tensor autograd."""
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    (forward(*tensors) * dout).sum().backward()
    return tuple(t.grad for t in tensors)


# --- embedding ------------------------------------------------------------------------------------
def _embedding(dout, ids, W, bug=None):
    """dW of out = W[ids]; bug "plus_equals" (dW[ids] += dout), "mean" (repeats averaged)."""
    dW = np.zeros_like(W, dtype=np.float64)
    if bug == "plus_equals":
        dW[ids] += dout
        return dW
    np.add.at(dW, ids, dout)
    if bug == "mean":
        counts = np.bincount(np.ravel(ids), minlength=W.shape[0]).astype(np.float64)
        dW = dW / np.maximum(counts, 1.0)[:, None]
    return dW


def _embedding_reference(dout, ids, W):
    return _embedding(dout, ids, W)


@checker
def embedding_backward(student_fn):
    """Check ``embedding_backward(dout, ids, W) -> dW``.

    Forward: out = W[ids], W (V, E), ids an int array of any shape, out ids.shape + (E,).
    dout has the shape of out. Return dW (V, E), float64.
    Recognises: ``dW[ids] += dout`` (or ``dW[ids] = dout``), which keeps one write per
    repeated id; the repeats averaged instead of summed.
    """
    ex = Exercise(
        "embedding_backward",
        student_fn,
        returns="dW",
        signature="embedding_backward(dout, ids, W) -> dW",
        like={"dW": "W"},
        formulas={"dW": "dW = zeros_like(W); np.add.at(dW, ids, dout)"},
        reference=_embedding_reference,
    )
    shapes = [((7,), 5, 3), ((4, 3), 6, 2), ((2, 3, 2), 4, 5), ((5,), 9, 4), ((3, 4), 3, 6)]
    for seed, (id_shape, V, E) in enumerate(shapes):
        rng = np.random.default_rng(1400 + seed)
        if seed == 3:  # no repeated id: here the fancy-index += gives the right answer
            ids = rng.permutation(V)[: id_shape[0]]
        else:
            ids = rng.integers(0, V - 1, size=id_shape)  # the last row is never looked up
            ids.flat[1] = ids.flat[0]  # at least one repeat
        W = rng.normal(size=(V, E))
        dout = rng.normal(size=id_shape + (E,))
        (dW,) = _autograd(lambda w: embedding(ids, w), dout, W)
        bugs = [
            Bug(
                "rows of dW whose id occurs more than once in ids hold only ONE of their "
                "gradients: `dW[ids] += dout` (like `dW[ids] = dout`) reads all the rows first "
                "and then writes them back one after the other, so for a repeated id the last "
                "write wins and the other contributions are lost, without any error. Every "
                "lookup of a row must ADD to it: numpy has an unbuffered add for this",
                dW=_embedding(dout, ids, W, bug="plus_equals"),
            ),
            Bug(
                "the rows of dW whose id repeats are the MEAN of their gradients: every lookup "
                "of a row contributes to the loss on its own, so the contributions add up "
                "(do not divide by how often the id occurs)",
                dW=_embedding(dout, ids, W, bug="mean"),
            ),
        ]
        ex.case(dict(dout=dout, ids=ids, W=W), dict(dW=dW), bugs)
    ex.passed()


# --- LayerNorm ------------------------------------------------------------------------------------
def _layernorm(
    dout, x, gamma, eps=1e-5, stats_axis=-1, mean_axis=None, paths=("mu", "var"), unbiased=False
):
    """(dx, dgamma, dbeta) of LayerNorm over the last axis; the keywords switch on bugs.

    stats_axis=0: the forward statistics over the batch axis (BatchNorm); mean_axis=0: the
    backward's means over the batch axis; paths: which of the two indirect paths dx keeps;
    unbiased: the variance divided by M - 1.
    """
    mean_axis = stats_axis if mean_axis is None else mean_axis
    centred = x - x.mean(axis=stats_axis, keepdims=True)
    ddof = 1 if unbiased else 0
    var = (centred**2).sum(axis=stats_axis, keepdims=True) / (x.shape[stats_axis] - ddof)
    inv_s = 1.0 / np.sqrt(var + eps)
    xhat = centred * inv_s
    ghat = dout * gamma
    dx = ghat
    if "mu" in paths:
        dx = dx - ghat.mean(axis=mean_axis, keepdims=True)
    if "var" in paths:
        through_var = (ghat * xhat).sum(axis=mean_axis, keepdims=True) / (x.shape[mean_axis] - ddof)
        dx = dx - xhat * through_var
    lead = tuple(range(x.ndim - 1))
    return inv_s * dx, (dout * xhat).sum(axis=lead), dout.sum(axis=lead)


def _layernorm_named(dout, x, gamma, eps=1e-5, xhat=None):
    """The reference as a dict; ``xhat`` replaces x-hat in dgamma (to test "x for x-hat")."""
    named = dict(zip(("dx", "dgamma", "dbeta"), _layernorm(dout, x, gamma, eps)))
    if xhat is not None:
        named["dgamma"] = (dout * xhat).sum(axis=tuple(range(x.ndim - 1)))
    return named


@checker
def layernorm_backward(student_fn):
    """Check ``layernorm_backward(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta)``.

    Forward: per row of the LAST axis, x_hat = (x - mean) / sqrt(var + eps) (biased var),
    out = gamma * x_hat + beta. x (..., M) of any rank >= 2, gamma (M,), dout like x.
    Return dx like x, dgamma (M,), dbeta (M,).
    Recognises: statistics over the batch axis (BatchNorm) in the forward or in the
    backward's means, mean and variance treated as constants, one path missing, gamma
    forgotten, dgamma/dbeta summed over the first axis only, eps ignored.
    """
    ex = Exercise(
        "layernorm_backward",
        student_fn,
        returns=("dx", "dgamma", "dbeta"),
        signature="layernorm_backward(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta)",
        like={"dx": "x", "dgamma": "gamma", "dbeta": "gamma"},
        formulas={
            "dx": "ghat = dout * gamma; dx = (ghat - ghat.mean(-1) - xhat * (ghat * "
            "xhat).mean(-1)) / sqrt(var + eps), means over the last axis (keepdims)",
            "dgamma": "dgamma = (dout * xhat) summed over every axis but the last",
            "dbeta": "dbeta = dout summed over every axis but the last",
        },
        reference=_layernorm_named,
    )
    for seed, (shape, eps) in enumerate([((6, 5), None), ((4, 7), 1e-2), ((3, 4, 6), None)]):
        rng = np.random.default_rng(1410 + seed)
        x = 1.0 + 2.0 * rng.normal(size=shape)
        gamma = rng.uniform(0.5, 1.5, size=shape[-1])
        beta = rng.normal(size=shape[-1])
        dout = rng.normal(size=shape)
        used = 1e-5 if eps is None else eps
        dx, dgamma, dbeta = _autograd(
            lambda xt, gt, bt: layer_norm(xt, gt, bt, eps=used), dout, x, gamma, beta
        )
        batch_fwd = _layernorm(dout, x, gamma, used, stats_axis=0)
        batch_bwd = _layernorm(dout, x, gamma, used, mean_axis=0)
        centred = x - x.mean(axis=-1, keepdims=True)
        xhat = centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + used)
        bugs = [
            Bug(
                "you normalised over the batch axis (axis 0), as BatchNorm does: LayerNorm "
                "takes the mean and variance of each example over its own features, the last "
                "axis, so one example never sees the others",
                dx=batch_fwd[0],
                dgamma=batch_fwd[1],
            ),
            Bug(
                "the forward statistics are right (each row over its features), but the two "
                "means in your dx run over the batch axis, as in BatchNorm's backward: the "
                "mean and variance that x_hat used are those of each row, so the gradient "
                "through them is a mean over the same features",
                dx=batch_bwd[0],
            ),
            Bug(
                "you treated the mean and the variance as constants: dx has only the direct "
                "path. Each entry of a row also moves that row's mean and variance, and every "
                "x_hat of the row depends on those",
                dx=_layernorm(dout, x, gamma, used, paths=())[0],
            ),
            Bug(
                "dx has the path through the mean but not the one through the variance: the "
                "row's variance depends on every entry of the row too",
                dx=_layernorm(dout, x, gamma, used, paths=("mu",))[0],
            ),
            Bug(
                "dx has the path through the variance but not the one through the mean: the "
                "row's mean depends on every entry of the row too",
                dx=_layernorm(dout, x, gamma, used, paths=("var",))[0],
            ),
            Bug(
                "you used the unbiased variance (dividing by M - 1): LayerNorm normalises with "
                "the biased variance of each row, divided by its M features (np.var's default)",
                **dict(zip(("dx", "dgamma"), _layernorm(dout, x, gamma, used, unbiased=True)[:2])),
            ),
            Bug(
                "dx does not contain gamma: out = gamma * x_hat + beta, so the gradient that "
                "reaches x_hat is scaled by gamma, feature by feature",
                dx=_layernorm(dout, x, np.ones_like(gamma), used)[0],
            ),
        ]
        if x.ndim > 2:
            bugs += [
                Bug(
                    f"dgamma has shape {x.shape[1:]}: it is summed over the first axis only. "
                    "x here has more than one leading axis (sequences and positions), and every "
                    "position of every sequence uses the same gamma",
                    dgamma=(dout * xhat).sum(axis=0),
                ),
                Bug(
                    f"dbeta has shape {x.shape[1:]}: it is summed over the first axis only; "
                    "every position of every sequence uses the same beta",
                    dbeta=dout.sum(axis=0),
                ),
            ]
        if eps is not None:
            ignored = _layernorm(dout, x, gamma, 1e-5)
            bugs.append(
                Bug(
                    f"you ignored the eps argument (this case passes eps={eps:g}; you used 1e-5)",
                    dx=ignored[0],
                    dgamma=ignored[1],
                )
            )
        ex.case(
            dict(dout=dout, x=x, gamma=gamma),
            dict(dx=dx, dgamma=dgamma, dbeta=dbeta),
            bugs,
            kwargs={} if eps is None else {"eps": eps},
            alternatives={"xhat": {"x": x}},
        )
    ex.passed()


# --- attention ------------------------------------------------------------------------------------
def _softmax(S):
    e = np.exp(S - S.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _attention(dout, q, k, v, causal=False, bug=None):
    """(dq, dk, dv) of O = softmax(q k^T / sqrt(d) [+ mask]) v; ``bug`` names a classic mistake.

    "no_scale": no 1/sqrt(d) anywhere; "scale_d": the scores divided by d;
    "no_scale_backward": scaled forward, unscaled dq, dk;
    "mask_after": the causal mask applied to the weights after the softmax (no -inf);
    "mask_after_P": the same, with the masked weights in the softmax Jacobian;
    "diagonal": the softmax Jacobian's diagonal only; "dk_no_transpose": dk = dS @ q;
    "dq_transpose": dq = dS^T @ k; "dv_no_transpose": dv = P @ dout; "no_mask": causal ignored;
    "dv_unmasked": dv from the weights without the mask (dq, dk right).
    """
    d = q.shape[-1]
    scale = {"no_scale": 1.0, "scale_d": 1.0 / d}.get(bug, 1.0 / math.sqrt(d))
    S = q @ k.swapaxes(-1, -2) * scale
    T, Sk = S.shape[-2:]
    future = np.triu(np.ones((T, Sk), dtype=bool), k=1)
    masked = causal and bug != "no_mask"
    if masked and bug in ("mask_after", "mask_after_P"):
        P_full = _softmax(S)
        P = np.where(future, 0.0, P_full)
    else:
        P = _softmax(np.where(future, -np.inf, S) if masked else S)
        P_full = P
    dv = (P @ dout) if bug == "dv_no_transpose" else P.swapaxes(-1, -2) @ dout
    if bug == "dv_unmasked":
        dv = _softmax(S).swapaxes(-1, -2) @ dout
    dP = dout @ v.swapaxes(-1, -2)
    if bug == "mask_after":
        dP = np.where(future, 0.0, dP)
        dS = P_full * (dP - (dP * P_full).sum(axis=-1, keepdims=True))
    elif bug == "diagonal":
        dS = P * (1.0 - P) * dP
    else:
        dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))
    back = 1.0 if bug == "no_scale_backward" else scale
    dq = (dS.swapaxes(-1, -2) @ k if bug == "dq_transpose" else dS @ k) * back
    dk = (dS @ q if bug == "dk_no_transpose" else dS.swapaxes(-1, -2) @ q) * back
    return dq, dk, dv


def _attention_named(dout, q, k, v, causal=False):
    return dict(zip(("dq", "dk", "dv"), _attention(dout, q, k, v, causal)))


_ATTENTION_BUGS = {
    "no_scale": "the scores are not divided by sqrt(d) (in the forward or the backward): the "
    "scale multiplies q k^T, so it belongs in the weights P AND in the gradients that reach q "
    "and k through the scores",
    "scale_d": "the scores are divided by d itself: the spread of q . k grows like the "
    "square root of d, and the scale is meant to undo exactly that",
    "no_scale_backward": "your weights use the scale 1/sqrt(d), but dq and dk do not: the "
    "scores are (q k^T) times that scale, so the chain rule brings the same factor to every "
    "gradient that passes through them back to q and k",
    "mask_after": "the causal mask is applied to the weights AFTER the softmax: the rows of P "
    "then no longer sum to 1 and the masked scores still take part in each row's softmax. The "
    "mask belongs on the scores, before the softmax (a score of -inf gives a weight of 0)",
    "diagonal": "dq and dk use only the diagonal of the softmax's Jacobian (each weight as if "
    "it depended on its own score alone): every weight of a row depends on every score of "
    "the row through the shared normalisation, so ds gets a second term, the same for the "
    "whole row",
    "dk_no_transpose": "dk is built from the score gradient without transposing it: key j "
    "enters COLUMN j of the scores (score[t, j] = q_t . k_j), so dk collects the columns of "
    "ds, not its rows; T = S here, so the shapes could not tell",
    "dq_transpose": "dq is built from the TRANSPOSED score gradient: query t enters ROW t of "
    "the scores, so dq collects the rows of ds (keys collect the columns)",
    "dv_no_transpose": "dv multiplies dout by the weights untransposed: value j is used by "
    "every query t with weight P[t, j], so dv[j] sums column j of P times dout",
    "dv_unmasked": "dq and dk are right, but dv is computed from weights WITHOUT the causal "
    "mask: the values a query may not see get no weight in the forward pass, so they get no "
    "gradient from that query either",
    "no_mask": "with causal=True your gradients are those of attention without the mask: "
    "query t may only see keys 0..t, so its weights on the later keys are exactly 0 (and "
    "pass no gradient)",
}


@checker
def attention_backward(student_fn):
    """Check ``attention_backward(dout, q, k, v, causal=False) -> (dq, dk, dv)``.

    Forward: O = softmax(q k^T / sqrt(d) [+ causal mask: -inf above the diagonal]) v over
    the last two axes, q and k (..., T, d), v (..., T, dv), any leading axes; dout like O.
    Return dq, dk, dv shaped like q, k, v. ``causal`` is passed by keyword.
    Recognises: the 1/sqrt(d) missing (everywhere, or in the backward only) or 1/d, the mask
    applied after the softmax, the softmax Jacobian's diagonal only, the score gradient not
    transposed for dk (or transposed for dq), P not transposed for dv, the mask ignored
    (everywhere, or in dv only).
    """
    ex = Exercise(
        "attention_backward",
        student_fn,
        returns=("dq", "dk", "dv"),
        signature="attention_backward(dout, q, k, v, causal=False) -> (dq, dk, dv)",
        like={"dq": "q", "dk": "k", "dv": "v"},
        formulas={
            "dv": "dv = P^T dout",
            "dS": "dP = dout v^T; ds = P * (dP - rowsum(dP * P))",
            "dq": "dq = ds k / sqrt(d); dk = ds^T q / sqrt(d)",
        },
        reference=_attention_named,
    )
    cases = [((5, 4, 3), True), ((2, 6, 4, 3), True), ((4, 8, 2), False), ((2, 2, 5, 3, 6), True)]
    for seed, (shape, causal) in enumerate(cases):
        rng = np.random.default_rng(1420 + seed)
        *lead, T, d, dv_ = shape
        q = 1.5 * rng.normal(size=(*lead, T, d))
        k = 1.5 * rng.normal(size=(*lead, T, d))
        v = rng.normal(size=(*lead, T, dv_))
        dout = rng.normal(size=(*lead, T, dv_))
        expect = dict(
            zip(
                ("dq", "dk", "dv"),
                _autograd(
                    lambda qt, kt, vt: scaled_dot_product_attention(qt, kt, vt, causal=causal),
                    dout,
                    q,
                    k,
                    v,
                ),
            )
        )
        args = (dout, q, k, v, causal)
        names = list(_ATTENTION_BUGS)
        if not causal:
            names = [n for n in names if n not in ("mask_after", "no_mask", "dv_unmasked")]
        bugs = [
            Bug(_ATTENTION_BUGS[n], **dict(zip(("dq", "dk", "dv"), _attention(*args, n))))
            for n in names
        ]
        if causal:  # the mask after the softmax, with the masked P inside the Jacobian
            values = _attention(dout, q, k, v, causal, "mask_after_P")
            bugs.append(Bug(_ATTENTION_BUGS["mask_after"], **dict(zip(("dq", "dk", "dv"), values))))
        ex.case(dict(dout=dout, q=q, k=k, v=v), expect, bugs, kwargs={"causal": causal})
    ex.passed()


# --- the whole stage-1 model ----------------------------------------------------------------------
_PARAMS = ("C", "W1", "b1", "gamma", "beta", "W2", "b2")
_GRADS = tuple("d" + p for p in _PARAMS)
_EPS = 1e-5


def _mlp(X, y, C, W1, b1, gamma, beta, W2, b2, bug=None):
    """The numpy backward of stage 1 (lecture 14, section 2.1); ``bug`` switches on one mistake.

    "plus_equals": dC[X] += de; "ln_batch": LayerNorm's backward means over the batch axis;
    "ln_batch_forward": LayerNorm over the batch axis, forward and backward; "sum_loss": no 1/N;
    "tanh_at_n": tanh' evaluated at the pre-activation n (1 - n^2); "no_tanh": tanh' forgotten.
    """
    N = X.shape[0]
    x = C[X].reshape(N, -1)
    a = x @ W1 + b1
    axis = 0 if bug == "ln_batch_forward" else 1
    centred = a - a.mean(axis=axis, keepdims=True)
    inv_s = 1.0 / np.sqrt((centred**2).mean(axis=axis, keepdims=True) + _EPS)
    a_hat = centred * inv_s
    n = gamma * a_hat + beta
    h = np.tanh(n)
    z = h @ W2 + b2
    dz = _softmax(z)
    dz[np.arange(N), y] -= 1.0
    if bug != "sum_loss":
        dz = dz / N
    dW2, db2, dh = h.T @ dz, dz.sum(axis=0), dz @ W2.T
    if bug == "tanh_at_n":
        dn = dh * (1.0 - n**2)
    elif bug == "no_tanh":
        dn = dh
    else:
        dn = dh * (1.0 - h**2)
    dgamma, dbeta = (dn * a_hat).sum(axis=0), dn.sum(axis=0)
    g_hat = dn * gamma
    m = 0 if bug == "ln_batch" else axis
    da = inv_s * (
        g_hat
        - g_hat.mean(axis=m, keepdims=True)
        - a_hat * (g_hat * a_hat).mean(axis=m, keepdims=True)
    )
    dW1, db1 = x.T @ da, da.sum(axis=0)
    de = (da @ W1.T).reshape(X.shape + (C.shape[1],))
    dC = np.zeros_like(C)
    if bug == "plus_equals":
        dC[X] += de
    else:
        np.add.at(dC, X, de)
    return dC, dW1, db1, dgamma, dbeta, dW2, db2


def _mlp_reference(X, y, C, W1, b1, gamma, beta, W2, b2):
    return _mlp(X, y, C, W1, b1, gamma, beta, W2, b2)


def _mlp_autograd(X, y, params):
    """Every parameter's gradient of the stage-1 loss, by bpkit's functional ops and autograd."""
    t = {name: Tensor(params[name].copy(), requires_grad=True) for name in _PARAMS}
    e = embedding(X, t["C"])
    a = e.reshape(len(X), -1) @ t["W1"] + t["b1"]
    h = layer_norm(a, t["gamma"], t["beta"], eps=_EPS).tanh()
    cross_entropy(h @ t["W2"] + t["b2"], y).backward()
    return tuple(t[name].grad for name in _PARAMS)


_MLP_BUGS = {
    "plus_equals": "dC is wrong in the rows of the characters that occur more than once in "
    "the batch (the other gradients are right): `dC[X] += de` keeps only one of the "
    "contributions of a repeated id. Every lookup must add to its row",
    "ln_batch": "the gradients up to LayerNorm (dW2, db2, dgamma, dbeta) are right, those "
    "below it (dW1, db1, dC) are not: the means in your LayerNorm backward run over the batch "
    "axis, as in BatchNorm's; LayerNorm's statistics are those of each row, over its features",
    "ln_batch_forward": "your LayerNorm normalises over the batch axis (axis 0), as BatchNorm "
    "does: LayerNorm takes each example's mean and variance over its own M features",
    "sum_loss": "every gradient is N times too large: the loss is the MEAN of the N "
    "contexts' cross-entropies, so the gradient of the logits carries that mean's factor too",
    "tanh_at_n": "the gradients below the tanh are wrong: its derivative is evaluated with "
    "the tanh's INPUT n where its OUTPUT h belongs",
    "no_tanh": "the gradients below the tanh are wrong: the tanh's derivative is missing "
    "(the gradient went from h straight to n)",
}


def _table(outputs, expect, tol):
    """One line per gradient: exact, close (to tol, relative) or wrong, with max |difference|."""
    lines = ["  gradient by gradient against Tensor autograd (this case):"]
    for name, got in zip(_GRADS, outputs):
        want = expect[name]
        if not isinstance(got, np.ndarray) or got.shape != want.shape:
            shape = got.shape if isinstance(got, np.ndarray) else type(got).__name__
            lines.append(f"    {name:<7} wrong shape {shape}, expected {want.shape}")
            continue
        diff = float(np.max(np.abs(got - want))) if got.size else 0.0
        scale = max(float(np.max(np.abs(want))), 1e-300)
        close = "close" if diff <= tol * scale else "WRONG"
        verdict = "exact" if np.array_equal(got, want) else close
        lines.append(f"    {name:<7} {str(want.shape):<8} {verdict:<5}  max |diff| {diff:.1e}")
    return "\n".join(lines)


@checker
def mlp_lm_backward(student_fn):
    """Check ``mlp_lm_backward(X, y, C, W1, b1, gamma, beta, W2, b2) -> (dC, ..., db2)``.

    Returns (dC, dW1, db1, dgamma, dbeta, dW2, db2).

    Stage 1 of lecture 14: e = C[X] (N, T, E), x = e.reshape(N, T*E), a = x @ W1 + b1,
    n = gamma * LayerNorm(a) + beta (over the M features of each row, eps 1e-5), h = tanh(n),
    z = h @ W2 + b2, L = mean cross-entropy of z against y. X (N, T) ints, y (N,) ints.
    Return the gradient of L w.r.t. each parameter, shaped like it, in that order. A wrong
    answer comes with a table: each gradient exact, close or wrong against autograd.
    Recognises: ``dC[X] += de``, LayerNorm's means over the batch axis (backward only, or
    forward too), the 1/N of the mean loss missing, tanh' at n, tanh' forgotten.
    """
    ex = Exercise(
        "mlp_lm_backward",
        student_fn,
        returns=_GRADS,
        signature="mlp_lm_backward(X, y, C, W1, b1, gamma, beta, W2, b2) -> "
        "(dC, dW1, db1, dgamma, dbeta, dW2, db2)",
        like={g: p for g, p in zip(_GRADS, _PARAMS)},
        reference=_mlp_reference,
        tol=1e-7,
    )
    cases = [(8, 3, 7, 2, 5), (6, 2, 5, 3, 4), (12, 3, 6, 2, 9)]  # N, T, V, E, M
    table = None
    try:
        for seed, (N, T, V, E, M) in enumerate(cases):
            rng = np.random.default_rng(1430 + seed)
            X = rng.integers(0, V, size=(N, T))
            X[1, 0] = X[0, 0]  # a repeated id for sure
            y = rng.integers(0, V, size=N)
            params = dict(
                C=rng.normal(size=(V, E)),
                W1=rng.normal(size=(T * E, M)) / math.sqrt(T * E),
                b1=0.1 * rng.normal(size=M),
                gamma=rng.uniform(0.5, 1.5, size=M),
                beta=0.1 * rng.normal(size=M),
                W2=rng.normal(size=(M, V)) / math.sqrt(M),
                b2=0.1 * rng.normal(size=V),
            )
            expect = dict(zip(_GRADS, _mlp_autograd(X, y, params)))
            args = [params[p] for p in _PARAMS]
            bugs = [
                Bug(message, **dict(zip(_GRADS, _mlp(X, y, *args, bug=name))))
                for name, message in _MLP_BUGS.items()
            ]
            inputs = dict(X=X, y=y, **params)
            outputs, where = ex.call(inputs)
            shaped = all(
                isinstance(o, np.ndarray) and o.shape == expect[g].shape
                for g, o in zip(_GRADS, outputs)
            )
            if table is None and shaped:
                candidate = _table(outputs, expect, ex.tol)
                if "WRONG" in candidate:
                    table = candidate.replace("(this case)", f"(case {ex.cases})")
            ex.check(outputs, expect, bugs, where, inputs=inputs)
        ex.passed(detail=f"all {len(_GRADS)} gradients agree with Tensor autograd to {ex.tol:g}")
    except ExerciseFailed as failure:
        if table is None:
            raise
        raise ExerciseFailed(f"{failure}\n{table}") from None
