"""`make run` is incremental (issue 12, point 3): the first run builds every day; a run with
nothing new builds no day; a new landing file builds its day; an objection builds only the
days holding the objector's words. Every run ends with a release that verifies and holds no
objector."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.dagster_server import ROOT
from tests.landing import content_file, notification, objection, post, user, write_jsonl

pytestmark = pytest.mark.slow
DAYS = ("2025-04-01", "2025-04-02", "2025-04-03", "2025-04-05")


def make_run(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "automation.full_build"], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def built_days(out: str) -> int:
    found = re.search(r"building (\d+) days", out)
    assert found, out[-3000:]
    return int(found.group(1))


def newest_release(data: Path) -> Path:
    found = [p for p in (data / "releases").iterdir() if not p.name.startswith(".")]
    return max(found, key=lambda p: json.loads((p / "manifest.json").read_text())["created_at"])


def test_make_run_builds_only_what_changed(tmp_path: Path) -> None:
    landing, data, home = tmp_path / "landing", tmp_path / "data", tmp_path / "home"
    write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl", [user("alice"), user("bob")])
    write_jsonl(landing / "notifications" / "2025-01-10.jsonl",
                [notification("n1", "alice"), notification("n2", "bob")])
    for day in DAYS:
        author = "alice" if day in ("2025-04-01", "2025-04-05") else "bob"
        write_jsonl(content_file(landing, "facebook", day, "a.jsonl"),
                    [post(f"p-{day}", author, f"{day}T09:00:00+00:00")])
    write_jsonl(content_file(landing, "facebook", "2025-04-03", "b.jsonl"),
                [post("names-erika", "bob", "2025-04-03T10:00:00+00:00",
                      text="ran into Erika Mustermann at the market today, she says hello to everyone")])
    env = {"DAGSTER_HOME": str(home), "CONSENTRY_DATA": str(data), "CONSENTRY_LANDING": str(landing),
           "CONSENTRY_AS_OF": "2025-07-01T00:00:00+00:00", "CONSENTRY_AUTHOR_KEY": "test-secret-key"}

    first = make_run(env)
    assert "building every asset over 2025-04-01..2025-04-05 in one run" in first
    again = make_run(env)
    assert built_days(again) == 0

    late = content_file(landing, "facebook", "2025-04-02", "late.jsonl")
    write_jsonl(late, [post("late-1", "alice", "2025-04-02T12:00:00+00:00")])
    one_day = make_run(env)
    assert built_days(one_day) == 1 and "1 days with new landing files" in one_day

    write_jsonl(landing / "objections" / "2025-06-01.jsonl", [objection("o1", "alice", "2025-06-01T12:00:00+00:00")])
    purge = make_run(env)
    assert built_days(purge) == 3  # alice's days: 04-01, 04-02 (her late post), 04-05; not bob's 04-03
    corpus = pl.read_parquet(sorted((data / "assets" / "filtered_corpus").glob("*.parquet")))
    assert sorted(corpus["content_id"].to_list()) == ["names-erika", "p-2025-04-02", "p-2025-04-03"]
    release = newest_release(data)
    rows = pl.read_parquet(sorted((release / "corpus").glob("*.parquet")))
    assert sorted(rows["content_id"].to_list()) == ["names-erika", "p-2025-04-02", "p-2025-04-03"]
    assert "(manifest verifies)" in purge

    # A person who is not a user objects by name (rule 8): only the day whose corpus names them.
    write_jsonl(landing / "objections" / "2025-06-02.jsonl",
                [{**objection("o2", None, "2025-06-02T12:00:00+00:00"), "full_name": "Erika Mustermann"}])
    mention = make_run(env)
    assert "1 new non-user objections or withdrawals touch 1 days" in mention and built_days(mention) == 1
    corpus = pl.read_parquet(sorted((data / "assets" / "filtered_corpus").glob("*.parquet")))
    assert "names-erika" not in corpus["content_id"].to_list()
