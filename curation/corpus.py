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
    text_hashes,
)
from curation.eligibility import REASON_ORDER as RULE_REASONS
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


def later_exact_copies(corpus: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Corpus rows that are not the earliest copy of their text: some row of `history` (every
    day, eligible or not) has the same exact key and comes first by (created_at, platform,
    content_id). Under policy v2 such a row may never be in a corpus, whoever wrote the
    earlier copy. `corpus` needs content_id, platform, created_at, text_hash."""
    prepared, _ = prepare_text(history.select("content_id", "platform", "created_at", "text"))
    keyed = prepared.select("content_id", "platform", "created_at", exact_key(pl.col("text")).alias("key")) \
        .filter(pl.col("key").is_not_null())  # empty texts carry no words: never a copy
    first = (keyed.with_columns(text_hashes(keyed["key"]))
             .sort("created_at", "platform", "content_id")
             .unique("text_hash", keep="first", maintain_order=True)
             .select("text_hash", pl.col("platform").alias("first_platform"),
                     pl.col("content_id").alias("first_content_id")))
    return (corpus.join(first, on="text_hash", how="inner")
            .filter((pl.col("first_platform") != pl.col("platform"))
                    | (pl.col("first_content_id") != pl.col("content_id")))
            .select("content_id", "platform", "day", "first_platform", "first_content_id"))


def curate(evaluated: pl.DataFrame, days: Collection[date], config: CurationConfig = CurationConfig()) -> Curated:
    """`evaluated`: rows of ALL available days with `exclusion_reason`, `author_key`, `country`
    (from `evaluate_content`) and `day`; `days`: the days whose corpus is being built."""
    days = set(days)
    candidates, pii_counts = prepare_text(evaluated)
    clusters = cluster_duplicates(candidates.select("content_id", "platform", "text"), config.dedup)
    resolved = resolve_clusters(candidates.join(clusters.drop("text_hash"), on=["platform", "content_id"],
                                                how="left", validate="1:1", maintain_order="left"))
    resolved = resolved.join(clusters.select("platform", "content_id", "text_hash"),
                             on=["platform", "content_id"], how="left", maintain_order="left")

    # Whose words does each day hold? The earliest copy's author, on every day of its cluster:
    # a later objection by that person must reach every day that holds a copy.
    cluster_authors = (resolved.sort("created_at", "platform", "content_id")
                       .unique("cluster_id", keep="first").select("cluster_id", "author_key").drop_nulls())
    cluster_days = resolved.select("cluster_id", "day").unique()
    author_days = (cluster_authors.join(cluster_days, on="cluster_id")
                   .filter(pl.col("day").is_in(list(days))).select("author_key", "day").unique())

    todays = resolved.filter(pl.col("day").is_in(list(days)))
    survivors = todays.filter(pl.col("exclusion_reason").is_null() & pl.col("dedup_reason").is_null())
    survivors = survivors.with_columns(quality_reason(config.quality).alias("quality_reason"))
    quality_counts = {str(k): int(v) for k, v in survivors.group_by("quality_reason").len().iter_rows()
                      if k is not None}
    kept = survivors.filter(pl.col("quality_reason").is_null())
    corpus = identify_language(kept, "text", config.langid)

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
                   clusters=int(resolved["cluster_id"].n_unique()), author_days=author_days)
