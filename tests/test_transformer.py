"""Embedding, layer_norm / LayerNorm and GELU: loop references, finite differences, repeated ids."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpkit import ShapeError, Tensor, functional, gradcheck, nn

RNG = np.random.default_rng(19)


# --- Embedding ---------------------------------------------------------------------------------
def reference_embedding_backward(ids, g, num_rows):
    """dW by a loop over positions: each position adds its gradient row to the row it picked."""
    dw = np.zeros((num_rows, g.shape[-1]))
    for index in np.ndindex(ids.shape):
        dw[ids[index]] += g[index]
    return dw


def test_embedding_lookup_init_and_repr():
    emb = nn.Embedding(10, 4, rng=3)
    np.testing.assert_array_equal(
        emb.weight.data, np.random.default_rng(3).standard_normal((10, 4))
    )
    ids = np.array([[1, 7, 7], [0, 9, 1]])
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    for index in np.ndindex(ids.shape):
        np.testing.assert_array_equal(out.data[index], emb.weight.data[ids[index]])
    assert emb(3).shape == (4,) and emb([2, 2]).shape == (2, 4)
    assert repr(emb) == "Embedding(10, 4)"
    assert emb.parameters() == [emb.weight]


def test_embedding_repeated_ids_accumulate():
    emb = nn.Embedding(5, 3, rng=0)
    ids = np.array([[1, 1, 3], [1, 0, 3]])  # id 1 three times, id 3 twice, 2 and 4 never
    g = RNG.standard_normal((2, 3, 3))
    emb(ids).backward(g)
    expected = reference_embedding_backward(ids, g, 5)
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-15)
    np.testing.assert_allclose(emb.weight.grad[1], g[0, 0] + g[0, 1] + g[1, 0], rtol=1e-15)
    assert np.all(emb.weight.grad[[2, 4]] == 0)
    # The classic bug: fancy-index += writes each distinct id once and drops the repeats.
    naive = np.zeros((5, 3))
    naive[ids] += g
    assert not np.allclose(naive[1], expected[1])


@st.composite
def ids_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    rows = draw(st.integers(1, 4))  # few rows: repeats are the rule
    ids = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, rows - 1)))
    return ids, rows, draw(st.integers(1, 3))


@settings(max_examples=40)
@given(case=ids_case())
def test_embedding_gradcheck_and_reference_any_ids_shape(case):
    ids, rows, dim = case
    weight = np.random.default_rng(0).standard_normal((rows, dim))
    assert gradcheck(lambda w: functional.embedding(ids, w), Tensor(weight)).passed
    w = Tensor(weight, requires_grad=True)
    g = np.random.default_rng(1).standard_normal((*ids.shape, dim))
    functional.embedding(ids, w).backward(g)
    np.testing.assert_allclose(w.grad, reference_embedding_backward(ids, g, rows), rtol=1e-12)


def test_embedding_errors():
    emb = nn.Embedding(10, 4)
    with pytest.raises(
        IndexError,
        match=r"embedding: ids must be in \[0, 10\) for a table of 10 rows, got values from "
        r"0 to 12 \(ids of shape \(3,\)\)",
    ):
        emb(np.array([0, 12, 3]))
    with pytest.raises(IndexError, match="got values from -1 to 3"):
        emb(np.array([-1, 3]))
    with pytest.raises(TypeError, match="embedding: ids must be integers, got dtype float64"):
        emb(np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match=r"Embedding\(10, 4\): ids are integers"):
        emb(Tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(ShapeError, match=r"embedding: weight must have shape \(V, D\)"):
        functional.embedding(np.array([0]), np.zeros(3))
    # Integer-valued floats (ids that passed through a float array) are accepted.
    np.testing.assert_array_equal(emb(np.array([1.0, 2.0])).data, emb.weight.data[[1, 2]])


# --- layer_norm / LayerNorm --------------------------------------------------------------------
def reference_layer_norm(x, w, b, eps):
    """Row by row in Python floats (math.fsum): mean, biased variance, normalise, scale, shift."""
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape[:-1]):
        row = [float(v) for v in x[index]]
        mu = math.fsum(row) / len(row)
        var = math.fsum((v - mu) ** 2 for v in row) / len(row)
        out[index] = [(v - mu) / math.sqrt(var + eps) for v in row]
    return out * (1.0 if w is None else w) + (0.0 if b is None else b)


def composed_layer_norm(x, w, b, eps):
    """The same maths from Tensor primitives, about eight nodes."""
    mu = x.mean(axis=-1, keepdims=True)
    centred = x - mu
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / (var + eps) ** 0.5 * w + b


@st.composite
def layer_norm_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0]))
    x = rng.standard_normal(shape) * scale + draw(st.floats(-3, 3))
    d = shape[-1]
    w = rng.standard_normal(d) if draw(st.booleans()) else None
    b = rng.standard_normal(d) if draw(st.booleans()) else None
    return x, w, b


@settings(max_examples=40)
@given(case=layer_norm_case())
def test_layer_norm_matches_reference_and_gradcheck(case):
    x, w, b = case
    out = functional.layer_norm(x, w, b)
    np.testing.assert_allclose(
        out.data, reference_layer_norm(x, w, b, 1e-5), rtol=1e-10, atol=1e-12
    )
    tensors = [Tensor(x)] + [Tensor(t) for t in (w, b) if t is not None]

    def f(x, *rest):
        rest = list(rest)
        wt = rest.pop(0) if w is not None else None
        bt = rest.pop(0) if b is not None else None
        return functional.layer_norm(x, wt, bt)

    report = gradcheck(f, *tensors)
    assert report.passed, report


@settings(max_examples=30)
@given(case=layer_norm_case())
def test_layer_norm_fused_backward_equals_composed(case):
    x, w, b = case
    d = x.shape[-1]
    w = np.ones(d) if w is None else w
    b = np.zeros(d) if b is None else b
    g = np.random.default_rng(0).standard_normal(x.shape)
    fused = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    functional.layer_norm(*fused).backward(g)
    composed = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    composed_layer_norm(*composed, 1e-5).backward(g)
    for a, c in zip(fused, composed, strict=True):
        np.testing.assert_allclose(a.grad, c.grad, rtol=1e-8, atol=1e-10)


def test_layer_norm_normalises_each_row_on_its_own():
    x = RNG.standard_normal((4, 6)) * 3 + 2
    out = functional.layer_norm(x, None, None).data
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(out.var(axis=1), 1.0, rtol=1e-5)  # eps takes ~1e-6 off
    x2 = x.copy()
    x2[0] *= 100.0  # another row changes: the others do not notice (unlike BatchNorm)
    np.testing.assert_array_equal(functional.layer_norm(x2, None, None).data[1:], out[1:])
    # Scale invariance per row: where eps is negligible, LN(a x) = LN(x) for a > 0.
    tiny_eps = functional.layer_norm(x, None, None, eps=1e-12).data
    np.testing.assert_allclose(
        functional.layer_norm(1e4 * x, None, None, eps=1e-12).data, tiny_eps, atol=1e-12
    )
    # Each output row has mean 0 and variance 1 (eps aside): it cannot move along 1 or x_hat,
    # so an upstream gradient in their span (here 1 + x) sends nothing back.
    xt = Tensor(x, requires_grad=True)
    functional.layer_norm(xt, None, None, eps=1e-12).backward(np.ones_like(x) + x)
    np.testing.assert_allclose(xt.grad, 0.0, atol=1e-12)


def test_layer_norm_module():
    ln = nn.LayerNorm(5)
    assert repr(ln) == "LayerNorm(5, eps=1e-05)"
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    x = RNG.standard_normal((2, 3, 5))
    ln.weight.data[:] = RNG.standard_normal(5)
    ln.bias.data[:] = RNG.standard_normal(5)
    expected = reference_layer_norm(x, ln.weight.data, ln.bias.data, 1e-5)
    np.testing.assert_allclose(ln(x).data, expected, rtol=1e-10)
    out = ln(Tensor(x, requires_grad=True))
    assert out.op == "layer_norm" and len(out.parents) == 3
    # Training and evaluation agree: no running statistics.
    np.testing.assert_array_equal(ln.eval()(x).data, ln.train()(x).data)


def test_layer_norm_errors():
    with pytest.raises(
        ShapeError,
        match=r"LayerNorm\(4, eps=1e-05\): expected input with last dimension 4, got shape \(2, 3\)",
    ):
        nn.LayerNorm(4)(np.zeros((2, 3)))
    with pytest.raises(
        ShapeError,
        match=r"layer_norm: weight must have shape \(3,\) to match the last axis of x \(2, 3\), "
        r"got shape \(2,\)",
    ):
        functional.layer_norm(np.zeros((2, 3)), np.ones(2), None)
    with pytest.raises(ShapeError, match="layer_norm: x must have a feature axis"):
        functional.layer_norm(np.float64(1.0), None, None)
    with pytest.raises(ValueError, match="LayerNorm: eps must be a positive number"):
        nn.LayerNorm(3, eps=0)


# --- GELU --------------------------------------------------------------------------------------
def test_gelu_values_against_math_erf_and_limits():
    x = np.linspace(-6, 6, 25)
    exact = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]  # Phi(v), no cancellation
    np.testing.assert_allclose(nn.GELU()(x).data, exact, rtol=1e-14, atol=1e-300)
    # 1 + erf(v / sqrt 2), the textbook form, agrees to the round-off of adding to 1.
    textbook = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(nn.GELU()(x).data, textbook, rtol=1e-12, atol=1e-15)
    tanh_form = [
        0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))) for v in x
    ]
    # 1 + tanh(u) cancels in the left tail: equal to the round-off of that sum.
    np.testing.assert_allclose(nn.GELU("tanh")(x).data, tanh_form, rtol=1e-14, atol=1e-15)
    # The two forms agree to about 1e-3 (Hendrycks & Gimpel 2016).
    assert np.max(np.abs(np.array(exact) - np.array(tanh_form))) < 1e-3
    big = functional.gelu(np.array([-40.0, 0.0, 40.0])).data
    np.testing.assert_array_equal(big, [-0.0, 0.0, 40.0])
    assert repr(nn.GELU()) == "GELU()" and repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"


@given(x=hnp.arrays(np.float64, (3, 4), elements=st.floats(-4, 4)))
def test_gelu_gradcheck_both_forms(x):
    for approximate in ("none", "tanh"):
        report = gradcheck(lambda t, a=approximate: functional.gelu(t, a), Tensor(x))
        assert report.passed, (approximate, report)


def test_gelu_errors():
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh'"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        functional.gelu(np.zeros(2), "fast")
