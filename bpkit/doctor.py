"""``python -m bpkit doctor``: is this environment ready for the course?

One line per check, ``✓`` when fine and ``✗`` with a fix when not (``-`` for
optional pieces that are absent). The exit code is 1 if any ``✗`` line was
printed. Checks: the versions of Python and the packages the course needs,
the ``python3`` Jupyter kernel (found, and running this Python), the
JupyterLab widget extension (ipywidgets 8 ships it as jupyterlab_widgets),
matplotlib's backend, and bpkit's own gradients against finite differences.

Paths are shown relative to the project folder (the clone that holds bpkit's
pyproject.toml, e.g. ``.venv/bin/python``), else as ``~/...`` under your home,
and in full only when neither applies, so that a report (or a notebook's stored
output) does not publish the layout of the machine it ran on. The commands in
``fix:`` lines use ``~/...`` or full paths, so that they run from any folder.
"""

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = ["Check", "run_checks", "run_doctor"]

OK, BAD, OPTIONAL = "✓", "✗", "-"

INSTALL_HINT = 'pip install -e ".[test]" in the project folder (or: make lab)'

# (distribution, import name, minimum version, required). Minimums from pyproject.toml;
# nbval 0.11 because 0.10 breaks on pytest >= 8.1 (shared/NOTEBOOK_TESTING.md).
PACKAGES = [
    ("numpy", "numpy", (2, 0), True),
    ("matplotlib", "matplotlib", (3, 8), True),
    ("ipywidgets", "ipywidgets", (8, 1), True),
    ("jupyterlab", "jupyterlab", (4, 2), True),
    ("ipykernel", "ipykernel", (6, 29), True),
    ("nbclient", "nbclient", (0, 10), True),
    ("nbformat", "nbformat", (5, 9), True),
    ("nbval", "nbval", (0, 11), False),
]


@dataclass
class Check:
    """One line of the report: ``mark`` is OK, BAD or OPTIONAL; ``hint`` says how to fix a BAD one."""

    mark: str
    text: str
    hint: str = ""

    def __str__(self):
        return f"{self.mark} {self.text}" + (f"\n    fix: {self.hint}" if self.hint else "")


def project_root():
    """The folder of the clone bpkit runs from (pyproject.toml beside the package), or None.

    An editable install (``make lab``) imports bpkit from the clone itself; otherwise the
    current folder or one of its parents is the project if it holds bpkit's pyproject.toml.
    """
    here = Path.cwd().resolve()
    for folder in (Path(__file__).resolve().parent.parent, here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "bpkit" / "__init__.py").is_file():
            return folder
    return None


def _relative(path, base):
    """``path`` relative to ``base`` as a POSIX string, or None when it lies outside."""
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return None


def display_path(path, root=None, home=None, *, project=True):
    """How a report shows ``path``: relative to the project, else ``~/...``, else in full.

    ``root`` and ``home`` default to :func:`project_root` and ``Path.home()``; ``project=False``
    skips the project-relative form (for commands that must run from any folder). Paths are
    compared as given and, failing that, with symlinks resolved.
    """
    path = Path(path)
    if not path.is_absolute() and len(path.parts) <= 1:
        return str(path)  # a bare command name such as "python": looked up on PATH, not a place
    if project and root is None:
        root = project_root()
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:  # no home directory known (HOME unset, no passwd entry)
            home = None
    forms = [Path(os.path.abspath(path))]  # ".." folded, symlinks kept (a venv's python is one)
    try:
        forms.append(path.resolve())
    except OSError:
        pass
    bases = []
    if project and root is not None:
        bases.append((Path(root), ""))
    if home is not None and Path(home) != Path(home).parent:  # a home of "/" would match all
        bases.append((Path(home), "~/"))
    for base, prefix in bases:
        for base_form in (base, base.resolve()):
            for form in forms:
                rel = _relative(form, base_form)
                if rel is not None:
                    if rel == ".":
                        return "." if not prefix else "~"
                    return prefix + rel
    return str(forms[0])


def _folder(path):
    """A folder as :func:`display_path` shows it, with a trailing slash: ``bpkit/``."""
    shown = display_path(path)
    return shown if shown.endswith("/") else shown + "/"


def _version_tuple(text):
    """'2.4.6' -> (2, 4, 6); stops at the first part that is not a number ('1.0rc1' -> (1,))."""
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def check_python():
    # Older Pythons cannot install bpkit at all (requires-python >= 3.11), so no version test here.
    version = ".".join(str(v) for v in sys.version_info[:3])
    return Check(OK, f"python {version} ({display_path(sys.executable)})")


def check_bpkit():
    try:
        import bpkit
    except Exception as exc:  # noqa: BLE001 - a broken install is reported, not a crash
        return Check(BAD, f"bpkit cannot be imported: {type(exc).__name__}: {exc}", INSTALL_HINT)
    return Check(OK, f"bpkit {bpkit.__version__} ({_folder(Path(bpkit.__file__).parent)})")


def check_package(dist, module, minimum, required):
    wanted = ".".join(str(v) for v in minimum)
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        if not required:
            return Check(OPTIONAL, f"{dist} not installed (optional: only `make test` needs it)")
        return Check(BAD, f"{dist} not installed (need >= {wanted})", INSTALL_HINT)
    if importlib.util.find_spec(module) is None:
        return Check(
            BAD, f"{dist} {version} is installed but `import {module}` fails", INSTALL_HINT
        )
    if _version_tuple(version) < minimum:
        return Check(
            BAD,
            f"{dist} {version} is too old (need >= {wanted})",
            f'pip install --upgrade "{dist}>={wanted}"',
        )
    return Check(OK, f"{dist} {version}")


def _same_python(path):
    """True if ``path`` names the interpreter running now (same venv, even through symlinks)."""
    here = Path(sys.executable)
    there = Path(path)
    if there == here or there.parent == here.parent:
        return True
    try:
        return there.resolve() == here.resolve() and Path(sys.prefix) == Path(sys.base_prefix)
    except OSError:
        return False


def check_kernel():
    python = display_path(sys.executable, project=False)
    hint = f"{python} -m ipykernel install --user --name python3"
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return Check(BAD, "jupyter_client is missing, so no kernel can start", INSTALL_HINT)
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return Check(BAD, "no Jupyter kernel named python3", hint)
    except Exception as exc:  # noqa: BLE001 - a broken kernel.json, whatever it raises
        return Check(BAD, f"the python3 kernel spec cannot be read: {exc}", hint)
    argv0 = spec.argv[0] if spec.argv else ""
    where = _folder(spec.resource_dir)
    # jupyter_client starts a spec whose argv[0] is a bare 'python' with the Python that runs Jupyter.
    if argv0 in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
        return Check(OK, f"kernel python3 ({where}) runs the Python that starts Jupyter")
    if _same_python(argv0):
        return Check(OK, f"kernel python3 ({where}) runs this Python")
    return Check(
        BAD,
        f"kernel python3 ({where}) runs {display_path(argv0)}, "
        f"not this Python ({display_path(sys.executable)}); "
        "notebooks would not see this environment's bpkit",
        hint,
    )


def check_widgets():
    hint = 'pip install "ipywidgets>=8.1" (it brings jupyterlab_widgets)'
    try:
        jupyterlab_widgets = importlib.import_module("jupyterlab_widgets")
    except ImportError:
        return Check(BAD, "JupyterLab widget extension: jupyterlab_widgets is not installed", hint)
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("labextensions"):
        manager = Path(folder) / "@jupyter-widgets" / "jupyterlab-manager"
        if (manager / "package.json").is_file():
            version = getattr(jupyterlab_widgets, "__version__", "?")
            return Check(
                OK,
                f"JupyterLab widget extension: jupyterlab_widgets {version} ({_folder(manager)})",
            )
    return Check(
        BAD,
        "JupyterLab widget extension: jupyterlab_widgets is importable but its "
        "labextension folder @jupyter-widgets/jupyterlab-manager is missing",
        'pip install --force-reinstall "jupyterlab_widgets>=3"',
    )


def check_matplotlib():
    try:
        import matplotlib
    except ImportError:
        return Check(BAD, "matplotlib is not installed", INSTALL_HINT)
    env = os.environ.get("MPLBACKEND", "")
    try:
        backend = matplotlib.get_backend()
    except Exception as exc:  # noqa: BLE001 - an unknown MPLBACKEND, a missing GUI toolkit
        return Check(
            BAD,
            f"matplotlib backend cannot be set up: {exc}",
            "unset MPLBACKEND (notebooks use the inline backend on their own)",
        )
    if env.lower() == "agg":
        return Check(
            BAD,
            "MPLBACKEND=Agg is exported: notebook cells would show no figures",
            "unset MPLBACKEND (JupyterLab uses the inline backend on its own)",
        )
    return Check(OK, f"matplotlib backend here: {backend} (notebooks use inline)")


def check_core():
    try:
        import numpy as np

        from bpkit import Tensor, Value, gradcheck
    except Exception as exc:  # noqa: BLE001 - any import failure means a broken install
        return Check(
            BAD, f"bpkit's core cannot be imported: {type(exc).__name__}: {exc}", INSTALL_HINT
        )
    try:
        scalar = gradcheck(lambda a, b: (a * b + a.exp()).tanh(), Value(0.3), Value(-0.7))
        rng = np.random.default_rng(0)
        x = Tensor(rng.standard_normal((3, 4)))
        w = Tensor(rng.standard_normal((4, 2)))
        tensor = gradcheck(lambda x, w: (x @ w).tanh().sum(), x, w)
    except Exception as exc:  # noqa: BLE001 - the point is to report whatever broke
        return Check(
            BAD,
            f"bpkit's gradient check crashed: {type(exc).__name__}: {exc}",
            "reinstall bpkit; if it persists, report it with this line",
        )
    worst = max(scalar.max_error, tensor.max_error)
    if not (scalar.passed and tensor.passed):
        return Check(
            BAD,
            f"bpkit's gradients disagree with finite differences (error {worst:.1e})",
            "reinstall bpkit (pip install -e .); a local edit may have broken an op",
        )
    return Check(
        OK,
        f"bpkit core: Value and Tensor gradients match finite differences "
        f"(max relative error {worst:.0e})",
    )


def run_checks():
    """Every check, in report order, as a list of Check."""
    checks = [check_python(), check_bpkit()]
    checks += [check_package(*spec) for spec in PACKAGES]
    checks += [check_kernel(), check_widgets(), check_matplotlib(), check_core()]
    return checks


def run_doctor(print_fn=print):
    """Print the report; return 0 if nothing is wrong, 1 otherwise."""
    checks = run_checks()
    for check in checks:
        print_fn(str(check))
    problems = sum(check.mark == BAD for check in checks)
    if problems:
        print_fn(f"{problems} problem(s) found")
        return 1
    print_fn("all good: open notebooks/00_start_here.ipynb (make lab)")
    return 0
