"""Local-knowledge tagger: matches and non-matches per type and language, ambiguity rules,
word boundaries, case, empty input, the output schema, the data files, and the
judged-sample machinery of bench/eval_local_knowledge.py on a fake sample.

The sentences are made up here (none comes from eval-data). Precision needs the hand
labels in the bench script and is reported in bench/LOCAL_KNOWLEDGE.md, not floored here;
nothing is timed here either.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.local_knowledge import (
    AMBIGUITY_FILE,
    CULTURE_FILE,
    ENTITY_TYPES,
    OUTPUT_SCHEMA,
    PLACES_FILE,
    RULES,
    Entry,
    GazetteerConfig,
    ambiguity_rows,
    build_gazetteer,
    curated_rows,
    default_gazetteer,
    fold,
    looks_german,
    match_texts,
    tag_local_knowledge,
)

BENCH = Path(__file__).resolve().parents[1] / "bench" / "eval_local_knowledge.py"


def tags(text: str | None) -> set[tuple[str, str, str]]:
    return {(m.entity, m.type, m.country) for m in match_texts([text])[0]}


# --- matches per type and language ---------------------------------------------------------

MATCHES = [
    # cities, in the local language and in exonyms
    ("Wir fahren nach München", ("Munich", "city", "DE")),
    ("Je vis à Lyon depuis deux ans", ("Lyon", "city", "FR")),
    ("Mangiamo la pizza a Napoli", ("Naples", "city", "IT")),
    ("Vamos a la Feria de Abril en Sevilla", ("Sevilla", "city", "ES")),
    ("Ik woon in Rotterdam", ("Rotterdam", "city", "NL")),
    ("Moro em Lisboa", ("Lisbon", "city", "PT")),
    ("Jag bor i Göteborg", ("Gothenburg", "city", "SE")),
    ("Kraków to piękne miasto", ("Kraków", "city", "PL")),
    ("I'm flying to Dublin tomorrow", ("Dublin", "city", "IE")),
    ("Greetings from Wien", ("Vienna", "city", "AT")),
    ("Zürich ist teuer", ("Zürich", "city", "CH")),
    ("Bruxelles est belle", ("Brussels", "city", "BE")),
    ("Cologne Cathedral? No, I mean the city of Köln", ("Köln", "city", "DE")),
    ("Ich war in Frankfurt am Main", ("Frankfurt am Main", "city", "DE")),
    # regions
    ("Urlaub in Bayern", ("Bavaria", "region", "DE")),
    ("Vacanze in Toscana", ("Tuscany", "region", "IT")),
    ("We drove through Flanders", ("Flanders", "region", "BE")),
    ("Ik kom uit Friesland", ("Fryslân", "region", "NL")),
    ("Wir wandern in Tirol", ("Tirol", "region", "AT")),
    ("Vacaciones en Andalucía", ("Andalusia", "region", "ES")),
    # dishes
    ("Ich esse eine Currywurst", ("Currywurst", "dish", "DE")),
    ("Un plato de paella, por favor", ("Paella", "dish", "ES")),
    ("Fish and chips on the pier", ("Fish and chips", "dish", "GB")),
    ("Ein Stück Sachertorte", ("Sachertorte", "dish", "AT")),
    ("Dois pastéis de nata", ("Pastel de nata", "dish", "PT")),
    ("Köttbullar med lingon", ("Köttbullar", "dish", "SE")),
    # festivals
    ("Nächste Woche ist Oktoberfest", ("Oktoberfest", "festival", "DE")),
    ("The St Patrick's Day parade", ("Saint Patrick's Day", "festival", "IE")),
    ("On danse pour la Fête de la Musique", ("Fête de la Musique", "festival", "FR")),
    ("Koningsdag in het oranje", ("Koningsdag", "festival", "NL")),
    ("Vamos a la Feria de Abril", ("Feria de Abril", "festival", "ES")),
    # customs
    ("Zeit für eine Fika", ("Fika", "custom", "SE")),
    ("Der Krampuslauf war laut", ("Krampuslauf", "custom", "AT")),
    ("Una siesta larga", ("Siesta", "custom", "ES")),
    # sports clubs
    ("Derby between Celtic and Rangers", ("Celtic FC", "sports_club", "GB")),
    ("Derby between Celtic and Rangers", ("Rangers FC", "sports_club", "GB")),
    ("Forza Juve", ("Juventus", "sports_club", "IT")),
    ("Der BVB gewinnt", ("Borussia Dortmund", "sports_club", "DE")),
    ("Ajax speelt morgen", ("AFC Ajax", "sports_club", "NL")),
    ("Real Madrid ganó", ("Real Madrid", "sports_club", "ES")),
    # landmarks
    ("We climbed the Eiffel Tower", ("Tour Eiffel", "landmark", "FR")),
    ("Treffen am Brandenburger Tor", ("Brandenburger Tor", "landmark", "DE")),
    ("La Sagrada Família no está terminada", ("Sagrada Família", "landmark", "ES")),
    ("Visitiamo il Colosseo", ("Colosseo", "landmark", "IT")),
    # institutions
    ("Die ÖBB hat wieder Verspätung", ("ÖBB", "institution", "AT")),
    ("Call the NHS", ("NHS", "institution", "GB")),
    ("La SNCF est en grève", ("SNCF", "institution", "FR")),
    ("De Tweede Kamer stemt", ("Tweede Kamer", "institution", "NL")),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES)
def test_matches(text: str, expected: tuple[str, str, str]) -> None:
    assert expected in tags(text)


def test_every_entity_type_is_covered_by_a_match_test() -> None:
    assert {e[1] for _, e in MATCHES} == set(ENTITY_TYPES)


# --- ambiguous names ----------------------------------------------------------------------

NO_PLACE = [
    "I had a bath",
    "that's nice",
    "Nice to meet you",
    "wir essen zusammen",
    "Das Essen war gut",
    "Essen ist fertig",
    "Reading is fun",
    "Let's split the bill",
    "Split the bill",
    "Como estas?",
    "everything is on sale",
    "Percy Jackson and the Olympians",
    "It has a mobile app",
    "Ich liege im Bett",
    "La presa del río",
    "Corona ist überall",
    "Thank you Tracy!",
]


@pytest.mark.parametrize("text", NO_PLACE)
def test_ambiguous_names_need_context(text: str) -> None:
    assert not {t for t in tags(text) if t[1] in ("city", "region")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wir fahren nach Essen", ("Essen", "city", "DE")),
        ("Ich wohne in Essen", ("Essen", "city", "DE")),
        ("The weather in Nice was great", ("Nice", "city", "FR")),
        ("I really love Nice in spring", ("Nice", "city", "FR")),
        ("I live in Reading", ("Reading", "city", "GB")),
        ("We sailed to Split", ("Split", "city", "HR")),
        ("A weekend in Bath", ("Bath", "city", "GB")),
        ("Un week-end à Nice", ("Nice", "city", "FR")),
    ],
)
def test_ambiguous_names_with_context(text: str, expected: tuple[str, str, str]) -> None:
    assert expected in tags(text)


def test_sentence_start_and_neighbours() -> None:
    assert not tags("Nice. That was nice.")
    assert not tags("Bath Spa University is on a hill")  # capitalised neighbour
    assert ("Celtic FC", "sports_club", "GB") not in tags("I love Celtic Tiger economics")


def test_german_text_needs_a_cue_for_capital_names() -> None:
    # "Hook" (a music term in German) is a small English town: never; "Nice" as a German
    # loanword is capitalised in German sentences only after a cue.
    assert not tags("Die Hook ist gut und nicht zu lang")
    assert ("Nice", "city", "FR") in tags("Wir sind nach Nice gefahren und es war schön")
    assert looks_german("das ist nicht schlecht und auch gut")
    assert not looks_german("this is not bad and also good")


def test_blockers_swallow_foreign_places() -> None:
    assert not tags("Vivo en Córdoba, Argentina")  # Córdoba AR is far larger than ours
    assert not tags("Ik woon in Nederland")  # a country, not Nederland, Colorado
    assert not tags("Estudo em Porto Alegre")  # not Porto
    assert not tags("New England Journal of Medicine")  # not England
    assert not tags("I live in Perth")


def test_city_after_a_masculine_article_is_a_club() -> None:
    assert not tags("No le dan crédito al Barcelona")
    assert not tags("il Napoli ha vinto")
    assert ("Naples", "city", "IT") in tags("vivo a Napoli")


def test_curated_entries_win_and_longest_match_wins() -> None:
    assert tags("I love Reading Festival") == {("Reading and Leeds Festivals", "festival", "GB")}
    assert ("Tour de France", "festival", "FR") in tags("Le Tour de France arrive")
    assert ("France", "city", "FR") not in tags("Le Tour de France arrive")


# --- word boundaries and case -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Barista", set()),
        ("Barista in Bari", {("Bari", "city", "IT")}),
        ("Berlin's best bars", {("Berlin", "city", "DE")}),
        ("@napoli follow me", set()),
        ("visit napoli.it now", set()),
        ("Milano2024", set()),
        ("Amsterdam-West", {("Amsterdam", "city", "NL")}),
        ("#Napoli", {("Naples", "city", "IT")}),
    ],
)
def test_word_boundaries(text: str, expected: set[tuple[str, str, str]]) -> None:
    assert tags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("going to münchen", {("Munich", "city", "DE")}),  # big city: any case
        ("Going to MÜNCHEN", {("Munich", "city", "DE")}),
        ("siamo carini", set()),  # small town: needs a capital ("carini" = cute)
        ("Vivo in Carini", {("Carini", "city", "IT")}),
        ("NICE!!!", set()),  # shouting is not naming
        ("BARI", set()),  # short capitals are acronyms
        ("nhs", set()),  # acronyms only in capitals
        ("NHS", {("NHS", "institution", "GB")}),
        ("Zurich", {("Zürich", "city", "CH")}),  # accents optional
        ("Muenchen", {("Munich", "city", "DE")}),  # ue for ü
        ("Gießen und Giessen", {("Gießen", "city", "DE")}),  # ß as ss
    ],
)
def test_case_and_spelling(text: str, expected: set[tuple[str, str, str]]) -> None:
    assert tags(text) == expected


@given(st.text(max_size=60))
def test_fold_keeps_offsets(text: str) -> None:
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == folded.lower() or any(len(ch.lower()) != 1 for ch in text)


# --- the frame API ------------------------------------------------------------------------


def test_empty_and_null_text_and_schema() -> None:
    frame = pl.DataFrame(
        {"id": [1, 2, 3, 4], "text": [None, "", "   ", "Von München nach Wien und Berlin"]},
        schema={"id": pl.Int64, "text": pl.String},
    )
    out = tag_local_knowledge(frame)
    assert out.columns == ["id", "text", "local_entities", "local_countries"]
    assert out.schema["local_entities"] == OUTPUT_SCHEMA["local_entities"]
    assert out.schema["local_countries"] == OUTPUT_SCHEMA["local_countries"]
    assert out["local_entities"].to_list()[:3] == [[], [], []]
    assert out["local_countries"].to_list()[:3] == [[], [], []]
    assert out["local_entities"][3].to_list() == [
        {"entity": "Munich", "type": "city", "country": "DE"},
        {"entity": "Vienna", "type": "city", "country": "AT"},
        {"entity": "Berlin", "type": "city", "country": "DE"},
    ]
    assert out["local_countries"][3].to_list() == ["DE", "AT"]


def test_other_column_and_empty_frame() -> None:
    frame = pl.DataFrame({"body": ["Paris, Paris, Paris"]})
    out = tag_local_knowledge(frame, column="body")
    assert out["local_entities"][0].to_list() == [{"entity": "Paris", "type": "city", "country": "FR"}]
    empty = tag_local_knowledge(pl.DataFrame({"text": []}, schema={"text": pl.String}))
    assert empty.height == 0 and empty.schema["local_entities"] == OUTPUT_SCHEMA["local_entities"]


def test_config_limits_countries() -> None:
    config = GazetteerConfig(countries=frozenset({"DE"}), include_regions=False)
    gaz = build_gazetteer(config)
    found = {(m.entity, m.country) for m in match_texts(["Berlin und Lyon"], gaz)[0]}
    assert ("Berlin", "DE") in found
    assert ("Lyon", "FR") in found  # curated exonym rows stay; the gazetteer is DE-only
    found = {m.entity for m in match_texts(["Wir waren in Bochum und Tarragona"], gaz)[0]}
    assert found == {"Bochum"}


# --- data files ---------------------------------------------------------------------------


def test_culture_file_has_thirty_entries_for_twelve_countries() -> None:
    rows = curated_rows(CULTURE_FILE)
    per_country = Counter(r["country"] for r in rows)
    assert sum(1 for n in per_country.values() if n >= 30) >= 12
    assert {r["type"] for r in rows} == set(ENTITY_TYPES) - {"city", "region"}
    assert all(r["source"] for r in rows)
    keys = [(r["entity"], r["type"], r["country"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_places_and_ambiguity_files_are_valid() -> None:
    assert {r["type"] for r in curated_rows(PLACES_FILE)} <= {"city", "region"}
    rows = ambiguity_rows(AMBIGUITY_FILE)
    assert {r["rule"] for r in rows} <= set(RULES)
    assert len({r["name"] for r in rows}) == len(rows)
    manual = [r for r in rows if not r["reason"].startswith("auto: ")]
    assert any(r["name"] == "essen" and r["rule"] == "cue" for r in manual)


def test_gazetteer_has_each_surface_once() -> None:
    gaz = default_gazetteer()
    assert len(gaz.patterns) == len(set(gaz.patterns))
    assert all(p == fold(p) for p in gaz.patterns)
    assert Entry("Munich", "city", "DE") in gaz.entries


# --- the judged-sample machinery (bench/eval_local_knowledge.py) ---------------------------


@pytest.fixture(scope="module")
def bench_module():
    spec = importlib.util.spec_from_file_location("eval_local_knowledge", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_sample_is_reproducible_and_order_free(bench_module) -> None:
    found = [bench_module.Found(f"dev/{i}/post", f"E{i % 7}", "city", "DE", "x", 0, 1) for i in range(50)]
    a = bench_module.draw_sample(found, 10, seed=7)
    b = bench_module.draw_sample(list(reversed(found)), 10, seed=7)
    assert a == b and len(a) == 10 and len(set(a)) == 10
    assert bench_module.draw_sample(found, 10, seed=8) != a
    assert len(bench_module.draw_sample(found, 500, seed=7)) == 50


def test_precision_table_on_a_fake_sample(bench_module) -> None:
    Found = bench_module.Found
    sample = [
        Found("dev/1/post", "Nice", "city", "FR", "Nice", 0, 4),
        Found("dev/2/post", "Essen", "city", "DE", "Essen", 0, 5),
        Found("dev/3/reply", "Paella", "dish", "ES", "paella", 0, 6),
        Found("dev/4/reply", "NHS", "institution", "GB", "NHS", 0, 3),
    ]
    verdicts = bench_module.parse_verdicts(
        "dev/1/post\tNice\ty\ndev/2/post\tEssen\tn\n# a comment\ndev/3/reply\tPaella\ty\n"
    )
    table = {p.group: p for p in bench_module.precision_table(sample, verdicts)}
    assert (table["all"].judged, table["all"].correct, table["all"].unjudged) == (3, 2, 1)
    assert table["city"].value == 0.5
    assert table["dish"].value == 1.0
    assert table["institution"].judged == 0 and table["institution"].unjudged == 1
    lo, hi = table["all"].interval
    assert 0.0 < lo < 2 / 3 < hi <= 1.0
    with pytest.raises(ValueError):
        bench_module.parse_verdicts("dev/1/post\tNice\tmaybe")
    with pytest.raises(ValueError):
        bench_module.parse_verdicts("dev/1/post\tNice\tn:unknown-kind")
    table = "a\tNice\tn:club\nb\tEssen\tn:person\nc\tBath\ty\nd\tSplit\tn:club"
    assert bench_module.parse_verdicts(table)[("a", "Nice")] is False
    assert bench_module.error_kinds(table) == {"club": 2, "person": 1}


# --- teams in results, people before speech verbs, compass words (issue 15 point 4) --------

@pytest.mark.parametrize("text", [
    "HOUSTON 16 2 .889",                      # a standings row
    "Chicago 3-1 Boston tonight",             # a score: both teams
    "Final: Leeds 2 Chelsea 1",               # a result line
    "Davenport said it was over.",            # a surname before a speech verb
    "Wir fahren nach Norden.",                # "northwards", not Norden in Lower Saxony
    "Der Wind kommt aus Westen",
])
def test_teams_people_and_directions_are_not_places(text: str) -> None:
    assert {t for t in tags(text) if t[1] in ("city", "region")} == set(), text


@pytest.mark.parametrize(("text", "entity"), [
    ("We moved to Davenport last year", "Davenport"),
    ("in Berlin 2024 we met", "Berlin"),                  # a year is not a score
    ("Flights to Paris 3 times a week", "Paris"),
    ("We spent 3 nights in Leeds 2 years ago", "Leeds"),
    ("I live in Houston now", "Houston"),
    ("Mein Bruder aus Linz sagt mir, es ist voll", "Linz"),  # a cue before the speech verb
])
def test_places_beside_numbers_stay_places(text: str, entity: str) -> None:
    assert entity in {t[0] for t in tags(text)}, text
