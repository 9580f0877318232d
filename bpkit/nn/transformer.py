"""The capstone's layers (notebook 14): ``Embedding``, ``LayerNorm``, ``GELU``, ``SelfAttention``.

The maths and the hand-derived backward passes live in ``bpkit.functional``
(``embedding``, ``layer_norm``, ``gelu``, ``scaled_dot_product_attention``);
these Modules hold the parameters and check the shapes.
"""

import numpy as np

from bpkit import functional
from bpkit.errors import ShapeError
from bpkit.nn.modules import Linear, Module, _as_tensor, _check_size
from bpkit.random import as_generator
from bpkit.tensor import Tensor

__all__ = ["GELU", "Embedding", "LayerNorm", "SelfAttention"]


class Embedding(Module):
    """y = weight[ids]: a learned vector per token id; weight (num_embeddings, embedding_dim).

    ``emb(ids)`` takes an int array of any shape (e.g. (N, T) character ids) and
    returns a Tensor of shape ids.shape + (embedding_dim,). Backward is a
    scatter-add into the rows that were picked (``functional.embedding``).
    Init N(0, 1), as PyTorch.
    """

    def __init__(self, num_embeddings, embedding_dim, rng=None):
        self.num_embeddings = _check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _check_size(embedding_dim, "embedding_dim", "Embedding")
        table = as_generator(rng).standard_normal((self.num_embeddings, self.embedding_dim))
        self.weight = Tensor(table, requires_grad=True)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def forward(self, ids):
        if isinstance(ids, Tensor) and ids.requires_grad:
            raise TypeError(f"{self!r}: ids are integers, not a Tensor that needs a gradient")
        return functional.embedding(ids, self.weight)


class LayerNorm(Module):
    """y = weight * (x - mean) / sqrt(var + eps) + bias over the last axis (Ba, Kiros & Hinton 2016).

    x (..., dim); ``weight`` (ones) and ``bias`` (zeros) of shape (dim,). No running
    statistics: each example is normalised with its own, in training and evaluation.
    """

    def __init__(self, dim, eps=1e-5):
        self.dim = _check_size(dim, "dim", "LayerNorm")
        if not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        self.weight = Tensor(np.ones(self.dim), requires_grad=True)
        self.bias = Tensor(np.zeros(self.dim), requires_grad=True)

    def extra_repr(self):
        return f"{self.dim}, eps={self.eps:g}"

    def forward(self, x):
        x = _as_tensor(x, self)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ShapeError(
                f"{self!r}: expected input with last dimension {self.dim}, got shape {x.shape}"
            )
        return functional.layer_norm(x, self.weight, self.bias, self.eps)


class GELU(Module):
    """y = x Phi(x) (Phi the standard normal CDF); ``approximate="tanh"`` for GPT-2's form."""

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def extra_repr(self):
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"

    def forward(self, x):
        return functional.gelu(_as_tensor(x, self), self.approximate)


class SelfAttention(Module):
    """Multi-head self-attention: y = proj(concat_h attention(x Wq_h, x Wk_h, x Wv_h)).

    x (N, T, dim) -> (N, T, dim). ``qkv`` is one ``Linear(dim, 3 dim)`` whose output
    columns are [q | k | v], each split into ``num_heads`` heads of dim / num_heads
    columns; ``proj`` is ``Linear(dim, dim)``. With ``causal=True`` (default) position
    t attends to positions 0..t only, as a language model must.
    Init: Xavier-uniform weights (no ReLU follows), zero biases.
    NB (PyTorch): nn.MultiheadAttention stores in_proj_weight (3 dim, dim), the
    transpose of ``qkv.weight``, and out_proj likewise; same head layout.
    """

    def __init__(self, dim, num_heads, causal=True, rng=None):
        self.dim = _check_size(dim, "dim", "SelfAttention")
        self.num_heads = _check_size(num_heads, "num_heads", "SelfAttention")
        if self.dim % self.num_heads:
            raise ValueError(
                f"SelfAttention: dim ({self.dim}) must be divisible by num_heads ({self.num_heads})"
            )
        self.causal = bool(causal)
        rng = as_generator(rng)
        self.qkv = Linear(self.dim, 3 * self.dim, init="xavier_uniform", rng=rng)
        self.proj = Linear(self.dim, self.dim, init="xavier_uniform", rng=rng)

    def extra_repr(self):
        return f"dim={self.dim}, num_heads={self.num_heads}, causal={self.causal}"

    def forward(self, x):
        x = _as_tensor(x, "SelfAttention")
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ShapeError(
                f"SelfAttention({self.extra_repr()}): expected input of shape (N, T, {self.dim}), "
                f"got shape {x.shape}"
            )
        n, t, d = x.shape
        heads, dh = self.num_heads, self.dim // self.num_heads
        qkv = self.qkv(x)

        def split(i):  # columns [i d, (i + 1) d) as (N, heads, T, dh)
            return qkv[:, :, i * d : (i + 1) * d].reshape(n, t, heads, dh).transpose(0, 2, 1, 3)

        out = functional.scaled_dot_product_attention(split(0), split(1), split(2), self.causal)
        return self.proj(out.transpose(0, 2, 1, 3).reshape(n, t, d))
