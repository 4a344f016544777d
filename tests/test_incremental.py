"""A day's corpus built from that day and the dedup index equals the from-scratch build over
every day (issue 12): same outcome for every row, same corpus, same whose-words-where index,
whatever order the days enter the index in, and when a day is built again."""

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.corpus import curate, curate_from_index, prepare_text
from curation.dedup_index import cluster_assignments, update
from curation.fingerprints import day_fingerprints

DAYS = [date(2025, 4, 1) + timedelta(days=i) for i in range(6)]
BASE = [
    "the tram to the old harbour was late again this morning and everyone on the platform sighed",
    "grandma finally shared her secret recipe for plum cake with cinnamon and a pinch of salt",
    "we walked along the river until the lights of the bridge came on and the city went quiet",
    "my neighbour keeps bees on the roof and today they swarmed over the whole courtyard garden",
    "happy birthday!",
    "🎉🎉",
]
REASONS = [None, None, None, "minor_at_creation", "objected", "private_content"]


def generated(seed: int, rows: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    records = []
    for i in range(rows):
        text = rnd.choice(BASE)
        kind = rnd.random()
        if kind < 0.2:
            text = text.upper()  # an exact repost (case, punctuation)
        elif kind < 0.4 and len(text) > 40:
            words = text.split()
            words[rnd.randrange(len(words))] = rnd.choice(["bright", "noisy", "cold"])
            text = " ".join(words)  # a near copy
        elif kind < 0.55:
            text = f"unrelated post number {i} about {rnd.choice(['football', 'rain', 'trains'])} " * 2
        day = rnd.choice(DAYS)
        created = datetime(day.year, day.month, day.day, rnd.randrange(24), rnd.randrange(60), tzinfo=UTC)
        records.append({"content_id": f"c{i}", "platform": rnd.choice(["facebook", "instagram"]),
                        "created_at": created, "text": text, "exclusion_reason": rnd.choice(REASONS),
                        "author_key": f"a{rnd.randrange(8)}", "country": rnd.choice(["DE", "FR", "IT"]),
                        "day": day})
    return pl.DataFrame(records, schema_overrides={"created_at": pl.Datetime("us", "UTC"),
                                                   "exclusion_reason": pl.String})


def outcomes_of(curated) -> dict[tuple[str, str], str]:
    return {(r["platform"], r["content_id"]): r["reason"] for r in curated.outcomes.iter_rows(named=True)}


def incremental(rows: pl.DataFrame, index_dir, order: list[date]) -> tuple[dict, set, set]:
    prepared, pii = prepare_text(rows)
    for day in order:
        update(index_dir, day_fingerprints(prepared.filter(pl.col("day") == day)
                                           .select("content_id", "platform", "created_at", "text"), day=day))
    outcomes: dict = {}
    corpus: set = set()
    author_days: set = set()
    for day in DAYS:
        todays = prepared.filter(pl.col("day") == day)
        assignments = cluster_assignments(index_dir, [day])
        wanted = assignments.filter(~pl.col("is_earliest")).select(
            pl.col("earliest_platform").alias("platform"), pl.col("earliest_content_id").alias("content_id"))
        elsewhere = rows.join(wanted, on=["platform", "content_id"], how="semi").filter(pl.col("day") != day)
        curated = curate_from_index(todays, pii, assignments, elsewhere, [day])
        outcomes |= outcomes_of(curated)
        corpus |= set(curated.corpus["content_id"].to_list())
        author_days |= set(curated.author_days.iter_rows())
    return outcomes, corpus, author_days


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), rows=st.integers(5, 80), shuffle=st.integers(0, 1000))
def test_index_build_equals_the_from_scratch_build(tmp_path_factory, seed: int, rows: int, shuffle: int) -> None:
    frame = generated(seed, rows)
    batch = curate(frame, DAYS)
    order = DAYS.copy()
    random.Random(shuffle).shuffle(order)
    order.append(order[0])  # one day built twice
    outcomes, corpus, author_days = incremental(frame, tmp_path_factory.mktemp("index"), order)
    assert outcomes == outcomes_of(batch)
    assert corpus == set(batch.corpus["content_id"].to_list())
    assert author_days == set(batch.author_days.iter_rows())
