"""Consent-aware deduplication (`curation.dedup`; DESIGN.md, `filtered_corpus`).

The near-duplicate definition is re-stated here from the module docstring as a plain
Python oracle (canonical text, padded character 5-shingles, exact Jaccard) that shares
no code with `curation.dedup`; fixtures assert their oracle similarity first, so a test
says which side of the threshold its texts are on rather than relying on luck.
Nothing here times anything: see bench/bench_dedup.py.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from itertools import combinations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.dedup import (
    ALREADY_EXCLUDED,
    COPIES_EXCLUDED_CONTENT,
    DEFAULT_CONFIG,
    DUPLICATE,
    KEPT,
    OUTCOMES,
    DedupConfig,
    cluster_duplicates,
    dedup_counts,
    dedup_outcome,
    resolve_clusters,
)
from curation.eligibility import REASON_ORDER

DAY0 = datetime(2025, 4, 1, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")

MARKET = (
    "Just got back from the farmers market downtown and picked up the freshest "
    "strawberries, a loaf of sourdough and some local honey. Highly recommend going "
    "early on Saturday before the crowds arrive."
)
COUNCIL = (
    "The city council voted last night to extend the bike lane on Main Street through "
    "the summer, and construction is expected to start in June after the permits are "
    "approved."
)
FRIDAY_1 = (
    "Can't believe it's already Friday! This week flew by between the deadline at work "
    "and my sister's wedding planning."
)
FRIDAY_2 = (
    "Can't believe it's already Friday, time to finally clean the garage and fix the "
    "broken fence before the storm hits."
)
HIKE = (
    "Finally finished the long hike up to the lake this morning, the view from the top "
    "was worth every single step and the water was freezing cold but so clear."
)


# ---- oracle -----------------------------------------------------------------------------


def oracle_canonical(text: str) -> str:
    """Lower-case; drop variation selectors, keycaps and apostrophes; every run of
    characters that are not letters, marks or digits becomes one space."""
    text = re.sub("[\ufe00-\ufe0f\u20e3'\u2019\u02bc]", "", text.lower())
    kept = "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in text)
    return " ".join(kept.split())


def oracle_jaccard(a: str, b: str, k: int = 5) -> float:
    def shingles(text: str) -> set[str]:
        padded = "\0" * (k - 1) + oracle_canonical(text) + "\0" * (k - 1)
        return {padded[i : i + k] for i in range(len(padded) - k + 1)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


# ---- helpers ----------------------------------------------------------------------------


def posts(*texts: str, days: list[int] | None = None, platform: str = "facebook") -> pl.DataFrame:
    days = days if days is not None else list(range(len(texts)))
    return pl.DataFrame(
        {
            "content_id": [f"c{i}" for i in range(len(texts))],
            "platform": [platform] * len(texts),
            "created_at": [DAY0 + timedelta(days=d) for d in days],
            "text": list(texts),
        },
        schema={
            "content_id": pl.String,
            "platform": pl.String,
            "created_at": TS,
            "text": pl.String,
        },
    )


def cluster_of(rows: pl.DataFrame, config: DedupConfig = DEFAULT_CONFIG) -> dict[str, int]:
    out = cluster_duplicates(rows, config)
    return dict(zip(out["content_id"].to_list(), out["cluster_id"].to_list(), strict=True))


def resolve(rows: pl.DataFrame, reasons: list[str | None]) -> pl.DataFrame:
    clusters = cluster_duplicates(rows)
    joined = rows.with_columns(
        clusters["cluster_id"], pl.Series("exclusion_reason", reasons, pl.String)
    )
    return resolve_clusters(joined)


def reason_of(resolved: pl.DataFrame) -> dict[str, str | None]:
    return dict(
        zip(resolved["content_id"].to_list(), resolved["dedup_reason"].to_list(), strict=True)
    )


# ---- exact duplicates -------------------------------------------------------------------


def test_exact_duplicates_across_days_share_a_cluster_and_hash() -> None:
    rows = posts(
        MARKET,
        MARKET,
        MARKET.upper(),
        MARKET.replace(",", "").replace(".", "!!!") + " 🍓🍯",
        COUNCIL,
        days=[2, 39, 60, 75, 3],
    )
    out = cluster_duplicates(rows)
    assert out["cluster_id"].to_list()[:4] == [out["cluster_id"][0]] * 4
    assert out["cluster_id"][4] != out["cluster_id"][0]
    assert out["text_hash"].to_list()[:4] == [out["text_hash"][0]] * 4
    assert out["text_hash"][4] != out["text_hash"][0]


def test_text_hash_is_blake2b_of_the_exact_key() -> None:
    out = cluster_duplicates(posts("Hello,   World!", "🎉🎉", "  "))
    expected = [
        hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        for key in ("hello world", "🎉🎉", "")
    ]
    assert out["text_hash"].to_list() == expected


def test_output_schema_and_input_order() -> None:
    rows = posts(COUNCIL, MARKET, HIKE).reverse()
    out = cluster_duplicates(rows)
    assert out.schema == pl.Schema(
        {
            "content_id": pl.String,
            "platform": pl.String,
            "text_hash": pl.String,
            "cluster_id": pl.Int64,
        }
    )
    assert out["content_id"].to_list() == rows["content_id"].to_list()
    assert out["cluster_id"].n_unique() == 3


def test_empty_texts_are_singletons_and_emoji_only_posts_match_exactly() -> None:
    clusters = cluster_of(posts("", "", None, " ", "🎉🎉", "🎉🎉", "😂😂"))  # type: ignore[arg-type]
    assert len({clusters[c] for c in ("c0", "c1", "c2", "c3")}) == 4
    assert clusters["c4"] == clusters["c5"] != clusters["c6"]


def test_empty_input() -> None:
    out = cluster_duplicates(posts())
    assert out.height == 0 and out.columns == ["content_id", "platform", "text_hash", "cluster_id"]


# ---- near duplicates --------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(MARKET.replace("freshest", "sweetest"), id="one-word"),
        pytest.param(
            MARKET.replace("sourdough", "rye").replace("Saturday", "Sunday"), id="two-words"
        ),
        pytest.param(MARKET.replace("strawberries", "strawbery"), id="typo"),
        pytest.param(
            "🍓 " + MARKET.replace(",", "").replace(".", " !!") + " 😍🔥", id="emoji-punct"
        ),
        pytest.param(
            MARKET.replace("local", "local raw") + " #market", id="word-and-hashtag-added"
        ),
    ],
)
def test_near_duplicates_cluster_at_default_threshold(variant: str) -> None:
    assert oracle_jaccard(MARKET, variant) >= 0.8
    clusters = cluster_of(posts(MARKET, variant, COUNCIL))
    assert clusters["c0"] == clusters["c1"] != clusters["c2"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(MARKET, COUNCIL, id="unrelated"),
        pytest.param(FRIDAY_1, FRIDAY_2, id="common-opening-phrase"),
        pytest.param(MARKET, MARKET[:100], id="first-half-only"),
    ],
)
def test_posts_sharing_less_than_the_threshold_stay_apart(a: str, b: str) -> None:
    assert oracle_jaccard(a, b) < 0.8
    clusters = cluster_of(posts(a, b))
    assert clusters["c0"] != clusters["c1"]


def test_threshold_is_honoured_after_lsh() -> None:
    variant = MARKET.replace("sourdough", "rye").replace("Saturday", "Sunday")
    similarity = oracle_jaccard(MARKET, variant)
    assert 0.8 <= similarity < 0.9
    assert len(set(cluster_of(posts(MARKET, variant), DedupConfig(threshold=0.8)).values())) == 1
    assert len(set(cluster_of(posts(MARKET, variant), DedupConfig(threshold=0.9)).values())) == 2


def test_short_texts_take_part_in_exact_dedup_only() -> None:
    a, b = "congratulations everybody and welcome", "congratulations everybody and welcomeee"
    assert oracle_jaccard(a, b) >= 0.8
    clusters = cluster_of(posts(a, b, "Congratulations, everybody -- and WELCOME!! 🎉"))
    assert clusters["c0"] != clusters["c1"]
    assert clusters["c0"] == clusters["c2"]
    assert len(set(cluster_of(posts(a, b), DedupConfig(min_words_for_near=4)).values())) == 1


def test_clusters_are_transitive() -> None:
    a = HIKE
    b = HIKE.replace("freezing cold", "icy cold")
    c = b.replace("so clear", "crystal clear").replace("long hike", "hike")
    assert oracle_jaccard(a, b) >= 0.8 and oracle_jaccard(b, c) >= 0.8
    assert oracle_jaccard(a, c) < 0.8
    clusters = cluster_of(posts(a, c, b, COUNCIL))
    assert clusters["c0"] == clusters["c1"] == clusters["c2"] != clusters["c3"]


def test_a_bucket_larger_than_all_pairs_limit_still_clusters() -> None:
    texts = [f"{COUNCIL} Update {i}." for i in range(120)]
    assert oracle_jaccard(texts[0], texts[119]) >= 0.8
    assert len(set(cluster_of(posts(*texts)).values())) == 1


def _family_texts(rng: random.Random, families: int) -> list[str]:
    words = (
        "the a and of to in is it you that was for on are with as this be at have from "
        "or one had by word but not what all were we when your can said there use an "
        "each which she do how their if will up other about out many then them these so "
        "some her would make like him into time has look two more write go see number no "
        "way could people my than first water been call who oil its now find long down "
        "day did get come made may part market river garden music coffee train summer"
    ).split()
    texts: list[str] = []
    for _ in range(families):
        base = [rng.choice(words) for _ in range(rng.randint(20, 50))]
        texts.append(" ".join(base))
        for _ in range(rng.randint(0, 3)):
            variant = list(base)
            for _ in range(rng.randint(1, 4)):
                variant[rng.randrange(len(variant))] = rng.choice(words)
            texts.append(" ".join(variant) + rng.choice(["", "!", " 🎉", "..."]))
    rng.shuffle(texts)
    return texts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clusters_match_a_brute_force_oracle(seed: int) -> None:
    """No cluster joins texts the oracle cannot connect at the threshold (verification is
    exact), and every oracle pair at J >= 0.85 is found (LSH recall there is > 0.9999)."""
    texts = _family_texts(random.Random(seed), 60)
    clusters = cluster_of(posts(*texts))
    cid = [clusters[f"c{i}"] for i in range(len(texts))]
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in combinations(range(len(texts)), 2):
        similarity = oracle_jaccard(texts[i], texts[j])
        if similarity >= 0.85:
            assert cid[i] == cid[j], (texts[i], texts[j], similarity)
        if similarity >= 0.8:
            parent[find(i)] = find(j)
    for i, j in combinations(range(len(texts)), 2):
        if cid[i] == cid[j]:
            assert find(i) == find(j), (texts[i], texts[j])


# ---- determinism ------------------------------------------------------------------------


def _mixed_rows() -> tuple[pl.DataFrame, list[str | None]]:
    texts = [
        MARKET,
        MARKET.upper(),
        MARKET.replace("freshest", "sweetest"),
        COUNCIL,
        COUNCIL + " 👍",
        HIKE,
        FRIDAY_1,
        FRIDAY_2,
        "lol",
        "LOL!",
        "",
    ]
    rows = pl.DataFrame(
        {
            "content_id": [f"id{i:02d}" for i in range(len(texts))],
            "platform": ["facebook", "instagram"] * 5 + ["facebook"],
            "created_at": [DAY0 + timedelta(days=d) for d in (5, 1, 9, 3, 3, 2, 8, 8, 4, 4, 6)],
            "text": texts,
        },
        schema={
            "content_id": pl.String,
            "platform": pl.String,
            "created_at": TS,
            "text": pl.String,
        },
    )
    reasons = [
        None,
        "not_public_source",
        None,
        None,
        None,
        "objected",
        None,
        None,
        None,
        None,
        None,
    ]
    return rows, reasons


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_same_rows_in_shuffled_order_give_same_clusters_and_survivors(seed: int) -> None:
    rows, reasons = _mixed_rows()
    rows = rows.with_columns(pl.Series("exclusion_reason", reasons, pl.String))
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=seed)

    def run(frame: pl.DataFrame) -> dict[str, tuple[int, str | None]]:
        clusters = cluster_duplicates(frame)
        resolved = resolve_clusters(frame.with_columns(clusters["cluster_id"]))
        return {
            r["content_id"]: (r["cluster_id"], r["dedup_reason"])
            for r in resolved.iter_rows(named=True)
        }

    assert run(shuffled) == run(rows)


# ---- survivors and consent --------------------------------------------------------------


def test_earliest_copy_survives_whatever_the_row_order() -> None:
    rows = posts(MARKET, MARKET.replace("freshest", "sweetest") + " 🍓", MARKET, days=[40, 3, 12])
    resolved = resolve(rows.reverse(), [None, None, None])
    assert reason_of(resolved) == {"c1": None, "c0": DUPLICATE, "c2": DUPLICATE}
    assert resolved["content_id"].to_list() == ["c2", "c1", "c0"]


def test_ties_on_created_at_break_on_platform_then_content_id() -> None:
    rows = pl.DataFrame(
        {
            "content_id": ["b", "a", "c"],
            "platform": ["instagram", "instagram", "facebook"],
            "created_at": [DAY0, DAY0, DAY0],
            "text": [MARKET] * 3,
        },
        schema={
            "content_id": pl.String,
            "platform": pl.String,
            "created_at": TS,
            "text": pl.String,
        },
    )
    assert reason_of(resolve(rows, [None, None, None])) == {
        "c": None,
        "a": DUPLICATE,
        "b": DUPLICATE,
    }
    # policy v2: the earliest copy (c, a private message here) decides the whole cluster
    assert reason_of(resolve(rows, [None, None, "not_public_source"])) == {
        "c": None,
        "a": COPIES_EXCLUDED_CONTENT,
        "b": COPIES_EXCLUDED_CONTENT,
    }


@pytest.mark.parametrize("reason", REASON_ORDER)
def test_a_later_excluded_copy_leaves_the_earliest_in_place(reason: str) -> None:
    """Policy v2: a minor's (or anyone excluded's) later repost of an adult's post does not
    remove the adult's words; the excluded copy keeps its own reason."""
    rows = posts(
        MARKET, MARKET.upper(), MARKET.replace("freshest", "sweetest"), COUNCIL, days=[1, 5, 9, 2]
    )
    resolved = resolve(rows, [None, None, reason, None])
    assert reason_of(resolved) == {"c0": None, "c1": DUPLICATE, "c2": None, "c3": None}
    assert resolved["exclusion_reason"].to_list() == [None, None, reason, None]


@pytest.mark.parametrize("reason", REASON_ORDER)
def test_an_excluded_earliest_copy_drops_every_eligible_copy(reason: str) -> None:
    """Policy v2: words first written in a private message, by the assistant, by a minor or by
    an objector never enter through someone's public copy, whatever the reason."""
    rows = posts(MARKET, MARKET, MARKET.replace("freshest", "sweetest"), COUNCIL, days=[1, 5, 9, 2])
    resolved = resolve(rows, [reason, None, None, None])
    assert reason_of(resolved) == {
        "c0": None,
        "c1": COPIES_EXCLUDED_CONTENT,
        "c2": COPIES_EXCLUDED_CONTENT,
        "c3": None,
    }
    assert resolved["exclusion_reason"].to_list() == [reason, None, None, None]


def test_an_excluded_copy_in_the_middle_changes_nothing_for_the_others() -> None:
    rows = posts(HIKE, HIKE, HIKE, days=[1, 2, 3])
    assert reason_of(resolve(rows, [None, "minor_at_creation", None])) == {
        "c0": None, "c1": None, "c2": DUPLICATE}


def test_a_later_objection_by_the_first_author_removes_every_repost() -> None:
    rows = posts(
        HIKE, HIKE + " 😍", HIKE.replace("so clear", "crystal clear"), COUNCIL, days=[2, 39, 50, 3]
    )
    before = resolve(rows, [None, None, None, None])
    assert reason_of(before) == {"c0": None, "c1": DUPLICATE, "c2": DUPLICATE, "c3": None}
    after = resolve(rows, ["objected", None, None, None])
    assert reason_of(after) == {
        "c0": None,
        "c1": COPIES_EXCLUDED_CONTENT,
        "c2": COPIES_EXCLUDED_CONTENT,
        "c3": None,
    }
    kept = after.filter(pl.col("exclusion_reason").is_null() & pl.col("dedup_reason").is_null())
    assert kept["content_id"].to_list() == ["c3"]


def test_an_all_null_exclusion_column_means_all_eligible() -> None:
    rows = posts(MARKET, MARKET, days=[4, 2])
    joined = rows.with_columns(
        cluster_duplicates(rows)["cluster_id"], pl.lit(None).alias("exclusion_reason")
    )
    assert reason_of(resolve_clusters(joined)) == {"c0": DUPLICATE, "c1": None}


def test_dedup_counts_add_up() -> None:
    rows = posts(MARKET, MARKET, MARKET, COUNCIL, COUNCIL, HIKE, days=[1, 2, 3, 4, 5, 6])
    resolved = resolve(rows, [None, None, "not_notified", "minor_at_creation", None, None])
    counts = dict(dedup_counts(resolved).iter_rows())
    assert counts == {KEPT: 2, DUPLICATE: 1, COPIES_EXCLUDED_CONTENT: 1, ALREADY_EXCLUDED: 2}
    assert list(counts) == list(OUTCOMES)


# ---- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"bands": 30, "rows": 5},
        {"num_perm": 0},
        {"shingle": 0},
        {"min_words_for_near": 0},
        {"seed": -1},
    ],
)
def test_bad_config_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DedupConfig(**kwargs)  # type: ignore[arg-type]


def test_missing_columns_and_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        cluster_duplicates(posts(MARKET).drop("text"))
    with pytest.raises(ValueError, match="unique"):
        cluster_duplicates(pl.concat([posts(MARKET), posts(COUNCIL)]))
    with pytest.raises(ValueError, match="missing columns"):
        resolve_clusters(posts(MARKET))
    with pytest.raises(ValueError, match="null"):
        resolve_clusters(
            posts(MARKET).with_columns(
                pl.lit(None, pl.Int64).alias("cluster_id"),
                pl.lit(None, pl.String).alias("exclusion_reason"),
            )
        )


# ---- property ---------------------------------------------------------------------------

BASES = (MARKET, COUNCIL, FRIDAY_1, "lol")
VARIANTS = (
    lambda t: t,
    str.upper,
    lambda t: t + " 🎉",
    lambda t: t.replace("the", "a", 1),
)
REASONS = (None, None, None, *REASON_ORDER)

row_strategy = st.tuples(
    st.integers(0, len(BASES) - 1),
    st.integers(0, len(VARIANTS) - 1),
    st.sampled_from(REASONS),
    st.integers(0, 5),  # day: few values, so ties on created_at happen
    st.sampled_from(["facebook", "instagram"]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(row_strategy, min_size=1, max_size=14))
def test_resolution_invariants(spec: list[tuple[int, int, str | None, int, str]]) -> None:
    rows = pl.DataFrame(
        {
            "content_id": [f"r{i}" for i in range(len(spec))],
            "platform": [s[4] for s in spec],
            "created_at": [DAY0 + timedelta(days=s[3]) for s in spec],
            "text": [VARIANTS[s[1]](BASES[s[0]]) for s in spec],
            "exclusion_reason": [s[2] for s in spec],
        },
        schema={
            "content_id": pl.String,
            "platform": pl.String,
            "created_at": TS,
            "text": pl.String,
            "exclusion_reason": pl.String,
        },
    )
    clustered = cluster_duplicates(rows)
    resolved = resolve_clusters(rows.with_columns(clustered["cluster_id"])).with_columns(
        dedup_outcome().alias("outcome"),
    )
    # every row has exactly one outcome, so the four counts add up to the input
    counts = dict(dedup_counts(resolved).iter_rows())
    assert sum(counts.values()) == rows.height
    assert resolved.height == rows.height
    assert resolved["exclusion_reason"].to_list() == rows["exclusion_reason"].to_list()
    # same exact text (up to case/punctuation/emoji) → same cluster
    by_key = rows.with_columns(clustered["cluster_id"], clustered["text_hash"])
    assert (
        by_key.group_by("text_hash").agg(pl.col("cluster_id").n_unique())["cluster_id"] == 1
    ).all()

    for group in resolved.partition_by("cluster_id"):
        survivors = group.filter(pl.col("outcome") == KEPT)
        eligible = group.filter(pl.col("exclusion_reason").is_null())
        assert survivors.height <= 1
        assert group.filter(pl.col("exclusion_reason").is_not_null())[
            "dedup_reason"
        ].null_count() == (group.height - eligible.height)
        earliest = group.sort("created_at", "platform", "content_id").row(0, named=True)
        if earliest["exclusion_reason"] is not None:
            # policy v2: an excluded earliest copy takes every eligible copy with it
            assert survivors.height == 0
            assert (eligible["dedup_reason"] == COPIES_EXCLUDED_CONTENT).all()
        else:
            assert survivors["content_id"].to_list() == [earliest["content_id"]]
            assert (eligible["dedup_reason"].drop_nulls() == DUPLICATE).all()
            assert eligible["dedup_reason"].null_count() == 1
