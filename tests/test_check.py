"""bpkit.check machinery: time limits, exceptions, garbage returns, tracebacks, Jupyter.

The per-checker bug catalogues are tested in test_check_layers.py,
test_check_training.py and test_check_calculus.py.
"""

import inspect
import signal
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit import Value, check
from bpkit.check import ExerciseFailed, _core
from tests.checkers import GARBAGE, diagnosis


@pytest.fixture
def short_time_limit(monkeypatch):
    monkeypatch.setattr(_core, "TIME_LIMIT", 0.2)


def test_exercise_failed_is_an_assertion_error():
    assert issubclass(ExerciseFailed, AssertionError)


@pytest.mark.parametrize("name", [n for n in check.__all__ if n != "ExerciseFailed"])
def test_every_checker_documents_the_signature_it_expects(name):
    checker = getattr(check, name)
    doc = inspect.getdoc(checker)
    assert doc and name.split("_number")[0] in doc.splitlines()[0], doc
    assert "Recognises" in doc, f"{name}: list the bugs it recognises"


# --- a learner's function that raises -------------------------------------------------------------
def test_an_exception_shows_its_type_message_and_the_learners_line():
    def relu_backward(dout, x):
        mask = x > 0
        return dout * mask[:, :2]  # a slicing slip

    message = diagnosis(check.relu_backward, relu_backward)
    assert "raised ValueError" in message
    assert "could not be broadcast" in message
    assert "in relu_backward(), line" in message
    assert "return dout * mask[:, :2]" in message
    assert "case 1: dout (4, 6), x (4, 6)" in message


def test_an_exception_inside_numpy_points_at_the_learners_line_not_numpy():
    def linear_backward(dout, x, W, b):
        return np.dot(dout, W), x.T @ dout, dout.sum(0)

    message = diagnosis(check.linear_backward, linear_backward)
    assert "np.dot(dout, W)" in message


def test_not_answered_yet_stays_a_not_implemented_error():
    def relu_backward(dout, x):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError, match="not answered yet") as info:
        check.relu_backward(relu_backward)
    assert not isinstance(info.value, ExerciseFailed)


def test_a_wrong_signature_is_named():
    message = diagnosis(check.linear_backward, lambda dout, x, W: None)
    assert "could not be called" in message
    assert "linear_backward(dout, x, W, b) -> (dx, dW, db)" in message


def test_passing_the_result_instead_of_the_function_is_explained():
    message = diagnosis(check.relu_backward, None)
    assert "expected your function" in message and "drop the parentheses" in message


# --- time limit -----------------------------------------------------------------------------------
def test_an_infinite_loop_is_stopped_at_the_time_limit(short_time_limit):
    def relu_backward(dout, x):
        while True:
            pass

    start = time.monotonic()
    message = diagnosis(check.relu_backward, relu_backward)
    assert time.monotonic() - start < 1.0
    assert "did not finish within 0.2 s" in message


def test_an_infinite_loop_that_swallows_exceptions_is_still_stopped(short_time_limit):
    def relu_backward(dout, x):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # a learner's over-broad except must not hide the time limit
                pass

    assert "did not finish" in diagnosis(check.relu_backward, relu_backward)


def test_the_alarm_is_put_back_as_it_was(short_time_limit):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        diagnosis(check.relu_backward, lambda dout, x: time.sleep(5))
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_the_time_limit_works_off_the_main_thread(short_time_limit):
    # Off the main thread there are no signals: the learner's code runs in a worker
    # thread that is asked to stop.
    outcome = {}
    loops = []

    def relu_backward(dout, x):
        loops.append(threading.current_thread())
        while True:
            pass

    def run():
        try:
            check.relu_backward(relu_backward)
        except ExerciseFailed as failure:
            outcome["message"] = str(failure)

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(5)
    assert "did not finish within 0.2 s" in outcome["message"]
    loops[0].join(2)
    assert not loops[0].is_alive(), "the runaway worker thread was not stopped"


# --- garbage back ---------------------------------------------------------------------------------
def test_nan_returns_are_named():
    message = diagnosis(check.xavier_std, lambda fan_in, fan_out: float("nan"))
    assert "std contains NaN" in message


@pytest.mark.parametrize("loss", [0.25, np.float64(0.25), np.array(0.25)], ids=type)
def test_a_loss_returned_beside_the_gradient_is_named(loss):
    def mse_backward(y_hat, y):
        return loss, 2 * (y_hat - y) / y_hat.size

    message = diagnosis(check.mse_backward, mse_backward)
    assert "return only dy_hat, not (loss, dy_hat)" in message
    assert "trailing comma" not in message


def test_a_case_can_explain_an_exception_better_than_the_general_hint():
    def deep(n):
        return deep(n + 1)

    with pytest.raises(ExerciseFailed) as info:
        _core.call_student("demo", deep, (0,), hints={"RecursionError": "this case is deep"})
    assert "raised RecursionError" in str(info.value)
    assert "hint: this case is deep." in str(info.value)
    with pytest.raises(ExerciseFailed) as info:
        _core.call_student("demo", deep, (0,))
    assert "recursion limit" in str(info.value)


def test_a_value_input_is_named_by_its_label():
    assert _core.shape_text(Value(1.0, label="root")) == "Value 'root'"
    assert _core.shape_text(Value(1.0)) == "Value"


def test_a_tiny_number_whose_inverse_overflows_is_diagnosed_not_a_crash():
    # 1 / 2.2e-311 is inf: the "simple ratio" test must not call round(inf). Found by hypothesis.
    message = diagnosis(check.xavier_std, lambda fan_in, fan_out: 2.225073858507e-311)
    assert "std is wrong" in message and "the checker itself failed" not in message


def test_a_tuple_instead_of_a_list_of_three_is_named():
    message = diagnosis(check.batchnorm_backward, lambda dout, x, gamma, eps=1e-5: (dout, gamma))
    assert "returned 2 values; expected 3" in message


@pytest.mark.parametrize("name", [n for n in check.__all__ if n != "ExerciseFailed"])
@settings(max_examples=25, deadline=None)
@given(items=st.lists(GARBAGE, min_size=0, max_size=6), as_tuple=st.booleans())
def test_any_garbage_gets_an_exercise_failed_never_a_crash(name, items, as_tuple):
    # Every checker, fed answers of every wrong type and shape: a diagnosis, never a crash.
    answer = tuple(items) if as_tuple else (items[0] if items else None)
    with pytest.raises(ExerciseFailed) as info:
        getattr(check, name)(lambda *args, **kwargs: answer)
    assert "the checker itself failed" not in str(info.value), str(info.value)


# --- what the learner sees ------------------------------------------------------------------------
def test_the_traceback_stops_at_the_checker():
    with pytest.raises(ExerciseFailed) as info:
        check.linear_backward(lambda dout, x, W, b: (dout, dout, dout))
    inside = [e.name for e in info.traceback if "bpkit/check" in str(e.path).replace("\\", "/")]
    assert inside == ["run"]  # only the wrapper's one line, not the checker's machinery


def test_a_pass_prints_one_line(capsys):
    check.relu_backward(lambda dout, x: dout * (x > 0))
    assert capsys.readouterr().out == "✓ relu_backward: correct on 3 cases (dx matches to 1e-8)\n"


LOOP_CELL = """\
def relu_backward(dout, x):
    while True:
        pass
check.relu_backward(relu_backward)"""


def test_in_a_jupyter_kernel_a_timeout_fails_the_cell_and_the_kernel_lives_on():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "from bpkit import check\nimport bpkit.check._core as core\ncore.TIME_LIMIT = 0.3",
        LOOP_CELL,
        "check.relu_backward(lambda dout, x: dout * (x > 0))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    error = nb.cells[1].outputs[-1]
    assert error.output_type == "error" and error.ename == "ExerciseFailed"
    assert "did not finish within 0.3 s" in error.evalue
    assert nb.cells[2].outputs[0].text.startswith("✓ relu_backward: correct")
