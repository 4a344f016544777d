"""Pending purges: which objections in the ledger no successful build has applied yet.

The objection sensor used to remember only the newest ledger seq it had *requested*, so a
purge run that failed or was killed was never asked for again. Now the state is derived
every tick from what was actually built: an objection with ledger seq `s` is applied to a
day once that day's latest `filtered_corpus` materialization was built from a consent
state that saw the ledger up to `s` (its `ledger_high_water_mark` metadata is ≥ `s`).
Until then it is pending, is requested again (a failed or killed run counts as an
attempt), and is visible and alerted on when it stays pending too long.

Two steps, so every purged day is judged at one T: first one consent refresh (a new
`consent_state`, which fixes T and the high-water mark), then one purge run per day,
all reading that same consent state.

Plain polars here; the sensor in `automation/sensors.py` reads the instance and the
ledger and turns the plan into run requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from curation.mentions import days_naming, mention_subject, objector_identifiers, withdrawn_objections

PENDING_SCHEMA: dict[str, pl.DataType] = {
    "submission_id": pl.String(), "seq": pl.Int64(), "recorded_at": pl.Datetime("us", "UTC"),
    "day": pl.String(), "built_hwm": pl.Int64(),
}


@dataclass(frozen=True)
class PurgePlan:
    """What the ledger asks for that the builds have not done yet."""

    pending: pl.DataFrame  # one row per (objection, day still holding it); day null: consent not refreshed
    consent_hwm: int  # high-water mark of the latest consent_state
    settled_seq: int  # every objection up to this seq is applied everywhere

    @property
    def needs_consent_refresh(self) -> bool:
        return bool(self.pending.filter(pl.col("seq") > self.consent_hwm).height)

    @property
    def target_seq(self) -> int:
        """The newest pending seq: a consent refresh must see at least this much ledger."""
        return int(self.pending["seq"].max() or 0) if self.pending.height else self.consent_hwm

    @property
    def purge_days(self) -> list[str]:
        """Days whose rebuild would apply a pending objection with the current consent state."""
        ready = self.pending.filter(pl.col("day").is_not_null() & (pl.col("seq") <= self.consent_hwm))
        return sorted(ready["day"].unique().to_list())

    def by_submission(self, now: datetime) -> pl.DataFrame:
        """One row per pending objection: its days and how long it has been pending."""
        if self.pending.is_empty():
            return pl.DataFrame(schema={"submission_id": pl.String, "seq": pl.Int64, "days": pl.List(pl.String),
                                        "pending_minutes": pl.Float64})
        return (self.pending.group_by("submission_id", "seq")
                .agg(pl.col("day").drop_nulls().unique().sort().alias("days"), pl.col("recorded_at").min())
                .with_columns(((pl.lit(now).cast(pl.Datetime("us", "UTC")) - pl.col("recorded_at"))
                               .dt.total_seconds() / 60).round(1).alias("pending_minutes"))
                .drop("recorded_at").sort("seq"))


def plan_purges(objections: pl.DataFrame, index: pl.DataFrame, day_hwm: dict[str, int],
                consent_hwm: int, settled_seq: int) -> PurgePlan:
    """Pending (objection, day) pairs.

    `objections`: ledger events after `settled_seq` with `submission_id`, `author_key`,
    `seq`, `recorded_at` (withdrawals too: they change consent as much). `index`: the
    `author_index` rows (`author_key`, `day`) of those authors. `day_hwm`: each day's
    latest build's ledger high-water mark (days absent were never built: nothing to purge
    there, unless the index names them, then they count as unbuilt: -1).
    """
    events = objections.select(
        "submission_id", "author_key", pl.col("seq").cast(pl.Int64),
        pl.col("recorded_at").cast(pl.Datetime("us", "UTC")))
    if events.is_empty():
        return PurgePlan(pl.DataFrame(schema=PENDING_SCHEMA), consent_hwm, settled_seq)
    built = pl.DataFrame({"day": list(day_hwm), "built_hwm": list(day_hwm.values())},
                         schema={"day": pl.String, "built_hwm": pl.Int64})
    days = index.select("author_key", pl.col("day").cast(pl.String)).unique()
    per_day = (events.join(days, on="author_key", how="inner")
               .join(built, on="day", how="left")
               .with_columns(pl.col("built_hwm").fill_null(-1))
               .filter(pl.col("built_hwm") < pl.col("seq")))
    # An objection applies nowhere until consent_state has seen it, content or not.
    unseen = (events.filter(pl.col("seq") > consent_hwm)
              .with_columns(pl.lit(None, pl.String).alias("day"), pl.lit(consent_hwm, pl.Int64).alias("built_hwm")))
    pending = (pl.concat([per_day.select(list(PENDING_SCHEMA)), unseen.select(list(PENDING_SCHEMA))])
               .unique().sort("seq", "day", nulls_last=True))
    top = int(events["seq"].max())  # type: ignore[arg-type]
    settled = top if pending.is_empty() else int(pending["seq"].min()) - 1  # type: ignore[arg-type]
    return PurgePlan(pending, consent_hwm, max(settled, settled_seq))


def non_user_scope(fresh: pl.DataFrame, objections: pl.DataFrame, corpus: pl.DataFrame,
                   mention_index: pl.DataFrame, secret: bytes) -> pl.DataFrame:
    """(`author_key` = ``mention:<submission id>``, `day`): what rule 8 events touch.

    `fresh`: the non-user ledger events to plan for. An objection touches the corpus days
    whose rows name one of its identifiers (`corpus`: `day`, `text`, `mention_keys` of the
    days that could still hold them); a withdrawal, the days holding items the objections it
    withdraws excluded (`mention_index`: the `author_index` rows keyed ``mention:…``), read
    against every earlier non-user objection in `objections`. The key is the event's own
    submission id, so `plan_purges` treats it as it treats an author."""
    schema = {"author_key": pl.String, "day": pl.Date}
    if fresh.is_empty():
        return pl.DataFrame(schema=schema)
    objecting = fresh.filter(pl.col("action") == "object")
    identifiers = objector_identifiers(objecting, datetime.max.replace(tzinfo=UTC), secret)
    named = days_naming(corpus, identifiers)
    withdrawn = withdrawn_objections(objections, fresh.filter(pl.col("action") != "object"))
    let_back = (withdrawn.with_columns(mention_subject(pl.col("withdrawn")).alias("author_key"))
                .join(mention_index.select("author_key", pl.col("day").cast(pl.Date)), on="author_key")
                .select("submission_id", "day"))
    return (pl.concat([named, let_back]).select(mention_subject(pl.col("submission_id")).alias("author_key"), "day")
            .unique().sort("day", "author_key"))
