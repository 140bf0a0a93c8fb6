"""The default's fallback (``RunConfig.fallback``): an unsupervised run on words with no seed
pair that its verdict calls "likely failed" is run again with the identical strings as seed
pairs, on real English (GloVe 50-d) → French (fastText 300-d), the pair where the unsupervised
defaults fail (docs/defaults.md). The verdict decides; the evaluation dictionary is only read
after each run, to check."""

from __future__ import annotations

import pytest

from alignment_core.dictionary import load_dictionary
from alignment_core.errors import ConfigError
from alignment_core.io import load_embeddings
from alignment_core.runs import FALLBACK_IDENTICAL_MIN, RunConfig, execute
from tests.conftest import DICTS, EMB

from conftest import new_app, session

#: the vocabularies keep 20,000 words (the test dictionary's words are there: ~800 queries);
#: the method fits on the 5,000 most frequent of each side, to keep the two runs short
ROWS, FIT = 20_000, {"max_rows": 5000}


@pytest.fixture(scope="module")
def en_fr():
    src = load_embeddings(EMB / "en.glove.50d.50k.vec.gz", max_vocab=ROWS, lowercase=True)
    tgt = load_embeddings(EMB / "fr.fasttext.300d.20k.vec.gz", max_vocab=ROWS, lowercase=True)
    return src, tgt, load_dictionary(DICTS / "en-fr.freedict.test.txt")


@pytest.fixture(scope="module")
def retried(en_fr):
    src, tgt, test = en_fr
    events = []
    r = execute(RunConfig(method="muse", seeds="none", params=FIT), src, tgt, None, test, on_event=events.append,
                per_word=False)
    return r, events


def test_a_failed_run_without_seeds_is_run_again_with_the_identical_strings(retried):
    r, events = retried
    assert r.evaluation.n_queries > 500
    fb = r.fallback
    assert fb is not None, r.verdict
    first = fb["first"]
    assert first["seeds"] == "none" and first["verdict"]["status"] == "likely failed", first["verdict"]
    assert first["evaluation"]["csls"]["p@1"] < 2, first["evaluation"]       # it had indeed failed
    assert r.config.seeds == "identical" and r.seed_pairs == fb["identical_pairs"] >= FALLBACK_IDENTICAL_MIN
    assert r.evaluation.scores["csls"]["p@1"] > 10, r.evaluation.scores
    assert r.verdict["status"] == "succeeded", r.verdict
    assert [e.stage for e in events].count("fallback") == 1
    js = r.to_json()
    assert js["fallback"]["first"]["verdict"]["status"] == "likely failed" and js["config"]["seeds"] == "identical"
    assert r.timings["first_attempt_s"] > 0 and r.timings["total_s"] > r.timings["first_attempt_s"]


def test_the_fallback_can_be_switched_off_and_is_checked(en_fr):
    src, tgt, test = en_fr
    r = execute(RunConfig(method="muse", seeds="none", params=FIT, fallback="none"), src, tgt, None, test,
                per_word=False)
    assert r.evaluation.n_queries > 500
    assert r.fallback is None and r.config.seeds == "none"
    assert r.verdict["status"] == "likely failed" and r.evaluation.scores["csls"]["p@1"] < 2
    with pytest.raises(ConfigError, match="fallback must be one of"):
        RunConfig(method="muse", seeds="none", fallback="always")


def test_the_pages_say_the_run_was_run_again(retried):
    """Align and Evaluate show the retry above the verdict, with the first run's verdict."""
    from ui import state as S

    r, _ = retried
    at = new_app()
    at.run()
    sd = session(at)
    sd.runs[1] = S.RunRecord(1, "muse en→fr", r)
    sd.selected = 1
    for page in ("align", "evaluate"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        notes = [i.value for i in at.info if "Run again with identical strings" in i.value]
        assert len(notes) == 1 and "likely failed" in notes[0] and f"{r.fallback['identical_pairs']:,}" in notes[0], notes
        assert any("looks like it worked" in s.value for s in at.success), page
