"""The durable, append-only consent ledger (DESIGN.md, "The consent ledger").

Notifications and objection-form submissions are imported as immutable events. Import
is idempotent by id: the same event imported twice is a no-op, and an id re-used with
a different payload is *not* applied but recorded in `import_conflicts` for the privacy
team. No statement in this module modifies or removes a row, and the SQLite/PostgreSQL
schema carries triggers that refuse such statements from anyone else.

Every stored row gets `seq` from one ledger-wide, gap-free, increasing sequence. The
high-water mark (largest event `seq`) pins a ledger state: a corpus records it, and
`notifications(up_to_seq=...)` / `objections(up_to_seq=...)` replay exactly that state.
Imports are serialised (SQLite `BEGIN IMMEDIATE`; a PostgreSQL advisory lock) so a
reader never sees a later `seq` commit before an earlier one — a cursor over `seq`
(`objections_since`) therefore never misses a row.

Timestamps are stored as fixed-width ISO-8601 UTC text (`2025-04-01T12:00:00.000000Z`):
exact to the microsecond, sortable, portable across both databases, readable by a DPO.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

UTC_TS = pl.Datetime("us", "UTC")
ISO_FORMAT_OUT = "%Y-%m-%dT%H:%M:%S%.6fZ"
ISO_FORMAT_IN = "%Y-%m-%dT%H:%M:%S%.fZ"
ACTIONS: tuple[str, ...] = ("object", "withdraw")
_CHUNK = 500  # ids per IN (...) lookup: well under SQLite's bound-parameter limit
_PG_LOCK_KEY = 0x636F6E73656E74  # "consent": one advisory lock serialises ledger writers
_APPEND_ONLY = "consent ledger is append-only"

NOTIFICATION_SCHEMA: dict[str, pl.DataType] = {
    "notification_id": pl.String(),
    "user_id": pl.String(),
    "channel": pl.String(),
    "sent_at": UTC_TS,
}
OBJECTION_SCHEMA: dict[str, pl.DataType] = {
    "submission_id": pl.String(),
    "user_id": pl.String(),
    "email": pl.String(),
    "action": pl.String(),
    "submitted_at": UTC_TS,
    "full_name": pl.String(),
    "phone": pl.String(),
    "handles": pl.String(),
}
NON_USER_FIELDS: tuple[str, ...] = ("full_name", "phone", "handles")
"""Optional objection fields (rule 8), added to ledgers created before them by `ALTER TABLE`."""
META_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "seq": pl.Int64(),
    "recorded_at": UTC_TS,
}
CONFLICT_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "kind": pl.String(),
    "record_id": pl.String(),
    "source": pl.String(),
    "existing_payload": pl.String(),
    "rejected_payload": pl.String(),
    "recorded_at": UTC_TS,
}

metadata = sa.MetaData()

notifications_table = sa.Table(
    "notifications",
    metadata,
    sa.Column("notification_id", sa.String, primary_key=True),
    sa.Column("user_id", sa.String, nullable=False, index=True),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("sent_at", sa.String(32), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    sa.Column("recorded_at", sa.String(32), nullable=False),
)

objections_table = sa.Table(
    "objections",
    metadata,
    sa.Column("submission_id", sa.String, primary_key=True),
    sa.Column("user_id", sa.String, nullable=True, index=True),
    sa.Column("email", sa.String, nullable=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("submitted_at", sa.String(32), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("full_name", sa.Text, nullable=True),
    sa.Column("phone", sa.String, nullable=True),
    sa.Column("handles", sa.Text, nullable=True),
    sa.CheckConstraint("action IN ('object', 'withdraw')", name="ck_objections_action"),
)

conflicts_table = sa.Table(
    "import_conflicts",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("record_id", sa.String, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("existing_payload", sa.Text, nullable=False),
    sa.Column("rejected_payload", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("kind", "record_id", "rejected_payload", name="uq_conflict_payload"),
)

_LEDGER_TABLES = (notifications_table, objections_table, conflicts_table)


@dataclass(frozen=True)
class ImportResult:
    """Per-row outcome of one import: `inserted + unchanged + conflicts == rows read`.

    `conflicts` counts rows whose id already stands for another payload; each distinct
    rejected payload is recorded once in `import_conflicts`, however often it recurs.
    """

    inserted: int
    unchanged: int
    conflicts: int

    @property
    def total(self) -> int:
        return self.inserted + self.unchanged + self.conflicts


@dataclass(frozen=True)
class _Kind:
    """What differs between the two event tables."""

    name: str
    table: sa.Table
    id_col: str
    payload_cols: tuple[str, ...]
    ts_col: str
    schema: dict[str, pl.DataType]
    nullable: frozenset[str]
    optional: tuple[str, ...] = ()  # columns a frame may lack (read as null)


_NOTIFICATION = _Kind(
    name="notification",
    table=notifications_table,
    id_col="notification_id",
    payload_cols=("user_id", "channel", "sent_at"),
    ts_col="sent_at",
    schema=NOTIFICATION_SCHEMA,
    nullable=frozenset(),
)
_OBJECTION = _Kind(
    name="objection",
    table=objections_table,
    id_col="submission_id",
    payload_cols=("user_id", "email", "action", "submitted_at", *NON_USER_FIELDS),
    ts_col="submitted_at",
    schema=OBJECTION_SCHEMA,
    nullable=frozenset({"user_id", "email", *NON_USER_FIELDS}),
    optional=NON_USER_FIELDS,
)


def postgres_guard_ddl() -> tuple[str, list[tuple[str, str, str]]]:
    """The PostgreSQL guard: one trigger function, and per table (trigger, table, CREATE TRIGGER).

    Row-level BEFORE UPDATE OR DELETE triggers do not fire on TRUNCATE, so every table also
    gets a statement-level BEFORE TRUNCATE trigger.
    """
    function = (
        "CREATE OR REPLACE FUNCTION consentry_ledger_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION USING MESSAGE = '{_APPEND_ONLY}: ' || TG_OP || ' refused'; END $$"
    )
    triggers = []
    for table in _LEDGER_TABLES:
        triggers.append((f"{table.name}_append_only", table.name,
                         f"CREATE TRIGGER {table.name}_append_only BEFORE UPDATE OR DELETE ON {table.name} "
                         "FOR EACH ROW EXECUTE FUNCTION consentry_ledger_append_only()"))
        triggers.append((f"{table.name}_no_truncate", table.name,
                         f"CREATE TRIGGER {table.name}_no_truncate BEFORE TRUNCATE ON {table.name} "
                         "FOR EACH STATEMENT EXECUTE FUNCTION consentry_ledger_append_only()"))
    return function, triggers


def redacted_url(url: str) -> str:
    """A database URL without user, password or query (which may carry one): safe for metadata."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as nothing rather than leaked
        return "<unparsable database URL>"
    bare = sa.engine.URL.create(parsed.drivername, host=parsed.host, port=parsed.port, database=parsed.database)
    return bare.render_as_string(hide_password=True)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _payload_json(kind: _Kind, payload: Sequence[str | None]) -> str:
    """Canonical JSON of a payload, so equal payloads compare (and dedupe) equal.

    Optional fields that are null are left out, so a conflict recorded before those fields
    existed has the same JSON as the same payload now."""
    pairs = dict(zip(kind.payload_cols, payload, strict=True))
    return json.dumps({k: v for k, v in pairs.items() if not (k in kind.optional and v is None)}, sort_keys=True)


class ConsentLedger:
    """Append-only event store for notifications and objections (SQLAlchemy Core).

    `url`: `sqlite:///path/ledger.sqlite` (parent folder created, WAL mode) or a
    `postgresql://...` URL (driven by psycopg 3). Tables and guards are created if missing.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self._dialect = parsed.get_backend_name()
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the dependency
        kwargs: dict[str, Any] = {}
        if self._dialect == "sqlite":
            database = parsed.database or ""
            memory = database in ("", ":memory:") or "mode=memory" in database
            if memory:
                # One shared connection, or every checkout would see a fresh empty DB.
                kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
            elif not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("connect_args", {}).setdefault("timeout", 60)
        self._engine: Engine = sa.create_engine(parsed, **kwargs)
        if self._dialect == "sqlite":
            self._install_sqlite_hooks(memory)
        self._create_schema()

    # -- connection plumbing -------------------------------------------------------------

    def _install_sqlite_hooks(self, memory: bool) -> None:
        """Take over pysqlite's transaction handling so writes use BEGIN IMMEDIATE.

        A deferred BEGIN would let two importers both read max(seq) and then collide;
        IMMEDIATE takes the write lock up front and the busy timeout makes the second
        importer wait instead of failing.
        """

        @sa.event.listens_for(self._engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @sa.event.listens_for(self._engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("consentry_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One serialised write transaction (all or nothing)."""
        with self._engine.connect() as raw:
            conn = raw.execution_options(consentry_write=True)
            with conn.begin():
                if self._dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot across several SELECTs."""
        with self._engine.connect() as conn, conn.begin():
            if self._dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield conn

    def _create_schema(self) -> None:
        with self._write() as conn:
            metadata.create_all(conn, checkfirst=True)
            self._add_missing_columns(conn)
            self._create_guards(conn)

    @staticmethod
    def _add_missing_columns(conn: Connection) -> None:
        """Migrate a ledger created before the optional objection fields: add each as a
        nullable column (`ALTER TABLE ... ADD COLUMN` changes no row and keeps the
        append-only triggers; old rows read as null)."""
        present = {c["name"] for c in sa.inspect(conn).get_columns(objections_table.name)}
        for name in NON_USER_FIELDS:
            if name not in present:
                column = objections_table.c[name]
                ddl = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {objections_table.name} ADD COLUMN {name} {ddl}")

    def _create_guards(self, conn: Connection) -> None:
        """Database-level refusal of row modification/removal on every ledger table."""
        if self._dialect == "sqlite":
            # SQLite has no TRUNCATE; a DELETE trigger also disables its truncate optimisation.
            for table in _LEDGER_TABLES:
                for event in ("UPDATE", "DELETE"):
                    conn.exec_driver_sql(
                        f"CREATE TRIGGER IF NOT EXISTS {table.name}_no_{event.lower()} "
                        f"BEFORE {event} ON {table.name} "
                        f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
                    )
        elif self._dialect == "postgresql":
            function, triggers = postgres_guard_ddl()
            conn.exec_driver_sql(function)
            for name, table, ddl in triggers:
                exists = conn.execute(
                    sa.text(
                        "SELECT 1 FROM pg_trigger WHERE tgname = :n "
                        "AND tgrelid = CAST(:t AS regclass)"
                    ),
                    {"n": name, "t": table},
                ).first()
                if exists is None:  # a ledger created before a guard existed gets it now
                    conn.exec_driver_sql(ddl)

    def close(self) -> None:
        """Release pooled connections (the data is already durable)."""
        self._engine.dispose()

    def __enter__(self) -> ConsentLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- imports -------------------------------------------------------------------------

    def import_notifications(self, df: pl.DataFrame, source: str) -> ImportResult:
        """Append notifications not seen before; idempotent by `notification_id`."""
        return self._import(_NOTIFICATION, df, source)

    def import_objections(self, df: pl.DataFrame, source: str) -> ImportResult:
        """Append objection-form submissions not seen before; idempotent by `submission_id`."""
        return self._import(_OBJECTION, df, source)

    @staticmethod
    def _normalise(kind: _Kind, df: pl.DataFrame) -> list[tuple[str, tuple[str | None, ...]]]:
        """Validate and turn rows into (id, payload) with timestamps as ISO UTC text.

        The ingest layer quarantines bad records before this point, so a violation here
        is a programming error and fails the whole import rather than being skipped.
        """
        if isinstance(df, pl.LazyFrame):
            df = df.collect()
        cols = [kind.id_col, *kind.payload_cols]
        absent = [c for c in kind.optional if c not in df.columns]
        if absent:
            df = df.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{kind.name} frame lacks columns {missing}")
        ts_dtype = df.schema[kind.ts_col]
        if df.height and (not isinstance(ts_dtype, pl.Datetime) or ts_dtype.time_zone is None):
            raise ValueError(f"{kind.name}.{kind.ts_col} must be a timezone-aware Datetime")
        exprs: list[pl.Expr] = []
        for c in cols:
            if c == kind.ts_col:
                if df.height:
                    e = pl.col(c).dt.convert_time_zone("UTC").dt.strftime(ISO_FORMAT_OUT)
                else:
                    e = pl.col(c).cast(pl.String)
                exprs.append(e)
            else:
                exprs.append(pl.col(c).cast(pl.String))
        norm = df.select(exprs)
        for c in cols:
            if c not in kind.nullable and norm[c].null_count():
                raise ValueError(f"{kind.name} rows with null {c}: {norm[c].null_count()}")
        if "action" in norm.columns:
            bad = norm.filter(~pl.col("action").is_in(list(ACTIONS)))
            if bad.height:
                raise ValueError(
                    f"objection actions outside {ACTIONS}: {bad['action'].unique().to_list()}"
                )
        return [(row[0], tuple(row[1:])) for row in norm.iter_rows()]

    def _import(self, kind: _Kind, df: pl.DataFrame, source: str) -> ImportResult:
        if not source:
            raise ValueError("source must name where the rows came from (e.g. the file)")
        rows = self._normalise(kind, df)
        if not rows:
            return ImportResult(0, 0, 0)
        ids = list(dict.fromkeys(r[0] for r in rows))
        id_col = kind.table.c[kind.id_col]
        payload_cols = [kind.table.c[c] for c in kind.payload_cols]
        recorded_at = _now_iso()
        with self._write() as conn:
            existing: dict[str, tuple[str | None, ...]] = {}
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                for rec in conn.execute(sa.select(id_col, *payload_cols).where(id_col.in_(chunk))):
                    existing[rec[0]] = tuple(rec[1:])
            known_conflicts: set[tuple[str, str]] = set()
            c_id = conflicts_table.c.record_id
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                q = sa.select(c_id, conflicts_table.c.rejected_payload).where(
                    conflicts_table.c.kind == kind.name, c_id.in_(chunk)
                )
                known_conflicts |= {(r[0], r[1]) for r in conn.execute(q)}

            fresh: dict[str, tuple[str | None, ...]] = {}  # first payload per new id, in order
            new_conflicts: dict[tuple[str, str], str] = {}  # (id, rejected) -> existing json
            unchanged = conflicts = 0
            for rid, payload in rows:
                standing = existing.get(rid, fresh.get(rid))
                if standing is None:
                    fresh[rid] = payload
                elif standing == payload:
                    unchanged += 1
                else:
                    conflicts += 1
                    key = (rid, _payload_json(kind, payload))
                    if key not in known_conflicts and key not in new_conflicts:
                        new_conflicts[key] = _payload_json(kind, standing)

            seq = self._max_seq(conn, include_conflicts=True)
            if fresh:
                values = []
                for rid, payload in fresh.items():
                    seq += 1
                    values.append(
                        {
                            kind.id_col: rid,
                            **dict(zip(kind.payload_cols, payload, strict=True)),
                            "source": source,
                            "seq": seq,
                            "recorded_at": recorded_at,
                        }
                    )
                conn.execute(kind.table.insert(), values)
            if new_conflicts:
                values = []
                for (rid, rejected), standing_json in new_conflicts.items():
                    seq += 1
                    values.append(
                        {
                            "seq": seq,
                            "kind": kind.name,
                            "record_id": rid,
                            "source": source,
                            "existing_payload": standing_json,
                            "rejected_payload": rejected,
                            "recorded_at": recorded_at,
                        }
                    )
                conn.execute(conflicts_table.insert(), values)
        return ImportResult(inserted=len(fresh), unchanged=unchanged, conflicts=conflicts)

    # -- reads ---------------------------------------------------------------------------

    @staticmethod
    def _max_seq(conn: Connection, *, include_conflicts: bool) -> int:
        tables = _LEDGER_TABLES if include_conflicts else (notifications_table, objections_table)
        best = 0
        for t in tables:
            value = conn.execute(sa.select(sa.func.max(t.c.seq))).scalar()
            best = max(best, int(value or 0))
        return best

    def high_water_mark(self) -> int:
        """Largest `seq` of any notification/objection event (0 for an empty ledger).

        Recorded conflicts do not move it: they change no consent state.
        """
        with self._read() as conn:
            return self._max_seq(conn, include_conflicts=False)

    def _events(
        self,
        kind: _Kind,
        *,
        up_to_seq: int | None = None,
        after_seq: int | None = None,
        with_meta: bool = False,
    ) -> pl.DataFrame:
        t = kind.table
        q = sa.select(*(t.c[c] for c in kind.schema), t.c.source, t.c.seq, t.c.recorded_at)
        if up_to_seq is not None:
            q = q.where(t.c.seq <= up_to_seq)
        if after_seq is not None:
            q = q.where(t.c.seq > after_seq)
        with self._read() as conn:
            records = conn.execute(q.order_by(t.c.seq)).all()
        names = [*kind.schema, "source", "seq", "recorded_at"]
        raw = pl.DataFrame(
            [list(r) for r in records],
            schema={n: (pl.Int64 if n == "seq" else pl.String) for n in names},
            orient="row",
        )
        frame = raw.with_columns(
            pl.col(kind.ts_col).str.to_datetime(ISO_FORMAT_IN, time_unit="us", time_zone="UTC"),
            pl.col("recorded_at").str.to_datetime(ISO_FORMAT_IN, time_unit="us", time_zone="UTC"),
        )
        cols = [*kind.schema, *META_SCHEMA] if with_meta else list(kind.schema)
        return frame.select(cols).cast({**kind.schema, **META_SCHEMA} if with_meta else kind.schema)

    def notifications(
        self, up_to_seq: int | None = None, *, with_meta: bool = False
    ) -> pl.DataFrame:
        """Notification events with `seq <= up_to_seq` (all when None), in `seq` order.

        Columns are exactly the ingest frame's; `with_meta` adds `source`, `seq`,
        `recorded_at`.
        """
        return self._events(_NOTIFICATION, up_to_seq=up_to_seq, with_meta=with_meta)

    def objections(self, up_to_seq: int | None = None, *, with_meta: bool = False) -> pl.DataFrame:
        """Objection events with `seq <= up_to_seq` (all when None), in `seq` order."""
        return self._events(_OBJECTION, up_to_seq=up_to_seq, with_meta=with_meta)

    def objections_since(self, seq: int) -> pl.DataFrame:
        """Objections recorded after `seq`, with `source`, `seq`, `recorded_at`: a sensor
        keeps the largest `seq` it has seen as its cursor."""
        return self._events(_OBJECTION, after_seq=seq, with_meta=True)

    def conflicts(self) -> pl.DataFrame:
        """Every rejected re-use of an id, with the payload that stands and the one that
        was refused (JSON text)."""
        t = conflicts_table
        with self._read() as conn:
            records = conn.execute(
                sa.select(*(t.c[c] for c in CONFLICT_SCHEMA)).order_by(t.c.seq)
            ).all()
        raw = pl.DataFrame(
            [list(r) for r in records],
            schema={n: (pl.Int64 if n == "seq" else pl.String) for n in CONFLICT_SCHEMA},
            orient="row",
        )
        return raw.with_columns(
            pl.col("recorded_at").str.to_datetime(ISO_FORMAT_IN, time_unit="us", time_zone="UTC")
        )
