"""Subsets stage: dialect, idiom and humor subsets of the filtered corpus, per UTC day.

The corpus is tagged once (`curation.taggers`), and each subset keeps the rows that
carry its tag. Subset rows keep every corpus column, so the checks can prove that each
row is still in the corpus and still passes the consent rules.
"""

from datetime import date

import dagster as dg
import polars as pl

from assets.corpus import CORPUS_SCHEMA, split_by_day
from assets.metadata import column_schema, table
from assets.partitions import DAILY, SINGLE_RUN
from curation.taggers import tag_dialect, tag_humor, tag_idioms

OWNER = "team:model-data"
HUMOR_THRESHOLD = 0.5

TAG_SCHEMA: dict[str, pl.DataType] = {
    "dialect": pl.String(),
    "dialect_confidence": pl.Float64(),
    "dialect_evidence": pl.List(pl.String()),
    "idioms": pl.List(pl.String()),
    "humor_score": pl.Float64(),
    "sarcasm": pl.Boolean(),
}
SUBSET_SCHEMA = {**CORPUS_SCHEMA, **TAG_SCHEMA}
TAG_COLUMNS = {
    "dialect": "Variety code (e.g. gsw, bar, nds, sco, nap, scn, vec), or null.",
    "dialect_confidence": "0..1: marker evidence combined with lid.176's dialect-label mass.",
    "dialect_evidence": "The dialect markers found in the text.",
    "idioms": "Idioms found (ids), tolerant to inflection, word order in a small window, and case.",
    "humor_score": "0..1 from laughter tokens, irony markers, emoji and punctuation (and a small model).",
    "sarcasm": "True when the text reads as sarcastic.",
}


def tag_corpus(corpus: pl.DataFrame) -> pl.DataFrame:
    """Every tag on every corpus row (each tagger adds its columns)."""
    tagged = tag_humor(tag_idioms(tag_dialect(corpus, "text", "language"), "text", "language"), "text", "language")
    return tagged.select(list(SUBSET_SCHEMA)).cast({k: v for k, v in TAG_SCHEMA.items()})  # type: ignore[arg-type]


def _per_country(frame: pl.DataFrame, tag: str) -> dg.TableMetadataValue:
    return table(frame.group_by("country", tag).len("rows").sort("rows", descending=True).head(50))


def _histogram(scores: pl.Series, bins: int = 10) -> dict[str, int]:
    edges = [i / bins for i in range(bins + 1)]
    counts = {f"{lo:.1f}-{hi:.1f}": 0 for lo, hi in zip(edges, edges[1:], strict=False)}
    labels = list(counts)
    for index, n in (scores.clip(0, 0.9999) * bins).floor().cast(pl.Int64).value_counts().iter_rows():
        counts[labels[index]] = int(n)
    return counts


@dg.multi_asset(
    outs={
        "dialect_subset": dg.AssetOut(
            description=("Corpus rows written in a regional variety (Swiss German, Bavarian, Low German, "
                         "Scots, Neapolitan, Sicilian, …), with the variety, a confidence and the markers "
                         "found."),
            group_name="subsets", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(SUBSET_SCHEMA, TAG_COLUMNS)}),
        "idiom_subset": dg.AssetOut(
            description="Corpus rows holding at least one idiomatic expression, with the idioms found.",
            group_name="subsets", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(SUBSET_SCHEMA, TAG_COLUMNS)}),
        "humor_subset": dg.AssetOut(
            description=(f"Corpus rows that read as humorous (humor_score ≥ {HUMOR_THRESHOLD}), with the "
                         "score and the sarcasm flag (a weak signal: rank by the score)."),
            group_name="subsets", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(SUBSET_SCHEMA, TAG_COLUMNS)}),
    },
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
)
def corpus_subsets(context: dg.AssetExecutionContext, filtered_corpus: pl.LazyFrame):
    """Tag the corpus rows of the days built once; each subset keeps the rows with its tag."""
    keys = context.partition_keys
    days = [date.fromisoformat(k) for k in keys]
    corpus = filtered_corpus.filter(pl.col("day").is_in(days)).collect()
    tagged = tag_corpus(corpus)
    subsets = {
        "dialect_subset": tagged.filter(pl.col("dialect").is_not_null()),
        "idiom_subset": tagged.filter(pl.col("idioms").list.len() > 0),
        # The sarcasm flag alone is too weak to select on (F1 0.32 on MultiPICo, bench/TAGGERS.md).
        "humor_subset": tagged.filter(pl.col("humor_score") >= HUMOR_THRESHOLD),
    }
    top_idioms = (subsets["idiom_subset"].select(pl.col("idioms").explode()).group_by("idioms").len("rows")
                  .sort("rows", descending=True).head(20))
    extra = {
        "dialect_subset": {"by_country_and_dialect": _per_country(subsets["dialect_subset"], "dialect"),
                           "dialects": subsets["dialect_subset"]["dialect"].n_unique()},
        "idiom_subset": {"top_idioms": table(top_idioms),
                         "by_country_and_language": _per_country(subsets["idiom_subset"], "language")},
        "humor_subset": {"humor_score_histogram_all_rows": _histogram(tagged["humor_score"]),
                         "sarcastic_rows": int(subsets["humor_subset"]["sarcasm"].sum()),
                         "by_country_and_sarcasm": _per_country(subsets["humor_subset"], "sarcasm")},
    }
    for name, frame in subsets.items():
        parts = split_by_day(frame, keys, SUBSET_SCHEMA)
        yield dg.Output(parts[keys[0]] if len(keys) == 1 else parts, output_name=name, metadata={
            "dagster/row_count": frame.height,
            "corpus_rows_tagged": tagged.height,
            "share_of_corpus": round(frame.height / tagged.height, 4) if tagged.height else 0.0,
            **extra[name],
        })
