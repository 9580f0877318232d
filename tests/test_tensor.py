"""Tensor engine: every op against numpy (forward) and central differences (backward)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import GradientError, ShapeError, Tensor, gradcheck, no_grad
from bpkit.tensor import unbroadcast
from tests.strategies import arrays, broadcastable_pairs, floats, positive

RNG = np.random.default_rng(1234)


def randn(*shape, positive=False):
    x = RNG.standard_normal(shape)
    return np.abs(x) + 0.5 if positive else x


WEIGHTS_423 = randn(4, 2, 3)  # fixed: a test function must be deterministic

# name -> (function of Tensors, input arrays). Non-square shapes so transposes can't hide;
# relu/max inputs keep away from their kinks, where the derivative jumps.
OPS = {
    "add": (lambda a, b: a + b, [randn(3, 4), randn(4)]),
    "sub": (lambda a, b: a - b, [randn(2, 1, 3), randn(4, 1)]),
    "mul": (lambda a, b: a * b, [randn(3, 4), randn(3, 1)]),
    "div": (lambda a, b: a / b, [randn(3, 4), randn(4, positive=True)]),
    "pow_number": (lambda a: a**3, [randn(2, 3)]),
    "pow_fraction": (lambda a: a**0.5, [randn(2, 3, positive=True)]),
    "pow_tensor": (lambda a, b: a**b, [randn(2, 3, positive=True), randn(3)]),
    "neg": (lambda a: -a, [randn(3, 2)]),
    "radd": (lambda a: 2.0 + a, [randn(3)]),
    "rsub": (lambda a: 1.0 - a, [randn(3)]),
    "rmul": (lambda a: 3.0 * a, [randn(3)]),
    "rdiv": (lambda a: 1.0 / a, [randn(3, positive=True)]),
    "rpow": (lambda a: 2.0**a, [randn(3)]),
    "matmul": (lambda a, b: a @ b, [randn(3, 4), randn(4, 5)]),
    "matmul_vec_mat": (lambda a, b: a @ b, [randn(4), randn(4, 5)]),
    "matmul_mat_vec": (lambda a, b: a @ b, [randn(3, 4), randn(4)]),
    "matmul_batched": (lambda a, b: a @ b, [randn(2, 3, 4), randn(4, 5)]),
    "sum_all": (lambda a: a.sum(), [randn(3, 4)]),
    "sum_axis": (lambda a: a.sum(axis=0), [randn(3, 4)]),
    "sum_keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), [randn(2, 3, 4)]),
    "mean_all": (lambda a: a.mean(), [randn(3, 4)]),
    "mean_axis": (lambda a: a.mean(axis=-1), [randn(3, 4)]),
    "max_all": (lambda a: a.max(), [np.arange(12.0).reshape(3, 4) * 0.3]),
    "max_axis": (lambda a: a.max(axis=1, keepdims=True), [np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]])]),
    "reshape": (lambda a: a.reshape(4, 3) * np.arange(12.0).reshape(4, 3), [randn(3, 4)]),
    "T": (lambda a: a.T @ np.arange(6.0).reshape(3, 2), [randn(3, 4)]),
    "transpose": (lambda a: a.transpose(2, 0, 1) * WEIGHTS_423, [randn(2, 3, 4)]),
    "getitem_int": (lambda a: a[1], [randn(3, 4)]),
    "getitem_slice": (lambda a: a[:, 1:3], [randn(3, 4)]),
    "getitem_array_repeats": (lambda a: a[np.array([0, 2, 0])], [randn(3, 4)]),
    "getitem_pairs": (lambda a: a[np.array([0, 1, 2]), np.array([3, 0, 3])], [randn(3, 4)]),
    "exp": (lambda a: a.exp(), [randn(3, 4)]),
    "log": (lambda a: a.log(), [randn(3, 4, positive=True)]),
    "tanh": (lambda a: a.tanh(), [randn(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [randn(3, 4)]),
    "relu": (lambda a: a.relu(), [np.array([[-1.0, 0.5, 2.0], [0.3, -0.2, -3.0]])]),
    "softmax": (lambda a: a.softmax(axis=1), [randn(3, 4)]),
    "softmax_axis0": (lambda a: a.softmax(axis=0), [randn(3, 4)]),
    "log_softmax": (lambda a: a.log_softmax(axis=-1), [randn(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_gradient_matches_central_differences(name):
    f, arrays_ = OPS[name]
    inputs = [Tensor(a, requires_grad=True) for a in arrays_]
    report = gradcheck(f, *inputs, tol=1e-6)
    assert report.passed, f"{name}: {report}"


@pytest.mark.parametrize(
    "name, f, reference",
    [
        ("add", lambda a, b: a + b, np.add),
        ("sub", lambda a, b: a - b, np.subtract),
        ("mul", lambda a, b: a * b, np.multiply),
    ],
)
@given(data=st.data())
def test_broadcasting_forward_and_backward(name, f, reference, data):
    shapes = data.draw(broadcastable_pairs).input_shapes
    a = data.draw(arrays(shapes[0]))
    b = data.draw(arrays(shapes[1]))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    np.testing.assert_allclose(f(ta, tb).data, reference(a, b))
    report = gradcheck(f, ta, tb)
    assert report.passed, f"{name} {shapes}: {report}"


@given(data=st.data())
def test_division_broadcasting_gradients(data):
    shapes = data.draw(broadcastable_pairs).input_shapes
    a = data.draw(arrays(shapes[0]))
    b = data.draw(arrays(shapes[1], elements=positive))
    assert gradcheck(lambda x, y: x / y, Tensor(a), Tensor(b)).passed


@given(data=st.data())
def test_random_compositions_match_finite_differences(data):
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    a = data.draw(arrays((rows, cols)))
    w = data.draw(arrays((cols, 3)))
    unary = data.draw(st.lists(st.sampled_from(["tanh", "sigmoid", "exp_small", "square"]), max_size=3))

    def f(x, weights):
        out = x @ weights
        for op in unary:
            if op == "tanh":
                out = out.tanh()
            elif op == "sigmoid":
                out = out.sigmoid()
            elif op == "exp_small":  # bounded, so finite differences stay accurate
                out = (out * 0.3).tanh().exp()
            else:
                out = out * out * 0.25
        return out.mean(axis=0).sum()

    report = gradcheck(f, Tensor(a), Tensor(w))
    assert report.passed, f"{unary}: {report}"


@given(grad=arrays((2, 3, 4), floats))
def test_unbroadcast_sums_stretched_axes(grad):
    # Summing over the axes numpy stretched is what the chain rule asks for:
    # each copy of b contributed to the output, so their gradients add.
    np.testing.assert_allclose(unbroadcast(grad, (3, 4)), grad.sum(axis=0))
    np.testing.assert_allclose(unbroadcast(grad, (1, 4)), grad.sum(axis=(0, 1))[None, :])
    np.testing.assert_allclose(unbroadcast(grad, (2, 1, 4)), grad.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(unbroadcast(grad, ()), grad.sum())


def test_gradients_accumulate_on_shared_nodes():
    a = Tensor([2.0, -1.0], requires_grad=True)
    b = a + a  # db/da = 2
    c = b * b  # dc/db = 2b = 4a  ->  dc/da = 8a
    c.sum().backward()
    np.testing.assert_allclose(a.grad, 8 * np.array([2.0, -1.0]))
    np.testing.assert_allclose(b.grad, 2 * b.data)


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * 3.0).sum().backward()
    (w * 3.0).sum().backward()
    np.testing.assert_allclose(w.grad, [6.0, 6.0])
    w.zero_grad()
    assert w.grad is None


def test_leaf_gradients_are_independent_arrays():
    # add returns the same upstream array for both inputs; scaling one .grad in place
    # (as clip_grad_norm does) must not change the other.
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10
    assert b.grad[0] == 1.0


def test_long_chain_has_no_recursion_limit():
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad[0] == 1.0


def test_no_grad_records_no_graph():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    with no_grad():
        y = (w @ w).sum()
    assert y.parents == () and not y.requires_grad
    with pytest.raises(GradientError, match="does not require grad"):
        y.backward()
    assert (w @ w).requires_grad  # switched back on afterwards


def test_constants_get_no_gradient():
    x = Tensor(np.ones((2, 3)))
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    (x @ w).sum().backward()
    assert x.grad is None and w.grad is not None


def test_data_conversion_and_dtypes():
    assert Tensor([1, 2, 3]).dtype == np.float64
    assert Tensor(np.array([True, False])).dtype == np.float64
    assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="numeric"):
        Tensor(["a", "b"])
    with pytest.raises(TypeError, match="already a Tensor"):
        Tensor(Tensor([1.0]))


def test_repr_is_deterministic_and_informative():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(t) == "Tensor([[1., 2.]], requires_grad=True)"
    assert repr(t * 2) == "Tensor([[2., 4.]], op='mul')"
    assert "0x" not in repr(t)


def test_ndarray_on_the_left_defers_to_tensor():
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([3.0, 4.0]) * t
    assert isinstance(out, Tensor)
    out.sum().backward()
    np.testing.assert_allclose(t.grad, [3.0, 4.0])


def test_max_splits_gradient_among_ties():
    a = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    a.max().backward()
    np.testing.assert_allclose(a.grad, [0.0, 0.5, 0.5])


# --- errors that teach --------------------------------------------------------------------


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ShapeError) as info:
        Tensor(np.ones((32, 64))) @ Tensor(np.ones((32, 10)))
    assert "matmul: shapes (32, 64) and (32, 10) don't align (64 != 32)" in str(info.value)


@pytest.mark.parametrize("op, f", [("add", lambda a, b: a + b), ("mul", lambda a, b: a * b),
                                   ("sub", lambda a, b: a - b), ("div", lambda a, b: a / b)])
def test_broadcast_error_names_op_and_shapes(op, f):
    with pytest.raises(ShapeError, match=rf"{op}: shapes \(3, 4\) and \(5,\) cannot broadcast"):
        f(Tensor(np.ones((3, 4))), Tensor(np.ones(5)))


def test_backward_on_non_scalar_explains_itself():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(GradientError, match=r"shape \(2, 3\) without grad.*out.sum\(\)"):
        y.backward()
    with pytest.raises(GradientError, match=r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))  # an explicit upstream gradient is fine


def test_reshape_and_axis_errors():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        t.reshape(4, 2)
    with pytest.raises(ShapeError, match="sum: axis 2 is out of range"):
        t.sum(axis=2)
    with pytest.raises(ShapeError, match="getitem"):
        t[5]


def test_custom_op_with_wrong_gradient_shape_is_named():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    bad = Tensor.from_op(x.data.sum(axis=0), (x,), lambda g: (g,), "my_sum")
    with pytest.raises(GradientError, match=r"my_sum: backward produced a gradient of shape \(3,\) "
                                            r"for an input of shape \(2, 3\)"):
        bad.sum().backward()


def test_bad_operand_type_is_named():
    with pytest.raises(TypeError, match="mul: expected a Tensor"):
        Tensor([1.0]) * "two"
