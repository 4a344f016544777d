"""Blocking checks that re-prove the corpus is consent-clean, from the ledger as it is now.

The corpus was built from a consent snapshot at T. These checks rebuild consent state
from the current user snapshot and the *current* ledger (objections up to now), and
apply the same rule expressions (`curation.eligibility`) to every corpus row. An
objection that lands after a build therefore fails the check, which stops everything
downstream in the run and raises an alert.
"""


from datetime import UTC, datetime

import dagster as dg
import polars as pl

from assets.metadata import table
from assets.partitions import DAILY
from checks.names import CONSENT_RULES, NO_COPIES_OF_EXCLUDED, NO_PII
from checks.per_day import log_day_results
from curation.corpus import not_earliest_copies
from curation.eligibility import consent_state, evaluate_content, rule_failure_counts
from curation.mentions import objector_identifiers
from curation.pii import find_pii
from resources import AuthorKeySecret, DataStore, LedgerResource, PolicyResource

RECONCILES = "report_reconciles_with_raw"
SAMPLE_IDS = 10


def recheck_corpus(corpus: pl.DataFrame, users: pl.DataFrame, notifications: pl.DataFrame,
                   objections: pl.DataFrame, *, policy_resource: PolicyResource, secret: bytes,
                   now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-rule failure counts and the failing rows of `corpus`, judged with objections up to `now`.

    Each group of rows built at one T is judged at that T (rules 1, 3, 6 depend on it);
    objections count up to `now`, whenever they arrived. Rule 8 matches the current non-user
    objections against the corpus text (names) and the rows' `mention_keys` (digests of the
    e-mails, phones and handles the text held before redaction).
    """
    rules = policy_resource.policy()
    counts: list[pl.DataFrame] = []
    failing: list[pl.DataFrame] = []
    for (as_of,), rows in corpus.partition_by("as_of", as_dict=True).items():
        cutoff = max(now, as_of)
        state = consent_state(users, notifications, objections, as_of=as_of, policy=rules, secret=secret,
                              objections_as_of=cutoff)
        objectors = objector_identifiers(objections, cutoff, secret)
        counts.append(rule_failure_counts(rows, state, as_of=as_of, policy=rules, key_column="author_key",
                                          objectors=objectors))
        evaluated = evaluate_content(rows, state, as_of=as_of, policy=rules, key_column="author_key",
                                     objectors=objectors).collect()
        failing.append(evaluated.filter(pl.col("exclusion_reason").is_not_null())
                       .select("content_id", "platform", "day", "exclusion_reason"))
    if not counts:
        empty = pl.DataFrame(schema={"reason": pl.String, "count": pl.Int64})
        return empty, pl.DataFrame(schema={"content_id": pl.String, "platform": pl.String, "day": pl.Date,
                                           "exclusion_reason": pl.String})
    per_rule = pl.concat(counts).group_by("reason", maintain_order=True).agg(pl.col("count").sum())
    return per_rule, pl.concat(failing)


@dg.asset_check(
    asset="filtered_corpus",
    name=CONSENT_RULES,
    blocking=True,
    partitions_def=DAILY,
    additional_ins={"users": dg.AssetIn("raw_users")},
    description=(
        "Re-derives all eight eligibility rules for every corpus row from the current user "
        "snapshot and the current ledger (objections up to now). Fails with the count per rule "
        "and sample content_ids if any row should not be there; blocks everything downstream."),
)
def consent_rules_hold_now(context: dg.AssetCheckExecutionContext, filtered_corpus: pl.LazyFrame,
                           users: pl.LazyFrame, ledger: LedgerResource, policy: PolicyResource,
                           author_key: AuthorKeySecret) -> dg.AssetCheckResult:
    rows = filtered_corpus.collect()
    store = ledger.open()
    now = datetime.now(UTC)
    per_rule, failing = recheck_corpus(
        rows, users.collect(), store.notifications(), store.objections(),
        policy_resource=policy, secret=author_key.key(), now=now)
    failing_days = log_day_results(context, rows["day"], failing)
    return dg.AssetCheckResult(
        passed=failing.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": rows.height,
            "rows_failing": failing.height,
            "days_failing": failing_days,
            **{f"failing_{r}": int(n) for r, n in per_rule.iter_rows()},
            "failures_by_rule": table(per_rule),
            "sample_content_ids": ", ".join(failing["content_id"].head(SAMPLE_IDS).to_list()) or "none",
            "ledger_high_water_mark": store.high_water_mark(),
            "checked_at": now.isoformat(),
        },
    )


@dg.asset_check(
    asset="exclusion_report",
    name=RECONCILES,
    blocking=True,
    partitions_def=DAILY,
    additional_ins={"raw": dg.AssetIn("raw_content"), "corpus": dg.AssetIn("filtered_corpus")},
    description=("For every day: eligible + Σ excluded == valid raw rows, and the eligible count "
                 "equals the corpus rows of that day."),
)
def report_reconciles_with_raw(context: dg.AssetCheckExecutionContext, exclusion_report: pl.LazyFrame,
                               raw: pl.LazyFrame, corpus: pl.LazyFrame) -> dg.AssetCheckResult:
    reported = exclusion_report.group_by("day").agg(
        pl.col("rows").sum().cast(pl.Int64).alias("reported"),
        pl.col("rows").filter(pl.col("reason") == "eligible").sum().cast(pl.Int64).alias("eligible"))
    raw_rows = raw.group_by(pl.col("created_at").dt.date().alias("day")).agg(
        pl.len().cast(pl.Int64).alias("raw"))
    corpus_rows = corpus.group_by("day").agg(pl.len().cast(pl.Int64).alias("corpus"))
    joined = (raw_rows.join(reported, on="day", how="full", coalesce=True)
              .join(corpus_rows, on="day", how="full", coalesce=True)
              .with_columns(pl.col("raw", "reported", "eligible", "corpus").fill_null(0))
              .collect())
    broken = joined.filter((pl.col("raw") != pl.col("reported")) | (pl.col("eligible") != pl.col("corpus")))
    log_day_results(context, joined["day"], broken.select("day"), count_name="days")
    return dg.AssetCheckResult(
        passed=broken.is_empty(),
        metadata={
            "days_checked": joined.height,
            "raw_rows": int(joined["raw"].sum()),
            "reported_rows": int(joined["reported"].sum()),
            "days_not_reconciling": broken.height,
            "mismatches": table(broken.sort("day").head(10)) if not broken.is_empty() else "none",
        },
    )


@dg.asset_check(
    asset="filtered_corpus",
    name=NO_COPIES_OF_EXCLUDED,
    blocking=True,
    partitions_def=DAILY,
    description=(
        "Policy v2: every corpus row is the earliest copy of its words, exact or near, per the dedup "
        "index as it is now. No row of any day, eligible or not (a minor's, an objector's, a private "
        "message, an assistant reply), holds the same words earlier: a repost carries its first "
        "author's words. Re-derived from the persisted index, not from every raw day."),
)
def no_copies_of_excluded_content(context: dg.AssetCheckExecutionContext, filtered_corpus: pl.LazyFrame,
                                  store: DataStore) -> dg.AssetCheckResult:
    rows = filtered_corpus.select("content_id", "platform", "day").collect()
    found = not_earliest_copies(rows, str(store.state_path("dedup_index")))
    log_day_results(context, rows["day"], found)
    return dg.AssetCheckResult(passed=found.is_empty(), metadata={
        "rows_checked": rows.height,
        "rows_failing": found.height,
        "sample_content_ids": ", ".join(found["content_id"].head(SAMPLE_IDS).to_list()) or "none",
    })


@dg.asset_check(
    asset="filtered_corpus",
    name=NO_PII,
    blocking=True,
    partitions_def=DAILY,
    description=("No validated e-mail, URL, IBAN, card, national id/tax number, IP address, phone "
                 "number or @handle remains in any corpus text (curation.pii.find_pii)."),
)
def no_pii_remains(context: dg.AssetCheckExecutionContext, filtered_corpus: pl.LazyFrame) -> dg.AssetCheckResult:
    rows = filtered_corpus.select("content_id", "day", "text").collect()
    found = find_pii(rows, "text")
    log_day_results(context, rows["day"], found.select("content_id", "day"))
    by_type = found.select(pl.col("pii_types").explode()).group_by("pii_types").len() if found.height else None
    return dg.AssetCheckResult(passed=found.is_empty(), metadata={
        "rows_checked": rows.height,
        "rows_failing": found.height,
        **({f"failing_{t.lower()}": int(n) for t, n in by_type.iter_rows()} if by_type is not None else {}),
        "sample_content_ids": ", ".join(found["content_id"].head(SAMPLE_IDS).to_list()) or "none",
    })
