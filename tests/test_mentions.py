"""Rule 8: a text naming a non-user who objected is excluded (`mentions_objector`), before
redaction, in the build, the re-deriving check and the release cut."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from curation import mentions as m
from curation.eligibility import (
    MENTIONS_OBJECTOR,
    OBJECTED,
    REASON_ORDER,
    author_key,
    consent_state,
    evaluate_content,
)
from curation.enforce import judge_at_cut
from curation.policy import Policy

T = datetime(2025, 6, 1, tzinfo=UTC)
SECRET = b"mentions-test-secret"
TS = pl.Datetime("us", "UTC")
OBJ_SCHEMA = {"submission_id": pl.String, "user_id": pl.String, "email": pl.String, "action": pl.String,
              "submitted_at": TS, "full_name": pl.String, "phone": pl.String, "handles": pl.String}  # fmt: skip


def objection(sid: str, *, name: str | None = None, email: str | None = None, phone: str | None = None,
              handles: str | None = None, action: str = "object", at: datetime = T - timedelta(days=1),
              user_id: str | None = None) -> dict:
    return {"submission_id": sid, "user_id": user_id, "email": email, "action": action, "submitted_at": at,
            "full_name": name, "phone": phone, "handles": handles}


def objectors(*rows: dict, cutoff: datetime = T) -> pl.DataFrame:
    return m.objector_identifiers(pl.DataFrame(list(rows), schema=OBJ_SCHEMA), cutoff, SECRET)


def named(texts: list[str], ids: pl.DataFrame) -> list[list[str]]:
    return m.match_mentions(pl.DataFrame({"text": texts}), ids).to_list()


# --- matching ----------------------------------------------------------------------------


def test_names_match_whole_words_case_and_accent_insensitively() -> None:
    ids = objectors(objection("s1", name="Zoë Müller-Łukasik"), objection("s2", name="José  García"))
    texts = [
        "met ZOE MULLER LUKASIK today",  # case, accents, the hyphen
        "zoë müller łukasik!",
        "Zoë Müller-Łukasiková is someone else",  # not a whole word
        "jose garcia and zoe muller lukasik",  # two objectors
        "José García’s dog",  # apostrophe after the name
        "JoséGarcía",  # one word
        "Zoë Müller",  # part of the name only
    ]
    assert named(texts, ids) == [["s1"], ["s1"], [], ["s1", "s2"], ["s2"], [], []]


def test_a_name_of_fewer_than_two_words_matches_nothing() -> None:
    ids = objectors(objection("s1", name="Anna"), objection("s2", name="  Cher  "))
    assert ids.filter(pl.col("kind") == m.NAME).is_empty()
    assert named(["Anna and Cher were here"], ids) == [[]]


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ("+49 30 1234567", "ruf 030 1234567 an"),
        ("+49 30 1234567", "ruf 0049 (0)30 123 45 67 an"),
        ("030/1234567", "call +49 30 1234567"),
        ("(415) 555-0132", "text +1 415 555 0132"),
        ("+1 415-555-0132", "call 415.555.0132 pls"),
        ("+39 06 1234 5678", "tel 06 1234 5678"),
        ("+90 532 123 45 67", "ara 0 532 123 45 67"),
    ],
)
def test_phones_match_after_normalising_their_format(given: str, text: str) -> None:
    ids = objectors(objection("s1", phone=given))
    assert named([text, "call 030 7654321"], ids) == [["s1"], []]


def test_emails_and_handles_match_after_normalising() -> None:
    ids = objectors(objection("s1", email="Zoe.M@Пример.рф", handles="@Zoe_M, instagram.com/zoe.m2 ;@zm"))
    texts = [
        "write zoe.m@пример.рф",
        "write ZOE.M@xn--e1afmkfd.xn--p1ai",  # the same domain as an A-label
        "cc @zoe_m.",
        "see https://www.instagram.com/zoe.m2",
        "ping @ZM now",
        "ping @zoe_mx and other.zoe.m@пример.рф",  # another handle, another address
    ]
    assert named(texts, ids) == [["s1"], ["s1"], ["s1"], ["s1"], ["s1"], []]


def test_user_objections_are_rule_7_not_rule_8() -> None:
    ids = objectors(objection("s1", name="Ann Lee", user_id="u1"))
    assert ids.is_empty()


def test_latest_action_per_identifier_wins() -> None:
    obj = objection("s1", name="Ann Lee", email="ann@x.de", at=T - timedelta(days=3))
    withdraw_mail = objection("s2", email="ann@x.de", action="withdraw", at=T - timedelta(days=2))
    texts = ["Ann Lee said hi", "mail ann@x.de"]
    assert named(texts, objectors(obj)) == [["s1"], ["s1"]]
    # the withdrawal names the e-mail only: the name stays objected
    assert named(texts, objectors(obj, withdraw_mail)) == [["s1"], []]
    # a later objection re-applies it, under its own submission id
    again = objection("s3", email="ann@x.de", at=T - timedelta(days=1))
    assert named(texts, objectors(obj, withdraw_mail, again)) == [["s1"], ["s3"]]
    # a withdrawal after T does not count at T; at a later cut-off it does
    late = objection("s4", name="Ann Lee", email="ann@x.de", action="withdraw", at=T + timedelta(days=1))
    assert named(texts, objectors(obj, late)) == [["s1"], ["s1"]]
    assert named(texts, objectors(obj, late, cutoff=T + timedelta(days=2))) == [[], []]
    # ties at one instant: object wins
    tie = objection("s5", name="Ann Lee", action="withdraw", at=obj["submitted_at"])
    assert named(texts[:1], objectors(obj, tie)) == [["s1"]]


def test_corpus_digests_match_like_the_raw_text() -> None:
    ids = objectors(objection("s1", name="Ann Lee", email="ann@x.de", phone="+49 151 2345678", handles="@ann_l"))
    raw = pl.DataFrame({"text": ["Ann Lee!", "mail ann@x.de", "call 0151 2345678", "hi @ann_l", "nothing", ""]})
    corpus = raw.with_columns(m.mention_digests(raw["text"], SECRET))
    assert m.match_mentions(raw, ids).to_list() == m.match_mentions(corpus, ids).to_list()
    assert m.match_mentions(corpus, ids).to_list() == [["s1"], ["s1"], ["s1"], ["s1"], [], []]
    # the digests carry no identifier, and another secret makes other digests
    assert not corpus[m.MENTION_KEYS].explode().drop_nulls().str.contains("ann").any()
    other = raw.with_columns(m.mention_digests(raw["text"], b"other"))
    assert other[m.MENTION_KEYS].to_list() != corpus[m.MENTION_KEYS].to_list()


def test_corpus_rows_without_digests_fail_closed() -> None:
    ids = objectors(objection("s1", email="ann@x.de"))
    legacy = pl.DataFrame({"text": ["<EMAIL> said hi"], m.MENTION_KEYS: [None]},
                          schema={"text": pl.String, m.MENTION_KEYS: pl.List(pl.String)})
    assert m.match_mentions(legacy, ids).to_list() == [["s1"]]


# --- rule 8 in the rules ------------------------------------------------------------------


def _world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    users = pl.DataFrame({"user_id": ["u1", "u2"], "birth_date": [date(1980, 1, 1)] * 2, "country": ["US"] * 2,
                          "deleted_at": [None, None]}, schema_overrides={"deleted_at": TS})
    notes = pl.DataFrame(schema={"notification_id": pl.String, "user_id": pl.String, "channel": pl.String,
                                 "sent_at": TS})
    content = pl.DataFrame({
        "content_id": ["c1", "c2", "c3", "c4"], "platform": ["facebook"] * 4, "kind": ["post"] * 4,
        "visibility": ["public"] * 4, "author_id": ["u1", "u1", "u2", "u2"],
        "created_at": [T - timedelta(days=10)] * 4, "deleted_at": [None] * 4,
        "text": ["Ann Lee was here", "call ann at 0151 2345678", "Ann Lee again", "nothing to see"],
    }, schema_overrides={"created_at": TS, "deleted_at": TS})
    return users, notes, content


def test_evaluate_content_excludes_mentions_after_rule_7() -> None:
    assert REASON_ORDER[-2:] == (OBJECTED, MENTIONS_OBJECTOR)
    users, notes, content = _world()
    rows = [objection("n1", name="Ann Lee", phone="+49 151 2345678"),
            objection("u2-obj", user_id="u2")]  # u2 objected as a user: rule 7 comes first
    obj = pl.DataFrame(rows, schema=OBJ_SCHEMA)
    policy = Policy()
    state = consent_state(users, notes, obj, as_of=T, policy=policy, secret=SECRET)
    ids = m.objector_identifiers(obj, T, SECRET)
    out = evaluate_content(content, state, as_of=T, policy=policy, objectors=ids).collect()
    assert out["exclusion_reason"].to_list() == [MENTIONS_OBJECTOR, MENTIONS_OBJECTOR, OBJECTED, OBJECTED]
    assert out[m.MENTIONED_BY].to_list() == [["n1"], ["n1"], ["n1"], []]
    report = m.removed_by_submission(out, MENTIONS_OBJECTOR)
    assert report.rows() == [("n1", 2)]
    # without objectors rule 8 passes and the output keeps its columns
    plain = evaluate_content(content, state, as_of=T, policy=policy).collect()
    assert m.MENTIONED_BY not in plain.columns
    assert plain["exclusion_reason"].to_list() == [None, None, OBJECTED, OBJECTED]


def test_the_cut_applies_an_objection_that_arrived_after_the_build() -> None:
    """The corpus holds redacted text and digests; a non-user objection filed after the build
    removes the rows at the cut, by name and by phone; the kept rows can be judged again."""
    users, notes, content = _world()
    policy = Policy()
    none = pl.DataFrame(schema=OBJ_SCHEMA)
    state = consent_state(users, notes, none, as_of=T, policy=policy, secret=SECRET)
    built = evaluate_content(content, state, as_of=T, policy=policy,
                             objectors=m.objector_identifiers(none, T, SECRET)).collect()
    assert built["exclusion_reason"].null_count() == 4
    corpus = built.with_columns(
        m.mention_digests(built["text"], SECRET),
        pl.col("text").str.replace("0151 2345678", "<PHONE>"),  # what redaction leaves
        pl.col("created_at").dt.date().alias("day"),
    ).drop(m.MENTIONED_BY)
    late = pl.DataFrame([objection("n9", name="ann lee", phone="0151/2345678", at=T + timedelta(hours=1))],
                        schema=OBJ_SCHEMA)
    cut = judge_at_cut({"d": corpus}, users, notes, late, as_of=T, policy=policy, secret=SECRET,
                       now=T + timedelta(hours=2))
    assert sorted(cut.removed["content_id"].to_list()) == ["c1", "c2", "c3"]
    assert set(cut.removed["reason"]) == {MENTIONS_OBJECTOR}
    assert cut.kept["d"]["content_id"].to_list() == ["c4"]
    again = judge_at_cut(cut.kept, users, notes, late, as_of=T, policy=policy, secret=SECRET,
                         now=T + timedelta(hours=2))
    assert again.removed.is_empty() and again.kept["d"].height == 1
    # a withdrawal before the cut gives the rows back
    back = pl.concat([late, pl.DataFrame([objection("n10", name="Ann Lee", phone="+49 151 2345678",
                                                    action="withdraw", at=T + timedelta(hours=1, minutes=5))],
                                         schema=OBJ_SCHEMA)])
    cut2 = judge_at_cut({"d": corpus}, users, notes, back, as_of=T, policy=policy, secret=SECRET,
                        now=T + timedelta(hours=2))
    assert cut2.removed.is_empty() and cut2.kept["d"].height == 4
    assert author_key("u1", SECRET) in cut2.kept["d"]["author_key"].to_list()


# --- purge scope ------------------------------------------------------------------------


def corpus_of(*rows: tuple[str, str]) -> pl.DataFrame:
    """Corpus rows (day, pre-redaction text) as a build writes them: redacted text, digests."""
    texts = pl.Series([t for _, t in rows])
    return pl.DataFrame({"day": [date.fromisoformat(d) for d, _ in rows],
                         "text": texts.str.replace_all(r"\+?[0-9][0-9 ]{6,}[0-9]", "<PHONE>")}).with_columns(
        m.mention_digests(texts, SECRET))


def test_days_naming_finds_the_corpus_days_that_name_each_objector() -> None:
    corpus = corpus_of(("2025-04-01", "Lunch with Anna Schmidt"), ("2025-04-02", "nothing to see"),
                       ("2025-04-03", "call +49 30 1234567"), ("2025-04-04", "anna  SCHMIDT again"))
    ids = objectors(objection("s-name", name="Anna Schmidt"), objection("s-phone", phone="030 1234567"),
                    objection("s-none", name="Nobody Here"))
    found = m.days_naming(corpus, ids)
    assert found.rows() == [("s-name", date(2025, 4, 1)), ("s-name", date(2025, 4, 4)),
                            ("s-phone", date(2025, 4, 3))]


def test_a_withdrawal_reaches_the_earlier_objections_naming_the_same_person() -> None:
    earlier = objection("s-1", name="Anna Schmidt", email="anna@example.org", at=T - timedelta(days=3))
    other = objection("s-2", name="Otto Normal", at=T - timedelta(days=3))
    after = objection("s-3", email="ANNA@example.org", at=T + timedelta(days=1))  # after the withdrawal
    withdrawal = objection("w-1", email="anna@example.org", action="withdraw")
    ledger = pl.DataFrame([earlier, other, after, withdrawal], schema=OBJ_SCHEMA)
    pairs = m.withdrawn_objections(ledger, ledger.filter(pl.col("submission_id") == "w-1"))
    assert pairs.rows() == [("w-1", "s-1")]
    assert m.withdrawn_objections(ledger, ledger.filter(pl.col("submission_id") == "s-2")).is_empty()
