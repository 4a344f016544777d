"""Ingest (`curation.ingest.ingest_content`, what `raw_content` runs) against a bare polars read.

    .venv/bin/python -m bench.bench_ingest                       # the 200k sample, 3 rounds
    .venv/bin/python -m bench.bench_ingest --items 1000000 --rounds 3
    .venv/bin/python -m bench.bench_ingest --landing /tmp/landing  # an existing landing zone

The landing zone comes from the project's generator (`demo.generate`, as `make run` writes
it: about 1 % of the records malformed). polars' own readers stop at the first bad line of
a file (invalid UTF-8, a truncated object), so the **reference** reads a cleaned copy of the
same files: every line that is not a JSON object dropped, `.jsonl.gz` kept gzipped, Parquet
copied as it is; per day, `pl.read_ndjson` (all-string schema) / `pl.read_parquet` per file
and one `pl.concat`. That is the floor: no quarantine, no validation, no de-duplication.
The **project** ingests the original files day by day with every quarantine rule.

Rounds alternate project and reference in one process, so both see the same machine load;
the ratio is taken per round (project s / reference s) and the median reported.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import orjson
import polars as pl
from upath import UPath

from assets.partitions import partition_bounds
from curation import contract as c
from curation.ingest import content_days, content_files_for_day, ingest_content


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def clean_copy(landing: Path, out: Path) -> None:
    """The same content files with only the lines polars' NDJSON reader can take."""
    for path in sorted((landing / "content").glob("*/*/*")):
        target = out / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.name.endswith(".parquet"):
            shutil.copyfile(path, target)
            continue
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        kept = b"\n".join(line for line in raw.split(b"\n") if line.strip() and _is_object(line)) + b"\n"
        target.write_bytes(gzip.compress(kept, 6) if path.name.endswith(".gz") else kept)


def reference(clean: Path) -> int:
    """Bare polars: read every file of every day, one frame per day."""
    schema = {n: pl.String() for n in c.CONTENT.names}
    rows = 0
    for day in content_days(UPath(clean)):
        frames = []
        for path in content_files_for_day(UPath(clean), day):
            if path.name.endswith(".parquet"):
                frames.append(pl.read_parquet(path.path).select(pl.all().cast(pl.String)))
            elif path.name.endswith(".gz"):
                frames.append(pl.read_ndjson(gzip.decompress(Path(path.path).read_bytes()), schema=schema))
            else:
                frames.append(pl.read_ndjson(path.path, schema=schema))
        rows += pl.concat(frames, how="diagonal").height
    return rows


def project(landing: Path) -> int:
    first, last = partition_bounds()
    rows = 0
    for day in content_days(UPath(landing)):
        rows += ingest_content(content_files_for_day(UPath(landing), day), first, last).read
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--landing", type=Path, help="an existing landing zone (else one is generated)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        landing = args.landing
        if landing is None:
            from demo.generate import generate_landing_zone
            landing = Path(tmp) / "landing"
            generate_landing_zone(landing, items=args.items, users=max(args.items // 10, 100))
        clean = Path(tmp) / "clean"
        clean_copy(landing, clean)
        ratios = []
        print("round  project s  reference s  ratio  records read / reference rows")
        for r in range(1, args.rounds + 1):
            t = time.perf_counter()
            read = project(landing)
            p = time.perf_counter() - t
            t = time.perf_counter()
            rows = reference(clean)
            ref = time.perf_counter() - t
            ratios.append(p / ref)
            print(f"{r:>5}  {p:>9.2f}  {ref:>11.2f}  {p / ref:>5.2f}  {read:,} / {rows:,}", flush=True)
        print(f"median ratio project / bare polars read: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
