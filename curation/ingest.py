"""Read landing files into typed frames; every record that breaks the contract is quarantined.

The rule the privacy team relies on: ``valid + quarantined == read`` for every batch.
A record is checked in the order of `contract.QUARANTINE_REASONS` and carries the
first reason it fails. Decoding JSON must look at each line on its own (one truncated
line must not sink the file), so that step is a plain loop over lines; every check on
values after it (enums, timestamps, ranges, folders, duplicates) is a polars expression.
Repeated keys are found by a polars pass over the raw lines; only the few lines it flags
are parsed a second time to confirm (see `_repeated_keys`).

Hostile files: symbolic links are never followed (listed, never opened); a file is read
with a byte limit (a gzip is inflated as a stream and refused past it); a Parquet file
without the contract's required columns is quarantined whole. What is not read at all
(wrong place, wrong name) is listed by `curation.inventory.landing_inventory`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
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
RECORD_EXTENSIONS = (".jsonl", ".jsonl.gz", ".parquet")
# The most bytes one landing file may hold once decompressed; a larger one is quarantined whole.
DEFAULT_MAX_FILE_BYTES = 1 << 30
_DAY_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    """A name the reader takes: the contract's extensions (case as written), not a dot-file
    (an upload still in flight is written as a dot-file and renamed when complete)."""
    return not name.startswith(".") and name.endswith(RECORD_EXTENSIONS)


def is_day_name(name: str) -> bool:
    """Exactly `YYYY-MM-DD` and a real date (`date.fromisoformat` alone also takes
    `20250403` and `2025-W14-4`)."""
    if not _DAY_NAME.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def is_local(path: UPath) -> bool:
    return path.protocol in ("", "file", "local")


def is_symlink(path: UPath) -> bool:
    """A symbolic link, to a file or a folder (object stores have none)."""
    return is_local(path) and os.path.islink(path.path)


def entries(folder: UPath) -> list[tuple[UPath, str]]:
    """`(path, "dir" | "file" | "link")` for each entry of `folder`, sorted by name; links are
    reported, never followed. [] when the folder is absent or itself a link."""
    if is_symlink(folder) or not folder.exists() or not folder.is_dir():
        return []
    found: list[tuple[UPath, str]] = []
    if is_local(folder):
        with os.scandir(folder.path) as scan:
            for entry in scan:
                kind = "link" if entry.is_symlink() else "dir" if entry.is_dir(follow_symlinks=False) else "file"
                found.append((folder / entry.name, kind))
    else:
        found = [(p, "dir" if p.is_dir() else "file") for p in folder.iterdir()]
    return sorted(found, key=lambda item: item[0].name)


def list_record_files(folder: UPath) -> list[UPath]:
    """Every non-folder entry directly in `folder`, sorted by name (landing order); [] if it is
    absent or a link. Links and foreign names are returned so `decode_files` lists them as
    ignored; sub-folders are left to the landing inventory."""
    return [p for p, kind in entries(folder) if kind != "dir"]


# --------------------------------------------------------------------------- stage 1: decode


def _quarantine_row(rtype: c.RecordType, source: str, line: int | None, reason: str,
                    detail: str, payload: str) -> dict[str, object]:
    return {"record_type": rtype.name, "source_file": source, "line": line, "reason": reason,
            "detail": detail, "payload": payload}


_KEY_TOKEN = r'"[^"\\]*(?:\\.[^"\\]*)*"\s*:'


def _exact_repeated_keys(line: bytes) -> list[str]:
    """The keys some object of `line` names twice (any nesting level), by a second parse."""
    found: set[str] = set()

    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                found.add(key)
            seen.add(key)
        return dict(pairs)

    try:
        json.loads(line, object_pairs_hook=hook)
    except (ValueError, RecursionError):  # orjson took it, json did not: cannot prove it clean
        return ["<unverifiable>"]
    return sorted(found)


def _repeated_keys(lines: list[bytes]) -> dict[int, list[str]]:
    """Index -> repeated keys, for lines (already valid JSON objects) that repeat a key."""
    if not lines:
        return {}
    return _repeated_keys_series(pl.Series(lines, dtype=pl.Binary).cast(pl.String), lines)


_KEY_TOKEN_RE = re.compile(_KEY_TOKEN)


def _repeated_keys_one(line: bytes) -> list[str]:
    """`_repeated_keys` for one line, with Python's `re` (the per-line path, no polars call)."""
    tokens = [t.rstrip(": \t\r\n") for t in _KEY_TOKEN_RE.findall(line.decode("utf-8"))]
    if len(set(tokens)) == len(tokens) and not any("\\" in t for t in tokens):
        return []
    return _exact_repeated_keys(line)


def _repeated_keys_series(text: pl.Series, raw: list[bytes] | None = None) -> dict[int, list[str]]:
    """Index -> repeated keys, for lines (valid JSON objects, as strings) that repeat a key.

    orjson keeps the last value of a repeated key, and polars the first, so `{"visibility":
    "private", "visibility": "public"}` would read as either. A polars pass lists each line's
    key tokens (a regex over string tokens finds exactly the keys of valid JSON); a line is a
    suspect when a raw key occurs twice or a key holds an escape (`"\u0076isibility"`).
    Only suspects are parsed again with `object_pairs_hook`, which sees every pair.
    """
    if text.is_empty():
        return {}
    tokens = text.str.extract_all(_KEY_TOKEN).list.eval(pl.element().str.strip_chars_end(": \t\r\n"))
    suspects = ((tokens.list.n_unique() < tokens.list.len())
                | tokens.list.eval(pl.element().str.contains("\\", literal=True)).list.any())
    out: dict[int, list[str]] = {}
    for i in suspects.arg_true().to_list():
        line = raw[i] if raw is not None else text[i].encode("utf-8")
        repeated = _exact_repeated_keys(line)
        if repeated:
            out[i] = repeated
    return out


def _decode_line(number: int, line: bytes, source: str, rtype: c.RecordType,
                 required: list[str]) -> tuple[dict[str, object] | None, dict[str, object] | None]:
    """The per-line reference decoder (orjson): `(values, None)` or `(None, quarantine row)`.

    Used only for lines the polars pass cannot prove to be flat objects of strings (bad JSON,
    invalid UTF-8, nesting, numbers, backslash-u escapes): a few per file."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as utf8_error:
            return None, _quarantine_row(rtype, source, number, c.INVALID_UTF8, str(utf8_error),
                                         line.decode("utf-8", errors="backslashreplace"))
        return None, _quarantine_row(rtype, source, number, c.BAD_JSON, str(error), text)
    if not isinstance(record, dict):
        return None, _quarantine_row(rtype, source, number, c.BAD_JSON,
                                     f"a JSON {type(record).__name__}, not an object", line.decode("utf-8"))
    repeated = _repeated_keys_one(line)
    if repeated:
        return None, _quarantine_row(rtype, source, number, c.REPEATED_KEY, "repeated: " + ", ".join(repeated),
                                     line.decode("utf-8"))
    missing = [n for n in required if record.get(n) is None]
    if missing:
        return None, _quarantine_row(rtype, source, number, c.MISSING_FIELD, "missing: " + ", ".join(missing),
                                     line.decode("utf-8"))
    mistyped = [n for n in rtype.names if record.get(n) is not None and not isinstance(record[n], str)]
    if mistyped:
        return None, _quarantine_row(
            rtype, source, number, c.WRONG_TYPE,
            "not a string: " + ", ".join(f"{n}={type(record[n]).__name__}" for n in mistyped),
            line.decode("utf-8"))
    return {n: record.get(n) for n in rtype.names}, None


# A flat JSON object whose values are all strings or null, with no `\u` escape and no raw
# control character: exactly the lines polars' JSON decoder reads as orjson does. Anything
# else (about 1 % of lines) takes `_decode_line`.
_JSON_WS = r"[ \t\r\n]*"
_JSON_STR = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt])*"'
_JSON_PAIR = _JSON_STR + _JSON_WS + ":" + _JSON_WS + "(?:" + _JSON_STR + "|null)" + _JSON_WS
_FLAT_OBJECT = ("^" + _JSON_WS + r"\{" + _JSON_WS + "(?:" + _JSON_PAIR + "(?:," + _JSON_WS + _JSON_PAIR + ")*)?"
                + r"\}" + _JSON_WS + "$")
_BLANK_LINE = r"^[ \t\n\r\x0b\x0c]*$"  # only what `bytes.strip()` removes: not a record


def _split_lines(files: list[tuple[int, str, bytes]]) -> tuple[pl.DataFrame, dict[tuple[int, int], bytes]]:
    """One frame of every non-blank line of every file (`_file`, `source_line`, `line`).

    A file that is not valid UTF-8 is decoded with replacement characters so that it still
    splits into the same lines; its lines holding U+FFFD are returned by position with their
    original bytes, so the per-line decoder can tell a real U+FFFD from a broken byte."""
    texts: list[str] = []
    broken: dict[int, bytes] = {}
    for index, _, raw in files:
        if raw.startswith(codecs.BOM_UTF8):  # some exporters (Windows tools) start files with one
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("utf-8", errors="replace"))
            broken[index] = raw
    frame = pl.DataFrame({"_file": [i for i, _, _ in files], "line": texts},
                         schema={"_file": pl.Int64, "line": pl.String})
    lines = (frame.with_columns(pl.col("line").str.split("\n"))
             .explode("line")
             .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_file").alias("source_line"))
             .filter(~pl.col("line").str.contains(_BLANK_LINE)))
    raw_lines: dict[tuple[int, int], bytes] = {}
    if broken:
        replaced = lines.filter(pl.col("_file").is_in(list(broken))
                                & pl.col("line").str.contains("\ufffd", literal=True))
        split = {index: raw.split(b"\n") for index, raw in broken.items()}
        for index, number in replaced.select("_file", "source_line").iter_rows():
            raw_lines[(index, number)] = split[index][number - 1]
    return lines, raw_lines


def _decode_jsonl_files(files: list[tuple[int, str, bytes]], rtype: c.RecordType,
                        ) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, int]]:
    """Decode many JSON Lines files at once: string columns + `_file`, `source_line`; quarantine
    rows + `_file`, `_stage` (0: the line is not a JSON object, 1: the object breaks the
    contract, the order the per-file reader reported them in); records read per file.

    Polars does the work for the flat objects of strings that make up nearly every line
    (`_FLAT_OBJECT`): one regex pass, the key-token pass for repeated keys, one JSON decode,
    the required-field test. The rest goes line by line through `_decode_line`."""
    names = rtype.names
    required = [f.name for f in rtype.fields if f.required]
    string_schema = {n: pl.String() for n in names}
    sources = {i: source for i, source, _ in files}
    lines, raw_lines = _split_lines(files)
    read = dict(lines.group_by("_file").len().iter_rows())
    flat_rule = pl.col("line").str.contains(_FLAT_OBJECT)
    if raw_lines:
        suspect = pl.DataFrame({"_file": [k[0] for k in raw_lines], "source_line": [k[1] for k in raw_lines],
                                "_raw": True}, schema={"_file": pl.Int64, "source_line": pl.Int64, "_raw": pl.Boolean})
        lines = lines.join(suspect, on=["_file", "source_line"], how="left", maintain_order="left")
        flat_rule = flat_rule & pl.col("_raw").is_null()
    lines = lines.with_columns(flat_rule.alias("_flat"))
    flat = lines.filter("_flat")
    other = lines.filter(~pl.col("_flat"))

    # Flat objects: repeated keys, then missing required fields, as the per-line decoder orders them.
    repeated = _repeated_keys_of(flat["line"], names)
    flat = flat.with_columns(repeated.alias("_repeated"))
    decoded = flat.filter(pl.col("_repeated").is_null())
    # polars' NDJSON reader is several times faster than `str.json_decode`; every line here is
    # a flat object of strings on one line, so it yields one row per line, in order.
    buffer = decoded["line"].str.join("\n").cast(pl.Binary).item() if decoded.height else b""
    records = pl.read_ndjson(buffer, schema=string_schema) if decoded.height else pl.DataFrame(schema=string_schema)
    if records.height != decoded.height:
        raise AssertionError(f"NDJSON read {records.height} rows from {decoded.height} lines")
    decoded = pl.concat([decoded, records], how="horizontal")
    missing = pl.concat_str([pl.when(pl.col(n).is_null()).then(pl.lit(n)) for n in required],
                            separator=", ", ignore_nulls=True)
    decoded = decoded.with_columns(missing.alias("_missing"))
    source = pl.col("_file").replace_strict(sources, return_dtype=pl.String)
    q_flat = pl.concat([
        flat.filter(pl.col("_repeated").is_not_null()).select(
            "_file", "source_line", pl.lit(c.REPEATED_KEY).alias("reason"),
            (pl.lit("repeated: ") + pl.col("_repeated")).alias("detail"), pl.col("line").alias("payload")),
        decoded.filter(pl.col("_missing") != "").select(
            "_file", "source_line", pl.lit(c.MISSING_FIELD).alias("reason"),
            (pl.lit("missing: ") + pl.col("_missing")).alias("detail"), pl.col("line").alias("payload")),
    ]).select(pl.lit(rtype.name).alias("record_type"), source.alias("source_file"),
              pl.col("source_line").alias("line"), "reason", "detail", "payload", "_file",
              pl.lit(1, pl.Int64).alias("_stage"))
    good = decoded.filter(pl.col("_missing") == "").select(*names, "source_line", "_file")

    # Everything else, line by line (the reference decoder).
    values: list[dict[str, object]] = []
    q_rows: list[dict[str, object]] = []
    for index, number, text in other.select("_file", "source_line", "line").iter_rows():
        line = raw_lines.get((index, number)) or text.encode("utf-8")
        record, bad = _decode_line(number, line, sources[index], rtype, required)
        if bad is not None:
            stage = 0 if bad["reason"] in (c.INVALID_UTF8, c.BAD_JSON) else 1
            q_rows.append({**bad, "_file": index, "_stage": stage})
        else:
            values.append({**record, "source_line": number, "_file": index})  # type: ignore[dict-item]
    extra = {"_file": pl.Int64(), "_stage": pl.Int64()}
    good = pl.concat([good, pl.DataFrame(values, schema={**string_schema, "source_line": pl.Int64(),
                                                          "_file": pl.Int64()})])
    quarantine = pl.concat([q_flat, pl.DataFrame(q_rows, schema={**c.QUARANTINE_SCHEMA, **extra})])
    return good, quarantine, read


def _repeated_keys_of(lines: pl.Series, names: Sequence[str]) -> pl.Series:
    """Per flat-object line: the repeated keys (", "-joined) or null; see `_repeated_keys`.

    Most lines have no backslash and no space before a colon: their key tokens are exactly
    the `"…":` runs, compared as they are (no unescaping, no stripping). The other lines
    take the general token pass."""
    plain = ~lines.str.contains(r'\\|"[ \t\r\n]+:')
    out: list[str | None] = [None] * len(lines)
    # In a plain line no string holds a quote, so `":` ends a key and nothing else: when the
    # keys counted equal the distinct contract keys found, no key repeats (two cheap passes).
    frame = pl.DataFrame({"line": lines.filter(plain)})
    known = pl.sum_horizontal([pl.col("line").str.contains(f'"{n}":', literal=True).cast(pl.Int32) for n in names])
    keys = pl.col("line").str.count_matches('":', literal=True)
    checked = frame.with_row_index("_i").filter(keys != known)
    tokens = checked["line"].str.extract_all(r'"[^"]*":')
    suspects = checked["_i"].filter(tokens.list.n_unique() < tokens.list.len())
    plain_rows = plain.arg_true()
    for i in plain_rows.gather(suspects).to_list():
        repeated = _exact_repeated_keys(lines[i].encode("utf-8"))
        if repeated:
            out[i] = ", ".join(repeated)
    other_rows = (~plain).arg_true()
    for j, keys in _repeated_keys_series(lines.filter(~plain)).items():
        out[other_rows[j]] = ", ".join(keys)
    return pl.Series("_repeated", out, dtype=pl.String)


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
        elif dtype in (pl.String, pl.Null) or isinstance(dtype, (pl.Categorical, pl.Enum)):
            # dictionary-encoded (categorical) strings are strings
            out.append(col.cast(pl.String).alias(f.name))
        else:
            out.append(pl.lit(None, pl.String).alias(f.name))
            wrong.append(pl.when(col.is_not_null()).then(pl.lit(f"{f.name}={dtype}")))
    wrong_expr = pl.concat_str(wrong, separator=", ", ignore_nulls=True) if wrong else pl.lit("")
    return frame.select(*out, wrong_expr.alias("_wrong_type"))


class FileRefused(Exception):
    """A whole file is quarantined (one row, line null) for `reason`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def missing_columns(columns: Sequence[str], rtype: c.RecordType) -> list[str]:
    return [f.name for f in rtype.fields if f.required and f.name not in columns]


def _decode_parquet(raw: bytes, source: str, rtype: c.RecordType) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    frame = pl.read_parquet(io.BytesIO(raw))
    absent = missing_columns(frame.columns, rtype)
    if absent:
        raise FileRefused(c.MISSING_COLUMNS, f"{frame.height} rows, columns {frame.columns}; "
                                             f"missing required: {', '.join(absent)}")
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


def check_size(path: UPath, max_bytes: int) -> int:
    """The file's bytes on storage; refused above `max_bytes`."""
    size = int(path.stat().st_size)
    if size > max_bytes:
        raise FileRefused(c.FILE_TOO_LARGE, f"{size} bytes on storage, limit {max_bytes}")
    return size


def inflate_count(path: UPath, max_bytes: int, chunk: int = 1 << 20) -> int:
    """Stream a gzip to count its inflated bytes without holding them; refused past the limit."""
    total = 0
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw) as inflated:
        while block := inflated.read(min(chunk, max_bytes + 1 - total)):
            total += len(block)
            if total > max_bytes:
                raise FileRefused(c.DECOMPRESSED_TOO_LARGE, f"inflates past the limit of {max_bytes} bytes")
    return total


def _read_bytes(path: UPath, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The file's bytes (inflated for `.gz`), never more than `max_bytes` in memory."""
    check_size(path, max_bytes)
    if not path.name.endswith(".gz"):
        return path.read_bytes()
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw) as inflated:
        data = inflated.read(max_bytes + 1)  # a bounded read: a gzip bomb stops here
    if len(data) > max_bytes:
        raise FileRefused(c.DECOMPRESSED_TOO_LARGE, f"inflates past the limit of {max_bytes} bytes")
    return data


def decode_files(paths: Sequence[UPath], rtype: c.RecordType, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 ) -> tuple[pl.DataFrame, pl.DataFrame, int, list[str]]:
    """Stage 1 over many files: string-typed rows that are structurally sound, plus quarantine.

    A link or a name outside the contract is not opened: it is returned as ignored. The JSON
    Lines files are decoded together (one polars pass, `_decode_jsonl_files`); rows and
    quarantine come out in file order, then line order, as if read one file at a time."""
    parts: list[pl.DataFrame] = []
    quarantines: list[pl.DataFrame] = []
    read = 0
    ignored: list[str] = []
    string_schema = {n: pl.String() for n in rtype.names}
    jsonl: list[tuple[int, str, bytes]] = []
    stage = {"_stage": pl.lit(0, pl.Int64)}

    def refused(index: int, source: str, reason: str, detail: str) -> pl.DataFrame:
        return pl.DataFrame([_quarantine_row(rtype, source, None, reason, detail, "")],
                            schema=c.QUARANTINE_SCHEMA).with_columns(pl.lit(index, pl.Int64).alias("_file"), **stage)

    for index, path in enumerate(paths):
        source = str(path)
        if is_symlink(path) or not is_record_file(path.name):
            ignored.append(source)
            continue
        try:
            raw = _read_bytes(path, max_bytes)
            if path.name.endswith(".parquet"):
                good, bad, n = _decode_parquet(raw, source, rtype)
                parts.append(good.with_columns(pl.lit(index, pl.Int64).alias("_file")))
                quarantines.append(bad.with_columns(pl.lit(index, pl.Int64).alias("_file"), **stage))
                read += n
            else:
                jsonl.append((index, source, raw))
        except FileRefused as error:
            quarantines.append(refused(index, source, error.reason, error.detail))
            read += 1
        except Exception as error:  # a corrupt file is quarantined whole, never fatal
            quarantines.append(refused(index, source, c.UNREADABLE_FILE, f"{type(error).__name__}: {error}"))
            read += 1
    if jsonl:
        good, bad, counts = _decode_jsonl_files(jsonl, rtype)
        parts.append(good)
        quarantines.append(bad)
        read += sum(counts.values())
        del jsonl
    sources = pl.DataFrame({"_file": range(len(paths)), "source_file": [str(p) for p in paths]},
                           schema={"_file": pl.Int64, "source_file": pl.String})
    if parts:
        strings = (pl.concat(parts, how="vertical").sort("_file", "source_line", maintain_order=True)
                   .join(sources, on="_file", how="left", maintain_order="left").drop("_file"))
    else:
        strings = pl.DataFrame(schema={**string_schema, "source_line": pl.Int64(), "source_file": pl.String()})
    if quarantines:
        quarantine = (pl.concat(quarantines, how="vertical")
                      .sort("_file", "_stage", "line", nulls_last=False, maintain_order=True)
                      .select(list(c.QUARANTINE_SCHEMA)))
    else:
        quarantine = empty_quarantine()
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
    typed = strings.lazy().with_columns(
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
    typed = (typed.with_columns(reason.cast(pl.String).alias("_reason"), detail.cast(pl.String).alias("_detail"))
             .collect())
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
           duplicate_key: Sequence[str] | None = None,
           max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> IngestResult:
    """Decode, validate and de-duplicate a batch of landing files of one record type."""
    strings, quarantine1, read, ignored = decode_files(paths, rtype, max_bytes)
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
    files: list[UPath] = []
    for platform_dir, kind in entries(landing_root / "content"):
        if kind == "dir":
            files.extend(list_record_files(platform_dir / day))
    return files


def content_days(landing_root: UPath) -> list[str]:
    """Every day folder under `content/*/` (sorted, unique): `YYYY-MM-DD` names only, no links.

    Other folders are listed with their reason by the landing inventory."""
    days: set[str] = set()
    for platform_dir, kind in entries(landing_root / "content"):
        if kind == "dir":
            for day_dir, day_kind in entries(platform_dir):
                name = PurePosixPath(str(day_dir)).name
                if day_kind == "dir" and is_day_name(name):
                    days.add(name)
    return sorted(days)


def ingest_content(paths: Sequence[UPath], partition_start: date, partition_end: date,
                   max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> IngestResult:
    return ingest(paths, c.CONTENT, extra_rules=content_rules(partition_start, partition_end),
                  duplicate_key=["platform", "content_id"], max_bytes=max_bytes)


def withheld_users(result: IngestResult) -> pl.DataFrame:
    """Users whose newest users file holds a conflicting or broken record for them.

    The newest file naming a user (a valid record, or a quarantined one whose payload still
    names the `user_id`) decides. If it holds two different records, or one that broke the
    contract, nobody can say which is true: the user gets no record at all (fail closed),
    never an older file's. Identical copies (`duplicate_record`) are harmless.
    Columns: user_id, source_file (that newest file).
    """
    rank = pl.DataFrame({"source_file": result.files, "_rank": range(len(result.files))},
                        schema={"source_file": pl.String, "_rank": pl.Int64})
    mentions = pl.concat([
        result.valid.select("user_id", "source_file", pl.lit(False).alias("_bad")),
        result.quarantine.filter(pl.col("reason").is_in([c.DUPLICATE_RECORD, c.CONFLICTING_USER_RECORDS]).not_())
        .select(pl.col("payload").str.json_path_match("$.user_id").alias("user_id"), "source_file",
                pl.lit(True).alias("_bad")),
    ]).filter(pl.col("user_id").is_not_null()).join(rank, on="source_file", how="inner")
    newest = mentions.filter(pl.col("_rank") == pl.col("_rank").max().over("user_id"))
    return (newest.group_by("user_id").agg(pl.col("_bad").any(), pl.col("source_file").first())
            .filter("_bad").select("user_id", "source_file").sort("user_id"))


def ingest_users(paths: Sequence[UPath], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> IngestResult:
    """Every users file; conflicts inside a file are quarantined, and every valid record of a
    user whose newest file is in conflict moves to quarantine as `conflicting_user_records`."""
    result = ingest(paths, c.USERS, duplicate_key=["source_file", "user_id"], max_bytes=max_bytes)
    withheld = withheld_users(result)
    if withheld.is_empty():
        return result
    is_withheld = pl.col("user_id").is_in(withheld["user_id"].implode())
    moved = result.valid.filter(is_withheld).join(
        withheld.rename({"source_file": "_newest"}), on="user_id", how="left").select(
        pl.lit(c.USERS.name).alias("record_type"),
        "source_file",
        pl.col("source_line").alias("line"),
        pl.lit(c.CONFLICTING_USER_RECORDS).alias("reason"),
        (pl.lit("user_id=") + pl.col("user_id") + pl.lit(": the newest file naming them (")
         + pl.col("_newest") + pl.lit(") holds conflicting or broken records")).alias("detail"),
        pl.struct([pl.col(n).cast(pl.String) for n in c.USERS.names]).struct.json_encode().alias("payload"),
    )
    return IngestResult(valid=result.valid.filter(~is_withheld),
                        quarantine=pl.concat([result.quarantine, moved], how="vertical"),
                        read=result.read, files=result.files, ignored_files=result.ignored_files)


def latest_users(result: IngestResult) -> tuple[pl.DataFrame, int]:
    """Latest record per user: files are ordered by name, later lines win within a file.
    A user in `withheld_users` has no record (fail closed), even from a plain `ingest`.

    Returns the snapshot and how many older records it superseded (kept in the count, not lost).
    """
    withheld = withheld_users(result)["user_id"].implode()
    ordered = result.valid.filter(~pl.col("user_id").is_in(withheld)).with_row_index("_order")
    latest = ordered.sort("_order").unique("user_id", keep="last", maintain_order=True).drop("_order")
    return latest.sort("user_id"), result.valid.height - latest.height
