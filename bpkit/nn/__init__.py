"""Neural-network layers built on ``bpkit.Tensor``, and weight initialisers (``bpkit.nn.init``).

``Module`` finds its parameters and children from its attributes, in the
order ``__init__`` assigned them (see ``bpkit/nn/modules.py``).
"""

from bpkit.nn import init
from bpkit.nn.batchnorm import BatchNorm1d, batch_norm
from bpkit.nn.conv import Conv2d, Flatten, MaxPool2d
from bpkit.nn.modules import (
    MLP,
    Dropout,
    Linear,
    Module,
    ReLU,
    Residual,
    RNNCell,
    Sequential,
    Sigmoid,
    Tanh,
)
from bpkit.nn.recurrent import GRUCell, LSTMCell
from bpkit.nn.transformer import GELU, Embedding, LayerNorm, SelfAttention

__all__ = [
    "GELU",
    "MLP",
    "BatchNorm1d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRUCell",
    "LSTMCell",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "Module",
    "RNNCell",
    "ReLU",
    "Residual",
    "SelfAttention",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "batch_norm",
    "init",
]
