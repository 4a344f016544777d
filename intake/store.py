"""Where submissions go: one landing-zone objection file per submission, written exactly once.

Both flows write `<landing>/objections/intake-<submission_id>.jsonl` (one JSON line, the
landing contract's objection record). The landing sensor imports it into the ledger like any
other objection file, so there is one import path (with its quarantine), and the service needs
no ledger credentials. The file is written to a dot-file beside the target (which the landing
reader skips), fsynced, then hard-linked to its name: `link` is atomic and never overwrites, so
of any number of concurrent or repeated writes of one submission id exactly one lands, and the
others read back the record that stands (its `submitted_at` is the receipt's).

The confirmation mail of a non-user goes to an outbox folder as an `.eml` file (a mailer or a
test picks it up), written the same way and once per form.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import orjson

from curation.keyfile import fsync_dir


def write_once(path: Path, data: bytes) -> bool:
    """Create `path` holding `data` atomically unless it exists; True when this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        temp.unlink(missing_ok=True)


def now_iso() -> str:
    """ISO-8601 UTC with offset and microseconds: what the landing reader parses."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def objection_record(submission_id: str, action: str, *, user_id: str | None = None, email: str | None = None,
                     full_name: str | None = None, phone: str | None = None, handles: list[str] | None = None,
                     submitted_at: str | None = None) -> dict[str, str | None]:
    """The landing contract's objection record. Every value is a string or null (the reader
    quarantines other JSON types), so `handles` is one string: the handles joined by ", "."""
    return {
        "submission_id": submission_id,
        "user_id": user_id,
        "email": email,
        "full_name": full_name,
        "phone": phone,
        "handles": ", ".join(handles) if handles else None,
        "action": action,
        "submitted_at": submitted_at or now_iso(),
    }


class ObjectionStore:
    """Writes submissions into the landing zone's `objections/` folder, once per submission id."""

    def __init__(self, objections_dir: Path) -> None:
        self.folder = objections_dir

    def path_of(self, submission_id: str) -> Path:
        return self.folder / f"{submission_id}.jsonl"

    def submit(self, record: dict[str, str | None]) -> tuple[dict[str, str | None], bool]:
        """(the record that stands for this submission id, whether this call wrote it)."""
        path = self.path_of(str(record["submission_id"]))
        created = write_once(path, orjson.dumps(record) + b"\n")
        if created:
            return record, True
        return json.loads(path.read_text(encoding="utf-8").splitlines()[0]), False


class Outbox:
    """Stands in for mail: each message is an `.eml` file, written once per message id."""

    def __init__(self, folder: Path, sender: str = "privacy@consentry.invalid") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message_id: str, to: str, subject: str, body: str) -> bool:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        msg["Message-ID"] = f"<{message_id}@consentry.invalid>"
        msg.set_content(body)
        return write_once(self.folder / f"{message_id}.eml", msg.as_bytes())
