"""What a killed writer leaves behind, and how the next run removes it.

Every write here is temp-then-rename, so a kill -9 never leaves a half file under a
real name, but it does leave the temporary: a `.staging-<pid>-<token>` release folder or
a `.<name>.<pid>.<random>.tmp` file. Their names carry the writer's pid, so the next run
removes exactly those whose writer is gone, never one a live writer is still filling
(two runs may write at once). A leftover without a pid (an older version's name) is
removed once it is older than `STALE_SECONDS`.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

STALE_SECONDS = 6 * 3600
_PID = re.compile(r"^\.(?:staging-(?P<release>\d+)-[0-9a-f]+|.+\.(?P<file>\d+)\.[^.]+\.tmp)$")


def staging_name(token: str) -> str:
    return f".staging-{os.getpid()}-{token}"


def tmp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")
    except (OSError, IndexError):
        return False


def is_leftover(path: Path, now: float | None = None) -> bool:
    """A temporary of a writer that is gone."""
    name = path.name
    if not (name.startswith(".staging-") or (name.startswith(".") and name.endswith(".tmp"))):
        return False
    match = _PID.match(name)
    pid = match and (match.group("release") or match.group("file"))
    if pid:
        return int(pid) != os.getpid() and not pid_alive(int(pid))
    try:
        age = (now or time.time()) - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age > STALE_SECONDS


def remove_leftovers(root: Path, *, recursive: bool = True) -> list[Path]:
    """Remove the leftovers of dead writers under `root`; returns what was removed."""
    if not root.is_dir():
        return []
    removed: list[Path] = []
    candidates = root.rglob(".*") if recursive else root.glob(".*")
    for path in sorted(candidates):
        if path.is_symlink() or not is_leftover(path):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
