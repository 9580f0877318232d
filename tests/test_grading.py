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
    return grade_notebook(FIXTURES / "grade_mixed.ipynb", timeout=30, solutions=FIXTURES)


@pytest.fixture(scope="module")
def loop():
    return grade_notebook(FIXTURES / "grade_loop.ipynb", timeout=2, solutions=FIXTURES)


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
    report = grade_notebook(
        FIXTURES / "grade_loop.ipynb", timeout=30, total_timeout=1.5, solutions=FIXTURES
    )
    r = _results(report)
    assert r["square"].status == "timed out" and "overall limit of 1.5 s" in r["square"].diagnosis
    assert r["cube"].status == "timed out" and "overall limit of 1.5 s" in r["cube"].diagnosis


def test_real_bpkit_checker_passes_and_diagnoses():
    report = grade_notebook(FIXTURES / "grade_real_check.ipynb", solutions=FIXTURES)
    r = _results(report)
    assert r["derivative"].status == "passed" and r["derivative"].points == 2
    assert r["forward"].status == "failed"
    assert r["forward"].diagnosis.startswith("derivative: that is the forward difference")


# --- the command ---------------------------------------------------------------------------


def test_command_on_a_correct_notebook_exits_zero(tmp_path):
    # The notebook asserts it runs in its own folder; run from elsewhere to test that.
    # And nothing may be written outside a temporary folder: not even in the home folder.
    import os

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "JUPYTER", "IPYTHON"))}
    env.update(HOME=str(home), MPLCONFIGDIR=str(tmp_path / "no-such-dir"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bpkit",
            "grade",
            str(FIXTURES / "grade_correct.ipynb"),
            "--solutions",
            str(FIXTURES),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=FIXTURES.parent.parent,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(home.iterdir()) == [] and not (tmp_path / "no-such-dir").exists()
    assert "total     3/3" in result.stdout and "2 of 2 exercises passed" in result.stdout
    assert "note:" not in result.stdout  # the cwd assertion in the notebook held
    assert result.stderr == ""


def test_folder_grades_each_notebook_and_reports_bad_ones(tmp_path):
    shutil.copy(FIXTURES / "grade_correct.ipynb", tmp_path)
    shutil.copy(FIXTURES / "corrupt.ipynb", tmp_path)
    lines = []
    assert grade_path(tmp_path, print_fn=lines.append, solutions=FIXTURES) == 1
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
        grade_notebook(tmp_path / "x.ipynb", as_submitted=True)
    with pytest.raises(GradingError, match="no instructor notebook for x.ipynb"):
        grade_notebook(tmp_path / "x.ipynb", solutions=FIXTURES)


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
    "carol_crashes.ipynb": _submission("import os\nos._exit(3)"),
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
    instructor = root / "square.ipynb"
    instructor.write_text(_submission("def square(x):\n    return x * x"))
    code = grade_path(
        folder, timeout=3, total_timeout=60, print_fn=lines.append, solutions=instructor, jobs=2
    )
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
    assert "kernel died while running the answer cell" in rows["carol_crashes.ipynb"]["diagnosis"]
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
    code = main(
        [
            "grade",
            str(FIXTURES / "grade_correct.ipynb"),
            "--csv",
            str(out),
            "--solutions",
            str(FIXTURES),
        ]
    )
    assert code == 0
    rows = _csv(out)
    assert [(r["exercise"], r["points"], r["status"]) for r in rows] == [
        ("square", "1", "passed"),
        ("cube", "2", "passed"),
    ]


# --- submissions that try to trick the grader (against the real solutions/03) ----------------

ROOT = Path(__file__).resolve().parents[1]
SET03 = ROOT / "solutions" / "03_backprop_through_a_layer.ipynb"
EXERCISES03 = (
    "relu_backward",
    "sigmoid_backward",
    "linear_backward",
    "softmax_cross_entropy_backward",
)
WRONG_LINEAR = (
    "def linear_backward(dout, x, W, b):\n"
    "    return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)"
)
# The instructor's answer, in pieces no report may contain.
LINEAR_FORMULAS = ("dout @ W.T", "x.T @ dout", "dout.sum(axis=0)")


def _set03_cells():
    import nbformat

    nb = nbformat.read(SET03, as_version=4)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    needed = [f"{e}_{kind}" for e in EXERCISES03 for kind in ("answer", "check")]
    if any(n not in ids for n in needed):
        pytest.skip("solutions/03 no longer has the four exercises these tests tamper with")
    return nb, ids


def _tamper(extra_relu="", linear=WRONG_LINEAR, edit=None):
    """Set 03 as a student hands it in: relu and sigmoid right, linear wrong, softmax left alone.

    ``extra_relu`` runs at the end of the relu answer cell, before any check; ``edit`` changes
    the student notebook further (its metadata, its check cells)."""
    import nbformat

    from bpkit.exercises import student_notebook

    nb, ids = _set03_cells()
    student = student_notebook(nb)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in student.cells}
    for e in ("relu_backward", "sigmoid_backward"):
        by_id[f"{e}_answer"].source = ids[f"{e}_answer"].source
    by_id["relu_backward_answer"].source += "\n\n" + extra_relu
    by_id["linear_backward_answer"].source = linear
    if edit:
        edit(student, by_id)
    return nbformat.writes(student)


def _edit_metadata(student, by_id):
    import nbformat

    by_id["linear_backward_check"].metadata["nbgrader"]["points"] = 100
    by_id["sigmoid_backward_check"].source = "print('sigmoid_backward: correct')"
    by_id["sigmoid_backward_check"].metadata["nbgrader"]["points"] = 50
    student.cells.remove(by_id["softmax_cross_entropy_backward_check"])
    bonus = nbformat.v4.new_code_cell("print('bonus: correct')")
    bonus.metadata["nbgrader"] = {
        "grade": True, "solution": False, "locked": True, "points": 1000,
        "grade_id": "bonus_check", "schema_version": 3,
    }
    student.cells.append(bonus)
    # ...and a `check` of its own, defined in the linear answer cell
    by_id["linear_backward_answer"].source = (
        "class check:\n"
        "    @staticmethod\n"
        "    def linear_backward(fn):\n"
        "        print('linear_backward: correct')\n\n\n" + WRONG_LINEAR
    )


MARKER = "_bpkit_grading_test_marker.txt"

def _tampering():
    """name -> notebook text of each tampering submission."""
    return {
        "patches_library": _tamper(
            "import bpkit.check, bpkit.check._core as _core, bpkit.check.layers as _layers\n"
            "bpkit.check.linear_backward = lambda fn: print('linear_backward: correct')\n"
            "check.linear_backward = bpkit.check.linear_backward\n"
            "_core.diagnose = lambda *args, **kwargs: None\n"
            "_core.Exercise.case = lambda self, *args, **kwargs: None\n"
            "_zeros = lambda dout, x, W, b: (\n"
            "    np.zeros_like(x), np.zeros_like(W), np.zeros_like(b))\n"
            "for _f in vars(_layers).values():  # the reference answers now agree with zeros\n"
            "    if callable(_f) and getattr(_f, '__name__', '') == '_linear_reference':\n"
            "        _f.__code__ = _zeros.__code__\n"
            "np.allclose = lambda *args, **kwargs: True\n"
            "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
            "abs = max = lambda *args, **kwargs: 0.0\n"
        ),
        "hides_errors": _tamper(
            "_ip = get_ipython()\n"
            "_ip.set_custom_exc((BaseException,), lambda *args, **kwargs: [])\n"
            "_ip.input_transformers_cleanup.append(\n"
            "    lambda lines: ['pass\\n'] if any('check.' in line for line in lines) else lines)\n"
            "_ip.events.register('pre_run_cell', lambda *args: print('linear_backward: correct'))\n"
        ),
        "edits_metadata_and_check_cells": _tamper(edit=_edit_metadata),
        "writes_package": _tamper(
            "import pathlib, bpkit.check._core as _core\n"
            "for _target in (pathlib.Path(_core.__file__),\n"
            f"                pathlib.Path({str(ROOT / 'bpkit')!r}) / {MARKER!r}):\n"
            "    try:\n"
            "        with open(_target, 'a') as _f:\n"
            "            _f.write('\\nraise SystemExit  # planted by a submission\\n')\n"
            "    except PermissionError:\n"
            "        pass\n"
        ),
        "writes_package_from_a_shell": _tamper(
            "import subprocess, bpkit.check._core as _core\n"
            "subprocess.run(['sh', '-c', f'echo \"# planted\" >> {_core.__file__}'], check=True)\n"
        ),
        "patches_at_call_time": _tamper(
            linear="def linear_backward(dout, x, W, b):\n"
            "    import sys\n"
            "    for name, module in list(sys.modules.items()):\n"
            "        if name.startswith('bpkit.check') and hasattr(module, 'diagnose'):\n"
            "            module.diagnose = lambda *args, **kwargs: None\n"
            "    return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)"
        ),
        "calls_the_reference": _tamper(
            linear="import bpkit.check.layers as _layers\n\n\n"
            "def linear_backward(dout, x, W, b):\n"
            "    return _layers._linear_reference(dout, x, W, b)"
        ),
        "turns_grading_mode_off": _tamper(
            "import os\n"
            "_MODE_AT_START = os.environ.get('BPKIT_GRADING')\n"
            "os.environ['BPKIT_GRADING'] = '0'\n"
            "_honest_relu = relu_backward\n\n\n"
            "def relu_backward(dout, x):\n"
            "    # right only if the grader set BPKIT_GRADING=1 in the kernel's environment\n"
            "    return _honest_relu(dout, x) * (1 if _MODE_AT_START == '1' else -1)\n"
        ),
    }


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    """Grade every tampering submission once, two at a time; several tests read the result."""
    folder = tmp_path_factory.mktemp("tampered")
    for name, text in _tampering().items():
        (folder / f"{name}-{SET03.name}").write_text(text)
    lines = []
    try:
        grade_path(folder, timeout=60, print_fn=lines.append, solutions=ROOT / "solutions", jobs=2)
    finally:
        planted = ROOT / "bpkit" / MARKER
        if planted.exists():  # the write got through: tidy up, the test below fails
            planted.unlink()
            lines.append("PLANTED")
    rows = {}
    for row in _csv(folder / "grades.csv"):
        rows.setdefault(row["notebook"].split("-")[0], {})[row["exercise"]] = row
    return {"rows": rows, "text": "\n".join(lines), "folder": folder}


def _points(rows):
    return {e: (r["status"], float(r["points"])) for e, r in rows.items()}


HONEST = {
    "relu_backward": ("passed", 1.0),
    "sigmoid_backward": ("passed", 1.0),
    "softmax_cross_entropy_backward": ("not attempted", 0.0),
}


@pytest.mark.parametrize(
    "name",
    ["patches_library", "hides_errors", "edits_metadata_and_check_cells", "turns_grading_mode_off"],
)
def test_tampering_in_answer_cells_is_undone_and_gains_nothing(tampered, name):
    got = _points(tampered["rows"][name])
    assert list(got) == list(EXERCISES03)  # the instructor's exercises, not the student's bonus
    assert got["linear_backward"] == ("failed", 0.0)
    assert {e: got[e] for e in HONEST} == HONEST  # the untouched right answers keep their points
    assert sum(float(r["possible"]) for r in tampered["rows"][name].values()) == 7


def test_what_the_guard_undid_is_reported(tampered):
    text = tampered["text"]
    assert f"patches_library-{SET03.name}  (graded against {SET03})" in text
    assert "undid the notebook's changes to" in text
    for name in (
        "bpkit.check.linear_backward",
        "bpkit.check._core.diagnose",
        "numpy.allclose",
        "abs (a name that shadowed a builtin)",
        "shell.custom_exceptions",
        "shell.cleanup_transforms",
        "shell.events.pre_run_cell",
        "os.environ['BPKIT_GRADING']",
    ):
        assert name in text, name


def test_writing_into_the_package_costs_every_point(tampered):
    for name, words in [
        ("writes_package", "tried to write into the bpkit package"),
        ("writes_package_from_a_shell", "changed the bpkit package (bpkit/check/_core.py)"),
    ]:
        rows = tampered["rows"][name]
        assert {r["status"] for r in rows.values()} == {"tampered"}, name
        assert all(r["points"] == "0" for r in rows.values())
        assert all(words in r["diagnosis"] for r in rows.values()), rows
    assert not (ROOT / "bpkit" / MARKER).exists() and "PLANTED" not in tampered["text"]
    assert "planted" not in (ROOT / "bpkit" / "check" / "_core.py").read_text()


def test_patching_the_checker_from_inside_the_answer_costs_the_exercise(tampered):
    got = _points(tampered["rows"]["patches_at_call_time"])
    assert got["linear_backward"] == ("tampered", 0.0)
    assert "diagnose" in tampered["rows"]["patches_at_call_time"]["linear_backward"]["diagnosis"]
    assert {e: got[e] for e in HONEST} == HONEST


def test_grading_mode_reaches_the_kernel_and_no_report_shows_the_answer(tampered):
    # relu_backward passes only when BPKIT_GRADING=1 was in the kernel's environment at start
    assert _points(tampered["rows"]["turns_grading_mode_off"])["relu_backward"] == ("passed", 1.0)
    csv_text = (tampered["folder"] / "grades.csv").read_text()
    for formula in LINEAR_FORMULAS:
        assert formula not in csv_text and formula not in tampered["text"]
    assert "linear_backward" in tampered["rows"]["turns_grading_mode_off"]


def test_answers_are_matched_by_grade_id_and_the_rest_comes_from_the_instructor():
    import nbformat

    from bpkit.grading import grading_notebook

    nb, ids = _set03_cells()
    student = nbformat.reads(_tampering()["edits_metadata_and_check_cells"], as_version=4)
    graded, answers = grading_notebook(nb, student)
    def fixed(cells):
        return [c.source for c in cells if not c.metadata.get("nbgrader", {}).get("solution")]

    assert fixed(graded.cells) == fixed(nb.cells)
    assert [c.metadata for c in graded.cells] == [c.metadata for c in nb.cells]
    assert set(answers.values()) == {"grade_id"}
    linear = next(
        c
        for c in graded.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "linear_backward_answer"
    )
    assert "class check" in linear.source


def test_instructor_notebook_found_by_file_name(tmp_path):
    from bpkit.grading import find_instructor_notebook

    solutions = ROOT / "solutions"
    for name in (SET03.name, f"alice-{SET03.name}", f"bob_{SET03.name}"):
        assert find_instructor_notebook(tmp_path / name, solutions) == SET03
    assert find_instructor_notebook(tmp_path / "anything.ipynb", SET03) == SET03
    with pytest.raises(GradingError, match="no instructor notebook for alice03.ipynb"):
        find_instructor_notebook(tmp_path / "alice03.ipynb", solutions)


# --- grade DIR -j N ---------------------------------------------------------------------------


def test_parallel_grading_gives_the_same_csv_and_printout(tmp_path):
    for name in ("grade_correct", "grade_mixed", "grade_real_check"):
        shutil.copy(FIXTURES / f"{name}.ipynb", tmp_path)
    shutil.copy(FIXTURES / "corrupt.ipynb", tmp_path)
    out = {}
    for jobs in (1, 2):
        lines = []
        code = grade_path(
            tmp_path,
            timeout=30,
            print_fn=lines.append,
            solutions=FIXTURES,
            csv_path=tmp_path / f"j{jobs}.csv",
            jobs=jobs,
        )
        # all but the line naming the CSV file (and a warning if another helper edits bpkit)
        shown = [x for x in lines if "one row per exercise in" not in x and "warning:" not in x]
        out[jobs] = (code, (tmp_path / f"j{jobs}.csv").read_bytes(), shown)
    assert out[1] == out[2]
    assert len(_csv(tmp_path / "j1.csv")) == 2 + 5 + 2 + 1


@pytest.mark.parametrize(
    "path", sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name
)
def test_an_untouched_exercise_notebook_becomes_the_instructors_with_stubs(path):
    # As nbgrader's autograde does: check cells, hidden tests and metadata from the instructor.
    import nbformat

    from bpkit.grading import grading_notebook

    from bpkit.exercises import student_notebook

    instructor = nbformat.read(path, as_version=4)
    student = student_notebook(instructor)  # what exercises/ holds (its sync is tested elsewhere)
    graded, answers = grading_notebook(instructor, student)
    assert set(answers.values()) <= {"grade_id"}
    for ours, theirs, stub in zip(graded.cells, instructor.cells, student.cells):
        assert ours.metadata == theirs.metadata
        solution = ours.cell_type == "code" and ours.metadata.get("nbgrader", {}).get("solution")
        assert ours.source == (stub.source if solution else theirs.source)


def test_an_answer_that_reaches_into_the_checkers_is_pointed_out(tampered):
    # Not tampering (the checker runs unchanged), but the instructor is told where to look.
    assert "the answer cell linear_backward_answer mentions bpkit.check" in tampered["text"]
