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


def test_objection_purges_exactly_the_partitions_with_the_objectors_content(three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    start = run_sensor(objection_sensor, sensor_context(defs, instance))  # notifications only: skip
    cursor = start.cursor
    record_objection(defs, "alice", submission_id="sub-alice")
    result = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=cursor))
    assert sorted(r.partition_key for r in result.run_requests) == ["2025-04-01", "2025-04-05", "2025-04-09"]
    assert {r.job_name for r in result.run_requests} == {"objection_purge_job"}
    assert all(r.tags["consentry/submissions"] == "sub-alice" for r in result.run_requests)
    again = run_sensor(objection_sensor, sensor_context(defs, instance, cursor=result.cursor))
    assert not again.run_requests


def test_objection_without_content_rebuilds_no_partition(three_day_corpus) -> None:
    defs, instance, _ = three_day_corpus
    record_objection(defs, "quiet", submission_id="sub-quiet")
    result = run_sensor(objection_sensor, sensor_context(defs, instance, cursor="0"))
    assert [(r.job_name, r.partition_key) for r in result.run_requests] == [("consent_refresh_job", None)]


def test_purge_run_removes_the_objector_from_the_corpus(three_day_corpus) -> None:
    defs, instance, tmp_path = three_day_corpus
    record_objection(defs, "alice", datetime(2025, 6, 1, tzinfo=UTC), submission_id="sub-alice")
    result = run_sensor(objection_sensor, sensor_context(defs, instance, cursor="0"))
    job = defs.resolve_job_def("objection_purge_job")
    for request in result.run_requests:
        run = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags)
        assert run.success
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
    assert checks[0]["link"] == f"/runs/{result.run_id}"
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
