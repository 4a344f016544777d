"""Turn a Pandera model into a Dagster asset check that reports its failure cases."""


import inspect

import dagster as dg
import pandera.polars as pa
import polars as pl

from assets.metadata import table
from assets.partitions import DAILY

SAMPLE_ROWS = 10


def collect(value: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """An asset value as loaded by the IO manager → one collected frame (pandera needs it)."""
    return value.collect() if isinstance(value, pl.LazyFrame) else value


def validate(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> tuple[bool, dict[str, object]]:
    """Validate all rows, collecting every failure; metadata holds counts per check and samples."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        per_check = cases.group_by("column", "check").len("failures").sort("failures", descending=True)
        return False, {
            "rows_checked": frame.height,
            "failures": cases.height,
            "failures_by_check": table(per_check.with_columns(pl.col("column").fill_null("(frame)"))),
            "sample_failures": table(cases.head(SAMPLE_ROWS).with_columns(pl.all().cast(pl.String))),
        }
    except pa.errors.SchemaError as error:
        return False, {"rows_checked": frame.height, "failures": 1, "error": str(error)}
    return True, {"rows_checked": frame.height, "failures": 0}


def schema_check(asset: str, model: type[pa.DataFrameModel], *, partitioned: bool,
                 blocking: bool = False) -> dg.AssetChecksDefinition:
    """A check named `<asset>_schema` that validates the asset's rows against `model`."""

    def _check_fn(*args: object, **kwargs: object) -> dg.AssetCheckResult:
        loaded = args[0] if args else kwargs[asset]
        passed, metadata = validate(model, collect(loaded))  # type: ignore[arg-type]
        return dg.AssetCheckResult(passed=passed, metadata=metadata)  # type: ignore[arg-type]

    # Dagster hands the checked asset to the parameter named after it.
    _check_fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(asset, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=object)],
        return_annotation=dg.AssetCheckResult)

    return dg.asset_check(
        asset=asset,
        name=f"{asset}_schema",
        blocking=blocking,
        partitions_def=DAILY if partitioned else None,
        description=(f"Validates every row of `{asset}` against the Pandera model "
                     f"`{model.__name__}`: {(model.__doc__ or '').strip()}"),
    )(_check_fn)
