"""The exceptions bpkit raises. Their messages name the op, the argument and the shapes."""

__all__ = ["BpkitError", "ShapeError", "GradientError", "AnomalyError"]


class BpkitError(Exception):
    """Base class of every error bpkit raises on purpose."""


class ShapeError(BpkitError, ValueError):
    """Operands whose shapes do not fit the op, e.g. ``matmul: shapes (32, 64) and (32, 10) ...``."""


class GradientError(BpkitError, RuntimeError):
    """A backward pass that cannot run as asked (non-scalar output without ``grad``, wrong shape)."""


class AnomalyError(BpkitError, FloatingPointError):
    """Raised in ``detect_anomaly()`` mode at the first op whose output or gradient is NaN or inf."""
