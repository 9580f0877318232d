"""Batch normalisation (Ioffe & Szegedy 2015) as ONE fused op whose backward is derived by hand."""

import numpy as np

from bpkit.errors import ShapeError
from bpkit.nn.modules import Module, _as_tensor, _check_size
from bpkit.tensor import Tensor

__all__ = ["BatchNorm1d", "batch_norm"]


def _batch_norm_train(x, gamma, beta, eps):
    """Training-mode forward and the fused backward derived in ``BatchNorm1d``; returns (y, mu, var)."""
    xd, gd = x.data, gamma.data
    mu = np.mean(xd, axis=0)
    centred = xd - mu
    var = np.mean(centred * centred, axis=0)
    inv_s = 1.0 / np.sqrt(var + eps)
    x_hat = centred * inv_s
    out = gd * x_hat + beta.data

    def backward(g):
        dx_hat = g * gd
        dx = inv_s * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
        return dx, (g * x_hat).sum(axis=0), g.sum(axis=0)

    return Tensor.from_op(out, (x, gamma, beta), backward, "batch_norm"), mu, var


def _batch_norm_eval(x, gamma, beta, mean, var, eps):
    """y = gamma (x - mean) / sqrt(var + eps) + beta with fixed statistics: dx = g gamma / s."""
    inv_s = 1.0 / np.sqrt(var + eps)
    x_hat = (x.data - mean) * inv_s
    gd = gamma.data

    def backward(g):
        return g * (gd * inv_s), (g * x_hat).sum(axis=0), g.sum(axis=0)

    out = gd * x_hat + beta.data
    return Tensor.from_op(out, (x, gamma, beta), backward, "batch_norm_eval")


def _check_input(x, num_features, layer, training):
    """x must be (batch, num_features), with 2+ rows in training; ``layer`` names the culprit."""
    if x.ndim == 2 and x.shape[1] == num_features and (x.shape[0] >= 2 or not training):
        return
    layer = repr(layer) if isinstance(layer, Module) else layer
    if x.ndim != 2 or x.shape[1] != num_features:
        raise ShapeError(
            f"{layer}: expected input of shape (batch, {num_features}), got shape {x.shape}"
        )
    raise ShapeError(
        f"{layer}: training mode needs a batch of at least 2 rows to estimate a variance, "
        f"got shape {x.shape} (use .eval() to apply the running statistics)"
    )


def batch_norm(x, gamma, beta, eps=1e-5):
    """y = gamma (x - mean(x)) / sqrt(var(x) + eps) + beta, statistics over axis 0 (training mode).

    The functional form of ``BatchNorm1d`` in training mode: x (N, C), gamma and beta (C,).
    """
    x = _as_tensor(x, "batch_norm")
    gamma = _as_tensor(gamma, "batch_norm")
    beta = _as_tensor(beta, "batch_norm")
    _check_input(x, x.shape[-1] if x.ndim else 0, "batch_norm", True)
    for name, t in (("gamma", gamma), ("beta", beta)):
        if t.shape != (x.shape[1],):
            raise ShapeError(f"batch_norm: {name} must have shape ({x.shape[1]},), got {t.shape}")
    return _batch_norm_train(x, gamma, beta, eps)[0]


class BatchNorm1d(Module):
    """y = weight * (x - mean) / sqrt(var + eps) + bias, per feature, for x of shape (batch, features).

    Training mode normalises with the batch's own mean and (biased) variance and
    updates the running estimates
    ``running = (1 - momentum) * running + momentum * batch_statistic``;
    evaluation mode normalises with the running estimates, so a single example
    gives the same answer whatever batch it came in. ``weight`` (gamma, ones)
    and ``bias`` (beta, zeros) are the learned scale and shift (Ioffe & Szegedy 2015).
    NB (PyTorch): same conventions, including the unbiased variance (N / (N - 1))
    in the running estimate; bpkit handles (N, C) inputs only.

    The backward pass is ONE fused op (``Tensor.from_op``), derived by hand.

    Forward, for each feature (column) over the N rows of the batch:

        mu    = 1/N sum_k x_k
        var   = 1/N sum_k (x_k - mu)^2          (biased, as in the paper)
        s     = sqrt(var + eps)
        x_hat = (x - mu) / s
        y     = gamma x_hat + beta

    Backward, given g = dL/dy (shape (N, C)):

        dbeta  = sum_k g_k                     (y moves one-for-one with beta)
        dgamma = sum_k g_k x_hat_k
        dx_hat = g * gamma

    x_i reaches every x_hat_k through three paths: directly, through mu and
    through s. With dmu/dx_i = 1/N and, since sum_k (x_k - mu) = 0,
    ds/dx_i = (1 / (2 s)) (2/N)(x_i - mu) = x_hat_i / N:

        dx_hat_k/dx_i = (delta_ki - 1/N) / s - (x_k - mu)/s^2 * x_hat_i / N
                      = (delta_ki - 1/N - x_hat_k x_hat_i / N) / s

    Summing over k against dx_hat_k:

        dx_i = (1/s) (dx_hat_i - mean_k(dx_hat_k) - x_hat_i mean_k(dx_hat_k x_hat_k))

    One node instead of about eight primitive ones (subtract, square, mean,
    add, sqrt, divide, multiply, add), and no intermediate gradients stored.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.num_features = _check_size(num_features, "num_features", "BatchNorm1d")
        if not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be a positive number, got {eps!r}")
        if not isinstance(momentum, (int, float)) or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1], got {momentum!r}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.weight = Tensor(np.ones(self.num_features), requires_grad=True)
        self.bias = Tensor(np.zeros(self.num_features), requires_grad=True)
        # State, not parameters: plain arrays, so the optimiser never sees them.
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)

    def extra_repr(self):
        return f"num_features={self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"

    def forward(self, x):
        x = _as_tensor(x, self)
        _check_input(x, self.num_features, self, self.training)
        if not self.training:
            return _batch_norm_eval(
                x, self.weight, self.bias, self.running_mean, self.running_var, self.eps
            )
        out, mu, var = _batch_norm_train(x, self.weight, self.bias, self.eps)
        n = x.shape[0]
        m = self.momentum
        # In place: a notebook holding bn.running_mean sees it move.
        self.running_mean *= 1.0 - m
        self.running_mean += m * mu
        self.running_var *= 1.0 - m
        self.running_var += m * var * (n / (n - 1))
        return out
