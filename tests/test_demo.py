"""The sample landing-zone generator (`demo/`): deterministic, on contract, and it keeps its
distribution promises.

The malformed-record counts are re-derived here by a small reader written from the contract
(DESIGN.md, "Inputs"), independent of `curation/`, checking in the documented order; the
test also proves each malformed record breaks the contract in exactly one way.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from demo import generate_landing_zone
from demo import texts as TX
from demo.generate import iban_checksum_ok, luhn_ok, main, make_card, make_iban

SMALL = {"items": 3_000, "users": 600, "days": 40}
START = date(2025, 4, 1)
END = START + timedelta(days=SMALL["days"] - 1)
AS_OF = date(2025, 7, 1)

PLATFORMS = ("facebook", "instagram", "messenger", "whatsapp", "meta_ai")
KINDS = ("post", "comment", "caption", "message", "ai_prompt", "ai_response")
VISIBILITIES = ("public", "friends", "followers", "private", "direct")
NOTICE = {c["code"] for c in TX.COUNTRIES if c["notice"]}

FIELDS = {
    "content": (
        "content_id",
        "platform",
        "kind",
        "author_id",
        "created_at",
        "visibility",
        "text",
        "deleted_at",
        "parent_id",
        "locale",
    ),
    "users": ("user_id", "birth_date", "country", "created_at", "deleted_at"),
    "notifications": ("notification_id", "user_id", "channel", "sent_at"),
    "objections": ("submission_id", "user_id", "email", "action", "submitted_at", "full_name", "phone",
                   "handles"),
}
REQUIRED = {
    "content": ("content_id", "platform", "kind", "author_id", "created_at", "visibility", "text"),
    "users": ("user_id", "country", "created_at"),
    "notifications": ("notification_id", "user_id", "channel", "sent_at"),
    "objections": ("submission_id", "action", "submitted_at"),
}
ENUMS = {
    "content": {"platform": PLATFORMS, "kind": KINDS, "visibility": VISIBILITIES},
    "users": {},
    "notifications": {"channel": ("in_app", "email")},
    "objections": {"action": ("object", "withdraw")},
}
TIMESTAMPS = {
    "content": ("created_at", "deleted_at"),
    "users": ("created_at", "deleted_at"),
    "notifications": ("sent_at",),
    "objections": ("submitted_at",),
}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")
IBAN = re.compile(r"\b(DE|FR|IT|ES|NL|AT)\d{2}(?: ?[0-9A-Z]{4})+(?: ?[0-9A-Z]{1,3})?\b")
IBAN_LENGTH = {"DE": 22, "FR": 27, "IT": 27, "ES": 24, "NL": 18, "AT": 20}
CARD = re.compile(r"(?<![\d-])[45]\d{3}([ -]?)\d{4}\1\d{4}\1\d{4}(?![\d-])")


# ------------------------------------------------------------- a reader written from the contract


def parse_ts(value: str) -> datetime | None:
    if not ISO.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return None


def failures(kind: str, rec: dict) -> list[str]:
    """Every value-level reason a decoded JSON object fails, in contract order."""
    out = []
    if any(rec.get(f) is None for f in REQUIRED[kind]):
        out.append("missing_field")
    if any(rec.get(f) is not None and not isinstance(rec[f], str) for f in FIELDS[kind]):
        out.append("wrong_type")
        return out  # later checks need strings
    bad_enum = any(
        rec.get(f) is not None and rec[f] not in allowed for f, allowed in ENUMS[kind].items()
    )
    if (
        kind == "users"
        and rec.get("country") is not None
        and not re.fullmatch(r"[A-Z]{2}", rec["country"])
    ):
        bad_enum = True
    if bad_enum:
        out.append("unknown_enum")
    bad_ts = any(rec.get(f) is not None and parse_ts(rec[f]) is None for f in TIMESTAMPS[kind])
    if kind == "users" and rec.get("birth_date") is not None:
        try:
            date.fromisoformat(rec["birth_date"])
            bad_ts = bad_ts or not re.fullmatch(r"\d{4}-\d\d-\d\d", rec["birth_date"])
        except ValueError:
            bad_ts = True
    if bad_ts:
        out.append("bad_timestamp")
    return out


def decode(raw: bytes) -> tuple[str | None, object]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8", None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return "bad_json", None
    if not isinstance(obj, dict):
        return "bad_json", None
    return None, obj


def file_lines(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return [line for line in raw.split(b"\n") if line.strip()]


def read_flat(root: Path, kind: str) -> tuple[list[dict], Counter, int, list[tuple[str, dict]]]:
    """users, notifications, objections: (valid, reasons, records read, malformed objects)."""
    valid, reasons, read, broken = [], Counter(), 0, []
    for path in sorted((root / kind).iterdir()):
        if path.suffix == ".parquet":
            rows = pq.read_table(path).to_pylist()
            read += len(rows)
            valid.extend(dict(r, _file=path.name) for r in rows)
            continue
        for raw in file_lines(path):
            read += 1
            reason, obj = decode(raw)
            if reason is None:
                fails = failures(kind, obj)
                if fails:
                    reason = fails[0]
                    broken.append((reason, obj))
            if reason:
                reasons[reason] += 1
            else:
                valid.append(dict(obj, _file=path.name))
    return valid, reasons, read, broken


def read_content(root: Path) -> tuple[list[dict], Counter, int, list[tuple[str, dict]]]:
    valid, reasons, read, broken = [], Counter(), 0, []
    by_id: dict[tuple, list[dict]] = defaultdict(list)
    for path in sorted((root / "content").glob("*/*/*")):
        folder_platform, folder_day = path.parent.parent.name, path.parent.name
        if path.suffix == ".parquet":
            for row in pq.read_table(path).to_pylist():
                read += 1
                row["_utc"] = row["created_at"]
                row.update(_folder=(folder_platform, folder_day), _parquet=True)
                by_id[(folder_day, row["platform"], row["content_id"])].append(row)
            continue
        for raw in file_lines(path):
            read += 1
            reason, obj = decode(raw)
            if reason is None:
                fails = failures("content", obj)
                if not fails:
                    utc = parse_ts(obj["created_at"])
                    if utc.date() < START:
                        fails.append("out_of_range")
                    elif obj["platform"] != folder_platform or utc.date().isoformat() != folder_day:
                        fails.append("wrong_folder")
                if fails:
                    reason = fails[0]
                    broken.append((reason, obj))
            if reason:
                reasons[reason] += 1
                continue
            obj.update(_utc=parse_ts(obj["created_at"]), _folder=(folder_platform, folder_day))
            by_id[(folder_day, obj["platform"], obj["content_id"])].append(obj)
    for copies in by_id.values():
        payloads = {
            json.dumps({f: str(c.get(f)) for f in ("kind", "author_id", "text")}) for c in copies
        }
        if len(payloads) > 1:
            reasons["conflicting_duplicate_id"] += len(copies)
        else:
            valid.extend(copies)
    return valid, reasons, read, broken


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("landing")
    return root, generate_landing_zone(root, **SMALL)


@pytest.fixture(scope="module")
def content(sample):
    return read_content(sample[0])


@pytest.fixture(scope="module")
def users(sample) -> dict[str, dict]:
    """Latest record per user_id: files in name order, later wins."""
    valid, *_ = read_flat(sample[0], "users")
    latest = {}
    for rec in valid:
        latest[rec["user_id"]] = rec
    return latest


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- determinism and API


def test_same_arguments_give_identical_bytes(sample, tmp_path):
    root, manifest = sample
    again = generate_landing_zone(tmp_path / "again", **SMALL)
    assert again == manifest
    assert digests(root) == digests(tmp_path / "again")
    other = generate_landing_zone(tmp_path / "other", seed=8, **SMALL)
    assert other["content"] != manifest["content"] or digests(tmp_path / "other") != digests(root)


def test_manifest_shape(sample):
    _, m = sample
    assert m["generator"] == "consentry-demo"
    params = (m["seed"], m["items"], m["user_count"], m["start"], m["days"])
    assert params == (7, 3000, 600, "2025-04-01", 40)
    assert m["recommended_as_of"] == "2025-07-01T00:00:00+00:00"
    assert m["content"]["records_written"] == SMALL["items"]
    for section in ("content", "users", "notifications", "objections"):
        s = m[section]
        assert s["valid"] + sum(s["malformed"].values()) == s["records_written"]


def test_replaces_its_own_sample_and_refuses_foreign_data(tmp_path):
    root = tmp_path / "landing"
    generate_landing_zone(root, items=50, users=40, days=3)
    generate_landing_zone(root, items=60, users=40, days=3)  # an earlier sample is replaced
    assert sum(1 for _ in (root / "content").rglob("*.jsonl*")) > 0
    foreign = tmp_path / "foreign"
    (foreign / "content").mkdir(parents=True)
    (foreign / "content" / "x.jsonl").write_text("{}\n")
    with pytest.raises(FileExistsError):
        generate_landing_zone(foreign, items=10, users=10, days=2)
    assert (foreign / "content" / "x.jsonl").exists()


def test_cli_prints_one_line(tmp_path, capsys):
    assert (
        main(["--out", str(tmp_path / "cli"), "--items", "200", "--users", "50", "--days", "5"])
        == 0
    )
    out = capsys.readouterr().out.strip()
    assert "\n" not in out and "content 200 records" in out
    assert json.loads((tmp_path / "cli" / "SAMPLE.json").read_text())["items"] == 200


# --------------------------------------------------------------------------- malformed records


def test_malformed_counts_match_a_reader_of_the_contract(sample, content):
    root, m = sample
    _valid, reasons, read, _ = content
    assert read == m["content"]["records_written"]
    assert {k: v for k, v in reasons.items()} == {
        k: v for k, v in m["content"]["malformed"].items() if v
    }
    assert all(v > 0 for v in m["content"]["malformed"].values()), m["content"]["malformed"]
    for kind in ("users", "notifications", "objections"):
        _v, got, n, _ = read_flat(root, kind)
        assert n == m[kind]["records_written"], kind
        assert dict(got) == {k: v for k, v in m[kind]["malformed"].items() if v}, kind
        assert sum(got.values()) > 0, kind


def test_each_malformed_record_breaks_one_rule(sample, content):
    root = sample[0]
    for kind in ("users", "notifications", "objections"):
        for r, obj in read_flat(root, kind)[3]:
            assert failures(kind, obj) == [r], (kind, obj)
    for reason, obj in content[3]:
        fails = failures("content", obj)
        if reason in ("out_of_range", "wrong_folder"):
            assert fails == [], obj
        else:
            assert fails == [reason], obj


def test_parquet_and_gzip_and_parts(sample):
    root = sample[0]
    parquet = sorted((root / "content").rglob("*.parquet"))
    assert parquet and all(p.parent.parent.name == "instagram" for p in parquet)
    schema = pq.read_schema(parquet[0])
    assert str(schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert list((root / "content").rglob("*.jsonl.gz"))
    with gzip.open(next((root / "content").rglob("*.jsonl.gz"))) as f:
        assert f.read()
    assert any(p.name == "part-00000.jsonl" for p in (root / "content").rglob("*"))
    users_files = sorted(p.name for p in (root / "users").iterdir())
    assert users_files == ["2025-03-31-snapshot.jsonl", "2025-07-10-snapshot.parquet"]
    assert (
        str(pq.read_schema(root / "users" / users_files[1]).field("birth_date").type)
        == "date32[day]"
    )


# --------------------------------------------------------------------------- content


def test_folders_match_platform_and_utc_date(content):
    valid = content[0]
    assert len(valid) > 2_800
    for rec in valid:
        assert rec["_folder"] == (rec["platform"], rec["_utc"].date().isoformat())
        assert START <= rec["_utc"].date() <= END
    stamps = [r["created_at"] for r in valid if not r.get("_parquet")]
    assert any(s.endswith("Z") for s in stamps) and any("." in s for s in stamps)
    offsets = {s[-6:] for s in stamps if not s.endswith("Z")}
    assert {"+00:00", "+01:00", "+02:00", "+03:00"} <= offsets
    # local date differs from the UTC date (after local midnight, still the day before in UTC)
    assert any(
        not s.endswith("Z") and s[:10] != r["_utc"].date().isoformat()
        for s, r in ((r["created_at"], r) for r in valid if not r.get("_parquet"))
    )


def test_platforms_kinds_visibilities(content):
    valid = content[0]
    combos = Counter((r["platform"], r["kind"], r["visibility"]) for r in valid)
    assert {p for p, _, _ in combos} == set(PLATFORMS)
    assert {k for _, k, _ in combos} == set(KINDS)
    assert {v for _, _, v in combos} == set(VISIBILITIES)
    allowed = {
        "facebook": {
            ("post", "public"),
            ("post", "friends"),
            ("post", "private"),
            ("comment", "public"),
            ("comment", "friends"),
        },
        "instagram": {
            (k, v) for k in ("post", "caption") for v in ("public", "followers", "private")
        }
        | {("comment", "public"), ("comment", "followers")},
        "messenger": {
            ("message", "direct"),
            ("post", "public"),
            ("post", "friends"),
            ("comment", "public"),
            ("comment", "friends"),
        },
        "whatsapp": {("message", "direct"), ("message", "private")},
        "meta_ai": {("ai_prompt", "private"), ("ai_response", "private")},
    }
    for (p, k, v), _ in combos.items():
        assert (k, v) in allowed[p], (p, k, v)
    by_platform = Counter(r["platform"] for r in valid)
    assert combos[("messenger", "message", "direct")] > 0.8 * by_platform["messenger"]


def test_ids_parents_deletions_and_authors(content, users):
    valid = content[0]
    ids = {(r["platform"], r["content_id"]) for r in valid}
    assert len(ids) == len(valid)
    assert all(re.fullmatch(r"(fb|ig|ms|wa|ai)-\d{9}", r["content_id"]) for r in valid)
    created = {(r["platform"], r["content_id"]): r["_utc"] for r in valid}
    comments = [r for r in valid if r["kind"] == "comment"]
    assert comments and all(r.get("parent_id") for r in comments)
    linked = [r for r in comments if (r["platform"], r["parent_id"]) in created]
    assert len(linked) > 0.9 * len(comments)
    assert all(created[(r["platform"], r["parent_id"])] <= r["_utc"] for r in linked)
    assert all(not r.get("parent_id") for r in valid if r["kind"] != "comment")
    deleted = [r for r in valid if r.get("deleted_at")]
    assert 0.01 < len(deleted) / len(valid) < 0.04
    when = [
        r["deleted_at"] if isinstance(r["deleted_at"], datetime) else parse_ts(r["deleted_at"])
        for r in deleted
    ]
    assert all(w > r["_utc"] for w, r in zip(when, deleted, strict=True))
    assert any(w.date() < AS_OF for w in when) and any(w.date() >= AS_OF for w in when)
    unknown = sum(r["author_id"] not in users for r in valid) / len(valid)
    assert 0.001 < unknown < 0.02
    locales = Counter(r.get("locale") for r in valid)
    assert locales[None] > 0 and {"de_AT", "de_CH", "nl_BE", "fr_BE", "en_IE"} <= set(locales)
    for r in valid:  # a known author writes in their country's locale (or none)
        u = users.get(r["author_id"])
        if u and r.get("locale") and u["_file"].endswith(".jsonl"):
            assert r["locale"][-2:] == u["country"], (r["locale"], u["country"])


def test_texts(sample, content):
    _, m = sample
    valid = content[0]
    texts = [r["text"] for r in valid]
    joined = "\n".join(texts)
    assert len(m["languages"]) >= 10
    assert set("de fr it es en nl pl el".split()) <= set(m["languages"])
    assert len({(r.get("locale") or "")[:2] for r in valid} - {""}) >= 10
    assert texts.count("") > 0
    assert any(t and all(not ch.isalnum() for ch in t) for t in texts)  # emoji only
    assert max(len(t.encode()) for t in texts) > 5_000
    assert re.search(r"[\u0370-\u03ff]", joined) and re.search(r"[\u0400-\u04ff]", joined)
    assert re.search(r"[\u4e00-\u9fff\u3040-\u30ff]", joined)
    for marker in ("jajaja", "mdr", "😂", "🙄", "haha"):
        assert marker in joined, marker
    dialect = sum(any(p in t for d in TX.DIALECTS.values() for p in d["phrase"]) for t in texts)
    assert dialect > 30
    idioms = sum(any(i in t for lang in TX.LANGS.values() for i in lang["idiom"]) for t in texts)
    assert idioms > 30
    assert re.search(r"[\w.]+@[\w-]+\.\w+", joined) and re.search(r"https?://", joined)
    assert re.search(r"\+(49|33|39|43|34) \d", joined)


def test_reposts_and_near_duplicates(content):
    valid = sorted(content[0], key=lambda r: r["_utc"])
    first: dict[str, dict] = {}
    reposts = far = 0
    for r in valid:
        t = r["text"]
        if (
            len(t) >= 40
            and t in first
            and first[t]["author_id"] != r["author_id"]
            and first[t]["_utc"].date() < r["_utc"].date()
        ):
            reposts += 1
            far += (r["_utc"].date() - first[t]["_utc"].date()).days > 30
        first.setdefault(t, r)
    assert reposts > 0.015 * len(valid)
    assert far > 0
    # near-duplicates: the same words but one or two (or an emoji / punctuation), seen earlier
    earlier = {t: set(t.split()) for t in first if len(t.split()) >= 8}
    near = 0
    for r in valid[len(valid) // 2 :]:
        words = set(r["text"].split())
        if len(words) >= 8:
            near += any(
                t != r["text"] and 0 < len(words ^ e) <= 4 and len(words & e) >= 6
                for t, e in earlier.items()
            )
        if near >= 3:
            break
    assert near >= 3


def test_ibans_pass_mod97_and_cards_pass_luhn(content):
    texts = [r["text"] for r in content[0]]
    ibans = cards = 0
    for t in texts:
        for found in IBAN.finditer(t):
            compact = found.group(0).replace(" ", "")
            assert len(compact) == IBAN_LENGTH[compact[:2]] and iban_checksum_ok(compact), (
                found.group(0)
            )
            ibans += 1
        for found in CARD.finditer(IBAN.sub("", t)):
            assert luhn_ok(found.group(0)), found.group(0)
            cards += 1
    assert ibans > 5 and cards > 5


def test_iban_and_card_helpers():
    rng = random.Random(1)
    for country, length in IBAN_LENGTH.items():
        for _ in range(50):
            iban = make_iban(rng, country)
            assert len(iban) == length and iban_checksum_ok(iban)
            assert not iban_checksum_ok(iban[:4] + ("1" if iban[4] != "1" else "2") + iban[5:])
    for _ in range(200):
        card = make_card(rng)
        assert len(card) == 16 and card[0] in "45" and luhn_ok(card)
    assert not luhn_ok("4111 1111 1111 1112")


def test_language_packs_are_complete():
    keys = set(
        "greet post slots comment caption message prompt prompt_tail response_open response_body "
        "idiom laugh sarcasm pii neg hashtag first last".split()
    )
    for code, pack in TX.LANGS.items():
        assert keys <= set(pack), (code, keys - set(pack))
    for code in ("de", "fr", "it", "es", "en"):
        assert len(TX.LANGS[code]["idiom"]) >= 10, code
    for d in TX.DIALECTS.values():
        assert d["lang"] in TX.LANGS and d["greet"] and d["phrase"] and d["tag"]


# ------------------------------------------------------- users, notifications, objections


def test_users(sample, users):
    _, m = sample
    countries = Counter(u["country"] for u in users.values())
    assert len(countries) >= 15 and len(m["countries"]) >= 15
    assert set("DE AT FR IT ES NL BE PT IE PL SE DK FI CZ GR".split()) <= set(countries)
    assert {"CH", "GB", "US", "TR"} & set(countries) and {"NO", "IS", "LI"} & set(countries)

    def birth(u):
        b = u["birth_date"]
        return b if isinstance(b, date) or b is None else date.fromisoformat(b)

    def age(b: date, on: date) -> int:
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    births = [birth(u) for u in users.values()]
    n = len(births)
    known = [b for b in births if b is not None]
    minors = sum(age(b, END) < 18 for b in known) / n
    turning = sum(age(b, START) < 18 <= age(b, END) for b in known) / n
    assert 0.04 < minors < 0.11 and 0.005 < turning < 0.05
    assert sum((b.month, b.day) == (2, 29) for b in known) > 0
    assert 0.02 < births.count(None) / n < 0.08
    deleted = [u["deleted_at"] for u in users.values() if u["deleted_at"] is not None]
    when = [d if isinstance(d, datetime) else parse_ts(d) for d in deleted]
    assert 0.005 < len(deleted) / n < 0.04
    assert any(w.date() < AS_OF for w in when) and any(w.date() >= AS_OF for w in when)
    # the later Parquet file changes a few users: latest file wins
    assert any(u["_file"].endswith(".parquet") for u in users.values())


def test_notifications(sample, users):
    valid, *_ = read_flat(sample[0], "notifications")
    assert Counter(r["channel"] for r in valid).keys() == {"in_app", "email"}
    assert len({r["notification_id"] for r in valid}) == len(valid)
    first: dict[str, date] = {}
    channels = defaultdict(set)
    for r in valid:
        d = parse_ts(r["sent_at"]).date()
        first[r["user_id"]] = min(d, first.get(r["user_id"], d))
        channels[r["user_id"]].add(r["channel"])
    assert any(len(c) == 2 for c in channels.values())
    on_time = (date(2025, 4, 14), date(2025, 4, 20))
    late = (date(2025, 5, 25), date(2025, 6, 28))
    assert all(on_time[0] <= d <= on_time[1] or late[0] <= d <= late[1] for d in first.values())
    eu = [uid for uid, u in users.items() if u["country"] in NOTICE and u["deleted_at"] is None]
    late_users = sum(late[0] <= first[uid] <= late[1] for uid in eu if uid in first)
    never = sum(uid not in first for uid in eu)
    assert 0.01 < late_users / len(eu) < 0.06 and 0.01 < never / len(eu) < 0.06
    outside = [uid for uid, u in users.items() if u["country"] not in NOTICE]
    assert sum(uid in first for uid in outside) < 0.1 * len(outside)


def test_objections(sample, users):
    root = sample[0]
    valid, *_ = read_flat(root, "objections")
    lines = Counter(raw for p in (root / "objections").iterdir() for raw in file_lines(p))
    assert any(n > 1 for n in lines.values())  # the exact same submission twice
    by_id = defaultdict(list)
    for r in valid:
        by_id[r["submission_id"]].append(r)
    assert all(
        len({json.dumps({k: v for k, v in r.items() if k != "_file"}) for r in rs}) == 1
        for rs in by_id.values()
    )
    unique = [rs[0] for rs in by_id.values()]
    assert {r["action"] for r in unique} == {"object", "withdraw"}
    stamps = [parse_ts(r["submitted_at"]).date() for r in unique]
    assert min(stamps) >= date(2025, 4, 14) and max(stamps) <= date(2025, 6, 30)
    outsiders = [r for r in unique if r["user_id"] is None]
    assert outsiders and all(r["email"] for r in outsiders)
    history = defaultdict(list)
    for r in sorted(unique, key=lambda r: parse_ts(r["submitted_at"])):
        if r["user_id"]:
            history[r["user_id"]].append(r["action"])
    sequences = {tuple(h) for h in history.values()}
    assert ("object", "withdraw") in sequences and ("object", "withdraw", "object") in sequences
    assert 0.02 < len(history) / len(users) < 0.07
