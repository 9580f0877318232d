"""bpkit.check, classifier checkers (lecture 6): right answers pass, each classic bug is named.

The "students" are plain functions written the way a learner would write them;
the right answers are written differently from the checkers' references (loops,
np.unique, a generator vs a list). The two-layer reference is checked against
central finite differences. Set 06's redesign (issue 10): first failures name the
mistake without the formula, bugs outside the catalogues get a specific explanation
from the general engine (UNSEEN; the few that get only the generic one are listed in
GENERIC), and the questions q06_* accept the right answer and never hint at it.
"""

import math
import re

import numpy as np
import pytest

from bpkit import Tensor, check
from bpkit.check import ExerciseFailed, _core, classifier, reset_attempts
from bpkit.check.questions import QUESTIONS
from bpkit.gradcheck import numerical_grad
from tests.checkers import assert_passes, diagnosis
from tests.test_check_question_bank import _forms


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
    ("no mean", lambda logits, y: (np.argmax(logits, 1) == y).astype(float), ["ONE number"]),
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
    ("buffered +=", _buffered, ["counted at most once", "repeated pair", "unbuffered"]),
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
    ("sum not mean", _variant(sum=True), ["N = 6 times too large", "MEAN over the batch"]),
    ("loss as a sum", _variant(loss_sum=True), ["loss is N = 6 times", "MEAN"]),
    ("no relu derivative", _variant(no_mask=True), ["ignore the ReLU", "off in the forward"]),
    ("relu of the gradient", _variant(relu_grad=True), ["ReLU to the GRADIENT"]),
    ("A instead of H", _variant(pre=True), ["pre-activation A", "post-activation H"]),
    ("db2 not summed", _variant(db_rows=True), ["db2 has one row per example", "shared"]),
    ("db1 not summed", _variant(db1_rows=True), ["db1 has one row per example", "shared"]),
    ("bias mean", _variant(db_mean=True), ["N = 6 times too small", "divides by N twice"]),
    ("no one-hot", _variant(no_onehot=True), ["do not depend on the labels y", "one-hot"]),
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


# --- set 06 redesign: no formula in a first failure ----------------------------------------------
# The right-hand sides of two_layer_backward's formulas (check.reveal shows them).
TWO_LAYER_FORMULA_PARTS = [
    "X.T @ dA",
    "H.T @ dZ",
    "dZ @ W2.T",
    "softmax(Z) - onehot(y)",
    "dA.sum(axis=0)",
    "dZ.sum(axis=0)",
    "(A > 0)",
    "log(softmax(Z)",
]


@pytest.fixture
def not_grading(monkeypatch):
    monkeypatch.delenv("BPKIT_GRADING", raising=False)
    reset_attempts()
    yield
    reset_attempts()


@pytest.mark.parametrize(
    "fn", [f for _, f, _ in TWO_LAYER_BUGS], ids=[n for n, _, _ in TWO_LAYER_BUGS]
)
def test_two_layer_backward_first_failure_never_shows_the_formula(fn, not_grading):
    message = diagnosis(check.two_layer_backward, fn)
    for part in TWO_LAYER_FORMULA_PARTS:
        assert part not in message, (part, message)
    assert "max error" not in message.split("\n")[0], message  # specific, not the generic text
    assert 'check.reveal("two_layer_backward")' in message


def test_two_layer_backward_catalogue_messages_are_all_different():
    firsts = [diagnosis(check.two_layer_backward, f).split("\n")[0] for _, f, _ in TWO_LAYER_BUGS]
    assert len(set(firsts)) == len(firsts), firsts


def test_two_layer_backward_reveals_on_request_and_at_the_third_attempt(not_grading, capsys):
    check.reveal("two_layer_backward")
    assert "H.T @ dZ" in capsys.readouterr().out
    buggy = _variant(pre=True)
    first, second, third = (diagnosis_no_reset(check.two_layer_backward, buggy) for _ in range(3))
    assert "H.T @ dZ" not in first and "H.T @ dZ" not in second
    assert "the formula: dW1 = X.T @ dA" in third, third


def test_two_layer_backward_grader_never_shows_the_formula(monkeypatch):
    monkeypatch.setenv("BPKIT_GRADING", "1")
    reset_attempts()
    for _ in range(4):
        message = diagnosis_no_reset(check.two_layer_backward, _variant(no_mask=True))
        assert "X.T @ dA" not in message and "reveal" not in message, message
    reset_attempts()


def diagnosis_no_reset(checker, fn):
    with pytest.raises(ExerciseFailed) as info:
        checker(fn)
    return str(info.value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the row-normalised catalogue bug
def test_accuracy_and_confusion_first_failures_hide_the_code():
    for _, fn, _ in ACCURACY_BUGS:
        assert "np.mean(np.argmax(logits, axis=1) == y)" not in diagnosis(check.accuracy, fn)
    for _, fn, _ in CONFUSION_BUGS:
        message = diagnosis(check.confusion_matrix, fn)
        assert "np.add.at" not in message and "C[y_true[n], y_pred[n]]" not in message, message


# --- the find-the-bug item of set 06: the given confusion_matrix ---------------------------------
def given_confusion_matrix(y_true, y_pred, num_classes):
    """The function the notebook shows (one planted bug: a buffered += on index arrays)."""
    C = np.zeros((num_classes, num_classes), dtype=int)
    C[y_true, y_pred] += 1
    return C


def test_the_given_confusion_matrix_is_named_and_the_fix_passes(capsys):
    message = diagnosis(check.confusion_matrix, given_confusion_matrix)
    assert "counted at most once" in message and "case 1" in message, message

    def fixed(y_true, y_pred, num_classes):
        C = np.zeros((num_classes, num_classes), dtype=int)
        np.add.at(C, (y_true, y_pred), 1)
        return C

    assert_passes(check.confusion_matrix, fixed, capsys)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t, p, k: _counts_loop(t[:-1], p[:-1], k),
        lambda t, p, k: _counts_loop(t[1:], p[1:], k),
    ],
    ids=["last example missed", "first example missed"],
)
def test_a_loop_that_misses_one_example_is_named(fn):
    message = diagnosis(check.confusion_matrix, fn)
    assert "one example is missing" in message and "add up to 39, not N = 40" in message, message


def _counts_loop(y_true, y_pred, num_classes):
    C = np.zeros((num_classes, num_classes))
    for t, p in zip(y_true, y_pred):
        C[t, p] += 1
    return C


# --- equivalent correct answers pass --------------------------------------------------------------
def _two_layer_h_mask(X, y, W1, b1, W2, b2):
    """Masks with (H > 0) instead of (A > 0), returns a list, loss via logsumexp."""
    N = len(X)
    H = np.maximum(X @ W1 + b1, 0.0)
    Z = H @ W2 + b2
    m = Z.max(axis=1)
    lse = m + np.log(np.exp(Z - m[:, None]).sum(axis=1))
    loss = np.mean(lse - Z[np.arange(N), y])
    P = np.exp(Z - lse[:, None])
    dZ = (P - (np.arange(W2.shape[1]) == y[:, None])) / N
    dA = np.where(H > 0, dZ @ W2.T, 0)
    return [loss, X.T @ dA, np.sum(dA, 0), H.T @ dZ, np.sum(dZ, 0)]


def _confusion_bincount_uint8(y_true, y_pred, num_classes):
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2)
    return flat.reshape(num_classes, num_classes).astype(np.uint8)


def _accuracy_count_nonzero(logits, y):
    return np.count_nonzero(logits.argmax(-1) == y) / y.size


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.two_layer_backward, _two_layer_h_mask),
        (check.confusion_matrix, _confusion_bincount_uint8),
        (check.accuracy, _accuracy_count_nonzero),
    ],
    ids=["two-layer (H > 0) mask, logsumexp, list", "bincount, uint8", "count_nonzero, axis -1"],
)
def test_equivalent_correct_answers_pass(checker, fn, capsys):
    assert_passes(checker, fn, capsys)


# --- bugs outside the catalogues: the general engine explains them --------------------------------
def _two_layer_edit(edit):
    """The right two-layer pass with its outputs edited by ``edit(outputs, pieces)``."""

    def fn(X, y, W1, b1, W2, b2):
        N = len(X)
        A = X @ W1 + b1
        H = np.maximum(A, 0)
        Z = H @ W2 + b2
        P = np.exp(Z - Z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        dZ = (P - np.eye(W2.shape[1])[y]) / N
        dH = dZ @ W2.T
        dA = dH * (A > 0)
        out = dict(loss=-np.log(P[np.arange(N), y]).mean(), dW1=X.T @ dA, db1=dA.sum(0))
        out |= dict(dW2=H.T @ dZ, db2=dZ.sum(0))
        out = edit(out, dict(N=N, W2=W2, dH=dH))
        return out["loss"], out["dW1"], out["db1"], out["dW2"], out["db2"]

    return fn


def _confusion_edit(edit):
    return lambda t, p, k: edit(_counts_loop(t, p, k), t, p, k)


def _accuracy_edit(edit):
    return lambda logits, y: edit(float(np.mean(np.argmax(logits, axis=1) == y)), logits)


# (checker, label, function, the start of the specific explanation)
UNSEEN = [
    (
        "two_layer_backward",
        "weight decay in dW2 (an extra + W2)",
        _two_layer_edit(lambda o, p: o | dict(dW2=o["dW2"] + p["W2"])),
        "dW2 = (right answer) + W2",
    ),
    (
        "two_layer_backward",
        "the loss in bits (log2)",
        _two_layer_edit(lambda o, p: o | dict(loss=o["loss"] / math.log(2))),
        "loss is 1.443 times the right answer",
    ),
    (
        "two_layer_backward",
        "db1 without the ReLU's mask (dW1 right)",
        _two_layer_edit(lambda o, p: o | dict(db1=p["dH"].sum(0))),
        "db1 is the input dH.sum(axis=0) itself",
    ),
    (
        "two_layer_backward",
        "dW2 without the 1/N (a sum over the batch)",
        _two_layer_edit(lambda o, p: o | dict(dW2=p["N"] * o["dW2"])),
        "dW2 is X.shape[0] times the right answer",
    ),
    (
        "confusion_matrix",
        "started from np.ones",
        _confusion_edit(lambda C, t, p, k: C + 1),
        "C = (right answer) + a constant",
    ),
    (
        "confusion_matrix",
        "y_pred counted against itself",
        _confusion_edit(lambda C, t, p, k: _counts_loop(p, p, k)),
        "C is what the right formula gives with y_pred in place of y_true",
    ),
    (
        "confusion_matrix",
        "every count halved",
        _confusion_edit(lambda C, t, p, k: C / 2),
        "C is the right answer divided by 2",
    ),
    (
        "confusion_matrix",
        "the identity subtracted",
        _confusion_edit(lambda C, t, p, k: C - np.eye(k)),
        "C = (right answer) - the identity matrix",
    ),
    (
        "accuracy",
        "halved",
        _accuracy_edit(lambda a, logits: a / 2),
        "accuracy is the right answer divided by 2",
    ),
    (
        "accuracy",
        "squared",
        _accuracy_edit(lambda a, logits: a**2),
        "accuracy is the square of the right answer",
    ),
    (
        "accuracy",
        "the count divided by C, not N",
        _accuracy_edit(lambda a, logits: a * logits.shape[0] / logits.shape[1]),
        "accuracy is logits.shape[0]/logits.shape[1] times the right answer",
    ),
]
# Unseen bugs that get only the generic "max error" message (said in the set's report).
GENERIC = [
    (
        "confusion_matrix",
        "cumulative counts along each row",
        _confusion_edit(lambda C, t, p, k: np.cumsum(C, axis=1)),
    ),
    (
        "confusion_matrix",
        "only the diagonal kept",
        _confusion_edit(lambda C, t, p, k: np.diag(np.diag(C))),
    ),
    (
        "accuracy",
        "predictions shifted by one class",
        lambda logits, y: float(np.mean(np.argmax(logits, 1) + 1 == y)),
    ),
    (
        "accuracy",
        "the count divided by N - 1",
        lambda logits, y: float(np.sum(np.argmax(logits, 1) == y) / (len(y) - 1)),
    ),
    (
        "two_layer_backward",
        "the loss plus 1",
        _two_layer_edit(lambda o, p: o | dict(loss=o["loss"] + 1)),
    ),
]


def _catalogue_messages(checker):
    bugs = {"two_layer_backward": TWO_LAYER_BUGS, "confusion_matrix": CONFUSION_BUGS}
    bugs["accuracy"] = ACCURACY_BUGS
    return {diagnosis(getattr(check, checker), f).split("\n")[0] for _, f, _ in bugs[checker]}


def test_at_least_three_unseen_bugs_per_checker_touched():
    for name in ("two_layer_backward", "confusion_matrix", "accuracy"):
        assert sum(n == name for n, *_ in UNSEEN) >= 3, name


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the row-normalised catalogue bug
@pytest.mark.parametrize(
    "name, fn, expected",
    [(n, f, e) for n, _, f, e in UNSEEN],
    ids=[f"{n}: {lb}" for n, lb, _, _ in UNSEEN],
)
def test_an_unseen_bug_gets_a_specific_explanation(name, fn, expected):
    message = diagnosis(getattr(check, name), fn)
    first = message.split("\n")[0]
    assert first.startswith(f"{name}: {expected}"), message
    assert "max error" not in first, message
    assert first not in _catalogue_messages(name), f"this bug is in the catalogue: {first}"


@pytest.mark.parametrize(
    "name, fn", [(n, f) for n, _, f in GENERIC], ids=[f"{n}: {lb}" for n, lb, _ in GENERIC]
)
def test_the_generic_ones_still_fail_and_are_counted(name, fn):
    message = diagnosis(getattr(check, name), fn)
    assert "max error" in message.split("\n")[0], f"now explained, move it to UNSEEN: {message}"


def test_unseen_summary():
    print(f"\nset 06 unseen bugs: {len(UNSEEN)} specific, {len(GENERIC)} generic")
    assert len(UNSEEN) >= 3 * 3 and len(UNSEEN) > 2 * len(GENERIC)


# --- the predict-then-run questions of set 06 -----------------------------------------------------
Q06_ANSWERS = {"q06_batches_per_epoch": 45, "q06_initial_loss": math.log(10)}
# Answers a learner could plausibly give (each must fail): the full batches only, one too many,
# log base 10, log 10 without the minus sign, the probability itself.
Q06_WRONG = {"q06_batches_per_epoch": [44, 46, 44.9], "q06_initial_loss": [1.0, -2.3026, 0.1]}


def test_set06_questions_are_registered_in_classifier():
    assert {q.id for q in classifier.SET06_QUESTIONS} == set(Q06_ANSWERS)
    for q in classifier.SET06_QUESTIONS:
        assert QUESTIONS[q.id] is q


@pytest.mark.parametrize("qid", sorted(Q06_ANSWERS))
def test_set06_right_answer_passes(qid, capsys):
    check.answer(qid, Q06_ANSWERS[qid])
    assert capsys.readouterr().out.startswith(f"✓ {qid}: right.")


def test_set06_answers_in_other_forms_pass(capsys):
    check.answer("q06_batches_per_epoch", np.int64(45))
    check.answer("q06_batches_per_epoch", 45.0)
    check.answer("q06_initial_loss", 2.3)  # to two digits is enough
    check.answer("q06_initial_loss", -np.log(1 / 10))
    assert capsys.readouterr().out.count("right.") == 4


@pytest.mark.parametrize("qid", sorted(Q06_ANSWERS))
def test_set06_wrong_answers_fail_with_a_hint_that_does_not_give_the_answer(qid):
    question = QUESTIONS[qid]
    for form in _forms(question.expected):
        assert not re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", question.wrong), form
    for wrong in Q06_WRONG[qid]:
        with pytest.raises(ExerciseFailed) as info:
            check.answer(qid, wrong)
        assert question.wrong in str(info.value)
        for form in _forms(question.expected):
            assert not re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", str(info.value)), form


def test_set06_question_of_the_wrong_kind_is_refused():
    with pytest.raises(check.AnswerTypeError):
        check.answer("q06_batches_per_epoch", "45")
    with pytest.raises(check.AnswerTypeError):
        check.answer("q06_initial_loss", np.array([2.3, 2.3]))
