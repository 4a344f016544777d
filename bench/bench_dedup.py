"""Benchmark `curation.dedup` on synthetic social posts (run by hand, never in the tests).

    .venv/bin/python -m bench.bench_dedup                 # 100k, 200k, 1M
    .venv/bin/python -m bench.bench_dedup 50000 300000    # other sizes

Posts are 100-300 characters of Zipf-distributed words from a 30,000-word vocabulary,
plus 5 % short stock phrases ("happy birthday!"); about 3 % are exact copies of an
earlier post (case, punctuation or emoji changed at most) and 3 % near copies (one or
two words replaced, sometimes an emoji or "!!" added), spread over 90 days. Each size
runs in a fresh subprocess so the peak RSS it reports is that run's own; "extra RSS" is
the peak (reset after loading the input, on Linux) minus the RSS after loading. "cpu s"
is the process CPU time of `cluster_duplicates` over both cores: wall time above it
means another process competed for the cores.
"copies found" is the share of injected copies clustered with their source (a near copy
with two words replaced in a short post can fall below J = 0.8, and is then correctly
not a near duplicate). Targets: 1M in < 90 s and < 4 GB,
200k in < 20 s, on two cores.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from curation.dedup import DedupConfig, cluster_duplicates, dedup_counts, resolve_clusters

SIZES = (100_000, 200_000, 1_000_000)
STOCK_PHRASES = (
    "happy birthday!",
    "so true",
    "congrats 🎉",
    "love this ❤️",
    "thank you so much",
    "lol",
    "same here",
    "miss you",
)
EMOJI = ("🎉", "❤️", "😂", "🔥", "👍")
REASONS = (None,) * 17 + ("not_public_source", "minor_at_creation", "objected")


def _vocabulary(rng: np.random.Generator, size: int = 30_000) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: set[str] = set()
    while len(words) < size:
        length = int(np.clip(rng.normal(5, 2), 1, 12))
        words.add("".join(rng.choice(letters, length)))
    return np.array(sorted(words))[rng.permutation(size)]


def generate(n: int, seed: int = 0) -> pl.DataFrame:
    """`n` posts with content_id, platform, created_at, text, exclusion_reason and
    `source` (the row an injected copy was made from, else null) for measuring recall."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    zipf /= zipf.sum()
    n_exact, n_near = int(n * 0.03), int(n * 0.03)
    n_base = n - n_exact - n_near
    words = rng.choice(len(vocab), size=(n_base, 70), p=zipf)
    targets = rng.integers(100, 301, size=n_base)
    short = rng.random(n_base) < 0.05
    texts: list[str] = []
    for i in range(n_base):
        if short[i]:
            texts.append(str(rng.choice(STOCK_PHRASES)))
            continue
        out, length = [], 0
        for w in vocab[words[i]]:
            out.append(w)
            length += len(w) + 1
            if length >= targets[i]:
                break
        texts.append(" ".join(out).capitalize() + str(rng.choice([".", "!", "?", ""])))
    sources: list[int | None] = [None] * n_base
    long_rows = np.flatnonzero(~short)
    for i in range(n_exact):
        src = int(rng.choice(long_rows))
        variant = rng.integers(3)
        text = texts[src]
        text = text.upper() if variant == 0 else text + " " + EMOJI[i % 5] if variant == 1 else text
        texts.append(text)
        sources.append(src)
    for _ in range(n_near):
        src = int(rng.choice(long_rows))
        tokens = texts[src].split(" ")
        for _ in range(int(rng.integers(1, 3))):
            tokens[int(rng.integers(len(tokens)))] = str(vocab[rng.choice(len(vocab), p=zipf)])
        text = " ".join(tokens)
        if rng.random() < 0.5:
            text += " " + str(rng.choice(EMOJI + ("!!",)))
        texts.append(text)
        sources.append(src)
    start = int(datetime(2025, 4, 1, tzinfo=UTC).timestamp() * 1_000_000)
    created = np.sort(rng.integers(start, start + 90 * 86_400_000_000, size=n))
    # a copy is made later than its source: base rows get the earliest instants
    return pl.DataFrame(
        {
            "content_id": [f"p{i:08d}" for i in range(n)],
            "platform": rng.choice(["facebook", "instagram", "messenger"], size=n),
            "created_at": pl.Series(created).cast(pl.Datetime("us", "UTC")),
            "text": texts,
            "exclusion_reason": [REASONS[j] for j in rng.integers(len(REASONS), size=n)],
            "source": pl.Series(sources, dtype=pl.Int64),
        }
    )


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (Linux), so loading the input does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(path: str) -> dict[str, float]:
    """Time one size on a fresh process; returns the measurements as a dict."""
    rows = pl.read_parquet(path)
    _reset_peak()
    base_rss = _status_mb("VmRSS") or _peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    clusters = cluster_duplicates(rows.select("content_id", "platform", "created_at", "text"))
    t1, c1 = time.perf_counter(), time.process_time()
    joined = rows.join(
        clusters.select("platform", "content_id", "cluster_id"),
        on=["platform", "content_id"],
        maintain_order="left",
    )
    t2 = time.perf_counter()
    resolved = resolve_clusters(joined)
    t3 = time.perf_counter()
    counts = dict(dedup_counts(resolved).iter_rows())
    copies = joined.with_row_index("i").filter(pl.col("source").is_not_null())
    cluster_of = joined["cluster_id"]
    found = (copies["cluster_id"] == cluster_of.gather(copies["source"].cast(pl.UInt32))).mean()
    return {
        "rows": rows.height,
        "cluster_s": t1 - t0,
        "cluster_cpu_s": c1 - c0,
        "resolve_s": t3 - t2,
        "peak_rss_mb": _peak_mb(),
        "extra_rss_mb": _peak_mb() - base_rss,
        "clusters": clusters["cluster_id"].n_unique(),
        "injected_found": float(found),
        **{k: float(v) for k, v in counts.items()},
    }


def main(sizes: tuple[int, ...]) -> None:
    """Generate each size, time it in a subprocess, print one table."""
    print(f"config: {DedupConfig()}")
    header = (
        f"{'rows':>9} {'cluster s':>10} {'(cpu s)':>8} {'resolve s':>10} {'peak RSS MB':>12}"
        f" {'extra RSS MB':>13} {'clusters':>9} {'copies found':>13} {'kept':>8}"
        f" {'duplicate':>10} {'copies_excl':>12}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = str(Path(tmp) / f"posts_{n}.parquet")
            generate(n).write_parquet(path)
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_dedup", "--one", path],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{int(r['rows']):>9,} {r['cluster_s']:>10.1f} {r['cluster_cpu_s']:>8.1f}"
                f" {r['resolve_s']:>10.2f}"
                f" {r['peak_rss_mb']:>12,.0f} {r['extra_rss_mb']:>13,.0f} {int(r['clusters']):>9,}"
                f" {r['injected_found']:>13.4f} {int(r['kept']):>8,} {int(r['duplicate']):>10,}"
                f" {int(r['copies_excluded_content']):>12,}",
                flush=True,
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run_one(sys.argv[2])))
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
