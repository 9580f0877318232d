"""Losses and normalisers, numerically stable, as fused ops with hand-derived backward passes.

A fused op computes in one node what could be built from primitives, for
two reasons: stability (``log(softmax(x))`` underflows to ``log(0) = -inf``
for large logits; ``log_softmax`` never forms the tiny probability) and
speed (one backward, ``(softmax - onehot) / N``, instead of five).

Each function takes Tensors or plain arrays. ``softmax`` and ``log_softmax``
return what they were given (a Tensor for a Tensor, an ndarray for an
array); the losses always return a scalar Tensor, so ``.backward()`` works.
"""

import numpy as np

from bpkit.errors import ShapeError
from bpkit.tensor import Tensor, _make, _normalize_axis, _sum

__all__ = ["cross_entropy", "log_softmax", "mse_loss", "softmax"]


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
