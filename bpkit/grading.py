"""Grade student notebooks against the instructor's: ``python -m bpkit grade PATH``.

What runs is the instructor's notebook, not the student's. The grader finds
the instructor's copy of the exercise in the solutions folder (``--solutions``,
default ``./solutions``, else the ``solutions/`` of the checkout bpkit was
installed from) by file name: ``03_x.ipynb`` or ``alice-03_x.ipynb`` (any name
ending in ``_``, ``-``, ``.`` or a space plus the solution's name); a single
notebook may also be named as the instructor's copy for every submission. It
then builds a fresh notebook from the instructor's cells, with only the
student's ANSWER cells substituted in (nbgrader solution cells, matched by
grade_id, else by cell id; a missing one is the stub): check cells, hidden
tests, points and grade_ids all come from the instructor, never from the
student's file. ``--as-submitted`` grades a notebook as it stands (a
self-check when there is no instructor copy; not tamper-proof).

The notebook runs top to bottom in a fresh ``python3`` kernel, with errors
allowed (a broken exercise must not hide the next one), a time limit per cell
and one for the whole notebook. The kernel's working directory is a throwaway
folder two levels deep (relative writes, ``../`` included, stay in it), its
IPython profile, matplotlib cache and connection file live there too, and
env ``BPKIT_GRADING=1`` tells bpkit.check never to print a formula. bpkit is
imported from a private copy of the installed package, and an audit hook in
the kernel refuses to write into the copy or the installed package (open for
writing, rename, remove, ...). A notebook that tries, or that changes the copy
by other means (the copy is hashed before and after), gets no points, and the
report says which files. ``grade`` also hashes the installed package before
and after a whole run and warns if it changed.

Inside the kernel a guard (its own module, not the notebook's namespace)
records, before any notebook cell runs, the functions of bpkit, numpy, the
standard modules the checkers use, the builtins, the import machinery and
IPython's hooks (input and AST transformers, event callbacks, custom exception
handlers, the shell's and kernel's methods). Before each check cell it puts
back whatever the notebook changed (a replaced ``bpkit.check.linear_backward``,
a patched ``numpy.allclose``, a transformer that blanks cells, a name
``check`` or ``abs`` of the student's own), deletes bpkit.check from
``sys.modules`` and imports it afresh from the private copy, and re-runs the
instructor's import lines (``from bpkit import check``, ...). Right after the
check it compares that state again: a change made while the check ran (by
code inside the student's function) costs the exercise its points. What the
guard undid is listed as a note. The guard's start and its replies carry a
random token: a check whose guard did not answer earns nothing.

Status of an exercise, first match wins:

- timed out: the answer or check cell hit the time limit (or was never run
  because the notebook's limit was used up);
- tampered: the check's code or the grader's guard was interfered with, or
  the notebook wrote into the bpkit package;
- not attempted: NotImplementedError in the answer or check cell (the stub);
- error: the answer cell raised, or the check cell raised something that is
  not an AssertionError (a TypeError from a wrong signature, say);
- failed: the check cell raised an AssertionError, e.g. ``check.ExerciseFailed``;
  the diagnosis is the first line of its message, with any piece of the
  instructor's answer (``x.T @ dout``) replaced by ``[hidden]``;
- passed: both cells ran cleanly; the exercise earns its points.

Grading a class: ``grade DIR`` grades every ``*.ipynb`` in DIR (``-j N``
notebooks at a time, each in a worker process and kernel of its own;
default: one per core) and writes one CSV row per exercise, in file-name order whatever N is
(``DIR/grades.csv`` unless ``--csv`` names another file). A cell's output
beyond MAX_OUTPUT_BYTES is dropped with a note; a crash or a hang costs that
notebook only.

An answer cell that mentions ``bpkit.check``, ``sys.modules``,
``get_ipython`` and the like gets a note (calling the checkers' own reference
answers is not something the guard can undo).

Limits: the guard works inside the student's process, so a submission written
against this grader's own source (one that replaces the guard's functions with
fakes that echo its token, say) can still defeat it, and code can still write
to absolute paths outside the package. Grade untrusted work inside a
container, as JupyterHub and nbgrader deployments do.
"""

import ast
import csv
import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ExerciseResult",
    "GradeReport",
    "csv_rows",
    "write_csv",
    "GradingError",
    "find_instructor_notebook",
    "format_report",
    "grade_notebook",
    "grade_path",
    "grading_notebook",
    "read_notebook",
]

STATUSES = ("passed", "failed", "not attempted", "error", "timed out", "tampered")
MAX_OUTPUT_BYTES = 1_000_000  # per cell: enough for any honest answer, far below a memory problem
CSV_COLUMNS = ("notebook", "exercise", "points", "possible", "status", "diagnosis")
_SEPARATORS = ("_", "-", ".", " ")
# Words an answer cell has no business with (noted in the report, not penalised).
_SUSPECT = ("bpkit.check", "_reference", "__bpkit", "get_ipython", "sys.modules", "gc.get_")

# The guard that runs inside the grading kernel (see the module docstring), as source: the
# kernel compiles it into a module of its own before any cell of the notebook runs.
_GUARD = r'''
# Runs inside the grading kernel, in a module of its own (never in the notebook's namespace).
# install() is called once, before any notebook cell; before(nonce, imports) before each check
# cell; after(nonce) right after it. Each prints one line starting with the nonce.
import builtins as _builtins
import importlib as _importlib
import os as _os
import sys as _sys
import types as _types

_FunctionType, _ModuleType = _types.FunctionType, _types.ModuleType
_MISSING = object()
# Top-level modules whose functions the checkers (and hidden tests) rely on.
PROTECTED = (
    "bpkit", "numpy", "math", "cmath", "builtins", "functools", "operator", "itertools",
    "numbers", "copy", "collections", "contextlib", "traceback", "inspect", "signal",
    "threading", "time", "ctypes", "re", "textwrap", "importlib", "random", "os", "types",
    "warnings", "json", "io", "abc", "enum", "dataclasses", "typing", "weakref", "statistics",
)
_DATA_TYPES = (int, float, complex, bool, str, bytes)
_state = {}
_IGNORED = ("_", "__", "___", "input", "raw_input", "getpass")  # ipykernel sets these per cell


def _top(name):
    return name.partition(".")[0]


def _is_check(name):
    return name == "bpkit.check" or name.startswith("bpkit.check.")


def _watched(value, data):
    if isinstance(value, (_ModuleType, type)) or callable(value):
        return True
    if isinstance(value, (staticmethod, classmethod, property)):
        return True
    return data and type(value) in _DATA_TYPES


def _code_of(value, codes):
    funcs = [value]
    if isinstance(value, (staticmethod, classmethod)):
        funcs = [value.__func__]
    elif isinstance(value, property):
        funcs = [value.fget, value.fset, value.fdel]
    elif not isinstance(value, (_ModuleType, type)):
        try:
            impl = object.__getattribute__(value, "_implementation")
        except Exception:
            impl = None
        funcs.append(impl)
    for f in funcs:
        if isinstance(f, _FunctionType):
            codes[id(f)] = (f, f.__code__, f.__defaults__, f.__kwdefaults__)


def _snap_class(cls, codes, delete_added):
    entries = {k: v for k, v in vars(cls).items() if _watched(v, False)}
    for v in entries.values():
        _code_of(v, codes)
    return (cls, entries, delete_added)


def _snap_modules(names):
    mods, codes, classes = {}, {}, {}
    for name in names:
        mod = _sys.modules.get(name)
        if not isinstance(mod, _ModuleType):
            continue
        d = vars(mod)
        ours, check = _top(name) == "bpkit", _is_check(name)
        entries = {k: v for k, v in d.items() if _watched(v, not ours)}
        path = d.get("__path__")
        mods[name] = (mod, entries, list(path) if isinstance(path, list) else None)
        for v in entries.values():
            _code_of(v, codes)
            if check and isinstance(v, type) and getattr(v, "__module__", "") == name:
                classes[id(v)] = _snap_class(v, codes, False)
    return mods, codes, classes


def _shell():
    get = getattr(_builtins, "get_ipython", None)
    return get() if get is not None else None


_SHELL_ATTRS = (
    "input_transformer_manager", "events", "display_pub", "displayhook", "compile",
    "InteractiveTB", "SyntaxTB", "custom_exceptions", "CustomTB", "kernel", "user_ns",
    "user_global_ns", "input_transformers_post", "ast_transformers",
)
_SYS_ATTRS = ("displayhook", "breakpointhook", "stdout", "stderr", "stdin")


def _snap_ipython():
    shell = _shell()
    if shell is None:
        return None
    tm = shell.input_transformer_manager
    lists = [(shell, "input_transformers_post"), (shell, "ast_transformers"),
             (tm, "cleanup_transforms"), (tm, "line_transforms"), (tm, "token_transformers")]
    lists = [(obj, name, list(getattr(obj, name))) for obj, name in lists]
    events = {k: list(v) for k, v in shell.events.callbacks.items()}
    attrs = {k: getattr(shell, k, _MISSING) for k in _SHELL_ATTRS}
    codes = {}
    classes = {}
    objects = [shell, getattr(shell, "kernel", None), tm, shell.compile]
    for obj in objects:
        if obj is None:
            continue
        for cls in type(obj).__mro__:
            if cls is object or cls.__module__ == "builtins":
                continue
            classes[id(cls)] = _snap_class(cls, codes, True)
    instances = []
    for obj in objects:
        if obj is None:
            continue
        d = getattr(obj, "__dict__", {})
        instances.append((obj, {k: v for k, v in d.items() if callable(v)}, set(d)))
    return {"shell": shell, "lists": lists, "events": events, "attrs": attrs,
            "codes": codes, "classes": classes, "instances": instances}


_WRITE_FLAGS = _os.O_WRONLY | _os.O_RDWR | _os.O_APPEND | _os.O_CREAT | _os.O_TRUNC
_PATH_EVENTS = frozenset((
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.truncate",
    "os.chmod", "os.chown", "os.utime", "os.chflags", "os.setxattr", "os.removexattr",
    "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree", "shutil.rmtree",
    "shutil.move", "shutil.chown",
))


def _protect(dirs):
    """An audit hook (it cannot be removed) that refuses writes into ``dirs`` and records them."""
    realpath, fsdecode, sep, PathLike = _os.path.realpath, _os.fsdecode, _os.sep, _os.PathLike
    dirs = tuple(realpath(d) for d in dirs)
    attempts = _state["attempts"]
    busy = []

    def inside(path):
        if not isinstance(path, (str, bytes, PathLike)):
            return False
        try:
            where = realpath(fsdecode(path))
        except Exception:
            return False
        return any(where == d or where.startswith(d + sep) for d in dirs)

    def hook(event, args):
        if busy or not (event == "open" or event in _PATH_EVENTS):
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            targets = [path] if writing else []
        else:
            targets = list(args)
        if not targets:
            return
        busy.append(1)
        try:
            hits = [t for t in targets if inside(t)]
        finally:
            busy.pop()
        if hits:
            hit = hits[0] if isinstance(hits[0], int) else fsdecode(hits[0])
            attempts.append(f"{event} {hit}")
            raise PermissionError(f"bpkit grade: the bpkit package is read-only ({event})")

    _sys.addaudithook(hook)


def install(nonce, pristine, protect=()):
    """Remember the untouched state; called before any notebook cell runs."""
    _state["attempts"] = []
    _protect([pristine, *protect])
    import bpkit
    import bpkit.check
    for name in ("bpkit.optim", "bpkit.nn", "bpkit.nn.init", "bpkit.functional", "bpkit.data",
                 "bpkit.graph", "bpkit.gradcheck", "bpkit.checkpoint", "bpkit.surfaces"):
        try:
            _importlib.import_module(name)
        except Exception:
            pass
    names = [
        n for n in list(_sys.modules)
        if _top(n) in PROTECTED and not _is_check(n) and n != "builtins"
    ]
    mods, codes, classes = _snap_modules(names)
    _state.update(
        pristine=pristine, mods=mods, codes=codes, classes=classes,
        check_names=sorted(n for n in _sys.modules if _is_check(n)),
        fresh=_snap_modules(sorted(n for n in _sys.modules if _is_check(n))),
        ipython=_snap_ipython(),
        sys_lists={
            k: (getattr(_sys, k), list(getattr(_sys, k)))
            for k in ("meta_path", "path_hooks", "path")
        },
        sys_attrs={k: getattr(_sys, k) for k in _SYS_ATTRS},
        builtins=dict(vars(_builtins)),
    )
    shell = _shell()
    _state["ns"] = dict(shell.user_ns) if shell is not None else {}
    print(nonce, "installed", repr((bpkit.check.__file__,)))


def _restore_lists(saved, changed, label):
    for obj, name, content in saved:
        current = getattr(obj, name, _MISSING)
        if not isinstance(current, list):
            setattr(obj, name, list(content))
            changed.append(f"{label}.{name}")
        elif current != content:
            current[:] = content
            changed.append(f"{label}.{name}")


def _restore_classes(classes, changed):
    for cls, entries, delete_added in classes.values():
        d = vars(cls)
        for k, v in entries.items():
            if d.get(k, _MISSING) is not v:
                setattr(cls, k, v)
                changed.append(f"{cls.__qualname__}.{k}")
        if delete_added:
            for k in [k for k, v in d.items() if k not in entries and _watched(v, False)]:
                delattr(cls, k)
                changed.append(f"{cls.__qualname__}.{k}")


def _restore_codes(codes, changed):
    for f, code, defaults, kwdefaults in codes.values():
        now = (f.__code__, f.__defaults__, f.__kwdefaults__)
        if any(a is not b for a, b in zip(now, (code, defaults, kwdefaults))):
            f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults
            changed.append(getattr(f, "__module__", "?") + "." + f.__qualname__)


def _restore_ipython(changed):
    ip = _state["ipython"]
    if ip is None:
        return
    shell = ip["shell"]
    _restore_classes(ip["classes"], changed)
    _restore_codes(ip["codes"], changed)
    for obj, methods, keys in ip["instances"]:
        d = obj.__dict__
        for k, v in methods.items():
            if d.get(k, _MISSING) is not v:
                d[k] = v
                changed.append(f"{type(obj).__name__}.{k}")
        for k in [k for k in d if k not in keys and callable(d[k]) and hasattr(type(obj), k)]:
            del d[k]
            changed.append(f"{type(obj).__name__}.{k}")
    for k, v in ip["attrs"].items():
        if v is not _MISSING and getattr(shell, k, _MISSING) is not v:
            setattr(shell, k, v)
            changed.append(f"shell.{k}")
    _restore_lists(ip["lists"], changed, "shell")
    callbacks = shell.events.callbacks
    for k, content in ip["events"].items():
        if not isinstance(callbacks.get(k), list):
            callbacks[k] = list(content)
            changed.append(f"shell.events.{k}")
        elif callbacks[k] != content:
            callbacks[k][:] = content
            changed.append(f"shell.events.{k}")


def _restore_modules(changed):
    for name, (mod, entries, path) in _state["mods"].items():
        if _sys.modules.get(name) is not mod:
            _sys.modules[name] = mod
            changed.append(f"sys.modules[{name!r}]")
        d = vars(mod)
        ours = _top(name) == "bpkit"
        for k, v in entries.items():
            if name == "bpkit" and k == "check":
                continue
            if d.get(k, _MISSING) is not v:
                d[k] = v
                changed.append(f"{name}.{k}")
        if ours:
            for k in [k for k, v in d.items() if k not in entries and _watched(v, False)]:
                value = d.pop(k)
                if not (isinstance(value, _ModuleType) and value.__name__ == f"{name}.{k}"):
                    changed.append(f"{name}.{k}")
        if path is not None and d.get("__path__") != path:
            d["__path__"] = list(path)
            changed.append(f"{name}.__path__")
    # bpkit modules first imported after the start: forget them, so they load fresh if used.
    late = [n for n in _sys.modules if _top(n) == "bpkit" and n not in _state["mods"]]
    for name in [n for n in late if not _is_check(n)]:
        del _sys.modules[name]


def _restore_namespace(changed):
    """Names of the notebook's that shadow a builtin (``abs = ...``) go, unless the instructor's."""
    shell = _shell()
    ns = shell.user_ns if shell is not None else {}
    if ns.get("__builtins__", _builtins) is not _builtins:
        ns["__builtins__"] = _builtins
        changed.append("__builtins__")
    initial = _state["ns"]
    for k in [k for k in ns if k in _state["builtins"] and not k.startswith("_")]:
        if k not in initial:
            del ns[k]
            changed.append(f"{k} (a name that shadowed a builtin)")
        elif ns[k] is not initial[k]:
            ns[k] = initial[k]
            changed.append(f"{k} (a name that shadowed a builtin)")
    return ns


def _restore_sys(changed):
    _sys.settrace(None)
    _sys.setprofile(None)
    for k, (original, content) in _state["sys_lists"].items():
        if getattr(_sys, k) is not original:
            setattr(_sys, k, original)
            changed.append(f"sys.{k}")
        if list(original) != content:
            original[:] = content
            if k != "path":  # ipykernel and imports may legitimately add paths
                changed.append(f"sys.{k}")
    _sys.path_importer_cache.clear()
    for k, v in _state["sys_attrs"].items():
        if getattr(_sys, k) is not v:
            setattr(_sys, k, v)
            changed.append(f"sys.{k}")


def before(nonce, imports):
    """Undo what the notebook changed, load bpkit.check afresh, rebind the instructor's imports."""
    changed = _state.pop("pending", [])
    saved_builtins = _state["builtins"]
    d = vars(_builtins)
    for k, v in saved_builtins.items():
        if k not in _IGNORED and d.get(k, _MISSING) is not v:
            d[k] = v
            changed.append(f"builtins.{k}")
    _restore_sys(changed)
    _restore_ipython(changed)
    _restore_modules(changed)
    _restore_classes(_state["classes"], changed)
    _restore_codes(_state["codes"], changed)
    changed.extend(_check_changes())
    if _os.environ.get("BPKIT_GRADING") != "1":
        _os.environ["BPKIT_GRADING"] = "1"
        changed.append("os.environ['BPKIT_GRADING']")
    for name in [n for n in _sys.modules if _is_check(n)]:
        del _sys.modules[name]
    vars(_sys.modules["bpkit"]).pop("check", None)
    _importlib.invalidate_caches()
    for name in _state["check_names"]:
        _importlib.import_module(name)
    fresh = _snap_modules(_state["check_names"])
    _state["fresh"] = fresh
    outside = [n for n in _state["check_names"]
               if not str(getattr(_sys.modules[n], "__file__", "")).startswith(_state["pristine"])]
    ns = _restore_namespace(changed)
    if imports:
        exec(compile(imports, "<bpkit grader: the instructor's imports>", "exec"), ns)
    seen = []
    for item in changed:
        if item not in seen:
            seen.append(item)
    print(nonce, "ready", repr((seen, outside, list(_state["attempts"]))))


def trusted(nonce, when):
    """Around an instructor's cell: clean IPython state before it, and what it sets up is kept.

    (``%matplotlib inline`` registers an event callback; that is not the student's doing.)"""
    if when == "start":
        changed = _state.setdefault("pending", [])
        _restore_ipython(changed)
        _restore_sys(changed)
        _restore_namespace(changed)
    else:
        ns = _shell().user_ns
        _state["ns"].update((k, ns[k]) for k in ns if k in _state["builtins"])
        _state["ipython"] = _snap_ipython()
        _state["sys_lists"] = {
            k: (getattr(_sys, k), list(getattr(_sys, k)))
            for k in ("meta_path", "path_hooks", "path")
        }
    print(nonce, when, repr(()))


def _check_changes():
    """What changed in bpkit.check since it was last loaded."""
    found = []
    mods, codes, classes = _state["fresh"]
    for name, (mod, entries, path) in mods.items():
        if _sys.modules.get(name) is not mod:
            found.append(f"sys.modules[{name!r}]")
        d = vars(mod)
        for k, v in entries.items():
            if d.get(k, _MISSING) is not v:
                found.append(f"{name}.{k}")
    for f, code, defaults, kwdefaults in codes.values():
        if f.__code__ is not code:
            found.append(f"{getattr(f, '__module__', '?')}.{f.__qualname__}")
    for cls, entries, _ in classes.values():
        d = vars(cls)
        for k, v in entries.items():
            if d.get(k, _MISSING) is not v:
                found.append(f"{cls.__qualname__}.{k}")
    return found


def _differences():
    found = _check_changes()
    for name, (mod, entries, path) in _state["mods"].items():
        d = vars(mod)
        for k, v in entries.items():
            if (isinstance(v, (_ModuleType, type)) or callable(v)) and d.get(k, _MISSING) is not v:
                if not (name == "bpkit" and k == "check"):
                    found.append(f"{name}.{k}")
    for f, code, defaults, kwdefaults in _state["codes"].values():
        if f.__code__ is not code:
            found.append(f"{getattr(f, '__module__', '?')}.{f.__qualname__}")
    d = vars(_builtins)
    for k, v in _state["builtins"].items():
        if callable(v) and k not in _IGNORED and d.get(k, _MISSING) is not v:
            found.append(f"builtins.{k}")
    ip = _state["ipython"]
    if ip is not None:
        shell = ip["shell"]
        for obj, name, content in ip["lists"]:
            if getattr(obj, name, _MISSING) != content:
                found.append(f"shell.{name}")
        for k, content in ip["events"].items():
            if shell.events.callbacks.get(k) != content:
                found.append(f"shell.events.{k}")
        for k, v in ip["attrs"].items():
            if v is not _MISSING and getattr(shell, k, _MISSING) is not v:
                found.append(f"shell.{k}")
        for obj, methods, keys in ip["instances"]:
            for k in obj.__dict__:
                if k not in keys and callable(obj.__dict__[k]) and hasattr(type(obj), k):
                    found.append(f"{type(obj).__name__}.{k}")
        for f, code, defaults, kwdefaults in ip["codes"].values():
            if f.__code__ is not code:
                found.append(f"{getattr(f, '__module__', '?')}.{f.__qualname__}")
    if _sys.gettrace() is not None or _sys.getprofile() is not None:
        found.append("sys.settrace/setprofile")
    return found


def after(nonce):
    """Did the check cell raise an AssertionError; did anything change while it ran?"""
    last = getattr(_sys, "last_value", None)
    assertion = isinstance(last, AssertionError)
    found = []
    for item in _differences():
        if item not in found:
            found.append(item)
    print(nonce, "done", repr((assertion, found[:5], list(_state["attempts"]))))
'''


class GradingError(Exception):
    """The notebook cannot be graded at all (missing, not a notebook, corrupt)."""


@dataclass
class ExerciseResult:
    """One exercise's outcome: ``status`` is one of STATUSES."""

    exercise: str
    points: float
    possible: float
    status: str
    diagnosis: str = ""


@dataclass
class GradeReport:
    """Every exercise of one notebook, plus problems outside the exercises (``notes``)."""

    path: str
    results: list
    notes: list
    against: str = ""  # the instructor's notebook it was graded against ("" = as submitted)

    @property
    def earned(self):
        return sum(r.points for r in self.results)

    @property
    def possible(self):
        return sum(r.possible for r in self.results)

    @property
    def passed(self):
        """True when every exercise passed."""
        return all(r.status == "passed" for r in self.results)


def read_notebook(path):
    """Read ``path`` as an nbformat-4 notebook; GradingError with a one-line reason if it is not one."""
    import nbformat

    path = Path(path)
    if not path.exists():
        raise GradingError(f"no such file: {path}")
    if path.is_dir():
        raise GradingError(f"{path} is a folder, not a notebook")
    not_notebook = "" if path.suffix == ".ipynb" else " (expected a .ipynb file)"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GradingError(
            f"{path} is not a Jupyter notebook: it is not even text{not_notebook}"
        ) from None
    except OSError as exc:
        raise GradingError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if not_notebook:
            raise GradingError(f"{path} is not a Jupyter notebook{not_notebook}") from None
        raise GradingError(
            f"{path} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file is damaged: get a fresh copy from exercises/ or your version control"
        ) from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise GradingError(
            f"{path} is JSON but not a Jupyter notebook (no 'cells'/'nbformat'){not_notebook}"
        )
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (ValueError, KeyError, TypeError, AttributeError, nbformat.ValidationError) as exc:
        # nbformat's ValidationError messages run to many lines: keep the first
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GradingError(f"{path} is not a valid Jupyter notebook: {first}") from None
    return nb


def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _exercises(nb):
    """[(name, answer_index or None, check_index, points)] for every graded check cell."""
    found, last_answer = [], None
    answers = {}
    for i, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if meta.get("solution") and cell.cell_type == "code":
            answers[meta.get("grade_id")] = i
            last_answer = i
        if meta.get("grade") and cell.cell_type == "code":
            grade_id = str(meta.get("grade_id") or f"cell_{i + 1}")
            name = grade_id.removesuffix("_check")
            answer = answers.get(f"{name}_answer", last_answer)
            points = meta.get("points", 0)
            points = (
                float(points)
                if isinstance(points, (int, float)) and not isinstance(points, bool)
                else 0.0
            )
            found.append((name, answer, i, points))
            last_answer = None
    return found


def _first_line(text):
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _error(cell):
    """The cell's error output (ename, evalue), or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _describe(error):
    ename, evalue = error
    first = _first_line(evalue)
    return f"{ename}: {first}" if first else ename




# --- the instructor's notebook, with the student's answers ---------------------------------


def default_solutions_dir():
    """``./solutions`` if it exists, else the solutions/ of bpkit's checkout (or None)."""
    here = Path.cwd() / "solutions"
    if here.is_dir():
        return here
    import bpkit

    checkout = Path(bpkit.__file__).resolve().parents[1] / "solutions"
    return checkout if checkout.is_dir() else None


def find_instructor_notebook(path, solutions):
    """The instructor's notebook for the submission at ``path``; GradingError if there is none.

    ``solutions`` is a notebook (used for every submission) or a folder: there the
    notebook with the same file name, else the longest name that ends the submission's
    name after a separator (``alice-03_x.ipynb`` -> ``03_x.ipynb``).
    """
    path = Path(path)
    if solutions is None:
        raise GradingError(
            f"no solutions folder to grade {path.name} against: pass --solutions DIR (the "
            "instructor's notebooks), or --as-submitted to run the notebook as it stands"
        )
    solutions = Path(solutions)
    if solutions.is_file():
        return solutions
    if not solutions.is_dir():
        raise GradingError(f"no such solutions folder or notebook: {solutions}")
    if (solutions / path.name).is_file():
        return solutions / path.name
    matches = [
        s
        for s in solutions.glob("*.ipynb")
        if any(path.name.endswith(sep + s.name) for sep in _SEPARATORS)
    ]
    if not matches:
        raise GradingError(
            f"no instructor notebook for {path.name} in {solutions}: name the submission like "
            "the exercise notebook (or ending in '-' plus its name), pass --solutions, or "
            "--as-submitted to run it as it stands"
        )
    return max(matches, key=lambda s: len(s.name))


def _answer_cells(student):
    """grade_id -> source and cell id -> source of the student's code answer cells."""
    by_grade_id, by_id = {}, {}
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if isinstance(grade_id, str) and meta.get("solution"):
            by_grade_id.setdefault(grade_id, cell.source)
        if isinstance(cell.get("id"), str):
            by_id.setdefault(cell.id, cell.source)
    return by_grade_id, by_id


def grading_notebook(instructor, student):
    """The notebook to run: ``instructor``'s cells with ``student``'s sources in the answer cells.

    Returns (notebook, answers): ``answers`` maps each answer cell's index to how its
    source was found ("grade_id", "cell id" or "missing": the stub, graded as not attempted).
    Nothing but the sources of the student's answer cells is taken from ``student``.
    """
    import copy

    from bpkit.exercises import student_notebook

    stubs = student_notebook(instructor)
    by_grade_id, by_id = _answer_cells(student)
    nb = copy.deepcopy(instructor)
    answers = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        grade_id = meta.get("grade_id")
        if grade_id in by_grade_id:
            cell.source, answers[i] = by_grade_id[grade_id], "grade_id"
        elif isinstance(cell.get("id"), str) and cell.id in by_id:
            cell.source, answers[i] = by_id[cell.id], "cell id"
        else:
            cell.source, answers[i] = stubs.cells[i].source, "missing"
    nb.metadata.pop("widgets", None)
    return nb, answers


def _imports(source):
    """The top-level import statements of a cell's source (magics and shell lines dropped)."""
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    ]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    kinds = (ast.Import, ast.ImportFrom)
    return [ast.unparse(node) for node in tree.body if isinstance(node, kinds)]


# --- the package the kernel imports ----------------------------------------------------------


def _manifest(root, skip_cache):
    """relative path -> sha256 of every file under ``root`` (``__pycache__`` skipped if asked)."""
    found = {}
    for p in sorted(Path(root).rglob("*")):
        if skip_cache and "__pycache__" in p.parts:
            continue
        if p.is_file() and not p.is_symlink():
            found[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_symlink():
            found[p.relative_to(root).as_posix()] = "symlink:" + os.readlink(p)
    return found


def _changed(before, after):
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def _installed_package():
    import bpkit

    return Path(bpkit.__file__).resolve().parent


def _kernel_env(scratch, lib):
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env.update(
        BPKIT_GRADING="1",
        PYTHONPATH=os.pathsep.join([str(lib)] + [p for p in [env.get("PYTHONPATH")] if p]),
        PYTHONDONTWRITEBYTECODE="1",
        IPYTHONDIR=str(scratch / "ipython"),
        MPLCONFIGDIR=str(scratch / "matplotlib"),
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
    )
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    # A font cache saves matplotlib seconds at its first import: copy it, never write to it.
    home_cache = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    (scratch / "matplotlib").mkdir()
    for font_list in Path(home_cache).glob("fontlist-*.json") if Path(home_cache).is_dir() else []:
        shutil.copyfile(font_list, scratch / "matplotlib" / font_list.name)
    return env


# --- running it ------------------------------------------------------------------------------


_GUARD_MODULE = "__import__('sys').modules['__bpkit_grading_guard__']"


def _prologue(nonce, pristine, protect):
    return (
        "def __bpkit_grader_start(source, nonce, pristine, protect):\n"
        "    import builtins, sys, types\n"
        "    guard = types.ModuleType('__bpkit_grading_guard__')\n"
        "    guard.__dict__['__builtins__'] = dict(vars(builtins))\n"
        "    exec(compile(source, '<bpkit grader guard>', 'exec'), guard.__dict__)\n"
        "    sys.modules[guard.__name__] = guard\n"
        "    guard.install(nonce, pristine, protect)\n"
        f"__bpkit_grader_start({_GUARD!r}, {nonce!r}, {str(pristine)!r}, {protect!r})\n"
        "del __bpkit_grader_start"
    )


def _reply(outputs, nonce, word):
    """The guard's reply (a Python literal) after ``nonce word``, or None if it did not answer."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    for line in text.splitlines():
        if line.startswith(f"{nonce} {word} "):
            try:
                return ast.literal_eval(line[len(nonce) + len(word) + 2 :])
            except (ValueError, SyntaxError):
                return None
    return None


def _run(
    nb,
    folder,
    timeout,
    total_timeout,
    kernel_name,
    env=None,
    pristine=None,
    imports=None,
    protect=(),
    answers=(),
):
    """Execute ``nb`` in place; return what happened by cell index (a dict of findings).

    timed_out: cells stopped at their limit; assertions: graded cells that raised an
    AssertionError; unrun: index -> why it never ran; limits: index -> its time limit in s;
    guard: graded index -> None when the guard did not answer before or after the check,
    else (what it undid before, what changed during the check). Without ``pristine`` no
    guard runs (only for tests of the runner itself).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    timed_out, assertions, unrun, limits, guard, attempts = set(), set(), {}, {}, {}, []
    output_bytes = {}  # cell index -> bytes of output seen so far
    replies = {}  # cell index -> status of the kernel's execute_reply
    imports = imports or {}

    class _GaveUp(Exception):
        pass

    class Client(NotebookClient):
        current = None

        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            km.connection_file = str(Path(folder).parent / "kernel.json")  # not ~/.local/share
            return km

        async def _async_handle_timeout(self, timeout, cell=None):
            # Remember which cell ran out of time; interrupt it once, and if the code
            # swallows KeyboardInterrupt, stop the notebook rather than wait forever.
            if self.current in timed_out:
                raise _GaveUp()
            timed_out.add(self.current)
            return await super()._async_handle_timeout(timeout, cell)

        async def _check_raise_for_error(self, cell, cell_index, exec_reply):
            if exec_reply is not None:
                replies[cell_index] = exec_reply.get("content", {}).get("status")
            return await super()._check_raise_for_error(cell, cell_index, exec_reply)

        def output(self, outs, msg, display_id, cell_index):
            # Keep the first MAX_OUTPUT_BYTES of a cell's output and say once that the rest
            # went: a print in a loop must not fill the grader's memory. Errors always pass.
            if msg["msg_type"] not in (
                "stream",
                "display_data",
                "execute_result",
                "update_display_data",
            ):
                return super().output(outs, msg, display_id, cell_index)
            content = msg.get("content", {})
            size = len(content.get("text", "")) + sum(
                len(str(v)) for v in content.get("data", {}).values()
            )
            seen = output_bytes.get(cell_index, 0)
            output_bytes[cell_index] = seen + size
            if seen + size <= MAX_OUTPUT_BYTES:
                return super().output(outs, msg, display_id, cell_index)
            if seen <= MAX_OUTPUT_BYTES:
                outs.append(
                    nbformat.v4.new_output(
                        "stream",
                        name="stderr",
                        text=f"[bpkit grade: output after the first {MAX_OUTPUT_BYTES:,} bytes dropped]\n",
                    )
                )
            return None

    quiet = logging.getLogger("bpkit.grading.nbclient")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False  # nbclient logs each timeout as an error; the report says it better
    client = Client(
        nb,
        log=quiet,
        # nbclient's `timeout` must be an int; timeout_func may return seconds as a float.
        timeout_func=lambda cell: limits[client.current],
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=False,
        resources={"metadata": {"path": str(folder)}},
    )

    def hidden(source, store_as):
        """Run ``source`` in the kernel as an extra cell (time limit of cell ``store_as``)."""
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)  # nbclient stores an executed cell at its index: give it a slot
        output_bytes.pop(len(nb.cells) - 1, None)  # each extra cell gets the whole output cap
        try:
            client.execute_cell(cell, len(nb.cells) - 1, store_history=False)
        finally:
            nb.cells.pop()
        return cell.outputs

    graded = {i for i, cell in enumerate(nb.cells) if _nbgrader(cell).get("grade")}
    # ipykernel's start-up warnings are not the student's output
    kernel_args = {"stderr": subprocess.DEVNULL}
    if env is not None:
        kernel_args["env"] = env
    with client.setup_kernel(**kernel_args):
        if pristine is not None:
            nonce = secrets.token_hex(16)
            limits[None] = max(timeout, 60.0)
            where = _reply(hidden(_prologue(nonce, pristine, protect), None), nonce, "installed")
            if not where or not str(where[0]).startswith(str(pristine)):
                raise GradingError(
                    "could not set up the grading kernel"
                    + (f" (bpkit.check came from {where[0]})" if where else "")
                )
        deadline = time.monotonic() + total_timeout  # kernel start-up is not the notebook's time
        stop = None
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if stop is None and time.monotonic() >= deadline:
                stop = f"not run: the notebook used up its overall limit of {total_timeout:g} s"
            if stop is not None:
                unrun[i] = stop
                continue
            client.current = i
            limits[i] = max(1.0, min(timeout, deadline - time.monotonic()))
            try:
                if i in graded and pristine is not None:
                    nonce = secrets.token_hex(16)
                    call = f"{_GUARD_MODULE}.before({nonce!r}, {imports.get(i, '')!r})"
                    undone = _reply(hidden(call, i), nonce, "ready")
                    guard[i] = None
                instructors = pristine is not None and i not in graded and i not in answers
                if instructors:  # the instructor's own cell: what it sets up is not tampering
                    nonce = secrets.token_hex(16)
                    hidden(f"{_GUARD_MODULE}.trusted({nonce!r}, 'start')", i)
                client.execute_cell(cell, i)
                if instructors:
                    hidden(f"{_GUARD_MODULE}.trusted({nonce!r}, 'end')", i)
                if i in graded and pristine is not None and undone is not None:
                    nonce = secrets.token_hex(16)
                    call = f"{_GUARD_MODULE}.after({nonce!r})"
                    done = _reply(hidden(call, i), nonce, "done")
                    if done is not None:
                        seen, outside, tried = undone
                        odd = [f"{n} imported from outside the grader's copy" for n in outside]
                        guard[i] = (seen, list(done[1]) + odd)
                        attempts.extend(x for x in tried + done[2] if x not in attempts)
                        if done[0]:
                            assertions.add(i)
                elif i in graded and pristine is None and _error(cell):
                    outputs = hidden(_PROBE, i)
                    text = "".join(o.get("text", "") for o in outputs if "text" in o)
                    if "__bpkit_assertion__" in text:
                        assertions.add(i)
            except DeadKernelError:
                stop = "not run: the kernel died in an earlier cell"
                cell.outputs.append(
                    nbformat.v4.new_output(
                        "error",
                        ename="DeadKernelError",
                        evalue="the kernel died while running this cell",
                        traceback=[],
                    )
                )
                break
            except _GaveUp:
                stop = f"not run: cell {i + 1} ignored the interrupt after its time limit"
                continue
            if replies.get(i) == "error" and not _error(cell) and i not in timed_out:
                # The kernel said the cell failed but no error output came: someone hid it.
                cell.outputs.append(
                    nbformat.v4.new_output(
                        "error",
                        ename="HiddenError",
                        evalue="the cell failed but its error was hidden",
                        traceback=[],
                    )
                )
        if stop is not None:
            for j in range(i + 1, len(nb.cells)):
                if nb.cells[j].cell_type == "code":
                    unrun.setdefault(j, stop)
    return {
        "timed_out": timed_out,
        "assertions": assertions,
        "unrun": unrun,
        "limits": limits,
        "guard": guard,
        "attempts": attempts,
    }


# Run in the kernel right after a graded cell fails when no guard runs (tests of the runner).
_PROBE = (
    "import builtins as __bpkit_b, sys as __bpkit_s\n"
    "print('__bpkit_assertion__' if isinstance(getattr(__bpkit_s, 'last_value', None), "
    "__bpkit_b.AssertionError) else '__bpkit_other__')\n"
    "del __bpkit_b, __bpkit_s"
)


def _solution_fragments(source):
    """Pieces of an instructor's answer long enough to give it away (``x.T @ dout``, ...)."""
    from bpkit.exercises import BEGIN_SOLUTION, END_SOLUTION

    inside, found = False, []
    for line in source.splitlines():
        if BEGIN_SOLUTION in line:
            inside = True
        elif END_SOLUTION in line:
            inside = False
        elif inside:
            text = line.split("#", 1)[0].strip().removeprefix("return ").strip()
            pieces = [text] + [p.strip() for p in text.split(", ")]
            pieces += [p.split("=", 1)[1].strip() for p in pieces if "=" in p and "==" not in p]
            found.extend(p for p in pieces if len(p) >= 6 and any(c in p for c in "@*/+-(["))
    return sorted(set(found), key=len, reverse=True)


def _scrub(diagnosis, fragments):
    """The diagnosis with any piece of the instructor's answer replaced by [hidden]."""
    for piece in fragments:
        diagnosis = diagnosis.replace(piece, "[hidden]")
    return diagnosis


def _judge(name, answer, check, points, nb, run, timeout, total_timeout):
    timed_out, unrun, limits = run["timed_out"], run["unrun"], run["limits"]
    cells = [j for j in (answer, check) if j is not None]
    errors = {j: _error(nb.cells[j]) for j in cells}
    for j in cells:  # the answer cell first: what went wrong there explains the check cell
        which = "answer" if j == answer else "check"
        if j in timed_out:
            if limits[j] < timeout:  # cut short by what was left of the notebook's limit
                why = f"the {which} cell was still running when the overall limit of {total_timeout:g} s ran out"
            else:
                why = f"the {which} cell ran longer than {limits[j]:g} s (an endless loop?)"
            return ExerciseResult(name, 0.0, points, "timed out", why)
        if errors[j] and errors[j][0] == "DeadKernelError":
            return ExerciseResult(
                name,
                0.0,
                points,
                "error",
                f"the kernel died while running the {which} cell "
                "(os._exit, a crash, or out of memory)",
            )
        if j in unrun:
            status = "timed out" if "limit" in unrun[j] else "error"
            return ExerciseResult(name, 0.0, points, status, unrun[j])
    if "guard" in run:
        guard = run["guard"].get(check)
        if guard is None:
            return ExerciseResult(
                name,
                0.0,
                points,
                "tampered",
                "the grader's guard did not answer around the check: the notebook interfered "
                "with the kernel; no points",
            )
        if guard[1]:
            return ExerciseResult(
                name,
                0.0,
                points,
                "tampered",
                "changed while the check ran: " + ", ".join(guard[1]) + "; no points",
            )
    for j in cells:
        if errors[j] and errors[j][0] == "NotImplementedError":
            return ExerciseResult(
                name, 0.0, points, "not attempted", "NotImplementedError: write your answer"
            )
    if answer is not None and errors[answer]:
        return ExerciseResult(
            name, 0.0, points, "error", "answer cell: " + _describe(errors[answer])
        )
    if errors[check]:
        if check in run["assertions"]:
            diagnosis = _first_line(errors[check][1]) or errors[check][0]
            return ExerciseResult(name, 0.0, points, "failed", diagnosis)
        return ExerciseResult(name, 0.0, points, "error", _describe(errors[check]))
    if not nb.cells[check].source.strip():
        return ExerciseResult(
            name,
            0.0,
            points,
            "error",
            "the check cell is empty: restore it from the exercise notebook",
        )
    return ExerciseResult(name, points, points, "passed")


def grade_notebook(
    path,
    timeout=60.0,
    total_timeout=600.0,
    kernel_name="python3",
    solutions=None,
    as_submitted=False,
):
    """Grade the notebook at ``path`` against the instructor's copy; return a GradeReport.

    ``solutions``: the instructor's notebook, or a folder of them (default: see
    default_solutions_dir); ``as_submitted=True`` runs the notebook as it stands instead.
    Raises GradingError if ``path`` is not a readable notebook, there is no instructor
    notebook for it, or the instructor's notebook has no graded cells.
    """
    from bpkit.exercises import ExerciseError

    path = Path(path)
    student = read_notebook(path)
    if as_submitted:
        instructor_path, instructor = path, student
    else:
        if solutions is None:
            solutions = default_solutions_dir()
        instructor_path = find_instructor_notebook(path, solutions)
        instructor = read_notebook(instructor_path)
    exercises = _exercises(instructor)
    if not exercises:
        raise GradingError(
            f'{instructor_path} has no graded check cells (cells whose nbgrader metadata says "grade": true)'
        )
    try:
        nb, answers = grading_notebook(instructor, student)
    except ExerciseError as exc:
        raise GradingError(f"the instructor's notebook is broken: {exc}") from None
    imports, seen = {}, []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if _nbgrader(cell).get("grade"):
            imports[i] = "\n".join(seen)
        if not _nbgrader(cell).get("solution"):
            seen.extend(x for x in _imports(cell.source) if x not in seen)
    installed = _installed_package()
    notes = []
    with tempfile.TemporaryDirectory(prefix="bpkit-grade-") as scratch:
        scratch = Path(scratch)
        # Two levels down, so that relative writes such as ../x stay inside the scratch tree.
        folder = scratch / "work" / "submission"
        folder.mkdir(parents=True)
        shutil.copyfile(path, folder / path.name)  # for code that opens its own notebook
        lib = scratch / "lib"
        # with its __pycache__ (the kernel then compiles nothing; it writes no .pyc either)
        shutil.copytree(installed, lib / "bpkit")
        copied = _manifest(lib, skip_cache=False)
        env = _kernel_env(scratch, lib)
        # Finding the kernel spec makes IPython create ~/.ipython: let it use the scratch copy.
        ipython_dir = os.environ.get("IPYTHONDIR")
        os.environ["IPYTHONDIR"] = env["IPYTHONDIR"]
        try:
            run = _run(
                nb,
                folder,
                timeout,
                total_timeout,
                kernel_name,
                env,
                pristine=lib / "bpkit",
                imports=imports,
                protect=[str(installed)],
                answers=set(answers),
            )
        finally:
            if ipython_dir is None:
                os.environ.pop("IPYTHONDIR", None)
            else:
                os.environ["IPYTHONDIR"] = ipython_dir
        wrote = _changed(copied, _manifest(lib, skip_cache=False))
    results = [
        _judge(name, answer, check, points, nb, run, timeout, total_timeout)
        for name, answer, check, points in exercises
    ]
    for r, (_, answer, _, _) in zip(results, exercises):
        if answer is not None and not as_submitted:  # never the answer, even if a checker shows it
            r.diagnosis = _scrub(r.diagnosis, _solution_fragments(instructor.cells[answer].source))
    why = None
    if wrote:
        why = "the notebook changed the bpkit package (" + ", ".join(wrote[:3]) + ")"
    elif run["attempts"]:
        tried = "; ".join(run["attempts"][:3])
        why = f"the notebook tried to write into the bpkit package ({tried}), which was refused"
    if why:
        for r in results:
            r.points, r.status, r.diagnosis = 0.0, "tampered", why + "; no points"
        notes.append(f"no points: {why}")
    exercise_cells = {j for _, answer, check, _ in exercises for j in (answer, check)}
    names = {check: name for name, _, check, _ in exercises}
    for check, (undone, _) in sorted((k, v) for k, v in run["guard"].items() if v and v[0]):
        notes.append(
            f"before the {names.get(check, '?')} check the grader undid the notebook's changes to "
            + ", ".join(undone[:10])
            + (f" and {len(undone) - 10} more" if len(undone) > 10 else "")
        )
    errors_noted = 0
    for i, cell in enumerate(nb.cells):
        error = _error(cell) if cell.cell_type == "code" else None
        if error and i not in exercise_cells and errors_noted < 3:
            notes.append(f"cell {i + 1} (not an exercise) raised {_describe(error)}")
            errors_noted += 1
    for i, how in answers.items():
        # Answers never need the checkers: one that reaches into them (to call the reference
        # answers, say) is worth a look, though it is not tampering the guard can undo.
        found = [w for w in _SUSPECT if how != "missing" and w in nb.cells[i].source]
        if found:
            notes.append(
                f"the answer cell {_nbgrader(nb.cells[i]).get('grade_id')} mentions "
                + ", ".join(found)
                + ": it may use the checkers' own answers; look at it"
            )
    missing = [
        _nbgrader(nb.cells[i]).get("grade_id") for i, how in answers.items() if how == "missing"
    ]
    if missing:
        notes.append(
            "answer cells not found in the submission (graded as not attempted): "
            + ", ".join(map(str, missing))
        )
    return GradeReport(str(path), results, notes, "" if as_submitted else str(instructor_path))


def _fmt_points(x):
    return f"{x:g}"


def format_report(report):
    """The report as a text table with a total line."""
    rows = [("exercise", "points", "status", "diagnosis")]
    for r in report.results:
        rows.append(
            (
                r.exercise,
                f"{_fmt_points(r.points)}/{_fmt_points(r.possible)}",
                r.status,
                r.diagnosis,
            )
        )
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    against = f"graded against {report.against}" if report.against else "graded as submitted"
    lines = [f"{report.path}  ({against})", ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    passed = sum(r.status == "passed" for r in report.results)
    lines.append("-" * (sum(widths) + 6 + len("diagnosis")))
    total = f"{_fmt_points(report.earned)}/{_fmt_points(report.possible)}"
    lines.append(
        f"{'total'.ljust(widths[0])}  {total.ljust(widths[1])}  "
        f"{passed} of {len(report.results)} exercises passed"
    )
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(line.rstrip() for line in lines)


def csv_rows(report):
    """One dict per exercise (CSV_COLUMNS), for a spreadsheet of the class."""
    name = Path(report.path).name
    return [
        {
            "notebook": name,
            "exercise": r.exercise,
            "points": _fmt_points(r.points),
            "possible": _fmt_points(r.possible),
            "status": r.status,
            "diagnosis": r.diagnosis,
        }
        for r in report.results
    ]


def write_csv(rows, csv_path):
    """Write ``rows`` (dicts with CSV_COLUMNS) to ``csv_path``, replacing the file."""
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _grade_one(notebook, timeout, total_timeout, solutions, as_submitted):
    """('report', GradeReport) or ('error', message): one notebook, for a worker process."""
    try:
        return "report", grade_notebook(
            notebook,
            timeout,
            total_timeout,
            solutions=solutions,
            as_submitted=as_submitted,
        )
    except GradingError as exc:
        return "error", str(exc)


class _Workers:
    """``jobs`` worker processes (fresh Pythons: no state, sockets or event loop shared with
    this one), each grading one notebook after another; results come back by notebook."""

    def __init__(self, jobs, notebooks, args):
        import sys
        import threading
        from concurrent.futures import Future

        self.futures = [Future() for _ in notebooks]
        self.todo = list(enumerate(notebooks))
        self.lock = threading.Lock()
        self.args = args
        self.command = [sys.executable, "-c", "from bpkit.grading import _worker; _worker()"]
        self.threads = [threading.Thread(target=self._serve, daemon=True) for _ in range(jobs)]
        for thread in self.threads:
            thread.start()

    def _next(self):
        with self.lock:
            return self.todo.pop(0) if self.todo else None

    def _serve(self):
        timeout, total_timeout, solutions, as_submitted = self.args
        process = None
        while (job := self._next()) is not None:
            index, notebook = job
            if process is None or process.poll() is not None:
                process = subprocess.Popen(
                    self.command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            request = {
                "notebook": str(notebook),  # as given: the worker runs in this folder too
                "timeout": timeout,
                "total_timeout": total_timeout,
                "solutions": None if solutions is None else str(solutions),
                "as_submitted": as_submitted,
            }
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                kind, value = json.loads(process.stdout.readline())
            except (OSError, ValueError):
                code = process.poll()
                kind, value = "error", f"the grading worker died (exit code {code})"
                process.kill()
                process = None
            if kind == "report":
                value["results"] = [ExerciseResult(**r) for r in value["results"]]
                value = GradeReport(**value)
            self.futures[index].set_result((kind, value))
        if process is not None:
            process.stdin.close()
            process.wait()

    def results(self):
        for future in self.futures:
            yield future.result()

    def close(self):
        with self.lock:
            for index, _ in self.todo:
                self.futures[index].set_result(("error", "not graded: grading was stopped"))
            self.todo.clear()
        for thread in self.threads:
            thread.join()


def _worker():
    """A worker process of _Workers: one JSON request per line on stdin, one reply per line."""
    import dataclasses
    import sys

    for line in sys.stdin:
        job = json.loads(line)
        kind, value = _grade_one(
            Path(job["notebook"]),
            job["timeout"],
            job["total_timeout"],
            job["solutions"],
            job["as_submitted"],
        )
        if kind == "report":
            value = dataclasses.asdict(value)
        sys.stdout.write(json.dumps([kind, value]) + "\n")
        sys.stdout.flush()


def _error_row(notebook, message):
    return {
        "notebook": Path(notebook).name,
        "exercise": "",
        "points": "0",
        "possible": "",
        "status": "error",
        "diagnosis": message,
    }


def grade_path(
    path,
    timeout=60.0,
    total_timeout=600.0,
    print_fn=print,
    csv_path=None,
    solutions=None,
    as_submitted=False,
    jobs=1,
):
    """Grade a notebook, or every ``*.ipynb`` directly in a folder; print the tables; return the exit code.

    0 when every exercise of every notebook passed, 1 otherwise. A missing
    path, or a single file that is not a notebook, raises GradingError; in a
    folder, an unreadable notebook (or one with no instructor notebook) is
    reported, gets one CSV row with status "error", and counts as a failure. A
    folder's results go to ``csv_path`` (default ``PATH/grades.csv``); a single
    notebook's only if ``csv_path`` is given. ``jobs`` notebooks are graded at a
    time, each in a worker process of its own (None: os.cpu_count()); the
    printout and the CSV are the same, in file-name order, whatever ``jobs`` is.
    """
    path = Path(path)
    if solutions is None and not as_submitted:
        solutions = default_solutions_dir()
    if not path.is_dir():
        installed = _installed_package()
        before = _manifest(installed, skip_cache=True)
        report = grade_notebook(
            path, timeout, total_timeout, solutions=solutions, as_submitted=as_submitted
        )
        print_fn(format_report(report))
        _warn_if_changed(installed, before, print_fn)
        if csv_path is not None:
            write_csv(csv_rows(report), csv_path)
        return 0 if report.passed else 1
    notebooks = sorted(p for p in path.glob("*.ipynb") if p.is_file())
    if not notebooks:
        raise GradingError(f"{path} is a folder with no .ipynb notebooks in it")
    csv_path = Path(csv_path) if csv_path is not None else path / "grades.csv"
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(notebooks)))
    args = (timeout, total_timeout, solutions, as_submitted)
    if jobs == 1:
        outcomes = (_grade_one(notebook, *args) for notebook in notebooks)
        pool = None
    else:
        pool = _Workers(jobs, notebooks, args)
        outcomes = pool.results()
    code, rows = 0, []
    installed = _installed_package()
    before = _manifest(installed, skip_cache=True)
    try:
        for i, (notebook, (kind, value)) in enumerate(zip(notebooks, outcomes)):
            if i:
                print_fn("")
            if kind == "error":
                print_fn(f"{notebook}\n  error: {value}")
                rows.append(_error_row(notebook, value))
                code = 1
                continue
            print_fn(format_report(value))
            rows.extend(csv_rows(value))
            code = code if value.passed else 1
    finally:
        if pool is not None:
            pool.close()
    write_csv(rows, csv_path)
    print_fn(f"\n{len(notebooks)} notebook(s) graded; one row per exercise in {csv_path}")
    _warn_if_changed(installed, before, print_fn)
    return code


def _warn_if_changed(installed, before, print_fn):
    changed = _changed(before, _manifest(installed, skip_cache=True))
    if changed:
        print_fn(
            f"warning: the installed bpkit package at {installed} changed while grading "
            f"({', '.join(changed[:3])}): a submission or another program wrote to it; "
            "restore it and grade again"
        )
