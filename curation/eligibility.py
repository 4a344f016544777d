"""Eligibility rules 1..8 (DESIGN.md, "Eligibility (the policy)") as polars expressions.

Each rule is written once, as a "fails" expression over a fixed column namespace, and
used by the pipeline (`consent_state`, `evaluate_content`) and by the checks that
re-derive eligibility (`rule_failures`, `join_state`, `rule_failure_counts`), so the
two can never drift apart.

Null semantics are conservative: a rule passes only when it can be shown to hold
(unknown author, unknown birth date, missing timestamps all fail). The one deliberate
exception is rule 7, where "no ledger action" is a genuine pass.

Column namespace of the joined frame the rule expressions read:

* content: `created_at`, `deleted_at`, `platform`, `kind`, `visibility`
* author (from `consent_state`): `author_known` (true, or null when the author has no
  state row), `account_deleted_at`, `birth_date`, `country`, `notified_at`,
  `objection_action`
* rule 8 (from `curation.mentions.match_mentions` over the text): `mentioned_by`, the
  submission ids of the effective non-user objections the text names (empty when no
  objectors are given)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import polars as pl

from curation.mentions import MENTION_KEYS, MENTIONED_BY, match_mentions
from curation.policy import Policy

# --- reason codes (rule order) -------------------------------------------------------

FUTURE_OR_DELETED_CONTENT = "future_or_deleted_content"  # rule 1
NOT_PUBLIC_SOURCE = "not_public_source"  # rule 2
UNKNOWN_OR_DELETED_AUTHOR = "unknown_or_deleted_author"  # rule 3
AGE_UNKNOWN = "age_unknown"  # rule 4
MINOR_AT_CREATION = "minor_at_creation"  # rule 5
NOT_NOTIFIED = "not_notified"  # rule 6
OBJECTION_WINDOW_OPEN = "objection_window_open"  # rule 6
OBJECTED = "objected"  # rule 7
MENTIONS_OBJECTOR = "mentions_objector"  # rule 8

REASON_ORDER: tuple[str, ...] = (
    FUTURE_OR_DELETED_CONTENT,
    NOT_PUBLIC_SOURCE,
    UNKNOWN_OR_DELETED_AUTHOR,
    AGE_UNKNOWN,
    MINOR_AT_CREATION,
    NOT_NOTIFIED,
    OBJECTION_WINDOW_OPEN,
    OBJECTED,
    MENTIONS_OBJECTOR,
)
"""Every reason code, in the order rules are checked; an excluded row carries the first."""

RULE_OF_REASON: dict[str, int] = {
    FUTURE_OR_DELETED_CONTENT: 1,
    NOT_PUBLIC_SOURCE: 2,
    UNKNOWN_OR_DELETED_AUTHOR: 3,
    AGE_UNKNOWN: 4,
    MINOR_AT_CREATION: 5,
    NOT_NOTIFIED: 6,
    OBJECTION_WINDOW_OPEN: 6,
    OBJECTED: 7,
    MENTIONS_OBJECTOR: 8,
}

USER_LEVEL_REASONS: tuple[str, ...] = (
    UNKNOWN_OR_DELETED_AUTHOR,
    AGE_UNKNOWN,
    NOT_NOTIFIED,
    OBJECTION_WINDOW_OPEN,
    OBJECTED,
)
"""Reasons that depend on the author only (rules 3, 4, 6, 7): the `consent_state` reasons."""

OBJECT = "object"
WITHDRAW = "withdraw"
ACTIONS: tuple[str, ...] = (OBJECT, WITHDRAW)

UTC_TS = pl.Datetime("us", "UTC")
AUTHOR_KEY_HEX_CHARS = 32  # 128 bits of HMAC-SHA256: collision-free at any realistic scale

STATE_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "author_key": pl.String(),
    "country": pl.String(),
    "birth_date": pl.Date(),
    "account_deleted_at": UTC_TS,
    "notified_at": UTC_TS,
    "objection_action": pl.String(),
    "eligible": pl.Boolean(),
    "reason": pl.String(),
    "as_of": UTC_TS,
    "objections_as_of": UTC_TS,
}
"""Columns of `consent_state`, in order."""

# Author columns `join_state` brings onto content rows (besides the key / author_key).
_AUTHOR_RULE_COLUMNS: tuple[str, ...] = (
    "country",
    "birth_date",
    "account_deleted_at",
    "notified_at",
    "objection_action",
)
_INTERNAL_COLUMNS: tuple[str, ...] = (
    "author_known",
    "birth_date",
    "account_deleted_at",
    "notified_at",
    "objection_action",
)
"""Joined columns dropped from `evaluate_content`'s output: a corpus must not carry a
birth date or consent details beside the text."""


# --- helpers ---------------------------------------------------------------------------


def to_utc(ts: datetime, name: str = "as_of") -> datetime:
    """Normalise a cut-off to UTC; a naive datetime is ambiguous, so it is refused."""
    if not isinstance(ts, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(ts).__name__}")
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {ts!r})")
    return ts.astimezone(UTC)


def _ts_lit(ts: datetime) -> pl.Expr:
    return pl.lit(ts, dtype=UTC_TS)


def _require(schema: pl.Schema, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in schema]
    if missing:
        raise ValueError(f"{what} frame lacks columns {missing}; has {list(schema)}")


def _utc_columns(lf: pl.LazyFrame, columns: Iterable[str], what: str) -> pl.LazyFrame:
    """Bring timestamp columns to Datetime(us, UTC) so comparisons with T are exact.

    A naive timestamp has no defined instant, so it is an error, not a guess.
    """
    schema = lf.collect_schema()
    exprs: list[pl.Expr] = []
    for c in columns:
        dtype = schema[c]
        if dtype == UTC_TS:
            continue
        if dtype == pl.Null:
            exprs.append(pl.col(c).cast(UTC_TS))
            continue
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
            raise ValueError(f"{what}.{c} must be a timezone-aware Datetime, got {dtype}")
        exprs.append(pl.col(c).dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    return lf.with_columns(exprs) if exprs else lf


def author_key(user_id: str, secret: bytes) -> str:
    """Keyed pseudonym of one user id: HMAC-SHA256(secret, id), hex, 32 chars.

    Without the secret it cannot be reversed or recomputed (unlike a plain hash, which
    anyone can brute-force over the id space).
    """
    _check_secret(secret)
    digest = hmac.new(secret, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:AUTHOR_KEY_HEX_CHARS]


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes | bytearray) or len(secret) == 0:
        raise ValueError("author-key secret must be non-empty bytes")


def _keys_for_series(ids: pl.Series, secret: bytes) -> pl.Series:
    """HMAC over the unique ids only, mapped back: 1M rows of 20k authors cost 20k HMACs."""
    ids = ids.cast(pl.String)
    uniques = ids.drop_nulls().unique()
    mapping = {u: author_key(u, secret) for u in uniques.to_list()}
    if not mapping:
        return pl.Series(ids.name, [None] * len(ids), dtype=pl.String)
    return ids.replace_strict(mapping, return_dtype=pl.String).alias(ids.name)


def author_keys(user_ids: pl.Series | pl.Expr, secret: bytes) -> pl.Series | pl.Expr:
    """Keyed pseudonyms for a Series (returns a Series) or an Expr (returns an Expr).

    Nulls stay null. Same id + same secret -> same key, so the corpus (which stores
    only `author_key`) can be re-checked against the ledger by anyone holding the key.
    """
    _check_secret(secret)
    key = bytes(secret)
    if isinstance(user_ids, pl.Series):
        return _keys_for_series(user_ids, key)
    if isinstance(user_ids, pl.Expr):
        return user_ids.map_batches(
            lambda s: _keys_for_series(s, key), return_dtype=pl.String, is_elementwise=True
        )
    raise TypeError(f"author_keys takes a polars Series or Expr, got {type(user_ids).__name__}")


# --- the rules (each defined once) -----------------------------------------------------


def _fails(passes: pl.Expr) -> pl.Expr:
    """A rule fails unless it is shown to pass: null (unknown) counts as failing."""
    return (~passes).fill_null(True)


def _date_key(d: pl.Expr) -> pl.Expr:
    """YYYYMMDD as an integer: age in whole years = (key(c) - key(b)) // 10000.

    This makes a birthday on the day count, and a 29 Feb birthday complete a year on
    1 Mar in common years (0301 > 0229 > 0228) without building invalid dates.
    """
    return (
        d.dt.year().cast(pl.Int32) * 10_000
        + d.dt.month().cast(pl.Int32) * 100
        + d.dt.day().cast(pl.Int32)
    )


def source_allowed(policy: Policy) -> pl.Expr:
    """Rule 2 as a pass expression (may be null when a field is null)."""
    if not policy.allowed_sources:
        return pl.lit(False)
    matches: list[pl.Expr] = []
    for rule in policy.allowed_sources:
        m = pl.col("platform").is_in(sorted(rule.platforms)) & pl.col("kind").is_in(
            sorted(rule.kinds)
        )
        if rule.visibilities is not None:
            m = m & pl.col("visibility").is_in(sorted(rule.visibilities))
        matches.append(m)
    return pl.any_horizontal(matches) if len(matches) > 1 else matches[0]


def in_notice_region(policy: Policy) -> pl.Expr:
    """Rule 6 applies in the notice regions; an unknown country is treated as inside."""
    return pl.col("country").is_in(sorted(policy.notice_regions)).fill_null(True)


def user_rule_failures(as_of: datetime, policy: Policy) -> list[tuple[str, pl.Expr]]:
    """(reason, fails) for the author-only rules 3, 4, 6, 7, in rule order."""
    t = _ts_lit(to_utc(as_of))
    notified = pl.col("notified_at")
    needs_notice = in_notice_region(policy)
    window = pl.duration(days=policy.objection_window_days)
    return [
        (
            UNKNOWN_OR_DELETED_AUTHOR,
            ~pl.col("author_known").fill_null(False)
            | (pl.col("account_deleted_at") <= t).fill_null(False),
        ),
        (AGE_UNKNOWN, pl.col("birth_date").is_null()),
        (NOT_NOTIFIED, needs_notice & notified.is_null()),
        # s + window == T passes; a notification not yet old enough leaves it open.
        (OBJECTION_WINDOW_OPEN, needs_notice & (notified + window > t).fill_null(False)),
        (OBJECTED, (pl.col("objection_action") == OBJECT).fill_null(False)),
    ]


def rule_failures(as_of: datetime, policy: Policy) -> list[tuple[str, pl.Expr]]:
    """(reason, fails) for every reason in `REASON_ORDER`; each fails-expr is a non-null
    Boolean over the joined namespace (see module doc), independent of the others, so a
    check can count failures per rule."""
    t = _ts_lit(to_utc(as_of))
    created = pl.col("created_at")
    deleted = pl.col("deleted_at")
    content_rules: dict[str, pl.Expr] = {
        FUTURE_OR_DELETED_CONTENT: _fails((created <= t) & (deleted.is_null() | (deleted > t))),
        NOT_PUBLIC_SOURCE: _fails(source_allowed(policy)),
        # The UTC calendar date of creation: created_at is Datetime(UTC), so .dt.date()
        # is the UTC date.
        MINOR_AT_CREATION: _fails(
            _date_key(created.dt.date()) - _date_key(pl.col("birth_date"))
            >= policy.minimum_age * 10_000
        ),
    }
    # rule 8: the text names a non-user with an effective objection (column from join_mentions)
    content_rules[MENTIONS_OBJECTOR] = (pl.col(MENTIONED_BY).list.len() > 0).fill_null(True)
    user_rules = dict(user_rule_failures(as_of, policy))
    merged = {**content_rules, **user_rules}
    return [(reason, merged[reason].alias(reason)) for reason in REASON_ORDER]


def first_failure(failures: Sequence[tuple[str, pl.Expr]]) -> pl.Expr:
    """The first failing reason in the given order, or null when every rule passes."""
    if not failures:
        return pl.lit(None, dtype=pl.String)
    (reason0, fails0), *rest = failures
    chain = pl.when(fails0).then(pl.lit(reason0, dtype=pl.String))
    for reason, fails in rest:
        chain = chain.when(fails).then(pl.lit(reason, dtype=pl.String))
    return chain.otherwise(pl.lit(None, dtype=pl.String))


# --- consent state (one row per user) --------------------------------------------------


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def latest_actions(objections: pl.DataFrame | pl.LazyFrame, cutoff: datetime) -> pl.LazyFrame:
    """`user_id`, `objection_action`: each user's latest ledger action at or before cutoff.

    Ties at one timestamp resolve to `object` (conservative), then by submission_id, so
    the outcome never depends on row order; exact duplicates cannot change it.
    Submissions without a user_id (non-users) match nobody.
    """
    lf = _utc_columns(_lazy(objections), ["submitted_at"], "objections")
    _require(
        lf.collect_schema(), ["submission_id", "user_id", "action", "submitted_at"], "objections"
    )
    return (
        lf.filter(pl.col("user_id").is_not_null() & (pl.col("submitted_at") <= _ts_lit(cutoff)))
        .group_by("user_id")
        .agg(
            pl.col("action")
            .sort_by(["submitted_at", pl.col("action") == OBJECT, "submission_id"])
            .last()
            .alias("objection_action")
        )
    )


def first_notifications(
    notifications: pl.DataFrame | pl.LazyFrame, cutoff: datetime
) -> pl.LazyFrame:
    """`user_id`, `notified_at`: each user's earliest notification at or before cutoff."""
    lf = _utc_columns(_lazy(notifications), ["sent_at"], "notifications")
    _require(lf.collect_schema(), ["user_id", "sent_at"], "notifications")
    return (
        lf.filter(pl.col("user_id").is_not_null() & (pl.col("sent_at") <= _ts_lit(cutoff)))
        .group_by("user_id")
        .agg(pl.col("sent_at").min().alias("notified_at"))
    )


def consent_state(
    users: pl.DataFrame | pl.LazyFrame,
    notifications: pl.DataFrame | pl.LazyFrame,
    objections: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: datetime,
    policy: Policy,
    secret: bytes,
    objections_as_of: datetime | None = None,
) -> pl.DataFrame:
    """One row per user with the author-level verdict (rules 3, 4, 6, 7) at `as_of`.

    `objections_as_of` lets a check apply the *current* ledger's objections to a
    corpus built at an earlier T (an objection filed after a build must still bite).
    Columns: see `STATE_SCHEMA`.
    """
    t = to_utc(as_of)
    t_obj = to_utc(objections_as_of, "objections_as_of") if objections_as_of else t

    u = _utc_columns(_lazy(users), ["deleted_at"], "users")
    _require(u.collect_schema(), ["user_id", "birth_date", "country", "deleted_at"], "users")
    u_df = u.select(
        pl.col("user_id").cast(pl.String),
        pl.col("country").cast(pl.String),
        pl.col("birth_date").cast(pl.Date),
        pl.col("deleted_at").alias("account_deleted_at"),
    ).collect()
    if u_df["user_id"].null_count():
        raise ValueError("users frame has null user_id")
    if u_df["user_id"].n_unique() != u_df.height:
        raise ValueError("users frame must hold one row per user_id (latest snapshot)")

    obj_lf = _lazy(objections)
    bad = (
        obj_lf.filter(
            ~pl.col("action").is_in(list(ACTIONS)).fill_null(False) | pl.col("action").is_null()
        )
        .select(pl.len())
        .collect()
        .item()
    )
    if bad:
        raise ValueError(f"{bad} objection rows have an action outside {ACTIONS}")

    u_df = u_df.with_columns(author_keys(u_df["user_id"], secret).alias("author_key"))
    state = (
        u_df.lazy()
        # maintain_order: deterministic output (same inputs, same bytes in the asset)
        .join(
            first_notifications(notifications, t), on="user_id", how="left", maintain_order="left"
        )
        .join(latest_actions(objections, t_obj), on="user_id", how="left", maintain_order="left")
        .with_columns(pl.lit(True).alias("author_known"))
        .with_columns(first_failure(user_rule_failures(t, policy)).alias("reason"))
        .with_columns(
            pl.col("reason").is_null().alias("eligible"),
            _ts_lit(t).alias("as_of"),
            _ts_lit(t_obj).alias("objections_as_of"),
        )
        .select([pl.col(c).cast(dt) for c, dt in STATE_SCHEMA.items()])
        .collect()
    )
    return state


# --- content evaluation ----------------------------------------------------------------


def _check_state_as_of(state: pl.LazyFrame, as_of: datetime) -> None:
    """A state built for another T would silently mix two cut-offs: refuse it."""
    if "as_of" not in state.collect_schema():
        return
    seen = state.select(pl.col("as_of").unique()).collect()["as_of"].to_list()
    t = to_utc(as_of)
    wrong = [s for s in seen if s is None or to_utc(s) != t]
    if wrong:
        raise ValueError(f"state was built as of {wrong}, not {t.isoformat()}")


def join_state(
    content: pl.LazyFrame | pl.DataFrame,
    state: pl.DataFrame | pl.LazyFrame,
    *,
    key_column: str = "author_id",
) -> pl.LazyFrame:
    """Content left-joined to the author columns the rules read (see module doc).

    `key_column="author_id"` joins raw content on `user_id`; `"author_key"` joins the
    corpus, which stores only the pseudonym. Content columns that the join supplies
    (e.g. a stale `country`) are replaced by the state's values.
    """
    if key_column not in ("author_id", "author_key"):
        raise ValueError("key_column must be 'author_id' or 'author_key'")
    lf = _utc_columns(_lazy(content), ["created_at", "deleted_at"], "content")
    schema = lf.collect_schema()
    _require(
        schema,
        [key_column, "created_at", "deleted_at", "platform", "kind", "visibility"],
        "content",
    )
    state_key = "user_id" if key_column == "author_id" else "author_key"
    supplied = [*_AUTHOR_RULE_COLUMNS, "author_known", "exclusion_reason"]
    if key_column == "author_id":
        supplied.append("author_key")
    stale = [c for c in supplied if c in schema]
    if stale:
        lf = lf.drop(stale)
    st_cols = [state_key, *_AUTHOR_RULE_COLUMNS]
    if key_column == "author_id":
        st_cols.append("author_key")
    st = _lazy(state).select(*st_cols, pl.lit(True).alias("author_known"))
    return lf.join(
        st,
        left_on=key_column,
        right_on=state_key,
        how="left",
        validate="m:1",
        maintain_order="left",
    )


def join_mentions(joined: pl.LazyFrame, objectors: pl.DataFrame | None, *, corpus: bool = False) -> pl.LazyFrame:
    """`joined` with `mentioned_by` (rule 8): the submission ids of the effective non-user
    objections (`curation.mentions.objector_identifiers`) its text names; empty lists when
    `objectors` is None or empty. Raw rows match their text; corpus rows (with
    `mention_keys`) match names in the text and the other identifiers on the digests; a
    corpus row without them (`corpus=True`, built before rule 8) fails closed."""
    schema = joined.collect_schema()
    if corpus and MENTION_KEYS not in schema:
        joined = joined.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias(MENTION_KEYS))
    if MENTIONED_BY in schema:
        joined = joined.drop(MENTIONED_BY)
    if objectors is None or objectors.is_empty():
        return joined.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(MENTIONED_BY))
    _require(schema, ["text"], "content (rule 8 reads the text)")
    frame = joined.collect()
    return frame.with_columns(match_mentions(frame, objectors)).lazy()


def evaluate_content(
    content: pl.LazyFrame | pl.DataFrame,
    state: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: datetime,
    policy: Policy,
    key_column: str = "author_id",
    objectors: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Content rows with `author_key`, `country`, `exclusion_reason` (null = eligible) and,
    when `objectors` is given, `mentioned_by`.

    `exclusion_reason` is the first failing rule in order 1..8; rule 8 applies the
    effective non-user identifiers `objectors` (`curation.mentions.objector_identifiers`),
    and passes for every row when they are not given. The state must have been built for
    the same `as_of`. Birth date and consent details are not carried out.
    """
    t = to_utc(as_of)
    _check_state_as_of(_lazy(state), t)
    joined = join_mentions(join_state(content, state, key_column=key_column), objectors,
                           corpus=key_column == "author_key")
    # `mentioned_by` is carried out only when rule 8 had objectors to apply (for the report)
    tail = ["author_key", "country", *([MENTIONED_BY] if objectors is not None else []), "exclusion_reason"]
    added = [MENTION_KEYS] if MENTION_KEYS not in _lazy(content).collect_schema() else []
    keep = [c for c in joined.collect_schema() if c not in (*_INTERNAL_COLUMNS, MENTIONED_BY, *added, *tail)]
    return joined.with_columns(
        first_failure(rule_failures(t, policy)).alias("exclusion_reason")
    ).select(*keep, *tail)


def exclusion_counts(evaluated: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """`reason`, `count`: one row per reason code (in rule order, zeros included) and a
    final row with a null reason for the eligible rows; counts add up to the input."""
    counts = (
        _lazy(evaluated)
        .group_by("exclusion_reason")
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .collect()
    )
    by_reason = dict(
        zip(counts["exclusion_reason"].to_list(), counts["count"].to_list(), strict=True)
    )
    unknown = set(by_reason) - set(REASON_ORDER) - {None}
    if unknown:
        raise ValueError(f"unknown exclusion reasons: {sorted(unknown)}")
    reasons: list[str | None] = [*REASON_ORDER, None]
    return pl.DataFrame(
        {"reason": reasons, "count": [by_reason.get(r, 0) for r in reasons]},
        schema={"reason": pl.String, "count": pl.Int64},
    )


def rule_failure_counts(
    content: pl.LazyFrame | pl.DataFrame,
    state: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: datetime,
    policy: Policy,
    key_column: str = "author_id",
    objectors: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`reason`, `count`: rows failing each rule *independently* (a row can count under
    several reasons), for check metadata; compare with `exclusion_counts`."""
    t = to_utc(as_of)
    _check_state_as_of(_lazy(state), t)
    joined = join_mentions(join_state(content, state, key_column=key_column), objectors,
                           corpus=key_column == "author_key")
    fails = rule_failures(t, policy)
    row = joined.select([e.cast(pl.Int64).sum().alias(r) for r, e in fails]).collect()
    return pl.DataFrame(
        {"reason": [r for r, _ in fails], "count": [int(row[r][0] or 0) for r, _ in fails]},
        schema={"reason": pl.String, "count": pl.Int64},
    )
