"""Sensors and the schedule: new landing files, new objections, failed checks and runs.

All start RUNNING, so a `dagster dev` (or daemon) picks them up without a click; the
README says how to stop or start them in the UI.
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.partitions import DAILY
from automation.jobs import (
    consent_refresh_job,
    daily_consent_content_job,
    daily_content_job,
    daily_full_job,
    purge_job,
)
from automation.landing import FileCursor, batch_key, days_holding_authors, group_new_files, list_landed_files
from curation.eligibility import author_keys
from resources import AuthorKeySecret, DataStore, LandingZone, LedgerResource
from resources.alerts import AlertSink

SENSOR_INTERVAL_SECONDS = 15
MAX_TAG_LENGTH = 4000


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
    if not new:
        return dg.SkipReason("no new landing files")
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


@dg.sensor(
    name="objection_sensor",
    jobs=[purge_job, consent_refresh_job],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=("New objections in the ledger → refresh consent state and rebuild only the corpus "
                 "partitions (and what is downstream) that hold the objectors' content."),
)
def objection_sensor(context: dg.SensorEvaluationContext, ledger: LedgerResource, store: DataStore,
                     author_key: AuthorKeySecret):
    seen_seq = int(context.cursor or 0)
    fresh = ledger.open().objections_since(seen_seq)
    if fresh.is_empty():
        return dg.SkipReason(f"no objections after ledger seq {seen_seq}")
    top = int(fresh["seq"].max())  # type: ignore[arg-type]
    users = fresh["user_id"].drop_nulls().unique().sort()
    keys = author_keys(users, author_key.key()).to_list() if users.len() else []
    days = days_holding_authors(store.path("assets", "author_index"), keys)
    submissions = ",".join(fresh["submission_id"].to_list())[:MAX_TAG_LENGTH]
    tags = {"consentry/trigger": "objection", "consentry/submissions": submissions,
            "consentry/ledger_seq": str(top)}
    if not days:
        context.log.info(f"{fresh.height} objections, no corpus content: consent refresh only")
        requests = [dg.RunRequest(run_key=f"objections:{top}:consent", job_name=consent_refresh_job.name,
                                  tags=tags)]
    else:
        context.log.info(f"{fresh.height} objections: rebuilding {len(days)} partitions {days[:10]}")
        requests = [dg.RunRequest(run_key=f"objections:{top}:{day}", job_name=purge_job.name, partition_key=day,
                                  tags=tags) for day in days]
    return dg.SensorResult(run_requests=requests, cursor=str(top))


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
            evaluation = record.event.dagster_event.event_specific_data if record.event else None
            metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()} \
                if evaluation is not None else {}
            failing = {k: v for k, v in metadata.items()
                       if isinstance(v, int | float) and ("fail" in k or k.startswith("rows"))}
            run = instance.get_run_by_id(record.run_id)
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
    cursor = AlertCursor(context.cursor)
    check_keys = list(context.repository_def.asset_graph.asset_check_keys)  # type: ignore[union-attr]
    queue = cursor.pending + check_alerts(context.instance, check_keys, cursor) \
        + run_failure_alerts(context.instance, cursor)
    undelivered: list[dict] = []
    for alert in queue:
        try:
            alerts.send(alert)
        except Exception as error:  # the sink is down: keep it for the next tick
            context.log.warning(f"alert {alert['alert_id']} not delivered ({error}); will retry")
            undelivered.append(alert)
    cursor.pending = undelivered
    context.update_cursor(cursor.dump())
    delivered = len(queue) - len(undelivered)
    return dg.SkipReason(f"{delivered} alerts delivered, {len(undelivered)} pending")
