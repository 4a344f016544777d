"""Raw stage: landing files → typed Parquet, with every bad record kept in quarantine.

Thin wiring over `curation.ingest`; the reconciliation `valid + quarantined == read` is
checked while the asset runs (a check spec) so the numbers come from the same read.
Previews in the metadata name nobody: user ids appear as their `author_key`, birth dates
only as known/unknown (see `assets.metadata`).
"""


import dagster as dg
import polars as pl

from assets.metadata import column_schema, counts_by, markdown_preview, masked_detail, pseudonymised, table
from assets.partitions import DAILY, SINGLE_RUN, partition_bounds
from curation import contract as c
from curation.ingest import (
    content_files_for_day,
    empty_quarantine,
    ingest_content,
    ingest_users,
    latest_users,
    list_record_files,
)
from curation.inventory import INVENTORY_SCHEMA, STATUSES, inventory_counts, landing_inventory
from resources import AuthorKeySecret, LandingZone

OWNER = "team:data-platform"
RECONCILES = "valid_plus_quarantined_equals_read"

CONTENT_COLUMNS = {
    "content_id": "Item id, unique per platform.",
    "platform": "facebook, instagram, messenger, whatsapp or meta_ai.",
    "kind": "post, comment, caption, message, ai_prompt or ai_response.",
    "author_id": "Platform user id of the author (replaced by author_key downstream).",
    "created_at": "Creation time in UTC; its date is the partition.",
    "visibility": "public, friends, followers, private or direct.",
    "text": "The item's text as exported (may hold personal data; redacted downstream).",
    "deleted_at": "When the author deleted it (UTC), or null.",
    "parent_id": "The item this one answers, if any.",
    "locale": "The author's locale, e.g. de_AT.",
    "source_file": "Landing file the record came from.",
    "source_line": "Line (JSON Lines) or row (Parquet) in that file, 1-based.",
}
USER_COLUMNS = {
    "user_id": "Platform user id.",
    "birth_date": "Date of birth, or null (then the person is excluded: age_unknown).",
    "country": "ISO 3166-1 alpha-2; EU/EEA countries need a notice and a 42-day window.",
    "created_at": "Account creation (UTC).",
    "deleted_at": "Account deletion (UTC), or null.",
    "source_file": "The users file this latest record came from.",
}
QUARANTINE_COLUMNS = {
    "record_type": "content, users, notifications or objections.",
    "source_file": "Landing file the record came from.",
    "line": "Line or row in that file (null when the whole file was unreadable).",
    "reason": "First contract rule the record broke.",
    "detail": "Which field and value broke it.",
    "payload": "The record as it arrived (invalid bytes escaped).",
}


def _reconciliation(per_day: pl.DataFrame) -> dg.AssetCheckResult:
    broken = per_day.filter(pl.col("valid") + pl.col("quarantined") != pl.col("read"))
    return dg.AssetCheckResult(
        check_name=RECONCILES,
        asset_key="raw_content",
        passed=broken.is_empty(),
        metadata={
            "partitions": per_day.height,
            "read": int(per_day["read"].sum()),
            "valid": int(per_day["valid"].sum()),
            "quarantined": int(per_day["quarantined"].sum()),
            "partitions_not_reconciling": broken.height,
            "sample": table(broken.head(5)) if not broken.is_empty() else "none",
        },
    )


@dg.multi_asset(
    outs={
        "raw_content": dg.AssetOut(
            description=(
                "Every content record of the landing zone that meets the contract, typed "
                "(UTC timestamps), one Parquet file per UTC day of `created_at`. Reads only "
                "`content/*/<day>/` for its partition."),
            group_name="raw", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(
                {**c.CONTENT.schema, "source_file": pl.String(), "source_line": pl.Int64()}, CONTENT_COLUMNS)},
        ),
        "content_quarantine": dg.AssetOut(
            description=(
                "Content records that broke the landing contract, with file, line, reason and "
                "the payload as it arrived. Nothing is dropped silently: valid + quarantined == read."),
            group_name="raw", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(c.QUARANTINE_SCHEMA, QUARANTINE_COLUMNS)},
        ),
    },
    check_specs=[dg.AssetCheckSpec(
        RECONCILES, asset="raw_content", blocking=True,
        description="For every partition: valid rows + quarantined rows == records read.")],
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
)
def raw_content(context: dg.AssetExecutionContext, landing: LandingZone, author_key: AuthorKeySecret):
    """Ingest one or many days of content files; a run over a range reads each day once."""
    first, last = partition_bounds()
    root = landing.path()
    valid: dict[str, pl.DataFrame] = {}
    quarantined: dict[str, pl.DataFrame] = {}
    stats: list[dict[str, object]] = []
    for day in context.partition_keys:
        files = content_files_for_day(root, day)
        result = ingest_content(files, first, last, landing.max_file_bytes)
        valid[day] = result.valid
        quarantined[day] = result.quarantine
        stats.append({"day": day, "files": len(result.files), **result.counts()})
        if result.ignored_files:
            context.log.warning(f"{day}: not read (a link, a dot-file or another extension; see "
                                f"landing_inventory): {result.ignored_files}")
    per_day = pl.DataFrame(stats, schema={"day": pl.String, "files": pl.Int64, "read": pl.Int64,
                                          "valid": pl.Int64, "quarantined": pl.Int64})
    all_valid = pl.concat(list(valid.values())) if valid else pl.DataFrame(schema=c.CONTENT.schema)
    all_bad = pl.concat(list(quarantined.values())) if quarantined else empty_quarantine()
    single = len(context.partition_keys) == 1
    yield dg.Output(
        valid[context.partition_keys[0]] if single else valid,
        output_name="raw_content",
        metadata={
            "dagster/row_count": all_valid.height,
            "records_read": int(per_day["read"].sum()),
            "records_quarantined": all_bad.height,
            "files_read": int(per_day["files"].sum()),
            "rows_by_platform": counts_by(all_valid, "platform"),
            "per_day": table(per_day),
            "preview": markdown_preview(pseudonymised(all_valid.drop("text").head(5), "author_id", author_key.key())),
        },
    )
    yield dg.Output(
        quarantined[context.partition_keys[0]] if single else quarantined,
        output_name="content_quarantine",
        metadata={
            "dagster/row_count": all_bad.height,
            "by_reason": table(all_bad.group_by("reason").len("rows").sort("rows", descending=True)),
            **{f"quarantined_{reason}": int(n) for reason, n in counts_by(all_bad, "reason").items()},
            "preview": markdown_preview(all_bad.select("source_file", "line", "reason", masked_detail())),
        },
    )
    yield _reconciliation(per_day)


@dg.multi_asset(
    outs={
        "raw_users": dg.AssetOut(
            description=(
                "The user snapshot: the latest record per `user_id` across `users/` files "
                "(files in name order, later lines win). Birth date and country drive the age "
                "and notice rules. A user whose newest file holds two different (or broken) "
                "records has no record here (fail closed: `conflicting_user_records`)."),
            group_name="raw", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(
                {**c.USERS.schema, "source_file": pl.String()}, USER_COLUMNS)},
        ),
        "users_quarantine": dg.AssetOut(
            description="User records that broke the landing contract, with file, line and reason.",
            group_name="raw", kinds={"polars", "parquet"}, owners=[OWNER],
            metadata={"dagster/column_schema": column_schema(c.QUARANTINE_SCHEMA, QUARANTINE_COLUMNS)},
        ),
    },
)
def raw_users(context: dg.AssetExecutionContext, landing: LandingZone, author_key: AuthorKeySecret):
    """Ingest every users file; a conflicting record for one user inside one file is quarantined,
    and a user whose newest file is in conflict keeps no record at all."""
    files = list_record_files(landing.path("users"))
    result = ingest_users(files, landing.max_file_bytes)
    snapshot, superseded = latest_users(result)
    snapshot = snapshot.drop("source_line")
    yield dg.Output(snapshot, output_name="raw_users", metadata={
        "dagster/row_count": snapshot.height,
        "records_read": result.read,
        "records_superseded_by_later_files": superseded,
        "records_quarantined": result.quarantine.height,
        "users_withheld_conflicting_records": int(
            result.quarantine.filter(pl.col("reason") == c.CONFLICTING_USER_RECORDS)["detail"].n_unique()),
        "users_by_country": counts_by(snapshot, "country"),
        "birth_date_unknown": snapshot["birth_date"].null_count(),
        "accounts_deleted": int(snapshot["deleted_at"].is_not_null().sum()),
        "files": len(result.files),
        "preview": markdown_preview(pseudonymised(
            snapshot.head(5).with_columns(pl.col("birth_date").is_not_null().alias("birth_date")),
            "user_id", author_key.key()).rename({"birth_date": "birth_date_known"})),
    })
    yield dg.Output(result.quarantine, output_name="users_quarantine", metadata={
        "dagster/row_count": result.quarantine.height,
        **{f"quarantined_{reason}": int(n) for reason, n in counts_by(result.quarantine, "reason").items()},
    })
    context.log.info(f"users: {result.counts()}, superseded {superseded}")


INVENTORY_COLUMNS = {
    "path": "File path relative to the landing root ('/'-separated).",
    "kind": "Record type of its top folder (content, users, notifications, objections) or unknown.",
    "status": "read (its records are valid or quarantined), quarantined (refused whole) or ignored (never opened).",
    "reason": "Why it was not read (null when read): e.g. symlink, bad_day_folder, decompressed_too_large.",
    "detail": "The reason in words (the limit, the missing columns, the partition range).",
    "bytes": "Size on storage (of the link itself for a symbolic link).",
}


@dg.asset(
    name="landing_inventory",
    description=(
        "Every file under the landing root and what the reader does with it: read, quarantined "
        "whole (unreadable, too large, missing contract columns) or ignored with its reason "
        "(symbolic link, dot-file, folder that is not a YYYY-MM-DD day, day outside the "
        "partitions, nested folder, wrong level, unknown folder or extension). Nothing under "
        "the landing root is skipped without a row here."),
    group_name="raw", kinds={"polars", "parquet"}, owners=[OWNER],
    metadata={"dagster/column_schema": column_schema(INVENTORY_SCHEMA, INVENTORY_COLUMNS)},
)
def landing_inventory_asset(context: dg.AssetExecutionContext, landing: LandingZone) -> dg.Output[pl.DataFrame]:
    """List the landing zone; the counts by status and reason are the asset's metadata."""
    first, last = partition_bounds()
    inventory = landing_inventory(landing.path(), first, last, landing.max_file_bytes)
    counts = inventory_counts(inventory)
    not_read = inventory.filter(pl.col("status") != "read")
    if not not_read.is_empty():
        context.log.warning(f"landing zone: {not_read.height} files not read, see landing_inventory")
    return dg.Output(inventory, metadata={
        "dagster/row_count": inventory.height,
        **{f"files_{status}": counts[status] for status in STATUSES},
        "bytes_total": int(inventory["bytes"].sum()),
        "by_reason": table(not_read.group_by("status", "reason").len("files").sort("files", descending=True)),
        **{f"files_{key.replace(':', '_')}": n for key, n in counts.items() if ":" in key},
        "not_read": table(not_read.select("path", "kind", "status", "reason", "detail", "bytes"), limit=50),
    })
