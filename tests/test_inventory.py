"""Every file under the landing root is in the landing inventory, read or not, with its reason."""

import gzip
import json
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
from upath import UPath

from assets.raw import landing_inventory_asset
from curation import contract as c
from curation import inventory as inv
from curation.ingest import content_files_for_day, ingest_content
from resources import LandingZone
from tests.landing import post, resources_for, user, write_jsonl

FIRST, LAST = date(2025, 4, 1), date(2026, 11, 29)
DAY = "2025-04-02"
GOOD = post("fb-1", "u1", "2025-04-02T10:00:00+00:00")


def hostile_zone(root: Path, outside: Path) -> dict[str, tuple[str, str | None]]:
    """A landing zone with one file per hostile case; returns path -> (status, reason)."""
    expected: dict[str, tuple[str, str | None]] = {}

    def put(rel: str, status: str, reason: str | None, data: bytes | None = None) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if data is not None else json.dumps(GOOD).encode() + b"\n")
        expected[rel] = (status, reason)
        return path

    day = f"content/facebook/{DAY}"
    put(f"{day}/part-0.jsonl", inv.READ, None)
    put(f"{day}/part-1.jsonl.gz", inv.READ, None, gzip.compress(json.dumps(GOOD | {"content_id": "fb-2"}).encode()))
    for ext in ("json", "JSONL", "ndjson", "bz2"):
        put(f"{day}/part-2.{ext}", inv.IGNORED, inv.UNKNOWN_EXTENSION)
    for name in ("20250403", "2025-W14-4", "2025-13-45", "notadate"):
        put(f"content/facebook/{name}/part-0.jsonl", inv.IGNORED, inv.BAD_DAY_FOLDER)
    put("content/facebook/2025-03-31/part-0.jsonl", inv.IGNORED, inv.DAY_OUT_OF_RANGE)
    put(f"{day}/nested/part-0.jsonl", inv.IGNORED, inv.NESTED_FOLDER)
    put("users/old/2025-01-01.jsonl", inv.IGNORED, inv.NESTED_FOLDER)
    put("content/facebook/loose.jsonl", inv.IGNORED, inv.WRONG_LEVEL)
    put("content/loose.jsonl", inv.IGNORED, inv.WRONG_LEVEL)
    put("loose.jsonl", inv.IGNORED, inv.WRONG_LEVEL)
    put("exports/part-0.jsonl", inv.IGNORED, inv.UNKNOWN_FOLDER)
    put(f"{day}/.part-3.jsonl", inv.IGNORED, inv.HIDDEN_FILE)
    put(f"{day}/bomb.jsonl.gz", inv.QUARANTINED, c.DECOMPRESSED_TOO_LARGE, gzip.compress(b" " * 50_000))
    put(f"{day}/broken.parquet", inv.QUARANTINED, c.UNREADABLE_FILE, b"PAR1 not really")
    foreign = put(f"{day}/foreign.parquet", inv.QUARANTINED, c.MISSING_COLUMNS, b"")
    pl.DataFrame({"id": [1]}).write_parquet(foreign)
    put("users/2025-01-01.jsonl", inv.READ, None, json.dumps(user("u1")).encode())
    outside.mkdir(parents=True, exist_ok=True)
    write_jsonl(outside / "secret.jsonl", [GOOD])
    (root / day / "link.jsonl").symlink_to(outside / "secret.jsonl")
    (root / "content" / "instagram").symlink_to(outside, target_is_directory=True)
    expected[f"{day}/link.jsonl"] = (inv.IGNORED, inv.SYMLINK)
    expected["content/instagram"] = (inv.IGNORED, inv.SYMLINK)
    return expected


def test_every_hostile_file_is_listed_with_its_status_and_reason(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    expected = hostile_zone(root, tmp_path / "outside")
    frame = inv.landing_inventory(UPath(root), FIRST, LAST, max_bytes=10_000)
    assert list(frame.schema) == list(inv.INVENTORY_SCHEMA)
    got = {p: (s, r) for p, s, r in frame.select("path", "status", "reason").iter_rows()}
    assert got == expected
    assert frame.filter(pl.col("status") != inv.READ)["detail"].null_count() == 0
    assert frame.filter(pl.col("path") == "content/facebook/2025-04-02/part-0.jsonl")["kind"].item() == "content"
    assert frame.filter(pl.col("path") == "exports/part-0.jsonl")["kind"].item() == "unknown"
    counts = inv.inventory_counts(frame)
    assert (counts[inv.READ], counts[inv.QUARANTINED], counts[inv.IGNORED]) == (3, 3, len(expected) - 6)
    assert counts["ignored:bad_day_folder"] == 4 and counts["ignored:symlink"] == 2


def test_the_inventory_agrees_with_what_the_reader_does(tmp_path: Path) -> None:
    """A file the inventory calls read is read; one it quarantines is quarantined whole by the reader."""
    root = tmp_path / "landing"
    hostile_zone(root, tmp_path / "outside")
    frame = inv.landing_inventory(UPath(root), FIRST, LAST, max_bytes=10_000)
    result = ingest_content(content_files_for_day(UPath(root), DAY), FIRST, LAST, 10_000)
    whole = result.quarantine.filter(pl.col("line").is_null())
    reader = {str(Path(p).relative_to(root)): r for p, r in whole.select("source_file", "reason").iter_rows()}
    listed = dict(frame.filter(pl.col("status") == inv.QUARANTINED, pl.col("kind") == "content")
                  .select("path", "reason").iter_rows())
    assert reader == listed
    read = {str(Path(p).relative_to(root)) for p in result.valid["source_file"]}
    assert read == set(frame.filter(pl.col("status") == inv.READ, pl.col("kind") == "content")["path"])


def test_an_absent_landing_root_is_an_empty_inventory(tmp_path: Path) -> None:
    frame = inv.landing_inventory(UPath(tmp_path / "nothing"), FIRST, LAST)
    assert frame.is_empty() and list(frame.schema) == list(inv.INVENTORY_SCHEMA)


def test_landing_inventory_asset_counts_files_by_status_and_reason(tmp_path: Path) -> None:
    expected = hostile_zone(tmp_path / "landing", tmp_path / "outside")
    resources = resources_for(tmp_path)
    resources["landing"] = LandingZone(root=str(tmp_path / "landing"), max_file_bytes=10_000)
    result = dg.materialize([landing_inventory_asset], resources=resources)
    assert result.success
    metadata = result.asset_materializations_for_node("landing_inventory")[0].metadata
    assert metadata["files_read"].value == 3
    assert metadata["files_quarantined"].value == 3
    assert metadata["files_ignored"].value == len(expected) - 6
    assert metadata["files_ignored_symlink"].value == 2
    stored = pl.read_parquet(tmp_path / "data" / "assets" / "landing_inventory.parquet")
    assert stored.height == len(expected)
