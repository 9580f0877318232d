"""Contract tests for the course itself: notebooks are complete, executed and consistent.

nbval (run by `make test` on notebooks/ and solutions/) checks that every
stored output is reproduced. These tests check what nbval cannot: that the
student notebooks in exercises/ are the ones generated from solutions/, that
they leak no answers, and that every notebook has the parts a learner relies on.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


def _read(path):
    return nbformat.read(path, as_version=4)


def _text(nb, cell_type=None):
    return "\n".join(c.source for c in nb.cells if cell_type in (None, c.cell_type))


@pytest.mark.parametrize("path", LECTURES + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_committed_executed_with_python3_kernel(path):
    nb = _read(path)
    assert nb.metadata.kernelspec.name == "python3", f"{path.name}: kernelspec must be python3"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{path.name} has no code"
    unexecuted = [i for i, c in enumerate(nb.cells) if c in code and c.execution_count is None]
    tagged_skip = {i for i, c in enumerate(nb.cells) if "nbval-skip" in c.metadata.get("tags", [])}
    assert not set(unexecuted) - tagged_skip, f"{path.name}: cells {unexecuted} were never executed"
    for cell in code:
        for out in cell.get("outputs", []):
            assert out.output_type != "error" or "raises-exception" in cell.metadata.get(
                "tags", []
            ), f"{path.name}: a committed cell shows an error:\n{cell.source[:200]}"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_has_objectives_recap_and_a_figure(path):
    nb = _read(path)
    markdown = _text(nb, "markdown").lower()
    assert "learning objectives" in markdown or "you will learn" in markdown, path.name
    assert "recap" in markdown, f"{path.name}: needs a recap at the end"
    if path.name.startswith("00_"):
        return
    assert "what's next" in markdown or "what is next" in markdown or "next:" in markdown, path.name
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, f"{path.name}: needs at least one figure"


def test_exercises_are_generated_from_solutions():
    """`bpkit make-exercises --check` fails when exercises/ drifts from solutions/."""
    if not SOLUTIONS:
        pytest.skip("no exercise notebooks yet")
    result = subprocess.run(
        [sys.executable, "-m", "bpkit", "make-exercises", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_answer_cell_is_followed_by_a_graded_check(path):
    from bpkit import check

    nb = _read(path)
    answers = 0
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("solution") and cell.cell_type == "code"):
            continue
        answers += 1
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, meta
        following = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        assert following is not None and following.cell_type == "code", (
            f"{meta['grade_id']}: no check cell"
        )
        check_meta = following.metadata.get("nbgrader", {})
        assert check_meta.get("grade") and check_meta.get("points", 0) > 0, (
            f"{path.name}: the cell after {meta['grade_id']} must be a graded check cell with points"
        )
        called = re.findall(r"check\.([a-z_0-9]+)\(", following.source)
        assert called, f"{path.name}: {check_meta['grade_id']} does not call a check.* function"
        for name in called:
            assert callable(getattr(check, name, None)), f"{path.name}: check.{name} does not exist"
    assert 3 <= answers <= 6, f"{path.name}: {answers} graded exercises (want 3-6)"
    hints = _text(nb, "markdown").count("<details>")
    assert hints >= 1, f"{path.name}: hints belong in collapsible <details> cells"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_student_notebook_raises_only_not_implemented(path, tmp_path):
    """The contract: a fresh student notebook fails only where the student must write code."""
    from nbclient import NotebookClient

    nb = _read(path)
    assert "### BEGIN SOLUTION" not in _text(nb), f"{path.name} leaks an answer"
    assert "### BEGIN HIDDEN TESTS" not in _text(nb), f"{path.name} leaks hidden tests"
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    # Run in a scratch folder: a student notebook must not need or touch project files.
    client.execute()
    errors = [
        (i, out.ename)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for out in c.get("outputs", [])
        if out.output_type == "error"
    ]
    names = {ename for _, ename in errors}
    assert errors, f"{path.name}: nothing raised NotImplementedError, so an answer leaked"
    assert names == {"NotImplementedError"}, f"{path.name}: unexpected errors {errors}"


def test_readme_lists_every_lecture_notebook():
    readme = (ROOT / "README.md").read_text()
    for path in LECTURES:
        assert path.name in readme, f"README's table does not list {path.name}"


def test_notebooks_are_valid_json_with_stable_formatting():
    for path in LECTURES + SOLUTIONS + EXERCISES:
        json.loads(path.read_text())  # raises on a broken file
        nbformat.validate(_read(path))


def test_instructors_guide_names_real_exercises():
    """docs/instructors.md lists exercises per set, e.g. "set 3 (`linear_backward`, ...)": they must exist."""
    guide = (ROOT / "docs" / "instructors.md").read_text()
    mentions = re.findall(r"set (\d+) \(((?:`[a-z_0-9]+`(?:, )?)+)\)", guide)
    assert mentions, "docs/instructors.md names no exercises per set"
    for number, names in mentions:
        matches = sorted((ROOT / "solutions").glob(f"{int(number):02d}_*.ipynb"))
        assert matches, (
            f"docs/instructors.md mentions set {number}, but solutions/ has no {int(number):02d}_*"
        )
        grade_ids = {
            cell.metadata.get("nbgrader", {}).get("grade_id") for cell in _read(matches[0]).cells
        }
        for name in re.findall(r"`([a-z_0-9]+)`", names):
            assert f"{name}_answer" in grade_ids, (
                f"docs/instructors.md says set {number} has `{name}`, but {matches[0].name} has no such exercise"
            )


# --- common parts of every lecture notebook (issue 9): Colab cell, estimated time, reading ---

COLAB_LINES = [
    "import importlib.util",
    'if importlib.util.find_spec("bpkit") is None:  # on Colab: install the course library',
    '    %pip install --quiet "bpkit @ git+https://github.com/bpkit-course/bpkit"',
]
ESTIMATE = re.compile(
    r"\*\*Estimated time:\*\* about (\d+) min"
    r"(?: \(core (\d+) min; sections marked \*\(optional\)\* take the rest\))?\."
)
OPTIONAL_HEADING = re.compile(r"^#{2,3} .*\*\(optional\)\*\s*$", re.MULTILINE)


def _estimate(nb):
    """(total, core or None) from the title cell's "**Estimated time:** about N min ..." line."""
    first = nb.cells[0]
    match = ESTIMATE.search(first.source) if first.cell_type == "markdown" else None
    if match is None:
        return None
    return int(match.group(1)), (int(match.group(2)) if match.group(2) else None)


def _table_minutes(text, row):
    """{notebook number: minutes} from the markdown table rows that ``row`` (a regex) matches."""
    return {int(number): int(minutes) for number, minutes in re.findall(row, text, re.MULTILINE)}


def _readme_minutes():
    # README's notebook table: | 01 | [title](notebooks/01_...) | 60 min | what you learn |
    return _table_minutes(
        (ROOT / "README.md").read_text(), r"^\| (\d\d) \| \[[^\]]+\]\([^)]+\) \| (\d+) min \|"
    )


def _guide_minutes():
    # docs/instructors.md, "Time per notebook": | 01 | derivatives ... | 60 min | 45 min | ...
    return _table_minutes(
        (ROOT / "docs" / "instructors.md").read_text(), r"^\| (\d\d) \| [^|]+ \| (\d+) min \|"
    )


def _start_here_minutes():
    # notebook 00's table: | 01 | [title](01_...ipynb) | 60 min | in one line |
    start = next((p for p in LECTURES if p.name.startswith("00_")), None)
    if start is None:
        return {}
    return _table_minutes(_text(_read(start), "markdown"), r"^\| (\d\d) \| [^|]+ \| (\d+) min \|")


def _timing_tables():
    return (
        ("README.md", _readme_minutes()),
        ("docs/instructors.md", _guide_minutes()),
        ("notebooks/00_start_here.ipynb", _start_here_minutes()),
    )


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_starts_with_the_colab_install_cell(path):
    nb = _read(path)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    lines = first_code.source.splitlines()
    assert lines[: len(COLAB_LINES)] == COLAB_LINES, (
        f"{path.name}: the first code cell must start with the Colab install lines\n"
        + "\n".join(COLAB_LINES)
        + f"\nbut starts with\n{first_code.source[:300]}"
    )


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_states_its_estimated_time(path):
    nb = _read(path)
    estimate = _estimate(nb)
    assert estimate, (
        f"{path.name}: the first cell needs a line '**Estimated time:** about N min.' or "
        "'**Estimated time:** about N min (core X min; sections marked *(optional)* take "
        "the rest).'"
    )
    total, core = estimate
    optional = OPTIONAL_HEADING.findall(_text(nb, "markdown"))
    if core is not None:
        assert core < total, f"{path.name}: core {core} min is not less than the total {total} min"
        assert optional, f"{path.name}: it states a core time but has no *(optional)* heading"
    else:
        assert not optional, (
            f"{path.name}: it has *(optional)* sections {optional}, so its estimate must give "
            "the core time too"
        )
    number = int(path.name[:2])
    for where, minutes in _timing_tables():
        if minutes:
            assert minutes.get(number) == total, (
                f"{path.name} says about {total} min, {where}'s table says {minutes.get(number)}"
            )


def test_timing_tables_list_every_lecture():
    numbers = {int(p.name[:2]) for p in LECTURES}
    for where, minutes in _timing_tables():
        assert set(minutes) == numbers, f"{where}'s time table lists {sorted(minutes)}"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_ends_with_further_reading(path):
    nb = _read(path)
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Further reading"), (
        f"{path.name}: the last cell must be a markdown cell starting '## Further reading'"
    )
    text = last.source
    for name in ("Goodfellow", "Bengio", "Courville", "Nielsen"):
        assert name in text, f"{path.name}: Further reading does not name {name}"
    bullets = re.findall(r"^\s*[-*] ", text, re.MULTILINE)
    assert 3 <= len(bullets) <= 6, f"{path.name}: Further reading has {len(bullets)} bullets (3-6)"


def _table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_notation_page_and_notebook_00_agree():
    """docs/notation.md and notebook 00's Notation section carry the same table, row for row."""
    page = _table_rows((ROOT / "docs" / "notation.md").read_text())
    assert len(page) > 20, "docs/notation.md has no notation table"
    (start,) = [p for p in LECTURES if p.name.startswith("00_")]
    cells = [c.source for c in _read(start).cells if c.source.startswith("## Notation")]
    assert cells, f"{start.name} has no '## Notation' section"
    assert _table_rows(cells[0]) == page, "notebook 00's notation table is not docs/notation.md's"
    for symbol in ("$L$", "$K$", "$\\kappa$", "$\\varepsilon$", "$\\delta$", "$u$", "$\\tau$"):
        assert any(row.startswith(f"| {symbol}") for row in page), f"notation: no row for {symbol}"


def _schedules(text):
    """Workshop tables ("| time | what | min |") as lists of (start, end, minutes, what)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("| time | what | min |"):
            current = []
            tables.append(current)
        elif current is not None and line.startswith("|---"):
            continue
        elif current is not None and line.startswith("| "):
            when, what, minutes = (part.strip() for part in line.strip("|").split("|"))
            start, end = (int(h) * 60 + int(m) for h, m in re.findall(r"(\d\d):(\d\d)", when))
            current.append((start, end, int(minutes) if minutes else None, what))
        else:
            current = None
    return tables


@pytest.mark.parametrize("where", ["docs/instructors.md", "notebooks/00_start_here.ipynb"])
def test_workshop_days_fit_six_teaching_hours(where):
    path = ROOT / where
    text = _text(_read(path), "markdown") if path.suffix == ".ipynb" else path.read_text()
    days = _schedules(text)
    # the 1-day plan (also day 1 of the 2-day plan) and day 2 of the 2-day plan
    assert len(days) >= 2, f"{where}: expected two day plans, found {len(days)}"
    for day in days:
        for (start, end, minutes, what), following in zip(day, day[1:] + [None]):
            if minutes is not None:
                assert end - start == minutes, f"{where}: '{what}' lasts {end - start} min"
            if following is not None:
                assert following[0] == end, f"{where}: a gap or overlap after '{what}'"
        teaching = sum(minutes for _, _, minutes, _ in day if minutes)
        assert teaching <= 360, f"{where}: a day has {teaching} teaching minutes (at most 6 hours)"
        breaks = [what for _, _, minutes, what in day if minutes is None]
        assert len(breaks) >= 2, f"{where}: a day needs its breaks in the plan"


def test_instructors_core_times_match_the_notebooks():
    """docs/instructors.md's "core" column: the notebook's core time (its total if none)."""
    guide = (ROOT / "docs" / "instructors.md").read_text()
    rows = re.findall(r"^\| (\d\d) \| [^|]+ \| (\d+) min \| (\d+) min \|", guide, re.MULTILINE)
    assert rows, "docs/instructors.md has no time table with a core column"
    by_number = {int(p.name[:2]): p for p in LECTURES}
    for number, total, core in rows:
        estimate = _estimate(_read(by_number[int(number)]))
        assert estimate, f"notebook {number} states no estimated time"
        expected = estimate[1] if estimate[1] is not None else estimate[0]
        assert int(core) == expected, (
            f"docs/instructors.md: notebook {number} core {core} min, the notebook says {expected}"
        )


# Notation (docs/notation.md): the clashes the course removed must not come back.
NOTATION_CLASHES = {
    "depth is K, not L": (
        r"\$L\$[ -](?:weight )?layers|\$L\$-layer|depth \$L\$|\$l = 1, \\dots, L\$"
    ),
    "the stability limit is 2/lambda_max, not 2/L": r"2\s*/\s*L\b|\\frac\{2\}\{L\}",
    "the condition number is lambda_max/lambda_min": r"\\kappa\s*=\s*L",
    "H is an RNN's hidden size, the Hessian is nabla^2 L": r"Hessian \$H\$|\\mathbf\{H\}",
}


@pytest.mark.parametrize("path", LECTURES + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_prose_follows_the_notation(path):
    problems = []
    for index, cell in enumerate(_read(path).cells):
        if cell.cell_type != "markdown":
            continue
        for rule, pattern in NOTATION_CLASHES.items():
            for match in re.finditer(pattern, cell.source):
                problems.append(f"cell {index}: {rule}: ...{match.group(0)}...")
    assert not problems, f"{path.name} (see docs/notation.md):\n" + "\n".join(problems)
