"""How each country uses humor: irony and sarcasm rates per country, language and platform.

The seed's aim names "the different ways each country uses humor or sarcasm". A rate is
only shown where at least k distinct authors stand behind its cell (the same privacy floor
as the subsets' guard), with a 95 % Wilson interval, so that a small cell neither
identifies people nor reads as a finding. Rates are over all tagged corpus rows of the
build, not over the subset (whose threshold keeps only the surest rows):

* `sarcasm_rate`: share of rows whose `sarcasm` flag is set (the irony model at its
  best-F1 threshold; bench/TAGGERS.md gives its precision and recall);
* `mean_irony_probability`: the mean calibrated `humor_score`, the model's estimate of the
  ironic share when it is calibrated on text like this.
"""

import polars as pl

Z = 1.959964  # 95 %
ALL = "all"
CHART_WIDTH = 30


def _wilson(hits: pl.Expr, n: pl.Expr, name: str) -> list[pl.Expr]:
    p = hits / n
    z2 = Z * Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z * ((p * (1 - p) / n + z2 / (4 * n * n)).sqrt()) / (1 + z2 / n)
    return [p.round(4).alias(name), (centre - half).clip(0, 1).round(4).alias(f"{name}_low"),
            (centre + half).clip(0, 1).round(4).alias(f"{name}_high")]


def humor_by_country(tagged: pl.DataFrame, k: int) -> pl.DataFrame:
    """One row per (country, language, platform) and per country over all of them
    (`all`), kept only where ≥ k distinct authors wrote its rows."""
    frame = tagged.select("country", "language", "platform", "author_key", "humor_score",
                          pl.col("sarcasm").cast(pl.Int64)).drop_nulls("country")
    rollup = frame.with_columns(pl.lit(ALL).alias("language"), pl.lit(ALL).alias("platform"))
    cells = (pl.concat([frame, rollup])
             .group_by("country", "language", "platform")
             .agg(pl.len().alias("rows"), pl.col("author_key").n_unique().alias("authors"),
                  pl.col("sarcasm").sum().alias("sarcastic_rows"),
                  pl.col("humor_score").mean().round(4).alias("mean_irony_probability"))
             .filter(pl.col("authors") >= k))
    return (cells.with_columns(_wilson(pl.col("sarcastic_rows"), pl.col("rows"), "sarcasm_rate"))
            .sort("country", pl.col("language") != ALL, "language", "platform"))


def humor_chart(report: pl.DataFrame) -> str:
    """Markdown bars of each country's sarcasm rate (its `all` row) with the interval."""
    countries = report.filter((pl.col("language") == ALL) & (pl.col("platform") == ALL)).sort(
        "sarcasm_rate", descending=True)
    if countries.is_empty():
        return "_no country has enough distinct authors to show a rate_\n"
    lines = ["| country | sarcasm rate (95 % CI) | | rows | authors |", "|---|---|---|---:|---:|"]
    for row in countries.iter_rows(named=True):
        filled = round(row["sarcasm_rate"] * CHART_WIDTH)
        bar = "█" * filled + "░" * (CHART_WIDTH - filled)
        lines.append(f"| {row['country']} | {row['sarcasm_rate']:.1%} ({row['sarcasm_rate_low']:.1%}–"
                     f"{row['sarcasm_rate_high']:.1%}) | `{bar}` | {row['rows']:,} | {row['authors']:,} |")
    return "\n".join(lines) + "\n"
