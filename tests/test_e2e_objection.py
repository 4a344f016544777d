"""End to end with the real daemon: an objection file dropped into the landing zone purges
the objector's rows from the corpus without anyone's attention, and the check passes again."""

import json
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.dagster_server import dagster_dev, write_instance_config
from tests.landing import content_file, notification, objection, post, user, write_jsonl

pytestmark = pytest.mark.slow
ALICE_DAYS = ("2025-04-01", "2025-04-03", "2025-04-05")
BOB_DAYS = ("2025-04-02", "2025-04-03")


def corpus_ids(data: Path) -> set[str] | None:
    files = sorted((data / "assets" / "filtered_corpus").glob("*.parquet"))
    if not files:
        return None
    return set(pl.read_parquet(files)["content_id"].to_list())


def wait_for(condition, timeout: float, what: str, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(2)
    raise TimeoutError(f"{what} not reached in {timeout:.0f} s\n{log.read_text()[-4000:]}")


def latest_check_passed(home: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        key = dg.AssetCheckKey(dg.AssetKey("filtered_corpus"), "consent_rules_hold_now")
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        return bool(records) and records[0].status.value == "SUCCEEDED"


def test_dropped_objection_file_purges_the_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing, data, home = tmp_path / "landing", tmp_path / "data", tmp_path / "home"
    write_instance_config(home)
    write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl", [user("alice"), user("bob")])
    write_jsonl(landing / "notifications" / "2025-01-10.jsonl",
                [notification("n1", "alice"), notification("n2", "bob")])
    for day in ALICE_DAYS:
        write_jsonl(content_file(landing, "facebook", day, "a.jsonl"),
                    [post(f"a-{day}", "alice", f"{day}T09:00:00+00:00")])
    for day in BOB_DAYS:
        write_jsonl(content_file(landing, "facebook", day, "b.jsonl"),
                    [post(f"b-{day}", "bob", f"{day}T09:00:00+00:00")])
    expected_all = {f"a-{d}" for d in ALICE_DAYS} | {f"b-{d}" for d in BOB_DAYS}
    env = {"DAGSTER_HOME": str(home), "CONSENTRY_DATA": str(data), "CONSENTRY_LANDING": str(landing),
           "CONSENTRY_AS_OF": "2025-07-01T00:00:00+00:00"}
    log = tmp_path / "dagster-dev.log"

    with dagster_dev(env, log):
        # The landing sensor builds every day from nothing.
        wait_for(lambda: corpus_ids(data) == expected_all, 240, "initial corpus", log)
        objection_file = landing / "objections" / "2025-06-01.jsonl"
        tmp = objection_file.with_name(".incoming.jsonl")
        write_jsonl(tmp, [objection("form-alice-1", "alice", "2025-06-01T12:00:00+02:00")])
        dropped = time.monotonic()
        tmp.rename(objection_file)  # land atomically, as an exporter must
        purge_seconds = wait_for(lambda: corpus_ids(data) == {f"b-{d}" for d in BOB_DAYS}, 300,
                                 "purged corpus", log)
        wait_for(lambda: latest_check_passed(home, monkeypatch), 120, "a passing check after the purge", log)
        total = time.monotonic() - dropped

    report = {"objection_to_purged_corpus_seconds": round(purge_seconds, 1),
              "objection_to_passing_check_seconds": round(total, 1)}
    print(json.dumps(report))
    (tmp_path / "timing.json").write_text(json.dumps(report))
