"""Parquet IO manager for polars frames, with atomic writes and single-run backfills.

Built on Dagster's `UPathIOManager` (paths, partitions, local or object-store URLs through
fsspec). Two things it adds, both found necessary by running Dagster 1.13
(see DAGSTER-NOTES.md):

* a single-run backfill hands one output for many partitions: the asset returns a
  ``dict[partition_key, DataFrame]`` and each partition is written to its own file;
* local writes go to a temporary file in the same folder and are then renamed over the
  target with ``os.replace``, so a reader never sees half a file. Object stores replace
  an object in one PUT, which is atomic already.

Partitions load as one ``pl.LazyFrame`` over all the partition files asked for, so
downstream assets see the same type for one day or a year, and decide what to collect.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from curation.leftovers import remove_leftovers, tmp_prefix


def _options(path: UPath) -> dict[str, Any] | None:
    """UPath's fsspec options as polars wants them (a plain dict, or None to read AWS_* from the env)."""
    return dict(path.storage_options) or None


def write_parquet_atomic(frame: pl.DataFrame, path: UPath | Path | str) -> None:
    """Write `frame` to `path`; locally via temp file + rename so the write is all or nothing."""
    target = UPath(path)
    if target.protocol in ("", "file", "local"):
        local = Path(target.path)
        local.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(local.parent, recursive=False)  # temporaries of killed writers
        fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=tmp_prefix(local.name), suffix=".tmp")
        os.close(fd)
        try:
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            os.replace(tmp, local)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        frame.write_parquet(str(target), compression="zstd", storage_options=_options(target))


class PolarsParquetIOManager(dg.UPathIOManager):
    """Stores polars DataFrames as `<base>/<asset key>/<partition>.parquet`."""

    extension: str = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        if isinstance(obj, pl.LazyFrame):
            obj = obj.collect()
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key}: expected a polars DataFrame, got {type(obj)}")
        write_parquet_atomic(obj, path)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.LazyFrame:
        if not path.exists():
            raise FileNotFoundError(path)
        return pl.scan_parquet(str(path), storage_options=_options(path))

    def load_partitions(self, context: dg.InputContext) -> pl.LazyFrame:
        paths = list(self._get_paths_for_partitions(context).values())
        missing = [str(p) for p in paths if not p.exists()]
        if missing and not (context.definition_metadata or {}).get("allow_missing_partitions", False):
            raise FileNotFoundError(f"{context.asset_key}: partitions not materialized: {missing[:5]}")
        present = [p for p in paths if p.exists()]
        if not present:
            raise FileNotFoundError(f"{context.asset_key}: none of {len(paths)} partitions is materialized")
        return pl.scan_parquet([str(p) for p in present], storage_options=_options(present[0]))

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            if not isinstance(obj, dict):
                raise TypeError(
                    f"{context.asset_key}: a run over {len(context.asset_partition_keys)} "
                    "partitions must return dict[partition_key, DataFrame]"
                )
            paths = self._get_paths_for_partitions(context)
            missing = set(paths) - set(obj)
            if missing:
                raise ValueError(f"{context.asset_key}: no output for partitions {sorted(missing)}")
            for key, path in paths.items():
                self.dump_to_path(context, obj[key], path)
            context.add_output_metadata({"partitions_written": len(paths)})
            return
        if context.has_asset_partitions and isinstance(obj, dict):
            (obj,) = obj.values()
        super().handle_output(context, obj)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Configurable front of `PolarsParquetIOManager`: `base_path` may be local or `s3://…`."""

    base_path: str

    def create_io_manager(self, context: dg.InitResourceContext) -> PolarsParquetIOManager:
        return PolarsParquetIOManager(base_path=UPath(self.base_path))
