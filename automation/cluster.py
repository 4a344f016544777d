"""`make run-cluster`: the same build on a local Ray cluster, PostgreSQL and an S3 endpoint.

What it starts, all on 127.0.0.1 and all stopped again when it ends (docs/DEPLOYMENT.md):

* a PostgreSQL server (`automation.local_services`): one database for the Dagster instance
  (`dagster-postgres`: runs, events, check results) and one for the consent ledger;
* a moto S3 server: the landing zone, the asset outputs and the releases live in a bucket;
* a Ray cluster: a head (scheduler, GCS, job server; no CPUs of its own, so no run lands
  there) and `--workers` worker nodes with one CPU each.

The build is the one `make run` does, launched run by run through the Dagster instance,
whose run launcher is dagster-ray's `RayRunLauncher`: each Dagster run becomes a Ray job,
which Ray places on a free worker. Consent first (one run), then the content days in
`--workers` contiguous chunks launched together (they run in parallel, one per worker),
then the days another chunk made stale (a bridge in the dedup index, as the incremental
`make run` does), then the cut (`release_job`). The release id is a content hash, so it
equals the one of `make run` on the same landing zone, T and author key.

Why runs and not steps as Ray jobs: `dagster-ray`'s `ray_executor` makes every step (one of
~40 assets and checks) a Ray job with ~10 s of start-up (SCALE-NOTES.md); a run as one Ray
job pays that once per chunk of days. The dedup index stays on a POSIX state root shared by
the workers (here the local disk; an NFS/EFS mount on a real cluster): its writes are
serialised by a file lock, so chunks wait on each other only for the index update.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
BUCKET = "consentry"
# Variables a Ray job gets from the launching process (names only: values never enter dagster.yaml).
JOB_ENV = ["PATH", "HOME", "DAGSTER_HOME", "CONSENTRY_DATA", "CONSENTRY_LANDING", "CONSENTRY_STATE",
           "CONSENTRY_LEDGER_URL", "CONSENTRY_AUTHOR_KEY", "CONSENTRY_AUTHOR_KEY_FILE", "CONSENTRY_HOME",
           "CONSENTRY_AS_OF", "CONSENTRY_DAGSTER_PG_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
           "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP",
           "AWS_EC2_METADATA_DISABLED", "RAY_ADDRESS"]


def instance_yaml(dashboard_url: str) -> str:
    """The cluster's dagster.yaml: PostgreSQL storage and Ray as the run launcher.

    The database URL is read from CONSENTRY_DAGSTER_PG_URL when the instance loads (it may
    hold a password); the Ray jobs get the variables named in JOB_ENV from the launcher.
    """
    env_list = "\n".join(f"        - {name}" for name in JOB_ENV)
    return f"""# Written by consentry (automation/cluster.py) for a cluster build.
storage:
  postgres:
    postgres_url:
      env: CONSENTRY_DAGSTER_PG_URL
# Runs launch when submitted (Dagster 1.13's default coordinator queues them for a daemon; a
# production instance keeps the queue and runs `dagster-daemon`, docs/DEPLOYMENT.md).
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: dagster_ray
  class: RayRunLauncher
  config:
    ray:
      address: "{dashboard_url}"
      num_cpus: 1
      env_vars:
{env_list}
telemetry:
  enabled: false
nux:
  enabled: false
"""


def _ray_env() -> dict[str, str]:
    # RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 lets worker nodes join a head at 127.0.0.1 (Ray refuses
    # a multi-node "localhost" cluster otherwise); every address below is given explicitly, so
    # nothing listens beyond loopback (checked with `ss -ltnp`, docs/DEPLOYMENT.md).
    return {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def _node_ports() -> list[str]:
    from automation.local_services import free_port

    names = ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port",
             "runtime-env-agent-port", "node-manager-port", "object-manager-port")
    return [f"--{name}={free_port()}" for name in names]


def _stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process group we started (`ray start --block` stops its node), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the node's own children (raylet, agents) share the group
    except ProcessLookupError:
        pass
    proc.wait(timeout)


@dataclass(frozen=True)
class RayCluster:
    gcs_address: str
    dashboard_url: str
    workers: int


def _alive_workers(dashboard_url: str) -> int:
    with urllib.request.urlopen(f"{dashboard_url}/nodes?view=summary", timeout=5) as response:
        nodes = json.load(response)["data"]["summary"]
    return sum(1 for n in nodes if n.get("raylet", {}).get("state") == "ALIVE"
               and not n.get("raylet", {}).get("isHeadNode", False))


@contextmanager
def local_ray(workers: int, temp_root: Path) -> Iterator[RayCluster]:
    """A head (0 CPUs) and `workers` worker nodes (1 CPU each) on 127.0.0.1; stopped on exit."""
    from automation.local_services import free_port

    ray = str(Path(sys.executable).with_name("ray"))
    gcs_port, dashboard_port = free_port(), free_port()
    # Ray's socket paths live under its temp dir and must stay under 108 bytes (AF_UNIX): a short one.
    temp = Path(tempfile.mkdtemp(prefix="cray-", dir="/tmp"))
    logs = temp_root / "ray-logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str], port_range: int) -> None:
        with open(logs / f"{name}.log", "wb") as log:
            procs.append(subprocess.Popen(
                [ray, "start", "--block", "--node-ip-address=127.0.0.1", "--disable-usage-stats",
                 *_node_ports(), f"--min-worker-port={port_range}", f"--max-worker-port={port_range + 999}", *args],
                env=_ray_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    dashboard = f"http://127.0.0.1:{dashboard_port}"
    try:
        start("head", ["--head", f"--port={gcs_port}", "--num-cpus=0", "--include-dashboard=true",
                       "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
                       f"--ray-client-server-port={free_port()}", f"--temp-dir={temp}"], 20000)
        _wait(lambda: _alive_workers(dashboard) >= 0, 90, procs, "the Ray head")
        for i in range(workers):  # one at a time: two raylets starting at once time out on 2 busy cores
            start(f"worker{i + 1}", [f"--address=127.0.0.1:{gcs_port}", "--num-cpus=1"], 21000 + 1000 * i)
            _wait(lambda n=i + 1: _alive_workers(dashboard) == n, 180, procs, f"Ray worker {i + 1}")
        yield RayCluster(f"127.0.0.1:{gcs_port}", dashboard, workers)
    finally:
        for proc in reversed(procs):
            _stop_group(proc)
        shutil.rmtree(temp, ignore_errors=True)


def _wait(ready, timeout: float, procs: Sequence[subprocess.Popen], what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{what}: a Ray node exited with {dead[0].returncode} (see its log)")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready in {timeout} s")


def launch(job: str, tags: dict[str, str], run_config: dict, env: dict[str, str]) -> str:
    """Launch one run of `job` through the instance (so through RayRunLauncher); returns its id."""
    run_id = str(uuid.uuid4())
    out = subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-f", str(ROOT / "definitions.py"),
                    "-d", str(ROOT), "-j", job, "--run-id", run_id, "--tags", json.dumps(tags),
                    "--config-json", json.dumps(run_config)],
                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(f"dagster job launch {job} failed:\n{out.stdout[-2000:]}{out.stderr[-4000:]}")
    return run_id


def wait_runs(run_ids: Sequence[str], timeout: float = 3600) -> dict[str, str]:
    """Block until every run ended; returns run id → status name."""
    import dagster as dg

    final = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.get() as instance:
        while True:
            runs = {r: instance.get_run_by_id(r) for r in run_ids}
            if all(run is not None and run.status in final for run in runs.values()):
                return {r: run.status.value for r, run in runs.items()}  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished in {timeout} s: {run_ids}")
            time.sleep(1)


def chunks(days: Sequence[str], n: int) -> list[tuple[str, str]]:
    """`days` cut into at most `n` contiguous (first, last) ranges of near-equal length."""
    n = max(1, min(n, len(days)))
    size, extra = divmod(len(days), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append((days[start], days[end - 1]))
        start = end
    return out


def cluster_build(days: Sequence[str], workers: int, as_of: str, env: dict[str, str]) -> dict[str, object]:
    """Consent, then the day chunks in parallel on the workers, then stale days, then the cut."""
    from automation.incremental import contiguous_ranges
    from curation.stale_days import stale_days

    config = {"resources": {"policy": {"config": {"as_of": as_of}}}} if as_of else {}
    timings: dict[str, float] = {}

    def phase(name: str, launches: list[tuple[str, dict[str, str]]]) -> None:
        started = time.perf_counter()
        ids = [launch(job, tags, config, env) for job, tags in launches]
        statuses = wait_runs(ids)
        timings[name] = round(time.perf_counter() - started, 1)
        failed = [r for r, s in statuses.items() if s != "SUCCESS"]
        print(f"  {name}: {len(ids)} run(s) on Ray in {timings[name]} s"
              f"{'' if not failed else ', FAILED: ' + ', '.join(failed)}", flush=True)
        if failed:
            raise RuntimeError(f"{name}: runs failed: {failed} (dagster UI on this DAGSTER_HOME shows why)")

    phase("consent", [("consent_refresh_job", {})])
    spans = chunks(days, workers)
    phase("content days", [("daily_content_job", {RANGE_START: a, RANGE_END: b}) for a, b in spans])
    for round_ in range(3):  # a chunk's new day can bridge clusters of another chunk's days (as in make run)
        stale = [d.isoformat() for d in stale_days(Path(env["CONSENTRY_STATE"]) / "dedup_index")]
        if not stale:
            break
        phase(f"stale days ({len(stale)}, round {round_ + 1})",
              [("objection_purge_job", {RANGE_START: a, RANGE_END: b}) for a, b in contiguous_ranges(stale)])
    phase("release", [("release_job", {})])
    return timings


@contextmanager
def local_cluster(workers: int, work: Path) -> Iterator[dict[str, str]]:
    """PostgreSQL, S3 and Ray on 127.0.0.1; yields the environment a cluster build runs in."""
    from automation.local_services import fresh_database, local_postgres, local_s3, postgres_bin_dir, s3_environment

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server (initdb, pg_ctl): `make cluster-deps` installs Debian's postgresql")
    with ExitStack() as stack:
        started = time.perf_counter()
        server = stack.enter_context(local_postgres(bin_dir))
        endpoint = stack.enter_context(local_s3((BUCKET,)))
        ray = stack.enter_context(local_ray(workers, work))
        home = work / "dagster_home"
        home.mkdir(exist_ok=True)
        (home / "dagster.yaml").write_text(instance_yaml(ray.dashboard_url))
        env = {**os.environ, **s3_environment(endpoint),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "DAGSTER_HOME": str(home), "RAY_ADDRESS": ray.dashboard_url,
               # dagster-postgres speaks psycopg2 (`NOTIFY run_events, %s`); SQLAlchemy 2.1 defaults
               # postgresql:// to psycopg 3, which rejects that statement: name the driver.
               "CONSENTRY_DAGSTER_PG_URL": fresh_database(server, "dagster").replace(
                   "postgresql://", "postgresql+psycopg2://", 1),
               "CONSENTRY_LEDGER_URL": fresh_database(server, "ledger"),
               "CONSENTRY_DATA": f"s3://{BUCKET}/data", "CONSENTRY_LANDING": f"s3://{BUCKET}/landing",
               "CONSENTRY_STATE": str(work / "state")}
        print(f"local cluster up in {time.perf_counter() - started:.1f} s: PostgreSQL, S3 {endpoint}, "
              f"Ray head {ray.gcs_address} + {workers} workers (dashboard {ray.dashboard_url})", flush=True)
        yield env


def _forget_s3_clients() -> None:
    import fsspec

    fsspec.get_filesystem_class("s3").clear_instance_cache()


def run_cluster(landing: Path, workers: int, as_of: str, work: Path) -> dict[str, object]:
    """Upload `landing`, build on the local cluster, return the release summary and timings."""
    import polars as pl
    from upath import UPath

    from automation.local_services import upload_folder
    from curation.ingest import content_days
    from curation.release import verify_release

    with local_cluster(workers, work) as env:
        saved = dict(os.environ)
        os.environ.update(env)  # this process reads the instance and S3 too
        _forget_s3_clients()  # s3fs caches clients per process: an earlier endpoint would be reused
        try:
            print(f"uploaded {upload_folder(landing, env['CONSENTRY_LANDING'])} landing files to "
                  f"{env['CONSENTRY_LANDING']}", flush=True)
            from assets.partitions import partition_bounds

            first, last = partition_bounds()
            days = [d for d in content_days(UPath(env["CONSENTRY_LANDING"])) if str(first) <= d <= str(last)]
            started = time.perf_counter()
            timings = cluster_build(days, workers, as_of, env)
            elapsed = time.perf_counter() - started
            summary = pl.read_parquet(f"{env['CONSENTRY_DATA']}/assets/corpus_release.parquet").row(0, named=True)
            problems = verify_release(UPath(summary["path"]))
            return {**summary, "verifies": not problems, "problems": problems[:5], "seconds": round(elapsed, 1),
                    "phases": timings, "days": len(days), "workers": workers}
        finally:
            os.environ.clear()
            os.environ.update(saved)
            _forget_s3_clients()


def stop_on_sigterm() -> None:
    """SIGTERM (a timeout, CI ending) unwinds like Ctrl-C, so every server started here is stopped."""
    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    stop_on_sigterm()
    warnings.filterwarnings("ignore", message=r".*is currently in (preview|beta)")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("CONSENTRY_CLUSTER_WORKERS", "2")))
    parser.add_argument("--landing", default=os.environ.get("CONSENTRY_LANDING", ""),
                        help="local landing zone to upload (default: the sample make run uses, generated if missing)")
    args = parser.parse_args(argv)
    from upath import UPath

    from automation.full_build import landing_has_data, sample_as_of
    from curation.keyfile import KEY_ENV, KEY_FILE_ENV, default_key_file

    landing = Path(args.landing or Path(os.environ.get("CONSENTRY_DATA", "data")) / "landing").resolve()
    if not landing_has_data(UPath(str(landing))):
        from demo.generate import generate_landing_zone

        print(f"landing zone {landing} is empty: generating the sample landing zone …", flush=True)
        generate_landing_zone(landing)
    as_of = os.environ.get("CONSENTRY_AS_OF") or sample_as_of(UPath(str(landing)))
    if not os.environ.get(KEY_ENV):  # the same installation key as make run, so author_keys match
        os.environ[KEY_FILE_ENV] = str(default_key_file(os.environ))
    print(f"as-of time T: {as_of or 'the run start'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="consentry-cluster-") as tmp:
        result = run_cluster(landing, args.workers, as_of, Path(tmp))
    print(f"\nrelease:      {result['release_id']}  ({result['rows']:,} rows, {result['partitions']} partitions; "
          f"manifest {'verifies' if result['verifies'] else 'DOES NOT verify: ' + '; '.join(result['problems'])})")
    print(f"build:        {result['seconds']} s on {result['workers']} Ray workers: {result['phases']}")
    print("stopped:      Ray head and workers, PostgreSQL, S3 (everything this command started)")
    return 0 if result["verifies"] else 1


if __name__ == "__main__":
    sys.exit(main())
