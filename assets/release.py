"""Release stage: package every materialized corpus partition into an immutable release.

The release is what training teams consume, so it refuses to build unless every
partition it packages passed its blocking checks after its latest materialization
(`checks.gate`). It reads the partitions it packages straight from the store, because
it packages what exists, not a fixed range.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import column_schema, table
from checks.gate import unverified_partitions
from checks.names import CORPUS_BLOCKING_CHECKS
from curation.corpus import OUTCOMES, CurationConfig
from curation.release import write_release
from resources import DataStore

CORPUS = dg.AssetKey("filtered_corpus")
RELEASE_SCHEMA = {"release_id": pl.String(), "path": pl.String(), "rows": pl.Int64(), "partitions": pl.Int64(),
                  "as_of": pl.String(), "created": pl.Boolean()}


def release_settings(frames: list[pl.DataFrame]) -> dict[str, object]:
    """Settings recorded in the manifest: what built the rows (policy, curation)."""
    versions = sorted({v for f in frames if f.height for v in f["policy_version"].unique().to_list()})
    return {"policy_versions": versions, "curation": CurationConfig().to_dict()}


@dg.asset(
    description=(
        "An immutable, versioned release folder `<data>/releases/<release_id>/`: the corpus "
        "files of every materialized partition, `manifest.json` (counts, sha256 of each file, "
        "as-of T, policy version, ledger high-water mark, settings, exclusions by reason, "
        "a salted-hash commitment of the excluded subjects) and the author_keys it holds. "
        "Refuses to build unless every packaged partition passed its blocking checks after "
        "its latest materialization."),
    group_name="release", kinds={"polars", "parquet"}, owners=["team:privacy"],
    deps=["filtered_corpus", "exclusion_report", "consent_state"],
    metadata={"dagster/column_schema": column_schema(RELEASE_SCHEMA, {
        "release_id": "`<T>-<content hash>`: the folder name under `<data>/releases/`.",
        "path": "Where the release folder is.", "rows": "Corpus rows in the release.",
        "partitions": "Days packaged.", "as_of": "The as-of time T of the release.",
        "created": "False when an identical release already existed and was reused."})},
)
def corpus_release(context: dg.AssetExecutionContext, store: DataStore) -> dg.Output[pl.DataFrame]:
    partitions = sorted(context.instance.get_materialized_partitions(CORPUS))
    if not partitions:
        raise dg.Failure("no corpus partition has been materialized: nothing to release")
    checks = list(CORPUS_BLOCKING_CHECKS)
    problems = unverified_partitions(context.instance, CORPUS, checks, partitions)
    if problems:
        listed = pl.DataFrame({"partition": list(problems), "problem": list(problems.values())})
        raise dg.Failure(
            description=(f"refusing to release: {len(problems)} of {len(partitions)} partitions are not "
                         f"proven by their blocking checks ({', '.join(checks)})"),
            metadata={"unproven_partitions": table(listed.head(50)), "count": len(problems)})

    assets = Path(str(store.path("assets")))
    frames = {p: pl.read_parquet(assets / "filtered_corpus" / f"{p}.parquet") for p in partitions}
    reports = pl.concat([pl.read_parquet(assets / "exclusion_report" / f"{p}.parquet") for p in partitions])
    state = pl.read_parquet(assets / "consent_state.parquet")
    as_ofs = {a for f in frames.values() if f.height for a in f["as_of"].unique().to_list()}
    as_of = max(as_ofs) if as_ofs else datetime.now(UTC)
    exclusion_counts = {r: int(reports.filter(pl.col("reason") == r)["rows"].sum()) for r in OUTCOMES[1:]}
    excluded_authors = state.filter(~pl.col("eligible"))["author_key"]
    folder, manifest, created = write_release(
        Path(str(store.path("releases"))), frames, as_of=as_of, excluded_authors=excluded_authors,
        exclusion_counts=exclusion_counts,
        settings={**release_settings(list(frames.values())),
                  "ledger_high_water_mark": int(state["ledger_high_water_mark"].max() or 0),
                  "consent_state_as_of": str(state["as_of"].max()),
                  "as_of_values": sorted(str(a) for a in as_ofs),
                  "blocking_checks_verified": checks})
    summary = pl.DataFrame([{"release_id": manifest["release_id"], "path": str(folder), "rows": manifest["rows"],
                             "partitions": len(partitions), "as_of": manifest["as_of"], "created": created}],
                           schema=RELEASE_SCHEMA)
    return dg.Output(summary, metadata={
        "release_id": manifest["release_id"],
        "path": dg.MetadataValue.path(str(folder)),
        "rows": manifest["rows"],
        "partitions": len(partitions),
        "newly_created": created,
        "authors": manifest["authors"],
        "excluded_subjects": manifest["excluded_subjects"]["count"],
        "rows_by_platform": manifest["rows_by_platform"],
        "as_of": manifest["as_of"],
    })
