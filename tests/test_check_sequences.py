"""check.rnn_bptt (set 09): the catalogue, bugs outside it, equivalent correct answers."""

import numpy as np
import pytest

from bpkit import Tensor, check
from bpkit.check.sequences import _bptt
from bpkit.nn import RNNCell
from tests.checkers import assert_passes, diagnosis


def _variant(**kw):
    def rnn_bptt(dhs, xs, h0, Wx, Wh, b):
        return _bptt(dhs, xs, h0, Wx, Wh, b, **kw)

    return rnn_bptt


def _general(dhs, xs, h0, Wx, Wh, b, local=None, mean_over_T=False, mean_db=False):
    """BPTT written out, with one of the bugs below switched on."""
    hs, pre = [h0], []
    for t in range(len(xs)):
        pre.append(xs[t] @ Wx + hs[-1] @ Wh + b)
        hs.append(np.tanh(pre[-1]))
    dxs = np.zeros_like(xs)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        dh = dh + dhs[t]
        da = dh * (local(pre[t], hs[t + 1]) if local else 1 - hs[t + 1] ** 2)
        dxs[t] = da @ Wx.T
        dWx, dWh = dWx + xs[t].T @ da, dWh + hs[t].T @ da
        db = db + (da.mean(axis=0) if mean_db else da.sum(axis=0))
        dh = da @ Wh.T
    if mean_over_T:
        dWx, dWh, db = dWx / len(xs), dWh / len(xs), db / len(xs)
    return dxs, dh, dWx, dWh, db


def test_reference_agrees_with_autograd():
    rng = np.random.default_rng(0)
    T, N, D, H = 4, 3, 2, 5
    xs, h0 = rng.normal(size=(T, N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, H)), rng.normal(size=(H, H)) / 2, rng.normal(size=H)
    G = rng.normal(size=(T, N, H))
    cell = RNNCell(D, H)
    cell.weight_ih.data[...], cell.weight_hh.data[...], cell.bias.data[...] = Wx, Wh, b
    X, h = Tensor(xs, requires_grad=True), Tensor(h0, requires_grad=True)
    start, loss = h, None
    for t in range(T):
        h = cell(X[t], h)
        loss = (h * G[t]).sum() if loss is None else loss + (h * G[t]).sum()
    loss.backward()
    dxs, dh0, dWx, dWh, db = _bptt(G, xs, h0, Wx, Wh, b)
    for mine, theirs in [
        (dxs, X.grad),
        (dh0, start.grad),
        (dWx, cell.weight_ih.grad),
        (dWh, cell.weight_hh.grad),
        (db, cell.bias.grad),
    ]:
        assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def test_equivalent_answers_pass(capsys):
    assert_passes(check.rnn_bptt, _variant(), capsys)
    assert_passes(check.rnn_bptt, lambda *a: _general(*a), capsys)

    def with_einsum_and_a_list(dhs, xs, h0, Wx, Wh, b):
        dxs, dh0, dWx, dWh, db = _general(dhs, xs, h0, Wx, Wh, b)
        return [dxs, dh0, np.einsum("ij->ij", dWx), dWh, db]

    assert_passes(check.rnn_bptt, with_einsum_and_a_list, capsys)


@pytest.mark.parametrize(
    "kw, fragment",
    [
        (dict(carry=False), "never reaches the earlier ones"),
        (dict(accumulate=False), "gradients add up over the steps"),
        (dict(dWh_state=0), "OUTPUT state h_t"),
        (dict(transpose=False), "where its transpose belongs"),
    ],
    ids=["no-carry", "not-summed", "dWh-off-by-one", "Wh-not-transposed"],
)
def test_catalogue(kw, fragment):
    assert fragment in diagnosis(check.rnn_bptt, _variant(**kw))


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (lambda *a: _general(*a, mean_over_T=True), "divided by dhs.shape[0]"),
        (lambda *a: _general(*a, mean_db=True), "db is the right answer divided by"),
        (
            lambda dhs, xs, h0, Wx, Wh, b: _bptt(dhs, xs, np.zeros_like(h0), Wx, Wh, b),
            "you left h0 out",
        ),
        (
            lambda *a: tuple(_general(*a)[i] for i in (0, 1, 3, 2, 4)),
            "what dWh should be",
        ),
    ],
    ids=["mean-over-time", "db-batch-mean", "h0-ignored", "dWx-dWh-swapped"],
)
def test_unseen_bugs_get_a_specific_explanation(fn, fragment):
    message = diagnosis(check.rnn_bptt, fn)
    assert fragment in message, message


@pytest.mark.parametrize(
    "fn",
    [
        lambda *a: _general(*a, local=lambda pre, h: 1 - pre**2),  # tanh' at the pre-activation
        lambda *a: _general(*a, local=lambda pre, h: np.ones_like(h)),  # tanh' forgotten
        lambda dhs, xs, h0, Wx, Wh, b: _bptt(dhs[::-1], xs, h0, Wx, Wh, b),  # time reversed
    ],
    ids=["pre-activation", "no-derivative", "dhs-reversed"],
)
def test_other_bugs_fail_naming_the_output(fn):
    message = diagnosis(check.rnn_bptt, fn)
    assert message.startswith("rnn_bptt: d"), message


def test_first_failure_hides_the_formula():
    message = diagnosis(check.rnn_bptt, lambda *a: _general(*a, mean_over_T=True))
    assert "sum_t" not in message and "Wh.T" not in message


def test_placeholder_and_mutation():
    def zeros(dhs, xs, h0, Wx, Wh, b):
        return tuple(np.zeros_like(v) for v in (xs, h0, Wx, Wh, b))

    assert "placeholder" in diagnosis(check.rnn_bptt, zeros)

    def mutates(dhs, xs, h0, Wx, Wh, b):
        dhs *= 1.0
        dhs[0] += 1.0
        return _bptt(dhs, xs, h0, Wx, Wh, b)

    assert "in place" in diagnosis(check.rnn_bptt, mutates)
