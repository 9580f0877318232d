"""Checkers for lecture 09: BPTT over a whole sequence, and one LSTM step backward (set 09).

``rnn_bptt`` runs the learner's full-sequence BPTT for a vanilla tanh RNN on
several sequences (T, N, D, H all different, T = 1 included) and compares
every gradient with the reference; ``lstm_step_backward`` does the same for one
LSTM step (N, D, H all different, so Wx (D, 4H) and Wh (H, 4H) are never square).
The catalogues name the classic mistakes, the general engine (``_explain``)
explains the others.
"""

import numpy as np

from bpkit.check._core import Bug, Exercise, checker

__all__ = ["rnn_bptt", "lstm_step_backward"]


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


# --- set 09, exercise 5: one LSTM step backward (issue 11) -------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _lstm_step(
    dh_next,
    dc_next,
    x,
    h_prev,
    c_prev,
    Wx,
    Wh,
    b,
    order="ifgo",
    forget_path=True,
    tanh_prime=True,
    add_dc_next=True,
    df_state="prev",
    g_prime="tanh",
    do_of_tanh=True,
):
    """a = x Wx + h_prev Wh + b = [i | f | g | o]; c = f c_prev + i g; h = o tanh(c): backward.

    The keyword arguments switch on the catalogue's bugs (the defaults give the right answer):
    order="ifog" or "igfo" reads the four gates' blocks in another order, forget_path=False
    returns dc_prev without the forget gate, tanh_prime=False drops tanh'(c) on the way from
    h to c, add_dc_next=False drops the gradient that arrives at c directly, df_state="next"
    uses the new c for c_prev in the forget gate's gradient, g_prime="sigmoid" takes the
    sigmoid's derivative for the candidate g, do_of_tanh=False takes c_next where
    tanh(c_next) belongs in the output gate's gradient.
    """
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    block = {gate: a[:, k * H : (k + 1) * H] for k, gate in enumerate(order)}  # H columns each
    i, f, o = _sigmoid(block["i"]), _sigmoid(block["f"]), _sigmoid(block["o"])
    g = np.tanh(block["g"])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    dc = dh_next * o * ((1 - tanh_c**2) if tanh_prime else 1.0)
    if add_dc_next:
        dc = dc + dc_next
    di, dg, do = dc * g, dc * i, dh_next * (tanh_c if do_of_tanh else c)
    df = dc * (c_prev if df_state == "prev" else c)
    dblock = {
        "i": di * i * (1 - i),
        "f": df * f * (1 - f),
        "g": dg * ((1 - g**2) if g_prime == "tanh" else g * (1 - g)),
        "o": do * o * (1 - o),
    }
    da = np.concatenate([dblock[gate] for gate in order], axis=1)
    dc_prev = dc * f if forget_path else dc
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _lstm_reference(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b):
    return _lstm_step(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b)


_LSTM_INPUTS = ("dh_next", "dc_next", "x", "h_prev", "c_prev", "Wx", "Wh", "b")
_LSTM_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")


def _lstm_named(values):
    return dict(zip(_LSTM_GRADS, values))


@checker
def lstm_step_backward(student_fn):
    """Check ``lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b)``.

    Returns (dx, dh_prev, dc_prev, dWx, dWh, db). Row convention, as in lecture 09:
    x (N, D), h_prev and c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,);
    a = x @ Wx + h_prev @ Wh + b (N, 4H) split into H-column blocks in PyTorch's order
    i, f, g, o; i, f, o = sigmoid, g = tanh; c_next = f * c_prev + i * g,
    h_next = o * tanh(c_next). dh_next and dc_next are the gradients arriving at h_next
    and c_next (both nonzero). Each returned gradient has its input's shape.
    Recognises: the forget gate missing from dc_prev, the gates read in another order
    (i, f, o, g as in CS231n; i, g, f, o as in TensorFlow), tanh'(c) missing on the way from
    h to c, dc_next not added, the new cell state for c_prev in the forget gate's gradient,
    the sigmoid's derivative for the candidate g, c_next for tanh(c_next) in the output gate's
    gradient.
    """
    ex = Exercise(
        "lstm_step_backward",
        student_fn,
        returns=_LSTM_GRADS,
        signature=(
            "lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b) "
            "-> (dx, dh_prev, dc_prev, dWx, dWh, db)"
        ),
        like={
            "dx": "x",
            "dh_prev": "h_prev",
            "dc_prev": "c_prev",
            "dWx": "Wx",
            "dWh": "Wh",
            "db": "b",
        },
        formulas={
            "dc": "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2); dc_prev = dc * f",
            "da": (
                "da = [dc*g * i*(1-i), dc*c_prev * f*(1-f), dc*i * (1-g**2), "
                "dh_next*tanh(c_next) * o*(1-o)]"
            ),
            "dW": "dx = da @ Wx.T, dh_prev = da @ Wh.T, dWx = x.T @ da, dWh = h_prev.T @ da",
        },
        reference=_lstm_reference,
    )
    for seed, (N, D, H) in enumerate([(3, 5, 2), (4, 2, 3), (2, 3, 4), (5, 7, 3)]):
        rng = np.random.default_rng(950 + seed)
        x = rng.normal(size=(N, D))
        h_prev = 0.8 * rng.normal(size=(N, H))
        c_prev = rng.normal(size=(N, H))
        Wx = rng.normal(size=(D, 4 * H)) / np.sqrt(D)
        Wh = rng.normal(size=(H, 4 * H)) / np.sqrt(H)
        b = 0.2 * rng.normal(size=4 * H)
        dh_next = rng.normal(size=(N, H))
        dc_next = rng.normal(size=(N, H))
        args = (dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b)
        expect = _lstm_named(_lstm_step(*args))
        bugs = [
            Bug(
                "dc_prev is the whole gradient at c_next passed straight through: c_prev "
                "reaches c_next only through the forget gate, elementwise, so on its way "
                "back the gradient is scaled by that gate",
                dc_prev=_lstm_step(*args, forget_path=False)[2],
            ),
            Bug(
                "your gates are read from the wrong blocks of a: i, f, o, g (CS231n's order). "
                "This exercise uses PyTorch's order i, f, g, o: the candidate g is the THIRD "
                "block of H columns, the output gate o the last",
                **_lstm_named(_lstm_step(*args, order="ifog")),
            ),
            Bug(
                "your gates are read from the wrong blocks of a: i, g, f, o (TensorFlow's "
                "order). This exercise uses PyTorch's order i, f, g, o: the forget gate f is "
                "the SECOND block of H columns, the candidate g the third",
                **_lstm_named(_lstm_step(*args, order="igfo")),
            ),
            Bug(
                "on the way from h_next back to c_next a derivative is missing: h_next is the "
                "output gate times tanh(c_next), so the gradient reaching c_next from h_next "
                "also passes through tanh's derivative at c_next",
                **_lstm_named(_lstm_step(*args, tanh_prime=False)),
            ),
            Bug(
                "dc_next, the gradient that arrives at c_next directly (from the next step's "
                "cell path), is missing: c_next gets gradient from two places, through "
                "h_next and straight from dc_next, and the two add up",
                **_lstm_named(_lstm_step(*args, add_dc_next=False)),
            ),
            Bug(
                "the forget gate's gradient used the NEW cell state c_next: in "
                "c_next = f * (...) + i * g the forget gate multiplies the state that came in, "
                "c_prev",
                **{
                    k: v
                    for k, v in _lstm_named(_lstm_step(*args, df_state="next")).items()
                    if k != "dc_prev"
                },
            ),
            Bug(
                "the candidate g is a tanh, not a sigmoid: its block of da needs tanh's "
                "derivative, written with g itself; yours is the sigmoid's, like the three "
                "gates i, f, o",
                **{
                    k: v
                    for k, v in _lstm_named(_lstm_step(*args, g_prime="sigmoid")).items()
                    if k != "dc_prev"
                },
            ),
            Bug(
                "the output gate's gradient used the cell state c_next itself: h_next is the "
                "output gate times tanh(c_next), so what multiplies the gate is tanh(c_next)",
                **{
                    k: v
                    for k, v in _lstm_named(_lstm_step(*args, do_of_tanh=False)).items()
                    if k != "dc_prev"
                },
            ),
        ]
        ex.case(dict(zip(_LSTM_INPUTS, args)), expect, bugs)
    ex.passed()
