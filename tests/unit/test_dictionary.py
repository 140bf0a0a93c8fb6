"""Dictionaries: parsing, coverage, identical strings, induction."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core.dictionary import identical_strings, induce_pairs, parse_dictionary
from alignment_core.embeddings import Embeddings
from alignment_core.errors import DictionaryFormatError
from alignment_core.retrieval import Retriever


def emb(words, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return Embeddings(tuple(words), rng.standard_normal((len(words), d)).astype(np.float32))


def test_parse_space_tab_blank_and_multiple_translations():
    d = parse_dictionary(b"kissa chat\nkissa matou\n\n koira\tchien \nkissa chat\n", "d.txt")
    assert d.pairs == (("kissa", "chat"), ("kissa", "matou"), ("koira", "chien"))
    assert d.blank_lines == 1 and d.duplicate_pairs == 1
    assert d.sources == ["kissa", "koira"]


@pytest.mark.parametrize("data,line,what", [
    (b"a b\nc d e\n", 2, "found 3"),
    (b"a b\nlonely\n", 2, "found 1"),
    (b"a b\n\xe9 c\n", 2, "not UTF-8"),
])
def test_parse_errors_name_the_line(data, line, what):
    with pytest.raises(DictionaryFormatError) as ei:
        parse_dictionary(data, "dict.txt")
    assert f"dict.txt, line {line}" in str(ei.value) and what in str(ei.value)


def test_only_blank_lines_is_an_error():
    with pytest.raises(DictionaryFormatError, match="no pairs"):
        parse_dictionary(b"\n\n  \n", "blank.txt")


def test_coverage_counts_each_kind_of_oov():
    src, tgt = emb(["a", "b", "c"]), emb(["x", "y"])
    d = parse_dictionary("a x\na y\nb zz\nqq x\nqq zz\nc y\n")
    cov = d.coverage(src, tgt)
    assert (cov.pairs_total, cov.pairs_kept) == (6, 3)
    assert (cov.dropped_src_oov, cov.dropped_tgt_oov, cov.dropped_both_oov) == (1, 1, 1)
    assert cov.unique_src_kept == 2
    assert d.index_pairs(src, tgt).tolist() == [[0, 0], [0, 1], [2, 1]]


def test_identical_strings_for_shared_ids():
    src, tgt = emb(["doc1", "doc2", "1999", "kissa"]), emb(["chat", "1999", "doc2", "doc1"])
    d = identical_strings(src, tgt)
    assert d.pairs == (("doc1", "doc1"), ("doc2", "doc2"), ("1999", "1999"))


def test_induction_modes_on_a_known_map():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 12)).astype(np.float32)
    y = x + 0.05 * rng.standard_normal(x.shape).astype(np.float32)
    r = Retriever(x, y)
    for mode in ("S2T", "T2S", "S2T&T2S", "S2T|T2S"):
        p = induce_pairs(r, mode=mode, rule="csls", max_rank=None)
        assert (p[:, 0] == p[:, 1]).mean() > 0.98, mode
    mutual = induce_pairs(r, "S2T&T2S", "csls", None)
    union = induce_pairs(r, "S2T|T2S", "csls", None)
    assert len(mutual) <= 300 <= len(union)
    # max_rank drops pairs beyond the rank on either side
    p = induce_pairs(r, "S2T", "nn", max_rank=100)
    assert p[:, 0].max() < 100 and p[:, 1].max() < 100
