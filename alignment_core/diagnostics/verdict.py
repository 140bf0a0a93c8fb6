"""A plain-language verdict from the diagnostics.

Each available measure is judged ``favourable``, ``neutral`` or ``unfavourable``
against the thresholds below (justified in docs/diagnostics.md, where the values
measured on the reference pairs are tabulated), then:

- unsupervised alignment is **unlikely** to succeed when at least two measures
  are unfavourable and unfavourable ones are at least as many as favourable ones;
- **likely** when at least two are favourable, at most one is unfavourable and
  favourable ones outnumber unfavourable ones (one dissenting measure is tolerated:
  the Gromov-Hausdorff proxy reacts to isotropic noise long before alignment suffers);
- **uncertain** otherwise.

The thresholds are for the defaults: n = 5,000 most frequent words per side,
renorm,center,renorm, k = 10, m = 100 eigenvalues. They are heuristics calibrated on
controlled pairs (French against a noisy rotation of itself) and on the real
distant pairs of this project (fi-fr, en-fr, where unsupervised methods are known
to struggle), not universal constants.
"""

from __future__ import annotations

#: (favourable if ≤/≥ this, unfavourable if beyond that); "higher_is_better" says which way
THRESHOLDS: dict[str, dict] = {
    # Pearson r of within-language cosines; fr vs its rotation + noise 0.3 → 0.98,
    # noise 1.0 → 0.83; fi-fr → 0.54; en-fr → 0.33
    "relational_similarity": {"favourable": 0.75, "unfavourable": 0.6, "higher_is_better": True},
    # Σ (λ_i − λ'_i)², m = 100 largest Laplacian eigenvalues of 10-NN graphs, n = 5,000;
    # noise 0.1 → 12, 0.3 → 71, 0.6 → 569; fi-fr → 749; en-fr → 364
    "eigenvector_similarity": {"favourable": 100.0, "unfavourable": 400.0, "higher_is_better": False},
    # bottleneck distance of MST lengths; noise 0.05 → ~0.03, 0.1 → 0.06; fi-fr 0.077; en-fr 0.158
    "gromov_hausdorff": {"favourable": 0.05, "unfavourable": 0.12, "higher_is_better": False},
    # Σ (log σ_i − log σ'_i)²; noise 0.1 → 1.3, 0.3 → 6.2; fi-fr 1.1; en-fr 22 (50d GloVe vs 300d fastText)
    "singular_value_gap": {"favourable": 5.0, "unfavourable": 15.0, "higher_is_better": False},
    # harmonic mean of effective condition numbers; 5–11 on every real space here
    # (Dubossarsky et al. 2020 find BLI degrades as it grows); only a very high value counts
    "econd_hm": {"favourable": None, "unfavourable": 50.0, "higher_is_better": False},
}
#: judged and shown for context, but not counted in the vote: the BLI P@1 (csls) of the
#: given or dictionary-fitted mapping depends on the evaluation words' frequency as much as
#: on the spaces (fi-fr freedict test, ranks 20k-44k: 38; the sample test, frequent words: 62)
CONTEXT_THRESHOLDS: dict[str, dict] = {
    "supervised_p_at_1_csls": {"favourable": 60.0, "unfavourable": 40.0, "higher_is_better": True},
}
#: the thresholds of these measures hold for this many words per side only (graph spectra
#: and MST lengths change with n); at other sizes they are reported but not judged
CALIBRATED_N = 5000
SIZE_DEPENDENT = ("eigenvector_similarity", "gromov_hausdorff")
#: hubness skewness (nn) above this = "strong hubness": CSLS/isf strongly recommended
STRONG_HUBNESS_SKEW = 2.0
#: at least this many identical strings in the 20k most frequent words make them a usable seed
IDENTICAL_SEED_MIN = 200
#: failures sharing a reason: named in the summary when at least this share of failures
REASON_SHARE = 0.25

PRETTY = {"supervised_p_at_1_csls": "supervised CSLS P@1", "econd_hm": "ECOND-HM",
          "gromov_hausdorff": "Gromov-Hausdorff proxy"}

SEED_ADVICE = ("Seed the alignment: a few hundred trusted pairs (e.g. 500 from a bilingual dictionary) "
               "with supervised Procrustes + refinement, or identical strings (numerals, names) when the "
               "two vocabularies share a script.")


def judge(name: str, value: float | None) -> str | None:
    """'favourable' | 'neutral' | 'unfavourable' for one measure, None if unavailable."""
    t = THRESHOLDS.get(name) or CONTEXT_THRESHOLDS.get(name)
    if value is None or t is None or value != value:  # NaN
        return None
    fav = t["favourable"]
    if t["higher_is_better"]:
        if fav is not None and value >= fav:
            return "favourable"
        return "unfavourable" if value < t["unfavourable"] else "neutral"
    if fav is not None and value <= fav:
        return "favourable"
    return "unfavourable" if value > t["unfavourable"] else "neutral"


def verdict(report: dict) -> dict:
    """The verdict for a :func:`alignment_core.diagnostics.report.diagnose` dict (without
    its "verdict" key): outcome, one-paragraph summary, per-measure judgements,
    failure explanation and suggestions."""
    iso = report.get("isomorphism") or {}
    values: dict[str, float | None] = {
        name: iso.get(name) for name in
        ("relational_similarity", "eigenvector_similarity", "gromov_hausdorff", "singular_value_gap", "econd_hm")
    }
    n_words = iso.get("n_words") or {}
    not_judged = {}
    if min(n_words.get("source", CALIBRATED_N), n_words.get("target", CALIBRATED_N)) != CALIBRATED_N:
        for name in SIZE_DEPENDENT:
            if values.get(name) is not None:
                not_judged[name] = f"thresholds hold for n = {CALIBRATED_N} words per side; n = {n_words}"
                values[name] = None
    judgements = {k: {"value": v, "judgement": judge(k, v), **THRESHOLDS[k]}
                  for k, v in values.items() if judge(k, v) is not None}
    context = {}
    bli = (report.get("failure") or {}).get("bli") or {}
    if bli.get("csls") and bli["csls"].get("p@1") is not None:
        p1 = bli["csls"]["p@1"]
        context["supervised_p_at_1_csls"] = {"value": p1, "judgement": judge("supervised_p_at_1_csls", p1),
                                             **CONTEXT_THRESHOLDS["supervised_p_at_1_csls"]}
    fav = [k for k, j in judgements.items() if j["judgement"] == "favourable"]
    unfav = [k for k, j in judgements.items() if j["judgement"] == "unfavourable"]
    if len(unfav) >= 2 and len(unfav) >= len(fav):
        outcome = "unlikely"
    elif len(fav) >= 2 and len(unfav) <= 1 and len(fav) > len(unfav):
        outcome = "likely"
    else:
        outcome = "uncertain"
    pretty = {k: PRETTY.get(k, k.replace("_", " ")) for k in judgements}
    parts = [{"likely": "Unsupervised alignment is likely to succeed here",
              "unlikely": "Unsupervised alignment is unlikely to succeed here",
              "uncertain": "Unsupervised alignment may or may not succeed here"}[outcome]]
    if unfav:
        parts.append("; against it: " + ", ".join(f"{pretty[k]} = {_fmt(values[k])}" for k in unfav))
    if fav:
        parts.append("; for it: " + ", ".join(f"{pretty[k]} = {_fmt(values[k])}" for k in fav))
    if not judgements:
        parts = ["Not enough measures to judge (give a dictionary with --dict for the paired measures)"]
    summary = "".join(parts) + "."
    if context:
        c = context["supervised_p_at_1_csls"]
        how = {"given": "the given mapping", "procrustes on dictionary": "Procrustes fitted on the dictionary"}.get(
            (report.get("failure") or {}).get("mapping"), "the mapping")
        summary += f" For reference, {how} reaches CSLS P@1 {c['value']:.1f} on the evaluation dictionary."

    suggestions: list[str] = []
    if outcome != "likely":
        suggestions.append(SEED_ADVICE)
    n_ident = report.get("identical_strings")
    if outcome != "likely" and n_ident is not None and n_ident >= IDENTICAL_SEED_MIN:
        suggestions.append(f"{n_ident} identical strings are shared by the 20,000 most frequent words of each "
                           f"side: usable as a seed dictionary ('identical').")
    hub = (report.get("hubness") or {}).get("rules") or {}
    nn_skew = (hub.get("nn") or {}).get("skewness")
    cs_skew = (hub.get("csls") or {}).get("skewness")
    hub_text = None
    if nn_skew is not None and nn_skew > STRONG_HUBNESS_SKEW:
        hub_text = f"Nearest-neighbour retrieval shows strong hubness (skewness of N_k {nn_skew:.2f}"
        if cs_skew is not None:
            hub_text += f"; CSLS brings it to {cs_skew:.2f}"
        hub_text += "): retrieve with CSLS or inverted softmax, not plain nearest neighbour."
        suggestions.append(hub_text)

    why = _failure_text(report)
    out = {
        "unsupervised": outcome,
        "summary": summary,
        "measures": judgements,
        "context": context,
        "not_judged": not_judged,
        "favourable": fav,
        "unfavourable": unfav,
        "failures": why,
        "suggestions": suggestions,
        "rules": {"unlikely": "≥ 2 unfavourable and unfavourable ≥ favourable",
                  "likely": "≥ 2 favourable, ≤ 1 unfavourable, favourable > unfavourable",
                  "uncertain": "otherwise"},
    }
    lines = [summary]
    if why:
        lines.append(why)
    lines.extend(suggestions)
    out["text"] = " ".join(lines)
    return out


def _failure_text(report: dict) -> str | None:
    f = report.get("failure") or {}
    summ = f.get("summary")
    parts = []
    if summ and summ.get("n_queries"):
        n, nf = summ["n_queries"], summ["n_failed_csls"]
        named = {"hub": "the prediction is a hub", "rare": "the source word is rare (rarest third)",
                 "near miss": "a gold is in the top 10 (near miss)",
                 "gold far": "the gold is far (rank > 1,000: neighbourhoods differ or a doubtful dictionary entry)",
                 "neighbourhoods differ": "translated neighbourhoods share nothing",
                 "related word": "a related word wins (gold in the top 1,000)"}
        reasons = sorted(summ.get("reasons", {}).items(), key=lambda kv: -kv[1]["n"])
        top = [f"{named.get(k, k)} ({100 * v['share_of_failures']:.0f}%)" for k, v in reasons
               if v["share_of_failures"] >= REASON_SHARE]
        parts.append(f"{nf} of {n} evaluation words fail under CSLS")
        if top:
            parts[-1] += "; most often: " + "; ".join(top)
        bins = (summ.get("precision_by_frequency") or {}).get("csls") or []
        if len(bins) >= 2:
            parts[-1] += (f". P@1 falls from {bins[0]['p@1']:.1f} for the most frequent third to "
                          f"{bins[-1]['p@1']:.1f} for the rarest")
    res = f.get("dictionary_residuals")
    if res and res.get("n_pairs"):
        text = (f"{res['n_outliers']} of {res['n_pairs']} dictionary pairs have outlying Procrustes "
                f"residuals (robust z > {res['threshold_z']})")
        if res["n_outliers"]:
            worst = ", ".join(f"{o['source']}→{o['target']}" for o in res["outliers"][:5])
            text += f"; check them for wrong entries (worst: {worst})"
        parts.append(text)
    return (". ".join(parts) + ".") if parts else None


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
