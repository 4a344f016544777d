"""Releases: immutable, verified against their manifest, gated on the corpus checks."""

import json
from pathlib import Path

import dagster as dg
import polars as pl

from checks.release import release_text_unique
from curation.eligibility import author_key
from curation.release import affected_releases, prove_excluded, verify_release
from definitions import build_definitions
from tests.landing import materialize_all, record_objection, resources_for
from tests.test_pipeline import AS_OF, build_landing

SECRET = b"test-secret-key"


def releases(tmp_path: Path) -> list[Path]:
    root = tmp_path / "data" / "releases"
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_release_is_written_verified_and_traceable(tmp_path: Path) -> None:
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-03")
    assert result.success
    (release,) = releases(tmp_path)
    assert verify_release(release) == []
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["rows"] == 4  # fb-14 was live at T but has been deleted since: removed at the cut
    assert manifest["removed_at_cut"]["by_reason"] == {"future_or_deleted_content": 1}
    assert manifest["as_of"] == "2025-07-01T00:00:00+00:00"
    assert manifest["exclusion_counts"]["objected"] == 1
    assert manifest["partitions"] == ["2025-04-01", "2025-04-02", "2025-04-03"]
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())
    assert manifest["curation"]["dedup"]["threshold"] == 0.8
    assert manifest["ledger_high_water_mark"] >= 1 and manifest["policy_versions"]
    assert "test-secret-key" not in (release / "manifest.json").read_text()
    assert affected_releases(tmp_path / "data" / "releases", author_key("adult", SECRET)) == [release.name]
    assert prove_excluded(release, author_key("objector", SECRET))
    assert not prove_excluded(release, author_key("adult", SECRET))

    # the same corpus at the same T is the same release: nothing is rewritten
    again = materialize_all(defs, instance, "2025-04-01", "2025-04-03", selection="key:corpus_release")
    assert again.success and releases(tmp_path) == [release]


def test_tampered_release_fails_verification(tmp_path: Path) -> None:
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    assert materialize_all(defs, dg.DagsterInstance.ephemeral(), "2025-04-01", "2025-04-03").success
    (release,) = releases(tmp_path)
    corpus_file = release / "corpus" / "2025-04-01.parquet"
    frame = pl.read_parquet(corpus_file)
    frame.head(frame.height - 1).write_parquet(corpus_file)
    (release / "corpus" / "extra.parquet").write_bytes(corpus_file.read_bytes())
    problems = verify_release(release)
    assert any("sha256 mismatch: corpus/2025-04-01.parquet" in p for p in problems)
    assert any("file not in manifest: corpus/extra.parquet" in p for p in problems)


def test_release_refuses_partitions_whose_check_failed(tmp_path: Path) -> None:
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-03").success
    record_objection(defs, "adult")
    rebuilt = materialize_all(defs, instance, "2025-04-01", "2025-04-01",
                              selection="key:filtered_corpus or key:exclusion_report or key:author_index")
    assert not rebuilt.success  # the corpus was written, its blocking check failed

    release = materialize_all(defs, instance, "2025-04-01", "2025-04-03", selection="key:corpus_release")
    assert not release.success
    failure = next(e for e in release.all_events if e.event_type_value == "STEP_FAILURE")
    assert "refusing to release: 1 of 3 partitions" in str(failure.event_specific_data.error)
    assert len(releases(tmp_path)) == 1  # only the release from before the objection

    # re-deriving consent and rebuilding the partition makes it releasable again
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-03",
                           selection="key:consent_state or key:filtered_corpus or key:exclusion_report "
                                     "or key:author_index or key:corpus_release").success
    newest = releases(tmp_path)
    assert len(newest) == 2
    held = affected_releases(tmp_path / "data" / "releases", author_key("adult", SECRET))
    assert held == [newest[0].name] or held == [newest[1].name]
    assert len(held) == 1, "the new release no longer holds the objector"


def test_duplicate_text_in_a_release_fails_its_check(tmp_path: Path) -> None:
    corpus = tmp_path / "r1" / "corpus"
    corpus.mkdir(parents=True)
    pl.DataFrame({"content_id": ["a", "b"], "text_hash": ["h1", "h2"]}).write_parquet(corpus / "2025-04-01.parquet")
    pl.DataFrame({"content_id": ["c"], "text_hash": ["h1"]}).write_parquet(corpus / "2025-04-02.parquet")
    summary = pl.LazyFrame({"path": [str(tmp_path / "r1")]})
    result = release_text_unique(summary)
    assert not result.passed
    assert result.metadata["rows_sharing_a_text_hash"].value == 2
    (corpus / "2025-04-02.parquet").unlink()
    assert release_text_unique(summary).passed


def test_release_card_shows_the_manifest_folder_and_what_changed_since_the_last_release(tmp_path: Path) -> None:
    build_landing(tmp_path / "landing")
    defs = build_definitions(resources_for(tmp_path, as_of=AS_OF))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-03").success
    record_objection(defs, "adult")  # the next cut leaves the adult's rows out
    assert materialize_all(defs, instance, "2025-04-01", "2025-04-03", selection="key:corpus_release").success
    first, second = sorted(releases(tmp_path),
                           key=lambda p: json.loads((p / "manifest.json").read_text())["created_at"])
    newest = json.loads((second / "manifest.json").read_text())

    event = instance.get_latest_materialization_event(dg.AssetKey("corpus_release"))
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["release_folder"].value == str(second)
    card = metadata["release_card"].value
    for fact in (newest["release_id"], str(second), f"**Ledger high-water mark**: {newest['ledger_high_water_mark']}",
                 newest["author_key"]["fingerprint"], ", ".join(newest["policy_versions"]), "no_pii_remains"):
        assert fact in card, fact
    reasons = [line.split("`")[1] for line in card.split("#### Exclusions by reason")[1].split("####")[0].splitlines()
               if line.startswith("| `")]
    assert reasons and reasons.index("objected") < reasons.index("duplicate")  # rule order, not alphabetical

    history = {r.data["release_id"]: r.data for r in metadata["past_releases"].value.records}  # type: ignore[union-attr]
    assert list(history) == [second.name, first.name]  # newest first
    assert history[first.name]["changed"] == "first release"
    assert history[second.name]["rows"] < history[first.name]["rows"]
    assert "authors" in history[second.name]["changed"] and "ledger" in history[second.name]["changed"]
