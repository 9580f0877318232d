"""Checker for a custom op written with ``Tensor.from_op`` (lecture 04, set 04's hardest exercise).

``logsumexp_op`` gives the learner's ``logsumexp(x)`` a Tensor ``x`` (N, C), checks
that what comes back is ONE graph node with ``x`` as its only parent (an op of its
own, not a chain of bpkit's exp/sum/log), runs its backward with an upstream
gradient ``g`` (N,), and compares the value and ``x.grad`` with the reference,
on rows of ordinary size and on rows near +-1000 (where a naive exp overflows).
"""

import numpy as np

from bpkit.check._core import Bug, Exercise, call_student, checker
from bpkit.tensor import Tensor

__all__ = ["logsumexp_op"]


def _softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _lse(x):
    m = x.max(axis=1)
    return m + np.log(np.exp(x - m[:, None]).sum(axis=1))


def _reference(x, g):
    """out = log(sum_j exp(x_ij)) per row; dx = g[:, None] * softmax(x, axis=1)."""
    return _lse(x), g[:, None] * _softmax(x)


_SIGNATURE = (
    "logsumexp(x) -> Tensor: x a Tensor (N, C), the result a Tensor (N,) from Tensor.from_op"
)


def _structure(out, x):
    """A message if ``out`` is not one op of its own with parent ``x``, else None."""
    if not isinstance(out, Tensor):
        kind = type(out).__name__
        return (
            f"returned a {kind}; return the Tensor that Tensor.from_op(data, (x,), backward, "
            "'logsumexp') made, so that backward can run through it"
        )
    parents = getattr(out, "_parents", ())
    if len(parents) == 1 and parents[0] is x:
        return None
    if not parents:
        return (
            "the Tensor you returned has no graph behind it (no parent): build it with "
            "Tensor.from_op(data, (x,), backward, 'logsumexp'), with x as its one parent"
        )
    return (
        "the result is built from several bpkit ops (its parent is not x itself): the "
        "exercise asks for ONE op with a backward you write, Tensor.from_op(data, (x,), "
        "backward, 'logsumexp')"
    )


@checker
def logsumexp_op(student_fn):
    """Check logsumexp_op: ``logsumexp(x) -> Tensor``, one op made by ``Tensor.from_op``.

    x: a Tensor (N, C) that requires grad. Return a Tensor (N,) with
    out[i] = log(sum_j exp(x[i, j])), finite for entries near +-1000, made by
    ``Tensor.from_op(data, (x,), backward, name)``, whose ``backward(g)`` (g of shape
    (N,)) returns a tuple ``(dx,)`` with dx shaped like x.
    Recognises: the upstream gradient g forgotten, the softmax taken over the wrong
    axis, the row max subtracted and not added back, an op that is not its own
    node, no graph at all, overflow.
    """
    ex = Exercise(
        "logsumexp_op",
        student_fn,
        returns=("out", "dx"),
        signature=_SIGNATURE,
        like={"dx": "x"},
        formulas={
            "out": "out = m + log(sum_j exp(x_ij - m)), m the row max",
            "dx": "dx = g[:, None] * softmax(x, axis=1)",
        },
        reference=_reference,
    )
    cases = [((4, 5), 0.0, 1.0), ((3, 7), 0.0, 2.0), ((6, 2), 0.0, 1.0), ((2, 3), 1000.0, 1.0)]
    cases.append(((3, 4), -1000.0, 1.0))
    for seed, ((N, C), shift, scale) in enumerate(cases):
        rng = np.random.default_rng(400 + seed)
        x = shift + scale * rng.normal(size=(N, C))
        g = rng.normal(size=N)
        out_ref, dx_ref = _reference(x, g)
        ex.cases += 1
        where = f"case {ex.cases}: x {x.shape}" + (f" near {shift:g}" if shift else "") + ", g (N,)"
        t = Tensor(x.copy(), requires_grad=True)
        out = call_student(ex.name, student_fn, (t,), signature=_SIGNATURE, where=where)
        problem = _structure(out, t)
        if problem:
            ex.fail(problem, where)
        if not np.array_equal(t.data, x):
            ex.fail("changed x.data in place: compute with new arrays (x.data - m, not -=)", where)
        value = np.array(out.data, copy=True)
        if value.shape == (N,):
            call_student(ex.name, out.backward, (g.copy(),), signature="backward(g)", where=where)
        grad = t.grad if t.grad is not None else None
        if grad is None and value.shape == (N,):
            ex.fail(
                "after out.backward(g), x.grad is still None: your backward must return a tuple "
                "with x's gradient, (dx,)",
                where,
            )
        bugs = [
            Bug(
                "dx does not depend on the upstream gradient g: the chain rule multiplies the "
                "op's local derivative by g, row by row",
                dx=_softmax(x),
            ),
            Bug(
                "dx is normalised over the wrong axis: your softmax runs down the columns "
                "(axis 0), but each ROW of x is one logsumexp",
                dx=g[:, None] * _softmax(x, axis=0),
            ),
            Bug(
                "out is lower than logsumexp by each row's max: shifting by the max keeps the "
                "exp from overflowing, but the max must be added back at the end",
                out=out_ref - x.max(axis=1),
            ),
        ]
        ex.check(
            (value, grad),
            {"out": out_ref, "dx": dx_ref},
            bugs,
            where,
            nonfinite_hint=(
                "x has entries near +-1000 in this case, and exp overflows (or underflows to 0) "
                "there: a stable logsumexp never exponentiates a large number"
            ),
            inputs={"x": x, "g": g},
        )
    ex.passed()
