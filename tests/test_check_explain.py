"""The general diagnosis engine (bpkit/check/_explain.py) on synthetic bugs.

Each test builds the cases a checker would run (inputs, right answer, the learner's
answer) and asks ``explain`` for the one relation that holds in every case.
"""

import numpy as np
import pytest

from bpkit import check
from bpkit.check._explain import Record, explain, shape_relation, simple_number
from tests.checkers import diagnosis


def _cases(n=3, shape=(4, 3), seed=0):
    rng = np.random.default_rng(seed)
    return [
        dict(
            x=rng.normal(size=(shape[0] + i, shape[1])),
            W=rng.normal(size=(shape[0] + i, shape[1])),
        )
        for i in range(n)
    ]


def _records(bug, right=lambda x, W: np.sin(x) * W, reference=False, **extra):
    records = []
    for inputs in _cases():
        want = right(**inputs)

        def ref(**kw):
            return {"out": right(kw["x"], kw["W"])}

        records.append(
            Record(bug(**inputs), want, inputs, {"out": want} | extra, ref if reference else None)
        )
    return records


def test_simple_numbers_are_named():
    assert simple_number(2.0) == "2"
    assert simple_number(0.5) == "1/2"
    assert simple_number(-1.0) == "-1"
    assert simple_number(1.5) == "3/2"
    assert simple_number(0.123456789) is None


@pytest.mark.parametrize(
    "factor, text",
    [(2.0, "2 times the right answer"), (0.5, "divided by 2"), (-1.0, "wrong sign")],
)
def test_a_constant_factor(factor, text):
    message = explain("out", _records(lambda x, W: factor * np.sin(x) * W))
    assert message and text in message, message


def test_a_factor_that_is_a_size_of_the_case_is_named_by_that_size():
    message = explain("out", _records(lambda x, W: np.sin(x) * W / x.shape[0]))
    assert "divided by x.shape[0]" in message, message


def test_a_factor_that_differs_between_cases_is_no_constant_factor():
    records = _records(lambda x, W: np.sin(x) * W * (2.0 if x.shape[0] == 4 else 3.0))
    message = explain("out", records)
    assert message is None or "times the right answer" not in message, message


def test_an_extra_term_proportional_to_an_input():
    message = explain("out", _records(lambda x, W: np.sin(x) * W + W))
    assert "out = (right answer) + W" in message, message
    message = explain("out", _records(lambda x, W: np.sin(x) * W - 0.5 * x))
    assert "out = (right answer) - 1/2·x" in message, message


def test_an_extra_constant():
    message = explain("out", _records(lambda x, W: np.sin(x) * W + 0.25))
    assert "+ 1/4·a constant" in message, message


def test_a_sign_wrong_exactly_where_an_input_is_negative():
    records = _records(lambda x, W: np.sin(x) * W * np.where(x < 0, -1, 1))
    assert explain("out", records) is None  # no exact relation: a region
    message = explain("out", records, weak=True)
    assert "wrong exactly where x < 0" in message and "sign is flipped" in message, message


def test_an_inverted_mask():
    right = lambda x, W: W * (x > 0)
    message = explain("out", _records(lambda x, W: W * (x < 0), right=right), weak=True)
    assert "mask is inverted" in message, message


def test_an_output_in_another_outputs_slot():
    records = _records(lambda x, W: np.cos(x), other=None)
    for r, inputs in zip(records, _cases()):
        r.expect["dW"] = np.cos(inputs["x"])
    message = explain("out", records)
    assert "holds what dW should be" in message, message


def test_a_transposed_square_matrix():
    rng = np.random.default_rng(3)
    records = []
    for n in (3, 4, 5):
        want = rng.normal(size=(n, n))
        records.append(Record(want.T.copy(), want, {}, {}))
    assert "transposed" in explain("dWh", records)


def test_axes_mixed_up_in_three_dimensions():
    rng = np.random.default_rng(4)
    records = []
    for n in (3, 4):
        want = rng.normal(size=(n, 2, n))
        records.append(Record(np.transpose(want, (2, 1, 0)).copy(), want, {}, {}))
    assert "axes" in explain("grad", records)


def test_the_formula_at_a_transformed_input():
    right = lambda x, W: np.exp(0.3 * x) * W
    bug = lambda x, W: np.exp(-0.3 * x) * W
    message = explain("out", _records(bug, right=right, reference=True))
    assert "with -x in place of x" in message, message


def test_an_error_only_near_a_kink():
    def bug(x, W):
        right = np.sin(x) * W
        return np.where(np.abs(x) < 0.3, 0.0, right)

    message = explain("out", _records(bug), weak=True)
    assert "only where |x| is small" in message, message


def test_an_error_only_for_large_values():
    def bug(x, W):
        right = np.sin(x) * W
        return np.where(np.abs(W) > 1.5, right + 1.0, right)

    message = explain("out", _records(bug), weak=True)
    assert "only where |W| is large" in message, message


def test_an_error_only_on_an_interval_of_an_input():
    def bug(x, W):
        right = np.sin(x) * W
        return np.where((x > 0.2) & (x < 0.9), 0.0, right)

    message = explain("out", _records(bug), weak=True)
    assert "is wrong only where" in message and "<= x <=" in message, message


def test_clipping_by_value():
    records = []
    for inputs in _cases():
        g = 3 * inputs["x"]
        want = g * min(1.0, 1.0 / np.linalg.norm(g))
        records.append(Record(np.clip(g, -1.0, 1.0), want, {"g": g, "max_norm": 1.0}, {}))
    assert "clipped entry by entry" in explain("clipped", records)


def test_a_square_too_many_on_numbers():
    records = [Record(v**2, v, {"n": n}, {}) for n, v in [(3, 0.7), (5, 1.3), (8, 2.2)]]
    assert "square of the right answer" in explain("std", records)


def test_a_reduction_over_the_wrong_axis_is_named():
    dout = np.arange(12.0).reshape(4, 3)
    assert shape_relation(dout.sum(axis=1), {"dout": dout}) == "dout.sum(axis=1)"
    assert shape_relation(dout.mean(axis=0), {"dout": dout}) == "dout.mean(axis=0)"


def test_a_wrong_shape_names_both_shapes_and_what_it_is():
    def linear_backward(dout, x, W, b):
        return dout @ W.T, x.T @ dout, dout.sum(axis=1)

    message = diagnosis(check.linear_backward, linear_backward)
    assert "(4,)" in message and "(3,)" in message, message


def test_random_noise_gets_no_structural_story():
    rng = np.random.default_rng(9)
    records = [
        Record(rng.normal(size=(4, 3)), w, {"x": rng.normal(size=(4, 3))}, {})
        for w in rng.normal(size=(3, 4, 3))
    ]
    assert explain("out", records) is None
    assert explain("out", records, weak=True) is None


def test_through_a_checker_the_relation_must_hold_in_every_case():
    # db = 2 * a * dout: with dout = 0.5 somewhere this once looked like "forgot dout".
    message = diagnosis(check.value_mul_backward, lambda a, b, dout: (b * dout, 2 * a * dout))
    assert "forgot" not in message, message
    assert "db is 2 times the right answer" in message, message


def test_a_wrongly_shaped_output_that_is_another_output_says_so():
    def rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b):
        h = np.tanh(x @ Wx + h_prev @ Wh + b)
        da = dh_next * (1 - h**2)
        return da @ Wh.T, da @ Wx.T, x.T @ da, h_prev.T @ da, da.sum(0)  # dx and dh_prev swapped

    message = diagnosis(check.rnn_step_backward, rnn_step_backward)
    assert "swapped" in message or "what dh_prev should be" in message, message


def test_a_wrongly_shaped_gradient_that_is_the_other_gradient():
    def linear_backward(dout, x, W, b):
        return dout @ W.T, dout.sum(0), dout.sum(0)  # db in dW's slot

    message = diagnosis(check.linear_backward, linear_backward)
    assert "it is what db should be" in message, message


def test_the_complement_of_the_answer_within_an_input():
    right = lambda x, W: W * (x > 0.3)
    message = explain("out", _records(lambda x, W: W * (x <= 0.3), right=right))
    assert "out + (right answer) = W" in message and "inverted" in message, message
