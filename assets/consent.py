"""Consent stage: import notifications and objections into the ledger, derive consent state.

The ledger (SQLite or PostgreSQL) is the durable record; the `consent_ledger` asset is
the import run and a Parquet snapshot of the events for the UI. `consent_state` fixes
the as-of time T that every corpus partition built from it carries.
"""


from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import column_schema, counts_by, markdown_preview, pseudonymised, table
from assets.raw import QUARANTINE_COLUMNS
from curation import contract as c
from curation.eligibility import STATE_SCHEMA
from curation.eligibility import consent_state as derive_consent_state
from curation.ingest import empty_quarantine, ingest, list_record_files
from curation.keyfile import GENERATED, KEY_ENV
from resources import AuthorKeySecret, LandingZone, LedgerResource, PolicyResource

OWNER = "team:privacy"

LEDGER_EVENT_COLUMNS = {
    "event_type": "notification or objection.",
    "event_id": "notification_id or submission_id (the idempotency key).",
    "user_id": "The user concerned (null for an objection filed by a non-user).",
    "value": "Channel (in_app, email) or action (object, withdraw).",
    "at": "When it was sent or submitted (UTC).",
}
LEDGER_EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "event_type": pl.String(),
    "event_id": pl.String(),
    "user_id": pl.String(),
    "value": pl.String(),
    "at": pl.Datetime("us", "UTC"),
}

STATE_COLUMNS = {
    "user_id": "Platform user id (consent_state is internal; corpora carry only author_key).",
    "author_key": "Keyed hash (HMAC-SHA256) of user_id; the key is a secret from the environment.",
    "country": "Country of the user snapshot; decides whether the notice rule applies.",
    "birth_date": "Birth date, or null (then the person is excluded as age_unknown).",
    "account_deleted_at": "When the account was deleted, or null.",
    "notified_at": "Earliest notification at or before T, or null.",
    "objection_action": "Latest ledger action (object/withdraw) at or before T, or null.",
    "eligible": "True when every author-level rule (3, 4, 6, 7) passes at T.",
    "reason": "First failing author-level reason code, or null.",
    "as_of": "The as-of time T of this state.",
    "objections_as_of": "Cut-off for objections (T here; 'now' when a check re-derives).",
    "policy_version": "Hash of the policy values that built this state.",
    "ledger_high_water_mark": "Ledger sequence number this state saw.",
}


def run_start(context: dg.AssetExecutionContext) -> datetime:
    """The run's start time (T's default); now, when the instance has no start recorded."""
    record = context.instance.get_run_record_by_id(context.run_id)
    if record is not None and record.start_time:
        return datetime.fromtimestamp(record.start_time, tz=UTC)
    return datetime.now(UTC)


def _ingest_folder(landing: LandingZone, rtype: c.RecordType) -> tuple[list, pl.DataFrame, int]:
    """Ingest each file of a ledger folder on its own, so the ledger knows each event's file."""
    batches = []
    quarantines = [empty_quarantine()]
    read = 0
    for path in list_record_files(landing.path(rtype.folder)):
        result = ingest([path], rtype, max_bytes=landing.max_file_bytes)
        batches.append((path.name, result.valid.drop("source_file", "source_line")))
        quarantines.append(result.quarantine)
        read += result.read
    return batches, pl.concat(quarantines), read


@dg.multi_asset(
    outs={
        "consent_ledger": dg.AssetOut(
            description=(
                "Notifications and objection-form submissions imported into the append-only "
                "consent ledger (idempotent by notification_id / submission_id; a re-used id "
                "with a different payload is recorded as a conflict, never applied). The "
                "value is a snapshot of every ledger event for inspection."),
            group_name="consent", kinds={"polars", "parquet", "sqlite"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(LEDGER_EVENTS_SCHEMA, LEDGER_EVENT_COLUMNS)},
        ),
        "ledger_quarantine": dg.AssetOut(
            description="Notification and objection records that broke the landing contract.",
            group_name="consent", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(c.QUARANTINE_SCHEMA, QUARANTINE_COLUMNS)},
        ),
    },
)
def consent_ledger(context: dg.AssetExecutionContext, landing: LandingZone, ledger: LedgerResource,
                   author_key: AuthorKeySecret):
    """Import every landing file of `notifications/` and `objections/` into the ledger."""
    store = ledger.open()
    totals = {"inserted": 0, "unchanged": 0, "conflicts": 0}
    quarantines = []
    read = 0
    for rtype, importer in ((c.NOTIFICATIONS, store.import_notifications),
                            (c.OBJECTIONS, store.import_objections)):
        batches, quarantine, n = _ingest_folder(landing, rtype)
        quarantines.append(quarantine)
        read += n
        for source, frame in batches:
            result = importer(frame, source=f"{rtype.folder}/{source}")
            totals["inserted"] += result.inserted
            totals["unchanged"] += result.unchanged
            totals["conflicts"] += result.conflicts
    notifications = store.notifications()
    objections = store.objections()
    events = pl.concat([
        notifications.select(pl.lit("notification").alias("event_type"), pl.col("notification_id").alias("event_id"),
                             "user_id", pl.col("channel").alias("value"), pl.col("sent_at").alias("at")),
        objections.select(pl.lit("objection").alias("event_type"), pl.col("submission_id").alias("event_id"),
                          "user_id", pl.col("action").alias("value"), pl.col("submitted_at").alias("at")),
    ]).sort("at")
    quarantine = pl.concat(quarantines)
    conflicts = store.conflicts()
    yield dg.Output(events, output_name="consent_ledger", metadata={
        "dagster/row_count": events.height,
        "ledger": ledger.display_url,  # never the credentials of a database URL
        "ledger_high_water_mark": store.high_water_mark(),
        "records_read": read,
        "events_inserted": totals["inserted"],
        "events_already_present": totals["unchanged"],
        "id_conflicts_refused": totals["conflicts"],
        "conflicts_recorded_total": conflicts.height,
        "notifications": notifications.height,
        "objections": objections.height,
        "objections_by_action": counts_by(objections, "action"),
        "notifications_by_channel": counts_by(notifications, "channel"),
        "preview": markdown_preview(pseudonymised(events.tail(5), "user_id", author_key.key())),
    })
    yield dg.Output(quarantine, output_name="ledger_quarantine", metadata={
        "dagster/row_count": quarantine.height,
        **{f"quarantined_{reason}": int(n) for reason, n in counts_by(quarantine, "reason").items()},
    })


@dg.asset(
    description=(
        "One row per user of the snapshot: eligible or the first failing author-level "
        "reason (rules 3, 4, 6, 7) as of T, the keyed `author_key`, the policy version "
        "and the ledger high-water mark it saw. T is the run's start unless pinned "
        "(resource `policy`, `as_of`)."),
    group_name="consent", kinds={"polars", "parquet"}, owners=[OWNER],
    deps=["consent_ledger"],
    metadata={"dagster/column_schema": column_schema(
        {**STATE_SCHEMA, "policy_version": pl.String(), "ledger_high_water_mark": pl.Int64()}, STATE_COLUMNS)},
)
def consent_state(context: dg.AssetExecutionContext, raw_users: pl.LazyFrame, ledger: LedgerResource,
                  policy: PolicyResource, author_key: AuthorKeySecret) -> dg.Output[pl.DataFrame]:
    """Derive every user's author-level eligibility from the snapshot and the ledger at T."""
    key = author_key.describe()
    if key["origin"] == GENERATED:
        context.log.info(
            f"author_key: this installation's generated key (fingerprint {key['fingerprint']}, file "
            f"{author_key.key_file}); set {KEY_ENV} to share one key across machines.")
    store = ledger.open()
    high_water_mark = store.high_water_mark()
    rules = policy.policy()
    started = run_start(context)
    as_of = policy.as_of_time(started)
    # A pinned T reproduces every time-based rule, but never resurrects an objector: objections
    # count up to the build itself, exactly as the blocking check counts them up to "now".
    state = derive_consent_state(
        raw_users.collect(),
        store.notifications(up_to_seq=high_water_mark),
        store.objections(up_to_seq=high_water_mark),
        as_of=as_of, policy=rules, secret=author_key.key(), objections_as_of=max(as_of, started),
    ).with_columns(
        pl.lit(rules.version).alias("policy_version"),
        pl.lit(high_water_mark, pl.Int64).alias("ledger_high_water_mark"),
    )
    by_reason = state.group_by("reason").len("users").sort("users", descending=True)
    return dg.Output(state, metadata={
        "dagster/row_count": state.height,
        "eligible_users": int(state["eligible"].sum()),
        "excluded_users": int((~state["eligible"]).sum()),
        "users_by_reason": table(by_reason.with_columns(pl.col("reason").fill_null("eligible"))),
        "as_of": as_of.isoformat(),
        "as_of_pinned": bool(policy.as_of),
        "objections_counted_up_to": max(as_of, started).isoformat(),
        "policy_version": rules.version,
        "policy": dg.MetadataValue.json(rules.to_dict()),
        "ledger_high_water_mark": high_water_mark,
        "author_key_origin": key["origin"],
        "author_key_fingerprint": key["fingerprint"],
    })


pending_purges = dg.AssetSpec(
    "pending_purges",
    description=(
        "Objections in the ledger that no successful build applies yet, with the corpus days "
        "still holding the person's words. Recorded by `objection_sensor` (an observation each "
        "time the pending set changes; no user id, only submission ids and days). Empty means "
        "every objection is applied; the next release enforces them anyway at its cut."),
    group_name="consent", kinds={"sensor"}, owners=[OWNER],
    metadata={"dagster/column_schema": column_schema(
        {"submission_id": pl.String(), "seq": pl.Int64(), "days": pl.String(), "days_pending": pl.UInt32(),
         "pending_minutes": pl.Float64()},
        {"submission_id": "The objection's submission id (never the user id).",
         "seq": "Its ledger seq: a day's build applies it once built from a consent state that saw this seq.",
         "days": "Corpus days still holding the person's words (own rows and copies).",
         "days_pending": "How many.", "pending_minutes": "Minutes since it reached the ledger."}),
        # An observed asset has no body to point at: link the code that decides what is pending.
        "dagster/code_references": dg.CodeReferencesMetadataValue(code_references=[dg.LocalFileCodeReference(
            file_path=str(Path(__file__).resolve().parents[1] / "automation" / "purges.py"), line_number=1,
            label="automation/purges.py (recorded by objection_sensor)")])},
)
