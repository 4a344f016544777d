"""Batch `cluster_duplicates` over all days vs the incremental index, day by day (run by hand).

    .venv/bin/python -m bench.dedup_index                  # 200,000 and 1,000,000 items
    .venv/bin/python -m bench.dedup_index 200000           # other sizes

Data: the project's sample generator (`demo.generate.generate_landing_zone`, seed 7,
users = items / 10, 90 days from 2025-04-01, 1 % malformed), ingested per day with
`curation.ingest.ingest_content` and normalised + PII-redacted with
`curation.corpus.prepare_text`, i.e. the texts `curate()` clusters. Each measurement runs
in a fresh subprocess so its peak RSS is its own ("peak MB" = the kernel's VmHWM after
the input is loaded and the mark reset, minus the RSS then: the extra memory the step
needed).

* batch: `cluster_duplicates` over all rows once (what `curate()` does for every build).
* incremental: for each day in order, `day_fingerprints` then `update` into a fresh index;
  per-day times are reported as median and max, and "last day" is the cost of adding the
  90th day to an index of 89 (what a daily run pays); the JSON line also has the mean of
  the first and last 10 days (growth with the index) and how many earlier days each
  update named in `affected_days` (days to rebuild). The incremental clusters are then
  checked against the batch (same partition, same earliest copy per cluster).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

SIZES = (200_000, 1_000_000)
SEED, DAYS, START = 7, 90, date(2025, 4, 1)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _reset_peak() -> float:
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def prepare(items: int, work: Path) -> Path:
    """Generate a landing zone and write the prepared rows of every day to one Parquet."""
    from upath import UPath

    from curation.corpus import prepare_text
    from curation.ingest import content_days, content_files_for_day, ingest_content
    from demo.generate import generate_landing_zone

    landing = work / f"landing-{items}"
    generate_landing_zone(landing, seed=SEED, items=items, users=max(1, items // 10), start=START, days=DAYS)
    end = START + timedelta(days=DAYS - 1)
    frames = []
    for day in content_days(UPath(landing)):
        valid = ingest_content(content_files_for_day(UPath(landing), day), START, end).valid
        prepared, _ = prepare_text(valid.select("content_id", "platform", "created_at", "text"))
        frames.append(prepared.select("content_id", "platform", "created_at", "text"))
    out = work / f"rows-{items}.parquet"
    pl.concat(frames).write_parquet(out)
    shutil.rmtree(landing)
    return out


def run_batch(path: str, out: str) -> dict:
    from curation.dedup import cluster_duplicates

    rows = pl.read_parquet(path)
    base = _reset_peak()
    t0 = time.perf_counter()
    clusters = cluster_duplicates(rows)
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM") - base
    clusters.join(rows.select("platform", "content_id", "created_at"), on=["platform", "content_id"]) \
        .write_parquet(out)
    return {"batch_s": seconds, "batch_peak_mb": peak, "rows": rows.height,
            "clusters": clusters["cluster_id"].n_unique()}


def run_incremental(path: str, index_dir: str) -> dict:
    from curation.dedup_index import update
    from curation.fingerprints import day_fingerprints

    rows = pl.read_parquet(path)
    days = rows.with_columns(pl.col("created_at").dt.date().alias("_day")).partition_by("_day", as_dict=True)
    base = _reset_peak()
    fp_s, up_s, affected, changed, rows_changed = [], [], [], [], []
    for (day,), frame in sorted(days.items()):
        t0 = time.perf_counter()
        fp = day_fingerprints(frame.drop("_day"), day=day)
        t1 = time.perf_counter()
        result = update(index_dir, fp)
        t2 = time.perf_counter()
        affected.append(len(result.affected_days))
        changed.append(result.changed_clusters.height)
        rows_changed.append(int(result.affected_rows["rows"].sum()))
        fp_s.append(t1 - t0)
        up_s.append(t2 - t1)
    peak = _status_mb("VmHWM") - base
    size = sum(p.stat().st_size for p in Path(index_dir).rglob("*.parquet"))
    per_day = [a + b for a, b in zip(fp_s, up_s, strict=True)]
    return {"incr_s": sum(per_day), "fingerprint_s": sum(fp_s), "update_s": sum(up_s),
            "day_median_s": statistics.median(per_day), "day_max_s": max(per_day), "last_day_s": per_day[-1],
            "first10_mean_s": statistics.mean(per_day[:10]), "last10_mean_s": statistics.mean(per_day[-10:]),
            "incr_peak_mb": peak, "index_bytes": size, "days": len(per_day),
            "affected_days_mean": statistics.mean(affected), "affected_days_max": max(affected),
            "changed_clusters_mean": statistics.mean(changed),
            "affected_rows_mean": statistics.mean(rows_changed)}


def check(batch_out: str, index_dir: str) -> dict:
    """Same partition and earliest copy per cluster as the batch?"""
    from curation.dedup_index import cluster_assignments, indexed_days

    batch = pl.read_parquet(batch_out)
    assigned = cluster_assignments(index_dir, indexed_days(index_dir))
    earliest = (batch.sort("created_at", "platform", "content_id").group_by("cluster_id", maintain_order=True)
                .agg(pl.col("platform").first().alias("bp"), pl.col("content_id").first().alias("bc")))
    joined = (batch.join(earliest, on="cluster_id")
              .join(assigned, on=["platform", "content_id"], how="full", coalesce=True))
    # one batch cluster <-> one index cluster, and the same earliest copy
    same = (joined.select(pl.col("cluster_id_right").n_unique().over("cluster_id").max()).item() == 1
            and joined.select(pl.col("cluster_id").n_unique().over("cluster_id_right").max()).item() == 1
            and joined.filter((pl.col("bp") != pl.col("earliest_platform"))
                              | (pl.col("bc") != pl.col("earliest_content_id"))).height == 0
            and joined.height == batch.height == assigned.height)
    return {"identical": bool(same), "index_clusters": assigned["cluster_id"].n_unique()}


def main(sizes: tuple[int, ...]) -> None:
    print(f"{'items':>9} {'rows':>9} {'batch s':>8} {'incr s':>8} {'(fp s)':>7} {'incr/batch':>10}"
          f" {'day med s':>9} {'day max s':>9} {'last day s':>10} {'last/batch':>10} {'batch MB':>8}"
          f" {'incr MB':>8} {'MB ratio':>8} {'index B/row':>11} {'clusters':>9} {'identical':>9}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for items in sizes:
            path = prepare(items, work)
            batch_out, index_dir = str(work / f"batch-{items}.parquet"), str(work / f"index-{items}")
            b = _sub("--batch", str(path), batch_out)
            i = _sub("--incremental", str(path), index_dir)
            c = _sub("--check", batch_out, index_dir)
            r = {**b, **i, **c, "items": items}
            print(f"{items:>9,} {r['rows']:>9,} {r['batch_s']:>8.1f} {r['incr_s']:>8.1f} {r['fingerprint_s']:>7.1f}"
                  f" {r['incr_s'] / r['batch_s']:>10.2f} {r['day_median_s']:>9.2f} {r['day_max_s']:>9.2f}"
                  f" {r['last_day_s']:>10.2f} {r['last_day_s'] / r['batch_s']:>10.3f} {r['batch_peak_mb']:>8,.0f}"
                  f" {r['incr_peak_mb']:>8,.0f} {r['incr_peak_mb'] / r['batch_peak_mb']:>8.2f}"
                  f" {r['index_bytes'] / r['rows']:>11,.0f} {r['clusters']:>9,} {str(r['identical']):>9}",
                  flush=True)
            print("  " + json.dumps(r), flush=True)


def _sub(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.dedup_index", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--batch":
        print(json.dumps(run_batch(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 4 and sys.argv[1] == "--incremental":
        print(json.dumps(run_incremental(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 4 and sys.argv[1] == "--check":
        print(json.dumps(check(sys.argv[2], sys.argv[3])))
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
