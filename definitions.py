"""The one `Definitions` of consentry. The environment is read here and nowhere else."""

from __future__ import annotations

import os

import dagster as dg

from assets import all_assets
from checks import all_checks
from resources import DEV_AUTHOR_KEY, build_resources

AUTHOR_KEY_ENV = "CONSENTRY_AUTHOR_KEY"


def resources_from_environment() -> dict[str, object]:
    """Local defaults, overridden by CONSENTRY_* variables; the author key only via EnvVar."""
    data_root = os.environ.get("CONSENTRY_DATA", "data")
    return build_resources(
        landing_root=os.environ.get("CONSENTRY_LANDING", os.path.join(data_root, "landing")),
        data_root=data_root,
        ledger_url=os.environ.get("CONSENTRY_LEDGER_URL") or None,
        as_of=os.environ.get("CONSENTRY_AS_OF", ""),
        # Only the variable's presence is read here; its value reaches the resource through
        # EnvVar, so it never shows in the UI or in run config.
        author_key=dg.EnvVar(AUTHOR_KEY_ENV) if AUTHOR_KEY_ENV in os.environ else DEV_AUTHOR_KEY,
    )


def build_definitions(resources: dict[str, object]) -> dg.Definitions:
    return dg.Definitions(assets=all_assets(), asset_checks=all_checks(), resources=resources)


defs = build_definitions(resources_from_environment())
