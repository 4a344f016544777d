"""The definitions load, and the asset keys and check names are what the docs promise.

A rename or a dropped check shows up here in review (the snapshot is deliberate)."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from checks.names import CORPUS_BLOCKING_CHECKS
from definitions import defs

ASSETS = {
    "landing_inventory", "raw_content", "content_quarantine", "raw_users", "users_quarantine", "consent_ledger",
    "ledger_quarantine", "consent_state", "pending_purges", "filtered_corpus", "exclusion_report", "author_index",
    "corpus_release",
    "dialect_subset", "idiom_subset", "humor_subset", "local_knowledge_subset",
}
CHECKS = {
    ("raw_content", "valid_plus_quarantined_equals_read"),
    ("raw_content", "raw_content_schema"),
    ("content_quarantine", "content_quarantine_schema"),
    ("raw_users", "raw_users_schema"),
    ("consent_state", "consent_state_schema"),
    ("filtered_corpus", "filtered_corpus_schema"),
    ("filtered_corpus", "consent_rules_hold_now"),
    ("filtered_corpus", "no_copies_of_excluded_content"),
    ("filtered_corpus", "no_pii_remains"),
    ("exclusion_report", "exclusion_report_schema"),
    ("exclusion_report", "report_reconciles_with_raw"),
    ("corpus_release", "manifest_verifies"),
    ("corpus_release", "no_duplicate_text_in_release"),
    *[(subset, name) for subset in ("dialect_subset", "idiom_subset", "humor_subset", "local_knowledge_subset")
      for name in ("rows_in_filtered_corpus", "consent_rules_hold_now", "k_author_guard_holds")],
}
BLOCKING = {("filtered_corpus", "consent_rules_hold_now"), ("filtered_corpus", "no_copies_of_excluded_content"),
            ("filtered_corpus", "no_pii_remains"), ("filtered_corpus", "filtered_corpus_schema"),
            ("consent_state", "consent_state_schema"), ("raw_content", "valid_plus_quarantined_equals_read"),
            ("exclusion_report", "report_reconciles_with_raw"), ("corpus_release", "manifest_verifies"),
            ("corpus_release", "no_duplicate_text_in_release"),
            *[(subset, name) for subset in ("dialect_subset", "idiom_subset", "humor_subset", "local_knowledge_subset")
              for name in ("rows_in_filtered_corpus", "consent_rules_hold_now", "k_author_guard_holds")]}


def test_asset_keys_and_checks_snapshot() -> None:
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    specs = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert set(specs) == CHECKS
    assert {k for k, s in specs.items() if s.blocking} == BLOCKING
    assert {("filtered_corpus", name) for name in CORPUS_BLOCKING_CHECKS} == {
        k for k in BLOCKING if k[0] == "filtered_corpus"}, "the release gate must know every blocking check"


def test_every_asset_is_described_grouped_and_owned() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 40, key
        assert node.group_name in {"raw", "consent", "corpus", "subsets", "release"}, key
        assert node.owners, key
        assert node.kinds and node.kinds <= {"polars", "parquet", "sqlite", "sensor"}, key
        schema = node.metadata.get("dagster/column_schema")
        columns = getattr(schema, "schema", schema).columns if schema is not None else []
        assert columns, key
        assert any(col.description for col in columns), key
        assert node.metadata.get("dagster/code_references") is not None, key


def test_every_check_is_described() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.asset_check_keys:
        assert len(graph.get_check_spec(key).description or "") > 30, key


def test_dagster_cli_loads_the_workspace(tmp_path: Path) -> None:
    """What `dagster dev` loads: the workspace file, from the project root."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "dagster", "asset", "list", "-f", "definitions.py"],
                         cwd=root, capture_output=True, text=True, timeout=120,
                         env={"DAGSTER_HOME": str(tmp_path), "CONSENTRY_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "filtered_corpus" in out.stdout and "consent_state" in out.stdout
    assert isinstance(defs, dg.Definitions)
