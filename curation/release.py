"""Immutable, versioned corpus releases: files, manifest, proofs, and who they held.

A release folder `<releases>/<release_id>/` holds:

* `corpus/<day>.parquet`: the corpus rows of each packaged day;
* `authors.parquet`: the `author_key`s whose content it holds, so that after a later
  objection every earlier release that held the person can be listed
  (`affected_releases`);
* `excluded_commitments.parquet`: for every excluded subject, sha256(salt ‖ author_key).
  Nobody can read a person out of it; the privacy team, holding the author-key secret,
  can prove a given person was excluded by recomputing their commitment;
* `manifest.json`: counts, sha256 of every file, as-of T, policy version, ledger
  high-water mark, settings, counts by exclusion reason, and the commitment digest.

The folder is written under a temporary name and renamed into place, so a release
either exists whole or not at all; an existing release is never overwritten. On an object
store (`s3://…`, fsspec) there is no rename: the release is staged in a local temp folder,
its files are uploaded, and `manifest.json` goes last, so a release without a manifest is
one being written (or a killed upload), and `verify_release` refuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from upath import UPath

from curation.leftovers import remove_leftovers, staging_name

MANIFEST = "manifest.json"
AUTHORS = "authors.parquet"
COMMITMENTS = "excluded_commitments.parquet"


AnyPath = Path | UPath


def _remote(path: AnyPath | str) -> bool:
    return UPath(path).protocol not in ("", "file", "local")


def _local(path: AnyPath | str) -> Path:
    return Path(UPath(path).path) if isinstance(path, UPath) else Path(path)


def sha256_file(path: AnyPath) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def commitments(author_keys: pl.Series, salt: bytes) -> pl.Series:
    """sha256(salt ‖ author_key) per subject, sorted: a proof list that names nobody."""
    unique = author_keys.drop_nulls().unique().sort().to_list()
    return pl.Series("commitment", sorted(hashlib.sha256(salt + k.encode()).hexdigest() for k in unique),
                     dtype=pl.String)


def prove_excluded(release_dir: AnyPath, author_key: str) -> bool:
    """True when `author_key`'s commitment is in the release's excluded list."""
    manifest = json.loads((release_dir / MANIFEST).read_text())
    salt = bytes.fromhex(manifest["excluded_subjects"]["salt"])
    target = hashlib.sha256(salt + author_key.encode()).hexdigest()
    listed = pl.read_parquet(str(release_dir / COMMITMENTS))["commitment"]
    return bool((listed == target).any())


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    grouped = frame.group_by(column).len().sort(column, nulls_last=True)
    return {("null" if k is None else str(k)): int(n) for k, n in grouped.iter_rows()}


def release_id_for(as_of: datetime, file_hashes: Mapping[str, str]) -> str:
    """`<T>-<content hash>`: the same corpus at the same T is the same release."""
    content = hashlib.sha256("\n".join(f"{k}:{v}" for k, v in sorted(file_hashes.items())).encode()).hexdigest()
    return f"{as_of.astimezone(UTC):%Y%m%dT%H%M%SZ}-{content[:12]}"


def write_release(releases_root: AnyPath, corpus_by_day: Mapping[str, pl.DataFrame], *, as_of: datetime,
                  excluded_authors: pl.Series, exclusion_counts: Mapping[str, int],
                  settings: Mapping[str, Any]) -> tuple[AnyPath, dict[str, Any], bool]:
    """Write a release; returns (folder, manifest, created). An identical release is reused."""
    if _remote(releases_root):
        return _upload_release(UPath(releases_root), corpus_by_day, as_of=as_of, excluded_authors=excluded_authors,
                               exclusion_counts=exclusion_counts, settings=settings)
    releases_root = _local(releases_root)
    releases_root.mkdir(parents=True, exist_ok=True)
    remove_leftovers(releases_root, recursive=False)  # staging folders of killed cuts
    staging = releases_root / staging_name(secrets.token_hex(6))
    (staging / "corpus").mkdir(parents=True)
    try:
        files: dict[str, dict[str, Any]] = {}
        for day, frame in sorted(corpus_by_day.items()):
            rel = f"corpus/{day}.parquet"
            frame.write_parquet(staging / rel, compression="zstd")
            files[rel] = {"rows": frame.height}
        for rel in files:
            path = staging / rel
            files[rel].update(sha256=sha256_file(path), bytes=path.stat().st_size)
        release_id = release_id_for(as_of, {k: v["sha256"] for k, v in files.items()})
        final = releases_root / release_id
        if final.exists():
            shutil.rmtree(staging)
            return final, json.loads((final / MANIFEST).read_text()), False

        corpus = pl.concat(list(corpus_by_day.values()), how="vertical") if corpus_by_day else pl.DataFrame(
            schema={"author_key": pl.String, "language": pl.String, "country": pl.String, "platform": pl.String})
        authors = corpus.select(pl.col("author_key").unique().sort())
        authors.write_parquet(staging / AUTHORS)
        salt = secrets.token_bytes(16)
        proof = commitments(excluded_authors, salt)
        pl.DataFrame({"commitment": proof}).write_parquet(staging / COMMITMENTS)
        for rel in (AUTHORS, COMMITMENTS):
            files[rel] = {"rows": pl.read_parquet(staging / rel).height, "sha256": sha256_file(staging / rel),
                          "bytes": (staging / rel).stat().st_size}
        manifest: dict[str, Any] = {
            "release_id": release_id,
            "created_at": datetime.now(UTC).isoformat(),
            "as_of": as_of.astimezone(UTC).isoformat(),
            "rows": corpus.height,
            "partitions": sorted(corpus_by_day),
            "rows_by_language": _counts(corpus, "language") if "language" in corpus.columns else {},
            "rows_by_country": _counts(corpus, "country"),
            "rows_by_platform": _counts(corpus, "platform"),
            "authors": authors.height,
            "exclusion_counts": dict(exclusion_counts),
            "excluded_subjects": {
                "count": proof.len(),
                "salt": salt.hex(),
                "digest": hashlib.sha256("\n".join(proof.to_list()).encode()).hexdigest(),
                "file": COMMITMENTS,
            },
            "files": files,
            **settings,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        os.replace(staging, final)
        return final, manifest, True
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _upload_release(releases_root: UPath, corpus_by_day: Mapping[str, pl.DataFrame], *, as_of: datetime,
                    excluded_authors: pl.Series, exclusion_counts: Mapping[str, int],
                    settings: Mapping[str, Any]) -> tuple[UPath, dict[str, Any], bool]:
    """The object-store path of `write_release`: the same bytes, staged locally, manifest uploaded last."""
    with tempfile.TemporaryDirectory(prefix="consentry-release-") as tmp:
        local, manifest, _ = write_release(Path(tmp), corpus_by_day, as_of=as_of, excluded_authors=excluded_authors,
                                           exclusion_counts=exclusion_counts, settings=settings)
        final = releases_root / manifest["release_id"]
        if (final / MANIFEST).exists():
            return final, json.loads((final / MANIFEST).read_text()), False
        fs = final.fs
        for rel in sorted(manifest["files"]):  # every data file first, then the manifest: the commit point
            fs.put_file(str(local / rel), f"{final.path}/{rel}")
        fs.put_file(str(local / MANIFEST), f"{final.path}/{MANIFEST}")
    return final, manifest, True


def _relative_files(release_dir: AnyPath, pattern: str) -> set[str]:
    """Files under the release as paths relative to it (by string: object-store paths have no dirs)."""
    base = str(release_dir).rstrip("/") + "/"
    return {str(p)[len(base):] for p in release_dir.rglob(pattern) if str(p).startswith(base)}


def verify_release(release_dir: AnyPath) -> list[str]:
    """Problems found when checking a release against its manifest ([] when it verifies)."""
    problems: list[str] = []
    manifest_path = release_dir / MANIFEST
    if not manifest_path.exists():
        return [f"{release_dir}: no {MANIFEST}"]
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("release_id") != release_dir.name:
        problems.append(f"release_id {manifest.get('release_id')} != folder {release_dir.name}")
    listed = set(manifest["files"])
    present = _relative_files(release_dir, "*.parquet")
    problems += [f"file not in manifest: {p}" for p in sorted(present - listed)]
    corpus_rows = 0
    for rel, meta in sorted(manifest["files"].items()):
        path = release_dir / rel
        if not path.exists():
            problems.append(f"missing file: {rel}")
            continue
        if sha256_file(path) != meta["sha256"]:
            problems.append(f"sha256 mismatch: {rel}")
        rows = pl.scan_parquet(str(path)).select(pl.len()).collect().item()
        if rows != meta["rows"]:
            problems.append(f"row count mismatch: {rel} has {rows}, manifest says {meta['rows']}")
        if rel.startswith("corpus/"):
            corpus_rows += rows
    if corpus_rows != manifest["rows"]:
        problems.append(f"corpus rows {corpus_rows} != manifest rows {manifest['rows']}")
    commitments_file = release_dir / COMMITMENTS
    if commitments_file.exists():
        listed_commitments = pl.read_parquet(str(commitments_file))["commitment"].to_list()
        digest = hashlib.sha256("\n".join(listed_commitments).encode()).hexdigest()
        if digest != manifest["excluded_subjects"]["digest"]:
            problems.append("excluded-subjects digest mismatch")
    return problems


def finished_releases(releases_root: AnyPath) -> list[AnyPath]:
    """Release folders with a manifest, by release id (staging folders start with a dot)."""
    if not releases_root.exists():
        return []
    return sorted(p for p in releases_root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists())


def holds_author(release_dir: AnyPath, author_key: str) -> bool:
    """Whether the release's corpus held content of `author_key` (its authors file)."""
    authors = release_dir / AUTHORS
    return bool(authors.exists() and pl.scan_parquet(str(authors)).filter(pl.col("author_key") == author_key)
                .select(pl.len()).collect().item())


def affected_releases(releases_root: AnyPath, author_key: str) -> list[str]:
    """Every release whose corpus held content of `author_key` (sorted by release id)."""
    return [release.name for release in finished_releases(releases_root) if holds_author(release, author_key)]
