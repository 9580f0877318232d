"""Numbers in prose come from outputs: every registered claim must match its neighbouring output.

A markdown cell that quotes a measured number registers it in its metadata:

    "metadata": {"bpkit": {"claims": [
        {"text": "about $10^7$", "pattern": "ratio = ([0-9.e+-]+)", "min": 3e6, "max": 3e7}]}}

For every claim this test checks that

- ``text`` is a substring of the markdown cell's source (the prose still says it);
- ``pattern`` is a Python regex with exactly one capture group, and it matches the text output
  (stdout streams and text/plain results) of at least one of the 3 code cells before and the 3
  code cells after the markdown cell;
- ``float(group)`` of that match lies in ``[min, max]`` (for at least one matching cell, the
  first match in each cell's output is taken; thousands separators ``,``/``_`` are ignored).

It reads the committed JSON only (nothing is executed): nbval checks separately that the stored
outputs are what the code prints, so together they tie the prose to a reproducible run.
"""

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")
)
WINDOW = 3  # code cells on each side of the markdown cell whose outputs may support a claim
MUST_CARRY_CLAIMS = ("04", "06", "08", "09")  # lectures that quote measured numbers (issue 9)


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _joined(text):
    return "".join(text) if isinstance(text, list) else (text or "")


def output_text(cell):
    """A code cell's text output: its stdout streams and text/plain results, in order."""
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(_joined(out.get("text")))
        elif kind in ("execute_result", "display_data"):
            parts.append(_joined(out.get("data", {}).get("text/plain")))
    return "\n".join(parts)


def claims_of(cell):
    """The claims registered on a cell (``metadata.bpkit.claims``), or []."""
    return (cell.get("metadata", {}).get("bpkit") or {}).get("claims") or []


def _neighbours(cells, index):
    """Indices of the WINDOW code cells before and the WINDOW code cells after ``cells[index]``."""
    before = [j for j in range(index - 1, -1, -1) if cells[j].get("cell_type") == "code"]
    after = [j for j in range(index + 1, len(cells)) if cells[j].get("cell_type") == "code"]
    return sorted(before[:WINDOW]) + after[:WINDOW]


def _number(text):
    return float(text.replace(",", "").replace("_", "").replace("\N{MINUS SIGN}", "-"))


def _check_claim(cells, index, claim, where):
    """One failure message (str) if the claim does not hold, else None."""
    if not isinstance(claim, dict):
        return f"{where}: a claim must be an object with text, pattern, min, max; got {claim!r}"
    missing = [key for key in ("text", "pattern", "min", "max") if key not in claim]
    text = claim.get("text")
    label = f"{where}: claim {text!r}"
    if missing:
        return f"{label}: missing key(s) {', '.join(missing)}"
    if not isinstance(text, str) or not text.strip():
        return f"{label}: 'text' must be a non-empty string"
    if text not in _source(cells[index]):
        return f"{label}: the text is not in the cell's source any more (prose edited?)"
    low, high = claim["min"], claim["max"]
    numeric = (int, float)
    if not all(isinstance(v, numeric) and not isinstance(v, bool) for v in (low, high)):
        return f"{label}: min and max must be numbers, got {low!r} and {high!r}"
    if not low <= high:
        return f"{label}: min {low:g} is larger than max {high:g}"
    try:
        pattern = re.compile(claim["pattern"])
    except (re.error, TypeError) as exc:
        return f"{label}: pattern {claim['pattern']!r} is not a valid regex ({exc})"
    if pattern.groups != 1:
        return f"{label}: pattern {pattern.pattern!r} has {pattern.groups} groups, needs exactly 1"
    neighbours = _neighbours(cells, index)
    found = []  # (cell index, matched text, value or None)
    for j in neighbours:
        match = pattern.search(output_text(cells[j]))
        if match is None:
            continue
        try:
            value = _number(match.group(1))
        except (TypeError, ValueError):
            value = None
        if value is not None and math.isfinite(value) and low <= value <= high:
            return None
        found.append((j, match.group(0), value, match.group(1)))
    if not found:
        return (
            f"{label}: pattern {pattern.pattern!r} matches no text output of code cells "
            f"{neighbours} (the {WINDOW} code cells before and after)"
        )
    details = "; ".join(
        f"cell {j} printed {matched!r}: "
        + (f"{value:g}" if value is not None else f"{group!r} is not a number")
        for j, matched, value, group in found
    )
    return f"{label}: the number found is outside [{low:g}, {high:g}]: {details}"


def claim_failures(nb, name):
    """Every failed claim of a notebook (a parsed .ipynb dict) as a readable message."""
    cells = nb.get("cells", [])
    failures = []
    for index, cell in enumerate(cells):
        claims = claims_of(cell)
        if not claims:
            continue
        if cell.get("cell_type") != "markdown":
            failures.append(f"{name} cell {index}: claims belong on markdown cells")
            continue
        if not isinstance(claims, list):
            failures.append(f"{name} cell {index}: metadata.bpkit.claims must be a list")
            continue
        for claim in claims:
            failure = _check_claim(cells, index, claim, f"{name} cell {index}")
            if failure:
                failures.append(failure)
    return failures


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _id(path):
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_prose_numbers_match_the_outputs(path):
    failures = claim_failures(_load(path), _id(path))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("number", MUST_CARRY_CLAIMS)
def test_notebooks_that_quote_measurements_register_claims(number):
    (path,) = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    count = sum(len(claims_of(cell)) for cell in _load(path)["cells"])
    assert count >= 2, (
        f"notebooks/{path.name} registers {count} claim(s) in metadata.bpkit.claims; "
        "it quotes measured numbers, so register at least 2"
    )


# --- the machinery itself: it must be able to fail -------------------------------------------


def _md(source, claims=None):
    cell = {"cell_type": "markdown", "metadata": {}, "source": source}
    if claims is not None:
        cell["metadata"] = {"bpkit": {"claims": claims}}
    return cell


def _code(*printed, result=None):
    outputs = [{"output_type": "stream", "name": "stdout", "text": text} for text in printed]
    if result is not None:
        outputs.append(
            {
                "output_type": "execute_result",
                "data": {"text/plain": result},
                "metadata": {},
                "execution_count": 1,
            }
        )
    return {"cell_type": "code", "metadata": {}, "source": "", "outputs": outputs}


CLAIM = {"text": "about $10^7$", "pattern": r"ratio = ([0-9.e+-]+)", "min": 3e6, "max": 3e7}


def _nb(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_a_claim_supported_by_its_output_passes():
    nb = _nb(_code("ratio = 1.02e+07\n"), _md("The ratio is about $10^7$.", [CLAIM]))
    assert claim_failures(nb, "toy.ipynb") == []


def test_an_out_of_range_number_is_reported_with_everything_needed_to_fix_it():
    nb = _nb(
        _md("# toy"),
        _code("ratio = 8.1e+05\n"),
        _md("The ratio is about $10^7$.", [CLAIM]),
    )
    (failure,) = claim_failures(nb, "toy.ipynb")
    for piece in ("toy.ipynb", "cell 2", "'about $10^7$'", "810000", "[3e+06, 3e+07]", "cell 1"):
        assert piece in failure, (piece, failure)


def test_prose_that_no_longer_says_the_claim_is_reported():
    nb = _nb(_code("ratio = 1e7\n"), _md("The ratio is about a million.", [CLAIM]))
    (failure,) = claim_failures(nb, "toy.ipynb")
    assert "not in the cell's source" in failure


def test_a_pattern_that_matches_nothing_is_reported():
    nb = _nb(_code("speed-up = 1e7\n"), _md("about $10^7$", [CLAIM]))
    (failure,) = claim_failures(nb, "toy.ipynb")
    assert "matches no text output of code cells [0]" in failure


@pytest.mark.parametrize("pattern", [r"ratio = [0-9.e+-]+", r"(ratio) = ([0-9.e+-]+)"])
def test_a_pattern_needs_exactly_one_group(pattern):
    nb = _nb(_code("ratio = 1e7\n"), _md("about $10^7$", [{**CLAIM, "pattern": pattern}]))
    (failure,) = claim_failures(nb, "toy.ipynb")
    assert "needs exactly 1" in failure


def test_only_the_three_code_cells_on_each_side_count():
    far = [_code("ratio = 1e7\n")] + [_code("nothing\n") for _ in range(3)]
    nb = _nb(*far, _md("about $10^7$", [CLAIM]))
    (failure,) = claim_failures(nb, "toy.ipynb")
    assert "code cells [1, 2, 3]" in failure
    # markdown cells in between do not use up the window; code cells after the claim count too
    nb = _nb(_md("intro"), _md("about $10^7$", [CLAIM]), _md("more"), _code(result="ratio = 2e7"))
    assert claim_failures(nb, "toy.ipynb") == []


def test_stderr_is_not_an_output_a_claim_can_rest_on():
    cell = _code()
    cell["outputs"] = [{"output_type": "stream", "name": "stderr", "text": "ratio = 1e7\n"}]
    (failure,) = claim_failures(_nb(cell, _md("about $10^7$", [CLAIM])), "toy.ipynb")
    assert "matches no text output" in failure


def test_malformed_claims_are_reported():
    nb = _nb(
        _code("ratio = 1e7\n"),
        _md("about $10^7$", [{"text": "about $10^7$", "pattern": "ratio = (.*)"}]),
        _md("about $10^7$", [{**CLAIM, "min": 5e7}]),
        _code("ratio = n/a\n"),
    )
    failures = claim_failures(nb, "toy.ipynb")
    assert any("missing key(s) min, max" in f for f in failures), failures
    assert any("min 5e+07 is larger than max 3e+07" in f for f in failures), failures


def test_an_unparsable_number_is_reported_not_crashed_on():
    claim = {**CLAIM, "pattern": r"ratio = (\S+)"}
    nb = _nb(_code("ratio = n/a\n"), _md("about $10^7$", [claim]))
    (failure,) = claim_failures(nb, "toy.ipynb")
    assert "'n/a' is not a number" in failure
