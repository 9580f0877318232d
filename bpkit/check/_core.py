"""The machinery every checker shares, so that each checker is a short list of cases and bugs.

A checker builds an ``Exercise`` and feeds it cases. For each case it gives the
inputs, the right answer (computed here in plain numpy) and the classic wrong
answers (``Bug``: what the mistake would return, and what to tell the learner).
``Exercise.case`` then

1. calls the learner's function on fresh copies of the inputs, under a time
   limit, turning any exception into a message that shows the learner's line;
2. checks that no input was changed in place;
3. checks what came back: how many values, their types, shapes, dtypes, NaN
   (any of these fails at once, with the shapes and what a wrong shape equals);
4. compares each output with the right answer and only RECORDS a wrong value.

After the last case (``Exercise.passed``), a recorded wrong value is explained
over every case: first a known bug that explains all of them (a bug that fits
one case by coincidence is not named), else the relation ``_explain.explain``
finds in all of them (a factor, an extra term, the wrong slot, a substituted
input, a region such as x < 0), else where it is wrong and by how much.
The message names what is wrong and where, not the right formula: that shows
from the ``REVEAL_AFTER``-th failed attempt of the exercise in the kernel, on
``check.reveal(name)`` or ``check.<name>(fn, reveal=True)``, never under
``BPKIT_GRADING=1``, and never for a placeholder (a constant, an input unchanged).

Adding a checker means writing the reference answer (``reference=``, a function
of the case's inputs: it lets the engine try substituted inputs) and the bugs
the engine cannot name by itself; nothing here.
"""

import collections
import ctypes
import functools
import inspect
import math
import numbers
import os
import re
import signal
import threading
import time
import traceback

import numpy as np

from bpkit.check import _explain
from bpkit.scalar import Value
from bpkit.tensor import Tensor

__all__ = [
    "ExerciseFailed",
    "checker",
    "Exercise",
    "Bug",
    "TIME_LIMIT",
    "call_student",
    "diagnose",
    "diagnose_list",
    "shape_text",
    "reveal",
    "formulas",
    "grading",
    "reset_attempts",
]

#: Seconds one call of the learner's function may take before it counts as an infinite loop.
TIME_LIMIT = 5.0

# Frames inside these folders are not the learner's code: skip them when showing "your line".
_BPKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))


class ExerciseFailed(AssertionError):
    """The learner's answer is wrong; the message names the likely bug and what to look at."""


# --- how much a failure tells: the formula only after repeated failures or on request ----------
#: A failed attempt of the same exercise in the same kernel this many times shows the formula.
REVEAL_AFTER = 3
_ATTEMPTS = collections.Counter()  # exercise name -> failed (non-placeholder) attempts
_FORMULAS = {}  # exercise name -> {output: formula}, filled when a checker first runs
_FORCE_REVEAL = []  # one flag per running checker: check.x(fn, reveal=True)
_RUNNING = []  # the Exercises of the running checkers (innermost last)


def grading():
    """True when the grader runs (env BPKIT_GRADING=1): then no message ever shows a formula."""
    return os.environ.get("BPKIT_GRADING", "") == "1"


def reset_attempts(name=None):
    """Forget the failed attempts (of one exercise, or of all): the formula hides again."""
    if name is None:
        _ATTEMPTS.clear()
    else:
        _ATTEMPTS.pop(name, None)


class _Probe(BaseException):
    """Raised by the stand-in function ``reveal`` hands a checker: it only wants the formulas."""


def _probe(*args, **kwargs):
    raise _Probe


def formulas(name):
    """{output: formula} of exercise ``name`` (the checker is run on a stand-in to learn them)."""
    if name not in _FORMULAS:
        import bpkit.check as check_module

        fn = getattr(check_module, name, None)
        if fn is None or name.startswith("_") or name not in check_module.__all__:
            raise ValueError(f"there is no exercise called {name!r} in bpkit.check")
        try:
            fn(_probe)
        except (_Probe, ExerciseFailed, NotImplementedError):
            pass
    return dict(_FORMULAS.get(name, {}))


def reveal(name):
    """Print the right formula(s) of exercise ``name``: ``check.reveal("relu_backward")``.

    While grading (env BPKIT_GRADING=1) the formulas stay hidden.
    """
    if grading():
        print(f"{name}: formulas are not shown while grading")
        return
    found = formulas(name)
    if not found:
        print(f"{name}: this exercise has no single formula to show; its hints and the lecture do")
        return
    print(f"{name}:")
    for out, formula in found.items():
        print(f"  {out}: {formula}")


def _redact(message, formulas):
    """The message without the right formulas: 'expected:' lines and formula fragments go."""
    message = re.sub(r"\n  expected: [^\n]*", "", message)
    parts = set()
    for formula in formulas.values():
        parts.add(formula.strip())
        parts.update(p.strip() for p in formula.split(";") if "=" in p or "(" in p)
    for part in sorted(parts, key=len, reverse=True):
        if len(part) < 6:
            continue
        # At the end of a clause the formula goes with its colon; inside a sentence, "…" stays.
        end = r"(?=\s*(?:[.;)]|$|\n))"
        message = re.sub(r"\s*[:,]\s*" + re.escape(part) + end, "", message)
        message = message.replace(part, "…")
    return message.replace(":.", ".").rstrip(" :,")


class _OutOfTime(BaseException):
    """Raised inside the learner's function at the time limit.

    A BaseException, like KeyboardInterrupt, so that a bare ``except Exception:``
    in the learner's loop cannot swallow it.
    """


class Bug:
    """A classic mistake: the value(s) it would return in this case and what to tell the learner.

    ``Bug("forgot dout: ...", dx=mask)`` says "if dx equals ``mask``, say this".
    A bug that changes several outputs lists them all, e.g. ``Bug(msg, dx=..., dW=...)``;
    it is reported at the first output that is wrong.
    """

    __slots__ = ("message", "values")

    def __init__(self, message, **values):
        self.message = message
        self.values = values

    def __repr__(self):
        return f"Bug({self.message!r}, outputs={sorted(self.values)})"


def shape_text(value):
    """A short description of what ``value`` is: ``(4, 5)`` for arrays, the type name otherwise."""
    if isinstance(value, np.ndarray):
        return str(value.shape)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        return "[" + ", ".join(str(v.shape) for v in value) + "]"
    if isinstance(value, tuple) and all(isinstance(n, int) for n in value):
        return str(value)
    if isinstance(value, Value):
        return f"Value '{value.label}'" if value.label else "Value"
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return type(value).__name__
    return f"{value:g}" if isinstance(value, numbers.Real) else repr(value)


def checker(check_fn):
    """Decorator for every public checker: the learner sees the diagnosis, not bpkit's insides.

    The traceback of an ``ExerciseFailed`` is cut at the checker, so a notebook shows
    the learner's cell, one line of bpkit and the message. An unexpected error in the
    checker itself still becomes an ``ExerciseFailed`` that says so (and keeps its cause).
    """

    @functools.wraps(check_fn)
    def run(student_fn, reveal=False):
        depth = len(_RUNNING)
        _FORCE_REVEAL.append(bool(reveal))
        try:
            return check_fn(student_fn)
        except (ExerciseFailed, NotImplementedError) as failure:
            # The message says what is wrong; the checker's own frames would only hide it.
            raise failure.with_traceback(None) from None
        except _Probe:
            raise
        except Exception as exc:
            pending = _RUNNING[depth] if len(_RUNNING) > depth else None
            if pending is not None and pending._first_wrong is not None:
                # A wrong value earlier made the checker's later steps stumble: report that.
                raise pending._failure().with_traceback(None) from None
            raise ExerciseFailed(
                f"{check_fn.__name__}: the checker itself failed on your answer "
                f"({type(exc).__name__}: {exc}). That is a bug in bpkit.check: please report "
                "it with your code"
            ) from exc
        finally:
            _FORCE_REVEAL.pop()
            del _RUNNING[depth:]

    return run


# --- calling the learner's function ------------------------------------------------------------
def _call_with_alarm(fn, args, kwargs, seconds):
    """Run fn on the main thread; SIGALRM raises _OutOfTime inside it after ``seconds``."""

    def on_alarm(signum, frame):
        raise _OutOfTime

    start = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(
            signal.SIGALRM, signal.SIG_DFL if previous_handler is None else previous_handler
        )
        if previous_timer[0] > 0:  # someone else's timer was running: give back what is left of it
            left = max(previous_timer[0] - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_timer[1])


def _call_in_thread(fn, args, kwargs, seconds):
    """Run fn in a worker thread (no signals off the main thread, or on Windows)."""
    result = {}

    def target():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    worker = threading.Thread(target=target, name="bpkit-check", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        # A thread cannot be killed, but it can be asked to raise at its next bytecode.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(_OutOfTime)
        )
        raise _OutOfTime
    if "error" in result:
        raise result["error"]
    return result["value"]


def _learner_frame(exc):
    """The deepest traceback frame in the learner's code (not bpkit, numpy, stdlib), or None."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = (_BPKIT_DIR, _NUMPY_DIR, _STDLIB_DIR)
    theirs = [f for f in frames if not os.path.abspath(f.filename).startswith(ours)]
    return theirs[-1] if theirs else None


_ERROR_HINTS = {
    "ValueError": "a shape mismatch is the usual cause: write each array's shape next to every "
    "term of your formula",
    "IndexError": "an index is out of range: check which axis you index and its length",
    "NameError": "a name that is not defined: a typo, or a variable from another cell?",
    "ZeroDivisionError": "a division by zero",
    "RecursionError": "the recursion never stops (or the graph is deeper than Python's "
    "recursion limit): check the base case, or use a loop with your own stack",
    "TypeError": "an operation got the wrong kind of object: print the type of each variable",
    "AttributeError": "an attribute that this object does not have: print its type",
}


def call_student(name, fn, args, kwargs=None, signature=None, where="", hints=None):
    """fn(*args, **kwargs) under ``TIME_LIMIT``; an exception or timeout becomes ``ExerciseFailed``.

    A ``NotImplementedError`` passes through (as a fresh ``NotImplementedError``
    with a friendly message): it means "not answered yet", and generated
    exercise notebooks are allowed to stop on it and only on it.
    ``hints`` (exception name -> hint) replaces the general hint for that
    exception where the case knows better, e.g. a RecursionError on a deep graph.
    """
    kwargs = kwargs or {}
    seconds = TIME_LIMIT
    try:
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            return _call_with_alarm(fn, args, kwargs, seconds)
        return _call_in_thread(fn, args, kwargs, seconds)
    except _OutOfTime:
        message = (
            f"{name}: your function did not finish within {seconds:g} s. An infinite loop? "
            "Look for a `while` whose condition never changes, or a loop variable you "
            "never advance."
        )
    except NotImplementedError:
        raise NotImplementedError(
            f"{name}: not answered yet. Replace `raise NotImplementedError()` with your code."
        ) from None
    except Exception as exc:
        message = _describe_exception(name, exc, signature, hints)
    raise ExerciseFailed(message + (f"\n  ({where})" if where else ""))


def _describe_exception(name, exc, signature, hints=None):
    """Name the exception, the learner's line and a hint; a failed call means a bad signature."""
    frame = _learner_frame(exc)
    kind = type(exc).__name__
    if frame is None and isinstance(exc, TypeError):
        wanted = f": it must be `{signature}`" if signature else ""
        return f"{name}: your function could not be called as the exercise asks{wanted}. ({exc})"
    text = f"{name}: your function raised {kind}: {exc}"
    if frame is not None:
        line = (frame.line or "").strip()
        text += f"\n  in {frame.name}(), line {frame.lineno}: {line}"
    hint = (hints or {}).get(kind) or _ERROR_HINTS.get(kind)
    if hint is None and isinstance(exc, (ArithmeticError, LookupError)):
        hint = "check the line above with small inputs you can follow by hand"
    if hint:
        text += f"\n  hint: {hint}."
    return text


# --- inputs: fresh copies in, mutation check after -----------------------------------------------
def _fresh(value):
    """A copy the learner may scribble on: arrays and lists of arrays; the rest is shared."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def _same(before, after, tol):
    """True when ``after`` still holds what ``before`` held (to ``tol`` relative, 0 = exactly)."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.shape != before.shape:
            return False
        if tol == 0:
            return bool(np.array_equal(before, after, equal_nan=True))
        with np.errstate(all="ignore"):
            scale = max(float(np.max(np.abs(before), initial=0.0)), 1.0)
            return bool(np.all(np.abs(after - before) <= tol * scale))
    if isinstance(before, list):
        return (
            isinstance(after, list)
            and len(after) == len(before)
            and all(_same(b, a, tol) for b, a in zip(before, after))
        )
    return True


def _shares(output, argument):
    """True if the returned ``output`` is (a view of) the array the learner was given."""
    return (
        isinstance(output, np.ndarray)
        and isinstance(argument, np.ndarray)
        and np.shares_memory(output, argument)
    )


# --- looking at one output -------------------------------------------------------------------
def _close(got, want, tol):
    """|got - want| <= tol * (|want| + max|want|) everywhere: relative to the array's scale."""
    if got.shape != want.shape:
        return False
    with np.errstate(all="ignore"):
        scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-6)
        return bool(np.all(np.abs(got - want) <= tol * (np.abs(want) + scale)))


def _as_number_array(out, got, expected):
    """(float64 ndarray, None) for anything numeric, or (None, message) for the wrong kind."""
    wants_number = not isinstance(expected, np.ndarray)
    what = "a number (a float)" if wants_number else "a numpy array"
    if got is None:
        return (
            None,
            f"{out} is None. Did you forget a `return`, or return the result of an in-place op?",
        )
    if isinstance(got, Tensor):
        return None, f"{out} is a bpkit Tensor; return {what}: use `{out}.data`"
    if isinstance(got, Value):
        return None, f"{out} is a bpkit Value; return {what}: use `{out}.data`"
    if isinstance(got, (list, tuple)):
        fix = "np.array(...)" if not wants_number else "a single float"
        return None, f"{out} is a {type(got).__name__} of {len(got)} items; return {what} ({fix})"
    if isinstance(got, bool):
        return None, f"{out} is a bool ({got}); return {what}"
    if isinstance(got, (numbers.Number, np.generic)) and not isinstance(got, np.ndarray):
        if isinstance(got, numbers.Complex) and not isinstance(got, numbers.Real):
            return None, f"{out} is a complex number ({got}); return a real one"
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        return None, f"{out} is a {type(got).__name__}; return {what}"
    kind = got.dtype.kind
    if kind == "O":
        return None, (
            f"{out} is an array of Python objects (dtype=object), not of numbers: it was probably "
            "built from a list of arrays of different shapes, or of Values/Tensors"
        )
    if kind == "c":
        return (
            None,
            f"{out} is a complex array; gradients here are real (a sqrt of a negative number?)",
        )
    if kind not in "biuf":
        return None, f"{out} has dtype {got.dtype}, not numbers"
    return got.astype(np.float64), None


def _squeeze(shape):
    return tuple(n for n in shape if n != 1)


def _shape_story(out, got, want, like):
    """Explain a wrong shape: transposed, a lost or extra size-1 axis, broadcast, or different."""
    target = f"{like}'s shape {want.shape}" if like else f"shape {want.shape}"
    if want.shape == ():
        return f"{out} has shape {got.shape}, but must be a single number"
    if got.ndim == 2 and got.shape == want.T.shape:
        return f"{out} looks transposed: you returned shape {got.shape}; {out} must have {target}"
    if _squeeze(got.shape) == _squeeze(want.shape):
        extra = "an extra" if got.ndim > want.ndim else "a missing"
        return (
            f"{out} has shape {got.shape} but must have {target}: {extra} size-1 axis "
            "(keepdims=True, or a reshape?)"
        )
    try:
        widened = np.broadcast_shapes(got.shape, want.shape) == got.shape
    except ValueError:
        widened = False
    if widened and got.size > want.size:
        return (
            f"{out} has shape {got.shape}, bigger than {target}: broadcasting stretched it. "
            "Where an input was broadcast in the forward pass, its gradient is summed over the "
            "broadcast axes"
        )
    return f"{out} has shape {got.shape} but must have {target}"


def _worst(got, want):
    """(index, relative error) of the entry where ``got`` is furthest from ``want``."""
    with np.errstate(all="ignore"):
        scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-12)
        error = np.abs(got - want) / scale
        error = np.where(np.isnan(error), np.inf, error)
    index = np.unravel_index(int(np.argmax(error)), want.shape) if want.ndim else ()
    return index, float(error[index])


def _fmt_index(index):
    return "" if index == () else f"[{', '.join(str(int(i)) for i in index)}]"


def diagnose(
    out, got, want, bugs=(), like=None, formula=None, tol=1e-8, nonfinite_hint=None, one_case=True
):
    """None if ``got`` matches ``want``; otherwise one message naming the most likely mistake.

    Order: kind of object, known bugs, shape, NaN/inf, dtype, then generic
    mistakes (sign, transpose, constant factor: only with ``one_case``; over several
    cases ``_explain`` judges those) and finally where it is wrong.
    """
    # A learner's huge or NaN numbers must not make the diagnosis itself warn or fail.
    with np.errstate(all="ignore"):
        return _diagnose(out, got, want, bugs, like, formula, tol, nonfinite_hint, one_case)


def _diagnose(out, got, want, bugs, like, formula, tol, nonfinite_hint, one_case=True):
    value, problem = _as_number_array(out, got, want)
    if problem:
        return problem
    wants_array = isinstance(want, np.ndarray) and want.ndim > 0
    want = np.asarray(want, dtype=np.float64)
    hint = f"\n  expected: {formula}" if formula else ""
    if _close(value, want, tol):
        if wants_array and np.asarray(got).dtype != np.float64:
            return f"{out} has the right values but dtype {np.asarray(got).dtype}; return float64"
        return None
    for bug in bugs:
        if out in bug.values:
            candidate = np.asarray(bug.values[out], dtype=np.float64)
            # A bug counts only where it really differs from the right answer in this case.
            if _close(value, candidate, tol) and not _close(candidate, want, tol):
                return bug.message
    if value.shape != want.shape:
        if value.ndim == 2 and value.shape == want.T.shape and _close(value, want.T, tol):
            target = f"{like}'s shape {want.shape}" if like else f"shape {want.shape}"
            return (
                f"{out} looks transposed: you returned shape {value.shape}; "
                f"{out} must have {target}" + hint
            )
        size_one_only = _squeeze(value.shape) == _squeeze(want.shape)
        if (
            not size_one_only
            and value.size == want.size
            and want.ndim
            and _close(value.reshape(want.shape), want, tol)
        ):
            target = f"{like}'s shape {want.shape}" if like else f"shape {want.shape}"
            return (
                f"{out} has the right numbers but shape {value.shape}; it must have {target} "
                "(build it with np.zeros_like, or reshape)"
            )
        return _shape_story(out, value, want, like) + hint
    if not np.all(np.isfinite(value)):
        bad = ~np.isfinite(value)
        first = tuple(np.argwhere(bad)[0]) if value.ndim else ()
        what = "NaN" if np.isnan(value).any() else "inf"
        advice = nonfinite_hint or "an overflow, a log of 0 or a division by 0?"
        return (
            f"{out} contains {what} ({int(bad.sum())} of {value.size} entries, first at "
            f"{out}{_fmt_index(first)}): {advice}"
        )
    if np.asarray(got).dtype in (np.float32, np.float16):
        return f"{out} is {np.asarray(got).dtype}: compute in float64 (don't cast with astype)"
    if one_case:
        structural = _one_case_structure(out, value, want, tol, hint)
        if structural:
            return structural
    return _where_wrong(out, value, want, tol) + hint


def _one_case_structure(out, value, want, tol, hint):
    """Sign, transpose or a constant factor, judged on one case alone."""
    if _close(value, -want, tol):
        return f"{out} has the wrong sign: it is exactly -1 times the right answer" + hint
    if value.ndim == 2 and _close(value, want.T, tol) and not _close(want, want.T, tol):
        return f"{out} looks transposed (it equals the right answer's .T)" + hint
    norm = float(np.sum(want * want))
    if norm > 0:
        factor = float(np.sum(value * want)) / norm
        # Any number is a multiple of another: for a single number, only a simple ratio
        # (2, 1/3, ...) says something.
        simple = want.ndim > 0 or any(
            math.isfinite(r) and abs(r - round(r)) < 1e-6 * abs(r)
            for r in (factor, 1 / factor if factor else 0.0)
        )
        if simple and abs(factor - 1) > 1e-6 and factor != 0 and _close(value, factor * want, tol):
            return (
                f"{out} is {factor:.6g} times the right answer: a constant factor is off "
                "(a 2, a 1/N, a sum where a mean belongs, or the other way round?)" + hint
            )
    return None


def _where_wrong(out, value, want, tol):
    """The generic message: the largest error, where, and how many entries differ."""
    index, error = _worst(value, want)
    where = f" at {out}{_fmt_index(index)}" if index != () else ""
    text = (
        f"{out} is wrong: max error {error:.3g} (relative to its largest entry){where}: "
        f"you returned {value[index]:.6g}, expected {want[index]:.6g}"
    )
    if value.ndim:
        wrong = int(np.sum(~np.isclose(value, want, rtol=tol, atol=tol * np.max(np.abs(want)))))
        text += f"; {wrong} of {value.size} entries differ"
    return text


def diagnose_list(out, got, want, bugs=(), tol=1e-8):
    """Like ``diagnose``, for an output that is a list of arrays (one per input array)."""
    if not isinstance(got, (list, tuple)):
        return f"{out} is a {type(got).__name__}; return a list with one array per input array"
    if len(got) != len(want):
        return f"{out} has {len(got)} arrays; expected {len(want)}, one per input array"
    values = [_as_number_array(f"{out}[{i}]", g, w) for i, (g, w) in enumerate(zip(got, want))]
    for _, problem in values:
        if problem:
            return problem
    arrays = [v for v, _ in values]

    def all_close(candidates):
        return all(
            _close(a, np.asarray(c, dtype=np.float64), tol) for a, c in zip(arrays, candidates)
        )

    if all_close(want):
        return None
    for bug in bugs:
        if out in bug.values and all_close(bug.values[out]):
            candidate = bug.values[out]
            if not all(
                _close(np.asarray(c, dtype=np.float64), w, tol) for c, w in zip(candidate, want)
            ):
                return bug.message
    for i, (g, w) in enumerate(zip(got, want)):
        message = diagnose(f"{out}[{i}]", g, w, tol=tol)
        if message:
            return message
    return None


def _ordinal(n):
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _bug_key(message):
    """A bug's identity across cases: its message with the case's numbers left out."""
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "#", message)


def _twin(bug, position, bugs):
    """The same mistake in another case's list: same place and same words (numbers aside)."""
    key = _bug_key(bug.message)
    if position < len(bugs) and _bug_key(bugs[position].message)[:30] == key[:30]:
        return bugs[position]
    return next((b for b in bugs if _bug_key(b.message) == key), None)


def _comparable(got, want):
    """got as float64 (or a list of float64 arrays) when only its VALUE can be wrong, else None.

    None means a wrong kind, shape, dtype or a NaN/inf: ``diagnose`` says so at once.
    """
    if isinstance(want, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return None
        parts = [_comparable(g, w) for g, w in zip(got, want)]
        return None if any(p is None for p in parts) else parts
    if isinstance(want, np.ndarray) and want.ndim > 0:
        if not isinstance(got, np.ndarray) or got.dtype != np.float64 or got.shape != want.shape:
            return None
        return got if np.all(np.isfinite(got)) else None
    if isinstance(got, (bool, Value, Tensor)):
        return None
    if isinstance(got, np.ndarray) and got.ndim == 0 and got.dtype.kind in "fiu":
        got = got.item()
    if isinstance(got, (numbers.Real, np.integer, np.floating)) and math.isfinite(float(got)):
        try:
            if np.shape(want) != ():
                return None
            float(want)
        except (TypeError, ValueError):
            return None
        return np.float64(got)
    return None


def _matches(value, want, tol):
    if isinstance(want, list):
        return all(_matches(v, w, tol) for v, w in zip(value, want))
    return _close(np.asarray(value, dtype=np.float64), np.asarray(want, dtype=np.float64), tol)


# --- one exercise ----------------------------------------------------------------------------
class Exercise:
    """Runs one learner function on a checker's cases; raises ``ExerciseFailed`` at the first bug.

    name: the exercise (and checker) name, e.g. "linear_backward".
    returns: the names of the values the function returns, e.g. ("dx", "dW", "db");
        one name means the function returns that value alone (not a tuple).
    signature: the exact signature the learner implements, shown when a call fails.
    like: output name -> input name it must be shaped like (for shape messages).
    formulas: output name -> the right formula, shown under generic diagnoses.
    tol: relative tolerance (to each output's largest entry) for "correct".
    sequence: the single return value is itself a list (a tuple is passed on, not refused).
    reference: optional function of the case's inputs (keywords included) returning the
        right outputs (a tuple in ``returns`` order, one value, or a dict): the engine
        evaluates it at substituted inputs (-x, another input, lr / 2, ...).
    """

    def __init__(
        self,
        name,
        student_fn,
        returns,
        signature,
        like=None,
        formulas=None,
        tol=1e-8,
        sequence=False,
        reference=None,
    ):
        self.sequence = sequence
        self.reference = reference
        self._records = []  # one per checked case: what the learner returned and the answers
        self._first_wrong = None  # index of the first record with a wrong output
        self.name = name
        self.fn = student_fn
        self.returns = (returns,) if isinstance(returns, str) else tuple(returns)
        self.signature = signature
        self.like = like or {}
        self.formulas = formulas or {}
        self.tol = tol
        self.cases = 0
        _FORMULAS.setdefault(name, dict(self.formulas))
        _RUNNING.append(self)
        if not callable(student_fn):
            called = " (you passed its result: drop the parentheses)" if student_fn is None else ""
            self.fail(
                f"expected your function, got {type(student_fn).__name__}{called}: "
                f"write check.{name}(my_function), not check.{name}(my_function(...))"
            )

    # -- messages --
    def fail(self, message, where="", placeholder=False):
        """Raise ExerciseFailed with the exercise name in front and the case behind.

        A wrong value found in an earlier case (not yet reported, see ``check``) comes first.
        """
        if self._first_wrong is not None:
            raise self._failure()
        raise self._failed(message, where, placeholder)

    def _failed(self, message, where="", placeholder=False):
        """The ExerciseFailed to raise: the formula only when it is time to reveal it."""
        if not placeholder:
            _ATTEMPTS[self.name] += 1
        forced = bool(_FORCE_REVEAL and _FORCE_REVEAL[-1])
        show = not grading() and (
            forced or (not placeholder and _ATTEMPTS[self.name] >= REVEAL_AFTER)
        )
        if not show:
            message = _redact(message, self.formulas)
        text = f"{self.name}: {message}" + (f"\n  ({where})" if where else "")
        if show and self.formulas and "expected:" not in message:
            text += "".join(f"\n  the formula: {f}" for f in self.formulas.values())
        elif not show and self.formulas and not grading():
            text += (
                f'\n  (stuck? check.reveal("{self.name}") shows the formula; so does the '
                f"{_ordinal(REVEAL_AFTER)} failed attempt)"
            )
        return ExerciseFailed(text)

    def passed(self, detail=None):
        """Print the one success line (or report the wrong value an earlier case found)."""
        if self._first_wrong is not None:
            raise self._failure()
        if detail is None:
            verb = "matches" if len(self.returns) == 1 else "match"
            detail = f"{', '.join(self.returns)} {verb} to {self.tol:g}".replace("e-0", "e-")
        plural = "case" if self.cases == 1 else "cases"
        print(f"✓ {self.name}: correct on {self.cases} {plural} ({detail})")

    @staticmethod
    def describe(inputs, kwargs=None):
        """'x (4, 5), W (5, 3), lr 0.1': the case, for the end of a message."""
        items = list(inputs.items()) + list((kwargs or {}).items())
        return ", ".join(
            f"{k} {shape_text(v)}"
            if isinstance(v, (np.ndarray, list))
            else f"{k} = {shape_text(v)}"
            for k, v in items
        )

    # -- the steps --
    def call(self, inputs, kwargs=None, mutation_tol=0.0, mutation_hint=None, error_hints=None):
        """Call the learner's function on copies of ``inputs`` (in order); return its outputs.

        Returns a tuple with one entry per name in ``returns``, after checking
        that no input was modified and that the right number of values came back.
        ``error_hints`` (exception name -> hint) explains an exception this case provokes.
        """
        self.cases += 1
        where = f"case {self.cases}: {self.describe(inputs, kwargs)}"
        given = {k: _fresh(v) for k, v in inputs.items()}
        result = call_student(
            self.name, self.fn, tuple(given.values()), kwargs, self.signature, where, error_hints
        )
        outputs = self._unpack(result, where, inputs)
        for arg, original in inputs.items():
            if not _same(original, given[arg], mutation_tol):
                self.fail(self._mutation_message(arg, given[arg], outputs, mutation_hint), where)
        return outputs, where

    def _unpack(self, result, where, inputs=None):
        names = ", ".join(self.returns)
        if len(self.returns) == 1:
            if isinstance(result, tuple) and not self.sequence:
                self._refuse_loss_and_gradient(result, where, inputs or {})
                self.fail(
                    f"returned a tuple of {len(result)}; return {names} alone (a trailing comma, "
                    f"as in `return {names},`, makes a tuple)",
                    where,
                )
            return (result,)
        if result is None:
            self.fail(f"returned None. Did you forget `return {names}`?", where)
        if not isinstance(result, (tuple, list)):
            self.fail(
                f"returned one {type(result).__name__}; return a tuple of {len(self.returns)}: "
                f"`return {names}`",
                where,
            )
        if len(result) != len(self.returns):
            self.fail(
                f"returned {len(result)} values; expected {len(self.returns)}: `return {names}` "
                "(in this order)",
                where,
            )
        return tuple(result)

    def _refuse_loss_and_gradient(self, result, where, inputs):
        """Fail on ``(loss, grad)`` (or ``(grad, loss)``): a number beside an array shaped right.

        A backward function written inside a training loop often returns the loss too.
        """
        out = self.returns[0]
        like = inputs.get(self.like.get(out))
        if len(result) != 2 or not isinstance(like, np.ndarray):
            return
        for number, array, order in ((0, 1, f"(loss, {out})"), (1, 0, f"({out}, loss)")):
            scalar = result[number]
            if isinstance(scalar, np.ndarray) and scalar.ndim == 0:
                scalar = scalar.item()
            if (
                isinstance(scalar, numbers.Real)
                and not isinstance(scalar, bool)
                and isinstance(result[array], np.ndarray)
                and result[array].shape == like.shape
            ):
                self.fail(
                    f"returned a tuple of a number and an array shaped like {self.like[out]}: "
                    f"return only {out}, not {order}. This exercise is the backward pass alone; "
                    "compute the loss in a separate function if you want to print it",
                    where,
                )

    def _mutation_message(self, arg, changed, outputs, hint):
        aliased = [out for out, got in zip(self.returns, outputs) if _shares(got, changed)]
        if aliased:
            text = (
                f"changed its input `{arg}` in place, and returned that same array as "
                f"{aliased[0]}: `{aliased[0]} = {arg}` makes no copy, so writing into "
                f"{aliased[0]} writes into the caller's {arg}. Start from `{arg}.copy()`"
            )
        else:
            text = (
                f"changed its input `{arg}` in place: `{arg} += ...`, `{arg} -= ...`, "
                f"`{arg} *= ...` or `{arg}[...] = ...` write into the caller's array. Build a "
                f"new array instead (`{arg} - ...`, or work on `{arg}.copy()`)"
            )
        return text + (f". Here: {hint[0].lower()}{hint[1:]}" if hint else "")

    def check(
        self,
        outputs,
        expect,
        bugs=(),
        where="",
        nonfinite_hint=None,
        tol=None,
        inputs=None,
        alternatives=None,
        terms=None,
    ):
        """Compare outputs with ``expect`` (output name -> right value).

        A wrong kind, shape, dtype or a NaN fails at once. A wrong VALUE is only
        recorded: the diagnosis waits for the other cases (``passed`` or the next
        failure reports it), so that it names a mistake that explains every case.
        ``inputs`` (name -> value, keyword arguments included) let the diagnosis relate
        the wrong value to them; ``alternatives`` (name -> {label: value}) are values a
        name is often confused with, tried in ``self.reference``; ``terms`` (label -> array)
        are intermediate quantities an extra term or a mask may be made of.
        """
        tol = self.tol if tol is None else tol
        record = dict(
            where=where,
            got={},
            expect=expect,
            bugs=list(bugs),
            inputs=dict(inputs or {}),
            alternatives=alternatives or {},
            terms=terms or {},
            tol=tol,
            wrong=[],
        )
        wrong = []
        for out, got in zip(self.returns, outputs):
            if out not in expect:
                continue
            value = _comparable(got, expect[out])
            if value is not None:
                record["got"][out] = value
                if not _matches(value, expect[out], tol):
                    record["wrong"].append(out)
                continue
            if isinstance(expect[out], list):
                message = diagnose_list(out, got, expect[out], bugs, tol)
            else:
                message = diagnose(
                    out,
                    got,
                    expect[out],
                    bugs,
                    like=self.like.get(out),
                    formula=self.formulas.get(out),
                    tol=tol,
                    nonfinite_hint=nonfinite_hint,
                )
                message = self._with_shape_relation(out, got, expect, message, inputs)
            if message:
                wrong.append((out, message))
        if wrong:
            also = [out for out, _ in wrong[1:]] + record["wrong"]
            extra = f"\n  also wrong: {', '.join(also)}" if also else ""
            self.fail(wrong[0][1] + extra, where)
        self._records.append(record)
        if record["wrong"] and self._first_wrong is None:
            self._first_wrong = len(self._records) - 1

    @staticmethod
    def _with_shape_relation(out, got, expect, message, inputs):
        """Add what a wrongly shaped array IS (another output, an input, or its sum) to it."""
        want = expect[out]
        if not message or not isinstance(got, np.ndarray) or got.dtype.kind not in "fiu":
            return message
        if np.shape(got) == np.shape(want) or "shape" not in message:
            return message
        for other, value in expect.items():
            if other == out or not isinstance(value, np.ndarray) or value.shape != got.shape:
                continue
            if np.allclose(got, value, rtol=1e-8, atol=1e-12):
                if "swapped" in message or f"what {other} should be" in message:
                    return message
                head, sep, tail = message.partition("\n")
                return (
                    f"{head}; it is what {other} should be (outputs in the wrong slot?){sep}{tail}"
                )
        if not inputs:
            return message
        relation = _explain.shape_relation(got, inputs)
        if relation is None or relation in message:
            return message
        head, sep, tail = message.partition("\n")
        return f"{head}; it equals {relation}{sep}{tail}"

    # -- the diagnosis of a wrong value, over every case --
    def _failure(self):
        """The ExerciseFailed for the recorded wrong value(s): catalogue, engine, generic."""
        first = self._records[self._first_wrong]
        outs = first["wrong"]
        message, chosen, known = None, outs[0], False
        try:
            for out in outs:
                message = self._catalogue(out)
                known = message is not None
                message = message or self._engine(out)
                if message:
                    chosen = out
                    break
            else:
                for out in outs:
                    message = self._engine(out, weak=True)
                    if message:
                        chosen = out
                        break
        except Exception:  # noqa: BLE001 (the generic message below is still right)
            message, chosen, known = None, outs[0], False
        placeholder = self._placeholder(chosen)  # never counted as an attempt, never revealed
        if known:
            return self._report(message, chosen, outs, bool(placeholder))
        if placeholder and "placeholder" in placeholder:
            # a constant is no attempt at the formula: say so, and nothing that hints at it
            message = f"{placeholder}: that is not an answer yet. Replace it with your computation"
        if message is None:
            message = self._generic(chosen)
        if placeholder and "unchanged" not in message and "placeholder" not in message:
            message = f"{placeholder}. {message}"
        return self._report(message, chosen, outs, bool(placeholder))

    def _report(self, message, chosen, outs, placeholder):
        where_index = next(i for i, r in enumerate(self._records) if chosen in r["wrong"])
        where = self._records[where_index]["where"]
        also = [o for o in outs if o != chosen]
        extra = f"\n  also wrong: {', '.join(also)}" if also else ""
        self._first_wrong = None  # reported: a later fail() must not report it again
        return self._failed(message + extra, where, placeholder=placeholder)

    def _catalogue(self, out):
        """The message of the known bug that explains ``out`` in EVERY case, if there is one."""
        first = self._records[self._first_wrong]
        for position, bug in enumerate(first["bugs"]):
            if out not in bug.values:
                continue
            differs = False
            for record in self._records:
                twin = _twin(bug, position, record["bugs"])
                for name, got in record["got"].items():
                    want = record["expect"][name]
                    if twin is None or name not in twin.values:
                        continue  # the bug is not listed in this case: it says nothing here
                    candidate = _comparable(twin.values[name], want)
                    if candidate is None or not _matches(got, twin.values[name], record["tol"]):
                        break
                    if not _matches(candidate, want, record["tol"]):
                        differs = True
                else:
                    continue
                break
            else:
                if differs:
                    return bug.message
        return None

    def _engine(self, out, weak=False):
        defaults = {}
        if self.reference is not None:
            try:
                parameters = inspect.signature(self.reference).parameters.values()
            except (TypeError, ValueError):
                parameters = ()
            defaults = {
                p.name: p.default
                for p in parameters
                if p.default is not inspect.Parameter.empty and p.default is not None
            }
        records = []
        for record in self._records:
            if out not in record["got"]:
                continue
            records.append(
                _explain.Record(
                    record["got"][out],
                    record["expect"][out],
                    defaults | record["inputs"],
                    record["expect"],
                    self._named_reference if self.reference is not None else None,
                    record["alternatives"],
                    record["terms"],
                )
            )
        return _explain.explain(out, records, tol=self.tol, weak=weak)

    def _named_reference(self, **inputs):
        """The checker's reference answer as output name -> value."""
        result = self.reference(**inputs)
        if isinstance(result, dict):
            return result
        return dict(zip(self.returns, result if len(self.returns) > 1 else (result,)))

    def _generic(self, out):
        record = next(r for r in self._records if out in r["wrong"])
        got, want = record["got"][out], record["expect"][out]
        if isinstance(want, list):
            for i, (g, w) in enumerate(zip(got, want)):
                message = diagnose(f"{out}[{i}]", g, w, tol=record["tol"], one_case=False)
                if message:
                    return message
            return f"{out} is wrong"
        return diagnose(
            out,
            got,
            want,
            like=self.like.get(out),
            formula=self.formulas.get(out),
            tol=record["tol"],
            one_case=False,
        )

    def _placeholder(self, out):
        """'dx looks like a placeholder (all zeros)' for a constant array or an input unchanged."""
        record = next(r for r in self._records if out in r["wrong"])
        got = record["got"][out]
        if isinstance(got, list):
            got = _explain.flat(got)
        got = np.asarray(got, dtype=np.float64)
        if got.size > 1 and np.all(got == got.flat[0]):
            what = "all zeros" if got.flat[0] == 0 else f"every entry {got.flat[0]:g}"
            return f"{out} looks like a placeholder ({what})"
        for name, value in record["inputs"].items():
            same_shape = isinstance(value, np.ndarray) and value.shape == got.shape
            if same_shape and got.size > 1 and np.array_equal(value, got):
                return f"{out} is the input {name} itself, unchanged"
        return None

    def case(
        self,
        inputs,
        expect,
        bugs=(),
        kwargs=None,
        nonfinite_hint=None,
        mutation_hint=None,
        mutation_tol=0.0,
        alternatives=None,
        terms=None,
    ):
        """One case: call on ``inputs`` (+ ``kwargs``); check against ``expect`` and ``bugs``."""
        if not isinstance(expect, dict):
            expect = {self.returns[0]: expect}
        outputs, where = self.call(inputs, kwargs, mutation_tol, mutation_hint)
        self.check(
            outputs,
            expect,
            bugs,
            where,
            nonfinite_hint,
            inputs=dict(inputs) | dict(kwargs or {}),
            alternatives=alternatives,
            terms=terms,
        )
        return outputs
