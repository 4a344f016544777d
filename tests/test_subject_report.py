"""The privacy officer's subject report: status and why, history, releases, pending purges, unknown ids."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from curation.eligibility import author_key
from curation.subject import UNKNOWN, SubjectQuery
from definitions import build_definitions
from tests.landing import (
    UNBALANCED,
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
SECRET = b"test-secret-key"
NON_USER = {"full_name": "Zoe Quentin-Varga", "email": "zoe.qv@example.org"}


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("subject")
    landing = tmp_path / "landing"
    write_jsonl(landing / "users" / "2025-01-01.jsonl", [user("usr-bob-7Q"), user("usr-alice-7Q"), user("usr-kid-7Q",
                                                                                                   birth_date="2012-01-01")])
    write_jsonl(landing / "notifications" / "2025-04-14.jsonl",
                [notification(f"n-{u}", u) for u in ("usr-bob-7Q", "usr-alice-7Q", "usr-kid-7Q")])
    write_jsonl(landing / "objections" / "2025-05-01.jsonl", [
        objection("s-alice", "usr-alice-7Q", "2025-05-01T10:00:00+00:00"),
        {**objection("s-zoe", None, "2025-05-02T10:00:00+00:00", email=NON_USER["email"]),
         "full_name": NON_USER["full_name"]},
    ])
    write_jsonl(content_file(landing, "facebook", "2025-04-01"), [
        post("b-1", "usr-bob-7Q", "2025-04-01T10:00:00+00:00", text="Bob writes about the weather today, sunny."),
        post("b-2", "usr-bob-7Q", "2025-04-01T11:00:00+00:00", text="Met zoe quentin varga at the market today."),
        post("b-3", "usr-bob-7Q", "2025-04-01T11:30:00+00:00", text="Lunch with Marta Ilves-Koppel, a long talk."),
        post("a-1", "usr-alice-7Q", "2025-04-01T12:00:00+00:00", text="Alice writes a long post about her garden."),
        post("k-1", "usr-kid-7Q", "2025-04-01T13:00:00+00:00", text="A post by a child about school and games."),
    ])
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-01", run_config=UNBALANCED).success
    return defs, instance, tmp_path


def run_report(defs: dg.Definitions, instance: dg.DagsterInstance, **config: str) -> tuple[dict, dict, str]:
    job = defs.resolve_job_def("subject_report_job")
    result = job.execute_in_process(instance=instance, run_config={"ops": {"subject_report": {"config": config}}},
                                    raise_on_error=False)
    assert result.success, config
    (output,) = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = {k: getattr(v, "value", v) for k, v in output.step_output_data.metadata.items()}
    export = json.loads(Path(metadata["export"]).read_text())
    return metadata, export, result.run_id


def test_an_eligible_user_is_eligible_and_held_by_the_release(released) -> None:
    defs, instance, tmp_path = released
    metadata, export, _ = run_report(defs, instance, user_id="usr-bob-7Q")
    assert (metadata["status"], metadata["known_subject"]) == ("eligible", True)
    assert export["subject"]["author_key"] == author_key("usr-bob-7Q", SECRET)
    assert export["consent_state"]["eligible"] is True and export["consent_state"]["ledger_high_water_mark"] == 5
    assert [e["id"] for e in export["history"]] == ["n-usr-bob-7Q"]
    (release,) = export["releases"]
    assert release["held_their_words"] and not release["proven_excluded"]
    assert metadata["releases_holding_their_words"] == 1 and metadata["releases_proving_exclusion"] == 0
    # the export is whole JSON under the data root, nothing temporary beside it
    folder = tmp_path / "data" / "subject_reports"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_an_objector_is_excluded_with_the_reason_history_and_a_proof(released) -> None:
    defs, instance, _ = released
    metadata, export, _ = run_report(defs, instance, user_id="usr-alice-7Q")
    assert (metadata["status"], metadata["reason"]) == ("excluded", "objected")
    assert [(e["event"], e["id"], e["detail"]) for e in export["history"]] == [
        ("notification", "n-usr-alice-7Q", "email"), ("objection", "s-alice", "object")]
    (release,) = export["releases"]
    assert release["proven_excluded"] and not release["held_their_words"]
    assert "objected" in metadata["report"] and "Releases that prove their exclusion (1)" in metadata["report"]


def test_an_unknown_id_says_so_and_differs_from_an_eligible_user(released) -> None:
    defs, instance, _ = released
    metadata, export, _ = run_report(defs, instance, user_id="usr-nobody-7Q")
    assert (metadata["status"], metadata["known_subject"]) == (UNKNOWN, False)
    assert metadata["report"].startswith("# Unknown subject")
    assert export["history"] == [] and not any(r["held_their_words"] or r["proven_excluded"]
                                                for r in export["releases"])
    eligible, _, _ = run_report(defs, instance, user_id="usr-bob-7Q")
    assert eligible["report"] != metadata["report"] and eligible["status"] != metadata["status"]


def test_a_non_user_by_identifiers_shows_their_objection_and_the_release_without_them(released) -> None:
    defs, instance, _ = released
    metadata, export, _ = run_report(defs, instance, full_name="ZOË Quentin Varga")  # accents and case folded
    assert metadata["status"] == "objected_non_user" and export["reason"] == "mentions_objector"
    assert [e["id"] for e in export["history"]] == ["s-zoe"]
    (release,) = export["releases"]
    assert release["rows_naming_them"] == 0 and release["applied_at_cut"]
    unknown, _, _ = run_report(defs, instance, email="nobody-7Q@example.org")
    assert unknown["status"] == UNKNOWN


def test_a_late_objection_shows_as_pending_and_not_yet_in_consent_state(released) -> None:
    defs, instance, _ = released
    record_objection(defs, "usr-bob-7Q", datetime(2025, 8, 1, tzinfo=UTC), submission_id="late-bob")
    metadata, export, _ = run_report(defs, instance, user_id="usr-bob-7Q")
    assert export["objections_not_in_consent_state"] == ["late-bob"]
    assert [p["submission_id"] for p in export["pending_purges"]] == ["late-bob"]
    assert metadata["pending_purges"] == 1 and metadata["status"] == "eligible"  # at the latest consent state
    assert "late-bob" in metadata["report"]


def test_a_late_non_user_objection_names_the_release_that_held_them_and_the_days_to_purge(released) -> None:
    defs, instance, _ = released
    before, _, _ = run_report(defs, instance, full_name="Marta Ilves-Koppel")
    assert (before["status"], before["releases_holding_their_words"]) == ("eligible", 1)  # named, no objection
    record_objection(defs, None, datetime(2025, 8, 2, tzinfo=UTC), submission_id="late-marta",
                     full_name="marta ilves koppel")
    metadata, export, _ = run_report(defs, instance, full_name="Marta Ilves-Koppel")
    assert (metadata["status"], metadata["known_subject"]) == ("objected_non_user", True)
    (release,) = export["releases"]
    assert release["rows_naming_them"] == 1 and not release["applied_at_cut"]  # cut before the objection
    assert [(p["submission_id"], p["days"]) for p in export["pending_purges"]] == [("late-marta", "2025-04-01")]


def test_the_report_run_logs_no_raw_identifier(released) -> None:
    defs, instance, _ = released
    _, _, run_user = run_report(defs, instance, user_id="usr-alice-7Q")
    _, _, run_other = run_report(defs, instance, **NON_USER)
    texts = [dg.serialize_value(e) for run in (run_user, run_other) for e in instance.all_logs(run)]
    for needle in ("usr-alice-7Q", NON_USER["email"], "Quentin"):
        assert not [t for t in texts if needle in t], needle


def test_both_or_neither_kind_of_subject_is_refused() -> None:
    with pytest.raises(ValueError):
        SubjectQuery()
    with pytest.raises(ValueError):
        SubjectQuery(user_id="a", email="a@example.org")
    assert pl.DataFrame(SubjectQuery(phone="+49 30 1234567").identifiers()).height == 1
