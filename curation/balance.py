"""Per-country balance and the k-author re-identification guard for the subsets.

Balance: model teams want every country fairly represented, so no country may hold more
than `max_share` of a balanced subset, and a country with fewer than `min_rows` rows is
left out (too little to represent it, and small groups are the re-identification risk).
Which rows a capped country keeps is decided by a seeded hash of `content_id`, so the
same input and seed always give the same sample.

Guard: a dialect post about a small town can point back at one person. Every combination
of (country, place mentioned, dialect) in a subset must be shared by at least `k`
distinct authors; rows that would expose a smaller group are dropped, with a reason.

Order (`guarded_balance`): the guard must hold on what is written, and sampling a capped
country can leave a group with fewer than k authors, while the guard's removals can
change the caps. So guard and balance alternate until a whole round removes nothing:
the result is then a fixed point of both, i.e. every group has >= k authors and no
country exceeds its cap. Every round that goes on removes at least one row, so this ends
after at most (rows + 1) rounds; `max_rounds` bounds it with a clear error.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import polars as pl

TOO_FEW_ROWS = "country_below_min_rows"
OVER_SHARE = "country_over_max_share"
FEWER_THAN_K = "fewer_than_k_authors"


@dataclass(frozen=True)
class BalanceConfig:
    """`max_share` of the balanced subset per country; countries under `min_rows` dropped."""

    max_share: float = 0.25
    min_rows: int = 5
    seed: int = 20250401

    def __post_init__(self) -> None:
        if not 0 < self.max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        if self.min_rows < 0:
            raise ValueError("min_rows must be >= 0")


def country_caps(counts: dict[str, int], max_share: float) -> dict[str, int]:
    """Largest per-country row counts such that no country exceeds `max_share` of the total.

    Water-filling: cap c satisfies c = max_share · Σ min(n_i, c). With fewer countries than
    1/max_share the share cannot hold for all; then every country gets the same cap (the
    smallest count), the fairest split the data allows.
    """
    if not counts:
        return {}
    if max_share * len(counts) < 1:
        cap = min(counts.values())
        return {country: min(n, cap) for country, n in counts.items()}
    cap = float(max(counts.values()))
    for _ in range(200):
        new_cap = max_share * sum(min(n, cap) for n in counts.values())
        if abs(new_cap - cap) < 1e-9:
            break
        cap = new_cap
    whole = max(math.floor(cap + 1e-9), 1)
    return {country: min(n, whole) for country, n in counts.items()}


def _seeded_rank(seed: int) -> pl.Expr:
    """A stable per-row order from (seed, content_id): the same on every machine and version."""
    salt = str(seed).encode()
    return pl.col("content_id").map_batches(
        lambda ids: pl.Series([hashlib.blake2b(salt + i.encode(), digest_size=8).hexdigest() for i in ids],
                              dtype=pl.String),
        return_dtype=pl.String,
    )


def _balance_ranked(ranked: pl.DataFrame, config: BalanceConfig,
                    country: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Balance rows that already carry their seeded `_rank` (computed once per guarded balance)."""
    counts = dict(ranked.group_by(country).len().iter_rows())
    eligible = {c: n for c, n in counts.items() if c is not None and n >= config.min_rows}
    caps = country_caps(eligible, config.max_share)
    ordered = ranked.with_columns(pl.col("_rank").rank("ordinal").over(country).alias("_order"))
    cap_expr = pl.col(country).replace_strict(caps, default=0, return_dtype=pl.Int64)
    reason = (pl.when(~pl.col(country).is_in(list(caps)) | pl.col(country).is_null()).then(pl.lit(TOO_FEW_ROWS))
              .when(pl.col("_order") > cap_expr).then(pl.lit(OVER_SHARE)))
    marked = ordered.with_columns(reason.alias("balance_reason")).drop("_order")
    kept = marked.filter(pl.col("balance_reason").is_null()).drop("balance_reason")
    dropped = marked.filter(pl.col("balance_reason").is_not_null())
    return kept, dropped


def _per_country_table(before: pl.DataFrame, after: pl.DataFrame, country: str) -> pl.DataFrame:
    return (before.group_by(country).len("before")
            .join(after.group_by(country).len("after"), on=country, how="left")
            .with_columns(pl.col("after").fill_null(0))
            .with_columns((pl.col("after") / pl.col("after").sum()).round(4).alias("share_after"))
            .sort("before", descending=True))


def balance_by_country(frame: pl.DataFrame, config: BalanceConfig = BalanceConfig(),
                       country: str = "country") -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(kept rows, dropped rows with `balance_reason`, per-country table before/after)."""
    ranked = frame.with_columns(_seeded_rank(config.seed).alias("_rank"))
    kept, dropped = _balance_ranked(ranked, config, country)
    kept, dropped = kept.drop("_rank"), dropped.drop("_rank")
    return kept, dropped, _per_country_table(frame, kept, country)


def k_author_groups(frame: pl.DataFrame, keys: list[str], author: str = "author_key") -> pl.DataFrame:
    """Distinct authors per combination of `keys` (list columns are exploded first)."""
    exploded = frame.select(author, *keys)
    for key in keys:
        if isinstance(exploded.schema[key], pl.List):
            exploded = exploded.explode(key, empty_as_null=True)  # a row naming no place is in the "no place" group
    return exploded.group_by(keys).agg(pl.col(author).n_unique().alias("authors"))


def k_author_guard(frame: pl.DataFrame, keys: list[str], k: int = 5,
                   author: str = "author_key") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept, dropped with `guard_reason`): a row goes when any of its (keys) combinations is
    held by fewer than `k` distinct authors. List columns (several places) count each value."""
    if k <= 1 or frame.is_empty():
        return frame, frame.head(0).with_columns(pl.lit(None, pl.String).alias("guard_reason"))
    indexed = frame.with_row_index("_row")
    exploded = indexed.select("_row", author, *keys)
    for key in keys:
        if isinstance(exploded.schema[key], pl.List):
            exploded = exploded.explode(key, empty_as_null=True)  # a row naming no place is in the "no place" group
    small = exploded.with_columns(pl.col(author).n_unique().over(keys).alias("_authors")).filter(
        pl.col("_authors") < k)
    bad_rows = small["_row"].unique()
    marked = indexed.with_columns(
        pl.when(pl.col("_row").is_in(bad_rows.implode())).then(pl.lit(FEWER_THAN_K)).alias("guard_reason"))
    kept = marked.filter(pl.col("guard_reason").is_null()).drop("_row", "guard_reason")
    dropped = marked.filter(pl.col("guard_reason").is_not_null()).drop("_row")
    return kept, dropped


class GuardDidNotConverge(RuntimeError):
    """Guard and balance still removed rows after `max_rounds` rounds."""


@dataclass(frozen=True)
class GuardedBalance:
    """What `guarded_balance` wrote and why the rest went.

    `dropped` holds every removed row with `drop_reason` (FEWER_THAN_K, TOO_FEW_ROWS or
    OVER_SHARE) and `drop_round` (1-based); `rounds` counts guard→balance rounds, the last
    of which removed nothing.
    """

    kept: pl.DataFrame
    dropped: pl.DataFrame
    per_country: pl.DataFrame
    rounds: int

    def dropped_by_reason(self) -> dict[str, int]:
        """Rows removed per reason over all rounds (every reason present, 0 if none)."""
        counts = dict(self.dropped.group_by("drop_reason").len().iter_rows())
        return {reason: int(counts.get(reason, 0)) for reason in (FEWER_THAN_K, TOO_FEW_ROWS, OVER_SHARE)}


def guarded_balance(frame: pl.DataFrame, keys: list[str], k: int = 5, config: BalanceConfig = BalanceConfig(),
                    author: str = "author_key", country: str = "country",
                    max_rounds: int = 100) -> GuardedBalance:
    """The k-author guard and the per-country sampler, alternated until neither removes a row.

    Balancing after the guard can thin a group below k authors; guarding after the balance can
    push a country's share over its cap (or its rows under `min_rows`). A round is guard then
    balance; the loop stops at the first round that removes nothing, so the result passes the
    guard and the balance unchanged: every (keys) group has >= k distinct authors and every
    country is within its cap. Rows are only ever removed, so each further round removes at
    least one: the loop ends within rows + 1 rounds; `max_rounds` caps it with an error.
    """
    if max_rounds < 1:
        raise ValueError("max_rounds must be >= 1")
    if "_rank" in frame.columns:
        raise ValueError("guarded_balance needs the column name `_rank` for itself")
    current = frame.with_columns(_seeded_rank(config.seed).alias("_rank"))
    removed: list[pl.DataFrame] = []
    for round_no in range(1, max_rounds + 1):
        guarded, exposed = k_author_guard(current, keys, k=k, author=author)
        balanced, capped = _balance_ranked(guarded, config, country)
        for part, column in ((exposed, "guard_reason"), (capped, "balance_reason")):
            if part.height:
                removed.append(part.rename({column: "drop_reason"})
                               .with_columns(pl.lit(round_no, pl.Int32).alias("drop_round")))
        if balanced.height == current.height:
            kept = balanced.drop("_rank")
            empty = frame.head(0).with_columns(pl.lit(None, pl.String).alias("drop_reason"),
                                               pl.lit(None, pl.Int32).alias("drop_round"))
            dropped = pl.concat([empty, *(part.drop("_rank") for part in removed)], how="vertical")
            return GuardedBalance(kept, dropped, _per_country_table(frame, kept, country), round_no)
        current = balanced
    raise GuardDidNotConverge(
        f"k-author guard (k={k}) and per-country balance (max_share={config.max_share}, "
        f"min_rows={config.min_rows}) still removed rows after {max_rounds} rounds "
        f"({frame.height} rows in, {current.height} left); raise max_rounds or review the settings")
