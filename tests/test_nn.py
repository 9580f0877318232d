"""bpkit.nn: layers against numpy formulas and finite differences; Module bookkeeping; training."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import ShapeError, Tensor, functional, gradcheck, nn, no_grad
from bpkit.nn import init

RNG = np.random.default_rng(2024)


def randn(*shape):
    return RNG.standard_normal(shape)


# --- Linear ------------------------------------------------------------------------------------
def test_linear_shapes_forward_and_init():
    layer = nn.Linear(5, 3, rng=4)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (3,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert np.array_equal(layer.bias.data, np.zeros(3))
    # Default init is He-uniform drawn from the given seed, in (in, out) layout.
    assert np.array_equal(layer.weight.data, init.he_uniform((5, 3), rng=4))
    x = randn(4, 5)
    layer.bias.data[:] = [0.5, -1.0, 2.0]
    expected = x @ layer.weight.data + np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-14)


def test_linear_gradients_vs_finite_differences():
    layer = nn.Linear(4, 3, rng=0)

    def f(x, W, b):
        layer.weight, layer.bias = W, b
        return layer(x)

    report = gradcheck(f, Tensor(randn(5, 4)), Tensor(randn(4, 3)), Tensor(randn(3)))
    assert report.passed, report


def test_linear_batched_3d_input():
    layer = nn.Linear(4, 2, rng=0)
    x = randn(3, 5, 4)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data, rtol=1e-14)

    def f(x, W):
        layer.weight = W
        return layer(x)

    assert gradcheck(f, Tensor(x), Tensor(randn(4, 2))).passed


def test_linear_options_and_errors():
    layer = nn.Linear(3, 2, bias=False, init="xavier_normal", rng=1)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"
    assert np.array_equal(layer.weight.data, init.xavier_normal((3, 2), rng=1))
    x = randn(4, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data)
    custom = nn.Linear(2, 3, init=lambda shape, rng: np.full(shape, 0.3))
    assert np.all(custom.weight.data == 0.3)
    with pytest.raises(ValueError, match="Linear.*unknown init 'kaiming'"):
        nn.Linear(2, 3, init="kaiming")
    with pytest.raises(ShapeError, match=r"init returned shape \(3, 2\), expected \(2, 3\)"):
        nn.Linear(2, 3, init=lambda shape, rng: np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Linear: in_features must be a positive int, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError, match="Linear.*expected a Tensor or an array"):
        nn.Linear(2, 3)("x")


def test_linear_shape_error_names_layer_and_shapes():
    layer = nn.Linear(64, 128)
    with pytest.raises(ShapeError) as info:
        layer(np.zeros((32, 10)))
    assert str(info.value) == (
        "Linear(in_features=64, out_features=128): expected input with last dimension 64, "
        "got shape (32, 10)"
    )


# --- activations -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, reference",
    [
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.Tanh(), np.tanh),
        (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    ],
)
def test_activations(module, reference):
    x = randn(3, 4)
    x[np.abs(x) < 0.05] = 0.5  # keep away from relu's kink
    np.testing.assert_allclose(module(x).data, reference(x), rtol=1e-14)
    assert gradcheck(module, Tensor(x)).passed
    assert module.parameters() == []
    assert repr(module) == f"{type(module).__name__}()"


# --- Module bookkeeping --------------------------------------------------------------------------
class TwoLayer(nn.Module):
    # No super().__init__(): Module needs none.
    def __init__(self):
        self.first = nn.Linear(3, 4, rng=0)
        self.scale = Tensor(np.ones(4), requires_grad=True)
        self.constant = Tensor(np.ones(4))  # requires_grad=False: not a parameter
        self.blocks = [nn.Tanh(), nn.Dropout(0.5)]
        self.second = nn.Linear(4, 2, rng=1)
        self.tied = self.first.weight  # shared: counted once

    def forward(self, x):
        h = self.blocks[1](self.blocks[0](self.first(x) * self.scale))
        return self.second(h)


def test_parameters_in_definition_order_shared_once():
    net = TwoLayer()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["first.weight", "first.bias", "scale", "second.weight", "second.bias"]
    params = net.parameters()
    assert params[0] is net.first.weight and params[2] is net.scale
    assert net.num_parameters() == 3 * 4 + 4 + 4 + 4 * 2 + 2
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Tanh", "Dropout", "Linear"]
    assert len(net.modules()) == 5


def test_train_eval_propagate_and_zero_grad():
    net = TwoLayer()
    assert net.training and net.blocks[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_module_without_forward():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty()(1.0)


def test_repr_is_deterministic_and_lists_layers():
    net = nn.MLP([2, 16, 16, 3], activation="tanh", batchnorm=True, rng=0)
    expected = (
        "MLP(\n"
        "  (0): Linear(in_features=2, out_features=16)\n"
        "  (1): BatchNorm1d(num_features=16, eps=1e-05, momentum=0.1)\n"
        "  (2): Tanh()\n"
        "  (3): Linear(in_features=16, out_features=16)\n"
        "  (4): BatchNorm1d(num_features=16, eps=1e-05, momentum=0.1)\n"
        "  (5): Tanh()\n"
        "  (6): Linear(in_features=16, out_features=3)\n"
        ")"
    )
    assert repr(net) == expected
    assert repr(nn.MLP([2, 16, 16, 3], activation="tanh", batchnorm=True, rng=9)) == expected
    nested = nn.Residual(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
    assert repr(nested) == (
        "Residual(\n"
        "  (block): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=4)\n"
        "    (1): ReLU()\n"
        "  )\n"
        ")"
    )
    assert "0x" not in repr(TwoLayer())


# --- Sequential and MLP --------------------------------------------------------------------------
def test_sequential_composes_indexes_and_slices():
    a, b = nn.Linear(3, 5, rng=0), nn.Linear(5, 2, rng=1)
    seq = nn.Sequential(a, nn.ReLU(), b)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is b and list(seq)[1] is seq[1]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    x = randn(4, 3)
    expected = np.maximum(x @ a.weight.data, 0) @ b.weight.data
    np.testing.assert_allclose(seq(x).data, expected, rtol=1e-13)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert nn.Sequential([a, b]).layers == [a, b]
    # Plain functions may sit between layers; the Modules keep their positions' names.
    mixed = nn.Sequential(a, lambda t: t.tanh(), b)
    assert [n for n, _ in mixed.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_allclose(
        mixed(x).data, np.tanh(x @ a.weight.data) @ b.weight.data, rtol=1e-13
    )
    with pytest.raises(TypeError, match="Sequential: layer 1 must be a Module or callable"):
        nn.Sequential(a, 3)


def test_mlp_structure_and_parameter_count():
    net = nn.MLP([2, 8, 8, 1], rng=0)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert net.num_parameters() == (2 * 8 + 8) + (8 * 8 + 8) + (8 * 1 + 1)
    assert len(net.parameters()) == 6
    bn = nn.MLP([2, 8, 8, 1], batchnorm=True, output_activation="sigmoid")
    assert [type(m).__name__ for m in bn] == [
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
        "Sigmoid",
    ]
    assert bn.num_parameters() == net.num_parameters() + 2 * (8 + 8)
    y = bn(randn(5, 2)).data
    assert np.all((y > 0) & (y < 1))
    assert [layer.out_features for layer in net.linear_layers()] == [8, 8, 1]


def test_mlp_init_matches_activation_and_shares_one_generator():
    relu = nn.MLP([3, 7, 2], rng=np.random.default_rng(5))
    g = np.random.default_rng(5)
    assert np.array_equal(relu[0].weight.data, init.he_uniform((3, 7), rng=g))
    assert np.array_equal(relu[2].weight.data, init.he_uniform((7, 2), rng=g))
    tanh = nn.MLP([3, 7, 2], activation=nn.Tanh, rng=5)
    g = np.random.default_rng(5)
    assert isinstance(tanh[1], nn.Tanh)
    assert np.array_equal(tanh[0].weight.data, init.xavier_uniform((3, 7), rng=g))
    assert np.array_equal(tanh[2].weight.data, init.xavier_uniform((7, 2), rng=g))
    normal = nn.MLP([3, 7, 2], activation="sigmoid", init="he_normal", rng=5)
    assert np.array_equal(normal[0].weight.data, init.he_normal((3, 7), rng=5))


def test_mlp_bad_arguments():
    with pytest.raises(ValueError, match="MLP: sizes must be a list"):
        nn.MLP([3])
    with pytest.raises(ValueError, match="MLP: unknown activation 'gelu'"):
        nn.MLP([3, 2], activation="gelu")
    with pytest.raises(TypeError, match="MLP: output_activation must be a name or a Module class"):
        nn.MLP([3, 2], output_activation=np.tanh)
    with pytest.raises(ValueError, match="MLP: every size must be a positive int"):
        nn.MLP([3, 0, 2])


@pytest.mark.parametrize("batchnorm", [False, True])
def test_mlp_gradients_vs_finite_differences(batchnorm):
    net = nn.MLP([3, 5, 4, 2], activation="tanh", batchnorm=batchnorm, rng=0)
    x = randn(6, 3)

    def f(W0, b0, W2):
        second = net.linear_layers()[1]
        net[0].weight, net[0].bias, second.weight = W0, b0, W2
        return net(x)

    p = [layer.weight for layer in net.linear_layers()]
    assert gradcheck(f, Tensor(p[0].data), Tensor(randn(5)), Tensor(p[1].data)).passed


def _adam_fit(net, X, y, steps, lr):
    # A minimal Adam written here so this test does not rely on bpkit.optim.
    params = net.parameters()
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    for t in range(1, steps + 1):
        net.zero_grad()
        loss = functional.cross_entropy(net(X), y)
        loss.backward()
        for p, mi, vi in zip(params, m, v):
            mi[...] = 0.9 * mi + 0.1 * p.grad
            vi[...] = 0.999 * vi + 0.001 * p.grad**2
            p.data -= lr * (mi / (1 - 0.9**t)) / (np.sqrt(vi / (1 - 0.999**t)) + 1e-8)
    return loss.item()


def test_mlp_learns_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    net = nn.MLP([2, 8, 2], activation="tanh", rng=0)
    loss = _adam_fit(net, X, y, steps=300, lr=0.05)
    assert loss < 0.01
    assert np.array_equal(net(X).data.argmax(axis=1), y)


def test_mlp_with_batchnorm_and_dropout_learns_a_tiny_dataset():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR of the signs: needs the hidden layer
    net = nn.Sequential(
        nn.Linear(2, 32, rng=rng),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Dropout(0.1, rng=1),
        nn.Linear(32, 2, rng=rng),
    )
    _adam_fit(net, X, y, steps=300, lr=0.02)
    net.eval()
    with no_grad():
        logits = net(X)
    assert functional.cross_entropy(logits, y).item() < 0.15
    assert np.mean(logits.data.argmax(axis=1) == y) >= 0.95


# --- BatchNorm1d -----------------------------------------------------------------------------------
def batch_norm_composed(x, gamma, beta, eps):
    """The same layer from primitive Tensor ops: the oracle for the fused op's backward."""
    mu = x.mean(axis=0)
    centred = x - mu
    var = (centred * centred).mean(axis=0)
    return gamma * centred / (var + eps) ** 0.5 + beta


def test_batchnorm_forward_normalises_each_feature():
    x = randn(10, 3) * np.array([1.0, 5.0, 0.1]) + np.array([3.0, -2.0, 0.0])
    y = nn.BatchNorm1d(3, eps=0.0 + 1e-12)(x).data
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-9)
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-12)
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_batchnorm_fused_backward_vs_finite_differences():
    x, gamma, beta = randn(6, 4), randn(4), randn(4)
    report = gradcheck(
        lambda a, g, b: nn.batch_norm(a, g, b), Tensor(x), Tensor(gamma), Tensor(beta)
    )
    assert report.passed, report

    bn = nn.BatchNorm1d(4)

    def module(a, g, b):
        bn.weight, bn.bias = g, b
        return bn(a)

    assert gradcheck(module, Tensor(x), Tensor(gamma), Tensor(beta)).passed


def test_batchnorm_fused_equals_composed_primitives():
    x, gamma, beta = randn(7, 5), randn(5), randn(5)
    upstream = randn(7, 5)
    grads = []
    for fn in (lambda a, g, b: nn.batch_norm(a, g, b, eps=1e-5), batch_norm_composed):
        ts = [Tensor(v, requires_grad=True) for v in (x, gamma, beta)]
        out = fn(*ts) if fn is not batch_norm_composed else fn(*ts, 1e-5)
        out.backward(upstream)
        grads.append((out.data, *[t.grad for t in ts]))
    for fused, composed in zip(*grads):
        np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


@given(
    st.integers(2, 6),
    st.integers(1, 4),
    st.floats(1e-2, 1e2),
    st.floats(-10, 10),
    st.integers(0, 2**31),
)
def test_batchnorm_fused_equals_composed_any_shape_and_scale(n, c, scale, shift, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * scale + shift
    gamma, beta, upstream = (
        rng.standard_normal(c),
        rng.standard_normal(c),
        rng.standard_normal((n, c)),
    )
    results = []
    for fn in (nn.batch_norm, batch_norm_composed):
        ts = [Tensor(v, requires_grad=True) for v in (x, gamma, beta)]
        fn(*ts, 1e-5).backward(upstream)
        results.append([t.grad for t in ts])
    for fused, composed in zip(*results):
        np.testing.assert_allclose(fused, composed, rtol=1e-7, atol=1e-9)


def test_batchnorm_is_one_graph_node():
    bn = nn.BatchNorm1d(3)
    x = Tensor(randn(4, 3), requires_grad=True)
    y = bn(x)
    assert y.op == "batch_norm"
    assert y.parents == (x, bn.weight, bn.bias)


def test_batchnorm_running_statistics_and_eval_mode():
    bn = nn.BatchNorm1d(3, momentum=0.1)
    x1, x2 = randn(8, 3) + 2.0, 3.0 * randn(8, 3)
    bn(x1)
    bn(x2)
    # running = (1 - m) running + m * stat, started at mean 0 / var 1; unbiased variance.
    mean = 0.9 * (0.9 * 0.0 + 0.1 * x1.mean(0)) + 0.1 * x2.mean(0)
    var = 0.9 * (0.9 * 1.0 + 0.1 * x1.var(0, ddof=1)) + 0.1 * x2.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]

    bn.eval()
    bn.weight.data[:] = [1.0, 2.0, 3.0]
    x = randn(5, 3)
    y = bn(x).data
    expected = (x - mean) / np.sqrt(var + 1e-5) * np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)  # eval leaves them alone
    # Evaluation is per example: one row gives the same answer alone as in the batch.
    np.testing.assert_allclose(bn(x[2:3]).data, y[2:3], rtol=1e-12)
    bn.train()
    assert not np.allclose(bn(x).data, y)

    def f(a, g, b):
        bn.weight, bn.bias = g, b
        return bn(a)

    bn.eval()
    assert gradcheck(f, Tensor(x), Tensor(randn(3)), Tensor(randn(3))).passed


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(
        ShapeError,
        match=r"BatchNorm1d\(num_features=3.*\): expected input of "
        r"shape \(batch, 3\), got shape \(4, 2\)",
    ):
        bn(randn(4, 2))
    with pytest.raises(ShapeError, match="at least 2 rows"):
        bn(randn(1, 3))
    bn.eval()
    assert bn(randn(1, 3)).shape == (1, 3)
    with pytest.raises(ValueError, match="BatchNorm1d: momentum must be in"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ShapeError, match=r"batch_norm: gamma must have shape \(3,\)"):
        nn.batch_norm(randn(4, 3), randn(2), randn(3))


# --- Residual --------------------------------------------------------------------------------------
def test_residual_adds_identity_and_its_gradient():
    block = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Tanh())
    res = nn.Residual(block)
    x = randn(3, 4)
    np.testing.assert_allclose(res(x).data, x + block(x).data, rtol=1e-14)
    assert res.parameters() == block.parameters()
    assert gradcheck(res, Tensor(x)).passed
    # With a zero block the layer is the identity: dx = upstream exactly.
    zero = nn.Residual(nn.Linear(4, 4, init=lambda s, r: np.zeros(s)))
    xt = Tensor(x, requires_grad=True)
    upstream = randn(3, 4)
    zero(xt).backward(upstream)
    np.testing.assert_array_equal(xt.grad, upstream)


def test_residual_shape_error():
    res = nn.Residual(nn.Linear(4, 3))
    with pytest.raises(ShapeError) as info:
        res(randn(2, 4))
    message = str(info.value)
    assert "Residual(Linear(in_features=4, out_features=3))" in message
    assert "(2, 3)" in message and "(2, 4)" in message
    with pytest.raises(TypeError, match="Residual: block must be a Module"):
        nn.Residual(np.tanh)


# --- Dropout ---------------------------------------------------------------------------------------
def test_dropout_train_drops_and_rescales():
    p = 0.3
    drop = nn.Dropout(p, rng=0)
    x = np.ones((200, 100))
    y = drop(x).data
    n = x.size
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)  # binomial standard error
    assert np.allclose(y[y != 0], 1 / (1 - p))  # inverted dropout keeps E[y] = x
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_gradient_only_through_kept_units():
    drop = nn.Dropout(0.5, rng=3)
    x = Tensor(randn(6, 5), requires_grad=True)
    y = drop(x)
    y.sum().backward()
    kept = y.data != 0
    np.testing.assert_array_equal(x.grad, kept * 2.0)


def test_dropout_eval_is_identity_and_validates_p():
    drop = nn.Dropout(0.9, rng=0)
    x = randn(4, 4)
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)
    drop.train()
    assert np.any(drop(x).data == 0)
    assert repr(drop) == "Dropout(p=0.9)"
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x)
    for bad in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError, match=r"Dropout: p .* must be in \[0, 1\)"):
            nn.Dropout(bad)
    # Same seed, same masks; the generator moves on between calls.
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    first = a(np.ones((3, 3))).data
    assert np.array_equal(first, b(np.ones((3, 3))).data)
    assert not np.array_equal(first, a(np.ones((3, 3))).data)


# --- RNNCell ---------------------------------------------------------------------------------------
def test_rnn_cell_forward_matches_formula():
    cell = nn.RNNCell(3, 4, rng=0)
    x, h = randn(2, 3), randn(2, 4)
    cell.bias.data[:] = randn(4)
    expected = np.tanh(x @ cell.weight_ih.data + h @ cell.weight_hh.data + cell.bias.data)
    np.testing.assert_allclose(cell(x, h).data, expected, rtol=1e-14)
    no_h = np.tanh(x @ cell.weight_ih.data + cell.bias.data)
    np.testing.assert_allclose(cell(x).data, no_h, rtol=1e-14)
    relu = nn.RNNCell(3, 4, nonlinearity="relu", rng=0)
    np.testing.assert_allclose(
        relu(x, h).data, np.maximum(x @ relu.weight_ih.data + h @ relu.weight_hh.data, 0)
    )
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias"]
    assert repr(cell) == "RNNCell(input_size=3, hidden_size=4)"
    assert repr(relu) == "RNNCell(input_size=3, hidden_size=4, nonlinearity='relu')"


def test_rnn_bptt_gradients_vs_finite_differences():
    cell = nn.RNNCell(3, 4, rng=1)
    xs = randn(5, 2, 3)  # 5 time steps

    def unrolled(Wh, Wx, h0):
        cell.weight_hh, cell.weight_ih = Wh, Wx
        h = h0
        for x in xs:
            h = cell(x, h)
        return h

    report = gradcheck(
        unrolled, Tensor(cell.weight_hh.data), Tensor(cell.weight_ih.data), Tensor(randn(2, 4))
    )
    assert report.passed, report


def test_rnn_cell_shape_errors():
    cell = nn.RNNCell(3, 4)
    with pytest.raises(
        ShapeError,
        match=r"RNNCell\(input_size=3, hidden_size=4\): expected x of "
        r"shape \(batch, 3\), got shape \(2, 5\)",
    ):
        cell(randn(2, 5))
    with pytest.raises(
        ShapeError,
        match=r"expected h of shape \(2, 4\) to match x \(2, 3\), "
        r"got shape \(2, 3\)",
    ):
        cell(randn(2, 3), randn(2, 3))
    with pytest.raises(ValueError, match="RNNCell: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
