"""Convolutional layers (notebook 13): ``Conv2d``, ``MaxPool2d`` and ``Flatten``.

The maths and the backward passes live in ``bpkit.functional.conv2d`` and
``max_pool2d``; these Modules hold the parameters and check the shapes.
"""

import numpy as np

from bpkit import functional
from bpkit.errors import ShapeError
from bpkit.functional import _pair
from bpkit.nn.modules import Module, _as_tensor, _check_size, _init_weight
from bpkit.random import as_generator
from bpkit.tensor import Tensor

__all__ = ["Conv2d", "Flatten", "MaxPool2d"]


class Conv2d(Module):
    """y = conv2d(x, weight, bias, stride, padding): F = out_channels filters of shape (C, KH, KW).

    x (N, in_channels, H, W) -> y (N, out_channels, OH, OW). ``weight`` is
    (out_channels, in_channels, KH, KW), as in PyTorch, and ``bias`` (out_channels,).
    ``kernel_size`` is an int or a pair (KH, KW); stride and padding are ints.

    Init: each filter is a column of the im2col matmul, a Linear layer with
    fan_in = in_channels * KH * KW inputs, so ``init`` (He-uniform by default,
    for ReLU nets; any name or callable ``Linear`` accepts) draws a
    (fan_in, out_channels) matrix, reshaped to the filters. The bias starts at zero,
    as in ``Linear``: the random filters already break the symmetry.
    NB (PyTorch): nn.Conv2d draws weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        init="he_uniform",
        rng=None,
        bias=True,
    ):
        self.in_channels = _check_size(in_channels, "in_channels", "Conv2d")
        self.out_channels = _check_size(out_channels, "out_channels", "Conv2d")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = functional._int_arg(stride, "stride", "Conv2d", 1)
        self.padding = functional._int_arg(padding, "padding", "Conv2d", 0)
        self.init = init
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        w = _init_weight(init, (fan_in, self.out_channels), as_generator(rng), "Conv2d")
        # Column f of the (fan_in, F) matrix is filter f, flattened in (c, u, v) order.
        filters = np.ascontiguousarray(w.T).reshape(self.out_channels, self.in_channels, kh, kw)
        self.weight = Tensor(filters, requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_channels), requires_grad=True) if bias else None

    def extra_repr(self):
        kh, kw = self.kernel_size
        extra = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={(kh, kw) if kh != kw else kh}"
        )
        if self.stride != 1:
            extra += f", stride={self.stride}"
        if self.padding != 0:
            extra += f", padding={self.padding}"
        return extra if getattr(self, "bias", True) is not None else extra + ", bias=False"

    def forward(self, x):
        x = _as_tensor(x, self)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(
                f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), "
                f"got shape {x.shape}"
            )
        return functional.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(Module):
    """y = max_pool2d(x, kernel_size, stride): the max of each window, per channel; no parameters.

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows). The gradient
    goes to each window's winner only (the first one on ties, as PyTorch).
    """

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "MaxPool2d")

    def extra_repr(self):
        def show(pair):
            return pair[0] if pair[0] == pair[1] else pair

        return f"kernel_size={show(self.kernel_size)}, stride={show(self.stride)}"

    def forward(self, x):
        return functional.max_pool2d(_as_tensor(x, self), self.kernel_size, self.stride)


class Flatten(Module):
    """y = x.reshape(N, -1): every axis after the batch axis becomes one; dy/dx reshapes back."""

    def forward(self, x):
        x = _as_tensor(x, self)
        if x.ndim < 2:
            raise ShapeError(
                f"Flatten(): expected input with a batch axis and at least one more, "
                f"got shape {x.shape}"
            )
        return x.reshape(x.shape[0], -1)
