"""Gated recurrent cells: ``LSTMCell`` (Hochreiter & Schmidhuber 1997) and ``GRUCell`` (Cho et al. 2014).

Both follow PyTorch's equations, gate order and weight layout, so weights
copied into ``torch.nn.LSTMCell`` / ``torch.nn.GRUCell`` give the same outputs:
``weight_ih`` is (G*H, input_size), ``weight_hh`` (G*H, H), ``bias_ih`` and
``bias_hh`` (G*H,), with G = 4 gates (i, f, g, o) for the LSTM and 3 (r, z, n)
for the GRU, stacked in that order along the first axis. Everything is drawn
from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch does.

The cells are built from Tensor ops (matmul, slicing, sigmoid, tanh, +, *),
not as one fused op. Each of those ops has its own tested backward, so the
LSTM's gradient is right by construction and a learner can read the forward
equations as written in notebook 09, one line per gate. A fused op would save
some nodes per step (about 20 here), which matters little at the course's
sizes; the hand-derived backward belongs in the exercise (``lstm_step_backward``),
where the learner writes it and checks it against this cell.
"""

import math

import numpy as np

from bpkit.errors import ShapeError
from bpkit.nn.modules import Module, _as_tensor, _check_size
from bpkit.random import as_generator
from bpkit.tensor import Tensor

__all__ = ["GRUCell", "LSTMCell"]


def _uniform_parameters(cell, gates, rng):
    """weight_ih, weight_hh, bias_ih, bias_hh ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in that order."""
    rng = as_generator(rng)
    bound = 1.0 / math.sqrt(cell.hidden_size)
    rows = gates * cell.hidden_size
    shapes = [(rows, cell.input_size), (rows, cell.hidden_size), (rows,), (rows,)]
    return [Tensor(rng.uniform(-bound, bound, size=s), requires_grad=True) for s in shapes]


def _check_x(cell, x):
    x = _as_tensor(x, cell)
    if x.ndim != 2 or x.shape[1] != cell.input_size:
        raise ShapeError(
            f"{cell!r}: expected x of shape (batch, {cell.input_size}), got shape {x.shape}"
        )
    return x


def _check_state(cell, name, s, x):
    """A state tensor (h or c) of shape (batch, hidden_size), zeros if None."""
    if s is None:
        return Tensor(np.zeros((x.shape[0], cell.hidden_size), dtype=x.dtype))
    s = _as_tensor(s, cell)
    if s.shape != (x.shape[0], cell.hidden_size):
        raise ShapeError(
            f"{cell!r}: expected {name} of shape ({x.shape[0]}, {cell.hidden_size}) "
            f"to match x {x.shape}, got shape {s.shape}"
        )
    return s


class LSTMCell(Module):
    """One LSTM step: (h, c) -> (h', c'), with c' = f * c + i * g and h' = o * tanh(c').

    ``cell(x, (h, c))`` takes x of shape (batch, input_size) and h, c of shape
    (batch, hidden_size) (``cell(x)`` or ``cell(x, None)`` starts from zeros) and
    returns ``(h_next, c_next)``. With H = hidden_size and the pre-activations

        a = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh      (batch, 4H)

    split into four blocks of H columns, in PyTorch's order:

        i = sigmoid(a[:, 0:H])      input gate
        f = sigmoid(a[:, H:2H])     forget gate
        g = tanh(a[:, 2H:3H])       candidate cell value
        o = sigmoid(a[:, 3H:4H])    output gate

    The cell state is the additive path: dc'/dc = f, elementwise, with no
    matrix product and no squashing in between; when f is near 1 the gradient
    reaches early steps nearly unchanged (notebook 09).
    NB (PyTorch): same layout and init; bpkit takes batched (2-D) input only.
    """

    def __init__(self, input_size, hidden_size, rng=None):
        self.input_size = _check_size(input_size, "input_size", "LSTMCell")
        self.hidden_size = _check_size(hidden_size, "hidden_size", "LSTMCell")
        params = _uniform_parameters(self, 4, rng)
        self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh = params

    def extra_repr(self):
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"

    def forward(self, x, state=None):
        x = _check_x(self, x)
        if state is None:
            h = c = None
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            h, c = state
        else:
            raise TypeError(
                f"{self!r}: state must be a tuple (h, c) or None, got {type(state).__name__}"
            )
        h = _check_state(self, "h", h, x)
        c = _check_state(self, "c", c, x)
        H = self.hidden_size
        a = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        i = a[:, 0:H].sigmoid()
        f = a[:, H : 2 * H].sigmoid()
        g = a[:, 2 * H : 3 * H].tanh()
        o = a[:, 3 * H : 4 * H].sigmoid()
        c_next = f * c + i * g
        h_next = o * c_next.tanh()
        return h_next, c_next


class GRUCell(Module):
    """One GRU step: h' = (1 - z) * n + z * h, PyTorch's equations (Cho et al. 2014).

    ``cell(x, h)`` takes x of shape (batch, input_size) and h of shape
    (batch, hidden_size) (zeros if None) and returns h'. With H = hidden_size,
    ``ai = x @ weight_ih.T + bias_ih`` and ``ah = h @ weight_hh.T + bias_hh``
    (both (batch, 3H), blocks in the order r, z, n):

        r = sigmoid(ai[:, 0:H] + ah[:, 0:H])          reset gate
        z = sigmoid(ai[:, H:2H] + ah[:, H:2H])        update gate
        n = tanh(ai[:, 2H:3H] + r * ah[:, 2H:3H])     candidate state
        h' = (1 - z) * n + z * h

    The reset gate multiplies ``h @ W_hn.T + b_hn`` (bias included), as
    PyTorch and cuDNN do; Cho et al. apply it to h before the product.
    NB (PyTorch): same layout and init; bpkit takes batched (2-D) input only.
    """

    def __init__(self, input_size, hidden_size, rng=None):
        self.input_size = _check_size(input_size, "input_size", "GRUCell")
        self.hidden_size = _check_size(hidden_size, "hidden_size", "GRUCell")
        params = _uniform_parameters(self, 3, rng)
        self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh = params

    def extra_repr(self):
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"

    def forward(self, x, h=None):
        x = _check_x(self, x)
        h = _check_state(self, "h", h, x)
        H = self.hidden_size
        ai = x @ self.weight_ih.T + self.bias_ih
        ah = h @ self.weight_hh.T + self.bias_hh
        r = (ai[:, 0:H] + ah[:, 0:H]).sigmoid()
        z = (ai[:, H : 2 * H] + ah[:, H : 2 * H]).sigmoid()
        n = (ai[:, 2 * H : 3 * H] + r * ah[:, 2 * H : 3 * H]).tanh()
        return (1.0 - z) * n + z * h
