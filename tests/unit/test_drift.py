"""Self-learning drift (diagnostics/drift.py): a fixed point stays put; on real fi→fr the
supervised mapping drifts away (criterion up, P@1 down), which explains part of the
unsupervised methods' gap."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_core.diagnostics.drift import self_learning_drift
from alignment_core.errors import ConfigError
from alignment_core.methods import run_method
from alignment_core.methods.procrustes import Procrustes
from alignment_core.synthetic import rotated_copy
from tests.conftest import load_dict, load_real


def test_the_true_rotation_is_a_fixed_point():
    pair = rotated_copy(load_real("fr").head(3000), noise=0.02, overlap=0.8, seed=1)
    w = run_method(Procrustes(), pair.src, pair.tgt, pair.dictionary.index_pairs(pair.src, pair.tgt)).w
    out = self_learning_drift(pair.src, pair.tgt, w, rounds=2, eval_dictionary=pair.dictionary,
                              reference=pair.dictionary)
    assert [r["round"] for r in out["rounds"]] == [1, 2]
    assert out["p@1_csls_start"] >= 99 and out["p@1_csls_end"] >= 99
    assert abs(out["criterion_end"] - out["criterion_start"]) < 0.01
    assert all(r["reference_agreement"] > 95 for r in out["rounds"])
    assert "fixed point" in out["summary"]
    # a random orthogonal start is not: the loop moves it, and says so
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((300, 300)))[0].astype(np.float32)
    moved = self_learning_drift(pair.src, pair.tgt, q, rounds=1, eval_dictionary=pair.dictionary)
    assert moved["p@1_csls_start"] < 5
    with pytest.raises(ConfigError, match="shape"):
        self_learning_drift(pair.src, pair.tgt, w[:, :10])
    with pytest.raises(ConfigError, match="at least 1"):
        self_learning_drift(pair.src, pair.tgt, w, rounds=0)


@pytest.mark.slow
def test_supervised_fi_fr_mapping_drifts_under_self_learning():
    fi, fr = load_real("fi"), load_real("fr")
    train, test = load_dict("xling/fi-fr.train.freq.5k.txt"), load_dict("xling/fi-fr.test.freq.2k.txt")
    w = run_method(Procrustes(), fi, fr, train.index_pairs(fi, fr)).w
    out = self_learning_drift(fi, fr, w, rounds=3, eval_dictionary=test, reference=train)
    # measured: criterion 0.547 → 0.611, P@1 36.5 → 32.9; 72 % of induced pairs agree with the gold
    assert 34.5 <= out["p@1_csls_start"] <= 38.5
    assert out["criterion_end"] - out["criterion_start"] > 0.03
    assert out["p@1_csls_start"] - out["p@1_csls_end"] > 2.0
    assert 60 <= out["rounds"][0]["reference_agreement"] <= 85
    assert "prefers another mapping" in out["summary"]
