"""Checkers for training a classifier (lecture 6): accuracy, confusion matrix, batches, backward.

``accuracy``, ``confusion_matrix`` and ``two_layer_backward`` compare values
with the shared ``Exercise`` machinery. ``minibatches`` checks properties
instead (every example once, pairs kept, a fresh but reproducible order), since
any shuffle is right as long as it comes from the ``rng`` it is given.

The predict-then-run questions of set 06, q06_batches_per_epoch and
q06_initial_loss, are registered here too (``check.answer``).
"""

import itertools
import math

import numpy as np

from bpkit.check._core import Bug, Exercise, checker
from bpkit.check.questions import Question, register
from bpkit.scalar import Value
from bpkit.tensor import Tensor

__all__ = ["accuracy", "confusion_matrix", "minibatches", "two_layer_backward"]


# --- accuracy -------------------------------------------------------------------------------------
def _logits_with_labels(rng, N, C, right):
    """(logits, y): ``right`` of the N rows have their largest logit at the label, no ties."""
    logits = rng.normal(size=(N, C))
    predicted = np.argmax(logits, axis=1)
    y = predicted.copy()
    wrong = rng.choice(N, size=N - right, replace=False)
    y[wrong] = (predicted[wrong] + rng.integers(1, C, size=len(wrong))) % C
    return logits, y


@checker
def accuracy(student_fn):
    """Check ``accuracy(logits, y) -> float``: the fraction of rows whose largest logit is at y.

    Inputs: logits (N, C) float64 class scores, one row per example; y (N,) int64 labels.
    Return one float in [0, 1] (the formula: ``check.reveal("accuracy")``).
    Recognises: the count instead of the fraction, a percentage, the error rate,
    argmax over the wrong axis (axis=0), keepdims=True broadcasting (N, 1) against (N,)
    into an (N, N) comparison, np.max instead of np.argmax, the per-example matches
    returned without their mean, logits changed in place.
    """
    ex = Exercise(
        "accuracy",
        student_fn,
        returns="accuracy",
        signature="accuracy(logits, y) -> float",
        formulas={"accuracy": "np.mean(np.argmax(logits, axis=1) == y)"},
        reference=lambda logits, y: float(np.mean(np.argmax(logits, axis=1) == y)),
    )
    # The square case comes first: there argmax over axis 0 runs, so it can be named.
    # The square case's seed makes argmax(axis=0) score 1/3, unlike any other bug; 5 of 6
    # right, so that the error rate 1/6 is no simple multiple of the accuracy 5/6.
    cases = [(6, 6, 5, 1303), (37, 10, 29, 1310), (9, 4, 5, 1311), (25, 3, 17, 1312)]
    for N, C, right, seed in cases:
        rng = np.random.default_rng(seed)
        logits, y = _logits_with_labels(rng, N, C, right)
        predicted = np.argmax(logits, axis=1)
        matches = (predicted == y).astype(np.float64)
        value = right / N
        bugs = [
            Bug(
                f"you returned the number of correct predictions ({right}); accuracy is the "
                f"FRACTION: divide by N = {N} (np.mean does it)",
                accuracy=float(right),
            ),
            Bug(
                "that is the error rate, 1 - accuracy: count the rows where the prediction "
                "EQUALS the label",
                accuracy=1 - value,
            ),
            Bug(
                "you returned one match per example (an array); accuracy is ONE number, the "
                "fraction of those matches that are True",
                accuracy=matches,
            ),
            Bug(
                "your predictions have shape (N, 1) (keepdims=True?), and comparing them with y "
                "of shape (N,) broadcasts to an (N, N) table of every prediction against every "
                "label. The predictions must have y's shape, (N,)",
                accuracy=float(np.mean(predicted[:, None] == y[None, :])),
            ),
            Bug(
                "np.max gives the largest SCORE; the predicted class is its POSITION: np.argmax",
                accuracy=float(np.mean(np.max(logits, axis=1) == y)),
            ),
        ]
        if N == C:  # only here does argmax over axis 0 run (elsewhere it raises in their code)
            bugs.append(
                Bug(
                    "argmax over the wrong axis: each ROW is one example, and its C scores run "
                    "along axis 1: one prediction per row, not one per class",
                    accuracy=float(np.mean(np.argmax(logits, axis=0) == y)),
                )
            )
        ex.case(
            dict(logits=logits, y=y),
            value,
            bugs,
            mutation_hint="accuracy only reads logits and y",
        )
    ex.passed("accuracy matches to 1e-8")


# --- confusion matrix -----------------------------------------------------------------------------
def _counts(y_true, y_pred, C):
    """C[i, j] = number of n with y_true[n] == i and y_pred[n] == j, by a plain loop."""
    matrix = np.zeros((C, C))
    for t, p in zip(y_true, y_pred):
        matrix[t, p] += 1
    return matrix


def _as_float_matrix(got):
    """Integer or float ndarrays become float64 for comparing; the rest is left to diagnose."""
    if isinstance(got, np.ndarray) and got.dtype.kind in "iuf":
        return got.astype(np.float64)
    return got


@checker
def confusion_matrix(student_fn):
    """Check ``confusion_matrix(y_true, y_pred, num_classes) -> C``, C[i, j] = #(true i, pred j).

    Inputs: y_true and y_pred (N,) int64 labels in 0..num_classes-1; num_classes an int
    (some classes may never occur). Return a (num_classes, num_classes) ndarray of counts
    (any integer or float dtype): rows are TRUE classes, columns PREDICTED classes.
    Recognises: transposed (rows = predicted), ``C[y_true, y_pred] += 1`` counting a
    repeated pair once, the size taken from the largest label instead of num_classes,
    one row and column too many, labels shifted by one, normalised rows or total,
    a loop that misses the first or the last example, inputs changed in place.
    Set 06's find-the-bug item (``fix_confusion_matrix``) is checked here too.
    """
    ex = Exercise(
        "confusion_matrix",
        student_fn,
        returns="C",
        signature="confusion_matrix(y_true, y_pred, num_classes) -> C",
        formulas={"C": "C[i, j] = number of examples with y_true == i and y_pred == j"},
        reference=lambda y_true, y_pred, num_classes: _counts(y_true, y_pred, num_classes),
    )
    # (N, num_classes, classes that occur): the second case never uses its last class.
    cases = [(40, 4, 4), (30, 5, 4), (25, 3, 3)]
    for seed, (N, C, used) in enumerate(cases):
        rng = np.random.default_rng(1400 + seed)
        y_true = rng.integers(0, used, size=N)
        # Mostly right, with errors that are not symmetric, so a transpose cannot hide.
        y_pred = np.where(rng.random(N) < 0.6, y_true, (y_true + 1) % used)
        right = _counts(y_true, y_pred, C)
        largest = int(max(y_true.max(), y_pred.max())) + 1
        padded = np.zeros((C + 1, C + 1))
        padded[:C, :C] = right
        bugs = [
            Bug(
                "your matrix is transposed: rows must be the TRUE class and columns the "
                "PREDICTED class",
                C=right.T,
            ),
            Bug(
                "each (true, predicted) pair is counted at most once, however often it occurs: "
                "with index arrays, `C[y_true, y_pred] += 1` first reads all the entries, adds 1 "
                "and then writes them back, so a repeated pair is written the same value again. "
                "Count one example at a time, or with an unbuffered addition (numpy's ufuncs "
                "have an `.at` method)",
                C=(right > 0).astype(np.float64),
            ),
            Bug(
                f"your matrix is {largest}x{largest}, sized from the largest label that occurs; "
                f"use num_classes = {C}: a class may never occur in this data, and it still needs "
                "its row and column",
                C=right[:largest, :largest],
            ),
            Bug(
                f"one row and one column too many ({C + 1}x{C + 1}): labels run from 0 to "
                "num_classes - 1, so C has num_classes rows",
                C=padded,
            ),
            Bug(
                "your labels are shifted by one (y - 1?): labels already start at 0 and index "
                "the rows and columns as they are",
                C=np.roll(right, -1, axis=(0, 1)),
            ),
            Bug(
                "you normalised each row; return the raw COUNTS (divide later, when plotting "
                "rates)",
                C=right / np.maximum(right.sum(axis=1, keepdims=True), 1),
            ),
            Bug(
                "you divided by N; return the raw COUNTS (they sum to N)",
                C=right / N,
            ),
            Bug(
                f"one example is missing: your counts add up to {N - 1}, not N = {N}. Does the "
                "loop over the examples stop one early (or start at 1)?",
                C=_counts(y_true[:-1], y_pred[:-1], C),
            ),
            Bug(
                f"one example is missing: your counts add up to {N - 1}, not N = {N}. Does the "
                "loop over the examples start at 1 (or stop one early)?",
                C=_counts(y_true[1:], y_pred[1:], C),
            ),
        ]
        (got,), where = ex.call(
            dict(y_true=y_true, y_pred=y_pred, num_classes=C),
            mutation_hint="e.g. `y_true -= 1` or `y_true.sort()` change the caller's labels",
        )
        ex.check(
            (_as_float_matrix(got),),
            dict(C=right),
            bugs,
            where,
            inputs=dict(y_true=y_true, y_pred=y_pred, num_classes=C),
        )
    ex.passed("counts match; rows = true class, columns = predicted")


# --- minibatches ----------------------------------------------------------------------------------
_MAX_BATCHES = 1000  # an endless generator is cut here and reported


def _drain(student_fn):
    """Call the learner's function and, if it returns an iterator, collect its batches."""

    def drained(X, y, batch_size, rng):
        result = student_fn(X, y, batch_size, rng)
        if result is None or isinstance(result, (np.ndarray, Tensor, Value, str, bytes, dict)):
            return result
        try:
            iterator = iter(result)
        except TypeError:
            return result
        # Batches the learner yields may be views of arrays the learner changes later: copy them.
        return [_copy_pair(item) for item in itertools.islice(iterator, _MAX_BATCHES + 1)]

    return drained


def _copy_pair(item):
    if isinstance(item, (tuple, list)):
        return tuple(v.copy() if isinstance(v, np.ndarray) else v for v in item)
    return item


def _batches_problem(batches, X, batch_size):
    """A message if ``batches`` is not a list of (X_batch, y_batch) ndarray pairs, else None."""
    if batches is None:
        return (
            "returned None. Yield the batches (`yield X[idx], y[idx]` inside the loop) or return "
            "a list of (X_batch, y_batch) pairs"
        )
    if not isinstance(batches, list):
        return (
            f"returned a {type(batches).__name__}; yield (X_batch, y_batch) pairs, or return a "
            "list of them"
        )
    if not batches:
        if len(X) < batch_size:
            return (
                f"produced no batches: {len(X)} examples with batch_size {batch_size} make one "
                f"partial batch of {len(X)}. Don't drop the last, smaller batch: "
                "range(0, n, batch_size) with idx[start:start + batch_size] keeps it"
            )
        return "produced no batches at all: is the loop's range empty?"
    if len(batches) > _MAX_BATCHES:
        return (
            f"produced more than {_MAX_BATCHES} batches for {len(X)} examples: does the loop "
            "ever stop?"
        )
    for k, item in enumerate(batches):
        if isinstance(item, np.ndarray) and item.dtype.kind in "iu" and item.ndim == 1:
            return (
                f"batch {k} is an array of indices; yield the data itself, the pair "
                "(X[idx], y[idx])"
            )
        if (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], np.ndarray)
            and item[0].ndim == 1
            and isinstance(item[1], (int, np.integer))
        ):
            return (
                f"batch {k} holds a single example (X_batch has shape {item[0].shape}): yield "
                "batch_size examples at a time, X[idx] with an index ARRAY idx"
            )
        if not isinstance(item, tuple) or len(item) != 2:
            what = f"a tuple of {len(item)}" if isinstance(item, tuple) else type(item).__name__
            return f"batch {k} is {what}; each batch must be a pair (X_batch, y_batch)"
        for name, part in zip(("X_batch", "y_batch"), item):
            if isinstance(part, (Tensor, Value)):
                return f"batch {k}: {name} is a bpkit {type(part).__name__}; yield numpy arrays"
            if not isinstance(part, np.ndarray):
                return f"batch {k}: {name} is a {type(part).__name__}; yield numpy arrays"
        X_batch, y_batch = item
        if X_batch.ndim != 2 or X_batch.shape[1:] != X.shape[1:]:
            if X_batch.ndim == 2 and X_batch.shape[0] == X.shape[1]:
                return (
                    f"batch {k}: X_batch has shape {X_batch.shape}, transposed? It must have "
                    f"one row per example: (rows, {X.shape[1]})"
                )
            return (
                f"batch {k}: X_batch has shape {X_batch.shape}; it must hold whole rows of X, "
                f"shape (rows, {X.shape[1]})"
            )
        if y_batch.ndim != 1 or len(y_batch) != len(X_batch):
            return (
                f"batch {k}: y_batch has shape {y_batch.shape} for {len(X_batch)} rows of X; it "
                f"must be 1-D with one label per row, shape ({len(X_batch)},)"
            )
        if len(X_batch) == 0:
            return (
                f"batch {k} is empty: {len(X)} examples in batches of {batch_size} need "
                f"{-(-len(X) // batch_size)} batches, and your loop makes one more. "
                "`range(0, n, batch_size)` stops in time"
            )
    return None


def _row_ids(batches, X):
    """The row number of X behind every yielded row (column 0 of X holds it), or None if foreign."""
    ids = []
    for X_batch, _ in batches:
        candidate = np.rint(X_batch[:, 0]).astype(np.int64)
        inside = (candidate >= 0) & (candidate < len(X))
        if not inside.all() or not np.array_equal(X[candidate], X_batch):
            return None
        ids.append(candidate)
    return ids


@checker
def minibatches(student_fn):
    """Check ``minibatches(X, y, batch_size, rng)``: yields (X_batch, y_batch) pairs for one epoch.

    Inputs: X (n, d) float64, y (n,) int64, batch_size an int, rng a numpy Generator.
    Yield (or return a list of) pairs X_batch (b, d), y_batch (b,): every example exactly
    once, in a random order drawn from ``rng`` (a new order on every call, the same order
    for an equally seeded rng), rows of X kept with their labels, batches of batch_size
    and a last, smaller one with the n % batch_size left-overs. X and y are not changed.
    Recognises: dropped last partial batch, an empty last batch, no shuffling, the same
    order every epoch (a generator created inside), the global np.random instead of rng,
    X and y shuffled separately, sampling with replacement (repeats), overlapping or
    wrongly sized batches, X shuffled in place (rng.shuffle(X)), index arrays or single
    rows yielded, None or wrong types.
    """
    ex = Exercise(
        "minibatches",
        student_fn,
        returns="batches",
        signature="minibatches(X, y, batch_size, rng) -> iterable of (X_batch, y_batch)",
        sequence=True,
    )
    ex.fn = _drain(student_fn)
    in_place = (
        "rng.shuffle(X) and X[...] = ... shuffle the caller's data in place (and shuffling X "
        "and y separately splits images from their labels). Draw one order, "
        "idx = rng.permutation(len(X)), and index both: X[idx], y[idx]"
    )
    # (n, d, batch_size, seed): a partial last batch, an exact fit, a single short batch.
    cases = [(23, 3, 5, 1500), (20, 3, 5, 1501), (7, 2, 10, 1502)]
    for n, d, batch_size, seed in cases:
        data_rng = np.random.default_rng(seed)
        X = np.column_stack([np.arange(n, dtype=np.float64), data_rng.normal(size=(n, d - 1))])
        y = data_rng.integers(0, 10, size=n)
        rng = np.random.default_rng(seed + 100)
        inputs = dict(X=X, y=y, batch_size=batch_size, rng=rng)
        (batches,), where = ex.call(inputs, mutation_hint=in_place)
        case_number = ex.cases
        order = _epoch_order(ex, batches, X, y, batch_size, where)
        if n >= 20:
            if np.array_equal(order, np.arange(n)):
                ex.fail(
                    "the examples come in their original order: shuffle them every epoch, "
                    "e.g. idx = rng.permutation(len(X)), then slice idx into batches",
                    where,
                )
            ex.cases = case_number - 1  # the extra calls belong to this case
            (again,), where = ex.call(inputs, mutation_hint=in_place)
            second = _epoch_order(ex, again, X, y, batch_size, where + ", second epoch")
            if np.array_equal(order, second):
                ex.fail(
                    "two epochs came out in the same order: a new generator made inside your "
                    "function (np.random.default_rng(0)?) starts over on every call. Use the "
                    "rng you are given: it moves on after each permutation",
                    where + ", called twice with the same rng",
                )
            twin = inputs | dict(rng=np.random.default_rng(seed + 100))
            ex.cases = case_number - 1
            (replay,), where = ex.call(twin, mutation_hint=in_place)
            replayed = _epoch_order(ex, replay, X, y, batch_size, where)
            if not np.array_equal(order, replayed):
                ex.fail(
                    "two equally seeded rngs gave different orders, so your shuffle does not "
                    "come from rng (np.random.shuffle/np.random.permutation or "
                    "default_rng() without a seed use other generators) and a seeded run "
                    "cannot be repeated. Use rng.permutation(len(X))",
                    where + ", a fresh rng with the same seed",
                )
    ex.passed(
        "every example once per epoch, with its label, fresh reproducible order, last "
        "partial batch kept"
    )


def _epoch_order(ex, batches, X, y, batch_size, where):
    """Check one epoch's batches; return the row order they cover (an int array)."""
    problem = _batches_problem(batches, X, batch_size)
    if problem:
        ex.fail(problem, where)
    n = len(X)
    ids = _row_ids(batches, X)
    if ids is None:
        ex.fail(
            "a batch holds rows that are not rows of X: index X with row numbers, X[idx], and "
            "do not change the values",
            where,
        )
    for k, ((_, y_batch), rows) in enumerate(zip(batches, ids)):
        if not np.array_equal(y_batch, y[rows]):
            ex.fail(
                f"in batch {k} the labels no longer belong to their rows of X: X and y were put "
                "in different orders (two separate shuffles?). Draw ONE permutation idx and "
                "index both: X[idx], y[idx]",
                where,
            )
    order = np.concatenate(ids)
    sizes = [len(rows) for rows in ids]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([rest] if rest else [])
    counts = np.bincount(order, minlength=n)
    if rest and len(order) == n - rest and counts.max() == 1:
        ex.fail(
            f"the last, smaller batch is missing: {n} examples in batches of {batch_size} "
            f"leave {rest} for a last batch of {rest}, and those examples were never seen this "
            "epoch. Keep it: range(0, n, batch_size) with idx[start:start + batch_size] gives it",
            where,
        )
    if counts.max() > 1:
        repeated = int(np.argmax(counts))
        overlap = any(size > batch_size for size in sizes)
        cause = (
            "your batches overlap or are too big: slice idx[start:start + batch_size] with start "
            "stepping by batch_size"
            if overlap
            else "sample WITHOUT replacement: a permutation (rng.permutation), not "
            "rng.integers or rng.choice(..., replace=True)"
        )
        ex.fail(
            f"example {repeated} appears {counts[repeated]} times in one epoch; each must appear "
            f"exactly once: {cause}",
            where,
        )
    if len(order) < n:
        missing = np.flatnonzero(counts == 0)
        ex.fail(
            f"{len(missing)} of {n} examples never appear in the epoch (e.g. example "
            f"{missing[0]}): every example must be in exactly one batch",
            where,
        )
    if sizes != expected:
        ex.fail(
            f"batch sizes {sizes}; expected {expected}: batches of batch_size = {batch_size}, "
            "and only the last one smaller",
            where,
        )
    return order


# --- the two-layer network's backward pass --------------------------------------------------------
def _two_layer(X, y, W1, b1, W2, b2):
    """Forward and backward of mean cross-entropy(relu(X W1 + b1) W2 + b2); the pieces by name."""
    N = len(X)
    A = X @ W1 + b1
    H = np.maximum(A, 0.0)
    Z = H @ W2 + b2
    shifted = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(P[np.arange(N), y])))
    onehot = np.zeros_like(P)
    onehot[np.arange(N), y] = 1.0
    dZ = (P - onehot) / N
    dH = dZ @ W2.T
    dA = dH * (A > 0)
    return dict(A=A, H=H, P=P, onehot=onehot, dZ=dZ, dH=dH, dA=dA, loss=loss)


def _grads(X, dA, H, dZ):
    return dict(dW1=X.T @ dA, db1=dA.sum(axis=0), dW2=H.T @ dZ, db2=dZ.sum(axis=0))


@checker
def two_layer_backward(student_fn):
    """Check ``two_layer_backward(X, y, W1, b1, W2, b2) -> (loss, dW1, db1, dW2, db2)``.

    The network: A = X @ W1 + b1, H = relu(A), Z = H @ W2 + b2, and the loss is the mean
    cross-entropy of softmax(Z) with integer labels y. Inputs: X (N, D), W1 (D, H),
    b1 (H,), W2 (H, C), b2 (C,) float64; y (N,) int64 (N, D, H, C all different).
    Return the loss (a float) and the four gradients, each shaped like its parameter
    (the formulas: ``check.reveal("two_layer_backward")``).
    Recognises: sum instead of mean (factor N), forgot the ReLU's derivative, the
    pre-activation A where H belongs in dW2, biases not summed over the batch or
    averaged again, the one-hot not subtracted, the loss as a sum, the ReLU applied to
    the gradient instead of masking with the forward pass, transposed gradients, sign,
    inputs changed in place. The first failure names the mistake, not the formula.
    """
    names = ("loss", "dW1", "db1", "dW2", "db2")
    ex = Exercise(
        "two_layer_backward",
        student_fn,
        returns=names,
        signature="two_layer_backward(X, y, W1, b1, W2, b2) -> (loss, dW1, db1, dW2, db2)",
        like={"dW1": "W1", "db1": "b1", "dW2": "W2", "db2": "b2"},
        formulas={
            "loss": "loss = -mean(log(softmax(Z)[range(N), y]))",
            "dW1": "dW1 = X.T @ dA; dA = (dZ @ W2.T) * (A > 0)",
            "db1": "db1 = dA.sum(axis=0)",
            "dW2": "dW2 = H.T @ dZ; dZ = (softmax(Z) - onehot(y)) / N",
            "db2": "db2 = dZ.sum(axis=0)",
        },
        tol=1e-7,
    )
    # (N, D, H, C): all four different in every case, so no transpose can hide.
    cases = [(6, 4, 5, 3), (9, 7, 6, 4), (5, 3, 8, 10)]
    for seed, (N, D, Hn, C) in enumerate(cases):
        rng = np.random.default_rng(1600 + seed)
        X = rng.normal(size=(N, D))
        y = rng.integers(0, C, size=N)
        W1, b1 = rng.normal(size=(D, Hn)), 0.5 * rng.normal(size=Hn)
        W2, b2 = rng.normal(size=(Hn, C)) / np.sqrt(Hn), 0.5 * rng.normal(size=C)
        f = _two_layer(X, y, W1, b1, W2, b2)
        A, H, dZ, dH, dA = f["A"], f["H"], f["dZ"], f["dH"], f["dA"]
        right = dict(loss=f["loss"]) | _grads(X, dA, H, dZ)
        no_mask = _grads(X, dH, H, dZ)
        with_A = _grads(X, dA, A, dZ)
        summed = _grads(X, N * dA, H, N * dZ)
        no_onehot_dZ = f["P"] / N
        no_onehot = _grads(X, (no_onehot_dZ @ W2.T) * (A > 0), H, no_onehot_dZ)
        relu_of_grad = _grads(X, np.maximum(dH, 0.0), H, dZ)
        bugs = [
            Bug(
                f"the loss is N = {N} times too large: it is the MEAN cross-entropy over the "
                "batch, not the sum",
                loss=N * f["loss"],
            ),
            Bug(
                f"the gradients are N = {N} times too large: the loss is a MEAN over the batch, "
                "and its 1/N reaches every gradient through the logits' gradient",
                **summed,
            ),
            Bug(
                "dW1 and db1 ignore the ReLU: a hidden unit that was off in the forward pass "
                "(A <= 0 there) has slope 0 and passes no gradient back to W1 and b1",
                dW1=no_mask["dW1"],
                db1=no_mask["db1"],
            ),
            Bug(
                "dW2 is built from the pre-activation A; the second layer's input is the "
                "post-activation H = relu(A), the array that W2 multiplies in the forward pass",
                dW2=with_A["dW2"],
            ),
            Bug(
                "db2 has one row per example: b2 is shared by every example of the batch, so "
                "its gradient adds up their contributions (over axis 0)",
                db2=dZ,
            ),
            Bug(
                "db1 has one row per example: b1 is shared by every example of the batch, so "
                "its gradient adds up their contributions (over axis 0)",
                db1=dA,
            ),
            Bug(
                f"the biases' gradients are N = {N} times too small: the 1/N of the mean is "
                "already in the gradient that reaches them, so averaging over the batch "
                "divides by N twice",
                db1=dA.mean(axis=0),
                db2=dZ.mean(axis=0),
            ),
            Bug(
                f"db2 is N = {N} times too small: the 1/N of the mean is already in the "
                "logits' gradient, so averaging over the batch divides by N twice",
                db2=dZ.mean(axis=0),
            ),
            Bug(
                f"db1 is N = {N} times too small: the 1/N of the mean is already in the hidden "
                "layer's gradient, so averaging over the batch divides by N twice",
                db1=dA.mean(axis=0),
            ),
            Bug(
                "your gradients do not depend on the labels y: nothing pulls each example's "
                "TRUE class up. The logits' gradient needs a term from the one-hot labels",
                **no_onehot,
            ),
            Bug(
                "you applied the ReLU to the GRADIENT (where the gradient is positive); which "
                "units pass the gradient back is decided by the forward pass, where A > 0",
                dW1=relu_of_grad["dW1"],
                db1=relu_of_grad["db1"],
            ),
        ]
        ex.case(
            dict(X=X, y=y, W1=W1, b1=b1, W2=W2, b2=b2),
            right,
            bugs,
            nonfinite_hint="an overflow in exp? Subtract each row's max from Z before exp",
            mutation_hint="e.g. an in-place ReLU on an input, or `W1 -= ...`: compute new arrays",
            terms={"X.T @ dH (no ReLU mask)": X.T @ f["dH"], "dH.sum(axis=0)": f["dH"].sum(0)},
        )
    ex.passed("loss, dW1, db1, dW2, db2 match to 1e-7")


# --- predict, then run (set 06) -------------------------------------------------------------------
SET06_QUESTIONS = [
    register(
        Question(
            "q06_batches_per_epoch",
            "minibatches(X_train, y_train, batch_size=32, rng) over the n = 1438 training digits: "
            "how many batches does one epoch yield?",
            "number",
            45.0,
            tol=1e-9,
            wrong="first count the FULL batches (an integer division), then look at the examples "
            "left over: they still need a batch of their own, a smaller one (an exact fit would "
            "need none)",
            right="1438 = 44 * 32 + 30: 44 full batches and a last one of 30 examples, 45 in all "
            "(the ceiling of n / batch_size). Dropping the last batch would skip 30 digits every "
            "epoch",
        )
    ),
    register(
        Question(
            "q06_initial_loss",
            "The digit network (C = 10 classes) starts with tiny weights (std 0.001) and zero "
            "biases, so every logit is close to 0. About what is its mean cross-entropy loss "
            "before any training (natural log)?",
            "number",
            math.log(10.0),
            tol=0.01,
            wrong="with all logits equal, softmax gives every class the same probability: how "
            "large is it with C classes, and what is minus its natural logarithm (np.log, not "
            "log base 10)?",
            right="each class gets p = 1/10, so the loss is -ln(1/10) = ln 10 = 2.303 for every "
            "example. A first loss far above ln C means the initial weights are too large "
            "(confident, wrong predictions); a loss that stays at ln C means nothing is learned",
        )
    ),
]
