"""PII redaction with typed placeholders (DESIGN.md, corpus: ``filtered_corpus``).

Why typed placeholders: a model trained on the corpus should learn that "call me at
<PHONE>" is a sentence shape, without ever seeing the number; the privacy team can
count what was removed per type.

Terms

* **candidate**: a substring whose *shape* matches a type (regex, polars/Rust syntax).
* **validated**: a candidate that also passes the type's checksum: IBAN (ISO 13616
  mod-97 == 1, a registered country code and that country's length), CARD (Luhn,
  13–19 digits, a card-network IIN prefix), ID (the national number's check digit and,
  where it encodes one, a real birth date: ``curation.national_ids``) and IP (four parts
  <= 255, or a valid IPv6 address with two or more groups). Only validated candidates are
  replaced.
* **placeholder**: ``<EMAIL>`` ``<URL>`` ``<IBAN>`` ``<CARD>`` ``<ID>`` ``<IP>``
  ``<PHONE>`` ``<USER>``; no pattern can match a placeholder or any part of one, so
  redaction is idempotent.

Stages, in precedence order (an earlier stage wins on overlap, and each replaces a whole
span: one placeholder per span, never a remainder):

1. URL with a scheme (``https://``, ``http://``, ``ftp://``) or ``www.`` host, so
   ``https://a:b@host/`` or ``https://x.com/?to=a@b.de`` is one ``<URL>``; a ``www.``
   host right after ``@`` is an email's domain and is left to step 2;
2. EMAIL (``john.doe1989@gmail.com`` is one ``<EMAIL>``); Unicode domains (``пример.рф``,
   ``डाटा.भारत``) and IDNA A-labels (``xn--e1afmkfd.xn--p1ai``) are taken whole;
3. URL as a bare domain with a path (``example.com/x``, ``bit.ly/abc``); the top-level
   label must be all letters of one case, so decimals (``3.50/kg``) never match;
4. IBAN, CARD, ID, IP: candidates are extracted (an IBAN candidate is a registered country
   code and exactly that country's length, in groups of four with optional spaces or
   dashes; a card candidate is a run of 13+ digits with single space/dash separators; ID
   and IP candidates are the shapes of ``curation.national_ids.ID_CANDIDATE`` and of
   IPv4/IPv6, a version prefix ``v1.2.3.4`` included so it can be refused), the *unique*
   candidates are validated in Python (few per text), and only validated ones are
   replaced (a token join-back, exact per occurrence). An IBAN-shaped string is never
   re-read as a card, id or phone number, even when its checksum fails;
5. PHONE: ``+``/``00`` with a country code (also bracketed: ``(+31) 6 3719 2477``) and
   7–14 digits in all; a national trunk ``0``, also standing apart (``0 532 123 45 67``,
   ``0 (917) 123 4567``), followed by 8–12 digits separated by spaces/dashes, *or* by dots
   only, *or* an area code and ``/``, *or* ``(030)``; and the national groupings of
   countries without a trunk 0: North America ``(415) 555-0132`` / ``415-555-0132`` /
   ``415.555.0132``, IT mobiles and GR ``347 123 4567``, ES/PT/PL/CZ/LU ``612 345 678``,
   ES ``612 34 56 78``, PL ``12 345 67 89``, DK/NO ``22 34 56 78`` / ``412 34 567``,
   EE/MT ``5123 4567``, CY ``99 123456``, LT ``8 612 34567``. Look-alikes that a phone
   pattern could read are matched first at the same position and written back: an
   IBAN shape, an amount with its currency (``€ 123 456 789``), an ISBN
   (``0-306-40615-2``), card-like groups that failed the card rules. Dates
   (``01.04.2025 12:30``) fail because of too few digits or mixed separators;
6. USER: ``@`` + 2–30 of ``[A-Za-z0-9_.]``, containing a letter or ``_``, not ending
   in ``.``, not preceded by a word character (that would be an email local part).

Common pitfalls

* The patterns are Rust-regex syntax (no look-around), not Python ``re``; neighbour
  conditions are expressed by capturing the preceding character and writing it back.
  ``\<`` is a word-start assertion in Rust regex, not a literal ``<``.
* ``find_pii`` is defined as "the rows ``redact_pii`` would change", so the blocking
  check and the redaction can never disagree about what is PII.

Formats deliberately not caught (documented limits): bare domains without a path
(``example.com``), national numbers without a trunk ``0`` in groupings other than the
ones above (IS ``612 3456``, LV ``2123 4567``, LI ``234 56 78``: written with their
country code they are caught), very short trunk-0 numbers (Vienna ``01 5344 0``), national
numbers mixing ``.`` or ``/`` with other separators, all-digit handles (``@2020``),
handles longer than 30 characters, IBANs of countries outside the SWIFT registry, cards
with a non-network prefix (0, 1, 7, 8, 9, 20–22, 27–29) or an unusual grouping (first
group not 4 digits, or a middle group outside 4–6 digits), ``::1``-style IPv6 with one
group, NL BSN and PT NIF without a keyword before them (a bare 9-digit number passes
their checks one time in six), national ids inside a run of digit groups that also holds
a card number.
A phone number directly followed by a short number may absorb it (``+49 30 1234567
20`` is one ``<PHONE>``). Over-redaction that is accepted: other Luhn-valid numbers
with a card prefix (IMEIs, some EAN-13 barcodes, a window of a long tracking number)
become ``<CARD>``; any number with the national trunk-0 shape (``0532013000``) becomes
``<PHONE>``; a four-part version number without a ``v``/``version`` prefix
(``1.2.3.4``) is an ``<IP>``; a 10- or 11-digit number that happens to pass a national
check (date and check digit, about 1 in 100 random numbers) becomes ``<ID>``.
Measured rates: bench/PII.md.
"""

from __future__ import annotations

import ipaddress
import re

import polars as pl

from curation.national_ids import ID_CANDIDATE, redact_national_id

PII_TYPES: tuple[str, ...] = ("EMAIL", "URL", "IBAN", "CARD", "ID", "IP", "PHONE", "USER")
"""Placeholder types, in precedence order."""

PLACEHOLDERS: dict[str, str] = {t: f"<{t}>" for t in PII_TYPES}

# --- patterns (Rust regex syntax, as polars uses) ------------------------------------

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip
"""IBAN length per country, from the SWIFT IBAN registry (ISO 13616)."""


_URL_TAIL = r"""[^\s<>"'`]*[^\s<>"'`.,;:!?)\]}]"""  # a URL never ends in punctuation
_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}\-]*[\p{L}\p{M}\p{N}])?"  # marks: डाटा.भारत

_SCHEME_URL = rf"(?i:(?:https?|ftp)://){_URL_TAIL}"
_WWW_URL = (
    r"(^|[^\w@.\-])"  # 1: not an email's domain, not inside a longer host
    r"(?i:www)\.[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+(?::[0-9]{1,5})?"
    rf"(?:[/?#](?:{_URL_TAIL})?)?"
)
_BARE_URL = (
    r"(^|[^\w@.\-/:])"  # 1
    rf"{_LABEL}(?:\.{_LABEL})*\.(?:[a-z]{{2,24}}|[A-Z]{{2,24}})/(?:{_URL_TAIL})?"
)
# The top-level label is letters (Unicode: ".рф") or an IDNA A-label (".xn--p1ai"), taken whole.
_EMAIL = (
    rf"[\w%+\-][\w.%+\-]*@{_LABEL}(?:\.{_LABEL})*"
    r"\.(?:(?i:xn--)[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?|\p{L}[\p{L}\p{M}]{1,23})"
)


def _iban_candidate_pattern() -> str:
    """One alternative per IBAN length: the registered country codes of that length,
    then exactly that many characters in groups of four (spaces optional).

    Exact lengths keep a following card number or word out of the candidate
    ("BE68 5390 0754 7034 4111 1111 1111 1111" is an IBAN, then a card)."""
    by_length: dict[int, list[str]] = {}
    for country, length in sorted(IBAN_LENGTHS.items()):
        by_length.setdefault(length, []).append(country)
    alternatives = []
    for length, countries in sorted(by_length.items()):
        groups, tail = divmod(length - 4, 4)
        body = f"(?:[ \\-]?[A-Za-z0-9]{{4}}){{{groups}}}" + (f"[ \\-]?[A-Za-z0-9]{{{tail}}}" if tail else "")
        alternatives.append(f"(?:{'|'.join(countries)})[0-9]{{2}}{body}")
    return rf"(?-u:\b)(?i:{'|'.join(alternatives)})(?-u:\b)"


_IBAN_CANDIDATE = _iban_candidate_pattern()
# Anything IBAN-like (any two letters, wrong length): never a card or phone number.
_IBAN_SHAPE_PATTERN = (
    r"(?-u:\b)[A-Za-z]{2}[0-9]{2}(?:[ \-]?[A-Za-z0-9]{4}){2,7}(?:[ \-]?[A-Za-z0-9]{1,3})?(?-u:\b)"
)
# A whole run of digits with single space/dash separators; the card is found inside
# it in Python. A leading "+" is taken along so that "+49 …" can be rejected (a phone).
_CARD_CANDIDATE = r"\+?(?-u:\b)[0-9](?:[ \-]?[0-9]){12,}(?-u:\b)"
# IP addresses: a version prefix ("v1.2.3.4", "version 10.0.0.1") and a fifth dotted part are
# taken into the candidate so that validation can refuse them; IPv6 needs 3+ groups.
_IPV4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
_IP_CANDIDATE = (
    r"(?-u:\b)(?:(?i:v|ver\.? ?|version ))?"
    rf"(?:{_IPV4}(?:\.[0-9]+)*"
    r"|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}(?:%[0-9A-Za-z]{1,15})?)"
    r"(?-u:\b)"
    # IPv6 that starts with "::" (::ffff:192.0.2.128): the token splitter keeps ":" apart
    r"|::[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){0,6}(?:\.[0-9]{1,3}){0,3}(?-u:\b)"
)
_NUMBER_CANDIDATE = (
    f"{_IBAN_CANDIDATE}|{_IBAN_SHAPE_PATTERN}|{_CARD_CANDIDATE}|{ID_CANDIDATE}|{_IP_CANDIDATE}"
)
# Splits a text into tokens whose concatenation is the text, where every number
# candidate is exactly one token (candidates start at an ASCII word start, "+" or "::").
_TOKEN = rf"{_NUMBER_CANDIDATE}|[A-Za-z0-9_]+|[^A-Za-z0-9_+:]+|\+|:"

_PHONE_PREFIX = r"(^|[^\w+.,/\-])"  # 1: not glued to a word, a decimal, a date or a dashed id
_PHONE_INTL = (
    r"(?:\+|00)[1-9](?:[ \-./]?(?:\([0-9]{1,5}\)|[0-9])){5,12}[ \-./]?[0-9]"
    # a country code in brackets: (+31) 6 3719 2477, (0049) 30 1234567
    r"|\((?:\+|00)[1-9][0-9]{0,2}\)(?:[ \-./]?(?:\([0-9]{1,5}\)|[0-9])){5,12}[ \-./]?[0-9]"
)
_PHONE_NATIONAL = (
    r"0 ?[1-9](?:(?: ?- ?| )?[0-9]){7,11}"  # 030 1234567, 0 532 123 45 67, 06 12 34 56 78
    r"|0[1-9](?:\.?[0-9]){7,11}"  # 06.12.34.56.78
    r"|0[1-9][0-9]{1,3} ?/ ?[0-9](?:[ \-]?[0-9]){4,10}"  # 030/1234567, not 04/2025
    r"|(?:\(0|0 ?\()[1-9][0-9]{0,3}\) ?[\- ]?[0-9](?:[ \-]?[0-9]){4,10}"  # (030) 123, 0 (917) 123 4567
    # national numbers without a trunk 0 (the grouping people write them in):
    r"|(?:1[ \-.])?\([2-9][0-9]{2}\) ?[0-9]{3}[\-. ][0-9]{4}"  # North America (415) 555-0132
    r"|(?:1[ \-.])?[2-9][0-9]{2}(?:-[0-9]{3}-|\.[0-9]{3}\.| [0-9]{3} )[0-9]{4}"  # 415-555-0132; IT
    # mobile 347 123 4567, GR 210 123 4567
    r"|[2-9][0-9]{2}(?: [0-9]{3} |-[0-9]{3}-)[0-9]{3}"  # ES, PT, PL, CZ, LU: 612 345 678
    r"|[6-9][0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}"  # ES 612 34 56 78
    r"|[1-9][0-9] [0-9]{3} [0-9]{2} [0-9]{2}"  # PL landline 12 345 67 89
    r"|[2-9][0-9] [0-9]{2} [0-9]{2} [0-9]{2}"  # DK, NO 12 34 56 78
    r"|[49][0-9]{2} [0-9]{2} [0-9]{3}"  # NO mobile 412 34 567
    r"|[579][0-9]{3} [0-9]{4}"  # EE 5123 4567, MT 7912 3456, CY 9912 3456
    r"|8 [1-9][0-9]{2} [0-9]{5}"  # LT trunk 8: 8 612 34567
    r"|9[4-9] [0-9]{6}"  # CY mobile 99 123456
)
_PHONE = rf"{_PHONE_PREFIX}(?:{_PHONE_INTL}|{_PHONE_NATIONAL})(?-u:\b)"

_USER = (
    r"(^|[^\w.@+\-])@"  # 1: an "@" after a word character is an email's
    r"(?:[A-Za-z_][A-Za-z0-9_.]{0,28}[A-Za-z0-9_]"
    r"|[0-9]{1,28}[A-Za-z_](?:[A-Za-z0-9_.]{0,27}[A-Za-z0-9_])?)(?-u:\b)"
)

PII_PATTERNS: dict[str, str] = {
    "EMAIL": _EMAIL,
    "URL": f"{_SCHEME_URL}|{_WWW_URL}|{_BARE_URL}",
    "IBAN": _IBAN_CANDIDATE,
    "CARD": _CARD_CANDIDATE,
    "ID": ID_CANDIDATE,
    "IP": _IP_CANDIDATE,
    "PHONE": _PHONE,
    "USER": _USER,
}
"""Shape of each type (polars/Rust regex). IBAN, CARD, ID and IP are *candidate* patterns:
a match is redacted only when ``iban_ok`` / the card rules (``luhn_ok``) /
``national_id_kind`` / ``ip_ok`` accept it."""

# Cheap row filter: a row with none of these cannot hold any type above.
_PREFILTER = (
    r"@|://|(?i:www\.)|\.\p{L}{2,24}/"
    r"|(?-u:\b)[A-Za-z]{2}[0-9]{2} ?[A-Za-z0-9]{4}"
    r"|[0-9](?:[ \-./()]{0,2}[0-9]){6}"
    r"|[0-9]\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:"  # IPv4, IPv6
    r"|(?-u:\b)[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"  # codice fiscale
)

# --- validation ----------------------------------------------------------------------

_IBAN_COMPACT = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", re.ASCII)
_SEPARATORS = re.compile(r"[ \-]")


def mod97_ok(s: str) -> bool:
    """ISO 13616 / ISO 7064 check: the IBAN, rotated and read as a number, is 1 mod 97."""
    compact = _SEPARATORS.sub("", s).upper()
    if not _IBAN_COMPACT.fullmatch(compact):
        return False
    rotated = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rotated)) % 97 == 1


def iban_ok(s: str) -> bool:
    """A redactable IBAN: registered country, that country's length, and mod-97."""
    compact = _SEPARATORS.sub("", s).upper()
    return IBAN_LENGTHS.get(compact[:2]) == len(compact) and mod97_ok(compact)


def luhn_ok(s: str) -> bool:
    """Luhn (mod-10) check over the digits; spaces and dashes are ignored."""
    digits = _SEPARATORS.sub("", s)
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_network_prefix(digits: str) -> bool:
    """IIN ranges of card networks (Visa, Mastercard, Amex, Diners, JCB, Discover,
    UnionPay, Maestro); cuts false positives from Luhn-valid ids and barcodes by half."""
    first = digits[0]
    if first in "3456":
        return True
    return first == "2" and 2221 <= int(digits[:4]) <= 2720


def card_ok(s: str) -> bool:
    """A redactable card number: 13–19 digits, a network prefix and a valid Luhn sum."""
    digits = _SEPARATORS.sub("", s)
    return 13 <= len(digits) <= 19 and _card_network_prefix(digits) and luhn_ok(digits)


def _card_grouping(groups: list[str]) -> bool:
    """Printed card numbers are one block, or start with a 4-digit group followed by
    groups of 4–6 and a last group of any size (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-1 …).

    Dates, lists of small numbers, an order id next to a card, and "0049 30 …" phones
    are not card groupings."""
    if len(groups) == 1:
        return True
    return len(groups[0]) == 4 and all(4 <= len(g) <= 6 for g in groups[1:-1])


def _card_shaped_end(groups: list[str], start: int) -> int | None:
    """The last group of the longest card-shaped window (13-19 digits, a card grouping) at `start`."""
    total, end = 0, None
    for j in range(start, len(groups)):
        total += len(groups[j])
        if total > 19:
            break
        if total >= 13 and _card_grouping(groups[start : j + 1]):
            end = j
    return end


def _resolve_card(candidate: str) -> str | None:
    """Redact every card number inside a run of separated digit groups.

    A card is a window of whole groups with a card grouping that passes card_ok;
    windows are tried leftmost first, longest at that start. A card starts the run or
    follows another card: 16 digits inside a longer number (a USPS tracking number,
    ``9400 1118 9922 3397 4567 89``) are not one; digits after a card (a CVV) may follow, and
    a card may follow a card-shaped number that fails the checks (a mistyped card)."""
    if candidate.startswith("+"):
        return None  # "+49 …" is a phone number's country code
    pieces = re.split(r"([ \-])", candidate)
    groups, seps = pieces[0::2], pieces[1::2]
    out: list[str] = []
    i, changed = 0, False
    while i < len(groups):
        hit = None
        total = 0
        for j in range(i, len(groups)):
            total += len(groups[j])
            if total > 19:
                break
            window = groups[i : j + 1]
            if total >= 13 and _card_grouping(window) and card_ok("".join(window)):
                hit = j
        if hit is None:
            shaped = _card_shaped_end(groups, i)
            if shaped is None:  # a number that is no card: what follows is part of it
                break
            for k in range(i, shaped + 1):  # a card-shaped number that failed (a typo): go on after it
                out.append(groups[k])
                if k < len(seps):
                    out.append(seps[k])
            i = shaped + 1
            continue
        out.append(PLACEHOLDERS["CARD"])
        if hit < len(seps):
            out.append(seps[hit])
        i, changed = hit + 1, True
    if not changed:
        return None
    rest = [piece for k in range(i, len(groups)) for piece in (groups[k], seps[k] if k < len(seps) else "")]
    return "".join(out + rest)


def ip_ok(candidate: str) -> bool:
    """A redactable IP address: IPv4 of exactly four parts each <= 255, or IPv6 with at least
    two non-empty groups (``::1`` and ``::`` carry no person); never a version number."""
    if re.match(r"(?i)v(?:er\.? ?|ersion )?[0-9]", candidate):
        return False  # v1.2.3.4, version 10.0.0.1
    value = candidate.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if address.version == 6:
        return sum(1 for g in value.split(":") if g) >= 2
    return True


_IP_LIKE = re.compile(r"(?i)(?:v|ver\.? ?|version )?[0-9a-f:.]+(?:%[0-9a-z]+)?")
_IBAN_LIKE = re.compile(r"[A-Za-z]{2}[0-9]{2}(?:[ \-]?[A-Za-z0-9]){4,}")


def _resolve_number(candidate: str) -> str | None:
    """Redacted form of an IBAN, card, national id or IP candidate, or None to leave it.

    An IBAN-shaped candidate is only ever an IBAN (never re-read as an id or card); a run
    of digit groups holding no card may be a national number (``1 84 12 76 451 089 46``)."""
    if _IBAN_LIKE.fullmatch(candidate):
        return PLACEHOLDERS["IBAN"] if iban_ok(candidate) else None
    if _IP_LIKE.fullmatch(candidate) and (":" in candidate or candidate.count(".") >= 3):
        return PLACEHOLDERS["IP"] if ip_ok(candidate) else None
    card = _resolve_card(candidate) if re.fullmatch(r"\+?[0-9][0-9 \-]*", candidate) else None
    if card is not None:
        return card
    return redact_national_id(candidate, PLACEHOLDERS["ID"])


# --- redaction -----------------------------------------------------------------------


def _redact_numbers(texts: pl.Series) -> pl.Series:
    """IBAN then CARD: validate unique candidates in Python, replace via token join-back.

    Only rows holding a validated candidate are tokenised; the tokens concatenate to
    the text and every candidate is one token, so each occurrence is replaced exactly
    where the candidate pattern found it."""
    candidates = texts.str.extract_all(_NUMBER_CANDIDATE)
    unique = candidates.explode().drop_nulls().unique().to_list()
    mapping = {c: r for c in unique if (r := _resolve_number(c)) is not None}
    if not mapping:
        return texts
    keys = pl.Series(list(mapping), dtype=pl.String)
    hit = candidates.list.eval(pl.element().is_in(keys)).list.any().fill_null(False)
    tokens = texts.filter(hit).str.extract_all(_TOKEN)
    rebuilt = tokens.list.eval(pl.element().replace(mapping)).list.join("")
    return texts.clone().scatter(hit.arg_true(), rebuilt)


# PHONE must not read the digit groups of an IBAN-shaped string that failed validation
# ("DE89 3704 0044 …" would hold "0044 0532 …"). Leftmost-first, the IBAN shape is
# matched first and put back unchanged; a phone is wrapped in two noncharacters (meant
# for process-internal use) and then replaced. Rows that already hold either
# noncharacter fall back to the plain phone pattern.
_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
# Look-alikes a phone pattern could read: an amount with its currency (€ 123 456 789),
# an ISBN. Like the IBAN shape, they are matched first and written back unchanged.
_CURRENCY = r"(?:[€$£¥₺]|(?i:eur|usd|gbp|chf|pln|zł|kr|kč|czk|sek|nok|dkk|huf|ft|tl|try|lei|ron)(?-u:\b))"
_AMOUNT = r"[0-9]{1,3}(?:[ \u00a0\u202f.,'’][0-9]{3})*(?:[.,][0-9]{1,2})?"
# A look-alike that starts where a phone could start competes at the same position (it
# carries the phone's prefix) and, listed first, wins.
_LOOK_ALIKE = (
    rf"{_IBAN_SHAPE_PATTERN}"
    rf"|{_CURRENCY} ?{_AMOUNT}"
    r"|(?:^|[^\w+.,/\-])(?:"  # the phone prefix, not captured
    rf"{_AMOUNT} ?{_CURRENCY}"
    r"|(?:(?i:isbn(?:-1[03])?:? ?)[0-9][0-9\- ]{8,16}[0-9Xx]"
    r"|97[89][\- ][0-9]{1,5}[\- ][0-9]{1,7}[\- ][0-9]{1,7}[\- ][0-9]"
    r"|[0-9]{1,5}-[0-9]{1,7}-[0-9]{1,6}-[0-9Xx]"  # ISBN-10 0-306-40615-2
    r"|[0-9]{4}(?:[ \-][0-9]{4}){3,}"  # card-like groups that failed the card rules
    # 12-13 digits in one piece after a 0: a parcel or order number, unless a DE mobile (015…)
    r"|0(?:[02-9][0-9]|1[0-489])[0-9]{9,10}"
    r")(?-u:\b))"
)
_PHONE_OR_IBAN_SHAPE = (
    rf"({_LOOK_ALIKE})|{_PHONE_PREFIX}({_PHONE_INTL}|{_PHONE_NATIONAL})(?-u:\b)"
)


def _redact_stages(texts: pl.Series) -> pl.Series:
    """All stages in precedence order, on rows that passed the prefilter."""
    frame = texts.to_frame("t").with_columns(
        pl.col("t")
        .str.replace_all(f"{_SCHEME_URL}|{_WWW_URL}", "${1}<URL>")
        .str.replace_all(_EMAIL, "<EMAIL>")
        .str.replace_all(_BARE_URL, "${1}<URL>")
    )
    numbers = _redact_numbers(frame["t"])
    text = pl.col("t")
    marked = (
        text.str.replace_all(_PHONE_OR_IBAN_SHAPE, f"${{1}}${{2}}{_OPEN}${{3}}{_CLOSE}")
        .str.replace_all(f"{_OPEN}{_CLOSE}", "", literal=True)
        .str.replace_all(f"{_OPEN}[^{_CLOSE}]+{_CLOSE}", "<PHONE>")
    )
    phones = (
        pl.when(text.str.contains(f"[{_OPEN}{_CLOSE}]"))
        .then(text.str.replace_all(_PHONE, "${1}<PHONE>"))
        .otherwise(marked)
    )
    out = numbers.to_frame("t").select(phones)["t"]
    # A handle glued to the previous one ("@a@b") only qualifies once that one is a
    # placeholder; repeat until stable so that redaction is idempotent. Each pass replaces
    # at least one "@", so this ends.
    while True:
        again = out.str.replace_all(_USER, "${1}<USER>")
        if again.equals(out):
            return out
        out = again


def _placeholder_counts(texts: pl.Series) -> pl.DataFrame:
    return texts.to_frame("t").select(
        pl.col("t").str.count_matches(ph, literal=True).fill_null(0).alias(t)
        for t, ph in PLACEHOLDERS.items()
    )


def _redact_series(texts: pl.Series) -> tuple[pl.Series, pl.Series, pl.DataFrame]:
    """Redacted texts, the row numbers that changed, and their per-type counts."""
    rows = texts.str.contains(_PREFILTER).fill_null(False).arg_true()
    before = texts.gather(rows)
    after = _redact_stages(before)
    changed = (before != after).fill_null(False)
    counts = (_placeholder_counts(after) - _placeholder_counts(before)).filter(changed)
    changed_rows = rows.filter(changed)
    redacted = texts.clone().scatter(changed_rows, after.filter(changed))
    return redacted, changed_rows, counts


def redact_pii(frame: pl.DataFrame, column: str = "text") -> tuple[pl.DataFrame, dict[str, int]]:
    """Replace PII in ``column`` with typed placeholders; counts are per type, summed."""
    redacted, _, counts = _redact_series(frame[column].cast(pl.String))
    totals = {t: int(counts[t].sum()) for t in PII_TYPES}
    return frame.with_columns(redacted.alias(column)), totals


def find_pii(frame: pl.DataFrame, column: str = "text") -> pl.DataFrame:
    """Rows that still hold validated PII, with ``pii_types`` (list of types found).

    Empty on any output of ``redact_pii``; a blocking check uses it as proof."""
    _, rows, counts = _redact_series(frame[column].cast(pl.String))
    types = counts.select(
        pl.concat_list(
            pl.when(pl.col(t) > 0).then(pl.lit(t)).otherwise(pl.lit(None, pl.String))
            for t in PII_TYPES
        )
        .list.drop_nulls()
        .alias("pii_types")
    )["pii_types"]
    return frame[rows].with_columns(types)
