"""`make bench`: bpkit's engines against honest baselines, side by side, with ratios.

(a) Value vs a plain-Python scalar engine (benchmarks/reference_scalar.py):
    one training step (forward, zero grad, backward, SGD update) of an MLP
    2-16-16-1 with tanh hidden units, hinge loss + L2, on 100 two-moons points.
(b) Tensor vs the same MLP 64-128-10 written by hand in numpy (and torch on
    CPU when it is importable): one epoch over 1,792 rows in batches of 64,
    relu hidden layer, softmax cross-entropy, SGD.

Every implementation starts from the same weights and must end with the same
loss (the max difference is printed), so a fast but wrong engine cannot win.
Times are the best of several repeats: absolute numbers on a shared 2-core
machine are noisy, the ratios much less so.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from reference_scalar import RefValue  # noqa: E402

from bpkit import Tensor, Value  # noqa: E402
from bpkit.functional import cross_entropy  # noqa: E402

TARGETS = {"value_vs_reference": 3.0, "tensor_vs_numpy": 1.5}


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# --- (a) scalar engines ------------------------------------------------------------------


def two_moons(n, rng):
    t = rng.uniform(0, np.pi, n)
    upper = np.arange(n) % 2 == 0
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    X = np.stack([x, y], axis=1) + rng.normal(0, 0.1, (n, 2))
    return X, np.where(upper, 1.0, -1.0)


def scalar_mlp_weights(sizes, rng):
    return [(rng.uniform(-1, 1, (n_in, n_out)), np.zeros(n_out)) for n_in, n_out in zip(sizes, sizes[1:])]


def make_scalar_step(cls, weights, X, y, lr=0.05):
    params = [[[cls(float(w)) for w in row] for row in W] for W, _ in weights]
    biases = [[cls(float(v)) for v in b] for _, b in weights]
    flat = [p for layer in params for row in layer for p in row] + [p for b in biases for p in b]
    data = [[float(v) for v in row] for row in X]
    labels = [float(v) for v in y]

    def forward(x):
        h = x
        for i, (W, b) in enumerate(zip(params, biases)):
            n_out = len(b)
            h = [sum((W[j][k] * h[j] for j in range(len(h))), b[k]) for k in range(n_out)]
            if i < len(params) - 1:
                h = [v.tanh() for v in h]
        return h[0]

    def step():
        scores = [forward(x) for x in data]
        losses = [(1 + -yi * s).relu() for yi, s in zip(labels, scores)]
        loss = sum(losses) * (1.0 / len(losses))
        loss = loss + 1e-4 * sum(p * p for p in flat)
        for p in flat:
            p.grad = 0.0
        loss.backward()
        for p in flat:
            p.data -= lr * p.grad
        return loss.data

    return step


def bench_scalar(repeats=3):
    rng = np.random.default_rng(0)
    X, y = two_moons(100, rng)
    weights = scalar_mlp_weights([2, 16, 16, 1], rng)
    results, losses = {}, {}
    for name, cls in [("bpkit Value", Value), ("reference (micrograd-style)", RefValue)]:
        step = make_scalar_step(cls, weights, X, y)
        losses[name] = [step() for _ in range(2)]  # two steps: the second loss depends on the update
        results[name] = best_time(step, repeats)
    return results, losses


# --- (b) tensor engines -------------------------------------------------------------------


def digits_like(rng, n=1792, features=64, classes=10):
    """Data of the digits' shape; values do not matter for timing, so generate them."""
    return rng.random((n, features)), rng.integers(0, classes, n)


def init_mlp(rng):
    return [rng.normal(0, np.sqrt(2 / 64), (64, 128)), np.zeros(128),
            rng.normal(0, np.sqrt(2 / 128), (128, 10)), np.zeros(10)]


def numpy_epoch(params, X, y, lr=0.1, batch_size=64):
    W1, b1, W2, b2 = params
    loss = 0.0
    for start in range(0, len(X), batch_size):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        n = len(x)
        h = x @ W1 + b1
        a = np.maximum(h, 0)
        z = a @ W2 + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        loss = (np.log(total).sum() - z[np.arange(n), t].sum()) / n
        dz = e / total
        dz[np.arange(n), t] -= 1
        dz /= n
        dW2 = a.T @ dz
        db2 = dz.sum(axis=0)
        dh = (dz @ W2.T) * (h > 0)
        dW1 = x.T @ dh
        db1 = dh.sum(axis=0)
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
    return float(loss)


def bpkit_epoch(params, X, y, lr=0.1, batch_size=64):
    W1, b1, W2, b2 = params
    loss = None
    for start in range(0, len(X), batch_size):
        x, t = Tensor(X[start:start + batch_size]), y[start:start + batch_size]
        loss = cross_entropy((x @ W1 + b1).relu() @ W2 + b2, t)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
    return loss.item()


def torch_epoch_factory(torch, init, X, y, lr=0.1, batch_size=64):
    params = [torch.tensor(p.copy(), requires_grad=True) for p in init]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch():
        W1, b1, W2, b2 = params
        loss = None
        for start in range(0, len(Xt), batch_size):
            x, t = Xt[start:start + batch_size], yt[start:start + batch_size]
            loss = torch.nn.functional.cross_entropy(torch.relu(x @ W1 + b1) @ W2 + b2, t)
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
        return loss.item()

    return epoch


def bench_tensor(repeats=15):
    rng = np.random.default_rng(0)
    X, y = digits_like(rng)
    init = init_mlp(rng)
    results, losses = {}, {}

    np_params = [p.copy() for p in init]
    losses["numpy by hand"] = numpy_epoch(np_params, X, y)
    results["numpy by hand"] = best_time(lambda: numpy_epoch(np_params, X, y), repeats)

    bp_params = [Tensor(p.copy(), requires_grad=True) for p in init]
    losses["bpkit Tensor"] = bpkit_epoch(bp_params, X, y)
    results["bpkit Tensor"] = best_time(lambda: bpkit_epoch(bp_params, X, y), repeats)

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        epoch = torch_epoch_factory(torch, init, X, y)
        losses["torch CPU"] = epoch()
        results[f"torch CPU ({torch.__version__}, {torch.get_num_threads()} threads)"] = best_time(epoch, repeats)
    return results, losses


def main():
    print("bpkit benchmarks (best of several repeats; ratios > 1 mean bpkit is faster)\n")

    times, losses = bench_scalar()
    ours, ref = times["bpkit Value"], times["reference (micrograd-style)"]
    diff = max(abs(a - b) for a, b in zip(losses["bpkit Value"], losses["reference (micrograd-style)"]))
    print("(a) scalar engines: one training step, MLP 2-16-16-1, hinge loss, 100 points")
    for name, t in times.items():
        print(f"    {name:<32} {t * 1e3:8.1f} ms")
    speedup = ref / ours
    verdict = "meets" if speedup >= TARGETS["value_vs_reference"] else "MISSES"
    print(f"    speed-up of Value over the reference: {speedup:.2f}x "
          f"({verdict} the {TARGETS['value_vs_reference']:.0f}x target); losses agree to {diff:.1e}\n")

    times, losses = bench_tensor()
    print("(b) tensor engines: one epoch, MLP 64-128-10, 1,792 rows, batches of 64")
    for name, t in times.items():
        print(f"    {name:<32} {t * 1e3:8.2f} ms")
    ours = times["bpkit Tensor"]
    ratio = ours / times["numpy by hand"]
    verdict = "meets" if ratio <= TARGETS["tensor_vs_numpy"] else "MISSES"
    print(f"    bpkit / numpy-by-hand time: {ratio:.2f} ({verdict} the <= {TARGETS['tensor_vs_numpy']} target)")
    torch_times = [t for name, t in times.items() if name.startswith("torch")]
    if torch_times:
        verdict = "faster" if ours < torch_times[0] else "SLOWER"
        print(f"    bpkit / torch CPU time: {ours / torch_times[0]:.2f} ({verdict} than torch)")
    else:
        print("    torch not installed: the torch comparison was skipped")
    spread = max(losses.values()) - min(losses.values())
    print(f"    final losses agree to {spread:.1e} " + ", ".join(f"{k}={v:.6f}" for k, v in losses.items()))


if __name__ == "__main__":
    main()
