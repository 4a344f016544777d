"""Dagster assets, one module per stage; the logic they call lives in `curation/`."""

from __future__ import annotations

import dagster as dg

from assets.consent import consent_ledger, consent_state, pending_purges
from assets.corpus import filtered_corpus
from assets.raw import landing_inventory_asset, raw_content, raw_users
from assets.release import corpus_release
from assets.subsets import corpus_subsets


def all_assets() -> list[dg.AssetsDefinition | dg.AssetSpec]:
    return [landing_inventory_asset, raw_content, raw_users, consent_ledger, consent_state, pending_purges,
            filtered_corpus, corpus_subsets, corpus_release]
