"""The consent ledger: idempotent, append-only, durable, replayable at a high-water mark."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

import curation.ledger as ledger_module
from curation.eligibility import OBJECTED, consent_state
from curation.ledger import ConsentLedger, ImportResult
from curation.policy import Policy

UTC = UTC
TS = pl.Datetime("us", "UTC")
T = datetime(2025, 6, 1, 12, tzinfo=UTC)
NOTIF_SCHEMA = {"notification_id": pl.String, "user_id": pl.String, "channel": pl.String,
                "sent_at": TS}  # fmt: skip
OBJ_SCHEMA = {"submission_id": pl.String, "user_id": pl.String, "email": pl.String,
              "action": pl.String, "submitted_at": TS}  # fmt: skip


def notifications(*rows: tuple[str, str, datetime], channel: str = "email") -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"notification_id": n, "user_id": u, "channel": channel, "sent_at": s}
            for n, u, s in rows
        ],
        schema=NOTIF_SCHEMA,
        orient="row",
    )


def objections(*rows: tuple[str, str | None, str, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"submission_id": sid, "user_id": u, "email": None if u else "x@example.org",
          "action": a, "submitted_at": at} for sid, u, a, at in rows],
        schema=OBJ_SCHEMA,
        orient="row",
    )  # fmt: skip


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'dir' / 'ledger.sqlite'}"


@pytest.fixture
def ledger(db_url: str) -> ConsentLedger:
    with ConsentLedger(db_url) as led:
        yield led


def test_creates_parent_folder_and_tables(db_url: str, ledger: ConsentLedger) -> None:
    path = Path(db_url.removeprefix("sqlite:///"))
    assert path.exists()
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"notifications", "objections", "import_conflicts"} <= tables
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.high_water_mark() == 0
    assert ledger.notifications().schema == pl.Schema(NOTIF_SCHEMA)
    assert ledger.objections().schema == pl.Schema(
        {**OBJ_SCHEMA, "full_name": pl.String, "phone": pl.String, "handles": pl.String})
    assert ledger.conflicts().height == 0


def test_import_round_trips_exact_types_and_values(ledger: ConsentLedger) -> None:
    n = notifications(("n1", "u1", T), ("n2", "u2", T + timedelta(microseconds=7)))
    o = objections(("s1", "u1", "object", T), ("s2", None, "withdraw", T - timedelta(days=1)))
    assert ledger.import_notifications(n, "notifications/a.jsonl") == ImportResult(2, 0, 0)
    assert ledger.import_objections(o, "objections/a.jsonl") == ImportResult(2, 0, 0)
    assert ledger.notifications().equals(n)
    assert ledger.objections().select(o.columns).equals(o)
    assert ledger.objections().select("full_name", "phone", "handles").null_count().row(0) == (2, 2, 2)


def test_non_user_identifiers_round_trip_and_take_part_in_idempotency(ledger: ConsentLedger) -> None:
    """Rule 8: the optional non-user fields are stored; a re-used id with other identifiers
    is a conflict, never applied."""
    o = objections(("s1", None, "object", T)).with_columns(
        pl.lit("Zoë Müller").alias("full_name"), pl.lit("+49 30 1234567").alias("phone"),
        pl.lit("@zoe_m, @zm").alias("handles"))
    assert ledger.import_objections(o, "objections/a.jsonl") == ImportResult(1, 0, 0)
    assert ledger.import_objections(o, "objections/b.jsonl") == ImportResult(0, 1, 0)
    back = ledger.objections()
    assert back.select("full_name", "phone", "handles").row(0) == ("Zoë Müller", "+49 30 1234567", "@zoe_m, @zm")
    other = o.with_columns(pl.lit("Someone Else").alias("full_name"))
    assert ledger.import_objections(other, "objections/c.jsonl") == ImportResult(0, 0, 1)
    assert ledger.objections()["full_name"].to_list() == ["Zoë Müller"]


def test_a_ledger_from_before_rule_8_is_migrated_in_place(tmp_path: Path) -> None:
    """An existing SQLite ledger without the new columns gets them by ALTER TABLE: its rows
    and its append-only triggers stay."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE objections (submission_id VARCHAR PRIMARY KEY, user_id VARCHAR, email VARCHAR,"
            " action VARCHAR(16) NOT NULL, submitted_at VARCHAR(32) NOT NULL, source TEXT NOT NULL,"
            " seq BIGINT NOT NULL UNIQUE, recorded_at VARCHAR(32) NOT NULL);"
            "INSERT INTO objections VALUES ('s0', 'u1', NULL, 'object', '2025-04-01T12:00:00.000000Z',"
            " 'objections/old.jsonl', 1, '2025-04-01T12:00:00.000000Z');"
            "CREATE TRIGGER objections_no_update BEFORE UPDATE ON objections"
            " BEGIN SELECT RAISE(ABORT, 'consent ledger is append-only'); END;")
    with ConsentLedger(f"sqlite:///{path}") as led:
        old = led.objections()
        assert old["submission_id"].to_list() == ["s0"] and old["full_name"].to_list() == [None]
        new = objections(("s1", None, "object", T)).with_columns(pl.lit("Ann Lee").alias("full_name"))
        assert led.import_objections(new, "objections/new.jsonl") == ImportResult(1, 0, 0)
        assert led.objections()["full_name"].to_list() == [None, "Ann Lee"]
        assert led.high_water_mark() == 2
    with sqlite3.connect(path) as con:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE objections SET full_name = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM objections")


def test_reimport_is_idempotent(ledger: ConsentLedger) -> None:
    n = notifications(*[(f"n{i}", f"u{i % 3}", T - timedelta(hours=i)) for i in range(10)])
    first = ledger.import_notifications(n, "a.jsonl")
    hwm = ledger.high_water_mark()
    assert first == ImportResult(inserted=10, unchanged=0, conflicts=0) and hwm == 10
    again = ledger.import_notifications(n, "b.jsonl")  # same events from another file
    assert again == ImportResult(inserted=0, unchanged=10, conflicts=0)
    assert ledger.high_water_mark() == hwm
    assert ledger.notifications().height == 10
    assert set(ledger.notifications(with_meta=True)["source"]) == {"a.jsonl"}


def test_duplicates_inside_one_batch(ledger: ConsentLedger) -> None:
    o = objections(("s1", "u1", "object", T), ("s1", "u1", "object", T), ("s2", "u2", "object", T))
    assert ledger.import_objections(o, "a") == ImportResult(inserted=2, unchanged=1, conflicts=0)
    clash = objections(("s3", "u3", "object", T), ("s3", "u3", "withdraw", T))
    # the first row of the batch stands, the second is a recorded conflict
    assert ledger.import_objections(clash, "b") == ImportResult(1, 0, 1)
    got = ledger.objections().filter(pl.col("submission_id") == "s3")
    assert got["action"].to_list() == ["object"]
    assert ledger.conflicts()["record_id"].to_list() == ["s3"]


def test_conflicting_reuse_is_recorded_once_and_not_applied(ledger: ConsentLedger) -> None:
    ledger.import_objections(objections(("s1", "u1", "object", T)), "first.jsonl")
    hwm = ledger.high_water_mark()
    reuse = objections(("s1", "u1", "withdraw", T))
    for source in ("second.jsonl", "third.jsonl"):
        assert ledger.import_objections(reuse, source) == ImportResult(0, 0, 1)
    other = objections(("s1", "u9", "object", T))
    assert ledger.import_objections(other, "fourth.jsonl") == ImportResult(0, 0, 1)
    assert ledger.objections()["action"].to_list() == ["object"]  # not applied
    conflicts = ledger.conflicts()
    assert conflicts.height == 2  # once per distinct rejected payload
    assert conflicts["source"].to_list() == ["second.jsonl", "fourth.jsonl"]
    assert conflicts["kind"].to_list() == ["objection", "objection"]
    assert '"action": "object"' in conflicts["existing_payload"][0]
    assert '"action": "withdraw"' in conflicts["rejected_payload"][0]
    assert ledger.high_water_mark() == hwm  # conflicts change no consent state
    # the next event still gets a fresh, larger seq
    ledger.import_objections(objections(("s2", "u2", "object", T)), "fifth.jsonl")
    seqs = ledger.objections(with_meta=True)["seq"].to_list()
    assert seqs == sorted(seqs) and ledger.high_water_mark() == seqs[-1] > hwm


def test_high_water_mark_moves_only_on_insert(ledger: ConsentLedger) -> None:
    marks = [ledger.high_water_mark()]
    batches = [
        notifications(("n1", "u1", T)),
        notifications(("n1", "u1", T)),  # unchanged
        notifications(("n1", "u1", T), channel="in_app"),  # conflict
        notifications(("n2", "u1", T), ("n3", "u2", T)),
    ]
    for b in batches:
        ledger.import_notifications(b, "x")
        marks.append(ledger.high_water_mark())
    ledger.import_objections(objections(("s1", "u1", "object", T)), "y")
    marks.append(ledger.high_water_mark())
    assert marks[0] == 0
    assert marks[1] > marks[0] and marks[2] == marks[1] and marks[3] == marks[2]
    assert marks[4] > marks[3] and marks[5] > marks[4]
    all_seq = sorted(
        ledger.notifications(with_meta=True)["seq"].to_list()
        + ledger.objections(with_meta=True)["seq"].to_list()
        + ledger.conflicts()["seq"].to_list()
    )
    assert all_seq == list(range(1, len(all_seq) + 1))  # one gap-free ledger-wide sequence


def test_replay_at_a_high_water_mark(ledger: ConsentLedger) -> None:
    ledger.import_objections(objections(("s1", "u1", "object", T)), "a")
    ledger.import_notifications(notifications(("n1", "u1", T)), "a")
    pinned = ledger.high_water_mark()
    ledger.import_objections(objections(("s2", "u1", "withdraw", T + timedelta(days=1))), "b")
    ledger.import_notifications(notifications(("n2", "u2", T)), "b")
    assert ledger.objections(up_to_seq=pinned)["submission_id"].to_list() == ["s1"]
    assert ledger.notifications(up_to_seq=pinned)["notification_id"].to_list() == ["n1"]
    assert ledger.objections()["submission_id"].to_list() == ["s1", "s2"]


def test_objections_since_is_a_cursor(ledger: ConsentLedger) -> None:
    ledger.import_objections(objections(("s1", "u1", "object", T)), "a")
    cursor = ledger.high_water_mark()
    assert ledger.objections_since(cursor).height == 0
    ledger.import_notifications(notifications(("n1", "u1", T)), "b")
    ledger.import_objections(objections(("s2", "u2", "object", T), ("s3", None, "object", T)), "c")
    new = ledger.objections_since(cursor)
    assert new["submission_id"].to_list() == ["s2", "s3"]
    assert {"source", "seq", "recorded_at"} <= set(new.columns)
    assert ledger.objections_since(int(new["seq"].max())).height == 0


def test_state_at_t_uses_only_events_at_or_before_t(ledger: ConsentLedger) -> None:
    users = pl.DataFrame(
        [{"user_id": "u1", "birth_date": date(1990, 1, 1), "country": "DE",
          "created_at": datetime(2015, 1, 1, tzinfo=UTC), "deleted_at": None}],
        schema={"user_id": pl.String, "birth_date": pl.Date, "country": pl.String,
                "created_at": TS, "deleted_at": TS},
        orient="row",
    )  # fmt: skip
    ledger.import_notifications(notifications(("n1", "u1", T - timedelta(days=50))), "n")
    ledger.import_objections(
        objections(("s1", "u1", "object", T - timedelta(days=1)),
                   ("s2", "u1", "withdraw", T + timedelta(days=1))),
        "o",
    )  # fmt: skip

    def state_at(t: datetime) -> dict:
        st = consent_state(users, ledger.notifications(), ledger.objections(), as_of=t,
                           policy=Policy(), secret=b"k")  # fmt: skip
        return st.row(0, named=True)

    assert state_at(T)["reason"] == OBJECTED
    assert state_at(T + timedelta(days=2))["eligible"] is True
    assert state_at(T - timedelta(days=2))["objection_action"] is None
    assert state_at(T - timedelta(days=10))["reason"] == "objection_window_open"


def test_durable_across_reopen(db_url: str) -> None:
    led = ConsentLedger(db_url)
    led.import_objections(objections(("s1", "u1", "object", T)), "a")
    led.import_notifications(notifications(("n1", "u1", T)), "a")
    hwm = led.high_water_mark()
    led.close()
    again = ConsentLedger(db_url)
    assert again.high_water_mark() == hwm
    assert again.objections()["submission_id"].to_list() == ["s1"]
    assert again.import_objections(objections(("s1", "u1", "object", T)), "b") == ImportResult(
        0, 1, 0
    )
    again.import_objections(objections(("s2", "u1", "withdraw", T)), "b")
    assert again.high_water_mark() == hwm + 1
    again.close()


def test_timestamps_are_normalised_to_utc_microseconds(ledger: ConsentLedger) -> None:
    local = datetime(2025, 4, 2, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    n = notifications(("n1", "u1", local)).with_columns(
        pl.col("sent_at").dt.convert_time_zone("Europe/Berlin")
    )
    ledger.import_notifications(n, "a")
    assert ledger.notifications()["sent_at"][0] == datetime(
        2025, 4, 1, 23, 30, 0, 123456, tzinfo=UTC
    )
    # the same instant in another zone is the same event, not a conflict
    assert ledger.import_notifications(notifications(("n1", "u1", local)), "b") == ImportResult(
        0, 1, 0
    )


@pytest.mark.parametrize(
    "frame",
    [
        notifications(("n1", "u1", T)).with_columns(pl.col("sent_at").dt.replace_time_zone(None)),
        notifications(("n1", None, T)),  # type: ignore[arg-type]
        notifications((None, "u1", T)),  # type: ignore[arg-type]
        notifications(("n1", "u1", T)).drop("channel"),
    ],
)
def test_invalid_notifications_are_refused_whole(
    ledger: ConsentLedger, frame: pl.DataFrame
) -> None:
    with pytest.raises(ValueError):
        ledger.import_notifications(frame, "bad")
    assert ledger.high_water_mark() == 0


def test_invalid_objection_action_is_refused(ledger: ConsentLedger) -> None:
    with pytest.raises(ValueError, match="action"):
        ledger.import_objections(objections(("s1", "u1", "maybe", T)), "bad")
    assert ledger.import_objections(objections(), "empty") == ImportResult(0, 0, 0)
    with pytest.raises(ValueError, match="source"):
        ledger.import_objections(objections(("s1", "u1", "object", T)), "")


def test_database_refuses_modification(db_url: str, ledger: ConsentLedger) -> None:
    ledger.import_objections(objections(("s1", "u1", "object", T)), "a")
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE objections SET action = 'withdraw'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM objections")
    assert ledger.objections()["action"].to_list() == ["object"]


def test_module_source_has_no_modifying_statement() -> None:
    """The ledger writes only INSERTs; the verbs are mentioned only by the guard triggers."""
    src = Path(ledger_module.__file__).read_text()
    forbidden = [
        r"\bUPDATE\s+\w+\s+SET\b",
        r"\bDELETE\s+FROM\b",
        r"\b(?:sa\.)?(?:update|delete)\s*\(",
        r"\.(?:update|delete|values_update)\s*\(",
        r"on_conflict_do_update",
        r"\b(?:INSERT\s+OR\s+)?REPLACE\s+INTO\b",
        # a TRUNCATE statement (the guard's "BEFORE TRUNCATE ON" is the one allowed mention)
        r"(?<!BEFORE )\bTRUNCATE\s+(?:TABLE\b|ONLY\b|notifications|objections|import_conflicts|\{)",
        r"\bDROP\b",
    ]
    for pattern in forbidden:
        assert not re.search(pattern, src, flags=re.IGNORECASE), pattern


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, db_url: str) -> str:
    """The SQLite file, or a fresh database on the session's local PostgreSQL server."""
    if request.param == "sqlite":
        return db_url
    from tests.postgres_server import fresh_database

    return fresh_database(request.getfixturevalue("postgres_url"), f"ledger_concurrent_{id(request)}")


def test_concurrent_imports_are_serialised(any_db_url: str) -> None:
    """Overlapping batches from several threads: each id once, seq gap-free (SQLite and PostgreSQL)."""
    db_url = any_db_url
    batches = [
        objections(*[(f"s{j}", f"u{j % 7}", "object", T) for j in range(i * 50, i * 50 + 150)])
        for i in range(4)
    ]
    results: list[ImportResult] = []
    errors: list[BaseException] = []

    def worker(df: pl.DataFrame, name: str) -> None:
        try:
            led = ConsentLedger(db_url)
            results.append(led.import_objections(df, name))
            led.close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(b, f"t{i}")) for i, b in enumerate(batches)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    led = ConsentLedger(db_url)
    got = led.objections(with_meta=True)
    assert got.height == 300 and got["submission_id"].n_unique() == 300
    assert sorted(got["seq"].to_list()) == list(range(1, 301))
    assert sum(r.inserted for r in results) == 300
    assert sum(r.unchanged for r in results) == 600 - 300
    led.close()


def test_in_memory_url() -> None:
    led = ConsentLedger("sqlite://")
    led.import_notifications(notifications(("n1", "u1", T)), "a")
    assert led.notifications().height == 1 and led.high_water_mark() == 1


def test_postgres_guard_refuses_truncate_too() -> None:
    """Row triggers do not fire on TRUNCATE: every table also has a statement-level guard."""
    function, triggers = ledger_module.postgres_guard_ddl()
    assert "RAISE EXCEPTION" in function and "append-only" in function
    for table in ("notifications", "objections", "import_conflicts"):
        ddl = {name: sql for name, t, sql in triggers if t == table}
        assert f"BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW" in ddl[f"{table}_append_only"]
        assert f"BEFORE TRUNCATE ON {table} FOR EACH STATEMENT" in ddl[f"{table}_no_truncate"]


def test_postgres_url_uses_psycopg3() -> None:
    """A plain `postgresql://` URL is driven by psycopg 3 (the dependency), not psycopg2."""
    import psycopg  # noqa: F401 - the dependency is installed

    with pytest.raises(Exception) as refused:  # no server at port 1: the driver is tried, not missing
        ConsentLedger("postgresql://u:pw@127.0.0.1:1/x")
    assert "psycopg2" not in str(refused.value) and "No module" not in str(refused.value)


def test_postgres_refuses_update_delete_truncate(postgres_url: str) -> None:
    """Against a real server: the ledger's rows cannot be changed or removed, even by TRUNCATE."""
    import sqlalchemy as sa

    from tests.postgres_server import fresh_database

    url = fresh_database(postgres_url, "ledger_guard")
    with ConsentLedger(url) as led:
        led.import_objections(objections(("s1", "u1", "object", T)), "a")
        led.import_notifications(notifications(("n1", "u1", T)), "a")
        led.import_objections(objections(("s1", "u1", "withdraw", T)), "b")  # a conflict row
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    statements = [f"{verb} {table}" for table in ("objections", "notifications", "import_conflicts")
                  for verb in ("UPDATE", "DELETE", "TRUNCATE")]
    for statement in statements:
        sql = {"UPDATE": "UPDATE {t} SET source = 'x'", "DELETE": "DELETE FROM {t}",
               "TRUNCATE": "TRUNCATE {t}"}[statement.split()[0]].format(t=statement.split()[1])
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(sql)
    # An older ledger without the TRUNCATE guard gets it when it is next opened.
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER objections_no_truncate ON objections")
    ConsentLedger(url).close()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE objections")
    engine.dispose()
    with ConsentLedger(url) as led:
        assert led.objections()["submission_id"].to_list() == ["s1"]
        assert led.notifications()["notification_id"].to_list() == ["n1"]
