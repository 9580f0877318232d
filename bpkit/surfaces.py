"""Two-dimensional test functions for optimizer pictures, each with its gradient derived by hand.

    from bpkit.surfaces import rosenbrock
    rosenbrock(x, y)          # works on floats, ndarrays (meshgrids) and Tensors
    rosenbrock.grad(x, y)     # (df/dx, df/dy), analytic, on floats and ndarrays

``SURFACES`` maps each name to its Surface: ``rosenbrock`` (a curved valley),
``ill_conditioned`` (an elongated bowl), ``saddle`` (a saddle point between
two minima), ``himmelblau`` (four minima) and ``six_hump_camel`` (six local
minima, two global). Each also gives a plotting box (``xlim``, ``ylim``),
a starting point, its minima and its minimum value, so notebooks and
widgets need no magic numbers. The formulas use only ``+ - * **``, so the
same code runs on bpkit Tensors and the tests compare ``grad`` with both
finite differences and the Tensor engine.
"""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SURFACES",
    "Surface",
    "get_surface",
    "himmelblau",
    "ill_conditioned",
    "rosenbrock",
    "saddle",
    "six_hump_camel",
]


@dataclass(frozen=True, repr=False)
class Surface:
    """A function f(x, y) with its gradient, a box to plot it in, a start and its minima."""

    name: str
    formula: str  # LaTeX, for titles
    f: object  # f(x, y) -> same shape as x and y
    gradient: object  # gradient(x, y) -> (df/dx, df/dy)
    xlim: tuple
    ylim: tuple
    start: tuple
    minima: tuple  # ((x, y), ...): every global minimum
    min_value: float
    log_levels: bool = False  # contours spaced geometrically show the valley floor

    def __call__(self, x, y):
        """f(x, y), elementwise; x and y may be floats, ndarrays (meshgrids) or Tensors."""
        return self.f(x, y)

    def grad(self, x, y):
        """(df/dx, df/dy) at (x, y), elementwise: floats give floats, arrays give arrays."""
        gx, gy = self.gradient(_number_or_array(x, self.name), _number_or_array(y, self.name))
        return gx, gy

    def value_and_grad(self, w):
        """f and its gradient at a point w = (x, y): returns (float, ndarray of shape (2,))."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (2,):
            raise ValueError(f"{self.name}.value_and_grad: w must have shape (2,), got {w.shape}")
        gx, gy = self.gradient(w[0], w[1])
        return float(self.f(w[0], w[1])), np.array([gx, gy], dtype=np.float64)

    def __repr__(self):
        return f"Surface({self.name!r}: f(x, y) = {self.formula})"


def _number_or_array(x, name):
    if isinstance(x, (bool, str, bytes)):
        raise TypeError(f"{name}.grad: x and y must be numbers or arrays, got {type(x).__name__}")
    if isinstance(x, (int, float, np.floating, np.integer)):
        return float(x)
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}.grad: x and y must be numbers or arrays, got {type(x).__name__}"
        ) from None


# --- Rosenbrock (1960): a banana-shaped valley; the minimum is easy to find, hard to reach ---


def _rosenbrock(x, y):
    """f = (1 - x)^2 + 100 (y - x^2)^2."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosenbrock_grad(x, y):
    """df/dx = -2 (1 - x) - 400 x (y - x^2), df/dy = 200 (y - x^2)."""
    return -2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)


rosenbrock = Surface(
    "rosenbrock",
    r"(1 - x)^2 + 100\,(y - x^2)^2",
    _rosenbrock,
    _rosenbrock_grad,
    xlim=(-2.0, 2.0),
    ylim=(-1.0, 3.0),
    start=(
        -1.2,
        1.0,
    ),  # the classic starting point (Rosenbrock 1960; Moré, Garbow & Hillstrom 1981)
    minima=((1.0, 1.0),),
    min_value=0.0,
    log_levels=True,
)


# --- an ill-conditioned quadratic: curvature 1 along x, 20 along y -------------------------

_KAPPA = 20.0  # condition number: plain gradient descent needs lr < 2/20 and then crawls along x


def _ill_conditioned(x, y):
    """f = (x^2 + 20 y^2) / 2."""
    return 0.5 * (x**2 + _KAPPA * y**2)


def _ill_conditioned_grad(x, y):
    """df/dx = x, df/dy = 20 y."""
    return 1.0 * x, _KAPPA * y


ill_conditioned = Surface(
    "ill_conditioned",
    r"\frac{1}{2}(x^2 + 20\,y^2)",
    _ill_conditioned,
    _ill_conditioned_grad,
    xlim=(-5.0, 5.0),
    ylim=(-2.0, 2.0),
    start=(-4.5, 1.5),
    minima=((0.0, 0.0),),
    min_value=0.0,
)


# --- a saddle between two minima: f = x^2 + y^4/4 - y^2/2 ----------------------------------
# (0, 0) is a saddle (curvature 2 along x, -1 along y); the minima are (0, +-1) with f = -1/4.
# Unlike x^2 - y^2 it is bounded below, so optimizers that escape the saddle settle somewhere.


def _saddle(x, y):
    """f = x^2 + y^4 / 4 - y^2 / 2."""
    return x**2 + 0.25 * y**4 - 0.5 * y**2


def _saddle_grad(x, y):
    """df/dx = 2 x, df/dy = y^3 - y."""
    return 2 * x, y**3 - y


saddle = Surface(
    "saddle",
    r"x^2 + \frac{y^4}{4} - \frac{y^2}{2}",
    _saddle,
    _saddle_grad,
    xlim=(-2.0, 2.0),
    ylim=(-1.6, 1.6),
    start=(-1.8, 0.01),  # almost on the saddle's ridge: the path stalls near (0, 0) before escaping
    minima=((0.0, 1.0), (0.0, -1.0)),
    min_value=-0.25,
)


# --- Himmelblau (1972): four global minima with f = 0 -----------------------------------------


def _himmelblau(x, y):
    """f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2."""
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(x, y):
    """df/dx = 4 x (x^2 + y - 11) + 2 (x + y^2 - 7), df/dy = 2 (x^2 + y - 11) + 4 y (x + y^2 - 7)."""
    a, b = x**2 + y - 11, x + y**2 - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


himmelblau = Surface(
    "himmelblau",
    r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    _himmelblau,
    _himmelblau_grad,
    xlim=(-5.0, 5.0),
    ylim=(-5.0, 5.0),
    start=(0.0, 0.0),
    # Published locations (Himmelblau 1972); only (3, 2) is exact.
    minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
    min_value=0.0,
    log_levels=True,
)


# --- six-hump camel (Dixon & Szego 1978): six local minima, two of them global ---------------


def _six_hump_camel(x, y):
    """f = (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2."""
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _six_hump_camel_grad(x, y):
    """df/dx = 8 x - 8.4 x^3 + 2 x^5 + y, df/dy = x - 8 y + 16 y^3."""
    return 8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3


six_hump_camel = Surface(
    "six_hump_camel",
    r"(4 - 2.1x^2 + \frac{x^4}{3})x^2 + xy + (-4 + 4y^2)y^2",
    _six_hump_camel,
    _six_hump_camel_grad,
    xlim=(-2.0, 2.0),
    ylim=(-1.2, 1.2),
    start=(-1.5, 1.0),
    minima=((0.0898, -0.7126), (-0.0898, 0.7126)),  # f = -1.0316 (Dixon & Szego 1978)
    min_value=-1.0316284534898774,
)


SURFACES = {s.name: s for s in (rosenbrock, ill_conditioned, saddle, himmelblau, six_hump_camel)}


def get_surface(surface):
    """The Surface called ``surface`` (a name from SURFACES), or ``surface`` itself if it is one."""
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose one of {sorted(SURFACES)}")
    return SURFACES[surface]
