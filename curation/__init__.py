"""Dagster-free curation logic: eligibility, ledger, text processing."""
