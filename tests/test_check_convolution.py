"""check.conv2d_forward_naive, max_pool_backward, conv2d_backward, conv2d_input_grad (set 13).

For each checker: the right answer (and equivalent forms) passes, every catalogue bug is
named, bugs outside the catalogue get a specific (not the generic "max error") message,
the first failure hides the formula, and the two questions accept the right answers.
"""

import numpy as np
import pytest
from hypothesis import given, settings

from bpkit import check
from bpkit.check import ExerciseFailed, reset_attempts
from bpkit.check.convolution import _pool_variant
from bpkit.functional import conv2d
from tests.checkers import GARBAGE, assert_passes, diagnosis


def _pad(x, p, where="both"):
    if where == "br":
        return np.pad(x, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p)))
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


# --- conv2d_forward_naive -------------------------------------------------------------------
def _forward(flip=False, bias=1, strided=True, pad="both", plus1=True, sign=1, layout="nfhw"):
    """The loop definition, with one mistake switched on."""

    def conv2d_forward_naive(x, w, b, stride, padding):
        N, C, H, W = x.shape
        F, _, KH, KW = w.shape
        s, p = stride, padding
        xp = x if pad == "none" else _pad(x, p, pad)
        q = 0 if pad == "none" else p
        OH = (H + 2 * q - KH) // s + (1 if plus1 else 0)
        OW = (W + 2 * q - KW) // s + (1 if plus1 else 0)
        ww = w[:, :, ::-1, ::-1] if flip else w
        t = s if strided else 1
        out = np.zeros((N, F, OH, OW))
        for n in range(N):
            for f in range(F):
                for i in range(OH):
                    for j in range(OW):
                        window = xp[n, :, t * i : t * i + KH, t * j : t * j + KW]
                        out[n, f, i, j] = sign * np.sum(window * ww[f]) + bias * b[f]
        return out.transpose(0, 2, 3, 1) if layout == "nhwf" else out

    return conv2d_forward_naive


def _forward_im2col(x, w, b, stride, padding):
    """An equivalent answer: windows by sliding_window_view, one einsum."""
    from numpy.lib.stride_tricks import sliding_window_view

    F, C, KH, KW = w.shape
    xp = _pad(x, padding)
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncijuv,fcuv->nfij", win, w) + b[:, None, None]


def test_forward_right_answers_pass(capsys):
    assert_passes(check.conv2d_forward_naive, _forward(), capsys)
    assert_passes(check.conv2d_forward_naive, _forward_im2col, capsys)
    bpkit_conv = lambda x, w, b, s, p: conv2d(x, w, b, stride=s, padding=p).data  # noqa: E731
    assert_passes(check.conv2d_forward_naive, bpkit_conv, capsys)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_forward(flip=True), "kernel FLIPPED"),
        (_forward(bias=0), "except for the bias"),
        (_forward(strided=False), "windows start 1 apart"),
        (_forward(pad="br"), "all at the bottom and right"),
        (_forward(pad="none"), "(the padding is left out of the size)"),
        (_forward(plus1=False), "the +1 for the first window is missing"),
    ],
    ids=["flipped", "no-bias", "stride-1", "pad-one-side", "no-padding", "no-plus-1"],
)
def test_forward_catalogue(fn, fragment):
    assert fragment in diagnosis(check.conv2d_forward_naive, fn)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_forward(sign=-1), "with -x in place of x"),
        (_forward(bias=2), "with 2 b in place of b"),
        (_forward(layout="nhwf"), "first two axes must be (N, F)"),
        (lambda x, w, b, s, p: _forward()(x, w, b, s, p).astype(np.float32), "float32"),
    ],
    ids=["sign", "bias-twice", "channels-last", "float32"],
)
def test_forward_unseen_bugs_are_explained(fn, fragment):
    message = diagnosis(check.conv2d_forward_naive, fn)
    assert fragment in message, message
    assert "max error" not in message


def test_forward_shape_message_names_the_size_formula_only_after_reveal():
    first = diagnosis(check.conv2d_forward_naive, _forward(pad="none"))
    assert "// s + 1" not in first and "output size is off" in first
    reset_attempts()
    with pytest.raises(ExerciseFailed) as info:
        check.conv2d_forward_naive(_forward(pad="none"), reveal=True)
    assert "OH = (H + 2p - KH) // s + 1" in str(info.value)


# --- max_pool_backward ----------------------------------------------------------------------
def _pool(mode):
    return lambda dout, x, k, stride: _pool_variant(dout, x, k, stride, mode)


def _pool_vectorised(dout, x, k, stride):
    """An equivalent answer: argmax per window, np.add.at."""
    from numpy.lib.stride_tricks import sliding_window_view

    N, C, OH, OW = dout.shape
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :OH, :OW]
    a, b = np.divmod(win.reshape(N, C, OH, OW, k * k).argmax(-1), k)
    rows = np.arange(OH)[:, None] * stride + a
    cols = np.arange(OW)[None, :] * stride + b
    dx = np.zeros_like(x)
    n, c = np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None]
    np.add.at(dx, (n, c, rows, cols), dout)
    return dx


def test_pool_right_answers_pass(capsys):
    assert_passes(check.max_pool_backward, _pool("right"), capsys)
    assert_passes(check.max_pool_backward, _pool_vectorised, capsys)


@pytest.mark.parametrize(
    "mode, fragment",
    [
        ("average", "AVERAGE-pooling"),
        ("copy", "full dout to EVERY entry"),
        ("ties", "gave dout to EACH of them"),
        ("split", "split dout among the tied"),
        ("last", "LAST of the tied"),
        ("assign", "add (+=), do not assign (=)"),
        ("kstep", "start k apart, not stride apart"),
    ],
)
def test_pool_catalogue(mode, fragment):
    assert fragment in diagnosis(check.max_pool_backward, _pool(mode))


def _pool_argmin(dout, x, k, stride):
    return _pool_variant(dout, -x, k, stride, "right")


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_pool_argmin, "with -x in place of x"),
        (lambda d, x, k, s: -_pool_variant(d, x, k, s, "right"), "wrong sign"),
        (lambda d, x, k, s: x * _pool_variant(d, x, k, s, "right"), "times x"),
        (lambda d, x, k, s: d.copy(), "it must have x's shape"),
    ],
    ids=["argmin", "sign", "times-x", "dout-shape"],
)
def test_pool_unseen_bugs_are_explained(fn, fragment):
    message = diagnosis(check.max_pool_backward, fn)
    assert fragment in message, message
    assert "max error" not in message


# --- conv2d_backward ------------------------------------------------------------------------
def _backward(
    flip_dx=False, flip_dw=False, strided=True, crop="both", db="sum", dw_n="all", sign=1, extra=0
):
    """The scatter form of the backward pass, with one mistake switched on."""

    def conv2d_backward(dout, x, w, stride, padding):
        N, C, H, W = x.shape
        F, _, KH, KW = w.shape
        s, p = stride, padding
        OH, OW = dout.shape[2:]
        xp = _pad(x, p)
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        wx = w[:, :, ::-1, ::-1] if flip_dx else w
        t = s if strided else 1
        m = 1 if dw_n == "first" else N
        for i in range(OH):
            for j in range(OW):
                r, c = slice(t * i, t * i + KH), slice(t * j, t * j + KW)
                g = dout[:, :, i, j]
                dw += np.einsum("nf,ncuv->fcuv", g[:m], xp[:m, :, r, c])
                dxp[:, :, r, c] += sign * np.einsum("nf,fcuv->ncuv", g, wx)
        if flip_dw:
            dw = dw[:, :, ::-1, ::-1]
        if dw_n == "mean":
            dw = dw / N
        dw = dw + extra * w
        sums = {"sum": (0, 2, 3), "spatial": (2, 3)}
        db_ = dout.mean(axis=(0, 2, 3)) if db == "mean" else dout.sum(axis=sums[db])
        if crop == "tl":
            dx = dxp[:, :, :H, :W]
        elif crop == "none":
            dx = dxp
        else:
            dx = dxp[:, :, p : p + H, p : p + W]
        return dx, dw, db_

    return conv2d_backward


def _backward_by_convolutions(dout, x, w, stride, padding):
    """An equivalent answer, the lecture's: dilate, pad, correlate with the flipped kernel."""
    F, C, KH, KW = w.shape
    N, _, OH, OW = dout.shape
    s, p = stride, padding
    g = np.zeros((N, F, (OH - 1) * s + 1, (OW - 1) * s + 1))
    g[:, :, ::s, ::s] = dout
    xp = _pad(x, p)
    dw = conv2d(xp.transpose(1, 0, 2, 3), g.transpose(1, 0, 2, 3)).data.transpose(1, 0, 2, 3)
    dw = dw[:, :, :KH, :KW]
    full = np.pad(g, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    core = conv2d(full, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).data
    dxp = np.zeros(xp.shape)
    dxp[:, :, : core.shape[2], : core.shape[3]] = core
    return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]], dw, np.einsum("nfij->f", dout)


def test_backward_right_answers_pass(capsys):
    assert_passes(check.conv2d_backward, _backward(), capsys)
    assert_passes(check.conv2d_backward, _backward_by_convolutions, capsys)
    as_list = lambda *args: list(_backward()(*args))  # noqa: E731
    assert_passes(check.conv2d_backward, as_list, capsys)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_backward(flip_dx=True), "the kernel must be FLIPPED"),
        (_backward(flip_dw=True), "dw is flipped in both spatial axes"),
        (_backward(strided=False), "the stride is missing on the way back"),
        (_backward(crop="tl"), "cut from the top-left corner"),
        (_backward(crop="none"), "PADDED input's shape"),
        (_backward(db="spatial"), "db has shape (2, 4)"),
        (_backward(dw_n="first"), "first example's contribution only"),
    ],
    ids=["unflipped", "dw-flipped", "stride-1", "crop-one-side", "no-crop", "db-shape", "dw-n0"],
)
def test_backward_catalogue(fn, fragment):
    assert fragment in diagnosis(check.conv2d_backward, fn)


def _backward_assigned(which):
    def conv2d_backward(dout, x, w, s, p):
        N, C, H, W = x.shape
        F, _, KH, KW = w.shape
        xp = _pad(x, p)
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                r, c = slice(s * i, s * i + KH), slice(s * j, s * j + KW)
                g = dout[:, :, i, j]
                t = np.einsum("nf,ncuv->fcuv", g, xp[:, :, r, c])
                dw = t if which == "dw" else dw + t
                v = np.einsum("nf,fcuv->ncuv", g, w)
                if which == "dx":
                    dxp[:, :, r, c] = v
                else:
                    dxp[:, :, r, c] += v
        return dxp[:, :, p : p + H, p : p + W], dw, dout.sum(axis=(0, 2, 3))

    return conv2d_backward


@pytest.mark.parametrize(
    "which, fragment",
    [("dx", "dx keeps only the last window's"), ("dw", "dw holds only the last position's")],
)
def test_backward_assigned_instead_of_added(which, fragment):
    assert fragment in diagnosis(check.conv2d_backward, _backward_assigned(which))


def test_backward_wrong_shapes_are_named():
    def dw_cf(dout, x, w, s, p):
        dx, dw, db = _backward()(dout, x, w, s, p)
        return dx, dw.transpose(1, 0, 2, 3), db

    def db_per_example(dout, x, w, s, p):
        dx, dw, _ = _backward()(dout, x, w, s, p)
        return dx, dw, dout.sum(axis=(1, 2, 3))

    assert "filter and channel axes are swapped" in diagnosis(check.conv2d_backward, dw_cf)
    assert "db has shape (2,)" in diagnosis(check.conv2d_backward, db_per_example)


def test_backward_stride_slip_in_dw_alone():
    def dw_slip(dout, x, w, s, p):
        dx, _, db = _backward()(dout, x, w, s, p)
        return dx, _backward(strided=False)(dout, x, w, s, p)[1], db

    assert "in dw, output (i, j) is paired" in diagnosis(check.conv2d_backward, dw_slip)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_backward(sign=-1), "dx has the wrong sign"),
        (_backward(extra=1), "dw = (right answer) + w"),
        (_backward(dw_n="mean"), "divided by dout.shape[0]"),
        (_backward(db="mean"), "db is dout.shape[1]/dout.size times the right answer"),
        (lambda *a: (lambda dx, dw, db: (dx, db, dw))(*_backward()(*a)), "wrong slot"),
    ],
    ids=["dx-sign", "dw-plus-w", "dw-mean", "db-mean", "swapped"],
)
def test_backward_unseen_bugs_are_explained(fn, fragment):
    message = diagnosis(check.conv2d_backward, fn)
    assert fragment in message, message
    assert "max error" not in message


def test_backward_first_failure_hides_the_formula():
    message = diagnosis(check.conv2d_backward, _backward(flip_dx=True))
    assert "x_pad[n, c, s*i + u" not in message and "+= dout" not in message


# --- conv2d_input_grad (find the bug) ------------------------------------------------------
def _input_grad(flip=(True, True), sign=1):
    def conv2d_input_grad(dout, w):
        F, C, KH, KW = w.shape
        g = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
        N, _, GH, GW = g.shape
        k = w[:, :, ::-1] if flip[0] else w
        k = k[:, :, :, ::-1] if flip[1] else k
        dx = np.zeros((N, C, GH - KH + 1, GW - KW + 1))
        for a in range(dx.shape[2]):
            for b in range(dx.shape[3]):
                window = g[:, :, a : a + KH, b : b + KW]
                dx[:, :, a, b] = sign * np.einsum("nfuv,fcuv->nc", window, k)
        return dx

    return conv2d_input_grad


def test_input_grad_right_answers_pass(capsys):
    assert_passes(check.conv2d_input_grad, _input_grad(), capsys)
    with_conv2d = lambda dout, w: conv2d(  # noqa: E731
        np.pad(dout, ((0, 0), (0, 0), (w.shape[2] - 1,) * 2, (w.shape[3] - 1,) * 2)),
        w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3),
    ).data
    assert_passes(check.conv2d_input_grad, with_conv2d, capsys)


@pytest.mark.parametrize(
    "flip, fragment",
    [
        ((False, False), "AS IT IS"),
        ((True, False), "rows (KH) only"),
        ((False, True), "columns (KW) only"),
    ],
)
def test_input_grad_catalogue(flip, fragment):
    assert fragment in diagnosis(check.conv2d_input_grad, _input_grad(flip))


def _input_grad_valid(dout, w):
    """dout not padded: a valid correlation, too small."""
    return conv2d(dout, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).data


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (_input_grad(sign=-1), "wrong sign"),
        (lambda dout, w: _input_grad()(dout, w) / w.shape[0], "divided by dout.shape[1]"),
        (_input_grad_valid, "VALID correlation"),
        (
            lambda dout, w: np.einsum("nfuv->nfuv", np.pad(dout, ((0, 0),) * 2 + ((1, 1),) * 2)),
            "one map per filter",
        ),
    ],
    ids=["sign", "mean-over-F", "not-padded", "per-filter"],
)
def test_input_grad_unseen_bugs_are_explained(fn, fragment):
    message = diagnosis(check.conv2d_input_grad, fn)
    assert fragment in message, message
    assert "max error" not in message


# --- questions ------------------------------------------------------------------------------
def test_questions(capsys):
    check.answer("q13_conv_out_shape", [8, 16, 15, 15])
    check.answer("q13_receptive_field", 10)
    assert capsys.readouterr().out.count("✓") == 2
    for qid, wrong in [("q13_conv_out_shape", (8, 16, 14, 14)), ("q13_receptive_field", 9)]:
        with pytest.raises(ExerciseFailed) as info:
            check.answer(qid, wrong)
        assert "15" not in str(info.value) and "10" not in str(info.value)


# --- garbage answers: a diagnosis, never a crash of the checker ----------------------------
@pytest.mark.parametrize(
    "checker",
    [
        check.conv2d_forward_naive,
        check.max_pool_backward,
        check.conv2d_backward,
        check.conv2d_input_grad,
    ],
    ids=lambda c: c.__name__,
)
@settings(max_examples=25, deadline=None)
@given(value=GARBAGE)
def test_garbage_gets_a_diagnosis(checker, value):
    message = diagnosis(checker, lambda *args: value)
    assert "the checker itself failed" not in message, message
    many = diagnosis(checker, lambda *args: (value, value, value))
    assert "the checker itself failed" not in many, many


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.conv2d_forward_naive, _forward(strided=False)),
        (check.max_pool_backward, _pool("average")),
        (check.conv2d_backward, _backward(strided=False)),
        (check.conv2d_input_grad, _input_grad((False, False))),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_no_formula_in_the_first_failure(checker, fn):
    message = diagnosis(checker, fn)
    for formula in check.formulas(checker.__name__).values():
        assert formula not in message
        assert "the formula:" not in message
