"""The privacy officer's subject report: one person's consent evidence, in one place.

Questions the DPO must answer at any time (DESIGN.md): is this person eligible now, and
why; what did they (or the platform) record in the ledger; which releases held their words;
which releases prove they were left out; and which purges are still pending. The subject
is named either by a platform **user id** or, for a person who is not a user (rule 8), by
the **identifiers** under which they appear in other people's posts (full name, e-mail,
phone, handles).

* **User**: the id becomes its `author_key` (the same keyed hash the builds used). Status is
  the row of the latest `consent_state` (eligible, or its first failing reason at that
  state's T and ledger high-water mark); objections after that mark are named as not yet
  applied. Releases: `authors.parquet` says which held them; the salted commitments
  (`excluded_commitments.parquet`) prove in which they were excluded.
* **Non-user**: the identifiers are normalised and digested exactly as rule 8 does
  (`curation.mentions`). History: every non-user submission naming one of them. Status: the
  latest action per identifier at now. Releases: the corpus rows of each release whose text
  names them or whose `mention_keys` hold their digests. Commitments cover authors only, so
  a release "proves" a non-user's exclusion by being cut at a ledger mark that saw their
  effective objection while holding no row that names them (`applied_at_cut`).
* **Unknown**: nothing in the user snapshot, the ledger or any release knows the subject.
  That is a distinct answer (`unknown_subject`), never the same as an eligible user.

The report is a plain dict (the JSON export); `report_markdown` renders it for the UI and
names the subject only by its key, never by the raw id or e-mail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from curation.eligibility import author_key
from curation.keyfile import fingerprint
from curation.mentions import identifier_keys, match_mentions, objector_identifiers
from curation.release import MANIFEST, finished_releases, holds_author, prove_excluded

UNKNOWN = "unknown_subject"
ELIGIBLE = "eligible"
EXCLUDED = "excluded"
NOT_IN_STATE = "not_in_consent_state"
OBJECTED = "objected_non_user"
WITHDRAWN = "withdrawn_non_user"
REPORT_VERSION = 1
_QUERY_ID = "subject-query"


@dataclass(frozen=True)
class SubjectQuery:
    """Who the officer asks about: a user id, or a non-user's identifiers (not both)."""

    user_id: str = ""
    full_name: str = ""
    email: str = ""
    phone: str = ""
    handles: str = ""

    def __post_init__(self) -> None:
        identifiers = any(v.strip() for v in (self.full_name, self.email, self.phone, self.handles))
        if bool(self.user_id.strip()) == identifiers:
            raise ValueError("give either a user_id or non-user identifiers (full_name, email, phone, handles)")

    @property
    def is_user(self) -> bool:
        return bool(self.user_id.strip())

    def identifiers(self) -> pl.DataFrame:
        """The query as one non-user objection record, so rule 8's normalisation applies."""
        return pl.DataFrame({
            "submission_id": [_QUERY_ID], "user_id": [None], "email": [self.email or None],
            "action": ["object"], "submitted_at": [datetime(1970, 1, 1, tzinfo=UTC)],
            "full_name": [self.full_name or None], "phone": [self.phone or None], "handles": [self.handles or None],
        }, schema={"submission_id": pl.String, "user_id": pl.String, "email": pl.String, "action": pl.String,
                   "submitted_at": pl.Datetime("us", "UTC"), "full_name": pl.String, "phone": pl.String,
                   "handles": pl.String})


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def _release_facts(folder: Path, ours: str) -> dict[str, Any]:
    manifest = json.loads((folder / MANIFEST).read_text())
    key = manifest.get("author_key", {}).get("fingerprint")
    return {"release_id": folder.name, "as_of": manifest.get("as_of"), "created_at": manifest.get("created_at"),
            "ledger_high_water_mark": manifest.get("ledger_high_water_mark"),
            "same_author_key": key is None or key == ours}


def _user_history(user_id: str, notifications: pl.DataFrame, objections: pl.DataFrame) -> pl.DataFrame:
    sent = notifications.filter(pl.col("user_id") == user_id).select(
        pl.lit("notification").alias("event"), pl.col("notification_id").alias("id"),
        pl.col("channel").alias("detail"), pl.col("sent_at").alias("at"), "seq", "recorded_at", "source")
    filed = objections.filter(pl.col("user_id") == user_id).select(
        pl.lit("objection").alias("event"), pl.col("submission_id").alias("id"),
        pl.col("action").alias("detail"), pl.col("submitted_at").alias("at"), "seq", "recorded_at", "source")
    return pl.concat([sent, filed]).sort("seq")


def user_report(user_id: str, *, secret: bytes, users: pl.DataFrame, state: pl.DataFrame | None,
                notifications: pl.DataFrame, objections: pl.DataFrame, releases_root: Path,
                pending: pl.DataFrame) -> dict[str, Any]:
    """Evidence about one platform user (see the module doc). `notifications` / `objections`
    are ledger events with `seq`, `recorded_at`, `source`; `pending` the purge plan's rows
    (`submission_id`, `seq`, `days`, `pending_minutes`) for any submission."""
    key = author_key(user_id, secret)
    ours = fingerprint(secret)
    in_snapshot = users.filter(pl.col("user_id") == user_id)
    history = _user_history(user_id, notifications, objections)
    releases = []
    for folder in finished_releases(releases_root):
        facts = _release_facts(folder, ours)
        facts["held_their_words"] = holds_author(folder, key)
        facts["proven_excluded"] = prove_excluded(folder, key)
        releases.append(facts)
    row = state.filter(pl.col("author_key") == key) if state is not None and state.height else None
    state_hwm = int(state["ledger_high_water_mark"].max() or 0) if state is not None and state.height else None
    known = bool(in_snapshot.height or history.height or any(r["held_their_words"] or r["proven_excluded"]
                                                            for r in releases))
    consent: dict[str, Any] | None = None
    if not known:
        status, reason, why = UNKNOWN, None, ("no user record, no ledger event and no release knows this user id "
                                              "(check the spelling; an id is case-sensitive)")
    elif row is not None and row.height:
        first = row.row(0, named=True)
        consent = {"eligible": bool(first["eligible"]), "reason": first["reason"], "as_of": _iso(first["as_of"]),
                   "objections_as_of": _iso(first.get("objections_as_of")), "ledger_high_water_mark": state_hwm}
        status = ELIGIBLE if first["eligible"] else EXCLUDED
        reason = first["reason"]
        why = ("passes every author-level rule at the latest consent state" if first["eligible"]
               else f"first failing rule at the latest consent state: {reason}")
    elif not in_snapshot.height:
        status, reason = EXCLUDED, "unknown_or_deleted_author"
        why = "not in the user snapshot (unknown or deleted account): all their content is excluded (rule 3)"
    else:
        status, reason = NOT_IN_STATE, None
        why = "in the user snapshot but not in the latest consent state: materialize consent_state"
    own = set(history.filter(pl.col("event") == "objection")["id"].to_list())
    not_applied = history.filter((pl.col("event") == "objection")
                                 & (pl.col("seq") > (state_hwm if state_hwm is not None else -1)))
    return {
        "report_version": REPORT_VERSION,
        "subject": {"kind": "user", "author_key": key},
        "known": known,
        "status": status,
        "reason": reason,
        "why": why,
        "consent_state": consent,
        "account": ({"in_user_snapshot": True, "country": in_snapshot["country"][0],
                     "account_deleted": in_snapshot["deleted_at"][0] is not None,
                     "birth_date_known": in_snapshot["birth_date"][0] is not None}
                    if in_snapshot.height else {"in_user_snapshot": False}),
        "history": _records(history),
        "objections_not_in_consent_state": not_applied["id"].to_list(),
        "releases": releases,
        "pending_purges": _pending_of(pending, own),
        "author_key_fingerprint": ours,
    }


def _pending_of(pending: pl.DataFrame, submissions: set[str]) -> list[dict[str, Any]]:
    """The purge plan's rows for these submissions, days joined for display."""
    if pending.is_empty():
        return []
    theirs = pending.filter(pl.col("submission_id").is_in(sorted(submissions)))
    return _records(theirs.with_columns(pl.col("days").list.join(", ")))


def _release_rows_naming(folder: Path, identifiers: pl.DataFrame) -> int:
    """Corpus rows of a release whose text names the identifiers or whose digests hold them."""
    files = sorted((folder / "corpus").glob("*.parquet"))
    if not files or identifiers.is_empty():
        return 0
    rows = pl.read_parquet(files, columns=None)
    hits = match_mentions(rows, identifiers)
    return int((hits.list.len() > 0).sum())


def non_user_report(query: SubjectQuery, *, secret: bytes, objections: pl.DataFrame, releases_root: Path,
                    pending: pl.DataFrame, now: datetime) -> dict[str, Any]:
    """Evidence about a person who is not a user, named by the identifiers of rule 8;
    `pending` as for `user_report` (the purge plan matches non-users' days too)."""
    asked = objector_identifiers(query.identifiers(), now, secret)
    if asked.is_empty():
        raise ValueError("none of the identifiers is usable (a name needs two words, a phone 6 digits)")
    ours = fingerprint(secret)
    named = identifier_keys(objections).join(asked.select("kind", "key"), on=["kind", "key"], how="semi")
    submissions = named["submission_id"].unique().to_list()
    history = (objections.filter(pl.col("submission_id").is_in(submissions))
               .select(pl.lit("objection").alias("event"), pl.col("submission_id").alias("id"),
                       pl.col("action").alias("detail"), pl.col("submitted_at").alias("at"),
                       "seq", "recorded_at", "source").sort("seq"))
    effective = objector_identifiers(objections, now, secret).join(asked.select("kind", "key"),
                                                                   on=["kind", "key"], how="semi")
    seqs = dict(zip(objections["submission_id"].to_list(), objections["seq"].to_list(), strict=True))
    needed = max((seqs[s] for s in effective["submission_id"].to_list()), default=None)
    releases = []
    for folder in finished_releases(releases_root):
        facts = _release_facts(folder, ours)
        rows = _release_rows_naming(folder, asked)
        facts["held_their_words"] = rows > 0
        facts["rows_naming_them"] = rows
        hwm = facts["ledger_high_water_mark"]
        facts["proven_excluded"] = False  # commitments cover authors only (module doc)
        facts["applied_at_cut"] = bool(needed is not None and hwm is not None and hwm >= needed and rows == 0)
        releases.append(facts)
    known = bool(history.height or any(r["held_their_words"] for r in releases))
    if not known:
        status, why = UNKNOWN, "no objection in the ledger names these identifiers and no release holds them"
    elif effective.height:
        status = OBJECTED
        why = (f"an effective objection names {effective.height} of the identifiers: every item mentioning them is "
               "excluded (rule 8, mentions_objector)")
    elif history.height:
        status, why = WITHDRAWN, "the latest action for every identifier named is a withdrawal"
    else:
        status, why = ELIGIBLE, "no objection names these identifiers: mentions of them are not excluded"
    return {
        "report_version": REPORT_VERSION,
        "subject": {"kind": "non_user",
                    "identifier_kinds": sorted(asked["kind"].unique().to_list()),
                    "digests": sorted(d for d in asked["digest"].to_list() if d)},
        "known": known,
        "status": status,
        "reason": "mentions_objector" if status == OBJECTED else None,
        "why": why,
        "effective_submissions": sorted(effective["submission_id"].unique().to_list()),
        "history": _records(history),
        "releases": releases,
        "pending_purges": _pending_of(pending, set(submissions)),
        "author_key_fingerprint": ours,
    }


def subject_report(query: SubjectQuery, *, secret: bytes, users: pl.DataFrame, state: pl.DataFrame | None,
                   notifications: pl.DataFrame, objections: pl.DataFrame, releases_root: Path,
                   pending: pl.DataFrame, now: datetime) -> dict[str, Any]:
    """The report for a user id or a non-user's identifiers, with when it was made."""
    if query.is_user:
        report = user_report(query.user_id.strip(), secret=secret, users=users, state=state,
                             notifications=notifications, objections=objections, releases_root=releases_root,
                             pending=pending)
    else:
        report = non_user_report(query, secret=secret, objections=objections, releases_root=releases_root,
                                 pending=pending, now=now)
    return {**report, "generated_at": now.isoformat()}


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "_none_\n"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    cell = lambda v: "" if v is None else str(v).replace("|", " ").replace("\n", " ")  # noqa: E731
    return head + "\n".join("| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows) + "\n"


def report_markdown(report: Mapping[str, Any], query: SubjectQuery | None = None) -> str:
    """The report for the UI: the subject by key or digest only, never the raw id or e-mail.

    With the `query`, every value the officer typed is masked wherever it appears (event ids
    such as a notification id may embed a user id)."""
    text = _markdown(report)
    if query is not None:
        for value in sorted({v.strip() for v in vars(query).values() if v.strip()}, key=len, reverse=True):
            text = text.replace(value, "[subject]")
    return text


def _markdown(report: Mapping[str, Any]) -> str:
    subject = report["subject"]
    who = (f"user with author_key `{subject['author_key']}`" if subject["kind"] == "user"
           else f"non-user named by {', '.join(subject['identifier_kinds'])}")
    if report["status"] == UNKNOWN:
        return (f"# Unknown subject\n\n**{who}**: {report['why']}.\n\nThis is not the answer for an eligible "
                f"user: nothing on record knows this subject.\n\n_generated {report['generated_at']}_\n")
    held = [r for r in report["releases"] if r["held_their_words"]]
    proven = [r for r in report["releases"] if r.get("proven_excluded") or r.get("applied_at_cut")]
    lines = [f"# Subject report: {report['status']}", "", f"**Subject**: {who}", "",
             f"**Status now**: `{report['status']}`" + (f" (reason `{report['reason']}`)" if report["reason"] else ""),
             f"— {report['why']}.", ""]
    if report.get("consent_state"):
        c = report["consent_state"]
        lines += [f"Latest consent state: T = {c['as_of']}, ledger high-water mark {c['ledger_high_water_mark']}.", ""]
    if report.get("objections_not_in_consent_state"):
        lines += ["**Not yet applied** (newer than the latest consent state): "
                  + ", ".join(report["objections_not_in_consent_state"]), ""]
    lines += ["## Objection and notification history", "",
              _table(report["history"], ["seq", "event", "id", "detail", "at", "recorded_at"]),
              f"## Releases that held their words ({len(held)})", "",
              _table(held, ["release_id", "as_of", "ledger_high_water_mark"]
                     + (["rows_naming_them"] if subject["kind"] == "non_user" else [])),
              f"## Releases that prove their exclusion ({len(proven)})", "",
              ("Salted commitment of their author_key found in `excluded_commitments.parquet`.\n\n"
               if subject["kind"] == "user" else
               "Cut at a ledger mark that saw their effective objection, holding no row that names them "
               "(commitments cover authors only).\n\n"),
              _table(proven, ["release_id", "as_of", "ledger_high_water_mark"]),
              f"## Pending purges ({len(report['pending_purges'])})", "",
              _table(report["pending_purges"], ["submission_id", "seq", "days", "pending_minutes"])]
    foreign = [r["release_id"] for r in report["releases"] if not r["same_author_key"]]
    if foreign:
        lines += [f"**Warning**: built with another author key, answers meaningless: {', '.join(foreign)}", ""]
    lines.append(f"_generated {report['generated_at']}_")
    return "\n".join(lines) + "\n"


def write_export(folder: Path, name: str, report: Mapping[str, Any], query: SubjectQuery) -> Path:
    """The JSON export (with the query as asked: it is the officer's record), written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.json"
    tmp = folder / f".{name}.json.{os.getpid()}.tmp"
    body = {**report, "query": {k: v for k, v in vars(query).items() if v}}
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=2, sort_keys=True, default=str)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    return target
