"""Placeholder: the Tensor engine is being written (see issue 2)."""

__all__ = ["Tensor"]


class Tensor:
    pass
