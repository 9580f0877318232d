"""Value engine: every op against the math module and central differences."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import Value, gradcheck
from tests.strategies import floats

# name -> (function of Values, input floats); inputs keep away from kinks and domain edges.
OPS = {
    "add": (lambda a, b: a + b, [0.7, -1.3]),
    "sub": (lambda a, b: a - b, [0.7, -1.3]),
    "mul": (lambda a, b: a * b, [0.7, -1.3]),
    "div": (lambda a, b: a / b, [0.7, -1.3]),
    "pow_int": (lambda a: a**3, [-0.8]),
    "pow_fraction": (lambda a: a**1.5, [1.7]),
    "pow_negative": (lambda a: a**-2, [0.9]),
    "pow_value": (lambda a, b: a**b, [1.7, -0.6]),
    "radd": (lambda a: 2 + a, [0.3]),
    "rsub": (lambda a: 2 - a, [0.3]),
    "rmul": (lambda a: 2 * a, [0.3]),
    "rdiv": (lambda a: 2 / a, [0.3]),
    "rpow": (lambda a: 2**a, [0.3]),
    "neg": (lambda a: -a, [0.3]),
    "exp": (lambda a: a.exp(), [0.3]),
    "log": (lambda a: a.log(), [0.3]),
    "tanh": (lambda a: a.tanh(), [0.3]),
    "sigmoid": (lambda a: a.sigmoid(), [-0.3]),
    "relu_pos": (lambda a: a.relu(), [0.3]),
    "relu_neg": (lambda a: a.relu(), [-0.3]),
}

FORWARD = {
    "add": 0.7 + -1.3, "sub": 0.7 - -1.3, "mul": 0.7 * -1.3, "div": 0.7 / -1.3,
    "pow_int": -0.8**3, "pow_fraction": 1.7**1.5, "pow_negative": 0.9**-2, "pow_value": 1.7**-0.6,
    "radd": 2.3, "rsub": 1.7, "rmul": 0.6, "rdiv": 2 / 0.3, "rpow": 2**0.3, "neg": -0.3,
    "exp": math.exp(0.3), "log": math.log(0.3), "tanh": math.tanh(0.3),
    "sigmoid": 1 / (1 + math.exp(0.3)), "relu_pos": 0.3, "relu_neg": 0.0,
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_forward_and_gradient(name):
    f, xs = OPS[name]
    assert math.isclose(f(*[Value(x) for x in xs]).data, FORWARD[name], rel_tol=1e-12)
    report = gradcheck(f, *[Value(x) for x in xs], tol=1e-6)
    assert report.passed, f"{name}: {report}"


@given(a=floats, b=floats, c=st.floats(0.1, 3.0), ops=st.lists(st.integers(0, 5), min_size=1, max_size=6))
def test_random_compositions(a, b, c, ops):
    def f(x, y, z):
        out = x
        for op in ops:
            out = [out + y, out * y, (out * 0.5).tanh(), out.sigmoid() * z, (out * 0.3).exp(), out / z][op]
        return out

    report = gradcheck(f, Value(a), Value(b), Value(c))
    assert report.passed, report


def test_gradients_accumulate_on_reused_nodes():
    a = Value(3.0)
    b = a + a  # db/da = 2
    c = b + b  # dc/db = 2
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0
    x = Value(3.0)
    (x * x).backward()  # d(x^2)/dx = 2x
    assert x.grad == 6.0


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


def test_uses_slots():
    with pytest.raises(AttributeError):
        Value(1.0).anything = 1
    assert not hasattr(Value(1.0), "__dict__")


def test_ieee_edge_cases():
    assert Value(0.0).log().data == -math.inf
    assert math.isnan(Value(-1.0).log().data)
    assert Value(1000.0).exp().data == math.inf
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0
    assert (Value(1.0) / 0.0).data == math.inf


def test_bad_data_is_named():
    with pytest.raises(TypeError, match="Value: data must be a number, got str 'abc'"):
        Value("abc")
    with pytest.raises(TypeError, match="got NoneType"):
        Value(None)
    with pytest.raises(TypeError, match="mul: expected a Value or a number, got list"):
        Value(1.0) * [2]


def test_graph_introspection():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    assert c.parents == (a, b) and c.op == "*" and c.local_grads == (-3.0, 2.0)
