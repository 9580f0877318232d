"""Checkers for derivatives by hand (lectures 1, 4, 11): finite differences, Jacobians, duals.

Finite differences are approximate, so these checkers compare with the exact
derivative to 1e-5 (relative) using a step h = 1e-3: a central difference is
then accurate to about h**2 = 1e-6, a one-sided one only to about h = 1e-3,
which is how a forward difference is told apart from a central one.
``gradcheck_worst`` (lecture 4) compares gradients rather than computing one: its
planted bugs are errors of 0.05 to 0.5, far above finite-difference noise.
"""

import math
import numbers

import numpy as np

from bpkit.check._core import Bug, Exercise, call_student, checker, diagnose

__all__ = [
    "derivative",
    "numerical_gradient",
    "jacobian",
    "gradcheck_worst",
    "dual_mul",
    "dual_number",
]

_H = 1e-3  # the step the checkers pass: big enough that O(h) and O(h**2) errors differ clearly


def _named(name, fn):
    """fn with a readable __name__, shown in messages as the case's f."""
    fn.__name__ = name
    return fn


# --- derivative of f: R -> R --------------------------------------------------------------------
def _central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@checker
def derivative(student_fn):
    """Check ``derivative(f, x, h=1e-5) -> float``: the central difference (f(x+h) - f(x-h)) / (2h).

    Inputs: f a function float -> float, x a float, h the step (default 1e-5; the
    checker passes h=1e-3 by keyword, and once leaves the default).
    Return a float, within 1e-5 (relative) of f'(x).
    Recognises: forward or backward difference (from its accuracy and from how its
    error scales with h), divided by h instead of 2h (a factor 2), no division,
    `/ 2 * h` for `/ (2 * h)`, h ignored (a step of its own), sign flip, f(x) returned.
    """
    ex = Exercise(
        "derivative",
        student_fn,
        returns="dfdx",
        signature="derivative(f, x, h=1e-5) -> float",
        formulas={"dfdx": "dfdx = (f(x + h) - f(x - h)) / (2 * h)"},
        tol=1e-5,
    )
    curves = [
        (_named("x**3 - 2*x", lambda x: x**3 - 2 * x), lambda x: 3 * x**2 - 2, 1.5, _H),
        (_named("sin", lambda x: math.sin(x)), math.cos, 0.8, _H),
        (
            _named("exp(-x**2)", lambda x: math.exp(-x * x)),
            lambda x: -2 * x * math.exp(-x * x),
            0.6,
            _H,
        ),
        (_named("log", lambda x: math.log(x)), lambda x: 1 / x, 2.0, None),  # the default h
    ]
    for f, df, x, h in curves:
        step = 1e-5 if h is None else h
        central = _central(f, x, step)
        bugs = [
            Bug(
                "that is the forward difference (f(x+h) - f(x)) / h: its error shrinks only "
                "like h. Step both ways: (f(x+h) - f(x-h)) / (2h), whose error shrinks like h**2",
                dfdx=(f(x + step) - f(x)) / step,
            ),
            Bug(
                "that is the backward difference (f(x) - f(x-h)) / h: its error shrinks only "
                "like h. Step both ways: (f(x+h) - f(x-h)) / (2h)",
                dfdx=(f(x) - f(x - step)) / step,
            ),
            Bug(
                "your answer is twice the derivative: you divided by h, but the two points "
                "x - h and x + h are 2h apart: divide by 2 * h",
                dfdx=2 * central,
            ),
            Bug("you forgot to divide by 2 * h", dfdx=f(x + step) - f(x - step)),
            Bug(
                "`/ 2 * h` multiplies by h: Python reads `a / 2 * h` as `(a / 2) * h`, so your "
                "answer is about h**2 times the derivative. Write `/ (2 * h)`",
                dfdx=(f(x + step) - f(x - step)) / 2 * step,
            ),
            Bug("the sign is flipped: it is f(x + h) - f(x - h), in that order", dfdx=-central),
            Bug("you returned f(x), not its derivative", dfdx=f(x)),
        ]
        kwargs = {} if h is None else {"h": h}
        (got,), where = ex.call(dict(f=f, x=x), kwargs)
        message = diagnose("dfdx", got, df(x), bugs, formula=ex.formulas["dfdx"], tol=ex.tol)
        if message and message not in {b.message for b in bugs} and h is not None:
            message = _error_scaling(ex, f, df, x, h, got) or message
        if message:
            ex.fail(message, where)
    _uses_its_step(ex)
    ex.passed("within 1e-5 of the exact derivative")


def _uses_its_step(ex):
    """Fail if the answer does not change with h, as a hard-coded step would make it.

    On f(x) = exp(2x) at x = 0.5 a central difference with step h is off by about
    h**2 f'''(x) / 6 = 3.6 h**2: 0.036 at h = 0.1, 0.00036 at h = 0.01. An answer that
    gives the same number for both steps cannot be using them (a higher-order stencil
    changes less, but it changes).
    """
    f = _named("exp(2*x)", lambda x: math.exp(2 * x))
    x, steps = 0.5, (0.1, 0.01)
    where = f"f = exp(2*x), x = {x:g}, h = {steps[0]:g} and h = {steps[1]:g}"
    got = []
    for h in steps:
        answer = call_student(ex.name, ex.fn, (f, x), {"h": h}, ex.signature, where)
        try:
            answer = float(answer)
        except (TypeError, ValueError):
            return  # the cases above have already checked what comes back
        if not math.isfinite(answer):
            return
        got.append(answer)
    central = [_central(f, x, h) for h in steps]
    if abs(got[0] - got[1]) <= 1e-6 * abs(central[0] - central[1]):
        ex.fail(
            f"your function ignores its h argument: h = {steps[0]:g} and h = {steps[1]:g} both "
            f"gave {got[0]:.10g}. A central difference with the step it is given is off by "
            f"about h**2 f'''(x) / 6, so it gives {central[0]:.10g} and {central[1]:.10g} here "
            f"(exact: {2 * math.exp(2 * x):.10g}). Use the h you are given, not a step of your "
            "own: (f(x + h) - f(x - h)) / (2 * h)",
            where,
        )


def _error_scaling(ex, f, df, x, h, got):
    """A diagnosis from how the error changes when h shrinks 10x (10x: first order), or None."""
    try:
        smaller = float(call_student(ex.name, ex.fn, (f, x), {"h": h / 10}, ex.signature))
        first, second = abs(float(got) - df(x)), abs(smaller - df(x))
    except (AssertionError, TypeError, ValueError):
        return None
    if not (math.isfinite(first) and math.isfinite(second)) or second == 0:
        return None
    ratio = first / second
    if 5 < ratio < 20:
        return (
            f"your error shrinks only {ratio:.0f}x when h shrinks 10x: a first-order (one-sided) "
            "difference such as (f(x+h) - f(x)) / h. The central difference "
            "(f(x+h) - f(x-h)) / (2h) is second order: its error shrinks about 100x"
        )
    if ratio < 2:
        return (
            f"dfdx is {float(got):.6g}, expected {df(x):.6g}, and the error does not shrink when "
            "h does: check the formula, and that it uses the h it is given"
        )
    return None


# --- gradient of f: R^n -> R ---------------------------------------------------------------------
def _perturbed(f, x, index, h):
    """Central difference of f along the entries ``index`` selects (an element or a whole row)."""
    plus, minus = x.copy(), x.copy()
    plus[index] += h
    minus[index] -= h
    return (f(plus) - f(minus)) / (2 * h)


def _central_gradient(f, x, h=_H):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        grad[index] = _perturbed(f, x, index, h)
    return grad


@checker
def numerical_gradient(student_fn):
    """Check ``numerical_gradient(f, x, h=1e-5) -> ndarray`` shaped like x.

    Inputs: f a function ndarray -> float, x a float64 ndarray of any shape (the
    checker uses 1-, 2- and 3-D), h the step (passed as h=1e-3 by keyword).
    Return grad with grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h) for every index i.
    You may change x while you work, but it must hold its original values when you return.
    Recognises: x not restored, forward difference, divided by h, whole rows
    perturbed at once, wrong shape (e.g. flattened), sign.
    """
    ex = Exercise(
        "numerical_gradient",
        student_fn,
        returns="grad",
        signature="numerical_gradient(f, x, h=1e-5) -> ndarray",
        like={"grad": "x"},
        formulas={
            "grad": "grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h) for every index i "
            "(np.ndindex(x.shape)), in np.zeros_like(x)"
        },
        tol=1e-5,
        reference=_central_gradient,
    )
    for seed, shape in enumerate([(5,), (3, 4), (2, 3, 2)]):
        rng = np.random.default_rng(1300 + seed)
        x = rng.normal(size=shape)
        c, d = rng.uniform(0.5, 2.0, size=shape), rng.uniform(0.5, 2.0, size=shape)
        f = _named(
            "f(x) = sum(c*sin(x)) + sum(d*x**2)/2",
            lambda z, c=c, d=d: float(np.sum(c * np.sin(z)) + 0.5 * np.sum(d * z**2)),
        )
        exact = c * np.cos(x) + d * x
        forward = np.zeros_like(x)
        central = np.zeros_like(x)
        for index in np.ndindex(shape):
            bumped = x.copy()
            bumped[index] += _H
            forward[index] = (f(bumped) - f(x)) / _H
            central[index] = _perturbed(f, x, index, _H)
        bugs = [
            Bug(
                "that is the forward difference (f(x + h e_i) - f(x)) / h, accurate only to O(h); "
                "step both ways: (f(x + h e_i) - f(x - h e_i)) / (2h)",
                grad=forward,
            ),
            Bug(
                "grad is twice too big: the two points are 2h apart, divide by 2 * h",
                grad=2 * central,
            ),
        ]
        if x.ndim > 1:
            rows = np.zeros_like(x)
            for i in range(len(x)):
                rows[i] = _perturbed(f, x, i, _H)
            bugs.append(
                Bug(
                    "you perturbed a whole row at a time: on a 2-D array x[i] is a row, not an "
                    "element. Loop over every element: `for i in np.ndindex(x.shape)` (or x.flat)",
                    grad=rows,
                )
            )
        ex.case(
            dict(f=f, x=x),
            exact,
            bugs,
            kwargs={"h": _H},
            mutation_tol=1e-9,
            mutation_hint="If you change x[i] to evaluate f, put the original value back before "
            "moving on: `old = x[i]; x[i] = old + h; ...; x[i] = old`",
        )
    ex.passed("within 1e-5 of the exact gradient")


# --- Jacobian of f: R^n -> R^m ------------------------------------------------------------------
@checker
def jacobian(student_fn):
    """Check ``jacobian(f, x, h=1e-5) -> ndarray`` of shape (m, n) for f: R^n -> R^m.

    Inputs: f a function taking a 1-D float64 array of length n and returning one of
    length m (m != n), x the point (n,), h the step (the checker passes h=1e-3).
    Return J (m, n) with J[i, j] = d f_i / d x_j: one ROW per output, one COLUMN per input.
    Recognises: transposed (n, m), the gradient of sum(f) instead of the Jacobian,
    forward difference, divided by h instead of 2h, x changed in place.
    """
    ex = Exercise(
        "jacobian",
        student_fn,
        returns="J",
        signature="jacobian(f, x, h=1e-5) -> ndarray (m, n)",
        formulas={"J": "J[:, j] = (f(x + h e_j) - f(x - h e_j)) / (2h): column j from input j"},
        tol=1e-5,
        reference=lambda f, x, h=_H: np.stack(
            [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))], axis=1
        ),
    )
    for seed, (m, n) in enumerate([(3, 4), (2, 5), (4, 2)]):
        rng = np.random.default_rng(1400 + seed)
        A, B, x = rng.normal(size=(m, n)), rng.normal(size=(m, n)), rng.normal(size=n)
        f = _named("f(x) = A @ tanh(x) + B @ x**2", lambda z, A=A, B=B: A @ np.tanh(z) + B @ z**2)
        exact = A * (1 - np.tanh(x) ** 2) + B * (2 * x)
        forward = np.stack([(f(x + _H * e) - f(x)) / _H for e in np.eye(n)], axis=1)
        bugs = [
            Bug(
                f"you returned shape ({n},): the gradient of sum(f(x)). The Jacobian keeps one "
                f"row per output: shape ({m}, {n}), J[i, j] = d f_i / d x_j",
                J=exact.sum(axis=0),
            ),
            Bug(
                "that is the forward difference, accurate only to O(h); use "
                "(f(x + h e_j) - f(x - h e_j)) / (2h)",
                J=forward,
            ),
            Bug("J is twice too big: the two points are 2h apart, divide by 2 * h", J=2 * exact),
        ]
        ex.case(
            dict(f=f, x=x),
            exact,
            bugs,
            kwargs={"h": _H},
            mutation_tol=1e-9,
        )
    ex.passed("within 1e-5 of the exact Jacobian")


# --- dual numbers ---------------------------------------------------------------------------------
@checker
def dual_mul(student_fn):
    """Check ``dual_mul(a, da, b, db) -> (value, tangent)``.

    (a + da e)(b + db e) = ab + (a db + da b) e, with e**2 = 0. Inputs: four floats.
    Return two floats: value = a * b, tangent = a * db + da * b.
    Recognises: tangent da * db, one term of the product rule missing, swapped outputs.
    """
    ex = Exercise(
        "dual_mul",
        student_fn,
        returns=("value", "tangent"),
        signature="dual_mul(a, da, b, db) -> (value, tangent)",
        formulas={"value": "value = a * b", "tangent": "tangent = a * db + da * b"},
    )
    for a, da, b, db in [(2.0, 1.0, -3.0, 0.5), (1.5, -2.0, 4.0, 3.0), (-0.5, 0.25, 2.5, -1.0)]:
        bugs = [
            Bug(
                "tangent = da * db: that product is the e**2 term, which is 0; the product rule "
                "gives tangent = a * db + da * b",
                tangent=da * db,
            ),
            Bug(
                "the product rule has two terms: tangent = a * db + da * b (you have a * db only)",
                tangent=a * db,
            ),
            Bug(
                "the product rule has two terms: tangent = a * db + da * b (you have da * b only)",
                tangent=da * b,
            ),
            Bug(
                "value and tangent are swapped: return (value, tangent)",
                value=a * db + da * b,
                tangent=a * b,
            ),
        ]
        ex.case(dict(a=a, da=da, b=b, db=db), dict(value=a * b, tangent=a * db + da * b), bugs)
    ex.passed()


def _composite(x, c):
    """f(x) = x sin(x) + exp(c x): every op of the dual class in one expression."""
    return x * x.sin() + (c * x).exp()


@checker
def dual_number(cls):
    """Check a forward-mode dual number class ``cls(value, tangent)`` (``.value``, ``.tangent``).

    Required: ``x + y`` and ``x * y`` for two duals and with a plain float on either
    side (``2.0 * x``, ``x + 1.0``), and methods ``x.sin()`` and ``x.exp()``, each
    returning a new instance. Rules, with e**2 = 0: (a + a'e) + (b + b'e) = (a+b) + (a'+b')e;
    (a + a'e)(b + b'e) = ab + (ab' + a'b)e; sin(a + a'e) = sin a + a' cos a e;
    exp(a + a'e) = exp a + a' exp a e.
    Recognises, per op: tangent rule wrong (product rule term missing, chain-rule
    factor a' forgotten, sign), a float operand not handled, a result that is not a dual.
    """
    ex = Exercise(
        "dual_number",
        cls,
        returns=("value", "tangent"),
        signature="Dual(value, tangent) with +, *, .sin(), .exp()",
        tol=1e-10,
    )
    if not isinstance(cls, type):
        ex.fail(
            f"pass your class itself, as in check.dual_number(Dual); got a {type(cls).__name__}, "
            "which is not a class (did you pass an instance, or a function?)"
        )
    a, da, b, db, c = 0.7, 1.5, -1.2, 0.4, 2.5
    ops = [
        ("x + y", lambda: cls(a, da) + cls(b, db), a + b, da + db, []),
        (
            "x * y",
            lambda: cls(a, da) * cls(b, db),
            a * b,
            a * db + da * b,
            [
                Bug(
                    "x * y: the tangent needs both product-rule terms, a*db + da*b", tangent=a * db
                ),
                Bug(
                    "x * y: the tangent needs both product-rule terms, a*db + da*b", tangent=da * b
                ),
                Bug(
                    "x * y: da*db is the e**2 term, which is 0; the tangent is a*db + da*b",
                    tangent=da * db,
                ),
            ],
        ),
        ("x + 2.5 (a float on the right)", lambda: cls(a, da) + c, a + c, da, []),
        ("2.5 * x (a float on the left: __rmul__)", lambda: c * cls(a, da), c * a, c * da, []),
        ("2.5 + x (a float on the left: __radd__)", lambda: c + cls(a, da), c + a, da, []),
        (
            "x.sin()",
            lambda: cls(a, da).sin(),
            math.sin(a),
            math.cos(a) * da,
            [
                Bug(
                    "sin: you forgot the chain rule's factor: tangent = cos(a) * da",
                    tangent=math.cos(a),
                ),
                Bug(
                    "sin: the derivative of sin is +cos: tangent = cos(a) * da",
                    tangent=-math.cos(a) * da,
                ),
                Bug(
                    "sin: the derivative of sin is cos, not sin: tangent = cos(a) * da",
                    tangent=math.sin(a) * da,
                ),
            ],
        ),
        (
            "x.exp()",
            lambda: cls(a, da).exp(),
            math.exp(a),
            math.exp(a) * da,
            [
                Bug(
                    "exp: you forgot the chain rule's factor: tangent = exp(a) * da",
                    tangent=math.exp(a),
                )
            ],
        ),
        (
            "f(x) = x * x.sin() + (2.5 * x).exp() seeded with tangent 1",
            lambda: _composite(cls(a, 1.0), c),
            a * math.sin(a) + math.exp(c * a),
            math.sin(a) + a * math.cos(a) + c * math.exp(c * a),
            [],
        ),
    ]
    float_hint = (
        "to let plain numbers in, wrap them: `if not isinstance(other, Dual): other = Dual(other, "
        "0.0)` (a constant's tangent is 0), and define __radd__/__rmul__ for a float on the left"
    )
    for what, run, value, tangent, bugs in ops:
        ex.cases += 1
        where = f"case {ex.cases}: {what} with x = Dual({a:g}, {da:g}), y = Dual({b:g}, {db:g})"
        try:
            result = call_student(ex.name, run, (), None, ex.signature)
        except AssertionError as failure:
            message = str(failure)
            if "a float" in what:
                message += f"\n  {float_hint}"
            ex.fail(message.removeprefix(f"{ex.name}: "), where)
        if not isinstance(result, cls):
            ex.fail(
                f"{what} returned a {type(result).__name__}; return a new {cls.__name__}", where
            )
        try:
            outputs = (result.value, result.tangent)
        except AttributeError:
            ex.fail(f"{cls.__name__} needs the attributes .value and .tangent", where)
        ex.check(outputs, dict(value=value, tangent=tangent), bugs, where)
    ex.passed("value and tangent of +, *, sin, exp and a composition")


# --- the worst element of a gradient check -------------------------------------------------------
def _gc_errors(a, n, floor):
    """|a - n| / max(|a| + |n|, floor), elementwise: bpkit.gradcheck's per-element error."""
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


def _gc_worst(errors):
    """(max, multi-index of the max) of an error array; NaN propagates as np.max does."""
    index = np.unravel_index(np.argmax(errors), errors.shape)
    return float(np.max(errors)), tuple(int(i) for i in index)


def _gc_cases():
    """(x, f, claimed grad, numeric grad, kwargs): planted bugs in non-square arrays."""
    cases = []
    # shape, kwargs, tiny index (claimed 0, numeric ~1e-7), zero index (f ignores it),
    # small wrong index, big wrong index, floor-sensitive index (claimed 0, numeric 8e-3: its
    # error is 0.08 with floor 0.1, but 0.8, the largest, with the default floor 0.01)
    specs = [
        ((3, 4), {"h": 1e-5}, (0, 3), None, (0, 1), (2, 1), None),
        ((2, 3, 4), {"floor": 0.1}, (0, 1, 1), (0, 2, 3), (0, 0, 2), (1, 2, 1), (1, 0, 2)),
        ((4, 2), {}, (1, 1), (0, 0), (2, 0), (3, 0), None),
    ]
    for seed, (shape, kwargs, tiny, zero, small, big, sensitive) in enumerate(specs):
        rng = np.random.default_rng(1500 + seed)
        x = rng.normal(size=shape)
        c, d = rng.uniform(0.5, 2.0, size=shape), rng.uniform(0.5, 2.0, size=shape)
        t = np.zeros(shape)
        for index, slope in ((tiny, 1e-7), (zero, 0.0), (sensitive, 8e-3)):
            if index is not None:
                c[index], d[index], t[index] = 0.0, 0.0, slope
        f = _named(
            "f(x) = sum(c*sin(x)) + sum(d*x**2)/2 + sum(t*x)",
            lambda z, c=c, d=d, t=t: float(
                np.sum(c * np.sin(z)) + 0.5 * np.sum(d * z**2) + np.sum(t * z)
            ),
        )
        grad = c * np.cos(x) + d * x + t
        grad[tiny] = 0.0  # "the gradient is zero here": the numeric one is ~1e-7
        if sensitive is not None:
            grad[sensitive] = 0.0
        grad[small] *= 1.1  # a little wrong, earlier in C order than the big one
        grad[big] *= 3.0  # very wrong: error 2/4 = 0.5
        numeric = np.zeros(shape)
        for index in np.ndindex(shape):
            numeric[index] = _perturbed(f, x, index, kwargs.get("h", 1e-5))
        cases.append((x, f, grad, numeric, kwargs))
    return cases


def _gc_index(ex, index, x, want_index, where):
    """Refuse an index that is not a tuple of x.ndim in-range integers; return it as ints."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        ex.fail(
            f"index is a single number, {int(index)}: a flat index into x.ravel() (np.argmax "
            "gives one). Return the multi-index tuple: np.unravel_index(flat, x.shape) turns "
            f"it into one entry per axis, here {x.ndim}",
            where,
        )
    if index is None:
        ex.fail("index is None. Did you forget to return it: `return max_error, index`?", where)
    if isinstance(index, (list, np.ndarray)):
        ex.fail(
            f"index is a {type(index).__name__}; return a tuple, as np.unravel_index gives "
            "(or tuple(...) around yours)",
            where,
        )
    if not isinstance(index, tuple):
        ex.fail(
            f"index is a {type(index).__name__}; return a tuple with one integer per axis of x "
            "(np.unravel_index(np.argmax(errors), errors.shape))",
            where,
        )
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index):
        ex.fail(
            f"index {index!r} must hold integers, one per axis of x: np.unravel_index gives them",
            where,
        )
    if len(index) != x.ndim:
        ex.fail(
            f"index {tuple(int(i) for i in index)} has {len(index)} "
            f"{'entry' if len(index) == 1 else 'entries'}, but x has "
            f"{x.ndim} axes (shape {x.shape}): the index must say where the element is along "
            "every axis. Compute the errors in x's shape and use np.unravel_index(..., x.shape)",
            where,
        )
    index = tuple(int(i) for i in index)
    flat = np.ravel_multi_index(want_index, x.shape)
    reversed_index = tuple(int(i) for i in np.unravel_index(flat, x.shape[::-1]))
    if index == reversed_index and index != want_index:
        ex.fail(
            f"index {index} unravels the flat position with the reversed shape "
            f"{x.shape[::-1]}: use np.unravel_index(flat, x.shape), expected {want_index}",
            where,
        )
    if any(not 0 <= i < n for i, n in zip(index, x.shape)):
        ex.fail(
            f"index {index} is outside x's shape {x.shape}: did you "
            "unravel with the wrong shape (reversed, or a flattened length)?",
            where,
        )
    return index


def _gc_number(ex, max_error, where):
    """max_error as a float, or a diagnosis of what came back instead."""
    if isinstance(max_error, np.ndarray) and max_error.ndim == 0:
        max_error = max_error.item()
    if isinstance(max_error, tuple):
        ex.fail(
            "max_error is a tuple: return the two in this order: `return max_error, index`", where
        )
    if isinstance(max_error, np.ndarray):
        ex.fail(
            f"max_error is an array of shape {max_error.shape}: the per-element errors? "
            "Return their largest, a single number (np.max)",
            where,
        )
    if isinstance(max_error, bool) or not isinstance(max_error, numbers.Real):
        ex.fail(f"max_error is a {type(max_error).__name__}; return a float", where)
    return float(max_error)


def _gc_variants(a, n, floor):
    """What the classic wrong metrics give: (name -> errors array, message)."""
    floor_msg = (
        "where the analytic and the numeric gradient are both (almost) 0, |a - n| / (|a| + |n|) "
        "divides ~0 by ~0: a gradient of 1e-7 against a claimed 0 counts as 100% wrong, and 0 "
        "against 0 gives NaN. Use max(|a| + |n|, floor) as the denominator: below the floor the "
        "error is absolute"
    )
    asym = (
        "relative to one side only: dividing by |a| (or |n|) alone is asymmetric and blows up "
        "where that side is 0 (a claimed gradient of 0, say). Divide by max(|a| + |n|, floor)"
    )
    with np.errstate(all="ignore"):
        return [
            (np.abs(a - n) / (np.abs(a) + np.abs(n)), floor_msg),
            (np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12), floor_msg),
            (
                np.abs(a - n),
                "that is the absolute error |a - n|: it depends on the gradient's scale. Divide "
                "by max(|a| + |n|, floor) to make it relative",
            ),
            (np.abs(a - n) / np.abs(a), asym),
            (np.abs(a - n) / np.maximum(np.abs(a), floor), asym),
            (np.abs(a - n) / np.abs(n), asym),
            (np.abs(a - n) / np.maximum(np.abs(n), floor), asym),
        ]


def _gc_same(got, want, tol):
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return math.isfinite(got) and abs(got - want) <= tol * max(abs(want), 1e-12)


@checker
def gradcheck_worst(student_fn):
    """Check ``gradcheck_worst(f, x, grad, h=1e-5, floor=1e-2) -> (max_error, index)``.

    Inputs: f a function ndarray -> float, x a float64 array (2- or 3-D here), grad
    the claimed analytic gradient (shaped like x), h the finite-difference step and
    floor the denominator's floor (the checker passes them by keyword, or not at all).
    Return the largest per-element error |a - n| / max(|a| + |n|, floor), with n the
    central-difference gradient, as a float, and where it is: a tuple with one int per
    axis of x (as np.unravel_index gives). Neither x nor grad may change.
    Recognises: no floor, absolute error, error relative to |a| or |n| alone, the floor
    argument ignored, the first element above a threshold or the smallest error instead
    of the largest, a flat index, an index with the wrong number of axes, a list for a
    tuple, swapped outputs, None, x or grad changed in place.
    """
    ex = Exercise(
        "gradcheck_worst",
        student_fn,
        returns=("max_error", "index"),
        signature="gradcheck_worst(f, x, grad, h=1e-5, floor=1e-2) -> (max_error, index)",
    )
    for x, f, grad, numeric, kwargs in _gc_cases():
        floor = kwargs.get("floor", 1e-2)
        (got, index), where = ex.call(
            dict(f=f, x=x, grad=grad),
            kwargs,
            mutation_tol=1e-9,
            mutation_hint="Put back every x[i] you change to evaluate f (or let "
            "bpkit.gradcheck.numerical_grad, which works on a copy, do it), and compute a - n "
            "into a new array, never into grad",
        )
        errors = _gc_errors(grad, numeric, floor)
        want, want_index = _gc_worst(errors)
        if isinstance(got, tuple) and not isinstance(index, tuple):
            ex.fail("max_error and index are swapped: `return max_error, index`", where)
        got = _gc_number(ex, got, where)
        index = _gc_index(ex, index, x, want_index, where)
        if _gc_same(got, want, 1e-6) and index == want_index:
            continue
        for wrong, message in _gc_variants(grad, numeric, floor):
            with np.errstate(all="ignore"):
                bug = float(np.max(wrong))
            if not _gc_same(bug, want, 1e-3) and _gc_same(got, bug, 1e-3):
                ex.fail(message, where)
        if floor != 1e-2:
            other = _gc_worst(_gc_errors(grad, numeric, 1e-2))[0]
            if not _gc_same(other, want, 1e-3) and _gc_same(got, other, 1e-3):
                ex.fail(
                    f"your function ignores its floor argument: with floor = {floor:g} the "
                    f"largest error is {want:.6g}, you returned {got:.6g}, which floor = 0.01 "
                    "gives. Use the floor you are given",
                    where,
                )
        at_index = float(errors[index])
        if at_index < 1e-6 and got < 1e-6:
            ex.fail(
                f"you returned the smallest error ({got:.3g} at {index}), not the largest: "
                "np.max and np.argmax, not np.min and np.argmin",
                where,
            )
        if index != want_index and _gc_same(got, at_index, 1e-3):
            ex.fail(
                f"you returned the error at {index} ({got:.6g}), but the largest, {want:.6g}, "
                f"is at {want_index}: did you stop at the first element above a threshold? "
                "Take the maximum over all elements (np.argmax of the error array)",
                where,
            )
        if _gc_same(got, want, 1e-6):
            ex.fail(
                f"max_error is right ({got:.6g}) but index is {index}; it occurs at {want_index}",
                where,
            )
        ex.fail(
            f"max_error is {got:.6g}, expected {want:.6g} (at index {want_index}, analytic "
            f"{grad[want_index]:.6g}, numeric {numeric[want_index]:.6g}); the error per element "
            "is |a - n| / max(|a| + |n|, floor)",
            where,
        )
    ex.passed("max_error and index of the worst element")
