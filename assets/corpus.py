"""Corpus stage: the consent-clean filtered corpus and the exclusion report, per UTC day.

The eligibility rules live in `curation.eligibility`; this module only joins the raw
partition(s) to `consent_state`, splits eligible from excluded rows, and reports.
"""


from collections.abc import Mapping
from datetime import date, datetime

import dagster as dg
import polars as pl

from assets.metadata import column_schema, markdown_preview, table
from assets.partitions import DAILY, SINGLE_RUN
from curation.corpus import (
    OUTCOMES,
    CurationConfig,
    curate_from_index,
    earliest_copies_elsewhere,
    exclusion_table,
    prepare_text,
)
from curation.dedup_index import cluster_assignments
from curation.dedup_index import update_days as update_index
from curation.eligibility import MENTIONS_OBJECTOR, evaluate_content
from curation.fingerprints import day_fingerprints
from curation.mentions import (
    MENTION_KEYS,
    MENTION_SUBJECT_PREFIX,
    MENTIONED_BY,
    mention_digests,
    mention_subject,
    objector_identifiers,
    removed_by_submission,
)
from curation.stale_days import update_stale
from resources import AuthorKeySecret, DataStore, LedgerResource, PolicyResource

OWNER = "team:data-platform"

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
    "language": pl.String(),
    "language_score": pl.Float64(),
    "language_dialect_mass": pl.Float64(),
    "text_hash": pl.String(),
    "policy_version": pl.String(),
    "as_of": pl.Datetime("us", "UTC"),
    MENTION_KEYS: pl.List(pl.String()),
}
CORPUS_COLUMNS = {
    "text": "Normalised (NFC, invisible characters removed, whitespace folded) and PII-redacted.",
    "language": "ISO 639-1 language (fastText lid.176), `und` when undeterminable.",
    "language_dialect_mass": "Summed probability of dialect labels (als, bar, nds, scn, …): a cheap dialect signal.",
    "text_hash": "BLAKE2b-128 of the canonical text: no two corpus rows share one.",
    "author_key": "Keyed hash of the author; the corpus never holds a platform user id.",
    "day": "UTC date of created_at (the partition).",
    "country": "Author's country from the user snapshot.",
    "policy_version": "Hash of the policy values the row was admitted under.",
    "as_of": "The as-of time T the row was judged at.",
    "deleted_at": "Null, or a deletion after T (the row was still live at T).",
    MENTION_KEYS: ("Keyed digests of the e-mail / phone / handle identifiers the text held before "
                   "redaction (rule 8 after the build, and when a release is re-judged); never the identifiers."),
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
                "Content that passes all eight eligibility rules at T (public source, adult "
                "author at creation, notified and past the objection window where notice "
                "applies, no effective objection, live content and account, and the text names "
                "no non-user who objected). The author is "
                "replaced by `author_key`. Blocking checks re-derive every rule from the "
                "ledger as it is now."),
            group_name="corpus", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(CORPUS_SCHEMA, CORPUS_COLUMNS)},
        ),
        "author_index": dg.AssetOut(
            description=(
                "Which days hold content of which author (`author_key` → day), eligible or not, "
                "and which days hold items a non-user objection excluded (`mention:<submission "
                "id>` → day). The objection sensor reads it to rebuild only the corpus partitions "
                "that hold an objector's content, or that a withdrawal lets items back into."),
            group_name="corpus", kinds={"polars", "parquet"}, owners=["team:privacy"],
            metadata={"dagster/column_schema": column_schema(INDEX_SCHEMA, {
                "author_key": "Keyed hash of an author.",
                "day": "A day that holds the author's words (their posts or others' copies of them).",
                "rows": "Rows behind the pair."})},
        ),
        "exclusion_report": dg.AssetOut(
            description=(
                "Rows per day × platform × country × outcome: `eligible`, or the first reason "
                "a row was dropped (rules 1–8, then de-duplication, then quality). For every day, "
                "the rows add up to the valid raw rows."),
            group_name="corpus", kinds={"polars", "parquet"}, owners=["team:privacy"],
            metadata={"dagster/column_schema": column_schema(REPORT_SCHEMA, {
                "day": "UTC day (the partition).", "platform": "Source platform.",
                "country": "Author's country (null for unknown authors).",
                "reason": "`eligible` or the first reason the row was dropped.",
                "rows": "Number of valid raw rows with this outcome."})},
        ),
    },
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    # Only the days being built: every other day reaches this build through the dedup index.
    ins={"raw_content": dg.AssetIn(metadata={"allow_missing_partitions": True}),
         "consent_state": dg.AssetIn()},
)
def filtered_corpus(context: dg.AssetExecutionContext, raw_content: pl.LazyFrame, consent_state: pl.LazyFrame,
                    policy: PolicyResource, store: DataStore, ledger: LedgerResource, author_key: AuthorKeySecret):
    """Judge the days' raw rows at the consent state's T, enter them in the dedup index, and
    curate them: a repost on day 40 meets its original from day 3 through the index, and only
    the earliest copies that lie on other days are read back (a filter on their day's file).
    """
    state = consent_state.collect()
    as_of, state_policy = state_as_of(state)
    rules = policy.policy()
    if rules.version != state_policy:
        raise ValueError(
            f"consent_state was built under policy {state_policy}, the configured policy is "
            f"{rules.version}: materialize consent_state first")
    keys = context.partition_keys
    days = [date.fromisoformat(k) for k in keys]
    # Rule 8: the non-user objections of the same ledger state the consent state saw, effective at
    # the same cut-off; the text is matched before redaction.
    secret = author_key.key()
    high_water_mark = int(state["ledger_high_water_mark"].max() or 0) if state.height else 0
    objections_as_of = state["objections_as_of"].max() if state.height else as_of
    objectors = objector_identifiers(ledger.open().objections(up_to_seq=high_water_mark),
                                     objections_as_of or as_of, secret)
    evaluated = evaluate_content(raw_content, state, as_of=as_of, policy=rules, objectors=objectors).with_columns(
        pl.col("created_at").dt.date().alias("day")).collect()
    config = CurationConfig()
    candidates, pii_counts = prepare_text(evaluated)
    index_dir = str(store.state_path("dedup_index"))
    # One index update for all the run's days: one band join and one rewrite, not one per day.
    by_day = candidates.select("day", "content_id", "platform", "created_at", "text").partition_by("day", as_dict=True)
    empty_day = candidates.select("content_id", "platform", "created_at", "text").clear()
    update = update_index(index_dir, [
        day_fingerprints(by_day[(day,)].drop("day") if (day,) in by_day else empty_day, config.dedup, day=day)
        for day in sorted(days)])
    affected = set(update.affected_days)
    index_stats = {name: int(getattr(update, name)) for name in ("docs", "new_nodes", "candidate_pairs", "new_edges")}
    assignments = cluster_assignments(index_dir, days)
    elsewhere = earliest_copies_elsewhere(assignments, days, str(store.path("assets", "raw_content")))
    judged_elsewhere = (evaluate_content(elsewhere.lazy(), state, as_of=as_of, policy=rules,
                                         objectors=objectors).collect()
                        if elsewhere.height else pl.DataFrame(schema={
                            "platform": pl.String, "content_id": pl.String, "exclusion_reason": pl.String,
                            "author_key": pl.String}))
    curated = curate_from_index(candidates, pii_counts, assignments, judged_elsewhere, days, config)
    # Days whose rows' earliest copy these days changed: their partitions wait for a rebuild
    # (the landing sensor and `make run` request it; the release cut never relies on it).
    still_stale = update_stale(index_dir, add=affected - set(days), built=days)
    # digests of the pre-redaction identifiers, so that a check or a release cut can apply a later
    # non-user objection to corpus rows (whose text is redacted)
    raw_kept = evaluated.filter(pl.col("day").is_in(days) & pl.col("exclusion_reason").is_null()) \
        .select("platform", "content_id", "text")
    digests = raw_kept.select("platform", "content_id", mention_digests(raw_kept["text"], secret))
    removed_by_objection = removed_by_submission(evaluated.filter(pl.col("day").is_in(days)), MENTIONS_OBJECTOR)

    corpus = curated.corpus.join(digests, on=["platform", "content_id"], how="left", validate="1:1",
                                 maintain_order="left").with_columns(
        pl.lit(rules.version).alias("policy_version"),
        pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
    ).select(list(CORPUS_SCHEMA)).sort("day", "platform", "content_id")
    outcomes = curated.outcomes
    report = (
        outcomes.group_by("day", "platform", "country", "reason")
        .agg(pl.len().alias("rows"))
        .sort("day", "platform", "country", "reason")
        .select(list(REPORT_SCHEMA))
    )
    own_days = evaluated.filter(pl.col("day").is_in(days) & pl.col("author_key").is_not_null())
    # rule 8: `mention:<submission id>` → the days holding items that objection excluded, so a
    # withdrawal finds the days to judge again (an objection finds them by matching the corpus)
    mention_days = (evaluated.filter(pl.col("day").is_in(days) & (pl.col("exclusion_reason") == MENTIONS_OBJECTOR))
                    .select(pl.col(MENTIONED_BY).alias("submission_id"), "day").explode("submission_id")
                    .drop_nulls("submission_id")
                    .select(mention_subject(pl.col("submission_id")).alias("author_key"), "day"))
    index = (pl.concat([own_days.select("author_key", "day"), curated.author_days, mention_days])
             .group_by("author_key", "day").agg(pl.len().alias("rows")).sort("day", "author_key"))
    authors = index.filter(~pl.col("author_key").str.starts_with(MENTION_SUBJECT_PREFIX))["author_key"]
    excluded = outcomes.height - corpus.height
    by_reason = report.group_by("reason").agg(pl.col("rows").sum()).sort("rows", descending=True)
    by_reason_platform = exclusion_table(report)
    by_day = (outcomes.group_by("day").agg(pl.len().alias("rows_judged"),
                                           (pl.col("reason") == OUTCOMES[0]).sum().alias("rows_eligible"))
              .with_columns((pl.col("rows_judged") - pl.col("rows_eligible")).alias("rows_excluded")).sort("day"))
    single = len(keys) == 1
    corpus_parts = split_by_day(corpus, keys, CORPUS_SCHEMA)
    report_parts = split_by_day(report, keys, REPORT_SCHEMA)
    index_parts = split_by_day(index, keys, INDEX_SCHEMA)
    # The ledger high-water mark the consent state saw (above): the objection sensor reads it per
    # day to know which objections a day's latest build already applies (pending purges).
    common = {"as_of": as_of.isoformat(), "policy_version": rules.version,
              "ledger_high_water_mark": high_water_mark}
    index_metadata = {
        "dedup_index": dg.MetadataValue.json({**index_stats, "earliest_copies_read_from_other_days": elsewhere.height}),
        "days_made_stale": len(affected - set(days)),
        "stale_days_waiting": ", ".join(d.isoformat() for d in still_stale[:20]) or "none",
    }
    yield dg.Output(
        corpus_parts[keys[0]] if single else corpus_parts,
        output_name="filtered_corpus",
        metadata={
            "dagster/row_count": corpus.height,
            "rows_judged": outcomes.height,
            "rows_excluded": excluded,
            **{f"excluded_{r}": int(by_reason.filter(pl.col("reason") == r)["rows"].sum()) for r in OUTCOMES[1:]},
            "exclusions_by_reason_and_platform": table(by_reason_platform),
            # a range run's totals repeat on every day's materialization: this table splits them
            "rows_by_day": table(by_day, limit=400),
            # rule 8: items each non-user objection removed (submission ids, never identifiers)
            "non_user_objections_applied": objectors["submission_id"].n_unique(),
            "items_removed_by_non_user_objection": table(removed_by_objection.head(50))
            if removed_by_objection.height else "none",
            **{f"pii_redacted_{k.lower()}": int(v) for k, v in curated.pii_counts.items()},
            "duplicate_clusters": curated.clusters,
            **index_metadata,
            "rows_by_language": dict(corpus.group_by("language").len().sort("len", descending=True)
                                     .head(15).iter_rows()),
            "curation": dg.MetadataValue.json(config.to_dict()),
            "preview": markdown_preview(corpus.select("content_id", "platform", "language", "country", "text")),
            **common,
        },
    )
    yield dg.Output(
        index_parts[keys[0]] if single else index_parts,
        output_name="author_index",
        metadata={"dagster/row_count": index.height, "authors": int(authors.n_unique()),
                  "non_user_objections_indexed": int(mention_days["author_key"].n_unique()), **common},
    )
    yield dg.Output(
        report_parts[keys[0]] if single else report_parts,
        output_name="exclusion_report",
        metadata={
            "dagster/row_count": report.height,
            "rows_judged": outcomes.height,
            "rows_eligible": corpus.height,
            "by_reason": table(by_reason_platform),
            **common,
        },
    )
