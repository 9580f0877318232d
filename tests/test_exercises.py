"""make-exercises: student notebooks from solution notebooks, as nbgrader would make them."""

import copy
import shutil
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit.__main__ import main
from bpkit.exercises import ExerciseError, make_exercises, notebook_bytes, student_notebook

FIXTURES = Path(__file__).parent / "fixtures"
SOLUTION = FIXTURES / "solutions" / "01_demo.ipynb"


@pytest.fixture
def solution():
    return nbformat.read(SOLUTION, as_version=4)


@pytest.fixture
def project(tmp_path):
    """A project folder with solutions/01_demo.ipynb and no exercises/ yet."""
    shutil.copytree(FIXTURES / "solutions", tmp_path / "solutions")
    return tmp_path


def _by_id(nb):
    return {
        c.metadata.get("nbgrader", {}).get("grade_id", f"#{i}"): c for i, c in enumerate(nb.cells)
    }


# --- the cell sources ---------------------------------------------------------------------


def test_indented_solution_region_becomes_indented_stub(solution):
    cells = _by_id(student_notebook(solution))
    assert cells["square_answer"].source == (
        'def square(x):\n    """Return x squared."""\n'
        "    # YOUR CODE HERE\n    raise NotImplementedError()"
    )


def test_code_after_the_region_is_kept(solution):
    cells = _by_id(student_notebook(solution))
    assert cells["cube_answer"].source == (
        "def cube(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n\nprint('defined')"
    )


def test_hidden_tests_are_removed_with_their_markers(solution):
    cells = _by_id(student_notebook(solution))
    assert cells["square_check"].source == "check.square(square)"


def test_written_answer_in_markdown_becomes_your_answer_here(solution):
    cells = _by_id(student_notebook(solution))
    assert cells["sign_answer"].cell_type == "markdown"
    assert (
        cells["sign_answer"].source == "Why does `cube` keep the sign of `x`?\n\n  YOUR ANSWER HERE"
    )


def test_other_cells_are_unchanged(solution):
    student = student_notebook(solution)
    for old, new in zip(solution.cells, student.cells):
        if (
            "grade_id" not in old.metadata.get("nbgrader", {})
            or old.metadata["nbgrader"]["grade_id"] == "setup"
        ):
            assert new.source == old.source
    assert len(student.cells) == len(solution.cells)


def test_solution_cell_without_markers_is_replaced_whole(solution):
    solution.cells[2].source = "def square(x):\n    return x * x"
    assert (
        student_notebook(solution).cells[2].source
        == "# YOUR CODE HERE\nraise NotImplementedError()"
    )


_LINE = st.text(alphabet="abcxyz =+()_:#'0123456789", max_size=20).filter(
    lambda s: "SOLUTION" not in s
)


@given(
    before=st.lists(_LINE, max_size=4),
    inside=st.lists(_LINE, max_size=4),
    after=st.lists(_LINE, max_size=4),
    indent=st.sampled_from(["", "    ", "        ", "\t"]),
)
def test_any_region_is_replaced_by_the_stub_at_its_indentation(before, inside, after, indent):
    source = "\n".join(
        before + [indent + "### BEGIN SOLUTION", *inside, indent + "### END SOLUTION"] + after
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.cells[0].metadata["nbgrader"] = {
        "solution": True,
        "grade": False,
        "grade_id": "a",
        "locked": False,
    }
    expected = (
        before + [indent + "# YOUR CODE HERE", indent + "raise NotImplementedError()"] + after
    )
    assert student_notebook(nb).cells[0].source.split("\n") == expected


# --- outputs, metadata, format ------------------------------------------------------------


def test_outputs_counts_and_run_metadata_are_cleared_the_rest_kept(solution):
    student = student_notebook(solution)
    last = student.cells[-1]
    assert solution.cells[-1].outputs and solution.cells[-1].execution_count == 3  # the fixture ran
    assert last.outputs == [] and last.execution_count is None
    assert last.metadata == {"tags": ["demo"]}  # timings gone, tags kept
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert _by_id(student)["square_check"].metadata.nbgrader == {
        "grade": True,
        "solution": False,
        "locked": True,
        "points": 1,
        "grade_id": "square_check",
        "schema_version": 3,
    }
    assert "widgets" not in student.metadata
    assert student.metadata.kernelspec.name == "python3"


def test_solution_notebook_itself_is_not_modified(solution):
    before = copy.deepcopy(solution)
    student_notebook(solution)
    assert solution == before


def test_bytes_are_what_nbformat_write_produces(solution, tmp_path):
    student = student_notebook(solution)
    nbformat.write(student, tmp_path / "ref.ipynb")
    assert notebook_bytes(student) == (tmp_path / "ref.ipynb").read_bytes()
    assert notebook_bytes(student).endswith(b"}\n")


def test_old_minor_version_gets_fixed_cell_ids(solution):
    for cell in solution.cells:
        del cell["id"]
    solution.nbformat_minor = 4
    first, second = student_notebook(solution), student_notebook(copy.deepcopy(solution))
    assert (first.nbformat, first.nbformat_minor) == (4, 5)
    assert [c.id for c in first.cells] == [f"cell-{i}" for i in range(len(first.cells))]
    assert notebook_bytes(first) == notebook_bytes(second)
    nbformat.validate(first)


def test_generation_is_byte_for_byte_repeatable(project):
    make_exercises(project / "solutions", project / "exercises")
    first = (project / "exercises" / "01_demo.ipynb").read_bytes()
    report = make_exercises(project / "solutions", project / "exercises")
    assert report.unchanged == ["01_demo.ipynb"] and not report.written
    assert (project / "exercises" / "01_demo.ipynb").read_bytes() == first


# --- the command and --check ----------------------------------------------------------------


def test_command_uses_the_current_folder_by_default(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["make-exercises"]) == 0
    assert "wrote      exercises/01_demo.ipynb" in capsys.readouterr().out
    assert main(["make-exercises", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_missing_solutions_folder_is_said_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["make-exercises"]) == 2
    err = capsys.readouterr().err
    assert "no solutions folder" in err and str(tmp_path / "solutions") in err


def test_check_detects_missing_stale_and_extra(project, capsys):
    args = [
        "make-exercises",
        "--solutions",
        str(project / "solutions"),
        "--exercises",
        str(project / "exercises"),
    ]
    assert main(args + ["--check"]) == 1
    assert "missing" in capsys.readouterr().out
    assert not (project / "exercises").exists()  # --check writes nothing

    assert main(args) == 0
    nb = nbformat.read(project / "solutions" / "01_demo.ipynb", as_version=4)
    nb.cells[0].source += "\nA new sentence."
    nbformat.write(nb, project / "solutions" / "01_demo.ipynb")
    shutil.copy(project / "exercises" / "01_demo.ipynb", project / "exercises" / "99_old.ipynb")
    capsys.readouterr()
    assert main(args + ["--check"]) == 1
    captured = capsys.readouterr()
    assert "stale      " in captured.out and "01_demo.ipynb" in captured.out
    assert "extra      " in captured.out and "99_old.ipynb" in captured.out
    assert "make-exercises" in captured.err

    assert main(args) == 1  # regenerated, but the extra file still makes exercises/ differ
    assert main(args + ["--prune"]) == 0
    assert not (project / "exercises" / "99_old.ipynb").exists()
    assert main(args + ["--check"]) == 0


def test_hand_edit_of_an_exercise_is_detected(project):
    make_exercises(project / "solutions", project / "exercises")
    path = project / "exercises" / "01_demo.ipynb"
    path.write_bytes(path.read_bytes().replace(b"YOUR CODE HERE", b"return x * x  "))
    assert make_exercises(project / "solutions", project / "exercises", check=True).stale == [
        "01_demo.ipynb"
    ]


# --- broken markers and metadata ------------------------------------------------------------


def _break_missing_end(nb):
    nb.cells[2].source = nb.cells[2].source.replace("    ### END SOLUTION", "")


def _break_end_without_begin(nb):
    nb.cells[2].source = nb.cells[2].source.replace("    ### BEGIN SOLUTION\n", "")


def _break_nested(nb):
    nb.cells[2].source = nb.cells[2].source.replace(
        "    return", "    ### BEGIN SOLUTION\n    return"
    )


def _break_solution_in_plain_cell(nb):
    nb.cells[2].metadata.pop("nbgrader")


def _break_hidden_outside_check(nb):
    nb.cells[3].metadata.nbgrader["grade"] = False


def _break_no_points(nb):
    del nb.cells[3].metadata.nbgrader["points"]


def _break_zero_points(nb):
    nb.cells[6].metadata.nbgrader["points"] = 0


def _break_hidden_without_end(nb):
    nb.cells[3].source = nb.cells[3].source.replace("### END HIDDEN TESTS", "")


def _break_duplicate_id(nb):
    nb.cells[6].metadata.nbgrader["grade_id"] = "square_check"


@pytest.mark.parametrize(
    "breaker, cell, words",
    [
        (_break_missing_end, 3, "no matching '### END SOLUTION'"),
        (_break_end_without_begin, 3, "without a '### BEGIN SOLUTION'"),
        (_break_nested, 3, "inside the region opened on line 3"),
        (_break_solution_in_plain_cell, 3, '"solution": true'),
        (_break_hidden_outside_check, 4, "not a graded cell"),
        (_break_no_points, 4, 'positive "points"'),
        (_break_zero_points, 7, "got 0"),
        (_break_hidden_without_end, 4, "no matching '### END HIDDEN TESTS'"),
        (_break_duplicate_id, 7, "also used by cell 4"),
    ],
)
def test_broken_notebook_is_an_error_naming_notebook_and_cell(
    project, capsys, breaker, cell, words
):
    path = project / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    breaker(nb)
    with pytest.raises(ExerciseError) as info:
        student_notebook(nb, str(path))
    message = str(info.value)
    assert str(path) in message and f"cell {cell} " in message and words in message
    nbformat.write(nb, path)
    assert (
        main(
            [
                "make-exercises",
                "--solutions",
                str(project / "solutions"),
                "--exercises",
                str(project / "exercises"),
            ]
        )
        == 1
    )
    assert words in capsys.readouterr().err
    assert not (project / "exercises" / "01_demo.ipynb").exists()


def test_unreadable_solution_is_an_error(project):
    (project / "solutions" / "02_bad.ipynb").write_text("{ not json")
    report = make_exercises(project / "solutions", project / "exercises")
    assert report.written == ["01_demo.ipynb"]
    assert len(report.errors) == 1 and "02_bad.ipynb" in report.errors[0]


# --- the contract: a generated notebook fails only where the student must write ---------------


def test_generated_notebook_raises_only_not_implemented(project):
    from nbclient import NotebookClient

    make_exercises(project / "solutions", project / "exercises")
    nb = nbformat.read(project / "exercises" / "01_demo.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(project)}},
    ).execute()
    errors = [
        out.ename
        for c in nb.cells
        if c.cell_type == "code"
        for out in c.outputs
        if out.output_type == "error"
    ]
    assert errors and set(errors) == {"NotImplementedError"}
