"""Losses and normalisers: stable for extreme logits, gradients checked numerically."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import ShapeError, Tensor, gradcheck, no_grad
from bpkit.functional import cross_entropy, log_softmax, mse_loss, softmax
from tests.strategies import arrays, logits_and_targets, shape_and_axis

RNG = np.random.default_rng(7)


def reference_log_softmax(row):
    """log p_i = z_i - logsumexp(z) for one row, in plain Python floats, element by element.

    Independent of numpy's vectorised path: math.exp of a non-positive number
    never overflows, and math.fsum adds exactly before rounding once.
    """
    m = max(row)
    log_total = math.log(math.fsum(math.exp(v - m) for v in row))
    return [(v - m) - log_total for v in row]


def test_softmax_rows_sum_to_one_and_match_definition():
    x = RNG.standard_normal((4, 5))
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)  # safe at this scale
    np.testing.assert_allclose(softmax(Tensor(x), axis=1).data, expected)
    np.testing.assert_allclose(softmax(x, axis=1), expected)
    np.testing.assert_allclose(softmax(x.tolist(), axis=1), expected)
    np.testing.assert_allclose(np.exp(log_softmax(x)), expected)
    np.testing.assert_allclose(softmax(x, axis=0), np.exp(x) / np.exp(x).sum(axis=0))


@pytest.mark.parametrize("scale", [1e3, 1e4, 1e300])
def test_extreme_logits_stay_finite_and_exact(scale):
    # Softmax is shift-invariant, so [s, 0, -s] has the same answer as [0, -s, -2s]:
    # for s >= 1e3 the probabilities are exactly (1, 0, 0) in float64 and
    # log p = (0, -s, -2s), which we know without computing any exponential.
    logits = np.array([[scale, 0.0, -scale]])
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        logp = log_softmax(Tensor(logits)).data
        probs = softmax(Tensor(logits)).data
        loss = cross_entropy(Tensor(logits, requires_grad=True), np.array([2]))
        wrong_class = Tensor(logits, requires_grad=True)
        cross_entropy(wrong_class, np.array([2])).backward()
    np.testing.assert_allclose(logp, [[0.0, -scale, -2 * scale]])
    np.testing.assert_allclose(probs, [[1.0, 0.0, 0.0]])
    assert math.isclose(loss.item(), 2 * scale)
    # (softmax - onehot) / N with softmax = (1, 0, 0) and the target in column 2.
    np.testing.assert_allclose(wrong_class.grad, [[1.0, 0.0, -1.0]])


def test_mixed_extreme_row_against_hand_formula():
    # [1e4, 1e4 - 1, -1e4]: the top two differ by 1, so p = (1, e^-1, 0) / (1 + e^-1) to
    # double precision, and log p_0 = -log1p(e^-1), log p_1 = -1 - log1p(e^-1).
    logits = np.array([[1e4, 1e4 - 1.0, -1e4]])
    c = math.log1p(math.exp(-1.0))
    expected = [-c, -1.0 - c, -2e4 - c]
    np.testing.assert_allclose(log_softmax(logits)[0], expected, rtol=1e-12)
    x = Tensor(logits, requires_grad=True)
    loss = cross_entropy(x, np.array([1]))
    assert math.isclose(loss.item(), 1.0 + c, rel_tol=1e-12)
    loss.backward()
    p = np.array([1.0, math.exp(-1.0), 0.0]) / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(x.grad, [p - [0.0, 1.0, 0.0]], rtol=1e-12, atol=1e-300)


@given(case=logits_and_targets())
def test_cross_entropy_on_extreme_logits_matches_reference(case):
    logits, targets = case
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        x = Tensor(logits, requires_grad=True)
        loss = cross_entropy(x, targets)
        loss.backward()
        logp = log_softmax(Tensor(logits), axis=1).data
    n = len(targets)
    reference = np.array([reference_log_softmax(row) for row in logits.tolist()])
    np.testing.assert_allclose(logp, reference, rtol=1e-12, atol=1e-12)
    expected_loss = -math.fsum(reference[i, t] for i, t in enumerate(targets)) / n
    assert math.isclose(loss.item(), expected_loss, rel_tol=1e-12, abs_tol=1e-12)
    onehot = np.eye(logits.shape[1])[targets]
    np.testing.assert_allclose(x.grad, (np.exp(reference) - onehot) / n, rtol=1e-10, atol=1e-15)
    # Every gradient row sums to 0: probabilities sum to 1, and so does the one-hot row.
    np.testing.assert_allclose(x.grad.sum(axis=1), 0.0, atol=1e-15)


@given(data=st.data())
def test_softmax_and_log_softmax_along_any_axis_gradcheck(data):
    shape, axis = data.draw(shape_and_axis(min_dims=1))
    axis = (
        -1 if axis is None else axis[0] if isinstance(axis, tuple) else axis
    )  # softmax takes one axis
    x = data.draw(arrays(shape)) * 3
    weights = data.draw(arrays(shape))  # a non-uniform loss, so the sum-to-1 cannot hide errors
    assert gradcheck(lambda z: softmax(z, axis=axis) * weights, Tensor(x)).passed
    # log-probabilities reach -20 here, so sum(weights * log_softmax) reaches ~10^3 and a
    # central difference's round-off (~1e-16 * |f| / eps) is ~1e-7 at eps = 1e-6: too coarse
    # for a 1e-6 check of small entries. eps = 1e-5 (near the optimal (eps_machine |f|)^(1/3))
    # with tol 1e-5 is what finite differences can promise; the exact check comes next.
    report = gradcheck(lambda z: log_softmax(z, axis=axis) * weights, Tensor(x), eps=1e-5, tol=1e-5)
    assert report.passed, report
    # Independent of finite differences: the VJP derived by hand, g - softmax * sum(g) per slice.
    z = Tensor(x, requires_grad=True)
    (log_softmax(z, axis=axis) * weights).sum().backward()
    p = np.exp(x - x.max(axis=axis, keepdims=True))
    p /= p.sum(axis=axis, keepdims=True)
    expected = weights - p * weights.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(z.grad, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(softmax(x, axis=axis).sum(axis=axis), 1.0)


def test_uniform_logits_give_log_c():
    # Equal logits: every class has probability 1/C, so the loss is log C, whatever the value.
    for value in (123.0, -1e4, 1e300):
        logits = Tensor(np.full((6, 10), value))
        assert math.isclose(cross_entropy(logits, np.arange(6)).item(), math.log(10))
        np.testing.assert_allclose(log_softmax(logits).data, -math.log(10))


def test_cross_entropy_matches_definition_and_gradcheck():
    logits = RNG.standard_normal((5, 3))
    y = np.array([0, 2, 1, 2, 0])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), y]))
    assert math.isclose(cross_entropy(Tensor(logits), y).item(), expected, rel_tol=1e-12)
    assert math.isclose(
        cross_entropy(logits, list(y)).item(), expected, rel_tol=1e-12
    )  # plain inputs
    assert gradcheck(lambda z: cross_entropy(z, y), Tensor(logits)).passed
    assert gradcheck(lambda z: cross_entropy(z * 50.0, y), Tensor(logits)).passed
    # Upstream gradient other than 1 (the loss used inside a bigger expression).
    assert gradcheck(
        lambda z: cross_entropy(z, y) * 3.0 + cross_entropy(z, y[::-1]), Tensor(logits)
    ).passed


def test_cross_entropy_float32_stays_finite():
    x = Tensor(np.array([[3e4, -3e4, 0.0]], dtype=np.float32), requires_grad=True)
    loss = cross_entropy(x, np.array([1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad))
    assert math.isclose(loss.item(), 6e4, rel_tol=1e-6)


def test_cross_entropy_under_no_grad_builds_no_graph():
    x = Tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    with no_grad():
        loss = cross_entropy(x, np.array([0, 2]))
    assert loss.parents == () and not loss.requires_grad


def test_mse_loss_value_and_gradients():
    pred, target = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2))
    assert math.isclose(
        mse_loss(Tensor(pred), Tensor(target)).item(), np.mean((pred - target) ** 2)
    )
    assert math.isclose(mse_loss(pred, target).item(), np.mean((pred - target) ** 2))
    assert mse_loss(np.array([1, 2]), np.array([1, 4])).item() == 2.0  # ints: (0 + 4) / 2
    assert gradcheck(mse_loss, Tensor(pred), Tensor(target)).passed
    p = Tensor(np.array([1.0, 3.0]), requires_grad=True)
    mse_loss(p, np.array([0.0, 0.0])).backward()
    np.testing.assert_allclose(p.grad, [1.0, 3.0])  # 2 (p - t) / 2


@given(x=arrays((3, 4)))
def test_plain_arrays_in_plain_arrays_out(x):
    assert isinstance(softmax(x), np.ndarray) and isinstance(log_softmax(x), np.ndarray)
    np.testing.assert_allclose(log_softmax(x), log_softmax(Tensor(x)).data)


def test_cross_entropy_errors_name_the_problem():
    logits = Tensor(np.zeros((4, 3)))
    with pytest.raises(
        ShapeError,
        match=r"cross_entropy: targets must have shape \(4,\) to match logits \(4, 3\), got \(3,\)",
    ):
        cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ShapeError, match=r"targets must have shape \(4,\).*got \(4, 1\)"):
        cross_entropy(logits, np.zeros((4, 1), dtype=int))
    with pytest.raises(
        ValueError, match=r"cross_entropy: targets must be in \[0, 3\) .* from 0 to 3"
    ):
        cross_entropy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 3\) .* from -1 to 2"):
        cross_entropy(logits, np.array([0, -1, 2, 0]))
    with pytest.raises(
        TypeError, match="cross_entropy: targets must be integer class labels, got dtype float64"
    ):
        cross_entropy(logits, np.array([0.5, 1, 2, 0]))
    with pytest.raises(TypeError, match="integer class labels, got dtype bool"):
        cross_entropy(logits, np.array([True, False, True, False]))
    with pytest.raises(
        ShapeError, match=r"cross_entropy: logits must have shape \(N, C\).*got shape \(3,\)"
    ):
        cross_entropy(Tensor(np.zeros(3)), np.array([0]))
    with pytest.raises(
        ShapeError, match=r"cross_entropy: the batch is empty \(logits of shape \(0, 3\)\)"
    ):
        cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(TypeError, match="cross_entropy: expected numbers"):
        cross_entropy(np.array([["a", "b"]]), np.array([0]))
    # Integer-valued floats are labels that went through a float array: accepted.
    assert np.isfinite(cross_entropy(logits, np.array([0.0, 1.0, 2.0, 0.0])).item())


def test_other_errors_name_the_function_and_shapes():
    with pytest.raises(
        ShapeError, match=r"mse_loss: pred has shape \(4,\) but target has shape \(4, 1\)"
    ):
        mse_loss(Tensor(np.zeros(4)), Tensor(np.zeros((4, 1))))
    with pytest.raises(ShapeError, match=r"mse_loss: empty inputs of shape \(0,\)"):
        mse_loss(np.zeros(0), np.zeros(0))
    with pytest.raises(
        ShapeError, match="softmax: axis 2 is out of range for a tensor with 2 dimensions"
    ):
        softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ShapeError, match="log_softmax: axis -3 is out of range"):
        log_softmax(Tensor(np.zeros((2, 3))), axis=-3)
