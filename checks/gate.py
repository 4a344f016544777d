"""The release gate: a partition may be packaged only if its blocking checks passed after
its latest materialization.

A failed blocking check stops what is downstream only inside its own run, and the
checked asset is already written (DAGSTER-NOTES.md). So the release, the one thing
consumers read, asks the instance itself: for every packaged partition and every
blocking check of the corpus, the latest evaluation whose run covered that partition
must have passed, and must be newer than the partition's latest materialization.

There is no history limit: both the materializations and the check evaluations are read
newest first, a page at a time, and reading stops as soon as every packaged partition is
decided, so the cost follows the partitions released, not the length of the history.
"""

from collections.abc import Iterable

import dagster as dg

from assets.partitions import DAILY

PAGE = 1000  # records per query when paging through the event log, newest first


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


def latest_materialization_records(instance: dg.DagsterInstance, asset: dg.AssetKey,
                                   partitions: Iterable[str]) -> dict[str, dg.EventLogRecord]:
    """Partition → its latest materialization record (partitions never built are absent)."""
    wanted = set(partitions)
    latest: dict[str, dg.EventLogRecord] = {}
    cursor: str | None = None
    while wanted - latest.keys():
        result = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset), limit=PAGE, cursor=cursor)
        for record in result.records:
            if record.partition_key in wanted:
                latest.setdefault(record.partition_key, record)
        if not result.has_more or not result.records:
            break
        cursor = result.cursor
    return latest


def latest_materializations(instance: dg.DagsterInstance, asset: dg.AssetKey,
                            partitions: Iterable[str]) -> dict[str, float]:
    """Partition → timestamp of its latest materialization (partitions never built are absent)."""
    return {p: r.timestamp for p, r in latest_materialization_records(instance, asset, partitions).items()}


def latest_check_outcomes(instance: dg.DagsterInstance, key: dg.AssetCheckKey, partitions: set[str],
                          runs: dict[str, dg.DagsterRun | None]) -> dict[str, tuple[str, float]]:
    """Partition → (status, time) of the newest decided evaluation of `key` covering it.

    An evaluation in a range run records no partition; the run's range tags say which it
    covered. Pages through the history newest first until every partition is decided.
    """
    storage = instance.event_log_storage
    decided: dict[str, tuple[str, float]] = {}
    cursor: int | None = None
    while partitions - decided.keys():
        records = storage.get_asset_check_execution_history(key, limit=PAGE, cursor=cursor)
        for record in records:
            status = record.status.value
            if status not in ("SUCCEEDED", "FAILED"):
                continue
            if record.partition:
                covered = {record.partition}
            else:
                if record.run_id not in runs:
                    runs[record.run_id] = instance.get_run_by_id(record.run_id)
                covered = run_partitions(runs[record.run_id]) or set()
            at = record.event.timestamp if record.event is not None else record.create_timestamp
            for partition in covered & partitions:
                decided.setdefault(partition, (status, at))
        if len(records) < PAGE:
            break
        cursor = min(r.id for r in records)
    return decided


def unverified_partitions(instance: dg.DagsterInstance, asset: dg.AssetKey, check_names: Iterable[str],
                          partitions: list[str]) -> dict[str, str]:
    """Partition → why it may not be released; empty when every partition is proven."""
    materialized = latest_materializations(instance, asset, partitions)
    problems = {p: "never materialized" for p in partitions if p not in materialized}
    runs: dict[str, dg.DagsterRun | None] = {}
    for name in check_names:
        decided = latest_check_outcomes(instance, dg.AssetCheckKey(asset, name), set(materialized), runs)
        for partition, built_at in materialized.items():
            status, evaluated_at = decided.get(partition, ("NONE", 0.0))
            if status == "NONE":
                problems.setdefault(partition, f"{name}: never evaluated")
            elif status != "SUCCEEDED":
                problems.setdefault(partition, f"{name}: latest evaluation failed")
            elif evaluated_at < built_at:
                problems.setdefault(partition, f"{name}: not evaluated since the latest materialization")
    return dict(sorted(problems.items()))
