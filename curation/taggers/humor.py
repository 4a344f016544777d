"""Humor and sarcasm tagging: language-specific cues plus a small irony model.

Policy: `humor_score` (0..1) ranks rows for `humor_subset`; `sarcasm` flags irony. Both
come from evidence a reviewer can check: cue lexicon entries (laughter tokens, irony
phrases and hashtags, eye-roll emoji, emphatic punctuation, scare quotes) and a logistic
regression over word and suffix features trained **only** on MultiPICo (CC BY 4.0,
Casola et al., ACL 2024; see data/README.md), never on the non-commercial SemEval-2018
irony set, which is evaluation only.

Terms:

* *cue*: a row of `data/humor_cues.tsv`; its `weight` is added to a log-odds score once
  per text when the cue occurs (language `*` cues count in every language).
* *model logit*: intercept plus the weights of the text's features (`w:` tokens, `b:`
  token bigrams, `s:` word suffixes) from `data/irony_model.tsv`; loaded lazily. It is
  calibrated to MultiPICo's share of ironic replies (about 27 %).
* `sarcasm = sigmoid(model logit + irony cues) >= threshold` (without the model,
  `base_logit` replaces the model logit). The threshold is the best F1 on the tune part
  of MultiPICo dev among thresholds that flag no more replies than are ironic there,
  and is stored with the model.
* `humor_score = sigmoid(base_logit + (model logit - prior logit) + every cue)`: a text
  with no cue and an average model score gets sigmoid(-2) = 0.12; laughter and emphasis
  raise humor without implying irony.

Pitfalls: cues are matched on lower-cased tokens of the normalised text (links and
@mentions removed); `text` cues run on the text itself. The model sees the reply alone,
as the tagger does, although MultiPICo annotators also saw the post it answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from curation.taggers._common import DATA_DIR, ROW, read_table, with_row_index

OUTPUT_COLUMNS: tuple[str, ...] = ("humor_score", "sarcasm")
CUES_FILE = DATA_DIR / "humor_cues.tsv"
MODEL_WEIGHTS = DATA_DIR / "irony_model.tsv"
MODEL_META = DATA_DIR / "irony_model.json"
TOKEN_PATTERN = r"#[\p{L}\p{N}_]+|[\p{L}\p{M}]+(?:'[\p{L}\p{M}]+)*|\p{Extended_Pictographic}|[!?]+"
"""Words (with inner apostrophes), hashtags, emoji and runs of ! and ?."""
MAX_PHRASE = 5
FAMILIES: tuple[str, ...] = ("laughter", "irony", "emphasis")

_VIEW = "__humor_view"
_LANG = "__humor_lang"


@dataclass(frozen=True)
class HumorConfig:
    """Knobs of `tag_humor`; the threshold comes from the model file unless set here."""

    use_model: bool = True
    """Add the irony model's logit (MultiPICo-trained) to the cues."""
    base_logit: float = -2.0
    """Log-odds of a text with no cue, used when the model is off."""
    threshold: float | None = None
    """Probability above which `sarcasm` is true; None: the model file's (or 0.5)."""
    max_chars: int = 2_000
    cues_path: Path = CUES_FILE
    model_weights: Path = MODEL_WEIGHTS
    model_meta: Path = MODEL_META


def _text_view(column: str, max_chars: int) -> pl.Expr:
    """Lower-cased normalised text: no links or @mentions, curly apostrophes folded."""
    from curation.quality import normalized_text

    return (
        normalized_text(pl.col(column))
        .str.slice(0, max_chars)
        .str.replace_all("’", "'", literal=True)
        .str.to_lowercase()
    )


def humor_tokens(frame: pl.DataFrame, view: str) -> pl.DataFrame:
    """`ROW`, `pos`, `tok`: the tokens cues and model features are built from."""
    return (
        frame.select(ROW, pl.col(view).str.extract_all(TOKEN_PATTERN).alias("tok"))
        .explode("tok")
        .drop_nulls("tok")
        .with_columns(pl.int_range(pl.len()).over(ROW).cast(pl.Int32).alias("pos"))
    )


def features(tokens: pl.DataFrame) -> pl.DataFrame:
    """`ROW`, `feature`: distinct model features (token, token bigram, 3-letter suffix).

    Shared by training and inference, so both see exactly the same features.
    """
    same_row = pl.col(ROW).shift(-1) == pl.col(ROW)
    words = tokens.filter(pl.col("tok").str.contains(r"^[\p{L}\p{M}]"))
    return pl.concat(
        [
            tokens.select(ROW, pl.format("w:{}", "tok").alias("feature")),
            tokens.select(
                ROW,
                pl.when(same_row)
                .then(pl.format("b:{} {}", "tok", pl.col("tok").shift(-1)))
                .alias("feature"),
            ).drop_nulls("feature"),
            words.filter(pl.col("tok").str.len_chars() >= 4).select(
                ROW, pl.format("s:{}", pl.col("tok").str.slice(-3)).alias("feature")
            ),
        ]
    ).unique()


@lru_cache(maxsize=4)
def load_cues(path: Path = CUES_FILE) -> pl.DataFrame:
    """The cue table, validated and with an id per cue (read once per process)."""
    cues = read_table(
        path,
        {
            "lang": pl.String,
            "family": pl.String,
            "kind": pl.String,
            "cue": pl.String,
            "weight": pl.Float64,
            "source": pl.String,
        },
    ).with_row_index("cue_id")
    bad = cues.filter(
        ~pl.col("family").is_in(list(FAMILIES))
        | ~pl.col("kind").is_in(["word", "phrase", "regex", "text"])
        | pl.col("weight").is_null()
        | pl.col("source").is_null()
        | ((pl.col("kind") == "phrase") & (pl.col("cue").str.count_matches(" ") >= MAX_PHRASE))
    )
    if bad.height:
        raise ValueError(f"{path.name}: invalid rows {bad.head(3).to_dicts()}")
    return cues.with_columns(
        pl.when(pl.col("kind").is_in(["word", "phrase"]))
        .then(pl.col("cue").str.to_lowercase().str.replace_all("’", "'", literal=True))
        .otherwise(pl.col("cue"))
        .alias("cue")
    )


@dataclass(frozen=True)
class IronyModel:
    """Feature weights and the calibration stored beside them."""

    weights: pl.DataFrame  # feature, weight
    intercept: float
    threshold: float
    meta: dict[str, Any]


@lru_cache(maxsize=2)
def load_model(weights_path: Path = MODEL_WEIGHTS, meta_path: Path = MODEL_META) -> IronyModel:
    """The irony model, read on first use only (a few hundred KB)."""
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    weights = read_table(weights_path, {"feature": pl.String, "weight": pl.Float64})
    return IronyModel(weights, float(meta["intercept"]), float(meta["threshold"]), meta)


def _cue_hits(work: pl.DataFrame, tokens: pl.DataFrame, cues: pl.DataFrame) -> pl.DataFrame:
    """`ROW`, `cue_id` for every cue found (each cue once per row)."""
    hits: list[pl.DataFrame] = []
    lang_ok = (pl.col("lang") == "*") | (pl.col("lang") == pl.col(_LANG))
    tokens_lang = tokens.join(work.select(ROW, _LANG), on=ROW)
    words = cues.filter(pl.col("kind") == "word").select(
        "cue_id", "lang", pl.col("cue").alias("tok")
    )
    hits.append(tokens_lang.join(words, on="tok").filter(lang_ok).select(ROW, "cue_id"))
    phrases = cues.filter(pl.col("kind") == "phrase")
    if phrases.height:
        grams = []
        for n in range(2, MAX_PHRASE + 1):
            same = pl.col(ROW).shift(-(n - 1)) == pl.col(ROW)
            grams.append(
                tokens_lang.select(
                    ROW,
                    _LANG,
                    pl.when(same)
                    .then(pl.concat_str([pl.col("tok").shift(-k) for k in range(n)], separator=" "))
                    .alias("gram"),
                ).drop_nulls("gram")
            )
        hits.append(
            pl.concat(grams)
            .join(phrases.select("cue_id", "lang", pl.col("cue").alias("gram")), on="gram")
            .filter(lang_ok)
            .select(ROW, "cue_id")
        )
    regexes = cues.filter(pl.col("kind") == "regex")
    if regexes.height:
        unique = tokens.select(pl.col("tok").unique())
        matched = pl.concat(
            [
                unique.filter(pl.col("tok").str.contains(pattern)).with_columns(
                    pl.lit(cue_id, pl.UInt32).alias("cue_id"), pl.lit(lang).alias("lang")
                )
                for cue_id, lang, pattern in regexes.select("cue_id", "lang", "cue").iter_rows()
            ]
        )
        hits.append(tokens_lang.join(matched, on="tok").filter(lang_ok).select(ROW, "cue_id"))
    for cue_id, lang, pattern in (
        cues.filter(pl.col("kind") == "text").select("cue_id", "lang", "cue").iter_rows()
    ):
        scope = pl.lit(True) if lang == "*" else pl.col(_LANG) == lang
        hits.append(
            work.filter(scope & pl.col("__raw").str.contains(pattern)).select(
                ROW, pl.lit(cue_id, pl.UInt32).alias("cue_id")
            )
        )
    return pl.concat(hits).unique()


def _model_logits(tokens: pl.DataFrame, model: IronyModel) -> pl.DataFrame:
    """`ROW`, `model_logit` for rows with at least one known feature."""
    return (
        features(tokens)
        .join(model.weights, on="feature")
        .group_by(ROW)
        .agg((pl.col("weight").sum() + model.intercept).alias("model_logit"))
    )


def _scores(
    frame: pl.DataFrame, column: str, language_column: str, config: HumorConfig
) -> tuple[pl.DataFrame, float]:
    """`ROW` plus `humor_score` and `irony_prob` for each row of `frame` (which has `ROW`),
    and the sarcasm threshold in force."""
    cues = load_cues(config.cues_path)
    lang = (
        pl.col(language_column).cast(pl.String).fill_null("und")
        if language_column in frame.columns
        else pl.lit("und")
    )
    work = frame.select(
        ROW,
        _text_view(column, config.max_chars).alias(_VIEW),
        pl.col(column).cast(pl.String).fill_null("").alias("__raw"),
        lang.alias(_LANG),
    )
    tokens = humor_tokens(work, _VIEW)
    per_family = (
        _cue_hits(work, tokens, cues)
        .join(cues.select("cue_id", "family", "weight"), on="cue_id")
        .group_by(ROW)
        .agg(
            pl.col("weight").sum().alias("all_cues"),
            pl.col("weight").filter(pl.col("family") == "irony").sum().alias("irony_cues"),
        )
    )
    if config.use_model:
        model = load_model(config.model_weights, config.model_meta)
        prior = float(model.meta["prior_logit"])
        base_logit = (
            work.select(ROW)
            .join(_model_logits(tokens, model), on=ROW, how="left")
            .select(
                ROW,
                pl.col("model_logit").fill_null(model.intercept).alias("irony_base"),
                (
                    pl.col("model_logit").fill_null(model.intercept) - prior + config.base_logit
                ).alias("base"),
            )
        )
        threshold = config.threshold if config.threshold is not None else model.threshold
    else:
        base_logit = work.select(
            ROW,
            pl.lit(config.base_logit).alias("irony_base"),
            pl.lit(config.base_logit).alias("base"),
        )
        threshold = config.threshold if config.threshold is not None else 0.5

    def sigmoid(logit: pl.Expr) -> pl.Expr:
        return 1.0 / (1.0 + (-logit).exp())

    scored = base_logit.join(per_family, on=ROW, how="left").select(
        ROW,
        sigmoid(pl.col("base") + pl.col("all_cues").fill_null(0.0)).alias("humor_score"),
        sigmoid(pl.col("irony_base") + pl.col("irony_cues").fill_null(0.0)).alias("irony_prob"),
    )
    return scored, threshold


def tag_humor(
    frame: pl.DataFrame,
    column: str = "text",
    language_column: str = "language",
    config: HumorConfig | None = None,
) -> pl.DataFrame:
    """`frame` plus `humor_score` (0..1) and `sarcasm` (bool).

    Language-specific cues need the language column (lid.176 labels); without it only
    the `*` cues and the model apply. Row order and other columns are kept.
    """
    config = config or HumorConfig()
    base = with_row_index(frame, column, OUTPUT_COLUMNS)
    scored, threshold = _scores(base, column, language_column, config)
    return (
        base.join(scored, on=ROW, how="left", maintain_order="left")
        .with_columns((pl.col("irony_prob") >= threshold).alias("sarcasm"))
        .drop(ROW, "irony_prob")
    )


# --- training (needs scikit-learn; never run at tagging time) --------------------------


def _majority_labels(path: Path) -> pl.DataFrame:
    """`id`, `lang`, `text` (the reply), `irony` from MultiPICo; ties dropped."""
    items = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for key, item in items.items():
        votes = [int(v) for v in item["annotations"].values()]
        if sum(votes) * 2 == len(votes):
            continue
        rows.append((key, item["lang"], item["text"]["reply"], sum(votes) * 2 > len(votes)))
    return pl.DataFrame(rows, schema=["id", "lang", "text", "irony"], orient="row")


def dev_split(frame: pl.DataFrame, seed: int = 20241, tune_share: float = 0.25) -> pl.DataFrame:
    """`frame` (MultiPICo dev rows with `id`, `lang`) plus `tune`: the fixed-seed split,
    stratified by language, that the training uses and the benchmark's tune mode reads."""
    order = frame.sort("id").with_columns(
        pl.int_range(pl.len()).shuffle(seed=seed).over("lang").alias("__rank")
    )
    tune = order.select("id", (pl.col("__rank") < pl.len().over("lang") * tune_share).alias("tune"))
    return frame.join(tune, on="id", how="left", maintain_order="left")


def train_irony_model(
    dev_path: Path,
    weights_path: Path = MODEL_WEIGHTS,
    meta_path: Path = MODEL_META,
    seed: int = 20241,
    tune_share: float = 0.25,
) -> str:
    """Fit the irony model on MultiPICo dev (CC BY 4.0) and write it; returns a summary.

    The dev file is split by `seed` into train and tune parts (stratified by language);
    the regularisation strength and the sarcasm threshold are chosen on the tune part.
    MP_test.json is never read here: it is what bench/eval_taggers.py reports on.
    """
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn import __version__ as sklearn_version
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    if dev_path.name != "MP_dev.json":
        raise ValueError(f"the irony model trains on MultiPICo MP_dev.json only, not {dev_path}")
    data = dev_split(_majority_labels(dev_path), seed, tune_share).with_row_index(ROW)
    view = data.select(ROW, _text_view("text", 2_000).alias(_VIEW))
    feats = features(humor_tokens(view, _VIEW)).join(data.select(ROW, "tune"), on=ROW)
    train_feats = feats.filter(~pl.col("tune"))
    vocab = (
        train_feats.group_by("feature")
        .agg(pl.len().alias("df"))
        .filter(pl.col("df") >= 2)
        .sort("feature")
        .with_row_index("col")
    )

    def matrix(part: pl.DataFrame) -> tuple[Any, Any, pl.DataFrame]:
        rows = part.select(ROW, "irony").with_row_index("r")
        cells = feats.join(rows.select(ROW, "r"), on=ROW).join(
            vocab.select("feature", "col"), on="feature"
        )
        x = csr_matrix(
            (
                np.ones(cells.height),
                (cells.get_column("r").to_numpy(), cells.get_column("col").to_numpy()),
            ),
            shape=(rows.height, vocab.height),
        )
        return x, rows.get_column("irony").to_numpy(), rows

    x_train, y_train, _ = matrix(data.filter(~pl.col("tune")))
    x_tune, y_tune, _ = matrix(data.filter(pl.col("tune")))
    best: tuple[float, float, Any] | None = None
    for c in (0.03, 0.1, 0.3, 1.0, 3.0):
        fitted = LogisticRegression(C=c, max_iter=2_000).fit(x_train, y_train)
        auc = roc_auc_score(y_tune, fitted.decision_function(x_tune))
        if best is None or auc > best[0]:
            best = (auc, c, fitted)
    assert best is not None
    auc, c, fitted = best
    coef = fitted.coef_[0]
    kept = vocab.with_columns(pl.Series("weight", coef)).filter(pl.col("weight").abs() >= 1e-3)
    with weights_path.open("w", encoding="utf-8") as fh:
        fh.write(
            "# Irony model weights (logistic regression); see irony_model.json and README.md.\n"
        )
        fh.write("feature\tweight\n")
        for feature, weight in kept.select("feature", "weight").iter_rows():
            if "\t" in feature or "\n" in feature:
                continue
            fh.write(f"{feature}\t{weight:.5f}\n")
    prior = float(y_train.mean())
    meta = {
        "intercept": float(fitted.intercept_[0]),
        "prior_logit": float(np.log(prior / (1.0 - prior))),
        "threshold": 0.5,
        "C": c,
        "seed": seed,
        "tune_share": tune_share,
        "train_rows": int(x_train.shape[0]),
        "tune_rows": int(x_tune.shape[0]),
        "features": int(kept.height),
        "tune_auc_model": round(float(auc), 4),
        "trained_on": "MultiPICo MP_dev.json (LeWiDi 2025 release), majority vote, ties dropped",
        "licence": "CC BY 4.0; attribution: Casola et al., ACL 2024 (MultiPICo)",
        "library": f"scikit-learn {sklearn_version}",
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    load_model.cache_clear()
    # The sarcasm threshold is chosen on the tune part for model + irony cues together,
    # with the language lid.176 gives (as at tagging time).
    from curation.langid import identify_language

    tune = identify_language(data.filter(pl.col("tune")).drop(ROW)).with_row_index(ROW)
    scored, _ = _scores(
        tune, "text", "language", HumorConfig(model_weights=weights_path, model_meta=meta_path)
    )
    probs = scored.sort(ROW).get_column("irony_prob").to_numpy()
    gold = tune.get_column("irony").to_numpy()
    # Best F1 among thresholds that flag no more replies than are ironic: with a weak
    # signal the unconstrained optimum flags nearly everything, which is no subset.
    thresholds = np.arange(0.20, 0.90, 0.01)
    f1s = [
        f1_score(gold, probs >= t) if (probs >= t).mean() <= gold.mean() else -1.0
        for t in thresholds
    ]
    meta["threshold"] = round(float(thresholds[int(np.argmax(f1s))]), 2)
    meta["tune_f1"] = round(float(max(f1s)), 4)
    meta["tune_flagged_share"] = round(float((probs >= meta["threshold"]).mean()), 4)
    meta["tune_auc"] = round(float(roc_auc_score(gold, probs)), 4)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    load_model.cache_clear()
    return json.dumps(meta)
