"""Value engine: every op against the math module and central differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import AnomalyError, Value, detect_anomaly, gradcheck
from tests.strategies import floats

# One table of ops: name -> (function of Values, input floats, expected forward value).
# Expected values come from the math module / plain float arithmetic, never from Value.
# Inputs keep away from kinks (relu at 0) and domain edges (log at 0) where finite
# differences are meaningless.
OPS = {
    "add": (lambda a, b: a + b, [0.7, -1.3], 0.7 + -1.3),
    "sub": (lambda a, b: a - b, [0.7, -1.3], 0.7 - -1.3),
    "mul": (lambda a, b: a * b, [0.7, -1.3], 0.7 * -1.3),
    "div": (lambda a, b: a / b, [0.7, -1.3], 0.7 / -1.3),
    "add_float": (lambda a: a + 2.5, [0.3], 2.8),
    "sub_float": (lambda a: a - 2.5, [0.3], 0.3 - 2.5),
    "mul_float": (lambda a: a * 2.5, [0.3], 0.75),
    "div_float": (lambda a: a / 2.5, [0.3], 0.12),
    "pow_int": (lambda a: a**3, [-0.8], (-0.8) ** 3),
    "pow_float": (lambda a: a**1.5, [1.7], math.pow(1.7, 1.5)),
    "pow_negative": (lambda a: a**-2.0, [0.9], math.pow(0.9, -2.0)),
    "pow_zero": (lambda a: a**0, [0.9], 1.0),
    "pow_value": (lambda a, b: a**b, [1.7, -0.6], math.pow(1.7, -0.6)),
    "radd": (lambda a: 2.0 + a, [0.3], 2.3),
    "rsub": (lambda a: 2.0 - a, [0.3], 1.7),
    "rmul": (lambda a: 2.0 * a, [0.3], 0.6),
    "rdiv": (lambda a: 2.0 / a, [0.3], 2.0 / 0.3),
    "rpow": (lambda a: 2.0**a, [0.3], math.pow(2.0, 0.3)),
    "radd_int": (lambda a: 2 + a, [0.3], 2.3),
    "neg": (lambda a: -a, [0.3], -0.3),
    "exp": (lambda a: a.exp(), [0.3], math.exp(0.3)),
    "log": (lambda a: a.log(), [0.3], math.log(0.3)),
    "tanh": (lambda a: a.tanh(), [0.3], math.tanh(0.3)),
    "sigmoid": (lambda a: a.sigmoid(), [-0.3], 1 / (1 + math.exp(0.3))),
    "sigmoid_pos": (lambda a: a.sigmoid(), [2.0], 1 / (1 + math.exp(-2.0))),
    "relu_pos": (lambda a: a.relu(), [0.3], 0.3),
    "relu_neg": (lambda a: a.relu(), [-0.3], 0.0),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradient_matches_central_differences(name):
    f, xs, _ = OPS[name]
    report = gradcheck(f, *[Value(x) for x in xs], tol=1e-6)
    assert report.passed, f"{name}: {report}"


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_forward_matches_math_module(name):
    f, xs, expected = OPS[name]
    assert math.isclose(f(*[Value(x) for x in xs]).data, expected, rel_tol=1e-12, abs_tol=1e-15)


def test_known_gradients_by_hand():
    # Independent of gradcheck: derivatives worked out on paper.
    x, y = Value(2.0), Value(-3.0)
    (x * y + x**2).backward()  # d/dx = y + 2x = 1, d/dy = x = 2
    assert (x.grad, y.grad) == (1.0, 2.0)
    b, p = Value(2.0), Value(3.0)
    (b**p).backward()  # d/db = p b^(p-1) = 12, d/dp = b^p ln b = 8 ln 2
    assert b.grad == 12.0 and math.isclose(p.grad, 8 * math.log(2.0), rel_tol=1e-15)
    s = Value(0.0)
    s.sigmoid().backward()  # sigma'(0) = 1/4
    assert s.grad == 0.25


# Ops for random compositions: smooth everywhere on their inputs (z >= 0.5 by construction).
# |out| grows at most 3x per step (* y), and exp only sees a bounded argument, so six
# steps stay far from overflow and finite differences stay accurate.
STEPS = [
    lambda out, y, z: out + y,
    lambda out, y, z: out - y,
    lambda out, y, z: out * y,
    lambda out, y, z: out / z,
    lambda out, y, z: (out * 0.5).tanh(),
    lambda out, y, z: out.sigmoid() * z,
    lambda out, y, z: (out.tanh() * 2.0).exp(),
    lambda out, y, z: (out * out + 1.0).log(),
    lambda out, y, z: (out * out + z) ** 0.5,
    lambda out, y, z: z ** out.tanh(),
    lambda out, y, z: 1.0 / (out * out + z),
    lambda out, y, z: -out,
]
step_lists = st.lists(st.integers(0, len(STEPS) - 1), min_size=1, max_size=6)


@given(a=floats, b=floats, c=st.floats(0.5, 3.0), ops=step_lists)
def test_random_compositions(a, b, c, ops):
    def f(x, y, z):
        out = x
        for op in ops:
            out = STEPS[op](out, y, z)
        return out

    report = gradcheck(f, Value(a), Value(b), Value(c))
    assert report.passed, report


@given(a=floats, b=floats, c=st.floats(0.5, 3.0), ops=step_lists)
def test_random_compositions_forward_matches_floats(a, b, c, ops):
    # The same formulas on plain floats (math functions where Value has a method) must agree.
    def on_floats(out, op):
        if op == 4:
            return math.tanh(out * 0.5)
        if op == 5:
            return c / (1 + math.exp(-out)) if out >= 0 else c * math.exp(out) / (1 + math.exp(out))
        if op == 6:
            return math.exp(math.tanh(out) * 2.0)
        if op == 7:
            return math.log(out * out + 1.0)
        if op == 9:
            return c ** math.tanh(out)
        return STEPS[op](out, b, c)

    x, out = Value(a), a
    for op in ops:
        x, out = STEPS[op](x, Value(b), Value(c)), on_floats(out, op)
    assert math.isclose(x.data, out, rel_tol=1e-12, abs_tol=1e-12)


def test_gradients_accumulate_on_reused_nodes():
    a = Value(3.0)
    b = a + a  # db/da = 1 + 1 = 2 (two paths)
    c = b + b  # dc/db = 2, so dc/da = dc/db * db/da = 4
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0 and c.grad == 1.0
    x = Value(3.0)
    (x * x).backward()  # d(x^2)/dx = 2x = 6: both inputs of * are x
    assert x.grad == 6.0


def test_leaf_gradients_add_up_over_backward_calls():
    # f = a^2 + a, df/da = 2a + 1 = 7; a second backward adds another 7 (as in PyTorch).
    a = Value(3.0)
    f = a * a + a
    f.backward()
    f.backward()
    assert a.grad == 14.0
    # Two losses sharing a subgraph: the leaf gets the sum of both gradients, counted once each.
    w = Value(0.5)
    h = w.tanh()
    (h * 2.0).backward()
    (h * h).backward()
    dh = 1 - math.tanh(0.5) ** 2
    assert math.isclose(w.grad, 2 * dh + 2 * math.tanh(0.5) * dh, rel_tol=1e-15)


def test_long_chain_has_no_recursion_limit():
    x = Value(0.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert y.data == 100_000 and x.grad == 1.0


def test_repr_is_deterministic():
    v = Value(2.5, label="w")
    assert repr(v) == "Value(data=2.5, grad=0, label='w')"
    assert repr(Value(1.0) * 3) == "Value(data=3, grad=0)"
    assert repr(Value(1.0) * 3) == repr(Value(1.0) * 3)
    assert "0x" not in repr(Value(1 / 3))


def test_uses_slots():
    assert not hasattr(Value(1.0), "__dict__")
    with pytest.raises(AttributeError):
        Value(1.0).anything = 1


def test_ieee_edge_cases():
    assert Value(0.0).log().data == -math.inf
    assert math.isnan(Value(-1.0).log().data)
    assert Value(1000.0).exp().data == math.inf
    assert Value(-1000.0).exp().data == 0.0
    assert math.isnan(Value(math.nan).exp().data)
    for x in (1000.0, -1000.0):
        s = Value(x)
        y = s.sigmoid()
        y.backward()
        assert math.isfinite(y.data) and math.isfinite(s.grad)
    assert Value(1000.0).sigmoid().data == 1.0 and Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).tanh().data == 1.0
    assert (Value(1.0) / 0.0).data == math.inf and (Value(-1.0) / 0.0).data == -math.inf
    assert math.isnan((Value(0.0) / 0.0).data)
    assert (Value(0.0) ** -1).data == math.inf
    assert (Value(-10.0) ** 309).data == -math.inf  # overflow keeps the sign of an odd power
    assert math.isnan((Value(-8.0) ** (1 / 3)).data)  # real power of a negative base is undefined


def test_tiny_divisor_does_not_raise():
    # -x/y^2 would compute y*y = 0.0 for |y| < 1e-162 and raise ZeroDivisionError.
    x, y = Value(2.0), Value(1e-200)
    (x / y).backward()
    assert x.grad == 1e200 and y.grad == -math.inf


def test_anomaly_mode_names_the_op_forward():
    with detect_anomaly():
        with pytest.raises(AnomalyError, match="log: forward produced NaN"):
            Value(-1.0).log()
        with pytest.raises(AnomalyError, match="log: forward produced inf"):
            Value(0.0).log()
        with pytest.raises(AnomalyError, match="exp: forward produced inf"):
            (Value(10.0) * 100.0).exp()
        with pytest.raises(AnomalyError, match="/: forward produced inf"):
            Value(1.0) / 0.0
    assert Value(0.0).log().data == -math.inf  # off again outside the block


def test_anomaly_mode_names_the_op_backward():
    # sqrt(x) = x**0.5 at 0 is finite (0) but its derivative 0.5 x^-0.5 is inf.
    x = Value(0.0)
    y = x**0.5 * 3.0
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"\*\*0.5: backward produced inf"):
        y.backward()
    # Without anomaly mode the inf just flows through (IEEE).
    x = Value(0.0)
    (x**0.5 * 3.0).backward()
    assert x.grad == math.inf


def test_anomaly_mode_gives_the_same_gradients():
    def f(a, b):
        return (a * b).tanh() + (a / b).exp() - b.sigmoid()

    a, b = Value(0.3), Value(-1.2)
    f(a, b).backward()
    with detect_anomaly():
        a2, b2 = Value(0.3), Value(-1.2)
        f(a2, b2).backward()
    assert (a.grad, b.grad) == (a2.grad, b2.grad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("abc", "Value: data must be a number, got str 'abc'"),
        ("2.5", "Value: data must be a number, got str '2.5'"),
        (None, "Value: data must be a number, got NoneType None"),
        ([1.0, 2.0], r"Value: data must be a number, got list \[1.0, 2.0\]"),
        (np.ones(3), r"Value: data must be a number, got ndarray of shape \(3,\)"),
        (1 + 2j, r"Value: data must be a number, got complex \(1\+2j\)"),
    ],
)
def test_bad_data_is_named(bad, message):
    with pytest.raises(TypeError, match=message):
        Value(bad)


def test_bad_operands_are_named():
    with pytest.raises(TypeError, match="Value: data must be a number, got a Value"):
        Value(Value(1.0))
    with pytest.raises(TypeError, match="mul: expected a Value or a number, got list"):
        Value(1.0) * [2]
    with pytest.raises(TypeError, match="add: expected a Value or a number, got str 'x'"):
        Value(1.0) + "x"
    with pytest.raises(TypeError, match="sub: expected a Value or a number, got NoneType"):
        None - Value(1.0)
    with pytest.raises(TypeError, match="pow: exponent must be a number or a Value, got str"):
        Value(2.0) ** "2"


def test_number_like_data_is_accepted():
    # numpy scalars and ints become plain floats: arithmetic on .data stays Python floats.
    for number in (np.float64(1.5), np.float32(1.5), np.int64(3), 3, np.array(1.5)):
        v = Value(number)
        assert type(v.data) is float and v.data == float(number)


def test_graph_introspection():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    assert c.parents == (a, b) and c.op == "*" and c.local_grads == (-3.0, 2.0)
    assert a.parents == () and a.op == ""
