"""The whole pipeline on a generated sample: the reader quarantines exactly what the generator
broke, every check passes, every reason code occurs; and `make run`'s entry point ingests an
existing landing zone as it is."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from curation.corpus import OUTCOMES
from curation.eligibility import REASON_ORDER
from definitions import build_definitions
from demo.generate import generate_landing_zone
from tests.landing import materialize_all, resources_for

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("sample")
    manifest = generate_landing_zone(root / "landing", seed=11, items=12_000, users=1_500,
                                     start=date(2025, 4, 1), days=40)
    return root, manifest


def read_all(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted(folder.glob("*.parquet"))) if folder.is_dir() else pl.read_parquet(
        folder.with_suffix(".parquet"))


def test_sample_builds_with_every_check_passing(sample: tuple[Path, dict]) -> None:
    root, manifest = sample
    defs = build_definitions(resources_for(root, as_of=manifest["recommended_as_of"]))
    result = materialize_all(defs, dg.DagsterInstance.ephemeral(), "2025-04-01", "2025-05-10")
    assert result.success
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()
              if not e.passed]
    assert failed == []

    assets = root / "data" / "assets"
    quarantine = read_all(assets / "content_quarantine")
    assert dict(quarantine.group_by("reason").len().iter_rows()) == {
        k: v for k, v in manifest["content"]["malformed"].items() if v}
    users_q = read_all(assets / "users_quarantine")
    assert dict(users_q.group_by("reason").len().iter_rows()) == {
        k: v for k, v in manifest["users"]["malformed"].items() if v}
    ledger_q = read_all(assets / "ledger_quarantine")
    expected_ledger: dict[str, int] = {}
    for section in ("notifications", "objections"):
        for reason, n in manifest[section]["malformed"].items():
            expected_ledger[reason] = expected_ledger.get(reason, 0) + n
    assert dict(ledger_q.group_by("reason").len().iter_rows()) == {k: v for k, v in expected_ledger.items() if v}

    raw = read_all(assets / "raw_content")
    assert raw.height + quarantine.height == manifest["content"]["records_written"]
    report = read_all(assets / "exclusion_report")
    reasons = set(report["reason"].unique())
    assert {"eligible", *REASON_ORDER, "duplicate", "copies_excluded_content"} <= reasons, \
        "every reason code occurs in the sample"
    assert reasons <= set(OUTCOMES)
    assert int(report["rows"].sum()) == raw.height


def test_full_build_ingests_an_existing_landing_zone_as_it_is(sample: tuple[Path, dict],
                                                             tmp_path: Path) -> None:
    root, _ = sample
    landing = root / "landing"
    before = sorted((p.relative_to(landing), p.stat().st_mtime) for p in landing.rglob("*") if p.is_file())
    env = {**os.environ, "CONSENTRY_LANDING": str(landing), "CONSENTRY_DATA": str(tmp_path / "out"),
           "DAGSTER_HOME": str(tmp_path / "home"), "CONSENTRY_HOME": str(tmp_path / "keys")}
    env.pop("CONSENTRY_AUTHOR_KEY", None)
    out = subprocess.run([sys.executable, "-m", "automation.full_build"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "holds data: ingesting it as it is" in out.stdout
    assert "succeeded" in out.stdout and "quarantined" in out.stdout and "127.0.0.1" in out.stdout
    after = sorted((p.relative_to(landing), p.stat().st_mtime) for p in landing.rglob("*") if p.is_file())
    assert after == before, "an existing landing zone is never rewritten"
    releases = [p for p in (tmp_path / "out" / "releases").iterdir() if not p.name.startswith(".")]
    manifest = json.loads((releases[0] / "manifest.json").read_text())
    assert len(releases) == 1 and manifest["rows"] > 0
    # no key configured: the installation's key was generated outside the data root and is named
    assert manifest["author_key"]["origin"] == "generated" and "author key:   generated" in out.stdout
    assert (tmp_path / "keys" / "author.key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "home" / "dagster.yaml").exists()
