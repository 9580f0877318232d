"""scaled_dot_product_attention and SelfAttention: loop references, finite differences, masks, extremes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit import ShapeError, Tensor, gradcheck, nn
from bpkit.functional import scaled_dot_product_attention as attention

RNG = np.random.default_rng(17)


def reference_attention(q, k, v, causal):
    """Query by query, in Python floats: weights p_j = e^(s_j - max) / sum, s_j = q . k_j / sqrt(d)."""
    lead = q.shape[:-2]
    t_len, d = q.shape[-2:]
    out = np.zeros((*lead, t_len, v.shape[-1]))
    for index in np.ndindex(*lead):
        qi, ki, vi = q[index], k[index], v[index]
        for t in range(t_len):
            keys = range(min(t + 1, len(ki))) if causal else range(len(ki))
            scores = [math.fsum(qi[t] * ki[j]) / math.sqrt(d) for j in keys]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            total = math.fsum(weights)
            for c in range(v.shape[-1]):
                out[(*index, t, c)] = math.fsum(w * vi[j, c] for w, j in zip(weights, keys)) / total
    return out


def composed_attention(q, k, v, causal):
    """The same maths from Tensor primitives (matmul, transpose, softmax, a constant mask)."""
    axes = (*range(q.ndim - 2), q.ndim - 1, q.ndim - 2)
    scores = (q @ k.transpose(axes)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        t, s = scores.shape[-2:]
        scores = scores + np.where(np.triu(np.ones((t, s)), k=1) > 0, -1e30, 0.0)
    return scores.softmax(axis=-1) @ v


@st.composite
def attention_case(draw):
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    t, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    d, dv = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    q = rng.standard_normal((*lead, t, d))
    k = rng.standard_normal((*lead, s, d))
    v = rng.standard_normal((*lead, s, dv))
    return q, k, v, draw(st.booleans())


@settings(max_examples=40)
@given(case=attention_case())
def test_attention_matches_loop_reference_and_gradcheck(case):
    q, k, v, causal = case
    out = attention(q, k, v, causal=causal)
    np.testing.assert_allclose(
        out.data, reference_attention(q, k, v, causal), rtol=1e-12, atol=1e-12
    )
    report = gradcheck(lambda *t: attention(*t, causal=causal), Tensor(q), Tensor(k), Tensor(v))
    assert report.passed, report


@settings(max_examples=30)
@given(case=attention_case())
def test_fused_backward_equals_composed_primitives(case):
    q, k, v, causal = case
    g = np.random.default_rng(0).standard_normal((*q.shape[:-1], v.shape[-1]))
    fused = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    attention(*fused, causal=causal).backward(g)
    composed = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    composed_attention(*composed, causal=causal).backward(g)
    for a, b in zip(fused, composed, strict=True):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_attention_is_one_node():
    q, k, v = (Tensor(RNG.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    out = attention(q, k, v)
    assert out.op == "scaled_dot_product_attention" and out.parents == (q, k, v)


def test_causal_mask_hides_the_future_in_values_and_gradients():
    q, k, v = (RNG.standard_normal((2, 5, 3)) for _ in range(3))
    out = attention(q, k, v, causal=True).data
    k2, v2 = k.copy(), v.copy()
    k2[:, 3:] += 10.0  # change keys and values at positions 3 and 4
    v2[:, 3:] -= 7.0
    changed = attention(q, k2, v2, causal=True).data
    np.testing.assert_array_equal(out[:, :3], changed[:, :3])
    assert not np.allclose(out[:, 3:], changed[:, 3:])
    # Gradient of output 1 reaches keys/values 0 and 1 only.
    kt, vt = Tensor(k, requires_grad=True), Tensor(v, requires_grad=True)
    g = np.zeros((2, 5, 3))
    g[:, 1] = 1.0
    attention(Tensor(q), kt, vt, causal=True).backward(g)
    assert np.all(kt.grad[:, 2:] == 0) and np.all(vt.grad[:, 2:] == 0)
    assert np.all(vt.grad[:, :2] != 0)
    # Query 0 sees key 0 only: its output is v[0], whatever the scores.
    np.testing.assert_allclose(out[:, 0], v[:, 0], rtol=1e-15)


def test_no_row_is_fully_masked_even_with_more_queries_than_keys():
    q, k, v = RNG.standard_normal((6, 2)), RNG.standard_normal((2, 2)), RNG.standard_normal((2, 3))
    qt, kt, vt = (Tensor(a, requires_grad=True) for a in (q, k, v))
    with np.errstate(all="raise"):
        out = attention(qt, kt, vt, causal=True)
        out.sum().backward()
    assert np.all(np.isfinite(out.data)) and all(np.all(np.isfinite(t.grad)) for t in (qt, kt, vt))
    np.testing.assert_allclose(out.data, reference_attention(q, k, v, True), rtol=1e-12)


@pytest.mark.parametrize("scale", [1e3, 1e6, 1e100])
def test_extreme_scores_stay_finite_and_exact(scale):
    # Scores of order `scale`: the softmax is (nearly) one-hot, and the stable form never overflows.
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) * math.sqrt(scale)
    k = np.array([[1.0, 0.0], [-1.0, 0.5], [0.3, 1.0]]) * math.sqrt(scale)
    v = RNG.standard_normal((3, 2))
    qt, kt, vt = (Tensor(a, requires_grad=True) for a in (q, k, v))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for causal in (False, True):
            out = attention(qt, kt, vt, causal=causal)
            out.backward(np.ones_like(out.data))
            np.testing.assert_allclose(out.data, reference_attention(q, k, v, causal), rtol=1e-12)
    assert all(np.all(np.isfinite(t.grad)) for t in (qt, kt, vt))


def test_attention_scales_scores_by_one_over_sqrt_d():
    # Two keys, one query: the weight on key 0 is sigmoid((s0 - s1) / sqrt(d)).
    d = 16
    q = np.ones((1, d))
    k = np.stack([np.full(d, 0.25), np.zeros(d)])
    v = np.array([[1.0], [0.0]])
    weight = attention(q, k, v).item()
    assert math.isclose(weight, 1 / (1 + math.exp(-0.25 * d / math.sqrt(d))), rel_tol=1e-14)


def test_attention_errors_name_the_op_and_shapes():
    q = np.zeros((2, 3, 4))
    with pytest.raises(
        ShapeError,
        match=r"scaled_dot_product_attention: q \(2, 3, 4\) and k \(2, 3, 5\) must have the same "
        r"last axis \(d\), got 4 != 5",
    ):
        attention(q, np.zeros((2, 3, 5)), np.zeros((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"k \(2, 3, 4\) and v \(2, 2, 4\) must have as many rows"):
        attention(q, q, np.zeros((2, 2, 4)))
    with pytest.raises(ShapeError, match=r"must share their leading \(batch, head\) axes"):
        attention(q, np.zeros((1, 3, 4)), np.zeros((1, 3, 4)))
    with pytest.raises(ShapeError, match=r"q must have shape \(\.\.\., T, d\), got shape \(4,\)"):
        attention(np.zeros(4), q, q)


# --- SelfAttention -----------------------------------------------------------------------------
def reference_self_attention(layer, x, causal):
    """Heads by hand: qkv = x W + b, head h uses columns [h dh, (h + 1) dh) of q, k and v."""
    d, heads = layer.dim, layer.num_heads
    dh = d // heads
    qkv = x @ layer.qkv.weight.data + layer.qkv.bias.data
    out = np.zeros_like(x)
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        q, k, v = (
            qkv[..., :d][..., cols],
            qkv[..., d : 2 * d][..., cols],
            qkv[..., 2 * d :][..., cols],
        )
        out[..., cols] = reference_attention(q, k, v, causal)
    return out @ layer.proj.weight.data + layer.proj.bias.data


@pytest.mark.parametrize("causal", [True, False])
def test_self_attention_matches_reference(causal):
    layer = nn.SelfAttention(6, 3, causal=causal, rng=0)
    layer.qkv.bias.data[:] = RNG.standard_normal(18)
    layer.proj.bias.data[:] = RNG.standard_normal(6)
    x = RNG.standard_normal((2, 4, 6))
    np.testing.assert_allclose(
        layer(x).data, reference_self_attention(layer, x, causal), rtol=1e-11, atol=1e-12
    )
    assert [n for n, _ in layer.named_parameters()] == [
        "qkv.weight",
        "qkv.bias",
        "proj.weight",
        "proj.bias",
    ]
    assert layer.num_parameters() == 6 * 18 + 18 + 6 * 6 + 6


def test_self_attention_gradcheck_and_causality():
    layer = nn.SelfAttention(4, 2, rng=1)
    x = RNG.standard_normal((2, 3, 4))

    def f(x, w_qkv, w_proj):
        layer.qkv.weight, layer.proj.weight = w_qkv, w_proj
        return layer(x)

    inputs = [Tensor(x), Tensor(layer.qkv.weight.data), Tensor(layer.proj.weight.data)]
    report = gradcheck(f, *inputs)
    assert report.passed, report
    x2 = x.copy()
    x2[:, -1] += 5.0  # only the last position changes
    np.testing.assert_array_equal(layer(x).data[:, :-1], layer(x2).data[:, :-1])


def test_self_attention_repr_and_errors():
    layer = nn.SelfAttention(8, 2)
    assert repr(layer).startswith("SelfAttention(\n  dim=8, num_heads=2, causal=True\n")
    with pytest.raises(
        ValueError, match=r"SelfAttention: dim \(6\) must be divisible by num_heads"
    ):
        nn.SelfAttention(6, 4)
    with pytest.raises(
        ShapeError,
        match=r"SelfAttention\(dim=8, num_heads=2, causal=True\): expected input of shape "
        r"\(N, T, 8\), got shape \(3, 8\)",
    ):
        layer(np.zeros((3, 8)))


def test_attention_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    q, k, v = (RNG.standard_normal((2, 3, 5, 4)) for _ in range(3))
    g = RNG.standard_normal((2, 3, 5, 4))
    for causal in (False, True):
        ours = [Tensor(a, requires_grad=True) for a in (q, k, v)]
        attention(*ours, causal=causal).backward(g)
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=causal)
        out.backward(torch.from_numpy(g))
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-12)
