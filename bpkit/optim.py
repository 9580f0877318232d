"""Optimisers, gradient clipping and learning-rate schedules.

An optimiser holds a list of parameters (Tensors) and, per parameter, the
state its update rule needs (a velocity, moment estimates). ``step()`` reads
each ``p.grad`` and updates ``p.data`` in place; a parameter whose ``grad``
is None (unused in this backward pass) is skipped and its state left alone.
The rules follow PyTorch's conventions, written out in each docstring.

A schedule changes ``optimizer.lr``: call ``scheduler.step()`` once per epoch
(or per update, as you choose) after ``optimizer.step()``. Each schedule is
also a pure function of the step count (``step_lr``, ``cosine_lr``,
``warmup_lr``, ``warmup_cosine_lr``) for plotting.
"""

import math

import numpy as np

from bpkit.tensor import Tensor

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "LRScheduler",
    "LinearWarmup",
    "Optimizer",
    "RMSProp",
    "StepLR",
    "WarmupCosineLR",
    "clip_grad_norm",
    "cosine_lr",
    "step_lr",
    "warmup_cosine_lr",
    "warmup_lr",
]


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _check(ok, owner, message):
    if not ok:
        raise ValueError(f"{owner}: {message}")


def _check_params(params, owner):
    """A non-empty list of Tensors, each once (a Module's parameters() or any iterable of Tensors)."""
    if isinstance(params, Tensor):
        raise TypeError(f"{owner}: params must be a list of Tensors; wrap a single one as [p]")
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"{owner}: pass model.parameters(), not the model itself")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be an iterable of Tensors, got {type(params).__name__}"
        ) from None
    if not params:
        raise ValueError(f"{owner}: got an empty parameter list")
    unique, seen = [], set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if id(p) not in seen:  # a Tensor listed twice would be updated twice per step
            seen.add(id(p))
            unique.append(p)
    return unique


def _fmt(x):
    return f"{x:g}"


class Optimizer:
    """Base class: ``params``, ``lr``, per-parameter ``state`` dicts, ``zero_grad()`` and ``step()``."""

    def __init__(self, params, lr):
        name = type(self).__name__
        self.params = _check_params(params, name)
        _check(
            _is_number(lr) and lr > 0 and math.isfinite(lr),
            name,
            f"lr must be a positive number, got {lr!r}",
        )
        self.lr = float(lr)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None (gradients accumulate otherwise)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, once."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.data, np.asarray(p.grad), state)

    def _update(self, w, g, state):
        raise NotImplementedError

    def _settings(self):
        return f"lr={_fmt(self.lr)}"

    def __repr__(self):
        return f"{type(self).__name__}({self._settings()})"


class SGD(Optimizer):
    """w -= lr * v, v = momentum * v + (g + weight_decay * w); plain SGD when momentum = 0.

    PyTorch's convention (no dampening): the velocity sums gradients and lr
    multiplies the whole velocity. Sutskever et al. (2013) write
    v = mu v - lr g; w += v, which is the same method when lr is constant.
    Nesterov (as PyTorch): w -= lr * (g + momentum * v), using the new v, i.e.
    the gradient step plus a look-ahead along the velocity.
    ``weight_decay`` adds the L2 penalty's gradient weight_decay * w to g.
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        _check(
            _is_number(momentum) and momentum >= 0,
            "SGD",
            f"momentum must be >= 0, got {momentum!r}",
        )
        _check(
            _is_number(weight_decay) and weight_decay >= 0,
            "SGD",
            f"weight_decay must be >= 0, got {weight_decay!r}",
        )
        _check(not nesterov or momentum > 0, "SGD", "nesterov=True needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    def _update(self, w, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            v = state.get("velocity")
            if v is None:
                v = state["velocity"] = np.zeros_like(w)
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        w -= self.lr * g

    def _settings(self):
        s = f"lr={_fmt(self.lr)}, momentum={_fmt(self.momentum)}"
        if self.nesterov:
            s += ", nesterov=True"
        return s + f", weight_decay={_fmt(self.weight_decay)}"


class RMSProp(Optimizer):
    """s = alpha s + (1 - alpha) g^2;  w -= lr g / (sqrt(s) + eps)  (Tieleman & Hinton 2012).

    Each weight's step is divided by a running root-mean-square of its
    gradients, so steep and flat directions move at similar speeds.
    ``weight_decay`` adds weight_decay * w to g first.
    NB (PyTorch): same rule (eps outside the root); bpkit has no momentum/centered options.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        _check(
            _is_number(alpha) and 0 <= alpha < 1,
            "RMSProp",
            f"alpha must be in [0, 1), got {alpha!r}",
        )
        _check(_is_number(eps) and eps >= 0, "RMSProp", f"eps must be >= 0, got {eps!r}")
        _check(
            _is_number(weight_decay) and weight_decay >= 0,
            "RMSProp",
            f"weight_decay must be >= 0, got {weight_decay!r}",
        )
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, w, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * w
        s = state.get("square_avg")
        if s is None:
            s = state["square_avg"] = np.zeros_like(w)
        s *= self.alpha
        s += (1.0 - self.alpha) * g * g
        w -= self.lr * g / (np.sqrt(s) + self.eps)

    def _settings(self):
        return (
            f"lr={_fmt(self.lr)}, alpha={_fmt(self.alpha)}, eps={_fmt(self.eps)}, "
            f"weight_decay={_fmt(self.weight_decay)}"
        )


class Adam(Optimizer):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr m_hat / (sqrt(v_hat) + eps).

    Kingma & Ba (2015), Algorithm 1: m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
    undo the bias of moment estimates started at zero; t counts this
    parameter's updates from 1 (a parameter skipped with grad None does not
    advance its t, as in PyTorch). ``weight_decay`` adds weight_decay * w to g
    (an L2 penalty, which Adam then rescales; see AdamW for the decoupled form).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        name = type(self).__name__
        _check(
            isinstance(betas, (tuple, list)) and len(betas) == 2,
            name,
            f"betas must be a pair (beta1, beta2), got {betas!r}",
        )
        for i, b in enumerate(betas):
            _check(_is_number(b) and 0 <= b < 1, name, f"betas[{i}] must be in [0, 1), got {b!r}")
        _check(_is_number(eps) and eps >= 0, name, f"eps must be >= 0, got {eps!r}")
        _check(
            _is_number(weight_decay) and weight_decay >= 0,
            name,
            f"weight_decay must be >= 0, got {weight_decay!r}",
        )
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, w, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * w
        self._adam(w, g, state)

    def _adam(self, w, g, state):
        b1, b2 = self.betas
        if "t" not in state:
            state["t"], state["m"], state["v"] = 0, np.zeros_like(w), np.zeros_like(w)
        state["t"] += 1
        t, m, v = state["t"], state["m"], state["v"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * g * g
        m_hat = m / (1.0 - b1**t)
        v_hat = v / (1.0 - b2**t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def _settings(self):
        return (
            f"lr={_fmt(self.lr)}, betas=({_fmt(self.betas[0])}, {_fmt(self.betas[1])}), "
            f"eps={_fmt(self.eps)}, weight_decay={_fmt(self.weight_decay)}"
        )


class AdamW(Adam):
    """w -= lr * weight_decay * w, then the Adam step on the raw gradient g.

    Loshchilov & Hutter (2019): decoupled weight decay shrinks every weight by
    the same factor, instead of adding an L2 gradient that Adam would divide
    by sqrt(v_hat) (so weights with large gradients would hardly decay).
    NB (PyTorch): the decay is multiplied by lr (the paper uses a separate schedule multiplier).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)

    def _update(self, w, g, state):
        if self.weight_decay:
            w *= 1.0 - self.lr * self.weight_decay
        self._adam(w, g, state)


def clip_grad_norm(params, max_norm):
    """If ||g|| > max_norm, scale every gradient by max_norm / ||g||; return ||g|| before clipping.

    ||g|| = sqrt(sum over all parameters of sum(p.grad ** 2)) is the global L2
    norm: one factor for all gradients keeps the update's direction (clipping
    each array separately would bend it). Pascanu et al. (2013) introduced it
    for exploding RNN gradients. Gradients are scaled in place; parameters
    with grad None are ignored. A non-finite norm is returned and nothing is
    scaled (scaling would turn inf into NaN): use ``detect_anomaly()`` to find it.
    NB (PyTorch): ``clip_grad_norm_`` divides by ||g|| + 1e-6; bpkit scales to max_norm exactly.
    """
    if isinstance(params, Tensor):
        params = [params]
    _check(
        _is_number(max_norm) and max_norm > 0,
        "clip_grad_norm",
        f"max_norm must be a positive number, got {max_norm!r}",
    )
    grads = [p.grad for p in params if p.grad is not None]
    total = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads))
    if math.isfinite(total) and total > max_norm:
        scale = max_norm / total
        for g in grads:
            g *= scale
    return total


# --- learning-rate schedules --------------------------------------------------------------------
def step_lr(base_lr, step, step_size, gamma=0.1):
    """lr = base_lr * gamma ** floor(step / step_size)."""
    return base_lr * gamma ** (step // step_size)


def cosine_lr(base_lr, step, T_max, eta_min=0.0):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi step / T_max)) / 2, then eta_min after T_max.

    Loshchilov & Hutter (2017), SGDR without restarts.
    NB (PyTorch): CosineAnnealingLR keeps following the cosine back up after T_max.
    """
    t = min(step, T_max)
    return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * t / T_max)) / 2.0


def warmup_lr(base_lr, step, warmup_steps):
    """lr = base_lr * min(1, (step + 1) / warmup_steps): the first update uses base_lr / warmup_steps."""
    return base_lr * min(1.0, (step + 1) / warmup_steps)


def warmup_cosine_lr(base_lr, step, warmup_steps, T_max, eta_min=0.0):
    """Linear warmup for ``warmup_steps`` steps, then cosine decay to eta_min at step T_max."""
    if step < warmup_steps:
        return warmup_lr(base_lr, step, warmup_steps)
    return cosine_lr(base_lr, step - warmup_steps, T_max - warmup_steps, eta_min)


def _positive_int(x, owner, what):
    _check(
        isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x > 0,
        owner,
        f"{what} must be a positive int, got {x!r}",
    )
    return int(x)


class LRScheduler:
    """Base class: remembers the optimiser's lr as ``base_lr`` and sets ``optimizer.lr`` per step.

    ``last_step`` counts ``step()`` calls; construction sets the lr for step 0.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected a bpkit optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_step = 0
        optimizer.lr = self.get_lr()

    def get_lr(self):
        """The learning rate for the current ``last_step``."""
        raise NotImplementedError

    def step(self):
        """Advance one step and set the optimiser's lr; return the new lr."""
        self.last_step += 1
        self.optimizer.lr = self.get_lr()
        return self.optimizer.lr

    def _settings(self):
        return ""

    def __repr__(self):
        return (
            f"{type(self).__name__}({self._settings()}, base_lr={_fmt(self.base_lr)}, "
            f"last_step={self.last_step})"
        )


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** floor(last_step / step_size): divide by 1/gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _positive_int(step_size, "StepLR", "step_size")
        _check(_is_number(gamma) and gamma > 0, "StepLR", f"gamma must be > 0, got {gamma!r}")
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def get_lr(self):
        return step_lr(self.base_lr, self.last_step, self.step_size, self.gamma)

    def _settings(self):
        return f"step_size={self.step_size}, gamma={_fmt(self.gamma)}"


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2, t = min(last_step, T_max)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _positive_int(T_max, "CosineAnnealingLR", "T_max")
        _check(
            _is_number(eta_min) and eta_min >= 0,
            "CosineAnnealingLR",
            f"eta_min must be >= 0, got {eta_min!r}",
        )
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        return cosine_lr(self.base_lr, self.last_step, self.T_max, self.eta_min)

    def _settings(self):
        return f"T_max={self.T_max}, eta_min={_fmt(self.eta_min)}"


class LinearWarmup(LRScheduler):
    """lr = base_lr * min(1, (last_step + 1) / warmup_steps), then base_lr for good."""

    def __init__(self, optimizer, warmup_steps):
        self.warmup_steps = _positive_int(warmup_steps, "LinearWarmup", "warmup_steps")
        super().__init__(optimizer)

    def get_lr(self):
        return warmup_lr(self.base_lr, self.last_step, self.warmup_steps)

    def _settings(self):
        return f"warmup_steps={self.warmup_steps}"


class WarmupCosineLR(LRScheduler):
    """Linear warmup over ``warmup_steps``, then cosine decay to ``eta_min`` at step ``T_max``."""

    def __init__(self, optimizer, warmup_steps, T_max, eta_min=0.0):
        self.warmup_steps = _positive_int(warmup_steps, "WarmupCosineLR", "warmup_steps")
        self.T_max = _positive_int(T_max, "WarmupCosineLR", "T_max")
        _check(
            self.T_max > self.warmup_steps,
            "WarmupCosineLR",
            f"T_max ({T_max}) must be larger than warmup_steps ({warmup_steps})",
        )
        _check(
            _is_number(eta_min) and eta_min >= 0,
            "WarmupCosineLR",
            f"eta_min must be >= 0, got {eta_min!r}",
        )
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        return warmup_cosine_lr(
            self.base_lr, self.last_step, self.warmup_steps, self.T_max, self.eta_min
        )

    def _settings(self):
        return f"warmup_steps={self.warmup_steps}, T_max={self.T_max}, eta_min={_fmt(self.eta_min)}"
