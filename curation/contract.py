"""The landing-zone contract (DESIGN.md, "Inputs"): record types, their fields and enums.

One definition, used by the reader that quarantines bad records, by the Pandera schemas
that re-check what was kept, and by the demo generator's tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

PLATFORMS: tuple[str, ...] = ("facebook", "instagram", "messenger", "whatsapp", "meta_ai")
KINDS: tuple[str, ...] = ("post", "comment", "caption", "message", "ai_prompt", "ai_response")
VISIBILITIES: tuple[str, ...] = ("public", "friends", "followers", "private", "direct")
CHANNELS: tuple[str, ...] = ("in_app", "email")
ACTIONS: tuple[str, ...] = ("object", "withdraw")

UTC_TS = pl.Datetime("us", "UTC")

FieldType = Literal["string", "timestamp", "date"]


@dataclass(frozen=True)
class Field:
    """One contract field: its JSON type, whether it must be present, its allowed values."""

    name: str
    type: FieldType = "string"
    required: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None

    @property
    def dtype(self) -> pl.DataType:
        return {"string": pl.String(), "timestamp": UTC_TS, "date": pl.Date()}[self.type]


@dataclass(frozen=True)
class RecordType:
    """A kind of landing record (content, users, …) and the fields the contract names."""

    name: str
    folder: str
    id_field: str
    fields: tuple[Field, ...]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {f.name: f.dtype for f in self.fields}

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


CONTENT = RecordType(
    name="content",
    folder="content",
    id_field="content_id",
    fields=(
        Field("content_id", required=True),
        Field("platform", required=True, enum=PLATFORMS),
        Field("kind", required=True, enum=KINDS),
        Field("author_id", required=True),
        Field("created_at", "timestamp", required=True),
        Field("visibility", required=True, enum=VISIBILITIES),
        Field("text", required=True),
        Field("deleted_at", "timestamp"),
        Field("parent_id"),
        Field("locale"),
    ),
)

USERS = RecordType(
    name="users",
    folder="users",
    id_field="user_id",
    fields=(
        Field("user_id", required=True),
        Field("birth_date", "date"),
        Field("country", required=True, pattern=r"^[A-Z]{2}$"),
        Field("created_at", "timestamp", required=True),
        Field("deleted_at", "timestamp"),
    ),
)

NOTIFICATIONS = RecordType(
    name="notifications",
    folder="notifications",
    id_field="notification_id",
    fields=(
        Field("notification_id", required=True),
        Field("user_id", required=True),
        Field("channel", required=True, enum=CHANNELS),
        Field("sent_at", "timestamp", required=True),
    ),
)

OBJECTIONS = RecordType(
    name="objections",
    folder="objections",
    id_field="submission_id",
    fields=(
        Field("submission_id", required=True),
        Field("user_id"),
        Field("email"),
        Field("action", required=True, enum=ACTIONS),
        Field("submitted_at", "timestamp", required=True),
        # rule 8, optional for non-users: the identifiers under which they appear in others'
        # posts. `handles` is one string of handles separated by commas or spaces.
        Field("full_name"),
        Field("phone"),
        Field("handles"),
    ),
)

# Quarantine reasons, in the order a record is checked: a record carries the first.
INVALID_UTF8 = "invalid_utf8"
BAD_JSON = "bad_json"
REPEATED_KEY = "repeated_key"  # a JSON object names one key twice: which value is meant is unknowable
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
UNKNOWN_ENUM = "unknown_enum"
BAD_TIMESTAMP = "bad_timestamp"
OUT_OF_RANGE = "out_of_range"
WRONG_FOLDER = "wrong_folder"
CONFLICTING_DUPLICATE_ID = "conflicting_duplicate_id"
DUPLICATE_RECORD = "duplicate_record"
# A user's newest users file holds two different (or broken) records for them: every record of
# that user is withheld, so the user has no record (fail closed, never an older fallback).
CONFLICTING_USER_RECORDS = "conflicting_user_records"
# Whole-file reasons: the file is quarantined as one row (line null) and counts as one read.
UNREADABLE_FILE = "unreadable_file"
MISSING_COLUMNS = "missing_columns"  # a Parquet file without a required column of the contract
FILE_TOO_LARGE = "file_too_large"  # bytes on storage above the landing zone's limit
DECOMPRESSED_TOO_LARGE = "decompressed_too_large"  # a gzip that inflates past the limit

QUARANTINE_REASONS: tuple[str, ...] = (
    INVALID_UTF8,
    BAD_JSON,
    REPEATED_KEY,
    MISSING_FIELD,
    WRONG_TYPE,
    UNKNOWN_ENUM,
    BAD_TIMESTAMP,
    OUT_OF_RANGE,
    WRONG_FOLDER,
    CONFLICTING_DUPLICATE_ID,
    DUPLICATE_RECORD,
    CONFLICTING_USER_RECORDS,
    UNREADABLE_FILE,
    MISSING_COLUMNS,
    FILE_TOO_LARGE,
    DECOMPRESSED_TOO_LARGE,
)

FILE_REASONS: tuple[str, ...] = (UNREADABLE_FILE, MISSING_COLUMNS, FILE_TOO_LARGE, DECOMPRESSED_TOO_LARGE)

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "record_type": pl.String(),
    "source_file": pl.String(),
    "line": pl.Int64(),
    "reason": pl.String(),
    "detail": pl.String(),
    "payload": pl.String(),
}
