"""The general diagnosis engine: explain how a wrong answer relates to the right one.

``explain(out, cases)`` looks at one output over EVERY case a checker ran and
searches for one structural relation between what the learner returned and the
right answer that holds in all of them:

- the value of another output (outputs in the wrong order / slot), or its transpose;
- a constant factor (2, 1/2, -1, ...) or a factor that is a size of the case (1/N: a mean
  where a sum belongs) or a scalar input (lr, dout, ...);
- the right answer times / divided by an input, entry by entry (a missing or extra factor);
- the right answer plus an extra term proportional to an input, to another output, to
  the square / absolute value / sign of an input, or to a constant (``dW = expected + W``);
- an input clipped entry-wise to [-c, c] (clipping by value where by norm belongs);
- the right formula evaluated at a transformed input (-x, x for dout, the output for the
  input, x for x-hat, one scalar input for another: ``reference(**substituted)``);
- a power of the right answer (squared, its square root, its inverse);
- wrong only on a region that a mask of an input describes: x < 0 or x > 0 (an inverted or
  shifted mask, a sign flipped there), |x| small (near a kink) or |x| large (overflow, saturation).

A relation is reported only if it fits every case, so a coincidence in one case
(dout = 0.5 with a factor 2) cannot make it up. Each explanation names what is
wrong and where, never the right formula itself.
"""

import itertools
import math
from fractions import Fraction

import numpy as np

__all__ = ["Record", "explain", "flat", "simple_number"]


class Record:
    """One case as the engine sees it.

    got, want: the learner's and the right value of the output being explained.
    inputs: name -> the case's inputs (and keyword arguments).
    expect: output name -> right value (to detect outputs in the wrong slot).
    reference: callable(**inputs) -> output name -> right value, or None.
    alternatives: name -> {label: value}: other values a name might have been confused with
        (e.g. {"x": {"the output s = sigmoid(x)": s}}); ``reference`` must accept the name.
    terms: label -> array: intermediate quantities (e.g. {"onehot(y)": onehot}) that an
        extra term or a mask may be made of, besides the inputs.
    """

    __slots__ = ("got", "want", "inputs", "expect", "reference", "alternatives", "shape", "terms")

    def __init__(
        self, got, want, inputs, expect=None, reference=None, alternatives=None, terms=None
    ):
        self.shape = np.shape(want) if not isinstance(want, list) else None
        self.got = flat(got)
        self.want = flat(want)
        self.inputs = inputs
        self.expect = expect or {}
        self.reference = reference
        self.alternatives = alternatives or {}
        self.terms = terms or {}


def flat(value):
    """A 1-D float64 array: arrays raveled, lists of arrays concatenated, numbers as 1 entry."""
    if isinstance(value, (list, tuple)):
        parts = [np.asarray(v, dtype=np.float64).ravel() for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(value, dtype=np.float64).ravel()


def _numeric(value):
    try:
        array = flat(value)
    except (TypeError, ValueError):
        return None
    return array if np.all(np.isfinite(array)) else None


def _scale(records):
    return [max(float(np.max(np.abs(r.want), initial=0.0)), 1e-12) for r in records]


def _fits(records, predictions, tol):
    """Every case's prediction matches what the learner returned (relative to the answer's size)."""
    for r, p, s in zip(records, predictions, _scale(records)):
        if p is None or p.shape != r.got.shape:
            return False
        with np.errstate(all="ignore"):
            if not np.all(np.abs(r.got - p) <= tol * max(s, float(np.max(np.abs(p), initial=0)))):
                return False
    return True


def _differs(records, predictions, tol):
    """The prediction is not the right answer in at least one case (else it explains nothing)."""
    return not _fits([_Swap(r) for r in records], predictions, tol)


class _Swap:
    """A record whose 'got' is the right answer: used to ask 'is this prediction just right?'."""

    def __init__(self, r):
        self.got, self.want = r.want, r.want


# --- naming numbers ---------------------------------------------------------------------------
def simple_number(x, limit=12):
    """'2', '1/2', '-1', '3/2' for a simple ratio, else None."""
    if not math.isfinite(x) or x == 0:
        return None
    f = Fraction(x).limit_denominator(limit)
    if abs(float(f) - x) > 1e-7 * abs(x) or abs(f.numerator) > 4 * limit:
        return None
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _scalars(record):
    """name -> number: the case's scalar inputs and its sizes (x.shape[0], x.size)."""
    named = {}
    for name, v in record.inputs.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float, np.integer, np.floating)):
            named[name] = float(v)
        elif isinstance(v, list) and v:
            named[f"len({name})"] = float(len(v))
        elif isinstance(v, np.ndarray) and v.ndim >= 1 and v.dtype.kind in "fiu":
            for axis, n in enumerate(v.shape):
                label = f"{name}.shape[{axis}]" if v.ndim > 1 else f"len({name})"
                named.setdefault(label, float(n))
            if v.ndim > 1:
                named[f"{name}.size"] = float(v.size)
    return named


def _expressions(records):
    """[(text, [value per case])]: scalar inputs, sizes, 1 - s, 1/s, and products of two."""
    per_case = [_scalars(r) for r in records]
    names = [n for n in per_case[0] if all(n in c for c in per_case)]
    out = []
    for n in names:
        values = [c[n] for c in per_case]
        out.append((n, values))
        out.append((f"(1 - {n})", [1 - v for v in values]))
        if all(v != 0 for v in values):
            out.append((f"1/{n}", [1 / v for v in values]))
            out.append((f"2/{n}", [2 / v for v in values]))
        out.append((f"2·{n}", [2 * v for v in values]))
    for a, b in itertools.product(names, repeat=2):
        out.append((f"{a}·(1 - {b})", [ca[a] * (1 - ca[b]) for ca in per_case]))
    for a, b in itertools.combinations(names, 2):
        out.append((f"{a}·{b}", [ca[a] * ca[b] for ca in per_case]))
        if all(ca[b] != 0 for ca in per_case):
            out.append((f"{a}/{b}", [ca[a] / ca[b] for ca in per_case]))
    return out


def _name_coefficients(values, records, allow_constant=True):
    """A name for one number per case: a simple constant, or a (signed) scalar of the case."""
    if not values or any(not math.isfinite(v) for v in values):
        return None
    first = values[0]
    if all(abs(v - first) <= 1e-6 * max(abs(first), 1e-12) for v in values):
        text = simple_number(first)
        if text is not None:
            return text
    for text, expected in _expressions(records):
        for sign, prefix in ((1, ""), (-1, "-")):
            if all(
                abs(v - sign * e) <= 1e-6 * max(abs(e), 1e-12) for v, e in zip(values, expected)
            ):
                # a varying expression only says something if the values vary, or are not simple
                return prefix + text
    if allow_constant and first != 0 and all(abs(v - first) <= 1e-6 * abs(first) for v in values):
        return f"{first:.4g}"
    return None


def _name_on(values, index, records, exprs=None):
    """Like ``_name_coefficients`` for the cases ``index`` only; also its value in every case.

    Returns (text, [value per record]) or None.
    """
    sub = [records[i] for i in index]
    first = values[0]
    if all(abs(v - first) <= 1e-6 * max(abs(first), 1e-12) for v in values):
        text = simple_number(first)
        if text is not None:
            return text, [first] * len(records)
    for text, expected in exprs if exprs is not None else _expressions(records):
        for sign, prefix in ((1, ""), (-1, "-")):
            chosen = [expected[i] for i in index]
            if all(abs(v - sign * e) <= 1e-6 * max(abs(e), 1e-12) for v, e in zip(values, chosen)):
                return prefix + text, [sign * e for e in expected]
    if len(sub) > 1 and all(abs(v - first) <= 1e-6 * abs(first) for v in values):
        return f"{first:.4g}", [first] * len(records)
    return None


def _factor_text(c):
    return "-1 times" if c == "-1" else f"{c} times"


# --- the hypotheses ---------------------------------------------------------------------------
def _same_size_arrays(record, size):
    """name -> flat array of the inputs holding exactly ``size`` numbers (arrays and lists)."""
    found = {}
    for name, v in (record.inputs | record.terms).items():
        if isinstance(v, (np.ndarray, list)) and not isinstance(v, bool):
            array = _numeric(v)
            if array is not None and array.size == size and size > 1:
                found[name] = array
    return found


def _common(records, getter):
    """name -> [value per case] for the names every case has."""
    maps = [getter(r) for r in records]
    return {n: [m[n] for m in maps] for n in maps[0] if all(n in m for m in maps)}


def _slot(out, records, tol):
    for name, values in _common(records, lambda r: _same_size_arrays(r, r.want.size)).items():
        if _fits(records, values, tol) and _differs(records, values, tol):
            return f"{out} is the input {name} itself, unchanged, in every case"
    others = _common(
        records,
        lambda r: {
            k: flat(v)
            for k, v in r.expect.items()
            if k != out and _numeric(v) is not None and flat(v).size == r.want.size
        },
    )
    for other, values in others.items():
        if _fits(records, values, tol) and _differs(records, values, tol):
            return (
                f"{out} holds what {other} should be, in every case: the outputs are in the "
                "wrong slot (return them in the order the exercise asks)"
            )
        if records[0].shape and len(records[0].shape) == 2:
            shapes = [r.shape for r in records]
            trans = [
                v.reshape(s[::-1]).T.ravel() if v.size == int(np.prod(s)) else None
                for v, s in zip(values, shapes)
            ]
            if _fits(records, trans, tol) and _differs(records, trans, tol):
                return f"{out} holds {other}'s value transposed: the outputs are mixed up"
    return None


def _transpose(out, records, tol):
    predictions = []
    for r in records:
        if not r.shape or len(r.shape) < 2:
            return None
        a = r.want.reshape(r.shape)
        if len(r.shape) == 2:
            if r.shape[0] != r.shape[1]:
                return None
            predictions.append(a.T.ravel())
        else:
            return _axes(out, records, tol)
    if _fits(records, predictions, tol) and _differs(records, predictions, tol):
        return (
            f"{out} is the right answer transposed (a square matrix, so the shape could not tell)"
        )
    return None


def _axes(out, records, tol):
    ndim = len(records[0].shape)
    if any(len(r.shape) != ndim for r in records):
        return None
    for perm in itertools.permutations(range(ndim)):
        if perm == tuple(range(ndim)):
            continue
        predictions = []
        for r in records:
            moved = np.transpose(r.want.reshape(r.shape), perm)
            predictions.append(moved.ravel() if moved.shape == r.shape else None)
        if _fits(records, predictions, tol) and _differs(records, predictions, tol):
            return f"{out} has its axes mixed up: it is the right answer with axes {perm}"
    return None


def _factor(out, records, tol):
    values = []
    for r in records:
        norm = float(r.want @ r.want)
        if norm == 0:
            return None
        values.append(float(r.got @ r.want) / norm)
    predictions = [c * r.want for c, r in zip(values, records)]
    if not _fits(records, predictions, tol) or not _differs(records, predictions, tol):
        return None
    single = all(r.want.size == 1 for r in records)
    name = _name_coefficients(values, records, allow_constant=not single or len(records) > 1)
    if name is None:
        return None
    if name == "-1":
        return f"{out} has the wrong sign in every case: it is exactly -1 times the right answer"
    if name in ("0", "-0"):
        return None
    size = any(k in name for k in ("shape[", ".size", "len("))
    if name.startswith("1/"):
        if size:
            return (
                f"{out} is the right answer divided by {name[2:]} in every case: a mean where a "
                "sum belongs? (a 1/N that was already in the loss?)"
            )
        if name[2:3].isalpha():
            return (
                f"{out} is the right answer divided by {name[2:]} in every case: the factor "
                f"{name[2:]} is missing"
            )
        return (
            f"{out} is the right answer divided by {name[2:]} in every case: a constant factor "
            "is off"
        )
    if size and not name.startswith("-"):
        return (
            f"{out} is {name} times the right answer in every case: a sum where a mean belongs? "
            "(or a 1/N forgotten)"
        )
    if name.lstrip("-")[:1].isalpha():
        return (
            f"{out} is the right answer times {name} in every case: an extra factor "
            + name.lstrip("-")
            + (" (and the sign flipped)" if name.startswith("-") else "")
        )
    return (
        f"{out} is {_factor_text(name)} the right answer in every case: a constant factor is "
        "off (a 2, a 1/N, a sum where a mean belongs, or the other way round?)"
    )


def _elementwise_factor(out, records, tol):
    arrays = _common(records, lambda r: _same_size_arrays(r, r.want.size))
    scalar_inputs = _common(
        records,
        lambda r: {
            k: float(v)
            for k, v in r.inputs.items()
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and v != 0
        },
    )
    candidates = [(k, v) for k, v in arrays.items()]
    candidates += [
        (k, [np.full(r.want.size, s) for r, s in zip(records, v)]) for k, v in scalar_inputs.items()
    ]
    for name, values in candidates:
        for power, text in ((1, "times"), (-1, "divided by")):
            with np.errstate(all="ignore"):
                predictions = [r.want * v**power for r, v in zip(records, values)]
            if any(not np.all(np.isfinite(p)) for p in predictions):
                continue
            if _fits(records, predictions, tol) and _differs(records, predictions, tol):
                what = "an extra factor" if power == 1 else "a factor is missing:"
                return f"{out} is the right answer {text} {name}, in every case: {what} {name}" + (
                    " (multiply by it once, not twice)" if power == 1 else ""
                )
    return None


def _complement(out, records, tol):
    """got + want = T for an input or term T: exactly what should be dropped was kept."""
    arrays = _common(records, lambda r: _same_size_arrays(r, r.want.size))
    for name, values in arrays.items():
        predictions = [t - r.want for t, r in zip(values, records)]
        if not any(
            np.any(np.abs(r.want) > 0) and np.any(np.abs(p) > 0)
            for r, p in zip(records, predictions)
        ):
            continue
        if _fits(records, predictions, tol) and _differs(records, predictions, tol):
            return (
                f"{out} + (right answer) = {name}, in every case: you kept exactly the part of "
                f"{name} that should be dropped and dropped the part that should be kept (an "
                "inverted mask or condition?)"
            )
    return None


def _transforms(name, array):
    yield name, array
    yield f"{name}**2", array**2
    yield f"|{name}|", np.abs(array)
    yield f"sign({name})", np.sign(array)


def _additive(out, records, tol):
    """got - want = k1·B1 (+ k2·B2) with B among inputs, their transforms, other outputs, 1."""
    bases = {}
    arrays = _common(records, lambda r: _same_size_arrays(r, r.want.size))
    for name, values in arrays.items():
        for i, (label, _) in enumerate(_transforms(name, values[0])):
            bases[label] = [list(_transforms(name, v))[i][1] for v in values]
    others = _common(
        records,
        lambda r: {
            f"the right {k}": flat(v)
            for k, v in r.expect.items()
            if k != out and _numeric(v) is not None and flat(v).size == r.want.size
        },
    )
    bases.update(others)
    if sum(r.want.size for r in records) > len(records) + 1:
        bases["a constant"] = [np.ones(r.want.size) for r in records]
    if all(r.shape and len(r.shape) == 2 and r.shape[0] == r.shape[1] for r in records):
        bases["the identity matrix"] = [np.eye(r.shape[0]).ravel() for r in records]
    names = list(bases)
    residuals = [r.got - r.want for r in records]
    exprs = _expressions(records)
    for count in (1, 2):
        if sum(r.want.size for r in records) <= (count + 1) * len(records):
            break
        for combo in itertools.combinations(names, count):
            coefs, full, matrices = [], [], []
            for i, (r, res) in enumerate(zip(records, residuals)):
                A = np.stack([bases[n][i] for n in combo], axis=1)
                matrices.append(A)
                if np.linalg.matrix_rank(A) == count:  # else the coefficients are not unique here
                    k, *_ = np.linalg.lstsq(A, res, rcond=None)
                    coefs.append(k)
                    full.append(i)
            if not full or not _fits(
                [records[i] for i in full],
                [records[i].want + matrices[i] @ k for i, k in zip(full, coefs)],
                tol,
            ):
                continue
            terms, values_all = [], []
            for j, n in enumerate(combo):
                values = [float(k[j]) for k in coefs]
                small = all(abs(v) < 1e-9 for v in values)
                named = None if small else _name_on(values, full, records, exprs)
                if named is None:
                    terms = None
                    break
                terms.append((named[0], n))
                values_all.append(named[1])
            if not terms:
                continue
            predictions = [
                r.want + A @ np.array([v[i] for v in values_all])
                for i, (r, A) in enumerate(zip(records, matrices))
            ]
            if not _fits(records, predictions, tol) or not _differs(records, predictions, tol):
                continue
            text = " ".join(
                ("- " if c.startswith("-") else "+ ")
                + ("" if c.lstrip("-") == "1" else f"{c.lstrip('-')}·")
                + n
                for c, n in terms
            )
            what = "extra terms that do" if len(terms) > 1 else "an extra term that does"
            return (
                f"{out} = (right answer) {text}, in every case: {what} not belong (or a term "
                "with the wrong coefficient)"
            )
    return None


def _clipped(out, records, tol):
    arrays = _common(records, lambda r: _same_size_arrays(r, r.want.size))
    scalars = _common(
        records,
        lambda r: {
            k: float(v)
            for k, v in r.inputs.items()
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and v > 0
        },
    )
    for a, avals in arrays.items():
        for s, svals in scalars.items():
            if not any(np.any(np.abs(x) > c) for x, c in zip(avals, svals)):
                continue  # nothing to clip: that is the input itself, not a clipping
            predictions = [np.clip(x, -c, c) for x, c in zip(avals, svals)]
            if _fits(records, predictions, tol) and _differs(records, predictions, tol):
                return (
                    f"{out} is {a} clipped entry by entry to [-{s}, {s}]: that changes the "
                    f"direction of the vector; clip by the NORM (scale all of it) instead"
                )
    return None


def _substituted(out, records, tol):
    """The right formula, evaluated with one input replaced: which replacement fits every case."""
    if any(r.reference is None for r in records):
        return None

    def options(r):
        found = {}
        arrays = {
            k: v
            for k, v in r.inputs.items()
            if isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.ndim >= 1
        }
        for k, v in arrays.items():
            for other, w in arrays.items():
                if other != k and w.shape == v.shape and w.dtype.kind == v.dtype.kind:
                    found[(k, other)] = w
            if v.dtype.kind != "f":
                continue
            found[(k, f"-{k}")] = -v
            found[(k, f"0 (you left {k} out)")] = np.zeros_like(v)
            found[(k, f"2 {k}")] = 2 * v
            found[(k, f"{k} / 2")] = v / 2
            if v.ndim == 2 and v.shape[0] == v.shape[1]:
                found[(k, f"{k}.T")] = v.T
        numbers = {
            k: v
            for k, v in r.inputs.items()
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
        }
        for k, v in numbers.items():
            for other, w in numbers.items():
                if other != k:
                    found[(k, other)] = w
            if isinstance(v, (int, np.integer)):
                for step in (1, -1, 2, -2):
                    found[(k, f"{k} {'+' if step > 0 else '-'} {abs(step)}")] = v + step
            else:
                found[(k, f"-{k}")] = -v
                found[(k, f"2 {k}")] = 2 * v
                found[(k, f"{k} / 2")] = v / 2
        for (k, v), (other, w) in itertools.combinations(arrays.items(), 2):
            if w.shape == v.shape and w.dtype.kind == v.dtype.kind:
                found[(k, other, "swap")] = (w, v)
        for k, labelled in r.alternatives.items():
            for label, value in labelled.items():
                found[(k, label)] = value
        return found

    per_case = [options(r) for r in records]
    for key in per_case[0]:
        if not all(key in o for o in per_case):
            continue
        predictions = []
        for r, o in zip(records, per_case):
            change = {key[0]: o[key][0], key[1]: o[key][1]} if len(key) == 3 else {key[0]: o[key]}
            try:
                with np.errstate(all="ignore"):
                    value = r.reference(**(r.inputs | change))[out]
                predictions.append(_numeric(value))
            except Exception:  # noqa: BLE001 (a substitution the formula cannot take)
                predictions.append(None)
        if _fits(records, predictions, tol) and _differs(records, predictions, tol):
            if len(key) == 3:
                return (
                    f"{out} is what the right formula gives with {key[0]} and {key[1]} swapped, "
                    "in every case: each goes where the other belongs"
                )
            name, label = key
            if label.startswith("0 (you left"):
                return (
                    f"{out} is what the right formula gives with {name} = 0, in every case: "
                    f"you left {name} out"
                )
            return (
                f"{out} is what the right formula gives with {label} in place of {name}, in "
                f"every case: you used {label} where {name} belongs"
            )
    return None


def _power(out, records, tol):
    for power, text in ((2, "the square of"), (0.5, "the square root of"), (-1, "1 over")):
        with np.errstate(all="ignore"):
            predictions = [np.sign(r.want) * np.abs(r.want) ** power for r in records]
        if any(not np.all(np.isfinite(p)) for p in predictions):
            continue
        if _fits(records, predictions, tol) and _differs(records, predictions, tol):
            hint = {
                2: "a square too many (or a missing sqrt)?",
                0.5: "an extra sqrt?",
                -1: "numerator and denominator swapped?",
            }[power]
            return f"{out} is {text} the right answer in every case: {hint}"
    return None


def _describe_region(out, records, wrong, tol):
    """What happens on the wrong entries: zero there, sign flipped, let through."""
    got = np.concatenate([r.got[w] for r, w in zip(records, wrong)])
    want = np.concatenate([r.want[w] for r, w in zip(records, wrong)])
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-12)
    if np.all(np.abs(got) <= tol * scale):
        return "you returned 0 there, where the right answer is not 0"
    if np.all(np.abs(want) <= tol * max(float(np.max(np.abs(got))), 1e-12)):
        return "the right answer is 0 there and you returned non-zero values (gradient let through)"
    if np.all(np.abs(got + want) <= tol * scale):
        return "the sign is flipped there"
    return "the values differ there"


def _region(out, records, tol):
    """The wrong entries are exactly those of a mask of an input (x < 0, |x| small, ...)."""
    if any(r.want.size < 2 for r in records):
        return None
    wrong = []
    for r, s in zip(records, _scale(records)):
        # per entry: a tiny entry that is 2x off is wrong too (not hidden by the array's scale)
        wrong.append(np.abs(r.got - r.want) > tol * (np.abs(r.want) + 1e-3 * s))
    total = sum(int(w.sum()) for w in wrong)
    if total == 0:
        return None
    arrays = _common(records, lambda r: _same_size_arrays(r, r.want.size))
    # support: inverted mask, got non-zero exactly where the answer is 0 and vice versa
    for name, values in arrays.items():
        for text, masks in (
            (f"{name} < 0", [x < 0 for x in values]),
            (f"{name} > 0", [x > 0 for x in values]),
            (f"{name} <= 0", [x <= 0 for x in values]),
            (f"{name} >= 0", [x >= 0 for x in values]),
        ):
            inside = sum(int(m.sum()) for m in masks)
            if inside in (0, sum(m.size for m in masks)):
                continue  # a mask that holds everywhere (or nowhere) says nothing
            if all(np.array_equal(w, m) for w, m in zip(wrong, masks)):
                what = _describe_region(out, records, wrong, tol)
                return (
                    f"{out} is right where {_negate(text)} and wrong exactly where {text} "
                    f"({total} entries over the cases): {what}. Check the mask or condition on "
                    f"{name}"
                )
    for name, values in arrays.items():
        got_zero = [np.abs(r.got) <= tol * s for r, s in zip(records, _scale(records))]
        want_zero = [np.abs(r.want) <= tol * s for r, s in zip(records, _scale(records))]
        if all(np.array_equal(g, ~w) for g, w in zip(got_zero, want_zero)) and all(
            np.any(w) for w in want_zero
        ):
            for text, masks in (
                (f"{name} > 0", [x > 0 for x in values]),
                (f"{name} < 0", [x < 0 for x in values]),
            ):
                if all(np.array_equal(~w, m) for w, m in zip(want_zero, masks)):
                    return (
                        f"{out} is non-zero exactly where the right answer is 0, and 0 where it "
                        f"is not: the gradient should flow where {text}, you let it flow where "
                        f"{_negate(text)}. The mask is inverted"
                    )
    # near a kink or for large values only
    if all(w.all() for w in wrong):
        return None
    for name, values in arrays.items():
        size = [np.abs(x) for x in values]
        bad = np.concatenate([a[w] for a, w in zip(size, wrong)])
        good = np.concatenate([a[~w] for a, w in zip(size, wrong)])
        if bad.size == 0 or good.size == 0:
            continue
        if bad.max() < good.min():
            return (
                f"{out} is wrong only where |{name}| is small (|{name}| <= {bad.max():.3g}, "
                f"{total} entries over the cases) and right elsewhere: look at what your "
                f"formula does near {name} = 0 (a kink, a division, a comparison with 0)"
            )
        if bad.min() > good.max():
            return (
                f"{out} is wrong only where |{name}| is large (|{name}| >= {bad.min():.3g}, "
                f"{total} entries over the cases) and right elsewhere: an overflow, a "
                "saturation or a clipping that should not be there?"
            )
    for name, values in arrays.items():
        bad = np.concatenate([x[w] for x, w in zip(values, wrong)])
        good = np.concatenate([x[~w] for x, w in zip(values, wrong)])
        lo, hi = bad.min(), bad.max()
        if good.size and not np.any((good >= lo) & (good <= hi)):
            return (
                f"{out} is wrong only where {lo:.3g} <= {name} <= {hi:.3g} ({total} entries over "
                f"the cases) and right for every other {name}: a threshold or a kink in the "
                "wrong place?"
            )
    return None


def _negate(condition):
    for a, b in (("<=", ">"), (">=", "<"), ("<", ">="), (">", "<=")):
        if f" {a} " in condition:
            return condition.replace(f" {a} ", f" {b} ")
    return f"not ({condition})"


#: Exact relations, tried first on every wrong output; then the weaker ones (where it is wrong).
HYPOTHESES = (
    _slot,
    _factor,
    _transpose,
    _substituted,
    _elementwise_factor,
    _clipped,
    _complement,
    _additive,
    _power,
)
REGIONS = (_region,)


def explain(out, records, tol=1e-8, weak=False):
    """One sentence relating the learner's ``out`` to the right one in every case, or None.

    ``records``: one ``Record`` per case the checker ran (cases the learner got right
    included: a relation must predict those too). ``weak``: try only the regions where
    it is wrong (x < 0, |x| small or large), after the exact relations found nothing. The tolerance is relative to each
    case's largest entry, as for "correct"; the engine allows a little more for the
    numbers it fits.
    """
    records = [r for r in records if r.got.shape == r.want.shape]
    if not records or all(r.want.size == 0 for r in records):
        return None
    fit_tol = max(tol * 10, 1e-7)
    with np.errstate(all="ignore"):
        for hypothesis in REGIONS if weak else HYPOTHESES:
            try:
                message = hypothesis(out, records, fit_tol)
            except Exception:  # noqa: BLE001 (an odd answer must not break the diagnosis)
                message = None
            if message:
                return message
    return None


def shape_relation(got, inputs):
    """'dout.sum(axis=1)' when a wrongly shaped ``got`` is an input or one of its reductions."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    for name, x in inputs.items():
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f" or x.size < 2:
            continue
        candidates = [(name, x)]
        for how in ("sum", "mean"):
            candidates.append((f"{name}.{how}()", getattr(x, how)()))
            for axis in range(x.ndim):
                candidates.append((f"{name}.{how}(axis={axis})", getattr(x, how)(axis=axis)))
        for text, value in candidates:
            value = np.asarray(value)
            if value.shape == got.shape and np.allclose(got, value, rtol=1e-8, atol=1e-12):
                return text
    return None
