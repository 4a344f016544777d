"""The one `Definitions` of consentry. The environment is read here and nowhere else."""

from __future__ import annotations

import os

import dagster as dg

from assets import all_assets
from automation.jobs import ALL_JOBS
from automation.sensors import alert_sensor, daily_schedule, landing_zone_sensor, objection_sensor, stale_days_sensor
from automation.subject_report import subject_report_job
from checks.registry import all_checks
from curation.keyfile import KEY_ENV, default_key_file
from resources import build_resources
from resources.alerts import (
    DEFAULT_UI_URL,
    AlertSink,
    JsonlAlertSink,
    SlackAlertSink,
    WebhookAlertSink,
    default_alert_path,
)

LEDGER_URL_ENV = "CONSENTRY_LEDGER_URL"


def alert_sink_from_environment(data_root: str) -> AlertSink:
    """Slack when a token and channel are set, else a webhook when its URL is set, else a file;
    links point at CONSENTRY_UI_URL (default the local UI)."""
    ui_url = os.environ.get("CONSENTRY_UI_URL", DEFAULT_UI_URL)
    if "CONSENTRY_SLACK_TOKEN" in os.environ and "CONSENTRY_SLACK_CHANNEL" in os.environ:
        return SlackAlertSink(token=dg.EnvVar("CONSENTRY_SLACK_TOKEN"), channel=os.environ["CONSENTRY_SLACK_CHANNEL"],
                              ui_url=ui_url)
    if "CONSENTRY_ALERT_WEBHOOK_URL" in os.environ:
        return WebhookAlertSink(url=dg.EnvVar("CONSENTRY_ALERT_WEBHOOK_URL"), ui_url=ui_url)
    return JsonlAlertSink(path=os.environ.get("CONSENTRY_ALERT_FILE", default_alert_path(data_root)), ui_url=ui_url)


def resources_from_environment() -> dict[str, object]:
    """Local defaults, overridden by CONSENTRY_* variables; secrets only via EnvVar.

    Of a secret (the author key, the ledger URL, which may hold a password) only the
    variable's presence is read here; its value reaches the resource through EnvVar, so
    it never shows in the UI or in run config. Without CONSENTRY_AUTHOR_KEY the
    installation's generated key file is used (`curation.keyfile`).
    """
    data_root = os.environ.get("CONSENTRY_DATA", "data")
    # The dedup index (and a default SQLite ledger) need a POSIX folder: with an s3:// data root
    # CONSENTRY_STATE names it (docs/DEPLOYMENT.md).
    state_root = os.environ.get("CONSENTRY_STATE", "")
    configured_key = bool(os.environ.get(KEY_ENV))
    return {**build_resources(
        landing_root=os.environ.get("CONSENTRY_LANDING", os.path.join(data_root, "landing")),
        data_root=data_root,
        state_root=state_root,
        ledger_url=dg.EnvVar(LEDGER_URL_ENV) if os.environ.get(LEDGER_URL_ENV) else None,
        as_of=os.environ.get("CONSENTRY_AS_OF", ""),
        purge_alert_after_minutes=float(os.environ.get("CONSENTRY_PURGE_ALERT_MINUTES", "30")),
        release_after_purge=os.environ.get("CONSENTRY_RELEASE_AFTER_PURGE", "1") not in ("0", "false", "no"),
        author_key=dg.EnvVar(KEY_ENV) if configured_key else None,
        author_key_file=None if configured_key else str(default_key_file(os.environ)),
    ), "alerts": alert_sink_from_environment(state_root or data_root)}


def build_definitions(resources: dict[str, object]) -> dg.Definitions:
    """Assets, checks, jobs, sensors and the schedule; runs execute in-process (one machine,
    one step at a time saves ~7 s of process start-up per run; see DAGSTER-NOTES.md)."""
    return dg.Definitions(
        # Each asset links to its definition in the UI (file and line).
        assets=dg.with_source_code_references(all_assets()),
        asset_checks=all_checks(),
        jobs=[*ALL_JOBS, subject_report_job],
        sensors=[landing_zone_sensor, objection_sensor, stale_days_sensor, alert_sensor],
        schedules=[daily_schedule],
        resources=resources,
        executor=dg.in_process_executor,
    )


defs = build_definitions(resources_from_environment())
