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


# --------------------------------------------------------------------------- hostile landing files


def day_folder(root: Path, platform: str = "facebook", day: str = DAY) -> Path:
    folder = root / "content" / platform / day
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ingest_day(root: Path, day: str = DAY, max_bytes: int | None = None):
    limit = () if max_bytes is None else (max_bytes,)
    return ingest_content(content_files_for_day(UPath(root), day), FIRST, LAST, *limit)


def test_parquet_without_the_contract_columns_is_quarantined_whole(tmp_path: Path) -> None:
    pl.DataFrame({"id": [1, 2, 3], "body": ["a", "b", "c"]}).write_parquet(day_folder(tmp_path) / "foreign.parquet")
    result = ingest_day(tmp_path)
    assert result.valid.is_empty()
    assert result.quarantine.select("line", "reason").rows() == [(None, c.MISSING_COLUMNS)]
    assert "content_id" in result.quarantine["detail"].item() and "3 rows" in result.quarantine["detail"].item()
    assert result.read == 1


def test_only_real_yyyy_mm_dd_folders_are_days(tmp_path: Path) -> None:
    for name in ("2025-04-02", "20250403", "2025-W14-4", "2025-13-45", "notadate", "2025-4-5"):
        write_jsonl(content_file(tmp_path, "facebook", name), [GOOD])
    (tmp_path / "content" / "facebook" / "2025-04-09").write_text("a file, not a folder")
    assert content_days(UPath(tmp_path)) == ["2025-04-02"]


@pytest.mark.parametrize("line", [
    b'{"content_id": "fb-2", "visibility": "private", "platform": "facebook", "kind": "post", "author_id": "u1",'
    b' "created_at": "2025-04-02T10:00:00+02:00", "text": "t", "visibility": "public"}',
    # the same key spelled with an escape: orjson would still keep the last value
    b'{"content_id": "fb-2", "visibility": "private", "platform": "facebook", "kind": "post", "author_id": "u1",'
    b' "created_at": "2025-04-02T10:00:00+02:00", "text": "t", "\\u0076isibility" : "public"}',
])
def test_a_repeated_key_is_quarantined_never_last_value_wins(tmp_path: Path, line: bytes) -> None:
    nested = GOOD | {"content_id": "fb-3", "extra": {"text": "a nested key may repeat an outer one"},
                     "text": 'quotes \\" and "visibility": inside a value'}
    result = ingest_lines(tmp_path, [GOOD, line, nested])
    assert result.valid["content_id"].to_list() == ["fb-1", "fb-3"]
    assert result.quarantine.select("line", "reason", "detail").rows() == [(2, c.REPEATED_KEY, "repeated: visibility")]


def test_symbolic_links_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = post("fb-secret", "u9", "2025-04-02T10:00:00+00:00", text="private words outside the landing root")
    write_jsonl(outside / "stolen.jsonl", [secret, "not json at all"])
    root = tmp_path / "landing"
    folder = day_folder(root)
    write_jsonl(folder / "a.jsonl", [GOOD])
    (folder / "link.jsonl").symlink_to(outside / "stolen.jsonl")
    (root / "content" / "instagram").symlink_to(outside, target_is_directory=True)
    write_jsonl(outside / DAY / "x.jsonl", [post("ig-1", "u9", "2025-04-02T10:00:00+00:00", platform="instagram")])
    (root / "content" / "facebook" / "2025-04-05").symlink_to(outside / DAY, target_is_directory=True)
    result = ingest_day(root)
    assert result.valid["content_id"].to_list() == ["fb-1"]
    assert result.quarantine.is_empty() and result.read == 1
    assert [Path(p).name for p in result.ignored_files] == ["link.jsonl"]
    assert content_days(UPath(root)) == [DAY]
    assert content_files_for_day(UPath(root), "2025-04-05") == []


def test_dot_files_are_uploads_in_flight_and_not_read(tmp_path: Path) -> None:
    write_jsonl(day_folder(tmp_path) / ".part-1.jsonl", [GOOD])
    result = ingest_day(tmp_path)
    assert result.read == 0 and [Path(p).name for p in result.ignored_files] == [".part-1.jsonl"]


def test_a_file_starting_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    path = day_folder(tmp_path) / "bom.jsonl"
    second = json.dumps(GOOD | {"content_id": "fb-2"}).encode()
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n" + second)
    result = ingest_day(tmp_path)
    assert result.quarantine.is_empty()
    assert result.valid.select("content_id", "source_line").rows() == [("fb-1", 1), ("fb-2", 2)]


def test_dictionary_encoded_parquet_columns_are_strings(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = day_folder(tmp_path, "instagram")
    columns = {"content_id": ["ig-1", "ig-2"], "platform": ["instagram"] * 2, "kind": ["post"] * 2,
               "author_id": ["u1", "u1"], "visibility": ["public"] * 2, "text": ["hi", "hi"]}
    table = pa.table({k: pa.array(v).dictionary_encode() for k, v in columns.items()}
                     | {"created_at": pa.array([datetime(2025, 4, 2, 9, tzinfo=UTC)] * 2, pa.timestamp("us", "UTC"))})
    pq.write_table(table, folder / "dict.parquet", use_dictionary=True)
    pl.DataFrame(columns | {"created_at": [datetime(2025, 4, 2, 9, tzinfo=UTC)] * 2}).with_columns(
        pl.col("platform", "kind", "visibility").cast(pl.Categorical),
        pl.Series("content_id", ["ig-3", "ig-4"])).write_parquet(folder / "categorical.parquet")
    result = ingest_day(tmp_path)
    assert result.quarantine.is_empty()
    assert sorted(result.valid["content_id"]) == ["ig-1", "ig-2", "ig-3", "ig-4"]
    assert set(result.valid["visibility"]) == {"public"}


def test_a_gzip_inflating_past_the_limit_is_quarantined_unread(tmp_path: Path) -> None:
    folder = day_folder(tmp_path)
    line = (json.dumps(GOOD) + "\n").encode()
    (folder / "bomb.jsonl.gz").write_bytes(gzip.compress(line + b" " * 5_000))
    (folder / "ok.jsonl.gz").write_bytes(gzip.compress(json.dumps(GOOD | {"content_id": "fb-2"}).encode()))
    (folder / "big.jsonl").write_bytes(line + b" " * 2_000)
    result = ingest_day(tmp_path, max_bytes=1_000)
    assert result.valid["content_id"].to_list() == ["fb-2"]
    assert result.quarantine.select("source_file", "reason").with_columns(
        pl.col("source_file").str.split("/").list.last()).sort("source_file").rows() == [
        ("big.jsonl", c.FILE_TOO_LARGE), ("bomb.jsonl.gz", c.DECOMPRESSED_TOO_LARGE)]
    assert result.read == 3


def test_a_bounded_read_never_inflates_more_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader asks the gzip stream for at most limit + 1 bytes, whatever the file holds."""
    from curation import ingest as ingest_module

    asked: list[int] = []
    real = gzip.GzipFile.read

    def spy(self: gzip.GzipFile, size: int = -1) -> bytes:
        asked.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", spy)
    path = day_folder(tmp_path) / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(b" " * 100_000))
    with pytest.raises(ingest_module.FileRefused):
        ingest_module._read_bytes(UPath(path), 1_000)
    assert asked and all(0 <= n <= 1_001 for n in asked)


def test_conflicting_records_in_the_newest_users_file_make_the_user_ineligible(tmp_path: Path) -> None:
    """End to end through the plain functions: no fallback to the older file, no content in the corpus."""
    from curation.corpus import curate
    from curation.eligibility import UNKNOWN_OR_DELETED_AUTHOR, consent_state, evaluate_content
    from curation.ingest import ingest_users
    from curation.policy import Policy
    from tests.landing import notification

    write_jsonl(tmp_path / "users" / "2025-01-01-snapshot.jsonl", [user("adult"), user("flip"), user("fixed")])
    write_jsonl(tmp_path / "users" / "2025-02-01-snapshot.jsonl", [
        user("flip", birth_date="1990-05-05"), user("flip", birth_date="2012-05-05"),  # adult or a minor?
        user("fixed", country="Germany"), user("adult")])  # a broken newest record for `fixed`
    files = [UPath(p) for p in sorted((tmp_path / "users").iterdir())]
    result = ingest_users(files)
    assert result.valid.height + result.quarantine.height == result.read == 7
    withheld = result.quarantine.filter(pl.col("reason") == c.CONFLICTING_USER_RECORDS)
    assert sorted(withheld["payload"].str.json_path_match("$.user_id")) == ["fixed", "flip"]
    snapshot, _ = latest_users(result)
    assert snapshot["user_id"].to_list() == ["adult"]
    # a plain ingest (no withholding step) is fail closed in latest_users as well
    plain, _ = latest_users(ingest(files, c.USERS, duplicate_key=["source_file", "user_id"]))
    assert plain["user_id"].to_list() == ["adult"]

    write_jsonl(content_file(tmp_path, "facebook", DAY), [
        post("fb-1", "adult", "2025-04-02T10:00:00+00:00", text="The adult's own public words about the weather"),
        post("fb-2", "flip", "2025-04-02T11:00:00+00:00", text="Words of someone whose age nobody can tell"),
        post("fb-3", "fixed", "2025-04-02T12:00:00+00:00", text="Words of someone whose record broke")])
    content = ingest_day(tmp_path).valid
    notifications = pl.DataFrame([notification(f"n-{u}", u) for u in ("adult", "flip", "fixed")]).with_columns(
        pl.col("sent_at").str.to_datetime(time_zone="UTC"))
    objections = pl.DataFrame(schema={"submission_id": pl.String, "user_id": pl.String, "email": pl.String,
                                      "action": pl.String, "submitted_at": pl.Datetime("us", "UTC")})
    as_of, policy = datetime(2025, 7, 1, tzinfo=UTC), Policy()
    state = consent_state(snapshot, notifications, objections, as_of=as_of, policy=policy, secret=b"k" * 32)
    evaluated = evaluate_content(content, state, as_of=as_of, policy=policy).with_columns(
        pl.col("created_at").dt.date().alias("day")).collect()
    assert dict(evaluated.select("content_id", "exclusion_reason").iter_rows()) == {
        "fb-1": None, "fb-2": UNKNOWN_OR_DELETED_AUTHOR, "fb-3": UNKNOWN_OR_DELETED_AUTHOR}
    curated = curate(evaluated, [date(2025, 4, 2)])
    assert curated.corpus["content_id"].to_list() == ["fb-1"]


def test_batched_decode_equals_the_per_line_reader(tmp_path: Path) -> None:
    """The polars pass (flat objects of strings) and the per-line orjson path give the same rows
    and reasons, in file then line order, whatever mix of lines a file holds."""
    import orjson

    from curation.ingest import _decode_line

    good = lambda i, **kw: json.dumps(post(f"fb-{i}", "u1", "2025-04-02T10:00:00+02:00", **kw),  # noqa: E731
                                      ensure_ascii=False)
    lines_a: list[str | bytes] = [
        good(1, text='he said "hi": ok'),                         # escaped quotes and a colon in a value
        good(2, text="caf\u00e9 \ufffd real replacement char"),       # a genuine U+FFFD, valid UTF-8
        json.dumps(post("fb-3", "u1", "2025-04-02T10:00:00+02:00", text="\u00e9")),  # \\u escape (ascii)
        good(4).replace('"kind":', '"kind" :'),                     # space before a colon
        good(5).replace('"kind": "post"', '"kind": "post", "kind" : "post"'),  # repeated, spaced
        good(6, extra={"kind": 1, "nested": [1, {"a": None}]}),     # nested extra field
        good(7, surprise=12),                                       # extra non-string field
        good(8, visibility=True),                                   # wrong type
        good(9).replace('"text"', '"\\u0074ext"'),                  # key spelled with an escape
        b'{"content_id": "fb-10", "text": "\xff"}',                 # invalid UTF-8
        good(11, text="tab\there"),                                 # an escape in a value
        "   ",                                                      # blank
        "{}",                                                       # empty object: missing fields
        good(13).replace('"author_id": "u1", ', ""),                # missing field
        good(14, text=None),                                        # null required field
        good(15) + "\r",                                            # CRLF line end
    ]
    write_jsonl(content_file(tmp_path, "facebook", DAY), lines_a)
    (content_file(tmp_path, "facebook", DAY, "part-00001.jsonl")).write_bytes(
        b"\xef\xbb\xbf" + good(20).encode() + b"\n" + good(21, text="x\x01y").encode() + b"\n")
    result = ingest_content(content_files_for_day(UPath(tmp_path), DAY), FIRST, LAST)

    expected_valid, expected_reasons = [], []
    required = [f.name for f in c.CONTENT.fields if f.required]
    for path in sorted((tmp_path / "content" / "facebook" / DAY).iterdir()):
        raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        decode_bad, contract_bad = [], []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            record, bad = _decode_line(number, line, str(path), c.CONTENT, required)
            if bad is None:
                expected_valid.append(record["content_id"])
            else:
                (decode_bad if bad["reason"] in (c.BAD_JSON, c.INVALID_UTF8) else contract_bad).append(
                    (number, bad["reason"]))
        expected_reasons += decode_bad + contract_bad
    assert orjson.loads(lines_a[4])["kind"] == "post"
    got = [(row["line"], row["reason"]) for row in result.quarantine.iter_rows(named=True)]
    assert got == expected_reasons
    assert (1, c.BAD_JSON) not in got
    assert {reason for _, reason in got} >= {c.REPEATED_KEY, c.WRONG_TYPE, c.INVALID_UTF8, c.MISSING_FIELD}
    assert result.valid["content_id"].to_list() == expected_valid
    assert result.valid.filter(pl.col("content_id") == "fb-1")["text"].item() == 'he said "hi": ok'
    assert result.valid.filter(pl.col("content_id") == "fb-2")["text"].item().endswith("\ufffd real replacement char")
