"""load_text, CharVocab and context_windows: the shipped corpus and the ids a language model sees."""

import hashlib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import data

NAMES_SHA256 = "c552ee4f4b29da93458a2f23adddafd582b5a17fa689346283f7ef07ea2db402"


def test_names_file_is_the_documented_one():
    blob = (resources.files("bpkit") / "datasets" / data.TEXTS["names"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == NAMES_SHA256
    readme = (resources.files("bpkit") / "datasets" / "README.md").read_text()
    assert NAMES_SHA256 in readme and "Public domain" in readme and "1990 US Census" in readme


def test_load_text_names():
    text = data.load_text("names")
    assert text == data.load_text()  # "names" is the default
    words = text.split()
    assert len(words) == 5163 == len(set(words))
    assert text.endswith("\n") and text.count("\n") == 5163
    assert set("".join(words)) == set("abcdefghijklmnopqrstuvwxyz")
    assert min(map(len, words)) == 2 and max(map(len, words)) == 11
    assert words[:3] == ["mary", "patricia", "linda"]  # most frequent first
    with pytest.raises(ValueError, match=r"load_text: unknown corpus 'shakespeare'; choose one of"):
        data.load_text("shakespeare")


def test_char_vocab_on_names():
    words = data.load_text().split()
    vocab = data.CharVocab(words, specials=".")
    assert len(vocab) == 27 and vocab.chars[0] == "." and vocab.stoi["a"] == 1
    assert repr(vocab) == "CharVocab(size=27, chars='.abcdefghijklmnopqrstuvwxyz')"
    ids = vocab.encode("emma.")
    assert ids.dtype == np.int64 and ids.tolist() == [5, 13, 13, 1, 0]
    assert vocab.decode(ids) == "emma." and vocab.decode([[1, 2]]) == "ab"
    with pytest.raises(KeyError, match=r"CharVocab.encode: character 'Z' is not in the vocabulary"):
        vocab.encode("Zoe")
    with pytest.raises(KeyError, match=r"CharVocab.decode: id 27 is not in \[0, 27\)"):
        vocab.decode([27])
    with pytest.raises(ValueError, match="specials '..' repeat a character"):
        data.CharVocab("ab", specials="..")
    assert data.CharVocab("banana").chars == ["a", "b", "n"]


@given(
    text=st.text(alphabet="abcxyz .\n", max_size=40),
    specials=st.sampled_from(["", ".", "^$"]),
)
def test_encode_decode_round_trip(text, specials):
    vocab = data.CharVocab(text, specials=specials)
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.chars[: len(specials)] == list(specials)
    assert len(vocab.chars) == len(set(vocab.chars))


def test_context_windows_by_hand():
    vocab = data.CharVocab("abemm", specials=".")
    X, y = data.context_windows(["emma", "ab"], vocab, block_size=3)
    # "...emma." -> (..., e), (..e, m), (.em, m), (emm, a), (mma, .), then "...ab."
    expected = ["...", "..e", ".em", "emm", "mma", "...", "..a", ".ab"]
    assert [vocab.decode(row) for row in X] == expected
    assert vocab.decode(y) == "emma.ab."
    assert X.shape == (8, 3) and X.dtype == np.int64 and y.dtype == np.int64
    X1, y1 = data.context_windows(["emma"], vocab, block_size=1)
    assert vocab.decode(X1[:, 0]) == ".emma" and vocab.decode(y1) == "emma."
    with pytest.raises(ValueError, match=r"context_windows: boundary '#' is not in CharVocab"):
        data.context_windows(["ab"], vocab, 2, boundary="#")
    with pytest.raises(ValueError, match="context_windows: block_size must be at least 1, got 0"):
        data.context_windows(["ab"], vocab, 0)


def test_context_windows_on_all_names():
    words = data.load_text().split()
    vocab = data.CharVocab(words, specials=".")
    X, y = data.context_windows(words, vocab, block_size=3)
    assert len(X) == len(y) == sum(len(w) + 1 for w in words)
    assert np.sum(y == 0) == len(words)  # every name ends once
    # Each window's last entry is the previous target, except where a name starts.
    starts = np.all(X == 0, axis=1)
    assert starts.sum() == len(words)
    np.testing.assert_array_equal(X[1:, -1][~starts[1:]], y[:-1][~starts[1:]])
