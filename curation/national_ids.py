"""National identity and tax numbers of EU/EEA countries: shapes and check digits.

Used by ``curation.pii`` (placeholder ``<ID>``). The regex below only finds *candidates*
(a handful per text); ``national_id_ok`` validates each unique candidate in Python with
the format's own check digit and, where the number encodes one, a real birth date.
Only validated candidates are redacted, so "order 4815162342" or a 9-digit invoice
number stays.

Formats (sources: the national specifications as summarised on the Wikipedia pages of
each number, and the examples those pages give; the algorithms are public):

=====================  ================================  ================================
number                 shape                             validation
=====================  ================================  ================================
DE Steuer-IdNr         11 digits (``12 345 678 901``)    first digit not 0; in digits 1–10
                                                         one digit occurs 2–3 times, no
                                                         other repeats; ISO 7064 MOD 11,10
PL PESEL               11 digits YYMMDDZZZXQ             date (century in the month),
                                                         weights 1-3-7-9
BE Rijksregisternummer 11 digits YY.MM.DD-XXX.CC          97 - (first 9 [with 2 prefix for
                                                         2000+] mod 97) == CC
SE personnummer        (CC)YYMMDD[-+]NNNC                date (day + 60 allowed), Luhn
FI HETU                DDMMYY[+-A-FU-Y]NNNC              date, mod-31 check character
DK CPR                 DDMMYY-SSSS                       date; without the dash also the
                                                         mod-11 weights 4-3-2-7-6-5-4-3-2-1
AT SV-Nummer           SSSC DDMMYY                       weights 3-7-9-5-8-4-2-1-6 mod 11
IT codice fiscale      16 characters AAAAAA00A00A000A    date letters, odd/even check char
ES DNI / NIE           00000000A, X0000000A              mod-23 letter
FR NIR                 1 84 12 76 451 089 46 (15)        key = 97 - (13 digits mod 97)
                                                         (Corsica 2A/2B read as 19/18)
NL BSN                 9 digits                          11-test; only after a keyword
PT NIF                 9 digits                          mod 11; only after a keyword
=====================  ================================  ================================

A bare 9-digit number passes the BSN 11-test or the NIF mod-11 about one time in six
(``123456789`` *is* a valid NIF), so those two are redacted only after a keyword
(``BSN``, ``burgerservicenummer``, ``sofinummer``, ``NIF``, ``contribuinte``): a
documented recall limit, chosen to keep order numbers intact.
"""

from __future__ import annotations

import re
from datetime import date

# --- candidate shapes (Rust regex syntax, as polars uses) ----------------------------

_CF_DIGIT = "[0-9LMNPQRSTUVlmnpqrstuv]"  # codice fiscale digit or its omocodia letter
_KEYWORD_9 = (
    r"(?i:bsn|burgerservicenummer|sofi-?nummer|nif|n\.i\.f\.|contribuinte)"
    r"(?i: nr\.?| no\.?| n\.?º| number| nummer)?:? ?"
)
_ID_ALTERNATIVES = (
    rf"[A-Za-z]{{6}}{_CF_DIGIT}{{2}}[A-Za-z]{_CF_DIGIT}{{2}}[A-Za-z]{_CF_DIGIT}{{3}}[A-Za-z]",  # IT
    r"[XYZxyz][ \-]?[0-9]{7}[ \-]?[A-Za-z]",  # ES NIE
    r"[0-9]{6}[\-+A-FU-Y][0-9]{3}[0-9A-Y]",  # FI HETU (and DK/SE with a dash)
    r"[0-9]{8}[ \-]?[A-Za-z]",  # ES DNI
    r"[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[ABab]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}",  # FR NIR
    r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}[\-. ]?[0-9]{3}\.?[0-9]{2}",  # BE, dotted
    r"(?:1[89]|20)[0-9]{6}[\-+]?[0-9]{4}",  # SE with century
    r"[0-9]{6}[\-+ ][0-9]{4}",  # SE / DK with a separator
    r"[1-9][0-9]{3} [0-9]{6}",  # AT SSSC DDMMYY
    r"[1-9][0-9] [0-9]{3} [0-9]{3} [0-9]{3}",  # DE grouped
    r"[0-9]{11}",  # DE, PL, BE
    r"[0-9]{10}",  # SE, DK, AT
    rf"{_KEYWORD_9}(?:[0-9]{{9}}|[0-9]{{4}}\.[0-9]{{2}}\.[0-9]{{3}}|[0-9]{{3}} [0-9]{{3}} [0-9]{{3}})",
)
ID_CANDIDATE = r"(?-u:\b)(?:" + "|".join(_ID_ALTERNATIVES) + r")(?-u:\b)"
"""Every shape above, one alternation; a match is only a candidate."""

_KEYWORD_PREFIX = re.compile(
    r"(?i)(bsn|burgerservicenummer|sofi-?nummer|nif|n\.i\.f\.|contribuinte)"
    r"((?: nr\.?| no\.?| n\.?º| number| nummer)?:? ?)(.*)"
)
_SEP = re.compile(r"[ .\-]")


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _digits(s: str) -> list[int]:
    return [ord(c) - 48 for c in s]


# --- validators (compact input: separators already removed unless they carry meaning) --


def de_steuer_id_ok(s: str) -> bool:
    """DE Steuerliche Identifikationsnummer (§ 139b AO): 11 digits, ISO 7064 MOD 11,10."""
    if len(s) != 11 or not s.isdigit() or s[0] == "0":
        return False
    counts = [s[:10].count(d) for d in set(s[:10])]
    if sorted(c for c in counts if c > 1) not in ([2], [3]):
        return False
    product = 10
    for d in _digits(s[:10]):
        total = (d + product) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    return check == int(s[10])


def pl_pesel_ok(s: str) -> bool:
    """PL PESEL: YYMMDD with the century in the month (+20 for 2000s …), weights 1-3-7-9."""
    if len(s) != 11 or not s.isdigit():
        return False
    d = _digits(s)
    yy, mm, dd = int(s[:2]), int(s[2:4]), int(s[4:6])
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}.get(mm // 20)
    if century is None or not _valid_date(century + yy, mm % 20, dd):
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    return (10 - sum(w * x for w, x in zip(weights, d, strict=False)) % 10) % 10 == d[10]


def be_national_number_ok(s: str) -> bool:
    """BE Rijksregisternummer / numéro national: 97 - (YYMMDDSSS mod 97), 2000+ with a 2 prefix.

    Month 0 and day 0 occur (birth date unknown); BIS numbers add 20 or 40 to the month."""
    if len(s) != 11 or not s.isdigit():
        return False
    mm, dd = int(s[2:4]) % 20, int(s[4:6])
    if mm > 12 or dd > 31:
        return False
    body, check = int(s[:9]), int(s[9:])
    return check in (97 - body % 97, 97 - (2_000_000_000 + body) % 97)


def se_personnummer_ok(s: str) -> bool:
    """SE personnummer / samordningsnummer: YYMMDD[-+]NNNC (or with century), Luhn on 10 digits."""
    m = re.fullmatch(r"((?:1[89]|20)?)([0-9]{6})[\-+]?([0-9]{4})", s)
    if not m:
        return False
    ten = m.group(2) + m.group(3)
    yy, mm, dd = int(ten[:2]), int(ten[2:4]), int(ten[4:6])
    if dd > 60:
        dd -= 60  # samordningsnummer
    century = int(m.group(1)) * 100 if m.group(1) else 2000
    if not _valid_date(century + yy, mm, dd):
        return False
    total = 0
    for i, d in enumerate(_digits(ten)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
                 "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}  # fmt: skip


def fi_hetu_ok(s: str) -> bool:
    """FI henkilötunnus: DDMMYY, century sign, NNN, check character (DDMMYYNNN mod 31)."""
    m = re.fullmatch(r"([0-9]{6})([\-+A-FU-Y])([0-9]{3})([0-9A-Y])", s.upper())
    if not m:
        return False
    ddmmyy, sign, serial, check = m.groups()
    if not _valid_date(_HETU_CENTURY[sign] + int(ddmmyy[4:]), int(ddmmyy[2:4]), int(ddmmyy[:2])):
        return False
    return _HETU_CHECK[int(ddmmyy + serial) % 31] == check


def dk_cpr_ok(s: str) -> bool:
    """DK CPR-nummer DDMMYY-SSSS: a real date; without the dash also the (pre-2007) mod-11 test,
    since a bare 10-digit number is otherwise too often a date-shaped order number."""
    m = re.fullmatch(r"([0-9]{6})(-?)([0-9]{4})", s)
    if not m:
        return False
    ddmmyy, dash, serial = m.groups()
    dd, mm, yy = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    if not (_valid_date(1900 + yy, mm, dd) or _valid_date(2000 + yy, mm, dd)):
        return False
    if dash:
        return True
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    return sum(w * d for w, d in zip(weights, _digits(ddmmyy + serial), strict=True)) % 11 == 0


def at_sv_nummer_ok(s: str) -> bool:
    """AT Sozialversicherungsnummer SSSC DDMMYY: weights 3-7-9 (serial), 5-8-4-2-1-6 (date) mod 11."""
    s = s.replace(" ", "")
    if len(s) != 10 or not s.isdigit() or s[0] == "0":
        return False
    dd, mm = int(s[4:6]), int(s[6:8])
    if not (1 <= dd <= 31 and 1 <= mm <= 12):
        return False
    d = _digits(s)
    total = sum(w * x for w, x in zip((3, 7, 9, 0, 5, 8, 4, 2, 1, 6), d, strict=True))
    return total % 11 != 10 and total % 11 == d[3]


_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20,
                    11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23], strict=True))  # fmt: skip
_CF_OMOCODIA = str.maketrans("LMNPQRSTUV", "0123456789")
_CF_MONTHS = "ABCDEHLMPRST"


def it_codice_fiscale_ok(s: str) -> bool:
    """IT codice fiscale: surname/name letters, birth year, month letter, day (+40 for women),
    place code, and a check letter over the odd/even character tables."""
    s = s.upper()
    if not re.fullmatch(r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]", s):
        return False
    if s[8] not in _CF_MONTHS:
        return False
    day = int(s[9:11].translate(_CF_OMOCODIA))
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return False
    total = 0
    for i, ch in enumerate(s[:15]):
        if i % 2 == 0:  # 1st, 3rd, … character (odd positions, 1-based)
            total += _CF_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - 65
    return chr(65 + total % 26) == s[15]


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni_nie_ok(s: str) -> bool:
    """ES DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter): letter = number mod 23."""
    s = _SEP.sub("", s).upper()
    m = re.fullmatch(r"([XYZ]?)([0-9]{7,8})([A-Z])", s)
    if not m:
        return False
    prefix, number, letter = m.groups()
    if len(number) != (7 if prefix else 8):
        return False
    value = int(str("XYZ".index(prefix)) + number) if prefix else int(number)
    return _DNI_LETTERS[value % 23] == letter


def fr_nir_ok(s: str) -> bool:
    """FR NIR (numéro de sécurité sociale): sex, YY, MM, department, commune, order, key.

    key = 97 - (13 digits mod 97); Corsica's 2A / 2B count as 19 / 18 in the number."""
    s = s.replace(" ", "").upper()
    if len(s) != 15 or s[0] not in "12":
        return False
    body, key = s[:13], s[13:]
    if not key.isdigit():
        return False
    month = body[3:5]
    if not month.isdigit() or not (1 <= int(month) <= 12 or 20 <= int(month) <= 42 or int(month) >= 50):
        return False
    dept = body[5:7]
    if dept == "2A":
        number = int(body.replace("2A", "19", 1))
    elif dept == "2B":
        number = int(body.replace("2B", "18", 1))
    elif body.isdigit():
        number = int(body)
    else:
        return False
    return 97 - number % 97 == int(key)


def nl_bsn_ok(s: str) -> bool:
    """NL burgerservicenummer: 9 digits, 11-test (weights 9..2, the last digit -1)."""
    s = _SEP.sub("", s)
    if len(s) != 9 or not s.isdigit() or s == "000000000":
        return False
    d = _digits(s)
    return (sum(w * x for w, x in zip(range(9, 1, -1), d, strict=False)) - d[8]) % 11 == 0


def pt_nif_ok(s: str) -> bool:
    """PT número de identificação fiscal: 9 digits, known first digits, mod-11 check digit."""
    s = _SEP.sub("", s)
    if len(s) != 9 or not s.isdigit() or s[0] not in "1235689" and s[:2] not in ("45", "70", "71",
                                                                                "72", "74", "75",
                                                                                "77", "79", "90",
                                                                                "91", "98", "99"):
        return False
    d = _digits(s)
    rest = sum(w * x for w, x in zip(range(9, 1, -1), d, strict=False)) % 11
    return (0 if rest < 2 else 11 - rest) == d[8]


_VALIDATORS = {
    "DE": de_steuer_id_ok, "PL": pl_pesel_ok, "BE": be_national_number_ok, "SE": se_personnummer_ok,
    "FI": fi_hetu_ok, "DK": dk_cpr_ok, "AT": at_sv_nummer_ok, "IT": it_codice_fiscale_ok,
    "ES": es_dni_nie_ok, "FR": fr_nir_ok,
}  # fmt: skip
"""Validators that may run on any candidate (each rejects shapes it does not know)."""


def national_id_kind(candidate: str) -> str | None:
    """The country whose number ``candidate`` validly is, or None.

    A keyword candidate (``BSN 111222333``) is validated as BSN or NIF only."""
    m = _KEYWORD_PREFIX.fullmatch(candidate)
    if m:
        number = m.group(3)
        if nl_bsn_ok(number):
            return "NL"
        return "PT" if pt_nif_ok(number) else None
    if re.fullmatch(r"0[0-9]{9}", candidate):
        return None  # a bare 10-digit number with a trunk 0 is read as a phone number
    compact = candidate.replace(".", "") if re.fullmatch(r"[0-9. \-]+", candidate) else candidate
    variants = {candidate, compact, _SEP.sub("", candidate)}
    for kind, check in _VALIDATORS.items():
        if any(check(v) for v in variants):
            return kind
    return None


def redact_national_id(candidate: str, placeholder: str) -> str | None:
    """Redacted form of a candidate (a keyword before the number is kept), or None."""
    if national_id_kind(candidate) is None:
        return None
    m = _KEYWORD_PREFIX.fullmatch(candidate)
    return f"{m.group(1)}{m.group(2)}{placeholder}" if m else placeholder
