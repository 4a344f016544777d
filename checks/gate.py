"""The release gate: a partition may be packaged only if its blocking checks passed after
its latest materialization.

A failed blocking check stops what is downstream only inside its own run, and the
checked asset is already written (DAGSTER-NOTES.md). So the release, the one thing
consumers read, asks the instance itself: for every packaged partition and every
blocking check of the corpus, the latest evaluation whose run covered that partition
must have passed, and must be newer than the partition's latest materialization.
"""

from collections.abc import Iterable

import dagster as dg

from assets.partitions import DAILY

HISTORY_LIMIT = 500


def run_partitions(run: dg.DagsterRun | None) -> set[str] | None:
    """The partitions a run covered (None: unknown or unpartitioned)."""
    if run is None:
        return None
    tags = run.tags
    if "dagster/partition" in tags:
        return {tags["dagster/partition"]}
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        return set(DAILY.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return None


def latest_materializations(instance: dg.DagsterInstance, asset: dg.AssetKey,
                            partitions: Iterable[str]) -> dict[str, float]:
    """Partition → timestamp of its latest materialization (partitions never built are absent)."""
    latest: dict[str, float] = {}
    for partition in partitions:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1)
        if result.records:
            latest[partition] = result.records[0].timestamp
    return latest


def unverified_partitions(instance: dg.DagsterInstance, asset: dg.AssetKey, check_names: Iterable[str],
                          partitions: list[str]) -> dict[str, str]:
    """Partition → why it may not be released; empty when every partition is proven."""
    materialized = latest_materializations(instance, asset, partitions)
    problems = {p: "never materialized" for p in partitions if p not in materialized}
    runs: dict[str, dg.DagsterRun | None] = {}
    for name in check_names:
        key = dg.AssetCheckKey(asset, name)
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=HISTORY_LIMIT)
        decided: dict[str, tuple[str, float]] = {}
        for record in sorted(records, key=lambda r: r.id, reverse=True):
            status = record.status.value
            if status not in ("SUCCEEDED", "FAILED"):
                continue
            if record.run_id not in runs:
                runs[record.run_id] = instance.get_run_by_id(record.run_id)
            covered = {record.partition} if record.partition else run_partitions(runs[record.run_id])
            for partition in (covered or set()) & set(materialized):
                at = record.event.timestamp if record.event is not None else record.create_timestamp
                decided.setdefault(partition, (status, at))
        for partition, built_at in materialized.items():
            status, evaluated_at = decided.get(partition, ("NONE", 0.0))
            if status == "NONE":
                problems.setdefault(partition, f"{name}: never evaluated")
            elif status != "SUCCEEDED":
                problems.setdefault(partition, f"{name}: latest evaluation failed")
            elif evaluated_at < built_at:
                problems.setdefault(partition, f"{name}: not evaluated since the latest materialization")
    return dict(sorted(problems.items()))
