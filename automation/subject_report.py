"""`subject_report_job`: the privacy officer's report on one person, launched from the UI.

UI → *Jobs* → `subject_report_job` → *Launchpad*, with either a user id or a non-user's
identifiers:

    ops: {subject_report: {config: {user_id: "alice"}}}
    ops: {subject_report: {config: {full_name: "Anna Schmidt", email: "anna@example.org"}}}

The logic is `curation.subject`; this op reads the latest user snapshot and consent state,
the ledger, the releases and the pending purges (as the objection sensor derives them),
writes the JSON export under `<data>/subject_reports/`, and shows the report as Markdown
output metadata. The metadata and the logs name the subject only by its `author_key` (or
identifier digests): the raw id stays in the run config the officer typed and in the
export file.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from upath import UPath

from curation.subject import SubjectQuery, report_markdown, write_export
from curation.subject import subject_report as build_report
from resources import AuthorKeySecret, DataStore, LedgerResource

EXPORTS = "subject_reports"


class SubjectConfig(dg.Config):
    """A user id, or the identifiers of a person who is not a user (DESIGN.md rule 8)."""

    user_id: str = ""
    full_name: str = ""
    email: str = ""
    phone: str = ""
    handles: str = ""


def _read(path: UPath) -> pl.DataFrame | None:
    return pl.read_parquet(str(path)) if path.exists() else None


@dg.op(description="Status now and why, ledger history, releases that held or exclude the subject, "
                   "pending purges; a JSON export of the evidence.",
       tags={"consentry/owner": "team:privacy"}, out=dg.Out(dg.Nothing))
def subject_report(context: dg.OpExecutionContext, config: SubjectConfig, store: DataStore,
                   ledger: LedgerResource, author_key: AuthorKeySecret) -> dg.Output:
    try:
        query = SubjectQuery(user_id=config.user_id, full_name=config.full_name, email=config.email,
                             phone=config.phone, handles=config.handles)
    except ValueError as error:
        raise dg.Failure(description=str(error)) from None
    from automation.sensors import purge_plan  # the sensor's derivation of pending purges

    now = datetime.now(UTC)
    book = ledger.open()
    users = _read(store.path("assets", "raw_users.parquet"))
    if users is None:
        users = pl.DataFrame(schema={"user_id": pl.String, "country": pl.String, "birth_date": pl.Date,
                                     "deleted_at": pl.Datetime("us", "UTC")})
    pending = purge_plan(context.instance, ledger, store, author_key, 0).by_submission(now)
    try:
        report = build_report(query, secret=author_key.key(), users=users,
                                state=_read(store.path("assets", "consent_state.parquet")),
                                notifications=book.notifications(with_meta=True),
                                objections=book.objections(with_meta=True),
                                releases_root=store.path("releases"), pending=pending, now=now)
    except ValueError as error:
        raise dg.Failure(description=str(error)) from None
    name = f"{now:%Y%m%dT%H%M%SZ}-{context.run_id[:8]}"
    export = write_export(store.path(EXPORTS), name, report, query)
    releases = report["releases"]
    # the export path is the output's metadata: no IO manager stores a report
    return dg.Output(None, metadata={
        "report": dg.MetadataValue.md(report_markdown(report, query)),
        "status": report["status"],
        "known_subject": report["known"],
        "subject_kind": report["subject"]["kind"],
        "reason": report["reason"] or "none",
        "releases_holding_their_words": sum(r["held_their_words"] for r in releases),
        "releases_proving_exclusion": sum(bool(r.get("proven_excluded") or r.get("applied_at_cut"))
                                          for r in releases),
        "pending_purges": len(report["pending_purges"]),
        "ledger_events": len(report["history"]),
        "export": dg.MetadataValue.path(str(export)),
    })


@dg.job(description=("The privacy officer's subject report: launch with a user id, or a non-user's full name / "
                     "e-mail / phone / handles, in `ops: subject_report: config`."),
        tags={"consentry/kind": "subject_report"})
def subject_report_job() -> None:
    subject_report()
