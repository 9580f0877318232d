"""``Tensor``: reverse-mode autodiff on numpy arrays, one node per array operation.

The scalar engine stores one local derivative per input. For arrays that
would be a Jacobian, far too big to build: the output of ``x @ W`` with
``x`` of shape (64, 784) has a Jacobian of 64*10 by 64*784 numbers. Backprop
never needs it. It only needs the vector-Jacobian product (VJP): given the
upstream gradient ``g = dL/dout`` (shaped like ``out``), return ``dL/dinput``
(shaped like each input). So every op here computes its output and, right
beside it, a small function ``backward(g)`` returning one VJP per input:

    out = a @ b          backward(g) = (g @ b.T, a.T @ g)

The engine walks the graph in reverse topological order (``bpkit.graph``),
calls each ``backward`` once, sums the gradients a node receives from all of
its uses, and checks each one has its input's shape.

Broadcasting is undone in one place, ``unbroadcast``: if ``b`` of shape (3,)
was stretched to (4, 3) in ``a + b``, every row used ``b``, so ``b``'s
gradient is the upstream gradient summed over the stretched axis.

Data is float64 unless you hand over a float32 (or float16) ndarray, which is
kept; a Python number mixed in takes the tensor's dtype, as it does in numpy.
"""

import numpy as np

from bpkit.errors import GradientError, ShapeError
from bpkit.graph import topological_order
from bpkit.mode import _state, check_finite

__all__ = ["Tensor", "unbroadcast"]

_sum = np.add.reduce  # ndarray.sum without its Python wrapper: backward calls it on every broadcast


def unbroadcast(grad, shape):
    """Sum ``grad`` back to ``shape``: over leading axes numpy added and axes stretched from 1."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = _sum(grad, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = _sum(grad, axis=stretched, keepdims=True)
    return grad


def _make(data, parents, backward, op):
    """Create an op's output; record the graph only if grad mode is on and an input needs grad."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)  # numpy turns 0-d results into scalars; .data is always an ndarray
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out.label = ""
    out._op = op
    needs_grad = False
    if _state.grad_enabled:
        for p in parents:
            if p.requires_grad:
                needs_grad = True
                break
    if needs_grad:
        out.requires_grad = True
        out._parents = parents
        out._backward = backward
    else:
        # No graph at all: the closure (and the inputs it holds) is dropped here.
        out.requires_grad = False
        out._parents = ()
        out._backward = None
    if _state.anomaly:
        check_finite(op, data, "forward")
    return out


def _as_tensor(x, op, like):
    """Wrap a number, list or ndarray as a constant Tensor; refuse anything else naming ``op``."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        # A Python number is "weak" in numpy: float32 * 2.0 stays float32. Keep that.
        return Tensor(x, dtype=like.data.dtype)
    if isinstance(x, (np.ndarray, np.number, list, tuple)):
        return Tensor(x)
    raise TypeError(f"{op}: expected a Tensor, an array or a number, got {type(x).__name__}")


def _broadcast_error(op, a, b):
    return ShapeError(
        f"{op}: shapes {a.shape} and {b.shape} cannot broadcast "
        "(numpy aligns shapes from the right; each pair of sizes must be equal or 1)"
    )


def _normalize_axis(axis, ndim, op):
    """Turn an int/tuple/None axis into a sorted tuple of non-negative axes, with a clear error."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for ax in axes:
        if ndim == 0:
            raise ShapeError(f"{op}: axis {ax} given, but a 0-d tensor (a scalar) has no axes")
        if not -ndim <= ax < ndim:
            raise ShapeError(
                f"{op}: axis {ax} is out of range for a tensor with {ndim} dimensions "
                f"(valid: {-ndim} to {ndim - 1})"
            )
        result.append(int(ax) % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: axis {axis} names the same axis twice")
    return tuple(sorted(result))


def _is_basic_index(index):
    """True for ints, slices, None, ... (a view, no repeats); False if an array or list is in it."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
        and not isinstance(i, bool)
        for i in parts
    )


class Tensor:
    """An array that remembers how it was computed, so it can pass gradients back to its inputs."""

    __slots__ = ("_backward", "_op", "_parents", "data", "grad", "label", "requires_grad")

    # Make numpy defer to our reflected ops: ndarray + Tensor -> Tensor.__radd__.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, label=""):
        if isinstance(data, Tensor):
            raise TypeError("Tensor: data is already a Tensor; use it directly or call .detach()")
        try:
            # A copy: changing the caller's array later changes nothing here.
            array = np.array(data, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"Tensor: cannot make an array from {type(data).__name__}: {exc}"
            ) from None
        if dtype is None and array.dtype.kind != "f":
            if array.dtype.kind not in "biu":
                raise TypeError(
                    f"Tensor: data must be real numbers, got an array of dtype {array.dtype}"
                )
            array = array.astype(np.float64)
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._parents = ()
        self._backward = None
        self._op = ""

    @classmethod
    def from_op(cls, data, parents, backward, op):
        """A custom op: ``backward(g)`` returns a tuple of one gradient (or None) per parent.

        Each gradient is an ndarray shaped like its parent.

        Used by fused layers (BatchNorm) and gradient checkpointing; the engine
        sums, shape-checks and anomaly-checks these gradients like any other op's,
        and records nothing under ``no_grad()``. Return new arrays (or views of
        ``g``), not arrays the op keeps: a leaf may receive the array itself.
        """
        parents = tuple(parents)
        for p in parents:
            if not isinstance(p, Tensor):
                raise TypeError(f"{op}: parents must be Tensors, got {type(p).__name__}")
        data = np.asarray(data)
        if data.dtype.kind != "f":
            data = data.astype(np.float64)
        return _make(data, parents, backward, op)

    # --- views ------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def op(self):
        """The name of the op that produced this Tensor ('' for a leaf or a constant)."""
        return self._op

    @property
    def parents(self):
        """The Tensors this one was computed from (empty unless the graph was recorded)."""
        return self._parents

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len: a 0-d Tensor (a scalar) has no length; use .item()")
        return len(self.data)

    def __iter__(self):
        # Rows, each a graph node like t[i]. Without this Python would iterate by
        # calling t[0], t[1], ... until an IndexError.
        for i in range(len(self)):
            yield self[i]

    def item(self):
        """The value of a one-element Tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(
                f"item: only a one-element Tensor has an item, this one has shape {self.shape}"
            )
        return float(self.data.reshape(()))

    def numpy(self):
        """A copy of the data as an ndarray."""
        return self.data.copy()

    def detach(self):
        """The same data cut from the graph: a leaf sharing memory with ``self.data``."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out.requires_grad, out.label = self.data, None, False, self.label
        out._parents, out._backward, out._op = (), None, ""
        return out

    def zero_grad(self):
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        extra = ""
        if self.data.dtype != np.float64:
            extra += f", dtype={self.data.dtype}"
        if self._op:
            extra += f", op={self._op!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.label:
            extra += f", label={self.label!r}"
        return f"Tensor({body}{extra})"

    # --- elementwise binary ops (broadcasting) -------------------------------------------
    def __add__(self, other):
        """z = a + b; dz/da = g, dz/db = g (each summed back to its own shape)."""
        other = other if type(other) is Tensor else _as_tensor(other, "add", self)
        a, b = self.data, other.data
        try:
            data = a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

        def backward(g):
            return unbroadcast(g, a.shape), unbroadcast(g, b.shape)

        return _make(data, (self, other), backward, "add")

    def __sub__(self, other):
        """z = a - b; dz/da = g, dz/db = -g."""
        other = other if type(other) is Tensor else _as_tensor(other, "sub", self)
        a, b = self.data, other.data
        try:
            data = a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

        def backward(g):
            return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)

        return _make(data, (self, other), backward, "sub")

    def __mul__(self, other):
        """z = a * b; dz/da = g * b, dz/db = g * a."""
        other = other if type(other) is Tensor else _as_tensor(other, "mul", self)
        a, b = self.data, other.data
        try:
            data = a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None
        need_a, need_b = self.requires_grad, other.requires_grad

        def backward(g):
            # Skip the product a constant operand (2 * x, mask * x) would throw away.
            return (
                unbroadcast(g * b, a.shape) if need_a else None,
                unbroadcast(g * a, b.shape) if need_b else None,
            )

        return _make(data, (self, other), backward, "mul")

    def __truediv__(self, other):
        """z = a / b; dz/da = g / b, dz/db = -g a / b^2 = -g z / b."""
        other = other if type(other) is Tensor else _as_tensor(other, "div", self)
        a, b = self.data, other.data
        try:
            # IEEE: x/0 is +-inf, 0/0 NaN; anomaly mode is the tool that stops on them.
            with np.errstate(divide="ignore", invalid="ignore"):
                data = a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None
        need_a, need_b = self.requires_grad, other.requires_grad

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return (
                    unbroadcast(g / b, a.shape) if need_a else None,
                    unbroadcast(-g * data / b, b.shape) if need_b else None,
                )

        return _make(data, (self, other), backward, "div")

    def __pow__(self, other):
        """z = a ** p; dz/da = g p a^(p-1), and for a Tensor p, dz/dp = g z ln a."""
        if isinstance(other, (int, float, np.number)) and not isinstance(other, bool):
            a, p = self.data, other
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                data = a**p

            def backward_number(g):
                if p == 0:
                    return (np.zeros_like(a),)
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    return (g * (p * a ** (p - 1)),)

            return _make(data, (self,), backward_number, "pow")
        other = _as_tensor(other, "pow", self)
        a, b = self.data, other.data
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                data = a**b
        except ValueError:
            raise _broadcast_error("pow", a, b) from None

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                da = g * b * a ** (b - 1)
                # ln a exists for a > 0 only; where z = 0 (0 ** positive) the limit of z ln a is 0.
                db = g * data * np.log(np.where(a > 0, a, np.nan))
            db = np.where(data == 0, 0.0, db)
            return unbroadcast(da, a.shape), unbroadcast(db, b.shape)

        return _make(data, (self, other), backward, "pow")

    # Reflected forms: 2 * x, 1 - x, 1 / x, ndarray + x.
    def __radd__(self, other):
        return _as_tensor(other, "add", self) + self

    def __rsub__(self, other):
        return _as_tensor(other, "sub", self) - self

    def __rmul__(self, other):
        return _as_tensor(other, "mul", self) * self

    def __rtruediv__(self, other):
        return _as_tensor(other, "div", self) / self

    def __rpow__(self, other):
        return _as_tensor(other, "pow", self) ** self

    def __rmatmul__(self, other):
        return _as_tensor(other, "matmul", self) @ self

    def __neg__(self):
        """z = -a; dz/da = -g."""
        return _make(-self.data, (self,), lambda g: (-g,), "neg")

    # --- matrix product ---------------------------------------------------------------
    def __matmul__(self, other):
        """z = a @ b; dz/da = g @ b^T, dz/db = a^T @ g (1-D operands are treated as row/column)."""
        other = other if type(other) is Tensor else _as_tensor(other, "matmul", self)
        a, b = self.data, other.data
        try:
            data = a @ b
        except ValueError:
            raise _matmul_error(a, b) from None
        need_a, need_b = self.requires_grad, other.requires_grad

        if a.ndim == 2 and b.ndim == 2:  # the common case, kept short and fast

            def backward(g):
                # Skip the product nobody needs (e.g. dL/dx for the input batch).
                return (g @ b.T if need_a else None), (a.T @ g if need_b else None)

            return _make(data, (self, other), backward, "matmul")

        def backward_general(g):
            # Promote 1-D operands to matrices, as numpy's matmul does, then undo:
            # a vector on the left is a row (1, n), on the right a column (n, 1).
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g2 = g[..., None] if b.ndim == 1 else g
            g2 = g2[..., None, :] if a.ndim == 1 else g2
            da = db = None
            if need_a:
                da = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
            if need_b:
                db = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
            return da, db

        return _make(data, (self, other), backward_general, "matmul")

    # --- reductions -------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """z = sum of a over axis; dz/da = g copied back along the summed axes."""
        a = self.data
        axes = _normalize_axis(axis, a.ndim, "sum")
        data = _sum(a, axis=axes, keepdims=keepdims)

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, a.shape),)

        return _make(data, (self,), backward, "sum")

    def mean(self, axis=None, keepdims=False):
        """z = mean of a over axis; dz/da = g / (number of elements averaged), copied back."""
        a = self.data
        axes = _normalize_axis(axis, a.ndim, "mean")
        count = 1
        for ax in axes:
            count *= a.shape[ax]
        if count == 0:
            raise ShapeError(
                f"mean: cannot average over an empty axis of a tensor of shape {a.shape}"
            )
        data = _sum(a, axis=axes, keepdims=keepdims) / count

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g / count, a.shape),)

        return _make(data, (self,), backward, "mean")

    def max(self, axis=None, keepdims=False):
        """z = max of a over axis; dz/da = g at the maximum, 0 elsewhere; ties split g evenly.

        Where several entries share the maximum, each gets g / (number of ties),
        so the gradients still add up to g.
        NB (PyTorch): ``amax`` splits among ties like this; ``max(dim)`` picks one index.
        """
        a = self.data
        axes = _normalize_axis(axis, a.ndim, "max")
        if a.size == 0:
            raise ShapeError(f"max: a tensor of shape {a.shape} has no elements")
        kept = np.maximum.reduce(a, axis=axes, keepdims=True)
        data = kept if keepdims else np.squeeze(kept, axis=axes)

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            winners = (a == kept).astype(a.dtype)
            return (g * winners / _sum(winners, axis=axes, keepdims=True),)

        return _make(data, (self,), backward, "max")

    # --- shape ops --------------------------------------------------------------------
    def reshape(self, *shape):
        """z = a viewed with a new shape; dz/da = g viewed with a's shape."""
        a = self.data
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            data = a.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                f"into {shape}"
            ) from None
        return _make(data, (self,), lambda g: (g.reshape(a.shape),), "reshape")

    def transpose(self, *axes):
        """z = a with its axes permuted; dz/da = g with the inverse permutation."""
        a = self.data
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = axes or tuple(reversed(range(a.ndim)))
        in_range = all(-a.ndim <= ax < a.ndim for ax in axes)
        normalized = [int(ax) % a.ndim for ax in axes] if in_range else list(axes)
        if not in_range or sorted(normalized) != list(range(a.ndim)):
            raise ShapeError(
                f"transpose: axes {axes} are not a permutation of a {a.ndim}-D tensor's axes"
            )
        inverse = tuple(int(i) for i in np.argsort(normalized))
        return _make(a.transpose(axes), (self,), lambda g: (g.transpose(inverse),), "transpose")

    @property
    def T(self):
        """The transpose (all axes reversed)."""
        return self.transpose()

    def __getitem__(self, index):
        """z = a[index]; dz/da = zeros with g added at index (repeated indices add up)."""
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        elif isinstance(index, tuple):
            index = tuple(i.data.astype(np.intp) if isinstance(i, Tensor) else i for i in index)
        a = self.data
        try:
            data = a[index]
        except IndexError as exc:
            # IndexError, not ShapeError: `for row in t` and friends stop on IndexError.
            raise IndexError(
                f"getitem: index {index!r} does not fit a tensor of shape {a.shape}: {exc}"
            ) from None
        basic = _is_basic_index(index)
        # Basic indexing returns a view; copy so updating a.data in place cannot change z.
        data = np.array(data) if basic else np.asarray(data)

        def backward(g):
            grad = np.zeros_like(a)
            if basic:  # each element picked at most once: plain assignment is enough
                grad[index] = g
            else:
                np.add.at(grad, index, g)
            return (grad,)

        return _make(data, (self,), backward, "getitem")

    # --- elementwise functions ----------------------------------------------------------
    def exp(self):
        """z = e^a; dz/da = g z."""
        with np.errstate(over="ignore"):
            data = np.exp(self.data)

        def backward(g):
            with np.errstate(over="ignore", invalid="ignore"):
                return (g * data,)

        return _make(data, (self,), backward, "exp")

    def log(self):
        """z = ln a; dz/da = g / a."""
        a = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            data = np.log(a)

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore"):
                return (g / a,)

        return _make(data, (self,), backward, "log")

    def tanh(self):
        """z = tanh a; dz/da = g (1 - z^2)."""
        data = np.tanh(self.data)
        return _make(data, (self,), lambda g: (g * (1.0 - data * data),), "tanh")

    def sigmoid(self):
        """z = 1 / (1 + e^-a); dz/da = g z (1 - z)."""
        a = self.data
        # e^-|a| never overflows; pick the form that is stable on each side of 0.
        e = np.exp(-np.abs(a))
        data = np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return _make(data, (self,), lambda g: (g * data * (1.0 - data),), "sigmoid")

    def relu(self):
        """z = max(0, a); dz/da = g where a > 0, else 0 (0 at a = 0, as PyTorch does)."""
        a = self.data
        return _make(np.maximum(a, 0.0), (self,), lambda g: (g * (a > 0),), "relu")

    def softmax(self, axis=-1):
        """s = e^a / sum e^a over axis; dz/da = s * (g - sum(g * s, axis))."""
        a = self.data
        _normalize_axis(axis, a.ndim, "softmax")
        # Shift by the max: exp never overflows, and softmax(a - c) = softmax(a).
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        s = e / _sum(e, axis=axis, keepdims=True)

        def backward(g):
            return (s * (g - _sum(g * s, axis=axis, keepdims=True)),)

        return _make(s, (self,), backward, "softmax")

    def log_softmax(self, axis=-1):
        """z = a - logsumexp(a, axis); dz/da = g - softmax(a) * sum(g, axis)."""
        a = self.data
        _normalize_axis(axis, a.ndim, "log_softmax")
        # Never form softmax itself: log of an underflowed 0 would be -inf.
        shifted = a - a.max(axis=axis, keepdims=True)
        data = shifted - np.log(_sum(np.exp(shifted), axis=axis, keepdims=True))

        def backward(g):
            return (g - np.exp(data) * _sum(g, axis=axis, keepdims=True),)

        return _make(data, (self,), backward, "log_softmax")

    # --- backward -----------------------------------------------------------------------
    def backward(self, grad=None):
        """Fill ``.grad`` of every Tensor this one depends on with dL/d(that Tensor), L = self.

        A scalar output needs no ``grad``. For a non-scalar output pass
        ``grad`` = dL/d(self), shaped like self. Gradients accumulate into
        ``.grad`` across calls, as in PyTorch: zero them between steps.
        Intermediate tensors keep their ``.grad`` too, for inspection; it may
        share memory with other intermediates' gradients, so read it, don't
        modify it. A leaf's ``.grad`` is always its own array.
        """
        if not self.requires_grad:
            raise GradientError(
                "backward: this tensor does not require grad, so no graph was recorded. "
                "Create the inputs with requires_grad=True (and don't compute under no_grad())."
            )
        if grad is None:
            if self.data.size != 1:
                raise GradientError(
                    f"backward: called on a tensor of shape {self.shape} without grad. "
                    "Backward starts from a scalar loss; reduce first "
                    "(e.g. out.sum() or out.mean()) "
                    f"or pass grad= an array of shape {self.shape} holding dL/d(out)."
                )
            grad = np.ones_like(self.data)
        else:
            # A private copy: the caller's array must not become some node's .grad.
            grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise GradientError(
                    f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape}; "
                    "they must match"
                )
        anomaly = _state.anomaly
        # Pending dL/d(node), summed over the node's uses; only nodes that need a gradient.
        grads = {id(self): grad}
        held = set()  # ids of arrays some node's .grad holds in this pass
        for node in reversed(topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue  # a constant, or a node nothing upstream depends on
            if type(g) is not np.ndarray:
                g = np.asarray(g)  # 0-d arithmetic gives numpy scalars; .grad is always an ndarray
            backward = node._backward
            if backward is None:  # a leaf, e.g. a parameter
                if node.grad is not None:
                    node.grad = np.asarray(node.grad + g)
                elif g.base is not None or id(g) in held:
                    # Optimizers update .grad in place; a view, or an array another node
                    # holds (add passes g on unchanged), must not change with it.
                    node.grad = g.copy()
                else:
                    node.grad = g
                held.add(id(node.grad))
                continue
            node.grad = g if node.grad is None else np.asarray(node.grad + g)
            held.add(id(g))
            parents = node._parents
            parent_grads = backward(g)
            if type(parent_grads) is not tuple or len(parent_grads) != len(parents):
                parent_grads = _checked_grads(node, parent_grads)
            for parent, pg in zip(parents, parent_grads):
                if pg is None or not parent.requires_grad:
                    continue
                # The check STYLE.md asks for after every op: a wrong shape here would
                # otherwise surface far away, or be broadcast silently into a wrong answer.
                if type(pg) is not np.ndarray or pg.shape != parent.data.shape:
                    pg = _checked_grad(node, parent, pg)
                if anomaly:
                    check_finite(
                        node._op, pg, "backward", f"gradient for input {_position(node, parent)}"
                    )
                key = id(parent)
                previous = grads.get(key)
                grads[key] = pg if previous is None else previous + pg


def _position(node, parent):
    """Which input of ``node`` ``parent`` is (by identity), for error messages."""
    return next(i for i, p in enumerate(node._parents) if p is parent)


def _checked_grads(node, parent_grads):
    """Accept a list in place of a tuple; refuse anything that is not one gradient per input."""
    if isinstance(parent_grads, (tuple, list)) and len(parent_grads) == len(node._parents):
        return tuple(parent_grads)
    raise GradientError(
        f"{node._op}: backward must return a tuple with one gradient (or None) per input "
        f"({len(node._parents)}), got {_describe(parent_grads)}"
    )


def _checked_grad(node, parent, pg):
    """A numpy scalar becomes a 0-d array; a wrong shape raises an error naming the op."""
    if isinstance(pg, np.generic):
        pg = np.asarray(pg)
    if type(pg) is np.ndarray and pg.shape == parent.data.shape:
        return pg
    raise GradientError(
        f"{node._op}: backward produced a gradient of {_describe(pg)} "
        f"for input {_position(node, parent)} of shape {parent.data.shape}"
    )


def _matmul_error(a, b):
    """Explain why ``a @ b`` failed: a 0-d operand, inner sizes, or batch axes."""
    if a.ndim == 0 or b.ndim == 0:
        return ShapeError(
            f"matmul: both operands need at least 1 dimension, got {a.shape} and {b.shape}"
        )
    k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        return ShapeError(
            f"matmul: shapes {a.shape} and {b.shape} don't align ({k_a} != {k_b}): "
            "the last axis of the left operand must match the second-to-last of the right"
        )
    return ShapeError(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot broadcast")


def _describe(x):
    """Name what a custom backward returned, for an error message."""
    if isinstance(x, np.ndarray):
        return f"shape {x.shape}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__} (return numpy arrays)"
