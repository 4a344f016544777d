"""Text quality filters: keep a post, or drop it with a reason code.

Policy: a post is dropped when it carries too little language to be worth training on.
Each rule is a named "fails" expression over one text column; a dropped row carries the
first rule that fails, in `REASON_ORDER`:

* `repeated_chars`: some character repeated more than `max_repeat_run` times in a row
  ("aaaaaaaaaaaaaaa", "!!!!!!!!!!!!", "Great!!!!!!!!!!!!").
* `symbols_only`: no letters, or letters under `min_letter_ratio` of the visible
  characters ("😂😂😂", "!!!", "…", "12:30", "a 😂😂😂😂😂😂"). Letters of any script count
  (`\\p{L}` plus combining marks, so Devanagari vowel signs and Arabic harakat count).
* `too_short`: fewer than `min_chars` length units (empty and null texts included).
* `too_long`: more than `max_chars` characters; off unless `max_chars` is set, since long
  Reddit posts are legitimate.

Terms:

* *normalised text*: NFC, URLs and @mentions removed, whitespace runs collapsed to one
  space, stripped. Mentions and links are not language, so "@USER @USER https://t.co/x"
  is too short. The kept rows keep their original text: normalisation is only the view
  the rules read.
* *length units*: code points of the normalised text without emoji joiners, variation
  selectors and skin-tone modifiers (so "👍🏽" is one unit, not two), where every Han,
  kana or Hangul character counts `cjk_char_weight` (default 3) units. A CJK character
  carries about as much as a short Latin word, so with `min_chars=10` "谢谢你"
  (3 × 3 = 9, "thank you", 9 characters) is too short exactly like its English
  translation, and four CJK characters ("今天很好") are kept.

Pitfall: the polars regex engine has no backreferences, so `repeated_chars` runs
Python's `re` on the column (a `map_batches` expression; about a million texts per
second), while every other rule is a native polars expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

# --- reason codes (rule order) ---------------------------------------------------------

REPEATED_CHARS = "repeated_chars"
SYMBOLS_ONLY = "symbols_only"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"

REASON_ORDER: tuple[str, ...] = (REPEATED_CHARS, SYMBOLS_ONLY, TOO_SHORT, TOO_LONG)
"""Every reason code, in the order rules are checked; a dropped row carries the first."""

REASON_COLUMN = "quality_reason"

# --- patterns shared with `curation.langid` --------------------------------------------

URL_PATTERN = r"(?:https?://|www\.)\S+"
MENTION_PATTERN = r"\B@\w+"
"""An @handle not glued to a word before it, so e-mail addresses are left alone."""
WHITESPACE_PATTERN = r"[\s\x00]+"
"""Unicode whitespace plus NUL: everything fastText also treats as a word separator."""

_IGNORABLE_PATTERN = r"[\p{Cf}\x{FE00}-\x{FE0F}\x{E0100}-\x{E01EF}\x{1F3FB}-\x{1F3FF}\x{20E3}]"
"""Zero-width joiners and other format characters, variation selectors, skin tones and
the keycap mark: parts of one emoji or glyph, not characters of their own."""
_LETTER_PATTERN = r"[\p{L}\p{M}]"
_CJK_PATTERN = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the quality rules; defaults keep short real posts in any script."""

    column: str = "text"
    min_chars: int = 10
    """Minimum length units of the normalised text (CJK characters count more)."""
    max_repeat_run: int = 10
    """Longest allowed run of one character; "!!!!!!!!!!" (10) passes, 11 fails."""
    min_letter_ratio: float = 1 / 3
    """Minimum share of letters among the visible (non-space) characters."""
    max_chars: int | None = None
    """Maximum characters of the normalised text; None switches `too_long` off."""
    cjk_char_weight: float = 3.0
    """Length units one Han, kana or Hangul character counts for."""
    strip_urls_and_mentions: bool = True

    def __post_init__(self) -> None:
        if self.min_chars < 0:
            raise ValueError(f"min_chars must be >= 0, got {self.min_chars}")
        if self.max_repeat_run < 1:
            raise ValueError(f"max_repeat_run must be >= 1, got {self.max_repeat_run}")
        if not 0.0 <= self.min_letter_ratio <= 1.0:
            raise ValueError(f"min_letter_ratio must be in [0, 1], got {self.min_letter_ratio}")
        if self.max_chars is not None and self.max_chars < self.min_chars:
            raise ValueError("max_chars must be None or >= min_chars")
        if self.cjk_char_weight <= 0:
            raise ValueError(f"cjk_char_weight must be > 0, got {self.cjk_char_weight}")


# --- building blocks (also used by `curation.langid`) ----------------------------------


def normalized_text(text: pl.Expr, strip_urls_and_mentions: bool = True) -> pl.Expr:
    """The view the rules read: NFC, no links or mentions, single spaces, never null."""
    out = text.cast(pl.String).fill_null("").str.normalize("NFC")
    if strip_urls_and_mentions:
        out = out.str.replace_all(URL_PATTERN, " ").str.replace_all(MENTION_PATTERN, " ")
    return out.str.replace_all(WHITESPACE_PATTERN, " ").str.strip_chars()


def _visible(config: QualityConfig) -> pl.Expr:
    """Normalised text without the zero-width parts of emoji and glyphs."""
    return normalized_text(pl.col(config.column), config.strip_urls_and_mentions).str.replace_all(
        _IGNORABLE_PATTERN, ""
    )


def length_units(config: QualityConfig) -> pl.Expr:
    """Grapheme-ish length where a CJK character weighs `cjk_char_weight` units."""
    visible = _visible(config)
    cjk = visible.str.count_matches(_CJK_PATTERN).cast(pl.Float64)
    return visible.str.len_chars().cast(pl.Float64) + (config.cjk_char_weight - 1.0) * cjk


def letter_ratio(config: QualityConfig) -> pl.Expr:
    """Letters (any script, with their marks) per visible non-space character; null if none."""
    visible = _visible(config)
    non_space = visible.str.len_chars() - visible.str.count_matches(" ", literal=True)
    letters = visible.str.count_matches(_LETTER_PATTERN)
    return pl.when(non_space > 0).then(letters.cast(pl.Float64) / non_space.cast(pl.Float64))


def _has_run_function(max_run: int) -> Callable[[pl.Series], pl.Series]:
    """A Series -> Series test for a run of more than `max_run` equal characters.

    Python's `re`, because polars' regex engine has no backreferences; the repeat is
    spelled out (`\\1\\1…`) since that is several times faster than `\\1{n}` in CPython.
    """
    pattern = re.compile("(.)" + r"\1" * max_run, re.DOTALL)

    def has_run(texts: pl.Series) -> pl.Series:
        search = pattern.search
        return pl.Series(
            texts.name,
            [t is not None and search(t) is not None for t in texts.to_list()],
            dtype=pl.Boolean,
        )

    return has_run


# --- the rules -------------------------------------------------------------------------


def quality_reasons(config: QualityConfig | None = None) -> list[tuple[str, pl.Expr]]:
    """(reason code, fails expression) per rule, in `REASON_ORDER`; never null.

    The expressions read only `config.column`, so they work on any frame that has it.
    """
    config = config or QualityConfig()
    visible = _visible(config)
    rules: list[tuple[str, pl.Expr]] = [
        (
            REPEATED_CHARS,
            visible.map_batches(
                _has_run_function(config.max_repeat_run),
                return_dtype=pl.Boolean,
                is_elementwise=True,
            ),
        ),
        (SYMBOLS_ONLY, (letter_ratio(config) < config.min_letter_ratio).fill_null(False)),
        (TOO_SHORT, length_units(config) < config.min_chars),
    ]
    if config.max_chars is not None:
        rules.append((TOO_LONG, visible.str.len_chars() > config.max_chars))
    return rules


def quality_reason(config: QualityConfig | None = None) -> pl.Expr:
    """The first failing rule's code, or null when the row is kept."""
    (first_code, first_fails), *rest = quality_reasons(config)
    chain = pl.when(first_fails).then(pl.lit(first_code))
    for code, fails in rest:
        chain = chain.when(fails).then(pl.lit(code))
    return chain.otherwise(pl.lit(None, dtype=pl.String)).alias(REASON_COLUMN)


def apply_quality(
    frame: pl.DataFrame, config: QualityConfig | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Split `frame` into (kept, dropped with `quality_reason`, counts).

    `counts` has `kept`, `dropped` and `dropped_<reason>` for every active rule (zeros
    included, so metadata keeps a stable shape); `kept + dropped == frame.height`.
    """
    config = config or QualityConfig()
    if config.column not in frame.columns:
        raise ValueError(f"frame lacks text column {config.column!r}; has {frame.columns}")
    # Lazy, so the normalisation shared by the rules is computed once (CSE).
    tagged = frame.lazy().with_columns(quality_reason(config)).collect()
    is_kept = pl.col(REASON_COLUMN).is_null()
    kept = tagged.filter(is_kept).drop(REASON_COLUMN)
    dropped = tagged.filter(~is_kept)
    per_reason = dict(dropped.get_column(REASON_COLUMN).value_counts().iter_rows())
    counts = {"kept": kept.height, "dropped": dropped.height}
    for code, _ in quality_reasons(config):
        counts[f"dropped_{code}"] = int(per_reason.get(code, 0))
    return kept, dropped, counts
