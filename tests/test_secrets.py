"""Secrets and identifiers: no built-in author key, the generated key file, the ledger URL
through EnvVar, and no raw user id, birth date or e-mail in Dagster metadata or events."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import curation.keyfile as keyfile
import resources
from curation.keyfile import AuthorKeyError, default_key_file, fingerprint, load_or_create_key
from definitions import build_definitions, resources_from_environment
from resources import build_resources
from resources.alerts import JsonlAlertSink
from tests.landing import content_file, materialize_all, notification, objection, post, user, write_jsonl

AS_OF = "2025-07-01T00:00:00+00:00"
# Identifiers nothing else in a run could contain by accident.
USER_IDS = ["usr-Q7XK-ana", "usr-Q7XK-bo", "usr-Q7XK-cem", "usr-Q7XK-dee"]
BIRTH_DATES = ["1987-03-14", "1979-11-23", "2009-08-17", "1993-02-27"]
EMAILS = ["ana.q7xk@example.org", "stranger.q7xk@example.net"]
BAD_BIRTH_DATE = "1990-13-45"
ROOT = Path(__file__).resolve().parents[1]


# -- the key file ----------------------------------------------------------------------------


def test_there_is_no_built_in_key(tmp_path: Path) -> None:
    assert not hasattr(resources, "DEV_AUTHOR_KEY")
    with pytest.raises(ValueError, match="no built-in author key"):
        build_resources(landing_root=str(tmp_path / "landing"), data_root=str(tmp_path / "data"))


def test_key_is_generated_once_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "consentry" / "author.key"
    key = load_or_create_key(path)
    assert len(key) == 64 and int(key, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_key(path) == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["author.key"], "no temp file is left"
    assert load_or_create_key(tmp_path / "other.key") != key, "each installation gets its own key"


def test_losing_the_creation_race_reads_the_winners_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process creates the file between our read and our link: we use its key."""
    path = tmp_path / "author.key"
    real_link = os.link

    def competitor_first(src: str, dst: str) -> None:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"the-competitors-key\n")
        os.close(fd)
        real_link(src, dst)

    monkeypatch.setattr(keyfile.os, "link", competitor_first)
    assert load_or_create_key(path) == "the-competitors-key"
    assert [p.name for p in tmp_path.iterdir()] == ["author.key"]


def test_processes_racing_get_one_key(tmp_path: Path) -> None:
    """Eight processes started together on a missing file: one key, whoever wins."""
    path = tmp_path / "author.key"
    code = "import sys; from pathlib import Path; from curation.keyfile import load_or_create_key as k; " \
           "print(k(Path(sys.argv[1])))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    keys = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert len(set(keys)) == 1 and keys[0] == path.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["author.key"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "author.key"
    load_or_create_key(path)
    path.chmod(mode)
    with pytest.raises(AuthorKeyError, match="chmod 600"):
        load_or_create_key(path)


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "author.key"
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(AuthorKeyError, match="one key on one line"):
        load_or_create_key(path)


@pytest.mark.parametrize(("env", "expected"), [
    ({"CONSENTRY_AUTHOR_KEY_FILE": "/k/a.key", "CONSENTRY_HOME": "/h", "HOME": "/home/x"}, "/k/a.key"),
    ({"CONSENTRY_HOME": "/h", "HOME": "/home/x"}, "/h/author.key"),
    ({"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/x"}, "/xdg/consentry/author.key"),
    ({"HOME": "/home/x"}, "/home/x/.config/consentry/author.key"),
])
def test_key_file_location(env: dict[str, str], expected: str) -> None:
    assert default_key_file(env) == Path(expected)


def test_key_file_inside_the_data_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the data root"):
        build_resources(landing_root=str(tmp_path / "landing"), data_root=str(tmp_path / "data"),
                        author_key_file=str(tmp_path / "data" / "keys" / "author.key"))


def test_fingerprint_is_domain_separated_and_short() -> None:
    import hashlib

    assert len(fingerprint(b"k")) == 16
    assert fingerprint(b"k") != hashlib.sha256(b"k").hexdigest()[:16]
    assert fingerprint(b"k") != fingerprint(b"k2")


# -- what definitions.py builds from the environment ------------------------------------------


def test_environment_without_a_key_uses_the_key_file_lazily(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.delenv("CONSENTRY_AUTHOR_KEY", raising=False)
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONSENTRY_DATA", str(tmp_path / "data"))
    secret = build_definitions(resources_from_environment()).resources["author_key"]
    assert secret.key_file == str(tmp_path / "home" / "author.key") and secret.secret == ""
    assert not (tmp_path / "home").exists(), "building definitions writes no key"
    assert secret.origin == "generated"


def test_secrets_reach_resources_only_as_envvars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The UI shows a resource's config; for the key and the ledger URL that is the variable's name."""
    monkeypatch.setenv("CONSENTRY_AUTHOR_KEY", "configured-key-Q7XK")
    monkeypatch.setenv("CONSENTRY_LEDGER_URL", "postgresql://consentry:pw-Q7XK@127.0.0.1:5432/ledger")
    monkeypatch.setenv("CONSENTRY_DATA", str(tmp_path / "data"))
    defs = build_definitions(resources_from_environment())
    ledger, secret = defs.resources["ledger"], defs.resources["author_key"]
    assert isinstance(ledger.url, dg.EnvVar) and ledger.url.env_var_name == "CONSENTRY_LEDGER_URL"
    assert isinstance(secret.secret, dg.EnvVar) and secret.secret.env_var_name == "CONSENTRY_AUTHOR_KEY"
    shown = repr(defs.resources)
    assert "pw-Q7XK" not in shown and "configured-key-Q7XK" not in shown


def test_without_a_ledger_url_the_default_is_sqlite_under_the_data_root(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.delenv("CONSENTRY_LEDGER_URL", raising=False)
    monkeypatch.setenv("CONSENTRY_DATA", str(tmp_path / "data"))
    assert resources_from_environment()["ledger"].url == f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite'}"


@pytest.mark.parametrize("url", [
    "postgresql://consentry:pw-Q7XK@db.internal:5432/ledger",
    "postgresql+psycopg://consentry@db.internal/ledger?password=pw-Q7XK",
    "postgresql://consentry:p%40w-Q7XK@db.internal/ledger",
])
def test_metadata_shows_the_ledger_without_credentials(url: str) -> None:
    shown = resources.LedgerResource(url=url).display_url
    assert "Q7XK" not in shown and "consentry@" not in shown and "db.internal" in shown


# -- nothing identifying in metadata or events ----------------------------------------------


def build_identifying_landing(root: Path) -> None:
    """Users with birth dates, notifications, objections with e-mails, content, a bad record."""
    write_jsonl(root / "users" / "2025-03-01.jsonl", [
        *[user(u, birth_date=b) for u, b in zip(USER_IDS, BIRTH_DATES, strict=True)],
        user("usr-Q7XK-bad", birth_date=BAD_BIRTH_DATE),
    ])
    write_jsonl(root / "notifications" / "2025-04-14.jsonl",
                [notification(f"n{i}", u) for i, u in enumerate(USER_IDS)])
    write_jsonl(root / "objections" / "2025-05-01.jsonl", [
        objection("s1", USER_IDS[1], "2025-05-01T10:00:00+00:00", email=EMAILS[0]),
        objection("s2", None, "2025-05-01T11:00:00+00:00", email=EMAILS[1]),
    ])
    write_jsonl(content_file(root, "facebook", "2025-04-01"), [
        post(f"fb-{i}", u, "2025-04-01T12:00:00+00:00", text=f"Hallo zusammen, Beitrag {i} über das Wetter heute.")
        for i, u in enumerate(USER_IDS)
    ])


def event_log_text(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Every event of a run, serialized: metadata, check results and log messages alike."""
    return [dg.serialize_value(entry) for entry in instance.all_logs(run_id)]


def test_no_raw_identifier_reaches_metadata_or_events(tmp_path: Path) -> None:
    build_identifying_landing(tmp_path / "landing")
    key_file = tmp_path / "home" / "author.key"
    res = {**build_resources(landing_root=str(tmp_path / "landing"), data_root=str(tmp_path / "data"), as_of=AS_OF,
                             author_key_file=str(key_file), min_k_authors=1),
           "alerts": JsonlAlertSink(path=str(tmp_path / "data" / "alerts.jsonl"))}
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_all(build_definitions(res), instance, "2025-04-01", "2025-04-01",
                             run_config={"ops": {"corpus_subsets": {"config": {
                                 "min_rows_per_country": 0, "max_share_per_country": 1.0}}}})
    assert result.success

    previews = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    for asset in ("raw_users", "raw_content", "consent_ledger", "content_quarantine"):
        assert "preview" in previews[asset], asset
    assert "author_key" in previews["raw_users"]["preview"].value
    assert "birth_date_known" in previews["raw_users"]["preview"].value
    assert "author_key" in previews["consent_ledger"]["preview"].value

    events = event_log_text(instance, result.run_id)
    needles = [*USER_IDS, "usr-Q7XK-bad", *BIRTH_DATES, BAD_BIRTH_DATE, *EMAILS]
    leaks = {needle: sum(needle in text for text in events) for needle in needles}
    assert not any(leaks.values()), {k: v for k, v in leaks.items() if v}

    # The identifiers are in the data (the scan above is not vacuous) ...
    raw_users = (tmp_path / "data" / "assets" / "raw_users.parquet").read_bytes()
    assert USER_IDS[0].encode() in raw_users
    # ... and the generated key made the author_keys: the manifest names it, never holds it.
    key = key_file.read_text().strip()
    (release,) = [p for p in (tmp_path / "data" / "releases").iterdir() if not p.name.startswith(".")]
    manifest_text = (release / "manifest.json").read_text()
    assert json.loads(manifest_text)["author_key"] == {"origin": "generated", "fingerprint": fingerprint(key.encode())}
    assert key not in manifest_text and not any(key in text for text in events)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_ledger_password_never_reaches_events(postgres_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A real PostgreSQL ledger with a password, given as the definitions read it (EnvVar)."""
    from tests.postgres_server import fresh_database

    url = fresh_database(postgres_url, "ledger_events")
    password = url.split(":")[2].split("@")[0]
    build_identifying_landing(tmp_path / "landing")
    monkeypatch.setenv("CONSENTRY_LEDGER_URL", url)
    monkeypatch.setenv("CONSENTRY_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CONSENTRY_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("CONSENTRY_AUTHOR_KEY", "configured-key-Q7XK")
    defs = build_definitions(resources_from_environment())
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_all(defs, instance, "2025-04-01", "2025-04-01",
                             selection=("key:raw_users or key:users_quarantine or key:consent_ledger or "
                                        "key:ledger_quarantine or key:consent_state"))
    assert result.success
    materialized = {e.asset_key.to_user_string(): e.materialization.metadata
                    for e in result.get_asset_materialization_events()}
    assert materialized["consent_ledger"]["events_inserted"].value == 6, "the events went to PostgreSQL"
    assert "127.0.0.1" in materialized["consent_ledger"]["ledger"].value
    assert materialized["consent_state"]["author_key_origin"].value == "configured"
    texts = [*event_log_text(instance, result.run_id),
             dg.serialize_value(instance.get_run_by_id(result.run_id))]
    assert not [t for t in texts if password in t or "configured-key-Q7XK" in t]


def test_quarantine_detail_keeps_the_field_not_the_value() -> None:
    import polars as pl

    from assets.metadata import masked_detail

    details = pl.DataFrame({"detail": [f"birth_date={BAD_BIRTH_DATE}", f"user_id={USER_IDS[0]}",
                                       "missing: author_id, text", None]})
    assert details.select(masked_detail())["detail"].to_list() == [
        "birth_date=…", "user_id=…", "missing: author_id, text", None]
