"""Student notebooks from solution notebooks: ``python -m bpkit make-exercises``.

The conventions every exercise notebook follows (nbgrader's markers and cell
metadata, so an instructor can also drop the notebooks into nbgrader):

- ``solutions/NN_name.ipynb`` holds the answers and is the only file anyone
  edits; ``exercises/NN_name.ipynb`` is generated from it (every ``*.ipynb``
  directly inside ``solutions/``), never edited by hand, and a test fails
  when it drifts (``make-exercises --check``).
- An answer cell is a code cell whose answer sits between ``### BEGIN SOLUTION``
  and ``### END SOLUTION``, with metadata::

      "nbgrader": {"grade": false, "solution": true, "locked": false,
                   "grade_id": "<exercise>_answer", "schema_version": 3}

  Keep the ``def`` line outside the region (the region is the function's
  body): then the stub defines a function that raises NotImplementedError
  when the check calls it, instead of leaving the name undefined.
- Right after it, a check cell calls ``check.<exercise>(fn)``; it may hold
  instructor-only tests between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``. Metadata::

      "nbgrader": {"grade": true, "solution": false, "locked": true, "points": N,
                   "grade_id": "<exercise>_check", "schema_version": 3}

- Any other cell is a plain cell or a locked read-only cell
  (``{"grade": false, "solution": false, "locked": true, "grade_id": "...",
  "schema_version": 3}``). Hints go in markdown, inside
  ``<details><summary>Hint</summary>...</details>``.
- A markdown cell marked ``"solution": true`` may hold a written answer
  between the same markers; students see ``YOUR ANSWER HERE``.

What the generator does to each cell, as nbgrader's ClearSolutions and
ClearHiddenTests preprocessors do to cell sources:

- every solution region becomes ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` (``YOUR ANSWER HERE`` in markdown), each
  line indented like the ``BEGIN SOLUTION`` line; a solution cell with no
  markers is replaced as a whole;
- every hidden-test region is removed, marker lines included;
- code cells lose their outputs and execution counts (students run them);
  cell metadata is kept (nbgrader, tags) except execution timings, and the
  notebook's saved widget state is dropped;
- the notebook is written as nbformat 4.5 (cells without an id get
  ``cell-<index>``), with sorted keys and a trailing newline, so the same
  solutions always give the same bytes.

Broken markers are errors that name the notebook and the cell: a
``BEGIN`` without its ``END`` (or the reverse, or nested), a solution region
in a cell not marked ``"solution": true``, hidden tests outside a graded
cell, a graded cell without positive ``points``, a repeated ``grade_id``.
"""

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = [
    "BEGIN_HIDDEN_TESTS",
    "BEGIN_SOLUTION",
    "CODE_STUB",
    "END_HIDDEN_TESTS",
    "END_SOLUTION",
    "TEXT_STUB",
    "ExerciseError",
    "SyncReport",
    "make_exercises",
    "notebook_bytes",
    "student_notebook",
]

# nbgrader matches the delimiters anywhere in a line, whatever comment marks precede them.
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

# Cell metadata that records a run, not the content: kept out of student notebooks.
_RUN_METADATA = ("execution", "ExecuteTime")
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class ExerciseError(ValueError):
    """A solution notebook breaks the exercise conventions; the message names the notebook and cell."""


def _where(name, index, cell):
    """'solutions/05.ipynb, cell 7 (grade_id 'adam_step_answer')': how errors point at a cell."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    what = f"grade_id {grade_id!r}" if grade_id else f"starts {first[:40]!r}"
    return f"{name}, cell {index + 1} ({cell.cell_type}, {what})"


def _replace_regions(source, begin, end, stub_lines, where):
    """Replace each begin..end region of ``source`` by ``stub_lines`` (None: drop it); count regions."""
    out, inside, count, begin_line = [], False, 0, 0
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            if inside:
                raise ExerciseError(
                    f"{where}: '{begin}' on line {number} inside the region opened on line "
                    f"{begin_line}; close it with '### {end}' first"
                )
            inside, count, begin_line = True, count + 1, number
            if stub_lines:
                indent = line[: len(line) - len(line.lstrip())]
                out.extend(indent + stub for stub in stub_lines)
        elif end in line:
            if not inside:
                raise ExerciseError(
                    f"{where}: '{end}' on line {number} without a '### {begin}' before it"
                )
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseError(
            f"{where}: '### {begin}' on line {begin_line} has no matching '### {end}'"
        )
    return "\n".join(out), count


def _student_cell(cell, name, index):
    """The student's version of one cell (a new cell; ``cell`` is not changed)."""
    where = _where(name, index, cell)
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if not isinstance(meta, dict):
        raise ExerciseError(
            f"{where}: metadata 'nbgrader' must be a dict, got {type(meta).__name__}"
        )
    new = copy.deepcopy(cell)
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    source, solutions = _replace_regions(
        cell.source, BEGIN_SOLUTION, END_SOLUTION, stub.split("\n"), where
    )
    if solutions and not meta.get("solution"):
        raise ExerciseError(
            f"{where}: has a '### {BEGIN_SOLUTION}' region but its nbgrader metadata does not say "
            '"solution": true; answers belong in answer cells'
        )
    if meta.get("solution") and not solutions:
        source = stub  # nbgrader replaces an answer cell without markers as a whole
    source, hidden = _replace_regions(source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, None, where)
    if hidden and not meta.get("grade"):
        raise ExerciseError(
            f"{where}: has a '### {BEGIN_HIDDEN_TESTS}' region but is not a graded cell "
            '("grade": true); hidden tests belong in check cells'
        )
    if meta.get("grade"):
        points = meta.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not points > 0:
            raise ExerciseError(
                f'{where}: a graded check cell needs positive "points" in its nbgrader metadata, '
                f"got {points!r}"
            )
    new.source = source
    for key in _RUN_METADATA:
        new.metadata.pop(key, None)
    if new.cell_type == "code":
        new.outputs = []
        new.execution_count = None
    return new


def student_notebook(nb, name="notebook"):
    """The student version of a solution notebook ``nb`` (a new NotebookNode; ``nb`` is unchanged).

    ``name`` only labels error messages (usually the notebook's path).
    """
    seen = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            if grade_id in seen:
                raise ExerciseError(
                    f"{_where(name, index, cell)}: grade_id {grade_id!r} is also used by cell "
                    f"{seen[grade_id] + 1}; every grade_id must be unique"
                )
            seen[grade_id] = index
    student = copy.deepcopy(nb)
    student.cells = [_student_cell(cell, name, i) for i, cell in enumerate(nb.cells)]
    student.metadata.pop("widgets", None)  # saved widget views are outputs too
    student.nbformat, student.nbformat_minor = 4, 5
    used = {cell.get("id") for cell in student.cells}
    for index, cell in enumerate(student.cells):
        if not isinstance(cell.get("id"), str) or not _CELL_ID.match(cell.id):
            # nbformat would invent a random id; a fixed one keeps the output identical across runs.
            candidate, n = f"cell-{index}", 0
            while candidate in used:
                n += 1
                candidate = f"cell-{index}-{n}"
            cell["id"] = candidate
            used.add(candidate)
    nbformat.validate(student)
    return student


def notebook_bytes(nb):
    """The notebook as nbformat.write saves it (indent 1, sorted keys, trailing newline), UTF-8."""
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def _read_solution(path):
    try:
        return nbformat.read(path, as_version=4)
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        nbformat.ValidationError,
    ) as exc:
        # JSON or schema errors: name the file, not nbformat's internals
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExerciseError(f"{path}: not a readable notebook ({first})") from None


@dataclass
class SyncReport:
    """What ``make_exercises`` found or did, one list of file names per outcome."""

    written: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    stale: list = field(default_factory=list)  # --check: exercise differs from its solution
    missing: list = field(default_factory=list)  # --check: no exercise for a solution
    extra: list = field(default_factory=list)  # an exercise with no solution
    removed: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        """True when exercises/ matches solutions/ (after writing, or as checked)."""
        return not (self.stale or self.missing or self.extra or self.errors)


def make_exercises(solutions_dir, exercises_dir, check=False, prune=False):
    """Generate ``exercises_dir/X.ipynb`` from every ``solutions_dir/X.ipynb``; return a SyncReport.

    ``check=True`` writes nothing and reports which exercise notebooks are
    stale, missing or extra. ``prune=True`` deletes extra exercise notebooks
    (those whose solution is gone). Raises FileNotFoundError when
    ``solutions_dir`` does not exist.
    """
    solutions_dir, exercises_dir = Path(solutions_dir), Path(exercises_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"no solutions folder at {solutions_dir}")
    report = SyncReport()
    sources = sorted(solutions_dir.glob("*.ipynb"))
    names = {path.name for path in sources}
    for path in sources:
        target = exercises_dir / path.name
        try:
            data = notebook_bytes(student_notebook(_read_solution(path), str(path)))
        except ExerciseError as exc:
            report.errors.append(str(exc))
            continue
        current = target.read_bytes() if target.is_file() else None
        if current == data:
            report.unchanged.append(path.name)
        elif check:
            (report.missing if current is None else report.stale).append(path.name)
        else:
            exercises_dir.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            report.written.append(path.name)
    if exercises_dir.is_dir():
        for path in sorted(exercises_dir.glob("*.ipynb")):
            if path.name not in names:
                if prune and not check:
                    path.unlink()
                    report.removed.append(path.name)
                else:
                    report.extra.append(path.name)
    return report
