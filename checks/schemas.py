"""Pandera `DataFrameModel`s (polars backend) for every asset's schema, in one module.

Value checks run on a collected DataFrame only (pandera checks just the schema on a
LazyFrame, see DAGSTER-NOTES.md), so the check factory collects before validating.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from curation import contract as c
from curation.corpus import OUTCOMES
from curation.eligibility import REASON_ORDER

UTC = pl.Datetime("us", "UTC")


class Quarantine(pa.DataFrameModel):
    """A quarantined landing record: where it was and why it was refused."""

    record_type: str = pa.Field(isin=["content", "users", "notifications", "objections"])
    source_file: str
    line: pl.Int64 = pa.Field(nullable=True, ge=1)
    reason: str = pa.Field(isin=list(c.QUARANTINE_REASONS))
    detail: str = pa.Field(nullable=True)
    payload: str = pa.Field(nullable=True)

    class Config:
        strict = True


class RawContent(pa.DataFrameModel):
    """Typed content records exactly per the landing contract."""

    content_id: str
    platform: str = pa.Field(isin=list(c.PLATFORMS))
    kind: str = pa.Field(isin=list(c.KINDS))
    author_id: str
    created_at: UTC  # type: ignore[valid-type]
    visibility: str = pa.Field(isin=list(c.VISIBILITIES))
    text: str
    deleted_at: UTC = pa.Field(nullable=True)  # type: ignore[valid-type]
    parent_id: str = pa.Field(nullable=True)
    locale: str = pa.Field(nullable=True)
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    class Config:
        strict = True
        unique = ["platform", "content_id"]


class RawUsers(pa.DataFrameModel):
    """The user snapshot: one row per user."""

    user_id: str = pa.Field(unique=True)
    birth_date: pl.Date = pa.Field(nullable=True)
    country: str = pa.Field(str_matches=r"^[A-Z]{2}$")
    created_at: UTC  # type: ignore[valid-type]
    deleted_at: UTC = pa.Field(nullable=True)  # type: ignore[valid-type]
    source_file: str

    class Config:
        strict = True


class ConsentState(pa.DataFrameModel):
    """One row per user: eligible or the first user-level reason, and the keyed author id."""

    user_id: str = pa.Field(unique=True)
    author_key: str = pa.Field(unique=True, str_length={"min_value": 16})
    country: str
    eligible: bool
    reason: str = pa.Field(nullable=True, isin=list(REASON_ORDER))

    class Config:
        strict = False

    @pa.dataframe_check(error="eligible rows carry no reason, excluded rows carry one")
    def reason_matches_eligible(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("eligible") == pl.col("reason").is_null())


class FilteredCorpus(pa.DataFrameModel):
    """Eligible rows only; the author appears only as `author_key`."""

    content_id: str
    platform: str = pa.Field(isin=list(c.PLATFORMS))
    kind: str = pa.Field(isin=list(c.KINDS))
    author_key: str = pa.Field(str_length={"min_value": 16})
    created_at: UTC  # type: ignore[valid-type]
    visibility: str = pa.Field(isin=list(c.VISIBILITIES))
    text: str
    country: str
    language: str
    language_score: float = pa.Field(nullable=True, ge=0, le=1)
    text_hash: str = pa.Field(unique=True)
    policy_version: str
    as_of: UTC  # type: ignore[valid-type]

    class Config:
        strict = False
        unique = ["platform", "content_id"]


class ExclusionReport(pa.DataFrameModel):
    """Rows per day × platform × country × outcome (`eligible` or a reason code)."""

    day: pl.Date
    platform: str = pa.Field(isin=list(c.PLATFORMS))
    country: str = pa.Field(nullable=True)
    reason: str = pa.Field(isin=list(OUTCOMES))
    rows: pl.UInt32 = pa.Field(ge=1)

    class Config:
        strict = False
        unique = ["day", "platform", "country", "reason"]
