"""Checkers for backward passes of layers, activations and losses (lectures 3, 4, 8, 9).

Each checker computes the right answer in plain numpy, lists what the classic
mistakes would return on the same inputs, and lets ``Exercise`` compare. All
shapes are non-square and all sizes differ (N != D != M), so a transpose or a
sum over the wrong axis cannot hide.
"""

import inspect

import numpy as np

from bpkit.check._core import Bug, Exercise, checker

__all__ = [
    "linear_backward",
    "relu_backward",
    "sigmoid_backward",
    "tanh_backward",
    "softmax_cross_entropy_backward",
    "mse_backward",
    "unbroadcast",
    "batchnorm_backward",
    "rnn_step_backward",
]


def _normal(rng, *shape, scale=1.0):
    return rng.normal(scale=scale, size=shape)


def _away_from_zero(rng, *shape):
    """Normal samples nudged away from 0, where relu has its kink."""
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < 0.05, np.copysign(0.05, x), x)


# --- linear ------------------------------------------------------------------------------------
def _linear_reference(dout, x, W, b):
    """out = x @ W + b;  dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch."""
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


@checker
def linear_backward(student_fn):
    """Check ``linear_backward(dout, x, W, b) -> (dx, dW, db)`` for ``out = x @ W + b``.

    Inputs: x (N, D), W (D, M), b (M,), dout = dLoss/dout (N, M), all float64 ndarrays.
    Return a tuple of three ndarrays: dx (N, D), dW (D, M), db (M,).
    Recognises: dW transposed, dx/dW swapped, dx = dout (the output's gradient),
    db not summed over the batch / summed over the wrong axis / over everything,
    mean instead of sum (a factor N, in dx, dW or db), sign flips, keepdims shapes, inputs
    changed in place.
    """
    ex = Exercise(
        "linear_backward",
        student_fn,
        returns=("dx", "dW", "db"),
        signature="linear_backward(dout, x, W, b) -> (dx, dW, db)",
        like={"dx": "x", "dW": "W", "db": "b"},
        formulas={"dx": "dx = dout @ W.T", "dW": "dW = x.T @ dout", "db": "db = dout.sum(axis=0)"},
        reference=_linear_reference,
    )
    for seed, (N, D, M) in enumerate([(4, 5, 3), (6, 3, 7), (8, 64, 10), (1, 4, 2)]):
        rng = np.random.default_rng(seed)
        x, W, b, dout = _normal(rng, N, D), _normal(rng, D, M), _normal(rng, M), _normal(rng, N, M)
        dx, dW, db = _linear_reference(dout, x, W, b)
        bugs = [
            Bug("dx and dW are swapped: return (dx, dW, db) in this order", dx=dW, dW=dx),
            Bug(
                "dx is dout itself: that is the gradient w.r.t. the layer's output, not its "
                "input. Push it back through W: dx = dout @ W.T",
                dx=dout,
            ),
            Bug(
                f"db has shape {dout.shape}, the shape of dout: b was broadcast over the {N} rows "
                "of the batch, so its gradient is dout summed over them: db = dout.sum(axis=0)",
                db=dout,
            ),
            Bug(
                f"db has shape ({N},): you summed over the wrong axis. Sum over the batch "
                "(axis=0) to get one entry per output unit, like b: db = dout.sum(axis=0)",
                db=dout.sum(axis=1),
            ),
            Bug(
                "db is a single number: you summed over every axis. Sum over the batch only: "
                "db = dout.sum(axis=0)",
                db=dout.sum(),
            ),
        ]
        ex.case(dict(dout=dout, x=x, W=W, b=b), dict(dx=dx, dW=dW, db=db), bugs)
    ex.passed()


# --- elementwise activations ---------------------------------------------------------------------
@checker
def relu_backward(student_fn):
    """Check ``relu_backward(dout, x) -> dx`` for ``out = relu(x) = max(x, 0)``.

    Inputs: dout (N, D) the upstream gradient, x (N, D) the input of relu.
    Return dx (N, D) = dout where x > 0, else 0.
    Recognises: forgot dout (returned the mask), forgot the derivative (returned dout),
    mask taken on dout instead of x, x * dout, returned relu(x), dout changed in place.
    """
    ex = Exercise(
        "relu_backward",
        student_fn,
        returns="dx",
        signature="relu_backward(dout, x) -> dx",
        like={"dx": "x"},
        formulas={"dx": "dx = dout * (x > 0)"},
        reference=lambda dout, x: dout * (x > 0),
    )
    for seed, (N, D) in enumerate([(4, 6), (7, 3), (32, 10)]):
        rng = np.random.default_rng(100 + seed)
        dout, x = _away_from_zero(rng, N, D), _away_from_zero(rng, N, D)
        mask = (x > 0).astype(np.float64)
        bugs = [
            Bug(
                "dx is the mask (x > 0): you forgot to multiply by the upstream gradient dout: "
                "dx = dout * (x > 0)",
                dx=mask,
            ),
            Bug(
                "dx is dout unchanged: you forgot relu's derivative, which blocks the gradient "
                "where x <= 0: dx = dout * (x > 0)",
                dx=dout,
            ),
            Bug(
                "you masked on dout > 0; the mask comes from relu's input: dx = dout * (x > 0)",
                dx=dout * (dout > 0),
            ),
            Bug(
                "dx = x * dout: relu's derivative is 1 or 0, not x: dx = dout * (x > 0)",
                dx=x * dout,
            ),
            Bug(
                "dx is relu(x), the forward pass; the backward pass returns dout * (x > 0)",
                dx=np.maximum(x, 0),
            ),
        ]
        ex.case(dict(dout=dout, x=x), mask * dout, bugs)
    ex.passed()


def _second_argument(fn):
    """The name the learner gave the second parameter, or None."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return names[1] if len(names) > 1 else None


def _activation_bugs(name, var, dout, x, out, local, derivative_text, argument=None):
    """Mistakes sigmoid and tanh share: derivative at x, missing dout, missing derivative.

    ``argument``: the learner's name for the second parameter, quoted when it is not x.
    """
    called = (
        f" (your function calls it `{argument}`)" if argument and argument not in ("x", "X") else ""
    )
    return [
        Bug(
            f"this checker passes the pre-activation x{called}, not the output: compute "
            f"{var} = {name}(x) first. You put x itself into {derivative_text}, a form of the "
            f"derivative that takes the OUTPUT {var} = {name}(x) (lecture 03's "
            f"{name}_backward(dA, A) received the output A; this exercise's {name}_backward(dout, "
            "x) receives the input)",
            dx=dout * local(x),
        ),
        Bug(
            f"dx is {name}'s derivative alone: you forgot to multiply by the upstream gradient "
            f"dout: dx = dout * {derivative_text}",
            dx=local(out),
        ),
        Bug(
            f"dx is dout unchanged: you forgot {name}'s derivative: dx = dout * {derivative_text}",
            dx=dout,
        ),
        Bug(
            f"dx is {name}(x) (or dout * {name}(x)): that is the forward pass, not its "
            f"derivative: dx = dout * {derivative_text}",
            dx=out,
        ),
        Bug(
            f"dx = dout * {name}(x) misses a factor: dx = dout * {derivative_text}",
            dx=dout * out,
        ),
    ]


@checker
def sigmoid_backward(student_fn):
    """Check ``sigmoid_backward(dout, x) -> dx`` for ``out = sigmoid(x) = 1 / (1 + exp(-x))``.

    Inputs: dout (N, D) the upstream gradient, x (N, D) the PRE-activation.
    Return dx (N, D) = dout * s * (1 - s) with s = sigmoid(x).
    Recognises: x * (1 - x) (derivative at the pre-activation: the lecture's
    sigmoid_backward(dA, A) took the output), forgot dout, forgot the derivative,
    returned sigmoid(x), dout * s, sign flips.
    """
    ex = Exercise(
        "sigmoid_backward",
        student_fn,
        returns="dx",
        signature="sigmoid_backward(dout, x) -> dx",
        like={"dx": "x"},
        formulas={"dx": "s = 1 / (1 + np.exp(-x)); dx = dout * s * (1 - s)"},
        reference=lambda dout, x: dout / (2 + np.exp(-x) + np.exp(x)),
    )
    argument = _second_argument(student_fn)
    for seed, (N, D) in enumerate([(4, 6), (7, 3), (32, 10)]):
        rng = np.random.default_rng(200 + seed)
        dout, x = _normal(rng, N, D), _normal(rng, N, D, scale=2.0)
        s = 1.0 / (1.0 + np.exp(-x))
        bugs = _activation_bugs(
            "sigmoid", "s", dout, x, s, lambda u: u * (1 - u), "s * (1 - s)", argument
        )
        ex.case(dict(dout=dout, x=x), dout * s * (1 - s), bugs)
    ex.passed()


@checker
def tanh_backward(student_fn):
    """Check ``tanh_backward(dout, x) -> dx`` for ``out = tanh(x)``.

    Inputs: dout (N, D) the upstream gradient, x (N, D) the PRE-activation.
    Return dx (N, D) = dout * (1 - t**2) with t = tanh(x).
    Recognises: 1 - x**2 (derivative at the pre-activation: the lecture's
    tanh_backward(dA, A) took the output), forgot dout, forgot the derivative,
    returned tanh(x), 1 - t (forgot the square), (1 - t)**2 (squared the wrong
    thing), sign flips.
    """
    ex = Exercise(
        "tanh_backward",
        student_fn,
        returns="dx",
        signature="tanh_backward(dout, x) -> dx",
        like={"dx": "x"},
        formulas={"dx": "t = np.tanh(x); dx = dout * (1 - t**2)"},
        reference=lambda dout, x: dout * (1 - np.tanh(x) ** 2),
    )
    argument = _second_argument(student_fn)
    for seed, (N, D) in enumerate([(4, 6), (7, 3), (32, 10)]):
        rng = np.random.default_rng(300 + seed)
        dout, x = _normal(rng, N, D), _normal(rng, N, D)
        t = np.tanh(x)
        bugs = _activation_bugs("tanh", "t", dout, x, t, lambda u: 1 - u**2, "(1 - t**2)", argument)
        bugs += [
            Bug("you forgot the square: tanh' = 1 - t**2, not 1 - t", dx=dout * (1 - t)),
            Bug(
                "you squared the wrong thing: (1 - t)**2 squares the difference; tanh's "
                "derivative is 1 - t**2, the square of t = tanh(x) subtracted from 1",
                dx=dout * (1 - t) ** 2,
            ),
        ]
        ex.case(dict(dout=dout, x=x), dout * (1 - t**2), bugs)
    ex.passed()


# --- losses ---------------------------------------------------------------------------------------
def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_cross_entropy_reference(logits, y):
    """L = mean_n -log softmax(logits_n)[y_n];  dL/dlogits = (softmax(logits) - onehot(y)) / N."""
    N = logits.shape[0]
    onehot = np.zeros_like(logits)
    onehot[np.arange(N), y] = 1.0
    return (_softmax(logits, axis=1) - onehot) / N


@checker
def softmax_cross_entropy_backward(student_fn):
    """Check ``softmax_cross_entropy_backward(logits, y) -> dlogits``.

    The loss is the cross-entropy of softmax(logits) with integer labels, averaged
    over the batch: L = mean_n -log softmax(logits[n])[y[n]].
    Inputs: logits (N, C) float64, y (N,) int64 labels in 0..C-1 (N != C).
    Return dlogits (N, C) = (softmax(logits) - onehot(y)) / N.
    Recognises: sum instead of mean (factor N), divided by C, forgot the one-hot,
    sign flip, softmax over the wrong axis, logits used as probabilities,
    `p[:, y] -= 1`, overflow on large logits (subtract the max), the max of the whole
    array instead of each row's (rows far apart), (loss, dlogits) returned, logits
    changed in place.
    """
    ex = Exercise(
        "softmax_cross_entropy_backward",
        student_fn,
        returns="dlogits",
        signature="softmax_cross_entropy_backward(logits, y) -> dlogits",
        like={"dlogits": "logits"},
        formulas={"dlogits": "(softmax(logits, axis=1) - onehot(y)) / N"},
        reference=_softmax_cross_entropy_reference,
    )
    # (N, C, scale, row offsets). The last case puts whole rows about 2000 apart: exp(row -
    # global max) underflows to 0 in all of a low row, so only each row's OWN max keeps it finite.
    apart = np.array([1000.0, -1000.0, 998.0, -999.0])
    cases = [(5, 3, 1.0, 0.0), (4, 7, 3.0, 0.0), (16, 10, 1.0, 0.0), (3, 4, 1000.0, 0.0)]
    cases.append((4, 3, 1.0, apart[:, None]))
    for seed, (N, C, scale, offsets) in enumerate(cases):
        rng = np.random.default_rng(400 + seed)
        logits = offsets + _normal(rng, N, C, scale=scale)
        y = rng.integers(0, C, size=N)
        p = _softmax(logits, axis=1)
        onehot = np.zeros_like(p)
        onehot[np.arange(N), y] = 1.0
        every_row = p.copy()
        every_row[:, y] -= 1.0
        # How far each row's max sits below the whole array's: after subtracting the global
        # max, a row 50 or more below has exps under 1e-21, which 0/0 guards (+ eps) turn into 0.
        gaps = logits.max() - logits.max(axis=1)
        far = gaps > 50
        bugs = [
            Bug(
                f"dlogits is N = {N} times too large: the loss is the MEAN over the batch, so "
                "divide by N: (softmax - onehot) / N",
                dlogits=p - onehot,
            ),
            Bug(
                f"you divided by C = {C}, the number of classes; divide by N = {N}, the batch size",
                dlogits=(p - onehot) / C,
            ),
            Bug(
                "you forgot to subtract the one-hot labels: "
                "dlogits = (softmax(logits) - onehot(y)) / N",
                dlogits=p / N,
            ),
            Bug("you forgot to subtract the one-hot labels and to divide by N", dlogits=p),
            Bug(
                "softmax over the wrong axis: each ROW holds one example's C class scores, so "
                "normalise along axis=1 (each row of probabilities sums to 1)",
                dlogits=(_softmax(logits, axis=0) - onehot) / N,
            ),
            Bug(
                "you used the logits where the probabilities belong: apply softmax first, "
                "p = softmax(logits); dlogits = (p - onehot) / N",
                dlogits=(logits - onehot) / N,
            ),
            Bug(
                "`p[:, y] -= 1` subtracts 1 in EVERY row for every label in y; take one entry per "
                "row: p[np.arange(N), y] -= 1",
                dlogits=every_row / N,
            ),
        ]
        low = int(np.argmax(gaps))
        row_max = (
            "subtract each row's own max (axis=1, keepdims=True), not the max of the whole "
            f"array: row {low} here sits {gaps[low]:.0f} below the largest logit, so after "
            "subtracting the global max every exp in that row is 0, or nearly"
        )
        if far.any():
            zeroed = p.copy()
            zeroed[far] = 0.0
            bugs.append(Bug(row_max, dlogits=(zeroed - onehot) / N))
        if np.ndim(offsets):
            large = row_max + ", and 0 / 0 is NaN"
        elif scale > 100:
            large = (
                f"the logits here are about {scale:g}, and exp({scale:g}) overflows. Subtract "
                "each row's max before exp: softmax(z) = softmax(z - z.max(axis=1, "
                "keepdims=True)), the same answer with every exp <= 1"
            )
        else:
            large = None
        ex.case(
            dict(logits=logits, y=y),
            _softmax_cross_entropy_reference(logits, y),
            bugs,
            nonfinite_hint=large,
            terms={"onehot(y)": onehot, "softmax(logits)": p},
            mutation_hint="e.g. `logits -= logits.max(axis=1, keepdims=True)` shifts the caller's "
            "logits; write `shifted = logits - logits.max(axis=1, keepdims=True)`",
        )
    ex.passed()


@checker
def mse_backward(student_fn):
    """Check ``mse_backward(y_hat, y) -> dy_hat`` for L = mean over ALL elements of (y_hat - y)**2.

    Inputs: y_hat and y, float64 ndarrays of the same shape (N, K).
    Return dy_hat (N, K) = 2 * (y_hat - y) / y_hat.size.
    Recognises: forgot the 2, sum instead of mean, divided by N (rows) instead of
    every element, sign (y - y_hat).
    """
    ex = Exercise(
        "mse_backward",
        student_fn,
        returns="dy_hat",
        signature="mse_backward(y_hat, y) -> dy_hat",
        like={"dy_hat": "y_hat"},
        formulas={"dy_hat": "dy_hat = 2 * (y_hat - y) / y_hat.size"},
        reference=lambda y_hat, y: 2 * (y_hat - y) / y_hat.size,
    )
    # K != 2: with two columns, dividing by N (the rows) would look like a factor 2 too many.
    for seed, (N, K) in enumerate([(5, 3), (4, 6), (8, 5)]):
        rng = np.random.default_rng(500 + seed)
        y_hat, y = _normal(rng, N, K), _normal(rng, N, K)
        diff, size = y_hat - y, N * K
        bugs = [
            Bug(
                "you forgot the factor 2 from the square: d/dy_hat (y_hat - y)**2 = 2 (y_hat - y)",
                dy_hat=diff / size,
            ),
            Bug(
                f"you divided by N = {N} (the rows), but the mean is over all {N} x {K} = {size} "
                "elements: divide by y_hat.size",
                dy_hat=2 * diff / N,
            ),
            Bug("you forgot both the factor 2 and the 1/size of the mean", dy_hat=diff),
        ]
        ex.case(dict(y_hat=y_hat, y=y), 2 * diff / size, bugs)
    ex.passed()


# --- broadcasting ------------------------------------------------------------------------------
def _sum_to(grad, shape, stretched=True, keepdims=True, reduce=np.sum):
    """Reduce ``grad`` to ``shape``; the switches build the classic partial versions."""
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = reduce(grad, axis=tuple(range(extra)))
    if stretched:
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if axes:
            grad = reduce(grad, axis=axes, keepdims=keepdims)
    return grad


@checker
def unbroadcast(student_fn):
    """Check ``unbroadcast(grad, shape) -> ndarray`` of shape ``shape``.

    An input of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass
    (numpy adds leading axes and stretches size-1 axes). Return ``grad`` summed over
    those axes, with exactly the shape ``shape`` (a tuple; may be ``()``).
    Recognises: mean instead of sum, dropped size-1 axes (no keepdims), only the
    leading axes handled, grad returned unchanged (e.g. only stretched axes handled).
    """
    ex = Exercise(
        "unbroadcast",
        student_fn,
        returns="result",
        signature="unbroadcast(grad, shape) -> ndarray",
        formulas={
            "result": "sum over the leading axes numpy added, then (keepdims=True) over the "
            "axes that are 1 in shape"
        },
    )
    cases = [
        ((4, 3), (3,)),
        ((4, 3), (1, 3)),
        ((2, 4, 3), (4, 1)),
        ((5, 4, 3), (5, 1, 3)),
        ((3, 4), (3, 4)),
        ((2, 3), ()),
    ]
    for seed, (grad_shape, shape) in enumerate(cases):
        rng = np.random.default_rng(600 + seed)
        grad = _normal(rng, *grad_shape)
        extra = len(grad_shape) - len(shape)
        bugs = [
            Bug(
                "you took the mean over the broadcast axes: a broadcast input was copied to every "
                "position, and each copy sends back its gradient, so they add up: use sum",
                result=_sum_to(grad, shape, reduce=np.mean),
            ),
            Bug(
                f"you dropped a size-1 axis: the result must have exactly shape {shape}; sum with "
                "keepdims=True over the axes that were stretched from 1",
                result=_sum_to(grad, shape, keepdims=False),
            ),
            Bug(
                "you only summed the leading axes numpy added; also sum (keepdims=True) over the "
                f"axes that are 1 in shape {shape} but longer in grad",
                result=_sum_to(grad, shape, stretched=False),
            ),
            Bug(
                f"you returned grad unchanged (shape {grad.shape}); sum it to shape {shape}: "
                + (f"first over the {extra} leading axes numpy added, then " if extra else "")
                + "over the axes that are 1 in shape (keepdims=True)",
                result=grad,
            ),
        ]
        ex.case(dict(grad=grad, shape=shape), _sum_to(grad, shape), bugs)
    ex.passed()


# --- batch normalisation -------------------------------------------------------------------------
def _batchnorm_reference(dout, x, gamma, eps, ddof=0):
    """y = gamma * xhat + beta, xhat = (x - mu) / sqrt(var + eps), batch statistics over axis 0.

    dx = (dxhat - mean(dxhat) - (x - mu) * sum(dxhat * (x - mu)) / ((N - ddof) (var + eps)))
         / sqrt(var + eps), with dxhat = dout * gamma (ddof=0: the biased variance).
    """
    N = x.shape[0]
    centred = x - x.mean(axis=0)
    var = (centred**2).sum(axis=0) / (N - ddof)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = centred * inv_std
    dxhat = dout * gamma
    through_var = centred * inv_std**2 * (dxhat * centred).sum(axis=0) / (N - ddof)
    dx = inv_std * (dxhat - dxhat.mean(axis=0) - through_var)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _batchnorm_named(dout, x, gamma, eps=1e-5, xhat=None):
    """The reference as a dict; ``xhat`` replaces x-hat in dgamma (to test "x for x-hat")."""
    dx, dgamma, dbeta = _batchnorm_reference(dout, x, gamma, eps)
    if xhat is not None:
        dgamma = (dout * xhat).sum(axis=0)
    return dict(dx=dx, dgamma=dgamma, dbeta=dbeta)


@checker
def batchnorm_backward(student_fn):
    """Check ``batchnorm_backward(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta)``.

    Forward (training mode): mu = x.mean(axis=0), var = x.var(axis=0) (biased, /N),
    xhat = (x - mu) / sqrt(var + eps), out = gamma * xhat + beta.
    Inputs: dout (N, D), x (N, D), gamma (D,), eps a float (default 1e-5; the checker
    passes it by keyword once). Return ndarrays dx (N, D), dgamma (D,), dbeta (D,).
    Recognises: dgamma/dbeta not summed over the batch or swapped, mu and var treated
    as constants, the path through the mean or through the variance missing, the
    unbiased variance (N-1), forgot gamma, eps ignored, transposes, sign flips.
    """
    ex = Exercise(
        "batchnorm_backward",
        student_fn,
        returns=("dx", "dgamma", "dbeta"),
        signature="batchnorm_backward(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta)",
        like={"dx": "x", "dgamma": "gamma", "dbeta": "gamma"},
        formulas={
            "dx": "dxhat = dout * gamma; dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * "
            "xhat).mean(0)) / sqrt(var + eps)",
            "dgamma": "dgamma = (dout * xhat).sum(axis=0)",
            "dbeta": "dbeta = dout.sum(axis=0)",
        },
        reference=_batchnorm_named,
    )
    for seed, (N, D, eps) in enumerate([(6, 4, None), (5, 8, 1e-3), (10, 3, None)]):
        rng = np.random.default_rng(700 + seed)
        x = 2.0 + 1.5 * _normal(rng, N, D)
        gamma, dout = rng.uniform(0.5, 1.5, size=D), _normal(rng, N, D)
        used_eps = 1e-5 if eps is None else eps
        dx, dgamma, dbeta = _batchnorm_reference(dout, x, gamma, used_eps)
        centred = x - x.mean(axis=0)
        inv_std = 1.0 / np.sqrt(x.var(axis=0) + used_eps)
        xhat, dxhat = centred * inv_std, dout * gamma
        unbiased = _batchnorm_reference(dout, x, gamma, used_eps, ddof=1)
        bugs = [
            Bug(
                f"dbeta has shape {dout.shape}: beta is added to every row, so its gradient is "
                "summed over the batch: dbeta = dout.sum(axis=0)",
                dbeta=dout,
            ),
            Bug(
                f"dgamma has shape {dout.shape}: gamma scales every row, so its gradient is "
                "summed over the batch: dgamma = (dout * xhat).sum(axis=0)",
                dgamma=dout * xhat,
            ),
            Bug(
                "you treated the batch mean and variance as constants: dx = dout * gamma / "
                "sqrt(var + eps) is only the direct path. mu and var are computed from every x "
                "in the batch, so dx has two more terms, through mu and through var",
                dx=dxhat * inv_std,
            ),
            Bug(
                "dx has the path through the mean but not the one through the variance: "
                "var depends on every x too (the term - xhat * (dxhat * xhat).mean(0))",
                dx=inv_std * (dxhat - dxhat.mean(axis=0)),
            ),
            Bug(
                "dx has the path through the variance but not the one through the mean: "
                "mu depends on every x too (the term - dxhat.mean(0))",
                dx=inv_std * (dxhat - xhat * (dxhat * xhat).mean(axis=0)),
            ),
            Bug(
                "you used the unbiased variance (dividing by N-1); batch norm normalises with the "
                "biased batch variance, divided by N (np.var's default, ddof=0)",
                dx=unbiased[0],
                dgamma=unbiased[1],
            ),
            Bug(
                "you forgot gamma: the gradient reaching xhat is dout * gamma",
                dx=_batchnorm_reference(dout, x, np.ones(D), used_eps)[0],
            ),
        ]
        if eps is not None:
            ignored = _batchnorm_reference(dout, x, gamma, 1e-5)
            bugs.append(
                Bug(
                    f"you ignored the eps argument (this case passes eps={eps:g}; you used 1e-5)",
                    dx=ignored[0],
                    dgamma=ignored[1],
                )
            )
        kwargs = {} if eps is None else {"eps": eps}
        ex.case(
            dict(dout=dout, x=x, gamma=gamma),
            dict(dx=dx, dgamma=dgamma, dbeta=dbeta),
            bugs,
            kwargs=kwargs,
            alternatives={"xhat": {"x": x}},
        )
    ex.passed()


# --- recurrent cell -------------------------------------------------------------------------------
def _rnn_grads(da, x, h_prev, Wx, Wh):
    """Given da = dLoss/da at the pre-activation, the five gradients of the RNN step."""
    return dict(dx=da @ Wx.T, dh_prev=da @ Wh.T, dWx=x.T @ da, dWh=h_prev.T @ da, db=da.sum(axis=0))


def _rnn_reference(dh_next, x, h_prev, Wx, Wh, b):
    h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
    return _rnn_grads(dh_next * (1 - h_next**2), x, h_prev, Wx, Wh)


@checker
def rnn_step_backward(student_fn):
    """Check ``rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b) -> (dx, dh_prev, dWx, dWh, db)``.

    Forward: a = x @ Wx + h_prev @ Wh + b, h_next = tanh(a).
    Inputs: dh_next (N, H), x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,).
    Return ndarrays dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,).
    Recognises: forgot tanh's derivative, derivative at the pre-activation
    (1 - a**2), forgot dh_next, dWx/dWh swapped, dx/dh_prev swapped, Wh not
    transposed in dh_prev, transposes, db not summed over the batch, sign flips.
    """
    ex = Exercise(
        "rnn_step_backward",
        student_fn,
        returns=("dx", "dh_prev", "dWx", "dWh", "db"),
        signature="rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b) -> (dx, dh_prev, dWx, dWh, db)",
        like={"dx": "x", "dh_prev": "h_prev", "dWx": "Wx", "dWh": "Wh", "db": "b"},
        formulas={
            "dx": "da = dh_next * (1 - h_next**2); dx = da @ Wx.T",
            "dh_prev": "dh_prev = da @ Wh.T",
            "dWx": "dWx = x.T @ da",
            "dWh": "dWh = h_prev.T @ da",
            "db": "db = da.sum(axis=0)",
        },
        reference=_rnn_reference,
    )
    for seed, (N, D, H) in enumerate([(4, 3, 5), (2, 6, 3), (7, 2, 4)]):
        rng = np.random.default_rng(800 + seed)
        x, h_prev = _normal(rng, N, D), np.tanh(_normal(rng, N, H))
        Wx, Wh, b = (
            _normal(rng, D, H, scale=0.5),
            _normal(rng, H, H, scale=0.5),
            _normal(rng, H, scale=0.1),
        )
        dh_next = _normal(rng, N, H)
        a = x @ Wx + h_prev @ Wh + b
        h_next = np.tanh(a)
        da = dh_next * (1 - h_next**2)
        right = _rnn_grads(da, x, h_prev, Wx, Wh)
        bugs = [
            Bug(
                "you forgot tanh's derivative: the gradient reaching the pre-activation a is "
                "da = dh_next * (1 - h_next**2), not dh_next",
                **_rnn_grads(dh_next, x, h_prev, Wx, Wh),
            ),
            Bug(
                "you took tanh's derivative at the pre-activation: it is 1 - tanh(a)**2 = "
                "1 - h_next**2, not 1 - a**2",
                **_rnn_grads(dh_next * (1 - a**2), x, h_prev, Wx, Wh),
            ),
            Bug(
                "you forgot the upstream gradient dh_next: da = dh_next * (1 - h_next**2)",
                **_rnn_grads(1 - h_next**2, x, h_prev, Wx, Wh),
            ),
            Bug(
                "dWx and dWh are swapped: return (dx, dh_prev, dWx, dWh, db)",
                dWx=right["dWh"],
                dWh=right["dWx"],
            ),
            Bug(
                "dx and dh_prev are swapped: return (dx, dh_prev, dWx, dWh, db)",
                dx=right["dh_prev"],
                dh_prev=right["dx"],
            ),
            Bug(
                "dh_prev uses Wh where Wh.T belongs (a square matrix, so the shapes still fit): "
                "dh_prev = da @ Wh.T",
                dh_prev=da @ Wh,
            ),
            Bug(
                f"db has shape {da.shape}: b is added to every row of the batch, so its gradient "
                "is summed over it: db = da.sum(axis=0)",
                db=da,
            ),
        ]
        inputs = dict(dh_next=dh_next, x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b)
        ex.case(inputs, right, bugs)
    ex.passed()
