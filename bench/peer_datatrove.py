"""The peer of `bench/bench_corpus.py`: HuggingFace datatrove doing consentry's consent filter.

Run by `bench_corpus` with the interpreter of a separate venv (datatrove is never installed
in the project's `.venv`), and runnable by hand the same way:

    bench/.venv-peer/bin/python bench/peer_datatrove.py --landing L --out O --as-of 2025-07-01T00:00:00Z

This file imports nothing from the project, only datatrove and what it brings (orjson,
pyarrow, numpy). It prints one JSON line with its timings and counts on stdout.

Pipeline (three executors, run one after the other; `--tasks` tasks each, 2 by default):

1. read `content/*/*/*.jsonl[.gz]` and `*.parquet` → `LambdaFilter` with the consent rules
   → `PIIFormatter` (emails, public IPs) → a custom formatter for phones and URLs →
   `JsonlWriter` (intermediate) → `ExactDedupSignature`;
2. `ExactFindDedups` (one task);
3. read the intermediate files → `ExactDedupFilter` → `ParquetWriter`.

The consent rules are the bare reference's (`bench_corpus.reference_build`): the author is in
the users snapshot (latest file wins per `user_id`) with a birth date, the source is allowed
(public posts/comments/captions on facebook/instagram/messenger, or a meta_ai `ai_prompt`),
the author was 18 on the UTC date of `created_at`, and the author's latest objection-form
action at or before T is not `object`. The users and objections are loaded into dicts in this
process before the pipeline starts, and the filter closes over them (pickled to each task).

Malformed input: stock `JsonlReader` opens files in text mode, so invalid UTF-8 anywhere in
a file ends the reading of that file with a warning (`UnicodeDecodeError` is caught around
the whole loop; the lines already in the decoder's buffer are lost too), and a line that is
valid JSON but not an object (`[…]`) crashes the task (`'list' object has no attribute
'get'`: only JSON decoding errors are caught). `--stock-reader` uses it anyway (on the
generated sample the run crashes). By default `BytesJsonlReader` reads bytes and skips just
the line that is not a JSON object. Records with missing or mistyped fields fail
the filter (or are skipped by the reader when `text` is not a non-empty string).
Exact de-duplication keys on the lower-cased, whitespace-folded text; the priority prefers
the earliest hour of `created_at`, so "keep the earliest copy" holds up to ties inside an
hour, which each task breaks by its own document order.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
)
from datatrove.pipeline.filters import LambdaFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.formatters.base import BaseFormatter
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.utils.logging import logger

PUBLIC_SOURCES = {
    ("facebook", "post"), ("facebook", "comment"), ("facebook", "caption"),
    ("instagram", "post"), ("instagram", "comment"), ("instagram", "caption"),
    ("messenger", "post"), ("messenger", "comment"), ("messenger", "caption"),
}  # fmt: skip
"""Rule 2 of the default policy: these (platform, kind) pairs when `visibility` is public…"""
ANY_VISIBILITY_SOURCES = {("meta_ai", "ai_prompt")}
"""…and the person's own prompts to the assistant, whatever their visibility."""
MINIMUM_AGE = 18
FIELDS = ("platform", "kind", "author_id", "created_at", "visibility")
HOUR_S = 3600


# --------------------------------------------------------------------------- lookups


def _jsonl_records(path: Path):
    """Decodable JSON objects of one landing file; malformed lines are skipped."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def _records(folder: Path):
    """Records of every `.jsonl[.gz]` / `.parquet` file in `folder`, files in name order."""
    import pyarrow.parquet as pq

    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.endswith(".parquet"):
            yield from pq.read_table(path).to_pylist()
        elif path.name.endswith((".jsonl", ".jsonl.gz")):
            yield from _jsonl_records(path)


def _utc(value) -> datetime | None:
    """An ISO-8601 string with an offset, or an aware datetime, as UTC; else None."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            return None
        return ts.astimezone(UTC) if ts.tzinfo else None
    return None


def _date_key(d: date) -> int:
    return d.year * 10_000 + d.month * 100 + d.day


def load_lookup(landing: Path, as_of: datetime) -> tuple[dict[str, int], set[str]]:
    """`{user_id: YYYYMMDD of birth}` (users with a known birth date, latest file wins) and
    the set of user ids whose latest objection action at or before `as_of` is `object`."""
    birth: dict[str, int | None] = {}
    for record in _records(landing / "users"):
        uid = record.get("user_id")
        if not isinstance(uid, str):
            continue
        born = record.get("birth_date")
        if isinstance(born, str):
            try:
                born = date.fromisoformat(born)
            except ValueError:
                born = None
        birth[uid] = _date_key(born) if isinstance(born, date) else None
    latest: dict[str, tuple] = {}
    for record in _records(landing / "objections"):
        uid, action = record.get("user_id"), record.get("action")
        at = _utc(record.get("submitted_at"))
        if not isinstance(uid, str) or action not in ("object", "withdraw") or at is None or at > as_of:
            continue
        # latest wins; a tie at one instant resolves to `object`, then by submission id
        key = (at, action == "object", str(record.get("submission_id")))
        if uid not in latest or key > latest[uid][0]:
            latest[uid] = (key, action)
    objectors = {uid for uid, (_, action) in latest.items() if action == "object"}
    return {u: b for u, b in birth.items() if b is not None}, objectors


def consent_filter(birth: dict[str, int], objectors: set[str]):
    """The LambdaFilter function: True keeps the document."""

    def keep(doc: Document) -> bool:
        m = doc.metadata
        if not all(isinstance(m.get(k), str) for k in FIELDS):
            return False  # a missing or mistyped field: the record breaks the contract
        platform, kind, author = m["platform"], m["kind"], m["author_id"]
        if (platform, kind) not in ANY_VISIBILITY_SOURCES and not (
            (platform, kind) in PUBLIC_SOURCES and m.get("visibility") == "public"
        ):
            return False
        born = birth.get(author)
        if born is None or author in objectors:
            return False
        created = _utc(m.get("created_at"))
        if created is None:
            return False
        return _date_key(created.date()) - born >= MINIMUM_AGE * 10_000

    return keep


# --------------------------------------------------------------------------- steps


class BytesJsonlReader(JsonlReader):
    """`JsonlReader` that reads bytes, so an invalid UTF-8 line is skipped, not the file's rest."""

    name = "🐿 Jsonl (bytes)"

    def read_file(self, filepath: str):
        with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
            for li, line in enumerate(f):
                with self.track_time():
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if not isinstance(record, dict):
                        continue
                    document = self.get_document_from_dict(record, filepath, li)
                    if not document:
                        continue
                yield document


def _adapter(self, data: dict, path: str, id_in_file: int | str) -> dict:
    """Landing record → Document fields: text must be a string; timestamps become ISO text."""
    text = data.get("text")
    meta = {k: data.get(k) for k in FIELDS}
    for k in ("created_at",):
        if isinstance(meta[k], datetime):
            meta[k] = meta[k].isoformat()
    return {
        "text": text if isinstance(text, str) else "",
        "id": str(data.get("content_id", f"{path}/{id_in_file}")),
        "metadata": meta,
    }


class PhoneUrlFormatter(BaseFormatter):
    """Replaces URLs and phone numbers (PIIFormatter does e-mails and IPs only)."""

    name = "📞 phones + URLs"
    URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]")
    PHONE = re.compile(
        r"(?<![\w+.,/])(?:(?:\+|00)[1-9](?:[ \-./]?(?:\(\d{1,5}\)|\d)){5,12}[ \-./]?\d"
        r"|0[1-9](?:(?: ?- ?| |\.|/ ?)?\d){7,11})(?!\w)"
    )

    def format(self, text: str) -> str:
        return self.PHONE.sub("<PHONE>", self.URL.sub("<URL>", text))


def dedup_text(doc: Document) -> str:
    return " ".join(doc.text.lower().split())


EPOCH_HOUR = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) // HOUR_S


def earliest_first(doc: Document) -> int:
    """Priority in [1, 65535], higher wins: earlier hours of created_at win."""
    created = _utc(doc.metadata.get("created_at"))
    if created is None:
        return 1
    hours = int(created.timestamp()) // HOUR_S - EPOCH_HOUR
    return max(1, 65_535 - max(0, hours))


def _parquet_row(self, doc: Document) -> dict:
    return {"content_id": doc.id, "text": doc.text, **{k: doc.metadata.get(k) for k in FIELDS}}


# --------------------------------------------------------------------------- run


def run(landing: Path, out: Path, as_of: datetime, tasks: int, dedup: bool, stock_reader: bool) -> dict:
    work = out / "work"
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    birth, objectors = load_lookup(landing, as_of)
    t_lookup = time.perf_counter() - t0
    content = str(landing / "content")
    reader_cls = JsonlReader if stock_reader else BytesJsonlReader
    readers = [
        reader_cls(content, glob_pattern="*/*/*.jsonl*", id_key="content_id", adapter=_adapter),
        ParquetReader(content, glob_pattern="*/*/*.parquet", id_key="content_id", adapter=_adapter),
    ]
    filters = [
        LambdaFilter(consent_filter(birth, objectors)),
        PIIFormatter(),
        PhoneUrlFormatter(),
    ]
    config = ExactDedupConfig(content_getter=dedup_text, document_priority=earliest_first)
    final = ParquetWriter(str(out / "corpus"), adapter=_parquet_row, use_content_defined_chunking=False)
    stages: list[tuple[str, LocalPipelineExecutor]]
    if dedup:
        stages = [
            (
                "read_filter_pii_signatures",
                LocalPipelineExecutor(
                    [
                        *readers,
                        *filters,
                        JsonlWriter(str(work / "filtered")),
                        ExactDedupSignature(str(work / "sigs"), config=config),
                    ],
                    tasks=tasks,
                    logging_dir=str(work / "logs1"),
                ),
            ),
            (
                "find_duplicates",
                LocalPipelineExecutor(
                    [ExactFindDedups(str(work / "sigs"), str(work / "dups"), config=config)],
                    tasks=1,
                    logging_dir=str(work / "logs2"),
                ),
            ),
            (
                "dedup_filter_write",
                LocalPipelineExecutor(
                    [
                        JsonlReader(str(work / "filtered")),
                        ExactDedupFilter(str(work / "dups"), config=config),
                        final,
                    ],
                    tasks=tasks,
                    logging_dir=str(work / "logs3"),
                ),
            ),
        ]
    else:
        stages = [
            (
                "read_filter_pii_write",
                LocalPipelineExecutor([*readers, *filters, final], tasks=tasks, logging_dir=str(work / "logs1")),
            )
        ]
    timings: dict[str, float] = {"lookup": t_lookup}
    counts: dict[str, int] = {}
    for name, executor in stages:
        started = time.perf_counter()
        stats = executor.run()
        timings[name] = time.perf_counter() - started
        for step in stats.stats:
            label = step.name.encode("ascii", "ignore").decode().strip(" -")
            for stat in ("total", "forwarded", "dropped"):
                if stat in step.stats:
                    counts[f"{name}: {label}: {stat}"] = int(step.stats[stat].total)
    import pyarrow.parquet as pq

    rows_out = sum(pq.ParquetFile(p).metadata.num_rows for p in (out / "corpus").glob("*.parquet"))
    return {
        "timings": timings,
        "counts": counts,
        "rows_out": rows_out,
        "users": len(birth),
        "objectors": len(objectors),
        "tasks": tasks,
        "dedup": dedup,
        "stock_reader": stock_reader,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="emptied first")
    parser.add_argument("--as-of", required=True, help="ISO-8601 with offset")
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--no-dedup", action="store_true")
    parser.add_argument(
        "--stock-reader",
        action="store_true",
        help="datatrove's own JsonlReader (see the module doc: it crashes on the sample)",
    )
    args = parser.parse_args(argv)
    as_of = _utc(args.as_of)
    if as_of is None:
        parser.error("--as-of must be ISO-8601 with an offset")
    logger.remove()  # datatrove logs every step at INFO; the stats come back in the result
    logger.add(sys.stderr, level="ERROR")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = run(args.landing, args.out, as_of, args.tasks, not args.no_dedup, args.stock_reader)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
