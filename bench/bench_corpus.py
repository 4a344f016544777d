"""Benchmark the corpus build against a bare polars floor and a peer (by hand, never in tests).

    .venv/bin/python -m bench.bench_corpus --sizes 100000 1000000    # what bench/README.md reports
    .venv/bin/python -m bench.bench_corpus --sizes 100000 --repeat 1 --skip-peer
    .venv/bin/python -m bench.bench_corpus --sizes 1000000 --repeat 1 --skip-peer --corpus-steps

For each size, a landing zone is generated with `demo.generate` (users = items / 10, seed 7,
90 days from 2025-04-01, 1 % malformed records) and these pipelines run on it, each in its
own subprocess, interleaved round by round so they share the machine's load:

* **project**: `python -m automation.full_build` (what `make run` runs: one in-process Dagster
  run over the whole partition range, T pinned to the sample's `recommended_as_of`), with a
  fresh `CONSENTRY_DATA` and `DAGSTER_HOME` per run. Step durations come from the Dagster
  instance afterwards (`get_run_step_stats`), summed per stage (`STAGE_OF_STEP`).
* **reference**: bare polars (`reference_build`): only the consent join and filter.
* **peer**: HuggingFace datatrove (`bench/peer_datatrove.py`) in its own venv.
* **project_tmpfs_home** (round 1, when the budget allows): the project build again with
  DAGSTER_HOME on /dev/shm, to show what the SQLite event log's disk writes cost.
* with `--corpus-steps`, after round 1's project build: `corpus_steps` times the parts of
  the `filtered_corpus` step (PII, de-duplication, language id, …) on that build's data.

Measured per run: wall time, CPU time (user + system of the process tree: the larger of
`wait4`'s count and the sum sampled from /proc), peak memory (the larger of the kernel's
peak RSS of the largest process and the sampled sum of PSS over the process tree, every
0.25 s), and the 1-minute load average sampled during the run. Reported: medians over
`--repeat` rounds, and the ratios project/reference and peer/project computed within each
round, then their median. Rounds after the first (project and peer only), the tmpfs
variant and whole sizes are skipped, and listed as skipped, when an estimate says they
would end past `--budget-minutes`. The estimate for a new size is linear in items, and the
corpus step is not (bench/README.md): 5,000,000 items passed the estimate and took 20 min.

The peer's interpreter: `--peer-python`, else `$CONSENTRY_BENCH_PEER_PYTHON`, else
`bench/.venv-peer/bin/python`, created (with `datatrove[io,processing]==0.10.1`) when missing.
Temp folders (landing zones, outputs) live under `--workdir` (a new temp dir by default) and
are removed at the end unless `--keep` (which keeps logs; landing zones are always removed).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = ROOT / "bench" / "peer_datatrove.py"
PEER_VENV = ROOT / "bench" / ".venv-peer"
PEER_REQUIREMENT = "datatrove[io,processing]==0.10.1"
PEER_ENV = "CONSENTRY_BENCH_PEER_PYTHON"
ITEMS_PER_USER = 10
SEED = 7
START = "2025-04-01"
DAYS = 90

# Dagster step keys → the stage they belong to; every other step is an asset check.
STAGE_OF_STEP = {
    "raw_content": "ingest",
    "raw_users": "ingest",
    "consent_ledger": "ingest",
    "consent_state": "consent",
    "filtered_corpus": "corpus",
    "corpus_release": "release",
}
STAGES = ("ingest", "consent", "corpus", "checks", "release")


# --------------------------------------------------------------------------- (b) reference

ALLOWED_PUBLIC = (
    pl.col("platform").is_in(["facebook", "instagram", "messenger"])
    & pl.col("kind").is_in(["post", "comment", "caption"])
    & (pl.col("visibility") == "public")
)
ALLOWED_ANY_VISIBILITY = (pl.col("platform") == "meta_ai") & (pl.col("kind") == "ai_prompt")
MINIMUM_AGE = 18
_ISO = "%Y-%m-%dT%H:%M:%S%.f%:z"


def _json_objects(raw: bytes) -> bytes:
    """Only the lines that are JSON objects: polars' NDJSON reader stops at invalid UTF-8 or
    bad JSON even with `ignore_errors=True` (that flag covers value types only)."""
    keep = []
    for line in raw.split(b"\n"):
        if line.startswith(b"{"):
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            keep.append(line)
    return b"\n".join(keep)


def _read_jsonl(paths: list[Path], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    parts = []
    for path in paths:
        raw = path.read_bytes()
        parts.append(_json_objects(gzip.decompress(raw) if path.name.endswith(".gz") else raw))
    data = b"\n".join(p for p in parts if p)
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_ndjson(io.BytesIO(data), schema=schema, ignore_errors=True)


def _utc(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace(r"Z$", "+00:00").str.to_datetime(_ISO, strict=False, time_zone="UTC", time_unit="us")


def _date_key(d: pl.Expr) -> pl.Expr:
    return d.dt.year().cast(pl.Int32) * 10_000 + d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted((p for p in folder.rglob("*") if p.name.endswith(suffixes)), key=lambda p: str(p))


def reference_build(landing: Path, out: Path, as_of: datetime) -> dict:
    """The floor: content ⋈ users, allowed source, adult at creation, not objected → Parquet.

    No quarantine: malformed lines are skipped (`_json_objects`); mistyped values are
    stringified by polars and then fail a rule or a parse; a row without text is dropped (as
    datatrove's readers do); no de-duplication, PII, language.
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    strings = {
        c: pl.String() for c in ("content_id", "platform", "kind", "author_id", "created_at", "visibility", "text")
    }
    content_root = landing / "content"
    jsonl = _read_jsonl(_files(content_root, (".jsonl", ".jsonl.gz")), strings).with_columns(
        _utc(pl.col("created_at")).alias("created_at")
    )
    parquet = [pl.read_parquet(p, columns=list(strings)) for p in _files(content_root, (".parquet",))]
    content = pl.concat(
        [
            jsonl,
            *(
                f.with_columns(pl.col("created_at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
                for f in parquet
            ),
        ]
    )
    timings["read_content"] = time.perf_counter() - t

    t = time.perf_counter()
    user_files = _files(landing / "users", (".jsonl", ".jsonl.gz", ".parquet"))
    users = (
        pl.concat(
            [
                (
                    pl.read_parquet(p, columns=["user_id", "birth_date"]).with_columns(
                        pl.col("birth_date").cast(pl.Date)
                    )
                    if p.name.endswith(".parquet")
                    else _read_jsonl([p], {"user_id": pl.String(), "birth_date": pl.String()}).with_columns(
                        pl.col("birth_date").str.to_date("%Y-%m-%d", strict=False)
                    )
                )
                for p in user_files
            ]
        )
        .filter(pl.col("user_id").is_not_null())
        .unique("user_id", keep="last", maintain_order=True)
    )
    objections = _read_jsonl(
        _files(landing / "objections", (".jsonl", ".jsonl.gz")),
        {
            "submission_id": pl.String(),
            "user_id": pl.String(),
            "action": pl.String(),
            "submitted_at": pl.String(),
        },
    ).with_columns(_utc(pl.col("submitted_at")).alias("submitted_at"))
    objectors = (
        objections.filter(
            pl.col("user_id").is_not_null()
            & pl.col("action").is_in(["object", "withdraw"])
            & (pl.col("submitted_at") <= as_of)
        )
        .group_by("user_id")
        .agg(pl.col("action").sort_by(["submitted_at", pl.col("action") == "object", "submission_id"]).last())
        .filter(pl.col("action") == "object")
        .select("user_id")
    )
    timings["read_users_objections"] = time.perf_counter() - t

    t = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    corpus = (
        content.lazy()
        .filter((ALLOWED_PUBLIC | ALLOWED_ANY_VISIBILITY) & (pl.col("text").str.len_bytes() > 0))
        .join(users.lazy(), left_on="author_id", right_on="user_id", how="inner")
        .join(objectors.lazy(), left_on="author_id", right_on="user_id", how="anti")
        .filter(_date_key(pl.col("created_at").dt.date()) - _date_key(pl.col("birth_date")) >= MINIMUM_AGE * 10_000)
        .drop("birth_date")
        .collect()
    )
    corpus.write_parquet(out / "corpus.parquet")
    timings["join_filter_write"] = time.perf_counter() - t
    return {
        "timings": timings,
        "rows_in": content.height,
        "rows_out": corpus.height,
        "users": users.height,
        "objectors": objectors.height,
    }


# --------------------------------------------------------------------------- corpus steps


def corpus_steps(data: Path) -> dict:
    """Time the parts of the `filtered_corpus` step on a finished build's own inputs.

    Re-runs `evaluate_content` and `curation.corpus.curate` on `raw_content` and
    `consent_state` as the build wrote them, with `curate`'s callees wrapped in timers
    (it looks them up in its module at call time). The step itself also loads its input,
    writes three outputs for every day and stores Dagster events; that is the gap
    between these parts and the step's duration.
    """
    import curation.corpus as cc
    from curation.eligibility import evaluate_content
    from curation.policy import Policy

    spent: dict[str, float] = {}

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    assets = data / "assets"
    started = time.perf_counter()
    state = pl.read_parquet(assets / "consent_state.parquet")
    raw = pl.scan_parquet(str(assets / "raw_content" / "*.parquet"))
    evaluated = (
        evaluate_content(raw, state, as_of=state["as_of"][0], policy=Policy())
        .with_columns(pl.col("created_at").dt.date().alias("day"))
        .collect()
    )
    spent["read + rules 1-7"] = time.perf_counter() - started
    for name in ("prepare_text", "redact_pii", "cluster_duplicates", "resolve_clusters",
                 "identify_language"):  # fmt: skip
        setattr(cc, name, timed(name, getattr(cc, name)))
    started = time.perf_counter()
    curated = cc.curate(evaluated, evaluated["day"].unique().to_list(), cc.CurationConfig())
    total = time.perf_counter() - started
    spent["normalize_text"] = spent.pop("prepare_text") - spent["redact_pii"]
    parts = sum(v for k, v in spent.items() if k != "read + rules 1-7")
    spent["rest of curate (joins, quality, outcomes)"] = total - parts
    return {"seconds": spent, "rows_judged": evaluated.height,
            "candidates": int(evaluated["exclusion_reason"].is_null().sum()),
            "corpus_rows": curated.corpus.height, "clusters": curated.clusters}  # fmt: skip


# --------------------------------------------------------------------------- measuring


def _loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> tuple[dict[int, list[int]], dict[int, int]]:
    """`{ppid: [pid, …]}` and `{pid: utime + stime in clock ticks}` of every process."""
    kids: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        kids.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12])
    return kids, ticks


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and its descendants, their CPU time, and the load.

    CPU time: `wait4` only counts children that their parent waited for; datatrove's
    workers are forked by a forkserver, so the tree's CPU is also summed from /proc (each
    process's last sample, so it can miss up to one interval per process).
    """

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_mb = 0.0
        self.loads: list[float] = []
        self.max_processes = 0
        self._ticks: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        last_load = 0.0
        while not self._done.is_set():
            kids, ticks = _process_table()
            tree, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                tree.append(p)
                todo.extend(kids.get(p, []))
            self.peak_mb = max(self.peak_mb, sum(_pss_mb(p) for p in tree))
            self.max_processes = max(self.max_processes, len(tree))
            self._ticks.update({p: ticks[p] for p in tree if p in ticks})
            if time.monotonic() - last_load >= 5:
                self.loads.append(_loadavg())
                last_load = time.monotonic()
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()

    @property
    def cpu_s(self) -> float:
        return sum(self._ticks.values()) / CLOCK_TICKS


@dataclass
class Run:
    """One measured subprocess."""

    what: str
    items: int
    round: int
    ok: bool
    wall_s: float
    cpu_s: float
    peak_mb: float
    max_rss_mb: float
    tree_pss_mb: float
    processes: int
    load: float
    rows_out: int | None = None
    detail: dict = field(default_factory=dict)
    started_at: float = 0.0  # epoch seconds, to place Dagster's own timestamps in the wall time
    ended_at: float = 0.0


def measure(what: str, items: int, rnd: int, cmd: list[str], env: dict[str, str], log: Path) -> tuple[Run, str]:
    """Run `cmd`, return its measurements and its stdout (stderr goes to `log`)."""
    load_before = _loadavg()
    with open(log, "wb") as err, tempfile.TemporaryFile() as out:
        started_at = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
    loads = [load_before, *sampler.loads, _loadavg()]
    max_rss = usage.ru_maxrss / 1024
    run = Run(
        what=what,
        items=items,
        round=rnd,
        ok=proc.returncode == 0,
        wall_s=wall,
        cpu_s=max(usage.ru_utime + usage.ru_stime, sampler.cpu_s),
        peak_mb=max(max_rss, sampler.peak_mb),
        max_rss_mb=max_rss,
        tree_pss_mb=sampler.peak_mb,
        processes=sampler.max_processes,
        load=statistics.mean(loads),
        started_at=started_at,
        ended_at=started_at + wall,
    )
    if not run.ok:
        print(f"  {what} FAILED (exit {proc.returncode}); see {log}", flush=True)
    return run, stdout


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENTRY_", "DAGSTER_"))}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def step_stats(home: Path, run: Run) -> dict:
    """Step durations of the latest run recorded at `home`, summed per stage, and where the
    rest of the process's wall time went: before the run record is created (start-up,
    imports, landing scan), from creation to RUN_START, between steps, after RUN_SUCCESS."""
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.get_run_records(limit=1)[0]
        run_stats = instance.get_run_stats(record.dagster_run.run_id)
        steps = {
            s.step_key: (s.end_time or 0) - (s.start_time or 0)
            for s in instance.get_run_step_stats(record.dagster_run.run_id)
        }
        events = len(instance.get_records_for_run(record.dagster_run.run_id).records)
    stages = dict.fromkeys(STAGES, 0.0)
    for key, seconds in steps.items():
        stages[STAGE_OF_STEP.get(key, "checks")] += seconds
    created = record.create_timestamp.timestamp()
    start, end = run_stats.start_time or created, run_stats.end_time or run.ended_at
    outside = {
        "before_run_created": created - run.started_at,
        "run_created_to_start": start - created,
        "between_steps": (end - start) - sum(steps.values()),
        "after_run_end": run.ended_at - end,
    }
    return {
        "run_s": end - start,
        "stages": stages,
        "outside_steps": outside,
        "events": events,
        "steps": steps,
    }


def run_project(
    items: int,
    rnd: int,
    landing: Path,
    work: Path,
    home_root: Path | None = None,
    time_corpus_steps: bool = False,
) -> Run:
    """`make run`'s build; `home_root` moves DAGSTER_HOME (tmpfs: the event-log variant);
    `time_corpus_steps` times the parts of `filtered_corpus` on the build's own data."""
    what = "project" if home_root is None else "project_tmpfs_home"
    folder = work / what
    data, home = folder / "data", (home_root or folder) / f"home-{what}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    env = _clean_env(CONSENTRY_DATA=str(data), CONSENTRY_LANDING=str(landing), DAGSTER_HOME=str(home))
    run, _ = measure(
        what,
        items,
        rnd,
        [sys.executable, "-m", "automation.full_build"],
        env,
        work / f"{what}-{items}-{rnd}.log",
    )
    try:  # a failed build still has the durations of the steps it ran
        run.detail = step_stats(home, run)
    except Exception as error:  # noqa: BLE001 - no run recorded at all: keep the measurement
        run.detail = {"step_stats_error": repr(error)}
    if run.ok:
        run.rows_out = (
            pl.scan_parquet(str(data / "assets" / "filtered_corpus" / "*.parquet")).select(pl.len()).collect().item()
        )
    # its inputs exist even when a later step of the build failed
    if time_corpus_steps and (data / "assets" / "consent_state.parquet").exists():
        steps = subprocess.run(
            [sys.executable, "-m", "bench.bench_corpus", "--corpus-steps", str(data)],
            cwd=ROOT, env=_clean_env(), capture_output=True, text=True, check=True,
        )  # fmt: skip
        run.detail["corpus_steps"] = json.loads(steps.stdout.strip().splitlines()[-1])
        print(f"  corpus steps: {_seconds(run.detail['corpus_steps']['seconds'])}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return run


def _seconds(spent: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in spent.items())


def run_reference(items: int, rnd: int, landing: Path, work: Path, as_of: str) -> Run:
    out = work / "reference"
    shutil.rmtree(out, ignore_errors=True)
    run, stdout = measure(
        "reference",
        items,
        rnd,
        [sys.executable, "-m", "bench.bench_corpus", "--reference", str(landing), str(out), as_of],
        _clean_env(),
        work / f"reference-{items}-{rnd}.log",
    )
    if run.ok:
        run.detail = json.loads(stdout.strip().splitlines()[-1])
        run.rows_out = run.detail["rows_out"]
    shutil.rmtree(out, ignore_errors=True)
    return run


def run_peer(items: int, rnd: int, landing: Path, work: Path, as_of: str, python: str, tasks: int) -> Run:
    out = work / "peer"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        python,
        str(PEER_SCRIPT),
        "--landing",
        str(landing),
        "--out",
        str(out),
        "--as-of",
        as_of,
        "--tasks",
        str(tasks),
    ]
    env = _clean_env(HF_HUB_OFFLINE="1", HOME=str(work / "peer-home"))
    env.pop("PYTHONPATH")
    run, stdout = measure("peer", items, rnd, cmd, env, work / f"peer-{items}-{rnd}.log")
    if run.ok:
        run.detail = json.loads(stdout.strip().splitlines()[-1])
        run.rows_out = run.detail["rows_out"]
    shutil.rmtree(out, ignore_errors=True)
    return run


def peer_python(explicit: str | None) -> str:
    """The peer venv's interpreter; creates `bench/.venv-peer` when nothing else is given."""
    chosen = explicit or os.environ.get(PEER_ENV)
    if chosen:
        return chosen
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} with {PEER_REQUIREMENT} (once) …", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(PEER_VENV)], check=True)
        (PEER_VENV / ".gitignore").write_text("*\n")  # never committed
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", PEER_REQUIREMENT], check=True)
    return str(python)


def generate(items: int, landing: Path, work: Path) -> tuple[Run, str]:
    cmd = [
        sys.executable,
        "-m",
        "demo.generate",
        "--out",
        str(landing),
        "--items",
        str(items),
        "--users",
        str(max(1, items // ITEMS_PER_USER)),
        "--seed",
        str(SEED),
        "--start",
        START,
        "--days",
        str(DAYS),
    ]
    run, stdout = measure("generate", items, 0, cmd, _clean_env(), work / f"generate-{items}.log")
    if not run.ok:
        raise SystemExit(f"generating {items} items failed: see {work}/generate-{items}.log")
    manifest = json.loads((landing / "SAMPLE.json").read_text())
    run.detail = {"stdout": stdout.strip(), "valid": manifest["content"]["valid"]}
    return run, manifest["recommended_as_of"]


# --------------------------------------------------------------------------- report

PIPELINES = ("reference", "project", "project_tmpfs_home", "peer")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: list[Run], items: int) -> dict:
    by = {w: [r for r in runs if r.what == w and r.items == items and r.ok] for w in PIPELINES}
    out: dict = {"items": items}
    for what, rs in by.items():
        if rs:
            wall = _median([r.wall_s for r in rs])
            out[what] = {
                "n": len(rs),
                "wall_s": wall,
                "cpu_s": _median([r.cpu_s for r in rs]),
                "peak_mb": max(r.peak_mb for r in rs),
                "rows_per_s": items / wall,
                "rows_out": rs[0].rows_out,
                "load": _median([r.load for r in rs]),
                "walls": [round(r.wall_s, 1) for r in rs],
            }

    def ratio(a: str, b: str) -> float | None:
        """Median over rounds of a/b, each ratio taken within one round."""
        pairs = [ra.wall_s / rb.wall_s for ra in by[a] for rb in by[b] if ra.round == rb.round]
        return _median(pairs) if pairs else None

    out["project_over_reference"] = ratio("project", "reference")
    out["peer_over_project"] = ratio("peer", "project")
    out["tmpfs_over_project"] = ratio("project_tmpfs_home", "project")
    for what in ("project", "project_tmpfs_home"):
        if by[what]:
            rs = by[what]
            out[what] |= {
                "stages": {s: _median([r.detail["stages"][s] for r in rs]) for s in STAGES},
                "dagster_run_s": _median([r.detail["run_s"] for r in rs]),
                "outside_steps": {
                    k: _median([r.detail["outside_steps"][k] for r in rs]) for k in rs[0].detail["outside_steps"]
                },
                "events": rs[0].detail["events"],
            }
            if "corpus_steps" in rs[0].detail:
                out[what]["corpus_steps"] = rs[0].detail["corpus_steps"]
    return out


def print_table(summaries: list[dict]) -> None:
    columns = ("items", "pipeline", "runs", "wall s, median (each)", "rows/s", "CPU s", "peak MB",
               "rows out", "load", "ratio")  # fmt: skip
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for s in summaries:
        for what in PIPELINES:
            if what not in s:
                continue
            m = s[what]
            ratio = {
                "project": ("project/reference", s.get("project_over_reference")),
                "peer": ("peer/project", s.get("peer_over_project")),
                "project_tmpfs_home": ("tmpfs/project", s.get("tmpfs_over_project")),
            }.get(what)
            shown = f"{ratio[0]} = {ratio[1]:.2f}" if ratio and ratio[1] else ""
            walls = ", ".join(map(str, m["walls"]))
            cells = (f"{s['items']:,}", what, str(m["n"]), f"{m['wall_s']:.1f} ({walls})",
                     f"{m['rows_per_s']:,.0f}", f"{m['cpu_s']:.1f}", f"{m['peak_mb']:,.0f}",
                     f"{m['rows_out']:,}", f"{m['load']:.1f}", shown)  # fmt: skip
            print("| " + " | ".join(cells) + " |")
    for s in summaries:
        for what in ("project", "project_tmpfs_home"):
            if what in s:
                m = s[what]
                stages = ", ".join(f"{k} {v:.1f}" for k, v in m["stages"].items())
                outside = ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in m["outside_steps"].items())
                print(
                    f"{what} at {s['items']:,}: steps (s, median) {stages}; Dagster run "
                    f"{m['dagster_run_s']:.1f} of {m['wall_s']:.1f} wall; outside steps {outside}; "
                    f"{m['events']:,} events stored"
                )
                if "corpus_steps" in m:
                    print(f"  inside filtered_corpus: {_seconds(m['corpus_steps']['seconds'])}")


def versions(peer: str | None) -> dict[str, str]:
    from importlib.metadata import version

    out = {
        "python": platform.python_version(),
        "polars": pl.__version__,
        "dagster": version("dagster"),
    }
    if peer:
        probe = subprocess.run(
            [
                peer,
                "-c",
                "from importlib.metadata import version as v; print(v('datatrove'), v('pyarrow'), v('orjson'))",
            ],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            dt, pa, oj = probe.stdout.split()
            out |= {"datatrove": dt, "peer_pyarrow": pa, "peer_orjson": oj}
    return out


def tmpfs_root() -> Path | None:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (median reported)")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=40,
        help="skip rounds after the first (and sizes) that would end past this; the reference always runs every round",
    )
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument(
        "--no-tmpfs-variant",
        action="store_true",
        help="skip the extra project build with DAGSTER_HOME on /dev/shm (round 1 only)",
    )
    parser.add_argument(
        "--corpus-steps",
        action="store_true",
        help="in round 1, also time the parts of filtered_corpus (PII, dedup, language id, …)",
    )
    parser.add_argument("--peer-python", help=f"interpreter with datatrove (else ${PEER_ENV}, else {PEER_VENV})")
    parser.add_argument("--peer-tasks", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="where landing zones and outputs go (a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)

    began = time.monotonic()
    peer = None if args.skip_peer else peer_python(args.peer_python)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    work.mkdir(parents=True, exist_ok=True)
    shm = None if args.no_tmpfs_variant else tmpfs_root()
    facts = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "versions": versions(peer),
        "load_at_start": Path("/proc/loadavg").read_text().strip(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "skipped": [],
    }
    print(json.dumps(facts), flush=True)
    runs: list[Run] = []
    generated: dict[int, dict] = {}
    summaries = []
    budget = args.budget_minutes * 60
    per_item_s: float | None = None  # generation + one round, per item, from the previous size

    def skip(text: str) -> None:
        facts["skipped"].append(text)
        print(f"  skipped: {text}", flush=True)

    try:
        for items in args.sizes:
            elapsed = time.monotonic() - began
            if per_item_s is not None and elapsed + per_item_s * items > budget:
                skip(
                    f"{items:,} items: generation and one round estimated at "
                    f"{per_item_s * items / 60:.0f} min after {elapsed / 60:.0f} min, past the "
                    f"{args.budget_minutes:.0f}-minute budget"
                )
                continue
            landing = work / f"landing-{items}"
            gen, as_of = generate(items, landing, work)
            generated[items] = asdict(gen)
            print(f"{items:,} items: generated in {gen.wall_s:.1f} s", flush=True)
            round_s = 0.0
            for rnd in range(args.repeat):
                common = (items, rnd, landing, work)
                jobs = [("reference", partial(run_reference, *common, as_of))]
                if rnd == 0 or time.monotonic() - began + round_s <= budget:
                    steps = rnd == 0 and args.corpus_steps
                    project = partial(run_project, *common, time_corpus_steps=steps)
                    jobs.insert(0, ("project", project))
                    if peer:
                        jobs.append(("peer", partial(run_peer, *common, as_of, peer, args.peer_tasks)))
                    if rnd == 0 and shm is not None:
                        jobs.append(("project_tmpfs_home", partial(run_project, *common, shm)))
                else:
                    skip(
                        f"{items:,} items, round {rnd + 1}: project and peer (a round takes "
                        f"~{round_s / 60:.0f} min: past the {args.budget_minutes:.0f}-min budget)"
                    )
                for what, job in jobs:
                    if what == "project_tmpfs_home":
                        project_s = next(r.wall_s for r in runs if r.what == "project"
                                         and r.items == items and r.round == rnd)  # fmt: skip
                        if time.monotonic() - began + project_s > budget:
                            skip(f"{items:,} items: the tmpfs variant (one more build, "
                                 f"~{project_s / 60:.0f} min: past the budget)")  # fmt: skip
                            continue
                    r = job()
                    runs.append(r)
                    if rnd == 0 and what != "project_tmpfs_home":
                        round_s += r.wall_s
                    print(
                        f"  round {rnd + 1} {what:18} wall {r.wall_s:7.1f} s  cpu {r.cpu_s:7.1f} s"
                        f"  peak {r.peak_mb:7,.0f} MB  rows out {r.rows_out}  load {r.load:.1f}",
                        flush=True,
                    )
            per_item_s = (gen.wall_s + round_s) / items
            shutil.rmtree(landing, ignore_errors=True)
            summaries.append(summarize(runs, items))
            print_table(summaries[-1:])
    finally:
        facts["minutes"] = (time.monotonic() - began) / 60
        if args.json:
            everything = {"facts": facts, "generated": generated, "summaries": summaries,
                          "runs": [asdict(r) for r in runs]}  # fmt: skip
            args.json.write_text(json.dumps(everything, indent=1, default=str))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(summaries)
    for items, gen in generated.items():
        print(f"generator at {items:,} items: {gen['wall_s']:.1f} s, peak {gen['peak_mb']:,.0f} MB")
    print(f"whole benchmark: {facts['minutes']:.1f} min")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--corpus-steps":
        print(json.dumps(corpus_steps(Path(sys.argv[2]))))
        sys.exit(0)
    if len(sys.argv) == 5 and sys.argv[1] == "--reference":
        result = reference_build(Path(sys.argv[2]), Path(sys.argv[3]), datetime.fromisoformat(sys.argv[4]))
        print(json.dumps(result))
        sys.exit(0)
    sys.exit(main())
