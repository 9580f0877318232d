"""Small datasets for the course: 2-D toys made in code, the 1986 paper's tasks, and digits.

Every generator returns plain numpy arrays, ``X`` of float64 with one example
per row and ``y`` of int64 class labels (0, 1, ...), ready for
``bpkit.functional.cross_entropy``. Those that draw random numbers take
``rng`` (a ``np.random.Generator``, an int seed, or None for seed 0), so the
same call gives the same data on every machine.

``load_digits`` and ``load_text`` read files shipped inside the package (see
``bpkit/datasets/README.md``): nothing here ever touches the network.
``CharVocab`` and ``context_windows`` turn text into the integer ids a
character-level language model trains on (notebook 14).
"""

import gzip
from functools import lru_cache
from importlib import resources

import numpy as np

from bpkit.random import as_generator

__all__ = [
    "DIGITS_FILE",
    "TEXTS",
    "CharVocab",
    "context_windows",
    "load_digits",
    "load_text",
    "make_circles",
    "make_encoder",
    "make_mirror_symmetry",
    "make_moons",
    "make_sine",
    "make_spirals",
    "make_xor",
    "train_val_split",
]

#: The shipped digits file, inside the package's ``datasets`` folder.
DIGITS_FILE = "digits.csv.gz"
#: The shipped text corpora: name -> file in the ``datasets`` folder.
TEXTS = {"names": "names.txt"}


# --- argument checks: a wrong argument names the function and what it got ----------------


def _count(value, name, func, minimum=1):
    """``value`` as a Python int >= ``minimum``, or a ValueError/TypeError naming ``func``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{func}: {name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{func}: {name} must be at least {minimum}, got {value}")
    return int(value)


def _nonnegative(value, name, func):
    """``value`` as a finite float >= 0, or an error naming ``func``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{func}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{func}: {name} must be a finite number >= 0, got {value}")
    return value


def _split_evenly(n, parts):
    """Sizes of ``parts`` groups that add up to ``n`` and differ by at most one."""
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def _finish(X, y, rng, shuffle):
    """Rows in a random order (so a minibatch sees every class), as float64 / int64."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return X, y


# --- 2-D classification toys -----------------------------------------------------------


def make_moons(n=200, noise=0.1, rng=None, shuffle=True):
    """Two interleaving half moons: class 0 on (cos t, sin t), class 1 on (1 - cos t, 1/2 - sin t).

    t ~ Uniform(0, pi) for each point, then Gaussian noise of standard
    deviation ``noise`` is added to both coordinates. Class sizes are n // 2
    and n - n // 2. No straight line separates the classes.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, 1}.
    """
    n = _count(n, "n", "make_moons")
    noise = _nonnegative(noise, "noise", "make_moons")
    rng = as_generator(rng)
    n0, n1 = _split_evenly(n, 2)
    t0, t1 = rng.uniform(0.0, np.pi, n0), rng.uniform(0.0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat([0, 1], [n0, n1])
    return _finish(X, y, rng, shuffle)


def make_circles(n=200, noise=0.05, factor=0.5, rng=None, shuffle=True):
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor`` (0 < factor < 1).

    Angles ~ Uniform(0, 2 pi); Gaussian noise of standard deviation ``noise``
    is added to both coordinates. Class sizes are n // 2 and n - n // 2.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, 1}.
    """
    n = _count(n, "n", "make_circles")
    noise = _nonnegative(noise, "noise", "make_circles")
    factor = _nonnegative(factor, "factor", "make_circles")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor (inner radius) must be in (0, 1), got {factor}")
    rng = as_generator(rng)
    n0, n1 = _split_evenly(n, 2)
    radius = np.repeat([1.0, factor], [n0, n1])
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((n, 2))
    y = np.repeat([0, 1], [n0, n1])
    return _finish(X, y, rng, shuffle)


def make_spirals(n=300, classes=3, noise=0.05, turns=1.0, rng=None, shuffle=True):
    """``classes`` spiral arms: arm k at radius r in (0, 1] and angle 2 pi (turns r + k / classes).

    Radii are evenly spaced along each arm; Gaussian noise of standard
    deviation ``noise`` is added to both coordinates. Arm sizes differ by at
    most one. A linear model gets about 1/classes of them right; a small MLP
    can get them all.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, ..., classes - 1}.
    """
    n = _count(n, "n", "make_spirals")
    classes = _count(classes, "classes", "make_spirals", minimum=2)
    if n < classes:
        raise ValueError(f"make_spirals: n ({n}) must be at least classes ({classes})")
    noise = _nonnegative(noise, "noise", "make_spirals")
    turns = _nonnegative(turns, "turns", "make_spirals")
    rng = as_generator(rng)
    sizes = _split_evenly(n, classes)
    # Radii start just off 0: every arm meets the others at the centre.
    radius = np.concatenate([np.linspace(0.05, 1.0, m) for m in sizes])
    y = np.repeat(np.arange(classes), sizes)
    angle = 2.0 * np.pi * (turns * radius + y / classes)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((n, 2))
    return _finish(X, y, rng, shuffle)


def make_xor(n=200, noise=0.2, rng=None, shuffle=True):
    """The XOR problem in 2-D: points around the corners (+-1, +-1), label 1 where the signs differ.

    Points are dealt to the corners (-1, -1), (-1, 1), (1, -1), (1, 1) in turn
    (labels 0, 1, 1, 0: XOR of "coordinate is positive"), then Gaussian noise
    of standard deviation ``noise`` is added. ``make_xor(4, noise=0,
    shuffle=False)`` is the truth table itself. The label belongs to the corner,
    so with large noise some points cross into a neighbour's quadrant.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, 1}.
    """
    n = _count(n, "n", "make_xor")
    noise = _nonnegative(noise, "noise", "make_xor")
    rng = as_generator(rng)
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    which = np.arange(n) % 4
    X = corners[which] + noise * rng.standard_normal((n, 2))
    y = (corners[which, 0] > 0) != (corners[which, 1] > 0)
    return _finish(X, y, rng, shuffle)


# --- regression -------------------------------------------------------------------------


def make_sine(n=100, noise=0.1, x_range=(-np.pi, np.pi), rng=None):
    """Noisy samples of y = sin(x), x ~ Uniform(x_range), noise Gaussian with std ``noise``.

    Returns ``x`` (n, 1) and ``y`` (n, 1), both float64. ``y`` is a column,
    like a network's output: a (n,) target against (n, 1) predictions would
    broadcast to (n, n) in a loss and silently give a wrong answer.
    """
    n = _count(n, "n", "make_sine")
    noise = _nonnegative(noise, "noise", "make_sine")
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise TypeError(f"make_sine: x_range must be a pair (low, high), got {x_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"make_sine: x_range must be finite with low < high, got {x_range!r}")
    rng = as_generator(rng)
    x = rng.uniform(low, high, (n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return x, y


# --- the tasks of Rumelhart, Hinton & Williams (1986) ------------------------------------


def make_mirror_symmetry(length=6):
    """All 2**length binary vectors; label 1 when the vector reads the same backwards.

    The mirror-symmetry task of Rumelhart, Hinton & Williams (1986) uses
    length 6: 64 vectors, of which 2**3 = 8 are symmetric (the first half
    fixes the second). Rows are in counting order: row i is i in binary,
    most significant bit first.

    Returns ``X`` (2**length, length) float64 of 0/1 and ``y`` (2**length,) int64.
    """
    length = _count(length, "length", "make_mirror_symmetry", minimum=2)
    if length > 16:
        raise ValueError(f"make_mirror_symmetry: length {length} gives 2**{length} rows; use <= 16")
    codes = np.arange(2**length)
    bits = length - 1 - np.arange(length)  # most significant bit first
    X = ((codes[:, None] >> bits) & 1).astype(np.float64)
    y = np.all(X == X[:, ::-1], axis=1).astype(np.int64)
    return X, y


def make_encoder(n=8):
    """The n-log2(n)-n encoder task (Rumelhart, Hinton & Williams 1986): inputs = targets = I_n.

    Each of the n one-hot patterns must pass through a hidden layer of
    log2(n) units (3 for the classic 8-3-8) and come out unchanged, so the
    network has to invent a binary code.

    Returns ``X`` and ``Y``, two separate (n, n) float64 identity matrices.
    """
    n = _count(n, "n", "make_encoder", minimum=2)
    return np.eye(n), np.eye(n)


# --- handwritten digits ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _digits_raw():
    """The shipped file as uint8 pixels (1797, 64) and labels (1797,), read once per process."""
    path = resources.files("bpkit") / "datasets" / DIGITS_FILE
    with resources.as_file(path) as real_path, gzip.open(real_path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65) or table.min() < 0 or table[:, :64].max() > 16:
        raise RuntimeError(
            f"load_digits: {DIGITS_FILE} looks damaged (table shape {table.shape}); "
            "reinstall bpkit or see bpkit/datasets/README.md to verify it"
        )
    pixels, labels = table[:, :64].astype(np.uint8), table[:, 64]
    pixels.flags.writeable = labels.flags.writeable = False  # the cache hands out copies only
    return pixels, labels


def load_digits(return_images=False, raw=False):
    """The 8x8 handwritten digits: 1,797 images, labels 0-9 (UCI optdigits test set).

    Each pixel counts the "on" pixels of a 4x4 block of a 32x32 bitmap, so raw
    values are integers 0..16. By default they are divided by 16, giving
    float64 in [0, 1] (inputs of order 1 suit the initialisations of notebook
    08); ``raw=True`` keeps 0..16 (still float64).

    Returns ``X`` of shape (1797, 64), or (1797, 8, 8) with
    ``return_images=True``, and ``y`` (1797,) int64. Fresh arrays on every call.
    Source, licence (CC BY 4.0) and checksum: ``bpkit/datasets/README.md``.
    """
    pixels, labels = _digits_raw()
    X = pixels.astype(np.float64)
    if not raw:
        X /= 16.0
    if return_images:
        X = X.reshape(-1, 8, 8)
    return X, labels.copy()


def train_val_split(X, y, val_fraction=0.2, rng=None, stratify=True):
    """Split rows into a training and a validation part: ``X_train, X_val, y_train, y_val``.

    With ``stratify=True`` each class is split on its own, so both parts keep
    the class proportions (each class gives round(val_fraction * count) rows
    to validation). Rows within each part come in random order.
    """
    func = "train_val_split"
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim != 1:
        raise ValueError(
            f"{func}: X must have one row per example and y must be 1-D, "
            f"got shapes {X.shape} and {y.shape}"
        )
    if len(X) != len(y):
        raise ValueError(f"{func}: X has {len(X)} rows but y has {len(y)} labels")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.floating)):
        raise TypeError(f"{func}: val_fraction must be a number, got {val_fraction!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"{func}: val_fraction must be strictly between 0 and 1, got {val_fraction}"
        )
    rng = as_generator(rng)
    n = len(y)
    if stratify:
        val_parts = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            val_parts.append(members[: round(val_fraction * len(members))])
        val_index = np.concatenate(val_parts)
    else:
        val_index = rng.permutation(n)[: round(val_fraction * n)]
    is_val = np.zeros(n, dtype=bool)
    is_val[val_index] = True
    if is_val.all() or not is_val.any():
        raise ValueError(
            f"{func}: val_fraction={val_fraction} of {n} rows leaves one part empty; "
            "use more data or a fraction nearer 0.5"
        )
    train_index = rng.permutation(np.flatnonzero(~is_val))
    val_index = rng.permutation(np.flatnonzero(is_val))
    return X[train_index], X[val_index], y[train_index], y[val_index]


# --- text (notebook 14) ----------------------------------------------------------------------


def load_text(name="names"):
    """A text corpus shipped with bpkit, as one string (lines end with "\\n").

    ``"names"``: 5,163 first names, one per line, lowercase a-z, 2 to 11 letters,
    from the 1990 US Census (public domain; source and checksum in
    ``bpkit/datasets/README.md``). ``load_text("names").split()`` gives the list.
    """
    if name not in TEXTS:
        raise ValueError(f"load_text: unknown corpus {name!r}; choose one of {sorted(TEXTS)}")
    return (resources.files("bpkit") / "datasets" / TEXTS[name]).read_text(encoding="utf-8")


class CharVocab:
    """Characters <-> integer ids: ``specials`` first, then every character of ``text``, sorted.

    ``CharVocab(words, specials=".")`` with the names gives id 0 to ".", the
    boundary marker that starts and ends every name, and ids 1-26 to a-z.
    ``text`` is a string or a list of strings; ``encode`` and ``decode`` map back
    and forth, and ``len(vocab)`` is the number of classes of the model's softmax.
    """

    def __init__(self, text, specials=""):
        text = "".join(text) if isinstance(text, (list, tuple)) else text
        if not isinstance(text, str) or not isinstance(specials, str):
            raise TypeError(
                "CharVocab: text must be a string or a list of strings, specials a string"
            )
        seen = dict.fromkeys(specials)
        if len(seen) != len(specials):
            raise ValueError(f"CharVocab: specials {specials!r} repeat a character")
        self.chars = list(seen) + sorted(set(text) - set(seen))
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))

    def __len__(self):
        return len(self.chars)

    def __repr__(self):
        return f"CharVocab(size={len(self)}, chars={''.join(self.chars)!r})"

    def encode(self, text):
        """The ids of the characters of ``text``, an int64 array of shape (len(text),)."""
        try:
            return np.array([self.stoi[ch] for ch in text], dtype=np.int64)
        except KeyError as exc:
            raise KeyError(
                f"CharVocab.encode: character {exc.args[0]!r} is not in the vocabulary {self!r}"
            ) from None

    def decode(self, ids):
        """The string the ids stand for (any iterable of ints, e.g. a 1-D array)."""
        ids = np.asarray(ids).ravel()
        try:
            return "".join(self.itos[int(i)] for i in ids)
        except KeyError as exc:
            raise KeyError(
                f"CharVocab.decode: id {exc.args[0]} is not in [0, {len(self)})"
            ) from None


def context_windows(words, vocab, block_size, boundary="."):
    """(X, y): every (previous ``block_size`` characters, next character) pair in ``words``.

    Each word is read as ``boundary * block_size + word + boundary``: the first
    contexts are all boundary, and the last target is the boundary (the model
    learns where a word ends). X is int64 of shape (n, block_size), y (n,), with
    n = sum(len(word) + 1). Bengio et al. (2003) trained their neural language
    model on such windows. For a model that predicts at every position (causal
    attention), the targets of window i are its own characters shifted by one:
    ``Y = np.concatenate([X[:, 1:], y[:, None]], axis=1)``.
    """
    block_size = _count(block_size, "block_size", "context_windows")
    if boundary not in vocab.stoi:
        raise ValueError(f"context_windows: boundary {boundary!r} is not in {vocab!r}")
    start = vocab.stoi[boundary]
    contexts, targets = [], []
    for word in words:
        context = [start] * block_size
        for i in vocab.encode(word + boundary).tolist():
            contexts.append(context)
            targets.append(i)
            context = context[1:] + [i]
    X = np.array(contexts, dtype=np.int64).reshape(-1, block_size)
    return X, np.array(targets, dtype=np.int64)
