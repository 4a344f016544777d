"""Plain-Python pieces of the sensors: landing-zone listing, cursors, purge targets.

Kept free of sensor contexts so they are tested directly.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from upath import UPath

from curation.ingest import is_day_name, is_record_file
from curation.mentions import MENTION_SUBJECT_PREFIX

LEDGER_FOLDERS = ("users", "notifications", "objections")


@dataclass(frozen=True)
class LandedFile:
    path: str  # relative to the landing root, '/'-separated
    mtime: float


@dataclass
class FileCursor:
    """Exactly-once file discovery: the newest mtime seen and the names seen at that mtime.

    Landing files are immutable and new ones arrive with a newer mtime; files written by
    an exporter must appear atomically (write elsewhere or as a dot-file, then rename).
    """

    mtime: float = 0.0
    seen: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> FileCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(mtime=float(data["mtime"]), seen=list(data["seen"]))

    def dump(self) -> str:
        return json.dumps({"mtime": self.mtime, "seen": sorted(self.seen)})

    def new_files(self, files: list[LandedFile]) -> tuple[list[LandedFile], FileCursor]:
        seen = set(self.seen)
        new = [f for f in files if f.mtime > self.mtime or (f.mtime == self.mtime and f.path not in seen)]
        if not new:
            return [], self
        top = max(self.mtime, *(f.mtime for f in new))
        at_top = {f.path for f in files if f.mtime == top}
        if top == self.mtime:
            at_top |= seen
        return sorted(new, key=lambda f: f.path), FileCursor(mtime=top, seen=sorted(at_top))


def _mtime(info: dict) -> float:
    value = info.get("mtime", info.get("LastModified", info.get("last_modified", 0)))
    return value.timestamp() if hasattr(value, "timestamp") else float(value or 0)


def _under_link(base: str, rel: str) -> bool:
    """True when the file or any folder between it and the landing root is a symbolic link."""
    path = Path(base)
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            return True
    return False


def list_landed_files(root: UPath) -> list[LandedFile]:
    """Every record file under the landing root (hidden and temporary files skipped)."""
    if not root.exists():
        return []
    base = str(root.path).rstrip("/")
    found = root.fs.find(base, detail=True)
    files: list[LandedFile] = []
    for full, info in found.items():
        rel = str(full)[len(base):].lstrip("/")
        name = rel.rsplit("/", 1)[-1]
        if name.startswith(".") or not is_record_file(name) or info.get("islink") or \
                (root.protocol in ("", "file", "local") and _under_link(base, rel)):
            continue  # links are never followed (the inventory lists them)
        files.append(LandedFile(rel, _mtime(info)))
    return files


def group_new_files(files: list[LandedFile]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """(content files by day folder, ledger/users files, files in no known place)."""
    by_day: dict[str, list[str]] = defaultdict(list)
    consent: list[str] = []
    unknown: list[str] = []
    for f in files:
        parts = f.path.split("/")
        if parts[0] == "content" and len(parts) == 4:
            if not is_day_name(parts[2]):  # `20250403`, `2025-W14-4`, `2025-13-45`: the inventory lists them
                unknown.append(f.path)
                continue
            by_day[parts[2]].append(f.path)
        elif parts[0] in LEDGER_FOLDERS and len(parts) == 2:
            consent.append(f.path)
        else:
            unknown.append(f.path)
    return dict(by_day), consent, unknown


def batch_key(prefix: str, paths: list[str]) -> str:
    """A run key naming exactly this batch of files, so a batch is requested once."""
    digest = hashlib.sha1("\n".join(sorted(paths)).encode()).hexdigest()[:16]
    return f"{prefix}:{digest}"


def author_days(index_root: UPath, author_keys: list[str]) -> pl.DataFrame:
    """(`author_key`, `day`) rows of the `author_index` for `author_keys`: every day holding
    their words (their own rows and others' copies of them), eligible or not."""
    empty = pl.DataFrame(schema={"author_key": pl.String, "day": pl.Date})
    if not author_keys or not index_root.exists():
        return empty
    files = [str(p) for p in index_root.iterdir() if p.name.endswith(".parquet")]
    if not files:
        return empty
    return (pl.scan_parquet(files).filter(pl.col("author_key").is_in(author_keys))
            .select("author_key", "day").unique().sort("day", "author_key").collect())


def _parquet_files(root: UPath) -> dict[str, str]:
    """Partition key → file of a partitioned asset folder (`<day>.parquet`)."""
    if not root.exists():
        return {}
    return {p.name.removesuffix(".parquet"): str(p) for p in root.iterdir()
            if p.name.endswith(".parquet") and not p.name.startswith(".")}


def built_days(corpus_root: UPath) -> list[str]:
    """The days a corpus folder holds a partition file for."""
    return sorted(_parquet_files(corpus_root))


def corpus_texts(corpus_root: UPath, days: list[str]) -> pl.DataFrame:
    """`day`, `text`, `mention_keys` of the corpus partitions of `days` (what rule 8 matches)."""
    files = _parquet_files(corpus_root)
    chosen = [files[d] for d in sorted(days) if d in files]
    if not chosen:
        return pl.DataFrame(schema={"day": pl.Date, "text": pl.String, "mention_keys": pl.List(pl.String)})
    return pl.scan_parquet(chosen).select("day", "text", "mention_keys").collect()


def mention_index(index_root: UPath) -> pl.DataFrame:
    """The `author_index` rows keyed ``mention:<submission id>`` (days of items rule 8 excluded)."""
    files = list(_parquet_files(index_root).values())
    if not files:
        return pl.DataFrame(schema={"author_key": pl.String, "day": pl.Date})
    return (pl.scan_parquet(files).filter(pl.col("author_key").str.starts_with(MENTION_SUBJECT_PREFIX))
            .select("author_key", "day").unique().collect())
