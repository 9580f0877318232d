"""detect_anomaly(): the first op producing NaN/inf is named, forward or backward."""

import numpy as np
import pytest

from bpkit import AnomalyError, Tensor, Value, detect_anomaly


def test_forward_anomaly_names_the_op():
    x = Tensor([1.0, 0.0], requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match="log: forward produced inf"):
        (x * 2).log().sum()


def test_backward_anomaly_names_the_op():
    # sqrt(x) at 0 is finite (0) but its derivative 1/(2 sqrt x) is inf.
    x = Tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = (x**0.5).sum()  # forward is fine
        with pytest.raises(AnomalyError, match="pow: backward produced inf"):
            y.backward()


def test_nan_is_reported_as_nan():
    x = Tensor([-1.0], requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match="log: forward produced NaN"):
        x.log()


def test_value_engine_anomaly():
    with detect_anomaly(), pytest.raises(AnomalyError, match="log: forward"):
        Value(0.0).log()


def test_off_by_default_and_quiet():
    x = Tensor([0.0])
    with np.errstate(all="raise"):  # no numpy warning escapes either
        y = x.log()
    assert np.isneginf(y.data[0])
