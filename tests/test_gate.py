"""The release gate has no history limit: two years of daily partitions, several evaluations each."""

from datetime import date, timedelta

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.utils import make_new_run_id

import assets  # noqa: F401  (the asset modules load first, as in definitions.py: checks.gate is imported by them)
from checks.gate import PAGE, unverified_partitions

CORPUS = dg.AssetKey("filtered_corpus")
CHECKS = ["schema", "consent"]
DAYS = [(date(2025, 4, 1) + timedelta(days=i)).isoformat() for i in range(730)]


def materialize(instance: dg.DagsterInstance, day: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=CORPUS, partition=day))


def evaluate(instance: dg.DagsterInstance, day: str, check: str, passed: bool) -> None:
    """One evaluation in a run of its own (Dagster keeps one evaluation per check, run and partition)."""
    evaluation = dg.AssetCheckEvaluation(asset_key=CORPUS, check_name=check, passed=passed, partition=day)
    event = DagsterEvent(DagsterEventType.ASSET_CHECK_EVALUATION.value, job_name="gate_test",
                         event_specific_data=evaluation)
    instance.report_dagster_event(event, run_id=make_new_run_id())


def test_two_years_of_history_with_several_evaluations_each_are_all_read() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        for day in DAYS:
            for _ in range(2):  # each day built and checked twice
                materialize(instance, day)
                for check in CHECKS:
                    evaluate(instance, day, check, passed=True)
        # a later failed evaluation of the OLDEST day, then a long tail of newer passes on other days
        evaluate(instance, DAYS[0], "consent", passed=False)
        for day in DAYS[1:]:
            evaluate(instance, day, "consent", passed=True)
        total = 2 * len(DAYS) * len(CHECKS) + len(DAYS)
        assert total > 3 * PAGE, "the history must span several pages"

        problems = unverified_partitions(instance, CORPUS, CHECKS, DAYS)
        assert problems == {DAYS[0]: "consent: latest evaluation failed"}

        # rebuilt after the failure, not yet re-checked: still refused; re-checked: released
        materialize(instance, DAYS[0])
        assert unverified_partitions(instance, CORPUS, CHECKS, DAYS) == {
            DAYS[0]: "schema: not evaluated since the latest materialization"}
        for check in CHECKS:
            evaluate(instance, DAYS[0], check, passed=True)
        assert unverified_partitions(instance, CORPUS, CHECKS, DAYS) == {}


def test_a_partition_never_built_or_never_checked_is_named() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        materialize(instance, DAYS[1])
        evaluate(instance, DAYS[1], "schema", passed=True)
        assert unverified_partitions(instance, CORPUS, CHECKS, DAYS[:2]) == {
            DAYS[0]: "never materialized", DAYS[1]: "consent: never evaluated"}
