"""`make run`: build every asset over every partition that has data, in one run.

* An empty or missing landing root gets the embedded sample (`demo/`); a landing root
  that holds data is used as it is.
* The run is a single in-process run with a partition range (DAGSTER-NOTES.md: the CLI
  cannot select partitioned and unpartitioned assets together), recorded in the Dagster
  instance at DAGSTER_HOME so the UI shows it.
* T: `CONSENTRY_AS_OF` if set; else the sample's own `recommended_as_of` when the
  landing zone is the generated sample (its story is set in spring 2025); else the run's start.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
from upath import UPath

from assets.partitions import partition_bounds
from automation.incremental import (
    changed_authors,
    changed_content_days,
    consent_outcomes,
    contiguous_ranges,
    days_of_authors,
    non_user_days,
    previous_high_water_mark,
)
from automation.instance import ensure_instance_home
from automation.run_health import fail_dead_runs
from curation.ingest import content_days
from curation.leftovers import remove_leftovers
from curation.release import verify_release
from curation.stale_days import stale_days

SAMPLE_MANIFEST = "SAMPLE.json"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def landing_has_data(root: UPath) -> bool:
    return root.exists() and any(
        (root / folder).exists() and any((root / folder).iterdir())
        for folder in ("content", "users", "notifications", "objections")
    )


def sample_as_of(root: UPath) -> str:
    manifest = root / SAMPLE_MANIFEST
    if manifest.exists():
        return json.loads(manifest.read_text()).get("recommended_as_of", "")
    return ""


def partition_range(root: UPath) -> tuple[str, str] | None:
    """First and last day folder with content, clamped to the partitioned range."""
    first, last = partition_bounds()
    days = [d for d in content_days(root) if str(first) <= d <= str(last)]
    return (days[0], days[-1]) if days else None


def summarize(data_root: UPath, keys: tuple[str, str] | None) -> str:
    assets = data_root / "assets"
    lines: list[str] = []
    if keys is not None:
        valid = pl.scan_parquet(str(assets / "raw_content" / "*.parquet"))
        bad = pl.scan_parquet(str(assets / "content_quarantine" / "*.parquet"))
        corpus = pl.scan_parquet(str(assets / "filtered_corpus" / "*.parquet"))
        per_platform = (
            valid.group_by("platform").agg(pl.len().alias("valid"))
            .join(bad.with_columns(pl.col("source_file").str.split("/").list.get(-3).alias("platform"))
                  .group_by("platform").agg(pl.len().alias("quarantined")), on="platform", how="full", coalesce=True)
            .join(corpus.group_by("platform").agg(pl.len().alias("in_corpus")), on="platform", how="full",
                  coalesce=True)
            .with_columns(pl.col("valid", "quarantined", "in_corpus").fill_null(0))
            .with_columns((pl.col("valid") + pl.col("quarantined")).alias("read"))
            .select("platform", "read", "valid", "quarantined", "in_corpus")
            .sort("platform").collect()
        )
        lines.append("content rows per platform (folder):")
        lines.append(f"  {'platform':<12}{'read':>10}{'valid':>10}{'quarantined':>13}{'in corpus':>11}")
        for p, r, v, q, c in per_platform.iter_rows():
            lines.append(f"  {p:<12}{r:>10,}{v:>10,}{q:>13,}{c:>11,}")
        t = per_platform.select(pl.exclude("platform").sum()).row(0)
        lines.append(f"  {'total':<12}{t[0]:>10,}{t[1]:>10,}{t[2]:>13,}{t[3]:>11,}")
        report = pl.scan_parquet(str(assets / "exclusion_report" / "*.parquet"))
        reasons = report.group_by("reason").agg(pl.col("rows").sum()).sort("rows", descending=True).collect()
        lines.append("outcome per row (eligibility rules, then de-duplication and quality):")
        lines.extend(f"  {reason:<28}{rows:>10,}" for reason, rows in reasons.iter_rows())
    subsets = []
    for name in ("dialect_subset", "idiom_subset", "humor_subset", "local_knowledge_subset"):
        folder = assets / name
        if folder.exists() and any(folder.iterdir()):
            rows = pl.scan_parquet(str(folder / "*.parquet")).select(pl.len()).collect().item()
            subsets.append(f"{name} {rows:,}")
    if subsets:
        lines.append("subsets:      " + ", ".join(subsets))
    cut = assets / "corpus_release.parquet"  # the last cut's summary names its folder (local or s3://)
    if cut.exists():
        newest = [UPath(p) for p in pl.read_parquet(str(cut))["path"].to_list()]
        if newest:
            problems = verify_release(newest[-1])
            lines.append(f"release:      {newest[-1]}  (manifest "
                         f"{'verifies' if not problems else 'DOES NOT verify: ' + '; '.join(problems[:3])})")
            key = json.loads((newest[-1] / "manifest.json").read_text()).get("author_key", {})
            lines.append(f"author key:   {key.get('origin', 'not recorded')} (fingerprint "
                         f"{key.get('fingerprint', '-')}; README, Secrets)")
    return "\n".join(lines)


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, selection: dg.AssetSelection, run_config: dict,
             days: tuple[str, str] | None = None) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance, tags={RANGE_START: days[0], RANGE_END: days[1]} if days else {}, run_config=run_config,
        raise_on_error=False, asset_selection=list(selection.resolve(defs.resolve_asset_graph())))


def incremental_build(defs: dg.Definitions, instance: dg.DagsterInstance, landing: UPath, data_root: UPath,
                      run_config: dict) -> list[dg.ExecuteInProcessResult]:
    """Bring an earlier build up to date: consent first, then only the days that need it, then a release."""
    from automation.jobs import CONSENT_ASSETS, CONTENT_ASSETS, CORPUS_ASSETS, DOWNSTREAM_OF_CORPUS, RELEASE

    first, last = partition_bounds()
    valid = [d for d in content_days(landing) if str(first) <= d <= str(last)]
    content = changed_content_days(instance, landing, valid)
    assets = Path(str(data_root)) / "assets"
    before = consent_outcomes(assets / "consent_state.parquet")
    seen_seq = previous_high_water_mark(assets / "consent_state.parquet")
    results = [_execute(defs, instance, CONSENT_ASSETS | dg.AssetSelection.assets("landing_inventory"), run_config)]
    if not results[-1].success:
        return results
    after = consent_outcomes(assets / "consent_state.parquet")
    authors = changed_authors(before, after)
    consent = days_of_authors(data_root / "assets" / "author_index", authors)
    events, named = non_user_days(defs.resources["ledger"].open(), seen_seq, data_root,  # type: ignore[union-attr]
                                  defs.resources["author_key"].key())  # type: ignore[union-attr]
    if events:
        print(f"incremental: {events} new non-user objections or withdrawals touch {len(named)} days", flush=True)
        consent = sorted(set(consent) | set(named))
    days = sorted(set(content) | set(consent))
    print(f"incremental: {len(content)} days with new landing files, {len(authors)} authors whose consent "
          f"outcome changed ({len(consent)} days hold their words): building {len(days)} days", flush=True)
    for span in contiguous_ranges(days):
        results.append(_execute(defs, instance, CONTENT_ASSETS | CORPUS_ASSETS | DOWNSTREAM_OF_CORPUS,
                                run_config, span))
    for _ in range(3):  # a rebuilt day can make another stale once more (a bridge); then the cut covers it
        stale = [d.isoformat() for d in stale_days(str(defs.resources["store"].state_path("dedup_index")))]  # type: ignore[union-attr]
        if not stale:
            break
        print(f"incremental: {len(stale)} days another day made stale: rebuilding {stale[:10]}", flush=True)
        for span in contiguous_ranges(stale):
            results.append(_execute(defs, instance, CORPUS_ASSETS | DOWNSTREAM_OF_CORPUS, run_config, span))
    if all(r.success for r in results):
        results.append(_execute(defs, instance, RELEASE, run_config))
    return results


def main() -> int:
    # Dagster flags its preview/beta APIs on every import; the UI is where they matter, not here.
    warnings.filterwarnings("ignore", message=r".*is currently in (preview|beta)")
    data_root = UPath(os.environ.get("CONSENTRY_DATA", "data"))
    landing = UPath(os.environ.get("CONSENTRY_LANDING", str(data_root / "landing")))
    os.environ.setdefault("CONSENTRY_LANDING", str(landing))
    home = ensure_instance_home()

    if not landing_has_data(landing):
        from demo.generate import generate_landing_zone

        started = time.perf_counter()
        print(f"landing zone {landing} is empty: generating the sample landing zone …", flush=True)
        generate_landing_zone(Path(str(landing)))
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    else:
        print(f"landing zone {landing} holds data: ingesting it as it is", flush=True)

    as_of = os.environ.get("CONSENTRY_AS_OF") or sample_as_of(landing)
    import definitions  # reads the environment once, after the defaults above are set

    keys = partition_range(landing)
    tags = {RANGE_START: keys[0], RANGE_END: keys[1]} if keys else {}
    job = definitions.defs.resolve_implicit_global_asset_job_def()
    selection = None if keys else dg.AssetSelection.assets("raw_users", "consent_ledger", "consent_state")
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if as_of:
        run_config["resources"] = {"policy": {"config": {"as_of": as_of}}}
    print(f"as-of time T: {as_of or 'the run start'}", flush=True)
    if data_root.protocol in ("", "file", "local"):
        local_root = Path(str(data_root))
        removed = remove_leftovers(local_root / "assets") + remove_leftovers(local_root / "releases", recursive=False)
        if removed:
            print(f"removed {len(removed)} leftovers of killed writers (temporary files, release staging)")
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        dead = fail_dead_runs(instance, time.time())
        if dead:
            print(f"marked {len(dead)} runs failed whose process is gone: {', '.join(dead)}")
        earlier = bool(instance.get_materialized_partitions(dg.AssetKey("filtered_corpus")))
        if keys and earlier and os.environ.get("CONSENTRY_FULL_BUILD") != "1":
            results = incremental_build(definitions.defs, instance, landing, data_root, run_config)
        else:
            print(f"building every asset over {keys[0]}..{keys[1]} in one run" if keys else
                  "no content partitions: building users and consent only", flush=True)
            results = [job.execute_in_process(
                instance=instance, tags=tags, run_config=run_config, raise_on_error=False,
                asset_selection=list(selection.resolve(definitions.defs.resolve_asset_graph())) if selection else None,
            )]
    result = results[-1]
    elapsed = time.perf_counter() - started
    failed_checks = [f"{e.asset_key.to_user_string()}:{e.check_name}"
                     for r in results for e in r.get_asset_check_evaluations() if not e.passed]
    ok = all(r.success for r in results)
    print(f"\n{len(results)} run(s) {'succeeded' if ok else 'FAILED'} in {elapsed:.1f} s "
          f"(last: {result.run_id})")
    if failed_checks:
        print("failed checks: " + ", ".join(failed_checks))
    if ok:
        print(summarize(data_root, keys))
    print(f"""
outputs:      {data_root}/assets/<asset>/<day>.parquet, {data_root}/releases/
              ledger {data_root}/ledger.sqlite, alerts {data_root}/alerts.jsonl
dagster home: {home}
open the UI:  DAGSTER_HOME={home} CONSENTRY_DATA={data_root} CONSENTRY_LANDING={landing} \\
              .venv/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml   (or: make ui)""")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
