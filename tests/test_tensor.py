"""Tensor engine: every op against numpy (forward) and central differences (backward)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import GradientError, ShapeError, Tensor, gradcheck, no_grad
from bpkit.graph import topological_order
from bpkit.tensor import unbroadcast
from tests.strategies import (
    arrays,
    away_from_zero,
    broadcastable_pairs,
    floats,
    positive,
    shape_and_axis,
)

RNG = np.random.default_rng(1234)


def randn(*shape, positive=False):
    x = RNG.standard_normal(shape)
    return np.abs(x) + 0.5 if positive else x


WEIGHTS_423 = randn(4, 2, 3)  # fixed: a test function must be deterministic
WEIGHTS_43 = randn(4, 3)

# name -> (function of Tensors, input arrays). Non-square shapes so transposes can't hide;
# relu/max inputs keep away from their kinks, where the derivative jumps.
OPS = {
    "add": (lambda a, b: a + b, [randn(3, 4), randn(4)]),
    "add_scalar_tensor": (lambda a, b: a + b, [randn(3, 4), randn()]),
    "sub": (lambda a, b: a - b, [randn(2, 1, 3), randn(4, 1)]),
    "mul": (lambda a, b: a * b, [randn(3, 4), randn(3, 1)]),
    "mul_0d": (lambda a, b: a * b, [randn(), randn()]),
    "div": (lambda a, b: a / b, [randn(3, 4), randn(4, positive=True)]),
    "pow_number": (lambda a: a**3, [randn(2, 3)]),
    "pow_int_negative": (lambda a: a**-2, [randn(2, 3, positive=True)]),
    "pow_fraction": (lambda a: a**0.5, [randn(2, 3, positive=True)]),
    "pow_tensor": (lambda a, b: a**b, [randn(2, 3, positive=True), randn(3)]),
    "neg": (lambda a: -a, [randn(3, 2)]),
    "radd": (lambda a: 2.0 + a, [randn(3)]),
    "rsub": (lambda a: 1.0 - a, [randn(3)]),
    "rsub_ndarray": (lambda a: np.arange(6.0).reshape(2, 3) - a, [randn(3)]),
    "rmul": (lambda a: 3 * a, [randn(3)]),
    "rdiv": (lambda a: 1.0 / a, [randn(3, positive=True)]),
    "rpow": (lambda a: 2.0**a, [randn(3)]),
    "matmul": (lambda a, b: a @ b, [randn(3, 4), randn(4, 5)]),
    "rmatmul_ndarray": (lambda b: WEIGHTS_43 @ b, [randn(3, 2)]),
    "matmul_vec_mat": (lambda a, b: a @ b, [randn(4), randn(4, 5)]),
    "matmul_mat_vec": (lambda a, b: a @ b, [randn(3, 4), randn(4)]),
    "matmul_vec_vec": (lambda a, b: a @ b, [randn(4), randn(4)]),
    "matmul_batched": (lambda a, b: a @ b, [randn(2, 3, 4), randn(4, 5)]),
    "matmul_batched_both": (lambda a, b: a @ b, [randn(2, 1, 3, 4), randn(5, 4, 2)]),
    "sum_all": (lambda a: a.sum(), [randn(3, 4)]),
    "sum_axis": (lambda a: a.sum(axis=0), [randn(3, 4)]),
    "sum_negative_axis": (lambda a: a.sum(axis=-2), [randn(2, 3, 4)]),
    "sum_keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), [randn(2, 3, 4)]),
    "mean_all": (lambda a: a.mean(), [randn(3, 4)]),
    "mean_axis": (lambda a: a.mean(axis=-1), [randn(3, 4)]),
    "mean_tuple_keepdims": (lambda a: a.mean(axis=(-1, 0), keepdims=True), [randn(2, 3, 4)]),
    "max_all": (lambda a: a.max(), [np.arange(12.0).reshape(3, 4) * 0.3]),
    "max_axis": (
        lambda a: a.max(axis=1, keepdims=True),
        [np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]])],
    ),
    "max_tuple_axis": (lambda a: a.max(axis=(0, -1)), [RNG.permutation(24).reshape(2, 3, 4) * 0.1]),
    "reshape": (lambda a: a.reshape(4, 3) * np.arange(12.0).reshape(4, 3), [randn(3, 4)]),
    "reshape_minus_one": (lambda a: a.reshape((-1,)) * np.arange(12.0), [randn(3, 4)]),
    "T": (lambda a: a.T @ np.arange(6.0).reshape(3, 2), [randn(3, 4)]),
    "transpose": (lambda a: a.transpose(2, 0, 1) * WEIGHTS_423, [randn(2, 3, 4)]),
    "transpose_negative": (lambda a: a.transpose((-1, 0, 1)) * WEIGHTS_423, [randn(2, 3, 4)]),
    "getitem_int": (lambda a: a[1], [randn(3, 4)]),
    "getitem_slice": (lambda a: a[:, 1:3], [randn(3, 4)]),
    "getitem_step": (lambda a: a[::-2, 1], [randn(3, 4)]),
    "getitem_array_repeats": (lambda a: a[np.array([0, 2, 0])], [randn(3, 4)]),
    "getitem_pairs": (lambda a: a[np.array([0, 1, 2]), np.array([3, 0, 3])], [randn(3, 4)]),
    "getitem_slice_and_array": (lambda a: a[1:, [2, 2, 0]], [randn(3, 4)]),
    "getitem_mask": (lambda a: a[np.array([True, False, True])], [randn(3, 4)]),
    "exp": (lambda a: a.exp(), [randn(3, 4)]),
    "log": (lambda a: a.log(), [randn(3, 4, positive=True)]),
    "tanh": (lambda a: a.tanh(), [randn(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [randn(3, 4) * 5]),
    "relu": (lambda a: a.relu(), [np.array([[-1.0, 0.5, 2.0], [0.3, -0.2, -3.0]])]),
    "softmax": (lambda a: a.softmax(axis=1), [randn(3, 4)]),
    "softmax_axis0": (lambda a: a.softmax(axis=0), [randn(3, 4)]),
    "log_softmax": (lambda a: a.log_softmax(axis=-1), [randn(3, 4)]),
    "log_softmax_3d": (lambda a: a.log_softmax(axis=1), [randn(2, 3, 4)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_gradient_matches_central_differences(name):
    f, arrays_ = OPS[name]
    inputs = [Tensor(a, requires_grad=True) for a in arrays_]
    report = gradcheck(f, *inputs, tol=1e-6)
    assert report.passed, f"{name}: {report}"


# --- forward values against numpy ---------------------------------------------------------

FORWARD = [
    ("exp", lambda t: t.exp(), np.exp),
    ("log", lambda t: (t * t + 1.0).log(), lambda x: np.log(x * x + 1.0)),
    ("tanh", lambda t: t.tanh(), np.tanh),
    ("sigmoid", lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    ("relu", lambda t: t.relu(), lambda x: np.where(x > 0, x, 0.0)),
    ("neg", lambda t: -t, np.negative),
    ("pow", lambda t: t**2, np.square),
    ("T", lambda t: t.T, np.transpose),
    ("reshape", lambda t: t.reshape(-1), np.ravel),
]


@pytest.mark.parametrize("name, f, reference", FORWARD, ids=[row[0] for row in FORWARD])
@given(data=st.data())
def test_elementwise_forward_matches_numpy(name, f, reference, data):
    x = data.draw(arrays(data.draw(broadcastable_pairs).input_shapes[0]))
    np.testing.assert_allclose(f(Tensor(x)).data, reference(x), rtol=1e-12, atol=1e-300)


def test_sigmoid_is_stable_far_from_zero():
    # exp(1000) overflows; the two-sided form never evaluates it.
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        out = Tensor([-1000.0, 1000.0]).sigmoid().data
    np.testing.assert_array_equal(out, [0.0, 1.0])


# --- broadcasting: hypothesis over many shape pairs -----------------------------------------

BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / b, np.divide),
]


@pytest.mark.parametrize("name, f, reference", BINARY, ids=[row[0] for row in BINARY])
@given(data=st.data())
def test_broadcasting_forward_and_backward(name, f, reference, data):
    shapes = data.draw(broadcastable_pairs).input_shapes
    a = data.draw(arrays(shapes[0]))
    b = data.draw(arrays(shapes[1], elements=away_from_zero if name == "div" else floats))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = f(ta, tb)
    np.testing.assert_allclose(out.data, reference(a, b), rtol=1e-14)
    assert type(out.data) is np.ndarray  # 0-d results too, not numpy scalars
    report = gradcheck(f, ta, tb)
    assert report.passed, f"{name} {shapes}: {report}"
    # Reflected form with a plain ndarray on the left gives the same values and gradient.
    tb.grad = None
    out_reflected = f(a, tb)
    assert isinstance(out_reflected, Tensor)
    np.testing.assert_allclose(out_reflected.data, reference(a, b), rtol=1e-14)


@given(data=st.data())
def test_pow_with_tensor_exponent_broadcasts(data):
    shapes = data.draw(broadcastable_pairs).input_shapes
    a = data.draw(arrays(shapes[0], elements=positive))
    b = data.draw(arrays(shapes[1]))
    np.testing.assert_allclose((Tensor(a) ** Tensor(b)).data, a**b, rtol=1e-13)
    # Exact, with no finite differences: d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a,
    # each summed over the axes broadcasting stretched.
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (x**y).sum().backward()
    np.testing.assert_allclose(x.grad, unbroadcast(b * a ** (b - 1), a.shape), rtol=1e-12)
    np.testing.assert_allclose(y.grad, unbroadcast(a**b * np.log(a), b.shape), rtol=1e-12)
    # Finite differences at 1e-6 need a moderate dynamic range: 0.2^-3 = 125 next to
    # 3^-3 = 0.04 makes round-off (~1e-16 * |loss| / eps) swamp the small entries.
    a_mid = data.draw(arrays(shapes[0], elements=st.floats(0.5, 2.0)))
    b_mid = data.draw(arrays(shapes[1], elements=st.floats(-2.0, 2.0)))
    report = gradcheck(lambda x, y: x**y, Tensor(a_mid), Tensor(b_mid))
    assert report.passed, report


@pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
@given(data=st.data())
def test_reductions_over_any_axes(reduction, data):
    shape, axis = data.draw(shape_and_axis())
    keepdims = data.draw(st.booleans())
    # Distinct values 0.1 apart: max has a single winner that a step of eps cannot change.
    x = data.draw(arrays(shape, elements=st.integers(-50, 50).map(lambda k: k / 10), unique=True))
    out = getattr(Tensor(x), reduction)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(
        out.data, getattr(np, reduction)(x, axis=axis, keepdims=keepdims), rtol=1e-13
    )
    report = gradcheck(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), Tensor(x))
    assert report.passed, f"{reduction} {shape} axis={axis}: {report}"


@given(data=st.data())
def test_random_compositions_match_finite_differences(data):
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    a = data.draw(arrays((rows, cols)))
    w = data.draw(arrays((cols, 3)))
    b = data.draw(arrays((3,)))
    ops = data.draw(
        st.lists(
            st.sampled_from(
                [
                    "tanh",
                    "sigmoid",
                    "exp_small",
                    "square",
                    "shared",
                    "softmax",
                    "add_bias",
                    "getitem",
                    "transpose",
                ]
            ),
            max_size=4,
        )
    )

    def f(x, weights, bias):
        out = x @ weights
        for op in ops:
            if op == "tanh":
                out = out.tanh()
            elif op == "sigmoid":
                out = out.sigmoid()
            elif op == "exp_small":  # bounded, so finite differences stay accurate
                out = (out * 0.3).tanh().exp()
            elif op == "square":
                out = out * out * 0.25
            elif op == "shared":  # a node used twice: both uses contribute
                out = out * 0.5 + out.tanh()
            elif op == "softmax":
                out = out.softmax(axis=-1)
            elif op == "add_bias":
                out = out + bias
            elif op == "getitem":
                out = out[np.arange(out.shape[0]) % 2 == 0]
            else:  # transposed and back, so later ops still see (rows, 3)
                out = (out.T * 1.5).T
        return out.mean(axis=0).sum()

    report = gradcheck(f, Tensor(a), Tensor(w), Tensor(b))
    assert report.passed, f"{ops}: {report}"


@given(grad=arrays((2, 3, 4), floats))
def test_unbroadcast_sums_stretched_axes(grad):
    # Summing over the axes numpy stretched is what the chain rule asks for:
    # each copy of b contributed to the output, so their gradients add.
    np.testing.assert_allclose(unbroadcast(grad, (3, 4)), grad.sum(axis=0))
    np.testing.assert_allclose(unbroadcast(grad, (1, 4)), grad.sum(axis=(0, 1))[None, :])
    np.testing.assert_allclose(unbroadcast(grad, (2, 1, 4)), grad.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(unbroadcast(grad, (4,)), grad.sum(axis=(0, 1)))
    np.testing.assert_allclose(unbroadcast(grad, ()), grad.sum())
    assert unbroadcast(grad, (2, 3, 4)) is grad  # nothing to undo: no copy


# --- accumulation, graphs and modes ------------------------------------------------------------


def test_gradients_accumulate_on_shared_nodes():
    a = Tensor([2.0, -1.0], requires_grad=True)
    b = a + a  # db/da = 2
    c = b * b  # dc/db = 2b = 4a  ->  dc/da = 8a
    c.sum().backward()
    np.testing.assert_allclose(a.grad, 8 * np.array([2.0, -1.0]))
    np.testing.assert_allclose(b.grad, 2 * b.data)  # intermediates keep their gradient


def test_diamond_graph_sums_both_paths():
    # d = (3a) * (a + 1) = 3a^2 + 3a, so dd/da = 6a + 3; each branch alone would give 3(a+1) or 3a.
    a = Tensor([0.5, -2.0, 4.0], requires_grad=True)
    d = (a * 3.0) * (a + 1.0)
    d.backward(np.ones(3))
    np.testing.assert_allclose(a.grad, 6 * a.data + 3)


def test_node_reused_many_times():
    # b = a + a; c = b + b; e = c * b = 4a * 2a = 8a^2  ->  de/da = 16a.
    a = Tensor(np.array([[1.5, -3.0]]), requires_grad=True)
    b = a + a
    c = b + b
    e = (c * b).sum()
    e.backward()
    np.testing.assert_allclose(a.grad, 16 * a.data)
    np.testing.assert_allclose(c.grad, b.data)  # de/dc = b
    np.testing.assert_allclose(b.grad, c.data + 2 * b.data)  # de/db = c directly + 2 * (b via c)


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * 3.0).sum().backward()
    (w * 3.0).sum().backward()
    np.testing.assert_allclose(w.grad, [6.0, 6.0])
    w.zero_grad()
    assert w.grad is None


def test_leaf_gradients_are_independent_writable_arrays():
    # add passes one upstream array to both inputs, sum hands back a read-only broadcast
    # view: scaling one .grad in place (as clip_grad_norm does) must not touch anything else.
    a, b = Tensor([1.0, 1.0], requires_grad=True), Tensor([2.0, 2.0], requires_grad=True)
    s = a + b
    s.sum().backward()
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(s.grad, [1.0, 1.0])
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    x.sum().backward()
    x.grad *= 2  # would raise on a read-only view
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_backward_does_not_alias_the_callers_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    upstream = np.array([1.0, 1.0])
    (x * 1.0).backward(upstream)
    x.grad *= 5
    np.testing.assert_array_equal(upstream, [1.0, 1.0])
    y = Tensor([3.0], requires_grad=True)
    y.backward(Tensor([2.0]))  # a leaf as the root, with a Tensor as grad
    np.testing.assert_array_equal(y.grad, [2.0])


def test_zero_dim_tensors_keep_ndarray_data_and_grads():
    x, y = Tensor(3.0, requires_grad=True), Tensor(-2.0, requires_grad=True)
    z = x * y + x
    z.backward()
    assert type(z.data) is np.ndarray and z.shape == ()
    assert type(x.grad) is np.ndarray and x.grad.shape == ()
    assert x.grad == -1.0 and y.grad == 3.0  # dz/dx = y + 1, dz/dy = x


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
        y = (w @ w).relu().sum()
        with no_grad():
            pass
        z = w * 2  # still off after the nested block closes
    for t in (y, z):
        assert t.parents == () and not t.requires_grad and t._backward is None
    assert topological_order(y) == [y]
    with pytest.raises(GradientError, match="does not require grad"):
        y.backward()
    assert (w @ w).requires_grad  # switched back on afterwards


def test_constants_get_no_gradient_and_build_no_graph():
    x = Tensor(np.ones((2, 3)))
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    assert (x * 2).parents == ()  # nothing needs a gradient: no graph
    (x @ w).sum().backward()
    assert x.grad is None and w.grad is not None


def test_custom_op_from_outside():
    # y = 2x as a custom op: backward returns a list (accepted) and None for the constant.
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 5.0])
    y = Tensor.from_op(2 * x.data + c.data, (x, c), lambda g: [2 * g, None], "double_plus")
    assert y.op == "double_plus" and y.parents == (x, c)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * y.data)  # d(y^2)/dx = 2y * 2
    with no_grad():
        assert Tensor.from_op(x.data, (x,), lambda g: (g,), "identity").parents == ()
    assert Tensor.from_op(np.arange(3), (x,), lambda g: (g,), "ints").dtype == np.float64


def test_data_conversion_and_dtypes():
    assert Tensor([1, 2, 3]).dtype == np.float64
    assert Tensor(np.array([True, False])).dtype == np.float64
    assert Tensor(np.arange(3, dtype=np.int32)).dtype == np.float64
    x32 = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert x32.dtype == np.float32
    # Python numbers are weak, as in numpy: they do not promote float32 to float64.
    y = (2.0 * x32 + 1) / 3.0 - x32**2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x32.grad.dtype == np.float32
    assert (x32 * np.ones(3)).dtype == np.float64  # a float64 array does promote, as in numpy
    with pytest.raises(TypeError, match="real numbers"):
        Tensor(["a", "b"])
    with pytest.raises(TypeError, match="already a Tensor"):
        Tensor(Tensor([1.0]))


def test_data_is_copied_in_and_out_but_detach_shares():
    source = np.zeros(3)
    t = Tensor(source, requires_grad=True)
    source[0] = 7.0
    assert t.data[0] == 0.0
    t.numpy()[1] = 7.0
    assert t.data[1] == 0.0
    d = t.detach()
    assert np.shares_memory(d.data, t.data) and not d.requires_grad and d.parents == ()


def test_views_and_small_helpers():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, label="x")
    assert (t.shape, t.ndim, t.size, len(t), t.dtype) == ((2, 3), 2, 6, 2, np.float64)
    assert t.op == "" and t.label == "x"
    assert Tensor([[4.0]]).item() == 4.0
    with pytest.raises(ValueError, match=r"item: .* shape \(2, 3\)"):
        t.item()
    rows = list(t)  # iteration stops cleanly and each row is a graph node
    assert len(rows) == 2 and rows[1].op == "getitem"
    sum(rows).sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones((2, 3)))
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


def test_repr_is_deterministic_and_informative():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(t) == "Tensor([[1., 2.]], requires_grad=True)"
    assert repr(t * 2) == "Tensor([[2., 4.]], op='mul')"
    assert repr(Tensor([1 / 3])) == "Tensor([0.3333])"
    assert (
        repr(Tensor(np.ones(2, np.float32), label="w"))
        == "Tensor([1., 1.], dtype=float32, label='w')"
    )
    assert repr(Tensor(2.5)) == "Tensor(2.5)"
    assert "0x" not in repr(t)


def test_tensors_compare_by_identity():
    # Nodes are keyed by id(); value equality would break dict/set use in graph code.
    a, b = Tensor([1.0]), Tensor([1.0])
    assert a != b and len({a, b}) == 2


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
    b = Tensor([[2.0, 2.0, 2.0], [0.0, 5.0, 1.0]], requires_grad=True)
    b.max(axis=1).backward(np.array([3.0, 1.0]))
    np.testing.assert_allclose(b.grad, [[1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])


def test_getitem_repeated_indices_accumulate():
    a = Tensor(np.arange(4.0), requires_grad=True)
    a[np.array([1, 1, 3, 1])].backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(a.grad, [0.0, 7.0, 0.0, 3.0])
    b = Tensor(np.arange(4.0), requires_grad=True)
    b[Tensor([2.0, 2.0])].sum().backward()  # a Tensor of indices works too
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, 2.0, 0.0])


def test_ops_are_quiet_where_ieee_gives_inf():
    # Outside anomaly mode log(0), x/0, exp(1000), sqrt'(0) follow IEEE without numpy warnings.
    for f in (lambda t: t.log(), lambda t: 1.0 / t, lambda t: (t + 1000.0).exp(), lambda t: t**0.5):
        x = Tensor([0.0, 1.0], requires_grad=True)
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            y = f(x)
            y.backward(np.ones(2))
        assert np.isinf(x.grad[0])


# --- errors that teach --------------------------------------------------------------------


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ShapeError) as info:
        Tensor(np.ones((32, 64))) @ Tensor(np.ones((32, 10)))
    assert "matmul: shapes (32, 64) and (32, 10) don't align (64 != 32)" in str(info.value)
    with pytest.raises(
        ShapeError, match=r"matmul: shapes \(3,\) and \(4,\) don't align \(3 != 4\)"
    ):
        Tensor(np.ones(3)) @ np.ones(4)
    with pytest.raises(
        ShapeError, match=r"matmul: batch dimensions of \(2, 3, 4\) and \(5, 4, 2\)"
    ):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 2)))
    with pytest.raises(
        ShapeError, match=r"matmul: both operands need at least 1 dimension, got \(\) and \(3,\)"
    ):
        Tensor(2.0) @ Tensor(np.ones(3))


@pytest.mark.parametrize(
    "op, f",
    [
        ("add", lambda a, b: a + b),
        ("mul", lambda a, b: a * b),
        ("sub", lambda a, b: a - b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a**b),
    ],
)
def test_broadcast_error_names_op_and_shapes(op, f):
    with pytest.raises(ShapeError, match=rf"{op}: shapes \(3, 4\) and \(5,\) cannot broadcast"):
        f(Tensor(np.ones((3, 4))), Tensor(np.ones(5)))


def test_backward_on_non_scalar_explains_itself():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(
        GradientError,
        match=r"shape \(2, 3\) without grad.*out.sum\(\).*grad= an array of shape \(2, 3\)",
    ):
        y.backward()
    with pytest.raises(
        GradientError, match=r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"
    ):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))  # an explicit upstream gradient is fine


def test_backward_without_requires_grad_explains_itself():
    with pytest.raises(GradientError, match=r"does not require grad.*requires_grad=True"):
        (Tensor([1.0, 2.0]) * 3).sum().backward()


def test_shape_and_axis_errors():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(
        ShapeError,
        match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)",
    ):
        t.reshape(4, 2)
    with pytest.raises(
        ShapeError, match="sum: axis 2 is out of range for a tensor with 2 dimensions"
    ):
        t.sum(axis=2)
    with pytest.raises(ShapeError, match="max: axis -3 is out of range"):
        t.max(axis=-3)
    with pytest.raises(ShapeError, match=r"mean: axis \(1, -1\) names the same axis twice"):
        t.mean(axis=(1, -1))
    with pytest.raises(ShapeError, match="softmax: axis 0 given, but a 0-d tensor"):
        Tensor(1.0).softmax(axis=0)
    for axes in [(0, 0), (0,), (0, 5)]:
        with pytest.raises(ShapeError, match=r"transpose: axes .* are not a permutation of a 2-D"):
            t.transpose(*axes)
    with pytest.raises(
        IndexError, match=r"getitem: index 5 does not fit a tensor of shape \(2, 3\)"
    ):
        t[5]
    with pytest.raises(
        ShapeError, match=r"mean: cannot average over an empty axis .* shape \(0, 3\)"
    ):
        Tensor(np.ones((0, 3))).mean(axis=0)


def test_custom_op_with_wrong_gradient_is_named():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    bad_shape = Tensor.from_op(x.data.sum(axis=0), (x,), lambda g: (g,), "my_sum")
    with pytest.raises(
        GradientError,
        match=r"my_sum: backward produced a gradient of shape \(3,\) "
        r"for input 0 of shape \(2, 3\)",
    ):
        bad_shape.sum().backward()
    bare_array = Tensor.from_op(x.data * 2, (x,), lambda g: 2 * g, "my_double")
    with pytest.raises(
        GradientError,
        match=r"my_double: backward must return a tuple .* per input \(1\), "
        r"got shape \(2, 3\)",
    ):
        bare_array.sum().backward()
    not_array = Tensor.from_op(x.data * 2, (x,), lambda g: (2.0,), "my_float")
    with pytest.raises(GradientError, match="my_float: backward produced a gradient of a float"):
        not_array.sum().backward()


def test_bad_operand_type_is_named():
    with pytest.raises(TypeError, match="mul: expected a Tensor, an array or a number, got str"):
        Tensor([1.0]) * "two"
    with pytest.raises(TypeError, match="add: expected a Tensor"):
        Tensor([1.0]) + None
