"""Gradient checkpointing: same values and gradients as the plain forward, fewer stored nodes."""

import numpy as np
import pytest

import bpkit
from bpkit import Tensor, functional, gradcheck, nn, no_grad
from bpkit.checkpoint import checkpoint_sequential
from bpkit.graph import topological_order

X = np.random.default_rng(0).standard_normal((6, 3))
Y = np.array([0, 1, 1, 0, 1, 0])


def make_net(batchnorm=False, dropout=0.0):
    layers = [nn.Linear(3, 8, rng=1), nn.Tanh()]
    if batchnorm:
        layers.append(nn.BatchNorm1d(8))
    if dropout:
        layers.append(nn.Dropout(dropout, rng=5))
    layers += [nn.Linear(8, 8, rng=2), nn.ReLU(), nn.Linear(8, 8, rng=3), nn.Sigmoid()]
    layers += [nn.Linear(8, 2, rng=4)]
    return nn.Sequential(*layers)


def grads_of(net, forward, x_requires_grad=True):
    """Output, input gradient and parameter gradients of cross-entropy through ``forward``."""
    net.zero_grad()
    x = Tensor(X, requires_grad=x_requires_grad)
    out = forward(x)
    functional.cross_entropy(out, Y).backward()
    return out.data, x.grad, [p.grad.copy() for p in net.parameters()]


def assert_same(a, b):
    out_a, dx_a, dp_a = a
    out_b, dx_b, dp_b = b
    np.testing.assert_allclose(out_a, out_b, rtol=0, atol=1e-12)
    if dx_a is None:
        assert dx_b is None
    else:
        np.testing.assert_allclose(dx_a, dx_b, rtol=0, atol=1e-12)
    assert len(dp_a) == len(dp_b)
    for ga, gb in zip(dp_a, dp_b):
        np.testing.assert_allclose(ga, gb, rtol=0, atol=1e-12)


@pytest.mark.parametrize("segments", [1, 2, 3, 7])
def test_same_gradients_as_plain_forward(segments):
    net = make_net()
    plain = grads_of(net, net)
    checkpointed = grads_of(net, lambda x: checkpoint_sequential(net, segments, x))
    assert all(np.any(g != 0) for g in plain[2])  # every parameter really gets a gradient
    assert_same(plain, checkpointed)


def test_input_without_grad_still_trains_the_parameters():
    net = make_net()
    plain = grads_of(net, net, x_requires_grad=False)
    checkpointed = grads_of(
        net, lambda x: checkpoint_sequential(net.layers, 3, x), x_requires_grad=False
    )
    assert plain[1] is None
    assert_same(plain, checkpointed)


def test_graph_keeps_one_node_per_segment():
    net = make_net()
    x = Tensor(X, requires_grad=True)
    out = checkpoint_sequential(net, 3, x)
    ops = [n.op for n in topological_order(out) if n.op]
    assert ops == ["checkpoint"] * 3  # no activations of the layers inside are stored
    plain_ops = [n.op for n in topological_order(net(x)) if n.op]
    assert len(plain_ops) > 10


def test_dropout_masks_replayed_and_rng_not_advanced_by_recompute():
    net = make_net(dropout=0.5)
    drop = net[2]
    start = drop.rng.bit_generator.state
    plain = grads_of(net, net)
    after_plain = drop.rng.bit_generator.state
    drop.rng.bit_generator.state = start
    checkpointed = grads_of(net, lambda x: checkpoint_sequential(net, 2, x))
    assert_same(plain, checkpointed)
    assert drop.rng.bit_generator.state == after_plain
    # A later forward pass moved the generator on: the replay must not rewind it.
    first = checkpoint_sequential(net, 2, Tensor(X, requires_grad=True))
    checkpoint_sequential(net, 2, Tensor(X, requires_grad=True))
    moved_on = drop.rng.bit_generator.state
    functional.cross_entropy(first, Y).backward()
    assert drop.rng.bit_generator.state == moved_on


def test_batchnorm_running_statistics_updated_once():
    plain_net, ckpt_net = make_net(batchnorm=True), make_net(batchnorm=True)
    plain = grads_of(plain_net, plain_net)
    checkpointed = grads_of(ckpt_net, lambda x: checkpoint_sequential(ckpt_net, 4, x))
    assert_same(plain, checkpointed)
    np.testing.assert_array_equal(plain_net[2].running_mean, ckpt_net[2].running_mean)
    np.testing.assert_array_equal(plain_net[2].running_var, ckpt_net[2].running_var)


def test_input_gradient_vs_finite_differences():
    net = make_net()
    report = gradcheck(lambda x: checkpoint_sequential(net, 3, x), Tensor(X))
    assert report.passed, report


def test_plain_callables_and_no_grad():
    layers = [nn.Linear(3, 4, rng=0), lambda t: t.tanh(), nn.Linear(4, 2, rng=1)]
    x = Tensor(X, requires_grad=True)
    out = checkpoint_sequential(layers, 2, x)
    expected = np.tanh(X @ layers[0].weight.data) @ layers[2].weight.data
    np.testing.assert_allclose(out.data, expected, atol=1e-14)
    with no_grad():
        frozen = checkpoint_sequential(layers, 2, X)
    assert not frozen.requires_grad
    np.testing.assert_allclose(frozen.data, expected, atol=1e-14)
    assert bpkit.checkpoint_sequential is checkpoint_sequential


@pytest.mark.parametrize("segments", [0, 4, 1.5, True])
def test_bad_segments(segments):
    layers = [nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3)]
    with pytest.raises(ValueError, match="checkpoint_sequential: segments must be an int from 1"):
        checkpoint_sequential(layers, segments, X)
    with pytest.raises(ValueError, match="checkpoint_sequential: layers is empty"):
        checkpoint_sequential([], 1, X)
