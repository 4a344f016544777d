"""Fault injection: after each fault, the next release still holds no row of anyone who did not
allow it (DESIGN.md, "The consent guarantee"), and what the fault left behind is cleaned up.

Each test breaks one thing the guarantee must not depend on: a writer killed with SIGKILL in the
middle of the corpus or of a release, a purge run that failed, sensors that never ticked.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from automation.run_health import fail_dead_runs
from curation.eligibility import author_key
from curation.enforce import judge_at_cut
from curation.ledger import ConsentLedger
from curation.policy import Policy
from curation.release import verify_release
from definitions import build_definitions
from tests.landing import materialize_all, record_objection, resources_for
from tests.test_pipeline import build_landing

pytestmark = pytest.mark.slow
SECRET = b"test-secret-key"
ROOT = Path(__file__).resolve().parents[1]
DAYS = ("2025-04-01", "2025-04-03")


def releases(tmp_path: Path) -> list[Path]:
    root = tmp_path / "data" / "releases"
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.exists() else []
    return sorted(found, key=lambda p: json.loads((p / "manifest.json").read_text())["created_at"])


def assert_release_invariant(tmp_path: Path, defs: dg.Definitions, release: Path) -> None:
    """Re-judged at the ledger high-water mark it records, the release loses no row; its rows and
    its exclusion commitments agree (the release writer asserts that too, this reads the files)."""
    assert verify_release(release) == []
    manifest = json.loads((release / "manifest.json").read_text())
    ledger = ConsentLedger(defs.resources["ledger"].url)  # type: ignore[union-attr]
    hwm = manifest["ledger_high_water_mark"]
    rows = pl.read_parquet(sorted((release / "corpus").glob("*.parquet")))
    users = pl.read_parquet(tmp_path / "data" / "assets" / "raw_users.parquet")
    cut = judge_at_cut({"release": rows}, users, ledger.notifications(up_to_seq=hwm),
                       ledger.objections(up_to_seq=hwm), as_of=pl.Series([manifest["as_of"]]).str.to_datetime()[0],
                       policy=Policy(), secret=SECRET, now=pl.Series([manifest["cut_at"]]).str.to_datetime()[0])
    assert cut.removed.is_empty(), cut.removed


def persistent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dg.Definitions, dg.DagsterInstance]:
    """A built corpus with a release, in an instance on disk that a child process shares."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path))
    instance = dg.DagsterInstance.get()
    assert materialize_all(defs, instance, *DAYS).success
    return defs, instance


def killed_build(tmp_path: Path, mode: str) -> None:
    child = subprocess.run([sys.executable, "-m", "tests.fault_child", mode, str(tmp_path), *DAYS], cwd=ROOT,
                           env={**os.environ}, capture_output=True, text=True, timeout=600)
    assert child.returncode == -9, child.stderr[-3000:]


def started_runs(instance: dg.DagsterInstance) -> list[str]:
    return [r.run_id for r in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))]


def test_kill_during_corpus_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defs, instance = persistent(tmp_path, monkeypatch)
    adult = author_key("adult", SECRET)
    record_objection(defs, "adult")
    killed_build(tmp_path, "corpus")
    corpus_dir = tmp_path / "data" / "assets" / "filtered_corpus"
    leftovers = [p.name for p in corpus_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers, "the kill left the temporary it was about to rename"
    stuck = started_runs(instance)
    assert len(stuck) == 1  # the killed run stays STARTED: nobody told Dagster
    assert fail_dead_runs(instance, time.time() + 60) == stuck
    assert instance.get_run_by_id(stuck[0]).status == dg.DagsterRunStatus.FAILURE

    # Nothing was rebuilt since the objection: the release cut now must leave the adult out itself.
    assert materialize_all(defs, instance, *DAYS, selection="key:corpus_release").success
    release = releases(tmp_path)[-1]
    assert adult not in pl.read_parquet(release / "authors.parquet")["author_key"].to_list()
    assert_release_invariant(tmp_path, defs, release)
    # The next build of the corpus removes the dead writer's temporary and converges.
    assert materialize_all(defs, instance, *DAYS).success
    assert not [p for p in corpus_dir.iterdir() if p.name.endswith(".tmp")]
    corpus = pl.read_parquet(sorted(corpus_dir.glob("*.parquet")))
    assert corpus.filter(pl.col("author_key") == adult).is_empty()
    assert_release_invariant(tmp_path, defs, releases(tmp_path)[-1])


def test_kill_during_release_staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defs, instance = persistent(tmp_path, monkeypatch)
    before = releases(tmp_path)
    record_objection(defs, "adult")
    killed_build(tmp_path, "release")
    root = tmp_path / "data" / "releases"
    assert [p for p in root.iterdir() if p.name.startswith(".staging-")], "the kill left its staging folder"
    assert releases(tmp_path) == before  # no half release under a real name
    fail_dead_runs(instance, time.time() + 60)
    assert materialize_all(defs, instance, *DAYS, selection="key:corpus_release").success
    assert not [p for p in root.iterdir() if p.name.startswith(".staging-")]
    release = releases(tmp_path)[-1]
    assert release not in before
    assert author_key("adult", SECRET) not in pl.read_parquet(release / "authors.parquet")["author_key"].to_list()
    assert_release_invariant(tmp_path, defs, release)


def test_a_failed_purge_then_the_scheduled_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sensors stopped (or the purge failed): only the schedule's run for yesterday happens."""
    defs, instance = persistent(tmp_path, monkeypatch)
    adult = author_key("adult", SECRET)
    corpus_dir = tmp_path / "data" / "assets" / "filtered_corpus"
    adult_days = sorted(pl.read_parquet(sorted(corpus_dir.glob("*.parquet")))
                        .filter(pl.col("author_key") == adult)["day"].cast(pl.String).unique().to_list())
    assert len(adult_days) >= 2
    record_objection(defs, "adult")
    import assets.corpus

    def broken_curate(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")  # the purge run fails half-way

    with monkeypatch.context() as patch:
        patch.setattr(assets.corpus, "curate_from_index", broken_curate)
        purge = defs.resolve_job_def("objection_purge_job")
        failed = purge.execute_in_process(instance=instance, partition_key=adult_days[0], raise_on_error=False)
    assert not failed.success
    scheduled = defs.resolve_job_def("daily_full_job")
    result = scheduled.execute_in_process(instance=instance, partition_key=DAYS[1], raise_on_error=False)
    assert result.success
    release = releases(tmp_path)[-1]
    assert adult not in pl.read_parquet(release / "authors.parquet")["author_key"].to_list()
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["removed_at_cut"]["rows"] >= 1
    assert_release_invariant(tmp_path, defs, release)


WRITER = """
import sys
from datetime import UTC, datetime
import polars as pl
from curation.ledger import ConsentLedger
url, name, users = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
ledger = ConsentLedger(url)
for i, user in enumerate(users):
    frame = pl.DataFrame({"submission_id": [f"{name}-{i}"], "user_id": [user], "email": [None],
                          "action": ["object"], "submitted_at": [datetime(2025, 8, 1, tzinfo=UTC)]},
                         schema={"submission_id": pl.String, "user_id": pl.String, "email": pl.String,
                                 "action": pl.String, "submitted_at": pl.Datetime("us", "UTC")})
    ledger.import_objections(frame, source=name)
"""


def test_concurrent_ledger_writers_during_a_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Objections written by other processes while the release is cut: the release applies every
    objection up to the high-water mark it records, none half-read, whatever the interleaving."""
    defs, instance = persistent(tmp_path, monkeypatch)
    url = defs.resources["ledger"].url  # type: ignore[union-attr]
    users = pl.read_parquet(tmp_path / "data" / "assets" / "raw_users.parquet")["user_id"].to_list()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"w{i}", ",".join(users[i::3] * 5)],
                                cwd=ROOT) for i in range(3)]
    try:
        for _ in range(2):
            assert materialize_all(defs, instance, *DAYS, selection="key:corpus_release").success
            assert_release_invariant(tmp_path, defs, releases(tmp_path)[-1])
    finally:
        assert all(w.wait(timeout=300) == 0 for w in writers)
    assert materialize_all(defs, instance, *DAYS, selection="key:corpus_release").success
    release = releases(tmp_path)[-1]
    assert_release_invariant(tmp_path, defs, release)
    assert pl.read_parquet(release / "authors.parquet").is_empty()  # every user objected by now
