"""bpkit.check, classifier checkers (lecture 6): right answers pass, each classic bug is named.

The "students" are plain functions written the way a learner would write them;
the right answers are written differently from the checkers' references (loops,
np.unique, a generator vs a list). The two-layer reference is checked against
central finite differences at the bottom.
"""

import numpy as np
import pytest

from bpkit import Tensor, check
from bpkit.check import _core, classifier
from bpkit.gradcheck import numerical_grad
from tests.checkers import assert_passes, diagnosis


def test_the_checkers_are_exported():
    for name in classifier.__all__:
        assert getattr(check, name) is getattr(classifier, name)
        assert name in check.__all__


# --- accuracy -------------------------------------------------------------------------------------
def accuracy_ok(logits, y):
    correct = 0
    for row, label in zip(logits, y):
        correct += int(np.argmax(row) == label)
    return correct / len(y)


def _accuracy_in_place(logits, y):
    logits -= logits.max(axis=1, keepdims=True)
    return float(np.mean(np.argmax(logits, axis=1) == y))


ACCURACY_BUGS = [
    ("count", lambda logits, y: int(np.sum(np.argmax(logits, axis=1) == y)), ["number of correct"]),
    (
        "percent",
        lambda logits, y: 100 * np.mean(np.argmax(logits, 1) == y),
        ["accuracy is 100 times the right answer"],
    ),
    ("error rate", lambda logits, y: np.mean(np.argmax(logits, 1) != y), ["error rate"]),
    ("no mean", lambda logits, y: (np.argmax(logits, 1) == y).astype(float), ["their mean"]),
    ("axis 0", lambda logits, y: np.mean(np.argmax(logits, axis=0) == y), ["wrong axis"]),
    (
        "keepdims",
        lambda logits, y: np.mean(np.argmax(logits, axis=1, keepdims=True) == y),
        ["shape (N, 1)", "(N, N)"],
    ),
    ("max not argmax", lambda logits, y: np.mean(np.max(logits, axis=1) == y), ["np.argmax"]),
    ("in place", _accuracy_in_place, ["changed its input `logits` in place"]),
    ("None", lambda logits, y: None, ["accuracy is None", "return"]),
    ("tuple", lambda logits, y: (0.5,), ["returned a tuple"]),
]


def test_accuracy_accepts_a_right_answer(capsys):
    assert_passes(check.accuracy, accuracy_ok, capsys)


def test_accuracy_accepts_numpy_scalars_and_probabilities(capsys):
    def via_softmax(logits, y):
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (p.argmax(axis=1) == y).mean()  # np.float64

    assert_passes(check.accuracy, via_softmax, capsys)


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in ACCURACY_BUGS], ids=[n for n, _, _ in ACCURACY_BUGS]
)
def test_accuracy_names_each_bug(fn, expected):
    message = diagnosis(check.accuracy, fn)
    for fragment in expected:
        assert fragment in message, message


def test_accuracy_axis_bug_off_the_square_case_points_at_the_learners_line():
    calls = []

    def accuracy(logits, y):
        calls.append(logits.shape)
        if len(calls) == 1:  # right on the square case, wrong axis after it
            return float(np.mean(np.argmax(logits, axis=1) == y))
        return float(np.mean(np.argmax(logits, axis=0) == y))

    message = diagnosis(check.accuracy, accuracy)
    assert "raised ValueError" in message and "np.argmax(logits, axis=0)" in message


# --- confusion_matrix -----------------------------------------------------------------------------
def confusion_ok(y_true, y_pred, num_classes):
    C = np.zeros((num_classes, num_classes), dtype=np.int32)
    for t in range(num_classes):
        for p in range(num_classes):
            C[t, p] = np.count_nonzero((y_true == t) & (y_pred == p))
    return C


def confusion_float(y_true, y_pred, num_classes):
    C = np.zeros((num_classes, num_classes))
    np.add.at(C, (y_true, y_pred), 1)
    return C


def _buffered(y_true, y_pred, num_classes):
    C = np.zeros((num_classes, num_classes), dtype=int)
    C[y_true, y_pred] += 1
    return C


def _from_max_label(y_true, y_pred, num_classes):
    k = max(y_true.max(), y_pred.max()) + 1
    return confusion_float(y_true, y_pred, k)


def _one_too_many(y_true, y_pred, num_classes):
    C = np.zeros((num_classes + 1, num_classes + 1))
    np.add.at(C, (y_true, y_pred), 1)
    return C


def _shifted(y_true, y_pred, num_classes):
    C = np.zeros((num_classes, num_classes))
    np.add.at(C, (y_true - 1, y_pred - 1), 1)
    return C


def _sorted_in_place(y_true, y_pred, num_classes):
    C = confusion_float(y_true, y_pred, num_classes)
    y_true.sort()
    return C


CONFUSION_BUGS = [
    ("transposed", lambda t, p, k: confusion_float(p, t, k), ["transposed", "TRUE class"]),
    ("buffered +=", _buffered, ["np.add.at", "counted at most once"]),
    ("size from max label", _from_max_label, ["4x4", "num_classes = 5"]),
    ("one too many", _one_too_many, ["one row and one column too many"]),
    ("shifted labels", _shifted, ["shifted by one"]),
    (
        "row-normalised",
        lambda t, p, k: confusion_float(t, p, k) / confusion_float(t, p, k).sum(1, keepdims=True),
        ["normalised each row"],
    ),
    ("divided by N", lambda t, p, k: confusion_float(t, p, k) / len(t), ["divided by N"]),
    ("in place", _sorted_in_place, ["changed its input `y_true` in place"]),
    ("None", lambda t, p, k: None, ["C is None"]),
    ("list", lambda t, p, k: confusion_float(t, p, k).tolist(), ["list", "numpy array"]),
]


@pytest.mark.parametrize("fn", [confusion_ok, confusion_float], ids=["int32 loops", "float add.at"])
def test_confusion_matrix_accepts_right_answers_of_any_number_dtype(fn, capsys):
    assert_passes(check.confusion_matrix, fn, capsys)


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in CONFUSION_BUGS], ids=[n for n, _, _ in CONFUSION_BUGS]
)
def test_confusion_matrix_names_each_bug(fn, expected):
    message = diagnosis(check.confusion_matrix, fn)
    for fragment in expected:
        assert fragment in message, message


def test_confusion_matrix_size_bug_is_caught_where_a_class_never_occurs():
    message = diagnosis(check.confusion_matrix, _from_max_label)
    assert "case 2" in message and "num_classes = 5" in message


# --- minibatches ----------------------------------------------------------------------------------
def minibatches_ok(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        batch = idx[start : start + batch_size]
        yield X[batch], y[batch]


def minibatches_list(X, y, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=False)
    chunks = np.array_split(order, range(batch_size, len(X), batch_size))
    return [(X[c], y[c]) for c in chunks]


def _dropped_last(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for k in range(len(X) // batch_size):
        batch = idx[k * batch_size : (k + 1) * batch_size]
        yield X[batch], y[batch]


def _empty_last(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for k in range(len(X) // batch_size + 1):
        batch = idx[k * batch_size : (k + 1) * batch_size]
        yield X[batch], y[batch]


def _not_shuffled(X, y, batch_size, rng):
    for start in range(0, len(X), batch_size):
        yield X[start : start + batch_size], y[start : start + batch_size]


def _same_every_epoch(X, y, batch_size, rng):
    return minibatches_ok(X, y, batch_size, np.random.default_rng(0))


def _global_random(X, y, batch_size, rng):
    idx = np.random.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[idx[start : start + batch_size]], y[idx[start : start + batch_size]]


def _separate_shuffles(X, y, batch_size, rng):
    ix, iy = rng.permutation(len(X)), rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[ix[start : start + batch_size]], y[iy[start : start + batch_size]]


def _with_replacement(X, y, batch_size, rng):
    idx = rng.integers(0, len(X), size=len(X))
    for start in range(0, len(X), batch_size):
        yield X[idx[start : start + batch_size]], y[idx[start : start + batch_size]]


def _overlapping(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        batch = idx[start : start + batch_size + 1]
        yield X[batch], y[batch]


def _shuffle_in_place(X, y, batch_size, rng):
    state = rng.bit_generator.state
    rng.shuffle(X)
    rng.bit_generator.state = state
    rng.shuffle(y)  # the same permutation: pairs kept, but the caller's arrays are shuffled
    for start in range(0, len(X), batch_size):
        yield X[start : start + batch_size], y[start : start + batch_size]


def _indices(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    return [idx[s : s + batch_size] for s in range(0, len(X), batch_size)]


def _single_rows(X, y, batch_size, rng):
    for i in rng.permutation(len(X)):
        yield X[i], y[i]


def _small_batches(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for start in range(0, len(X), batch_size - 1):
        batch = idx[start : start + batch_size - 1]
        yield X[batch], y[batch]


def _endless(X, y, batch_size, rng):
    while True:
        idx = rng.permutation(len(X))[:batch_size]
        yield X[idx], y[idx]


MINIBATCH_BUGS = [
    ("dropped last", _dropped_last, ["last, smaller batch is missing", "case 1"]),
    ("empty last", _empty_last, ["is empty", "case 2"]),
    ("not shuffled", _not_shuffled, ["original order", "rng.permutation"]),
    ("same every epoch", _same_every_epoch, ["same order", "default_rng(0)"]),
    ("global np.random", _global_random, ["equally seeded", "rng.permutation"]),
    ("separate shuffles", _separate_shuffles, ["labels no longer belong", "ONE permutation"]),
    ("with replacement", _with_replacement, ["exactly once", "WITHOUT replacement"]),
    ("overlapping", _overlapping, ["overlap"]),
    ("in place", _shuffle_in_place, ["changed its input `X` in place", "rng.shuffle(X)"]),
    ("indices", _indices, ["array of indices", "(X[idx], y[idx])"]),
    ("single rows", _single_rows, ["single example"]),
    ("batch_size - 1", _small_batches, ["batch sizes", "expected [5, 5, 5, 5, 3]"]),
    ("None", lambda X, y, batch_size, rng: None, ["returned None", "yield"]),
    ("endless", _endless, ["more than 1000 batches"]),
    ("a Tensor", lambda X, y, b, rng: [(Tensor(X), y)], ["bpkit Tensor"]),
]


@pytest.mark.parametrize("fn", [minibatches_ok, minibatches_list], ids=["generator", "list"])
def test_minibatches_accepts_right_answers(fn, capsys):
    assert_passes(check.minibatches, fn, capsys)


def test_minibatches_counts_cases_not_calls(capsys):
    check.minibatches(minibatches_ok)
    assert "correct on 3 cases" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in MINIBATCH_BUGS], ids=[n for n, _, _ in MINIBATCH_BUGS]
)
def test_minibatches_names_each_bug(fn, expected):
    message = diagnosis(check.minibatches, fn)
    for fragment in expected:
        assert fragment in message, message


def test_minibatches_dropping_the_only_partial_batch_is_named():
    def drop(X, y, batch_size, rng):
        idx = rng.permutation(len(X))
        return [
            (X[idx[s : s + batch_size]], y[idx[s : s + batch_size]])
            for s in range(0, len(X) - batch_size + 1, batch_size)
        ]

    message = diagnosis(check.minibatches, drop)
    assert "last, smaller batch is missing" in message  # case 1; case 3 has its own wording
    partial_only = classifier._batches_problem([], np.zeros((7, 2)), 10)
    assert "one partial batch of 7" in partial_only


def test_minibatches_stops_an_endless_loop(monkeypatch):
    monkeypatch.setattr(_core, "TIME_LIMIT", 0.2)

    def loop(X, y, batch_size, rng):
        while True:
            pass

    assert "did not finish within 0.2 s" in diagnosis(check.minibatches, loop)


# --- two_layer_backward ---------------------------------------------------------------------------
def two_layer_ok(X, y, W1, b1, W2, b2):
    N = X.shape[0]
    A = X @ W1 + b1
    H = A * (A > 0)
    Z = H @ W2 + b2
    log_p = Z - Z.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    loss = -sum(log_p[n, y[n]] for n in range(N)) / N
    dZ = np.exp(log_p)
    for n in range(N):
        dZ[n, y[n]] -= 1
    dZ = dZ / N
    dW2 = np.einsum("nh,nc->hc", H, dZ)
    dH = np.einsum("nc,hc->nh", dZ, W2)
    dA = np.where(A > 0, dH, 0.0)
    return loss, np.einsum("nd,nh->dh", X, dA), dA.sum(axis=0), dW2, dZ.sum(axis=0)


def _variant(**change):
    """two_layer_ok with one step swapped for a buggy one."""

    def fn(X, y, W1, b1, W2, b2):
        N = len(X)
        A = X @ W1 + b1
        H = np.maximum(A, 0)
        Z = H @ W2 + b2
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        loss = -np.log(P[np.arange(N), y]).mean()
        onehot = np.eye(W2.shape[1])[y]
        dZ = (P - onehot) / N
        if change.get("sum"):
            dZ = dZ * N
        if change.get("no_onehot"):
            dZ = P / N
        dH = dZ @ W2.T
        dA = dH if change.get("no_mask") else dH * (A > 0)
        if change.get("relu_grad"):
            dA = np.maximum(dH, 0)
        dW2 = (A if change.get("pre") else H).T @ dZ
        dW1 = X.T @ dA
        db1, db2 = dA.sum(axis=0), dZ.sum(axis=0)
        if change.get("db_rows"):
            db2 = dZ
        if change.get("db1_rows"):
            db1 = dA
        if change.get("db_mean"):
            db1, db2 = dA.mean(axis=0), dZ.mean(axis=0)
        if change.get("loss_sum"):
            loss = loss * N
        if change.get("transpose"):
            dW1 = dW1.T
        if change.get("sign"):
            dW2 = -dW2
        if change.get("in_place"):
            X -= 1.0
        return loss, dW1, db1, dW2, db2

    return fn


TWO_LAYER_BUGS = [
    ("sum not mean", _variant(sum=True), ["N = 6 times too large", "/ N"]),
    ("loss as a sum", _variant(loss_sum=True), ["loss is N = 6 times", "MEAN"]),
    ("no relu derivative", _variant(no_mask=True), ["ReLU's derivative", "(A > 0)"]),
    ("relu of the gradient", _variant(relu_grad=True), ["ReLU to the GRADIENT"]),
    ("A instead of H", _variant(pre=True), ["pre-activation", "H.T @ dZ"]),
    ("db2 not summed", _variant(db_rows=True), ["db2 must be summed"]),
    ("db1 not summed", _variant(db1_rows=True), ["db1 must be summed"]),
    ("bias mean", _variant(db_mean=True), ["too small", "don't average again"]),
    ("no one-hot", _variant(no_onehot=True), ["one-hot"]),
    ("transposed dW1", _variant(transpose=True), ["dW1 looks transposed"]),
    ("sign", _variant(sign=True), ["dW2 has the wrong sign"]),
    ("in place", _variant(in_place=True), ["changed its input `X` in place"]),
    ("four values", lambda X, y, W1, b1, W2, b2: (0.0, W1, b1, W2), ["returned 4 values"]),
]


def test_two_layer_backward_accepts_a_right_answer(capsys):
    assert_passes(check.two_layer_backward, two_layer_ok, capsys)


def test_the_variant_without_changes_is_right(capsys):
    assert_passes(check.two_layer_backward, _variant(), capsys)


@pytest.mark.parametrize(
    "fn, expected", [(f, e) for _, f, e in TWO_LAYER_BUGS], ids=[n for n, _, _ in TWO_LAYER_BUGS]
)
def test_two_layer_backward_names_each_bug(fn, expected):
    message = diagnosis(check.two_layer_backward, fn)
    for fragment in expected:
        assert fragment in message, message


def test_two_layer_reference_matches_finite_differences():
    rng = np.random.default_rng(7)
    N, D, H, C = 5, 4, 6, 3
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    params = [rng.normal(size=(D, H)), rng.normal(size=H)]
    params += [rng.normal(size=(H, C)), rng.normal(size=C)]
    f = classifier._two_layer(X, y, *params)
    grads = classifier._grads(X, f["dA"], f["H"], f["dZ"])
    for i, name in enumerate(["dW1", "db1", "dW2", "db2"]):

        def loss_of(p, i=i):
            changed = list(params)
            changed[i] = p
            return classifier._two_layer(X, y, *changed)["loss"]

        numeric = numerical_grad(loss_of, params[i].copy())
        assert np.allclose(grads[name], numeric, atol=1e-6), name
