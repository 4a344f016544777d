"""Every asset check: Pandera schema checks from the factory, plus the consent re-derivation."""

from __future__ import annotations

import dagster as dg

from checks import schemas
from checks.consent import (
    consent_rules_hold_now,
    no_copies_of_excluded_content,
    no_pii_remains,
    report_reconciles_with_raw,
)
from checks.factory import schema_check
from checks.release import manifest_verifies, release_text_unique
from checks.subsets import SUBSETS, subset_checks


def all_checks() -> list[dg.AssetChecksDefinition]:
    return [
        schema_check("raw_content", schemas.RawContent, partitioned=True),
        schema_check("content_quarantine", schemas.Quarantine, partitioned=True),
        schema_check("raw_users", schemas.RawUsers, partitioned=False),
        schema_check("consent_state", schemas.ConsentState, partitioned=False, blocking=True),
        schema_check("filtered_corpus", schemas.FilteredCorpus, partitioned=True, blocking=True),
        schema_check("exclusion_report", schemas.ExclusionReport, partitioned=True),
        consent_rules_hold_now,
        no_copies_of_excluded_content,
        no_pii_remains,
        report_reconciles_with_raw,
        manifest_verifies,
        release_text_unique,
        *[check for subset in SUBSETS for check in subset_checks(subset)],
    ]
