"""Release stage: package every materialized corpus partition into an immutable release.

The release is what training teams consume. Two things protect it:

* the consent guarantee is enforced at the cut (`curation.enforce`): every packaged row is
  judged again against the user snapshot and the ledger read at the cut, and rows whose
  author is no longer eligible are left out and counted as removed at cut, so the release
  never depends on a sensor, a purge run or a check having run;
* the gate (`checks.gate`): every packaged partition passed its blocking checks after its
  latest materialization.

It reads the partitions it packages straight from the store, because it packages what
exists, not a fixed range.
"""

from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from assets.metadata import column_schema, table
from checks.gate import unverified_partitions
from checks.names import CORPUS_BLOCKING_CHECKS
from curation.corpus import OUTCOMES, CurationConfig
from curation.dedup_index import cluster_assignments, indexed_days
from curation.enforce import judge_at_cut
from curation.release import write_release
from curation.release_card import release_card, release_history
from resources import AuthorKeySecret, DataStore, LedgerResource, PolicyResource

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
        "as-of T, policy version, ledger high-water mark, the author key's fingerprint and origin, "
        "settings, exclusions by reason, "
        "a salted-hash commitment of the excluded subjects) and the author_keys it holds. "
        "At the cut it judges every row again against the current user snapshot and the ledger "
        "(objections, withdrawals, notifications, deletions up to the high-water mark it records) "
        "and leaves out, and counts, rows whose author is no longer eligible: no sensor, purge run "
        "or check needs to have succeeded for the release to be consent-clean. Refuses to build "
        "unless every packaged partition passed its blocking checks after its latest materialization."),
    group_name="release", kinds={"polars", "parquet"}, owners=["team:privacy"],
    deps=["filtered_corpus", "exclusion_report", "consent_state"],
    metadata={"dagster/column_schema": column_schema(RELEASE_SCHEMA, {
        "release_id": "`<T>-<content hash>`: the folder name under `<data>/releases/`.",
        "path": "Where the release folder is.", "rows": "Corpus rows in the release.",
        "partitions": "Days packaged.", "as_of": "The as-of time T of the release.",
        "created": "False when an identical release already existed and was reused."})},
)
def corpus_release(context: dg.AssetExecutionContext, store: DataStore, ledger: LedgerResource,
                   policy: PolicyResource, author_key: AuthorKeySecret) -> dg.Output[pl.DataFrame]:
    partitions = sorted(context.instance.get_materialized_partitions(CORPUS))
    if not partitions:
        raise dg.Failure("no corpus partition has been materialized: nothing to release")
    checks = list(CORPUS_BLOCKING_CHECKS)
    problems = unverified_partitions(context.instance, CORPUS, checks, partitions)
    if problems:
        listed = pl.DataFrame({"partition": list(problems), "problem": list(problems.values())})
        raise dg.Failure(
            description=(f"refusing to release: {len(problems)} of {len(partitions)} partitions are not "
                         f"proven by their blocking checks ({', '.join(checks)}): "
                         f"{', '.join(list(problems)[:10])}{' …' if len(problems) > 10 else ''}"),
            metadata={"unproven_partitions": table(listed.head(50)), "count": len(problems)})

    assets = store.path("assets")  # local or s3://: polars reads either by URL
    frames = {p: pl.read_parquet(str(assets / "filtered_corpus" / f"{p}.parquet")) for p in partitions}
    reports = pl.concat([pl.read_parquet(str(assets / "exclusion_report" / f"{p}.parquet")) for p in partitions])
    users = pl.read_parquet(str(assets / "raw_users.parquet"))
    as_ofs = {a for f in frames.values() if f.height for a in f["as_of"].unique().to_list()}
    as_of = max(as_ofs) if as_ofs else policy.as_of_time()

    # The cut: the ledger is read once, at a high-water mark that the manifest records.
    book = ledger.open()
    high_water_mark = book.high_water_mark()
    cut_at = datetime.now(UTC)
    # Which packaged rows are still the earliest copy of their words, per the dedup index now.
    index_dir = str(store.state_path("dedup_index"))
    missing = sorted(set(p for p in partitions if frames[p].height) - {d.isoformat() for d in indexed_days(index_dir)})
    if missing:
        raise dg.Failure(description=(
            f"refusing to release: the dedup index holds no entry for {len(missing)} packaged partitions "
            f"({', '.join(missing[:10])}); rebuild them (their filtered_corpus) so it can prove each row "
            "is the earliest copy of its words"))
    earliest = cluster_assignments(index_dir, [date.fromisoformat(p) for p in partitions if frames[p].height])
    cut = judge_at_cut(frames, users, book.notifications(up_to_seq=high_water_mark),
                       book.objections(up_to_seq=high_water_mark), as_of=as_of, policy=policy.policy(),
                       secret=author_key.key(), now=cut_at, earliest=earliest)
    if cut.removed.height:
        context.log.warning(
            f"removed at cut: {cut.removed.height} rows whose author is not eligible at ledger seq "
            f"{high_water_mark} ({cut.removed_by_reason}); their partitions "
            f"{sorted({str(d) for d in cut.removed['day'].to_list()})[:10]} await a rebuild")
    exclusion_counts = {r: int(reports.filter(pl.col("reason") == r)["rows"].sum()) for r in OUTCOMES[1:]}
    folder, manifest, created = write_release(
        store.path("releases"), cut.kept, as_of=as_of, excluded_authors=cut.excluded_authors,
        exclusion_counts=exclusion_counts,
        settings={**release_settings(list(frames.values())),
                  "ledger_high_water_mark": high_water_mark,
                  # which key made the author_keys (its fingerprint, never the key) and where it came from
                  "author_key": author_key.describe(),
                  "cut_at": cut_at.isoformat(),
                  "removed_at_cut": {"rows": cut.removed.height, "by_reason": cut.removed_by_reason,
                                     "partitions": sorted({str(d) for d in cut.removed["day"].to_list()})},
                  "as_of_values": sorted(str(a) for a in as_ofs),
                  "blocking_checks_verified": checks})
    summary = pl.DataFrame([{"release_id": manifest["release_id"], "path": str(folder), "rows": manifest["rows"],
                             "partitions": len(partitions), "as_of": manifest["as_of"], "created": created}],
                           schema=RELEASE_SCHEMA)
    return dg.Output(summary, metadata={
        "release_id": manifest["release_id"],
        # "path" would be overwritten by the IO manager's Parquet path: the folder has its own key
        "release_folder": dg.MetadataValue.path(str(folder)),
        "release_card": dg.MetadataValue.md(release_card(manifest, str(folder))),
        "past_releases": table(release_history(folder.parent).head(50)),
        "rows": manifest["rows"],
        "partitions": len(partitions),
        "newly_created": created,
        "authors": manifest["authors"],
        "excluded_subjects": manifest["excluded_subjects"]["count"],
        "removed_at_cut": cut.removed.height,
        "ledger_high_water_mark": high_water_mark,
        # a release written before fingerprints were recorded says so
        "author_key_origin": manifest.get("author_key", {}).get("origin", "not recorded"),
        "author_key_fingerprint": manifest.get("author_key", {}).get("fingerprint", "not recorded"),
        "rows_by_platform": manifest["rows_by_platform"],
        "as_of": manifest["as_of"],
    })
