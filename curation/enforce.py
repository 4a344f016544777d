"""The consent guarantee, enforced when a release is cut (DESIGN.md, "The consent guarantee").

No release may hold a row whose author is not eligible at the ledger high-water mark the
release records, whatever happened before: a sensor that did not tick, a purge run that
failed or was killed, a release materialized by hand after only the ledger changed. So
the release does not trust the corpus partitions it packages: it re-derives consent state
from the user snapshot and the ledger *as of its own cut* and judges every row again with
the same rule expressions the build uses (`curation.eligibility`). Rows that fail are
left out of the release and counted as removed at cut; the excluded-subject commitments
come from the very same state, so a release's rows and its exclusion list can never
disagree.

Withdrawals of consent count up to the cut whatever T is: an objection, a deleted
account or a deleted item recorded after a pinned T still removes the row (a pinned T
reproduces time-based rules, it never resurrects someone who left).

Rule 8 (a text naming a non-user who objected) is judged at the cut too: names on the corpus
text, e-mails / phones / handles on the rows' `mention_keys` (keyed digests of what the text
held before redaction; `curation.mentions`). The release keeps the digests so that it can be
re-judged later at the high-water mark it records.

Under policy v2 every corpus row is the earliest copy of its cluster, so the author of the
row IS the author of the cluster's words: judging the row's author judges the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from curation.eligibility import (
    FUTURE_OR_DELETED_CONTENT,
    UNKNOWN_OR_DELETED_AUTHOR,
    consent_state,
    evaluate_content,
    to_utc,
)
from curation.mentions import objector_identifiers
from curation.policy import Policy

NOT_EARLIEST_COPY = "not_earliest_copy"
REMOVED_SCHEMA: dict[str, pl.DataType] = {
    "content_id": pl.String(), "platform": pl.String(), "day": pl.Date(), "author_key": pl.String(),
    "reason": pl.String(),
}


@dataclass(frozen=True)
class Cut:
    """What a release may hold, judged at its cut."""

    kept: dict[str, pl.DataFrame]  # day -> rows that pass at the cut
    removed: pl.DataFrame  # REMOVED_SCHEMA: rows the partitions still held but the cut refused
    state: pl.DataFrame  # consent state at the cut (one row per user)
    excluded_authors: pl.Series  # author_key of every subject ineligible at the cut

    @property
    def removed_by_reason(self) -> dict[str, int]:
        counts = self.removed.group_by("reason").len().sort("reason")
        return {str(r): int(n) for r, n in counts.iter_rows()}


def judge_at_cut(corpus_by_day: Mapping[str, pl.DataFrame], users: pl.DataFrame, notifications: pl.DataFrame,
                 objections: pl.DataFrame, *, as_of: datetime, policy: Policy, secret: bytes,
                 now: datetime, earliest: pl.DataFrame | None = None) -> Cut:
    """Judge every packaged row again with the ledger at the cut; keep only those that pass.

    `notifications` / `objections` must be the ledger replayed up to the high-water mark the
    release records. Corpus rows carry `author_key` (never a user id), `created_at`,
    `deleted_at`, `platform`, `kind`, `visibility`, `day`.

    `earliest` (platform, content_id, is_earliest), from the dedup index as it is now: a row
    that is no longer the earliest copy of its words (an older copy arrived after its day was
    built, and that day waits for its rebuild) is left out as `not_earliest_copy`, and so is a
    row the index does not know (fail closed). None skips this (callers without an index).
    """
    t = to_utc(as_of)
    cutoff = max(t, to_utc(now, "now"))
    state = consent_state(users, notifications, objections, as_of=t, policy=policy, secret=secret,
                          objections_as_of=cutoff)
    # rule 8 at the cut: the non-user objections effective at the cut, matched on the corpus text
    # (names) and on the rows' `mention_keys` (digests of the pre-redaction e-mails/phones/handles)
    objectors = objector_identifiers(objections, cutoff, secret)
    deleted_accounts = state.filter(pl.col("account_deleted_at") <= cutoff).select("author_key")
    kept: dict[str, pl.DataFrame] = {}
    removed: list[pl.DataFrame] = [pl.DataFrame(schema=REMOVED_SCHEMA)]
    for day, rows in corpus_by_day.items():
        if rows.is_empty():
            kept[day] = rows
            continue
        # evaluate_content keeps the input's rows and order (a left join, m:1), so its verdicts
        # line up with `rows` one to one
        judged = evaluate_content(rows, state, as_of=t, policy=policy, key_column="author_key",
                                  objectors=objectors).collect()
        if earliest is not None:
            judged = judged.join(earliest.select("platform", "content_id", pl.col("is_earliest").alias("_earliest")),
                                 on=["platform", "content_id"], how="left", maintain_order="left")
        else:
            judged = judged.with_columns(pl.lit(True).alias("_earliest"))
        reason = (
            pl.when(pl.col("exclusion_reason").is_not_null()).then(pl.col("exclusion_reason"))
            # policy v2: only the earliest copy of words may be released
            .when(~pl.col("_earliest").fill_null(False)).then(pl.lit(NOT_EARLIEST_COPY))
            # a deletion that has happened counts at the cut, even when dated after a pinned T
            .when(pl.col("deleted_at") <= cutoff).then(pl.lit(FUTURE_OR_DELETED_CONTENT))
            .when(pl.col("author_key").is_in(deleted_accounts["author_key"].implode()))
            .then(pl.lit(UNKNOWN_OR_DELETED_AUTHOR))
        )
        judged = judged.with_columns(reason.alias("_cut_reason"))
        refused = judged.filter(pl.col("_cut_reason").is_not_null())
        # `mention_keys` stay: a release must be re-judgeable at its own high-water mark, rule 8
        # included (keyed digests, like author_key: nothing reversible without the secret)
        kept[day] = rows.filter(judged["_cut_reason"].is_null())
        removed.append(refused.select(
            pl.col("content_id"), pl.col("platform"), pl.col("day").cast(pl.Date), pl.col("author_key"),
            pl.col("_cut_reason").alias("reason")))
    excluded = state.filter(~pl.col("eligible"))["author_key"].sort()
    cut = Cut(kept=kept, removed=pl.concat(removed), state=state, excluded_authors=excluded)
    _assert_consistent(cut)
    return cut


def _assert_consistent(cut: Cut) -> None:
    """The release's rows and its exclusion commitments can never disagree: fail loudly if they would."""
    held = pl.concat([f.select("author_key") for f in cut.kept.values() if f.height] or
                     [pl.DataFrame(schema={"author_key": pl.String})])
    overlap = held.filter(pl.col("author_key").is_in(cut.excluded_authors.implode())).height
    if overlap:
        raise AssertionError(f"{overlap} rows kept at the cut belong to subjects the cut excludes")
