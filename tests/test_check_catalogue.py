"""Every checker's catalogue of known bugs, over its cases: no two bugs look alike.

A catalogue bug is named only when it explains every case, so two bugs that
return the same values in every case could never be told apart; and a case where
a bug happens to equal twice or half the right answer (dout = 0.5 with a factor 2)
invites a wrong diagnosis. The cases are collected by running each checker with
``Exercise.case`` replaced: it records the right answers and the bugs and returns
the right answers, so no learner function is needed.
"""

import itertools

import numpy as np
import pytest

from bpkit import check
from bpkit.check import _core
from bpkit.check._core import _twin
from bpkit.check._explain import flat


def _catalogues():
    found = {}

    def recording_case(self, inputs, expect, bugs=(), **kwargs):
        if not isinstance(expect, dict):
            expect = {self.returns[0]: expect}
        self.cases += 1
        found.setdefault(self.name, []).append((expect, list(bugs)))
        return tuple(expect.get(out) for out in self.returns)

    original = _core.Exercise.case
    _core.Exercise.case = recording_case
    try:
        for name in check.__all__[1:]:
            try:
                getattr(check, name)(lambda *args, **kwargs: None)
            except (AssertionError, NotImplementedError):
                pass  # checkers that do not go through Exercise.case: no catalogue here
    finally:
        _core.Exercise.case = original
    return found


CATALOGUES = _catalogues()


def _same(a, b):
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape != b.shape:
        return False
    try:
        a, b = flat(a), flat(b)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def _variants(cases):
    """[(message, [bug or None per case])]: each catalogue bug, followed through the cases."""
    firsts = []
    for _, bugs in cases:
        for bug in bugs:
            if not any(_twin(first, at, bugs) is bug for first, at in firsts):
                firsts.append((bug, bugs.index(bug)))
    return [
        (first.message[:60], [_twin(first, at, bugs) for _, bugs in cases]) for first, at in firsts
    ]


def test_the_checkers_with_catalogues_are_all_collected():
    assert {"linear_backward", "value_mul_backward", "adam_step", "accuracy"} <= set(CATALOGUES)


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_no_two_catalogue_bugs_are_indistinguishable_over_the_cases(name):
    cases = CATALOGUES[name]
    for (m1, b1), (m2, b2) in itertools.combinations(_variants(cases), 2):
        both = [(x, y) for x, y in zip(b1, b2) if x is not None and y is not None]
        if not both or set(both[0][0].values) != set(both[0][1].values):
            continue
        alike = all(all(_same(x.values[o], y.values[o]) for o in x.values) for x, y in both)
        assert not alike, f"{name}: {m1!r} and {m2!r} return the same in every case"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_catalogue_bug_differs_from_the_right_answer_in_some_case(name):
    cases = CATALOGUES[name]
    for message, bugs in _variants(cases):
        differs = any(
            bug is not None and any(not _same(v, expect[o]) for o, v in bug.values.items())
            for (expect, _), bug in zip(cases, bugs)
        )
        assert differs, f"{name}: {message!r} is the right answer in every case"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_no_case_makes_a_bug_look_like_a_factor_of_two(name):
    """The value_mul_backward trap: db = a (forgot dout) equals 2 * a * dout when dout = 0.5.

    A bug that is twice (or half) the answer in EVERY case where it differs is that
    factor by its nature ("forgot the 2"); one that is so only in some cases is a
    coincidence of those cases.
    """
    cases = CATALOGUES[name]
    for message, bugs in _variants(cases):
        outputs = {o for bug in bugs if bug is not None for o in bug.values}
        for out, factor in itertools.product(sorted(outputs), (2.0, 0.5)):
            hits = []
            for (expect, _), bug in zip(cases, bugs):
                if bug is None or out not in bug.values or out not in expect:
                    continue
                value = bug.values[out]
                if _same(value, expect[out]):
                    continue
                try:
                    scaled = factor * flat(expect[out])
                except (TypeError, ValueError):
                    continue
                hits.append(_same(value, scaled))
            assert all(hits) or not any(hits), (
                f"{name}: {message!r} is {factor:g} x the answer in some cases only"
            )
