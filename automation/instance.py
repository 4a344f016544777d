"""The local Dagster instance at DAGSTER_HOME and its `dagster.yaml`.

`make run` and `make ui` share it, so the UI shows the runs of `make run` and the daemon
starts from what they built. The generated configuration bounds the run queue (a 2-core
machine: two runs at a time, at most one cut of a release, purges two at a time) and turns
on run monitoring (runs stuck starting are failed; killed workers are failed by the
sensors, see automation/run_health.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MAX_CONCURRENT_RUNS = int(os.environ.get("CONSENTRY_MAX_CONCURRENT_RUNS", "2"))

DAGSTER_YAML = f"""# Written by consentry (automation/instance.py); edit freely, it is not overwritten.
concurrency:
  runs:
    max_concurrent_runs: {MAX_CONCURRENT_RUNS}
    tag_concurrency_limits:
      - key: consentry/trigger
        value: objection
        limit: {MAX_CONCURRENT_RUNS}
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  poll_interval_seconds: 30
telemetry:
  enabled: false
nux:
  enabled: false
"""
# What earlier versions wrote: replaced by the template above (nobody edited it).
OLD_GENERATED = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"


def ensure_instance_home() -> Path:
    """DAGSTER_HOME from the environment (the Makefile defaults it to `.dagster_home/`),
    with the project's dagster.yaml unless one is already there."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() == OLD_GENERATED:
        temporary = config.with_suffix(".yaml.tmp")
        temporary.write_text(DAGSTER_YAML)
        temporary.replace(config)
    return home


if __name__ == "__main__":
    print(f"Dagster instance: {ensure_instance_home()}", file=sys.stderr)
