"""Checks on the release: the folder on disk is exactly what its manifest says."""

from pathlib import Path

import dagster as dg
import polars as pl

from curation.release import verify_release

RELEASE_VERIFIES = "manifest_verifies"


@dg.asset_check(
    asset="corpus_release",
    name=RELEASE_VERIFIES,
    blocking=True,
    description=("Re-reads the release folder: every file listed with the right sha256 and row count, "
                 "no unlisted file, corpus rows add up, the excluded-subjects digest matches."),
)
def manifest_verifies(corpus_release: pl.LazyFrame) -> dg.AssetCheckResult:
    summary = corpus_release.collect()
    problems = [p for path in summary["path"].to_list() for p in verify_release(Path(path))]
    return dg.AssetCheckResult(passed=not problems, metadata={
        "releases_checked": summary.height,
        "problems": len(problems),
        "first_problems": "\n".join(problems[:10]) or "none",
    })
