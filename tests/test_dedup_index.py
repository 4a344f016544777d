"""Per-day fingerprints and the incremental de-duplication index (`curation.fingerprints`,
`curation.dedup_index`; DESIGN.md, Scale).

The oracle is the batch: `cluster_duplicates` over all rows at once. Processing days one at
a time (in order, shuffled, reversed, with a day re-added or changed) must give the same
partition into clusters and the same earliest copy per cluster. Partitions are compared as
sets of frozensets of (platform, content_id), since cluster ids differ. Nothing is timed
here: see bench/dedup_index.py.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import curation.dedup_index as dedup_index
from curation.dedup import COPIES_EXCLUDED_CONTENT, DUPLICATE, DedupConfig, cluster_duplicates, resolve_clusters
from curation.dedup_index import cluster_assignments, indexed_days, remove_day, update, update_days
from curation.fingerprints import day_fingerprints, day_of_doc, key_hash, read_fingerprints, write_fingerprints

DAY0 = datetime(2025, 4, 1, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")
WORDS = [a + b + c for a in "bcdfg" for b in "aeiou" for c in "lmnrst"]  # 150 three-letter words


def _frame(rows: list[tuple[str, str, int, int, str | None]]) -> pl.DataFrame:
    """(content_id, platform, day offset, second of day, text) -> rows as curate() passes them."""
    return pl.DataFrame(
        {
            "content_id": [r[0] for r in rows],
            "platform": [r[1] for r in rows],
            "created_at": [DAY0 + timedelta(days=r[2], seconds=r[3]) for r in rows],
            "text": [r[4] for r in rows],
        },
        schema={"content_id": pl.String, "platform": pl.String, "created_at": TS, "text": pl.String},
    )


def _sentence(rng: random.Random, words: int = 24) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice("aeiou") for _ in range(words))


def _change_word(text: str, rng: random.Random, position: int | None = None) -> str:
    tokens = text.split(" ")
    tokens[rng.randrange(len(tokens)) if position is None else position] = "zzzz"
    return " ".join(tokens)


def _generated(seed: int, n: int = 240, days: int = 6) -> pl.DataFrame:
    """Exact reposts across days (case/punctuation changed), near copies (one word
    changed in a long text), chains, longer copies, emoji-only and empty texts, ties in
    created_at."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, int, int, str | None]] = []
    texts: list[str] = []
    for i in range(n):
        r = rng.random()
        if texts and r < 0.2:
            text = rng.choice(texts).upper() + "!"
        elif texts and r < 0.45:
            text = _change_word(rng.choice(texts), rng)  # near copy; of a copy: chains
        elif texts and r < 0.5:  # a longer copy: near or not, depending on how much is added
            source = rng.choice(texts)
            text = source + " " + _sentence(rng, rng.randrange(1, 9))
        elif r < 0.55:
            text = rng.choice(["🎉", "😂", "", None, "so true", "  ", "❤️ ❤️"])
        else:
            text = _sentence(rng, rng.choice([12, 18, 24]))
        if text and text.strip():
            texts.append(text)
        second = rng.choice([0, 0, 60, rng.randrange(86_400)])  # many ties
        rows.append((f"c{i:04d}", rng.choice(["facebook", "instagram"]), rng.randrange(days), second, text))
    return _frame(rows)


def _days(rows: pl.DataFrame) -> list[date]:
    return sorted(rows["created_at"].dt.date().unique().to_list())


def _day_rows(rows: pl.DataFrame, day: date) -> pl.DataFrame:
    return rows.filter(pl.col("created_at").dt.date() == day)


def _batch(rows: pl.DataFrame) -> dict[frozenset, tuple[str, str]]:
    """Partition -> earliest copy, from `cluster_duplicates` over all rows at once."""
    clusters = cluster_duplicates(rows).join(rows, on=["platform", "content_id"])
    out = {}
    for group in clusters.sort("created_at", "platform", "content_id").partition_by("cluster_id"):
        out[frozenset(zip(group["platform"], group["content_id"], strict=True))] = (
            group["platform"][0], group["content_id"][0])
    return out


def _indexed(index_dir: Path, days: list[date]) -> dict[frozenset, tuple[str, str]]:
    assigned = cluster_assignments(index_dir, days)
    out = {}
    for group in assigned.partition_by("cluster_id"):
        earliest = set(zip(group["earliest_platform"], group["earliest_content_id"], strict=True))
        assert len(earliest) == 1
        out[frozenset(zip(group["platform"], group["content_id"], strict=True))] = earliest.pop()
    return out


def _add(index_dir: Path, rows: pl.DataFrame, day: date):
    return update(index_dir, day_fingerprints(_day_rows(rows, day), day=day))


# --- fingerprints ---------------------------------------------------------------------


def test_doc_ids_order_by_created_at_then_platform_then_content_id() -> None:
    rows = _frame([("b", "y", 3, 10, "x"), ("a", "y", 3, 10, "x"), ("z", "x", 3, 10, "x"), ("c", "a", 3, 5, "x")])
    fp = day_fingerprints(rows)
    assert fp.day == date(2025, 4, 4)
    assert fp.docs["content_id"].to_list() == ["c", "z", "a", "b"]
    base = date(2025, 4, 4).toordinal() << 32
    assert fp.docs["doc"].to_list() == [base, base + 1, base + 2, base + 3]
    assert fp.docs.select(day_of_doc(pl.col("doc")).unique())["doc"].to_list() == [date(2025, 4, 4)]
    later = day_fingerprints(_frame([("a", "a", 4, 0, "x")]))
    assert later.docs["doc"][0] > fp.docs["doc"].max()


def test_bad_day_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="one UTC day"):
        day_fingerprints(_frame([("a", "x", 0, 0, "t"), ("b", "x", 1, 0, "t")]))
    with pytest.raises(ValueError, match="not of day"):
        day_fingerprints(_frame([("a", "x", 0, 0, "t")]), day=date(2025, 4, 2))
    with pytest.raises(ValueError, match="unique"):
        day_fingerprints(_frame([("a", "x", 0, 0, "t"), ("a", "x", 0, 1, "u")]))
    with pytest.raises(ValueError, match="empty day"):
        day_fingerprints(_frame([]))
    with pytest.raises(ValueError, match="missing columns"):
        day_fingerprints(_frame([("a", "x", 0, 0, "t")]).drop("created_at"))
    nulls = _frame([("a", "x", 0, 0, "t")]).with_columns(pl.lit(None, TS).alias("created_at"))
    with pytest.raises(ValueError, match="created_at must not be null"):
        day_fingerprints(nulls)


def test_hashes_are_pinned() -> None:
    """Regression pin: the index persists these, so a library upgrade that changes them
    must fail here (XXH3-128 of "" is the specification's test vector)."""
    keys = pl.DataFrame({"k": ["", "hello world", None]}).select(key_hash("k"))["k"]
    assert keys[0].hex() == "99aa06d3014798d86001c324468d497f"
    assert keys[1].hex() == "df8d09e93f874900a99b8775cc15b6c7"
    assert keys[2] is None
    fp = day_fingerprints(_frame([("a", "x", 0, 0, "The quick brown fox jumps over the lazy dog!")]))
    assert fp.docs["key"][0] == pl.DataFrame({"k": ["the quick brown fox jumps over the lazy dog"]}) \
        .select(key_hash("k"))["k"][0]
    assert fp.bands.height == DedupConfig().bands
    assert fp.bands["band_key"].is_sorted()
    assert fp.bands["band_key"][:2].to_list() == PINNED_BAND_KEYS


PINNED_BAND_KEYS = [1037780888037348086, 1330738613382320654]  # computed once (rensa 0.5, seed 1)


def test_kept_fingerprints_read_back_equal(tmp_path: Path) -> None:
    rows = _generated(seed=2, n=60, days=1)
    fp = day_fingerprints(rows)
    write_fingerprints(fp, tmp_path / "day")
    back = read_fingerprints(tmp_path / "day")
    assert back.day == fp.day and back.config == fp.config
    assert back.docs.equals(fp.docs) and back.bands.equals(fp.bands)
    meta = json.loads((tmp_path / "day" / "meta.json").read_text())
    (tmp_path / "day" / "meta.json").write_text(json.dumps({**meta, "version": "fp0"}))
    with pytest.raises(ValueError, match="recompute"):
        read_fingerprints(tmp_path / "day")


def test_keys_and_near_eligibility_follow_dedup() -> None:
    fp = day_fingerprints(_frame([
        ("a", "x", 0, 0, "Don't STOP, believing!"), ("b", "x", 0, 1, "dont stop believing"),
        ("c", "x", 0, 2, "🎉"), ("d", "x", 0, 3, "😂"), ("e", "x", 0, 4, ""), ("f", "x", 0, 5, None),
        ("g", "x", 0, 6, "one two three four five"),
    ])).docs.sort("content_id")
    key = fp["key"].to_list()
    assert key[0] == key[1] and key[2] != key[3] and key[4] is None and key[5] is None
    assert fp["near"].to_list() == [False, False, False, False, False, False, True]
    assert fp["text"].to_list()[6] == "one two three four five"


# --- the index against the batch ------------------------------------------------------


@pytest.mark.parametrize("order", ["in_order", "reversed", "shuffled", "readded", "changed_and_restored"])
def test_day_by_day_matches_batch(tmp_path: Path, order: str) -> None:
    rows = _generated(seed=3)
    days = _days(rows)
    sequence = list(days)
    if order == "reversed":
        sequence.reverse()
    elif order == "shuffled":
        random.Random(5).shuffle(sequence)
    elif order == "readded":
        sequence = sequence[:4] + [sequence[1]] + sequence[4:] + [sequence[-1]]
    pruned = sum(_add(tmp_path, rows, day).pruned_pairs for day in sequence)
    assert pruned > 0, "some candidates are ruled out by their set sizes alone"
    if order == "changed_and_restored":  # a day rebuilt with half its rows, then whole again
        half = _day_rows(rows, days[2]).head(10)
        update(tmp_path, day_fingerprints(half, day=days[2]))
        partial = rows.filter(pl.col("created_at").dt.date() != days[2]).vstack(half)
        assert _indexed(tmp_path, days) == _batch(partial)
        _add(tmp_path, rows, days[2])
    truth = _batch(rows)
    assert sum(len(p) > 1 for p in truth) >= 20, "the fixture must hold real clusters"
    assert _indexed(tmp_path, days) == truth
    assert indexed_days(tmp_path) == days


@pytest.mark.parametrize("split", ["all_at_once", "two_spans", "late_span_first"])
def test_several_days_in_one_update_match_batch_and_day_by_day(tmp_path: Path, split: str) -> None:
    """`update_days` (what a range build does) leaves the clusters of the batch, and the same
    node numbering as adding the days one by one in date order."""
    rows = _generated(seed=3)
    days = _days(rows)
    fps = {day: day_fingerprints(_day_rows(rows, day), day=day) for day in days}
    spans = {"all_at_once": [days], "two_spans": [days[:4], days[4:]],
             "late_span_first": [days[4:], days[:4]]}[split]
    results = [update_days(tmp_path / "bulk", [fps[d] for d in span]) for span in spans]
    assert _indexed(tmp_path / "bulk", days) == _batch(rows)
    assert indexed_days(tmp_path / "bulk") == days
    assert all(not set(r.affected_days) & set(r.days) for r in results), "days of the set are never named"
    if split == "late_span_first":  # the older span lands after: the newer days' earliest copies move
        assert results[1].affected_days and set(results[1].affected_days) <= set(days[4:])
    if split == "all_at_once":
        for day in days:
            _add(tmp_path / "one_by_one", rows, day)
        assert cluster_assignments(tmp_path / "bulk", days).equals(cluster_assignments(tmp_path / "one_by_one", days))
        assert results[0].docs == rows.height and results[0].affected_days == []


def test_an_update_of_several_days_refuses_mixed_input(tmp_path: Path) -> None:
    rows = _generated(seed=3)
    days = _days(rows)
    fp = day_fingerprints(_day_rows(rows, days[0]), day=days[0])
    with pytest.raises(ValueError, match="once"):
        update_days(tmp_path, [fp, fp])
    with pytest.raises(ValueError, match="one config"):
        update_days(tmp_path, [fp, day_fingerprints(_day_rows(rows, days[1]), DedupConfig(threshold=0.9), day=days[1])])
    with pytest.raises(ValueError, match="no fingerprints"):
        update_days(tmp_path, [])


def test_merged_runs_keep_the_result(tmp_path: Path, monkeypatch) -> None:
    """Band and text runs merged into one (beyond `_MAX_RUNS`), dead nodes dropped."""
    monkeypatch.setattr(dedup_index, "_MAX_RUNS", 2)
    rows = _generated(seed=12)
    days = _days(rows)
    for day in days:
        _add(tmp_path, rows, day)
    remove_day(tmp_path, days[1])
    _add(tmp_path, rows, days[1])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["bands"]) <= 2 and any(run.endswith("m.parquet") for run in manifest["bands"])
    assert _indexed(tmp_path, days) == _batch(rows)


def test_readding_a_day_is_idempotent(tmp_path: Path) -> None:
    rows = _generated(seed=4)
    days = _days(rows)
    for day in days:
        _add(tmp_path, rows, day)
    before = cluster_assignments(tmp_path, days)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    nodes = pl.read_parquet(tmp_path / manifest["nodes"])
    again = _add(tmp_path, rows, days[1])
    assert (again.new_nodes, again.removed_docs, again.new_edges) == (0, 0, 0)
    assert again.affected_days == [] and again.changed_clusters.height == 0 and again.merged.height == 0
    assert cluster_assignments(tmp_path, days).equals(before)
    after = json.loads((tmp_path / "manifest.json").read_text())
    assert after["next_node"] == manifest["next_node"]
    assert pl.read_parquet(tmp_path / after["nodes"]).equals(nodes)
    # no stale generation is left behind
    named = set(after["days"].values()) | set(after["bands"]) | set(after["texts"])
    named |= {after[k] for k in ("nodes", "key_days", "clusters", "edges")}
    assert {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet")} == named


def _chain() -> tuple[str, str, str]:
    rng = random.Random(11)
    a = _sentence(rng, 20)
    b = _change_word(a, rng, 2)
    c = _change_word(b, rng, 15)
    return a, b, c


def test_a_bridge_merges_clusters_and_names_the_day_whose_earliest_copy_changed(tmp_path: Path) -> None:
    a, b, c = _chain()
    rows = _frame([("A", "x", 0, 100, a), ("A2", "x", 3, 0, a.upper()), ("C", "x", 1, 100, c),
                   ("C2", "y", 4, 0, c + " 🎉"), ("B", "x", 2, 100, b),
                   ("other", "x", 3, 5, _sentence(random.Random(1)))])
    without_b = rows.filter(pl.col("content_id") != "B")
    assert len(_batch(without_b)) == 3, "A and C alone are not near duplicates"
    assert len(_batch(rows)) == 2, "B bridges them"
    days = _days(rows)
    for day in days[:2] + days[3:]:  # days 0, 1, 3, 4: A and C apart
        _add(tmp_path, rows, day)
    assert _indexed(tmp_path, [d for d in days if d != days[2]]) == _batch(without_b)
    result = _add(tmp_path, rows, days[2])  # B lands: C's cluster now belongs to A
    assert result.new_edges == 2
    assert result.affected_days == [days[1], days[4]]  # C and C2; A's days keep their earliest copy
    assert result.affected_rows.rows() == [(days[1], 1), (days[4], 1)]
    assert result.merged.height == 1
    assert result.changed_clusters["previous_earliest_docs"].list.len().to_list() == [1]
    assert _indexed(tmp_path, days) == _batch(rows)
    assigned = cluster_assignments(tmp_path, [days[4]]).filter(pl.col("content_id") == "C2")
    assert assigned.select("earliest_platform", "earliest_content_id").row(0) == ("x", "A")
    # the bridge removed again: the clusters split, C's days get their own earliest back
    split = update(tmp_path, day_fingerprints(_day_rows(without_b, days[2]), day=days[2]))
    assert split.affected_days == [days[1], days[4]]
    assert split.removed_docs == 1 and split.dead_nodes == 1
    assert _indexed(tmp_path, days) == _batch(without_b)


def test_an_older_day_arriving_late_becomes_the_earliest_copy(tmp_path: Path) -> None:
    text = _sentence(random.Random(2))
    rows = _frame([("orig", "x", 0, 50, text), ("repost", "y", 5, 0, text.upper()),
                   ("near", "x", 3, 0, _change_word(text, random.Random(3), 4)), ("solo", "x", 0, 0, "🎉")])
    days = _days(rows)
    for day in days[1:]:
        _add(tmp_path, rows, day)
    assert _indexed(tmp_path, days[1:])[frozenset({("y", "repost"), ("x", "near")})] == ("x", "near")
    result = _add(tmp_path, rows, days[0])
    assert result.affected_days == [days[1], days[2]]
    assert _indexed(tmp_path, days) == _batch(rows)
    late = cluster_assignments(tmp_path, [days[2]])
    assert late.select("earliest_content_id", "is_earliest").row(0) == ("orig", False)


def test_emoji_only_and_empty_texts(tmp_path: Path) -> None:
    rows = _frame([("p1", "x", 0, 0, "🎉"), ("p2", "x", 1, 0, "🎉"), ("p3", "x", 1, 1, "😂"),
                   ("e1", "x", 0, 1, ""), ("e2", "x", 1, 2, ""), ("n1", "x", 0, 2, None), ("n2", "y", 1, 3, None)])
    for day in reversed(_days(rows)):
        _add(tmp_path, rows, day)
    got = _indexed(tmp_path, _days(rows))
    assert got == _batch(rows)
    assert got[frozenset({("x", "p1"), ("x", "p2")})] == ("x", "p1")
    assert sum(len(p) == 1 for p in got) == 5  # 😂 and four empty/null texts alone


def test_removing_a_day_and_its_docs(tmp_path: Path) -> None:
    rows = _generated(seed=8, n=120, days=3)
    days = _days(rows)
    for day in days:
        _add(tmp_path, rows, day)
    result = remove_day(tmp_path, days[0])
    assert result.docs == 0 and result.removed_docs == _day_rows(rows, days[0]).height
    assert indexed_days(tmp_path) == days[1:]
    assert _indexed(tmp_path, days[1:]) == _batch(rows.filter(pl.col("created_at").dt.date() != days[0]))
    with pytest.raises(ValueError, match="not in the index"):
        cluster_assignments(tmp_path, [days[0]])


def test_policy_v2_from_the_index_equals_resolve_clusters(tmp_path: Path) -> None:
    """What a day's build does with the index: join the earliest copy's exclusion reason."""
    rows = _generated(seed=9)
    rng = random.Random(9)
    reasons = pl.Series([rng.choice([None, None, None, "minor_at_creation"]) for _ in range(rows.height)])
    rows = rows.with_columns(reasons.alias("exclusion_reason"))
    days = _days(rows)
    for day in reversed(days):
        _add(tmp_path, rows, day)
    batch = resolve_clusters(rows.join(cluster_duplicates(rows).drop("text_hash"), on=["platform", "content_id"]))
    one_day = days[3]
    assigned = cluster_assignments(tmp_path, [one_day]).join(
        rows.select("platform", "content_id", "exclusion_reason"), on=["platform", "content_id"])
    earliest_reason = rows.select(pl.col("platform").alias("earliest_platform"),
                                  pl.col("content_id").alias("earliest_content_id"),
                                  pl.col("exclusion_reason").alias("earliest_reason"))
    resolved = assigned.join(earliest_reason, on=["earliest_platform", "earliest_content_id"]).with_columns(
        pl.when(pl.col("exclusion_reason").is_not_null() | pl.col("is_earliest")).then(None)
        .when(pl.col("earliest_reason").is_null()).then(pl.lit(DUPLICATE))
        .otherwise(pl.lit(COPIES_EXCLUDED_CONTENT)).alias("dedup_reason"))
    expected = batch.filter(pl.col("created_at").dt.date() == one_day)
    key = ["platform", "content_id", "dedup_reason"]
    assert resolved.select(key).sort(key).equals(expected.select(key).sort(key))
    assert expected["dedup_reason"].is_not_null().sum() > 0


def test_mismatched_config_and_unknown_index_are_refused(tmp_path: Path) -> None:
    rows = _frame([("a", "x", 0, 0, "hello")])
    _add(tmp_path, rows, _days(rows)[0])
    with pytest.raises(ValueError, match="index built with"):
        update(tmp_path, day_fingerprints(rows, DedupConfig(threshold=0.9)))
    with pytest.raises(FileNotFoundError):
        cluster_assignments(tmp_path / "nowhere", [_days(rows)[0]])


def test_a_crash_before_the_manifest_leaves_the_previous_index(tmp_path: Path, monkeypatch) -> None:
    rows = _generated(seed=6, n=80, days=2)
    days = _days(rows)
    _add(tmp_path, rows, days[0])
    before = cluster_assignments(tmp_path, [days[0]])

    def crash(obj: dict, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(dedup_index, "_write_json", crash)
    with pytest.raises(OSError):
        _add(tmp_path, rows, days[1])
    monkeypatch.undo()
    assert indexed_days(tmp_path) == [days[0]]
    assert cluster_assignments(tmp_path, [days[0]]).equals(before)
    _add(tmp_path, rows, days[1])  # and the next update cleans up and succeeds
    assert _indexed(tmp_path, days) == _batch(rows)


# --- property -------------------------------------------------------------------------

BASES = [_sentence(random.Random(s), 20) for s in range(4)]


@st.composite
def _small_inputs(draw) -> tuple[pl.DataFrame, list[int]]:
    n = draw(st.integers(1, 14))
    rows = []
    for i in range(n):
        base = draw(st.sampled_from(BASES + ["🎉", "", "ok"]))
        edits = draw(st.lists(st.integers(0, 19), max_size=2)) if len(base) > 10 else []
        text = base
        for position in edits:
            text = _change_word(text, random.Random(position), position)
        if draw(st.booleans()):
            text = text.upper()
        rows.append((f"c{i}", draw(st.sampled_from(["a", "b"])), draw(st.integers(0, 3)),
                     draw(st.sampled_from([0, 1, 7])), text))
    frame = _frame(rows)
    order = draw(st.permutations(list(range(len(_days(frame))))))
    repeat = draw(st.lists(st.integers(0, len(order) - 1), max_size=2))
    return frame, list(order) + repeat


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_small_inputs())
def test_property_incremental_equals_batch(tmp_path_factory, case) -> None:
    rows, order = case
    index_dir = tmp_path_factory.mktemp("index")
    days = _days(rows)
    for i in order:
        _add(index_dir, rows, days[i])
    truth = _batch(rows)
    assert _indexed(index_dir, days) == truth
    bulk = tmp_path_factory.mktemp("bulk")  # a range build: the days in any order, one update
    update_days(bulk, [day_fingerprints(_day_rows(rows, days[i]), day=days[i]) for i in dict.fromkeys(order)])
    assert _indexed(bulk, days) == truth
