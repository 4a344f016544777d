"""The objection service (intake/): tokens, settings, the exactly-once store, and the HTTP
flows against a real uvicorn on 127.0.0.1 (CSRF, rate and size limits, i18n, no disclosure)."""

from __future__ import annotations

import email
import json
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from upath import UPath

from curation import contract as c
from curation.ingest import ingest
from curation.ledger import ConsentLedger
from intake import i18n, tokens
from intake.links import main as links_main
from intake.links import mint_link
from intake.settings import IntakeConfigError, IntakeSettings
from intake.store import ObjectionStore, objection_record
from tests.intake_server import SECRET, Client, make_settings, serve

# ------------------------------------------------------------------------------ tokens


def test_link_token_round_trip_and_expiry() -> None:
    token = tokens.mint_link_token(SECRET, "alice", expires_at=2_000)
    assert tokens.verify_link_token(SECRET, token, now=1_999) == ("alice", 2_000)
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify_link_token(SECRET, token, now=2_000)
    assert info.value.reason == "expired"


@pytest.mark.parametrize("tamper", ["other_user", "later_expiry", "other_secret", "garbage", "truncated"])
def test_forged_link_tokens_are_refused(tamper: str) -> None:
    token = tokens.mint_link_token(SECRET, "alice", expires_at=10**10)
    version, uid, exp, sig = token.split(".")
    forged = {
        "other_user": f"{version}.{tokens._b64(b'bob')}.{exp}.{sig}",
        "later_expiry": f"{version}.{uid}.{int(exp) + 1}.{sig}",
        "other_secret": tokens.mint_link_token(b"x" * 40, "alice", expires_at=10**10),
        "garbage": "v1.!!!.abc.%%%",
        "truncated": token[:-3],
    }[tamper]
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify_link_token(SECRET, forged, now=0)
    assert info.value.reason == "forged"


def test_forged_and_expired_at_once_is_forged() -> None:
    """Only a genuine token is ever called expired (the signature is checked first)."""
    token = tokens.mint_link_token(b"y" * 40, "alice", expires_at=5)
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify_link_token(SECRET, token, now=100)
    assert info.value.reason == "forged"


def test_nonce_is_bound_to_its_subject_and_age() -> None:
    n = tokens.issue_nonce(SECRET, "user:alice", now=1_000)
    tokens.verify_nonce(SECRET, "user:alice", n.nonce, str(n.issued_at), n.signature, 60, now=1_030)
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify_nonce(SECRET, "user:bob", n.nonce, str(n.issued_at), n.signature, 60, now=1_030)
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify_nonce(SECRET, "user:alice", n.nonce, str(n.issued_at), n.signature, 60, now=1_061)
    assert info.value.reason == "expired"


def test_csrf_token_is_tied_to_session_and_nonce() -> None:
    token = tokens.csrf_token(SECRET, "session-a", "nonce-1")
    assert tokens.csrf_ok(SECRET, "session-a", "nonce-1", token)
    assert not tokens.csrf_ok(SECRET, "session-b", "nonce-1", token)
    assert not tokens.csrf_ok(SECRET, "session-a", "nonce-2", token)
    assert not tokens.csrf_ok(SECRET, None, "nonce-1", token)


def test_submission_id_and_code_are_functions_of_the_nonce() -> None:
    assert tokens.submission_id(SECRET, "n1") == tokens.submission_id(SECRET, "n1")
    assert tokens.submission_id(SECRET, "n1") != tokens.submission_id(SECRET, "n2")
    assert tokens.submission_id(SECRET, "n1") != tokens.submission_id(b"z" * 40, "n1")
    code = tokens.confirmation_code(SECRET, "n1", "A@x.org")
    assert re.fullmatch(r"\d{6}", code) and code == tokens.confirmation_code(SECRET, "n1", "a@x.org")
    assert code != tokens.confirmation_code(SECRET, "n2", "a@x.org")


# ------------------------------------------------------------------------------ settings and links


def test_generated_secret_is_private_stable_and_outside_the_data_root(tmp_path: Path) -> None:
    env = {"CONSENTRY_HOME": str(tmp_path / "home"), "CONSENTRY_DATA": str(tmp_path / "data")}
    first = IntakeSettings.from_env(env)
    key = tmp_path / "home" / "intake.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert IntakeSettings.from_env(env).secret == first.secret
    assert first.objections_dir == tmp_path / "data" / "landing" / "objections"
    assert IntakeSettings.from_env({**env, "CONSENTRY_INTAKE_SECRET": "s" * 40}).secret == b"s" * 40
    with pytest.raises(IntakeConfigError, match="inside the data root"):
        IntakeSettings.from_env({**env, "CONSENTRY_INTAKE_SECRET_FILE": str(tmp_path / "data" / "k")})
    key.chmod(0o644)
    with pytest.raises(IntakeConfigError, match="intake secret file"):
        IntakeSettings.from_env(env)
    with pytest.raises(IntakeConfigError, match="at least 32"):
        IntakeSettings.from_env({**env, "CONSENTRY_INTAKE_SECRET": "short"})


def test_links_cli_prints_a_link_that_verifies(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CONSENTRY_INTAKE_SECRET", SECRET.decode())
    monkeypatch.setenv("CONSENTRY_INTAKE_BASE_URL", "https://objection.example.org/")
    assert links_main(["user-7", "--days", "3"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://objection.example.org/u/v1.")
    user, expires = tokens.verify_link_token(SECRET, link.rsplit("/", 1)[1])
    assert user == "user-7" and 2.9 * 86400 < expires - time.time() <= 3 * 86400
    assert links_main(["bad\nid"]) == 2


# ------------------------------------------------------------------------------ the store


def test_store_writes_each_submission_once_under_concurrency(tmp_path: Path) -> None:
    store = ObjectionStore(tmp_path / "objections")

    def submit(i: int):
        return store.submit(objection_record("intake-x", "object", user_id="alice",
                                             submitted_at=f"2025-06-01T12:00:00.{i:06d}+00:00"))

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(submit, range(64)))
    assert sum(created for _, created in results) == 1
    assert len({r["submitted_at"] for r, _ in results}) == 1
    assert [p.name for p in (tmp_path / "objections").iterdir()] == ["intake-x.jsonl"]


def test_landed_records_pass_the_landing_contract_and_import_once(tmp_path: Path) -> None:
    store = ObjectionStore(tmp_path / "objections")
    store.submit(objection_record("intake-u", "object", user_id="alice"))
    store.submit(objection_record("intake-n", "withdraw", email="p@x.org", full_name="Paula Meyer",
                                  phone="+49 30 1234567", handles=["@paula", "pm_b"]))
    paths = [UPath(p) for p in sorted((tmp_path / "objections").iterdir())]
    result = ingest(paths, c.OBJECTIONS)
    assert result.quarantine.height == 0 and result.valid.height == 2
    with ConsentLedger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        assert ledger.import_objections(result.valid, source="objections").inserted == 2
        assert ledger.import_objections(result.valid, source="objections").unchanged == 2
        rows = ledger.objections().sort("submission_id").to_dicts()
    assert [(r["submission_id"], r["user_id"], r["email"], r["action"]) for r in rows] == [
        ("intake-n", None, "p@x.org", "withdraw"), ("intake-u", "alice", None, "object")]


# ------------------------------------------------------------------------------ HTTP: the user flow


def landed(settings: IntakeSettings) -> list[dict]:
    folder = settings.objections_dir
    if not folder.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.jsonl"))]


def link_path(user: str, expires: int | None = None) -> str:
    return "/u/" + tokens.mint_link_token(SECRET, user, expires or int(time.time()) + 3600)


@pytest.fixture
def settings(tmp_path: Path) -> IntakeSettings:
    return make_settings(tmp_path)


@pytest.fixture
def base(settings: IntakeSettings):
    with serve(settings) as url:
        yield url


def test_user_objects_and_gets_a_receipt(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    page = client.get(link_path("alice"))
    assert page.status == 200 and 'name="action" value="object"' in page.body
    assert "default-src 'none'" in page.headers["content-security-policy"]
    form = page.hidden()
    reply = client.post(link_path("alice"), {**form, "action": "object"})
    assert reply.status == 200, reply.body
    sid = tokens.submission_id(SECRET, form["nonce"])
    assert sid in reply.body and "next corpus release" in reply.body
    [record] = landed(settings)
    assert record["submission_id"] == sid and record["user_id"] == "alice" and record["action"] == "object"
    assert record["email"] is None


def test_retries_double_submits_and_concurrent_posts_write_once(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    path = link_path("alice")
    form = client.get(path).hidden()
    first = client.post(path, {**form, "action": "object"})
    again = client.post(path, {**form, "action": "object"})
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: client.post(path, {**form, "action": "object"}), range(16)))
    sid = tokens.submission_id(SECRET, form["nonce"])
    assert all(r.status == 200 and sid in r.body for r in [first, again, *replies])
    assert len(landed(settings)) == 1
    assert len({re.search(r'datetime="([^"]+)"', r.body).group(1) for r in [first, again, *replies]}) == 1


def test_a_replayed_form_with_another_action_changes_nothing(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    path = link_path("alice")
    form = client.get(path).hidden()
    client.post(path, {**form, "action": "object"})
    replay = client.post(path, {**form, "action": "withdraw"})
    assert replay.status == 200 and 'id="receipt-kind">Objection<' in replay.body
    assert [r["action"] for r in landed(settings)] == ["object"]
    fresh = client.get(path).hidden()  # a new form is a new submission
    assert client.post(path, {**fresh, "action": "withdraw"}).status == 200
    assert sorted(r["action"] for r in landed(settings)) == ["object", "withdraw"]


def test_csrf_origin_and_nonce_binding(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    path = link_path("alice")
    form = client.get(path).hidden()
    assert Client(base).post(path, {**form, "action": "object"}).status == 403  # no session cookie
    assert client.post(path, {**form, "csrf": "x" + form["csrf"][1:], "action": "object"}).status == 403
    assert client.post(path, {**form, "action": "object"}, headers={"Origin": "http://evil.example"}).status == 403
    # alice's form posted to bob's link: the nonce belongs to another subject
    assert client.post(link_path("bob"), {**form, "action": "object"}).status == 400
    assert client.post(path, {**form, "action": "object", "action2": "x", "lang": "en"}).status == 200
    assert len(landed(settings)) == 1


def test_expired_and_forged_links(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    expired = client.get(link_path("alice", expires=int(time.time()) - 1))
    assert expired.status == 410 and "expired" in expired.body
    forged = client.get("/u/" + tokens.mint_link_token(b"q" * 40, "alice", int(time.time()) + 60))
    assert forged.status == 400 and "not valid" in forged.body
    assert client.post("/u/v1.x.1.y", {"action": "object"}).status == 400
    assert landed(settings) == []


def test_an_old_form_is_refused(tmp_path: Path) -> None:
    now = [time.time()]
    settings = make_settings(tmp_path)
    with serve(settings, clock=lambda: now[0]) as url:
        client = Client(url)
        path = link_path("alice", expires=int(now[0]) + 10 * 86400)
        form = client.get(path).hidden()
        now[0] += settings.form_max_age_s + 1
        reply = client.post(path, {**form, "action": "object"})
    assert reply.status == 400 and "This form has expired" in reply.body
    assert landed(settings) == []


def test_missing_action_reshows_the_form_with_the_same_nonce(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    path = link_path("alice")
    form = client.get(path).hidden()
    reply = client.post(path, form)
    assert reply.status == 400 and 'id="error-action"' in reply.body
    assert reply.hidden()["nonce"] == form["nonce"] and landed(settings) == []


def test_rate_limit_per_client(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rate_limit=3)
    with serve(settings) as url:
        client = Client(url)
        path = link_path("alice")
        form = client.get(path).hidden()
        statuses = [client.post(path, {**form, "action": "object"}).status for _ in range(4)]
        limited = client.post(path, {**form, "action": "object"})
    assert statuses == [200, 200, 200, 429]
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    assert "Too many requests" in limited.body


def test_size_limits(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    path = link_path("alice")
    form = client.get(path).hidden()
    big = client.post(path, {**form, "action": "object", "pad": "x" * settings.max_body_bytes})
    assert big.status == 413 and "too large" in big.body
    many = client.post(path, "&".join(f"f{i}=1" for i in range(50)).encode())
    assert many.status == 400
    binary = client.post(path, b"action=\xff\xfe")
    assert binary.status == 400
    nonuser = client.get("/other").hidden()
    long_name = client.post("/other", {**nonuser, "full_name": "N" * 201, "email": "a@b.org", "action": "object"})
    assert long_name.status == 400 and 'id="error-full_name">This is too long.' in long_name.body
    assert landed(settings) == [] and not settings.outbox.exists()


# ------------------------------------------------------------------------------ HTTP: non-users


def mails(settings: IntakeSettings) -> list[email.message.Message]:
    if not settings.outbox.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(settings.outbox.glob("*.eml"))]


def code_in(message: email.message.Message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_payload(decode=True).decode()).group(1)


NONUSER = {"full_name": "Paula Meyer", "email": "paula@example.org", "phone": "+49 30 1234567",
           "handles": "@paula_m, paulam", "action": "object"}


def test_nonuser_objects_after_confirming_the_code(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    form = client.get("/other").hidden()
    step = client.post("/other", {**form, **NONUSER})
    assert step.status == 200 and 'name="code"' in step.body
    assert landed(settings) == []  # nothing is written before the code is confirmed
    client.post("/other", {**form, **NONUSER})  # a double submit mails the same code once
    [mail] = mails(settings)
    assert mail["To"] == "paula@example.org"
    confirm = step.hidden()
    wrong = client.post("/other/confirm", {**confirm, "code": "000000" if code_in(mail) != "000000" else "111111"})
    assert wrong.status == 400 and "not correct" in wrong.body and landed(settings) == []
    ok = client.post("/other/confirm", {**confirm, "code": code_in(mail)})
    assert ok.status == 200 and tokens.submission_id(SECRET, form["nonce"]) in ok.body
    again = client.post("/other/confirm", {**confirm, "code": code_in(mail)})
    assert again.status == 200
    [record] = landed(settings)
    assert record == {**record, "user_id": None, "email": "paula@example.org", "full_name": "Paula Meyer",
                      "phone": "+49 30 1234567", "handles": "@paula_m, paulam", "action": "object"}


def test_wrong_codes_exhaust_the_form(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, code_attempts=2)
    with serve(settings) as url:
        client = Client(url)
        form = client.get("/other").hidden()
        confirm = client.post("/other", {**form, **NONUSER}).hidden()
        code = code_in(mails(settings)[0])
        wrong = "000000" if code != "000000" else "111111"
        assert [client.post("/other/confirm", {**confirm, "code": wrong}).status for _ in range(2)] == [400, 400]
        assert client.post("/other/confirm", {**confirm, "code": code}).status == 429
        tampered = client.post("/other/confirm", {**confirm, "pending": confirm["pending"][:-4] + "AAAA",
                                                  "code": code})
        assert tampered.status == 400
    assert landed(settings) == []


def test_nonuser_missing_and_bad_fields(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    form = client.get("/other").hidden()
    reply = client.post("/other", {**form, "full_name": "", "email": "not-an-email", "phone": "call me",
                                   "handles": ",".join(f"h{i}" for i in range(21)), "action": "maybe"})
    assert reply.status == 400
    for field in ("full_name", "email", "phone", "handles", "action"):
        assert f'id="error-{field}"' in reply.body
    assert 'value="call me"' in reply.body  # what was typed is kept
    assert landed(settings) == [] and mails(settings) == []


# ------------------------------------------------------------------------------ nothing is disclosed


def normalised(body: str) -> str:
    body = re.sub(r'(name="(?:nonce|issued|nsig|csrf|pending|psig)" value=")[^"]*"', r'\1"', body)
    body = re.sub(r"intake-[0-9a-f]{32}", "SID", body)
    body = re.sub(r'datetime="[^"]+">[^<]+<', "TIME", body)
    return re.sub(r'/u/[^"?]+', "/u/TOKEN", body)


def test_pages_do_not_depend_on_anyone_having_objected(base: str, settings: IntakeSettings) -> None:
    client = Client(base)
    objector = link_path("alice")
    form = client.get(objector).hidden()
    client.post(objector, {**form, "action": "object"})
    pages = [normalised(client.get(link_path(u)).body) for u in ("alice", "bob", "never-heard-of")]
    assert pages[0] == pages[1] == pages[2]
    receipts = []
    for user in ("alice", "bob"):
        path = link_path(user)
        receipts.append(normalised(client.post(path, {**client.get(path).hidden(), "action": "object"}).body))
    assert receipts[0] == receipts[1]
    # the non-user confirmation page: the same for an address that objected and one that did not
    first = client.get("/other").hidden()
    step = client.post("/other", {**first, **NONUSER}).hidden()
    client.post("/other/confirm", {**step, "code": code_in(mails(settings)[0])})
    known = client.post("/other", {**client.get("/other").hidden(), **NONUSER})
    unknown = client.post("/other", {**client.get("/other").hidden(), **NONUSER, "email": "nobody@example.org"})
    assert known.status == unknown.status == 200
    assert normalised(known.body) == normalised(unknown.body)


# ------------------------------------------------------------------------------ languages


def test_accept_language_parsing() -> None:
    assert i18n.parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.parse_accept_language("en;q=0.3, de;q=0.8") == "de"
    assert i18n.parse_accept_language("es, it") is None
    assert i18n.parse_accept_language("de;q=0, fr;q=x") is None
    assert i18n.choose("xx", None, None, "de") == "de"
    assert i18n.choose(None, None, None, None) == "en"


def test_every_language_has_every_text() -> None:
    for lang in i18n.LANGUAGES:
        assert i18n.MESSAGES[lang].keys() == i18n.MESSAGES["en"].keys()
        assert all(text.strip() for text in i18n.MESSAGES[lang].values())
        assert "{code}" in i18n.MESSAGES[lang]["mail_body"]


def test_pages_in_german_and_french(base: str) -> None:
    path = link_path("alice")
    german = Client(base, headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"}).get(path)
    assert '<html lang="de">' in german.body and i18n.MESSAGES["de"]["title"] in german.body
    client = Client(base, headers={"Accept-Language": "de"})
    french = client.get(path + "?lang=fr")
    assert '<html lang="fr">' in french.body and "Je m&#39;oppose" in french.body
    assert '<html lang="fr">' in client.get("/other").body  # the switch is remembered (cookie)
    form = client.get(path).hidden()
    receipt = client.post(path, {**form, "action": "withdraw"})
    assert i18n.MESSAGES["fr"]["receipt_title"] in receipt.body and "Retrait d&#39;une opposition" in receipt.body
    assert '<html lang="en">' in Client(base).get("/").body


def test_unknown_pages_and_methods(base: str) -> None:
    client = Client(base)
    assert client.get("/nope").status == 404
    assert client.get("/other/confirm").status == 200  # redirected to the form
    assert client.post("/", {"a": "b"}).status == 405


def test_settings_bind_loopback_by_default(tmp_path: Path) -> None:
    settings = IntakeSettings.from_env({"CONSENTRY_INTAKE_SECRET": "s" * 40, "CONSENTRY_DATA": str(tmp_path)})
    assert settings.host == "127.0.0.1" and settings.port == 3100
    assert mint_link(settings, "u").startswith("http://127.0.0.1:3100/u/v1.")
