"""Generate the sample landing zone: content, users, notifications, objections, SAMPLE.json.

The sample follows the landing contract in DESIGN.md ("Inputs: the landing zone") and plays
the announcement's story in spring 2025: users are notified two weeks after `start`, may
object until `start + 90 days`, and a corpus built as of `start + 91 days` (2025-07-01 for the
default start, the manifest's ``recommended_as_of``) exercises every rule of the policy.

Terms
-----
* **item**: one content record. `items` counts every record written to `content/`,
  malformed ones included, so the manifest's ``content.records_written`` equals `items`.
* **malformed**: a record a correct reader must quarantine. Each one breaks the contract in
  exactly one way; the manifest counts them per reason, in the order a reader checks
  (``REASONS``, the same order as ``curation.contract.QUARANTINE_REASONS``). Both records of
  a conflicting duplicate id are counted.
* **voice**: who writes a text: locale, language and dialect, drawn per user from the
  country profile in `demo.texts`.

Output
------
* ``content/<platform>/<UTC day>/part-NNNNN.jsonl`` (``.jsonl.gz`` on every 11th day from the
  6th; ``.parquet`` for instagram on every 7th day from the 4th, never with malformed rows);
* ``users/<start-1>-snapshot.jsonl`` and ``users/<start+100>-snapshot.parquet`` (a few hundred
  changed users: deletions, some after the as-of time, birth dates filled in or corrected,
  moves), latest file wins per ``user_id``;
* ``notifications/<UTC day>.jsonl``, ``objections/<UTC day>.jsonl``;
* ``SAMPLE.json``: ``generator``, ``seed``, ``items``, ``user_count`` (the `users` argument;
  the key ``users`` holds the users section), ``start``, ``days``, ``recommended_as_of``, one
  section per record type with ``records_written``, ``malformed`` (reason -> count),
  ``valid`` and ``files`` (objections also ``exact_duplicates``), ``languages``, ``countries``.

Determinism: one `random.Random` per concern and per content day, seeded from strings (so
hash randomisation plays no part), no wall clock, gzip with mtime 0, fixed Parquet settings.
Memory stays bounded: content is built and written one day at a time; only the users (a few
list entries each), the id counters and a small per-day sample of earlier texts (for
reposts) are kept across days.

Pitfalls for readers of the output:
* split JSON Lines on ``\\n`` only: a few texts contain U+2028, which ``str.splitlines`` treats
  as a line break;
* blank lines are not records;
* exact duplicate objection submissions are not malformed (the ledger import is idempotent);
  the manifest reports them as ``objections.exact_duplicates``.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import math
import random
import shutil
import string
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from curation import contract
from demo import texts as TX

GENERATOR = "consentry-demo"
MANIFEST = "SAMPLE.json"

PLATFORMS = ("facebook", "instagram", "messenger", "whatsapp", "meta_ai")
KINDS = ("post", "comment", "caption", "message", "ai_prompt", "ai_response")
VISIBILITIES = ("public", "friends", "followers", "private", "direct")
ID_PREFIX = {
    "facebook": "fb",
    "instagram": "ig",
    "messenger": "ms",
    "whatsapp": "wa",
    "meta_ai": "ai",
}
PLATFORM_WEIGHTS = (30, 25, 15, 18, 12)

# The order a reader checks a record in (the contract's), less the reasons a generator never
# writes (identical copies, repeated keys, users withheld, whole-file reasons): the first
# failing check names the reason.
REASONS = tuple(r for r in contract.QUARANTINE_REASONS
                if r not in (contract.DUPLICATE_RECORD, contract.REPEATED_KEY,
                             contract.CONFLICTING_USER_RECORDS, *contract.FILE_REASONS))
CONTENT_REQUIRED = tuple(f.name for f in contract.CONTENT.fields if f.required)
USER_REASONS = REASONS[:6]
LEDGER_REASONS = REASONS[:6]

# Malformed content: how often each reason is scheduled (every block of 16 holds all nine).
CONTENT_SCHEDULE = {
    "invalid_utf8": 2,
    "bad_json": 2,
    "missing_field": 2,
    "wrong_type": 2,
    "unknown_enum": 2,
    "bad_timestamp": 2,
    "out_of_range": 1,
    "wrong_folder": 2,
    "conflicting_duplicate_id": 1,
}

US = 1_000_000
DAY_S = 86_400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# Local hour of day → relative activity (people post at lunch and in the evening).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 7, 8, 9, 10, 11, 10, 8, 5)
WEEKDAY_WEIGHTS = (0.95, 0.93, 0.95, 1.0, 1.05, 1.12, 1.10)

KIND_WEIGHTS = {
    "facebook": (("post", 45), ("comment", 55)),
    "instagram": (("post", 30), ("caption", 30), ("comment", 40)),
    "messenger": (("message", 92), ("post", 3), ("comment", 5)),
    "whatsapp": (("message", 100),),
}
POST_VISIBILITY = {
    "facebook": (("public", 55), ("friends", 33), ("private", 12)),
    "instagram": (("public", 62), ("followers", 30), ("private", 8)),
    "messenger": (("public", 85), ("friends", 15)),
}

INVALID_UTF8 = (
    b"Gr\xfc\xdfe aus Wien",
    b"caf\xe9 cr\xe8me",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\x80abc",
    b"\xed\xa0\xbd\xed\xb8\x82",
    b"na\xefve \xa0",
)
_MARK = "\x00MARK\x00"
_MARK_JSON = b"\\u0000MARK\\u0000"


# --------------------------------------------------------------------------- small helpers


def _cum(weights) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, items, cum: list[float]):
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb in a non-leap target year
        return d.replace(year=d.year + years, day=28)


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _day_us(d: date) -> int:
    return (d.toordinal() - EPOCH_ORDINAL) * DAY_S * US


def _eu_summer(d: date) -> bool:
    """EU summer time (last Sunday of March to last Sunday of October), by date."""

    def last_sunday(month: int) -> date:
        x = date(d.year, month, 31)
        return x - timedelta(days=(x.weekday() + 1) % 7)

    return last_sunday(3) <= d < last_sunday(10)


def iso(us: int, off_min: int = 0, frac: int = 0, z: bool = False) -> str:
    """ISO-8601 text of a UTC instant (µs since epoch) at an offset: 2025-04-03T21:15:07+02:00."""
    secs, micro = divmod(us + off_min * 60 * US, US)
    days, sod = divmod(secs, DAY_S)
    h, rem = divmod(sod, 3600)
    m, s = divmod(rem, 60)
    f = "" if frac == 0 else "." + f"{micro:06d}"[:frac]
    if z:
        suffix = "Z"
    else:
        sign = "+" if off_min >= 0 else "-"
        suffix = f"{sign}{abs(off_min) // 60:02d}:{abs(off_min) % 60:02d}"
    return (
        f"{date.fromordinal(EPOCH_ORDINAL + days).isoformat()}T{h:02d}:{m:02d}:{s:02d}{f}{suffix}"
    )


def iban_checksum_ok(iban: str) -> bool:
    """mod-97 == 1 over the rearranged IBAN (ISO 13616)."""
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in s)) % 97 == 1


def luhn_ok(number: str) -> bool:
    digits = [int(ch) for ch in number if ch.isdigit()]
    total = 0
    for i, dgt in enumerate(reversed(digits)):
        if i % 2 == 1:
            dgt *= 2
            if dgt > 9:
                dgt -= 9
        total += dgt
    return total % 10 == 0


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


_IT_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21)


def _es_control(digits: str) -> int:
    weights = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)
    d = 11 - sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % 11
    return {11: 0, 10: 1}.get(d, d)


def make_iban(rng: random.Random, country: str) -> str:
    """A syntactically valid IBAN (national check digits included where they exist)."""
    if country == "DE":
        bban = _digits(rng, 18)
    elif country == "AT":
        bban = _digits(rng, 16)
    elif country == "NL":
        bban = rng.choice(("ABNA", "INGB", "RABO", "SNSB", "TRIO")) + _digits(rng, 10)
    elif country == "FR":
        bank, branch, account = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        bban = f"{bank}{branch}{account}{key:02d}"
    elif country == "ES":
        bank, branch, account = _digits(rng, 4), _digits(rng, 4), _digits(rng, 10)
        bban = f"{bank}{branch}{_es_control('00' + bank + branch)}{_es_control(account)}{account}"
    elif country == "IT":
        body = _digits(rng, 22)  # ABI (5) + CAB (5) + account (12)
        total = sum(_IT_ODD[int(c)] if i % 2 == 0 else int(c) for i, c in enumerate(body))
        bban = chr(ord("A") + total % 26) + body
    else:
        raise ValueError(f"no IBAN format for {country}")
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


def make_card(rng: random.Random) -> str:
    """A 16-digit Visa/Mastercard-shaped number that passes Luhn."""
    body = (
        "4" + _digits(rng, 14)
        if rng.random() < 0.6
        else "5" + str(rng.randint(1, 5)) + _digits(rng, 13)
    )
    for check in range(10):
        if luhn_ok(body + str(check)):
            return body + str(check)
    raise AssertionError("unreachable")


IBAN_COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "AT")


def make_email(rng: random.Random, lang: str, country: str) -> str:
    first = rng.choice(TX.LANGS[lang]["first"])
    last = rng.choice(TX.LANGS[lang]["last"])
    sep = rng.choice((".", "_", "", "."))
    num = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
    return f"{first}{sep}{last}{num}@{rng.choice(TX.EMAIL_DOMAINS.get(country, ['gmail.com']))}"


# --------------------------------------------------------------------------- text composition


@dataclass
class _Lang:
    code: str
    packs: dict = field(default_factory=dict)  # key -> list of compiled templates or strings
    slots: dict = field(default_factory=dict)
    words: list = field(default_factory=list)  # single words for near-duplicate edits


def _compile(template: str) -> tuple:
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append((literal, name))
    return tuple(parts)


def _build_langs() -> dict[str, _Lang]:
    out = {}
    for code, pack in TX.LANGS.items():
        lang = _Lang(code)
        for key, values in pack.items():
            if key == "slots":
                lang.slots = values
            else:
                lang.packs[key] = [_compile(v) for v in values]
        lang.words = sorted(
            {w for vs in lang.slots.values() for v in vs for w in v.split() if len(w) > 3}
        )
        out[code] = lang
    return out


@dataclass(frozen=True)
class Voice:
    locale: str
    lang: str
    dialect: str | None
    country: str
    tz_hours: int
    tz_dst: bool


class Composer:
    """Writes texts for one voice and kind; the RNG is swapped per content day."""

    def __init__(self) -> None:
        self.langs = _build_langs()
        self.dialects = TX.DIALECTS
        self.rng = random.Random(0)

    # -- slots
    def fill(self, tpl: tuple, lang: _Lang, country: str) -> str:
        rng = self.rng
        out = []
        for literal, name in tpl:
            out.append(literal)
            if name is None:
                continue
            values = lang.slots.get(name)
            if values is not None:
                out.append(rng.choice(values))
            else:
                out.append(self.special(name, lang, country))
        s = "".join(out)
        if s[:1].islower():
            s = s[0].upper() + s[1:]
        return s

    def line(self, key: str, lang: _Lang, country: str) -> str:
        return self.fill(self.rng.choice(lang.packs[key]), lang, country)

    def special(self, name: str, lang: _Lang, country: str) -> str:
        rng = self.rng
        if name == "email":
            return self.email(lang, country)
        if name == "phone":
            fmt = rng.choice(TX.PHONES.get(country, TX.PHONES["DE"]))
            return "".join(rng.choice(string.digits) if ch == "#" else ch for ch in fmt)
        if name == "url":
            tpl = rng.choice(TX.URLS)
            code = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(7))
            return tpl.format(tld=country.lower(), n=rng.randint(100, 999999), code=code)
        if name == "handle":
            return self.handle(lang)
        if name == "iban":
            iban = make_iban(
                rng, country if country in IBAN_COUNTRIES else rng.choice(IBAN_COUNTRIES)
            )
            if rng.random() < 0.7:
                return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            return iban
        if name == "card":
            card = make_card(rng)
            r = rng.random()
            if r < 0.6:
                return " ".join(card[i : i + 4] for i in range(0, 16, 4))
            if r < 0.75:
                return "-".join(card[i : i + 4] for i in range(0, 16, 4))
            return card
        if name == "price":
            style = TX.PRICE_STYLE.get(lang.code, TX.PRICE_STYLE["de"])
            return style.format(
                i=rng.randint(1, 9), t=rng.randint(0, 999), c=rng.choice((0, 0, 49, 90, 99))
            )
        if name == "date":
            d = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
            return TX.DATE_STYLE.get(lang.code, TX.DATE_STYLE["de"]).format(
                d=d.day, m=d.month, y=d.year
            )
        if name == "year":
            return str(rng.randint(1890, 2024))
        if name == "order":
            fmt = rng.choice(TX.ORDER_STYLES)
            return "".join(rng.choice(string.digits) if ch == "#" else ch for ch in fmt)
        if name == "idiom":
            return self.line("idiom", lang, country) if lang.packs.get("idiom") else ""
        if name == "sentence":
            return self.line("post", lang, country)
        if name == "n":
            return str(rng.randint(2, 12))
        if name == "num":
            return str(rng.randint(5, 95))
        if name == "time":
            h, m = rng.randint(7, 22), rng.choice((0, 0, 15, 30, 30, 45))
            if lang.code == "en":
                return f"{h % 12 or 12}{f':{m:02d}' if m else ''}{'am' if h < 12 else 'pm'}"
            return f"{h}:{m:02d}" if lang.code not in ("da", "nb", "fi") else f"{h}.{m:02d}"
        raise KeyError(name)

    def email(self, lang: _Lang, country: str) -> str:
        return make_email(self.rng, lang.code, country)

    def handle(self, lang: _Lang) -> str:
        rng = self.rng
        first = rng.choice(TX.LANGS[lang.code]["first"])
        tail = rng.choice((rng.choice(TX.LANGS[lang.code]["last"]), str(rng.randint(1, 999)), ""))
        return "@" + first + (rng.choice(("_", ".", "")) + tail if tail else "")

    # -- building blocks
    def emojis(self, n: int) -> str:
        return "".join(self.rng.choice(TX.EMOJI) for _ in range(n))

    def _tag(self, text: str, dialect: dict) -> str:
        """Append a dialect interjection: 'Kalt heute.' -> 'Kalt heute, oida.'"""
        word = self.rng.choice(dialect["tag"])
        if text[-1:] in ".!?":
            return f"{text[:-1]}, {word}{text[-1]}"
        return f"{text}, {word}"

    def long_text(self, lang: _Lang, country: str, keys: tuple[str, ...]) -> str:
        rng = self.rng
        target = rng.randint(5_000, 20_000)
        paragraphs, size = [], 0
        while size < target:
            sentences = [
                self.line(rng.choice(keys), lang, country) for _ in range(rng.randint(3, 7))
            ]
            p = " ".join(sentences)
            paragraphs.append(p)
            size += len(p) + 2
        return "\n\n".join(paragraphs)

    def compose(self, kind: str, platform: str, voice: Voice) -> str:
        rng = self.rng
        r = rng.random
        lang = self.langs[voice.lang]
        dialect = self.dialects.get(voice.dialect) if voice.dialect else None
        country = voice.country
        P = lang.packs
        parts: list[str] = []

        if kind in ("post", "caption", "comment", "message"):
            x = r()
            if x < {"post": 0.006, "caption": 0.03, "comment": 0.003, "message": 0.002}[kind]:
                return ""
            if kind != "post" and x < 0.02:
                return rng.choice(TX.EMOJI_ONLY)
            if kind == "post" and x < 0.009:
                return self.long_text(lang, country, ("post", "post", "idiom", "response_body"))

        if kind == "post":
            if dialect is not None and r() < 0.55:
                if r() < 0.5:
                    parts.append(rng.choice(dialect["greet"]))
                parts.append(rng.choice(dialect["phrase"]))
            elif r() < 0.2:
                parts.append(self.line("greet", lang, country))
            if r() < 0.05:
                parts.append(self.line("sarcasm", lang, country))
            k = min(1 + (r() < 0.88) + (r() < 0.35), len(P["post"]))
            parts.extend(self.fill(tpl, lang, country) for tpl in rng.sample(P["post"], k))
            if r() < 0.10:
                parts.append(self.line("idiom", lang, country))
            if P.get("joke") and r() < 0.025:
                parts.append(self.line("joke", lang, country))
            if dialect is not None and r() < 0.3:
                parts[-1] = self._tag(parts[-1], dialect)
            if r() < 0.07:
                parts.append(self.line("pii", lang, country))
            if r() < 0.06:
                parts.append(self.line("neg", lang, country))
            if r() < 0.01:
                parts.append(rng.choice(TX.FOREIGN))
            text = ("\n\n" if r() < 0.06 else " ").join(parts)
            if r() < 0.08:
                text += " " + rng.choice(TX.LANGS[lang.code]["laugh"])
            if r() < 0.35:
                text += " " + self.emojis(rng.randint(1, 3))
            if r() < 0.04:
                text += " " + TX.FLAGS.get(country, "🇪🇺")
            if platform == "facebook" and r() < 0.10:
                text += "\n" + " ".join(
                    rng.choice(TX.LANGS[lang.code]["hashtag"]) for _ in range(rng.randint(1, 3))
                )
        elif kind == "comment":
            if r() < 0.12:
                parts.append(self.handle(lang))
            if dialect is not None and r() < 0.35:
                parts.append(rng.choice(dialect["phrase"] if r() < 0.5 else dialect["greet"]))
            x = r()
            if x < 0.55:
                parts.append(self.line("comment", lang, country))
            else:
                parts.append(self.line("comment", lang, country))
                parts.append(self.line("post", lang, country))
            if r() < 0.05:
                parts.append(self.line("idiom", lang, country))
            if r() < 0.04:
                parts.append(self.line("sarcasm", lang, country))
            if dialect is not None and r() < 0.2:
                parts[-1] = self._tag(parts[-1], dialect)
            if r() < 0.02:
                parts.append(self.line("pii", lang, country))
            if r() < 0.02:
                parts.append(self.line("neg", lang, country))
            text = " ".join(parts)
            if r() < 0.2:
                text += " " + rng.choice(TX.LANGS[lang.code]["laugh"])
            if r() < 0.3:
                text += " " + self.emojis(rng.randint(1, 2))
        elif kind == "caption":
            text = self.line("caption", lang, country)
            if dialect is not None and r() < 0.25:
                text = self._tag(text, dialect)
            if r() < 0.7:
                text += " " + self.emojis(rng.randint(1, 3))
            if r() < 0.6:
                text += " " + " ".join(
                    rng.choice(TX.LANGS[lang.code]["hashtag"]) for _ in range(rng.randint(2, 4))
                )
            if r() < 0.05:
                text += " " + TX.FLAGS.get(country, "🇪🇺")
        elif kind == "message":
            if dialect is not None and r() < 0.35:
                parts.append(rng.choice(dialect["greet"] if r() < 0.5 else dialect["phrase"]))
            for _ in range(1 + (r() < 0.3)):
                parts.append(self.line("message", lang, country))
            if dialect is not None and r() < 0.25:
                parts[-1] = self._tag(parts[-1], dialect)
            if r() < 0.10:
                parts.append(self.line("pii", lang, country))
            if r() < 0.04:
                parts.append(self.line("neg", lang, country))
            if r() < 0.03:
                parts.append(self.line("idiom", lang, country))
            text = " ".join(parts)
            if r() < 0.15:
                text += " " + rng.choice(TX.LANGS[lang.code]["laugh"])
            if r() < 0.25:
                text += " " + self.emojis(rng.randint(1, 3))
        elif kind == "ai_prompt":
            text = self.line("prompt", lang, country)
            if r() < 0.7:  # what the person tells the assistant first
                text = self.line("post", lang, country) + " " + text
            if text.endswith(":"):
                if r() < 0.1:
                    text += "\n\n" + self.long_text(lang, country, ("post", "response_body"))
                else:
                    text += "\n\n" + " ".join(
                        self.line("post", lang, country) for _ in range(rng.randint(2, 5))
                    )
            elif r() < 0.5:
                text += " " + self.line("prompt_tail", lang, country)
            if r() < 0.05:
                text += " " + self.line("pii", lang, country)
            if dialect is not None and r() < 0.1:
                text = rng.choice(dialect["greet"]) + " " + text
        else:  # ai_response
            if r() < 0.03:
                return (
                    self.line("response_open", lang, country)
                    + "\n\n"
                    + self.long_text(lang, country, ("response_body", "response_body", "post"))
                )
            parts.append(self.line("response_open", lang, country))
            k = min(rng.randint(2, 5), len(P["response_body"]))
            body = [self.fill(tpl, lang, country) for tpl in rng.sample(P["response_body"], k)]
            if r() < 0.3:
                parts.append("\n".join("- " + b for b in body))
                text = "\n\n".join(parts)
            else:
                text = " ".join(parts + body)

        if r() < 0.0015:  # the odd invisible or line-separating character
            text += rng.choice(("\u00a0", "\u200b", "\u2028", " cafe\u0301", "\u202f!"))
        return text

    def near_duplicate(self, text: str, lang: _Lang) -> str:
        """One or two words changed, punctuation or emoji added: still the same post to a reader."""
        rng = self.rng
        words = text.split(" ")
        for _ in range(1 + (rng.random() < 0.5)):
            op = rng.random()
            # only plain words change: an IBAN, card or phone number stays intact (and valid)
            plain = [i for i, w in enumerate(words) if i > 0 and w.isalpha()]
            if op < 0.4 and len(words) > 3 and plain and lang.words:
                words[rng.choice(plain)] = rng.choice(lang.words)
            elif op < 0.55 and len(words) > 4 and plain:
                del words[rng.choice(plain)]
            elif op < 0.8:
                words.append(rng.choice(TX.EMOJI))
            else:
                words[-1] = words[-1] + rng.choice(("!", "!!", "…", "?!", " :)"))
        out = " ".join(words)
        return out if out != text else out + "!"


# --------------------------------------------------------------------------- users


@dataclass
class Users:
    ids: list[str]
    voice: list[int]  # index into voices
    country: list[str]
    birth: list[date | None]  # main snapshot
    created_us: list[int]
    deleted_us: list[int | None]  # main snapshot
    final_deleted_us: list[int | None]
    update: dict[int, dict]  # index -> changed fields, for the later Parquet file
    cum_activity: list[float]
    by_lang: dict[str, list[int]]


def _voices() -> tuple[list[Voice], list[str], list[float], list[list[int]], list[list[float]]]:
    voices: list[Voice] = []
    countries, weights, country_voices, country_cums = [], [], [], []
    for c in TX.COUNTRIES:
        countries.append(c["code"])
        weights.append(c["weight"])
        idx, w = [], []
        for locale, lang, dialect, weight in c["voices"]:
            idx.append(len(voices))
            w.append(weight)
            voices.append(Voice(locale, lang, dialect, c["code"], c["tz"][0], c["tz"][1]))
        country_voices.append(idx)
        country_cums.append(_cum(w))
    return voices, countries, _cum(weights), country_voices, country_cums


def _birth_date(
    rng: random.Random,
    start: date,
    end: date,
    leap_special: list[int],
    leap_any: list[int],
    leap_minor: list[int],
) -> date | None:
    r = rng.random()
    if r < 0.05:
        return None
    if r < 0.12:  # a minor on every day of the range, at least 13
        lo = _add_years(end, -18).toordinal() + 1
        hi = _add_years(start, -13).toordinal()
        return date.fromordinal(rng.randint(lo, max(lo, hi)))
    if r < 0.14:  # turns 18 inside the range
        first = start + timedelta(days=1) if end > start else start
        for _ in range(10):
            t = first + timedelta(days=rng.randrange((end - first).days + 1))
            if not (t.month == 2 and t.day == 29):
                return t.replace(year=t.year - 18)
        return _add_years(end, -18)
    if r < 0.145:  # 29 February
        if leap_special and rng.random() < 0.4:
            y = rng.choice(leap_special)
        elif leap_minor and rng.random() < 0.3:
            y = rng.choice(leap_minor)
        else:
            y = rng.choice(leap_any)
        return date(y, 2, 29)
    x = rng.random()
    age = (
        rng.randint(18, 24)
        if x < 0.18
        else rng.randint(25, 34)
        if x < 0.46
        else rng.randint(35, 44)
        if x < 0.68
        else rng.randint(45, 54)
        if x < 0.84
        else rng.randint(55, 64)
        if x < 0.94
        else rng.randint(65, 85)
    )
    lo = _add_years(start, -(age + 1)).toordinal() + 1
    hi = _add_years(start, -age).toordinal()
    return date.fromordinal(rng.randint(lo, hi))


def build_users(seed: int, n: int, start: date, days: int, voices_info) -> Users:
    voices, countries, country_cum, country_voices, country_cums = voices_info
    rng = random.Random(f"{GENERATOR}/{seed}/users")
    end = start + timedelta(days=max(days, 1) - 1)
    snapshot_day = start - timedelta(days=1)
    update_day = start + timedelta(days=100)
    as_of_us = _day_us(start + timedelta(days=91))
    # 29 Feb births: years that make someone 13..85 in the range; 'special' ones turn 18 on a
    # non-leap 1 March inside the range (none for an April–June range).
    leap_any = [y for y in range(start.year - 85, start.year - 12) if _is_leap(y)]
    leap_minor = [y for y in leap_any if _add_years(date(y, 3, 1), 18) > end]
    leap_special = [
        y
        for y in leap_any
        if _is_leap(y) and not _is_leap(y + 18) and start < date(y + 18, 3, 1) <= end
    ]

    ids, voice, country, birth, created, deleted = [], [], [], [], [], []
    activity = []
    created_lo_global = date(2008, 1, 1).toordinal()
    created_hi = (start - timedelta(days=2)).toordinal()
    for i in range(n):
        ci = bisect.bisect_right(country_cum, rng.random() * country_cum[-1])
        vi = country_voices[ci][
            bisect.bisect_right(country_cums[ci], rng.random() * country_cums[ci][-1])
        ]
        b = _birth_date(rng, start, end, leap_special, leap_any, leap_minor)
        lo = created_lo_global
        if b is not None:
            lo = max(lo, _add_years(b, 13).toordinal())
        lo = min(lo, created_hi - 1)
        c_day = rng.randint(lo, created_hi)
        c_us = (c_day - EPOCH_ORDINAL) * DAY_S * US + rng.randrange(DAY_S) * US
        d_us = None
        if rng.random() < 0.008:  # deleted before the snapshot
            d_lo = c_us + DAY_S * US
            d_hi = _day_us(snapshot_day) - 1
            d_us = rng.randint(min(d_lo, d_hi), d_hi) // US * US
        ids.append(f"u{i + 1:08d}")
        voice.append(vi)
        country.append(countries[ci])
        birth.append(b)
        created.append(c_us)
        deleted.append(d_us)
        activity.append(0.0 if d_us is not None else min(rng.paretovariate(1.3), 300.0))

    # The later update file: accounts deleted (some after T), birth dates filled in or corrected,
    # a few moves to another country.
    final_deleted = list(deleted)
    update: dict[int, dict] = {}
    alive = [i for i in range(n) if deleted[i] is None]
    n_delete = max(3, round(n * 0.007)) if n >= 100 else min(2, len(alive))
    n_fill = max(3, round(n * 0.0035)) if n >= 100 else 1
    n_fix = max(2, round(n * 0.0015)) if n >= 100 else 1
    chosen = rng.sample(alive, min(len(alive), n_delete + n_fix))
    del_lo = _day_us(start + timedelta(days=5))
    del_hi = _day_us(update_day) - 1
    for k, i in enumerate(chosen[:n_delete]):
        if k == 0:
            d_us = rng.randint(as_of_us, del_hi)  # at least one after T
        elif k == 1:
            d_us = rng.randint(del_lo, as_of_us - 1)  # and one before
        else:
            d_us = rng.randint(del_lo, del_hi)
        d_us = d_us // US * US
        final_deleted[i] = d_us
        update[i] = {"deleted_us": d_us}
    rest = chosen[n_delete:]
    taken = set(rest) | set(update)  # membership only: iteration order never matters
    unknown_age = [i for i in alive if birth[i] is None and i not in taken]
    fills = rng.sample(unknown_age, min(n_fill, len(unknown_age)))
    for i in fills:
        update[i] = {
            "birth": _birth_date(
                random.Random(f"{GENERATOR}/{seed}/fill/{i}"),
                start,
                end,
                leap_special,
                leap_any,
                leap_minor,
            )
            or date(1990, 6, 15)
        }
    fixes = [i for i in rest if i not in update][:n_fix]
    for k, i in enumerate(fixes):
        if k % 2 == 0:
            # a corrected birth date: an adult account turns out to belong to a minor, or back
            b = birth[i]
            minor_birth = _add_years(start, -16) - timedelta(days=rng.randrange(300))
            update[i] = {
                "birth": minor_birth
                if b is None or b < _add_years(start, -18)
                else _add_years(start, -30)
            }
        else:
            moves = {
                "DE": "AT",
                "AT": "DE",
                "FR": "BE",
                "BE": "NL",
                "GB": "IE",
                "IE": "GB",
                "CH": "DE",
            }
            update[i] = {"country": moves.get(country[i], "DE")}

    by_lang: dict[str, list[int]] = {}
    for i in range(n):
        if activity[i] > 0:
            by_lang.setdefault(voices[voice[i]].lang, []).append(i)
    return Users(
        ids, voice, country, birth, created, deleted, final_deleted, update, _cum(activity), by_lang
    )


def _user_record(
    users: Users, i: int, rng: random.Random, voices: list[Voice], *, final: bool
) -> dict:
    v = voices[users.voice[i]]
    b = users.birth[i]
    country = users.country[i]
    deleted = users.deleted_us[i]
    if final:
        change = users.update.get(i, {})
        b = change.get("birth", b)
        country = change.get("country", country)
        deleted = change.get("deleted_us", deleted)
    off = 0 if v.country == "US" else (v.tz_hours + 1) * 60
    z = rng.random() < 0.3
    return {
        "user_id": users.ids[i],
        "birth_date": b.isoformat() if b is not None else None,
        "country": country,
        "created_at": iso(users.created_us[i], 0 if z else off, 0, z),
        "deleted_at": iso(deleted, 0 if z else off, 0, z) if deleted is not None else None,
    }


# --------------------------------------------------------------------------- malformed records


def _corrupt_utf8(rec: dict, field_name: str, rng: random.Random) -> bytes:
    rec = dict(rec)
    value = rec.get(field_name)
    rec[field_name] = (value if isinstance(value, str) else "") + " " + _MARK
    raw = orjson.dumps(rec)
    return raw.replace(_MARK_JSON, rng.choice(INVALID_UTF8), 1)


def _bad_json(rec: dict, rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.55:  # truncated mid-record (at a character boundary: still valid UTF-8)
        s = orjson.dumps(rec).decode()
        cut = rng.randint(min(12, len(s) - 2), len(s) - 2)
        return s[:cut].encode()
    if r < 0.7:  # a Python dict repr, not JSON
        return repr({k: v for k, v in rec.items() if not isinstance(v, dict)}).encode()
    if r < 0.8:  # trailing comma
        return orjson.dumps(rec)[:-1] + b",}"
    return rng.choice(
        (
            b"[1, 2, 3]",
            b'"just a string"',
            b"42",
            b"null",
            b"true",
            orjson.dumps(list(rec.values())[:3]),
        )
    )


_WRONG_TYPE = {
    "content": (
        ("content_id", lambda v: int(v.split("-")[1])),
        ("text", lambda v: [v]),
        ("created_at", lambda v: 1743700000),
        ("author_id", lambda v: int(v[1:])),
        ("visibility", lambda v: True),
        ("kind", lambda v: [v]),
    ),
    "users": (
        ("user_id", lambda v: int(v[1:])),
        ("country", lambda v: 49),
        ("created_at", lambda v: 1262304000),
        ("birth_date", lambda v: 19900615),
    ),
    "notifications": (
        ("user_id", lambda v: int(v[1:])),
        ("channel", lambda v: ["in_app", "email"]),
        ("sent_at", lambda v: 1744617600),
    ),
    "objections": (
        ("user_id", lambda v: 12345),
        ("action", lambda v: ["object"]),
        ("submitted_at", lambda v: 1745000000.5),
    ),
}
_UNKNOWN_ENUM = {
    "content": (
        ("platform", ("tiktok", "threads", "myspace")),
        ("kind", ("story", "reel", "status")),
        ("visibility", ("everyone", "unlisted", "friends_of_friends")),
    ),
    "users": (("country", ("Germany", "de", "DEU", "Österreich")),),
    "notifications": (("channel", ("sms", "push", "letter")),),
    "objections": (("action", ("delete", "objection", "unsubscribe")),),
}
_REQUIRED = {
    "content": CONTENT_REQUIRED,
    "users": ("user_id", "country", "created_at"),
    "notifications": ("notification_id", "user_id", "channel", "sent_at"),
    "objections": ("submission_id", "action", "submitted_at"),
}
_TS_FIELD = {
    "content": "created_at",
    "users": "created_at",
    "notifications": "sent_at",
    "objections": "submitted_at",
}
_UTF8_FIELD = {
    "content": "text",
    "users": "user_id",
    "notifications": "notification_id",
    "objections": "email",
}


def _bad_timestamp(value: str, rng: random.Random) -> str:
    day = value[:10]
    return rng.choice(
        (
            "2025-13-45T99:00:00+02:00",
            "yesterday",
            f"{day}T21:15:07",
            f"{day} 21:15",
            "2025-02-30T10:00:00+01:00",
            f"{day[8:10]}/{day[5:7]}/{day[:4]} 21:15:07",
            f"{day}T25:61:00Z",
            "now",
        )
    )


def malform(kind: str, reason: str, rec: dict, rng: random.Random) -> bytes | dict:
    """Break a valid record in exactly one way, for the reasons checked before folder rules.

    Returns the line bytes (decode-level reasons) or the changed record.
    """
    rec = dict(rec)
    if reason == "invalid_utf8":
        return _corrupt_utf8(rec, _UTF8_FIELD[kind], rng)
    if reason == "bad_json":
        return _bad_json(rec, rng)
    if reason == "missing_field":
        name = rng.choice(_REQUIRED[kind])
        if rng.random() < 0.8:
            rec.pop(name, None)
        else:
            rec[name] = None
        return rec
    if reason == "wrong_type":
        name, f = rng.choice(_WRONG_TYPE[kind])
        rec[name] = f(rec.get(name) or "u00000001")
        return rec
    if reason == "unknown_enum":
        name, values = rng.choice(_UNKNOWN_ENUM[kind])
        rec[name] = rng.choice(values)
        return rec
    if reason == "bad_timestamp":
        name = _TS_FIELD[kind]
        if kind == "users" and rng.random() < 0.3:
            rec["birth_date"] = rng.choice(("31.12.1990", "1990-02-30", "unknown"))
        else:
            rec[name] = _bad_timestamp(rec[name], rng)
        return rec
    raise ValueError(reason)


# --------------------------------------------------------------------------- writing


def _line(value: dict | bytes) -> bytes:
    """One JSON Lines line, newline included. The copy matters: orjson 3.13 returns `bytes`
    that keep a ~4 KB buffer alive, so holding its results directly costs 4 KB a record."""
    return (orjson.dumps(value) if isinstance(value, dict) else value) + b"\n"


def _write_jsonl(path: Path, lines: list[bytes], gz: bool = False) -> None:
    """Write newline-terminated lines (see `_line`), gzip'd without a timestamp or file name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = b"".join(lines)
    if gz:
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as f,
        ):
            f.write(payload)
    else:
        path.write_bytes(payload)


CONTENT_SCHEMA = pa.schema(
    [
        ("content_id", pa.string()),
        ("platform", pa.string()),
        ("kind", pa.string()),
        ("author_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("visibility", pa.string()),
        ("text", pa.string()),
        ("deleted_at", pa.timestamp("us", tz="UTC")),
        ("parent_id", pa.string()),
        ("locale", pa.string()),
    ]
)
USERS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("birth_date", pa.date32()),
        ("country", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("deleted_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _write_parquet(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", use_dictionary=True, write_statistics=True)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    return [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]


def _parts_for(n: int) -> int:
    return max(1, min(8, math.ceil(n / 400)))


def _with_blank(lines: list[bytes], rng: random.Random) -> list[bytes]:
    if len(lines) > 2 and rng.random() < 0.03:
        lines = list(lines)
        lines.insert(rng.randrange(1, len(lines)), b"\n")
    return lines


# --------------------------------------------------------------------------- content


@dataclass
class _Entry:
    rec: dict
    utc_us: int
    deleted_us: int | None
    folder: str
    reason: str | None = None
    raw: bytes | None = None


@dataclass
class _State:
    counters: dict[str, int]
    day_pools: list[list[tuple[str, str]]]
    parents: dict[str, list[tuple[str, str]]]
    malformed: dict[str, int]
    schedule: list[str]
    scheduled: int = 0
    carry: float = 0.0
    records: int = 0
    files: int = 0
    languages: set = field(default_factory=set)
    mentions: int = 0  # posts that name a non-user (rule 8)


@dataclass(frozen=True)
class NonUser:
    """A person who is not a user but appears in others' posts (rule 8): the identifiers the
    posts name them by, and those their objection (if any) gives."""

    full_name: str
    email: str
    phone: str | None
    handle: str | None
    objects: tuple[str, ...]  # their form actions in order: (), ("object",), ("object", "withdraw")


MENTION_TEMPLATES = ("{t} (with {x})", "{t} cc {x}", "{x}: {t}", "{t} — ask {x}")


def build_non_users(seed: int, n: int) -> list[NonUser]:
    """`n` non-users with names from the language packs; most object, some withdraw later.

    The first always objects and never withdraws, so every sample has one effective non-user
    objection to show; the second never objects (a late objection can be shown on them)."""
    rng = random.Random(f"{GENERATOR}/{seed}/non-users")
    langs = sorted(TX.LANGS)
    countries = sorted(TX.PHONES)
    out = []
    for k in range(n):
        lang = rng.choice(langs)
        first, last = rng.choice(TX.LANGS[lang]["first"]), rng.choice(TX.LANGS[lang]["last"])
        full = f"{first.capitalize()} {last.capitalize()}"
        fmt = rng.choice(TX.PHONES[rng.choice(countries)])
        phone = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in fmt)
        x = rng.random()
        objects = ("object",) if k == 0 else () if k == 1 else (
            ("object",) if x < 0.6 else ("object", "withdraw") if x < 0.8 else ())
        out.append(NonUser(
            full_name=full,
            # the form needs the submitter's address for the receipt
            email=f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'web.de', 'posteo.de', 'orange.fr'])}",
            phone=phone if rng.random() < 0.5 else None,
            handle=f"@{first}_{last}{rng.randint(1, 999)}" if rng.random() < 0.6 else None,
            objects=objects,
        ))
    return out


def _day_counts(items: int, start: date, days: int) -> list[int]:
    weights = [WEEKDAY_WEIGHTS[(start + timedelta(days=i)).weekday()] for i in range(days)]
    cum = _cum(weights)
    total = cum[-1]
    bounds = [0] + [round(items * c / total) for c in cum]
    return [bounds[i + 1] - bounds[i] for i in range(days)]


def _is_parquet_day(platform: str, di: int) -> bool:
    return platform == "instagram" and di % 7 == 3


def _is_gz_day(di: int) -> bool:
    return di % 11 == 5


class _ContentDay:
    """Builds, breaks and writes one UTC day of content."""

    POOL_PER_DAY = 64
    PARENT_POOL = 3000

    def __init__(self, gen: _Generator, di: int, day: date, n: int) -> None:
        self.g = gen
        self.di = di
        self.day = day
        self.n = n
        self.rng = random.Random(f"{GENERATOR}/{gen.seed}/content/{day.isoformat()}")
        self._mrng = random.Random(f"{GENERATOR}/{gen.seed}/mentions/{day.isoformat()}")
        self._mentioned = False
        self.day_us = _day_us(day)
        self.summer = _eu_summer(day)

    # -- rule 8: posts that name people who are not users
    def _mention(self, text: str, platform: str, kind: str, visibility: str) -> str:
        """Now and then (and always in the day's first public post) a public post names a non-user,
        by full name (in any case, accents kept), handle, e-mail or phone, written as people
        write them. Its own random stream: the rest of the day is unchanged by it."""
        if visibility != "public" or kind not in ("post", "comment", "caption") or platform not in (
                "facebook", "instagram"):
            return text
        g, rng = self.g, self._mrng
        first_today = not self._mentioned
        if not first_today and rng.random() >= 0.01:
            return text
        self._mentioned = True
        # the day's first public post names the first (even days) or second (odd days) non-user
        person = g.non_users[self.di % 2] if first_today else rng.choice(g.non_users)
        forms = [person.full_name, person.full_name.lower(), person.full_name.upper()]
        if not first_today:  # the day's first mention is by name, later ones by any identifier
            forms += [f for f in (person.handle, person.email, person.phone) if f]
        g.state.mentions += 1
        return rng.choice(MENTION_TEMPLATES).format(t=text, x=rng.choice(forms))

    # -- who and when
    def _offset_hours(self, voice: Voice) -> int:
        return voice.tz_hours + (1 if voice.tz_dst and self.summer else 0)

    def _author(self, lang: str | None = None) -> tuple[str, Voice]:
        g, rng = self.g, self.rng
        users = g.users
        day_end = self.day_us + DAY_S * US
        if lang is None and rng.random() < 0.005:
            k = rng.randrange(len(g.unknown_ids))
            return g.unknown_ids[k], g.voices[g.unknown_voices[k]]
        pool = users.by_lang.get(lang) if lang is not None else None
        i = 0
        for _ in range(20):
            if pool:
                i = pool[rng.randrange(len(pool))]
            else:
                i = bisect.bisect_right(users.cum_activity, rng.random() * users.cum_activity[-1])
                i = min(i, len(users.ids) - 1)
            d = users.final_deleted_us[i]
            if d is None or d > day_end:
                break
        return users.ids[i], g.voices[users.voice[i]]

    def _second_of_day(self, voice: Voice) -> int:
        rng = self.rng
        off = self._offset_hours(voice)
        if rng.random() < 0.02:  # around UTC midnight: the local date differs from the UTC date
            return rng.randrange(900) if rng.random() < 0.5 else DAY_S - 1 - rng.randrange(900)
        hour = bisect.bisect_right(self.g.hour_cum, rng.random() * self.g.hour_cum[-1])
        return ((hour - off) * 3600 + rng.randrange(3600)) % DAY_S

    def _time_us(self, voice: Voice) -> int:
        sec = self._second_of_day(voice)
        r = self.rng.random()
        if r < 0.2:
            return sec * US + self.rng.randrange(1000) * 1000
        if r < 0.3:
            return sec * US + self.rng.randrange(US)
        return sec * US

    def _stamp(self, utc_us: int, voice: Voice) -> str:
        """created_at text: the author's local offset, or UTC as Z / +00:00 (server clocks)."""
        r = self.rng.random()
        frac = 0 if utc_us % US == 0 else (3 if utc_us % 1000 == 0 else 6)
        if voice.country == "US" or r < 0.12:
            return iso(utc_us, 0, frac, True)
        if r < 0.15:
            return iso(utc_us, 0, frac, False)
        return iso(utc_us, self._offset_hours(voice) * 60, frac, False)

    # -- build
    def build(self) -> dict[str, list[_Entry]]:
        g, rng = self.g, self.rng
        st = g.state
        specs = []  # (second-of-day µs, seq, platform, kind, author_id, voice, source, pair)
        seq = 0
        remaining = self.n
        day_pools = st.day_pools
        while remaining > 0:
            platform = _pick(rng, PLATFORMS, g.platform_cum)
            if platform == "meta_ai":
                author, voice = self._author()
                t = self._time_us(voice)
                if remaining >= 2:
                    t2 = min(t + rng.randint(2, 40) * US + rng.randrange(US), (DAY_S - 1) * US)
                    t = min(t, t2 - 1)
                    specs.append((t, seq, platform, "ai_prompt", author, voice, None, True))
                    specs.append((t2, seq + 1, platform, "ai_response", author, voice, None, True))
                    seq += 2
                    remaining -= 2
                else:
                    specs.append((t, seq, platform, "ai_prompt", author, voice, None, False))
                    seq += 1
                    remaining -= 1
                continue
            kinds, cum = g.kind_cum[platform]
            kind = _pick(rng, kinds, cum)
            source = None
            r = rng.random()
            if r < 0.075 and self.di > 0:
                # exact repost (r < 0.03) or near-duplicate of an earlier day's text
                if self.di > 30 and rng.random() < 0.3:
                    src_day = rng.randrange(0, self.di - 30)
                else:
                    src_day = rng.randrange(0, self.di)
                pool = day_pools[src_day]
                if pool:
                    text, lang = pool[rng.randrange(len(pool))]
                    source = (text, lang, r < 0.0375)
            if source is not None:
                author, voice = self._author(source[1])
            else:
                author, voice = self._author()
            specs.append((self._time_us(voice), seq, platform, kind, author, voice, source, False))
            seq += 1
            remaining -= 1
        specs.sort(key=lambda s: (s[0], s[1]))

        comp = g.composer
        comp.rng = rng
        out: dict[str, list[_Entry]] = {p: [] for p in PLATFORMS}
        pool_today: list[tuple[str, str]] = []
        day_pools.append(pool_today)
        keep_p = min(1.0, 3 * self.POOL_PER_DAY / max(1, self.n))
        pending_pair: tuple[int | None, str | None] = (None, None)
        for t, _seq, platform, kind, author, voice, source, pair in specs:
            n = st.counters[platform] + 1
            st.counters[platform] = n
            cid = f"{ID_PREFIX[platform]}-{n:09d}"
            parent = None
            if kind == "comment":
                parents = st.parents[platform]
                if parents:
                    parent, visibility = parents[rng.randrange(len(parents))]
                else:
                    kind = "post"
            if kind in ("post", "caption"):
                visibility = _pick(rng, *g.vis_cum[platform])
            elif kind == "message":
                visibility = (
                    "direct" if platform == "messenger" or rng.random() < 0.85 else "private"
                )
            elif kind in ("ai_prompt", "ai_response"):
                visibility = "private"
            if source is not None:
                text = (
                    source[0]
                    if source[2]
                    else comp.near_duplicate(source[0], comp.langs[source[1]])
                )
            else:
                text = comp.compose(kind, platform, voice)
            st.languages.add(voice.lang)
            if (
                kind in ("post", "comment", "caption", "message")
                and 15 <= len(text) <= 2000
                and len(pool_today) < self.POOL_PER_DAY
                and rng.random() < keep_p
            ):
                pool_today.append((text, voice.lang))
            if kind in ("post", "caption", "comment") and visibility in (
                "public",
                "friends",
                "followers",
            ):
                parents = st.parents[platform]
                if len(parents) < self.PARENT_POOL:
                    parents.append((cid, visibility))
                else:
                    parents[rng.randrange(self.PARENT_POOL)] = (cid, visibility)
            utc_us = self.day_us + t
            # deletion by the author: ~2%; an assistant conversation is deleted as a whole
            if kind == "ai_response" and pair and pending_pair[0] is not None:
                deleted_us = pending_pair[0]
            elif rng.random() < 0.02:
                delay = (
                    rng.randint(60, 3600) if rng.random() < 0.3 else rng.randint(3600, 150 * DAY_S)
                )
                deleted_us = utc_us + delay * US
            else:
                deleted_us = None
            if kind == "ai_prompt":
                pending_pair = (deleted_us, author)
            if kind == "ai_response" and deleted_us is not None and deleted_us <= utc_us:
                deleted_us = utc_us + 60 * US
            text = self._mention(text, platform, kind, visibility)
            rec = {
                "content_id": cid,
                "platform": platform,
                "kind": kind,
                "author_id": author,
                "created_at": self._stamp(utc_us, voice),
                "visibility": visibility,
                "text": text,
            }
            r = rng.random()
            if deleted_us is not None or r < 0.8:
                rec["deleted_at"] = (
                    iso(deleted_us, self._offset_hours(voice) * 60 if r < 0.5 else 0, 0, r >= 0.5)
                    if deleted_us is not None
                    else None
                )
            if parent is not None or r < 0.7:
                rec["parent_id"] = parent
            locale = voice.locale if rng.random() > 0.04 else None
            if locale is not None or r < 0.5:
                rec["locale"] = locale
            if rng.random() < 0.005:
                extra = rng.choice(
                    (
                        ("client", "android-412.0.0.33"),
                        ("reactions", {"like": rng.randint(0, 90)}),
                        ("geo", None),
                        ("edited", True),
                        ("_export_batch", rng.randint(1, 40)),
                    )
                )
                rec[extra[0]] = extra[1]
            out[platform].append(_Entry(rec, utc_us, deleted_us, platform))
        return out

    # -- break
    def malform(self, out: dict[str, list[_Entry]]) -> None:
        g, rng, st = self.g, self.rng, self.g.state
        json_platforms = [p for p in PLATFORMS if not _is_parquet_day(p, self.di)]
        eligible = [(p, i) for p in json_platforms for i in range(len(out[p]))]
        st.carry += len(eligible) * g.malformed_rate
        m = min(int(st.carry), len(eligible))
        st.carry -= m
        if m == 0:
            return
        chosen = sorted(rng.sample(range(len(eligible)), m))
        for k in chosen:
            p, i = eligible[k]
            entry = out[p][i]
            if entry.reason is not None:
                continue
            reason = st.schedule[st.scheduled % len(st.schedule)]
            st.scheduled += 1
            if reason == "conflicting_duplicate_id":
                partner = self._partner(out[p], i)
                if partner is None:
                    reason = "bad_json"
                else:
                    other = out[p][partner]
                    other.rec["content_id"] = entry.rec["content_id"]
                    if other.rec["text"] == entry.rec["text"]:
                        other.rec["text"] = other.rec["text"] + " (bearbeitet)"
                    entry.reason = other.reason = reason
                    st.malformed[reason] += 2
                    continue
            if reason == "out_of_range":
                self._out_of_range(entry)
            elif reason == "wrong_folder":
                self._wrong_folder(entry, json_platforms)
            else:
                broken = malform("content", reason, entry.rec, rng)
                if isinstance(broken, bytes):
                    entry.raw = broken
                else:
                    entry.rec = broken
            entry.reason = reason
            st.malformed[reason] += 1

    @staticmethod
    def _partner(entries: list[_Entry], i: int) -> int | None:
        for j in list(range(i + 1, len(entries))) + list(range(i - 1, -1, -1)):
            if entries[j].reason is None:
                return j
        return None

    def _out_of_range(self, entry: _Entry) -> None:
        rng = self.rng
        start_us = _day_us(self.g.start)
        r = rng.random()
        if r < 0.25:  # one second before the range, in UTC
            text = iso(start_us - US, 0, 0, True)
        elif r < 0.45:  # local time on the first day, UTC time on the day before
            text = iso(start_us - rng.randint(60, 3600) * US, 120, 0, False)
        elif r < 0.55:
            text = "1970-01-01T00:00:00Z"
        else:
            us = start_us - rng.randint(30, 6 * 365) * DAY_S * US + rng.randrange(DAY_S) * US
            text = iso(us, 60 * rng.randint(0, 3), 0, False)
        entry.rec["created_at"] = text
        entry.rec["deleted_at"] = None

    def _wrong_folder(self, entry: _Entry, json_platforms: list[str]) -> None:
        rng = self.rng
        if self.di > 0 and rng.random() < 0.5:
            # written into the folder of its *local* date: 00:xx+02:00 is the previous UTC day
            off = rng.choice((2, 3))
            utc_us = self.day_us - rng.randint(60, off * 3600 - 60) * US
            entry.rec["created_at"] = iso(utc_us, off * 60, 0, False)
            entry.utc_us = utc_us
        else:
            targets = [p for p in json_platforms if p != entry.folder]
            entry.folder = rng.choice(targets)

    # -- write
    def write(self, out: dict[str, list[_Entry]]) -> None:
        g, rng, st = self.g, self.rng, self.g.state
        folders: dict[str, list[_Entry]] = {p: [] for p in PLATFORMS}
        for p in PLATFORMS:
            for e in out[p]:
                folders[e.folder].append(e)
        day_name = self.day.isoformat()
        for p in PLATFORMS:
            entries = folders[p]
            if not entries:
                continue
            entries.sort(key=lambda e: e.utc_us)
            base = g.root / "content" / p / day_name
            parts = _parts_for(len(entries))
            st.records += len(entries)
            if _is_parquet_day(p, self.di):
                for k, (a, b) in enumerate(_split(len(entries), parts)):
                    _write_parquet(base / f"part-{k:05d}.parquet", self._table(entries[a:b]))
                    st.files += 1
                continue
            gz = _is_gz_day(self.di)
            for k, (a, b) in enumerate(_split(len(entries), parts)):
                lines = [_line(e.raw if e.raw is not None else e.rec) for e in entries[a:b]]
                name = f"part-{k:05d}.jsonl" + (".gz" if gz else "")
                _write_jsonl(base / name, _with_blank(lines, rng), gz)
                st.files += 1

    @staticmethod
    def _table(entries: list[_Entry]) -> pa.Table:
        cols: dict[str, list] = {name: [] for name in CONTENT_SCHEMA.names}
        for e in entries:
            r = e.rec
            for name in ("content_id", "platform", "kind", "author_id", "visibility", "text"):
                cols[name].append(r[name])
            cols["created_at"].append(e.utc_us)
            cols["deleted_at"].append(e.deleted_us)
            cols["parent_id"].append(r.get("parent_id"))
            cols["locale"].append(r.get("locale"))
        return pa.Table.from_pydict(cols, schema=CONTENT_SCHEMA)


# --------------------------------------------------------------------------- the generator


class _Generator:
    def __init__(
        self,
        root: Path,
        seed: int,
        items: int,
        users: int,
        start: date,
        days: int,
        malformed_rate: float,
    ) -> None:
        self.root = root
        self.seed = seed
        self.items = items
        self.n_users = users
        self.start = start
        self.days = days
        self.malformed_rate = malformed_rate
        self.voices_info = _voices()
        self.voices = self.voices_info[0]
        self.composer = Composer()
        self.platform_cum = _cum(PLATFORM_WEIGHTS)
        self.hour_cum = _cum(HOUR_WEIGHTS)
        self.kind_cum = {
            p: (tuple(k for k, _ in kw), _cum(w for _, w in kw)) for p, kw in KIND_WEIGHTS.items()
        }
        self.vis_cum = {
            p: (tuple(k for k, _ in kw), _cum(w for _, w in kw))
            for p, kw in POST_VISIBILITY.items()
        }
        self.as_of = start + timedelta(days=91)
        sched_rng = random.Random(f"{GENERATOR}/{seed}/schedule")
        schedule = [r for r, w in CONTENT_SCHEDULE.items() for _ in range(w)]
        sched_rng.shuffle(schedule)
        self.state = _State(
            counters={p: 0 for p in PLATFORMS},
            day_pools=[],
            parents={p: [] for p in PLATFORMS},
            malformed={r: 0 for r in REASONS},
            schedule=schedule,
        )

    def run(self) -> dict:
        self.users = build_users(self.seed, self.n_users, self.start, self.days, self.voices_info)
        urng = random.Random(f"{GENERATOR}/{self.seed}/unknown-authors")
        n_unknown = max(10, self.n_users // 200)
        self.unknown_ids = [f"u{50_000_000 + k:08d}" for k in range(n_unknown)]
        vcum = _cum(c["weight"] for c in TX.COUNTRIES)
        self.unknown_voices = []
        for _ in range(n_unknown):
            ci = bisect.bisect_right(vcum, urng.random() * vcum[-1])
            self.unknown_voices.append(self.voices_info[3][ci][0])

        self.non_users = build_non_users(self.seed, max(4, self.n_users // 250))
        users_manifest = self._write_users()
        counts = _day_counts(self.items, self.start, self.days)
        for di, n in enumerate(counts):
            day = _ContentDay(self, di, self.start + timedelta(days=di), n)
            out = day.build()
            day.malform(out)
            day.write(out)
        notifications_manifest = self._write_notifications()
        objections_manifest = self._write_objections()
        st = self.state
        malformed = dict(st.malformed)
        manifest = {
            "generator": GENERATOR,
            "seed": self.seed,
            "items": self.items,
            "user_count": self.n_users,
            "start": self.start.isoformat(),
            "days": self.days,
            "recommended_as_of": f"{self.as_of.isoformat()}T00:00:00+00:00",
            "content": {
                "mentions_of_non_users": st.mentions,
                "records_written": st.records,
                "malformed": malformed,
                "valid": st.records - sum(malformed.values()),
                "files": st.files,
            },
            "users": users_manifest,
            "notifications": notifications_manifest,
            "objections": objections_manifest,
            "languages": sorted(st.languages),
            "countries": sorted(
                set(self.users.country)
                | {c.get("country") for c in self.users.update.values() if c.get("country")}
            ),
        }
        (self.root / MANIFEST).write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
        )
        return manifest

    # -- users
    def _write_users(self) -> dict:
        users, voices = self.users, self.voices
        rng = random.Random(f"{GENERATOR}/{self.seed}/users-files")
        lines = []
        for i in range(len(users.ids)):
            rec = _user_record(users, i, rng, voices, final=False)
            if rng.random() < 0.01:
                rec["display_language"] = voices[users.voice[i]].locale
            lines.append(_line(rec))
        malformed = {r: 0 for r in USER_REASONS}
        n_bad = (
            max(len(USER_REASONS), round(len(lines) * self.malformed_rate * 0.3))
            if self.malformed_rate > 0 and lines
            else 0
        )
        for k in range(n_bad):
            reason = USER_REASONS[k % len(USER_REASONS)]
            i = rng.randrange(len(users.ids))
            rec = _user_record(users, i, rng, voices, final=False)
            rec["user_id"] = f"u{40_000_000 + k:08d}"
            broken = malform("users", reason, rec, rng)
            lines.insert(rng.randrange(len(lines) + 1), _line(broken))
            malformed[reason] += 1
        snapshot = self.start - timedelta(days=1)
        _write_jsonl(self.root / "users" / f"{snapshot.isoformat()}-snapshot.jsonl", lines)

        rows = {name: [] for name in USERS_SCHEMA.names}
        for i in sorted(users.update):
            rec = _user_record(users, i, rng, voices, final=True)
            change = users.update[i]
            b = change.get("birth", users.birth[i])
            d = change.get("deleted_us", users.deleted_us[i])
            rows["user_id"].append(rec["user_id"])
            rows["birth_date"].append(b)
            rows["country"].append(rec["country"])
            rows["created_at"].append(users.created_us[i])
            rows["deleted_at"].append(d)
        update_day = self.start + timedelta(days=100)
        _write_parquet(
            self.root / "users" / f"{update_day.isoformat()}-snapshot.parquet",
            pa.Table.from_pydict(rows, schema=USERS_SCHEMA),
        )
        written = len(lines) + len(users.update)
        return {
            "records_written": written,
            "malformed": malformed,
            "valid": written - sum(malformed.values()),
            "files": 2,
        }

    # -- notifications
    def _local_daytime_us(self, rng: random.Random, day: date, voice: Voice) -> int:
        off = voice.tz_hours + (1 if voice.tz_dst and _eu_summer(day) else 0)
        sec = ((rng.randint(7, 20) - off) * 3600 + rng.randrange(3600)) % DAY_S
        return _day_us(day) + sec * US

    def _ledger_stamp(self, rng: random.Random, us: int, voice: Voice) -> str:
        r = rng.random()
        frac = 3 if rng.random() < 0.3 else 0
        if r < 0.35 or voice.country == "US":
            return iso(us, 0, frac, True)
        if r < 0.5:
            return iso(us, 0, frac, False)
        day = date.fromordinal(EPOCH_ORDINAL + us // (DAY_S * US))
        off = voice.tz_hours + (1 if voice.tz_dst and _eu_summer(day) else 0)
        return iso(us, off * 60, frac, False)

    def _write_notifications(self) -> dict:
        users, voices = self.users, self.voices
        rng = random.Random(f"{GENERATOR}/{self.seed}/notifications")
        notice = {c["code"]: c["notice"] for c in TX.COUNTRIES}
        on_days = [self.start + timedelta(days=13 + k) for k in range(7)]  # 04-14 .. 04-20
        late_days = [self.start + timedelta(days=54 + k) for k in range(35)]  # 05-25 .. 06-28
        events = []  # (us, user index, channel)
        for i in range(len(users.ids)):
            if users.deleted_us[i] is not None:
                continue
            country = users.update.get(i, {}).get("country", users.country[i])
            r = rng.random()
            if notice[country]:
                if r < 0.03:
                    continue
                late = r < 0.06
            else:
                if r >= 0.02:
                    continue
                late = False
            x = rng.random()
            if late:
                channels = (
                    ("email",) if x < 0.7 else ("in_app",) if x < 0.9 else ("in_app", "email")
                )
            else:
                channels = (
                    ("in_app",) if x < 0.6 else ("email",) if x < 0.85 else ("in_app", "email")
                )
            day = rng.choice(late_days if late else on_days)
            voice = voices[users.voice[i]]
            for k, ch in enumerate(channels):
                d = day + timedelta(days=k * rng.randint(0, 1))
                us = self._local_daytime_us(rng, d, voice) + (
                    rng.randrange(1000) * 1000 if rng.random() < 0.3 else 0
                )
                fd = users.final_deleted_us[i]
                if fd is not None and fd <= us:
                    continue
                events.append((us, i, ch))
        events.sort()
        by_day: dict[str, list[bytes]] = {}
        for k, (us, i, ch) in enumerate(events):
            rec = {
                "notification_id": f"ntf-{k + 1:08d}",
                "user_id": users.ids[i],
                "channel": ch,
                "sent_at": self._ledger_stamp(rng, us, voices[users.voice[i]]),
            }
            by_day.setdefault(iso(us, 0, 0, True)[:10], []).append(_line(rec))
        malformed = self._ledger_malformed("notifications", by_day, events, rng, len(events))
        for day, lines in sorted(by_day.items()):
            _write_jsonl(self.root / "notifications" / f"{day}.jsonl", lines)
        written = sum(len(v) for v in by_day.values())
        return {
            "records_written": written,
            "malformed": malformed,
            "valid": written - sum(malformed.values()),
            "files": len(by_day),
        }

    def _ledger_malformed(
        self, kind: str, by_day: dict[str, list[bytes]], events: list, rng: random.Random, n: int
    ) -> dict[str, int]:
        malformed = {r: 0 for r in LEDGER_REASONS}
        if self.malformed_rate <= 0 or not by_day:
            return malformed
        n_bad = max(len(LEDGER_REASONS), round(n * self.malformed_rate * 0.5))
        days = sorted(by_day)
        users, voices = self.users, self.voices
        for k in range(n_bad):
            reason = LEDGER_REASONS[k % len(LEDGER_REASONS)]
            us, i = events[rng.randrange(len(events))][:2] if events else (_day_us(self.start), 0)
            voice = voices[users.voice[i]]
            if kind == "notifications":
                rec = {
                    "notification_id": f"ntf-x{k + 1:07d}",
                    "user_id": users.ids[i],
                    "channel": rng.choice(("in_app", "email")),
                    "sent_at": self._ledger_stamp(rng, us, voice),
                }
            else:
                rec = {
                    "submission_id": self._uuid(rng),
                    "user_id": users.ids[i],
                    "email": "jos\u00e9.garc\u00eda@hotmail.es",
                    "action": "object",
                    "submitted_at": self._ledger_stamp(rng, us, voice),
                }
            broken = malform(kind, reason, rec, rng)
            lines = by_day[rng.choice(days)]
            lines.insert(rng.randrange(len(lines) + 1), _line(broken))
            malformed[reason] += 1
        return malformed

    # -- objections
    @staticmethod
    def _uuid(rng: random.Random) -> str:
        h = f"{rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    def _write_objections(self) -> dict:
        users, voices = self.users, self.voices
        rng = random.Random(f"{GENERATOR}/{self.seed}/objections")
        lo = _day_us(self.start + timedelta(days=13))
        hi = _day_us(self.start + timedelta(days=91)) - 1  # until 06-30 23:59:59 UTC
        events = []  # (us, seq, user index or None, email, action)
        seq = 0

        def times(k: int) -> list[int]:
            """k submission times, in order, at least an hour apart."""
            ts = [rng.randint(lo, hi - (k - 1) * 3600 * US)]
            for j in range(1, k):
                room = hi - (k - 1 - j) * 3600 * US
                ts.append(min(room, ts[-1] + rng.randint(3600, 20 * DAY_S) * US))
            return [t // US * US for t in ts]

        for i in range(len(users.ids)):
            if rng.random() >= 0.04 or users.deleted_us[i] is not None:
                continue
            x = rng.random()
            actions = (
                ("object",)
                if x < 0.78
                else ("object", "withdraw")
                if x < 0.90
                else ("object", "withdraw", "object")
                if x < 0.96
                else ("object", "object")
            )
            voice = voices[users.voice[i]]
            email = make_email(rng, voice.lang, voice.country) if rng.random() < 0.5 else None
            for t, a in zip(times(len(actions)), actions, strict=True):
                events.append((t, seq, i, email, a))
                seq += 1
        n_users_objecting = len({e[2] for e in events})
        n_outside = max(3, round(n_users_objecting * 0.11))
        for _ in range(n_outside):
            voice = voices[rng.randrange(len(voices))]
            email = make_email(rng, voice.lang, voice.country)
            actions = ("object",) if rng.random() < 0.85 else ("object", "withdraw")
            for t, a in zip(times(len(actions)), actions, strict=True):
                events.append((t, seq, None, email, a))
                seq += 1
        events.sort()
        by_day: dict[str, list[bytes]] = {}
        records = []
        for t, _s, i, email, action in events:
            voice = voices[users.voice[i]] if i is not None else voices[0]
            rec = {
                "submission_id": self._uuid(rng),
                "user_id": users.ids[i] if i is not None else None,
                "email": email,
                "action": action,
                "submitted_at": self._ledger_stamp(rng, t, voice),
            }
            line = _line(rec)
            day = iso(t, 0, 0, True)[:10]
            by_day.setdefault(day, []).append(line)
            records.append((day, line))
        # the same submission sent twice (double click, retried upload): same file or a later one
        days = sorted(by_day)
        duplicates = 0
        for day, line in records:
            if rng.random() < 0.08:
                later = [d for d in days if d >= day]
                target = rng.choice(later)
                lines = by_day[target]
                pos = lines.index(line) + 1 if target == day else 0
                lines.insert(rng.randint(pos, len(lines)), line)
                duplicates += 1
        malformed = self._ledger_malformed(
            "objections", by_day, [(e[0], e[2] or 0) for e in events], rng, len(events)
        )
        non_user_records = self._non_user_objections(by_day, lo, hi)
        for day, lines in sorted(by_day.items()):
            _write_jsonl(self.root / "objections" / f"{day}.jsonl", lines)
        written = sum(len(v) for v in by_day.values())
        return {
            "records_written": written,
            "malformed": malformed,
            "valid": written - sum(malformed.values()),
            "exact_duplicates": duplicates,
            "files": len(by_day),
            "non_user_identifier_records": non_user_records,
        }

    def _non_user_objections(self, by_day: dict[str, list[bytes]], lo: int, hi: int) -> int:
        """Objections (and withdrawals) of the non-users the posts name, with their identifiers
        written the way a form would get them. Own random stream, added after the others."""
        rng = random.Random(f"{GENERATOR}/{self.seed}/non-user-objections")
        n = 0
        for k, person in enumerate(self.non_users):
            t = rng.randint(lo, (lo + hi) // 2) // US * US
            if k == 0:
                t = lo  # the always-effective one: early, so every recommended T sees it
            for action in person.objects:
                rec = {
                    "submission_id": self._uuid(rng), "user_id": None, "email": person.email,
                    "action": action, "submitted_at": iso(t, 0, 0, True),
                    "full_name": person.full_name if rng.random() < 0.9 or k == 0 else person.full_name.upper(),
                    "phone": person.phone, "handles": person.handle,
                }
                day = iso(t, 0, 0, True)[:10]
                by_day.setdefault(day, []).append(_line(rec))
                n += 1
                t = min(hi, t + rng.randint(3600, 10 * DAY_S) * US) // US * US
        return n


def _prepare_root(root: Path) -> None:
    """Refuse to mix with foreign data; replace an earlier generated sample."""
    ours = ("content", "users", "notifications", "objections", MANIFEST)
    present = [
        name
        for name in ours
        if (root / name).is_file() or ((root / name).is_dir() and any((root / name).iterdir()))
    ]
    if not present:
        root.mkdir(parents=True, exist_ok=True)
        return
    manifest = root / MANIFEST
    generated = False
    if manifest.exists():
        try:
            generated = orjson.loads(manifest.read_bytes()).get("generator") == GENERATOR
        except orjson.JSONDecodeError:
            generated = False
    if not generated:
        raise FileExistsError(
            f"{root} already holds landing data ({', '.join(present)}) that this generator "
            "did not write; choose an empty directory"
        )
    for name in ours:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def generate_landing_zone(
    root: Path,
    *,
    seed: int = 7,
    items: int = 200_000,
    users: int = 20_000,
    start: date = date(2025, 4, 1),
    days: int = 90,
    malformed_rate: float = 0.01,
) -> dict:
    """Write a sample landing zone under `root` and return its manifest (also `root/SAMPLE.json`).

    Same arguments, same bytes. An earlier sample in `root` is replaced; any other data there
    makes this raise `FileExistsError`.
    """
    if items < 0 or users < 1 or days < 1 or not 0 <= malformed_rate < 0.5:
        raise ValueError("need items >= 0, users >= 1, days >= 1, 0 <= malformed_rate < 0.5")
    root = Path(root)
    _prepare_root(root)
    return _Generator(root, seed, items, users, start, days, malformed_rate).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("data/landing"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 4, 1))
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--malformed-rate", type=float, default=0.01)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    m = generate_landing_zone(
        args.out,
        seed=args.seed,
        items=args.items,
        users=args.users,
        start=args.start,
        days=args.days,
        malformed_rate=args.malformed_rate,
    )
    bad = {
        k: sum(m[k]["malformed"].values())
        for k in ("content", "users", "notifications", "objections")
    }
    print(
        f"{GENERATOR}: {args.out}: content {m['content']['records_written']:,} records "
        f"({bad['content']:,} malformed) in {m['content']['files']:,} files, users "
        f"{m['users']['records_written']:,} ({bad['users']}), notifications "
        f"{m['notifications']['records_written']:,} ({bad['notifications']}), objections "
        f"{m['objections']['records_written']:,} ({bad['objections']}), "
        f"{len(m['languages'])} languages, {len(m['countries'])} countries, "
        f"as-of {m['recommended_as_of']}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
