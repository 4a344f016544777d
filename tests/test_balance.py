"""Per-country sampler quotas and determinism; the k-author guard on a case exposing one person."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.balance import (
    FEWER_THAN_K,
    OVER_SHARE,
    TOO_FEW_ROWS,
    BalanceConfig,
    balance_by_country,
    country_caps,
    k_author_groups,
    k_author_guard,
)


def rows(counts: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({
        "content_id": [f"{c}-{i}" for c, n in counts.items() for i in range(n)],
        "country": [c for c, n in counts.items() for _ in range(n)],
    })


def test_caps_respect_the_share_and_keep_small_countries_whole() -> None:
    caps = country_caps({"DE": 1000, "FR": 300, "IT": 200, "PT": 50, "IE": 40}, max_share=0.3)
    total = sum(caps.values())
    assert all(n <= 0.3 * total + 1 for n in caps.values())
    assert caps["PT"] == 50 and caps["IE"] == 40 and caps["DE"] == caps["FR"]


def test_fewer_countries_than_one_over_share_split_equally() -> None:
    assert country_caps({"DE": 100, "AT": 10}, max_share=0.25) == {"DE": 10, "AT": 10}


def test_sampler_quotas_and_reasons() -> None:
    frame = rows({"DE": 500, "FR": 120, "IT": 100, "ES": 90, "PT": 3})
    kept, dropped, table = balance_by_country(frame, BalanceConfig(max_share=0.3, min_rows=5, seed=1))
    shares = kept.group_by("country").len().with_columns(pl.col("len") / kept.height)
    assert shares["len"].max() <= 0.3 + 1 / kept.height
    assert "PT" not in set(kept["country"])
    assert set(dropped.filter(pl.col("country") == "PT")["balance_reason"]) == {TOO_FEW_ROWS}
    assert set(dropped.filter(pl.col("country") == "DE")["balance_reason"]) == {OVER_SHARE}
    assert kept.height + dropped.height == frame.height
    assert dict(table.select("country", "before").iter_rows())["DE"] == 500


def test_sampler_is_deterministic_by_seed() -> None:
    frame = rows({"DE": 300, "FR": 100, "IT": 100, "ES": 100}).sample(fraction=1.0, shuffle=True, seed=3)
    a, _, _ = balance_by_country(frame, BalanceConfig(max_share=0.3, seed=7))
    b, _, _ = balance_by_country(frame.reverse(), BalanceConfig(max_share=0.3, seed=7))
    c, _, _ = balance_by_country(frame, BalanceConfig(max_share=0.3, seed=8))
    assert sorted(a["content_id"]) == sorted(b["content_id"])
    assert sorted(a["content_id"]) != sorted(c["content_id"])


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["DE", "FR", "IT", "ES", "NL", "PL", "SE"]),
                       st.integers(0, 80), min_size=1), st.floats(0.15, 1.0))
def test_no_country_over_its_share(counts: dict[str, int], share: float) -> None:
    frame = rows(counts)
    kept, dropped, _ = balance_by_country(frame, BalanceConfig(max_share=share, min_rows=1, seed=2))
    assert kept.height + dropped.height == frame.height
    present = [c for c, n in counts.items() if n >= 1]
    if kept.height and share * len(present) >= 1:
        assert kept.group_by("country").len()["len"].max() <= share * kept.height + 1


def test_guard_drops_the_combination_only_one_person_holds() -> None:
    frame = pl.DataFrame({
        "content_id": [f"c{i}" for i in range(8)],
        "author_key": ["a1", "a2", "a3", "a4", "a5", "a1", "a1", "lonely"],
        "country": ["CH"] * 8,
        "places": [["Zürich"]] * 5 + [["Zürich"], ["Bern"], ["Guarda"]],
        "dialect": ["gsw"] * 8,
    })
    kept, dropped = k_author_guard(frame, ["country", "places", "dialect"], k=5)
    assert sorted(dropped["content_id"]) == ["c6", "c7"]  # Bern: 1 author, Guarda: 1 author
    assert set(dropped["guard_reason"]) == {FEWER_THAN_K}
    groups = k_author_groups(kept, ["country", "places", "dialect"])
    assert groups["authors"].min() >= 5


@pytest.mark.parametrize("k", [0, 1])
def test_guard_disabled_for_k_below_two(k: int) -> None:
    frame = pl.DataFrame({"author_key": ["a"], "country": ["CH"], "dialect": ["gsw"]})
    kept, dropped = k_author_guard(frame, ["country", "dialect"], k=k)
    assert kept.height == 1 and dropped.is_empty()
