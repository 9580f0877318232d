"""check.checkpoint_segment (set 11): a gradient-checkpointed segment through Tensor.from_op."""

import numpy as np
import pytest

from bpkit import Tensor, check, no_grad
from tests.checkers import assert_passes, diagnosis


def _run(segment, x):
    for layer in segment:
        x = layer(x)
    return x


def _make(graph=False, params_as_parents=True, fresh_leaf=True, reruns=1, scale=1.0, sign=1.0):
    """A checkpoint_segment with one of the bugs below switched on (the defaults are right)."""

    def checkpoint_segment(segment, x):
        params = [p for layer in segment for p in layer.parameters()]
        if graph:
            out = _run(segment, x)
        else:
            with no_grad():
                out = _run(segment, x.detach())

        def backward(g):
            inp = Tensor(x.data, requires_grad=True) if fresh_leaf else x
            for _ in range(reruns):
                _run(segment, inp).backward(sign * g)
            dx = inp.grad if fresh_leaf else x.grad
            dx = None if dx is None else scale * dx
            return (dx, *[None] * len(params)) if params_as_parents else (dx,)

        parents = (x, *params) if params_as_parents else (x,)
        return Tensor.from_op(out.data, parents, backward, "checkpoint")

    return checkpoint_segment


def test_right_answers_pass(capsys):
    assert_passes(check.checkpoint_segment, _make(), capsys)

    def with_a_list_of_parents(segment, x):
        params = []
        for layer in segment:
            params += list(layer.parameters())
        with no_grad():
            h = x.detach()
            for layer in segment:
                h = layer(h)

        def backward(g):
            leaf = Tensor(x.data.copy(), requires_grad=True)
            y = leaf
            for layer in segment:
                y = layer(y)
            y.backward(grad=g)
            return [leaf.grad] + [None] * len(params)

        return Tensor.from_op(h.data, [x] + params, backward, "my_checkpoint")

    assert_passes(check.checkpoint_segment, with_a_list_of_parents, capsys)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_make(graph=True), "recorded a graph inside the segment"),
        (lambda segment, x: _run(segment, x), "recorded a graph inside the segment"),
        (_make(params_as_parents=False), "the parameters must be parents"),
        (_make(fresh_leaf=False), "x received its gradient twice"),
        (_make(reruns=2), "one re-run of the segment is enough"),
    ],
    ids=["graph-kept", "plain-backprop", "params-not-parents", "rerun-from-x", "two-reruns"],
)
def test_catalogue(fn, fragment):
    assert fragment in diagnosis(check.checkpoint_segment, fn)


def test_no_rerun_is_named():
    def no_rerun(segment, x):
        params = [p for layer in segment for p in layer.parameters()]
        with no_grad():
            out = _run(segment, x.detach())
        return Tensor.from_op(
            out.data, (x, *params), lambda g: (np.zeros_like(x.data), *[None] * len(params)), "c"
        )

    assert "did not re-run the segment" in diagnosis(check.checkpoint_segment, no_rerun)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_make(sign=-1.0), "wrong sign"),
        (_make(scale=0.5), "divided by 2"),
        (
            lambda segment, x: _make()(segment, x).data,
            "returned a ndarray",
        ),
        (
            lambda segment, x: Tensor(_make()(segment, x).data),
            "does not have x as a parent",
        ),
    ],
    ids=["g-negated", "dx-halved", "ndarray", "no-parents"],
)
def test_unseen_bugs_get_a_specific_explanation(fn, fragment):
    message = diagnosis(check.checkpoint_segment, fn)
    assert fragment in message, message
    assert "max error" not in message


def test_first_failure_hides_the_formula():
    message = diagnosis(check.checkpoint_segment, _make(scale=0.5))
    assert "inp.grad, *[None]" not in message
