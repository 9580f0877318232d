"""Gradient checking: the checker itself must catch wrong gradients."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpkit import Tensor, Value, gradcheck, numerical_grad, rel_error
from bpkit.gradcheck import GradcheckReport, compare

# The Tensor engine is written in parallel with this file: its checks run once it can backprop.
tensor_ready = pytest.mark.skipif(
    not hasattr(Tensor, "backward"), reason="bpkit.Tensor has no backward yet"
)


# --- numerical_grad -----------------------------------------------------------------------


def test_central_difference_error_shrinks_as_eps_squared():
    # Taylor: (f(x+e) - f(x-e)) / 2e = f'(x) + f'''(x) e^2 / 6 + O(e^4); for sin, f''' = -cos.
    exact = math.cos(1.0)
    err_big = numerical_grad(math.sin, 1.0, eps=1e-2) - exact
    err_small = numerical_grad(math.sin, 1.0, eps=1e-3) - exact
    assert math.isclose(err_big, -math.cos(1.0) * 1e-4 / 6, rel_tol=1e-2)
    assert 95 < err_big / err_small < 105  # eps / 10 -> error / 100


def test_forward_difference_would_only_shrink_linearly():
    # Contrast that makes the eps^2 test meaningful: a one-sided difference is O(eps).
    def forward(f, x, eps):
        return (f(x + eps) - f(x)) / eps

    exact = math.cos(1.0)
    ratio = (forward(math.sin, 1.0, 1e-2) - exact) / (forward(math.sin, 1.0, 1e-3) - exact)
    assert 9 < ratio < 11
    central = abs(numerical_grad(math.sin, 1.0, eps=1e-3) - exact)
    assert central < abs(forward(math.sin, 1.0, 1e-3) - exact) / 100


def test_numerical_grad_known_functions():
    assert math.isclose(numerical_grad(math.exp, 0.5), math.exp(0.5), rel_tol=1e-9)
    assert math.isclose(numerical_grad(lambda x: x**3, 2.0), 12.0, rel_tol=1e-9)
    assert numerical_grad(lambda x: 7.0, 3.0) == 0.0
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(numerical_grad(lambda a: np.sum(np.sin(a)), x), np.cos(x), rtol=1e-9)
    # a function of a matrix: f(W) = u^T W v, df/dW = u v^T (non-square so a transpose can't hide)
    u, v = np.array([1.0, -2.0]), np.array([0.5, 3.0, -1.0])
    W = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(numerical_grad(lambda M: u @ M @ v, W), np.outer(u, v), rtol=1e-8)


def test_numerical_grad_on_arrays_leaves_input_untouched():
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    before = x.copy()
    grad = numerical_grad(lambda a: np.sum(a**2), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, before)
    assert grad.dtype == np.float64


# --- rel_error ----------------------------------------------------------------------------

same_shape_pairs = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
        hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
    )
)


def test_rel_error_examples():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert math.isclose(rel_error([1.0], [3.0]), 0.5)  # |1-3| / (1+3)
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([1.0], [-1.0]) == 1.0  # opposite signs: as wrong as it gets
    assert rel_error([], []) == 0.0
    assert math.isclose(rel_error([1e-12], [0.0]), 1e-12 / 1e-8)  # the floor: absolute near 0
    with pytest.raises(ValueError, match=r"rel_error: shapes \(2,\) and \(3,\) differ"):
        rel_error(np.ones(2), np.ones(3))


@given(same_shape_pairs)
def test_rel_error_properties(pair):
    a, b = pair
    e = rel_error(a, b)
    assert 0.0 <= e <= 1.0  # |a-b| <= |a|+|b|
    assert e == rel_error(b, a)  # symmetric
    assert rel_error(a, a) == 0.0
    if np.all(np.abs(a) + np.abs(b) >= 1e-8):  # above the floor it is scale-free
        assert rel_error(1e3 * a, 1e3 * b) == pytest.approx(e, rel=1e-12, abs=1e-300)


# --- gradcheck on Values ------------------------------------------------------------------


def sin_right(x):
    """A custom op built from the Value constructor: z = sin x, dz/dx = cos x."""
    return Value(math.sin(x.data), (x,), (math.cos(x.data),), "sin")


def sin_off(x):
    """The same op with a backward that is 1% off: what gradcheck is for."""
    return Value(math.sin(x.data), (x,), (1.01 * math.cos(x.data),), "sin")


def test_gradcheck_passes_correct_value_function():
    report = gradcheck(
        lambda a, b: (a * b).tanh() + a.exp() + sin_right(b), Value(0.3), Value(-0.7)
    )
    assert isinstance(report, GradcheckReport)
    assert report.passed and bool(report) and report.max_error < 1e-8
    assert "PASS" in str(report)


def test_gradcheck_fails_a_value_op_with_a_wrong_backward():
    report = gradcheck(lambda a, b: a * b + sin_off(b), Value(0.3), Value(-0.7))
    assert not report.passed and not report
    assert report.input_index == 1 and report.element_index == ()
    # analytic = a + 1.01 cos b; numeric = a + cos b
    assert math.isclose(report.analytic, 0.3 + 1.01 * math.cos(-0.7), rel_tol=1e-12)
    assert math.isclose(report.numeric, 0.3 + math.cos(-0.7), rel_tol=1e-8)
    expected = abs(report.analytic - report.numeric) / (abs(report.analytic) + abs(report.numeric))
    assert math.isclose(report.max_error, expected, rel_tol=1e-6)
    text = str(report)
    assert text.startswith("gradcheck FAIL") and "input 1" in text and "tolerance 1e-06" in text


def test_report_prints_negative_zero_as_zero():
    # relu's backward multiplies the upstream -1 by a False mask: the gradient is -0.0.
    report = gradcheck(lambda a: (a.relu() * -1.0).sum(), Tensor(np.array([-1.0])))
    assert math.copysign(1.0, report.analytic) == -1.0
    assert "analytic 0," in str(report) and "analytic -0" not in str(report)


def test_gradcheck_fails_a_nan_gradient():
    # NaN compares False with everything; a careless max() would let it pass.
    def f(a, b):
        return a + Value(0.0, (b,), (math.nan,), "bad")

    report = gradcheck(f, Value(1.0), Value(2.0))
    assert not report.passed and report.input_index == 1 and math.isnan(report.analytic)


def test_gradcheck_tolerance_is_respected():
    assert not gradcheck(sin_off, Value(0.4)).passed
    assert gradcheck(sin_off, Value(0.4), tol=0.01).passed  # 1% off is within a 1% tolerance


def test_gradcheck_leaves_the_callers_inputs_alone():
    a = Value(0.5)
    gradcheck(lambda x: x * x, a)
    assert a.data == 0.5 and a.grad == 0.0


def test_gradcheck_rejects_non_differentiable_inputs():
    with pytest.raises(TypeError, match="inputs must be Value or Tensor objects, got float"):
        gradcheck(lambda x: x, 1.0)
    with pytest.raises(TypeError, match="give at least one input"):
        gradcheck(lambda: Value(1.0))
    with pytest.raises(TypeError, match="f must return a Value or a Tensor, got float"):
        gradcheck(lambda x: x.data, Value(1.0))


# --- gradcheck on Tensors -----------------------------------------------------------------


@tensor_ready
def test_gradcheck_fails_a_wrong_tensor_gradient_and_says_where():
    def wrong_square(t):
        # forward t^2; backward right (2t) except an extra 1 on element (0, 1)
        wrong = 2 * t.data + [[0.0, 1.0, 0.0]]
        return Tensor.from_op(t.data**2, (t,), lambda g: (g * wrong,), "sq")

    x = Tensor(np.array([[1.0, -2.0, 0.5]]), requires_grad=True)
    report = gradcheck(lambda t: wrong_square(t).sum(), x)
    assert not report.passed and not report
    assert report.input_index == 0 and report.element_index == (0, 1)
    assert math.isclose(report.analytic, -3.0) and math.isclose(report.numeric, -4.0, rel_tol=1e-6)
    assert "FAIL" in str(report) and "element (0, 1)" in str(report)


@tensor_ready
def test_gradcheck_passes_a_correct_tensor_function():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    b = Tensor(rng.standard_normal(5), requires_grad=True)
    report = gradcheck(lambda x, W, b: (x @ W + b).tanh(), x, W, b)  # non-scalar output
    assert report.passed, report
    assert report.max_error < 1e-7


@tensor_ready
def test_gradcheck_catches_a_transposed_tensor_gradient():
    rng = np.random.default_rng(1)
    W = Tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def transposed(t):
        # Right forward (sum of W * C); backward returns C.T instead of C.
        C = np.arange(9.0).reshape(3, 3)
        return Tensor.from_op(np.sum(t.data * C), (t,), lambda g: (g * C.T,), "weighted_sum")

    report = gradcheck(transposed, W)
    assert not report.passed and report.element_index != (0, 0)


@tensor_ready
def test_gradcheck_scalar_tensor_output_report_fields():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    report = gradcheck(lambda t: (t * t).sum(), x)  # d/dt = 2t, worst element reported
    assert report.passed and report.input_index == 0 and len(report.element_index) == 1
    assert report.analytic == 2 * x.data[report.element_index]
    assert x.grad is None  # the caller's tensor was not used for the backward pass


# --- compare: the notebook face -----------------------------------------------------------


def test_compare_prints_a_verdict(capsys):
    assert compare("dW", np.ones(3), np.ones(3) + 1e-12)
    out = capsys.readouterr().out
    assert out.startswith("dW") and "exact: False" in out and "close: True" in out
    assert compare("db", np.ones(2), np.ones(2))
    assert "exact: True" in capsys.readouterr().out
    assert not compare("dW", np.ones(3), np.zeros(3))
    assert "close: False" in capsys.readouterr().out
    assert not compare("dx", np.ones(3), np.ones((3, 1)))
    assert "shapes differ: (3,) vs (3, 1)" in capsys.readouterr().out
