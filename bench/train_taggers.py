"""Train, calibrate and report the taggers' statistical heads (curation/taggers/model.py).

Why a script: the committed weights (`curation/taggers/data/tagger_model.{npz,json}`) must
be reproducible from the shared eval data by anyone, bit for bit (numpy only, fixed
order, fixed seeds, full-batch training).

Licences decide what may train a head (../shared/eval-data/README.md):

* trained on: MultiPICo `MP_dev.json` (CC BY 4.0), the UD dialect sentence files
  (CC BY-SA; `lij_glt` C-UDA 1.0), iSarcasmEval train (MIT).
* never trained or tuned on: MultiPICo `MP_test.json` (reported), SemEval-2018 irony,
  ID10M, VarDial GDI/SMG, ITDI 2022 (NC or research-only: evaluation only).

Per head: 5-fold cross-validation on its training rows (folds by MultiPICo item, so a
reply and its post share a fold) chooses the L2 strength, gives the out-of-fold scores
the calibration is fitted on, and the out-of-fold probabilities the thresholds are
chosen on (`precision >= 0.80` for subset selection, best F1 for the `sarcasm` flag).
The final head is fitted on all its training rows.

Held-out reports (written to `bench/taggers_report.json`, rendered in bench/TAGGERS.md):

* variety: MultiPICo test replies (macro-F1 per language group).
* dialect vs standard: leave-one-file-out on the UD files (each dialect file and one
  fifth of `de_pud` are held out in turn; the head is refitted without them), plus the
  shipped head on GDI / SMG / ITDI (evaluation only) against MultiPICo test replies of
  the standard language as negatives.
* irony: MultiPICo test replies; SemEval-2018 gold test (evaluation only); iSarcasmEval
  5-fold (the head refitted without each fifth).

Usage: `python bench/train_taggers.py` (train + report, ~5 min on one core),
`python bench/train_taggers.py --report-only` (report with the committed weights).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from eval_taggers import (  # noqa: E402
    UD_STANDARD,
    find_eval_data,
    load_gdi,
    load_id10m,
    load_itdi,
    load_multipico,
    load_semeval,
    load_smg,
)

from curation.taggers import model as tm  # noqa: E402

SEED = 20261203
FOLDS = 5
L2_GRID = (1e-4, 1e-3)
EPOCHS = 150
TARGET_PRECISION = 0.80
DIALECT_PRIOR = 0.05
"""Assumed share of dialect rows among a corpus's German- or Italian-labelled rows, for the
dialect heads' precision (an assumption, stated in bench/TAGGERS.md)."""
REPORT = REPO / "bench" / "taggers_report.json"

VARIETY_GROUPS: dict[str, dict[str, Any]] = {
    # multipico lang: classes (first = untagged default, or None) and country -> class
    "de": {"classes": ("de-DE", "de-AT", "de-CH"), "default": "de-DE",
           "map": {"de": "de-DE", "at": "de-AT", "ch": "de-CH"}},
    "en": {"classes": ("en-other", "en-GB", "en-IE"), "default": "en-other",
           "map": {"gb": "en-GB", "ie": "en-IE", "us": "en-other", "au": "en-other",
                   "in": "en-other"}},
    "es": {"classes": ("es-419", "es-ES"), "default": None,
           "map": {"es": "es-ES", "ar": "es-419", "co": "es-419", "mx": "es-419",
                   "us": "es-419"}},
    "pt": {"classes": ("pt-BR", "pt-PT"), "default": None, "map": {"br": "pt-BR", "pt": "pt-PT"}},
    "fr": {"classes": ("fr-FR", "fr-CA"), "default": None, "map": {"fr": "fr-FR", "ca": "fr-CA"}},
}
DIALECT_GROUPS: dict[str, dict[str, Any]] = {
    "de": {"classes": ("standard", "bar", "gsw", "gsw-FR", "nds"),
           "files": {"bar_maibaam-ud-test.txt": "bar", "gsw_uzh-ud-test.txt": "gsw",
                     "gsw_divital-ud-test.txt": "gsw-FR", "nds_lsdc-ud-orig-test.txt": "nds"}},
    "it": {"classes": ("standard", "scn", "nap", "lij"),
           "files": {"scn_stb-ud-test.txt": "scn", "nap_rb-ud-test.txt": "nap",
                     "lij_glt-ud-test.txt": "lij"}},
}


@dataclass
class Examples:
    texts: list[str]
    labels: np.ndarray  # class index
    groups: list[str]  # CV unit (rows of one group share a fold)
    weights: np.ndarray | None = None


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fold_of(groups: list[str], seed: int = SEED, folds: int = FOLDS) -> np.ndarray:
    """A fold per row: the sorted distinct groups, permuted by `seed`, dealt round-robin."""
    unique = sorted(set(groups))
    perm = np.random.default_rng(seed).permutation(len(unique))
    fold = {g: int(perm[i] % folds) for i, g in enumerate(unique)}
    return np.array([fold[g] for g in groups], dtype=np.int64)


def balanced_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    return (labels.size / (n_classes * np.maximum(counts, 1)))[labels]


# --- training data -------------------------------------------------------------------------


def multipico_variety(root: Path, lang: str, split: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    spec = VARIETY_GROUPS[lang]
    frame = load_multipico(root, "tune" if split == "dev" else "report").filter(
        pl.col("lang") == lang
    )
    index = {c: i for i, c in enumerate(spec["classes"])}
    return frame.with_columns(
        pl.col("country").replace_strict(spec["map"]).replace_strict(index).alias("label")
    ), spec


def variety_examples(root: Path, lang: str) -> Examples:
    """Replies and posts of the MultiPICo dev items of `lang` (a text once; conflicting
    labels dropped), grouped by item."""
    frame, spec = multipico_variety(root, lang, "dev")
    both = pl.concat(
        [
            frame.select("id", "text", "label"),
            frame.select("id", pl.col("post").alias("text"), "label"),
        ]
    ).filter(pl.col("text").str.strip_chars().str.len_chars() > 0)
    clean = (
        both.group_by("text", maintain_order=True)
        .agg(pl.col("label").n_unique().alias("k"), pl.col("label").first(), pl.col("id").first())
        .filter(pl.col("k") == 1)
    )
    labels = clean.get_column("label").to_numpy()
    return Examples(
        clean.get_column("text").to_list(),
        labels,
        clean.get_column("id").to_list(),
        balanced_weights(labels, len(spec["classes"])),
    )


def standard_texts(root: Path, lang: str) -> list[tuple[str, str]]:
    """(group, text) standard-language rows a dialect head may train on: MultiPICo dev
    replies and posts from the language's home country, and for German `de_pud`."""
    rows: list[tuple[str, str]] = []
    home = {"de": "de", "it": "it"}[lang]
    dev = load_multipico(root, "tune").filter((pl.col("lang") == lang) & (pl.col("country") == home))
    for key, reply, post in dev.select("id", "text", "post").iter_rows():
        rows += [(f"mp:{key}", reply), (f"mp:{key}", post)]
    if lang == "de":
        for i, line in enumerate(_lines(root / "ud-dialect-sentences" / UD_STANDARD)):
            rows.append((f"pud:{i % FOLDS}:{i}", line))
    seen: set[str] = set()
    out = []
    for group, text in rows:
        if text.strip() and text not in seen:
            seen.add(text)
            out.append((group, text))
    return out


def dialect_examples(root: Path, lang: str, skip_file: str | None = None,
                     skip_pud_fold: int | None = None) -> Examples:
    spec = DIALECT_GROUPS[lang]
    index = {c: i for i, c in enumerate(spec["classes"])}
    texts, labels, groups = [], [], []
    for group, text in standard_texts(root, lang):
        if skip_pud_fold is not None and group.startswith(f"pud:{skip_pud_fold}:"):
            continue
        texts.append(text)
        labels.append(0)
        groups.append(group)
    for name, code in spec["files"].items():
        if name == skip_file:
            continue
        for i, line in enumerate(_lines(root / "ud-dialect-sentences" / name)):
            texts.append(line)
            labels.append(index[code])
            groups.append(f"{name}:{i}")
    y = np.array(labels, dtype=np.int64)
    return Examples(texts, y, groups, balanced_weights(y, len(spec["classes"])))


def isarcasm(root: Path) -> pl.DataFrame:
    """`text`, `sarcastic`, `lang` of iSarcasmEval train (English and Arabic)."""
    rows = []
    for name, column, lang in (("train.En.csv", "tweet", "en"), ("train.Ar.csv", "text", "ar")):
        with (root / "isarcasmeval-train" / name).open(encoding="utf-8", newline="") as fh:
            for i, rec in enumerate(csv.DictReader(fh)):
                text = (rec.get(column) or "").strip()
                if text and rec.get("sarcastic") in ("0", "1"):
                    rows.append((f"isarc:{lang}:{i}", text, rec["sarcastic"] == "1", lang))
    return pl.DataFrame(rows, schema=["id", "text", "sarcastic", "lang"], orient="row")


def irony_examples(root: Path, skip_isarcasm_fold: int | None = None) -> Examples:
    """MultiPICo dev replies (majority vote, ties dropped) plus iSarcasmEval train."""
    mp = load_multipico(root, "tune").filter(pl.col("irony").is_not_null())
    texts = mp.get_column("text").to_list()
    labels = mp.get_column("irony").cast(pl.Int64).to_list()
    groups = [f"mp:{k}" for k in mp.get_column("id").to_list()]
    isr = isarcasm(root)
    ids = isr.get_column("id").to_list()
    folds = fold_of(ids)
    for (key, text, sarcastic, _), fold in zip(isr.iter_rows(), folds, strict=True):
        if skip_isarcasm_fold is not None and fold == skip_isarcasm_fold:
            continue
        texts.append(text)
        labels.append(int(sarcastic))
        groups.append(key)
    y = np.array(labels, dtype=np.int64)
    return Examples(texts, y, groups, balanced_weights(y, 2))


# --- fitting -------------------------------------------------------------------------------


def _fit(feats: tm.Features, ex: Examples, rows: np.ndarray, n_classes: int, l2: float):
    sub = tm.subset_rows(feats, rows)
    weights = None if ex.weights is None else ex.weights[rows]
    return tm.fit_linear(sub, ex.labels[rows], n_classes, l2=l2, epochs=EPOCHS,
                         sample_weight=weights)


def _log_loss(scores: np.ndarray, labels: np.ndarray, calibration: dict[str, float]) -> float:
    p = tm.calibrated(scores, calibration)
    return float(-np.mean(np.log(np.maximum(p[np.arange(labels.size), labels], 1e-12))))


def _calibrate(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return tm.fit_platt(scores[:, 0], labels) if scores.shape[1] == 1 else tm.fit_temperature(
        scores, labels)


def cross_validate(ex: Examples, n_classes: int, feats: tm.Features) -> dict[str, Any]:
    """Out-of-fold scores for each L2 strength; the best (calibrated log loss) wins."""
    folds = fold_of(ex.groups)
    best: dict[str, Any] | None = None
    for l2 in L2_GRID:
        k = 1 if n_classes == 2 else n_classes
        oof = np.zeros((len(ex.texts), k))
        for f in range(FOLDS):
            train = np.flatnonzero(folds != f)
            test = np.flatnonzero(folds == f)
            w, b = _fit(feats, ex, train, n_classes, l2)
            oof[test] = tm.linear_scores(tm.subset_rows(feats, test), w, b)
        calibration = _calibrate(oof, ex.labels)
        loss = _log_loss(oof, ex.labels, calibration)
        if best is None or loss < best["loss"] - 1e-9:
            best = {"l2": l2, "loss": loss, "oof": oof, "calibration": calibration}
    assert best is not None
    return best


def precision_threshold(prob: np.ndarray, gold: np.ndarray, target: float = TARGET_PRECISION,
                        min_selected: int = 5) -> float:
    """The lowest threshold in 0.50..0.99 whose selection reaches `target` precision (on
    out-of-fold probabilities); 1.01 (select nothing) when none does."""
    for t in np.round(np.arange(0.50, 1.00, 0.01), 2):
        chosen = prob >= t
        if chosen.sum() >= min_selected and gold[chosen].mean() >= target:
            return float(t)
    return 1.01


def f1_threshold(prob: np.ndarray, gold: np.ndarray) -> float:
    best_t, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.95, 0.01), 2):
        f1 = binary_prf(prob >= t, gold)[2]
        if f1 > best_f1 + 1e-12:
            best_t, best_f1 = float(t), f1
    return best_t


def binary_prf(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(pred & gold))
    fp = float(np.sum(pred & ~gold))
    fn = float(np.sum(~pred & gold))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def macro_f1(pred: np.ndarray, gold: np.ndarray, n_classes: int) -> float:
    return float(np.mean([binary_prf(pred == c, gold == c)[2] for c in range(n_classes)]))


def confusion(pred: np.ndarray, gold: np.ndarray, n_classes: int) -> list[list[int]]:
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (gold, pred), 1)
    return m.tolist()


@dataclass
class Trained:
    name: str
    classes: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    calibration: dict[str, float]
    thresholds: dict[str, float]
    meta: dict[str, Any]


def dialect_threshold(dialect_prob: np.ndarray, ex: Examples, prior: float | None = None) -> tuple[float, float]:
    """(threshold on 1 - P(standard), its out-of-fold recall) for naming a dialect.

    The training rows are mostly dialect (70 %), a corpus is mostly standard: precision is
    computed for a corpus where `DIALECT_PRIOR` of the rows of the language are dialect,
    from the recall on dialect rows and the false-alarm rate on the standard rows of the
    worst source (MultiPICo tweets or de_pud sentences), so that standard social-media
    text does not flood the subset."""
    prior = DIALECT_PRIOR if prior is None else prior
    gold = ex.labels != 0
    sources = np.array([g.split(":", 1)[0] for g in ex.groups])
    for t in np.round(np.arange(0.50, 1.00, 0.01), 2):
        chosen = dialect_prob >= t
        tpr = chosen[gold].mean()
        fpr = max(chosen[~gold & (sources == src)].mean() for src in set(sources[~gold]))
        if tpr > 0 and tpr * prior / (tpr * prior + fpr * (1 - prior)) >= TARGET_PRECISION:
            return float(t), float(tpr)
    return 1.01, 0.0


def train_head(name: str, classes: tuple[str, ...], ex: Examples,
               untagged: str | None = None, flag_f1: bool = False,
               dialect: bool = False) -> Trained:
    """Cross-validate, calibrate, choose thresholds, fit on all rows."""
    n_classes = len(classes)
    feats = tm.featurize(ex.texts)
    cv = cross_validate(ex, n_classes, feats)
    prob = tm.calibrated(cv["oof"], cv["calibration"])
    pred = tm.decide(cv["oof"])
    thresholds: dict[str, float] = {}
    recall: dict[str, float] = {}
    for c, cls in enumerate(classes):
        if dialect or cls == untagged or (n_classes == 2 and c == 0 and untagged is None and flag_f1):
            continue
        score = np.where(pred == c, prob[:, c], 0.0)
        # a class most rows belong to reaches 0.80 by itself (es-419 is 79 % of Spanish
        # rows): ask for ten points over its share as well
        share = float(np.mean(ex.labels == c))
        t = precision_threshold(score, ex.labels == c, max(TARGET_PRECISION, share + 0.10))
        thresholds[cls] = t
        recall[cls] = round(binary_prf(score >= t, ex.labels == c)[1], 4)
    meta: dict[str, Any] = {
        "l2": cv["l2"],
        "cv_log_loss": round(cv["loss"], 4),
        "cv_macro_f1": round(macro_f1(pred, ex.labels, n_classes), 4),
        "cv_recall_at_precision_0.80": recall,
        "train_rows": len(ex.texts),
        "train_rows_per_class": np.bincount(ex.labels, minlength=n_classes).tolist(),
    }
    if dialect:
        t, r = dialect_threshold(1.0 - prob[:, 0], ex)
        thresholds["dialect"] = t
        meta["cv_recall_at_precision_0.80"] = {"dialect": round(r, 4)}
        meta["dialect_prior"] = DIALECT_PRIOR
    if flag_f1:
        t = f1_threshold(prob[:, 1], ex.labels == 1)
        thresholds["flag"] = t
        meta["cv_f1_at_flag"] = round(binary_prf(prob[:, 1] >= t, ex.labels == 1)[2], 4)
    w, b = tm.fit_linear(feats, ex.labels, n_classes, l2=cv["l2"], epochs=EPOCHS,
                         sample_weight=ex.weights)
    return Trained(name, classes, w.astype(np.float16), b, cv["calibration"], thresholds, meta)


def save(heads: list[Trained], weights_path: Path, meta_path: Path, sources: dict[str, str]) -> None:
    """Stacked float16 weights (npz, no compression timestamps to vary) and the JSON meta,
    each written to a temporary file and renamed."""
    stacked = np.concatenate([h.weights for h in heads], axis=1)
    specs, start = [], 0
    for h in heads:
        stop = start + h.weights.shape[1]
        specs.append({
            "name": h.name, "classes": list(h.classes), "columns": [start, stop],
            "bias": [round(float(x), 6) for x in h.bias], "calibration": h.calibration,
            "thresholds": h.thresholds, "meta": h.meta,
        })
        start = stop
    meta = {
        "feature_version": tm.FEATURE_VERSION, "bits": tm.DEFAULT_BITS, "max_n": tm.MAX_N,
        "seed": SEED, "folds": FOLDS, "epochs": EPOCHS, "heads": specs, "sources": sources,
        "target_precision": TARGET_PRECISION,
    }
    tmp = weights_path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, weights=stacked)
    tmp.replace(weights_path)
    tmp_meta = meta_path.with_suffix(".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp_meta.replace(meta_path)
    tm.load_model.cache_clear()


SOURCES = {
    "MultiPICo": "MP_dev.json, LeWiDi 2025 release; CC BY 4.0; Casola et al., ACL 2024",
    "UD dialect sentences": "bar_maibaam, gsw_uzh, gsw_divital, nds_lsdc (CC BY-SA 4.0), "
    "scn_stb, nap_rb (CC BY-SA 4.0), lij_glt (C-UDA 1.0), de_pud (CC BY-SA 3.0); "
    "via mainlp/nlp4dialects-exercises",
    "iSarcasmEval": "train.En.csv, train.Ar.csv; MIT; Abu Farha et al., SemEval-2022 Task 6",
}


def train_all(root: Path) -> list[Trained]:
    heads = []
    for lang, spec in VARIETY_GROUPS.items():
        t0 = time.perf_counter()
        heads.append(train_head(f"variety_{lang}", spec["classes"], variety_examples(root, lang),
                                untagged=spec["default"]))
        print(f"variety_{lang}: {heads[-1].meta} {time.perf_counter() - t0:.0f}s", flush=True)
    for lang, spec in DIALECT_GROUPS.items():
        t0 = time.perf_counter()
        heads.append(train_head(f"dialect_{lang}", spec["classes"], dialect_examples(root, lang),
                                untagged="standard", dialect=True))
        print(f"dialect_{lang}: {heads[-1].meta} {time.perf_counter() - t0:.0f}s", flush=True)
    t0 = time.perf_counter()
    heads.append(train_head("irony", ("literal", "ironic"), irony_examples(root), untagged="literal",
                            flag_f1=True))
    print(f"irony: {heads[-1].meta} {time.perf_counter() - t0:.0f}s", flush=True)
    return heads


# --- reports needing refits (leave-one-file-out, iSarcasmEval folds) --------------------


def lofo_dialect(root: Path, lang: str, l2: float) -> list[dict[str, Any]]:
    """Dialect vs standard with each UD dialect file held out (and, for German, one fifth
    of de_pud): the head is refitted without them and scores them."""
    spec = DIALECT_GROUPS[lang]
    rows = []
    pud = _lines(root / "ud-dialect-sentences" / UD_STANDARD)
    for k, name in enumerate(spec["files"]):
        fold = k % FOLDS
        ex = dialect_examples(root, lang, skip_file=name, skip_pud_fold=fold if lang == "de" else None)
        feats = tm.featurize(ex.texts)
        w, b = tm.fit_linear(feats, ex.labels, len(spec["classes"]), l2=l2, epochs=EPOCHS,
                             sample_weight=ex.weights)
        positives = _lines(root / "ud-dialect-sentences" / name)
        if lang == "de":
            negatives = [t for i, t in enumerate(pud) if i % FOLDS == fold]
            neg_name = f"de_pud fold {fold}"
        else:  # no held-out standard Italian file: MultiPICo test Italian replies
            negatives = load_multipico(root, "report").filter(pl.col("lang") == "it").get_column(
                "text").to_list()
            neg_name = "multipico test it replies"
        scores = tm.linear_scores(tm.featurize(positives + negatives), w.astype(np.float16)
                                  .astype(np.float32), b)
        dialect = tm.decide(scores) != 0
        gold = np.array([True] * len(positives) + [False] * len(negatives))
        row = binary_report(f"{name} (held out)", neg_name, dialect, gold)
        row["previous"] = binary_report(name, "", previous_dialect(positives + negatives, lang), gold)
        rows.append(row)
    return rows


def binary_report(name: str, negatives: str, pred: np.ndarray, gold: np.ndarray) -> dict[str, Any]:
    p, r, f1 = binary_prf(pred, gold)
    pn, rn, f1n = binary_prf(~pred, ~gold)
    maj = gold.mean() >= 0.5
    maj_pred = np.full(gold.size, maj)
    return {
        "set": name, "negatives": negatives, "n_pos": int(gold.sum()), "n_neg": int((~gold).sum()),
        "P": round(p, 3), "R": round(r, 3), "F1": round(f1, 3),
        "macro_F1": round((f1 + f1n) / 2, 3),
        "majority_macro_F1": round(
            (binary_prf(maj_pred, gold)[2] + binary_prf(~maj_pred, ~gold)[2]) / 2, 3),
        "confusion": [[int(np.sum(~gold & ~pred)), int(np.sum(~gold & pred))],
                      [int(np.sum(gold & ~pred)), int(np.sum(gold & pred))]],
    }


def isarcasm_cv(root: Path, l2: float) -> dict[str, Any]:
    """iSarcasmEval 5-fold: the irony head refitted without each fifth scores it; the flag
    threshold and the Platt calibration are the shipped head's (chosen on its own
    out-of-fold scores), applied to each refitted head's raw scores."""
    isr = isarcasm(root)
    folds = fold_of(isr.get_column("id").to_list())
    gold_all = isr.get_column("sarcastic").to_numpy()
    probs = np.zeros(isr.height)
    for f in range(FOLDS):
        ex = irony_examples(root, skip_isarcasm_fold=f)
        feats = tm.featurize(ex.texts)
        w, b = tm.fit_linear(feats, ex.labels, 2, l2=l2, epochs=EPOCHS, sample_weight=ex.weights)
        test = np.flatnonzero(folds == f)
        s = tm.linear_scores(tm.featurize(isr.get_column("text").gather(test)), w, b)
        probs[test] = s[:, 0]
    return {"scores": probs, "gold": gold_all, "lang": isr.get_column("lang").to_list()}


# --- the previous (lexicon-only) tagger, for comparison ------------------------------------

PREVIOUS_VARIETY = {
    "de": {"gsw": "de-CH", "bar": "de-AT", "de-AT": "de-AT"},
    "en": {"en-IE": "en-IE", "sco": "en-GB"},
    "es": {"es-x-andalus": "es-ES", "es-AR": "es-419", "es-MX": "es-419"},
    "pt": {},
    "fr": {"fr-CA": "fr-CA"},
}
PREVIOUS_DEFAULT = {"de": "de-DE", "en": "en-other", "es": "es-419", "pt": "pt-BR", "fr": "fr-FR"}
"""What the lexicon tagger's `dialect` means as a variety class; untagged rows get the
group's default (the majority class where there is no reference standard)."""


def previous_variety(frame: pl.DataFrame, lang: str, spec: dict[str, Any]) -> np.ndarray:
    from curation.langid import identify_language
    from curation.taggers.dialect import DialectConfig, tag_dialect

    tagged = tag_dialect(identify_language(frame.select("text")), config=DialectConfig(use_model=False))
    index = {c: i for i, c in enumerate(spec["classes"])}
    mapping = PREVIOUS_VARIETY[lang]
    return np.array([index[mapping.get(d, PREVIOUS_DEFAULT[lang]) if d else PREVIOUS_DEFAULT[lang]]
                     for d in tagged.get_column("dialect").to_list()])


def previous_dialect(texts: list[str], lang: str) -> np.ndarray:
    from curation.langid import identify_language
    from curation.taggers.dialect import DialectConfig, tag_dialect, varieties

    group = varieties().filter(pl.col("language") == lang).get_column("code").to_list()
    tagged = tag_dialect(identify_language(pl.DataFrame({"text": texts})),
                         config=DialectConfig(use_model=False))
    return tagged.get_column("dialect").is_in(group).fill_null(False).to_numpy()


# --- held-out reports with the shipped heads -------------------------------------------------


def report(root: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    model = tm.load_model()
    out: dict[str, Any] = {"variety": [], "dialect": [], "irony": []}
    # variety: MultiPICo test replies
    for lang, spec in VARIETY_GROUPS.items():
        frame, _ = multipico_variety(root, lang, "test")
        head = model.head(f"variety_{lang}")
        raw = head.scores(tm.featurize(frame.get_column("text")))
        prob = tm.calibrated(raw, head.calibration)
        gold = frame.get_column("label").to_numpy()
        pred = tm.decide(raw)
        k = len(spec["classes"])
        majority = np.full(gold.size, np.bincount(gold, minlength=k).argmax())
        selected = {}
        for cls, t in head.thresholds.items():
            c = spec["classes"].index(cls)
            chosen = (pred == c) & (prob[:, c] >= t)
            p, r, _ = binary_prf(chosen, gold == c)
            selected[cls] = {"threshold": t, "selected": int(chosen.sum()), "P": round(p, 3),
                             "R": round(r, 3)}
        prev = previous_variety(frame, lang, spec)
        out["variety"].append({
            "lang": lang, "classes": list(spec["classes"]), "n": int(gold.size),
            "macro_F1": round(macro_f1(pred, gold, k), 3),
            "previous_macro_F1": round(macro_f1(prev, gold, k), 3),
            "majority_macro_F1": round(macro_f1(majority, gold, k), 3),
            "per_class_F1": {c: round(binary_prf(pred == i, gold == i)[2], 3)
                             for i, c in enumerate(spec["classes"])},
            "confusion": confusion(pred, gold, k), "subset": selected,
        })
    # dialect vs standard, evaluation-only sets against MultiPICo test standard replies
    std = {lang: load_multipico(root, "report").filter(
        (pl.col("lang") == lang) & (pl.col("country") == lang)).get_column("text").to_list()
        for lang in ("de", "it")}
    eval_sets = [
        ("de", "GDI 2019 test (research-only)", load_gdi(root, "report").get_column("text").to_list()),
        ("de", "SMG 2021 CH test (research-only)", load_smg(root, "report").get_column("text").to_list()),
        ("it", "ITDI 2022 test (research-only)", load_itdi(root, "report").get_column("text").to_list()),
    ]
    for lang, name, positives in eval_sets:
        head = model.head(f"dialect_{lang}")
        raw = head.scores(tm.featurize(positives + std[lang]))
        prob = tm.calibrated(raw, head.calibration)
        pred = tm.decide(raw) != 0
        gold = np.array([True] * len(positives) + [False] * len(std[lang]))
        row = binary_report(name, f"multipico test {lang}-{lang.upper()} replies", pred, gold)
        row["previous"] = binary_report(name, "", previous_dialect(positives + std[lang], lang), gold)
        dialect_prob = 1.0 - prob[:, 0]
        t = head.thresholds["dialect"]
        row["subset"] = dict(zip(("P", "R", "F1"), (round(x, 3) for x in binary_prf(
            dialect_prob >= t, gold)), strict=True)) | {
            "threshold": t, "standard_tagged": round(float((dialect_prob[~gold] >= t).mean()), 4)}
        out["dialect"].append(row)
    # false positives on formal standard text (ID10M sentences, NC: evaluation only)
    out["dialect_fp"] = []
    for lang, language in (("de", "german"), ("it", "italian")):
        texts = load_id10m(root, language, "report").get_column("text").to_list()
        pred, _ = model.head(f"dialect_{lang}").predict(tm.featurize(texts))
        out["dialect_fp"].append({"set": f"id10m {language} test sentences (standard)",
                                  "n": len(texts),
                                  "tagged_dialect": round(float((pred != 0).mean()), 4)})
    # irony
    head = model.head("irony")
    flag = head.thresholds["flag"]
    subset_t = head.thresholds.get("ironic", 1.01)

    from curation.taggers.humor import HumorConfig, tag_humor

    def irony_row(name: str, texts: list[str], gold: np.ndarray, prob: np.ndarray | None = None,
                  ) -> dict[str, Any]:
        previous = None
        if prob is None:
            prob = head.proba(tm.featurize(texts))[:, 1]
            from curation.langid import identify_language

            cues = tag_humor(identify_language(pl.DataFrame({"text": texts})),
                             config=HumorConfig(use_model=False))
            previous = round(binary_prf(cues.get_column("sarcasm").to_numpy(), gold)[2], 3)
        pred = prob >= flag
        p, r, f1 = binary_prf(pred, gold)
        sp, sr, _ = binary_prf(prob >= subset_t, gold)
        return {"set": name, "n": int(gold.size), "ironic": int(gold.sum()), "P": round(p, 3),
                "R": round(r, 3), "F1": round(f1, 3), "AUC": round(auc(prob, gold), 3),
                "all_ironic_F1": round(binary_prf(np.ones(gold.size, bool), gold)[2], 3),
                "previous_cues_F1": previous,
                "confusion": [[int(np.sum(~gold & ~pred)), int(np.sum(~gold & pred))],
                              [int(np.sum(gold & ~pred)), int(np.sum(gold & pred))]],
                "subset": {"threshold": subset_t, "P": round(sp, 3), "R": round(sr, 3),
                           "selected": int((prob >= subset_t).sum())}}

    mp = load_multipico(root, "report").filter(pl.col("irony").is_not_null())
    out["irony"].append(irony_row("MultiPICo test replies", mp.get_column("text").to_list(),
                                  mp.get_column("irony").to_numpy()))
    for lang in sorted(set(mp.get_column("lang").to_list())):
        part = mp.filter(pl.col("lang") == lang)
        out["irony"].append(irony_row(f"  MultiPICo test {lang}", part.get_column("text").to_list(),
                                      part.get_column("irony").to_numpy()))
    for strip, label in ((True, "irony hashtags removed"), (False, "as distributed")):
        se = load_semeval(root, strip_hashtags=strip)
        out["irony"].append(irony_row(f"SemEval-2018 test, {label} (NC, eval only)",
                                      se.get_column("text").to_list(), se.get_column("irony").to_numpy()))
    if extra:
        out.update({k: v for k, v in extra.items() if k != "isarcasm_raw"})
        raw = extra.get("isarcasm_raw")
        if raw is not None:
            cal = head.calibration
            prob = tm.calibrated(raw["scores"][:, None], cal)[:, 1]
            gold = raw["gold"].astype(bool)
            out["irony"].append(irony_row("iSarcasmEval train, 5-fold (held-out folds)", [], gold,
                                          prob))
            langs = np.array(raw["lang"])
            for lang in ("en", "ar"):
                m = langs == lang
                out["irony"].append(irony_row(f"  iSarcasmEval {lang}, 5-fold", [], gold[m], prob[m]))
    return out


def auc(scores: np.ndarray, gold: np.ndarray) -> float:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.size)
    ranks[order] = np.arange(1, scores.size + 1)
    # average ranks of ties
    _, inv, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    pos = gold.sum()
    neg = gold.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    return float((ranks[gold].sum() - pos * (pos + 1) / 2) / (pos * neg))


# --- bench/TAGGERS.md ----------------------------------------------------------------------

START = "<!-- model-tables:start (generated by bench/train_taggers.py; edit around, not inside) -->"
END = "<!-- model-tables:end -->"
TARGETS = {"variety": 0.60, "dialect": 0.85, "MultiPICo test replies": 0.50,
           "SemEval-2018 test, irony hashtags removed (NC, eval only)": 0.55,
           "iSarcasmEval train, 5-fold (held-out folds)": 0.40}


def _cm(matrix: list[list[int]], classes: list[str]) -> str:
    rows = ["gold \\ predicted | " + " | ".join(classes), "|".join(["---"] * (len(classes) + 1))]
    rows += [f"{c} | " + " | ".join(str(x) for x in row) for c, row in zip(classes, matrix, strict=True)]
    return "\n".join("| " + r + " |" for r in rows)


def _sub(row: dict[str, Any]) -> str:
    sub = row.get("subset")
    if not sub:
        return "–"
    return f"{sub['threshold']:.2f}: {sub['R']:.3f}, {100 * sub['standard_tagged']:.1f} %"


def render(result: dict[str, Any]) -> str:
    model = tm.load_model()
    out = ["### Regional variety: MultiPICo test replies (train: MP_dev replies and posts)", "",
           "| language | classes | n | model macro-F1 | target | previous tagger macro-F1 | majority macro-F1 "
           "| per-class F1 |", "|---|---|---|---|---|---|---|---|"]
    for r in result["variety"]:
        per = ", ".join(f"{c} {v:.3f}" for c, v in r["per_class_F1"].items())
        mark = "met" if r["macro_F1"] >= TARGETS["variety"] else "**not met**"
        out.append(f"| {r['lang']} | {' / '.join(r['classes'])} | {r['n']} | {r['macro_F1']:.3f} | "
                   f"0.60 ({mark}) | {r['previous_macro_F1']:.3f} | {r['majority_macro_F1']:.3f} | {per} |")
    out += ["", "Subset selection (`dialect` named by a variety head) at the threshold chosen on "
            "out-of-fold training probabilities for precision ≥ 0.80 (and ≥ the class share + 0.10):", "",
            "| language | variety | threshold | CV recall | test selected | test P | test R |",
            "|---|---|---|---|---|---|---|"]
    for r in result["variety"]:
        cv = model.head(f"variety_{r['lang']}").meta["cv_recall_at_precision_0.80"]
        for cls, sel in r["subset"].items():
            t = "never" if sel["threshold"] > 1 else f"{sel['threshold']:.2f}"
            out.append(f"| {r['lang']} | {cls} | {t} | {cv.get(cls, 0):.3f} | {sel['selected']} | "
                       f"{sel['P']:.3f} | {sel['R']:.3f} |")
    out += ["", "Confusion matrices (rows gold, columns predicted):", ""]
    for r in result["variety"]:
        out += [f"*{r['lang']}*", "", _cm(r["confusion"], r["classes"]), ""]
    out += ["### Dialect vs standard (German, Italian)", "",
            "Leave-one-file-out: each UD dialect file (and, for German, one fifth of `de_pud`) is held out "
            "and the head refitted without it, so the dialect scored was never seen. Evaluation-only sets "
            "(GDI, SMG, ITDI; research-only) are scored by the shipped head against MultiPICo *test* replies "
            "of the standard language. Previous tagger = the lexicon + lid.176 tagger on the same rows.", "",
            "| held-out set | negatives | n dialect / standard | P | R | model macro-F1 | target | "
            "previous macro-F1 | majority macro-F1 | confusion [[TN, FP], [FN, TP]] | subset threshold: R, "
            "standard tagged |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result.get("lofo", []) + result["dialect"]:
        mark = "met" if r["macro_F1"] >= TARGETS["dialect"] else "**not met**"
        out.append(f"| {r['set']} | {r['negatives']} | {r['n_pos']} / {r['n_neg']} | {r['P']:.3f} | "
                   f"{r['R']:.3f} | {r['macro_F1']:.3f} | 0.85 ({mark}) | {r['previous']['macro_F1']:.3f} | "
                   f"{r['majority_macro_F1']:.3f} | {r['confusion']} | {_sub(r)} |")
    out += ["", "False alarms on formal standard text (ID10M sentences; NC, evaluation only):", "",
            "| set | n | tagged dialect |", "|---|---|---|"]
    for r in result["dialect_fp"]:
        out.append(f"| {r['set']} | {r['n']} | {100 * r['tagged_dialect']:.1f} % |")
    out += ["", "### Irony / sarcasm (`sarcasm` flag = best-F1 threshold on out-of-fold training rows)", "",
            "| set | n | ironic | P | R | model F1 | target | AUC | previous (cues) F1 | all-ironic F1 | "
            "confusion [[TN, FP], [FN, TP]] | subset (P≥0.80 threshold) P / R |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["irony"]:
        target = TARGETS.get(r["set"])
        mark = "" if target is None else (f"{target:.2f} (met)" if r["F1"] >= target else
                                          f"{target:.2f} (**not met**)")
        prev = "" if r.get("previous_cues_F1") is None else f"{r['previous_cues_F1']:.3f}"
        sub = r["subset"]
        out.append(f"| {r['set']} | {r['n']} | {r['ironic']} | {r['P']:.3f} | {r['R']:.3f} | {r['F1']:.3f} | "
                   f"{mark} | {r['AUC']:.3f} | {prev} | {r['all_ironic_F1']:.3f} | {r['confusion']} | "
                   f"{sub['P']:.3f} / {sub['R']:.3f} |")
    irony = model.head("irony")
    out += ["", f"Irony head: flag threshold {irony.thresholds['flag']:.2f}, subset threshold "
            f"{irony.thresholds.get('ironic', 1.01):.2f}; cross-validated on its training rows: "
            f"F1 {irony.meta['cv_f1_at_flag']:.3f}, recall at precision 0.80 "
            f"{irony.meta['cv_recall_at_precision_0.80'].get('ironic', 0):.3f}. The previous cue+model tagger "
            "scored F1 0.321 on MultiPICo test and 0.260 on SemEval (hashtags removed), see git history.", ""]
    return "\n".join(out)


def write_markdown(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8")
    block = f"{START}\n\n{body}\n\n{END}"
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Statistical models (held-out results)\n\n" + block + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-data", default=None)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--markdown", help="write the tables into this file (bench/TAGGERS.md)")
    args = parser.parse_args(argv)
    root = find_eval_data(args.eval_data)
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if not args.report_only:
        heads = train_all(root)
        save(heads, tm.MODEL_WEIGHTS, tm.MODEL_META, SOURCES)
        meta = {h.name: h.meta for h in heads}
        extra["lofo"] = [r for lang in DIALECT_GROUPS
                         for r in lofo_dialect(root, lang, meta[f"dialect_{lang}"]["l2"])]
        extra["isarcasm_raw"] = isarcasm_cv(root, meta["irony"]["l2"])
    elif REPORT.is_file():
        previous = json.loads(REPORT.read_text(encoding="utf-8"))
        extra = {k: previous[k] for k in ("lofo",) if k in previous}
        extra["isarcasm_rows"] = [r for r in previous.get("irony", []) if "iSarcasm" in r["set"]]
    result = report(root, extra)
    if "isarcasm_rows" in result:
        result["irony"] += result.pop("isarcasm_rows")
    result["seconds"] = round(time.perf_counter() - t0, 1)
    tmp = REPORT.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    tmp.replace(REPORT)
    body = render(result)
    print(body)
    if args.markdown:
        write_markdown(Path(args.markdown), body)


if __name__ == "__main__":
    main()
