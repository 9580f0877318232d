"""``Value``: reverse-mode autodiff on scalars, one node per arithmetic operation.

Every op computes its output *and* its local derivatives right away and
stores them beside the inputs they belong to:

    z = x * y    ->  Value(x.data * y.data, parents=(x, y), local=(y.data, x.data))

Backward then needs one loop and one rule, "local derivative times upstream
gradient", summed over every path (``+=``, so a node used twice gets both
contributions):

    for node in reversed(topological_order(root)):
        for parent, local in zip(node._parents, node._local):
            parent.grad += local * node.grad

Floats follow IEEE rules as numpy does (``log(0) = -inf``, ``exp(1000) = inf``);
wrap a computation in ``bpkit.detect_anomaly()`` to stop at the first op that
produces NaN or inf.
"""

import math

from bpkit.graph import topological_order
from bpkit.mode import _state, check_finite

__all__ = ["Value"]

_NUMBER = (int, float)


def _to_float(x):
    """float(x) for anything number-like (int, numpy scalar, Fraction); None for anything else.

    Strings are refused although float("2.5") works: a string in arithmetic is a bug, not a number.
    """
    if isinstance(x, (str, bytes, bytearray)) or getattr(x, "ndim", 0):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _describe(x):
    """'ndarray of shape (3,)' or "str 'abc'": what an error message says it got."""
    if getattr(x, "ndim", 0):
        return f"{type(x).__name__} of shape {x.shape} (use bpkit.Tensor for arrays)"
    return f"{type(x).__name__} {x!r}"


def _as_value(x, op):
    """Wrap a plain number as a constant Value; refuse anything else with a message naming ``op``."""
    if type(x) is float:  # the common case first: constants in formulas
        return Value(x)
    if isinstance(x, Value):
        return x
    data = _to_float(x)
    if data is None:
        raise TypeError(f"{op}: expected a Value or a number, got {_describe(x)}")
    return Value(data)


class Value:
    """A scalar that remembers how it was computed, so it can pass gradients back to its inputs."""

    __slots__ = ("_local", "_op", "_parents", "data", "grad", "label")

    def __init__(self, data, _parents=(), _local=(), _op="", label=""):
        if type(data) is not float:
            if isinstance(data, Value):
                raise TypeError("Value: data must be a number, got a Value (use it directly)")
            number = _to_float(data)
            if number is None:
                raise TypeError(f"Value: data must be a number, got {_describe(data)}")
            data = number
        self.data = data
        self.grad = 0.0
        self._parents = _parents
        self._local = _local
        self._op = _op
        self.label = label
        if _state.anomaly and _op:
            check_finite(_op, data, "forward")

    # --- read-only views used by plots and widgets -------------------------------
    @property
    def parents(self):
        """The Values this one was computed from (a tuple; empty for a leaf)."""
        return self._parents

    @property
    def local_grads(self):
        """d(self)/d(parent) for each parent, computed in the forward pass."""
        return self._local

    @property
    def op(self):
        """The name of the op that produced this Value ('' for a leaf)."""
        return self._op

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    # --- binary ops ---------------------------------------------------------------
    def __add__(self, other):
        """z = x + y; dz/dx = 1, dz/dy = 1."""
        other = other if type(other) is Value else _as_value(other, "add")
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        """z = x * y; dz/dx = y, dz/dy = x."""
        other = other if type(other) is Value else _as_value(other, "mul")
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __sub__(self, other):
        """z = x - y; dz/dx = 1, dz/dy = -1."""
        other = other if type(other) is Value else _as_value(other, "sub")
        return Value(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def __truediv__(self, other):
        """z = x / y; dz/dx = 1/y, dz/dy = -x/y^2."""
        other = other if type(other) is Value else _as_value(other, "div")
        x, y = self.data, other.data
        if y == 0.0:
            # IEEE: x/0 is +-inf (or NaN for 0/0); Python would raise ZeroDivisionError.
            dx = math.copysign(math.inf, y)
            z = x * dx if x else math.nan
            return Value(z, (self, other), (dx, -x * math.inf if x else math.nan), "/")
        z = x / y
        # -z/y rather than -x/y^2: y*y underflows to 0 for |y| < 1e-162.
        return Value(z, (self, other), (1.0 / y, -z / y), "/")

    def __pow__(self, other):
        """z = x ** p; dz/dx = p x^(p-1), and if p is a Value, dz/dp = z ln x."""
        if isinstance(other, Value):
            x, p = self.data, other.data
            z = _pow(x, p)
            dp = z * math.log(x) if x > 0 else (0.0 if z == 0 else math.nan)
            return Value(z, (self, other), (p * _pow(x, p - 1), dp), "**")
        if isinstance(other, bool) or not isinstance(other, _NUMBER):
            raise TypeError(
                f"pow: exponent must be a number or a Value, got {type(other).__name__}"
            )
        p = float(other)
        local = p * _pow(self.data, p - 1) if p else 0.0
        return Value(_pow(self.data, p), (self,), (local,), f"**{other:g}")

    # Reflected forms: 2 * x, 1 - x, 1 / x, 2 ** x.
    def __radd__(self, other):
        return _as_value(other, "add") + self

    def __rmul__(self, other):
        return _as_value(other, "mul") * self

    def __rsub__(self, other):
        return _as_value(other, "sub") - self

    def __rtruediv__(self, other):
        return _as_value(other, "div") / self

    def __rpow__(self, other):
        return _as_value(other, "pow") ** self

    def __neg__(self):
        """z = -x; dz/dx = -1."""
        return Value(-self.data, (self,), (-1.0,), "neg")

    # --- unary functions ----------------------------------------------------------
    def exp(self):
        """z = e^x; dz/dx = e^x = z."""
        try:
            z = math.exp(self.data)
        except OverflowError:  # IEEE: e^x overflows to inf for x > 709.78
            z = math.inf
        return Value(z, (self,), (z,), "exp")

    def log(self):
        """z = ln x; dz/dx = 1/x."""
        x = self.data
        if x > 0:
            return Value(math.log(x), (self,), (1.0 / x,), "log")
        return Value(
            -math.inf if x == 0 else math.nan, (self,), (math.inf if x == 0 else math.nan,), "log"
        )

    def tanh(self):
        """z = tanh x; dz/dx = 1 - z^2."""
        z = math.tanh(self.data)
        return Value(z, (self,), (1.0 - z * z,), "tanh")

    def sigmoid(self):
        """z = 1 / (1 + e^-x); dz/dx = z (1 - z)."""
        x = self.data
        # Two forms so that neither exp overflows.
        if x >= 0:
            z = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            z = e / (1.0 + e)
        return Value(z, (self,), (z * (1.0 - z),), "sigmoid")

    def relu(self):
        """z = max(0, x); dz/dx = 1 if x > 0 else 0 (we pick 0 at x = 0, as PyTorch does)."""
        x = self.data
        return Value(x if x > 0 else 0.0, (self,), (1.0 if x > 0 else 0.0,), "relu")

    # --- backward -----------------------------------------------------------------
    def backward(self):
        """Fill ``.grad`` of every Value this one depends on with d(self)/d(that Value).

        Leaves' gradients accumulate across calls, as in PyTorch: zero the
        parameters' ``.grad`` between training steps. An intermediate node's
        ``.grad`` is restarted from 0 on every call, because the loop passes on
        a node's whole ``.grad``: a stale value from an earlier call would be
        passed on again and counted twice.
        """
        # Leaves only receive gradients; the nodes an op computed also pass them on.
        computed = [node for node in topological_order(self) if node._parents]
        for node in computed:
            node.grad = 0.0
        self.grad = 1.0
        if _state.anomaly:
            for node in reversed(computed):
                for parent, local in zip(node._parents, node._local):
                    parent.grad += local * node.grad
                    if not math.isfinite(parent.grad):
                        check_finite(node._op, parent.grad, "backward", "input gradient")
            return
        for node in reversed(computed):
            grad = node.grad
            for parent, local in zip(node._parents, node._local):
                parent.grad += local * grad


def _pow(x, p):
    """x ** p as a float, NaN where the real power is undefined (negative base, fractional p)."""
    try:
        z = x**p
    except (ZeroDivisionError, OverflowError):
        # 0 ** negative and overflow are +-inf in IEEE; negative only for an odd integer p.
        return -math.inf if math.copysign(1.0, x) < 0 and p % 2 == 1 else math.inf
    return z if isinstance(z, float) else math.nan
