"""The solution notebooks work with nbgrader itself (optional: skipped without nbgrader).

docs/instructors.md tells instructors to drop solutions/ into nbgrader. These
tests run nbgrader's own preprocessors on every solution notebook: its
metadata check must accept the cells, and ClearSolutions + ClearHiddenTests
must give the same cell sources as our generated exercises/.
"""

from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, ClearSolutions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_nbgrader_accepts_the_metadata_and_makes_our_student_cells(path):
    nb = nbformat.read(path, as_version=4)
    nb, resources = CheckCellMetadata().preprocess(nb, {})
    nb, resources = ClearSolutions().preprocess(nb, resources)
    nb, resources = ClearHiddenTests().preprocess(nb, resources)
    ours = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        (c.cell_type, c.source) for c in ours.cells
    ]
