"""Rule 8 end to end, on a generated sample: the generator's non-users object with their
identifiers, and an in-process Dagster build leaves out every post that names one whose
objection is effective; a non-user objection filed after the build is applied by the
release cut itself; the report counts items per submission, never identifiers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from checks.consent import recheck_corpus
from curation.eligibility import MENTIONS_OBJECTOR
from curation.ledger import ConsentLedger
from curation.mentions import match_mentions, normalise_texts, objector_identifiers
from definitions import build_definitions
from demo.generate import build_non_users, generate_landing_zone
from tests.landing import materialize_all, resources_for

SEED, USERS, START, DAYS = 5, 400, date(2025, 4, 1), 12
END = "2025-04-12"


def read_all(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted(folder.glob("*.parquet")))


def names_in(texts: pl.Series, name: str) -> pl.Series:
    pattern = normalise_texts(pl.Series([name]))[0]
    return normalise_texts(texts).str.contains(pattern, literal=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dg.Definitions, dg.DagsterInstance]:
    root = tmp_path_factory.mktemp("nonuser")
    manifest = generate_landing_zone(root / "landing", seed=SEED, items=2_400, users=USERS, start=START, days=DAYS)
    # T after every generated objection, so each one's latest action counts
    defs = build_definitions(resources_for(root, as_of="2025-07-01T00:00:00+00:00"))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_all(defs, instance, "2025-04-01", END)
    assert result.success
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()
              if not e.passed]
    assert failed == []
    return root, manifest, defs, instance


def test_the_generator_writes_non_user_objectors_and_posts_naming_them(built) -> None:
    root, manifest, _, _ = built
    assert manifest["content"]["mentions_of_non_users"] >= DAYS
    records = []
    for p in sorted((root / "landing" / "objections").glob("*.jsonl")):
        for line in p.read_bytes().splitlines():  # the generator also writes broken lines
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    with_ids = [r for r in records if isinstance(r, dict) and r.get("full_name")]
    assert with_ids and all(r["user_id"] is None for r in with_ids)
    assert manifest["objections"]["non_user_identifier_records"] == len(with_ids)


def test_a_non_user_objection_removes_the_posts_that_name_them(built) -> None:
    root, _, defs, _ = built
    assets = root / "data" / "assets"
    raw, corpus = read_all(assets / "raw_content"), read_all(assets / "filtered_corpus")
    report = read_all(assets / "exclusion_report")
    people = build_non_users(SEED, max(4, USERS // 250))
    objecting = [p for p in people if p.objects and p.objects[-1] == "object"]
    withdrawn = [p for p in people if p.objects and p.objects[-1] == "withdraw"]
    assert objecting[0] is people[0]
    named = names_in(raw["text"], people[0].full_name)
    assert named.sum() >= 1, "the sample names the first non-user"
    for person in objecting:
        assert not names_in(corpus["text"], person.full_name).any(), person.full_name
    removed = int(report.filter(pl.col("reason") == MENTIONS_OBJECTOR)["rows"].sum())
    assert removed >= 1
    # the same matcher, run on the raw rows against the ledger, agrees on which rows name an objector
    store = ConsentLedger(defs.resources["ledger"].url)  # type: ignore[union-attr]
    ids = objector_identifiers(store.objections(), datetime(2025, 7, 1, tzinfo=UTC))
    hits = raw.filter(match_mentions(raw, ids).list.len() > 0)
    assert hits.height >= removed
    assert not corpus.join(hits, on=["platform", "content_id"]).height
    effective_names = set(ids.filter(pl.col("kind") == "name")["key"])
    for person in withdrawn:  # a withdrawal gives the words back (unless another objection names them)
        if not any(q.full_name == person.full_name for q in objecting):
            assert normalise_texts(pl.Series([person.full_name]))[0] not in effective_names


def test_the_report_counts_items_per_submission_without_identifiers(built) -> None:
    _, _, _, instance = built
    record = instance.get_latest_materialization_event(dg.AssetKey("filtered_corpus"))
    assert record is not None
    meta = record.asset_materialization.metadata  # type: ignore[union-attr]
    assert meta["non_user_objections_applied"].value >= 1
    shown = meta["items_removed_by_non_user_objection"]
    assert isinstance(shown, dg.TableMetadataValue)
    rows = [r.data for r in shown.records]
    assert rows and all(set(r) == {"submission_id", "items"} and r["items"] >= 1 for r in rows)
    people = build_non_users(SEED, max(4, USERS // 250))
    text = json.dumps(rows).lower()
    assert not any(p.full_name.lower() in text or p.email.lower() in text for p in people)


def test_a_late_non_user_objection_is_applied_at_the_cut(built) -> None:
    """A non-user who never objected files the form after the build; nothing is rebuilt; the
    release leaves out the posts that name them, found by name or by a digested identifier."""
    root, _, defs, instance = built
    assets = root / "data" / "assets"
    corpus = read_all(assets / "filtered_corpus")
    people = build_non_users(SEED, max(4, USERS // 250))
    silent = [p for p in people if not p.objects]
    target = next(p for p in silent if names_in(corpus["text"], p.full_name).any())
    held = corpus.filter(names_in(corpus["text"], target.full_name))
    late = pl.DataFrame({
        "submission_id": ["late-non-user"], "user_id": [None], "email": [target.email], "action": ["object"],
        "submitted_at": [datetime(2025, 8, 1, tzinfo=UTC)], "full_name": [target.full_name.upper()],
        "phone": [None], "handles": [None]},
        schema={"submission_id": pl.String, "user_id": pl.String, "email": pl.String, "action": pl.String,
                "submitted_at": pl.Datetime("us", "UTC"), "full_name": pl.String, "phone": pl.String,
                "handles": pl.String})
    store = ConsentLedger(defs.resources["ledger"].url)  # type: ignore[union-attr]
    store.import_objections(late, source="test")
    # the blocking check re-derives from the ledger as it is now: these rows now fail rule 8
    per_rule, failing = recheck_corpus(
        corpus, read_all(assets / "raw_users") if (assets / "raw_users").is_dir()
        else pl.read_parquet(assets / "raw_users.parquet"), store.notifications(), store.objections(),
        policy_resource=defs.resources["policy"], secret=defs.resources["author_key"].key(),  # type: ignore[union-attr]
        now=datetime(2025, 8, 2, tzinfo=UTC))
    assert set(failing.filter(pl.col("exclusion_reason") == MENTIONS_OBJECTOR)["content_id"]) >= set(
        held["content_id"])
    assert dict(per_rule.iter_rows())[MENTIONS_OBJECTOR] >= held.height
    assert materialize_all(defs, instance, "2025-04-01", END, selection="key:corpus_release").success
    releases = [p for p in (root / "data" / "releases").iterdir() if p.is_dir() and not p.name.startswith(".")]
    newest = max(releases, key=lambda p: json.loads((p / "manifest.json").read_text())["created_at"])
    released = pl.read_parquet(sorted((newest / "corpus").glob("*.parquet")))
    assert not released.join(held, on=["platform", "content_id"]).height
    assert not names_in(released["text"], target.full_name).any()
    # the release keeps the digests (re-judgeable), never an identifier in clear
    assert released["mention_keys"].explode().drop_nulls().str.contains("@").sum() == 0
    manifest = json.loads((newest / "manifest.json").read_text())
    assert manifest["removed_at_cut"]["by_reason"].get(MENTIONS_OBJECTOR, 0) >= held.height
