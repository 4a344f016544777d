"""The consent guarantee at the cut: a release never holds a row of a person who did not allow it,
whether or not anything ran between the ledger changing and the release being cut."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.eligibility import author_key
from curation.enforce import judge_at_cut
from curation.policy import Policy
from curation.release import prove_excluded, verify_release
from definitions import build_definitions
from tests.landing import materialize_all, record_objection, resources_for
from tests.test_pipeline import AS_OF, build_landing

SECRET = b"test-secret-key"
TS = pl.Datetime("us", "UTC")


def newest_release(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "releases"
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return max(found, key=lambda p: json.loads((p / "manifest.json").read_text())["created_at"])


def release_rows(release: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((release / "corpus").glob("*.parquet")))


def corpus_rows(tmp_path: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((tmp_path / "data" / "assets" / "filtered_corpus").glob("*.parquet")))


def assert_rows_and_commitments_agree(release: Path) -> None:
    authors = pl.read_parquet(release / "authors.parquet")["author_key"].to_list()
    assert not [a for a in authors if prove_excluded(release, a)], "a held author is also committed as excluded"


def test_a_release_cut_by_hand_after_only_the_ledger_changed_holds_no_objector(tmp_path: Path) -> None:
    """Issue 11 (a): the objection sensor is stopped, an objection is in the ledger, nobody rebuilt
    anything, and the release is materialized: it must leave the objector's rows out itself."""
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-03").success
    adult = author_key("adult", SECRET)
    adults_rows = corpus_rows(tmp_path).filter(pl.col("author_key") == adult)
    held_before = adults_rows.height
    assert held_before >= 2

    record_objection(defs, "adult")
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-03", selection="key:corpus_release")
    assert result.success
    release = newest_release(tmp_path)
    assert verify_release(release) == []
    rows = release_rows(release)
    assert rows.filter(pl.col("author_key") == adult).is_empty()
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["removed_at_cut"]["rows"] == held_before
    assert manifest["removed_at_cut"]["by_reason"] == {"objected": held_before}
    assert manifest["removed_at_cut"]["partitions"] == sorted({str(d) for d in adults_rows["day"].to_list()})
    assert prove_excluded(release, adult)
    assert_rows_and_commitments_agree(release)
    # the partitions themselves were not rebuilt: the cut did it
    assert corpus_rows(tmp_path).filter(pl.col("author_key") == adult).height == held_before


def test_a_deletion_after_a_pinned_t_is_removed_at_the_cut(tmp_path: Path) -> None:
    """fb-14 was live at T (deleted 2025-08-01, T = 2025-07-01) but the deletion has happened."""
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    assert materialize_all(defs, dg.DagsterInstance.ephemeral(), "2025-04-01", "2025-04-03").success
    assert "fb-14" in corpus_rows(tmp_path)["content_id"].to_list()
    release = newest_release(tmp_path)
    assert "fb-14" not in release_rows(release)["content_id"].to_list()
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["removed_at_cut"]["by_reason"] == {"future_or_deleted_content": 1}


# ---- property: whatever the corpus holds, the cut keeps only rows allowed at the cut ------------

T = datetime(2025, 7, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
USERS = [f"u{i}" for i in range(6)]

user_strategy = st.fixed_dictionaries({
    "birth_date": st.one_of(st.none(), st.dates(date(1950, 1, 1), date(2015, 1, 1))),
    "country": st.sampled_from(["DE", "FR", "CH", "US"]),
    "deleted": st.one_of(st.none(), st.sampled_from([T - timedelta(days=5), T + timedelta(days=5),
                                                     NOW + timedelta(days=30)])),
    "notified": st.one_of(st.none(), st.sampled_from([T - timedelta(days=60), T - timedelta(days=10)])),
    "actions": st.lists(st.tuples(st.sampled_from(["object", "withdraw"]),
                                  st.sampled_from([T - timedelta(days=3), T + timedelta(days=3)])), max_size=3),
    "known": st.booleans(),
})
row_strategy = st.tuples(st.sampled_from(USERS), st.integers(0, 80),
                         st.one_of(st.none(), st.sampled_from([T + timedelta(days=1), NOW + timedelta(days=1)])))


def distinct(actions: list[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
    """Actions a minute apart in list order, so "latest" is never a tie."""
    return [(a, when + timedelta(minutes=i)) for i, (a, when) in enumerate(actions)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(user_strategy, min_size=len(USERS), max_size=len(USERS)), st.lists(row_strategy, max_size=25))
def test_the_cut_keeps_no_row_of_anyone_not_allowed_now(users_spec: list[dict], rows_spec: list[tuple]) -> None:
    policy = Policy()
    users = pl.DataFrame(
        [{"user_id": u, "birth_date": s["birth_date"], "country": s["country"], "deleted_at": s["deleted"]}
         for u, s in zip(USERS, users_spec, strict=True) if s["known"]],
        schema={"user_id": pl.String, "birth_date": pl.Date, "country": pl.String, "deleted_at": TS})
    notifications = pl.DataFrame(
        [{"notification_id": f"n-{u}", "user_id": u, "channel": "email", "sent_at": s["notified"]}
         for u, s in zip(USERS, users_spec, strict=True) if s["notified"]],
        schema={"notification_id": pl.String, "user_id": pl.String, "channel": pl.String, "sent_at": TS})
    objections = pl.DataFrame(
        [{"submission_id": f"s-{u}-{i}", "user_id": u, "email": None, "action": a, "submitted_at": when}
         for u, s in zip(USERS, users_spec, strict=True) for i, (a, when) in enumerate(distinct(s["actions"]))],
        schema={"submission_id": pl.String, "user_id": pl.String, "email": pl.String, "action": pl.String,
                "submitted_at": TS})
    created = [T - timedelta(days=d) for _, d, _ in rows_spec]
    corpus = pl.DataFrame({
        "content_id": [f"c{i}" for i in range(len(rows_spec))],
        "platform": ["facebook"] * len(rows_spec), "kind": ["post"] * len(rows_spec),
        "visibility": ["public"] * len(rows_spec),
        "author_key": [author_key(u, SECRET) for u, _, _ in rows_spec],
        "created_at": created, "deleted_at": [d for _, _, d in rows_spec],
        "day": [c.date() for c in created],
    }, schema_overrides={"created_at": TS, "deleted_at": TS})
    cut = judge_at_cut({"all": corpus}, users, notifications, objections, as_of=T, policy=policy,
                       secret=SECRET, now=NOW)
    kept = cut.kept["all"]
    assert kept.height + cut.removed.height == corpus.height
    spec_of = {author_key(u, SECRET): s for u, s in zip(USERS, users_spec, strict=True)}
    for row in kept.iter_rows(named=True):
        s = spec_of[row["author_key"]]
        assert s["known"], "unknown author kept"
        assert s["deleted"] is None or s["deleted"] > NOW, "deleted account kept"
        assert row["deleted_at"] is None or row["deleted_at"] > NOW, "deleted item kept"
        assert s["birth_date"] is not None, "unknown age kept"
        born = s["birth_date"]
        made = row["created_at"].date()
        assert (made.year - born.year - ((made.month, made.day) < (born.month, born.day))) >= 18, "minor kept"
        if s["country"] in policy.notice_regions:
            assert s["notified"] is not None and s["notified"] + timedelta(days=42) <= T, "not notified kept"
        if s["actions"]:
            latest = max(distinct(s["actions"]), key=lambda a: a[1])
            assert latest[0] != "object", "objector kept"
    held = set(kept["author_key"].to_list())
    assert not held & set(cut.excluded_authors.to_list())
