"""What an incremental `make run` must build (DESIGN.md, Scale: "Incremental by default").

After the first build, a run brings everything up to date and no more:

* the days whose landing files are newer than the start of the run that last built them
  (or were never built);
* the days holding words of a person whose consent outcome changed (an objection, a
  withdrawal, a deletion in the users snapshot, a notification window that closed as T
  moved): the consent state before and after the refresh are compared, and `author_index`
  says which days hold their words (their posts and others' copies of them);
* the days a new non-user objection (rule 8) touches: the corpus days whose rows name the
  person, and for a withdrawal the days holding the items it lets back;
* the days another day's build made stale (`dedup_index/stale_days.json`).

Plain functions over the instance and the files; `automation/full_build.py` runs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from upath import UPath

from automation.landing import (
    author_days,
    built_days,
    corpus_texts,
    group_new_files,
    list_landed_files,
    mention_index,
)
from automation.purges import non_user_scope
from automation.sensors import files_already_built
from curation.ledger import ConsentLedger


def changed_content_days(instance: dg.DagsterInstance, landing: UPath, valid: Iterable[str]) -> list[str]:
    """Days with a content file no earlier build has read (newer than that day's last build)."""
    files = list_landed_files(landing)
    built = files_already_built(instance, files)
    by_day, _, _ = group_new_files([f for f in files if f.path not in built])
    wanted = set(valid)
    return sorted(d for d in by_day if d in wanted)


# What a row's outcome can depend on, per author: the author-level verdict, and the inputs of
# the per-item rules (age at creation, deletion) and of the corpus' `country` column.
OUTCOME_COLUMNS = ("eligible", "reason", "birth_date", "account_deleted_at", "country")


def consent_outcomes(path: Path) -> pl.DataFrame:
    """author_key → OUTCOME_COLUMNS of a consent_state file (None when there is none)."""
    if not path.exists():
        return pl.DataFrame(schema={"author_key": pl.String})
    return pl.read_parquet(path, columns=["author_key", *OUTCOME_COLUMNS])


def changed_authors(before: pl.DataFrame, after: pl.DataFrame) -> list[str]:
    """Authors whose consent outcome differs between two consent states (new or gone too)."""
    if before.width == 1:  # no earlier state: everyone is new
        return after["author_key"].drop_nulls().unique().sort().to_list()
    joined = before.join(after, on="author_key", how="full", suffix="_after", coalesce=True)
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_after")) for c in OUTCOME_COLUMNS])
    return joined.filter(differs)["author_key"].drop_nulls().unique().sort().to_list()


def days_of_authors(index_root: UPath, keys: list[str]) -> list[str]:
    return sorted({d.isoformat() for d in author_days(index_root, keys)["day"].to_list()})


def contiguous_ranges(days: Iterable[str]) -> list[tuple[str, str]]:
    """Sorted days as (first, last) runs of consecutive dates: one single-run backfill each."""
    ranges: list[tuple[str, str]] = []
    for day in sorted({date.fromisoformat(d) for d in days}):
        if ranges and date.fromisoformat(ranges[-1][1]) + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day.isoformat())
        else:
            ranges.append((day.isoformat(), day.isoformat()))
    return ranges


def previous_high_water_mark(path: Path) -> int:
    """The ledger high-water mark the current consent_state saw (-1: none yet)."""
    if not path.exists():
        return -1
    column = pl.read_parquet(path, columns=["ledger_high_water_mark"])["ledger_high_water_mark"]
    return int(column.max()) if column.len() else -1  # type: ignore[arg-type]


def non_user_days(ledger: ConsentLedger, after_seq: int, data_root: UPath, secret: bytes) -> tuple[int, list[str]]:
    """Non-user (rule 8) events recorded after `after_seq`, and the days they touch: corpus
    days whose rows name an objector, and days holding items a withdrawal lets back."""
    fresh = ledger.objections_since(after_seq).filter(pl.col("user_id").is_null())
    if fresh.is_empty():
        return 0, []
    assets = data_root / "assets"
    corpus_root = assets / "filtered_corpus"
    scope = non_user_scope(fresh, ledger.objections(), corpus_texts(corpus_root, built_days(corpus_root)),
                           mention_index(assets / "author_index"), secret)
    return fresh.height, sorted({d.isoformat() for d in scope["day"].to_list()})
