"""Root pytest configuration: makes nbval's comparisons strict but stable.

nbval compares every code cell's stored text output with a fresh run. Two
things would make that flaky, and both are handled here rather than in the
notebooks:
- memory addresses in reprs (``<Figure at 0x7f...>``) are rewritten by an
  anchored regex in ``nbval_sanitize.cfg``;
- stderr (warnings, progress) is not compared.
A third, the machine's floating-point kernels, is pinned: OpenBLAS and numpy
pick AVX2 or AVX-512 loops by CPU, which round differently in the last bits,
and a chaotic run (notebook 08 at lr 0.2) turns that into other printed
numbers. The committed outputs are recorded with AVX2's; the kernels nbval
starts inherit the same settings as ``make test`` (the Makefile's NUMERIC_ENV).
"""

import os
import platform
from pathlib import Path

ROOT = Path(__file__).parent
SANITIZE = ROOT / "nbval_sanitize.cfg"

# The grader's test fixtures include corrupt, endless and failing notebooks on
# purpose; tests/test_grading.py runs them under a time limit. nbval must not.
collect_ignore_glob = ["tests/fixtures/*"]

NUMERIC_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
if platform.machine() == "x86_64":
    NUMERIC_ENV |= {
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    }


def pytest_configure(config):
    # nbval opens this file relative to the current directory: give it an
    # absolute path so `pytest` works from any folder.
    if config.pluginmanager.hasplugin("nbval") and getattr(config.option, "nbval", False):
        for name, value in NUMERIC_ENV.items():  # before any kernel starts: they inherit it
            os.environ.setdefault(name, value)
        if not config.option.nbval_sanitize_with:
            config.option.nbval_sanitize_with = str(SANITIZE)


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb" and hasattr(collector, "skip_compare"):
        if "stderr" not in collector.skip_compare:
            collector.skip_compare += ("stderr",)
