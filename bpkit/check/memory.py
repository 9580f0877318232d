"""Checker for a gradient-checkpointed segment (lecture 11, set 11's hardest exercise).

``checkpoint_segment`` hands the learner's ``checkpoint_segment(segment, x)`` a list of
small bpkit layers that count their forward runs (and whether a graph was being
recorded), then checks what a checkpointed segment must do: ONE graph node with
x and the segment's parameters as parents, no graph recorded inside the segment
in the forward pass, one re-run with a graph in the backward pass, and the same
gradients (of x and of every parameter) as plain backprop. The input x sometimes
needs no gradient (the data batch of a first segment): the parameters must still
get theirs.
"""

import numpy as np

from bpkit import nn
from bpkit.check._core import Bug, Exercise, call_student, checker
from bpkit.mode import is_grad_enabled
from bpkit.tensor import Tensor

__all__ = ["checkpoint_segment"]

_SIGNATURE = "checkpoint_segment(segment, x) -> Tensor (one node made by Tensor.from_op)"


class _Counted(nn.Module):
    """A layer that counts its forward runs, with and without a graph being recorded."""

    def __init__(self, layer):
        self.layer = layer
        self.recorded = 0  # runs while grad mode was on
        self.unrecorded = 0  # runs under no_grad()

    def forward(self, x):
        if is_grad_enabled():
            self.recorded += 1
        else:
            self.unrecorded += 1
        return self.layer(x)

    def __repr__(self):
        return f"Counted({self.layer!r})"


def _segment(rng, widths):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(_Counted(nn.Linear(a, b, rng=rng)))
        if i < len(widths) - 2:
            layers.append(_Counted(nn.Tanh()))
    for layer in layers:
        for p in layer.parameters():
            p.data[...] = rng.normal(size=p.data.shape) / np.sqrt(p.data.shape[0])
    return layers


def _plain(segment, x_data, g, x_needs_grad):
    """Output, dx (or None) and parameter gradients by plain backprop."""
    x = Tensor(x_data.copy(), requires_grad=x_needs_grad)
    y = x
    for layer in segment:
        y = layer.layer(y)
    y.backward(g)
    params = [p for layer in segment for p in layer.parameters()]
    grads = [p.grad.copy() for p in params]
    for p in params:
        p.grad = None
    return y.data.copy(), (x.grad.copy() if x_needs_grad else None), grads


def _counts(segment):
    return sum(layer.recorded for layer in segment), sum(layer.unrecorded for layer in segment)


@checker
def checkpoint_segment(student_fn):
    """Check ``checkpoint_segment(segment, x) -> Tensor`` (gradient checkpointing, one segment).

    segment: a list of bpkit layers (Linear, Tanh), applied in order; x: a Tensor (N, D)
    that may or may not require grad. Return the segment's output (N, M) as ONE node
    made by ``Tensor.from_op(data, (x, *params), backward, name)``: the forward runs the
    segment under ``no_grad()`` (no graph kept inside the segment); ``backward(g)``
    re-runs it once with a graph from a fresh leaf holding x's data, back-propagates g
    (which fills the parameters' .grad) and returns (dx, None, ..., None).
    Recognises: a graph recorded in the forward, no re-run in the backward, the
    parameters missing from the parents (no gradient when x needs none), x's gradient
    counted twice, more than one re-run.
    """
    ex = Exercise(
        "checkpoint_segment",
        student_fn,
        returns=("out", "dx", "dparams"),
        signature=_SIGNATURE,
        like={"dx": "x"},
        formulas={
            "backward": "with no_grad(): out = run(segment, x.detach()); backward(g): inp = "
            "Tensor(x.data, requires_grad=True); run(segment, inp).backward(g); return "
            "(inp.grad, *[None] * len(params))"
        },
    )
    cases = [((4, [3, 5, 2]), True), ((3, [4, 6, 6, 5]), True), ((5, [2, 3, 4]), False)]
    for seed, ((N, widths), x_needs_grad) in enumerate(cases):
        rng = np.random.default_rng(1100 + seed)
        segment = _segment(rng, widths)
        x_data = rng.normal(size=(N, widths[0]))
        g = rng.normal(size=(N, widths[-1]))
        out_ref, dx_ref, dparams_ref = _plain(segment, x_data, g, x_needs_grad)
        params = [p for layer in segment for p in layer.parameters()]
        ex.cases += 1
        where = f"case {ex.cases}: a segment of {len(segment)} layers, x {x_data.shape}" + (
            "" if x_needs_grad else " that needs no gradient (the data)"
        )
        x = Tensor(x_data.copy(), requires_grad=x_needs_grad)
        out = call_student(
            ex.name, student_fn, (list(segment), x), signature=_SIGNATURE, where=where
        )
        if not isinstance(out, Tensor):
            ex.fail(
                f"returned a {type(out).__name__}; return the Tensor that Tensor.from_op made",
                where,
            )
        recorded, unrecorded = _counts(segment)
        if recorded:
            ex.fail(
                "the forward pass recorded a graph inside the segment (a layer ran with grad "
                "mode on): that graph is exactly the memory checkpointing saves. Run the "
                "segment under no_grad() and keep only its input",
                where,
            )
        if unrecorded != len(segment):
            ex.fail(
                f"in the forward pass the {len(segment)} layers ran {unrecorded} times in all; "
                "each must run exactly once",
                where,
            )
        if not out.requires_grad and not x_needs_grad:
            ex.fail(
                "here x needs no gradient (it is the data), and your output has no graph: "
                "backward would never reach the segment's parameters. Their gradients are "
                "needed, so the parameters must be parents of the node too",
                where,
            )
        parents = getattr(out, "_parents", ())
        if not any(p is x for p in parents) or len(parents) < 1:
            ex.fail(
                "the Tensor you returned does not have x as a parent: make it with "
                "Tensor.from_op(data, (x, *params), backward, name), so that backward reaches it",
                where,
            )
        value = np.array(out.data, copy=True)
        if value.shape != out_ref.shape:
            ex.check((value, None, None), {"out": out_ref}, where=where)
        call_student(ex.name, out.backward, (g.copy(),), signature="backward(g)", where=where)
        recorded, unrecorded = _counts(segment)
        if recorded == 0:
            ex.fail(
                "the backward pass did not re-run the segment: with no graph kept in the "
                "forward pass, backward must run the segment again (with grad on) from the "
                "stored input and back-propagate g through that new graph",
                where,
            )
        if recorded != len(segment):
            ex.fail(
                f"in the backward pass the {len(segment)} layers ran {recorded} times with a "
                "graph; one re-run of the segment is enough",
                where,
            )
        dparams = [p.grad.copy() if p.grad is not None else np.zeros_like(p.data) for p in params]
        dx = x.grad.copy() if x.grad is not None else None
        if x_needs_grad and dx is None:
            ex.fail(
                "after out.backward(g), x.grad is still None: your backward must return x's "
                "gradient first, (dx, None, ..., None)",
                where,
            )
        expect = {"out": out_ref, "dparams": dparams_ref}
        got = (value, dx, dparams)
        if x_needs_grad:
            expect["dx"] = dx_ref
        bugs = [
            Bug(
                "x received its gradient twice: the re-run started from x itself, so "
                "back-propagating through it already filled x.grad, and your backward "
                "returned it once more. Re-run from a new leaf that holds x's data",
                dx=2 * dx_ref if dx_ref is not None else None,
            ),
            Bug(
                "the parameters got no gradient: back-propagate g through the re-run "
                "segment (y.backward(g)), which fills their .grad",
                dparams=[np.zeros_like(p) for p in dparams_ref],
            ),
        ]
        bugs = [b for b in bugs if all(v is not None for v in b.values.values())]
        ex.check(got, expect, bugs, where, inputs={"x": x_data, "g": g})
        for p in params:
            p.grad = None
    ex.passed()
