"""Sensors and schedule, with Dagster's own test utilities and a temporary instance."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from automation.landing import FileCursor, LandedFile
from automation.sensors import alert_sensor, daily_schedule, landing_zone_sensor, objection_sensor
from definitions import build_definitions
from resources import PurgeSettings
from resources.alerts import AlertSink, JsonlAlertSink, WebhookAlertSink
from tests.landing import (
    content_file,
    materialize_all,
    notification,
    post,
    record_objection,
    resources_for,
    user,
    write_jsonl,
)

AS_OF = "2025-07-01T00:00:00+00:00"


def touch(path: Path, mtime: float) -> None:
    os.utime(path, (mtime, mtime))


def sensor_context(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None = None,
                   **resources: object) -> dg.SensorEvaluationContext:
    return dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                   resources={**defs.resources, **resources})


def run_sensor(sensor: dg.SensorDefinition, context: dg.SensorEvaluationContext) -> dg.SensorResult:
    result = sensor(context)
    if isinstance(result, dg.SkipReason):
        return dg.SensorResult(skip_reason=result, cursor=context.cursor)
    return result


# ------------------------------------------------------------------------- file cursor


def test_file_cursor_never_returns_a_file_twice() -> None:
    files = [LandedFile("a", 10.0), LandedFile("b", 10.0), LandedFile("c", 5.0)]
    new, cursor = FileCursor().new_files(files)
    assert [f.path for f in new] == ["a", "b", "c"]
    again, same = cursor.new_files(files)
    assert again == [] and same == cursor
    later = [*files, LandedFile("d", 10.0), LandedFile("e", 11.0)]
    new, cursor2 = FileCursor.parse(cursor.dump()).new_files(later)
    assert [f.path for f in new] == ["d", "e"]
    assert cursor2.new_files(later)[0] == []


# ------------------------------------------------------------------------- landing sensor


def test_landing_sensor_requests_each_day_once_and_batches_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    day1 = [write_jsonl(content_file(landing, "facebook", "2025-04-01", f"part-{i}.jsonl"),
                        [post(f"fb-{i}", "u", "2025-04-01T10:00:00+00:00")]) for i in range(3)]
    day2 = write_jsonl(content_file(landing, "instagram", "2025-04-02"),
                       [post("ig-1", "u", "2025-04-02T10:00:00+00:00", platform="instagram")])
    users = write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl", [user("u")])
    for p in [*day1, day2, users]:
        touch(p, 1000.0)

    first = run_sensor(landing_zone_sensor, sensor_context(defs, instance))
    requests = {(r.job_name, r.partition_key) for r in first.run_requests}
    # users arrived too: each day's run refreshes consent first, no separate consent run
    assert requests == {("daily_consent_content_job", "2025-04-01"), ("daily_consent_content_job", "2025-04-02")}
    assert len(first.run_requests) == 2  # three files of one day are one request

    second = run_sensor(landing_zone_sensor, sensor_context(defs, instance, cursor=first.cursor))
    assert second.run_requests == [] or second.run_requests is None

    extra = write_jsonl(content_file(landing, "facebook", "2025-04-02", "part-late.jsonl"),
                        [post("fb-9", "u", "2025-04-02T11:00:00+00:00")])
    touch(extra, 2000.0)
    third = run_sensor(landing_zone_sensor, sensor_context(defs, instance, cursor=second.cursor or first.cursor))
    assert [(r.job_name, r.partition_key) for r in third.run_requests] == [("daily_content_job", "2025-04-02")]
    assert third.run_requests[0].run_key != next(
        r.run_key for r in first.run_requests if r.partition_key == "2025-04-02")

    objections = write_jsonl(landing / "objections" / "2025-05-01.jsonl", [])
    touch(objections, 3000.0)
    fourth = run_sensor(landing_zone_sensor, sensor_context(defs, instance, cursor=third.cursor))
    assert [(r.job_name, r.partition_key) for r in fourth.run_requests] == [("consent_refresh_job", None)]


# ------------------------------------------------------------------------- objection sensor


@pytest.fixture
def three_day_corpus(tmp_path: Path):
    landing = tmp_path / "landing"
    write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl",
                [user("alice"), user("bob"), user("carol"), user("quiet")])
    write_jsonl(landing / "notifications" / "2025-04-14.jsonl",
                [notification(f"n-{u}", u) for u in ("alice", "bob", "carol", "quiet")])
    for day in ("2025-04-01", "2025-04-05", "2025-04-09"):
        write_jsonl(content_file(landing, "facebook", day), [post(f"a-{day}", "alice", f"{day}T10:00:00+00:00")])
    for day in ("2025-04-02", "2025-04-03"):
        write_jsonl(content_file(landing, "facebook", day), [post(f"b-{day}", "bob", f"{day}T10:00:00+00:00")])
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-09").success
    return defs, instance, tmp_path


def run_requests(defs: dg.Definitions, instance: dg.DagsterInstance, requests) -> None:
    """Execute requested runs in process, as the daemon would launch them."""
    for request in requests:
        job = defs.resolve_job_def(request.job_name)
        assert job.execute_in_process(instance=instance, partition_key=request.partition_key,
                                      tags=request.tags).success


def newest_release_rows(instance: dg.DagsterInstance, data: Path) -> pl.DataFrame:
    """The corpus rows of the release the latest `corpus_release` materialization names."""
    (record,) = instance.fetch_materializations(dg.AssetKey("corpus_release"), limit=1).records
    release_id = record.asset_materialization.metadata["release_id"].value  # type: ignore[union-attr]
    return pl.read_parquet(sorted((data / "releases" / str(release_id) / "corpus").glob("*.parquet")))


def pending_of(result: dg.SensorResult) -> dict[str, object]:
    (observation,) = [e for e in result.asset_events if e.asset_key == dg.AssetKey("pending_purges")]
    return {k: getattr(v, "value", v) for k, v in observation.metadata.items()}


def test_nothing_is_pending_after_a_build_so_the_first_tick_requests_nothing(three_day_corpus) -> None:
    # A `make ui` right after `make run`: the sensor has no cursor, the builds cover the ledger.
    defs, instance, _ = three_day_corpus
    first = run_sensor(objection_sensor, sensor_context(defs, instance))
    assert not first.run_requests
    assert pending_of(first)["pending_objections"] == 0


def test_objection_refreshes_consent_once_then_purges_exactly_the_days_with_the_objectors_content(
        three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    start = run_sensor(objection_sensor, sensor_context(defs, instance))
    record_objection(defs, "alice", submission_id="sub-alice")
    refresh = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=start.cursor))
    # Step one: a new consent state (one T for every purged day); nothing is purged before it.
    assert [(r.job_name, r.partition_key) for r in refresh.run_requests] == [("consent_refresh_job", None)]
    assert pending_of(refresh)["pending_objections"] == 1
    run_requests(defs, instance, refresh.run_requests)
    purge = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=refresh.cursor))
    assert sorted(r.partition_key for r in purge.run_requests) == ["2025-04-01", "2025-04-05", "2025-04-09"]
    assert {r.job_name for r in purge.run_requests} == {"objection_purge_job"}
    assert all(r.tags["consentry/submissions"] == "sub-alice" for r in purge.run_requests)
    # Not yet built: the same requests again, under the same run keys (the daemon launches each once).
    again = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=purge.cursor))
    assert sorted(r.run_key for r in again.run_requests) == sorted(r.run_key for r in purge.run_requests)
    run_requests(defs, instance, purge.run_requests)
    done = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=again.cursor))
    # Step three: every purge applied, nothing mid-build: a release that no longer holds alice.
    assert [(r.job_name, r.partition_key) for r in done.run_requests] == [("purge_release_job", None)]
    assert pending_of(done)["pending_objections"] == 0
    assert json.loads(done.cursor)["settled"] >= 1
    corpus = pl.read_parquet(tmp_path / "data" / "assets" / "filtered_corpus" / "*.parquet")
    assert sorted(corpus["content_id"]) == ["b-2025-04-02", "b-2025-04-03"]
    run_requests(defs, instance, done.run_requests)
    release = newest_release_rows(instance, tmp_path / "data")
    assert sorted(release["content_id"]) == ["b-2025-04-02", "b-2025-04-03"]
    quiet = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=done.cursor))
    assert not quiet.run_requests


def test_objection_without_content_refreshes_consent_only(three_day_corpus) -> None:
    defs, instance, _ = three_day_corpus
    record_objection(defs, "quiet", submission_id="sub-quiet")
    result = run_sensor(objection_sensor, sensor_context(defs, instance))
    assert [(r.job_name, r.partition_key) for r in result.run_requests] == [("consent_refresh_job", None)]
    run_requests(defs, instance, result.run_requests)
    after = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=result.cursor))
    # the new release's commitments prove the person's exclusion
    assert [r.job_name for r in after.run_requests] == ["purge_release_job"]
    assert pending_of(after)["pending_objections"] == 0


def test_no_release_is_cut_while_a_run_is_in_flight_or_when_turned_off(three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    record_objection(defs, "quiet", submission_id="sub-quiet")
    refresh = run_sensor(objection_sensor, sensor_context(defs, instance))
    run_requests(defs, instance, refresh.run_requests)
    off = PurgeSettings(alert_after_minutes=30.0, release_after_purge=False)
    assert not run_sensor(objection_sensor, sensor_context(defs, instance, cursor=refresh.cursor,
                                                           purges=off)).run_requests
    busy = dg.DagsterRun(job_name="daily_content_job", run_id="busy-run", status=dg.DagsterRunStatus.STARTED,
                         tags={"dagster/partition": "2025-04-05"})
    instance.add_run(busy)
    assert not run_sensor(objection_sensor, sensor_context(defs, instance, cursor=refresh.cursor)).run_requests


@pytest.fixture
def naming_corpus(tmp_path: Path):
    """Bob names a non-user on 04-02, carol gives a non-user's phone number on 04-03."""
    landing = tmp_path / "landing"
    write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl", [user("alice"), user("bob"), user("carol")])
    write_jsonl(landing / "notifications" / "2025-04-14.jsonl",
                [notification(f"n-{u}", u) for u in ("alice", "bob", "carol")])
    texts = {"2025-04-01": ("alice", "a quiet sunday by the lake"),
             "2025-04-02": ("bob", "lunch with Erika Mustermann at the market today"),
             "2025-04-03": ("carol", "the plumber is on +49 30 1234567 if you need him"),
             "2025-04-04": ("alice", "rain again, the garden is happy")}
    for day, (author, text) in texts.items():
        write_jsonl(content_file(landing, "facebook", day),
                    [post(f"p-{day}", author, f"{day}T10:00:00+00:00", text=text)])
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-04").success
    return defs, instance, tmp_path


def tick_until_quiet(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> tuple[list, str]:
    """Run the objection sensor and what it requests until it requests nothing."""
    requested: list = []
    for _ in range(5):
        result = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=cursor))
        cursor = result.cursor
        if not result.run_requests:
            return requested, cursor
        requested += [(r.job_name, r.partition_key) for r in result.run_requests]
        run_requests(defs, instance, result.run_requests)
    raise AssertionError(f"the sensor kept requesting: {requested}")


def corpus_ids(tmp_path: Path) -> list[str]:
    return sorted(pl.read_parquet(tmp_path / "data" / "assets" / "filtered_corpus" / "*.parquet")["content_id"])


def test_a_non_user_objection_purges_exactly_the_days_that_name_them(naming_corpus) -> None:
    defs, instance, tmp_path = naming_corpus
    start = run_sensor(objection_sensor, sensor_context(defs, instance))
    assert not start.run_requests
    record_objection(defs, None, submission_id="sub-erika", full_name="erika  MUSTERMANN")
    requested, cursor = tick_until_quiet(defs, instance, start.cursor)
    assert requested == [("consent_refresh_job", None), ("objection_purge_job", "2025-04-02"),
                         ("purge_release_job", None)]
    assert corpus_ids(tmp_path) == ["p-2025-04-01", "p-2025-04-03", "p-2025-04-04"]
    assert json.loads(cursor)["settled"] >= 1
    # a phone number, matched on the corpus' digests (the text says <PHONE> now)
    record_objection(defs, None, datetime(2025, 8, 2, tzinfo=UTC), submission_id="sub-phone", phone="030 1234567")
    requested, cursor = tick_until_quiet(defs, instance, cursor)
    assert requested == [("consent_refresh_job", None), ("objection_purge_job", "2025-04-03"),
                         ("purge_release_job", None)]
    assert corpus_ids(tmp_path) == ["p-2025-04-01", "p-2025-04-04"]
    # a withdrawal names the same person: the day whose item rule 8 excluded is judged again
    record_objection(defs, None, datetime(2025, 8, 3, tzinfo=UTC), submission_id="sub-erika-back",
                     action="withdraw", full_name="Erika Mustermann")
    requested, _ = tick_until_quiet(defs, instance, cursor)
    assert requested == [("consent_refresh_job", None), ("objection_purge_job", "2025-04-02"),
                         ("purge_release_job", None)]
    assert corpus_ids(tmp_path) == ["p-2025-04-01", "p-2025-04-02", "p-2025-04-04"]


def test_a_non_user_objection_naming_nobody_refreshes_consent_only(naming_corpus) -> None:
    defs, instance, tmp_path = naming_corpus
    record_objection(defs, None, submission_id="sub-nobody", full_name="Nobody Inparticular", email="x@example.org")
    requested, _ = tick_until_quiet(defs, instance, None)
    assert requested == [("consent_refresh_job", None), ("purge_release_job", None)]
    assert len(corpus_ids(tmp_path)) == 4


def test_first_landing_tick_after_a_build_requests_only_what_is_new(three_day_corpus) -> None:
    # `make ui` right after `make run`: every landing file was read by that build.
    defs, instance, tmp_path = three_day_corpus
    first = run_sensor(landing_zone_sensor, sensor_context(defs, instance))
    assert not first.run_requests
    assert first.cursor  # the files are remembered, so a later tick does not look again
    late = write_jsonl(content_file(tmp_path / "landing", "facebook", "2025-04-05", "part-late.jsonl"),
                       [post("late-1", "carol", "2025-04-05T12:00:00+00:00")])
    touch(late, datetime.now(UTC).timestamp() + 5)
    second = run_sensor(landing_zone_sensor, sensor_context(defs, instance, cursor=first.cursor))
    assert [(r.job_name, r.partition_key) for r in second.run_requests] == [("daily_content_job", "2025-04-05")]


def refreshed_purge_requests(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.SensorResult:
    record_objection(defs, "bob", submission_id="sub-bob")
    refresh = run_sensor(objection_sensor, sensor_context(defs, instance))
    run_requests(defs, instance, refresh.run_requests)
    purge = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=refresh.cursor))
    assert sorted(r.partition_key for r in purge.run_requests) == ["2025-04-02", "2025-04-03"]
    return purge


def add_run(instance: dg.DagsterInstance, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """A run of `request` as the daemon would have recorded it, in `status`."""
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._core.utils import make_new_run_id

    tags = {**request.tags, "dagster/partition": request.partition_key, "dagster/run_key": request.run_key}
    return instance.add_run(DagsterRun(job_name=request.job_name, run_id=make_new_run_id(), tags=tags,
                                       status=status))


def test_a_failed_purge_run_is_requested_again_under_a_new_key(three_day_corpus) -> None:
    defs, instance, _ = three_day_corpus
    purge = refreshed_purge_requests(defs, instance)
    failed = next(r for r in purge.run_requests if r.partition_key == "2025-04-02")
    add_run(instance, failed, dg.DagsterRunStatus.FAILURE)
    retry = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=purge.cursor))
    keys = {r.partition_key: r.run_key for r in retry.run_requests}
    assert set(keys) == {"2025-04-02", "2025-04-03"}
    assert keys["2025-04-02"] != failed.run_key and keys["2025-04-02"].endswith(":1")


def test_a_day_with_a_purge_in_flight_is_not_requested_twice(three_day_corpus) -> None:
    defs, instance, _ = three_day_corpus
    purge = refreshed_purge_requests(defs, instance)
    queued = next(r for r in purge.run_requests if r.partition_key == "2025-04-03")
    add_run(instance, queued, dg.DagsterRunStatus.STARTING)
    later = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=purge.cursor))
    assert [r.partition_key for r in later.run_requests] == ["2025-04-02"]


def test_a_killed_purge_run_is_failed_alerted_once_and_retried(three_day_corpus) -> None:
    import subprocess
    import sys
    import time

    from automation.run_health import fail_dead_runs

    defs, instance, tmp_path = three_day_corpus
    purge = refreshed_purge_requests(defs, instance)
    killed = next(r for r in purge.run_requests if r.partition_key == "2025-04-02")
    run = add_run(instance, killed, dg.DagsterRunStatus.NOT_STARTED)
    worker = subprocess.Popen([sys.executable, "-c", "pass"])
    worker.wait()  # its pid is now free: the worker is gone, as after kill -9
    instance.report_dagster_event(dg.DagsterEvent(event_type_value="PIPELINE_START", job_name=run.job_name,
                                                  pid=worker.pid), run_id=run.run_id)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    assert fail_dead_runs(instance, time.time() + 60) == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert fail_dead_runs(instance, time.time() + 60) == []
    retry = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=purge.cursor))
    assert any(r.partition_key == "2025-04-02" and r.run_key != killed.run_key for r in retry.run_requests)
    sink_path = tmp_path / "alerts.jsonl"
    sink = JsonlAlertSink(path=str(sink_path))
    first = run_sensor(alert_sensor, sensor_context(defs, instance, alerts=sink))
    run_sensor(alert_sensor, sensor_context(defs, instance, cursor=first.cursor, alerts=sink))
    assert [a["run_id"] for a in read_alerts(sink_path) if a["kind"] == "run_failed"] == [run.run_id]


def test_alert_links_point_at_the_configured_ui(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from definitions import alert_sink_from_environment

    monkeypatch.setenv("CONSENTRY_UI_URL", "https://dagster.example.org/base/")
    sink = alert_sink_from_environment(str(tmp_path))
    assert sink.absolute({"link": "/runs/r1"})["link"] == "https://dagster.example.org/base/runs/r1"
    assert sink.absolute({"link": "https://elsewhere/x"})["link"] == "https://elsewhere/x"
    monkeypatch.delenv("CONSENTRY_UI_URL")
    assert alert_sink_from_environment(str(tmp_path)).absolute({"link": "/runs/r1"})["link"] == (
        "http://127.0.0.1:3000/runs/r1")


def test_an_overdue_purge_raises_one_alert_without_the_user_id(three_day_corpus) -> None:
    from resources import PurgeSettings

    defs, instance, tmp_path = three_day_corpus
    record_objection(defs, "alice", submission_id="sub-alice")
    sink_path = tmp_path / "purge-alerts.jsonl"
    sink = JsonlAlertSink(path=str(sink_path), ui_url="https://dagster.example.org/")
    extra = {"alerts": sink, "purges": PurgeSettings(alert_after_minutes=0)}
    first = run_sensor(objection_sensor, sensor_context(defs, instance, **extra))
    second = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=first.cursor, **extra))
    assert second.run_requests  # still pending: still requested
    alerts = read_alerts(sink_path)
    assert [(a["kind"], a["submission_id"]) for a in alerts] == [("purge_pending", "sub-alice")]
    assert alerts[0]["link"] == "https://dagster.example.org/assets/pending_purges"
    assert "alice" not in json.dumps(alerts).replace("sub-alice", "")
    assert second.asset_events == []  # the pending set did not change: no new observation


def test_purge_run_removes_the_objector_from_the_corpus(three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    record_objection(defs, "alice", datetime(2025, 6, 1, tzinfo=UTC), submission_id="sub-alice")
    cursor = None
    for _ in range(3):
        result = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=cursor))
        run_requests(defs, instance, result.run_requests)
        cursor = result.cursor
    corpus = pl.read_parquet(tmp_path / "data" / "assets" / "filtered_corpus" / "*.parquet")
    assert sorted(corpus["content_id"]) == ["b-2025-04-02", "b-2025-04-03"]


# ------------------------------------------------------------------------- schedule


def test_daily_schedule_builds_yesterday(tmp_path: Path) -> None:
    schedule = daily_schedule
    defs = build_definitions(resources_for(tmp_path))
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 5, 2, 2, 0, tzinfo=UTC),
                                        repository_def=defs.get_repository_def())
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert schedule.job_name == "daily_full_job"
    assert [r.partition_key for r in requests] == ["2025-05-01"]


# ------------------------------------------------------------------------- alerts


class FlakySink(AlertSink):
    """Fails the first `failures` sends, then delivers into a JSON Lines file."""

    path: str
    failures: int = 1

    def send(self, alert: dict) -> None:
        marker = Path(self.path + ".attempts")
        attempts = int(marker.read_text()) if marker.exists() else 0
        marker.write_text(str(attempts + 1))
        if attempts < self.failures:
            raise ConnectionError("sink down")
        JsonlAlertSink(path=self.path).send(alert)


def failing_run(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    record_objection(defs, "bob")
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-09",
                             selection="key:filtered_corpus or key:exclusion_report or key:author_index")
    assert not result.success
    return result


def test_a_range_run_records_each_days_check_result(three_day_corpus) -> None:
    """The UI's checks tab shows each day's own status and counts, not one skipped per day."""
    defs, instance, _ = three_day_corpus
    history = instance.event_log_storage.get_asset_check_execution_history
    built = ["2025-04-01", "2025-04-02", "2025-04-03", "2025-04-05", "2025-04-09"]
    for asset, check in (("filtered_corpus", "consent_rules_hold_now"), ("filtered_corpus", "no_pii_remains"),
                         ("filtered_corpus", "no_copies_of_excluded_content"),
                         ("exclusion_report", "report_reconciles_with_raw")):
        records = history(dg.AssetCheckKey(dg.AssetKey(asset), check), limit=100)
        by_day = {r.partition: r.status.value for r in records if r.partition}
        assert {d: by_day.get(d) for d in built} == dict.fromkeys(built, "SUCCEEDED"), check
    failing_run(defs, instance)
    records = history(dg.AssetCheckKey(dg.AssetKey("filtered_corpus"), "consent_rules_hold_now"), limit=100)
    latest: dict[str, dg.AssetCheckExecutionRecord] = {}
    for record in sorted(records, key=lambda r: r.id):
        if record.partition:
            latest[record.partition] = record
    assert {d: latest[d].status.value for d in built} == {
        "2025-04-01": "SUCCEEDED", "2025-04-02": "FAILED", "2025-04-03": "FAILED",
        "2025-04-05": "SUCCEEDED", "2025-04-09": "SUCCEEDED"}
    metadata = latest["2025-04-02"].event.dagster_event.event_specific_data.metadata  # type: ignore[union-attr]
    assert (metadata["rows_checked"].value, metadata["rows_failing"].value) == (1, 1)
    assert metadata["sample_content_ids"].value == "b-2025-04-02"


def read_alerts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_one_alert_per_failed_check_and_run_across_ticks(three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    result = failing_run(defs, instance)
    sink_path = tmp_path / "alerts.jsonl"
    sink = JsonlAlertSink(path=str(sink_path))
    first = run_sensor(alert_sensor, sensor_context(defs, instance, alerts=sink))
    ctx2 = sensor_context(defs, instance, cursor=first.cursor, alerts=sink)
    run_sensor(alert_sensor, ctx2)
    run_sensor(alert_sensor, sensor_context(defs, instance, cursor=ctx2.cursor, alerts=sink))
    alerts = read_alerts(sink_path)
    checks = [a for a in alerts if a["kind"] == "asset_check_failed"]
    runs = [a for a in alerts if a["kind"] == "run_failed"]
    # Policy v2: the objector's own rows fail the consent check; the copy check still holds,
    # because every corpus row is still the earliest copy of its words.
    assert sorted((a["asset"], a["check"]) for a in checks) == [("filtered_corpus", "consent_rules_hold_now")]
    assert checks[0]["failing_counts"]["failing_objected"] == 2
    assert checks[0]["failing_counts"]["days_failing"] == 2  # bob's two days, one alert for the range
    assert checks[0]["failing_counts"]["rows_failing"] == 2 and "rows_failing=2" in checks[0]["summary"]
    assert checks[0]["link"] == f"http://127.0.0.1:3000/runs/{result.run_id}"  # absolute: works from Slack
    assert checks[0]["partition"] == "2025-04-01..2025-04-09"
    assert checks[0]["severity"] == "ERROR"
    assert [a["run_id"] for a in runs] == [result.run_id]


def test_failing_sink_is_retried_on_the_next_tick(three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    failing_run(defs, instance)
    sink_path = tmp_path / "flaky.jsonl"
    sink = FlakySink(path=str(sink_path), failures=2)
    first = run_sensor(alert_sensor, sensor_context(defs, instance, alerts=sink))
    assert read_alerts(sink_path) == []
    assert len(json.loads(first.cursor)["pending"]) == 2  # the failed check and the failed run
    ctx = sensor_context(defs, instance, cursor=first.cursor, alerts=sink)
    run_sensor(alert_sensor, ctx)
    delivered = read_alerts(sink_path)
    assert sorted(a["kind"] for a in delivered) == ["asset_check_failed", "run_failed"]
    run_sensor(alert_sensor, sensor_context(defs, instance, cursor=ctx.cursor, alerts=sink))
    assert len(read_alerts(sink_path)) == 2


def test_webhook_sink_posts_json_to_a_local_server() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sink = WebhookAlertSink(url=f"http://127.0.0.1:{server.server_port}/alerts")
        sink.send({"kind": "run_failed", "run_id": "r1", "link": "/runs/r1"})
        assert received == [{"kind": "run_failed", "run_id": "r1", "link": "/runs/r1"}]
    finally:
        server.shutdown()
    with pytest.raises(OSError):  # nobody listens any more: the sensor keeps the alert pending
        WebhookAlertSink(url=f"http://127.0.0.1:{server.server_port}/alerts", timeout_seconds=2).send({"x": 1})


def test_instance_home_bounds_the_run_queue_and_monitors_runs(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from automation.instance import OLD_GENERATED, ensure_instance_home

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(OLD_GENERATED)  # what an earlier `make run` wrote
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance_home()
    instance = dg.DagsterInstance.from_config(str(home))
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
    assert instance.run_monitoring_enabled
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")  # an operator's own file stays
    ensure_instance_home()
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_landing_sensor_skips_bad_day_folders_and_links(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    good = write_jsonl(content_file(landing, "facebook", "2025-04-01"), [post("ok", "u", "2025-04-01T10:00:00+00:00")])
    for folder in ("20250403", "2025-W14-4", "2025-13-45"):
        write_jsonl(landing / "content" / "facebook" / folder / "part-0.jsonl", [post(f"x-{folder}", "u",
                                                                                       "2025-04-03T10:00:00+00:00")])
    outside = write_jsonl(tmp_path / "outside" / "part-0.jsonl", [post("secret", "u", "2025-04-02T10:00:00+00:00")])
    (landing / "content" / "facebook" / "2025-04-02").symlink_to(outside.parent, target_is_directory=True)
    (landing / "content" / "facebook" / "2025-04-01" / "linked.jsonl").symlink_to(outside)
    result = run_sensor(landing_zone_sensor, sensor_context(defs, instance))
    assert [(r.partition_key, r.tags["consentry/files"]) for r in result.run_requests] == [("2025-04-01", "1")]
    assert good.exists()
