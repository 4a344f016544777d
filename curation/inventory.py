"""The landing inventory: every file under the landing root and what the reader does with it.

The raw assets read `content/<platform>/<YYYY-MM-DD>/*` and `users|notifications|objections/*`
and nothing else; a file anywhere else, or of another format, would otherwise be skipped
without a trace. The inventory lists each one with a status:

* `read`: the reader opens it; each of its records ends valid or in a quarantine asset;
* `quarantined`: the reader refuses it whole (unreadable, too large, a gzip that inflates
  past the limit, a Parquet file without the contract's required columns); the same
  reason appears as one row (line null) in the record type's quarantine asset;
* `ignored`: never opened, with the reason (a symbolic link, a dot-file, a folder name
  that is not a `YYYY-MM-DD` date, a day outside the partition range, a nested folder, a
  file at the wrong level, an unknown top folder or extension).

Links are listed, never followed: not the link's target, not what is inside a linked folder.
"""

from __future__ import annotations

import os
from datetime import date

import polars as pl
import pyarrow.parquet as pq
from upath import UPath

from curation import contract as c
from curation.ingest import (
    DEFAULT_MAX_FILE_BYTES,
    RECORD_EXTENSIONS,
    FileRefused,
    check_size,
    inflate_count,
    is_local,
    is_symlink,
    missing_columns,
)

READ = "read"
QUARANTINED = "quarantined"
IGNORED = "ignored"
STATUSES = (READ, QUARANTINED, IGNORED)

SYMLINK = "symlink"
HIDDEN_FILE = "hidden_file"
UNKNOWN_FOLDER = "unknown_folder"
WRONG_LEVEL = "wrong_level"
BAD_DAY_FOLDER = "bad_day_folder"
DAY_OUT_OF_RANGE = "day_out_of_range"
NESTED_FOLDER = "nested_folder"
UNKNOWN_EXTENSION = "unknown_extension"
IGNORED_REASONS = (SYMLINK, HIDDEN_FILE, UNKNOWN_FOLDER, WRONG_LEVEL, BAD_DAY_FOLDER, DAY_OUT_OF_RANGE,
                   NESTED_FOLDER, UNKNOWN_EXTENSION)

RECORD_TYPES = {rt.folder: rt for rt in (c.CONTENT, c.USERS, c.NOTIFICATIONS, c.OBJECTIONS)}

INVENTORY_SCHEMA: dict[str, pl.DataType] = {
    "path": pl.String(),
    "kind": pl.String(),
    "status": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
    "bytes": pl.Int64(),
}


def _walk(root: UPath) -> list[tuple[str, bool, int]]:
    """(path relative to root, is a link, bytes) of every file; linked folders not entered."""
    if is_symlink(root) or not root.exists():
        return []
    found: list[tuple[str, bool, int]] = []
    if is_local(root):
        base = root.path.rstrip("/")
        stack = [base]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as scan:
                for entry in scan:
                    link = entry.is_symlink()
                    if not link and entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    found.append((entry.path[len(base) + 1:], link, entry.stat(follow_symlinks=False).st_size))
        return found
    base = root.path.rstrip("/")
    for full, info in root.fs.find(base, detail=True).items():
        if info.get("type", "file") == "file":
            found.append((str(full)[len(base):].lstrip("/"), False, int(info.get("size") or 0)))
    return found


def _place_reason(first: date, last: date) -> pl.Expr:
    """Why a path is not where the contract reads (null: it is), as one polars expression."""
    parts = pl.col("path").str.split("/")
    depth = parts.list.len()
    top = parts.list.first()
    name = parts.list.last()
    day = parts.list.get(2, null_on_oob=True)
    day_date = day.str.to_date("%Y-%m-%d", strict=False)
    is_day = day.str.contains(r"^\d{4}-\d{2}-\d{2}$").fill_null(False) & day_date.is_not_null()
    content = top == "content"
    return (
        pl.when(pl.col("_link")).then(pl.lit(SYMLINK))
        .when(parts.list.eval(pl.element().str.starts_with(".")).list.any()).then(pl.lit(HIDDEN_FILE))
        .when(depth == 1).then(pl.lit(WRONG_LEVEL))
        .when(~top.is_in(list(RECORD_TYPES))).then(pl.lit(UNKNOWN_FOLDER))
        .when(content & (depth < 4)).then(pl.lit(WRONG_LEVEL))
        .when(content & ~is_day).then(pl.lit(BAD_DAY_FOLDER))
        .when(content & ~day_date.is_between(first, last)).then(pl.lit(DAY_OUT_OF_RANGE))
        .when(content & (depth > 4)).then(pl.lit(NESTED_FOLDER))
        .when(~content & (depth > 2)).then(pl.lit(NESTED_FOLDER))
        .when(~pl.any_horizontal([name.str.ends_with(ext) for ext in RECORD_EXTENSIONS])).then(
            pl.lit(UNKNOWN_EXTENSION))
    )


def _place_detail(first: date, last: date) -> pl.Expr:
    reason = pl.col("reason")
    return (
        pl.when(reason == SYMLINK).then(pl.lit("symbolic link: never followed, nothing read"))
        .when(reason == HIDDEN_FILE).then(pl.lit("a dot-file or dot-folder (an upload in flight)"))
        .when(reason == WRONG_LEVEL).then(pl.lit(
            "not where the contract reads: content/<platform>/<YYYY-MM-DD>/<file> or <folder>/<file>"))
        .when(reason == UNKNOWN_FOLDER).then(pl.lit("top folder is not content, users, notifications or objections"))
        .when(reason == BAD_DAY_FOLDER).then(pl.lit("day folder is not a YYYY-MM-DD date"))
        .when(reason == DAY_OUT_OF_RANGE).then(pl.lit(f"day outside the partitions {first}..{last}"))
        .when(reason == NESTED_FOLDER).then(pl.lit("inside a sub-folder the reader does not enter"))
        .when(reason == UNKNOWN_EXTENSION).then(pl.lit("extension is not " + ", ".join(RECORD_EXTENSIONS)))
    )


def probe_file(path: UPath, rtype: c.RecordType, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str, str] | None:
    """The whole-file reason the reader would refuse `path` with (None: it reads it).

    Cheap where it can be: size from storage, a Parquet footer only; a gzip is inflated as a
    stream, counted and dropped (memory stays at one block)."""
    try:
        check_size(path, max_bytes)
        if path.name.endswith(".gz"):
            inflate_count(path, max_bytes)
        elif path.name.endswith(".parquet"):
            with path.open("rb") as handle:
                names = pq.read_schema(handle).names
            absent = missing_columns(names, rtype)
            if absent:
                raise FileRefused(c.MISSING_COLUMNS, "missing required: " + ", ".join(absent))
    except FileRefused as refused:
        return refused.reason, refused.detail
    except Exception as error:  # whatever the reader would stumble on, it quarantines
        return c.UNREADABLE_FILE, f"{type(error).__name__}: {error}"
    return None


def landing_inventory(root: UPath, first: date, last: date,
                      max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> pl.DataFrame:
    """Every file under `root`: path (relative), kind (top folder's record type or `unknown`),
    status, reason (null when read), detail, bytes. `first..last` is the partition range."""
    walked = _walk(root)
    frame = pl.DataFrame(walked, schema={"path": pl.String, "_link": pl.Boolean, "bytes": pl.Int64},
                         orient="row")
    frame = frame.with_columns(_place_reason(first, last).alias("reason")).with_columns(
        _place_detail(first, last).alias("detail"),
        pl.col("path").str.split("/").list.first().replace_strict(
            {k: k for k in RECORD_TYPES}, default="unknown").alias("kind"),
    )
    # Only files the reader would open are probed (a loop over files, not over records).
    probed: dict[str, tuple[str, str]] = {}
    for path, kind in frame.filter(pl.col("reason").is_null()).select("path", "kind").iter_rows():
        refused = probe_file(root / path, RECORD_TYPES[kind], max_bytes)
        if refused is not None:
            probed[path] = refused
    refusals = pl.DataFrame(
        [(p, r, d) for p, (r, d) in probed.items()],
        schema={"path": pl.String, "_refused": pl.String, "_refused_detail": pl.String}, orient="row")
    frame = frame.join(refusals, on="path", how="left").with_columns(
        pl.when(pl.col("_refused").is_not_null()).then(pl.lit(QUARANTINED))
        .when(pl.col("reason").is_not_null()).then(pl.lit(IGNORED))
        .otherwise(pl.lit(READ)).alias("status"),
        pl.coalesce("reason", "_refused").alias("reason"),
        pl.coalesce("detail", "_refused_detail").alias("detail"),
    )
    return frame.select([pl.col(n).cast(t) for n, t in INVENTORY_SCHEMA.items()]).sort("path")


def inventory_counts(inventory: pl.DataFrame) -> dict[str, int]:
    """Files by status (every status present, zero when none) and by `status:reason`."""
    counts = {s: 0 for s in STATUSES}
    counts.update(dict(inventory.group_by("status").len().iter_rows()))
    by_reason = inventory.filter(pl.col("reason").is_not_null()).group_by("status", "reason").len().sort(
        "status", "reason")
    counts.update({f"{s}:{r}": n for s, r, n in by_reason.iter_rows()})
    return counts
