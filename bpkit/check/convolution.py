"""Checkers for convolution and max-pooling (lecture 13, exercise set 13).

``conv2d_forward_naive`` (the definition, loops allowed), ``max_pool_backward``
(routing to the argmax, one winner on ties), ``conv2d_backward`` (dx, dw, db with
stride and padding: the set's hardest exercise) and ``conv2d_input_grad`` (the
find-the-bug item: dx as a full correlation, with the kernel left unflipped).
The right answers come from ``bpkit.functional.conv2d`` / ``max_pool2d`` and Tensor
autograd; the catalogue bugs are computed from the same reference with one thing
changed (the kernel flipped, stride 1, the padding cropped on one side, ...), so
each names a mistake that explains every case. Cases are non-square, with
N, C, F all different, asymmetric random kernels and random upstream gradients.
The formula for the output size appears in a shape message only once revealed.

The predict-then-run questions q13_conv_out_shape and q13_receptive_field are
registered here too (``check.answer``).
"""

import numpy as np

from bpkit.check._core import Bug, Exercise, checker
from bpkit.check.questions import Question, register
from bpkit.functional import conv2d, max_pool2d
from bpkit.tensor import Tensor

__all__ = [
    "conv2d_forward_naive",
    "max_pool_backward",
    "conv2d_backward",
    "conv2d_input_grad",
    "SET13_QUESTIONS",
]

_SIZE_FORMULA = "OH = (H + 2p - KH) // s + 1 (and OW alike)"


# --- references (bpkit's own ops and autograd) ---------------------------------------------
def _forward(x, w, b, stride=1, padding=0):
    """out = conv2d(x, w, b, stride, padding), a cross-correlation as in PyTorch."""
    return conv2d(x, w, b, stride=stride, padding=padding).data


def _backward(dout, x, w, stride=1, padding=0):
    """(dx, dw, db) of out = conv2d(x, w, b, stride, padding) for upstream gradient dout."""
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    tb = Tensor(np.zeros(w.shape[0]), requires_grad=True)
    out = conv2d(tx, tw, tb, stride=stride, padding=padding)
    if out.shape != np.shape(dout):
        raise ValueError("dout does not have the output's shape")
    out.backward(np.asarray(dout, dtype=np.float64))
    return tx.grad, tw.grad, tb.grad


def _pool_backward(dout, x, k, stride):
    """dx of out = max_pool2d(x, k, stride): each window's dout to its first maximum."""
    tx = Tensor(x, requires_grad=True)
    out = max_pool2d(tx, k, stride)
    if out.shape != np.shape(dout):
        raise ValueError("dout does not have the output's shape")
    out.backward(np.asarray(dout, dtype=np.float64))
    return tx.grad


def _input_grad(dout, w):
    """dx of out = conv2d(x, w) (stride 1, no padding), x of shape (N, C, OH+KH-1, OW+KW-1)."""
    N, _, OH, OW = dout.shape
    F, C, KH, KW = w.shape
    return _backward(dout, np.zeros((N, C, OH + KH - 1, OW + KW - 1)), w)[0]


def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def _out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# --- shape slips: what a wrongly shaped output is ------------------------------------------
def _size_slips(H, W, KH, KW, s, p):
    """{(OH, OW): what a learner did} for the usual output-size slips of one case."""
    right = (_out_size(H, KH, s, p), _out_size(W, KW, s, p))
    slips = {}

    def add(shape, text):
        if shape != right and shape not in slips and min(shape) > 0:
            slips[shape] = text

    add((_out_size(H, KH, s, 0), _out_size(W, KW, s, 0)), "the padding is left out of the size")
    add((_out_size(H, KH, 1, p), _out_size(W, KW, 1, p)), "the stride is left out")
    add(((H + 2 * p - KH) // s, (W + 2 * p - KW) // s), "the +1 for the first window is missing")
    add(((H + p - KH) // s + 1, (W + p - KW) // s + 1), "the padding counted on one side only")
    add((-(-(H + 2 * p - KH) // s) + 1, -(-(W + 2 * p - KW) // s) + 1), "rounded up, not down")
    add(((H + 2 * p) // s, (W + 2 * p) // s), "the kernel size is left out")
    add((_out_size(H, KW, s, p), _out_size(W, KH, s, p)), "KH and KW swapped")
    return {shape: text for shape, text in slips.items() if text}


def _out_shape_message(got, N, F, H, W, KH, KW, s, p, what="out"):
    """A specific message for a wrongly shaped forward output, or None."""
    shape = np.shape(got)
    want = (N, F, _out_size(H, KH, s, p), _out_size(W, KW, s, p))
    if not isinstance(got, np.ndarray) or shape == want or len(shape) != 4:
        return None
    if shape[:2] != (N, F):
        if shape[:2] == (F, N):
            return (
                f"{what} has shape {shape}: the batch and filter axes are swapped; it must be "
                f"{want}, (N, F, OH, OW)"
            )
        return (
            f"{what} has shape {shape}, but its first two axes must be (N, F) = {(N, F)}: one "
            "map per example and filter"
        )
    slip = _size_slips(H, W, KH, KW, s, p).get(shape[2:])
    text = (
        f"{what} has shape {shape} but must be {want}: the output size is off"
        + (f" ({slip})" if slip else "")
        + ". Count the window positions along one axis: the padded input's length, the "
        "kernel's, and how far apart windows start"
    )
    return text + f"\n  expected: {_SIZE_FORMULA}"


# --- conv2d_forward_naive -------------------------------------------------------------------
_CONV_CASES = [
    # (N, C, H, W), (F, KH, KW), stride, padding
    ((2, 3, 7, 6), (4, 3, 2), 1, 0),
    ((3, 2, 6, 8), (5, 2, 3), 2, 1),
    ((2, 4, 5, 7), (3, 3, 3), 1, 2),
    ((1, 3, 9, 8), (2, 3, 2), 3, 0),
    ((2, 2, 8, 7), (3, 2, 3), 2, 2),
]


def _conv_case(seed, shape, kernel):
    rng = np.random.default_rng(1300 + seed)
    N, C, H, W = shape
    F, KH, KW = kernel
    x = rng.normal(size=(N, C, H, W))
    w = rng.normal(size=(F, C, KH, KW))
    b = rng.normal(size=F)
    return x, w, b


def _stride_one(x, w, b, s, p):
    """The bug 'windows 1 apart, output sized right': conv with stride 1, cut to OH x OW."""
    OH = _out_size(x.shape[2], w.shape[2], s, p)
    OW = _out_size(x.shape[3], w.shape[3], s, p)
    return _forward(x, w, b, 1, p)[:, :, :OH, :OW]


@checker
def conv2d_forward_naive(student_fn):
    """Check ``conv2d_forward_naive(x, w, b, stride, padding) -> out``.

    x (N, C, H, W), w (F, C, KH, KW), b (F,), int stride s and padding p (zeros on every
    side). out (N, F, OH, OW) with out[n, f, i, j] = b[f] + sum over c, u, v of
    x_pad[n, c, s i + u, s j + v] * w[f, c, u, v]: a cross-correlation, as PyTorch.
    Recognises: the kernel flipped (a true convolution), the bias left out, windows 1
    apart whatever the stride, and output-size slips (padding, stride, +1, rounding).
    """
    ex = Exercise(
        "conv2d_forward_naive",
        student_fn,
        returns="out",
        signature="conv2d_forward_naive(x, w, b, stride, padding) -> out",
        formulas={
            "out": "out[n, f, i, j] = b[f] + sum_{c,u,v} x_pad[n, c, s*i + u, s*j + v] * "
            f"w[f, c, u, v]; {_SIZE_FORMULA}"
        },
        reference=_forward,
    )
    for seed, (shape, kernel, s, p) in enumerate(_CONV_CASES):
        x, w, b = _conv_case(seed, shape, kernel)
        inputs = dict(x=x, w=w, b=b, stride=s, padding=p)
        out, where = ex.call(inputs)
        out = out[0]
        N, C, H, W = shape
        F, KH, KW = kernel
        message = _out_shape_message(out, N, F, H, W, KH, KW, s, p)
        if message:
            ex.fail(message, where)
        right = _forward(x, w, b, s, p)
        bugs = [
            Bug(
                "out is the convolution with the kernel FLIPPED (w[..., ::-1, ::-1]): that is "
                "the textbook convolution; conv layers (PyTorch, bpkit) compute the "
                "cross-correlation, w[f, c, u, v] multiplying the window's entry (u, v) as it is",
                out=_forward(x, w[:, :, ::-1, ::-1], b, s, p),
            ),
            Bug(
                "out is right except for the bias: every output of filter f gets b[f] added",
                out=right - b[None, :, None, None],
            ),
            Bug(
                "your windows start 1 apart whatever the stride: output (i, j) reads the "
                "padded input from row s*i and column s*j, not from i and j",
                out=_stride_one(x, w, b, s, p),
            ),
        ]
        if p:
            shifted = _forward(np.pad(x, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p))), w, b, s, 0)
            bugs.append(
                Bug(
                    "your padding is all at the bottom and right: pad p zeros on EVERY side "
                    "(top and left too), e.g. np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))",
                    out=shifted[:, :, : right.shape[2], : right.shape[3]],
                )
            )
        ex.check((out,), {"out": right}, bugs, where, inputs=inputs)
    ex.passed()


# --- max_pool_backward ----------------------------------------------------------------------
def _pool_variant(dout, x, k, s, mode):
    """dx of max-pooling with one of the classic mistakes (mode)."""
    N, C, H, W = x.shape
    OH, OW = (H - k) // s + 1, (W - k) // s + 1
    dx = np.zeros_like(x)
    o = k if mode == "kstep" else s  # where window (i, j) starts: (o*i, o*j)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    win = x[n, c, o * i : o * i + k, o * j : o * j + k]
                    g = dout[n, c, i, j]
                    ties = win == win.max()
                    target = dx[n, c, o * i : o * i + k, o * j : o * j + k]
                    if mode == "average":
                        target += g / (k * k)
                    elif mode == "copy":
                        target += g
                    elif mode == "ties":
                        target += g * ties
                    elif mode == "split":
                        target += g * ties / ties.sum()
                    elif mode == "last":
                        flat = np.flatnonzero(ties.ravel())[-1]
                        target[np.unravel_index(flat, win.shape)] += g
                    elif mode in ("assign", "right", "kstep"):
                        u, v = np.unravel_index(int(np.argmax(win)), win.shape)
                        if mode == "assign":
                            target[u, v] = g
                        else:
                            target[u, v] += g
    return dx


_POOL_CASES = [
    # (N, C, H, W), k, stride, integer-valued (ties)?
    ((2, 3, 6, 8), 2, 2, False),
    ((3, 2, 6, 4), 2, 2, True),
    ((3, 2, 7, 9), 3, 3, False),  # 7 = 2*3 + 1: the last row is in no window
    ((2, 3, 5, 7), 3, 2, False),  # overlapping windows: a pixel may win twice
    ((1, 2, 6, 9), 3, 3, True),
    ((2, 1, 7, 6), 3, 2, True),
]


@checker
def max_pool_backward(student_fn):
    """Check ``max_pool_backward(dout, x, k, stride) -> dx``.

    Forward: out[n, c, i, j] = max of the k x k window of x[n, c] at (stride*i, stride*j);
    no padding, OH = (H - k) // stride + 1 (an incomplete window at the edge is dropped).
    dout (N, C, OH, OW); return dx shaped like x (N, C, H, W): each window's dout goes to
    the entry that won it (on a tie: the first in row-major order, as np.argmax picks
    it, and only that one); where windows overlap (stride < k) gradients add up.
    Recognises: dout spread over the window (average or copy), to every tied entry,
    split among the ties, the last of the tied entries, = where += belongs.
    """
    ex = Exercise(
        "max_pool_backward",
        student_fn,
        returns="dx",
        signature="max_pool_backward(dout, x, k, stride) -> dx",
        like={"dx": "x"},
        formulas={
            "dx": "dx[n, c, s*i + a, s*j + b] += dout[n, c, i, j] for (a, b) the first argmax "
            "of window (i, j); 0 elsewhere"
        },
        reference=_pool_backward,
    )
    for seed, (shape, k, s, ties) in enumerate(_POOL_CASES):
        rng = np.random.default_rng(1330 + seed)
        x = rng.integers(0, 4, size=shape).astype(np.float64) if ties else rng.normal(size=shape)
        N, C, H, W = shape
        dout = rng.normal(size=(N, C, (H - k) // s + 1, (W - k) // s + 1))
        inputs = dict(dout=dout, x=x, k=k, stride=s)
        dx, where = ex.call(inputs)
        dx = dx[0]
        if isinstance(dx, np.ndarray) and dx.shape == dout.shape != x.shape:
            ex.fail(
                f"dx has dout's shape {dout.shape}; it must have x's shape {x.shape}: every "
                "input entry gets a gradient (most of them 0)",
                where,
            )
        bugs = [
            Bug(
                "dx spreads each window's dout evenly over the window (dout / k**2 on every "
                "entry): that is the backward of AVERAGE-pooling. The max depends on one "
                "entry only, the winner",
                dx=_pool_variant(dout, x, k, s, "average"),
            ),
            Bug(
                "dx gives each window's full dout to EVERY entry of the window: only the entry "
                "that won the max moved the output, so the others get 0",
                dx=_pool_variant(dout, x, k, s, "copy"),
            ),
        ]
        if ties:
            bugs += [
                Bug(
                    "where several entries tie for the max, you gave dout to EACH of them: that "
                    "makes up gradient (dx sums to more than dout). One winner per window: the "
                    "first maximum in row-major order, as np.argmax picks it",
                    dx=_pool_variant(dout, x, k, s, "ties"),
                ),
                Bug(
                    "at ties you split dout among the tied entries: a valid subgradient, but "
                    "not the convention here (one winner per window, the first maximum in "
                    "row-major order, as np.argmax and PyTorch pick it)",
                    dx=_pool_variant(dout, x, k, s, "split"),
                ),
                Bug(
                    "at ties your winner is the LAST of the tied entries; the convention is the "
                    "first in row-major order (np.argmax's, PyTorch's)",
                    dx=_pool_variant(dout, x, k, s, "last"),
                ),
            ]
        if s < k:
            bugs.append(
                Bug(
                    "your windows start k apart, not stride apart: with stride < k they "
                    "overlap, and window (i, j) starts at row stride*i, column stride*j",
                    dx=_pool_variant(dout, x, k, s, "kstep"),
                )
            )
            bugs.append(
                Bug(
                    "where windows overlap (stride < k), a pixel can win two windows, and you "
                    "kept only the last one's gradient: add (+=), do not assign (=)",
                    dx=_pool_variant(dout, x, k, s, "assign"),
                )
            )
        right = _pool_backward(dout, x, k, s)
        ex.check((dx,), {"dx": right}, bugs, where, inputs=inputs)
    ex.passed()


# --- conv2d_backward ------------------------------------------------------------------------
_BACKWARD_CASES = [
    ((2, 3, 6, 5), (4, 3, 2), 1, 0),
    ((3, 2, 7, 6), (5, 3, 2), 2, 1),
    ((2, 4, 5, 7), (3, 2, 3), 1, 2),
    ((4, 3, 9, 8), (2, 3, 2), 3, 1),  # 9 + 2 - 3 = 8, not a multiple of 3: rows never read
    ((1, 2, 8, 7), (3, 3, 3), 2, 0),
]


def _backward_stride_one(dout, x, w, s, p):
    """(dx, dw) of the bug 'windows 1 apart': output (i, j) scattered at (i + u, j + v)."""
    N, F, OH, OW = dout.shape
    KH, KW = w.shape[2:]
    xp = _pad(x, p)
    region = xp[:, :, : OH + KH - 1, : OW + KW - 1]
    dx_region, dw, _ = _backward(dout, region, w, 1, 0)
    dxp = np.zeros_like(xp)
    dxp[:, :, : region.shape[2], : region.shape[3]] = dx_region
    return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]], dw


def _scatter_assigned(dout, x, w, s, p):
    """(dx, dw) of the bug '= where += belongs' in the scatter loop over output positions."""
    KH, KW = w.shape[2:]
    xp = _pad(x, p)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(s * i, s * i + KH), slice(s * j, s * j + KW)
            g = dout[:, :, i, j]
            dw = np.einsum("nf,ncuv->fcuv", g, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] = np.einsum("nf,fcuv->ncuv", g, w)
    return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]], dw


def _named(values):
    return dict(zip(("dx", "dw", "db"), values))


@checker
def conv2d_backward(student_fn):
    """Check ``conv2d_backward(dout, x, w, stride, padding) -> (dx, dw, db)``.

    Forward: out = conv2d(x, w, b, stride, padding) (cross-correlation, zero padding p on
    every side), x (N, C, H, W), w (F, C, KH, KW), b (F,), out (N, F, OH, OW).
    dout = dL/dout (N, F, OH, OW). Return dx (N, C, H, W), dw (F, C, KH, KW), db (F,).
    Recognises: dx through the unflipped kernel, the padding cropped on one side only
    or not at all, windows 1 apart whatever the stride (in dx or dw), dw as the
    flipped correlation, dw from the first example only, = where += belongs (dx or dw),
    dw with F and C swapped, db not summed over the batch or the positions.
    """
    ex = Exercise(
        "conv2d_backward",
        student_fn,
        returns=("dx", "dw", "db"),
        signature="conv2d_backward(dout, x, w, stride, padding) -> (dx, dw, db)",
        like={"dx": "x", "dw": "w", "db": "b"},
        formulas={
            "db": "db[f] = sum_{n,i,j} dout[n, f, i, j]",
            "dw": "dw[f, c, u, v] = sum_{n,i,j} dout[n, f, i, j] * x_pad[n, c, s*i + u, s*j + v]",
            "dx": "dx_pad[n, c, s*i + u, s*j + v] += dout[n, f, i, j] * w[f, c, u, v] "
            "(over n, f, i, j, u, v); dx = dx_pad without its p padding rows and columns",
        },
        reference=_backward,
    )
    for seed, (shape, kernel, s, p) in enumerate(_BACKWARD_CASES):
        x, w, _ = _conv_case(20 + seed, shape, kernel)
        N, C, H, W = shape
        F, KH, KW = kernel
        rng = np.random.default_rng(1360 + seed)
        dout = rng.normal(size=(N, F, _out_size(H, KH, s, p), _out_size(W, KW, s, p)))
        inputs = dict(dout=dout, x=x, w=w, stride=s, padding=p)
        outputs, where = ex.call(inputs)
        dx = outputs[0]
        if isinstance(dx, np.ndarray) and dx.shape != x.shape and dx.ndim == 4:
            if p and dx.shape == (N, C, H + 2 * p, W + 2 * p):
                ex.fail(
                    f"dx has the PADDED input's shape {dx.shape}; it must have x's shape "
                    f"{x.shape}: the padding is not an input, so its rows and columns go",
                    where,
                )
            read = ((_out_size(H, KH, s, p) - 1) * s + KH, (_out_size(W, KW, s, p) - 1) * s + KW)
            if dx.shape[2:] in (read, (read[0] - 2 * p, read[1] - 2 * p)):
                ex.fail(
                    f"dx has shape {dx.shape}, the part of the input the windows read; it must "
                    f"have x's shape {x.shape}: rows and columns that no window reads (the "
                    "stride skipped them) get gradient 0, but they are still there",
                    where,
                )
        dw = outputs[1]
        if isinstance(dw, np.ndarray) and F != C and dw.shape == (C, F, KH, KW):
            ex.fail(
                f"dw has shape {dw.shape}: the filter and channel axes are swapped; it must "
                f"have w's shape {w.shape}, (F, C, KH, KW)",
                where,
            )
        db = outputs[2]
        wrong_db = db.shape != (F,) if isinstance(db, np.ndarray) else False
        if wrong_db and db.shape in ((N,), (N, F), (F,) + dout.shape[2:]):
            ex.fail(
                f"db has shape {db.shape}; it must have b's shape ({F},): b[f] was added to "
                "every output of filter f, in every example and at every position, so db[f] "
                "collects all of them",
                where,
            )
        right = _named(_backward(dout, x, w, s, p))
        flipped = _backward(dout, x, w[:, :, ::-1, ::-1], s, p)[0]
        dx_one, dw_one = _backward_stride_one(dout, x, w, s, p)
        bugs = [
            Bug(
                "dx correlates dout with the kernel as it is; for dx the kernel must be "
                "FLIPPED in both spatial axes (input pixel s*i + u met kernel entry u, so "
                "running over the pixels runs backwards over the kernel)",
                dx=flipped,
            ),
            Bug(
                "dw is flipped in both spatial axes (dw[..., ::-1, ::-1] is right): the "
                "correlation is the wrong way round. dw[f, c, u, v] pairs dout[n, f, i, j] with "
                "the input entry that MET w[f, c, u, v] in the forward pass",
                dw=right["dw"][:, :, ::-1, ::-1],
            ),
            Bug(
                "in dx, output (i, j) sends its gradient back to the window at (i, j), not "
                "at (s*i, s*j): the stride is missing on the way back",
                dx=dx_one,
            ),
            Bug(
                "in dw, output (i, j) is paired with the input window at (i, j), not at "
                "(s*i, s*j): the stride is missing",
                dw=dw_one,
            ),
        ]
        dx_set, dw_set = _scatter_assigned(dout, x, w, s, p)
        bugs += [
            Bug(
                "dx keeps only the last window's contribution where windows overlap: an input "
                "pixel sits in several windows and collects a term from each (+=, not =)",
                dx=dx_set,
            ),
            Bug(
                "dw holds only the last position's contribution: the filter is used at every "
                "output position, so its gradient adds up over all of them (+=, not =)",
                dw=dw_set,
            ),
        ]
        if N > 1:
            bugs.append(
                Bug(
                    "dw holds the first example's contribution only: w is shared by every "
                    "example in the batch, so dw sums over n as well as over the positions",
                    dw=_backward(dout[:1], x[:1], w, s, p)[1],
                )
            )
        if p:
            dxp = _backward(dout, _pad(x, p), w, s, 0)[0]
            bugs.append(
                Bug(
                    "dx is cut from the top-left corner of the padded gradient; the padding is "
                    "on every side, so cut p rows and columns from the top and left as well "
                    "as from the bottom and right",
                    dx=dxp[:, :, :H, :W],
                )
            )
        ex.check(outputs, right, bugs, where, inputs=inputs)
    ex.passed()


# --- find the bug: dx as a full correlation ------------------------------------------------
@checker
def conv2d_input_grad(student_fn):
    """Check ``conv2d_input_grad(dout, w) -> dx`` (stride 1, no padding).

    Forward: out = conv2d(x, w) with x (N, C, H, W), w (F, C, KH, KW), out (N, F, OH, OW),
    OH = H - KH + 1. Given dout (N, F, OH, OW), return dx (N, C, OH + KH - 1, OW + KW - 1):
    the full correlation of dout with the kernel flipped in both spatial axes.
    Recognises: the kernel unflipped (the planted bug), flipped in one axis only,
    the padding of dout by KH - 1 / KW - 1 swapped.
    """
    ex = Exercise(
        "conv2d_input_grad",
        student_fn,
        returns="dx",
        signature="conv2d_input_grad(dout, w) -> dx",
        formulas={"dx": "dx = full correlation of dout with w[:, :, ::-1, ::-1] (F and C swapped)"},
        reference=_input_grad,
    )
    for seed, ((N, F, OH, OW), (C, KH, KW)) in enumerate(
        [((2, 4, 5, 4), (3, 3, 2)), ((3, 2, 4, 6), (5, 2, 3)), ((1, 3, 3, 5), (2, 3, 3))]
    ):
        rng = np.random.default_rng(1390 + seed)
        dout = rng.normal(size=(N, F, OH, OW))
        w = rng.normal(size=(F, C, KH, KW))
        inputs = dict(dout=dout, w=w)
        dx, where = ex.call(inputs)
        got = dx[0]
        shape = (N, C, OH + KH - 1, OW + KW - 1)
        if isinstance(got, np.ndarray) and got.ndim == 4 and got.shape != shape:
            if got.shape[2:] == (OH - KH + 1, OW - KW + 1):
                ex.fail(
                    f"dx has shape {got.shape}, smaller than the input {shape}: that is a "
                    "VALID correlation. Every input pixel, the border ones too, sat in some "
                    "window, so dout is padded with KH - 1 rows and KW - 1 columns of zeros on "
                    "every side first",
                    where,
                )
            if got.shape[1] == F != C:
                ex.fail(
                    f"dx has shape {got.shape}: one map per filter (F = {F}); the input has "
                    f"C = {C} channels, so dx has one map per channel, summed over the filters",
                    where,
                )
        # _input_grad flips both axes: a learner's flip along one axis only is it applied to w
        # flipped along the OTHER axis.
        bugs = [
            Bug(
                "dx is the full correlation of dout with the kernel AS IT IS: the kernel must "
                "be flipped in both spatial axes for dx (this is the planted bug)",
                dx=_input_grad(dout, w[:, :, ::-1, ::-1]),
            ),
            Bug(
                "the kernel is flipped along its rows (KH) only: flip both spatial axes",
                dx=_input_grad(dout, w[:, :, :, ::-1]),
            ),
            Bug(
                "the kernel is flipped along its columns (KW) only: flip both spatial axes",
                dx=_input_grad(dout, w[:, :, ::-1, :]),
            ),
        ]
        ex.check(dx, {"dx": _input_grad(dout, w)}, bugs, where, inputs=inputs)
    ex.passed()


# --- predict, then run ---------------------------------------------------------------------
SET13_QUESTIONS = [
    register(
        Question(
            "q13_conv_out_shape",
            "x of shape (8, 3, 32, 32) goes through conv2d with w of shape (16, 3, 5, 5), "
            "stride 2, padding 1: what is out.shape?",
            "shape",
            (8, 16, 15, 15),
            wrong="out is (N, F, OH, OW). For OH, count the window positions down the padded "
            "input: how long is it with the padding on both sides, how many rows does the "
            "first window cover, and how many more windows fit if they start 2 apart "
            "(a partial window does not count)?",
            right="OH = (32 + 2*1 - 5) // 2 + 1 = 14 + 1 = 15, and OW alike; the batch stays 8 "
            "and there is one map per filter, 16",
        )
    ),
    register(
        Question(
            "q13_receptive_field",
            "A stack: conv 3x3 (stride 1), conv 3x3 (stride 1), max-pool 2x2 (stride 2), conv "
            "3x3 (stride 1). What is the side, in input pixels, of the receptive field of one "
            "unit of the last layer?",
            "number",
            10.0,
            tol=1e-9,
            wrong="use the recursion of lecture section 5: each layer adds (k - 1) times the "
            "current jump to the field, and multiplies the jump by its stride; the pool is a "
            "layer with k = 2, stride 2, and it changes the jump for the layer after it",
            right="3, then 5 (two 3x3 convs, jump 1), then 6 (the pool adds 1, the jump "
            "becomes 2), then 6 + 2*2 = 10",
        )
    ),
]
