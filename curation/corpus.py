"""From judged content to corpus rows: normalise, redact, de-duplicate, filter, identify language.

Order, and why:

1. Candidates are the rows of every day, eligible or not: under policy v2 (DESIGN.md) the
   earliest copy of a duplicate cluster decides it, whatever the reason it is excluded.
2. Text is normalised and PII-redacted *before* de-duplication, so two posts that differ
   only in an e-mail address are one text, and the release holds no duplicate text.
3. Clusters are computed over all days; the earliest copy survives when it is eligible,
   and when it is not, every eligible copy is `copies_excluded_content`.
4. Quality filters and language id run on the survivors of the days being built.

Every row of the days being built ends with exactly one outcome: `eligible`, or the
first reason it was dropped (rules 1–7, then `copies_excluded_content` / `duplicate`,
then a quality reason), so the exclusion report still adds up to the raw rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date

import polars as pl

from curation.dedup import (
    COPIES_EXCLUDED_CONTENT,
    DUPLICATE,
    POLICY_VERSION,
    DedupConfig,
    cluster_duplicates,
    exact_key,
    resolve_clusters,
)
from curation.eligibility import REASON_ORDER as RULE_REASONS
from curation.fingerprints import key_hash_expr
from curation.langid import LangIdConfig, identify_language
from curation.pii import redact_pii
from curation.quality import REASON_ORDER as QUALITY_REASONS
from curation.quality import QualityConfig, quality_reason
from curation.text import normalize_text

ELIGIBLE = "eligible"
OUTCOMES: tuple[str, ...] = (ELIGIBLE, *RULE_REASONS, COPIES_EXCLUDED_CONTENT, DUPLICATE, *QUALITY_REASONS)
"""Every outcome a content row can have, in the order they are decided."""


@dataclass(frozen=True)
class CurationConfig:
    """Settings of every curation step; recorded in each release manifest."""

    dedup: DedupConfig = field(default_factory=DedupConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    langid: LangIdConfig = field(default_factory=LangIdConfig)

    def to_dict(self) -> dict[str, object]:
        return {"dedup": {**asdict(self.dedup), "policy": POLICY_VERSION}, "quality": asdict(self.quality),
                "langid": {k: (list(v) if isinstance(v, tuple | frozenset) else v)
                           for k, v in asdict(self.langid).items()},
                "pii_redaction": ["EMAIL", "URL", "IBAN (mod-97)", "CARD (Luhn)",
                                  "ID (national check digits)", "IP", "PHONE", "USER"]}


@dataclass
class Curated:
    """The outcome for the days built: corpus rows, every row's outcome, counts, index pairs."""

    corpus: pl.DataFrame
    outcomes: pl.DataFrame  # content_id, platform, day, country, reason (eligible or why not)
    pii_counts: dict[str, int]
    quality_counts: dict[str, int]
    clusters: int
    author_days: pl.DataFrame  # author_key, day: whose words each day holds, copies included


def prepare_text(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """Normalise and redact `text`: the form in which texts are compared and released."""
    return redact_pii(frame.with_columns(normalize_text(pl.col("text")).alias("text")), "text")


def text_hash(text: pl.Expr) -> pl.Expr:
    """Hex XXH3-128 of a prepared text's exact key (null when it has none): the corpus'
    `text_hash`, the same hash the dedup index persists (stable across machines and
    versions, computed in polars without a Python loop)."""
    return key_hash_expr(exact_key(text)).bin.encode("hex")


def curate(evaluated: pl.DataFrame, days: Collection[date], config: CurationConfig = CurationConfig()) -> Curated:
    """`evaluated`: rows of ALL available days with `exclusion_reason`, `author_key`, `country`
    (from `evaluate_content`) and `day`; `days`: the days whose corpus is being built."""
    days = set(days)
    candidates, pii_counts = prepare_text(evaluated)
    clusters = cluster_duplicates(candidates.select("content_id", "platform", "text"), config.dedup)
    resolved = resolve_clusters(candidates.join(clusters.drop("text_hash"), on=["platform", "content_id"],
                                                how="left", validate="1:1", maintain_order="left"))

    # Whose words does each day hold? The earliest copy's author, on every day of its cluster:
    # a later objection by that person must reach every day that holds a copy.
    cluster_authors = (resolved.sort("created_at", "platform", "content_id")
                       .unique("cluster_id", keep="first").select("cluster_id", "author_key").drop_nulls())
    cluster_days = resolved.select("cluster_id", "day").unique()
    author_days = (cluster_authors.join(cluster_days, on="cluster_id")
                   .filter(pl.col("day").is_in(list(days))).select("author_key", "day").unique())

    return _finish(evaluated, resolved, days, config, pii_counts, int(resolved["cluster_id"].n_unique()),
                   author_days)


def resolve_from_index(candidates: pl.DataFrame, assignments: pl.DataFrame,
                       earliest_elsewhere: pl.DataFrame) -> pl.DataFrame:
    """Policy v2 for the rows of the days built, from the dedup index instead of all days.

    `candidates`: those rows (prepared text, `exclusion_reason`, `author_key`).
    `assignments`: `dedup_index.cluster_assignments` for the same days (each row's cluster
    and earliest copy). `earliest_elsewhere`: the earliest copies that lie on other days,
    judged at the same T (platform, content_id, exclusion_reason, author_key). A row whose
    earliest copy cannot be found is treated as a copy of excluded content (fail closed).
    Adds cluster_id, is_earliest, earliest_author_key and dedup_reason, as `resolve_clusters`.
    """
    judged = pl.concat([
        candidates.select("platform", "content_id", "exclusion_reason", "author_key"),
        earliest_elsewhere.select("platform", "content_id", "exclusion_reason", "author_key"),
    ]).unique(["platform", "content_id"], keep="first").select(
        pl.col("platform").alias("earliest_platform"), pl.col("content_id").alias("earliest_content_id"),
        pl.lit(True).alias("_found"), pl.col("exclusion_reason").alias("_earliest_reason"),
        pl.col("author_key").alias("earliest_author_key"))
    links = assignments.select("platform", "content_id", "cluster_id", "is_earliest",
                               "earliest_platform", "earliest_content_id")
    joined = (candidates.join(links, on=["platform", "content_id"], how="left", validate="1:1",
                              maintain_order="left")
              .join(judged, on=["earliest_platform", "earliest_content_id"], how="left", maintain_order="left"))
    if joined.select(pl.col("cluster_id").is_null().any()).item():
        raise ValueError("the dedup index has no assignment for some rows: update it with their day first")
    eligible = pl.col("exclusion_reason").cast(pl.String).is_null()
    return joined.with_columns(
        pl.when(~eligible).then(pl.lit(None, pl.String))
        .when(pl.col("is_earliest")).then(pl.lit(None, pl.String))
        .when(pl.col("_found").fill_null(False) & pl.col("_earliest_reason").is_null()).then(pl.lit(DUPLICATE))
        .otherwise(pl.lit(COPIES_EXCLUDED_CONTENT)).alias("dedup_reason"),
    ).drop("_found", "_earliest_reason", "earliest_platform", "earliest_content_id")


def curate_from_index(candidates: pl.DataFrame, pii_counts: dict[str, int], assignments: pl.DataFrame,
                      earliest_elsewhere: pl.DataFrame, days: Collection[date],
                      config: CurationConfig = CurationConfig()) -> Curated:
    """`curate` for the days built only: their rows (already `prepare_text`-ed, with `day`,
    `exclusion_reason`, `author_key`, `country`) and the dedup index's assignments. Gives the
    same result as `curate` over every day (tests/test_incremental.py)."""
    days = set(days)
    resolved = resolve_from_index(candidates, assignments, earliest_elsewhere)
    # Whose words does each day hold? Each row's earliest copy's author, on that row's day.
    author_days = (resolved.select(pl.col("earliest_author_key").alias("author_key"), "day")
                   .drop_nulls().unique())
    return _finish(candidates, resolved, days, config, pii_counts, int(resolved["cluster_id"].n_unique()),
                   author_days)


def _finish(evaluated: pl.DataFrame, resolved: pl.DataFrame, days: set[date], config: CurationConfig,
            pii_counts: dict[str, int], clusters: int, author_days: pl.DataFrame) -> Curated:
    """Quality filters and language id on the survivors; one outcome per row of `days`."""
    todays = resolved.filter(pl.col("day").is_in(list(days)))
    survivors = todays.filter(pl.col("exclusion_reason").is_null() & pl.col("dedup_reason").is_null())
    survivors = survivors.with_columns(quality_reason(config.quality).alias("quality_reason"))
    quality_counts = {str(k): int(v) for k, v in survivors.group_by("quality_reason").len().iter_rows()
                      if k is not None}
    kept = survivors.filter(pl.col("quality_reason").is_null())
    corpus = identify_language(kept, "text", config.langid).with_columns(text_hash(pl.col("text")).alias("text_hash"))

    # One outcome per row of the days built, in rule order.
    outcome_of = pl.coalesce("exclusion_reason", "dedup_reason", "quality_reason", pl.lit(ELIGIBLE))
    dropped_later = todays.filter(pl.col("exclusion_reason").is_null()).join(
        survivors.select("platform", "content_id", "quality_reason"), on=["platform", "content_id"], how="left")
    outcomes = pl.concat([
        evaluated.filter(pl.col("day").is_in(list(days)) & pl.col("exclusion_reason").is_not_null())
        .select("content_id", "platform", "day", "country", pl.col("exclusion_reason").alias("reason")),
        dropped_later.select("content_id", "platform", "day", "country", outcome_of.alias("reason")),
    ])
    return Curated(corpus=corpus, outcomes=outcomes, pii_counts=pii_counts, quality_counts=quality_counts,
                   clusters=clusters, author_days=author_days)


def earliest_copies_elsewhere(assignments: pl.DataFrame, days: Collection[date], raw_root: str) -> pl.DataFrame:
    """Raw rows (as `raw_content` stores them) of the earliest copies that lie on days other than
    `days`, read from `<raw_root>/<day>.parquet` with a filter, never a whole history."""
    days = set(days)
    wanted = (assignments.filter(~pl.col("is_earliest"))
              .select(pl.col("earliest_platform").alias("platform"), pl.col("earliest_content_id").alias("content_id"),
                      pl.col("earliest_created_at").dt.date().alias("day"))
              .filter(~pl.col("day").is_in(list(days))).unique())
    frames = []
    for (day,), keys in wanted.group_by(["day"], maintain_order=True):
        path = f"{raw_root}/{day.isoformat()}.parquet"
        frames.append(pl.scan_parquet(path).join(keys.drop("day").lazy(), on=["platform", "content_id"],
                                                  how="semi"))
    return pl.concat(frames).collect() if frames else pl.DataFrame()


def not_earliest_copies(corpus: pl.DataFrame, index_dir: str) -> pl.DataFrame:
    """Corpus rows that are not, per the dedup index as it is now, the earliest copy of their
    words (exact or near), with that earliest copy; rows the index does not know count too
    (fail closed). `corpus` needs content_id, platform, day."""
    from curation.dedup_index import cluster_assignments, indexed_days

    days = set(corpus["day"].unique().to_list())
    known = days & set(indexed_days(index_dir))
    assignments = cluster_assignments(index_dir, known) if known else pl.DataFrame(
        schema={"platform": pl.String, "content_id": pl.String, "is_earliest": pl.Boolean,
                "earliest_platform": pl.String, "earliest_content_id": pl.String})
    return (corpus.select("content_id", "platform", "day")
            .join(assignments.select("platform", "content_id", "is_earliest", "earliest_platform",
                                     "earliest_content_id"), on=["platform", "content_id"], how="left")
            .filter(~pl.col("is_earliest").fill_null(False))
            .select("content_id", "platform", "day", pl.col("earliest_platform").alias("first_platform"),
                    pl.col("earliest_content_id").alias("first_content_id")))


def exclusion_table(report: pl.DataFrame) -> pl.DataFrame:
    """The exclusion report as people read it: one row per outcome in the order the rules
    decide (eligible first), rows per platform, the total and its share of all rows judged,
    and a closing `total` row. `report`: rows of `reason`, `platform`, `rows`."""
    judged = int(report["rows"].sum() or 0)
    order = pl.DataFrame({"reason": list(OUTCOMES), "rule_order": list(range(len(OUTCOMES)))})
    platforms = sorted(report["platform"].unique().to_list())
    wide = (report.group_by("reason", "platform").agg(pl.col("rows").sum().cast(pl.Int64))
            .pivot("platform", index="reason", values="rows").fill_null(0)) if report.height else \
        pl.DataFrame(schema={"reason": pl.String})
    rows = (wide.join(order, on="reason", how="left")
            .with_columns(pl.sum_horizontal(platforms).alias("total") if platforms else pl.lit(0).alias("total"))
            .sort("rule_order", nulls_last=True).drop("rule_order"))
    total_row = pl.DataFrame({"reason": ["total"], **{p: [int(rows[p].sum())] for p in platforms},
                              "total": [judged]}, schema=rows.schema)
    return pl.concat([rows, total_row]).with_columns(
        (pl.col("total") / judged if judged else pl.lit(0.0)).round(4).alias("share"))
