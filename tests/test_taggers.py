"""Dialect, idiom and humor taggers: unit cases written for these tests, plus floors.

The unit sentences are made up here (none comes from eval-data). The floor tests read
the shared eval data (`../shared/eval-data` beside the repository, as in CI) and fail
when it is missing; each floor sits a little under the value measured by
bench/eval_taggers.py (see bench/TAGGERS.md) on the *report* parts, so a regression
fails. Nothing is timed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.langid import identify_language
from curation.taggers import (
    DialectConfig,
    HumorConfig,
    IdiomConfig,
    tag_dialect,
    tag_humor,
    tag_idioms,
)
from curation.taggers.dialect import OUTPUT_COLUMNS as DIALECT_OUTPUTS
from curation.taggers.dialect import load_lexicon, varieties
from curation.taggers.humor import irony_probability, model_thresholds
from curation.taggers.idioms import fold, idiom_lexicon
from curation.taggers.model import featurize, fit_linear, fit_platt, linear_scores, load_model

EVAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "eval-data"


def _frame(texts: list[str | None], language: list[str] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    if language is None:
        return identify_language(frame)
    return frame.with_columns(pl.Series("language", language, dtype=pl.String))


# --- dialect ---------------------------------------------------------------------------

DIALECT_SENTENCES: dict[str, str] = {
    "gsw": "Ich ha hüt nöd viel Ziit, aber morn chumm i gern zu dir uf Bärn.",
    "gsw-FR": "Ìch hàb hit kèi Zitt, àwwer morje kumm ìch gern zü dir uf Strossburi.",
    "bar": "I hob heid koa Zeit ned, oba moang kimm i gern zu eich auf Minga.",
    "nds": "Ik heff hüüt keen Tied, man morgen kaam ik geern to di, dat seggt wi so.",
    "de-AT": "Heuer im Jänner hab ich mir ein Sackerl Marillen und Paradeiser gekauft.",
    "sco": "I dinnae ken whit ye're on aboot, it's awfy dreich oot the day.",
    "en-IE": "I'm after eating my dinner and the craic was mighty, yer man was there too.",
    "nl-BE": "Amai, da was plezant, ik heb er goesting in om da nog efkes te doen.",
    "fr-BE": "Il drache depuis ce matin, je reste dans mon kot avec mon brol, à tantôt !",
    "fr-CH": "J'ai poutzé tout l'appartement avec la panosse, il y avait un de ces chenit.",
    "fr-CA": "Icitte on va magasiner en fin de semaine, c'est pantoute cher, tsé.",
    "es-x-andalus": "Quillo, ozú qué calor hace hoy, miarma, vámonos pa la playa ya.",
    "es-AR": "Che boludo, ¿vos sabés dónde queda el laburo de tu viejo? Tenés que venir.",
    "es-MX": "No mames güey, la neta esa fiesta estuvo bien chida, órale pues.",
    "nap": "Guagliò, pecché nun vieni cu nuje? Aggio fatto 'o ragù e stongo ccà.",
    "scn": "Picciotti, unni iti? Iddu nun voli fari nenti stasira, sugnu stancu.",
    "vec": "Xe tardi, ciò, el toso no ga gnente da far e i schei xe finii.",
    "lij": "Sciâ me digghe, o l'é ciù bello andâ a Zena inta stæ, ascì pe-o mâ.",
    "lmo": "Mi sont minga bon de fà nagòtt inscì, quaicoss el me par adree.",
    "pms": "A l'é tard e mi i son nen bon a fé lòn ch'a veul, ëd sicur për tùit.",
    "eml": "A n'ho brisa vòia d'andèr a Mòdna, csa t'em dii, cme stèt?",
    "fur": "Vuê o soi lât a cjase di gno fradi e al è plui content di simpri.",
    "lld": "Chësc ann fova la jent de Gherdëina dut cuntënta, zënza mpo de nëif.",
    "sc": "Issu est andadu a sa bidda e nois semus totu cuntentos, custu est beru.",
}

STANDARD_SENTENCES: list[str] = [
    "Gestern Abend haben wir noch lange auf der Terrasse gesessen und geredet.",
    "Die Regierung hat heute neue Maßnahmen für den Wohnungsbau vorgestellt.",
    "I don't know yet whether I can make it tomorrow, but I will let you know.",
    "The committee will publish its final report at the end of the month.",
    "Non so ancora se domani potrò venire, ma ti faccio sapere stasera.",
    "Il governo ha approvato ieri la nuova legge sul lavoro.",
    "Todavía no sé si mañana podré ir, pero te aviso esta noche.",
    "Je ne sais pas encore si je pourrai venir demain, mais je te tiens au courant.",
    "Ik weet nog niet of ik morgen kan komen, maar ik laat het je vanavond weten.",
    "Ainda não sei se vou conseguir ir amanhã, mas aviso você hoje à noite.",
]


def test_at_least_twelve_varieties_in_five_languages() -> None:
    table = varieties()
    assert table.height >= 12
    assert table.get_column("language").n_unique() >= 5
    assert set(DIALECT_SENTENCES) == set(table.get_column("code").to_list())


@pytest.mark.parametrize("code", sorted(DIALECT_SENTENCES))
def test_each_variety_is_found_with_marker_evidence(code: str) -> None:
    out = tag_dialect(_frame([DIALECT_SENTENCES[code]]))
    row = out.row(0, named=True)
    assert row["dialect"] == code, row
    assert 0.5 <= row["dialect_confidence"] <= 1.0
    markers = [e for e in row["dialect_evidence"] if not e.startswith("lid.176:")]
    assert markers, "a variety must be named on marker evidence, not lid.176 alone"
    text = DIALECT_SENTENCES[code].lower()
    assert any(m.split()[0] in text for m in markers)


def test_standard_sentences_are_not_tagged_as_dialects() -> None:
    """No dialect (marker or dialect head) on standard text; a variety head may name the
    national variety a standard sentence is written in (es-ES or es-419, pt-PT or pt-BR)."""
    out = tag_dialect(_frame(STANDARD_SENTENCES))
    national = {"es-ES", "es-419", "pt-PT", "pt-BR", "fr-FR", "fr-CA", "en-GB", "en-IE", "de-AT", "de-CH"}
    named = out.filter(pl.col("dialect").is_not_null())
    assert set(named.get_column("dialect").to_list()) <= national, named.to_dicts()
    assert all(e.startswith("model:") for row in named.get_column("dialect_evidence") for e in row)
    assert out.filter(pl.col("language").is_in(["de", "it"])).get_column("dialect_prob").max() < 0.5


def test_dialect_output_shape_order_and_bounds() -> None:
    assert DIALECT_OUTPUTS[:3] == ("dialect", "dialect_confidence", "dialect_evidence")
    assert set(DIALECT_OUTPUTS[3:]) == {"dialect_prob", "variety", "variety_prob"}
    texts = [DIALECT_SENTENCES["bar"], None, "", "😂😂", STANDARD_SENTENCES[0], "ok"]
    frame = _frame(texts).with_columns(pl.int_range(pl.len()).alias("keep"))
    out = tag_dialect(frame)
    assert out.columns == frame.columns + list(DIALECT_OUTPUTS)
    assert out.get_column("keep").to_list() == list(range(len(texts)))
    assert out.get_column("dialect").to_list()[1:] == [None] * 5
    conf = out.get_column("dialect_confidence")
    assert conf.null_count() == 0 and conf.min() >= 0.0 and conf.max() <= 1.0
    assert out.schema["dialect_evidence"] == pl.List(pl.String)
    again = tag_dialect(out)  # re-tagging replaces the columns
    assert again.columns == out.columns


def test_dialect_without_language_column_and_without_lid() -> None:
    frame = pl.DataFrame({"text": [DIALECT_SENTENCES["sco"], STANDARD_SENTENCES[2]]})
    out = tag_dialect(frame)
    assert out.columns[:4] == ["text", "dialect", "dialect_confidence", "dialect_evidence"]
    assert out.get_column("dialect").to_list() == ["sco", None]
    no_lid = tag_dialect(_frame([DIALECT_SENTENCES["gsw"]]), config=DialectConfig(use_lid=False))
    assert no_lid.item(0, "dialect") == "gsw"
    assert not any(e.startswith("lid.176:") for e in no_lid.item(0, "dialect_evidence"))


def test_home_scope_markers_do_not_count_in_other_languages() -> None:
    # "de", "mi", "es" are weak Swiss German markers but ordinary Spanish words.
    # (markers only: the Spanish variety head may name es-ES or es-419 here, rightly)
    out = tag_dialect(_frame(["de mi casa es tu casa"], ["es"]), config=DialectConfig(use_model=False))
    assert out.item(0, "dialect") is None


def test_marker_table_is_valid_and_sourced() -> None:
    lex = load_lexicon()
    assert lex.markers.height > 1_000
    assert lex.markers.get_column("variety").n_unique() == varieties().height


# --- idioms ----------------------------------------------------------------------------


def _idioms(texts: list[str], language: str) -> list[list[str]]:
    return tag_idioms(_frame(texts, [language] * len(texts))).get_column("idioms").to_list()


def test_idiom_lexicons_have_a_hundred_entries_per_language() -> None:
    counts = dict(idiom_lexicon().group_by("lang").len().iter_rows())
    assert set(counts) >= {"en", "de", "it", "es", "fr"}
    assert all(n >= 100 for n in counts.values()), counts


@pytest.mark.parametrize(
    "text",
    [
        "We finally broke the ice at the party.",  # inflection
        "The ice was broken by her jokes.",  # reordering + inflection
        "YOU NEED TO BREAK THE ICE FIRST",  # case
        "Breaking the ice with strangers is hard.",
    ],
)
def test_idiom_matched_under_inflection_reordering_and_case(text: str) -> None:
    assert "en.break_the_ice" in _idioms([text], "en")[0]


def test_idiom_not_matched_when_words_are_far_apart_or_split_by_punctuation() -> None:
    far = "Break the habit of driving to work every day and never buy ice."
    split = "Do not break it. Ice is expensive."
    assert _idioms([far, split], "en") == [[], []]


@pytest.mark.parametrize(
    ("language", "text", "idiom"),
    [
        ("de", "Er hat gestern ins Gras gebissen.", "de.ins_gras_beissen"),
        ("de", "Ich drücke dir fest die Daumen!", "de.jemandem_die_daumen_drucken"),
        ("it", "Mi stai prendendo in giro?", "it.prendere_in_giro"),
        ("it", "Abbiamo rotto il ghiaccio subito.", "it.rompere_il_ghiaccio"),
        ("es", "¿Me estás tomando el pelo?", "es.tomar_el_pelo"),
        ("es", "Metí la pata otra vez.", "es.meter_la_pata"),
        ("fr", "Il pleuvait des cordes hier soir.", "fr.il_pleut_des_cordes"),
        ("fr", "Elle m'a posé un lapin.", "fr.poser_un_lapin"),
    ],
)
def test_idioms_per_language(language: str, text: str, idiom: str) -> None:
    assert idiom in _idioms([text], language)[0]


def test_idioms_use_the_row_language_and_map_dialect_labels() -> None:
    text = "Er hat ins Gras gebissen."
    assert _idioms([text], "en") == [[]]
    assert _idioms([text], "bar") == [["de.ins_gras_beissen"]]
    out = tag_idioms(_frame([text, None, ""], ["de", "de", "und"]))
    assert out.get_column("idioms").to_list() == [["de.ins_gras_beissen"], [], []]


def test_idiom_ids_resolve_to_the_lexicon() -> None:
    lexicon = idiom_lexicon()
    ids = set(lexicon.get_column("id").to_list())
    found = _idioms(["Spill the beans!", "She kicked the bucket."], "en")
    assert all(i in ids for row in found for i in row)
    assert fold("Straße Œuvre") == "strasse oeuvre"
    assert IdiomConfig().gap >= 0


# --- humor -----------------------------------------------------------------------------

PLAIN = {
    "en": "The meeting has been moved to Thursday at ten in room four.",
    "de": "Die Sitzung wurde auf Donnerstag um zehn Uhr verschoben.",
    "it": "La riunione è stata spostata a giovedì alle dieci.",
    "es": "La reunión se ha trasladado al jueves a las diez.",
    "fr": "La réunion a été déplacée à jeudi à dix heures.",
    "pt": "A reunião foi adiada para quinta-feira às dez horas.",
}
LAUGHTER = {
    "en": "The meeting has been moved to Thursday hahaha lol",
    "de": "Die Sitzung wurde auf Donnerstag verschoben hihi 😂",
    "it": "La riunione è stata spostata a giovedì ahahahah",
    "es": "La reunión se ha trasladado al jueves jajajaja",
    "fr": "La réunion a été déplacée à jeudi mdr ptdr",
    "pt": "A reunião foi adiada para quinta-feira kkkkkk",
}
IRONY = {
    "en": "Oh great, another Monday meeting. Yeah right, that will totally help 🙄",
    "de": "Na toll, schon wieder eine Sitzung am Montag. Ja klar, das hilft bestimmt 🙄",
    "it": "Sì certo, un'altra riunione di lunedì, come no 🙄",
    "es": "Claro que sí, otra reunión el lunes, qué sorpresa 🙄",
    "fr": "Ah bon, encore une réunion le lundi, quelle surprise 🙄",
    "pt": "Claro que sim, mais uma reunião na segunda, só que não 🙄",
}


CUES_ONLY = HumorConfig(use_model=False)


@pytest.mark.parametrize("language", sorted(PLAIN))
def test_cue_only_mode_raises_the_score_per_language(language: str) -> None:
    """The previous keyword tagger stays available (bench/TAGGERS.md compares it)."""
    texts = [PLAIN[language], LAUGHTER[language], IRONY[language]]
    out = tag_humor(_frame(texts, [language] * 3), config=CUES_ONLY)
    plain, laugh, irony = out.get_column("humor_score").to_list()
    assert laugh > plain + 0.2 and irony > plain + 0.2
    sarcasm = out.get_column("sarcasm").to_list()
    assert sarcasm[0] is False and sarcasm[2] is True


def test_humor_score_is_the_calibrated_model_probability() -> None:
    texts = list(PLAIN.values()) + list(IRONY.values()) + [None, "", "#sarcasm", "WOW!!! really?!"]
    out = tag_humor(_frame(texts, ["und"] * len(texts)))
    scores = out.get_column("humor_score")
    assert scores.null_count() == 0 and scores.min() >= 0.0 and scores.max() <= 1.0
    expected = irony_probability(pl.Series(texts, dtype=pl.String))
    assert scores.to_list() == pytest.approx(expected.to_list())
    flag, subset = model_thresholds()
    assert 0.0 < flag < subset <= 1.01
    assert out.get_column("sarcasm").to_list() == [s >= flag for s in scores.to_list()]
    # the model is not a keyword list: a cue alone does not decide, and the language is not read
    swapped = tag_humor(_frame(texts, ["en"] * len(texts)))
    assert swapped.get_column("humor_score").to_list() == scores.to_list()


def test_made_up_ironic_sentences_score_above_plain_ones_on_average() -> None:
    out = tag_humor(_frame(list(PLAIN.values()) + list(IRONY.values()), ["und"] * 12))
    scores = out.get_column("humor_score").to_list()
    assert sum(scores[6:]) / 6 > sum(scores[:6]) / 6


def test_cue_only_plain_text_scores_low() -> None:
    texts = list(PLAIN.values()) + ["#sarcasm", "It's fine /s"]
    out = tag_humor(_frame(texts, list(PLAIN) + ["en", "en"]), config=CUES_ONLY)
    assert out.get_column("humor_score").head(len(PLAIN)).max() < 0.2
    assert out.get_column("sarcasm").to_list() == [False] * len(PLAIN) + [True, True]


def test_humor_keeps_rows_and_columns() -> None:
    frame = _frame([IRONY["en"], PLAIN["en"]], ["en", "en"]).with_columns(pl.lit(1).alias("x"))
    out = tag_humor(frame)
    assert out.columns == ["text", "language", "x", "humor_score", "sarcasm"]
    assert out.get_column("text").to_list() == frame.get_column("text").to_list()


# --- the statistical model -------------------------------------------------------------


def test_model_is_loaded_small_attributed_and_returns_probabilities() -> None:
    data = Path(__file__).resolve().parents[1] / "curation" / "taggers" / "data"
    assert (data / "tagger_model.npz").stat().st_size + (data / "tagger_model.json").stat().st_size < 25e6
    model = load_model()
    assert {"irony", "dialect_de", "dialect_it"} <= set(model.heads)
    assert {f"variety_{g}" for g in ("de", "en", "es", "pt", "fr")} <= set(model.heads)
    sources = json.dumps(model.meta["sources"])
    assert "CC BY 4.0" in sources and "MIT" in sources and "CC BY-SA" in sources
    readme = (data / "README.md").read_text(encoding="utf-8")
    assert "Casola" in readme and "iSarcasmEval" in readme and "Universal Dependencies" in readme
    feats = featurize(list(DIALECT_SENTENCES.values()) + STANDARD_SENTENCES)
    for head in model.heads.values():
        prob = head.proba(feats)
        assert prob.shape == (feats.n_rows, len(head.classes))
        assert np.all((prob >= 0.0) & (prob <= 1.0)) and np.allclose(prob.sum(axis=1), 1.0)
        subset = {k: t for k, t in head.thresholds.items() if k != "flag"}
        assert subset and all(0.5 <= t <= 1.01 for t in subset.values()), head.thresholds
        assert 0.0 < head.thresholds.get("flag", 0.5) < 1.0


def test_features_do_not_depend_on_the_batch() -> None:
    def live(features, row: int) -> list[tuple[int, float]]:
        mask = (features.row == row) & (features.val > 0)
        return sorted(zip(features.col[mask].tolist(), np.round(features.val[mask], 6).tolist(), strict=True))

    alone = featurize(["Grüezi mitenand, wie gahts?"])
    batch = featurize(["something else first", "Grüezi mitenand, wie gahts?", ""])
    assert live(alone, 0) == live(batch, 1) and len(live(alone, 0)) > 50
    assert live(batch, 2) == []  # an empty text has no feature with a value


def test_training_is_deterministic() -> None:
    texts = list(DIALECT_SENTENCES.values()) + STANDARD_SENTENCES
    labels = np.array([1] * len(DIALECT_SENTENCES) + [0] * len(STANDARD_SENTENCES))
    feats = featurize(texts)
    first = fit_linear(feats, labels, 2, epochs=40)
    second = fit_linear(featurize(texts), labels, 2, epochs=40)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    scores = linear_scores(feats, *first)[:, 0]
    assert scores[labels == 1].min() > scores[labels == 0].max()  # it learnt something
    calibration = fit_platt(scores, labels)
    assert calibration == fit_platt(scores, labels) and calibration["platt_a"] > 0
    multi = fit_linear(feats, np.arange(len(texts)) % 3, 3, epochs=20)
    assert np.array_equal(multi[0], fit_linear(feats, np.arange(len(texts)) % 3, 3, epochs=20)[0])


# --- scale: batch operations only ------------------------------------------------------


def test_hundred_thousand_rows_in_one_batch() -> None:
    """All three taggers on 100k rows (not timed: bench/TAGGERS.md has the speed)."""
    seeds = list(DIALECT_SENTENCES.values()) + STANDARD_SENTENCES + list(IRONY.values())
    frame = identify_language(pl.DataFrame({"text": seeds}))
    big = pl.concat([frame] * (100_000 // frame.height + 1)).head(100_000)
    big = big.with_columns(
        pl.concat_str([pl.col("text"), pl.int_range(pl.len()).cast(pl.String)], separator=" ")
    )
    out = tag_humor(tag_idioms(tag_dialect(big)))
    assert out.height == 100_000
    assert out.get_column("dialect").is_not_null().sum() >= 20_000


def test_empty_frames_keep_the_output_schema() -> None:
    empty = pl.DataFrame(schema={"text": pl.String, "language": pl.String})
    assert tag_dialect(empty).schema["dialect_evidence"] == pl.List(pl.String)
    assert tag_idioms(empty).schema["idioms"] == pl.List(pl.String)
    assert tag_humor(empty).schema["sarcasm"] == pl.Boolean


# --- floors on the shared eval data ----------------------------------------------------

LEXICON = DialectConfig(use_model=False)
"""The UD floors measure the marker tagger (the previous tagger): the dialect heads were
trained on every UD line, so their held-out numbers are leave-one-file-out (below)."""


@pytest.fixture(scope="module")
def eval_data() -> Path:
    if not (EVAL_DATA / "README.md").is_file():
        pytest.fail(
            f"eval data missing at {EVAL_DATA}: the tagger floor tests need the shared "
            "eval-data folder beside the repository (../shared/eval-data)"
        )
    return EVAL_DATA


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _report_lines(root: Path, name: str) -> list[str]:
    """The report part of a ud-dialect-sentences file (line index % 5 != 0)."""
    lines = _lines(root / "ud-dialect-sentences" / name)
    return [line for index, line in enumerate(lines) if index % 5 != 0]


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _majority_irony(path: Path) -> pl.DataFrame:
    items = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for item in items.values():
        votes = [int(v) for v in item["annotations"].values()]
        if sum(votes) * 2 != len(votes):
            rows.append((item["lang"], item["text"]["reply"], sum(votes) * 2 > len(votes)))
    return pl.DataFrame(rows, schema=["lang", "text", "irony"], orient="row")


@pytest.mark.eval
def test_floor_dialect_vs_standard_ud(eval_data: Path) -> None:
    standard = tag_dialect(_frame(_report_lines(eval_data, "de_pud-ud-test.txt")), config=LEXICON)
    german = ["gsw", "gsw-FR", "bar", "nds", "de-AT"]
    fp_de = int(standard.get_column("dialect").is_in(german).sum())
    assert fp_de / standard.height <= 0.005
    floors = {  # file: (variety, F1 floor, variety accuracy floor); measured in TAGGERS.md
        "bar_maibaam-ud-test.txt": ("bar", 0.74, 0.50),
        "gsw_uzh-ud-test.txt": ("gsw", 0.92, 0.80),
        "gsw_divital-ud-test.txt": ("gsw-FR", 0.86, 0.70),
        "nds_lsdc-ud-orig-test.txt": ("nds", 0.70, 0.50),
    }
    for name, (code, f1_floor, acc_floor) in floors.items():
        out = tag_dialect(_frame(_report_lines(eval_data, name)), config=LEXICON)
        tp = int(out.get_column("dialect").is_in(german).sum())
        f1 = _f1(tp, fp_de, out.height - tp)
        acc = float((out.get_column("dialect") == code).fill_null(False).mean())
        assert f1 >= f1_floor and acc >= acc_floor, (name, f1, acc)


@pytest.mark.eval
def test_floor_italian_dialects(eval_data: Path) -> None:
    italian = varieties().filter(pl.col("language") == "it").get_column("code").to_list()
    for name, code, floor in (
        ("scn_stb-ud-test.txt", "scn", 0.78),
        ("lij_glt-ud-test.txt", "lij", 0.68),
    ):
        out = tag_dialect(_frame(_report_lines(eval_data, name)), config=LEXICON)
        assert float(out.get_column("dialect").is_in(italian).mean()) >= floor, name
        assert float((out.get_column("dialect") == code).fill_null(False).mean()) >= floor - 0.2
    rows = [
        line.split("\t", 1)
        for line in (eval_data / "itdi2022" / "test_gold.tsv")
        .read_text(encoding="utf-8")
        .splitlines()
        if "\t" in line
    ]
    itdi = tag_dialect(_frame([text for _, text in rows]), config=LEXICON)
    assert float(itdi.get_column("dialect").is_in(italian).mean()) >= 0.41
    lmo = [i for i, (label, _) in enumerate(rows) if label == "LMO"]
    lmo_acc = (itdi.get_column("dialect").gather(lmo) == "lmo").fill_null(False).mean()
    assert float(lmo_acc) >= 0.74
    standard_it = tag_dialect(
        config=LEXICON,
        frame=_frame(
            _majority_irony(eval_data / "multipico" / "MP_test.json")
            .filter(pl.col("lang") == "it")
            .get_column("text")
            .to_list()
        )
    )
    assert float(standard_it.get_column("dialect").is_not_null().mean()) <= 0.01


@pytest.mark.eval
def test_floor_swiss_german_vardial(eval_data: Path) -> None:
    folder = eval_data / "vardial-swiss-german"
    gdi = tag_dialect(_frame(_lines(folder / "gdi2019" / "test.txt")), config=LEXICON)
    assert float((gdi.get_column("dialect") == "gsw").fill_null(False).mean()) >= 0.76
    smg = [line.split("\t", 2)[2] for line in _lines(folder / "smg2021-ch" / "test_gold.tsv")]
    out = tag_dialect(_frame(smg), config=LEXICON)
    assert float((out.get_column("dialect") == "gsw").fill_null(False).mean()) >= 0.80


def _id10m(path: Path) -> tuple[list[str], list[bool]]:
    texts: list[str] = []
    gold: list[bool] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        pairs = [line.rpartition("\t") for line in block.splitlines() if line.strip()]
        if pairs:
            texts.append("".join(token for token, _, _ in pairs).strip())
            gold.append(any(tag.strip() == "B-IDIOM" for _, _, tag in pairs))
    return texts, gold


@pytest.mark.eval
@pytest.mark.parametrize(
    ("language", "code", "floor"),
    [
        ("english", "en", 0.33),
        ("spanish", "es", 0.45),
        ("german", "de", 0.08),
        ("italian", "it", 0.07),
    ],
)
def test_floor_idioms_id10m(eval_data: Path, language: str, code: str, floor: float) -> None:
    texts, gold = _id10m(eval_data / "id10m" / "test" / f"test_{language}.tsv")
    found = [bool(ids) for ids in _idioms(texts, code)]
    tp = sum(f and g for f, g in zip(found, gold, strict=True))
    fp = sum(f and not g for f, g in zip(found, gold, strict=True))
    fn = sum(g and not f for f, g in zip(found, gold, strict=True))
    assert _f1(tp, fp, fn) >= floor
    assert tp / max(tp + fp, 1) >= 0.6


@pytest.mark.eval
def test_floor_irony_multipico_and_semeval(eval_data: Path) -> None:
    test = identify_language(_majority_irony(eval_data / "multipico" / "MP_test.json"))
    out = tag_humor(test)
    pred, gold = out.get_column("sarcasm"), out.get_column("irony")
    tp = int((pred & gold).sum())
    assert _f1(tp, int((pred & ~gold).sum()), int((~pred & gold).sum())) >= 0.44  # measured 0.469
    lines = (
        (eval_data / "semeval2018-irony" / "goldtest-taskA_emoji.tsv")
        .read_text(encoding="utf-8")
        .splitlines()[1:]
    )
    rows = [line.split("\t", 2) for line in lines if line.count("\t") >= 2]
    se = identify_language(
        pl.DataFrame(
            {"text": [r[2].replace("||", "\n") for r in rows], "irony": [r[1] == "1" for r in rows]}
        ).with_columns(
            pl.col("text").str.replace_all(r"(?i)#(?:irony|ironic|sarcasm|sarcastic|not)\b", " ")
        )
    )
    se_out = tag_humor(se)
    pred, gold = se_out.get_column("sarcasm"), se_out.get_column("irony")
    tp = int((pred & gold).sum())
    assert _f1(tp, int((pred & ~gold).sum()), int((~pred & gold).sum())) >= 0.51  # measured 0.544


# --- the statistical heads on held-out rows (bench/train_taggers.py, bench/TAGGERS.md) ---


def _train_taggers():
    import sys

    bench = str(Path(__file__).resolve().parents[1] / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import train_taggers

    return train_taggers


@pytest.mark.eval
def test_model_report_reproduces_the_committed_tables(eval_data: Path) -> None:
    """Every held-out number of bench/taggers_report.json (rendered in TAGGERS.md), except
    the refits (leave-one-file-out, iSarcasmEval folds), recomputed from the weights."""
    tt = _train_taggers()
    committed = json.loads(tt.REPORT.read_text(encoding="utf-8"))
    fresh = tt.report(eval_data)
    assert fresh["variety"] == committed["variety"]
    assert fresh["dialect"] == committed["dialect"]
    assert fresh["dialect_fp"] == committed["dialect_fp"]
    old = [r for r in committed["irony"] if "iSarcasm" not in r["set"]]
    assert fresh["irony"] == old
    floors = {"pt": 0.64, "fr": 0.56, "es": 0.50, "de": 0.38, "en": 0.36}  # a little under measured
    for row in fresh["variety"]:
        assert row["macro_F1"] >= floors[row["lang"]] > row["majority_macro_F1"], row["lang"]
        assert row["macro_F1"] > row["previous_macro_F1"], row["lang"]
    gdi = next(r for r in fresh["dialect"] if r["set"].startswith("GDI"))
    assert gdi["R"] >= 0.9 and gdi["P"] >= 0.95


@pytest.mark.eval
def test_dialect_head_on_a_held_out_file(eval_data: Path) -> None:
    """Leave-one-file-out for Swiss German: refit without gsw_uzh, score it and a fifth of de_pud."""
    tt = _train_taggers()
    ex = tt.dialect_examples(eval_data, "de", skip_file="gsw_uzh-ud-test.txt", skip_pud_fold=1)
    feats = featurize(ex.texts)
    w, b = fit_linear(feats, ex.labels, 5, l2=1e-4, epochs=tt.EPOCHS, sample_weight=ex.weights)
    positives = _lines(eval_data / "ud-dialect-sentences" / "gsw_uzh-ud-test.txt")
    pud = _lines(eval_data / "ud-dialect-sentences" / "de_pud-ud-test.txt")
    negatives = [t for i, t in enumerate(pud) if i % 5 == 1]
    scores = linear_scores(featurize(positives + negatives), w, b)
    dialect = scores.argmax(axis=1) != 0
    gold = np.array([True] * len(positives) + [False] * len(negatives))
    row = tt.binary_report("gsw_uzh", "de_pud fold 1", dialect, gold)
    assert row["macro_F1"] >= 0.93, row  # measured 0.966 (bench/TAGGERS.md)


def test_feature_cache_only_reuses_the_same_texts_in_the_same_order() -> None:
    from curation.taggers.model import featurize_cached

    texts = pl.Series(["erste Zeile", "zweite Zeile", None])
    first = featurize_cached(texts)
    assert featurize_cached(texts.clone()) is first
    swapped = featurize_cached(texts.reverse())
    assert swapped is not first
    assert float(swapped.val[swapped.row == 0].sum()) == 0.0  # the null text
    def live(f, row):
        return sorted(f.col[(f.row == row) & (f.val > 0)].tolist())

    assert live(swapped, 2) == live(first, 0)


def test_the_variety_legend_names_every_code_a_subset_can_carry() -> None:
    from curation.taggers.dialect import MODEL_VARIETY_NAMES, varieties, variety_legend

    codes = [*varieties()["code"].to_list(), *MODEL_VARIETY_NAMES, "xx-new"]
    legend = variety_legend([*codes, "gsw"])  # repeated codes appear once
    assert legend.height == len(set(codes))
    named = dict(zip(legend["code"].to_list(), legend["name"].to_list(), strict=True))
    assert named["gsw"].startswith("Swiss German") and named["es-419"] == "Latin American Spanish"
    assert named["xx-new"] == "(unknown code)"
    assert (legend.filter(pl.col("code") != "xx-new")["name"] != "(unknown code)").all()
