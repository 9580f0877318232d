"""2-D test functions: analytic gradients vs central differences and the Tensor engine; minima."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import Tensor, numerical_grad, rel_error
from bpkit.surfaces import SURFACES, Surface, get_surface

NAMES = sorted(SURFACES)
UNIT = st.floats(0.0, 1.0)


def _point(surface, u, v):
    (x0, x1), (y0, y1) = surface.xlim, surface.ylim
    return x0 + u * (x1 - x0), y0 + v * (y1 - y0)


@pytest.mark.parametrize("name", NAMES)
@given(u=UNIT, v=UNIT)
def test_gradient_matches_central_differences(name, u, v):
    s = SURFACES[name]
    x, y = _point(s, u, v)
    numeric = numerical_grad(lambda w: s(w[0], w[1]), np.array([x, y]), eps=1e-6)
    analytic = np.array(s.grad(x, y))
    # Absolute error where the gradient is tiny: finite differences lose digits there.
    errors = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1.0)
    assert errors.max() < 1e-6, (name, x, y, analytic, numeric)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_the_tensor_engine(name):
    s = SURFACES[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = np.array(_point(s, *rng.uniform(size=2)))
        t = Tensor(w, requires_grad=True)
        loss = s(t[0], t[1])
        loss.backward()
        assert float(loss.data) == pytest.approx(s(w[0], w[1]), rel=1e-12)
        assert rel_error(t.grad, np.array(s.grad(w[0], w[1]))) < 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_meshgrids_in_arrays_out(name):
    s = SURFACES[name]
    gx, gy = np.meshgrid(np.linspace(*s.xlim, 7), np.linspace(*s.ylim, 5))
    z = s(gx, gy)
    dx, dy = s.grad(gx, gy)
    assert z.shape == dx.shape == dy.shape == (5, 7)
    assert np.isfinite(z).all()
    assert dx[2, 3] == pytest.approx(s.grad(gx[2, 3], gy[2, 3])[0])
    assert isinstance(s.grad(0.5, 0.25)[0], float)


@pytest.mark.parametrize("name", NAMES)
def test_minima_are_stationary_and_lowest(name):
    s = SURFACES[name]
    for x, y in s.minima:
        # Published minima are given to 4-6 digits, hence the loose tolerances.
        assert np.hypot(*s.grad(x, y)) < 2e-3, (x, y)
        assert s(x, y) == pytest.approx(s.min_value, abs=1e-4)
    gx, gy = np.meshgrid(np.linspace(*s.xlim, 401), np.linspace(*s.ylim, 401))
    assert s(gx, gy).min() >= s.min_value - 1e-9
    assert s(*s.start) > s.min_value + 0.1  # the start is not already at the bottom


def test_published_values():
    # Rosenbrock minimum (1, 1); Himmelblau's exact minimum (3, 2); six-hump camel's -1.0316.
    assert SURFACES["rosenbrock"](1.0, 1.0) == 0.0
    assert SURFACES["himmelblau"](3.0, 2.0) == 0.0
    assert SURFACES["six_hump_camel"](0.0898, -0.7126) == pytest.approx(-1.0316, abs=1e-4)
    assert SURFACES["rosenbrock"](-1.2, 1.0) == pytest.approx(24.2)  # 2.2^2 + 100 * 0.44^2


def test_saddle_point_has_curvatures_of_both_signs():
    s = SURFACES["saddle"]
    assert s.grad(0.0, 0.0) == (0.0, 0.0)
    eps = 1e-4
    hessian = np.array(
        [
            (np.array(s.grad(*(np.array([0.0, 0.0]) + eps * e))) - np.array(s.grad(*(-eps * e))))
            / (2 * eps)
            for e in np.eye(2)
        ]
    )
    eigenvalues = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    assert eigenvalues[0] == pytest.approx(-1.0, abs=1e-6) and eigenvalues[1] == pytest.approx(
        2.0, abs=1e-6
    )


def test_ill_conditioned_has_condition_number_20():
    s = SURFACES["ill_conditioned"]
    # Its Hessian is constant: diag(1, 20).
    assert s.grad(1.0, 0.0) == (1.0, 0.0) and s.grad(0.0, 1.0) == (0.0, 20.0)


def test_value_and_grad_and_errors():
    s = get_surface("rosenbrock")
    value, grad = s.value_and_grad([1.0, 1.0])
    assert value == 0.0 and grad.shape == (2,) and not grad.any()
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        s.value_and_grad([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="unknown surface 'banana'.*rosenbrock"):
        get_surface("banana")
    with pytest.raises(TypeError, match="rosenbrock.grad"):
        s.grad("1", 2.0)
    assert get_surface(s) is s


def test_repr_is_deterministic():
    assert (
        repr(SURFACES["saddle"])
        == r"Surface('saddle': f(x, y) = x^2 + \frac{y^4}{4} - \frac{y^2}{2})"
    )
    assert all(isinstance(s, Surface) for s in SURFACES.values())
