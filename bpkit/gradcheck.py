"""Gradient checking: compare backprop's gradients with central finite differences.

    df/dx_i  ~=  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

The truncation error of the central difference is O(eps^2) and its round-off
error O(machine_eps / eps), so in float64 eps ~ 1e-6 gives about 1e-10
absolute accuracy, enough to tell a right gradient (relative error ~1e-9)
from a wrong one (relative error ~1e-1).

Two faces (STYLE.md 7): ``gradcheck`` returns a report that tests can assert
on, and ``compare`` prints a one-line verdict for notebooks.
"""

from dataclasses import dataclass

import numpy as np

from bpkit.mode import no_grad
from bpkit.scalar import Value

__all__ = ["GradcheckReport", "compare", "gradcheck", "numerical_grad", "rel_error"]


def numerical_grad(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function ``f`` at ``x`` (a float or an array), in float64.

    ``f`` is called with an array of the same shape as ``x`` (a float if ``x`` is one)
    and must return a number. ``x`` itself is not modified.
    """
    if np.isscalar(x):
        x = float(x)
        return (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)
    x = np.array(x, dtype=np.float64)  # a private copy: perturbing it never touches the caller's
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        f_plus = float(f(x))
        x[index] = saved - eps
        f_minus = float(f(x))
        x[index] = saved
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(a, b, floor=1e-8):
    """max |a - b| / max(|a| + |b|, floor), elementwise: 0 means identical, ~1 means unrelated.

    Rules of thumb in float64 with central differences: < 1e-7 is right,
    1e-7..1e-4 look again (kinks like relu at 0), > 1e-2 is a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes {a.shape} and {b.shape} differ")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


@dataclass
class GradcheckReport:
    """What ``gradcheck`` found: the worst element, where it is, and whether it passed."""

    max_error: float
    input_index: int
    element_index: tuple
    analytic: float
    numeric: float
    tol: float
    passed: bool

    def __bool__(self):
        return self.passed

    def __str__(self):
        verdict = "PASS" if self.passed else "FAIL"
        where = f"input {self.input_index}"
        if self.element_index:
            where += f", element {self.element_index}"
        # (+ 0.0 prints a gradient of -0.0 as 0: a learner should not wonder what -0 means.)
        return (
            f"gradcheck {verdict}: max relative error {self.max_error:.2e} (tolerance {self.tol:.0e}) "
            f"at {where}: analytic {self.analytic + 0.0:.6g}, numeric {self.numeric + 0.0:.6g}"
        )

    def __repr__(self):
        return f"<{self}>"


def _kind(x):
    from bpkit.tensor import Tensor

    if isinstance(x, Value):
        return "value"
    if isinstance(x, Tensor):
        return "tensor"
    raise TypeError(
        f"gradcheck: inputs must be Value or Tensor objects, got {type(x).__name__}; "
        "use numerical_grad for plain functions of arrays"
    )


def gradcheck(f, *inputs, eps=1e-6, tol=1e-6, floor=1e-2, seed=0):
    """Check ``f(*inputs)``'s backprop gradients against central differences; return a report.

    ``inputs`` are Values or Tensors (their data is read, never changed). A
    non-scalar Tensor output is reduced to ``sum(out * R)`` with a fixed random
    ``R``, which checks the whole vector-Jacobian product. Per element the
    error is ``|a - n| / max(|a| + |n|, floor)``: relative, but absolute for
    gradients smaller than ``floor`` where finite differences lose digits.
    """
    from bpkit.tensor import Tensor

    if not inputs:
        raise TypeError("gradcheck: give at least one input to differentiate with respect to")
    kinds = [_kind(x) for x in inputs]
    base = [np.array(x.data, dtype=np.float64) for x in inputs]

    def leaves(arrays):
        return [
            Value(float(a)) if kind == "value" else Tensor(a.copy(), requires_grad=True)
            for a, kind in zip(arrays, kinds)
        ]

    # Analytic: one backward pass.
    xs = leaves(base)
    out = f(*xs)
    if isinstance(out, Value):
        weights = None
        out.backward()
    elif isinstance(out, Tensor):
        rng = np.random.default_rng(seed)
        weights = None if out.data.size == 1 else rng.standard_normal(out.data.shape)
        out.backward(None if weights is None else weights)
    else:
        raise TypeError(f"gradcheck: f must return a Value or a Tensor, got {type(out).__name__}")
    analytic = [
        np.array(x.grad if x.grad is not None else np.zeros_like(b), dtype=np.float64)
        for x, b in zip(xs, base)
    ]

    def scalar_output(arrays):
        with no_grad():
            y = f(*leaves(arrays))
        data = np.asarray(y.data, dtype=np.float64)
        return float(data.sum()) if weights is None else float(np.sum(data * weights))

    worst = GradcheckReport(0.0, 0, (), 0.0, 0.0, tol, True)
    for i, b in enumerate(base):

        def f_i(xi, i=i):
            arrays = list(base)
            arrays[i] = np.asarray(xi, dtype=np.float64)
            return scalar_output(arrays)

        numeric = np.asarray(numerical_grad(f_i, b, eps), dtype=np.float64).reshape(b.shape)
        a = analytic[i].reshape(b.shape)
        errors = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
        if errors.size == 0:
            continue
        # A NaN gradient (or inf vs inf) is a failure, not an error too small to notice.
        errors = np.where(np.isnan(errors), np.inf, errors)
        j = np.unravel_index(int(np.argmax(errors)), errors.shape)
        if errors[j] > worst.max_error or (i == 0 and worst.max_error == 0):
            worst = GradcheckReport(
                float(errors[j]),
                i,
                tuple(int(k) for k in j),
                float(a[j]),
                float(numeric[j]),
                tol,
                True,
            )
    worst.passed = bool(worst.max_error <= tol)
    return worst


def compare(name, analytic, numeric, tol=1e-6):
    """Print a one-line verdict for a notebook: exact | close | max difference."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        print(f"{name:<12} shapes differ: {analytic.shape} vs {numeric.shape}")
        return False
    exact = bool(np.array_equal(analytic, numeric))
    error = rel_error(analytic, numeric)
    close = error <= tol
    diff = float(np.max(np.abs(analytic - numeric))) if analytic.size else 0.0
    print(
        f"{name:<12} exact: {exact!s:<5} | close: {close!s:<5} | max difference: {diff:.2e} | rel error: {error:.2e}"
    )
    return close
