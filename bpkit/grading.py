"""Grade a student notebook: ``python -m bpkit grade PATH.ipynb``.

The notebook runs top to bottom in a fresh ``python3`` kernel whose working
directory is a throwaway folder holding a copy of the notebook, with errors allowed (a broken exercise
must not hide the next one), a time limit per cell and one for the whole
notebook. Each graded check cell (nbgrader ``"grade": true``, see
bpkit/exercises.py) is one exercise, named by its grade_id without
``_check``; its answer cell is the solution cell ``<exercise>_answer`` (or
the nearest solution cell above it). Status, first match wins:

- timed out: the answer or check cell hit the time limit (or was never run
  because the notebook's limit was used up);
- not attempted: NotImplementedError in the answer or check cell (the stub);
- error: the answer cell raised, or the check cell raised something that is
  not an AssertionError (a TypeError from a wrong signature, say);
- failed: the check cell raised an AssertionError, e.g. ``check.ExerciseFailed``;
  the diagnosis is the first line of its message;
- passed: both cells ran cleanly; the exercise earns its points.

Grading a class: ``grade DIR`` grades every ``*.ipynb`` in DIR and writes
one CSV row per exercise (``DIR/grades.csv`` unless ``--csv`` names another
file). Each submission runs in its own temporary copy, nested two folders
deep, so files it writes with relative paths (``../x`` included) land in a
tree that is deleted afterwards and the submissions are never touched; a
cell's output beyond MAX_OUTPUT_BYTES is dropped with a note; a crash or a
hang costs that notebook only. This is not a sandbox: code that writes to
absolute paths still can, so grade untrusted work inside a container, as
JupyterHub and nbgrader deployments do.

NB (nbgrader): ``nbgrader autograde`` puts the hidden tests back before it
runs a submission; this command runs the notebook as the student has it.
"""

import csv
import json
import logging
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
    "format_report",
    "grade_notebook",
    "grade_path",
    "read_notebook",
]

STATUSES = ("passed", "failed", "not attempted", "error", "timed out")
MAX_OUTPUT_BYTES = 1_000_000  # per cell: enough for any honest answer, far below a memory problem
CSV_COLUMNS = ("notebook", "exercise", "points", "possible", "status", "diagnosis")

# Run in the kernel right after a graded cell fails: is the exception an AssertionError?
# (The error output carries only the class name, and checkers raise subclasses of it.)
_PROBE = (
    "import builtins as __bpkit_b, sys as __bpkit_s\n"
    "print('__bpkit_assertion__' if isinstance(getattr(__bpkit_s, 'last_value', None), "
    "__bpkit_b.AssertionError) else '__bpkit_other__')\n"
    "del __bpkit_b, __bpkit_s"
)


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


def _run(nb, folder, timeout, total_timeout, kernel_name):
    """Execute ``nb`` in place; return what happened by cell index.

    (timed_out: cells stopped at their limit, assertions: graded cells that raised an
    AssertionError, unrun: index -> why it never ran, limits: index -> its time limit in s)"""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    timed_out, assertions, unrun, limits = set(), set(), {}, {}
    output_bytes = {}  # cell index -> bytes of output seen so far

    class _GaveUp(Exception):
        pass

    class Client(NotebookClient):
        current = None

        async def _async_handle_timeout(self, timeout, cell=None):
            # Remember which cell ran out of time; interrupt it once, and if the code
            # swallows KeyboardInterrupt, stop the notebook rather than wait forever.
            if self.current in timed_out:
                raise _GaveUp()
            timed_out.add(self.current)
            return await super()._async_handle_timeout(timeout, cell)

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
    graded = {i for i, cell in enumerate(nb.cells) if _nbgrader(cell).get("grade")}
    # The kernel's own stderr (ipykernel's start-up warnings) is not the student's output.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
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
                client.execute_cell(cell, i)
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
            if i in graded and _error(cell) and i not in timed_out:
                # nbclient stores an executed cell at its index: give the probe its own slot.
                probe = nbformat.v4.new_code_cell(_PROBE)
                nb.cells.append(probe)
                try:
                    client.execute_cell(probe, len(nb.cells) - 1, store_history=False)
                finally:
                    nb.cells.pop()
                text = "".join(
                    o.get("text", "") for o in probe.outputs if o.output_type == "stream"
                )
                if "__bpkit_assertion__" in text:
                    assertions.add(i)
        if stop is not None:
            for j in range(i + 1, len(nb.cells)):
                if nb.cells[j].cell_type == "code":
                    unrun.setdefault(j, stop)
    return timed_out, assertions, unrun, limits


def _judge(name, answer, check, points, nb, run, timeout, total_timeout):
    timed_out, assertions, unrun, limits = run
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
        if check in assertions:
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


def grade_notebook(path, timeout=60.0, total_timeout=600.0, kernel_name="python3"):
    """Execute the notebook at ``path`` and grade each exercise; return a GradeReport.

    Raises GradingError if ``path`` is not a readable notebook or has no graded cells.
    """
    path = Path(path)
    nb = read_notebook(path)
    exercises = _exercises(nb)
    if not exercises:
        raise GradingError(
            f'{path} has no graded check cells (cells whose nbgrader metadata says "grade": true)'
        )
    with tempfile.TemporaryDirectory(prefix="bpkit-grade-") as scratch:
        # Two levels down, so that relative writes such as ../x stay inside the scratch tree.
        folder = Path(scratch, "work", "submission")
        folder.mkdir(parents=True)
        shutil.copyfile(path, folder / path.name)  # for code that opens its own notebook
        run = _run(nb, folder, timeout, total_timeout, kernel_name)
    results = [
        _judge(name, answer, check, points, nb, run, timeout, total_timeout)
        for name, answer, check, points in exercises
    ]
    exercise_cells = {j for _, answer, check, _ in exercises for j in (answer, check)}
    notes = []
    for i, cell in enumerate(nb.cells):
        error = _error(cell) if cell.cell_type == "code" else None
        if error and i not in exercise_cells:
            notes.append(f"cell {i + 1} (not an exercise) raised {_describe(error)}")
            if len(notes) == 3:
                break
    return GradeReport(str(path), results, notes)


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
    lines = [f"{report.path}", ""]
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


def grade_path(path, timeout=60.0, total_timeout=600.0, print_fn=print, csv_path=None):
    """Grade a notebook, or every ``*.ipynb`` directly in a folder; print the tables; return the exit code.

    0 when every exercise of every notebook passed, 1 otherwise. A missing
    path, or a single file that is not a notebook, raises GradingError; in a
    folder, an unreadable notebook is reported, gets one CSV row with status
    "error", and counts as a failure. A folder's results go to ``csv_path``
    (default ``PATH/grades.csv``); a single notebook's only if ``csv_path`` is given.
    """
    path = Path(path)
    if not path.is_dir():
        report = grade_notebook(path, timeout, total_timeout)
        print_fn(format_report(report))
        if csv_path is not None:
            write_csv(csv_rows(report), csv_path)
        return 0 if report.passed else 1
    notebooks = sorted(p for p in path.glob("*.ipynb") if p.is_file())
    if not notebooks:
        raise GradingError(f"{path} is a folder with no .ipynb notebooks in it")
    csv_path = Path(csv_path) if csv_path is not None else path / "grades.csv"
    code, rows = 0, []
    for i, notebook in enumerate(notebooks):
        if i:
            print_fn("")
        try:
            report = grade_notebook(notebook, timeout, total_timeout)
        except GradingError as exc:
            print_fn(f"{notebook}\n  error: {exc}")
            rows.append(
                {
                    "notebook": notebook.name,
                    "exercise": "",
                    "points": "0",
                    "possible": "",
                    "status": "error",
                    "diagnosis": str(exc),
                }
            )
            code = 1
            continue
        print_fn(format_report(report))
        rows.extend(csv_rows(report))
        code = code if report.passed else 1
    write_csv(rows, csv_path)
    print_fn(f"\n{len(notebooks)} notebook(s) graded; one row per exercise in {csv_path}")
    return code
