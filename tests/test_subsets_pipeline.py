"""Dialect, idiom and humor subsets built by Dagster: tagged rows of the corpus, proven by checks;
on generated samples the k-author guard holds on what is written."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.subsets import GUARD_KEYS, HUMOR_THRESHOLD, SubsetSettings, guard_and_balance, select_subsets, tag_corpus
from checks.subsets import SUBSETS
from curation.balance import k_author_groups
from definitions import build_definitions
from demo.generate import generate_landing_zone
from tests.landing import (
    UNBALANCED,
    content_file,
    materialize_all,
    notification,
    post,
    record_objection,
    resources_for,
    user,
    write_jsonl,
)

AS_OF = "2025-07-01T00:00:00+00:00"
TEXTS = {
    "swiss": ("CH", "Grüezi mitenand, hüt gömmer no schnäll go poschte und dänn gits es feins Zmittag, gäll"),
    "idiom": ("GB", "Honestly we need to break the ice with the new neighbours before the summer party starts"),
    "joke": ("ES", "jajajaja no puedo más con este vídeo 😂😂 me meo de risa, qué crack eres tío"),
    "plain": ("DE", "Die Sitzung des Gemeinderats beginnt am Dienstag um neunzehn Uhr im Rathaus."),
    "local": ("DE", "Wir fahren morgen nach München zum Oktoberfest und danach weiter nach Hamburg"),
    "abroad": ("FR", "Nous partons demain pour Munich, puis nous visiterons encore deux autres villes"),
}


def build(root: Path) -> None:
    write_jsonl(root / "users" / "2025-01-01-snapshot.jsonl",
                [user(name, country=country) for name, (country, _) in TEXTS.items()])
    write_jsonl(root / "notifications" / "2025-01-10.jsonl", [notification(f"n-{n}", n) for n in TEXTS])
    write_jsonl(content_file(root, "facebook", "2025-04-01"),
                [post(f"p-{name}", name, "2025-04-01T10:00:00+00:00", text=text)
                 for name, (_, text) in TEXTS.items()])


def read(root: Path, asset: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((root / "data" / "assets" / asset).glob("*.parquet")))


def test_subsets_hold_the_tagged_corpus_rows(tmp_path: Path) -> None:
    build(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    result = materialize_all(defs, dg.DagsterInstance.ephemeral(), "2025-04-01", "2025-04-01",
                             run_config=UNBALANCED)
    assert result.success
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []
    dialect = read(tmp_path, "dialect_subset")
    assert dialect["content_id"].to_list() == ["p-swiss"]
    materialized = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    metadata = {m.asset_key.to_user_string(): m.metadata for m in materialized}
    legend = {r.data["code"]: r.data["name"] for r in metadata["dialect_subset"]["legend"].records}
    assert legend["gsw"].startswith("Swiss German")
    assert "humor_by_country" in metadata["humor_subset"] and "humor_by_country_chart" in metadata["humor_subset"]
    assert dialect["dialect"].to_list() == ["gsw"] and dialect["dialect_evidence"].list.len().item() > 0
    idioms = read(tmp_path, "idiom_subset")
    assert "p-idiom" in idioms["content_id"].to_list()
    assert any("break_the_ice" in i for i in idioms.filter(pl.col("content_id") == "p-idiom")["idioms"].item())
    humor = read(tmp_path, "humor_subset")
    # humor_score is the irony model's probability; the subset keeps the rows at or above its
    # precision-0.80 threshold (bench/TAGGERS.md), which laughter alone does not reach
    assert "p-plain" not in humor["content_id"].to_list()
    assert humor.filter(pl.col("humor_score") < HUMOR_THRESHOLD).is_empty()
    tagged = tag_corpus(read(tmp_path, "filtered_corpus"))
    scores = dict(zip(tagged["content_id"], tagged["humor_score"], strict=True))
    assert set(humor["content_id"]) == {c for c, s in scores.items() if s >= HUMOR_THRESHOLD}
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    local = read(tmp_path, "local_knowledge_subset")
    assert local["content_id"].to_list() == ["p-local"]  # the French author's Munich is not local
    assert {e["entity"] for e in local["own_country_entities"].item()} >= {"Munich", "Hamburg"}
    corpus_ids = set(read(tmp_path, "filtered_corpus")["content_id"])
    for frame in (dialect, idioms, humor, local):
        assert set(frame["content_id"]) <= corpus_ids


def test_late_objection_fails_the_subset_consent_check(tmp_path: Path) -> None:
    build(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-01", run_config=UNBALANCED).success
    record_objection(defs, "swiss")
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-01",
                             selection="key:dialect_subset or key:idiom_subset or key:humor_subset "
                                       "or key:local_knowledge_subset", run_config=UNBALANCED)
    outcomes = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert outcomes[("dialect_subset", "consent_rules_hold_now")] is False
    assert outcomes[("humor_subset", "consent_rules_hold_now")] is True


# (items, users, days, seed, k, max_share): small samples where guarding before balancing left a
# group below k in a written subset (local_knowledge_subset), as on the 300,000-item `make run`.
SAMPLES = [(3000, 600, 10, 11, 3, 0.1), (5000, 800, 10, 12, 5, 0.15)]


def below_k(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    """The subset check's rule (checks/subsets.py): groups with fewer than k distinct authors."""
    return k_author_groups(frame, GUARD_KEYS).filter(pl.col("authors") < k)


@pytest.mark.slow
@pytest.mark.parametrize(("items", "users", "days", "seed", "k", "share"), SAMPLES)
def test_generated_sample_subsets_keep_k_authors(tmp_path: Path, items: int, users: int, days: int, seed: int,
                                                 k: int, share: float) -> None:
    start = date(2025, 4, 1)
    manifest = generate_landing_zone(tmp_path / "landing", seed=seed, items=items, users=users, start=start,
                                     days=days)
    defs = build_definitions(resources_for(tmp_path, as_of=manifest["recommended_as_of"], min_k_authors=k))
    result = materialize_all(defs, dg.DagsterInstance.ephemeral(), str(start), str(start + timedelta(days=days - 1)),
                             run_config={"ops": {"corpus_subsets": {"config": {"max_share_per_country": share}}}})
    assert result.success
    guard = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()
             if e.check_name == "k_author_guard_holds"}
    assert guard == dict.fromkeys(SUBSETS, True)
    metadata = {m.materialization.asset_key.to_user_string(): m.materialization.metadata
                for m in result.get_asset_materialization_events()}
    for subset in SUBSETS:
        written = read(tmp_path, subset)
        # humor_subset may be empty: its precision-0.80 threshold keeps ~1 % of ironic rows
        # (bench/TAGGERS.md), and the generated texts are short stock phrases
        assert (written.height > 0 or subset == "humor_subset") and below_k(written, k).is_empty(), subset
        meta = {key: value.value for key, value in metadata[subset].items()}
        dropped = sum(v for key, v in meta.items() if key.startswith("dropped_"))
        assert meta["rows_tagged"] == written.height + dropped, "every tagged row is written or counted dropped"

    # The subset building code on the same corpus over more settings: the rule holds on every output.
    subsets = select_subsets(tag_corpus(read(tmp_path, "filtered_corpus")))
    for settings_ in (SubsetSettings(max_share_per_country=0.05), SubsetSettings(max_share_per_country=0.25, seed=3)):
        for k_ in (2, 5):
            for name, frame in subsets.items():
                kept, _ = guard_and_balance(frame, settings_, k_)
                assert below_k(kept, k_).is_empty(), (name, settings_, k_)
