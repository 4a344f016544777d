"""The daemon's first start after `make run`, with the real `dagster dev`: it launches nothing when
nothing changed, and exactly the run a new landing file needs (issue 11, point 4)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.dagster_server import ROOT, dagster_dev
from tests.landing import content_file, notification, post, user, write_jsonl

pytestmark = pytest.mark.slow
DAYS = ("2025-04-01", "2025-04-02", "2025-04-03")


def runs(home: Path) -> list[dg.DagsterRun]:
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_runs())


def test_first_daemon_start_after_make_run_launches_only_what_is_new(tmp_path: Path) -> None:
    landing, data, home = tmp_path / "landing", tmp_path / "data", tmp_path / "home"
    write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl", [user("alice"), user("bob")])
    write_jsonl(landing / "notifications" / "2025-01-10.jsonl",
                [notification("n1", "alice"), notification("n2", "bob")])
    for day in DAYS:
        write_jsonl(content_file(landing, "facebook", day, "a.jsonl"),
                    [post(f"a-{day}", "alice", f"{day}T09:00:00+00:00")])
    env = {"DAGSTER_HOME": str(home), "CONSENTRY_DATA": str(data), "CONSENTRY_LANDING": str(landing),
           "CONSENTRY_AS_OF": "2025-07-01T00:00:00+00:00"}
    previous_home = os.environ.get("DAGSTER_HOME")
    try:
        build = subprocess.run([sys.executable, "-m", "automation.full_build"], cwd=ROOT, env={**os.environ, **env},
                               capture_output=True, text=True, timeout=600)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        assert (home / "dagster.yaml").read_text().count("max_concurrent_runs: 2") == 1
        before = runs(home)
        assert len(before) == 1  # the one run of `make run`
        log = tmp_path / "dagster-dev.log"
        with dagster_dev(env, log):
            deadline = time.monotonic() + 120
            while log.read_text().count("Checking for new runs for sensor: landing_zone_sensor") < 2 or \
                    log.read_text().count("Checking for new runs for sensor: objection_sensor") < 2:
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(2)
            assert len(runs(home)) == 1, "the daemon's first ticks launched runs although nothing changed"

            late = content_file(landing, "facebook", "2025-04-02", "late.jsonl")
            write_jsonl(late.with_name(".late.jsonl"), [post("late-1", "bob", "2025-04-02T12:00:00+00:00")])
            late.with_name(".late.jsonl").rename(late)
            deadline = time.monotonic() + 120
            while len(runs(home)) < 2:
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(2)
            time.sleep(35)  # two more ticks: nothing else may follow
            new = [r for r in runs(home) if r.run_id not in {b.run_id for b in before}]
            assert [(r.job_name, r.tags.get("dagster/partition")) for r in new] == [("daily_content_job", "2025-04-02")]
    finally:
        if previous_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous_home
