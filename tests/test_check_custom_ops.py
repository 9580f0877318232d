"""check.logsumexp_op (set 04): a custom Tensor op through Tensor.from_op."""

import numpy as np
import pytest

from bpkit import Tensor, check
from bpkit.gradcheck import gradcheck
from tests.checkers import assert_passes, diagnosis


def _op(forward=None, backward=None):
    """A logsumexp op; ``forward(d)`` / ``backward(g, p, d)`` replace the right ones (bugs)."""

    def logsumexp(x):
        d = x.data
        m = d.max(axis=1, keepdims=True)
        e = np.exp(d - m)
        out = forward(d) if forward else m[:, 0] + np.log(e.sum(axis=1))
        p = e / e.sum(axis=1, keepdims=True)

        def grad(g):
            return (backward(g, p, d) if backward else g[:, None] * p,)

        return Tensor.from_op(out, (x,), grad, "logsumexp")

    return logsumexp


def test_the_solution_passes_gradcheck_and_equivalents_pass(capsys):
    assert gradcheck(_op(), Tensor(np.random.default_rng(0).normal(size=(3, 4)))).passed
    assert_passes(check.logsumexp_op, _op(), capsys)
    assert_passes(check.logsumexp_op, _op(forward=lambda d: np.logaddexp.reduce(d, axis=1)), capsys)

    def with_where_and_einsum(x):
        d = x.data
        m = np.max(d, axis=1)
        s = np.einsum("ij->i", np.exp(d - m[:, None]))
        p = np.exp(d - m[:, None] - np.log(s)[:, None])
        return Tensor.from_op(m + np.log(s), [x], lambda g: [np.einsum("i,ij->ij", g, p)], "lse")

    assert_passes(check.logsumexp_op, with_where_and_einsum, capsys)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_op(backward=lambda g, p, d: p), "does not depend on the upstream gradient g"),
        (
            _op(
                backward=lambda g, p, d: g[:, None]
                * np.exp(d - d.max(0))
                / np.exp(d - d.max(0)).sum(0)
            ),
            "over the wrong axis",
        ),
        (
            _op(forward=lambda d: np.log(np.exp(d - d.max(1, keepdims=True)).sum(1))),
            "must be added back",
        ),
    ],
    ids=["no-g", "axis-0", "max-not-added-back"],
)
def test_catalogue(fn, fragment):
    assert fragment in diagnosis(check.logsumexp_op, fn)


def _naive(x):
    d = x.data
    with np.errstate(all="ignore"):
        out = np.log(np.exp(d).sum(axis=1))
        p = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    return Tensor.from_op(out, (x,), lambda g: (g[:, None] * p,), "logsumexp")


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_naive, "exp overflows"),
        (_op(backward=lambda g, p, d: -g[:, None] * p), "wrong sign"),
        (_op(backward=lambda g, p, d: g[:, None] * p / d.shape[1]), "divided by x.shape[1]"),
        (lambda x: x.exp().sum(axis=1).log(), "built from several bpkit ops"),
        (lambda x: Tensor(np.logaddexp.reduce(x.data, axis=1)), "no graph behind it"),
        (lambda x: np.logaddexp.reduce(x.data, axis=1), "returned a ndarray"),
    ],
    ids=["unstable", "sign", "over-C", "composite", "no-graph", "ndarray"],
)
def test_unseen_bugs_get_a_specific_explanation(fn, fragment):
    message = diagnosis(check.logsumexp_op, fn)
    assert fragment in message, message
    assert "max error" not in message


@pytest.mark.parametrize(
    "fn",
    [
        _op(backward=lambda g, p, d: g[:, None] * p * (1 - p)),  # the sigmoid's derivative
        _op(backward=lambda g, p, d: g.sum() * p),  # g summed over the batch
        _op(forward=lambda d: np.log(np.mean(np.exp(d - d.max(1, keepdims=True)), 1)) + d.max(1)),
    ],
    ids=["p(1-p)", "g-summed", "log-mean-exp"],
)
def test_other_bugs_fail(fn):
    assert diagnosis(check.logsumexp_op, fn).startswith("logsumexp_op: ")


def test_backward_without_a_tuple_and_keepdims():
    def bare(x):
        d = x.data
        p = np.exp(d - d.max(1, keepdims=True))
        p = p / p.sum(1, keepdims=True)
        return Tensor.from_op(np.logaddexp.reduce(d, axis=1), (x,), lambda g: g[:, None] * p, "lse")

    assert "tuple" in diagnosis(check.logsumexp_op, bare)
    keep = _op(forward=lambda d: np.logaddexp.reduce(d, axis=1)[:, None])
    assert "size-1 axis" in diagnosis(check.logsumexp_op, keep)


def test_first_failure_hides_the_formula():
    message = diagnosis(check.logsumexp_op, _op(backward=lambda g, p, d: p))
    assert "softmax(x, axis=1)" not in message
