"""Losses, normalisers and layers' maths, as fused ops with hand-derived backward passes.

A fused op computes in one node what could be built from primitives, for
two reasons: stability (``log(softmax(x))`` underflows to ``log(0) = -inf``
for large logits; ``log_softmax`` never forms the tiny probability) and
speed (one backward, ``(softmax - onehot) / N``, instead of five).

Each function takes Tensors or plain arrays. ``softmax`` and ``log_softmax``
return what they were given (a Tensor for a Tensor, an ndarray for an
array); the losses always return a scalar Tensor, so ``.backward()`` works;
the layers' ops (``conv2d``, ``max_pool2d`` for notebook 13; ``embedding``,
``layer_norm``, ``scaled_dot_product_attention``, ``gelu`` for notebook 14)
always return a Tensor.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bpkit.errors import ShapeError
from bpkit.tensor import Tensor, _make, _normalize_axis, _sum

__all__ = [
    "conv2d",
    "cross_entropy",
    "embedding",
    "gelu",
    "layer_norm",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "scaled_dot_product_attention",
    "softmax",
]


def _float_array(x, name):
    """``x`` as a float ndarray (float64 unless already float), or a TypeError naming ``name``."""
    array = np.asarray(x)
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind not in "biu":
        raise TypeError(f"{name}: expected numbers, got {type(x).__name__} of dtype {array.dtype}")
    return array.astype(np.float64)


def _stable_log_softmax(z, axis):
    """log softmax(z) = z - max - log(sum(exp(z - max))): the exponent never exceeds 0."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``axis``; Tensor -> Tensor, array -> ndarray."""
    if isinstance(x, Tensor):
        return x.softmax(axis)
    x = _float_array(x, "softmax")
    _normalize_axis(axis, x.ndim, "softmax")
    return np.exp(_stable_log_softmax(x, axis))


def log_softmax(x, axis=-1):
    """log_softmax(x) = x - logsumexp(x) along ``axis``; Tensor -> Tensor, array -> ndarray."""
    if isinstance(x, Tensor):
        return x.log_softmax(axis)
    x = _float_array(x, "log_softmax")
    _normalize_axis(axis, x.ndim, "log_softmax")
    return _stable_log_softmax(x, axis)


def _check_targets(logits, targets):
    """Labels as an int array of shape (N,) with values in [0, C), or an error saying why not."""
    if logits.ndim != 2:
        raise ShapeError(
            f"cross_entropy: logits must have shape (N, C), one row of class scores per example, "
            f"got shape {logits.shape}"
        )
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if targets.dtype.kind not in "iu":
        # Integer-valued floats (labels that went through a float array) are accepted.
        if targets.dtype.kind == "f" and np.all(targets == np.round(targets)):
            targets = targets.astype(np.intp)
        else:
            raise TypeError(
                f"cross_entropy: targets must be integer class labels, got dtype {targets.dtype} "
                "(for one-hot targets use y.argmax(axis=1))"
            )
    n, c = logits.shape
    if targets.shape != (n,):
        raise ShapeError(
            f"cross_entropy: targets must have shape ({n},) to match logits {logits.shape}, "
            f"got {targets.shape}"
        )
    if n == 0:
        raise ShapeError(f"cross_entropy: the batch is empty (logits of shape {logits.shape})")
    low, high = np.minimum.reduce(targets), np.maximum.reduce(targets)
    if low < 0 or high >= c:
        raise ValueError(
            f"cross_entropy: targets must be in [0, {c}) for {c} classes (logits {logits.shape}), "
            f"got values from {low} to {high}"
        )
    return targets


def cross_entropy(logits, targets):
    """L = -mean_i log softmax(logits_i)[y_i]; dL/dlogits = (softmax(logits) - onehot(y)) / N.

    ``logits``: (N, C) Tensor or array of class scores; ``targets``: N integer
    labels in [0, C). Stable for any finite logits: only exponents <= 0 are formed.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(_float_array(logits, "cross_entropy"))
    z = logits.data
    y = _check_targets(z, targets)
    n = z.shape[0]
    # ufunc.reduce, not .max()/.sum(): the methods add a Python wrapper, and this runs every step.
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)
    e = np.exp(shifted)
    total = _sum(e, axis=1, keepdims=True)
    rows = np.arange(n)
    # log sum_j e^(z_j - max) - (z_y - max): the max cancels, and log(total) >= 0 since total >= 1.
    loss = (_sum(np.log(total), axis=None) - _sum(shifted[rows, y])) / n

    def backward(g):
        dz = e / total
        dz[rows, y] -= 1.0
        dz *= g / n  # in place: dz is ours, and this is the hot path of every classifier
        return (dz,)

    return _make(loss, (logits,), backward, "cross_entropy")


def mse_loss(pred, target):
    """L = mean((pred - target)^2); dL/dpred = 2 (pred - target) / size, dL/dtarget = -dL/dpred."""
    pred = pred if isinstance(pred, Tensor) else Tensor(_float_array(pred, "mse_loss"))
    target = target if isinstance(target, Tensor) else Tensor(_float_array(target, "mse_loss"))
    if pred.shape != target.shape:
        raise ShapeError(
            f"mse_loss: pred has shape {pred.shape} but target has shape {target.shape}; "
            "they must match (reshape one, e.g. y.reshape(-1, 1))"
        )
    diff = pred.data - target.data
    size = diff.size
    if size == 0:
        raise ShapeError(f"mse_loss: empty inputs of shape {pred.shape}")

    def backward(g):
        d = (2.0 / size) * g * diff
        return d, -d

    return _make(np.sum(diff * diff) / size, (pred, target), backward, "mse_loss")


# --- convolution and pooling (notebook 13) ---------------------------------------------------
def _tensor(x, op):
    """A Tensor as is; numbers, lists and arrays as a constant float Tensor; else a TypeError."""
    if isinstance(x, Tensor):
        return x
    return Tensor(_float_array(x, op))


def _int_arg(value, name, op, minimum):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be a {kind} int, got {value!r}")
    return int(value)


def _pair(value, name, op):
    """An int k or a pair (kh, kw) of positive ints, as (kh, kw)."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(_int_arg(v, name, op, 1) for v in value)
    k = _int_arg(value, name, op, 1)
    return k, k


def _check_4d(x, op, what="x", layout="(N, C, H, W)"):
    if x.ndim == 4:
        return
    hint = f" (one image? {what}[None] adds the batch axis)" if x.ndim == 3 else ""
    raise ShapeError(f"{op}: {what} must have shape {layout}, got shape {x.shape}{hint}")


def _windows(x, kh, kw, stride):
    """Every (kh, kw) window of x (N, C, H, W) at the given stride: a view (N, C, OH, OW, kh, kw).

    No copy and no loop: ``sliding_window_view`` only changes the strides, so
    window (i, j) starts at pixel (i * stride, j * stride) of the same memory.
    """
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """out[n, f, i, j] = sum_{c,u,v} x_pad[n, c, s i + u, s j + v] weight[f, c, u, v] + bias[f].

    x (N, C, H, W), weight (F, C, KH, KW), bias (F,) or None; returns (N, F, OH, OW) with
    OH = (H + 2p - KH) // s + 1 (and OW alike), s = ``stride``, p = ``padding`` (zeros).
    Cross-correlation, as PyTorch's conv2d: the kernel is not flipped.

    Forward through im2col: each output pixel's receptive field becomes one column of
    ``cols`` (C*KH*KW, N*OH*OW), and the convolution is ONE matmul with the filters
    as rows, ``W.reshape(F, -1) @ cols``: a Linear layer whose weights every window
    shares. (Notebook 13 draws the transpose, one row per pixel; this layout keeps
    the pixels on the long, contiguous axis, which numpy's loops prefer.) Backward,
    one VJP per input, with G = g as an (F, N*OH*OW) matrix:

        db    = G summed over columns                   (every pixel used the bias)
        dW    = G @ cols.T                              (a correlation of x with g)
        dcols = W.reshape(F, -1).T @ G; dx = col2im(dcols)

    im2col and col2im loop over the KH*KW kernel offsets, never over pixels: for a
    fixed offset (u, v) the windows read (and write) distinct pixels, one strided
    slice of the padded input. col2im adds each column of dcols back onto the
    pixels of its window: windows overlap, so a pixel collects one term from every
    window it sits in (a full correlation of g with the flipped kernel); one
    strided ``+=`` per offset accumulates exactly.
    NB (PyTorch): stride and padding are ints here; PyTorch also takes pairs.
    """
    op = "conv2d"
    x, weight = _tensor(x, op), _tensor(weight, op)
    s = _int_arg(stride, "stride", op, 1)
    p = _int_arg(padding, "padding", op, 0)
    _check_4d(x, op)
    _check_4d(weight, op, "weight", "(F, C, KH, KW)")
    n, c, h, w = x.shape
    f, c_w, kh, kw = weight.shape
    if c != c_w:
        raise ShapeError(
            f"{op}: x has {c} channels (shape {x.shape}) but weight expects {c_w} "
            f"(shape {weight.shape}); weight must be (F, C, KH, KW) with C = x.shape[1]"
        )
    if kh > h + 2 * p or kw > w + 2 * p:
        raise ShapeError(
            f"{op}: kernel {kh}x{kw} (weight {weight.shape}) is larger than the padded input "
            f"{h + 2 * p}x{w + 2 * p} (x {x.shape}, padding {p})"
        )
    parents = (x, weight)
    if bias is not None:
        bias = _tensor(bias, op)
        if bias.shape != (f,):
            raise ShapeError(
                f"{op}: bias must have shape ({f},), one per filter of weight {weight.shape}, "
                f"got shape {bias.shape}"
            )
        parents = (x, weight, bias)
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    if p:  # zero padding (np.pad does the same with more Python overhead per call)
        xp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=x.data.dtype)
        xp[:, :, p : p + h, p : p + w] = x.data
    else:
        xp = x.data
    def pixels(a, u, v):
        """What kernel offset (u, v) meets in every window of a: a strided view (N, C, OH, OW)."""
        return a[:, :, u : u + s * oh : s, v : v + s * ow : s]

    # im2col: cols[(c, u, v), (n, i, j)] = xp[n, c, s i + u, s j + v], one offset at a time.
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=xp.dtype)
    for u in range(kh):
        for v in range(kw):
            cols[:, u, v] = pixels(xp, u, v).transpose(1, 0, 2, 3)
    cols = cols.reshape(c * kh * kw, n * oh * ow)
    w_mat = weight.data.reshape(f, c * kh * kw)
    out = w_mat @ cols  # (F, N*OH*OW): one column per output pixel
    if bias is not None:
        out += bias.data[:, None]
    data = np.ascontiguousarray(out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3))
    need_x, need_w = x.requires_grad, weight.requires_grad

    def backward(g):
        g_mat = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(f, n * oh * ow)
        dx = dw = None
        if need_w:
            dw = (g_mat @ cols.T).reshape(weight.shape)
        if need_x:
            dcols = (w_mat.T @ g_mat).reshape(c, kh, kw, n, oh, ow)
            dxp = np.zeros(xp.shape, dtype=dcols.dtype)
            for u in range(kh):  # col2im: one strided add per kernel offset
                for v in range(kw):
                    pixels(dxp, u, v)[...] += dcols[:, u, v].transpose(1, 0, 2, 3)
            dx = dxp[:, :, p : p + h, p : p + w] if p else dxp
        if bias is None:
            return dx, dw
        return dx, dw, g_mat.sum(axis=1)

    return _make(data, parents, backward, op)


def max_pool2d(x, kernel_size, stride=None):
    """out[n, c, i, j] = max of x[n, c] over the window at (s i, s j); dx = g at the argmax, else 0.

    x (N, C, H, W); ``kernel_size`` an int or a pair (KH, KW); ``stride`` an int or a
    pair, ``kernel_size`` if None (non-overlapping windows). No padding; a partial
    window at the edge is dropped, OH = (H - KH) // s + 1.
    Backward routes each output's gradient to the one input that won its window;
    where several entries tie for the max, the first in row-major order wins and
    gets all of g (as PyTorch). Overlapping windows (stride < kernel) can pick the
    same pixel twice: its gradients add up.

    Like conv2d's im2col, no pass loops over pixels: ``x[:, :, u::s, v::s]`` (cut to
    OH x OW) holds entry (u, v) of every window at once. Forward gathers the KH*KW
    entries of each window into ``slab`` (KH*KW, N, C, OH, OW), in row-major order,
    takes the maximum over the first axis, and marks each window's first entry equal
    to it (one winner on ties). Backward puts g where the marks are and scatters the
    slab back: one strided ``+=`` per offset (exact: for a fixed offset, distinct
    windows touch distinct pixels; overlapping windows add up at a shared pixel).
    """
    op = "max_pool2d"
    x = _tensor(x, op)
    kh, kw = _pair(kernel_size, "kernel_size", op)
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride", op)
    _check_4d(x, op)
    n, c, h, w = x.shape
    if kh > h or kw > w:
        raise ShapeError(f"{op}: kernel {kh}x{kw} is larger than the input {h}x{w} (x {x.shape})")
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    tiles = (sh, sw) == (kh, kw)  # non-overlapping windows: the slab is one transpose away

    def entries(a, u, v):
        """Entry (u, v) of every window of a: a strided view (N, C, OH, OW)."""
        return a[:, :, u : u + sh * oh : sh, v : v + sw * ow : sw]

    if tiles:
        cut = x.data[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
        slab = np.ascontiguousarray(cut.transpose(3, 5, 0, 1, 2, 4)).reshape(kh * kw, n, c, oh, ow)
    else:
        slab = np.stack([entries(x.data, u, v) for u in range(kh) for v in range(kw)])
    data = slab.max(axis=0)
    first = slab == data  # every entry equal to its window's max; keep the first only
    claimed = first[0].copy()
    for k in range(1, kh * kw):
        first[k] &= ~claimed
        claimed |= first[k]

    def backward(g):
        routed = np.where(first, g, 0.0)  # (KH*KW, N, C, OH, OW): g at each window's winner
        dx = np.zeros(x.shape, dtype=routed.dtype)
        if tiles:  # scatter = the forward's transpose, written straight into dx's windows
            windows = dx[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)  # a view
            windows.transpose(3, 5, 0, 1, 2, 4)[...] = routed.reshape(kh, kw, n, c, oh, ow)
            return (dx,)
        for k in range(kh * kw):
            entries(dx, *divmod(k, kw))[...] += routed[k]
        return (dx,)

    return _make(data, (x,), backward, op)


# --- embeddings, LayerNorm, attention, GELU (notebook 14) -------------------------------------
def _int_ids(ids, op, num_rows):
    """Row indices as an int array of any shape, each in [0, num_rows), or an error saying why not."""
    array = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    if array.dtype.kind not in "iu":
        # Integer-valued floats (ids that went through a float array or a Tensor) are accepted.
        if array.dtype.kind == "f" and np.all(array == np.round(array)):
            array = array.astype(np.intp)
        else:
            raise TypeError(f"{op}: ids must be integers, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= num_rows):
        raise IndexError(
            f"{op}: ids must be in [0, {num_rows}) for a table of {num_rows} rows, "
            f"got values from {array.min()} to {array.max()} (ids of shape {array.shape})"
        )
    return array


def embedding(ids, weight):
    """out = weight[ids], shape ids.shape + (D,); dweight[r] = sum of g over the positions where ids == r.

    ``ids`` an int array (any shape) of row numbers, ``weight`` (V, D). A lookup
    is a one-hot row times the table, ``onehot(ids) @ weight``, so its VJP is
    ``onehot(ids).T @ g``: each row of the table collects the gradients of every
    position that picked it. Backward is that scatter-add, ``np.add.at(dW, ids, g)``,
    never ``dW[ids] += g``: with a repeated id, fancy-index ``+=`` writes once per
    distinct id and silently drops the other copies.
    """
    op = "embedding"
    weight = _tensor(weight, op)
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must have shape (V, D), got shape {weight.shape}")
    rows = _int_ids(ids, op, weight.shape[0])
    table = weight.data

    def backward(g):
        dw = np.zeros_like(table)
        np.add.at(dw, rows, g)  # repeated ids accumulate
        return (dw,)

    return _make(table[rows], (weight,), backward, op)


def layer_norm(x, weight, bias, eps=1e-5):
    """y = weight * (x - mean) / sqrt(var + eps) + bias, statistics over the LAST axis of each row.

    x (..., D); weight and bias (D,) or None (scale 1, shift 0). Like BatchNorm1d
    but across the features of one example instead of across the batch, so a row's
    output does not depend on the other rows and training and evaluation agree.
    Backward as ONE fused op, BatchNorm's derivation with the roles of the axes
    swapped (means over the D features of each row, s = sqrt(var + eps)):

        dx_hat = g * weight
        dx     = (1/s) (dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat))   per row
        dweight = sum over rows of g x_hat;  dbias = sum over rows of g
    NB (PyTorch): F.layer_norm takes a normalized_shape; bpkit normalises the last axis only.
    """
    op = "layer_norm"
    x = _tensor(x, op)
    if x.ndim == 0:
        raise ShapeError(f"{op}: x must have a feature axis, got a 0-d tensor")
    d = x.shape[-1]
    parents = [x]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        t = _tensor(t, op)
        if t.shape != (d,):
            raise ShapeError(
                f"{op}: {name} must have shape ({d},) to match the last axis of x {x.shape}, "
                f"got shape {t.shape}"
            )
        parents.append(t)
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"{op}: eps must be a positive number, got {eps!r}")
    w = None if weight is None else parents[1].data
    xd = x.data
    mu = xd.mean(axis=-1, keepdims=True)
    centred = xd - mu
    inv_s = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    x_hat = centred * inv_s
    out = x_hat if w is None else x_hat * w
    if bias is not None:
        out = out + parents[-1].data

    def backward(g):
        dx_hat = g if w is None else g * w
        mean_g = dx_hat.mean(axis=-1, keepdims=True)
        mean_gx = (dx_hat * x_hat).mean(axis=-1, keepdims=True)
        grads = [inv_s * (dx_hat - mean_g - x_hat * mean_gx)]
        if weight is not None:
            grads.append((g * x_hat).reshape(-1, d).sum(axis=0))
        if bias is not None:
            grads.append(g.reshape(-1, d).sum(axis=0))
        return tuple(grads)

    return _make(out, tuple(parents), backward, op)


def scaled_dot_product_attention(q, k, v, causal=False):
    """out = softmax(q k^T / sqrt(d) [+ causal mask]) v, over the last two axes.

    q (..., T, d), k (..., S, d), v (..., S, dv) -> (..., T, dv); the leading
    (batch, head) axes must be equal (no broadcasting). ``causal=True`` lets query t
    see keys 0..t only (scores above the diagonal set to -inf, i.e. weight 0,
    BEFORE the softmax, so each row still sums to 1). Query 0 always sees key 0: no
    row can be fully masked. Why 1/sqrt(d): for q, k with independent unit-variance
    entries, q . k sums d products and has variance d; dividing by sqrt(d) keeps
    the scores' spread at 1 whatever d, so the softmax does not saturate.

    Backward as one fused op, with s the scaled scores and P = softmax(s) row-wise:

        dv = P^T g;  dP = g v^T
        ds = P * (dP - sum_j dP_j P_j)     the softmax VJP, per row (masked: P = 0, ds = 0)
        dq = ds k / sqrt(d);  dk = ds^T q / sqrt(d)
    NB (PyTorch): same maths as F.scaled_dot_product_attention(q, k, v, is_causal=...),
    whose causal mask is aligned at the top-left like this one; no dropout, no attn_mask.
    """
    op = "scaled_dot_product_attention"
    q, k, v = _tensor(q, op), _tensor(k, op), _tensor(v, op)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ShapeError(f"{op}: {name} must have shape (..., T, d), got shape {t.shape}")
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ShapeError(
            f"{op}: q {q.shape}, k {k.shape} and v {v.shape} must share their leading "
            "(batch, head) axes"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(
            f"{op}: q {q.shape} and k {k.shape} must have the same last axis (d), "
            f"got {q.shape[-1]} != {k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"{op}: k {k.shape} and v {v.shape} must have as many rows (keys = values), "
            f"got {k.shape[-2]} != {v.shape[-2]}"
        )
    qd, kd, vd = q.data, k.data, v.data
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (qd @ np.swapaxes(kd, -1, -2)) * scale
    if causal:
        t, s = scores.shape[-2:]
        scores = np.where(np.triu(np.ones((t, s), dtype=bool), k=1), -np.inf, scores)
    # Stable softmax: the row max is finite (the diagonal is never masked) and exponents are <= 0.
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    need_q, need_k, need_v = q.requires_grad, k.requires_grad, v.requires_grad

    def backward(g):
        dv = np.swapaxes(p, -1, -2) @ g if need_v else None
        dq = dk = None
        if need_q or need_k:
            dp = g @ np.swapaxes(vd, -1, -2)
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))  # dL/ds, s the scaled scores
            d_raw = ds * scale  # dL/d(q k^T): s = (q k^T) * scale
            dq = d_raw @ kd if need_q else None
            dk = np.swapaxes(d_raw, -1, -2) @ qd if need_k else None
        return dq, dk, dv

    return _make(p @ vd, (q, k, v), backward, op)


# numpy has no erf. Phi(x) = erfc(-x / sqrt 2) / 2 keeps full relative precision in the left
# tail, where 1 + erf(x / sqrt 2) would cancel to a few digits; math.erfc is exact to ~1 ulp.
_erfc = np.frompyfunc(math.erfc, 1, 1)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x, approximate="none"):
    """y = x Phi(x), Phi the standard normal CDF; dy/dx = Phi(x) + x phi(x) (Hendrycks & Gimpel 2016).

    ``approximate="tanh"``: Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, the
    form GPT-2 used; its derivative is taken of the approximation itself. It is also
    the fast one: numpy has no erf, so the exact form calls ``math.erfc`` once per
    element (roughly ten times the cost of a tanh); pick "tanh" in a training loop
    that must be quick.
    NB (PyTorch): the same two forms, with the exact one (erf) as default, as here.
    """
    op = "gelu"
    x = _tensor(x, op)
    a = x.data
    if approximate == "none":
        cdf = 0.5 * np.asarray(_erfc(-a / math.sqrt(2.0)), dtype=a.dtype)
        data = a * cdf

        def backward(g):
            pdf = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
            return (g * (cdf + a * pdf),)

    elif approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a**3))
        data = 0.5 * a * (1.0 + t)

        def backward(g):
            du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * a * a)
            return (g * (0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * du),)

    else:
        raise ValueError(f"{op}: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _make(data, (x,), backward, op)
