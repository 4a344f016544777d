"""Humor and sarcasm tagging: a calibrated irony/sarcasm model, with cues kept for inspection.

Policy: `humor_score` (0..1) is the calibrated probability that a text is ironic or
sarcastic, from the `irony` head of the taggers' model (`curation/taggers/model.py`:
hashed byte n-grams and words, logistic regression, Platt-calibrated on cross-validated
scores). It was trained **only** on permissively licensed sets: MultiPICo dev replies
(CC BY 4.0, Casola et al., ACL 2024) and iSarcasmEval train (MIT, Abu Farha et al.,
SemEval-2022), never on the non-commercial SemEval-2018 irony set, which is evaluation
only (data/README.md, bench/TAGGERS.md). `sarcasm` is `humor_score >= threshold`, the
threshold with the best F1 on the out-of-fold probabilities of the training data
(stored with the model). `humor_subset` selects with the head's precision-0.80
threshold instead (`subset_threshold`).

The cue lexicon (`data/humor_cues.tsv`: laughter tokens, irony phrases and hashtags,
eye-roll emoji, emphatic punctuation) is the previous, keyword-only tagger: with
`HumorConfig(use_model=False)` the score is `sigmoid(base_logit + cue weights)` and
`sarcasm` needs irony cues. bench/TAGGERS.md compares the two.

Terms:

* *cue*: a row of `data/humor_cues.tsv`; its `weight` is added to a log-odds score once
  per text when the cue occurs (language `*` cues count in every language).

Pitfalls: the model sees the text alone; MultiPICo annotators also saw the post a reply
answers, so some irony is not visible in the reply (bench/TAGGERS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from curation.taggers._common import DATA_DIR, ROW, read_table, with_row_index

OUTPUT_COLUMNS: tuple[str, ...] = ("humor_score", "sarcasm")
CUES_FILE = DATA_DIR / "humor_cues.tsv"
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
    """Score with the irony head; False: the previous cue-only tagger."""
    base_logit: float = -2.0
    """Log-odds of a text with no cue (cue-only mode)."""
    threshold: float | None = None
    """Probability above which `sarcasm` is true; None: the model's F1 threshold (or 0.5
    in cue-only mode)."""
    max_chars: int = 2_000
    cues_path: Path = CUES_FILE


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


def irony_probability(texts: pl.Series) -> pl.Series:
    """The irony head's calibrated probability per text (0..1), as `humor_score`."""
    from curation.taggers.model import featurize_cached, load_model

    head = load_model().head("irony")
    return pl.Series("humor_score", head.proba(featurize_cached(texts))[:, 1], dtype=pl.Float64)


def model_thresholds() -> tuple[float, float]:
    """(`sarcasm` flag threshold, subset threshold at precision >= 0.80) of the irony head."""
    from curation.taggers.model import load_model

    thresholds = load_model().head("irony").thresholds
    return float(thresholds["flag"]), float(thresholds.get("ironic", 1.01))


def _cue_scores(
    frame: pl.DataFrame, column: str, language_column: str, config: HumorConfig
) -> pl.DataFrame:
    """`ROW`, `humor_score`, `irony_prob` of the cue-only tagger for each row of `frame`."""
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

    def sigmoid(logit: pl.Expr) -> pl.Expr:
        return 1.0 / (1.0 + (-logit).exp())

    base = pl.lit(config.base_logit)
    return (
        work.select(ROW)
        .join(per_family, on=ROW, how="left")
        .select(
            ROW,
            sigmoid(base + pl.col("all_cues").fill_null(0.0)).alias("humor_score"),
            sigmoid(base + pl.col("irony_cues").fill_null(0.0)).alias("irony_prob"),
        )
    )


def tag_humor(
    frame: pl.DataFrame,
    column: str = "text",
    language_column: str = "language",
    config: HumorConfig | None = None,
) -> pl.DataFrame:
    """`frame` plus `humor_score` (0..1, calibrated) and `sarcasm` (bool).

    The model reads the text alone; the language column is used by the cue-only mode.
    Row order and other columns are kept.
    """
    config = config or HumorConfig()
    base = with_row_index(frame, column, OUTPUT_COLUMNS)
    if config.use_model:
        flag, _ = model_thresholds()
        threshold = config.threshold if config.threshold is not None else flag
        score = irony_probability(base.get_column(column))
        return base.with_columns(score, (score >= threshold).alias("sarcasm")).drop(ROW)
    threshold = config.threshold if config.threshold is not None else 0.5
    scored = _cue_scores(base, column, language_column, config)
    return (
        base.join(scored, on=ROW, how="left", maintain_order="left")
        .with_columns((pl.col("irony_prob") >= threshold).alias("sarcasm"))
        .drop(ROW, "irony_prob")
    )
