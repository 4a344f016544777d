"""Issue 16: the same build on a local Ray cluster (head + 2 workers), PostgreSQL and moto S3.

The cluster build's release id (a content hash) must equal the one of a plain local build
on the same landing zone, T and author key. The test starts and stops every service itself
(automation.cluster / automation.local_services); it needs the `[cluster]` extra and the
PostgreSQL server binaries (`make cluster-deps`), both of which `make test` installs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
KEY = "cluster-test-author-key-0123456789abcdef"


def _local_release(landing: Path, data: Path, as_of: str, home: Path) -> str:
    env = {**os.environ, "CONSENTRY_DATA": str(data), "CONSENTRY_LANDING": str(landing), "CONSENTRY_AS_OF": as_of,
           "CONSENTRY_AUTHOR_KEY": KEY, "DAGSTER_HOME": str(home)}
    env.pop("CONSENTRY_STATE", None)
    done = subprocess.run([sys.executable, "-m", "automation.full_build"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return pl.read_parquet(data / "assets" / "corpus_release.parquet")["release_id"].item()


def test_cluster_release_equals_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dagster_ray", reason="the [cluster] extra (make test installs it)")
    from upath import UPath

    from automation.cluster import run_cluster
    from automation.full_build import sample_as_of
    from automation.local_services import postgres_bin_dir
    from demo.generate import generate_landing_zone

    if postgres_bin_dir() is None:
        pytest.fail("no PostgreSQL server binaries: `make cluster-deps` installs them")
    landing = tmp_path / "landing"
    generate_landing_zone(landing, seed=5, items=1_500, users=300, start=date(2025, 6, 1), days=3)
    as_of = sample_as_of(UPath(str(landing)))
    assert as_of
    local = _local_release(landing, tmp_path / "local", as_of, tmp_path / "local_home")

    monkeypatch.setenv("CONSENTRY_AUTHOR_KEY", KEY)
    work = tmp_path / "cluster"
    work.mkdir()
    result = run_cluster(landing, 2, as_of, work)
    assert result["verifies"], result["problems"]
    assert str(result["path"]).startswith("s3://"), result["path"]  # released to the object store
    assert result["rows"] > 0
    assert result["release_id"] == local
