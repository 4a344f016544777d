"""Days whose corpus outcome another day's build changed, waiting for their own rebuild.

When day D enters the dedup index, a row of another day E may stop being the earliest copy
of its words (D holds an older copy, or D bridged two clusters). E's corpus partition is
then out of date until E is rebuilt. The builds record such days here; the landing sensor
requests their rebuild and `make run` rebuilds them before it cuts the release. Meanwhile
the release cut leaves out every row that is not the earliest copy in the current index,
so nothing depends on the rebuild having happened.

A JSON file beside the index, updated under an exclusive lock (read, change, write to a
temporary, rename).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

FILE = "stale_days.json"


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".stale.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(index_dir: Path) -> set[str]:
    path = index_dir / FILE
    return set(json.loads(path.read_text())) if path.exists() else set()


def _write(index_dir: Path, days: set[str]) -> None:
    temporary = index_dir / f".{FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(sorted(days)))
    os.replace(temporary, index_dir / FILE)


def stale_days(index_dir: str | os.PathLike) -> list[date]:
    """Days waiting for a rebuild, oldest first."""
    return [date.fromisoformat(d) for d in sorted(_read(Path(index_dir)))]


def update_stale(index_dir: str | os.PathLike, *, add: Iterable[date] = (), built: Iterable[date] = ()) -> list[date]:
    """Record days another build made stale and days just rebuilt; returns what stays stale."""
    root = Path(index_dir)
    with _locked(root):
        days = (_read(root) | {d.isoformat() for d in add}) - {d.isoformat() for d in built}
        _write(root, days)
    return [date.fromisoformat(d) for d in sorted(days)]
