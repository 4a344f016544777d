"""Per-country balance and the k-author re-identification guard for the subsets.

Balance: model teams want every country fairly represented, so no country may hold more
than `max_share` of a balanced subset, and a country with fewer than `min_rows` rows is
left out (too little to represent it, and small groups are the re-identification risk).
Which rows a capped country keeps is decided by a seeded hash of `content_id`, so the
same input and seed always give the same sample.

Guard: a dialect post about a small town can point back at one person. Every combination
of (country, place mentioned, dialect) in a subset must be shared by at least `k`
distinct authors; rows that would expose a smaller group are dropped, with a reason.
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


def balance_by_country(frame: pl.DataFrame, config: BalanceConfig = BalanceConfig(),
                       country: str = "country") -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(kept rows, dropped rows with `balance_reason`, per-country table before/after)."""
    counts = dict(frame.group_by(country).len().iter_rows())
    eligible = {c: n for c, n in counts.items() if c is not None and n >= config.min_rows}
    caps = country_caps(eligible, config.max_share)
    ranked = frame.with_columns(_seeded_rank(config.seed).alias("_rank")).with_columns(
        pl.col("_rank").rank("ordinal").over(country).alias("_order"))
    cap_expr = pl.col(country).replace_strict(caps, default=0, return_dtype=pl.Int64)
    reason = (pl.when(~pl.col(country).is_in(list(caps)) | pl.col(country).is_null()).then(pl.lit(TOO_FEW_ROWS))
              .when(pl.col("_order") > cap_expr).then(pl.lit(OVER_SHARE)))
    marked = ranked.with_columns(reason.alias("balance_reason")).drop("_rank", "_order")
    kept = marked.filter(pl.col("balance_reason").is_null()).drop("balance_reason")
    dropped = marked.filter(pl.col("balance_reason").is_not_null())
    table = (frame.group_by(country).len("before")
             .join(kept.group_by(country).len("after"), on=country, how="left")
             .with_columns(pl.col("after").fill_null(0))
             .with_columns((pl.col("after") / pl.col("after").sum()).round(4).alias("share_after"))
             .sort("before", descending=True))
    return kept, dropped, table


def k_author_groups(frame: pl.DataFrame, keys: list[str], author: str = "author_key") -> pl.DataFrame:
    """Distinct authors per combination of `keys` (list columns are exploded first)."""
    exploded = frame.select(author, *keys)
    for key in keys:
        if isinstance(exploded.schema[key], pl.List):
            exploded = exploded.explode(key)
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
            exploded = exploded.explode(key)
    small = exploded.with_columns(pl.col(author).n_unique().over(keys).alias("_authors")).filter(
        pl.col("_authors") < k)
    bad_rows = small["_row"].unique()
    marked = indexed.with_columns(
        pl.when(pl.col("_row").is_in(bad_rows.implode())).then(pl.lit(FEWER_THAN_K)).alias("guard_reason"))
    kept = marked.filter(pl.col("guard_reason").is_null()).drop("_row", "guard_reason")
    dropped = marked.filter(pl.col("guard_reason").is_not_null()).drop("_row")
    return kept, dropped
