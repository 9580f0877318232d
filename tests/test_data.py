"""bpkit.data: shapes, dtypes, seeds, balance, geometry from the definitions, the digits file."""

import hashlib
import itertools
from importlib import resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import data

TOYS = [data.make_moons, data.make_circles, data.make_spirals, data.make_xor]

# UCI's optdigits.names, "Class: No of examples in testing set" (optdigits.tes, 1,797 rows).
UCI_TEST_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


# --- 2-D toys: shapes, dtypes, seeds, balance --------------------------------------------


@pytest.mark.parametrize("make", TOYS, ids=lambda f: f.__name__)
@given(n=st.integers(3, 300), seed=st.integers(0, 2**32 - 1))
def test_toys_shapes_dtypes_and_balance(make, n, seed):
    X, y = make(n, rng=seed)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()
    counts = np.bincount(y)
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1  # as even as n allows


@pytest.mark.parametrize("make", TOYS, ids=lambda f: f.__name__)
def test_toys_are_deterministic_under_a_seed(make):
    X1, y1 = make(50, rng=7)
    X2, y2 = make(50, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(50, rng=8)
    assert not np.array_equal(X1, X3)
    # None means seed 0 (bpkit.random.as_generator): notebooks stay repeatable.
    np.testing.assert_array_equal(make(50)[0], make(50, rng=0)[0])
    # One generator used twice gives two different draws.
    g = np.random.default_rng(3)
    assert not np.array_equal(make(50, rng=g)[0], make(50, rng=g)[0])


@pytest.mark.parametrize("make", TOYS, ids=lambda f: f.__name__)
def test_shuffle_permutes_rows_and_keeps_pairs(make):
    X_kept, y_kept = make(40, rng=1, shuffle=False)
    if make is data.make_xor:
        assert y_kept.tolist() == [0, 1, 1, 0] * 10  # corners dealt in turn
    else:
        assert (np.diff(y_kept) >= 0).all()  # class by class
    X, y = make(40, rng=1)
    assert not np.array_equal(y, y_kept)
    # The same (point, label) rows, in another order: shuffling moves whole rows.
    rows = sorted(map(tuple, np.column_stack([X, y])))
    assert rows == sorted(map(tuple, np.column_stack([X_kept, y_kept])))


# --- geometry, from each dataset's definition --------------------------------------------


def test_circles_radii():
    X, y = data.make_circles(300, noise=0.0, factor=0.3, rng=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-12)


def test_moons_lie_on_their_half_circles():
    X, y = data.make_moons(300, noise=0.0, rng=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert (upper[:, 1] >= 0).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (lower[:, 1] <= 0.5).all()


def _inside_triangle(p, a, b, c):
    """True when p is strictly inside triangle abc (barycentric coordinates all positive)."""
    T = np.column_stack([b - a, c - a])
    u, v = np.linalg.solve(T, p - a)
    return u > 0 and v > 0 and u + v < 1


def test_moons_are_not_linearly_separable():
    # A class-1 point inside a triangle of class-0 points: any line leaving all of
    # class 0 on one side leaves the triangle, hence that point, there too.
    X, y = data.make_moons(400, noise=0.0, rng=0)
    upper, lower = X[y == 0], X[y == 1]
    a, b, c = upper[upper[:, 0].argmin()], upper[upper[:, 0].argmax()], upper[upper[:, 1].argmax()]
    tip = lower[lower[:, 1].argmax()]  # the lower moon's end reaches up into the upper one
    assert _inside_triangle(tip, a, b, c)


def test_xor_pattern():
    X, y = data.make_xor(4, noise=0.0, shuffle=False)
    np.testing.assert_array_equal(X, [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])  # the truth table of XOR
    # With small noise every point stays in its corner's quadrant: label = signs differ.
    X, y = data.make_xor(400, noise=0.1, rng=0)
    np.testing.assert_array_equal(y, (X[:, 0] > 0) != (X[:, 1] > 0))
    assert np.bincount(y).tolist() == [200, 200]
    # Not linearly separable: the two diagonals (class 0 and class 1) cross at the origin.
    Xc, yc = data.make_xor(4, noise=0.0, shuffle=False)
    midpoint_0 = Xc[yc == 0].mean(axis=0)
    midpoint_1 = Xc[yc == 1].mean(axis=0)
    np.testing.assert_array_equal(midpoint_0, midpoint_1)


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_spirals_follow_their_arms(classes):
    turns = 1.5
    X, y = data.make_spirals(60 * classes, classes=classes, noise=0.0, turns=turns, rng=0)
    assert sorted(set(y.tolist())) == list(range(classes))
    r = np.hypot(X[:, 0], X[:, 1])
    assert (r > 0).all() and (r <= 1 + 1e-12).all()
    expected = 2 * np.pi * (turns * r + y / classes)
    # The same direction: compare unit vectors rather than angles (no wrap-around trouble).
    np.testing.assert_allclose(
        X / r[:, None], np.column_stack([np.cos(expected), np.sin(expected)]), atol=1e-9
    )


def test_sine():
    x, y = data.make_sine(200, noise=0.0, rng=0)
    assert x.shape == (200, 1) and y.shape == (200, 1)
    assert x.dtype == y.dtype == np.float64
    assert (x >= -np.pi).all() and (x <= np.pi).all()
    np.testing.assert_allclose(y, np.sin(x))
    x, y = data.make_sine(4000, noise=0.3, x_range=(0, 1), rng=1)
    assert (x >= 0).all() and (x <= 1).all()
    assert abs(np.std(y - np.sin(x)) - 0.3) < 0.02  # about 4 standard errors


# --- Rumelhart, Hinton & Williams (1986) tasks -----------------------------------------


def test_mirror_symmetry():
    X, y = data.make_mirror_symmetry()
    assert X.shape == (64, 6) and X.dtype == np.float64
    assert y.shape == (64,) and y.dtype == np.int64
    vectors = list(itertools.product([0, 1], repeat=6))
    assert sorted(map(tuple, X.astype(int))) == vectors  # every binary vector exactly once
    symmetric = {v for v in vectors if v == v[::-1]}
    assert len(symmetric) == 8 == 2**3  # the first three bits fix the last three
    for row, label in zip(X.astype(int), y, strict=True):
        assert label == (tuple(row) in symmetric)
    assert y.sum() == 8


@pytest.mark.parametrize("length,count", [(2, 2), (3, 4), (4, 4), (5, 8)])
def test_mirror_symmetry_other_lengths(length, count):
    X, y = data.make_mirror_symmetry(length)
    assert X.shape == (2**length, length)
    assert y.sum() == count  # 2 ** ceil(length / 2)


@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_encoder(n):
    X, Y = data.make_encoder(n)
    np.testing.assert_array_equal(X, np.eye(n))
    np.testing.assert_array_equal(Y, np.eye(n))
    X[0, 0] = 5.0
    assert Y[0, 0] == 1.0  # two separate arrays
    assert data.make_encoder()[0].shape == (8, 8)


# --- digits -------------------------------------------------------------------------------


def test_digits_file_is_the_documented_one():
    blob = (resources.files("bpkit") / "datasets" / data.DIGITS_FILE).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == DIGITS_SHA256
    readme = (resources.files("bpkit") / "datasets" / "README.md").read_text()
    assert DIGITS_SHA256 in readme
    assert "CC BY 4.0" in readme and "10.24432/C50P49" in readme


def test_digits():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y, minlength=10).tolist() == UCI_TEST_COUNTS
    assert sum(UCI_TEST_COUNTS) == 1797
    raw, y_raw = data.load_digits(raw=True)
    assert raw.dtype == np.float64 and raw.min() == 0 and raw.max() == 16
    assert (raw == np.round(raw)).all()
    assert sorted(set(np.unique(raw).tolist())) == list(range(17))
    np.testing.assert_array_equal(X, raw / 16)
    np.testing.assert_array_equal(y, y_raw)
    images, _ = data.load_digits(return_images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images[5], X[5].reshape(8, 8))  # row-major pixels


def test_digits_are_fresh_copies():
    X, y = data.load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = data.load_digits()
    assert X2.min() == 0 and y2.min() == 0


# --- train/validation split ------------------------------------------------------------


def test_train_val_split_partitions_and_stratifies():
    y = np.repeat(np.arange(3), [50, 30, 20])
    X = np.arange(100.0)[:, None] * np.ones((1, 2))  # row i holds i: rows can be traced
    X_tr, X_val, y_tr, y_val = data.train_val_split(X, y, val_fraction=0.2, rng=0)
    assert len(X_tr) + len(X_val) == 100 and len(X_val) == 20
    ids_tr, ids_val = X_tr[:, 0].astype(int), X_val[:, 0].astype(int)
    assert sorted(np.concatenate([ids_tr, ids_val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(y_tr, y[ids_tr])  # labels travel with their rows
    np.testing.assert_array_equal(y_val, y[ids_val])
    assert np.bincount(y_val).tolist() == [10, 6, 4]  # 20 % of each class
    again = data.train_val_split(X, y, val_fraction=0.2, rng=0)
    np.testing.assert_array_equal(again[1], X_val)


def test_train_val_split_digits_keeps_proportions():
    X, y = data.load_digits()
    *_, y_val = data.train_val_split(X, y, 0.25, rng=1)
    expected = np.round(0.25 * np.array(UCI_TEST_COUNTS))
    np.testing.assert_array_equal(np.bincount(y_val), expected)
    unstratified = data.train_val_split(X, y, 0.25, rng=1, stratify=False)
    assert len(unstratified[1]) == round(0.25 * 1797)


# --- bad arguments get clear errors --------------------------------------------------


@pytest.mark.parametrize("make", [*TOYS, data.make_sine], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "kwargs,error,words",
    [
        ({"n": 0}, ValueError, "n must be at least 1"),
        ({"n": -5}, ValueError, "n must be at least 1"),
        ({"n": 2.5}, TypeError, "n must be an integer"),
        ({"n": True}, TypeError, "n must be an integer"),
        ({"n": 10, "noise": -0.1}, ValueError, "noise"),
        ({"n": 10, "noise": float("nan")}, ValueError, "noise"),
        ({"n": 10, "rng": "seed"}, TypeError, "rng"),
    ],
)
def test_bad_arguments(make, kwargs, error, words):
    with pytest.raises(error, match=words) as info:
        make(**kwargs)
    if "rng" not in kwargs:
        assert make.__name__ in str(info.value)


def test_bad_arguments_specific():
    with pytest.raises(ValueError, match="make_circles: factor"):
        data.make_circles(10, factor=1.5)
    with pytest.raises(ValueError, match="make_spirals: classes must be at least 2"):
        data.make_spirals(10, classes=1)
    with pytest.raises(ValueError, match="make_spirals: n"):
        data.make_spirals(2, classes=3)
    with pytest.raises(ValueError, match="make_sine: x_range"):
        data.make_sine(10, x_range=(1, 0))
    with pytest.raises(ValueError, match="make_encoder: n must be at least 2"):
        data.make_encoder(1)
    with pytest.raises(ValueError, match="make_mirror_symmetry"):
        data.make_mirror_symmetry(40)
    X, y = np.zeros((10, 2)), np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match="train_val_split: X has 10 rows but y has 9"):
        data.train_val_split(X, y[:9])
    with pytest.raises(ValueError, match="val_fraction must be strictly between 0 and 1"):
        data.train_val_split(X, y, 1.0)
    with pytest.raises(ValueError, match="leaves one part empty"):
        data.train_val_split(X, y, 0.01)
