"""Per-country sampler quotas and determinism; the k-author guard on a case exposing one person;
guard and balance together (`guarded_balance`): the guard holds on the output and the caps too."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.balance import (
    FEWER_THAN_K,
    OVER_SHARE,
    TOO_FEW_ROWS,
    BalanceConfig,
    GuardDidNotConverge,
    balance_by_country,
    country_caps,
    guarded_balance,
    k_author_groups,
    k_author_guard,
)

KEYS = ["country", "places", "dialect"]


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


def fragile_groups() -> pl.DataFrame:
    """DE: 10 places each mentioned by exactly 2 authors (one row each), so any cut of DE breaks
    a pair; FR, IT, ES, NL: 10 rows by 10 authors about one place. With max_share 0.25 DE's cap is
    13 of its 20 rows: an odd number, so balancing after the guard must leave a place with 1 author."""
    de = [("DE", f"de-{p}-{a}", f"P{p}") for p in range(10) for a in range(2)]
    others = [(c, f"{c}-{a}", f"{c}-town") for c in ("FR", "IT", "ES", "NL") for a in range(10)]
    rows_ = de + others
    return pl.DataFrame({
        "content_id": [f"c{i}" for i in range(len(rows_))],
        "country": [c for c, _, _ in rows_],
        "author_key": [a for _, a, _ in rows_],
        "places": [[p] for _, _, p in rows_],
        "dialect": [None] * len(rows_),
    }, schema_overrides={"dialect": pl.String})


def test_balance_after_the_guard_breaks_it_and_guarded_balance_does_not() -> None:
    frame = fragile_groups()
    config = BalanceConfig(max_share=0.25, min_rows=5, seed=1)
    # The old order: guard, then balance. The guard keeps everything, the sampler breaks a pair.
    guarded, exposed = k_author_guard(frame, KEYS, k=2)
    assert exposed.is_empty()
    sampled, _, _ = balance_by_country(guarded, config)
    assert k_author_groups(sampled, KEYS)["authors"].min() < 2

    result = guarded_balance(frame, KEYS, k=2, config=config)
    kept = result.kept
    assert k_author_groups(kept, KEYS)["authors"].min() >= 2
    _, rebalanced_away, _ = balance_by_country(kept, config)
    assert rebalanced_away.is_empty(), "the caps hold on the output"
    assert kept.group_by("country").len()["len"].max() <= 0.25 * kept.height
    assert result.rounds >= 3  # guard+balance, the guard again (and a rebalance), a round that removes nothing
    # Counts tell the truth: every input row is kept or dropped once, with its reason.
    assert kept.height + result.dropped.height == frame.height
    assert set(kept["content_id"]).isdisjoint(result.dropped["content_id"])
    by_reason = result.dropped_by_reason()
    assert by_reason[FEWER_THAN_K] >= 1 and by_reason[OVER_SHARE] >= 7 and by_reason[TOO_FEW_ROWS] == 0
    assert sum(by_reason.values()) == result.dropped.height
    late_guard = result.dropped.filter((pl.col("drop_reason") == FEWER_THAN_K) & (pl.col("drop_round") >= 2))
    assert late_guard.height == by_reason[FEWER_THAN_K], "the guard's removals after the sampler are counted"
    table = dict(result.per_country.select("country", "before").iter_rows())
    assert table["DE"] == 20


def test_guarded_balance_is_deterministic_and_seeded() -> None:
    frame = fragile_groups()
    config = BalanceConfig(max_share=0.25, min_rows=5, seed=1)
    a = guarded_balance(frame, KEYS, k=2, config=config)
    b = guarded_balance(frame.reverse(), KEYS, k=2, config=config)
    assert sorted(a.kept["content_id"]) == sorted(b.kept["content_id"])
    picks = {tuple(sorted(guarded_balance(frame, KEYS, k=2, config=BalanceConfig(max_share=0.25, seed=s))
                          .kept["content_id"])) for s in range(6)}
    assert len(picks) > 1, "the seed decides which rows a capped country keeps"


def test_guarded_balance_stops_with_a_clear_error_at_its_bound() -> None:
    with pytest.raises(GuardDidNotConverge, match="after 1 rounds"):
        guarded_balance(fragile_groups(), KEYS, k=2, config=BalanceConfig(max_share=0.25, seed=1), max_rounds=1)


def test_guarded_balance_on_an_empty_frame() -> None:
    result = guarded_balance(fragile_groups().head(0), KEYS, k=5)
    assert result.kept.is_empty() and result.dropped.is_empty() and result.rounds == 1


@st.composite
def subset_frames(draw: st.DrawFn) -> pl.DataFrame:
    """Countries of uneven size made of groups near k authors (so a cap cuts into them), authors
    shared between a country's groups, and rows naming zero to two places."""
    rows_: list[tuple[str, str, list[str], str | None]] = []
    for country in draw(st.lists(st.sampled_from(["DE", "FR", "IT", "ES", "NL", "CH", "AT"]), min_size=1,
                                 max_size=6, unique=True)):
        for _ in range(draw(st.integers(0, 6))):
            places = draw(st.lists(st.sampled_from(["Bern", "Basel", "Köln", "Lyon"]), max_size=2, unique=True))
            dialect = draw(st.sampled_from([None, "gsw", "bar"]))
            for author in draw(st.lists(st.integers(0, 10), min_size=1, max_size=8)):
                rows_ += [(country, f"{country}-{author}", places, dialect)] * draw(st.integers(1, 3))
    return pl.DataFrame({
        "content_id": [f"c{i}" for i in range(len(rows_))],
        "country": [c for c, _, _, _ in rows_],
        "author_key": [a for _, a, _, _ in rows_],
        "places": [p for _, _, p, _ in rows_],
        "dialect": [d for _, _, _, d in rows_],
    }, schema={"content_id": pl.String, "country": pl.String, "author_key": pl.String,
               "places": pl.List(pl.String), "dialect": pl.String})


@settings(max_examples=80, deadline=None)
@given(subset_frames(), st.integers(1, 6), st.floats(0.1, 1.0), st.integers(0, 6), st.integers(0, 2**31))
def test_guarded_balance_output_passes_the_guard_and_the_caps(
        frame: pl.DataFrame, k: int, share: float, min_rows: int, seed: int) -> None:
    config = BalanceConfig(max_share=share, min_rows=min_rows, seed=seed)
    result = guarded_balance(frame, KEYS, k=k, config=config)
    kept = result.kept
    if k > 1:  # the rule the subset check applies
        assert k_author_groups(kept, KEYS).filter(pl.col("authors") < k).is_empty()
    _, rebalanced_away, _ = balance_by_country(kept, config)
    assert rebalanced_away.is_empty()
    per_country = kept.group_by("country").len()
    if kept.height:
        assert per_country["len"].min() >= min_rows
        if share * per_country.height >= 1:
            assert per_country["len"].max() <= share * kept.height + 1e-9
        else:  # too few countries for the share: an equal split
            assert per_country["len"].n_unique() == 1
    assert kept.height + result.dropped.height == frame.height
    assert sorted([*kept["content_id"], *result.dropped["content_id"]]) == sorted(frame["content_id"])
    assert sum(result.dropped_by_reason().values()) == result.dropped.height
    assert sorted(guarded_balance(frame.reverse(), KEYS, k=k, config=config).kept["content_id"]) == \
        sorted(kept["content_id"])


def test_a_row_naming_no_place_is_guarded_in_the_no_place_group() -> None:
    # The only speaker of a rare dialect who names no place must not pass unguarded (polars 2
    # drops empty lists on explode unless told otherwise).
    frame = pl.DataFrame({
        "author_key": ["lone", "a", "b", "c"],
        "country": ["CH", "CH", "CH", "CH"],
        "places": [[], ["Bern"], ["Bern"], ["Bern"]],
        "dialect": ["gsw-VS", "gsw-BE", "gsw-BE", "gsw-BE"],
    }, schema_overrides={"places": pl.List(pl.String)})
    kept, dropped = k_author_guard(frame, ["country", "places", "dialect"], k=3)
    assert dropped["author_key"].to_list() == ["lone"]
    assert kept["author_key"].to_list() == ["a", "b", "c"]
    groups = k_author_groups(frame, ["country", "places", "dialect"])
    assert groups.filter(pl.col("places").is_null())["authors"].to_list() == [1]
