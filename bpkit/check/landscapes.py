"""Checkers for lecture 10, loss landscapes: critical points, Hessians, restarts and slices.

    check.classify_critical_point(classify_critical_point)
    ✓ classify_critical_point: correct on 8 cases (minimum, maximum, saddle, degenerate)

The Hessian is symmetric, so a transposed numerical Hessian cannot be told
apart from the right one; the checkers diagnose what can go wrong instead:
reading the diagonal (or the determinant) in place of the eigenvalues,
one-sided differences, restarts that do not restart, endpoints swapped, a
direction normalised per row instead of per neuron.
"""

import numpy as np

from bpkit.check._core import Bug, Exercise, checker

__all__ = [
    "classify_critical_point",
    "numerical_hessian",
    "gradient_descent_restarts",
    "interpolate_losses",
    "filter_normalize",
]

_KINDS = ("minimum", "maximum", "saddle", "degenerate")
_H = 1e-3  # the step the Hessian checker passes: O(h) and O(h**2) errors differ clearly


def _named(name, fn):
    fn.__name__ = name
    return fn


def _rotated(eigenvalues, seed):
    """Q diag(eigenvalues) Q^T, Q a random rotation: symmetric, and its diagonal tells nothing."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(eigenvalues),) * 2))
    return q @ np.diag(eigenvalues) @ q.T


# --- classify a critical point from its Hessian -------------------------------------------------
def _by_signs(values, zero):
    positive, negative = values > zero, values < -zero
    if not np.all(positive | negative):
        return "degenerate"
    if np.all(positive):
        return "minimum"
    if np.all(negative):
        return "maximum"
    return "saddle"


def _by_determinant(H):
    """The 2-D shortcut det > 0 -> minimum, det < 0 -> saddle (it forgets the trace)."""
    det = np.linalg.det(H)
    if abs(det) < 1e-9:
        return "degenerate"
    return "minimum" if det > 0 else "saddle"


def _no_degenerate(H):
    """Eigenvalues compared with >= 0 / <= 0: a zero eigenvalue counts as a sign."""
    lam = np.linalg.eigvalsh(H)
    if np.all(lam >= -1e-9):
        return "minimum"
    if np.all(lam <= 1e-9):
        return "maximum"
    return "saddle"


@checker
def classify_critical_point(student_fn):
    """Check ``classify_critical_point(H) -> str``: the kind of critical point with Hessian H.

    Input: H, a symmetric float64 ndarray (n, n) (the checker uses n = 2 and 3, with
    off-diagonal entries). Return one of the strings "minimum" (every eigenvalue > 0),
    "maximum" (every eigenvalue < 0), "saddle" (both signs) or "degenerate" (an
    eigenvalue is zero: use a tolerance, e.g. |lambda| <= 1e-8 * max|lambda|, since
    rounding leaves about 1e-16 where the exact value is 0).
    Recognises: signs of the diagonal instead of the eigenvalues, the 2-D determinant
    rule without the trace, minimum and maximum swapped, zero compared exactly (no
    tolerance), zero eigenvalues not treated as degenerate, an unknown string.
    """
    ex = Exercise(
        "classify_critical_point",
        student_fn,
        returns="kind",
        signature="classify_critical_point(H) -> 'minimum' | 'maximum' | 'saddle' | 'degenerate'",
    )
    cases = [
        np.array([[2.0, 3.0], [3.0, 2.0]]),  # eigenvalues 5, -1: a saddle with a positive diagonal
        np.array([[4.0, 1.0], [1.0, 3.0]]),  # a minimum
        np.array([[-2.0, 1.0], [1.0, -3.0]]),  # a maximum, det > 0
        _rotated([3.0, -1.0, -2.0], 1),  # a saddle in 3-D with det > 0
        _rotated([-0.5, -2.0, -4.0], 2),  # a maximum in 3-D
        _rotated([1.0, 2.0, 5.0], 3),  # a minimum in 3-D
        np.array([[1.0, 1.0], [1.0, 1.0]]),  # eigenvalues 0 and 2: degenerate
        _rotated([0.0, 1.5, 4.0], 4),  # degenerate; rounding leaves ~1e-16 for the 0
    ]
    spectra = [np.linalg.eigvalsh(H) for H in cases]
    expected = [_by_signs(lam, 1e-9 * np.abs(lam).max()) for lam in spectra]
    swap = {"minimum": "maximum", "maximum": "minimum"}
    models = [
        (
            "you read the signs of the diagonal entries H[i, i]; the kind is decided by the "
            "EIGENVALUES (np.linalg.eigvalsh(H)): [[2, 3], [3, 2]] has a positive diagonal but "
            "eigenvalues 5 and -1, a saddle",
            [_by_signs(np.diag(H), 1e-12) for H in cases],
        ),
        (
            "that is the 2-D determinant rule without the trace: det > 0 means both eigenvalues "
            "have the same sign, a minimum OR a maximum (and in 3-D a saddle can have det > 0 "
            "too). Use the signs of all eigenvalues",
            [_by_determinant(H) for H in cases],
        ),
        (
            "minimum and maximum are swapped: all eigenvalues POSITIVE (curving up in every "
            "direction) is a minimum",
            [swap.get(k, k) for k in expected],
        ),
        (
            "a zero eigenvalue needs a tolerance: rounding leaves about 1e-16 where the exact "
            "value is 0. Call |lambda| <= 1e-8 * max|lambda| zero, and then the point is "
            "'degenerate'",
            [_by_signs(lam, 0.0) for lam in spectra],
        ),
        (
            "an eigenvalue of 0 means the second derivative cannot tell: answer 'degenerate' "
            "when some |lambda| is (nearly) 0, not 'minimum'/'maximum'/'saddle'",
            [_no_degenerate(H) for H in cases],
        ),
    ]
    answers, wheres = [], []
    for H in cases:
        (got,), where = ex.call({"H": H})
        if not isinstance(got, str):
            ex.fail(
                f"returned a {type(got).__name__}; return one of the strings {list(_KINDS)}", where
            )
        if got not in _KINDS:
            ex.fail(
                f"returned {got!r}; return exactly one of {list(_KINDS)} (lower case, spelled out)",
                where,
            )
        answers.append(got)
        wheres.append(where)
    if answers == expected:
        ex.passed("minimum, maximum, saddle, degenerate")
        return
    first = next(i for i, (a, e) in enumerate(zip(answers, expected)) if a != e)
    for message, predicted in models:
        if answers == predicted:
            ex.fail(message, wheres[first])
    lam = spectra[first]
    ex.fail(
        f"you answered {answers[first]!r}, expected {expected[first]!r}: the eigenvalues are "
        f"{np.array2string(lam, precision=3)}",
        wheres[first],
    )


# --- a Hessian from a gradient by central differences -------------------------------------------
@checker
def numerical_hessian(student_fn):
    """Check ``numerical_hessian(grad, x, h=1e-5) -> ndarray (n, n)``.

    Inputs: grad, a function taking a 1-D float64 array of length n and returning the
    gradient (n,); x the point (n,); h the step (the checker passes h=1e-3).
    Return H with column j = (grad(x + h e_j) - grad(x - h e_j)) / (2h) (the Hessian is
    the Jacobian of the gradient); averaging with H.T afterwards is allowed.
    Recognises: forward difference, divided by h instead of 2h, all coordinates
    perturbed at once, the gradient returned, x changed in place.
    """
    ex = Exercise(
        "numerical_hessian",
        student_fn,
        returns="H",
        signature="numerical_hessian(grad, x, h=1e-5) -> ndarray (n, n)",
        formulas={"H": "H[:, j] = (grad(x + h e_j) - grad(x - h e_j)) / (2h)"},
        tol=1e-5,
    )
    for seed, n in enumerate([2, 3, 4]):
        rng = np.random.default_rng(1000 + seed)
        A = rng.normal(size=(n, n))
        A = A + A.T
        d, b, x = rng.uniform(0.5, 2.0, n), rng.normal(size=n) / n, rng.normal(size=n)

        def grad(z, A=A, d=d, b=b):
            return A @ z + d * np.cos(z) + 0.5 * (b @ z) ** 2 * b

        grad = _named("grad of f(x) = x^T A x / 2 + sum(d sin x) + (b.x)^3 / 6", grad)
        exact = A - np.diag(d * np.sin(x)) + (b @ x) * np.outer(b, b)
        forward = np.stack([(grad(x + _H * e) - grad(x)) / _H for e in np.eye(n)], axis=1)
        central = np.stack(
            [(grad(x + _H * e) - grad(x - _H * e)) / (2 * _H) for e in np.eye(n)], axis=1
        )
        together = (grad(x + _H) - grad(x - _H)) / (2 * _H)
        bugs = [
            Bug(
                "that is the forward difference (grad(x + h e_j) - grad(x)) / h, accurate only "
                "to O(h); step both ways: (grad(x + h e_j) - grad(x - h e_j)) / (2h)",
                H=forward,
            ),
            Bug("H is twice too big: the two points are 2h apart, divide by 2 * h", H=2 * central),
            Bug(
                "every column is the same: you moved all coordinates at once (x + h). Move one "
                "coordinate per column: x + h * e_j with e_j the j-th unit vector",
                H=np.repeat(together[:, None], n, axis=1),
            ),
            Bug(
                f"you returned the gradient, shape ({n},); the Hessian is its Jacobian, shape "
                f"({n}, {n}), one column per coordinate you perturb",
                H=grad(x),
            ),
        ]
        ex.case(
            {"grad": grad, "x": x},
            exact,
            bugs,
            kwargs={"h": _H},
            mutation_tol=1e-9,
            mutation_hint="If you change x[j] to evaluate grad, put the original value back; "
            "or build x + e with a new array e",
        )
    ex.passed("within 1e-5 of the exact Hessian")


# --- gradient descent from many starts ----------------------------------------------------------
def _egg_crate_grad(w):
    """Gradient of f(w) = |w|^2 / 20 - cos(w_0) cos(w_1): minima, maxima and saddles, and a
    bounded gradient, so that even the buggy variants (ascent, lr forgotten) stay finite."""
    x, y = w
    return np.array([0.1 * x + np.sin(x) * np.cos(y), 0.1 * y + np.cos(x) * np.sin(y)])


def _descend(grad, start, lr, steps, sign=-1.0):
    w = np.array(start, dtype=np.float64)
    for _ in range(steps):
        w = w + sign * lr * grad(w)
    return w


@checker
def gradient_descent_restarts(student_fn):
    """Check ``gradient_descent_restarts(grad, starts, lr, steps) -> ndarray (k, d)``.

    Inputs: grad, a function of a point w (d,) returning the gradient (d,); starts, a
    float64 ndarray (k, d), one start per row; lr a float; steps an int.
    From EACH start run ``steps`` steps of w <- w - lr * grad(w); return the k final
    points as an array (k, d), row i from starts[i]. Leave ``starts`` unchanged.
    Recognises: not restarting (each run continuing from the previous run's end),
    one step too few or too many, gradient ascent, lr forgotten, only the last run
    returned, the starts returned, starts changed in place.
    """
    ex = Exercise(
        "gradient_descent_restarts",
        student_fn,
        returns="finals",
        signature="gradient_descent_restarts(grad, starts, lr, steps) -> ndarray (k, d)",
        like={"finals": "starts"},
        formulas={
            "finals": "finals[i] = the point after `steps` steps of w <- w - lr * grad(w), "
            "starting at starts[i]"
        },
        tol=1e-8,
        reference=lambda grad, starts, lr, steps: np.array(
            [_descend(grad, s, lr, steps) for s in starts]
        ),
    )
    grad = _named("grad of f(w) = |w|^2 / 20 - cos(w_0) cos(w_1)", _egg_crate_grad)
    for seed, (k, lr, steps) in enumerate([(5, 0.1, 20), (3, 0.3, 8), (6, 0.05, 30)]):
        rng = np.random.default_rng(1100 + seed)
        starts = rng.uniform(-4.0, 4.0, size=(k, 2))
        finals = np.array([_descend(grad, s, lr, steps) for s in starts])
        chained, w = [], None
        for s in starts:
            w = _descend(grad, s if w is None else w, lr, steps)
            chained.append(w)
        bugs = [
            Bug(
                "only the first run starts where it should: each later run continued from the "
                "previous run's end. Set w = starts[i].copy() at the start of EVERY run",
                finals=np.array(chained),
            ),
            Bug(
                "the learning rate is missing: w <- w - lr * grad(w)",
                finals=np.array([_descend(grad, s, 1.0, steps) for s in starts]),
            ),
            Bug(
                "you returned the starts: no step was taken (or the updates were lost)",
                finals=starts,
            ),
            Bug(
                f"you returned one point, shape (2,): return every run's final point, "
                f"shape ({k}, 2), row i from starts[i]",
                finals=finals[-1],
            ),
        ]
        ex.case(
            {"grad": grad, "starts": starts, "lr": lr, "steps": steps},
            finals,
            bugs,
            mutation_hint="Start each run from a copy, `w = starts[i].copy()`: "
            "`w = starts[i]` is a view, and `w -= ...` then writes into starts",
        )
    ex.passed("final points of every restart match to 1e-8")


# --- the loss along a line between two parameter vectors ----------------------------------------
@checker
def interpolate_losses(student_fn):
    """Check ``interpolate_losses(loss, theta0, theta1, alphas) -> ndarray``.

    Inputs: loss, a function of a 1-D parameter vector returning a float; theta0 and
    theta1, float64 ndarrays (p,); alphas, a 1-D ndarray of k numbers (some below 0 or
    above 1). Return the float64 array (k,) of loss((1 - a) * theta0 + a * theta1) for
    each a in alphas (a = 0 gives theta0, a = 1 gives theta1). Leave the inputs unchanged.
    Recognises: endpoints swapped, theta0 + a * theta1 (the difference forgotten),
    a list returned, losses of theta0 only, inputs changed in place.
    """
    ex = Exercise(
        "interpolate_losses",
        student_fn,
        returns="losses",
        signature="interpolate_losses(loss, theta0, theta1, alphas) -> ndarray (k,)",
        like={"losses": "alphas"},
        formulas={"losses": "losses[i] = loss((1 - alphas[i]) * theta0 + alphas[i] * theta1)"},
        tol=1e-10,
        reference=lambda loss, theta0, theta1, alphas: np.array(
            [loss((1 - a) * theta0 + a * theta1) for a in alphas]
        ),
    )
    for seed, (p, k) in enumerate([(6, 9), (10, 5), (4, 11)]):
        rng = np.random.default_rng(1200 + seed)
        A = rng.normal(size=(p, p))
        c = rng.normal(size=p)
        loss = _named(
            "loss(theta) = sum(tanh(A theta + c)**2) + |theta|^2 / 10",
            lambda t, A=A, c=c: float(np.sum(np.tanh(A @ t + c) ** 2) + 0.1 * t @ t),
        )
        theta0, theta1 = rng.normal(size=p), rng.normal(size=p)
        alphas = np.linspace(-0.5, 1.5, k)
        right = np.array([loss((1 - a) * theta0 + a * theta1) for a in alphas])
        bugs = [
            Bug(
                "theta0 + a * theta1 does not reach theta1 at a = 1: move along the "
                "difference, theta0 + a * (theta1 - theta0)",
                losses=np.array([loss(theta0 + a * theta1) for a in alphas]),
            ),
            Bug(
                "every entry is loss(theta0): build the point for each a, "
                "(1 - a) * theta0 + a * theta1, and evaluate the loss there",
                losses=np.full(k, loss(theta0)),
            ),
        ]
        ex.case(
            {"loss": loss, "theta0": theta0, "theta1": theta1, "alphas": alphas},
            right,
            bugs,
            mutation_hint="Compute each point as a new array, `(1 - a) * theta0 + a * theta1`; "
            "`theta0 += ...` writes into the caller's parameters",
        )
    ex.passed("losses along the line match to 1e-10")


# --- filter-normalised random directions (Li et al. 2018) ---------------------------------------
@checker
def filter_normalize(student_fn):
    """Check ``filter_normalize(direction, theta) -> list of ndarrays`` (Li et al. 2018).

    Inputs: direction and theta, two lists of float64 ndarrays of matching shapes: weight
    matrices W of shape (n_in, n_out) (bpkit's x @ W: column j holds neuron j's incoming
    weights, its "filter") and bias vectors (n_out,).
    Return a new list: for a matrix, the direction with each COLUMN rescaled to the norm of
    the same column of theta, d[:, j] * ||theta[:, j]|| / ||d[:, j]||; for a 1-D array (a
    bias), zeros. Leave the inputs unchanged.
    Recognises: rows normalised instead of columns, a whole matrix normalised at once, unit
    norm (theta's norm forgotten), biases not zeroed, inputs changed in place.
    """
    ex = Exercise(
        "filter_normalize",
        student_fn,
        returns="normalized",
        signature="filter_normalize(direction, theta) -> list of ndarrays",
        tol=1e-10,
        sequence=True,
    )
    for seed, sizes in enumerate([(2, 5, 3), (4, 6, 2), (3, 2, 4)]):
        rng = np.random.default_rng(1300 + seed)
        theta, direction = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            scales = rng.uniform(0.2, 3.0, n_out)  # neurons of very different norms
            theta += [rng.normal(size=(n_in, n_out)) * scales, rng.normal(size=n_out)]
            direction += [rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)]

        def per(axis, scale=True, zero_bias=True):
            out = []
            for d, w in zip(direction, theta):
                if w.ndim == 1:
                    out.append(np.zeros_like(d) if zero_bias else d.copy())
                elif axis is None:
                    out.append(d * (np.linalg.norm(w) if scale else 1.0) / np.linalg.norm(d))
                else:
                    norm_w = np.linalg.norm(w, axis=axis, keepdims=True) if scale else 1.0
                    out.append(d * norm_w / np.linalg.norm(d, axis=axis, keepdims=True))
            return out

        bugs = [
            Bug(
                "you normalised the ROWS (axis=1); a neuron's filter is a COLUMN of W (its "
                "incoming weights, since bpkit computes x @ W): use axis=0",
                normalized=per(1),
            ),
            Bug(
                "you rescaled each whole matrix at once; filter normalisation rescales each "
                "neuron (column of W) separately: np.linalg.norm(W, axis=0, keepdims=True)",
                normalized=per(None),
            ),
            Bug(
                "every column of your direction has norm 1: multiply by the norm of the same "
                "column of theta, d[:, j] * ||theta[:, j]|| / ||d[:, j]||",
                normalized=per(0, scale=False),
            ),
            Bug(
                "the bias directions must be zeros (np.zeros_like(b)): Li et al. leave biases out",
                normalized=per(0, zero_bias=False),
            ),
        ]
        (got,), where = ex.call(
            {"direction": direction, "theta": theta},
            mutation_hint="Build new arrays (`d * scale`), do not use `d *= scale` on the "
            "given direction",
        )
        ex.check((got,), {"normalized": per(0)}, bugs, where)
    ex.passed("every filter's norm and direction match to 1e-10")
