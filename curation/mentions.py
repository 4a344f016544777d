"""Rule 8 (DESIGN.md): an item is excluded when its text names a non-user who objected.

A person who is not a user objects through the form with the identifiers under which they
appear in other people's posts: full name, e-mail, phone, handles. Each identifier is
normalised to a **key** of one **kind**:

* ``name``: lower case, accents and marks removed (``Zoë Müller-Łukasik`` → ``zoe muller
  lukasik``), ``ß``/``ø``/``ł``/``æ``/``œ``/``đ``/``ı``/``þ`` spelled out, every run of
  non-letters one space. A name of fewer than two words matches nothing (the DPO cannot
  tell one "Anna" from another). Names match as whole words: the text gets the same
  normalisation, padded with spaces, and `` anna schmidt `` is searched for as a literal.
* ``email``: lower case; a Unicode domain also as its IDNA A-label (``пример.рф`` →
  ``xn--e1afmkfd.xn--p1ai``).
* ``phone``: the digits of the national significant number without leading zeros: a
  ``+``/``00`` country code is removed (ITU codes are prefix-free), a North American
  trunk ``1`` too, so ``+49 30 1234567``, ``0049 (0)30 123 45 67`` and ``030 1234567``
  are one key. Keys shorter than 6 digits match nothing.
* ``handle``: lower case, without ``@`` or a profile URL (``instagram.com/anna.s``).

**Effective identifiers at a cut-off** (``objector_identifiers``): the form's submissions
with no ``user_id``, at or before the cut-off, exploded into (kind, key); for each key the
latest action wins (ties: ``object``, then submission id, as for rule 7), and only keys
whose latest action is ``object`` count. So a withdrawal withdraws the identifiers it
names, and a later objection naming one of them again re-applies it. The key keeps the
submission id of its latest action: the report counts items per submission, never the
identifiers.

**Matching** (``match_mentions``), all in polars: names with one Aho-Corasick automaton
over every objector's name (``str.extract_many``, Rust), e-mails / phones / handles by
extracting the candidates of each row (regex) and joining their keys to the objectors'
keys (a hash join). Cost grows with the texts plus the objectors, not their product.

**After redaction** the corpus text no longer holds e-mails, phones or handles, so a
corpus row carries ``mention_keys``: keyed digests (HMAC-SHA256 with the author-key
secret, 128 bits) of the e-mail/phone/handle keys its text held before redaction. A check
or a release cut, which only see corpus rows, match names on the corpus text (a name
outside a redacted span is unchanged by redaction; one inside a redacted e-mail is no
longer in the released text at all) and the other kinds on the digests. Releases keep the
column, so that a release can be judged again at the ledger high-water mark it records.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import polars as pl

from curation.pii import _EMAIL, _PHONE

NAME, EMAIL, PHONE, HANDLE = "name", "email", "phone", "handle"
KINDS: tuple[str, ...] = (NAME, EMAIL, PHONE, HANDLE)
DIGESTED_KINDS: tuple[str, ...] = (EMAIL, PHONE, HANDLE)
MENTION_KEYS = "mention_keys"
"""Corpus column: digests of the e-mail/phone/handle keys of the pre-redaction text."""
MENTIONED_BY = "mentioned_by"
"""Column `evaluate_content` adds: submission ids of the effective objections a row names."""
OPTIONAL_FIELDS: tuple[str, ...] = ("full_name", "phone", "handles")
"""Objection-record fields a non-user may fill in (besides `email`)."""

IDENTIFIER_SCHEMA: dict[str, pl.DataType] = {
    "submission_id": pl.String(), "kind": pl.String(), "key": pl.String(), "digest": pl.String(),
}  # fmt: skip
MIN_PHONE_DIGITS = 6
_DIGEST_HEX = 32

_SPELLED = {"ß": "ss", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "ð": "d"}
# ITU-T E.164 country codes by zone, as a prefix-free alternation (zones 1 and 7 are one
# digit; the two-digit codes are listed; the rest of each zone is three digits).
_COUNTRY_CODE = (
    r"(?:1|7|2[07]|2[1-689][0-9]|3[0-469]|3[578][0-9]|4[013-9]|42[0-9]|5[1-8]|5[09][0-9]"
    r"|6[0-6]|6[7-9][0-9]|8[1246]|8[0357-9][0-9]|9[0-58]|9[679][0-9])"
)
_DIGIT_RUN = r"\(?\+?[0-9](?:[ \-./()]{0,2}[0-9]){5,16}"
_HANDLE_IN_TEXT = (
    r"(?:^|[^\w.@])@([\w.]{2,30})"
    r"|(?i:(?:instagram|facebook|fb|threads|twitter|x|tiktok)\.(?:com|net)/@?)([A-Za-z0-9_.]{2,30})"
)


# --- normalisation (expressions, so texts and identifiers share one definition) ---------


def normalise_name(expr: pl.Expr) -> pl.Expr:
    """Lower case, no accents, letters and digits only, words separated by one space,
    padded with one space on each side (so a literal search is a whole-word search)."""
    folded = (
        expr.str.to_lowercase()
        .str.replace_many(list(_SPELLED), list(_SPELLED.values()))
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        # two passes with few matches each are ~3x faster than one that matches every space
        .str.replace_all(r"[^\p{L}\p{N} ]+", " ")
        .str.replace_all(r" {2,}", " ")
        .str.strip_chars(" ")
    )
    return pl.lit(" ") + folded + pl.lit(" ")


def normalise_texts(texts: pl.Series) -> pl.Series:
    """``normalise_name`` over many texts: ASCII rows take a cheaper, equivalent path (no
    accents to fold, ASCII classes), only the others pay for NFKD and Unicode classes."""
    frame = pl.DataFrame({"t": texts.cast(pl.String)})
    ascii_only = frame.select(pl.col("t").str.contains(r"^[\x00-\x7f]*$").fill_null(True))["t"]
    fast = frame.select(
        (pl.lit(" ") + pl.col("t").str.to_lowercase().str.replace_all(r"[^a-z0-9 ]+", " ")
         .str.replace_all(r" {2,}", " ").str.strip_chars(" ") + pl.lit(" ")).alias("t"))["t"]
    rows = (~ascii_only).arg_true()
    if rows.len() == 0:
        return fast
    slow = frame[rows].select(normalise_name(pl.col("t")).alias("t"))["t"]
    return fast.scatter(rows, slow)


def phone_key(expr: pl.Expr) -> pl.Expr:
    """National significant number without leading zeros (see module doc); null when short."""
    raw = expr.str.strip_chars(" ")
    international = raw.str.contains(r"^\(?(?:\+|00)")
    digits = raw.str.replace_all(r"[^0-9]", "")
    without_cc = digits.str.replace(r"^(?:00)?", "").str.replace(f"^{_COUNTRY_CODE}", "")
    national = pl.when(digits.str.contains(r"^1[2-9][0-9]{9}$")).then(digits.str.slice(1)).otherwise(digits)
    key = pl.when(international).then(without_cc).otherwise(national).str.replace(r"^0+", "")
    return pl.when(key.str.len_chars() >= MIN_PHONE_DIGITS).then(key).otherwise(pl.lit(None, pl.String))


def handle_key(expr: pl.Expr) -> pl.Expr:
    """Lower case, no leading ``@`` or profile URL, no trailing dot; null when shorter than 2."""
    key = (
        expr.str.strip_chars(" ")
        .str.replace(r"(?i)^(?:https?://)?(?:www\.)?[a-z.]+\.(?:com|net)/", "")
        .str.strip_chars_start("@")
        .str.strip_chars_end("./")
        .str.to_lowercase()
    )
    return pl.when(key.str.len_chars() >= 2).then(key).otherwise(pl.lit(None, pl.String))


def _idna(email: str) -> str | None:
    local, _, domain = email.rpartition("@")
    if not local or domain.isascii():
        return None
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return None


def digest(kind: str, key: str, secret: bytes) -> str:
    """Keyed digest of one identifier key (never reversible without the secret)."""
    if not secret:
        raise ValueError("mention digests need a non-empty secret")
    return hmac.new(bytes(secret), f"{kind}:{key}".encode(), hashlib.sha256).hexdigest()[:_DIGEST_HEX]


def _digests(kinds: pl.Series, keys: pl.Series, secret: bytes) -> pl.Series:
    """Digest per (kind, key); HMAC over the unique pairs only."""
    pairs = (kinds + pl.Series([":"] * len(kinds)) + keys) if len(kinds) else pl.Series([], dtype=pl.String)
    uniques = pairs.drop_nulls().unique().to_list()
    mapping = {p: digest(*p.split(":", 1), secret) for p in uniques}
    if not mapping:
        return pl.Series([None] * len(pairs), dtype=pl.String)
    return pairs.replace_strict(mapping, default=None, return_dtype=pl.String)


# --- the objectors ---------------------------------------------------------------------


def _empty_lists(n: int, name: str) -> pl.Series:
    """``n`` empty string lists, built in Rust (a Python list of lists costs ~1 s per million)."""
    return pl.select(pl.repeat(pl.lit([], dtype=pl.List(pl.String)), n).alias(name)).to_series()


def _spread(per_row: pl.DataFrame, column: str, n: int, name: str) -> pl.Series:
    """A list per row 0..n-1: the lists of ``per_row`` (row, column), empty elsewhere."""
    if per_row.is_empty():
        return _empty_lists(n, name)
    rows = pl.select(pl.int_range(0, n, dtype=pl.UInt32).alias("row"))
    out = rows.join(per_row.select(pl.col("row").cast(pl.UInt32), column), on="row", how="left",
                    maintain_order="left")
    return out[column].fill_null(pl.lit([], pl.List(pl.String))).alias(name)


def _empty_identifiers() -> pl.DataFrame:
    return pl.DataFrame(schema=IDENTIFIER_SCHEMA)


def identifier_keys(objections: pl.DataFrame) -> pl.DataFrame:
    """Every (kind, key) each non-user submission names, whatever its action and whether a
    later one overrides it: ``submission_id``, ``action``, ``submitted_at``, ``kind``, ``key``."""
    frame = objections.filter(pl.col("user_id").is_null()) if "user_id" in objections.columns else objections
    for col in ("email", *OPTIONAL_FIELDS):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(col))
    base = ["submission_id", "action", "submitted_at"]
    name = normalise_name(pl.col("full_name"))
    names = frame.select(*base, pl.lit(NAME).alias("kind"),
                         pl.when(name.str.strip_chars(" ").str.contains(" ")).then(name).alias("key"))
    emails = frame.select(*base, pl.lit(EMAIL).alias("kind"),
                          pl.col("email").str.strip_chars(" ").str.to_lowercase().alias("key"))
    idna = emails.filter(pl.col("key").str.contains(r"[^\x00-\x7f]")).with_columns(
        pl.col("key").map_elements(_idna, return_dtype=pl.String))
    phones = frame.select(*base, pl.lit(PHONE).alias("kind"), phone_key(pl.col("phone")).alias("key"))
    handles = (frame.select(*base, pl.col("handles").str.extract_all(r"[^\s,;]+").alias("h"))
               .explode("h").select(*base, pl.lit(HANDLE).alias("kind"), handle_key(pl.col("h")).alias("key")))
    return pl.concat([names, emails, idna, phones, handles]).filter(
        pl.col("key").is_not_null() & (pl.col("key").str.strip_chars(" ") != ""))


def objector_identifiers(objections: pl.DataFrame, cutoff: datetime, secret: bytes | None = None) -> pl.DataFrame:
    """Effective non-user identifiers at ``cutoff``: ``submission_id``, ``kind``, ``key``,
    ``digest`` (null for names, or without a secret). See the module doc for the rules."""
    if objections.is_empty() or "user_id" not in objections.columns:
        return _empty_identifiers()
    frame = objections.filter(pl.col("user_id").is_null() & (pl.col("submitted_at") <= cutoff))
    if frame.is_empty():
        return _empty_identifiers()
    exploded = identifier_keys(frame)
    latest = (
        exploded.sort("submitted_at", pl.col("action") == "object", "submission_id")
        .group_by("kind", "key").agg(pl.col("action").last(), pl.col("submission_id").last())
        .filter(pl.col("action") == "object")
        .select("submission_id", "kind", "key")
        .sort("kind", "key")
    )
    if secret is None:
        return latest.with_columns(pl.lit(None, pl.String).alias("digest"))
    is_digested = pl.col("kind").is_in(list(DIGESTED_KINDS))
    digests = _digests(latest["kind"], latest["key"], secret)
    return latest.with_columns(pl.when(is_digested).then(digests).alias("digest")).select(list(IDENTIFIER_SCHEMA))


# --- the texts -------------------------------------------------------------------------


def _keyed(found: pl.DataFrame, kind: str, key: pl.Expr) -> pl.DataFrame:
    """(row, v) candidates -> (row, kind, key), the key computed once per distinct candidate."""
    found = found.drop_nulls("v")
    distinct = found.select(pl.col("v").unique()).with_columns(key.alias("key")).drop_nulls("key")
    return found.join(distinct, on="v").select("row", pl.lit(kind).alias("kind"), "key")


def text_keys(texts: pl.Series, objectors: pl.DataFrame | None = None) -> pl.DataFrame:
    """``row`` (position in ``texts``), ``kind``, ``key``: e-mail, phone and handle keys the
    texts hold (before redaction), one row per distinct (row, kind, key).

    With ``objectors`` (identifiers), only candidates that can equal one of their keys are
    keyed: a phone key is a suffix of the candidate's digits (country code or trunk 0 come
    first), so candidates whose last 6 digits end no objector key are dropped before the
    (costlier) key expression runs. The result is the same for those keys."""
    frame = pl.DataFrame({"t": texts.cast(pl.String)}).with_row_index("row")
    emails = frame.select("row", pl.col("t").str.extract_all(_EMAIL).alias("v")).explode("v")
    phones = frame.select("row", pl.concat_list(
        pl.col("t").str.extract_all(_DIGIT_RUN), pl.col("t").str.extract_all(_PHONE)).alias("v")).explode("v")
    handles = frame.select("row", pl.col("t").str.extract_all(_HANDLE_IN_TEXT).alias("v")).explode("v")
    v = pl.col("v")
    if objectors is not None:
        keys = objectors.filter(pl.col("kind") == PHONE)["key"]
        suffixes = keys.str.slice(-MIN_PHONE_DIGITS).unique().implode()
        phones = phones.filter(v.str.replace_all("[^0-9]", "").str.slice(-MIN_PHONE_DIGITS).is_in(suffixes))
    return pl.concat([
        _keyed(emails, EMAIL, v.str.to_lowercase()),
        _keyed(phones, PHONE, phone_key(v.str.replace(r"^[^0-9+(]", ""))),
        _keyed(handles, HANDLE, handle_key(v.str.replace(r"^[^@a-zA-Z]*", "").str.replace(r"^@", ""))),
    ]).unique()


def mention_digests(texts: pl.Series, secret: bytes) -> pl.Series:
    """Per text: sorted unique digests of its e-mail/phone/handle keys (the corpus column)."""
    keys = text_keys(texts)
    keyed = keys.with_columns(_digests(keys["kind"], keys["key"], secret).alias("d"))
    per_row = keyed.group_by("row").agg(pl.col("d").unique().sort())
    return _spread(per_row, "d", len(texts), MENTION_KEYS)


def match_mentions(frame: pl.DataFrame, identifiers: pl.DataFrame, *, text_column: str = "text") -> pl.Series:
    """Per row of ``frame``: the sorted submission ids of the effective objections it names.

    Raw rows (no ``mention_keys`` column) match every kind in the text. Corpus rows (with
    ``mention_keys``) match names in the text and the other kinds on the digests; a corpus
    row whose ``mention_keys`` is null (built before rule 8) names every objector that has a
    digested identifier: it cannot be shown not to (fail closed)."""
    n = frame.height
    empty = _empty_lists(n, MENTIONED_BY)
    if n == 0 or identifiers.is_empty():
        return empty
    hits: list[pl.DataFrame] = []
    names = identifiers.filter(pl.col("kind") == NAME)
    texts = frame[text_column].cast(pl.String)
    if names.height:
        patterns = names["key"].unique().sort()
        found = (pl.DataFrame({"t": texts}).with_row_index("row")
                 .select("row", pl.lit(normalise_texts(texts)).str.extract_many(patterns.implode(), overlapping=True)
                         .alias("key"))
                 .filter(pl.col("key").list.len() > 0).explode("key"))
        hits.append(found.join(names.select("key", "submission_id"), on="key").select("row", "submission_id"))
    others = identifiers.filter(pl.col("kind") != NAME)
    if others.height:
        if MENTION_KEYS in frame.columns:
            keys = frame.select(pl.col(MENTION_KEYS).alias("digest")).with_row_index("row")
            unknown = keys.filter(pl.col("digest").is_null())["row"]
            exploded = keys.explode("digest").drop_nulls("digest")
            hits.append(exploded.join(others.select("digest", "submission_id").drop_nulls(), on="digest")
                        .select("row", "submission_id"))
            if unknown.len():
                subs = others["submission_id"].unique()
                hits.append(pl.DataFrame({"row": unknown}).join(pl.DataFrame({"submission_id": subs}), how="cross"))
        else:
            hits.append(text_keys(texts, others).join(others.select("kind", "key", "submission_id"), on=["kind", "key"])
                        .select("row", "submission_id"))
    if not hits:
        return empty
    per_row = (pl.concat([h.with_columns(pl.col("row").cast(pl.UInt32)) for h in hits])
               .group_by("row").agg(pl.col("submission_id").unique().sort()))
    return _spread(per_row, "submission_id", n, MENTIONED_BY)


def removed_by_submission(evaluated: pl.DataFrame, reason: str) -> pl.DataFrame:
    """``submission_id``, ``items``: rows excluded with ``reason`` that name each objection
    (a row naming two objectors counts for both). Submission ids only, never identifiers."""
    if MENTIONED_BY not in evaluated.columns:
        return pl.DataFrame(schema={"submission_id": pl.String, "items": pl.UInt32})
    return (evaluated.filter(pl.col("exclusion_reason") == reason).select(pl.col(MENTIONED_BY).alias("submission_id"))
            .explode("submission_id").drop_nulls().group_by("submission_id").agg(pl.len().alias("items"))
            .sort("items", "submission_id", descending=[True, False]))


# --- purge scope: which days a non-user objection or withdrawal touches ----------------

MENTION_SUBJECT_PREFIX = "mention:"
"""`author_index` rows keyed ``mention:<submission id>`` list the days holding items that
objection excluded (rule 8), so that a withdrawal finds the days to judge again."""


def mention_subject(submission_id: pl.Expr) -> pl.Expr:
    """The `author_index` key of the items one non-user objection excluded."""
    return pl.lit(MENTION_SUBJECT_PREFIX) + submission_id


def days_naming(corpus: pl.DataFrame, identifiers: pl.DataFrame) -> pl.DataFrame:
    """``submission_id``, ``day``: the corpus days whose rows name an identifier (names in the
    text, the other kinds on ``mention_keys``, as a check or a release cut matches them)."""
    empty = pl.DataFrame(schema={"submission_id": pl.String, "day": pl.Date})
    if corpus.is_empty() or identifiers.is_empty():
        return empty
    named = corpus.select("day", match_mentions(corpus, identifiers))
    return (named.explode(MENTIONED_BY).drop_nulls(MENTIONED_BY)
            .select(pl.col(MENTIONED_BY).alias("submission_id"), pl.col("day").cast(pl.Date))
            .unique().sort("submission_id", "day"))


def withdrawn_objections(objections: pl.DataFrame, withdrawals: pl.DataFrame) -> pl.DataFrame:
    """``submission_id`` (a withdrawal), ``withdrawn`` (an earlier non-user objection naming one
    of the same identifier keys): the objections whose excluded items a withdrawal may let back."""
    empty = pl.DataFrame(schema={"submission_id": pl.String, "withdrawn": pl.String})
    if objections.is_empty() or withdrawals.is_empty():
        return empty
    objected = identifier_keys(objections).filter(pl.col("action") == "object")
    withdrawn = identifier_keys(withdrawals).filter(pl.col("action") != "object")
    pairs = withdrawn.join(objected, on=["kind", "key"], suffix="_objection")
    return (pairs.filter(pl.col("submitted_at_objection") <= pl.col("submitted_at"))
            .select("submission_id", pl.col("submission_id_objection").alias("withdrawn"))
            .unique().sort("submission_id", "withdrawn"))
