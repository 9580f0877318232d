"""Gradient checking: the checker itself must catch wrong gradients."""

import math

import numpy as np
import pytest

from bpkit import Tensor, Value, gradcheck, numerical_grad, rel_error
from bpkit.gradcheck import compare


def test_central_difference_error_shrinks_as_eps_squared():
    exact = math.cos(1.0)
    err_big = abs(numerical_grad(math.sin, 1.0, eps=1e-2) - exact)
    err_small = abs(numerical_grad(math.sin, 1.0, eps=1e-3) - exact)
    # Truncation error of the central difference is f'''(x) eps^2 / 6.
    assert math.isclose(err_big, math.cos(1.0) * 1e-4 / 6, rel_tol=1e-2)
    assert 90 < err_big / err_small < 110


def test_numerical_grad_on_arrays_leaves_input_untouched():
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    before = x.copy()
    grad = numerical_grad(lambda a: np.sum(a**2), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert math.isclose(rel_error([1.0], [3.0]), 0.5)
    assert rel_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.ones(2), np.ones(3))


def test_gradcheck_fails_a_wrong_gradient_and_says_where():
    def wrong_square(t):
        # forward t^2; backward right (2t) except an extra 1 on element (0, 1)
        return Tensor.from_op(t.data**2, (t,), lambda g: (g * (2 * t.data + [[0.0, 1.0, 0.0]]),), "sq")

    x = Tensor(np.array([[1.0, -2.0, 0.5]]), requires_grad=True)
    report = gradcheck(lambda t: wrong_square(t).sum(), x)
    assert not report.passed and not report
    assert report.input_index == 0 and report.element_index == (0, 1)
    assert math.isclose(report.analytic, -3.0) and math.isclose(report.numeric, -4.0, rel_tol=1e-6)
    assert "FAIL" in str(report) and "element (0, 1)" in str(report)


def test_gradcheck_passes_correct_value_function():
    report = gradcheck(lambda a, b: (a * b).tanh() + a.exp(), Value(0.3), Value(-0.7))
    assert report.passed and "PASS" in str(report)


def test_gradcheck_rejects_non_differentiable_inputs():
    with pytest.raises(TypeError, match="inputs must be Value or Tensor"):
        gradcheck(lambda x: x, 1.0)


def test_compare_prints_a_verdict(capsys):
    assert compare("dW", np.ones(3), np.ones(3) + 1e-12)
    assert "close: True" in capsys.readouterr().out
    assert not compare("dW", np.ones(3), np.zeros(3))
