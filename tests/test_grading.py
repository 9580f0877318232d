"""grade: run a student notebook in a fresh kernel and report each exercise.

Each executed notebook costs a kernel start, so every notebook runs once per
module (fixtures with scope="module") and several tests read its report.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpkit.__main__ import main
from bpkit.grading import GradingError, format_report, grade_notebook, grade_path, read_notebook

FIXTURES = Path(__file__).parent / "fixtures"


def _results(report):
    return {r.exercise: r for r in report.results}


@pytest.fixture(scope="module")
def mixed():
    return grade_notebook(FIXTURES / "grade_mixed.ipynb", timeout=30)


@pytest.fixture(scope="module")
def loop():
    return grade_notebook(FIXTURES / "grade_loop.ipynb", timeout=2)


# --- statuses ------------------------------------------------------------------------------


def test_every_outcome_gets_its_status_and_diagnosis(mixed):
    r = _results(mixed)
    assert [x.exercise for x in mixed.results] == ["square", "cube", "half", "inverse", "square2"]
    assert (r["square"].status, r["square"].points) == ("failed", 0)
    # The first line of the checker's message, not the rest.
    assert r["square"].diagnosis == "square: square(-3.0) returned -6.0, expected 9.0"
    assert (r["cube"].status, r["cube"].points, r["cube"].possible) == ("passed", 2, 2)
    assert r["half"].status == "not attempted"
    assert r["inverse"].status == "error"
    assert r["inverse"].diagnosis == "ZeroDivisionError: float division by zero"
    assert r["square2"].status == "error"
    assert r["square2"].diagnosis.startswith("answer cell: SyntaxError")
    assert not mixed.passed and (mixed.earned, mixed.possible) == (2, 6)


def test_errors_outside_exercises_are_noted(mixed):
    assert mixed.notes == [
        "cell 10 (not an exercise) raised NameError: name 'undefined_helper' is not defined"
    ]


def test_report_table_has_a_row_per_exercise_and_a_total(mixed):
    text = format_report(mixed)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("exercise"))
    assert header.split() == ["exercise", "points", "status", "diagnosis"]
    row = next(line for line in lines if line.startswith("half "))
    assert row.split()[:3] == ["half", "0/1", "not"] and "not attempted" in row
    assert lines[-2].split()[:2] == ["total", "2/6"] and "1 of 5 exercises passed" in lines[-2]
    assert lines[-1].startswith("note: cell 10")


def test_endless_loop_times_out_and_later_exercises_are_still_graded(loop):
    r = _results(loop)
    assert r["square"].status == "timed out" and "longer than 2 s" in r["square"].diagnosis
    assert r["cube"].status == "passed"
    assert (
        r["half"].status == "error"
        and "kernel died while running the answer cell" in r["half"].diagnosis
    )
    assert r["inverse"].status == "error" and "not run" in r["inverse"].diagnosis


def test_overall_limit_stops_the_notebook():
    report = grade_notebook(FIXTURES / "grade_loop.ipynb", timeout=30, total_timeout=1.5)
    r = _results(report)
    assert r["square"].status == "timed out" and "overall limit of 1.5 s" in r["square"].diagnosis
    assert r["cube"].status == "timed out" and "overall limit of 1.5 s" in r["cube"].diagnosis


def test_real_bpkit_checker_passes_and_diagnoses():
    report = grade_notebook(FIXTURES / "grade_real_check.ipynb")
    r = _results(report)
    assert r["derivative"].status == "passed" and r["derivative"].points == 2
    assert r["forward"].status == "failed"
    assert r["forward"].diagnosis.startswith("derivative: that is the forward difference")


# --- the command ---------------------------------------------------------------------------


def test_command_on_a_correct_notebook_exits_zero():
    # The notebook asserts it runs in its own folder; run from elsewhere to test that.
    result = subprocess.run(
        [sys.executable, "-m", "bpkit", "grade", str(FIXTURES / "grade_correct.ipynb")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=FIXTURES.parent.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "total     3/3" in result.stdout and "2 of 2 exercises passed" in result.stdout
    assert "note:" not in result.stdout  # the cwd assertion in the notebook held
    assert result.stderr == ""


def test_folder_grades_each_notebook_and_reports_bad_ones(tmp_path):
    shutil.copy(FIXTURES / "grade_correct.ipynb", tmp_path)
    shutil.copy(FIXTURES / "corrupt.ipynb", tmp_path)
    lines = []
    assert grade_path(tmp_path, print_fn=lines.append) == 1
    text = "\n".join(lines)
    assert "corrupt.ipynb\n  error: " in text and "not valid notebook JSON" in text
    assert "2 of 2 exercises passed" in text


@pytest.mark.parametrize(
    "name, words",
    [
        ("does_not_exist.ipynb", "no such file"),
        ("not_a_notebook.py", "is not a Jupyter notebook (expected a .ipynb file)"),
        ("random_text.ipynb", "is not valid notebook JSON (line 1, column 1"),
        ("corrupt.ipynb", "is not valid notebook JSON (line 4, column 1"),
    ],
)
def test_unusable_file_is_one_clear_line_and_exit_2(name, words, capsys):
    assert main(["grade", str(FIXTURES / name)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and words in captured.err
    assert captured.err.startswith("bpkit grade: error: ") and "Traceback" not in captured.err


def test_command_line_errors_print_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "bpkit", "grade", str(FIXTURES / "corrupt.ipynb")],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_that_is_not_a_notebook(tmp_path):
    (tmp_path / "data.ipynb").write_text(json.dumps({"cells": "nope", "nbformat": 4}))
    with pytest.raises(GradingError, match="not a valid Jupyter notebook"):
        read_notebook(tmp_path / "data.ipynb")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    with pytest.raises(GradingError, match="JSON but not a Jupyter notebook"):
        read_notebook(tmp_path / "list.ipynb")
    (tmp_path / "binary.ipynb").write_bytes(bytes(range(256)))
    with pytest.raises(GradingError, match="not even text"):
        read_notebook(tmp_path / "binary.ipynb")


def test_notebook_without_graded_cells_is_refused_before_running(tmp_path):
    import nbformat

    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), tmp_path / "x.ipynb"
    )
    with pytest.raises(GradingError, match="no graded check cells"):
        grade_notebook(tmp_path / "x.ipynb")


def test_timeout_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        raise SystemExit(main(["grade", "x.ipynb", "--timeout", "-1"]))
    assert "must be positive" in capsys.readouterr().err


# --- a class's worth of hostile submissions (grade DIR) ---------------------------------------

SQUARE_CHECK = (
    "def check_square(fn):\n"
    "    for x in (2.0, -3.0):\n"
    "        if fn(x) != x * x:\n"
    "            raise AssertionError(f'square: square({x}) returned {fn(x)!r}')\n"
    "    print('square: correct')"
)


def _submission(answer, before=""):
    """A one-exercise notebook: ``before`` runs first, then the square exercise with ``answer``."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def graded(source, kind, points=None):
        cell = new_code_cell(source)
        flags = {"grade": kind == "check", "solution": kind == "answer", "locked": kind != "answer"}
        if points:
            flags["points"] = points
        cell.metadata["nbgrader"] = {**flags, "grade_id": f"square_{kind}", "schema_version": 3}
        return cell

    cells = [new_code_cell(SQUARE_CHECK)]
    if before:
        cells.append(new_code_cell(before))
    cells += [graded(answer, "answer"), graded("check_square(square)", "check", points=2)]
    nb = new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    return nbformat.writes(nb)


HOSTILE = {
    "alice_correct.ipynb": _submission("def square(x):\n    return x * x"),
    "bob_hangs.ipynb": _submission("def square(x):\n    while True:\n        pass"),
    "carol_crashes.ipynb": _submission(
        "def square(x):\n    return x * x", before="import os\nos._exit(3)"
    ),
    "dave_prints_megabytes.ipynb": _submission(
        "for i in range(30_000):\n    print('spam' * 50)\nprint('x' * 3_000_000)\n"
        "def square(x):\n    return x * x"
    ),
    "erin_writes_everywhere.ipynb": _submission(
        "from pathlib import Path\n"
        "Path('../escaped.txt').write_text('out')\n"
        "Path('../../escaped.txt').write_text('out')\n"
        "for other in Path('.').glob('*.ipynb'):\n    other.write_text('overwritten')\n"
        "Path('alice_correct.ipynb').write_text('overwritten')\n"
        "def square(x):\n    return x * x"
    ),
    "frank_corrupt.ipynb": '{"cells": [',
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Grade a folder of hostile submissions once; several tests read the result."""
    root = tmp_path_factory.mktemp("class")
    folder = root / "submissions"
    folder.mkdir()
    for name, text in HOSTILE.items():
        (folder / name).write_text(text)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    lines = []
    code = grade_path(folder, timeout=3, total_timeout=60, print_fn=lines.append)
    return {
        "root": root,
        "folder": folder,
        "before": before,
        "code": code,
        "text": "\n".join(lines),
    }


def _csv(path):
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_grading_a_folder_writes_one_csv_row_per_exercise(graded_class):
    rows = _csv(graded_class["folder"] / "grades.csv")
    by_notebook = {row["notebook"]: row for row in rows}
    assert sorted(by_notebook) == sorted(HOSTILE) and len(rows) == len(HOSTILE)
    assert list(rows[0]) == ["notebook", "exercise", "points", "possible", "status", "diagnosis"]
    assert by_notebook["alice_correct.ipynb"] == {
        "notebook": "alice_correct.ipynb",
        "exercise": "square",
        "points": "2",
        "possible": "2",
        "status": "passed",
        "diagnosis": "",
    }
    assert by_notebook["frank_corrupt.ipynb"]["status"] == "error"
    assert "not valid notebook JSON" in by_notebook["frank_corrupt.ipynb"]["diagnosis"]
    assert graded_class["code"] == 1
    assert "one row per exercise in" in graded_class["text"]


def test_hanging_and_crashing_notebooks_cost_only_themselves(graded_class):
    rows = {row["notebook"]: row for row in _csv(graded_class["folder"] / "grades.csv")}
    assert rows["bob_hangs.ipynb"]["status"] == "timed out"
    assert "longer than 3 s" in rows["bob_hangs.ipynb"]["diagnosis"]
    assert rows["carol_crashes.ipynb"]["status"] == "error"
    assert "not run: the kernel died" in rows["carol_crashes.ipynb"]["diagnosis"]
    # Notebooks after the bad ones were still graded.
    assert rows["dave_prints_megabytes.ipynb"]["status"] == "passed"
    assert rows["erin_writes_everywhere.ipynb"]["status"] == "passed"


def test_submissions_are_never_touched_and_nothing_escapes(graded_class):
    folder, root = graded_class["folder"], graded_class["root"]
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "grades.csv"}
    assert after == graded_class["before"]
    assert not (root / "escaped.txt").exists() and not (root.parent / "escaped.txt").exists()


def test_output_of_a_cell_is_capped(tmp_path):
    import nbformat

    from bpkit import grading

    nb = nbformat.reads(HOSTILE["dave_prints_megabytes.ipynb"], as_version=4)
    grading._run(nb, tmp_path, timeout=30, total_timeout=60, kernel_name="python3")
    answer = nb.cells[1]
    stored = sum(len(o.get("text", "")) for o in answer.outputs)
    assert stored <= grading.MAX_OUTPUT_BYTES + 200, stored
    assert "bpkit grade: output after the first" in answer.outputs[-1].text
    assert nb.cells[2].outputs[0].text == "square: correct\n"  # the check still ran


def test_csv_option_for_a_single_notebook(tmp_path):
    out = tmp_path / "one.csv"
    code = main(["grade", str(FIXTURES / "grade_correct.ipynb"), "--csv", str(out)])
    assert code == 0
    rows = _csv(out)
    assert [(r["exercise"], r["points"], r["status"]) for r in rows] == [
        ("square", "1", "passed"),
        ("cube", "2", "passed"),
    ]
