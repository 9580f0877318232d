"""Layers: ``Module`` and the building blocks of the course's networks.

A ``Module`` is a function with parameters. Its children and parameters are
found from its attributes, in the order they were assigned in ``__init__``:

- an attribute holding a ``Tensor`` with ``requires_grad=True`` is a parameter;
- an attribute holding a ``Module`` (or a list/tuple of Modules) is a child.

So ``parameters()`` is deterministic (definition order, depth first, each
Tensor once even if shared), and a learner's own module needs nothing more
than ``self.fc = Linear(...)``. Plain arrays (BatchNorm's running statistics)
are state, not parameters: the optimiser never touches them.
NB (PyTorch): ``nn.Module`` registers children in ``__setattr__``; same order, more machinery.
"""

import itertools

import numpy as np

from bpkit.errors import ShapeError
from bpkit.nn import init as nn_init
from bpkit.random import as_generator
from bpkit.tensor import Tensor

__all__ = [
    "MLP",
    "Dropout",
    "Linear",
    "Module",
    "RNNCell",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Tanh",
]


def _as_tensor(x, layer):
    """Inputs may be Tensors or arrays (a batch of data); anything else is refused, naming the layer.

    ``layer`` is a Module (its repr is built only for the error message) or a name.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, float, int)) and not isinstance(x, bool):
        return Tensor(x)
    name = repr(layer) if isinstance(layer, Module) else layer
    raise TypeError(f"{name}: expected a Tensor or an array as input, got {type(x).__name__}")


def _modules_in(value):
    """[(index, module)] for the Modules in a list or tuple (other entries, e.g. functions, skipped)."""
    if isinstance(value, (list, tuple)):
        return [(i, v) for i, v in enumerate(value) if isinstance(v, Module)]
    return []


class Module:
    """Base class: ``__call__`` runs ``forward``; parameters and children come from attributes."""

    # A class attribute, so a subclass that forgets super().__init__() still works.
    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, x)")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- structure ---------------------------------------------------------------------------
    def named_children(self):
        """[(name, module)] for the direct children, in attribute order (lists as name.0, name.1)."""
        children = []
        for name, value in vars(self).items():
            if isinstance(value, Module):
                children.append((name, value))
            else:
                children.extend((f"{name}.{i}", m) for i, m in _modules_in(value))
        return children

    def children(self):
        """The direct child modules, in attribute order."""
        return [m for _, m in self.named_children()]

    def modules(self):
        """This module and all its descendants, depth first, each once."""
        found, seen = [], set()
        stack = [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            found.append(m)
            stack.extend(reversed(m.children()))
        return found

    def named_parameters(self, prefix=""):
        """[(dotted name, Tensor)] in definition order, depth first; a shared Tensor appears once."""
        result, seen = [], set()
        self._collect(prefix, result, seen)
        return result

    def _collect(self, prefix, result, seen):
        for name, value in vars(self).items():
            if isinstance(value, Tensor):
                if value.requires_grad and id(value) not in seen:
                    seen.add(id(value))
                    result.append((prefix + name, value))
            elif isinstance(value, Module):
                value._collect(f"{prefix}{name}.", result, seen)
            else:
                for i, m in _modules_in(value):
                    m._collect(self._list_prefix(prefix, name, i), result, seen)

    def _list_prefix(self, prefix, name, i):
        return f"{prefix}{name}.{i}."

    def parameters(self):
        """All trainable Tensors (``requires_grad=True``), in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self):
        """The number of trainable numbers: sum of the parameters' sizes."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        """Forget every parameter's gradient (``.grad = None``) before the next backward."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics), for self and all children."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    # --- display -----------------------------------------------------------------------------
    def extra_repr(self):
        """The arguments shown inside ``Name(...)``; layers override it."""
        return ""

    def __repr__(self):
        name = type(self).__name__
        children = self.named_children()
        if not children:
            return f"{name}({self.extra_repr()})"
        lines = [f"{name}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for child_name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({child_name}): {body}")
        lines.append(")")
        return "\n".join(lines)


# --- layers ------------------------------------------------------------------------------------
_INITS = {
    "he_uniform": nn_init.he_uniform,
    "he_normal": nn_init.he_normal,
    "xavier_uniform": nn_init.xavier_uniform,
    "xavier_normal": nn_init.xavier_normal,
}


def _init_weight(init, shape, rng, layer):
    """Resolve ``init`` (a name from bpkit.nn.init, or a callable(shape, rng)) and draw W."""
    if isinstance(init, str):
        if init not in _INITS:
            raise ValueError(f"{layer}: unknown init {init!r}; choose one of {sorted(_INITS)}")
        return _INITS[init](shape, rng)
    if callable(init):
        w = np.asarray(init(shape, rng), dtype=np.float64)
        if w.shape != shape:
            raise ShapeError(f"{layer}: init returned shape {w.shape}, expected {shape}")
        return w
    raise TypeError(f"{layer}: init must be a name or a callable(shape, rng), got {init!r}")


def _check_size(value, what, layer):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive int, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x @ W + b, W of shape (in_features, out_features), b of shape (out_features,).

    Backward (notebook 03): dx = dy @ W.T, dW = x.T @ dy, db = dy summed over the batch.
    NB (PyTorch): nn.Linear stores W as (out, in) and computes x @ W.T; bpkit keeps
    (in, out) so the code reads like the math, x @ W.
    """

    def __init__(self, in_features, out_features, init="he_uniform", rng=None, bias=True):
        self.in_features = _check_size(in_features, "in_features", "Linear")
        self.out_features = _check_size(out_features, "out_features", "Linear")
        self.init = init
        shape = (self.in_features, self.out_features)
        w = _init_weight(init, shape, as_generator(rng), repr(self))
        self.weight = Tensor(w, requires_grad=True)
        # Zero biases: the random weights already break the symmetry between units.
        self.bias = Tensor(np.zeros(self.out_features), requires_grad=True) if bias else None

    def extra_repr(self):
        extra = f"in_features={self.in_features}, out_features={self.out_features}"
        return extra if getattr(self, "bias", True) is not None else extra + ", bias=False"

    def forward(self, x):
        x = _as_tensor(x, self)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"{self!r}: expected input with last dimension {self.in_features}, "
                f"got shape {x.shape}"
            )
        if x.ndim > 2:
            # (N, T, in): one 2-D matmul over all N*T rows. Its backward, x.T @ g, is one
            # matmul too, not a batch of N products summed afterwards.
            lead = x.shape[:-1]
            y = (x.reshape(-1, self.in_features) @ self.weight).reshape(*lead, self.out_features)
        else:
            y = x @ self.weight
        return y if self.bias is None else y + self.bias


class ReLU(Module):
    """y = max(0, x); dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        return _as_tensor(x, self).relu()


class Tanh(Module):
    """y = tanh x; dy/dx = 1 - y^2."""

    def forward(self, x):
        return _as_tensor(x, self).tanh()


class Sigmoid(Module):
    """y = 1 / (1 + e^-x); dy/dx = y (1 - y)."""

    def forward(self, x):
        return _as_tensor(x, self).sigmoid()


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def _activation(spec, what):
    """A fresh activation Module from a name or a Module class."""
    if isinstance(spec, str):
        if spec not in _ACTIVATIONS:
            raise ValueError(
                f"MLP: unknown {what} {spec!r}; choose one of {sorted(_ACTIVATIONS)} "
                "or pass a Module class"
            )
        return _ACTIVATIONS[spec]()
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec()
    raise TypeError(f"MLP: {what} must be a name or a Module class, got {spec!r}")


class Sequential(Module):
    """y = layer_n(... layer_2(layer_1(x))): indexable, sliceable, with a length."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])  # Sequential([a, b]) reads as Sequential(a, b)
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(
                    f"Sequential: layer {i} must be a Module or callable, got {type(layer).__name__}"
                )
        self.layers = list(layers)

    def named_children(self):
        # Children are named by position, as in PyTorch: (0): Linear(...).
        return [(str(i), m) for i, m in _modules_in(self.layers)]

    def _list_prefix(self, prefix, name, i):
        return f"{prefix}{i}."

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(Sequential):
    """A multilayer perceptron: Linear -> [BatchNorm1d] -> activation, repeated, then a last Linear.

    ``sizes = [n_in, h_1, ..., n_out]``. ``init=None`` picks the matching
    scheme: He for ReLU (He et al. 2015), Xavier otherwise (Glorot & Bengio
    2010), both uniform. One generator made from ``rng`` draws every layer, so
    layers differ and a seed reproduces the whole network.
    """

    def __init__(
        self,
        sizes,
        activation="relu",
        init=None,
        rng=None,
        batchnorm=False,
        output_activation=None,
    ):
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError(
                f"MLP: sizes must be a list [n_in, hidden..., n_out] of at least 2 ints, got {sizes!r}"
            )
        for n in sizes:
            _check_size(n, "every size", "MLP")
        _activation(activation, "activation")  # validate before building anything
        if output_activation is not None:
            _activation(output_activation, "output_activation")
        if init is None:
            init = "he_uniform" if activation in ("relu", ReLU) else "xavier_uniform"
        rng = as_generator(rng)
        from bpkit.nn.batchnorm import BatchNorm1d  # batchnorm imports this module

        layers = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(Linear(n_in, n_out, init=init, rng=rng))
            if i < len(sizes) - 2:
                if batchnorm:
                    layers.append(BatchNorm1d(n_out))
                layers.append(_activation(activation, "activation"))
        if output_activation is not None:
            layers.append(_activation(output_activation, "output_activation"))
        super().__init__(*layers)
        self.sizes = [int(n) for n in sizes]

    def linear_layers(self):
        """The Linear layers in order (for per-layer gradient statistics)."""
        return [m for m in self.layers if isinstance(m, Linear)]


class Residual(Module):
    """y = x + block(x): the identity path carries the gradient dy/dx = I + dblock/dx."""

    def __init__(self, block):
        if not isinstance(block, Module):
            raise TypeError(f"Residual: block must be a Module, got {type(block).__name__}")
        self.block = block

    def forward(self, x):
        x = _as_tensor(x, self)
        fx = self.block(x)
        if fx.shape != x.shape:
            raise ShapeError(
                f"Residual({self.block!r}): block output shape {fx.shape} differs from input "
                f"shape {x.shape}; x + block(x) needs the block to keep the shape"
            )
        return x + fx


class Dropout(Module):
    """Training: y = x * m / (1 - p), m_i ~ Bernoulli(1 - p); evaluation: y = x.

    Inverted dropout (Srivastava et al. 2014 scale at test time instead):
    dividing by the keep probability during training keeps E[y] = x, so
    nothing changes at evaluation. The gradient flows only through kept units.
    """

    def __init__(self, p=0.5, rng=None):
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
            raise ValueError(
                f"Dropout: p is the probability of dropping a unit and must be in [0, 1), got {p!r}"
            )
        self.p = float(p)
        self.rng = as_generator(rng)

    def extra_repr(self):
        return f"p={self.p:g}"

    def forward(self, x):
        x = _as_tensor(x, self)
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        # A constant mask: the product's backward passes g only where the unit was kept.
        return x * (keep / (1.0 - self.p))


class RNNCell(Module):
    """h' = tanh(x @ W_ih + h @ W_hh + b), W_ih (input_size, hidden), W_hh (hidden, hidden).

    ``forward(x, h=None)`` takes x of shape (batch, input_size) and h of shape
    (batch, hidden_size) (zeros if None) and returns h'. Unroll it in a loop
    for backprop through time. Weights are Xavier-uniform, b is zero.
    NB (PyTorch): nn.RNNCell stores transposed weights, has two biases and
    draws everything from U(-1/sqrt(hidden), 1/sqrt(hidden)).
    """

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", rng=None):
        self.input_size = _check_size(input_size, "input_size", "RNNCell")
        self.hidden_size = _check_size(hidden_size, "hidden_size", "RNNCell")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        rng = as_generator(rng)
        self.weight_ih = Tensor(
            nn_init.xavier_uniform((self.input_size, self.hidden_size), rng), requires_grad=True
        )
        self.weight_hh = Tensor(
            nn_init.xavier_uniform((self.hidden_size, self.hidden_size), rng), requires_grad=True
        )
        self.bias = Tensor(np.zeros(self.hidden_size), requires_grad=True)

    def extra_repr(self):
        extra = f"input_size={self.input_size}, hidden_size={self.hidden_size}"
        return (
            extra
            if self.nonlinearity == "tanh"
            else extra + f", nonlinearity={self.nonlinearity!r}"
        )

    def forward(self, x, h=None):
        x = _as_tensor(x, self)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ShapeError(
                f"{self!r}: expected x of shape (batch, {self.input_size}), got shape {x.shape}"
            )
        if h is None:
            h = Tensor(np.zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
        h = _as_tensor(h, self)
        if h.shape != (x.shape[0], self.hidden_size):
            raise ShapeError(
                f"{self!r}: expected h of shape ({x.shape[0]}, {self.hidden_size}) "
                f"to match x {x.shape}, got shape {h.shape}"
            )
        z = x @ self.weight_ih + h @ self.weight_hh + self.bias
        return z.tanh() if self.nonlinearity == "tanh" else z.relu()
