"""Every malformed class ends in quarantine with the right reason, and nothing is lost."""

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from upath import UPath

from curation import contract as c
from curation.ingest import content_days, content_files_for_day, ingest, ingest_content, latest_users
from tests.landing import content_file, post, user, write_jsonl

FIRST, LAST = date(2025, 4, 1), date(2026, 11, 29)
DAY = "2025-04-02"
GOOD = post("fb-1", "u1", "2025-04-02T10:00:00+02:00")


def ingest_lines(tmp_path: Path, lines: list, platform: str = "facebook", day: str = DAY):
    write_jsonl(content_file(tmp_path, platform, day), lines)
    return ingest_content(content_files_for_day(UPath(tmp_path), day), FIRST, LAST)


@pytest.mark.parametrize(("line", "reason"), [
    (b'{"content_id": "fb-9", "platform": "face', c.BAD_JSON),
    (b"[1, 2, 3]", c.BAD_JSON),
    (b'"just a string"', c.BAD_JSON),
    (b'{"content_id": "fb-9", "text": "caf\xe9"}', c.INVALID_UTF8),
    (json.dumps({k: v for k, v in GOOD.items() if k != "author_id"}), c.MISSING_FIELD),
    (json.dumps({**GOOD, "text": None}), c.MISSING_FIELD),
    (json.dumps({**GOOD, "content_id": 12345}), c.WRONG_TYPE),
    (json.dumps({**GOOD, "text": ["a", "list"]}), c.WRONG_TYPE),
    (json.dumps({**GOOD, "created_at": 1743580800}), c.WRONG_TYPE),
    (json.dumps({**GOOD, "platform": "tiktok"}), c.UNKNOWN_ENUM),
    (json.dumps({**GOOD, "kind": "story"}), c.UNKNOWN_ENUM),
    (json.dumps({**GOOD, "visibility": "everyone"}), c.UNKNOWN_ENUM),
    (json.dumps({**GOOD, "created_at": "2025-13-45T99:00:00+02:00"}), c.BAD_TIMESTAMP),
    (json.dumps({**GOOD, "created_at": "yesterday"}), c.BAD_TIMESTAMP),
    (json.dumps({**GOOD, "created_at": "2025-04-02T10:00:00"}), c.BAD_TIMESTAMP),  # no offset
    (json.dumps({**GOOD, "deleted_at": "soon"}), c.BAD_TIMESTAMP),
    (json.dumps({**GOOD, "created_at": "2019-04-02T10:00:00+02:00"}), c.OUT_OF_RANGE),
    (json.dumps({**GOOD, "platform": "instagram"}), c.WRONG_FOLDER),
    (json.dumps({**GOOD, "created_at": "2025-04-03T10:00:00+02:00"}), c.WRONG_FOLDER),
    (json.dumps({**GOOD, "created_at": "2025-04-02T01:30:00+02:00"}), c.WRONG_FOLDER),  # UTC 04-01
])
def test_malformed_record_is_quarantined_with_its_reason(tmp_path: Path, line: str | bytes, reason: str) -> None:
    result = ingest_lines(tmp_path, [GOOD | {"content_id": "fb-ok"}, line])
    assert result.read == 2
    assert result.valid["content_id"].to_list() == ["fb-ok"]
    assert result.quarantine["reason"].to_list() == [reason]
    quarantined = result.quarantine.row(0, named=True)
    assert quarantined["line"] == 2
    assert quarantined["source_file"].endswith("part-00000.jsonl")
    assert quarantined["payload"]


def test_conflicting_duplicates_are_all_quarantined_identical_copies_keep_one(tmp_path: Path) -> None:
    a = post("fb-1", "u1", "2025-04-02T10:00:00+02:00", text="one")
    b = post("fb-1", "u1", "2025-04-02T10:00:00+02:00", text="two")
    same = post("fb-2", "u1", "2025-04-02T10:00:00+02:00")
    result = ingest_lines(tmp_path, [a, b, same, same])
    assert result.valid["content_id"].to_list() == ["fb-2"]
    assert sorted(result.quarantine["reason"].to_list()) == [
        c.CONFLICTING_DUPLICATE_ID, c.CONFLICTING_DUPLICATE_ID, c.DUPLICATE_RECORD]


def test_blank_lines_are_not_records_and_extra_fields_are_ignored(tmp_path: Path) -> None:
    result = ingest_lines(tmp_path, [GOOD | {"surprise": {"nested": 1}}, "", "   "])
    assert result.counts() == {"read": 1, "valid": 1, "quarantined": 0}
    assert "surprise" not in result.valid.columns


def test_timestamps_with_offsets_become_utc(tmp_path: Path) -> None:
    rows = [post("fb-1", "u", "2025-04-02T01:30:00+02:00"), post("fb-2", "u", "2025-04-01T23:30:00Z"),
            post("fb-3", "u", "2025-04-01T20:00:00.250-03:00")]
    result = ingest_lines(tmp_path, rows, day="2025-04-01")
    assert result.quarantine.is_empty()
    assert result.valid["created_at"].to_list() == [
        datetime(2025, 4, 1, 23, 30, tzinfo=UTC), datetime(2025, 4, 1, 23, 30, tzinfo=UTC),
        datetime(2025, 4, 1, 23, 0, 0, 250000, tzinfo=UTC)]


def test_gzip_and_parquet_files_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "instagram" / DAY
    folder.mkdir(parents=True)
    with gzip.open(folder / "a.jsonl.gz", "wb") as out:
        out.write((json.dumps(post("ig-1", "u1", "2025-04-02T10:00:00+00:00", platform="instagram")) + "\n").encode())
    pl.DataFrame({
        "content_id": ["ig-2", "ig-3"], "platform": ["instagram", "instagram"], "kind": ["post", "caption"],
        "author_id": ["u1", None], "created_at": [datetime(2025, 4, 2, 9, tzinfo=UTC)] * 2,
        "visibility": ["public", "public"], "text": ["hi", "there"], "deleted_at": [None, None],
    }).write_parquet(folder / "b.parquet")
    (folder / "notes.txt").write_text("not a record file")
    result = ingest_content(content_files_for_day(UPath(tmp_path), DAY), FIRST, LAST)
    assert sorted(result.valid["content_id"]) == ["ig-1", "ig-2"]
    assert result.quarantine.select("line", "reason").rows() == [(2, c.MISSING_FIELD)]
    assert result.read == 3
    assert result.ignored_files and result.ignored_files[0].endswith("notes.txt")


def test_parquet_with_wrong_column_type_is_quarantined(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "facebook" / DAY
    folder.mkdir(parents=True)
    pl.DataFrame({
        "content_id": [1, 2], "platform": ["facebook"] * 2, "kind": ["post"] * 2, "author_id": ["u1"] * 2,
        "created_at": [datetime(2025, 4, 2, 9, tzinfo=UTC)] * 2, "visibility": ["public"] * 2, "text": ["a", "b"],
    }).write_parquet(folder / "a.parquet")
    result = ingest_content(content_files_for_day(UPath(tmp_path), DAY), FIRST, LAST)
    assert result.valid.is_empty()
    assert result.quarantine["reason"].to_list() == [c.WRONG_TYPE, c.WRONG_TYPE]


def test_unreadable_file_is_quarantined_whole(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "facebook" / DAY
    folder.mkdir(parents=True)
    (folder / "broken.parquet").write_bytes(b"PAR1 not really")
    (folder / "broken.jsonl.gz").write_bytes(b"not gzip")
    result = ingest_content(content_files_for_day(UPath(tmp_path), DAY), FIRST, LAST)
    assert result.quarantine["reason"].to_list() == [c.UNREADABLE_FILE, c.UNREADABLE_FILE]
    assert result.read == 2


def test_partition_reads_only_its_day(tmp_path: Path) -> None:
    write_jsonl(content_file(tmp_path, "facebook", "2025-04-02"), [GOOD])
    write_jsonl(content_file(tmp_path, "instagram", "2025-04-03"),
                [post("ig-1", "u", "2025-04-03T10:00:00+00:00", platform="instagram")])
    assert [p.name for p in content_files_for_day(UPath(tmp_path), "2025-04-02")] == ["part-00000.jsonl"]
    assert content_days(UPath(tmp_path)) == ["2025-04-02", "2025-04-03"]


def test_latest_user_file_wins_and_conflicts_inside_a_file_are_quarantined(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "users" / "2025-01-01-snapshot.jsonl", [
        user("a", birth_date=None), user("b"), user("c", country="FR"), user("c", country="DE")])
    write_jsonl(tmp_path / "users" / "2025-02-01-snapshot.jsonl", [
        user("a", birth_date="1980-01-01"), user("d", country="Germany")])
    files = sorted((tmp_path / "users").iterdir())
    result = ingest([UPath(p) for p in files], c.USERS, duplicate_key=["source_file", "user_id"])
    snapshot, superseded = latest_users(result)
    assert snapshot["user_id"].to_list() == ["a", "b"]
    assert snapshot.filter(pl.col("user_id") == "a")["birth_date"].item() == date(1980, 1, 1)
    assert superseded == 1
    assert sorted(result.quarantine["reason"]) == [c.CONFLICTING_DUPLICATE_ID, c.CONFLICTING_DUPLICATE_ID,
                                                   c.UNKNOWN_ENUM]
    assert result.valid.height + result.quarantine.height == result.read == 6
