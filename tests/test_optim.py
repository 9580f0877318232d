"""bpkit.optim: trajectories against the published update rules, written here element by element.

Each reference loops over the scalar weights one at a time (the papers state
the rules per coordinate), so it shares no code or vectorisation with bpkit.
Gradients come from an ill-conditioned quadratic L(w) = 1/2 w.A w - b.w
(gradient A w - b) evaluated along the trajectory, so an error in any step
changes every later gradient.
"""

import math

import numpy as np
import pytest

from bpkit import Tensor, optim

A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.1]])
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.7, -0.3, 1.9])
STEPS = 8


def quad_grad(w):
    return A @ w - B


def run_bpkit(make_opt, steps=STEPS, w0=W0):
    """Trajectory of a bpkit optimiser on the quadratic: one row per step."""
    p = Tensor(w0.copy(), requires_grad=True)
    opt = make_opt([p])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        p.grad = quad_grad(p.data)
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


# --- references: the published rules, per coordinate ------------------------------------------------
def ref_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, steps=STEPS):
    # PyTorch SGD docs: g <- g + wd w; b <- mu b + g (b = g at t = 1);
    # Nesterov: g <- g + mu b, else g <- b; w <- w - lr g.
    w = list(W0)
    buf = [None] * len(w)
    path = []
    for _ in range(steps):
        grad = quad_grad(np.array(w))
        for i in range(len(w)):
            g = grad[i] + weight_decay * w[i]
            if momentum != 0:
                buf[i] = g if buf[i] is None else momentum * buf[i] + g
                g = g + momentum * buf[i] if nesterov else buf[i]
            w[i] = w[i] - lr * g
        path.append(list(w))
    return np.array(path)


def ref_rmsprop(lr, alpha, eps, weight_decay=0.0, steps=STEPS):
    # Tieleman & Hinton (2012), Lecture 6e, with eps added outside the root (PyTorch).
    w = list(W0)
    ms = [0.0] * len(w)
    path = []
    for _ in range(steps):
        grad = quad_grad(np.array(w))
        for i in range(len(w)):
            g = grad[i] + weight_decay * w[i]
            ms[i] = alpha * ms[i] + (1 - alpha) * g * g
            w[i] = w[i] - lr * g / (math.sqrt(ms[i]) + eps)
        path.append(list(w))
    return np.array(path)


def ref_adam(lr, b1, b2, eps, weight_decay=0.0, decoupled=False, steps=STEPS, grads=None):
    # Kingma & Ba (2015), Algorithm 1; L2 decay added to g (Adam) or, for AdamW
    # (Loshchilov & Hutter 2019, Algorithm 2 with eta_t = lr as PyTorch), w <- w - lr wd w.
    w = list(W0)
    m = [0.0] * len(w)
    v = [0.0] * len(w)
    path = []
    for t in range(1, steps + 1):
        grad = quad_grad(np.array(w)) if grads is None else grads[t - 1]
        for i in range(len(w)):
            g = grad[i]
            if decoupled:
                w[i] = w[i] - lr * weight_decay * w[i]
            else:
                g = g + weight_decay * w[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            w[i] = w[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        path.append(list(w))
    return np.array(path)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# --- trajectories ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.3},
        {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
    ],
)
def test_sgd_trajectory(kwargs):
    close(run_bpkit(lambda ps: optim.SGD(ps, **kwargs)), ref_sgd(**kwargs))


def test_sgd_variants_differ():
    # The cases above would pass trivially if momentum/nesterov were ignored: they are not.
    plain = ref_sgd(lr=0.05)
    heavy = ref_sgd(lr=0.05, momentum=0.9)
    nesterov = ref_sgd(lr=0.05, momentum=0.9, nesterov=True)
    assert np.abs(plain - heavy).max() > 1e-2 and np.abs(heavy - nesterov).max() > 1e-2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.01, "alpha": 0.99, "eps": 1e-8},
        {"lr": 0.05, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.2},
    ],
)
def test_rmsprop_trajectory(kwargs):
    close(run_bpkit(lambda ps: optim.RMSProp(ps, **kwargs)), ref_rmsprop(**kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8},
        {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-6, "weight_decay": 0.1},
    ],
)
def test_adam_trajectory(kwargs):
    b1, b2 = kwargs["betas"]
    expected = ref_adam(kwargs["lr"], b1, b2, kwargs["eps"], kwargs.get("weight_decay", 0.0))
    close(run_bpkit(lambda ps: optim.Adam(ps, **kwargs)), expected)


def test_adam_with_random_gradients():
    grads = np.random.default_rng(0).standard_normal((STEPS, 3)) * np.array([100.0, 1.0, 1e-3])
    p = Tensor(W0.copy(), requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    path = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        path.append(p.data.copy())
    close(np.array(path), ref_adam(0.01, 0.9, 0.999, 1e-8, grads=grads))


def test_adam_bias_correction_first_step_is_lr_sized():
    # With bias correction m_hat = g and v_hat = g^2 at t = 1, so every weight moves by
    # lr * |g| / (|g| + eps) ~ lr whatever the gradient's scale; without it, by ~ lr * 0.1 / sqrt(0.001).
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = np.array([1e3, -1.0, 1e-3])
    optim.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_adamw_trajectory_and_decoupling():
    expected = ref_adam(0.05, 0.9, 0.999, 1e-8, weight_decay=0.5, decoupled=True)
    close(run_bpkit(lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.5)), expected)
    # Zero gradient: AdamW still shrinks w by exactly (1 - lr wd); Adam's L2 term is
    # normalised instead, moving each weight by ~lr towards 0 whatever its size.
    w = np.array([2.0, -4.0])
    p, q = Tensor(w.copy(), requires_grad=True), Tensor(w.copy(), requires_grad=True)
    p.grad, q.grad = np.zeros(2), np.zeros(2)
    optim.AdamW([p], lr=0.1, weight_decay=0.5).step()
    optim.Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, w * (1 - 0.1 * 0.5), rtol=1e-15)
    np.testing.assert_allclose(q.data, w - 0.1 * np.sign(w), rtol=1e-6)
    assert optim.AdamW([p]).weight_decay == 1e-2


def test_optimizers_converge_on_the_quadratic():
    solution = np.linalg.solve(A, B)
    makers = {
        "sgd": lambda ps: optim.SGD(ps, lr=0.3, momentum=0.9),
        "nesterov": lambda ps: optim.SGD(ps, lr=0.3, momentum=0.9, nesterov=True),
        "rmsprop": lambda ps: optim.RMSProp(ps, lr=0.01),
        "adam": lambda ps: optim.Adam(ps, lr=0.05),
    }
    for name, make in makers.items():
        final = run_bpkit(make, steps=2000)[-1]
        assert np.abs(final - solution).max() < 1e-2, name


def test_params_without_grad_are_skipped():
    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.array([1.0, -1.0])
    opt.step()
    assert np.array_equal(b.data, np.ones(2)) and opt.state[1] == {}
    assert opt.state[0]["t"] == 1
    # b's first update later is a first Adam step (t = 1 for b): size lr.
    a.grad, b.grad = None, np.array([5.0, -5.0])
    opt.step()
    np.testing.assert_allclose(b.data, [0.9, 1.1], rtol=1e-8)
    assert opt.state[0]["t"] == 1 and opt.state[1]["t"] == 1
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_works_on_module_parameters_and_in_place():
    from bpkit import nn

    layer = nn.Linear(3, 2, rng=0)
    weight_array = layer.weight.data
    opt = optim.SGD(layer.parameters(), lr=0.1)
    layer(np.ones((4, 3))).sum().backward()
    expected = weight_array - 0.1 * layer.weight.grad
    opt.step()
    assert layer.weight.data is weight_array  # updated in place
    np.testing.assert_allclose(layer.weight.data, expected)
    duplicate = optim.SGD([layer.weight, layer.weight], lr=0.1)
    assert len(duplicate.params) == 1  # listed twice, updated once


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: optim.SGD(ps, lr=0), "SGD: lr must be a positive number, got 0"),
        (lambda ps: optim.SGD(ps, lr=-0.1), "SGD: lr must be a positive number"),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "SGD: momentum must be >= 0"),
        (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "SGD: nesterov=True needs momentum > 0"),
        (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1), "SGD: weight_decay must be >= 0"),
        (lambda ps: optim.RMSProp(ps, alpha=1.0), r"RMSProp: alpha must be in \[0, 1\)"),
        (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), r"Adam: betas\[0\] must be in \[0, 1\)"),
        (lambda ps: optim.AdamW(ps, betas=(0.9, -0.1)), r"AdamW: betas\[1\] must be in \[0, 1\)"),
        (lambda ps: optim.Adam(ps, betas=0.9), "Adam: betas must be a pair"),
        (lambda ps: optim.Adam(ps, lr=float("nan")), "Adam: lr must be a positive number"),
        (lambda ps: optim.SGD([], lr=0.1), "SGD: got an empty parameter list"),
    ],
)
def test_bad_arguments_name_the_optimizer(make, message):
    with pytest.raises(ValueError, match=message):
        make([Tensor(np.ones(2), requires_grad=True)])


def test_bad_params():
    from bpkit import nn

    with pytest.raises(TypeError, match=r"SGD: pass model.parameters\(\), not the model itself"):
        optim.SGD(nn.Linear(2, 2), lr=0.1)
    with pytest.raises(TypeError, match="Adam: parameter 1 is a ndarray, not a Tensor"):
        optim.Adam([Tensor(1.0), np.ones(2)])


def test_reprs():
    ps = [Tensor(np.ones(2), requires_grad=True)]
    assert repr(optim.SGD(ps, lr=0.1)) == "SGD(lr=0.1, momentum=0, weight_decay=0)"
    assert (
        repr(optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True))
        == "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0)"
    )
    assert repr(optim.RMSProp(ps)) == "RMSProp(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0)"
    assert repr(optim.Adam(ps)) == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0)"
    assert (
        repr(optim.AdamW(ps)) == "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)"
    )


# --- clip_grad_norm ----------------------------------------------------------------------------------
def _params_with_grads(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    ps = [Tensor(np.zeros(s), requires_grad=True) for s in shapes]
    for p in ps:
        p.grad = rng.standard_normal(p.shape) * 3.0
    return ps


def test_clip_grad_norm_scales_to_max_norm_and_returns_prior_norm():
    ps = _params_with_grads()
    before = [p.grad.copy() for p in ps]
    expected_norm = math.sqrt(sum((g**2).sum() for g in before))
    assert expected_norm > 1.0
    total = optim.clip_grad_norm(ps, max_norm=1.0)
    assert isinstance(total, float)
    assert abs(total - expected_norm) < 1e-12 * expected_norm
    after = math.sqrt(sum((p.grad**2).sum() for p in ps))
    assert abs(after - 1.0) < 1e-12
    # One factor for all arrays: the direction is unchanged.
    for p, g in zip(ps, before):
        np.testing.assert_allclose(p.grad, g / expected_norm, rtol=1e-12)


def test_clip_grad_norm_below_threshold_and_none_grads():
    ps = _params_with_grads(1)
    before = [p.grad.copy() for p in ps]
    norm = math.sqrt(sum((g**2).sum() for g in before))
    extra = Tensor(np.ones(3), requires_grad=True)  # grad None: ignored
    assert optim.clip_grad_norm([*ps, extra], max_norm=norm * 2) == pytest.approx(norm, rel=1e-12)
    for p, g in zip(ps, before):
        assert np.array_equal(p.grad, g)
    assert extra.grad is None


def test_clip_grad_norm_nonfinite_and_bad_max_norm():
    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = np.array([np.inf, 1.0])
    assert optim.clip_grad_norm([p], 1.0) == math.inf
    assert p.grad[1] == 1.0  # not turned into NaN
    with pytest.raises(ValueError, match="clip_grad_norm: max_norm must be a positive number"):
        optim.clip_grad_norm([p], 0.0)


# --- schedules ---------------------------------------------------------------------------------------
def _lrs(scheduler, n):
    """The lr the optimiser uses at updates 0, 1, ..., n-1."""
    out = []
    for _ in range(n):
        out.append(scheduler.optimizer.lr)
        scheduler.step()
    return out


def _opt(lr=0.1):
    return optim.SGD([Tensor(np.ones(1), requires_grad=True)], lr=lr)


def test_step_lr():
    lrs = _lrs(optim.StepLR(_opt(0.1), step_size=3, gamma=0.5), 8)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rtol=1e-15)


def test_cosine_annealing_lr():
    base, eta_min, T = 0.1, 0.01, 10
    sched = optim.CosineAnnealingLR(_opt(base), T_max=T, eta_min=eta_min)
    lrs = _lrs(sched, 14)
    # Closed form, Loshchilov & Hutter (2017), eq. 5 with one cycle.
    expected = [
        eta_min + 0.5 * (base - eta_min) * (1 + math.cos(math.pi * min(t, T) / T))
        for t in range(14)
    ]
    np.testing.assert_allclose(lrs, expected, rtol=1e-13)
    assert lrs[0] == pytest.approx(base) and lrs[T // 2] == pytest.approx((base + eta_min) / 2)
    assert lrs[T] == pytest.approx(eta_min) and lrs[-1] == pytest.approx(eta_min)


def test_linear_warmup_and_warmup_cosine():
    lrs = _lrs(optim.LinearWarmup(_opt(0.2), warmup_steps=4), 7)
    np.testing.assert_allclose(lrs, [0.05, 0.1, 0.15, 0.2, 0.2, 0.2, 0.2], rtol=1e-14)
    lrs = _lrs(optim.WarmupCosineLR(_opt(0.2), warmup_steps=2, T_max=6), 8)
    expected = [0.1, 0.2] + [0.1 * (1 + math.cos(math.pi * k / 4)) for k in range(4)] + [0.0, 0.0]
    np.testing.assert_allclose(lrs, expected, rtol=1e-13, atol=1e-15)


def test_schedule_drives_the_update_and_pure_functions_agree():
    opt = _opt(1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    p = opt.params[0]
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
    assert p.data[0] == pytest.approx(1.0 - (1.0 + 0.5 + 0.25))
    assert sched.get_lr() == opt.lr == optim.step_lr(1.0, 3, 1, 0.5) == 0.125
    assert optim.cosine_lr(1.0, 5, 10) == pytest.approx(0.5)
    assert optim.warmup_lr(1.0, 0, 10) == pytest.approx(0.1)
    assert repr(sched) == "StepLR(step_size=1, gamma=0.5, base_lr=1, last_step=3)"


def test_schedule_argument_errors():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        optim.StepLR(_opt(), step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be a positive int"):
        optim.CosineAnnealingLR(_opt(), T_max=2.5)
    with pytest.raises(ValueError, match=r"WarmupCosineLR: T_max \(3\) must be larger"):
        optim.WarmupCosineLR(_opt(), warmup_steps=5, T_max=3)
    with pytest.raises(TypeError, match="LinearWarmup: expected a bpkit optimizer"):
        optim.LinearWarmup("sgd", warmup_steps=3)
