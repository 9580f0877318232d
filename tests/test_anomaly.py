"""detect_anomaly(): the first op producing NaN/inf is named, forward or backward."""

import numpy as np
import pytest

from bpkit import AnomalyError, Tensor, Value, detect_anomaly
from bpkit.functional import cross_entropy
from bpkit.mode import is_anomaly_enabled


def test_forward_anomaly_names_the_op():
    x = Tensor([1.0, 0.0], requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match="log: forward produced inf"):
        (x * 2).log().sum()


def test_forward_anomaly_stops_at_the_first_op_deep_in_a_network():
    # relu zeroes a row, log turns the zero into -inf; the later ops would spread it.
    x = Tensor([[1.0, -2.0]])
    w = Tensor([[1.0], [1.0]], requires_grad=True)
    with (
        detect_anomaly(),
        pytest.raises(AnomalyError, match=r"^log: forward produced inf .*1 of 1 entries"),
    ):
        ((x @ w).relu().log() * 3.0).exp().sum()


def test_backward_anomaly_names_the_op():
    # sqrt(x) at 0 is finite (0) but its derivative 1/(2 sqrt x) is inf.
    x = Tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = (x**0.5).sum()  # forward is fine
        with pytest.raises(
            AnomalyError, match="pow: backward produced inf in its gradient for input 0"
        ):
            y.backward()


def test_backward_anomaly_in_division():
    # 1 / 1e-200 = 1e200 is a float, but d(a/b)/db = -a / b^2 = -1e400 is not.
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([1e-200], requires_grad=True)
    with detect_anomaly():
        loss = (a / b).sum()
        with pytest.raises(
            AnomalyError, match="div: backward produced inf in its gradient for input 1"
        ):
            loss.backward()


def test_backward_anomaly_in_a_custom_op():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = Tensor.from_op(x.data.copy(), (x,), lambda g: (g * np.nan,), "my_op")
        with pytest.raises(AnomalyError, match="my_op: backward produced NaN"):
            y.sum().backward()


def test_nan_is_reported_as_nan():
    x = Tensor([-1.0], requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match="log: forward produced NaN"):
        x.log()


def test_stable_losses_pass_anomaly_mode_on_extreme_logits():
    # The fused loss never forms inf, so anomaly mode has nothing to report.
    x = Tensor([[1e4, -1e4, 0.0], [-1e300, 1e300, 5.0]], requires_grad=True)
    with detect_anomaly():
        cross_entropy(x, np.array([1, 0])).backward()
        (x.log_softmax() * 1.0).sum().backward()
    assert np.all(np.isfinite(x.grad))


def test_value_engine_anomaly():
    with detect_anomaly(), pytest.raises(AnomalyError, match="log: forward"):
        Value(0.0).log()


def test_mode_is_restored_after_an_error():
    with pytest.raises(AnomalyError), detect_anomaly():
        Tensor([0.0]).log()
    assert not is_anomaly_enabled()


def test_off_by_default_and_quiet():
    x = Tensor([0.0], requires_grad=True)
    with np.errstate(
        divide="raise", over="raise", invalid="raise"
    ):  # no numpy warning escapes either
        y = x.log()
        y.backward(np.ones(1))
    assert np.isneginf(y.data[0]) and np.isposinf(x.grad[0])
