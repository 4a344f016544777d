"""Checks on the release: the folder on disk is exactly what its manifest says."""

import dagster as dg
import polars as pl
from upath import UPath

from curation.release import verify_release

RELEASE_VERIFIES = "manifest_verifies"
RELEASE_TEXT_UNIQUE = "no_duplicate_text_in_release"


@dg.asset_check(
    asset="corpus_release",
    name=RELEASE_VERIFIES,
    blocking=True,
    description=("Re-reads the release folder: every file listed with the right sha256 and row count, "
                 "no unlisted file, corpus rows add up, the excluded-subjects digest matches."),
)
def manifest_verifies(corpus_release: pl.LazyFrame) -> dg.AssetCheckResult:
    summary = corpus_release.collect()
    problems = [p for path in summary["path"].to_list() for p in verify_release(UPath(path))]
    return dg.AssetCheckResult(passed=not problems, metadata={
        "releases_checked": summary.height,
        "problems": len(problems),
        "first_problems": "\n".join(problems[:10]) or "none",
    })


@dg.asset_check(
    asset="corpus_release",
    name=RELEASE_TEXT_UNIQUE,
    blocking=True,
    description="No two rows of a release share a text hash (de-duplication holds across all its days).",
)
def release_text_unique(corpus_release: pl.LazyFrame) -> dg.AssetCheckResult:
    summary = corpus_release.collect()
    duplicated = 0
    sample: list[str] = []
    for path in summary["path"].to_list():
        files = sorted(str(f) for f in (UPath(path) / "corpus").glob("*.parquet"))
        if not files:
            continue
        hashes = pl.scan_parquet(files).group_by("text_hash").agg(pl.col("content_id"), pl.len()).filter(
            pl.col("len") > 1).collect()
        duplicated += int(hashes["len"].sum() or 0)
        sample += [i for ids in hashes["content_id"].head(5).to_list() for i in ids]
    return dg.AssetCheckResult(passed=duplicated == 0, metadata={
        "rows_sharing_a_text_hash": duplicated, "sample_content_ids": ", ".join(sample[:10]) or "none"})
