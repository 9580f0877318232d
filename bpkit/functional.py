"""Losses and normalisers, numerically stable, as fused ops with hand-derived backward passes.

A fused op computes in one node what could be built from primitives, for
two reasons: stability (``log(softmax(x))`` underflows to ``log(0) = -inf``
for large logits; ``log_softmax`` never forms the tiny probability) and
speed (one backward, ``(softmax - onehot) / N``, instead of five).
"""

import numpy as np

from bpkit.errors import ShapeError
from bpkit.tensor import Tensor, _make

__all__ = ["softmax", "log_softmax", "cross_entropy", "mse_loss"]


def _stable_log_softmax(z, axis):
    """log softmax(z) = z - max - log(sum(exp(z - max))): the exponent never exceeds 0."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``axis``; a Tensor in, a Tensor out (ndarray: ndarray)."""
    if isinstance(x, Tensor):
        return x.softmax(axis)
    x = np.asarray(x, dtype=np.float64)
    return np.exp(_stable_log_softmax(x, axis))


def log_softmax(x, axis=-1):
    """log_softmax(x) = x - logsumexp(x) along ``axis``; a Tensor in, a Tensor out (ndarray: ndarray)."""
    if isinstance(x, Tensor):
        return x.log_softmax(axis)
    return _stable_log_softmax(np.asarray(x, dtype=np.float64), axis)


def _check_targets(logits, targets):
    if logits.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if targets.dtype.kind not in "iu":
        if targets.dtype.kind == "f" and np.all(targets == np.round(targets)):
            targets = targets.astype(np.intp)
        else:
            raise TypeError(
                f"cross_entropy: targets must be integer class labels, got dtype {targets.dtype}"
            )
    n, c = logits.shape
    if targets.shape != (n,):
        raise ShapeError(
            f"cross_entropy: targets must have shape ({n},) to match logits {logits.shape}, "
            f"got {targets.shape}"
        )
    if n and (targets.min() < 0 or targets.max() >= c):
        raise ValueError(
            f"cross_entropy: targets must be in [0, {c}) for {c} classes, "
            f"got values from {targets.min()} to {targets.max()}"
        )
    return targets


def cross_entropy(logits, targets):
    """L = -mean_i log softmax(logits_i)[y_i]; dL/dlogits = (softmax(logits) - onehot(y)) / N."""
    logits = logits if isinstance(logits, Tensor) else Tensor(logits)
    z = logits.data
    y = _check_targets(z, targets)
    n = z.shape[0]
    if n == 0:
        raise ShapeError("cross_entropy: the batch is empty (logits of shape (0, C))")
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    # sum()/n rather than .mean(): ndarray.mean goes through a slow Python wrapper.
    loss = (np.log(total).sum() - shifted[rows, y].sum()) / n

    def backward(g):
        dz = e / total
        dz[rows, y] -= 1.0
        return (dz * (g / n),)

    return _make(np.asarray(loss), (logits,), backward, "cross_entropy")


def mse_loss(pred, target):
    """L = mean((pred - target)^2); dL/dpred = 2 (pred - target) / size, dL/dtarget = -dL/dpred."""
    pred = pred if isinstance(pred, Tensor) else Tensor(pred)
    target = target if isinstance(target, Tensor) else Tensor(target)
    if pred.shape != target.shape:
        raise ShapeError(
            f"mse_loss: pred has shape {pred.shape} but target has shape {target.shape}; "
            "they must match (reshape one, e.g. y.reshape(-1, 1))"
        )
    diff = pred.data - target.data
    size = diff.size
    if size == 0:
        raise ShapeError("mse_loss: empty inputs")

    def backward(g):
        d = (2.0 / size) * g * diff
        return d, -d

    return _make(np.asarray(np.mean(diff * diff)), (pred, target), backward, "mse_loss")
