"""Read landing files into typed frames; every record that breaks the contract is quarantined.

The rule the privacy team relies on: ``valid + quarantined == read`` for every batch.
A record is checked in the order of `contract.QUARANTINE_REASONS` and carries the
first reason it fails. Decoding JSON must look at each line on its own (one truncated
line must not sink the file), so that step is a plain loop over lines; every check on
values after it (enums, timestamps, ranges, folders, duplicates) is a polars expression.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath

import orjson
import polars as pl
from upath import UPath

from curation import contract as c

# A content rule beyond the per-field contract: (reason, failing-row expression, detail).
ExtraRule = tuple[str, pl.Expr, pl.Expr]

_SOURCE_COLUMNS = {"source_file": pl.String(), "source_line": pl.Int64()}
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"


@dataclass
class IngestResult:
    """What a batch of landing files held: typed valid rows, quarantined rows, rows read."""

    valid: pl.DataFrame
    quarantine: pl.DataFrame
    read: int
    files: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "valid": self.valid.height, "quarantined": self.quarantine.height}


def empty_valid(rtype: c.RecordType) -> pl.DataFrame:
    return pl.DataFrame(schema={**rtype.schema, **_SOURCE_COLUMNS})


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=c.QUARANTINE_SCHEMA)


def is_record_file(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.gz", ".parquet"))


def list_record_files(folder: UPath) -> list[UPath]:
    """Record files directly in `folder`, sorted by name (landing order); [] if it is absent."""
    if not folder.exists():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.name)


# --------------------------------------------------------------------------- stage 1: decode


@dataclass
class _Decoded:
    columns: dict[str, list[str | None]]
    quarantine: list[dict[str, object]]
    read: int


def _quarantine_row(rtype: c.RecordType, source: str, line: int | None, reason: str,
                    detail: str, payload: str) -> dict[str, object]:
    return {"record_type": rtype.name, "source_file": source, "line": line, "reason": reason,
            "detail": detail, "payload": payload}


def _decode_jsonl(raw: bytes, source: str, rtype: c.RecordType) -> _Decoded:
    """Decode one JSON Lines file line by line; structural failures go to quarantine."""
    names = rtype.names
    required = [f.name for f in rtype.fields if f.required]
    columns: dict[str, list[str | None]] = {n: [] for n in names}
    columns["source_line"] = []  # type: ignore[assignment]
    quarantine: list[dict[str, object]] = []
    read = 0
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        read += 1
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as utf8_error:
                quarantine.append(_quarantine_row(
                    rtype, source, number, c.INVALID_UTF8, str(utf8_error),
                    line.decode("utf-8", errors="backslashreplace")))
                continue
            quarantine.append(_quarantine_row(rtype, source, number, c.BAD_JSON, str(error), text))
            continue
        if not isinstance(record, dict):
            quarantine.append(_quarantine_row(
                rtype, source, number, c.BAD_JSON, f"a JSON {type(record).__name__}, not an object",
                line.decode("utf-8")))
            continue
        missing = [n for n in required if record.get(n) is None]
        if missing:
            quarantine.append(_quarantine_row(
                rtype, source, number, c.MISSING_FIELD, "missing: " + ", ".join(missing),
                line.decode("utf-8")))
            continue
        mistyped = [n for n in names if record.get(n) is not None and not isinstance(record[n], str)]
        if mistyped:
            quarantine.append(_quarantine_row(
                rtype, source, number, c.WRONG_TYPE,
                "not a string: " + ", ".join(f"{n}={type(record[n]).__name__}" for n in mistyped),
                line.decode("utf-8")))
            continue
        for n in names:
            columns[n].append(record.get(n))
        columns["source_line"].append(number)  # type: ignore[arg-type]
    return _Decoded(columns, quarantine, read)


def _parquet_as_strings(frame: pl.DataFrame, rtype: c.RecordType) -> pl.DataFrame:
    """Bring a Parquet frame to the JSON shape (strings) so both take the same checks.

    `_wrong_type` names, per row, the non-null values whose Parquet type is wrong.
    """
    out: list[pl.Expr] = []
    wrong: list[pl.Expr] = []
    for f in rtype.fields:
        if f.name not in frame.columns:
            out.append(pl.lit(None, pl.String).alias(f.name))
            continue
        dtype = frame.schema[f.name]
        col = pl.col(f.name)
        if isinstance(dtype, pl.Datetime) and f.type == "timestamp":
            col = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col
            out.append(col.dt.convert_time_zone("UTC").dt.strftime(_ISO_FORMAT).alias(f.name))
        elif dtype == pl.Date and f.type == "date":
            out.append(col.dt.strftime("%Y-%m-%d").alias(f.name))
        elif dtype in (pl.String, pl.Null):
            out.append(col.cast(pl.String).alias(f.name))
        else:
            out.append(pl.lit(None, pl.String).alias(f.name))
            wrong.append(pl.when(col.is_not_null()).then(pl.lit(f"{f.name}={dtype}")))
    wrong_expr = pl.concat_str(wrong, separator=", ", ignore_nulls=True) if wrong else pl.lit("")
    return frame.select(*out, wrong_expr.alias("_wrong_type"))


def _decode_parquet(raw: bytes, source: str, rtype: c.RecordType) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    frame = pl.read_parquet(io.BytesIO(raw))
    strings = _parquet_as_strings(frame, rtype).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("source_line"))
    required = [f.name for f in rtype.fields if f.required]
    missing = pl.concat_str(
        [pl.when(pl.col(n).is_null()).then(pl.lit(n)) for n in required], separator=", ", ignore_nulls=True
    )
    strings = strings.with_columns(
        pl.when(pl.col("_wrong_type").is_not_null() & (pl.col("_wrong_type") != ""))
        .then(pl.lit(c.WRONG_TYPE))
        .when(missing != "")
        .then(pl.lit(c.MISSING_FIELD))
        .alias("_reason"),
        pl.when(missing != "").then(pl.lit("missing: ") + missing).otherwise(
            pl.lit("wrong type: ") + pl.col("_wrong_type")).alias("_detail"),
    )
    bad = strings.filter(pl.col("_reason").is_not_null())
    quarantine = bad.select(
        pl.lit(rtype.name).alias("record_type"),
        pl.lit(source).alias("source_file"),
        pl.col("source_line").alias("line"),
        pl.col("_reason").alias("reason"),
        pl.col("_detail").alias("detail"),
        pl.struct(rtype.names).struct.json_encode().alias("payload"),
    )
    good = strings.filter(pl.col("_reason").is_null()).drop("_wrong_type", "_reason", "_detail")
    return good, quarantine, frame.height


def _read_bytes(path: UPath) -> bytes:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw


def decode_files(paths: Sequence[UPath], rtype: c.RecordType) -> tuple[pl.DataFrame, pl.DataFrame, int, list[str]]:
    """Stage 1 over many files: string-typed rows that are structurally sound, plus quarantine."""
    parts: list[pl.DataFrame] = []
    quarantines: list[pl.DataFrame] = []
    read = 0
    ignored: list[str] = []
    string_schema = {n: pl.String() for n in rtype.names}
    for path in paths:
        source = str(path)
        if not is_record_file(path.name):
            ignored.append(source)
            continue
        try:
            raw = _read_bytes(path)
            if path.name.endswith(".parquet"):
                good, bad, n = _decode_parquet(raw, source, rtype)
            else:
                decoded = _decode_jsonl(raw, source, rtype)
                good = pl.DataFrame(decoded.columns, schema={**string_schema, "source_line": pl.Int64()})
                bad = pl.DataFrame(decoded.quarantine, schema=c.QUARANTINE_SCHEMA)
                n = decoded.read
        except Exception as error:  # a corrupt file is quarantined whole, never fatal
            quarantines.append(pl.DataFrame([_quarantine_row(
                rtype, source, None, c.UNREADABLE_FILE, f"{type(error).__name__}: {error}", "")],
                schema=c.QUARANTINE_SCHEMA))
            read += 1
            continue
        parts.append(good.with_columns(pl.lit(source).alias("source_file")))
        quarantines.append(bad)
        read += n
    strings = pl.concat(parts, how="vertical") if parts else pl.DataFrame(
        schema={**string_schema, "source_line": pl.Int64(), "source_file": pl.String()})
    quarantine = pl.concat(quarantines, how="vertical") if quarantines else empty_quarantine()
    return strings, quarantine, read, ignored


# --------------------------------------------------------------------------- stage 2: values


def parse_timestamp(expr: pl.Expr) -> pl.Expr:
    """ISO-8601 with an offset (or Z) to UTC; anything else (no offset, nonsense) to null."""
    return expr.str.replace(r"Z$", "+00:00").str.to_datetime(
        _ISO_FORMAT, strict=False, time_zone="UTC", time_unit="us"
    )


def _parse(f: c.Field) -> pl.Expr:
    col = pl.col(f.name)
    if f.type == "timestamp":
        return parse_timestamp(col)
    if f.type == "date":
        return col.str.to_date("%Y-%m-%d", strict=False)
    return col


def validate_values(strings: pl.DataFrame, rtype: c.RecordType,
                    extra_rules: Callable[[], list[ExtraRule]] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stage 2: enums, patterns, timestamps and record-type rules, as polars expressions."""
    typed = strings.with_columns(
        *[_parse(f).alias(f"_typed_{f.name}") for f in rtype.fields if f.type != "string"]
    )
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []
    for f in rtype.fields:
        col = pl.col(f.name)
        if f.enum is not None:
            checks.append((c.UNKNOWN_ENUM, col.is_not_null() & ~col.is_in(f.enum),
                           pl.lit(f"{f.name}=") + col))
        if f.pattern is not None:
            checks.append((c.UNKNOWN_ENUM, col.is_not_null() & ~col.str.contains(f.pattern),
                           pl.lit(f"{f.name}=") + col))
    for f in rtype.fields:
        if f.type != "string":
            checks.append((c.BAD_TIMESTAMP, pl.col(f.name).is_not_null() & pl.col(f"_typed_{f.name}").is_null(),
                           pl.lit(f"{f.name}=") + pl.col(f.name)))
    if extra_rules is not None:
        checks.extend(extra_rules())
    # Order matters: the first failing check names the reason, as in QUARANTINE_REASONS.
    order = {reason: i for i, reason in enumerate(c.QUARANTINE_REASONS)}
    checks.sort(key=lambda check: order[check[0]])
    reason = pl.coalesce([pl.when(fail).then(pl.lit(r)) for r, fail, _ in checks]) if checks else pl.lit(None)
    detail = pl.coalesce([pl.when(fail).then(d) for _, fail, d in checks]) if checks else pl.lit(None)
    typed = typed.with_columns(reason.cast(pl.String).alias("_reason"), detail.cast(pl.String).alias("_detail"))
    bad = typed.filter(pl.col("_reason").is_not_null()).select(
        pl.lit(rtype.name).alias("record_type"),
        "source_file",
        pl.col("source_line").alias("line"),
        pl.col("_reason").alias("reason"),
        pl.col("_detail").alias("detail"),
        pl.struct(rtype.names).struct.json_encode().alias("payload"),
    )
    good = typed.filter(pl.col("_reason").is_null()).select(
        *[(pl.col(f"_typed_{f.name}") if f.type != "string" else pl.col(f.name)).alias(f.name)
          for f in rtype.fields],
        "source_file",
        "source_line",
    )
    return good, bad


def split_duplicates(valid: pl.DataFrame, rtype: c.RecordType, key: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Same id twice: identical copies keep the first (the rest `duplicate_record`); copies that
    differ are all quarantined as `conflicting_duplicate_id`, since no one can say which is true."""
    payload_hash = pl.struct(rtype.names).hash(seed=0)
    marked = valid.with_columns(
        payload_hash.n_unique().over(key).alias("_variants"),
        pl.int_range(pl.len()).over(key).alias("_copy"),
    )
    reason = (
        pl.when(pl.col("_variants") > 1).then(pl.lit(c.CONFLICTING_DUPLICATE_ID))
        .when(pl.col("_copy") > 0).then(pl.lit(c.DUPLICATE_RECORD))
    )
    marked = marked.with_columns(reason.alias("_reason"))
    bad = marked.filter(pl.col("_reason").is_not_null()).select(
        pl.lit(rtype.name).alias("record_type"),
        "source_file",
        pl.col("source_line").alias("line"),
        pl.col("_reason").alias("reason"),
        (pl.lit(f"{rtype.id_field}=") + pl.col(rtype.id_field)).alias("detail"),
        pl.struct([pl.col(n).cast(pl.String) for n in rtype.names]).struct.json_encode().alias("payload"),
    )
    good = marked.filter(pl.col("_reason").is_null()).drop("_variants", "_copy", "_reason")
    return good, bad


def ingest(paths: Sequence[UPath], rtype: c.RecordType, *,
           extra_rules: Callable[[], list[ExtraRule]] | None = None,
           duplicate_key: Sequence[str] | None = None) -> IngestResult:
    """Decode, validate and de-duplicate a batch of landing files of one record type."""
    strings, quarantine1, read, ignored = decode_files(paths, rtype)
    good, quarantine2 = validate_values(strings, rtype, extra_rules)
    quarantine3 = empty_quarantine()
    if duplicate_key:
        good, quarantine3 = split_duplicates(good, rtype, duplicate_key)
    quarantine = pl.concat([quarantine1, quarantine2, quarantine3], how="vertical")
    result = IngestResult(valid=good, quarantine=quarantine, read=read,
                          files=[str(p) for p in paths if str(p) not in ignored], ignored_files=ignored)
    if result.valid.height + result.quarantine.height != result.read:
        raise AssertionError(f"ingest lost records: {result.counts()}")
    return result


# --------------------------------------------------------------------------- content


def content_rules(partition_start: date, partition_end: date) -> Callable[[], list[ExtraRule]]:
    """Content-only rules: the item's UTC date is inside the partitioned range and matches
    the folder it landed in (`content/<platform>/<YYYY-MM-DD>/`)."""

    def rules() -> list[ExtraRule]:
        day = pl.col("_typed_created_at").dt.date()
        parts = pl.col("source_file").str.split("/")
        folder_platform = parts.list.get(-3, null_on_oob=True)
        folder_day = parts.list.get(-2, null_on_oob=True)
        return [
            (c.OUT_OF_RANGE,
             pl.col("_typed_created_at").is_not_null() & ~day.is_between(partition_start, partition_end),
             pl.lit(f"created_at outside {partition_start}..{partition_end}: ") + pl.col("created_at")),
            (c.WRONG_FOLDER, pl.col("platform") != folder_platform,
             pl.lit("platform=") + pl.col("platform") + pl.lit(" in folder ") + folder_platform),
            (c.WRONG_FOLDER, day.cast(pl.String) != folder_day,
             pl.lit("UTC date ") + day.cast(pl.String) + pl.lit(" in folder ") + folder_day),
        ]

    return rules


def content_files_for_day(landing_root: UPath, day: str) -> list[UPath]:
    """All record files of one UTC day, across platform folders (present or not in the enum)."""
    content = landing_root / "content"
    if not content.exists():
        return []
    files: list[UPath] = []
    for platform_dir in sorted(content.iterdir(), key=lambda p: p.name):
        if platform_dir.is_dir():
            files.extend(list_record_files(platform_dir / day))
    return files


def content_days(landing_root: UPath) -> list[str]:
    """Every day folder under `content/*/` (sorted, unique), valid date names only."""
    content = landing_root / "content"
    if not content.exists():
        return []
    days: set[str] = set()
    for platform_dir in content.iterdir():
        if platform_dir.is_dir():
            for day_dir in platform_dir.iterdir():
                name = PurePosixPath(str(day_dir)).name
                try:
                    date.fromisoformat(name)
                except ValueError:
                    continue
                days.add(name)
    return sorted(days)


def ingest_content(paths: Sequence[UPath], partition_start: date, partition_end: date) -> IngestResult:
    return ingest(paths, c.CONTENT, extra_rules=content_rules(partition_start, partition_end),
                  duplicate_key=["platform", "content_id"])


def latest_users(result: IngestResult) -> tuple[pl.DataFrame, int]:
    """Latest record per user: files are ordered by name, later lines win within a file.

    Returns the snapshot and how many older records it superseded (kept in the count, not lost).
    """
    ordered = result.valid.with_row_index("_order")
    latest = ordered.sort("_order").unique("user_id", keep="last", maintain_order=True).drop("_order")
    return latest.sort("user_id"), result.valid.height - latest.height
