"""What a release is, at a glance: the card shown on `corpus_release` and the history of releases.

The card is read from the manifest alone (what was written and verified), so it says the
same in the UI as in the folder. The history compares each finished release with the one
cut before it: a reader sees what changed (rows, authors, days, excluded subjects, the
ledger mark) without opening two manifests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from curation.corpus import OUTCOMES
from curation.release import MANIFEST, finished_releases

HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "release_id": pl.String(), "created_at": pl.String(), "as_of": pl.String(), "ledger_high_water_mark": pl.Int64(),
    "rows": pl.Int64(), "authors": pl.Int64(), "partitions": pl.Int64(), "excluded_subjects": pl.Int64(),
    "removed_at_cut": pl.Int64(), "changed": pl.String(),
}


def _signed(delta: int) -> str:
    return f"{delta:+,}"


def _changes(manifest: Mapping[str, Any], before: Mapping[str, Any] | None) -> str:
    """What differs from the release cut before, in words."""
    if before is None:
        return "first release"
    parts = []
    for key, label in (("rows", "rows"), ("authors", "authors")):
        delta = int(manifest.get(key, 0)) - int(before.get(key, 0))
        if delta:
            parts.append(f"{_signed(delta)} {label}")
    days, days_before = set(manifest.get("partitions", [])), set(before.get("partitions", []))
    if days - days_before:
        parts.append(f"+{len(days - days_before)} days")
    if days_before - days:
        parts.append(f"-{len(days_before - days)} days")
    excluded = _excluded(manifest) - _excluded(before)
    if excluded:
        parts.append(f"{_signed(excluded)} excluded subjects")
    if manifest.get("as_of") != before.get("as_of"):
        parts.append(f"T {before.get('as_of')} → {manifest.get('as_of')}")
    mark, mark_before = manifest.get("ledger_high_water_mark"), before.get("ledger_high_water_mark")
    if mark != mark_before:
        parts.append(f"ledger {mark_before} → {mark}")
    if manifest.get("policy_versions") != before.get("policy_versions"):
        parts.append(f"policy {before.get('policy_versions')} → {manifest.get('policy_versions')}")
    return ", ".join(parts) or "same content, new cut"


def _excluded(manifest: Mapping[str, Any]) -> int:
    return int(manifest.get("excluded_subjects", {}).get("count", 0))


def release_history(releases_root: Path) -> pl.DataFrame:
    """One row per finished release, newest first, with what changed since the one before."""
    rows: list[dict[str, Any]] = []
    before: Mapping[str, Any] | None = None
    manifests = [json.loads((folder / MANIFEST).read_text()) for folder in finished_releases(releases_root)]
    for manifest in sorted(manifests, key=lambda m: (m.get("created_at", ""), m["release_id"])):  # oldest cut first
        rows.append({
            "release_id": manifest["release_id"], "created_at": manifest.get("created_at"),
            "as_of": manifest.get("as_of"), "ledger_high_water_mark": manifest.get("ledger_high_water_mark"),
            "rows": manifest.get("rows"), "authors": manifest.get("authors"),
            "partitions": len(manifest.get("partitions", [])), "excluded_subjects": _excluded(manifest),
            "removed_at_cut": manifest.get("removed_at_cut", {}).get("rows", 0),
            "changed": _changes(manifest, before),
        })
        before = manifest
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA).reverse()


def _count_table(title: str, counts: Mapping[str, int], order: Sequence[str] | None = None) -> list[str]:
    """A Markdown table of counts with shares; in `order` where given, else largest first."""
    total = sum(counts.values())
    keys = [k for k in order if k in counts] if order else sorted(counts, key=lambda k: (-counts[k], k))
    lines = [f"| {title} | rows | share |", "|---|---:|---:|"]
    lines += [f"| `{k}` | {counts[k]:,} | {counts[k] / total:.1%} |" for k in keys if total]
    lines.append(f"| **total** | **{total:,}** | |")
    return lines


def release_card(manifest: Mapping[str, Any], folder: str) -> str:
    """The manifest as a card: identity, cut, key, counts by reason / country / language, checks."""
    key = manifest.get("author_key", {})
    removed = manifest.get("removed_at_cut", {})
    lines = [
        f"### Release `{manifest['release_id']}`", "",
        f"* **Folder**: `{folder}`",
        f"* **T (as of)**: {manifest.get('as_of')} · **cut at**: {manifest.get('cut_at', 'not recorded')}",
        f"* **Policy version**: {', '.join(map(str, manifest.get('policy_versions', []))) or 'not recorded'}",
        f"* **Ledger high-water mark**: {manifest.get('ledger_high_water_mark', 'not recorded')}",
        f"* **Author key**: fingerprint `{key.get('fingerprint', 'not recorded')}` "
        f"({key.get('origin', 'origin not recorded')})",
        f"* **Rows**: {manifest.get('rows', 0):,} from {manifest.get('authors', 0):,} authors over "
        f"{len(manifest.get('partitions', []))} days; excluded subjects committed: {_excluded(manifest):,}",
        f"* **Removed at the cut**: {removed.get('rows', 0):,} rows {removed.get('by_reason') or ''}".rstrip(),
        f"* **Blocking checks verified**: {', '.join(manifest.get('blocking_checks_verified', [])) or 'none recorded'}",
        "", "#### Exclusions by reason (rule order)", "",
        *_count_table("reason", manifest.get("exclusion_counts", {}), OUTCOMES[1:]),
        "", "#### Rows by country", "", *_count_table("country", manifest.get("rows_by_country", {})),
        "", "#### Rows by language", "", *_count_table("language", manifest.get("rows_by_language", {})),
    ]
    return "\n".join(lines) + "\n"
