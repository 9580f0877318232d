"""Checker for an op the learner adds to the scalar engine (lecture 02, set 02's last exercise).

``value_div`` calls the learner's ``value_div(a, b)`` on bpkit ``Value``s and checks
that it returns ONE new node for z = a / b, with parents ``(a, b)`` in that order
(not bpkit's own ``/``, and not a chain of other ops), the right value and the
right local derivatives; then it back-propagates through a small graph that uses
the node (a feeding both the op and another factor) and compares every gradient
with central differences, as a gradient check does.
"""

import math

from bpkit.check._core import Bug, Exercise, call_student, checker
from bpkit.scalar import Value

__all__ = ["value_div"]

_SIGNATURE = (
    "value_div(a, b) -> Value z = a / b with z._parents == (a, b) and z._local its derivatives"
)


class _OwnOpOnly(Value):
    """A Value whose ``/`` and ``**`` refuse: the learner must build the node, not call bpkit's."""

    __slots__ = ()

    def _refuse(self, *args):
        raise TypeError(
            "value_div must build the node itself from a.data and b.data, not with bpkit's own "
            "a / b (or **): that op is the answer already"
        )

    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = _refuse


def _reference(a, b):
    """z = a / b; dz/da = 1/b, dz/db = -a/b**2."""
    return a / b, 1.0 / b, -a / b**2


def _numeric_grads(a, b, eps=1e-6):
    """d/da and d/db of f(a, b) = (a / b) * a + b, by central differences."""

    def f(x, y):
        return (x / y) * x + y

    da = (f(a + eps, b) - f(a - eps, b)) / (2 * eps)
    db = (f(a, b + eps) - f(a, b - eps)) / (2 * eps)
    return da, db


@checker
def value_div(student_fn):
    """Check ``value_div(a, b) -> Value`` for z = a / b, as a node of the scalar engine.

    a, b: bpkit Values (b != 0). Return a NEW Value built as
    ``Value(data, (a, b), (dz_da, dz_db), "/")``: value a.data / b.data, parents (a, b),
    local derivatives in the same order. Then ``backward()`` through a graph using it
    must agree with central differences.
    Recognises: the two local derivatives swapped, the sign of dz/db, dz/db without
    the square (-a/b), the product rule's locals (b, a), bpkit's own ``/`` or a chain of
    ops instead of one node, the parents in the wrong order.
    """
    ex = Exercise(
        "value_div",
        student_fn,
        returns=("z", "dz_da", "dz_db"),
        signature=_SIGNATURE,
        formulas={"local": "dz/da = 1 / b, dz/db = -a / b**2"},
        reference=_reference,
    )
    cases = [(1.5, -0.8), (-2.0, 2.5), (0.6, 0.3), (3.0, -4.0)]
    for a_data, b_data in cases:
        ex.cases += 1
        where = f"case {ex.cases}: a = Value({a_data:g}), b = Value({b_data:g})"
        a, b = _OwnOpOnly(a_data, label="a"), _OwnOpOnly(b_data, label="b")
        z = call_student(ex.name, student_fn, (a, b), signature=_SIGNATURE, where=where)
        if not isinstance(z, Value):
            ex.fail(
                f"returned a {type(z).__name__}; return a new Value: "
                "Value(data, (a, b), (dz_da, dz_db), '/')",
                where,
            )
        if z is a or z is b:
            ex.fail("returned one of its inputs; build a new Value for z = a / b", where)
        if (a.data, b.data) != (a_data, b_data):
            ex.fail("changed a.data or b.data: an op only reads its inputs", where)
        parents = tuple(z._parents)
        if len(parents) == 2 and parents[0] is b and parents[1] is a:
            ex.fail(
                "the parents are in the wrong order: (b, a); the local derivatives must line up "
                "with (a, b)",
                where,
            )
        if len(parents) != 2 or parents[0] is not a or parents[1] is not b:
            ex.fail(
                "z is not ONE node with parents (a, b): bpkit's own a / b (or a chain such as "
                "a * b**-1) builds other nodes in between. The exercise is to write the node "
                "yourself: Value(data, (a, b), (dz_da, dz_db), '/')",
                where,
            )
        local = tuple(z._local)
        if len(local) != 2:
            ex.fail(
                f"z._local has {len(local)} entries; give one local derivative per parent, "
                "(dz_da, dz_db)",
                where,
            )
        z_ref, da_ref, db_ref = _reference(a_data, b_data)
        bugs = [
            Bug(
                "the two local derivatives are swapped: the first belongs to a, the second to b",
                dz_da=db_ref,
                dz_db=da_ref,
            ),
            Bug(
                "dz/db has the wrong sign: making the denominator b bigger makes a / b smaller "
                "when a / b > 0",
                dz_db=-db_ref,
            ),
            Bug(
                "dz/db is missing a factor 1/b: b appears in the denominator, and the "
                "derivative of 1/b is not -1/b",
                dz_db=-a_data / b_data,
            ),
            Bug(
                "these are the product's local derivatives (b, a); z = a / b = a * (1/b) "
                "has others",
                dz_da=b_data,
                dz_db=a_data,
            ),
        ]
        ex.check(
            (z.data, local[0], local[1]),
            {"z": z_ref, "dz_da": da_ref, "dz_db": db_ref},
            bugs,
            where,
            inputs={"a": a_data, "b": b_data},
        )
    # The gradient check: backward through f = (a / b) * a + b, a used twice.
    for a_data, b_data in cases:
        where = f"gradient check: a = Value({a_data:g}), b = Value({b_data:g})"
        a2, b2 = _OwnOpOnly(a_data), _OwnOpOnly(b_data)
        z2 = call_student(ex.name, student_fn, (a2, b2), signature=_SIGNATURE, where=where)
        f = z2 * a2 + b2
        f.backward()
        da_num, db_num = _numeric_grads(a_data, b_data)
        for name, got, want in (("a", a2.grad, da_num), ("b", b2.grad, db_num)):
            if not math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-7):
                ex.fail(
                    f"the gradient check fails: after backward() through (a / b) * a + b, "
                    f"{name}.grad = {got:.6g}, central differences give {want:.6g}",
                    where,
                )
    ex.passed()
