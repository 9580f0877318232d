"""Global switches: ``no_grad()`` (build no graph) and ``detect_anomaly()`` (fail at the first NaN/inf)."""

from contextlib import contextmanager

import numpy as np

from bpkit.errors import AnomalyError

__all__ = ["no_grad", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled", "check_finite"]


class _State:
    grad_enabled = True
    anomaly = False


_state = _State()


def is_grad_enabled():
    """True unless inside ``no_grad()``."""
    return _state.grad_enabled


@contextmanager
def no_grad():
    """Inside this block ops record no graph: use it for evaluation and parameter updates."""
    previous = _state.grad_enabled
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = previous


def is_anomaly_enabled():
    """True inside ``detect_anomaly()``."""
    return _state.anomaly


@contextmanager
def detect_anomaly():
    """Check every op's output (forward) and every gradient it produces (backward) for NaN/inf.

    Off by default because the checks cost time. The error names the op, so
    ``log(0)`` deep in a network points at ``log`` instead of a NaN loss later.
    """
    previous = _state.anomaly
    _state.anomaly = True
    try:
        yield
    finally:
        _state.anomaly = previous


def check_finite(op, value, phase, what="output"):
    """Raise AnomalyError if ``value`` (a float or an ndarray) holds NaN or inf."""
    array = np.asarray(value)
    if np.all(np.isfinite(array)):
        return
    kind = "NaN" if np.any(np.isnan(array)) else "inf"
    count = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    where = f"{count} of {np.size(array)} entries" if np.ndim(array) else "the value"
    raise AnomalyError(
        f"{op}: {phase} produced {kind} in its {what} ({where} not finite). "
        f"This is the first op in the {phase} pass to do so."
    )
