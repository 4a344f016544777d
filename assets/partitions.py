"""The daily partitioning shared by every content asset: one partition per UTC day.

The first day is `PARTITION_START` (the sample's story starts on 2025-04-01); the last is
the current UTC day. Changing the start changes the partition set, so it is a code
setting reviewed like code, not run config.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

PARTITION_START = "2025-04-01"

DAILY = dg.DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1)

SINGLE_RUN = dg.BackfillPolicy.single_run()


def partition_bounds(partitions: dg.DailyPartitionsDefinition = DAILY) -> tuple[date, date]:
    """First and last day a content item may carry (inclusive) to be partitioned at all."""
    keys = partitions.get_partition_keys()
    return date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])
