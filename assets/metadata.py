"""Small helpers that turn polars frames into Dagster UI metadata (tables, previews, schemas).

Metadata is stored in the event log and shown to everyone with UI access, so a preview
never carries a raw user id, birth date or e-mail: ids become their keyed `author_key`
(`pseudonymised`), birth dates a known/unknown flag, and a quarantine detail keeps the
field name but not the value that broke it (`masked_detail`).
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import polars as pl

from curation.eligibility import author_keys

_DAGSTER_TYPES = {
    pl.String: "string", pl.Int64: "int", pl.Int32: "int", pl.UInt32: "int", pl.UInt64: "int",
    pl.Boolean: "bool", pl.Float64: "float", pl.Date: "date",
}


def _type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if isinstance(dtype, pl.List):
        return "list"
    return _DAGSTER_TYPES.get(type(dtype), str(dtype))


def column_schema(schema: Mapping[str, pl.DataType], descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    """A Dagster column schema (shown on the asset page) from a polars schema."""
    descriptions = descriptions or {}
    return dg.TableSchema(columns=[
        dg.TableColumn(name, _type_name(dtype), description=descriptions.get(name))
        for name, dtype in schema.items()
    ])


def table(frame: pl.DataFrame, limit: int = 200) -> dg.TableMetadataValue:
    """A frame as a UI table (first `limit` rows); values become strings or numbers."""
    shown = frame.head(limit)
    records = [
        dg.TableRecord({k: (v if isinstance(v, int | float | str | bool) or v is None else str(v))
                        for k, v in row.items()})
        for row in shown.iter_rows(named=True)
    ]
    return dg.MetadataValue.table(records=records, schema=column_schema(shown.schema))


def markdown_preview(frame: pl.DataFrame, rows: int = 5, max_chars: int = 80) -> dg.MarkdownMetadataValue:
    """The first rows as a Markdown table, long strings cut so the page stays readable."""
    head = frame.head(rows).with_columns(
        pl.col(pl.String).str.slice(0, max_chars).str.replace_all(r"[|\n\r]", " ")
    )
    if head.is_empty():
        return dg.MetadataValue.md("_no rows_")
    header = "| " + " | ".join(head.columns) + " |\n|" + "---|" * len(head.columns) + "\n"
    body = "\n".join("| " + " | ".join("" if v is None else str(v) for v in row) + " |"
                     for row in head.iter_rows())
    return dg.MetadataValue.md(header + body)


def counts_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    """`{value: rows}` for one column, sorted by value (null shown as "null")."""
    grouped = frame.group_by(column).len().sort(column, nulls_last=True)
    return {("null" if k is None else str(k)): int(n) for k, n in grouped.iter_rows()}


def pseudonymised(frame: pl.DataFrame, id_column: str, secret: bytes) -> pl.DataFrame:
    """`id_column` replaced, in place, by `author_key` (its keyed hash): a preview that names nobody."""
    position = frame.columns.index(id_column)
    keyed = frame.with_columns(author_keys(pl.col(id_column), secret).alias("author_key"))
    columns = [c for c in keyed.columns if c not in (id_column, "author_key")]
    columns.insert(position, "author_key")
    return keyed.select(columns)


def masked_detail(column: str = "detail") -> pl.Expr:
    """A quarantine detail without the offending value (`birth_date=1990-13-45` → `birth_date=…`),
    since the value may be an id, a birth date or an e-mail."""
    return pl.col(column).str.replace(r"=.*$", "=…")
