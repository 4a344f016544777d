"""Curation inside the Dagster build: redaction, cross-day consent-aware dedup, and their checks."""

from pathlib import Path

import dagster as dg
import polars as pl

from checks.consent import no_pii_remains
from checks.names import CONSENT_RULES, NO_COPIES_OF_EXCLUDED
from curation.eligibility import author_key
from definitions import build_definitions
from tests.landing import (
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
WEATHER = "What a glorious morning in Vienna, the Prater is full of people enjoying the sun"
DIARY = "My secret diary entry that nobody else should ever read, written after school"
CONTACT = "Selling my old bike, write to anna.k@example.org or call +49 30 1234567 for details"


def build(root: Path) -> None:
    write_jsonl(root / "users" / "2025-01-01-snapshot.jsonl",
                [user("adult"), user("other"), user("minor", birth_date="2011-06-01")])
    write_jsonl(root / "notifications" / "2025-01-10.jsonl",
                [notification(f"n-{u}", u) for u in ("adult", "other", "minor")])
    write_jsonl(content_file(root, "facebook", "2025-04-01"), [
        post("w-1", "adult", "2025-04-01T08:00:00+00:00", text=WEATHER),
        post("c-1", "adult", "2025-04-01T09:00:00+00:00", text=CONTACT)])
    write_jsonl(content_file(root, "facebook", "2025-04-02"), [
        post("d-1", "minor", "2025-04-02T08:00:00+00:00", text=DIARY)])
    write_jsonl(content_file(root, "instagram", "2025-05-20"), [  # 49 days later
        post("w-2", "other", "2025-05-20T08:00:00+00:00", platform="instagram", text=WEATHER + " 😎"),
        post("d-2", "other", "2025-05-20T09:00:00+00:00", platform="instagram", text=DIARY.upper())])


def corpus(root: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((root / "data" / "assets" / "filtered_corpus").glob("*.parquet")))


def report(root: Path) -> dict[str, int]:
    frame = pl.read_parquet(sorted((root / "data" / "assets" / "exclusion_report").glob("*.parquet")))
    return dict(frame.group_by("reason").agg(pl.col("rows").sum()).iter_rows())


def test_reposts_across_days_are_removed_and_minors_words_never_survive(tmp_path: Path) -> None:
    build(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    result = materialize_all(defs, dg.DagsterInstance.ephemeral(), "2025-04-01", "2025-05-20")
    assert result.success
    rows = corpus(tmp_path)
    assert sorted(rows["content_id"]) == ["c-1", "w-1"]  # the earliest copy survives
    contact = rows.filter(pl.col("content_id") == "c-1")["text"].item()
    assert "<EMAIL>" in contact and "<PHONE>" in contact and "example.org" not in contact
    assert set(rows["language"]) == {"en"}
    assert report(tmp_path) == {"eligible": 2, "minor_at_creation": 1, "duplicate": 1,
                                "copies_excluded_content": 1}


def test_late_objection_fails_the_consent_check_and_reaches_other_peoples_days(tmp_path: Path) -> None:
    build(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-05-20").success
    record_objection(defs, "adult")
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-01",
                             selection="key:filtered_corpus or key:exclusion_report or key:author_index")
    outcomes = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert outcomes[CONSENT_RULES].passed is False
    assert outcomes[CONSENT_RULES].metadata["rows_failing"].value == 2  # w-1 and c-1
    # policy v2: both rows are still the earliest copies of their words
    assert outcomes[NO_COPIES_OF_EXCLUDED].passed is True

    # the author index sends the adult's objection to the day of the repost by someone else too
    index = pl.read_parquet(sorted((tmp_path / "data" / "assets" / "author_index").glob("*.parquet")))
    adult_days = index.filter(pl.col("author_key") == author_key("adult", b"test-secret-key"))["day"]
    assert sorted(str(d) for d in adult_days) == ["2025-04-01", "2025-05-20"]


def test_pii_check_fails_on_unredacted_text() -> None:
    from datetime import date

    clean = pl.LazyFrame({"content_id": ["a"], "day": [date(2025, 4, 1)], "text": ["call <PHONE> or mail <EMAIL>"]})
    dirty = pl.LazyFrame({"content_id": ["a", "b"], "day": [date(2025, 4, 1)] * 2,
                          "text": ["mail me: x.y@example.com", "IBAN DE89 3704 0044 0532 0130 00 thanks"]})
    assert no_pii_remains(dg.build_asset_check_context(), clean).passed
    failed = no_pii_remains(dg.build_asset_check_context(), dirty)
    assert not failed.passed
    assert failed.metadata["rows_failing"].value == 2
    assert failed.metadata["failing_email"].value == 1 and failed.metadata["failing_iban"].value == 1


def test_the_copy_check_finds_a_corpus_row_that_is_not_the_earliest_copy(tmp_path) -> None:
    """Policy v2: a private message written first makes a later public copy inadmissible, and the
    check sees it through the dedup index, even when the older day was indexed last."""
    from datetime import UTC, date, datetime

    from curation.corpus import not_earliest_copies, prepare_text
    from curation.dedup_index import update
    from curation.fingerprints import day_fingerprints

    history = pl.DataFrame({
        "content_id": ["dm-1", "p-1", "p-2", "e-1"], "platform": ["messenger", "facebook", "facebook", "facebook"],
        "created_at": [datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 4, 2, tzinfo=UTC),
                       datetime(2025, 4, 3, tzinfo=UTC), datetime(2025, 4, 1, 9, tzinfo=UTC)],
        "text": [DIARY, DIARY.upper(), WEATHER, ""]}).with_columns(pl.col("created_at").dt.date().alias("day"))
    prepared, _ = prepare_text(history)
    for day in (date(2025, 4, 3), date(2025, 4, 2), date(2025, 4, 1)):  # the oldest day arrives last
        update(tmp_path, day_fingerprints(prepared.filter(pl.col("day") == day).drop("day"), day=day))
    corpus = history.filter(pl.col("content_id").is_in(["p-1", "p-2", "e-1"]))
    found = not_earliest_copies(corpus, str(tmp_path))
    assert found["content_id"].to_list() == ["p-1"]
    assert found["first_content_id"].to_list() == ["dm-1"]
    assert found["day"].to_list() == [date(2025, 4, 2)]
    unknown = pl.DataFrame({"content_id": ["x"], "platform": ["facebook"], "day": [date(2025, 5, 1)]})
    assert not_earliest_copies(unknown, str(tmp_path))["content_id"].to_list() == ["x"]  # fail closed


def test_the_exclusion_table_lists_outcomes_in_rule_order_with_totals_and_shares() -> None:
    from curation.corpus import OUTCOMES, exclusion_table

    report = pl.DataFrame({"reason": ["duplicate", "eligible", "objected", "eligible", "not_public_source"],
                           "platform": ["facebook", "facebook", "instagram", "instagram", "facebook"],
                           "rows": [2, 5, 1, 3, 1]})
    table = exclusion_table(report)
    reasons = table["reason"].to_list()
    assert reasons[-1] == "total" and reasons[0] == "eligible"
    assert reasons[:-1] == sorted(reasons[:-1], key=OUTCOMES.index)  # rule order, not by count
    row = dict(zip(reasons, table.iter_rows(named=True), strict=True))
    assert (row["eligible"]["facebook"], row["eligible"]["instagram"], row["eligible"]["total"]) == (5, 3, 8)
    assert row["total"]["total"] == 12 and row["total"]["share"] == 1.0
    assert row["objected"]["share"] == round(1 / 12, 4)
    assert exclusion_table(report.head(0))["reason"].to_list() == ["total"]
