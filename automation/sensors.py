"""Sensors and the schedule: new landing files, new objections, failed checks and runs.

All start RUNNING, so a `dagster dev` (or daemon) picks them up without a click; the
README says how to stop or start them in the UI.
"""

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from assets.metadata import table
from assets.partitions import DAILY
from automation.jobs import (
    consent_refresh_job,
    daily_consent_content_job,
    daily_content_job,
    daily_full_job,
    purge_job,
    purge_release_job,
)
from automation.landing import (
    FileCursor,
    LandedFile,
    author_days,
    batch_key,
    built_days,
    corpus_texts,
    group_new_files,
    list_landed_files,
    mention_index,
)
from automation.purges import PurgePlan, non_user_scope, plan_purges
from automation.run_health import fail_dead_runs
from checks.gate import latest_materialization_records, run_partitions
from curation.eligibility import author_keys
from curation.ledger import ConsentLedger
from curation.mentions import mention_subject
from curation.stale_days import stale_days
from resources import AuthorKeySecret, DataStore, LandingZone, LedgerResource, PurgeSettings
from resources.alerts import AlertSink

SENSOR_INTERVAL_SECONDS = 15
# An objection takes three ticks to reach a release (refresh, purge, cut): each tick is cheap
# (new ledger events, the latest build per affected day), so this sensor looks more often.
OBJECTION_INTERVAL_SECONDS = 5
PENDING_PURGES = dg.AssetKey("pending_purges")
MAX_TAG_LENGTH = 4000


def _run_start(instance: dg.DagsterInstance, run_id: str, cache: dict[str, float]) -> float:
    if run_id not in cache:
        records = instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]), limit=1)
        cache[run_id] = (records[0].start_time or 0.0) if records else 0.0
    return cache[run_id]


def files_already_built(instance: dg.DagsterInstance, files: list[LandedFile]) -> set[str]:
    """Files older than the start of the run that last built what they feed: the day's
    `raw_content`, or `raw_users` / `consent_ledger` for users and consent files."""
    by_day, consent, _ = group_new_files(files)
    mtimes = {f.path: f.mtime for f in files}
    starts: dict[str, float] = {}
    built: set[str] = set()
    for day, record in latest_materialization_records(instance, dg.AssetKey("raw_content"), by_day).items():
        start = _run_start(instance, record.run_id, starts)
        built |= {p for p in by_day[day] if mtimes[p] < start}
    for path in consent:
        asset = "raw_users" if path.startswith("users/") else "consent_ledger"
        latest = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
        if latest and mtimes[path] < _run_start(instance, latest[0].run_id, starts):
            built.add(path)
    return built


@dg.sensor(
    name="landing_zone_sensor",
    jobs=[daily_content_job, daily_consent_content_job, consent_refresh_job],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=("New content files → one run per UTC day they belong to; new users, notification "
                 "or objection files → one consent refresh. Each file is requested once."),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    cursor = FileCursor.parse(context.cursor)
    new, advanced = cursor.new_files(list_landed_files(landing.path()))
    if not context.cursor:
        # First tick of a new daemon (e.g. `make ui` after `make run`): files an earlier build
        # already read are not new.
        built = files_already_built(context.instance, new)
        new = [f for f in new if f.path not in built]
    if not new:
        return dg.SensorResult(cursor=advanced.dump(), skip_reason="no new landing files")
    by_day, consent, unknown = group_new_files(new)
    valid_days = set(DAILY.get_partition_keys())
    # A day judged before its users and consent are imported would be judged on stale state:
    # when both arrive in one tick, each day's run refreshes consent first (imports are idempotent).
    content_job = daily_consent_content_job if consent else daily_content_job
    requests: list[dg.RunRequest] = []
    for day, paths in sorted(by_day.items()):
        if day not in valid_days:
            context.log.warning(f"content for {day} is outside the partitions {DAILY.start:%Y-%m-%d}…: "
                                f"{len(paths)} files not requested")
            continue
        requests.append(dg.RunRequest(
            run_key=batch_key(f"content:{day}", paths + consent), job_name=content_job.name, partition_key=day,
            tags={"consentry/trigger": "landing", "consentry/files": str(len(paths) + len(consent))}))
    if consent and not requests:
        requests.append(dg.RunRequest(
            run_key=batch_key("consent", consent), job_name=consent_refresh_job.name,
            tags={"consentry/trigger": "landing", "consentry/files": str(len(consent))}))
    if unknown:
        context.log.warning(f"files outside the landing contract's folders, ignored: {unknown[:10]}")
    return dg.SensorResult(run_requests=requests, cursor=advanced.dump())


CONSENT_JOBS = {consent_refresh_job.name, daily_consent_content_job.name, daily_full_job.name, "__ASSET_JOB"}
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
FAILED = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


class PurgeCursor:
    """The ledger seq up to which every objection is applied everywhere, the objections
    already alerted on as overdue, and a digest of the last pending state observed."""

    def __init__(self, raw: str | None) -> None:
        data = json.loads(raw) if raw and raw.startswith("{") else {}
        # An older cursor (a bare seq) counted requests, not builds: start from 0 again.
        self.settled: int = int(data.get("settled", 0))
        self.alerted: list[str] = list(data.get("alerted", []))
        self.digest: str = data.get("digest", "")

    def dump(self) -> str:
        return json.dumps({"settled": self.settled, "alerted": self.alerted[-2000:], "digest": self.digest})


def _latest_hwm(record: dg.EventLogRecord | None) -> int:
    """The `ledger_high_water_mark` a materialization recorded (-1: none recorded)."""
    if record is None or record.asset_materialization is None:
        return -1
    value = record.asset_materialization.metadata.get("ledger_high_water_mark")
    return int(getattr(value, "value", value)) if value is not None else -1


def _runs(instance: dg.DagsterInstance, statuses: list[dg.DagsterRunStatus], **filters: object) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=statuses, **filters), limit=2000))


def _days_in_flight(in_flight: list[dg.DagsterRun]) -> set[str]:
    """Days a queued or running corpus build already covers (consent-only runs cover none)."""
    busy: set[str] = set()
    for run in in_flight:
        if run.job_name != consent_refresh_job.name:
            busy |= run_partitions(run) or set()
    return busy


def _failed_attempts(instance: dg.DagsterInstance, trigger: str) -> Counter[str | None]:
    """Failed or canceled runs per `consentry/purge_key`: the attempt number of the next request."""
    return Counter(run.tags.get("consentry/purge_key") for run in
                   _runs(instance, FAILED, tags={"consentry/trigger": trigger}))


def purge_plan(instance: dg.DagsterInstance, ledger: LedgerResource, store: DataStore,
               author_key: AuthorKeySecret, settled: int) -> PurgePlan:
    """What the ledger asks for after `settled` that the latest builds do not apply yet."""
    ledger_db = ledger.open()
    fresh = ledger_db.objections_since(settled)
    if fresh.is_empty():
        return plan_purges(fresh.select("submission_id", pl.lit(None, pl.String).alias("author_key"), "seq",
                                        "recorded_at"), pl.DataFrame(), {}, -1, settled)
    latest_state = instance.fetch_materializations(dg.AssetKey("consent_state"), limit=1).records
    consent_hwm = _latest_hwm(latest_state[0] if latest_state else None)
    secret = author_key.key()
    users = fresh.filter(pl.col("user_id").is_not_null())
    events = users.with_columns(author_keys(users["user_id"], secret).alias("author_key"))
    index_root = store.path("assets", "author_index")
    index = author_days(index_root, events["author_key"].unique().to_list())
    others = fresh.filter(pl.col("user_id").is_null())
    if others.height:
        events, index = _with_non_users(instance, ledger_db, store, secret, others, events, index)
    days = index["day"].cast(pl.String).unique().to_list()
    built = latest_materialization_records(instance, dg.AssetKey("filtered_corpus"), days)
    day_hwm = {day: _latest_hwm(built.get(day)) for day in days}
    return plan_purges(events.select("submission_id", "author_key", "seq", "recorded_at"), index, day_hwm,
                       consent_hwm, settled)


def _with_non_users(instance: dg.DagsterInstance, ledger_db: ConsentLedger, store: DataStore, secret: bytes,
                    others: pl.DataFrame, events: pl.DataFrame,
                    index: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rule 8 events as `plan_purges` input: key ``mention:<submission id>``, and the days
    whose latest build is older than the events and whose corpus names them (objections) or
    holds items they let back (withdrawals)."""
    corpus_root = store.path("assets", "filtered_corpus")
    all_days = built_days(corpus_root)
    records = latest_materialization_records(instance, dg.AssetKey("filtered_corpus"), all_days)
    newest = int(others["seq"].max())  # type: ignore[arg-type]
    behind = [d for d in all_days if _latest_hwm(records.get(d)) < newest]
    withdrawals = others.filter(pl.col("action") != "object").height > 0
    scope = non_user_scope(
        others, ledger_db.objections() if withdrawals else others.clear(), corpus_texts(corpus_root, behind),
        mention_index(store.path("assets", "author_index")) if withdrawals else pl.DataFrame(
            schema={"author_key": pl.String, "day": pl.Date}), secret)
    keyed = others.with_columns(mention_subject(pl.col("submission_id")).alias("author_key"))
    return (pl.concat([events.select("submission_id", "author_key", "seq", "recorded_at"),
                       keyed.select("submission_id", "author_key", "seq", "recorded_at")]),
            pl.concat([index.select("author_key", pl.col("day").cast(pl.Date)), scope]))


@dg.sensor(
    name="objection_sensor",
    jobs=[purge_job, consent_refresh_job, purge_release_job],
    minimum_interval_seconds=OBJECTION_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=("Objections in the ledger that no successful build applies yet (pending purges) → "
                 "one consent refresh, then a rebuild of only the corpus days holding the objectors' "
                 "words, all at that refresh's T; once nothing is pending or mid-build, a release without them. "
                 "Failed or killed runs are requested again; an objection pending longer than "
                 "`purges.alert_after_minutes` raises one alert."),
)
def objection_sensor(context: dg.SensorEvaluationContext, ledger: LedgerResource, store: DataStore,
                     author_key: AuthorKeySecret, alerts: AlertSink, purges: PurgeSettings):
    instance = context.instance
    now = datetime.now(UTC)
    fail_dead_runs(instance, now.timestamp())
    cursor = PurgeCursor(context.cursor)
    plan = purge_plan(instance, ledger, store, author_key, cursor.settled)
    cursor.settled = plan.settled_seq

    in_flight = _runs(instance, IN_FLIGHT)
    consent_busy = any(run.job_name in CONSENT_JOBS for run in in_flight)
    busy_days = _days_in_flight(in_flight)
    attempts = _failed_attempts(instance, "objection")

    pending = plan.by_submission(now)
    submissions = ",".join(pending["submission_id"].to_list())[:MAX_TAG_LENGTH]
    requests: list[dg.RunRequest] = []
    if plan.needs_consent_refresh and not consent_busy:
        key = f"consent@{plan.target_seq}"
        requests.append(dg.RunRequest(
            run_key=f"objections:{key}:{attempts[key]}", job_name=consent_refresh_job.name,
            tags={"consentry/trigger": "objection", "consentry/purge_key": key,
                  "consentry/submissions": submissions, "consentry/ledger_seq": str(plan.target_seq)}))
    for day in plan.purge_days:
        if day in busy_days:
            continue
        key = f"{day}@{plan.consent_hwm}"
        requests.append(dg.RunRequest(
            run_key=f"objections:{key}:{attempts[key]}", job_name=purge_job.name, partition_key=day,
            tags={"consentry/trigger": "objection", "consentry/purge_key": key,
                  "consentry/submissions": submissions, "consentry/ledger_seq": str(plan.consent_hwm)}))

    release = _release_request(instance, ledger, plan, in_flight or requests, attempts, purges, submissions)
    if release is not None:
        requests.append(release)

    overdue = pending.filter((pl.col("pending_minutes") >= purges.alert_after_minutes)
                             & ~pl.col("submission_id").is_in(cursor.alerted))
    for row in overdue.iter_rows(named=True):
        alert = {"kind": "purge_pending", "alert_id": f"purge:{row['submission_id']}", "severity": "ERROR",
                 "submission_id": row["submission_id"], "ledger_seq": row["seq"], "days": row["days"],
                 "pending_minutes": row["pending_minutes"], "link": "/assets/pending_purges",
                 "summary": (f"objection {row['submission_id']} (ledger seq {row['seq']}) is not applied after "
                             f"{row['pending_minutes']} min: {len(row['days'])} days still hold the person's words"),
                 "at": now.isoformat()}
        try:
            alerts.send(alerts.absolute(alert))
            cursor.alerted.append(row["submission_id"])
        except Exception as error:  # the sink is down: the next tick tries again
            context.log.warning(f"alert {alert['alert_id']} not delivered ({error}); will retry")

    observation = pending_observation(plan, pending)
    digest = hashlib.sha1(json.dumps(observation_state(plan), sort_keys=True).encode()).hexdigest()
    events = [observation] if digest != cursor.digest else []
    cursor.digest = digest
    if requests:
        context.log.info(f"{pending.height} pending objections: {len(requests)} runs requested")
    return dg.SensorResult(run_requests=requests, cursor=cursor.dump(), asset_events=events,
                           skip_reason=None if requests else
                           f"{pending.height} pending objections, nothing to request")


def _release_request(instance: dg.DagsterInstance, ledger: LedgerResource, plan: PurgePlan, busy: list,
                     attempts: Counter[str | None], settings: PurgeSettings, submissions: str) -> dg.RunRequest | None:
    """A release cut once every objection the latest release did not see is applied everywhere
    and nothing is mid-build (the gate would refuse). Only after a first release (the schedule's
    or `make run`'s); a cut that keeps failing stops after `release_attempts` (the alert sensor
    reports each failed run)."""
    if not settings.release_after_purge or plan.pending.height or busy:
        return None
    latest = instance.fetch_materializations(dg.AssetKey("corpus_release"), limit=1).records
    if not latest:
        return None
    unreleased = ledger.open().objections_since(_latest_hwm(latest[0]))
    if unreleased.is_empty() or int(unreleased["seq"].max()) > plan.settled_seq:  # type: ignore[arg-type]
        return None
    key = f"release@{plan.settled_seq}"
    if attempts[key] >= settings.release_attempts:
        return None
    return dg.RunRequest(
        run_key=f"objections:{key}:{attempts[key]}", job_name=purge_release_job.name,
        tags={"consentry/trigger": "objection", "consentry/purge_key": key,
              "consentry/submissions": submissions or ",".join(unreleased["submission_id"].to_list())[:MAX_TAG_LENGTH],
              "consentry/ledger_seq": str(plan.settled_seq)})


def observation_state(plan: PurgePlan) -> dict[str, object]:
    return {"pending": sorted(plan.pending["submission_id"].unique().to_list()),
            "days": sorted(plan.pending["day"].drop_nulls().unique().to_list()), "consent_hwm": plan.consent_hwm}


def pending_observation(plan: PurgePlan, pending: pl.DataFrame) -> dg.AssetObservation:
    """What the privacy team reads on `pending_purges`: no user id, only submissions and days."""
    shown = pending.with_columns(pl.col("days").list.len().alias("days_pending"),
                                 pl.col("days").list.join(", ").str.slice(0, 200).alias("days"))
    return dg.AssetObservation(asset_key=PENDING_PURGES, metadata={
        "pending_objections": pending.height,
        "pending_days": len(plan.pending["day"].drop_nulls().unique()),
        "oldest_pending_minutes": float(pending["pending_minutes"].max() or 0.0),
        "consent_state_ledger_seq": plan.consent_hwm,
        "settled_ledger_seq": plan.settled_seq,
        "pending": table(shown) if pending.height else dg.MetadataValue.md("_no pending purges_"),
    })


@dg.sensor(
    name="stale_days_sensor",
    jobs=[purge_job],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=("Days whose corpus another day's build made out of date (an older copy of their words "
                 "arrived later, or a new day bridged two clusters: `dedup_index/stale_days.json`) → "
                 "one corpus rebuild each. Until then the release cut leaves their non-earliest rows out."),
)
def stale_days_sensor(context: dg.SensorEvaluationContext, store: DataStore):
    stale = [d.isoformat() for d in stale_days(str(store.state_path("dedup_index")))]
    if not stale:
        return dg.SkipReason("no stale days")
    busy = _days_in_flight(_runs(context.instance, IN_FLIGHT))
    attempts = _failed_attempts(context.instance, "stale")
    built = latest_materialization_records(context.instance, dg.AssetKey("filtered_corpus"), stale)
    requests = []
    for day in stale:
        if day in busy:
            continue
        key = f"stale:{day}@{built[day].storage_id if day in built else 0}"
        requests.append(dg.RunRequest(run_key=f"{key}:{attempts[key]}", job_name=purge_job.name, partition_key=day,
                                      tags={"consentry/trigger": "stale", "consentry/purge_key": key}))
    return dg.SensorResult(run_requests=requests) if requests else dg.SkipReason(
        f"{len(stale)} stale days, all being rebuilt")


@dg.schedule(
    name="daily_full_job_schedule",
    job=daily_full_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 02:00 UTC: the previous UTC day's partition, after a consent refresh.",
)
def daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    # The partitions end at today (the current day is open), so "yesterday" is explicit here.
    day = (context.scheduled_execution_time.astimezone(UTC) - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"daily:{day}", partition_key=day, tags={"consentry/trigger": "schedule"})


# ---------------------------------------------------------------------------------- alerts


class AlertCursor:
    """Per-check last record id, failed runs already alerted, and alerts not yet delivered."""

    def __init__(self, raw: str | None) -> None:
        data = json.loads(raw) if raw else {}
        self.checks: dict[str, int] = data.get("checks", {})
        self.runs_after: float = data.get("runs_after", 0.0)
        self.runs_seen: list[str] = data.get("runs_seen", [])
        self.pending: list[dict] = data.get("pending", [])

    def dump(self) -> str:
        return json.dumps({"checks": self.checks, "runs_after": self.runs_after,
                           "runs_seen": self.runs_seen[-500:], "pending": self.pending}, default=str)


def _run_partition(run: dg.DagsterRun | None) -> str | None:
    if run is None:
        return None
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}..{end}" if start else None


def check_alerts(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey],
                 cursor: AlertCursor) -> list[dict]:
    """One alert per failed check evaluation recorded after the cursor; advances the cursor."""
    alerts: list[dict] = []
    for key in check_keys:
        name = key.to_user_string()
        last = cursor.checks.get(name, 0)
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
        newest = max((r.id for r in records), default=last)
        for record in sorted(records, key=lambda r: r.id):
            if record.id <= last or record.status.value != "FAILED":
                continue
            run = instance.get_run_by_id(record.run_id)
            if record.partition and run is not None and "dagster/asset_partition_range_start" in run.tags:
                continue  # a day of a range run (checks/per_day.py): the range's own result alerts once
            evaluation = record.event.dagster_event.event_specific_data if record.event else None
            metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()} \
                if evaluation is not None else {}
            # every count the check recorded (rows checked, failing per rule, problems, days...)
            failing = {k: v for k, v in metadata.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            alerts.append({
                "kind": "asset_check_failed",
                "alert_id": f"check:{name}:{record.id}",
                "asset": key.asset_key.to_user_string(),
                "check": key.name,
                "partition": record.partition or _run_partition(run),
                "severity": evaluation.severity.value if evaluation is not None else "ERROR",
                "blocking": bool(getattr(evaluation, "blocking", False)),
                "failing_counts": failing,
                "summary": ", ".join(f"{k}={v}" for k, v in failing.items() if v) or "check failed",
                "run_id": record.run_id,
                "link": f"/runs/{record.run_id}",
                "at": datetime.fromtimestamp(record.create_timestamp, UTC).isoformat(),
            })
        cursor.checks[name] = max(last, newest)
    return alerts


def run_failure_alerts(instance: dg.DagsterInstance, cursor: AlertCursor) -> list[dict]:
    """One alert per run that failed since the cursor (any job, launched from anywhere)."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE],
                              updated_after=datetime.fromtimestamp(cursor.runs_after, UTC)),
        limit=200, ascending=True, order_by="update_timestamp")
    alerts: list[dict] = []
    seen = set(cursor.runs_seen)
    for record in records:
        run = record.dagster_run
        if run.run_id in seen:
            continue
        seen.add(run.run_id)
        cursor.runs_seen.append(run.run_id)
        alerts.append({
            "kind": "run_failed",
            "alert_id": f"run:{run.run_id}",
            "job": run.job_name,
            "partition": _run_partition(run),
            "severity": "ERROR",
            "summary": f"run of {run.job_name} failed",
            "run_id": run.run_id,
            "link": f"/runs/{run.run_id}",
            "at": record.update_timestamp.isoformat(),
        })
        cursor.runs_after = max(cursor.runs_after, record.update_timestamp.timestamp() - 1)
    return alerts


@dg.sensor(
    name="alert_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=("Every failed asset check (blocking or not) and every failed run → exactly one alert "
                 "in the alert sink. Undelivered alerts are kept and retried on the next tick."),
)
def alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertSink):
    fail_dead_runs(context.instance, datetime.now(UTC).timestamp())  # a killed run alerts as failed
    cursor = AlertCursor(context.cursor)
    check_keys = list(context.repository_def.asset_graph.asset_check_keys)  # type: ignore[union-attr]
    queue = cursor.pending + check_alerts(context.instance, check_keys, cursor) \
        + run_failure_alerts(context.instance, cursor)
    undelivered: list[dict] = []
    for alert in queue:
        try:
            alerts.send(alerts.absolute(alert))
        except Exception as error:  # the sink is down: keep it for the next tick
            context.log.warning(f"alert {alert['alert_id']} not delivered ({error}); will retry")
            undelivered.append(alert)
    cursor.pending = undelivered
    context.update_cursor(cursor.dump())
    delivered = len(queue) - len(undelivered)
    return dg.SkipReason(f"{delivered} alerts delivered, {len(undelivered)} pending")
