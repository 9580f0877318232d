"""bpkit.check, derivative and scalar-engine checkers: pass and diagnose.

Covers derivative, numerical_gradient, jacobian, dual_mul, dual_number,
value_mul_backward, value_tanh_backward and topological_sort.
"""

import math
import time
from collections import deque

import numpy as np
import pytest

from bpkit import Value, check
from bpkit.check import graphs
from bpkit.graph import topological_order
from tests.checkers import assert_diagnosis, assert_passes


# --- derivative --------------------------------------------------------------------------------
def derivative_ok(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def _forward_own_step(f, x, h=1e-5):
    # A one-sided difference with a step the checker does not know about: only the
    # way its error scales with h gives it away.
    step = 3 * h
    return (f(x + step) - f(x)) / step


def _central_own_h(f, x, h=1e-5):
    h = 1e-3  # "a better step": the caller's h is thrown away
    return (f(x + h) - f(x - h)) / (2 * h)


DERIVATIVE_BUGS = [
    ("forward difference", lambda f, x, h=1e-5: (f(x + h) - f(x)) / h, ["forward difference"]),
    ("backward difference", lambda f, x, h=1e-5: (f(x) - f(x - h)) / h, ["backward difference"]),
    (
        "divided by h",
        lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h,
        ["twice the derivative", "2 * h"],
    ),
    ("sign", lambda f, x, h=1e-5: (f(x - h) - f(x + h)) / (2 * h), ["sign is flipped"]),
    ("forward, own step", _forward_own_step, ["first-order"]),
    (
        "/ 2 * h",
        lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / 2 * h,
        ["`/ 2 * h` multiplies by h", "Write `/ (2 * h)`"],
    ),
    (
        "hard-coded step",
        lambda f, x, h=1e-5: (f(x + 1e-5) - f(x - 1e-5)) / (2 * 1e-5),
        ["ignores its h argument", "h = 0.1 and h = 0.01 both gave"],
    ),
    ("h overwritten", _central_own_h, ["ignores its h argument"]),
    ("no default h", lambda f, x, h: derivative_ok(f, x, h), ["could not be called", "h=1e-5"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in DERIVATIVE_BUGS], ids=[n for n, _, _ in DERIVATIVE_BUGS]
)
def test_derivative_names_each_bug(fn, expected):
    assert_diagnosis(check.derivative, fn, expected)


def test_derivative_accepts_a_right_answer(capsys):
    assert_passes(check.derivative, derivative_ok, capsys)


def test_derivative_accepts_a_central_difference_with_its_own_step(capsys):
    # (f(x + h/2) - f(x - h/2)) / h is a central difference too: it must pass.
    assert_passes(check.derivative, lambda f, x, h=1e-5: (f(x + h / 2) - f(x - h / 2)) / h, capsys)


def test_derivative_accepts_a_higher_order_stencil(capsys):
    # Its error, O(h**4), changes with h far less than a central difference's: still it uses h.
    def five_point(f, x, h=1e-5):
        return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)

    assert_passes(check.derivative, five_point, capsys)


def test_derivative_success_line_is_unchanged(capsys):
    # solutions/01 stores this line: the h probe is not counted as a case.
    check.derivative(derivative_ok)
    assert capsys.readouterr().out == (
        "✓ derivative: correct on 4 cases (within 1e-5 of the exact derivative)\n"
    )


# --- numerical_gradient ----------------------------------------------------------------------
def gradient_ok(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        saved = x[i]
        x[i] = saved + h
        plus = f(x)
        x[i] = saved - h
        minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
    return grad


def _gradient_not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        grad[i] = (plus - f(x)) / (2 * h)
    return grad


def _gradient_forward(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[i] += h
        grad[i] = (f(bumped) - f(x)) / h
    return grad


def _gradient_flat(f, x, h=1e-5):
    return gradient_ok(f, x.copy(), h).ravel()


def _gradient_rows(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        grad[i] = (f(plus) - f(minus)) / (2 * h)
    return grad


def test_numerical_gradient_accepts_a_right_answer(capsys):
    assert_passes(check.numerical_gradient, gradient_ok, capsys)


def test_numerical_gradient_accepts_restoring_by_subtraction(capsys):
    # x[i] += h ... x[i] -= h leaves rounding noise of ~1e-16: that is not a mutation.
    def restore_by_arithmetic(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += h
            plus = f(x)
            x[i] -= 2 * h
            minus = f(x)
            x[i] += h
            grad[i] = (plus - minus) / (2 * h)
        return grad

    assert_passes(check.numerical_gradient, restore_by_arithmetic, capsys)


NUMGRAD_BUGS = [
    (
        "x not restored",
        _gradient_not_restored,
        ["changed its input `x` in place", "put the original value back"],
    ),
    ("forward difference", _gradient_forward, ["forward difference"]),
    ("flattened", _gradient_flat, ["right numbers but shape (12,)", "x's shape (3, 4)"]),
    ("whole rows", _gradient_rows, ["perturbed a whole row"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in NUMGRAD_BUGS], ids=[n for n, _, _ in NUMGRAD_BUGS]
)
def test_numerical_gradient_names_each_bug(fn, expected):
    assert_diagnosis(check.numerical_gradient, fn, expected)


# --- jacobian -------------------------------------------------------------------------------------
def jacobian_ok(f, x, h=1e-5):
    rows = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        rows.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(rows).T


JACOBIAN_BUGS = [
    (
        "transposed",
        lambda f, x, h=1e-5: jacobian_ok(f, x, h).T,
        ["J looks transposed", "shape (3, 4)"],
    ),
    (
        "gradient of the sum",
        lambda f, x, h=1e-5: jacobian_ok(f, x, h).sum(axis=0),
        ["gradient of sum(f(x))"],
    ),
    (
        "forward difference",
        lambda f, x, h=1e-5: np.stack([(f(x + h * e) - f(x)) / h for e in np.eye(x.size)], axis=1),
        ["forward difference"],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in JACOBIAN_BUGS], ids=[n for n, _, _ in JACOBIAN_BUGS]
)
def test_jacobian_names_each_bug(fn, expected):
    assert_diagnosis(check.jacobian, fn, expected)


def test_jacobian_accepts_a_right_answer(capsys):
    assert_passes(check.jacobian, jacobian_ok, capsys)


# --- dual numbers ---------------------------------------------------------------------------------
DUAL_MUL_BUGS = [
    ("tangent da*db", lambda a, da, b, db: (a * b, da * db), ["e**2 term"]),
    ("a term missing", lambda a, da, b, db: (a * b, a * db), ["two terms", "a * db only"]),
    ("swapped", lambda a, da, b, db: (a * db + da * b, a * b), ["swapped"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in DUAL_MUL_BUGS], ids=[n for n, _, _ in DUAL_MUL_BUGS]
)
def test_dual_mul_names_each_bug(fn, expected):
    assert_diagnosis(check.dual_mul, fn, expected)


def test_dual_mul_accepts_a_right_answer(capsys):
    assert_passes(check.dual_mul, lambda a, da, b, db: (a * b, a * db + b * da), capsys)


def make_dual(mul_tangent=None, sin_tangent=None, floats=True):
    class Dual:
        def __init__(self, value, tangent):
            self.value, self.tangent = value, tangent

        def _lift(self, other):
            if isinstance(other, Dual) or not floats:
                return other
            return Dual(other, 0.0)

        def __add__(self, other):
            other = self._lift(other)
            return Dual(self.value + other.value, self.tangent + other.tangent)

        __radd__ = __add__

        def __mul__(self, other):
            other = self._lift(other)
            rule = mul_tangent or (lambda a, da, b, db: a * db + da * b)
            return Dual(
                self.value * other.value, rule(self.value, self.tangent, other.value, other.tangent)
            )

        __rmul__ = __mul__

        def sin(self):
            rule = sin_tangent or (lambda a, da: math.cos(a) * da)
            return Dual(math.sin(self.value), rule(self.value, self.tangent))

        def exp(self):
            return Dual(math.exp(self.value), math.exp(self.value) * self.tangent)

    return Dual


def test_dual_number_accepts_a_right_class(capsys):
    assert_passes(check.dual_number, make_dual(), capsys)


@pytest.mark.parametrize(
    "cls, expected",
    [
        (make_dual(mul_tangent=lambda a, da, b, db: da * db), ["e**2 term"]),
        (make_dual(sin_tangent=lambda a, da: math.cos(a)), ["chain rule's factor"]),
        (make_dual(floats=False), ["raised AttributeError", "wrap them", "Dual(other, 0.0)"]),
    ],
    ids=["product rule", "sin chain rule", "floats not handled"],
)
def test_dual_number_names_each_bug(cls, expected):
    assert_diagnosis(check.dual_number, cls, expected)


# --- Value: local derivatives ------------------------------------------------------------------
VALUE_MUL_BUGS = [
    ("swapped", lambda a, b, dout: (a * dout, b * dout), ["swapped", "OTHER factor"]),
    ("forgot dout", lambda a, b, dout: (b, a), ["forgot the upstream gradient dout"]),
    ("sign", lambda a, b, dout: (-b * dout, -a * dout), ["wrong sign"]),
    ("rule for +", lambda a, b, dout: (dout, dout), ["rule for +"]),
    ("a Value", lambda a, b, dout: (Value(b * dout), Value(a * dout)), ["bpkit Value", ".data"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in VALUE_MUL_BUGS], ids=[n for n, _, _ in VALUE_MUL_BUGS]
)
def test_value_mul_backward_names_each_bug(fn, expected):
    assert_diagnosis(check.value_mul_backward, fn, expected)


def test_value_mul_backward_accepts_a_right_answer(capsys):
    assert_passes(check.value_mul_backward, lambda a, b, dout: (dout * b, dout * a), capsys)


VALUE_TANH_BUGS = [
    (
        "pre-activation",
        lambda x, dout: (1 - x**2) * dout,
        ["used x where tanh(x) belongs", "passes the pre-activation x", "compute … first"],
    ),
    ("forgot dout", lambda x, dout: 1 - math.tanh(x) ** 2, ["forgot the upstream gradient"]),
    ("forgot square", lambda x, dout: (1 - math.tanh(x)) * dout, ["forgot the square"]),
    (
        "squared the difference",
        lambda x, dout: (1 - math.tanh(x)) ** 2 * dout,
        ["squared the wrong thing", "1 - tanh(x)**2"],
    ),
    ("returned t", lambda x, dout: math.tanh(x), ["forward value"]),
    ("None", lambda x, dout: None, ["dx is None", "return"]),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in VALUE_TANH_BUGS], ids=[n for n, _, _ in VALUE_TANH_BUGS]
)
def test_value_tanh_backward_names_each_bug(fn, expected):
    assert_diagnosis(check.value_tanh_backward, fn, expected)


def test_value_tanh_backward_accepts_a_right_answer(capsys):
    # d tanh / dx = 1 / cosh(x)**2
    assert_passes(check.value_tanh_backward, lambda x, dout: dout / math.cosh(x) ** 2, capsys)


# --- topological sort -------------------------------------------------------------------------
def topo_ok(root):
    # Kahn's algorithm on the reversed edges: a different method from the checker's DFS.
    nodes, stack, seen = [], [root], {id(root)}
    while stack:
        node = stack.pop()
        nodes.append(node)
        for p in node.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    waiting = {id(n): len({id(p) for p in n.parents}) for n in nodes}
    children = {id(n): [] for n in nodes}
    for n in nodes:
        for pid in {id(p) for p in n.parents}:
            children[pid].append(n)
    ready = [n for n in nodes if waiting[id(n)] == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in children[id(node)]:
            waiting[id(child)] -= 1
            if waiting[id(child)] == 0:
                ready.append(child)
    return order


def _topo_duplicates(root):
    order = []

    def visit(node):
        for p in node._parents:
            visit(p)
        order.append(node)

    visit(root)
    return order


def _topo_by_distance(root):
    # Breadth-first from the root, reversed: every node after the nodes nearer the root.
    order, seen, queue = [], {id(root)}, deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        for p in node._parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    return order[::-1]


def _topo_recursive(root):
    # Right on shallow graphs; the chain of 10,000 nodes exceeds Python's recursion limit.
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for p in node._parents:
                visit(p)
            order.append(node)

    visit(root)
    return order


def _topo_no_leaves(root):
    return [n for n in topo_ok(root) if n._parents] or [root]


TOPO_BUGS = [
    ("reversed", lambda root: topo_ok(root)[::-1], ["order is reversed", "root last"]),
    ("duplicates", _topo_duplicates, ["appears 4 times", "visited"]),
    ("missing leaves", _topo_no_leaves, ["missing", "leaves"]),
    ("missing root", lambda root: topo_ok(root)[:-1], ["the root itself"]),
    ("numbers", lambda root: [n.data for n in topo_ok(root)], ["item 0", "not their .data"]),
    ("a tuple", lambda root: tuple(topo_ok(root)), ["returned a tuple; return a list"]),
    ("a generator", lambda root: (n for n in topo_ok(root)), ["returned a generator", "list(...)"]),
    (
        "by distance from the root",
        _topo_by_distance,
        [
            "case 5: paths of different lengths",
            "'c' comes before its parent 'a'",
            "ordering by distance from the output is not a topological order",
            "1 step from root along its shortest path, but 2 steps through 'c'",
        ],
    ),
    (
        "recursive",
        _topo_recursive,
        [
            "case 6",
            "raised RecursionError",
            "in visit(), line",
            "tanh nodes: t1 = tanh(x)",  # 10,000 of them at the default recursion limit
            "sys.getrecursionlimit() = ",
            "keep your own stack in a list",
        ],
    ),
]


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in TOPO_BUGS], ids=[n for n, _, _ in TOPO_BUGS]
)
def test_topological_sort_names_each_bug(fn, expected):
    assert_diagnosis(check.topological_sort, fn, expected)


def test_topological_sort_accepts_a_right_answer(capsys):
    assert_passes(check.topological_sort, topo_ok, capsys)


def test_topological_sort_stays_fast_with_its_deep_chain():
    # The 10,000-node chain must not make the check slow: CPU time, robust to a loaded machine.
    start = time.process_time()
    check.topological_sort(topo_ok)
    assert time.process_time() - start < 1.0


def test_topological_sort_names_a_child_before_its_parent():
    def swap_two(root):
        order = topo_ok(root)
        if len(order) > 3:
            order[1], order[-2] = order[-2], order[1]
        return order

    assert_diagnosis(check.topological_sort, swap_two, ["comes before its parent"])


def test_first_violation_finds_none_in_a_valid_order_of_every_checker_graph():
    for _, root in graphs._graphs():
        order = topological_order(root)
        assert order[-1] is root
        assert len({id(n) for n in order}) == len(order)
        assert graphs._first_violation(order) is None


def test_dual_number_refuses_something_that_is_not_a_class():
    def make_dual(value, tangent):  # a function, not the class the exercise asks for
        return (value, tangent)

    assert_diagnosis(check.dual_number, make_dual, ["pass your class itself", "got a function"])
