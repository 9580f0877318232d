"""Checker for backprop through time over a whole sequence (lecture 09, set 09's hardest exercise).

``rnn_bptt`` runs the learner's full-sequence BPTT for a vanilla tanh RNN on
several sequences (T, N, D, H all different, T = 1 included) and compares
every gradient with the reference; the catalogue names the classic BPTT
mistakes, the general engine (``_explain``) explains the others.
"""

import numpy as np

from bpkit.check._core import Bug, Exercise, checker

__all__ = ["rnn_bptt"]


def _bptt(dhs, xs, h0, Wx, Wh, b, carry=True, accumulate=True, dWh_state=-1, transpose=True):
    """h_t = tanh(x_t Wx + h_(t-1) Wh + b); dhs[t-1] = dL/dh_t from the loss at step t.

    The keyword arguments switch on the catalogue's bugs (the defaults give the right answer):
    carry=False drops the gradient from later steps, accumulate=False keeps only one step's
    weight gradients, dWh_state=0 uses h_t instead of h_(t-1) in dWh, transpose=False
    multiplies by Wh instead of Wh.T on the way back.
    """
    T = len(xs)
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    dxs = np.zeros_like(xs)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh = np.zeros_like(h0)
    for t in reversed(range(T)):
        dh = dh + dhs[t] if carry else dhs[t]
        da = dh * (1 - hs[t + 1] ** 2)
        dxs[t] = da @ Wx.T
        state = hs[t] if dWh_state == -1 else hs[t + 1]
        if accumulate:
            dWx, dWh, db = dWx + xs[t].T @ da, dWh + state.T @ da, db + da.sum(axis=0)
        else:
            dWx, dWh, db = xs[t].T @ da, state.T @ da, da.sum(axis=0)
        dh = da @ (Wh.T if transpose else Wh)
    return dxs, dh, dWx, dWh, db


def _reference(dhs, xs, h0, Wx, Wh, b):
    return _bptt(dhs, xs, h0, Wx, Wh, b)


def _named(values):
    return dict(zip(("dxs", "dh0", "dWx", "dWh", "db"), values))


@checker
def rnn_bptt(student_fn):
    """Check ``rnn_bptt(dhs, xs, h0, Wx, Wh, b) -> (dxs, dh0, dWx, dWh, db)``.

    Forward: h_0 = h0, h_t = tanh(xs[t-1] @ Wx + h_(t-1) @ Wh + b), t = 1..T.
    Inputs: dhs (T, N, H) with dhs[t-1] = the loss's own gradient at h_t; xs (T, N, D);
    h0 (N, H); Wx (D, H); Wh (H, H); b (H,).
    Return dxs (T, N, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    Recognises: the gradient from later steps not carried back, the shared weights'
    gradients not summed over the steps, h_t for h_(t-1) in dWh, Wh for Wh.T.
    """
    ex = Exercise(
        "rnn_bptt",
        student_fn,
        returns=("dxs", "dh0", "dWx", "dWh", "db"),
        signature="rnn_bptt(dhs, xs, h0, Wx, Wh, b) -> (dxs, dh0, dWx, dWh, db)",
        like={"dxs": "xs", "dh0": "h0", "dWx": "Wx", "dWh": "Wh", "db": "b"},
        formulas={
            "dh": "dh_t = dhs[t-1] + (da_(t+1) @ Wh.T), da_t = dh_t * (1 - h_t**2)",
            "dW": "dWx = sum_t x_t.T @ da_t, dWh = sum_t h_(t-1).T @ da_t, db = sum_t da_t.sum(0)",
        },
        reference=_reference,
    )
    for seed, (T, N, D, H) in enumerate([(5, 3, 2, 4), (4, 2, 3, 5), (1, 4, 3, 2), (6, 2, 5, 3)]):
        rng = np.random.default_rng(900 + seed)
        xs = rng.normal(size=(T, N, D))
        h0 = 0.5 * rng.normal(size=(N, H))
        Wx = rng.normal(size=(D, H)) / np.sqrt(D)
        Wh = rng.normal(size=(H, H)) / np.sqrt(H)
        b = 0.1 * rng.normal(size=H)
        dhs = rng.normal(size=(T, N, H))
        args = (dhs, xs, h0, Wx, Wh, b)
        expect = _named(_bptt(*args))
        bugs = [
            Bug(
                "the gradient from the later steps never reaches the earlier ones: h_t feeds "
                "the loss at step t AND the next step, so the gradient arriving at h_t has two "
                "parts, and the one coming back through time is missing",
                **_named(_bptt(*args, carry=False)),
            ),
            Bug(
                "the weights are shared by every step, so their gradients add up over the "
                "steps; yours hold one step's contribution only (= where += belongs?)",
                **{k: v for k, v in _named(_bptt(*args, accumulate=False)).items() if k != "dxs"},
            ),
            Bug(
                "dWh uses the step's OUTPUT state h_t; Wh multiplied the state that came "
                "IN to the step, h_(t-1)",
                dWh=_bptt(*args, dWh_state=0)[3],
            ),
            Bug(
                "the gradient passed back to the previous state went through Wh where its "
                "transpose belongs (Wh is square, so the shapes could not tell)",
                **_named(_bptt(*args, transpose=False)),
            ),
        ]
        ex.case(dict(zip(("dhs", "xs", "h0", "Wx", "Wh", "b"), args)), expect, bugs)
    ex.passed()
