"""Subsets stage: dialect, idiom, humor and local-knowledge subsets of the corpus, per UTC day.

The corpus is tagged once (`curation.taggers`, `curation.local_knowledge`), and each
subset keeps the rows that carry its tag. Before a subset is written, the k-author guard
drops rows whose (country, place mentioned, dialect) combination fewer than k authors
share, and the per-country sampler caps every country's share; the two alternate until
neither removes a row, so both hold on what is written (`curation.balance.guarded_balance`).
Subset rows keep every corpus column, so the checks can prove that each row is still in
the corpus and still passes the consent rules.
"""

from datetime import date

import dagster as dg
import polars as pl

from assets.corpus import CORPUS_SCHEMA, split_by_day
from assets.metadata import column_schema, table
from assets.partitions import DAILY, SINGLE_RUN
from curation.balance import BalanceConfig, guarded_balance
from curation.humor_report import humor_by_country, humor_chart
from curation.local_knowledge import ENTITY_DTYPE, tag_local_knowledge
from curation.taggers import tag_dialect, tag_humor, tag_idioms
from curation.taggers.dialect import variety_legend
from curation.taggers.humor import model_thresholds
from resources import PolicyResource

OWNER = "team:model-data"
HUMOR_THRESHOLD = model_thresholds()[1]
"""humor_score needed for humor_subset: the irony model's threshold with precision >= 0.80 on
held-out (out-of-fold) training rows; bench/TAGGERS.md reports its recall."""
GUARD_KEYS = ["country", "places", "dialect"]
PLACE_TYPES = ("city", "region")


class SubsetSettings(dg.Config):
    """Per-country balance and the k-author guard, as run config (launchpad: ops → corpus_subsets).

    `k_authors` may raise the guard above the policy's floor (`policy.min_k_authors`), never lower it.
    """

    max_share_per_country: float = 0.25
    min_rows_per_country: int = 5
    seed: int = 20250401
    k_authors: int = 0

TAG_SCHEMA: dict[str, pl.DataType] = {
    "dialect": pl.String(),
    "dialect_confidence": pl.Float64(),
    "dialect_evidence": pl.List(pl.String()),
    "dialect_prob": pl.Float64(),
    "variety": pl.String(),
    "variety_prob": pl.Float64(),
    "idioms": pl.List(pl.String()),
    "humor_score": pl.Float64(),
    "sarcasm": pl.Boolean(),
    "local_entities": pl.List(ENTITY_DTYPE),
    "places": pl.List(pl.String()),
    "own_country_entities": pl.List(ENTITY_DTYPE),
}
SUBSET_SCHEMA = {**CORPUS_SCHEMA, **TAG_SCHEMA}
TAG_COLUMNS = {
    "dialect": "Variety code (e.g. gsw, bar, nds, sco, nap, scn, vec, pt-PT, fr-CA), or null: markers first, "
               "then the dialect and variety models at their precision-0.80 thresholds.",
    "dialect_confidence": "0..1: the model's calibrated probability when a model named the variety, else "
                          "marker evidence combined with lid.176's dialect-label mass.",
    "dialect_evidence": "The dialect markers found in the text (and model:<variety>=<probability>).",
    "dialect_prob": "Calibrated probability that German- or Italian-labelled text is dialect, not standard.",
    "variety": "The regional-variety model's class (de-DE/de-AT/de-CH, en-GB/en-IE/en-other, es-ES/es-419, "
               "pt-PT/pt-BR, fr-FR/fr-CA) for text in those languages, or null.",
    "variety_prob": "Calibrated probability of `variety`.",
    "idioms": "Idioms found (ids), tolerant to inflection, word order in a small window, and case.",
    "humor_score": "Calibrated probability that the text is ironic or sarcastic (model, bench/TAGGERS.md).",
    "sarcasm": "humor_score at or above the model's best-F1 threshold.",
    "local_entities": "Places and local culture mentioned: entity, type (city, dish, festival, …), country.",
    "places": "Cities and regions mentioned (what the k-author guard groups by).",
    "own_country_entities": "The mentioned entities that belong to the author's own country.",
}


def own_country_entities(tagged: pl.DataFrame) -> pl.Series:
    """Per row, the mentioned entities of the author's own country (local knowledge)."""
    rows = tagged.select(pl.int_range(pl.len()).alias("_row"), "country", "local_entities")
    own = (rows.explode("local_entities").filter(
        pl.col("local_entities").struct.field("country") == pl.col("country"))
        .group_by("_row").agg(pl.col("local_entities").alias("own")))
    joined = rows.join(own, on="_row", how="left").sort("_row")
    return joined["own"].fill_null([]).cast(pl.List(ENTITY_DTYPE)).alias("own_country_entities")


def tag_corpus(corpus: pl.DataFrame) -> pl.DataFrame:
    """Every tag on every corpus row (each tagger adds its columns)."""
    tagged = tag_humor(tag_idioms(tag_dialect(corpus, "text", "language"), "text", "language"), "text", "language")
    tagged = tag_local_knowledge(tagged, "text")
    tagged = tagged.with_columns(
        pl.col("local_entities").list.eval(
            pl.element().filter(pl.element().struct.field("type").is_in(PLACE_TYPES)).struct.field("entity")
        ).alias("places"))
    tagged = tagged.with_columns(own_country_entities(tagged))
    return tagged.select(list(SUBSET_SCHEMA)).cast({k: v for k, v in TAG_SCHEMA.items()})  # type: ignore[arg-type]


def select_subsets(tagged: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Each subset's rows of the tagged corpus, before the guard and the balance."""
    return {
        "dialect_subset": tagged.filter(pl.col("dialect").is_not_null()),
        "idiom_subset": tagged.filter(pl.col("idioms").list.len() > 0),
        # The precision-0.80 threshold, not the sarcasm flag (best F1, so about half precision).
        "humor_subset": tagged.filter(pl.col("humor_score") >= HUMOR_THRESHOLD),
        "local_knowledge_subset": tagged.filter(pl.col("own_country_entities").list.len() > 0),
    }


def guard_and_balance(frame: pl.DataFrame, settings: SubsetSettings, k: int) -> tuple[pl.DataFrame, dict[str, object]]:
    """The k-author guard and the per-country cap, alternated until stable (`curation.balance.guarded_balance`),
    so the guard holds on exactly what is written; the drop counts add up over every round."""
    config = BalanceConfig(max_share=settings.max_share_per_country, min_rows=settings.min_rows_per_country,
                           seed=settings.seed)
    result = guarded_balance(frame, GUARD_KEYS, k=k, config=config)
    return result.kept, {
        "rows_tagged": frame.height,
        **{f"dropped_{reason}": n for reason, n in result.dropped_by_reason().items()},
        "guard_balance_rounds": result.rounds,
        "per_country_before_after": table(result.per_country),
        "guard_k": k,
        "max_share_per_country": settings.max_share_per_country,
    }


def _per_country(frame: pl.DataFrame, tag: str) -> dg.TableMetadataValue:
    return table(frame.group_by("country", tag).len("rows").sort("rows", descending=True).head(50))


def _histogram(scores: pl.Series, bins: int = 10) -> dict[str, int]:
    edges = [i / bins for i in range(bins + 1)]
    counts = {f"{lo:.1f}-{hi:.1f}": 0 for lo, hi in zip(edges, edges[1:], strict=False)}
    labels = list(counts)
    for index, n in (scores.clip(0, 0.9999) * bins).floor().cast(pl.Int64).value_counts().iter_rows():
        counts[labels[index]] = int(n)
    return counts


def _subset_out(description: str) -> dg.AssetOut:
    return dg.AssetOut(description=description, group_name="subsets", kinds={"polars", "parquet"}, owners=[OWNER],
                       metadata={"dagster/column_schema": column_schema(SUBSET_SCHEMA, TAG_COLUMNS)})


@dg.multi_asset(
    outs={
        "dialect_subset": _subset_out(
            "Corpus rows written in a regional variety (Swiss German, Bavarian, Low German, Scots, "
            "Neapolitan, Sicilian, …), with the variety, a confidence and the markers found."),
        "idiom_subset": _subset_out(
            "Corpus rows holding at least one idiomatic expression, with the idioms found."),
        "local_knowledge_subset": _subset_out(
            "Corpus rows whose author talks about their own country: places (gazetteer cities and regions) "
            "and local culture (dishes, festivals, customs, clubs, landmarks, institutions) of the author's "
            "country, with the entities as evidence."),
        "humor_subset": _subset_out(
            f"Corpus rows that read as ironic or sarcastic (calibrated humor_score ≥ {HUMOR_THRESHOLD}, the "
            "threshold with precision ≥ 0.80 on held-out rows), with the score and the sarcasm flag."),
    },
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
)
def corpus_subsets(context: dg.AssetExecutionContext, config: SubsetSettings, filtered_corpus: pl.LazyFrame,
                   policy: PolicyResource):
    """Tag the corpus rows of the days built once; each subset keeps the rows with its tag,
    then passes the k-author guard and the per-country sampler (alternated until stable)."""
    keys = context.partition_keys
    days = [date.fromisoformat(k) for k in keys]
    corpus = filtered_corpus.filter(pl.col("day").is_in(days)).collect()
    tagged = tag_corpus(corpus)
    subsets = select_subsets(tagged)
    k = max(config.k_authors, policy.min_k_authors)
    balance_meta = {}
    for name in list(subsets):
        subsets[name], balance_meta[name] = guard_and_balance(subsets[name], config, k)
    humor_report = humor_by_country(tagged, k)
    top_idioms = (subsets["idiom_subset"].select(pl.col("idioms").explode()).group_by("idioms").len("rows")
                  .sort("rows", descending=True).head(20))
    extra = {
        "dialect_subset": {"by_country_and_dialect": _per_country(subsets["dialect_subset"], "dialect"),
                           "dialects": subsets["dialect_subset"]["dialect"].n_unique(),
                           "legend": table(variety_legend(
                               subsets["dialect_subset"]["dialect"].drop_nulls().to_list()
                               + subsets["dialect_subset"]["variety"].drop_nulls().to_list()))},
        "idiom_subset": {"top_idioms": table(top_idioms),
                         "by_country_and_language": _per_country(subsets["idiom_subset"], "language")},
        "humor_subset": {"humor_score_histogram_all_rows": _histogram(tagged["humor_score"]),
                         "sarcastic_rows": int(subsets["humor_subset"]["sarcasm"].sum()),
                         # over all tagged rows, cells of >= k authors only (curation/humor_report.py)
                         "humor_by_country": table(humor_report, limit=300),
                         "humor_by_country_chart": dg.MetadataValue.md(humor_chart(humor_report))},
        "local_knowledge_subset": {"by_country_and_type": table(
            subsets["local_knowledge_subset"].select("country", "own_country_entities")
            .explode("own_country_entities")
            .select("country", pl.col("own_country_entities").struct.field("type").alias("type"))
            .group_by("country", "type").len("rows").sort("rows", descending=True).head(60))},
    }
    built_from = {
        "policy_version": ", ".join(sorted(set(corpus["policy_version"].to_list()))) or "-",
        "as_of": ", ".join(sorted({str(a) for a in corpus["as_of"].to_list()})) or "-",
    }
    for name, frame in subsets.items():
        parts = split_by_day(frame, keys, SUBSET_SCHEMA)
        yield dg.Output(parts[keys[0]] if len(keys) == 1 else parts, output_name=name, metadata={
            "dagster/row_count": frame.height,
            "corpus_rows_tagged": tagged.height,
            "share_of_corpus": round(frame.height / tagged.height, 4) if tagged.height else 0.0,
            **extra[name],
            **balance_meta[name],
            **built_from,
        })
