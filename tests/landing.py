"""Build small landing zones by hand for tests: exact records, exact expectations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from resources import build_resources
from resources.alerts import JsonlAlertSink

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def write_jsonl(path: Path, records: Iterable[Mapping[str, object] | str | bytes]) -> Path:
    """One record per line; a str or bytes item is written verbatim (for malformed lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for record in records:
            if isinstance(record, bytes):
                out.write(record + b"\n")
            elif isinstance(record, str):
                out.write(record.encode("utf-8") + b"\n")
            else:
                out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return path


def post(content_id: str, author: str, created_at: str, **fields: object) -> dict[str, object]:
    """A public Facebook post unless `fields` say otherwise."""
    return {"content_id": content_id, "platform": "facebook", "kind": "post", "author_id": author,
            "created_at": created_at, "visibility": "public", "text": f"text of {content_id}",
            "deleted_at": None, "parent_id": None, "locale": "de_DE", **fields}


def user(user_id: str, birth_date: str | None = "1990-05-05", country: str = "DE",
         **fields: object) -> dict[str, object]:
    return {"user_id": user_id, "birth_date": birth_date, "country": country,
            "created_at": "2020-01-01T00:00:00+00:00", "deleted_at": None, **fields}


def notification(nid: str, user_id: str, sent_at: str = "2025-01-10T09:00:00+00:00",
                 channel: str = "email") -> dict[str, object]:
    return {"notification_id": nid, "user_id": user_id, "channel": channel, "sent_at": sent_at}


def objection(sid: str, user_id: str | None, submitted_at: str, action: str = "object",
              email: str | None = None) -> dict[str, object]:
    return {"submission_id": sid, "user_id": user_id, "email": email, "action": action,
            "submitted_at": submitted_at}


def content_file(root: Path, platform: str, day: str, name: str = "part-00000.jsonl") -> Path:
    return root / "content" / platform / day / name


def resources_for(tmp_path: Path, as_of: str = "2025-07-01T00:00:00+00:00",
                  min_k_authors: int = 1) -> dict[str, object]:
    """Resources for a hand-made landing zone; its handful of authors needs a k-author floor of 1."""
    return {**build_resources(landing_root=str(tmp_path / "landing"), data_root=str(tmp_path / "data"),
                              as_of=as_of, author_key="test-secret-key", min_k_authors=min_k_authors),
            "alerts": JsonlAlertSink(path=str(tmp_path / "data" / "alerts.jsonl"))}


def range_tags(start: str, end: str) -> dict[str, str]:
    return {RANGE_START: start, RANGE_END: end}


# Hand-made landing zones have a handful of rows per country: keep them all in the subsets.
UNBALANCED = {"ops": {"corpus_subsets": {"config": {"min_rows_per_country": 0, "max_share_per_country": 1.0}}}}


def materialize_all(defs: dg.Definitions, instance: dg.DagsterInstance, start: str, end: str,
                    selection: str | None = None, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    """Every asset and check over a partition range, in one in-process run."""
    job = defs.resolve_implicit_global_asset_job_def()
    asset_selection = None
    if selection is not None:
        asset_selection = list(dg.AssetSelection.from_string(selection).resolve(defs.resolve_asset_graph()))
    return job.execute_in_process(instance=instance, tags=range_tags(start, end), raise_on_error=False,
                                  asset_selection=asset_selection, run_config=run_config)


def record_objection(defs: dg.Definitions, user_id: str | None, when: datetime = datetime(2025, 8, 1, tzinfo=UTC),
                     submission_id: str | None = None, action: str = "object", **identifiers: str) -> None:
    """Write an objection straight into the ledger the definitions use (a late objection);
    `user_id` None and `identifiers` (`full_name`, `email`, `phone`, `handles`): a non-user's."""
    from curation.ledger import ConsentLedger

    row = {"submission_id": submission_id or f"late-{user_id}", "user_id": user_id, "email": None,
           "action": action, "submitted_at": when, **identifiers}
    schema = {name: pl.String for name in row} | {"submitted_at": pl.Datetime("us", "UTC")}
    frame = pl.DataFrame({k: [v] for k, v in row.items()}, schema=schema)
    ConsentLedger(defs.resources["ledger"].url).import_objections(frame, source="test")  # type: ignore[union-attr]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
