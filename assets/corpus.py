"""Corpus stage: the consent-clean filtered corpus and the exclusion report, per UTC day.

The eligibility rules live in `curation.eligibility`; this module only joins the raw
partition(s) to `consent_state`, splits eligible from excluded rows, and reports.
"""


from collections.abc import Mapping
from datetime import datetime

import dagster as dg
import polars as pl

from assets.metadata import column_schema, markdown_preview, table
from assets.partitions import DAILY, SINGLE_RUN
from curation.eligibility import REASON_ORDER, evaluate_content
from resources import PolicyResource

OWNER = "team:data-platform"
ELIGIBLE = "eligible"

CORPUS_SCHEMA: dict[str, pl.DataType] = {
    "content_id": pl.String(),
    "platform": pl.String(),
    "kind": pl.String(),
    "author_key": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "day": pl.Date(),
    "visibility": pl.String(),
    "text": pl.String(),
    "deleted_at": pl.Datetime("us", "UTC"),
    "parent_id": pl.String(),
    "locale": pl.String(),
    "country": pl.String(),
    "policy_version": pl.String(),
    "as_of": pl.Datetime("us", "UTC"),
}
CORPUS_COLUMNS = {
    "author_key": "Keyed hash of the author; the corpus never holds a platform user id.",
    "day": "UTC date of created_at (the partition).",
    "country": "Author's country from the user snapshot.",
    "policy_version": "Hash of the policy values the row was admitted under.",
    "as_of": "The as-of time T the row was judged at.",
    "deleted_at": "Null, or a deletion after T (the row was still live at T).",
}
INDEX_SCHEMA: dict[str, pl.DataType] = {"author_key": pl.String(), "day": pl.Date(), "rows": pl.UInt32()}
REPORT_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(), "platform": pl.String(), "country": pl.String(), "reason": pl.String(), "rows": pl.UInt32(),
}


def split_by_day(frame: pl.DataFrame, keys: list[str], schema: Mapping[str, pl.DataType]) -> dict[str, pl.DataFrame]:
    """`{partition_key: rows of that day}` for every key, empty frames included."""
    parts = {str(day): part for (day,), part in frame.partition_by("day", as_dict=True).items()}
    empty = pl.DataFrame(schema=dict(schema))
    return {key: parts.get(key, empty) for key in keys}


def state_as_of(state: pl.DataFrame) -> tuple[datetime, str]:
    """The single T and policy version a consent_state was built with."""
    as_of = state["as_of"].unique().to_list()
    versions = state["policy_version"].unique().to_list()
    if len(as_of) != 1 or len(versions) != 1:
        raise ValueError(f"consent_state mixes as_of {as_of} / policy versions {versions}")
    return as_of[0], versions[0]


@dg.multi_asset(
    outs={
        "filtered_corpus": dg.AssetOut(
            description=(
                "Content that passes all seven eligibility rules at T (public source, adult "
                "author at creation, notified and past the objection window where notice "
                "applies, no effective objection, live content and account). The author is "
                "replaced by `author_key`. Blocking checks re-derive every rule from the "
                "ledger as it is now."),
            group_name="corpus", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(CORPUS_SCHEMA, CORPUS_COLUMNS)},
        ),
        "author_index": dg.AssetOut(
            description=(
                "Which days hold content of which author (`author_key` → day), eligible or not. "
                "The objection sensor reads it to rebuild only the corpus partitions that hold "
                "an objector's content."),
            group_name="corpus", kinds={"polars", "parquet"}, owners=["team:privacy"],
            metadata={"dagster/column_schema": column_schema(INDEX_SCHEMA)},
        ),
        "exclusion_report": dg.AssetOut(
            description=(
                "Rows per day × platform × country × outcome: `eligible`, or the first reason "
                "a row was excluded. For every day, the rows add up to the valid raw rows."),
            group_name="corpus", kinds={"polars", "parquet"}, owners=["team:privacy"],
            metadata={"dagster/column_schema": column_schema(REPORT_SCHEMA)},
        ),
    },
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
)
def filtered_corpus(context: dg.AssetExecutionContext, raw_content: pl.LazyFrame, consent_state: pl.LazyFrame,
                    policy: PolicyResource):
    """Judge every valid raw row at the consent state's T; keep the eligible ones."""
    state = consent_state.collect()
    as_of, state_policy = state_as_of(state)
    rules = policy.policy()
    if rules.version != state_policy:
        raise ValueError(
            f"consent_state was built under policy {state_policy}, the configured policy is "
            f"{rules.version}: materialize consent_state first")
    evaluated = evaluate_content(raw_content, state, as_of=as_of, policy=rules).with_columns(
        pl.col("created_at").dt.date().alias("day")).collect()

    corpus = evaluated.filter(pl.col("exclusion_reason").is_null()).with_columns(
        pl.lit(rules.version).alias("policy_version"),
        pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
    ).select(list(CORPUS_SCHEMA))
    report = (
        evaluated.group_by("day", "platform", "country", pl.col("exclusion_reason").fill_null(ELIGIBLE).alias("reason"))
        .agg(pl.len().alias("rows"))
        .sort("day", "platform", "country", "reason")
        .select(list(REPORT_SCHEMA))
    )
    index = (evaluated.filter(pl.col("author_key").is_not_null())
             .group_by("author_key", "day").agg(pl.len().alias("rows")).sort("day", "author_key"))
    excluded = evaluated.height - corpus.height
    by_reason = report.group_by("reason").agg(pl.col("rows").sum()).sort("rows", descending=True)
    by_reason_platform = report.pivot("platform", index="reason", values="rows", aggregate_function="sum").fill_null(0)
    keys = context.partition_keys
    single = len(keys) == 1
    corpus_parts = split_by_day(corpus, keys, CORPUS_SCHEMA)
    report_parts = split_by_day(report, keys, REPORT_SCHEMA)
    index_parts = split_by_day(index, keys, INDEX_SCHEMA)
    common = {"as_of": as_of.isoformat(), "policy_version": rules.version}
    yield dg.Output(
        corpus_parts[keys[0]] if single else corpus_parts,
        output_name="filtered_corpus",
        metadata={
            "dagster/row_count": corpus.height,
            "rows_judged": evaluated.height,
            "rows_excluded": excluded,
            **{f"excluded_{r}": int(by_reason.filter(pl.col("reason") == r)["rows"].sum()) for r in REASON_ORDER},
            "exclusions_by_reason_and_platform": table(by_reason_platform),
            "preview": markdown_preview(corpus.select("content_id", "platform", "kind", "country", "day").head(5)),
            **common,
        },
    )
    yield dg.Output(
        index_parts[keys[0]] if single else index_parts,
        output_name="author_index",
        metadata={"dagster/row_count": index.height, "authors": index["author_key"].n_unique()},
    )
    yield dg.Output(
        report_parts[keys[0]] if single else report_parts,
        output_name="exclusion_report",
        metadata={
            "dagster/row_count": report.height,
            "rows_judged": evaluated.height,
            "rows_eligible": corpus.height,
            "by_reason": table(by_reason),
            **common,
        },
    )
