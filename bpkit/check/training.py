"""Checkers for the training side: optimiser steps, initialisation scales, gradient clipping.

The optimiser exercises are pure functions (new arrays out, inputs untouched);
bpkit.optim's classes update ``p.data`` in place, which is a separate matter.
"""

import math

import numpy as np

from bpkit.check._core import Bug, Exercise, checker

__all__ = [
    "sgd_momentum_step",
    "rmsprop_step",
    "adam_step",
    "xavier_std",
    "he_std",
    "clip_grad_norm",
]

_PURE = (
    "An optimiser step in this exercise returns new arrays and leaves w and its state untouched: "
    "write `w_new = w - ...`, not `w -= ...`"
)


# --- optimisers -----------------------------------------------------------------------------------
@checker
def sgd_momentum_step(student_fn):
    """Check ``sgd_momentum_step(w, dw, v, lr, momentum) -> (w_new, v_new)``.

    PyTorch's convention: v_new = momentum * v + dw;  w_new = w - lr * v_new.
    Inputs: w, dw, v float64 ndarrays of one shape; lr, momentum floats. Return two new
    ndarrays; w, dw and v must be left unchanged.
    Recognises: momentum ignored, sign (uphill), the other convention
    (v = momentum*v - lr*dw; w += v), w updated with the old v, the averaged form
    (1 - momentum) * dw, lr inside the velocity, inputs changed in place.
    """
    ex = Exercise(
        "sgd_momentum_step",
        student_fn,
        returns=("w_new", "v_new"),
        signature="sgd_momentum_step(w, dw, v, lr, momentum) -> (w_new, v_new)",
        like={"w_new": "w", "v_new": "v"},
        formulas={"w_new": "w_new = w - lr * v_new", "v_new": "v_new = momentum * v + dw"},
        reference=lambda w, dw, v, lr, momentum: (
            w - lr * (momentum * v + dw),
            momentum * v + dw,
        ),
    )
    # momentum != 0.5: there the averaged form (1 - momentum) * dw would be half the answer.
    cases = [((3, 5), 0.1, 0.9, True), ((4,), 0.05, 0.7, False), ((2, 3, 2), 0.01, 0.99, True)]
    for seed, (shape, lr, mu, moving) in enumerate(cases):
        rng = np.random.default_rng(900 + seed)
        w, dw = rng.normal(size=shape), rng.normal(size=shape)
        v = rng.normal(size=shape) if moving else np.zeros(shape)
        v_new = mu * v + dw
        other = mu * v - lr * dw
        averaged = mu * v + (1 - mu) * dw
        inside = mu * v + lr * dw
        bugs = [
            Bug(
                "you ignored the velocity: momentum keeps a running sum, v_new = momentum * v + dw",
                w_new=w - lr * dw,
                v_new=dw,
            ),
            Bug(
                "this is the OTHER momentum convention (v = momentum*v - lr*dw; w = w + v, as in "
                "Sutskever et al. 2013 and CS231n). It is a fine method, but this exercise, "
                "PyTorch "
                "and bpkit.optim.SGD use v_new = momentum*v + dw; w_new = w - lr*v_new (no lr "
                "inside v)",
                w_new=w + other,
                v_new=other,
            ),
            Bug(
                "you updated w with the OLD velocity: compute v_new first, then "
                "w_new = w - lr * v_new",
                w_new=w - lr * v,
            ),
            Bug(
                "that is an exponential moving average, v = momentum*v + (1 - momentum)*dw "
                "(dampening); PyTorch's SGD adds the whole gradient: v_new = momentum * v + dw",
                w_new=w - lr * averaged,
                v_new=averaged,
            ),
            Bug(
                "you put lr inside the velocity (v = momentum*v + lr*dw; w = w - v); in this "
                "convention lr multiplies the whole velocity: v_new = momentum*v + dw; "
                "w_new = w - lr*v_new",
                w_new=w - inside,
                v_new=inside,
            ),
        ]
        ex.case(
            dict(w=w, dw=dw, v=v),
            dict(w_new=w - lr * v_new, v_new=v_new),
            bugs,
            kwargs=dict(lr=lr, momentum=mu),
            mutation_hint=_PURE,
        )
    ex.passed()


def _rmsprop(w, dw, s, lr, alpha=0.99, eps=1e-8):
    s_new = alpha * s + (1 - alpha) * dw**2
    return w - lr * dw / (np.sqrt(s_new) + eps), s_new


@checker
def rmsprop_step(student_fn):
    """Check ``rmsprop_step(w, dw, s, lr, alpha=0.99, eps=1e-8) -> (w_new, s_new)``.

    s_new = alpha * s + (1 - alpha) * dw**2;  w_new = w - lr * dw / (sqrt(s_new) + eps)
    (Tieleman & Hinton 2012; eps outside the sqrt as in PyTorch).
    Inputs: w, dw, s float64 ndarrays of one shape (s >= 0); lr, alpha, eps floats.
    Return two new ndarrays; inputs unchanged.
    Recognises: forgot the sqrt, alpha and 1 - alpha swapped, w updated with the old s,
    dw not squared, sign, inputs changed in place.
    """
    ex = Exercise(
        "rmsprop_step",
        student_fn,
        returns=("w_new", "s_new"),
        signature="rmsprop_step(w, dw, s, lr, alpha=0.99, eps=1e-8) -> (w_new, s_new)",
        like={"w_new": "w", "s_new": "s"},
        formulas={
            "w_new": "w_new = w - lr * dw / (np.sqrt(s_new) + eps)",
            "s_new": "s_new = alpha * s + (1 - alpha) * dw**2",
        },
        reference=_rmsprop,
    )
    cases = [((3, 4), 0.01, None, True), ((5,), 0.1, 0.9, True), ((2, 3), 0.001, None, False)]
    for seed, (shape, lr, alpha, warm) in enumerate(cases):
        rng = np.random.default_rng(1000 + seed)
        w, dw = rng.normal(size=shape), rng.normal(size=shape)
        s = rng.uniform(0.01, 1.0, size=shape) if warm else np.zeros(shape)
        a, eps = (0.99 if alpha is None else alpha), 1e-8
        s_new = a * s + (1 - a) * dw**2
        swapped = (1 - a) * s + a * dw**2
        bugs = [
            Bug(
                "you forgot the square root: divide by np.sqrt(s_new) + eps (s is a mean of "
                "squares; its root has the gradient's units)",
                w_new=w - lr * dw / (s_new + eps),
            ),
            Bug(
                "alpha and 1 - alpha are swapped: alpha weighs the OLD average, "
                "s_new = alpha * s + (1 - alpha) * dw**2",
                w_new=w - lr * dw / (np.sqrt(swapped) + eps),
                s_new=swapped,
            ),
            Bug(
                "you divided by the OLD s: update s first, then w_new = w - lr * dw / "
                "(np.sqrt(s_new) + eps)",
                w_new=w - lr * dw / (np.sqrt(s) + eps),
            ),
        ]
        kwargs = dict(lr=lr) if alpha is None else dict(lr=lr, alpha=alpha)
        ex.case(
            dict(w=w, dw=dw, s=s),
            dict(w_new=w - lr * dw / (np.sqrt(s_new) + eps), s_new=s_new),
            bugs,
            kwargs=kwargs,
            nonfinite_hint="a square root of a negative number? s must average dw**2 (squared)",
            mutation_hint=_PURE,
        )
    ex.passed()


def _adam(w, dw, m, v, t, lr, beta1, beta2, eps, correct=True, root=True, old=False):
    """One Adam step (Kingma & Ba 2015, Algorithm 1); the switches build the classic mistakes."""
    m_new = beta1 * m + (1 - beta1) * dw
    v_new = beta2 * v + (1 - beta2) * dw**2
    use_m, use_v = (m, v) if old else (m_new, v_new)
    if correct:
        use_m, use_v = use_m / (1 - beta1**t), use_v / (1 - beta2**t)
    denominator = (np.sqrt(use_v) if root else use_v) + eps
    return w - lr * use_m / denominator, m_new, v_new


@checker
def adam_step(student_fn):
    """Check ``adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)``.

    Returns ``(w_new, m_new, v_new)``.

    Kingma & Ba (2015): m_new = beta1 m + (1 - beta1) dw; v_new = beta2 v + (1 - beta2) dw**2;
    m_hat = m_new / (1 - beta1**t); v_hat = v_new / (1 - beta2**t);
    w_new = w - lr m_hat / (sqrt(v_hat) + eps). t counts steps from 1.
    Inputs: w, dw, m, v float64 ndarrays of one shape; t an int >= 1; the rest floats.
    Return three new ndarrays (m_new and v_new WITHOUT bias correction); inputs unchanged.
    Recognises: no bias correction, t off by one, forgot the sqrt, betas swapped,
    old moments used, bias-corrected moments returned, (1 - beta) factors missing,
    sign, inputs changed in place.
    """
    ex = Exercise(
        "adam_step",
        student_fn,
        returns=("w_new", "m_new", "v_new"),
        signature="adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) "
        "-> (w_new, m_new, v_new)",
        like={"w_new": "w", "m_new": "m", "v_new": "v"},
        formulas={
            "w_new": "w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat = m_new / "
            "(1 - beta1**t), v_hat = v_new / (1 - beta2**t)",
            "m_new": "m_new = beta1 * m + (1 - beta1) * dw",
            "v_new": "v_new = beta2 * v + (1 - beta2) * dw**2",
        },
        reference=lambda w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8: _adam(
            w, dw, m, v, t, lr, beta1, beta2, eps
        ),
    )
    # (shape, t, keyword arguments, warm moments): a first step, a later one, custom betas.
    cases = [
        ((3, 4), 1, {}, False),
        ((5,), 5, dict(lr=0.01), True),
        ((2, 3), 100, dict(lr=0.05, beta1=0.8, beta2=0.99), True),
    ]
    for seed, (shape, t, kwargs, warm) in enumerate(cases):
        rng = np.random.default_rng(1100 + seed)
        w, dw = rng.normal(size=shape), rng.normal(size=shape)
        m = 0.1 * rng.normal(size=shape) if warm else np.zeros(shape)
        v = rng.uniform(0.01, 1.0, size=shape) if warm else np.zeros(shape)
        h = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) | kwargs
        b1, b2 = h["beta1"], h["beta2"]
        right = _adam(w, dw, m, v, t, **h)

        def variant(w=w, dw=dw, m=m, v=v, t=t, h=h, **change):
            return dict(
                zip(("w_new", "m_new", "v_new"), _adam(w, dw, m, v, **({"t": t} | h | change)))
            )

        bugs = [
            Bug(
                "no bias correction: divide by (1 - beta1**t) and (1 - beta2**t) before the "
                "update; m and v start at 0, so without it the first steps are biased",
                **variant(correct=False),
            ),
            Bug(
                "you forgot the square root of v_hat: divide by np.sqrt(v_hat) + eps",
                **variant(root=False),
            ),
            Bug(
                "you used the OLD m and v in the update: update the moments first, then use them",
                **variant(old=True),
            ),
            Bug(
                "you returned the bias-corrected moments; return the raw running averages m_new, "
                "v_new (the corrected m_hat, v_hat are only for this step's update)",
                m_new=right[1] / (1 - b1**t),
                v_new=right[2] / (1 - b2**t),
            ),
            Bug(
                "you forgot the (1 - beta1) factor: m_new = beta1 * m + (1 - beta1) * dw",
                m_new=b1 * m + dw,
            ),
            Bug(
                "you forgot the (1 - beta2) factor: v_new = beta2 * v + (1 - beta2) * dw**2",
                v_new=b2 * v + dw**2,
            ),
        ]
        first_step = (
            "with t=1, 1 - beta**(t-1) = 0 and the bias correction divides by zero: t already "
            "counts from 1, don't subtract 1"
            if t == 1
            else None
        )
        ex.case(
            dict(w=w, dw=dw, m=m, v=v, t=t),
            dict(zip(("w_new", "m_new", "v_new"), right)),
            bugs,
            kwargs=kwargs,
            nonfinite_hint=first_step,
            mutation_hint=_PURE,
        )
    ex.passed()


# --- initialisation -------------------------------------------------------------------------------
@checker
def xavier_std(student_fn):
    """Check ``xavier_std(fan_in, fan_out) -> float`` = sqrt(2 / (fan_in + fan_out)).

    Glorot & Bengio (2010): the standard deviation that keeps activation and gradient
    variances about equal across a layer. Inputs are positive ints; return a float.
    Recognises: the variance (no sqrt), fan_in only (LeCun), He's formula, the uniform
    limit sqrt(6 / (fan_in + fan_out)), the 2 forgotten, fan_in * fan_out.
    """
    ex = Exercise(
        "xavier_std",
        student_fn,
        returns="std",
        signature="xavier_std(fan_in, fan_out) -> float",
        formulas={"std": "std = sqrt(2 / (fan_in + fan_out))"},
        reference=lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    )
    for fan_in, fan_out in [(64, 10), (300, 100), (3, 7)]:
        total = fan_in + fan_out
        bugs = [
            Bug(
                "you used fan_in only, sqrt(1 / fan_in) (LeCun's initialisation); Xavier averages "
                "the two fans: sqrt(2 / (fan_in + fan_out))",
                std=math.sqrt(1 / fan_in),
            ),
            Bug(
                "you used fan_out only; Xavier uses both: sqrt(2 / (fan_in + fan_out))",
                std=math.sqrt(1 / fan_out),
            ),
            Bug(
                "that is He's formula sqrt(2 / fan_in) (for ReLU); Xavier's is "
                "sqrt(2 / (fan_in + fan_out))",
                std=math.sqrt(2 / fan_in),
            ),
            Bug(
                "that is the LIMIT a of Xavier's uniform U(-a, a), sqrt(6 / (fan_in + fan_out)); "
                "its standard deviation is a / sqrt(3) = sqrt(2 / (fan_in + fan_out))",
                std=math.sqrt(6 / total),
            ),
            Bug("you forgot the 2: sqrt(2 / (fan_in + fan_out))", std=math.sqrt(1 / total)),
            Bug(
                "add the fans, don't multiply them: sqrt(2 / (fan_in + fan_out))",
                std=math.sqrt(2 / (fan_in * fan_out)),
            ),
        ]
        ex.case(dict(fan_in=fan_in, fan_out=fan_out), math.sqrt(2 / total), bugs)
    ex.passed()


@checker
def he_std(student_fn):
    """Check ``he_std(fan_in) -> float`` = sqrt(2 / fan_in).

    He et al. (2015): ReLU zeroes half of its inputs, so the weights need twice the
    variance of LeCun's 1 / fan_in. Input a positive int; return a float.
    Recognises: the 2 forgotten (LeCun's, or Xavier's with fan_out = fan_in), the
    variance (no sqrt), the uniform limit sqrt(6 / fan_in).
    """
    ex = Exercise(
        "he_std",
        student_fn,
        returns="std",
        signature="he_std(fan_in) -> float",
        formulas={"std": "std = sqrt(2 / fan_in)"},
    )
    for fan_in in (64, 300, 7):
        bugs = [
            Bug(
                "you forgot the 2: sqrt(1 / fan_in) is LeCun's (and Xavier's with fan_out = "
                "fan_in); ReLU zeroes half of its inputs, so He doubles the variance: "
                "sqrt(2 / fan_in)",
                std=math.sqrt(1 / fan_in),
            ),
            Bug(
                "that is the LIMIT a of He's uniform U(-a, a), sqrt(6 / fan_in); its standard "
                "deviation is a / sqrt(3) = sqrt(2 / fan_in)",
                std=math.sqrt(6 / fan_in),
            ),
        ]
        ex.case(dict(fan_in=fan_in), math.sqrt(2 / fan_in), bugs)
    ex.passed()


# --- gradient clipping ----------------------------------------------------------------------------
def _clip(grads, max_norm, total):
    """Scale every array by max_norm / total when total > max_norm; otherwise leave them."""
    scale = min(1.0, max_norm / total)
    return [g * scale for g in grads]


@checker
def clip_grad_norm(student_fn):
    """Check ``clip_grad_norm(grads, max_norm) -> (clipped, total_norm)``.

    total_norm = sqrt(sum over all arrays of sum(g**2)), the global L2 norm, measured
    BEFORE clipping; if total_norm > max_norm every array is scaled by
    max_norm / total_norm (PyTorch adds 1e-6 to the denominator: both pass), else
    returned unchanged. Inputs: grads a list of float64 ndarrays, max_norm a float.
    Return (a list of NEW arrays, total_norm as a float); grads must be left unchanged.
    Recognises: each array clipped separately, scaled up when below max_norm, the
    norm after clipping, no sqrt, sum of per-array norms, arrays changed in place.
    """
    ex = Exercise(
        "clip_grad_norm",
        student_fn,
        returns=("clipped", "total_norm"),
        signature="clip_grad_norm(grads, max_norm) -> (clipped, total_norm)",
        formulas={"total_norm": "total_norm = sqrt(sum(np.sum(g**2) for g in grads))"},
        tol=1e-6,
    )
    cases = [
        ([(3, 4), (4,), (2, 3, 2)], 2.0, 1.0),
        ([(3, 4), (4,)], 0.1, 1.0),
        ([(5, 2)], 3.0, 2.5),
    ]
    for seed, (shapes, scale, max_norm) in enumerate(cases):
        rng = np.random.default_rng(1200 + seed)
        grads = [scale * rng.normal(size=s) for s in shapes]
        squares = sum(float(np.sum(g**2)) for g in grads)
        total = math.sqrt(squares)
        summed = sum(float(np.linalg.norm(g)) for g in grads)
        bugs = [
            Bug(
                "you clipped each array by its own norm; clip them together by the GLOBAL norm, "
                "sqrt of the sum of all squares, so that the whole gradient keeps its direction",
                clipped=[_clip([g], max_norm, float(np.linalg.norm(g)))[0] for g in grads],
            ),
            Bug(
                f"you scaled the gradients UP: their norm {total:.4g} is already below max_norm "
                f"{max_norm:g}; only clip when total_norm > max_norm",
                clipped=[g * max_norm / total for g in grads],
            ),
            Bug(
                "you returned the norm AFTER clipping; return the total norm measured before "
                "(the number worth logging: how big the gradient really was)",
                total_norm=min(total, max_norm),
            ),
            Bug(
                "your norm has no square root: the L2 norm is sqrt(sum of squares)",
                clipped=_clip(grads, max_norm, squares),
                total_norm=squares,
            ),
            Bug(
                "you added the arrays' norms; the global norm is the sqrt of the sum of ALL "
                "squares: sqrt(sum(np.sum(g**2) for g in grads))",
                clipped=_clip(grads, max_norm, summed),
                total_norm=summed,
            ),
        ]
        ex.case(
            dict(grads=grads, max_norm=max_norm),
            dict(clipped=_clip(grads, max_norm, total), total_norm=total),
            bugs,
            mutation_hint="Return new arrays (`g * scale`) instead of `g *= scale`",
        )
    ex.passed()
