"""bpkit: backpropagation, learned by building it.

The core (two autodiff engines, gradient checking) imports in a blink and
needs only numpy. The teaching layers load on first use:
``bpkit.nn``, ``bpkit.optim``, ``bpkit.data``, ``bpkit.plot``,
``bpkit.surfaces``, ``bpkit.widgets``, ``bpkit.check``.
"""

import importlib

from bpkit import functional
from bpkit.errors import AnomalyError, GradientError, ShapeError
from bpkit.gradcheck import gradcheck, numerical_grad, rel_error
from bpkit.mode import detect_anomaly, no_grad
from bpkit.scalar import Value
from bpkit.tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Value",
    "Tensor",
    "no_grad",
    "detect_anomaly",
    "functional",
    "gradcheck",
    "numerical_grad",
    "rel_error",
    "ShapeError",
    "GradientError",
    "AnomalyError",
    "checkpoint_sequential",
    "nn",
    "optim",
    "data",
    "plot",
    "surfaces",
    "widgets",
    "check",
]

_LAZY_MODULES = {"nn", "optim", "data", "plot", "surfaces", "widgets", "check"}


def __getattr__(name):
    # PEP 562: `bpkit.plot` imports matplotlib only when a notebook first asks for it.
    if name in _LAZY_MODULES:
        return importlib.import_module(f"bpkit.{name}")
    if name == "checkpoint_sequential":
        from bpkit.checkpoint import checkpoint_sequential

        return checkpoint_sequential
    raise AttributeError(f"module 'bpkit' has no attribute {name!r}")
