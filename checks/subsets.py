"""Blocking checks on each subset: it is a subset of the corpus, and consent still holds."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from assets.metadata import table
from assets.partitions import DAILY
from assets.subsets import GUARD_KEYS
from checks.consent import SAMPLE_IDS, recheck_corpus
from checks.factory import checked_asset_as
from curation.balance import k_author_groups
from resources import AuthorKeySecret, LedgerResource, PolicyResource

SUBSETS = ("dialect_subset", "idiom_subset", "humor_subset", "local_knowledge_subset")


def subset_checks(subset: str) -> list[dg.AssetChecksDefinition]:
    """`<subset>_in_corpus` and `<subset>_consent_rules_hold_now`, both blocking."""

    def in_corpus(rows: pl.LazyFrame, corpus: pl.LazyFrame) -> dg.AssetCheckResult:
        subset_rows = rows.select("platform", "content_id", "text").collect()
        missing = subset_rows.join(corpus.select("platform", "content_id", "text").collect(),
                                   on=["platform", "content_id", "text"], how="anti")
        return dg.AssetCheckResult(passed=missing.is_empty(), metadata={
            "rows_checked": subset_rows.height, "rows_not_in_corpus": missing.height,
            "sample_content_ids": ", ".join(missing["content_id"].head(SAMPLE_IDS).to_list()) or "none"})

    def consent_holds(rows: pl.LazyFrame, users: pl.LazyFrame, ledger: LedgerResource, policy: PolicyResource,
                      author_key: AuthorKeySecret) -> dg.AssetCheckResult:
        frame = rows.collect()
        store = ledger.open()
        per_rule, failing = recheck_corpus(frame, users.collect(), store.notifications(), store.objections(),
                                           policy_resource=policy, secret=author_key.key(), now=datetime.now(UTC))
        return dg.AssetCheckResult(passed=failing.is_empty(), metadata={
            "rows_checked": frame.height, "rows_failing": failing.height,
            "failures_by_rule": table(per_rule),
            "sample_content_ids": ", ".join(failing["content_id"].head(SAMPLE_IDS).to_list()) or "none"})

    def k_authors(rows: pl.LazyFrame, policy: PolicyResource) -> dg.AssetCheckResult:
        frame = rows.collect()
        groups = k_author_groups(frame, GUARD_KEYS)
        small = groups.filter(pl.col("authors") < policy.min_k_authors)
        return dg.AssetCheckResult(passed=small.is_empty(), metadata={
            "rows_checked": frame.height, "combinations": groups.height,
            "combinations_below_k": small.height, "k": policy.min_k_authors,
            "min_authors": int(groups["authors"].min() or 0) if groups.height else 0})

    return [
        dg.asset_check(
            asset=subset, name="k_author_guard_holds", blocking=True, partitions_def=DAILY,
            description=(f"Every (country, place mentioned, dialect) combination in `{subset}` is shared by at "
                         "least k distinct authors (policy.min_k_authors, default 5), so no row points back "
                         "at one person."),
        )(checked_asset_as(subset, k_authors)),
        dg.asset_check(
            asset=subset, name="rows_in_filtered_corpus", blocking=True, partitions_def=DAILY,
            additional_ins={"corpus": dg.AssetIn("filtered_corpus")},
            description=f"Every row of `{subset}` is a row of `filtered_corpus` (same content_id and text).",
        )(checked_asset_as(subset, in_corpus)),
        dg.asset_check(
            asset=subset, name="consent_rules_hold_now", blocking=True, partitions_def=DAILY,
            additional_ins={"users": dg.AssetIn("raw_users")},
            description=(f"Re-derives the eight eligibility rules for every row of `{subset}` from the "
                         "current ledger, as the corpus check does: a late objection fails it."),
        )(checked_asset_as(subset, consent_holds)),
    ]
