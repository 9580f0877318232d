"""Losses and normalisers: stable for extreme logits, gradients checked numerically."""

import math

import numpy as np
import pytest

from bpkit import ShapeError, Tensor, gradcheck
from bpkit.functional import cross_entropy, log_softmax, mse_loss, softmax

RNG = np.random.default_rng(7)


def test_softmax_rows_sum_to_one_and_match_definition():
    x = RNG.standard_normal((4, 5))
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)  # safe at this scale
    np.testing.assert_allclose(softmax(Tensor(x), axis=1).data, expected)
    np.testing.assert_allclose(softmax(x, axis=1), expected)
    np.testing.assert_allclose(np.exp(log_softmax(x)), expected)


@pytest.mark.parametrize("scale", [1e3, 1e4, 1e300])
def test_extreme_logits_stay_finite_and_exact(scale):
    # Softmax is shift-invariant, so [s, 0, -s] has the same answer as [0, -s, -2s]:
    # for s >= 1e3 the probabilities are exactly (1, 0, 0) in float64 and
    # log p = (0, -s, -2s), which we know without computing any exponential.
    logits = np.array([[scale, 0.0, -scale]])
    logp = log_softmax(Tensor(logits)).data
    np.testing.assert_allclose(logp, [[0.0, -scale, -2 * scale]])
    np.testing.assert_allclose(softmax(Tensor(logits)).data, [[1.0, 0.0, 0.0]])
    loss = cross_entropy(Tensor(logits, requires_grad=True), np.array([2]))
    assert math.isclose(loss.item(), 2 * scale)
    wrong_class = Tensor(logits, requires_grad=True)
    cross_entropy(wrong_class, np.array([2])).backward()
    np.testing.assert_allclose(wrong_class.grad, [[1.0, 0.0, -1.0]])


def test_uniform_logits_give_log_c():
    # Equal logits: every class has probability 1/C, so the loss is log C.
    logits = Tensor(np.full((6, 10), 123.0))
    assert math.isclose(cross_entropy(logits, np.arange(6)).item(), math.log(10))


def test_cross_entropy_matches_definition_and_gradcheck():
    logits = RNG.standard_normal((5, 3))
    y = np.array([0, 2, 1, 2, 0])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), y]))
    assert math.isclose(cross_entropy(Tensor(logits), y).item(), expected, rel_tol=1e-12)
    assert gradcheck(lambda z: cross_entropy(z, y), Tensor(logits)).passed
    assert gradcheck(lambda z: cross_entropy(z * 50.0, y), Tensor(logits)).passed


def test_mse_loss_value_and_gradients():
    pred, target = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2))
    assert math.isclose(mse_loss(Tensor(pred), Tensor(target)).item(), np.mean((pred - target) ** 2))
    assert gradcheck(mse_loss, Tensor(pred), Tensor(target)).passed


def test_softmax_gradcheck_large_inputs():
    x = RNG.standard_normal((3, 4)) * 30
    assert gradcheck(lambda z: softmax(z, axis=1) * np.arange(4.0), Tensor(x)).passed
    assert gradcheck(lambda z: log_softmax(z, axis=0), Tensor(x)).passed


def test_cross_entropy_errors_name_the_problem():
    logits = Tensor(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"targets must have shape \(4,\).*got \(3,\)"):
        cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 3\)"):
        cross_entropy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(TypeError, match="integer class labels"):
        cross_entropy(logits, np.array([0.5, 1, 2, 0]))
    with pytest.raises(ShapeError, match=r"logits must have shape \(N, C\)"):
        cross_entropy(Tensor(np.zeros(3)), np.array([0]))
    with pytest.raises(ShapeError, match=r"mse_loss: pred has shape \(4,\) but target has shape \(4, 1\)"):
        mse_loss(Tensor(np.zeros(4)), Tensor(np.zeros((4, 1))))
