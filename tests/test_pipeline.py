"""End-to-end in-process runs of the Dagster assets and checks on a hand-made landing zone."""


from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from checks.names import CONSENT_RULES
from definitions import build_definitions
from tests.landing import (
    content_file,
    materialize_all,
    notification,
    objection,
    post,
    record_objection,
    resources_for,
    user,
    write_jsonl,
)

AS_OF = "2025-07-01T00:00:00+00:00"


def build_landing(root: Path) -> None:
    write_jsonl(root / "users" / "2025-03-01-snapshot.jsonl", [
        user("adult"),
        user("minor", birth_date="2010-01-01"),
        user("nobirth", birth_date=None),
        user("objector"),
        user("unnotified"),
        user("late", country="FR"),
        user("swiss", country="CH"),
        user("gone", deleted_at="2025-05-01T00:00:00+00:00"),
        user("turns18", birth_date="2007-04-02"),
        '{"user_id": "broken", "country": 7}',
    ])
    write_jsonl(root / "notifications" / "2025-04-14.jsonl", [
        notification("n1", "adult"), notification("n2", "minor"), notification("n3", "nobirth"),
        notification("n4", "objector"), notification("n6", "gone"), notification("n7", "turns18"),
        notification("n5", "late", sent_at="2025-06-15T00:00:00+00:00"),
        notification("n5", "late", sent_at="2025-06-15T00:00:00+00:00"),  # same record twice
    ])
    write_jsonl(root / "objections" / "2025-05-01.jsonl", [
        objection("s1", "objector", "2025-05-01T10:00:00+02:00"),
        objection("s1", "objector", "2025-05-01T10:00:00+02:00"),
        objection("s2", None, "2025-05-01T11:00:00+00:00", email="someone@example.org"),
        '{"submission_id": "s3", "action": "maybe", "submitted_at": "2025-05-02T00:00:00+00:00"}',
    ])
    write_jsonl(content_file(root, "facebook", "2025-04-01"), [
        post("fb-1", "adult", "2025-04-01T12:00:00+02:00"),
        post("fb-2", "minor", "2025-04-01T12:00:00+02:00"),
        post("fb-3", "nobirth", "2025-04-01T12:00:00+02:00"),
        post("fb-4", "objector", "2025-04-01T12:00:00+02:00"),
        post("fb-5", "unnotified", "2025-04-01T12:00:00+02:00"),
        post("fb-6", "late", "2025-04-01T12:00:00+02:00"),
        post("fb-7", "swiss", "2025-04-01T12:00:00+02:00"),
        post("fb-8", "gone", "2025-04-01T12:00:00+02:00"),
        post("fb-9", "stranger", "2025-04-01T12:00:00+02:00"),
        post("fb-10", "adult", "2025-04-01T12:00:00+02:00", visibility="friends"),
        post("fb-11", "adult", "2025-04-01T12:00:00+02:00", deleted_at="2025-06-01T00:00:00+00:00"),
        post("fb-14", "adult", "2025-04-01T12:00:00+02:00", deleted_at="2025-08-01T00:00:00+00:00"),
        post("fb-12", "turns18", "2025-04-01T23:59:59+00:00"),
        '{"content_id": "fb-13", "platform": "facebook"',
    ])
    write_jsonl(content_file(root, "facebook", "2025-04-02"), [
        post("fb-20", "turns18", "2025-04-02T01:30:00+02:00"),  # UTC 2025-04-01: wrong folder
        post("fb-21", "turns18", "2025-04-02T00:00:00+00:00"),  # the 18th birthday itself
    ])
    write_jsonl(content_file(root, "whatsapp", "2025-04-02"), [
        post("wa-1", "adult", "2025-04-02T08:00:00+00:00", platform="whatsapp", kind="message",
             visibility="direct"),
    ])
    write_jsonl(content_file(root, "meta_ai", "2025-04-03"), [
        post("ai-1", "adult", "2025-04-03T08:00:00+00:00", platform="meta_ai", kind="ai_prompt",
             visibility="private"),
        post("ai-2", "adult", "2025-04-03T08:00:01+00:00", platform="meta_ai", kind="ai_response",
             visibility="private"),
    ])


@pytest.fixture
def built(tmp_path: Path) -> tuple[dg.Definitions, dg.DagsterInstance, Path, dg.ExecuteInProcessResult]:
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-03")
    return defs, instance, tmp_path, result


def read_asset(tmp_path: Path, asset: str) -> pl.DataFrame:
    folder = tmp_path / "data" / "assets" / asset
    if folder.is_dir():
        return pl.read_parquet(folder / "*.parquet")
    return pl.read_parquet(folder.with_suffix(".parquet"))


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_full_run_keeps_exactly_the_eligible_rows(built) -> None:
    _, _, tmp_path, result = built
    assert result.success
    checks = check_results(result)
    assert checks and all(checks.values()), checks
    corpus = read_asset(tmp_path, "filtered_corpus")
    assert sorted(corpus["content_id"]) == ["ai-1", "fb-1", "fb-14", "fb-21", "fb-7"]
    assert "author_id" not in corpus.columns
    assert corpus["author_key"].str.len_chars().min() >= 16


def test_every_excluded_row_has_its_reason(built) -> None:
    _, _, tmp_path, _ = built
    report = read_asset(tmp_path, "exclusion_report")
    by_reason = dict(report.group_by("reason").agg(pl.col("rows").sum()).iter_rows())
    assert by_reason == {
        "eligible": 5,
        "future_or_deleted_content": 1,  # fb-11, deleted before T
        "minor_at_creation": 2,  # fb-2, and fb-12 a day before the 18th birthday
        "age_unknown": 1,
        "objected": 1,
        "not_notified": 1,
        "objection_window_open": 1,
        "unknown_or_deleted_author": 2,
        "not_public_source": 3,  # friends post, whatsapp message, ai_response
    }
    raw = read_asset(tmp_path, "raw_content")
    assert sum(by_reason.values()) == raw.height


def test_quarantine_keeps_every_bad_record(built) -> None:
    _, _, tmp_path, _ = built
    quarantine = read_asset(tmp_path, "content_quarantine")
    assert sorted(quarantine["reason"]) == ["bad_json", "wrong_folder"]
    assert read_asset(tmp_path, "users_quarantine")["reason"].to_list() == ["missing_field"]
    assert read_asset(tmp_path, "ledger_quarantine")["reason"].to_list() == ["unknown_enum"]


def test_consent_state_records_policy_and_high_water_mark(built) -> None:
    _, _, tmp_path, _ = built
    state = read_asset(tmp_path, "consent_state")
    assert state.height == 9
    assert state["policy_version"].n_unique() == 1
    assert state["ledger_high_water_mark"].min() >= 1
    assert dict(state.select("user_id", "reason").iter_rows())["objector"] == "objected"


def test_late_objection_fails_the_check_and_blocks_downstream(built) -> None:
    defs, instance, tmp_path, _ = built
    runs_of_downstream: list[str] = []

    @dg.asset(partitions_def=defs.resolve_assets_def("filtered_corpus").partitions_def,
              deps=["filtered_corpus"], backfill_policy=dg.BackfillPolicy.single_run())
    def downstream_release(context: dg.AssetExecutionContext) -> None:
        runs_of_downstream.append(context.run_id)

    rebuilt = dg.Definitions.merge(defs, dg.Definitions(assets=[downstream_release]))
    selection = "key:filtered_corpus or key:exclusion_report or key:author_index or key:downstream_release"
    control = materialize_all(rebuilt, instance, "2025-04-01", "2025-04-03", selection=selection)
    assert control.success and runs_of_downstream == [control.run_id]

    record_objection(defs, "adult")

    result = materialize_all(rebuilt, instance, "2025-04-01", "2025-04-03", selection=selection)
    assert not result.success
    assert check_results(result)[CONSENT_RULES] is False
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == CONSENT_RULES]
    evaluation = next(e for e in evaluations if e.partition is None)  # the range's result
    per_day = {e.partition: e.passed for e in evaluations if e.partition is not None}
    assert per_day == {"2025-04-01": False, "2025-04-02": True, "2025-04-03": False}  # the adult's days fail
    assert evaluation.metadata["failing_objected"].value == 3  # fb-1, fb-14 and ai-1
    assert "fb-1" in evaluation.metadata["sample_content_ids"].value
    assert runs_of_downstream == [control.run_id], "downstream ran after a failed blocking check"


def test_a_range_build_shows_each_days_counts_and_the_exclusions_in_rule_order(built) -> None:
    _, instance, tmp_path, result = built
    assert result.success
    event = instance.get_latest_materialization_event(dg.AssetKey("filtered_corpus"))
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    by_day = {r.data["day"]: r.data for r in metadata["rows_by_day"].value.records}  # type: ignore[union-attr]
    report = read_asset(tmp_path, "exclusion_report")
    expected = {str(d): int(n) for d, n in report.group_by("day").agg(pl.col("rows").sum()).iter_rows()}
    assert {d: r["rows_judged"] for d, r in by_day.items()} == expected
    assert sum(r["rows_eligible"] for r in by_day.values()) == metadata["dagster/row_count"].value
    reasons = [r.data["reason"] for r in metadata["exclusions_by_reason_and_platform"].value.records]  # type: ignore
    assert reasons[0] == "eligible" and reasons[-1] == "total"
