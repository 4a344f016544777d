"""Runs left STARTED by a worker that is gone (kill -9, OOM, a reboot) are marked failed.

Dagster's run monitoring cannot see this for the default run launcher (it has no worker
health check: `supports_check_run_worker_health` is False), so a killed run would stay
STARTED forever, hold its partitions "in flight" and never be retried. The run worker's
pid is on its RUN_START event; on this one machine a pid that no longer runs a process,
or runs something other than Python, means the worker died. Failing the run makes the
alert sensor raise it once and the objection sensor retry it.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from curation.leftovers import pid_alive

GRACE_SECONDS = 30  # a run that just started may not have written RUN_START yet


def worker_alive(pid: int) -> bool:
    """True if `pid` is a live Python process on this machine (zombies count as dead)."""
    if not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return not cmdline.exists() or b"python" in cmdline.read_bytes() or b"dagster" in cmdline.read_bytes()
    except OSError:
        return False


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.pid:
            return int(event.pid)
    return None


def fail_dead_runs(instance: dg.DagsterInstance, now: float) -> list[str]:
    """Mark STARTED runs whose worker process is gone as failed; returns their ids."""
    failed: list[str] = []
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for record in records:
        run = record.dagster_run
        started = record.start_time or record.create_timestamp.timestamp()
        if now - started < GRACE_SECONDS:
            continue
        pid = run_worker_pid(instance, run.run_id)
        if pid is None or pid == os.getpid() or worker_alive(pid):
            continue
        fresh = instance.get_run_by_id(run.run_id)
        if fresh is None or fresh.status != dg.DagsterRunStatus.STARTED:
            continue
        instance.report_run_failed(fresh, f"run worker (pid {pid}) is gone: killed or crashed; "
                                          "its partitions will be rebuilt by the next request")
        failed.append(run.run_id)
    return failed
