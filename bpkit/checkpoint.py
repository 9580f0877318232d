"""Gradient checkpointing (Chen et al. 2016): trade one extra forward pass for memory.

Backprop keeps every intermediate activation until the backward pass reaches
it: memory grows linearly with depth. Checkpointing splits the n layers into
k segments and, in the forward pass, keeps only each segment's INPUT (no graph
inside the segment). In the backward pass each segment is re-run, this time
recording its graph, and backpropagated through at once; then its graph is
dropped. Peak memory is about k segment inputs + one segment's graph, i.e.
O(k + n/k), smallest, O(sqrt(n)), for k ~ sqrt(n); the price is one more
forward pass.
"""

import itertools
from contextlib import contextmanager

import numpy as np

from bpkit.mode import _state, no_grad
from bpkit.tensor import Tensor

__all__ = ["checkpoint_sequential"]


@contextmanager
def _grad_enabled():
    """Record graphs even if the caller's backward runs inside no_grad()."""
    previous = _state.grad_enabled
    _state.grad_enabled = True
    try:
        yield
    finally:
        _state.grad_enabled = previous


def _split(layers, segments):
    """Cut ``layers`` into ``segments`` consecutive runs whose lengths differ by at most one."""
    n = len(layers)
    bounds = [round(i * n / segments) for i in range(segments + 1)]
    return [layers[a:b] for a, b in itertools.pairwise(bounds)]


def _run(segment, x):
    for layer in segment:
        x = layer(x)
    return x


def _modules(segment):
    found = []
    for layer in segment:
        if hasattr(layer, "modules") and callable(layer.modules):
            found.extend(layer.modules())
    return found


def _save_state(modules):
    """Snapshot what a forward pass changes besides its output: RNG states, running statistics.

    Re-running a segment must draw the same dropout masks and must not count
    a batch twice in BatchNorm's running averages.
    """
    saved = []
    for m in modules:
        rng = getattr(m, "rng", None)
        if isinstance(rng, np.random.Generator):
            saved.append((m, "rng", rng.bit_generator.state))
        for name in ("running_mean", "running_var"):
            value = getattr(m, name, None)
            if isinstance(value, np.ndarray):
                saved.append((m, name, value.copy()))
    return saved


def _restore_state(saved):
    for m, name, value in saved:
        if name == "rng":
            m.rng.bit_generator.state = value
        else:
            getattr(m, name)[...] = value


def checkpoint_sequential(layers, segments, x):
    """y = layers[-1](... layers[0](x)), storing only the input of each of ``segments`` segments.

    ``layers``: a list of callables or a ``Sequential``; ``segments``: an int
    between 1 and len(layers); ``x``: a Tensor or an array. Gradients (of ``x``
    and of every parameter) are the same as without checkpointing.

    Each segment becomes ONE graph node (``Tensor.from_op``) whose parents
    are the segment's input and its parameters. Its backward re-runs the
    segment with grad enabled from a detached copy of the input,
    backpropagates the upstream gradient through it (which accumulates the
    parameters' ``.grad`` as usual) and returns the input's gradient.
    Dropout masks are replayed (generator states are restored before the
    re-run) and BatchNorm's running statistics are updated once, not twice.
    NB (PyTorch): torch.utils.checkpoint.checkpoint_sequential runs the last segment normally.
    """
    layers = list(layers)
    if not layers:
        raise ValueError("checkpoint_sequential: layers is empty")
    if (
        not isinstance(segments, (int, np.integer))
        or isinstance(segments, bool)
        or not 1 <= segments <= len(layers)
    ):
        raise ValueError(
            f"checkpoint_sequential: segments must be an int from 1 to len(layers) = {len(layers)}, "
            f"got {segments!r}"
        )
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not _state.grad_enabled:
        return _run(layers, x)  # no backward will come: nothing to save
    for segment in _split(layers, int(segments)):
        x = _checkpointed(segment, x)
    return x


def _checkpointed(segment, x):
    """Run ``segment`` on ``x`` without a graph; return one node that can replay it in backward."""
    modules = _modules(segment)
    params, seen = [], set()
    for m in modules:
        for p in m.parameters() if hasattr(m, "parameters") else ():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    before = _save_state(modules)
    saved_input = x.data  # the one thing this segment keeps
    with_grad = x.requires_grad
    with no_grad():
        out = _run(segment, x.detach())

    def backward(g):
        # Replay from the state the forward pass saw, then put back whatever has
        # happened since (later forward passes may have moved the generators on).
        now = _save_state(modules)
        _restore_state(before)
        with _grad_enabled():
            inp = Tensor(saved_input, requires_grad=with_grad)
            y = _run(segment, inp)
            if y.requires_grad:
                y.backward(g)
        _restore_state(now)
        return (inp.grad, *([None] * len(params)))

    return Tensor.from_op(out.data, (x, *params), backward, "checkpoint")
