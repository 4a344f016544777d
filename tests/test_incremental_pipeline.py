"""Incremental builds through Dagster (issue 12): a day is built from its own raw rows and the
dedup index. When an older copy of a day's words arrives later, that day is marked stale, the
release cut leaves its non-earliest rows out meanwhile, the stale-days sensor asks for its
rebuild, and the rebuilt corpus equals a from-scratch build of every day at once."""

import json
from pathlib import Path

import dagster as dg
import polars as pl

from automation.sensors import stale_days_sensor
from curation.stale_days import stale_days
from definitions import build_definitions
from tests.landing import content_file, materialize_all, notification, post, resources_for, user, write_jsonl

AS_OF = "2025-07-01T00:00:00+00:00"
SECRET_WORDS = "meet me behind the old station at nine and bring the letters you promised me yesterday"
DAYS = ("2025-04-01", "2025-04-02", "2025-04-03")


def landing(root: Path) -> None:
    write_jsonl(root / "users" / "2025-01-01-snapshot.jsonl", [user("adult"), user("other")])
    write_jsonl(root / "notifications" / "2025-01-10.jsonl",
                [notification("n1", "adult"), notification("n2", "other")])
    # Day 1: the words are first written in a private message; day 3: someone posts them publicly.
    write_jsonl(content_file(root, "messenger", DAYS[0]), [post("dm-1", "other", f"{DAYS[0]}T08:00:00+00:00",
                                                                 platform="messenger", kind="message",
                                                                 visibility="private", text=SECRET_WORDS)])
    write_jsonl(content_file(root, "facebook", DAYS[1]), [post("fb-2", "adult", f"{DAYS[1]}T08:00:00+00:00")])
    write_jsonl(content_file(root, "facebook", DAYS[2]), [post("fb-3", "adult", f"{DAYS[2]}T08:00:00+00:00",
                                                                text=SECRET_WORDS.upper()),
                                                           post("fb-4", "adult", f"{DAYS[2]}T09:00:00+00:00")])


def corpus(tmp_path: Path) -> dict[str, list[str]]:
    folder = tmp_path / "data" / "assets" / "filtered_corpus"
    return {p.stem: sorted(pl.read_parquet(p)["content_id"].to_list()) for p in sorted(folder.glob("*.parquet"))}


def reports(tmp_path: Path) -> pl.DataFrame:
    folder = tmp_path / "data" / "assets" / "exclusion_report"
    return pl.read_parquet(sorted(folder.glob("*.parquet"))).sort("day", "platform", "reason")


def newest_manifest(tmp_path: Path) -> dict:
    found = [p for p in (tmp_path / "data" / "releases").iterdir() if not p.name.startswith(".")]
    return max((json.loads((p / "manifest.json").read_text()) for p in found), key=lambda m: m["created_at"])


def test_a_late_older_copy_marks_the_day_stale_and_the_rebuild_equals_a_full_build(tmp_path: Path) -> None:
    scratch, incremental = tmp_path / "scratch", tmp_path / "incremental"
    for root in (scratch, incremental):
        landing(root / "landing")
    full = build_definitions(resources_for(scratch, as_of=AS_OF))
    assert materialize_all(full, dg.DagsterInstance.ephemeral(), DAYS[0], DAYS[2]).success

    defs = build_definitions(resources_for(incremental, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    # Days 2 and 3 first: the public copy looks like the earliest copy of its words.
    assert materialize_all(defs, instance, DAYS[1], DAYS[2]).success
    assert corpus(incremental)[DAYS[2]] == ["fb-3", "fb-4"]
    # Day 1 arrives late: its private message is the earliest copy; day 3 is now stale.
    assert materialize_all(defs, instance, DAYS[0], DAYS[0]).success
    index = incremental / "data" / "dedup_index"
    assert [d.isoformat() for d in stale_days(index)] == [DAYS[2]]
    # That run cut a release: it already leaves the stale day's public copy out.
    manifest = newest_manifest(incremental)
    assert manifest["removed_at_cut"]["by_reason"] == {"not_earliest_copy": 1}
    assert manifest["removed_at_cut"]["partitions"] == [DAYS[2]]

    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources)
    requests = stale_days_sensor(context).run_requests
    assert [(r.job_name, r.partition_key) for r in requests] == [("objection_purge_job", DAYS[2])]
    job = defs.resolve_job_def(requests[0].job_name)
    assert job.execute_in_process(instance=instance, partition_key=DAYS[2], tags=requests[0].tags).success
    assert stale_days(index) == []
    assert isinstance(stale_days_sensor(context), dg.SkipReason)

    assert corpus(incremental) == corpus(scratch)
    assert corpus(incremental)[DAYS[2]] == ["fb-4"]
    assert reports(incremental).equals(reports(scratch))
