"""Placeholder: functional ops are being written (see issue 2)."""
