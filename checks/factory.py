"""Turn a Pandera model into a Dagster asset check that reports its failure cases."""


import inspect
from collections.abc import Callable

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


def checked_asset_as(asset: str, fn: Callable[..., dg.AssetCheckResult]) -> Callable[..., dg.AssetCheckResult]:
    """`fn` with its first parameter renamed to `asset`: Dagster hands a check the asset it
    checks through the parameter named after it, and a factory builds checks for many assets."""
    params = list(inspect.signature(fn).parameters.values())
    first, rest = params[0], params[1:]

    def wrapper(*args: object, **kwargs: object) -> dg.AssetCheckResult:
        if asset in kwargs:
            kwargs[first.name] = kwargs.pop(asset)
        return fn(*args, **kwargs)

    wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [first.replace(name=asset), *rest], return_annotation=dg.AssetCheckResult)
    wrapper.__name__ = f"{asset}_{fn.__name__}"
    return wrapper


def schema_check(asset: str, model: type[pa.DataFrameModel], *, partitioned: bool,
                 blocking: bool = False) -> dg.AssetChecksDefinition:
    """A check named `<asset>_schema` that validates the asset's rows against `model`."""

    def _validate(data: object) -> dg.AssetCheckResult:
        passed, metadata = validate(model, collect(data))  # type: ignore[arg-type]
        return dg.AssetCheckResult(passed=passed, metadata=metadata)  # type: ignore[arg-type]

    return dg.asset_check(
        asset=asset,
        name=f"{asset}_schema",
        blocking=blocking,
        partitions_def=DAILY if partitioned else None,
        description=(f"Validates every row of `{asset}` against the Pandera model "
                     f"`{model.__name__}`: {(model.__doc__ or '').strip()}"),
    )(checked_asset_as(asset, _validate))
