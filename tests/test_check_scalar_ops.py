"""check.value_div (set 02): a new op of the scalar engine, written as one node."""

import pytest

from bpkit import Value, check
from tests.checkers import assert_passes, diagnosis


def _node(da=lambda a, b: 1 / b, db=lambda a, b: -a / b**2, data=lambda a, b: a / b, order="ab"):
    def value_div(a, b):
        parents = (a, b) if order == "ab" else (b, a)
        return Value(data(a.data, b.data), parents, (da(a.data, b.data), db(a.data, b.data)), "/")

    return value_div


def test_right_answers_pass(capsys):
    assert_passes(check.value_div, _node(), capsys)
    assert_passes(check.value_div, _node(db=lambda a, b: -(a / b) / b), capsys)

    def with_a_list_and_ints(a, b):
        inv = 1 / b.data
        return Value(a.data * inv, [a, b], [inv, -a.data * inv * inv], "div")

    assert_passes(check.value_div, with_a_list_and_ints, capsys)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_node(da=lambda a, b: -a / b**2, db=lambda a, b: 1 / b), "swapped"),
        (_node(db=lambda a, b: a / b**2), "dz/db has the wrong sign"),
        (_node(db=lambda a, b: -a / b), "missing a factor 1/b"),
        (_node(da=lambda a, b: b, db=lambda a, b: a), "product's local derivatives"),
    ],
    ids=["swapped", "sign", "no-square", "product-rule"],
)
def test_catalogue(fn, fragment):
    assert fragment in diagnosis(check.value_div, fn)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_node(db=lambda a, b: -1 / b**2), "divided by a"),
        (_node(data=lambda a, b: b / a), "1 over the right answer"),
        (_node(da=lambda a, b: -1 / b, db=lambda a, b: a / b**2), "wrong sign"),
        (lambda a, b: a / b, "not with bpkit's own a / b"),
        (lambda a, b: a * b ** -1.0, "not with bpkit's own a / b"),
        (_node(order="ba"), "parents are in the wrong order"),
        (lambda a, b: a.data / b.data, "returned a float"),
    ],
    ids=["forgot-a", "b-over-a", "both-signs", "bpkit-div", "bpkit-pow", "parents", "float"],
)
def test_unseen_bugs_get_a_specific_explanation(fn, fragment):
    message = diagnosis(check.value_div, fn)
    assert fragment in message, message
    assert "max error" not in message


def test_a_chain_of_nodes_is_refused():
    def chain(a, b):
        inv = Value(1 / b.data, (b,), (-1 / b.data**2,), "inv")
        return a * inv

    assert "not ONE node with parents (a, b)" in diagnosis(check.value_div, chain)


def test_a_wrong_value_is_named():
    message = diagnosis(check.value_div, _node(data=lambda a, b: a / b + 1.0))
    assert message.startswith("value_div: z"), message


def test_first_failure_hides_the_formula():
    message = diagnosis(check.value_div, _node(db=lambda a, b: -a / b))
    assert "-a / b**2" not in message
