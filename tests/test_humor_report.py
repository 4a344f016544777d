"""The per-country humor report: rates with Wilson intervals, only where k authors stand behind a cell."""

import polars as pl

from curation.humor_report import ALL, humor_by_country, humor_chart


def rows(country: str, authors: int, per_author: int, sarcastic: int, platform: str = "facebook") -> list[dict]:
    out = []
    for a in range(authors):
        for _ in range(per_author):
            out.append({"country": country, "language": "de", "platform": platform,
                        "author_key": f"{country}-{platform}-{a}", "humor_score": 0.5,
                        "sarcasm": len(out) < sarcastic})
    return out


def test_rates_have_wilson_intervals_and_small_cells_are_withheld() -> None:
    tagged = pl.DataFrame(rows("DE", 5, 2, 5) + rows("AT", 2, 10, 3) + rows("DE", 1, 3, 0, platform="x"))
    report = humor_by_country(tagged, k=5)
    assert set(report["country"].to_list()) == {"DE"}  # AT: 2 authors < k, withheld everywhere
    cell = report.filter((pl.col("language") == "de") & (pl.col("platform") == "facebook")).row(0, named=True)
    assert (cell["rows"], cell["authors"], cell["sarcastic_rows"]) == (10, 5, 5)
    # Wilson 95 % for 5 of 10: 0.2366 .. 0.7634
    assert (cell["sarcasm_rate"], cell["sarcasm_rate_low"], cell["sarcasm_rate_high"]) == (0.5, 0.2366, 0.7634)
    total = report.filter(pl.col("language") == ALL).row(0, named=True)
    assert (total["rows"], total["authors"]) == (13, 6)  # the 1-author platform counts in the country's total
    assert report.filter(pl.col("platform") == "x").is_empty()


def test_the_chart_has_one_bar_per_country_and_says_when_nothing_can_be_shown() -> None:
    tagged = pl.DataFrame(rows("DE", 5, 2, 5) + rows("FR", 6, 1, 0))
    chart = humor_chart(humor_by_country(tagged, k=5))
    lines = [line for line in chart.splitlines() if line.startswith("| DE") or line.startswith("| FR")]
    assert [line.split()[1] for line in lines] == ["DE", "FR"]  # highest rate first
    assert "█" * 15 + "░" * 15 in lines[0] and "░" * 30 in lines[1]
    assert "no country" in humor_chart(humor_by_country(tagged, k=50))
