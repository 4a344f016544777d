"""Text normalisation: canonical form without damaging any script or emoji."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.text import normalize_frame, normalize_text

ZWSP, ZWNJ, ZWJ, WJ, BOM, SHY = "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"
VS16 = "\ufe0f"


def norm(text: str) -> str:
    return pl.select(normalize_text(pl.lit(text, dtype=pl.String))).item()


def norm_many(texts: list[str]) -> list[str]:
    return (
        pl.Series("t", texts, dtype=pl.String)
        .to_frame()
        .select(normalize_text(pl.col("t")))["t"]
        .to_list()
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # NFD -> NFC
        ("cafe\u0301", "café"),
        ("Ame\u0301lie", "Amélie"),
        ("\u1100\u1161", "\uac00"),  # Hangul jamo compose to a syllable
        ("e\u200b\u0301", "é"),  # composes once the blocker is gone
        # zero-width / invisible format characters inside words
        (f"pass{ZWSP}word", "password"),
        (f"pass{ZWNJ}word", "password"),
        (f"pass{ZWJ}word", "password"),
        (f"co{SHY}operate", "cooperate"),
        (f"{BOM}hello{WJ}world", "helloworld"),
        ("\u200eleft\u200f \u202aembedded\u202c \u2066iso\u2069", "left embedded iso"),
        # control characters
        ("a\x00b\x07c\x1bd\x7fe\x85f\x9fg", "abcde fg"),
        ("tab\tnew\nline\r\nend", "tab new line end"),
        # whitespace folding
        ("  a \u00a0 b\u2002c\u3000d\u2009e\u202ff  ", "a b c d e f"),
        ("x\u2028y\u2029z", "x y z"),
        (" \n\t ", ""),
        ("", ""),
    ],
)
def test_normalisation_cases(raw: str, expected: str) -> None:
    assert norm(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        # emoji ZWJ sequences
        "👨\u200d👩\u200d👧",  # family
        "👨\u200d👩\u200d👧\u200d👦",  # family of four (three joiners in a chain)
        "🏳\ufe0f\u200d🌈",  # rainbow flag (VS16 before ZWJ)
        "🏳\ufe0f\u200d⚧\ufe0f",  # transgender flag
        "👩🏽\u200d💻",  # skin tone then ZWJ
        "🧑🏽\u200d🤝\u200d🧑🏻",  # people holding hands, two tones
        "👩\u200d❤\ufe0f\u200d💋\u200d👨",  # kiss
        "👁\ufe0f\u200d🗨\ufe0f",  # eye in speech bubble
        "🏃\u200d♀\ufe0f",  # gendered
        # flags, keycaps, skin tones, tag sequences
        "🇩🇪🇫🇷🇺🇦",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England
        "1\ufe0f\u20e3 #\ufe0f\u20e3",
        "👍🏿 👋🏻",
        "❤\ufe0f",
        # scripts
        "日本語のテキスト、中文文本",
        "Ελληνικά κείμενα",
        "Русский текст",
        "مرحبا بالعالم",
        "نمی\u200cخواهم",  # Persian ZWNJ between letters
        "می\u200cروم و خانه\u200cها",
        "क्\u200dष",  # Devanagari ZWJ after virama: half form
        "क्\u200cष",  # Devanagari ZWNJ after virama: explicit virama
        "ශ්\u200dරී",  # Sinhala
        "हिन्दी में पाठ",
        "ಕನ್ನಡ",
        "עברית",
        "한국어 텍스트",
    ],
)
def test_scripts_and_emoji_untouched(text: str) -> None:
    assert unicodedata.is_normalized("NFC", text)
    assert norm(text) == text


def test_stray_joiners_next_to_emoji_or_script_removed() -> None:
    assert norm(f"{ZWJ}👍") == "👍"
    assert norm(f"👍{ZWJ}") == "👍"
    assert norm(f"👍{ZWJ}a") == "👍a"
    assert norm(f"ب{ZWNJ}{ZWNJ}ب") == "بب"  # a doubled joiner is not orthographic
    assert norm(f"ب{ZWSP}{ZWNJ}ب") == f"ب{ZWNJ}ب"  # ZWSP gone, ZWNJ meaningful


def test_normalize_frame_keeps_other_columns_and_order() -> None:
    frame = pl.DataFrame({"id": [3, 1, 2], "text": [" a\u00a0b ", None, "e\u0301"]})
    out = normalize_frame(frame)
    assert out["id"].to_list() == [3, 1, 2]
    assert out["text"].to_list() == ["a b", None, "é"]
    other = normalize_frame(frame.rename({"text": "body"}), column="body")
    assert other["body"].to_list() == ["a b", None, "é"]


_INTERESTING = st.sampled_from(
    list(ZWSP + ZWNJ + ZWJ + WJ + BOM + SHY + VS16)
    + list("\u0301\u0344 \u00a0\n\t\x00\x85\u200e\u202e\u2000\u3000\U000e0067\u20e3")
    + list("👨👩🏽🏳بیक्षea\u1100\u1161")
)
_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(_INTERESTING, max_size=30).map("".join),
    st.lists(st.one_of(_INTERESTING, st.characters(codec="utf-8")), max_size=40).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=20))
def test_idempotent_and_never_longer(texts: list[str]) -> None:
    once = norm_many(texts)
    assert norm_many(once) == once
    for raw, out in zip(texts, once, strict=True):
        assert len(out) <= len(unicodedata.normalize("NFC", raw))
        assert unicodedata.is_normalized("NFC", out)
        assert out == out.strip(" ")
        assert "  " not in out
        assert not any(ch.isspace() and ch != " " for ch in out)
        assert not any(unicodedata.category(ch) == "Cc" for ch in out)
        assert not set(out) & {ZWSP, WJ, BOM, SHY, "\u200e", "\u200f", "\u202e", "\u2066"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80).map(lambda t: unicodedata.normalize("NFC", t)))
def test_never_longer_than_input(text: str) -> None:
    """NFC may expand a few characters (U+0344, U+0958); on NFC input nothing grows."""
    assert len(norm(text)) <= len(text)
    assert len(norm(text).encode()) <= len(text.encode())
