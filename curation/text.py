"""Text normalisation for corpus rows, as one polars expression.

Why: the same post reaches us with different invisible bytes (copy-paste from apps,
bidi marks, zero-width spam obfuscation, NFD from macOS keyboards). Dedup, PII
redaction and language id must all see one canonical form, and that form must not
damage any script or emoji a person actually wrote.

The rules, in the order they are applied:

1. **Control characters** (C0 except whitespace, DEL, C1 except U+0085) are removed;
   tab, newline, CR, VT, FF and U+0085 are whitespace and fold to a space in step 4.
2. **Invisible format characters** are removed: U+200B zero-width space, U+2060 word
   joiner, U+FEFF BOM/ZWNBSP, U+00AD soft hyphen, the bidi marks and controls
   (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069), the invisible math
   operators U+2061–U+2064, U+180E and the interlinear annotation marks U+FFF9–U+FFFB.
3. **Joiners** U+200C (ZWNJ) and U+200D (ZWJ) are kept only where they carry meaning,
   removed everywhere else:

   * ZWJ between two emoji (an ``Extended_Pictographic`` character, optionally followed
     by U+FE0F or a skin-tone modifier): family, rainbow flag, profession sequences;
   * ZWNJ or ZWJ between two characters of a *joining script*: Arabic (Persian,
     Urdu), Syriac, Thaana, NKo, Mongolian and the Brahmic scripts (Devanagari …
     Khmer), where they select half forms, conjuncts and non-joining letter forms
     (Persian ``می‌خواهم``, Hindi ``क्‍ष``, Sinhala ``ශ්‍රී``).

   The rule is deliberately local (the two neighbours only), so it is idempotent; a
   joiner between Latin letters (``pass\u200cword``) is obfuscation, not orthography.
   Variation selectors (U+FE0F …), tag characters (subdivision flags) and combining
   marks (keycaps) are never touched.
4. **Unicode NFC**, after removal, because removing an invisible character can leave
   a base letter next to its combining mark (``e`` U+200B U+0301), which only
   composes once the blocker is gone; normalising last keeps the function idempotent.
5. **Whitespace** runs (any Unicode ``White_Space``: NBSP, U+2000–U+200A, U+3000,
   newlines …) fold to one ASCII space, and the ends are stripped.

Pitfall: NFC itself may lengthen a string (U+0344 → U+0308 U+0301, Hebrew
presentation forms); everything after it only removes or shrinks, so the output is
never longer than ``NFC(input)``.
"""

from __future__ import annotations

import polars as pl

# C0 minus \t \n \v \f \r, DEL, C1 minus U+0085 NEL (whitespace, folded later).
_CONTROL = r"\x{00}-\x{08}\x{0E}-\x{1F}\x{7F}-\x{84}\x{86}-\x{9F}"
_INVISIBLE = (
    r"\x{200B}\x{2060}\x{FEFF}\x{00AD}"  # zero-width space, word joiner, BOM, soft hyphen
    r"\x{200E}\x{200F}\x{061C}\x{202A}-\x{202E}\x{2066}-\x{2069}"  # bidi marks/controls
    r"\x{2061}-\x{2064}\x{180E}\x{FFF9}-\x{FFFB}"  # invisible operators, MVS, annotations
)
REMOVE_PATTERN = f"[{_CONTROL}{_INVISIBLE}]+"
"""Characters that are always removed (steps 1 and 2)."""

_JOINING_SCRIPTS = (
    "Arabic",
    "Syriac",
    "Thaana",
    "Nko",
    "Mongolian",
    "Devanagari",
    "Bengali",
    "Gurmukhi",
    "Gujarati",
    "Oriya",
    "Tamil",
    "Telugu",
    "Kannada",
    "Malayalam",
    "Sinhala",
    "Myanmar",
    "Khmer",
)
_JOINING_CHAR = "[" + "".join(rf"\p{{scx={s}}}" for s in _JOINING_SCRIPTS) + "]"
_EMOJI = r"\p{Extended_Pictographic}(?:\x{FE0F}|\p{Emoji_Modifier})?"

JOINER_PATTERN = (
    rf"({_EMOJI}(?:\x{{200D}}{_EMOJI})+)"  # 1: an emoji ZWJ sequence, kept whole
    rf"|({_JOINING_CHAR}(?:[\x{{200C}}\x{{200D}}]{_JOINING_CHAR})+)"  # 2: script joiners
    r"|[\x{200C}\x{200D}]"  # any other joiner: removed
)
"""Leftmost-first alternation: a meaningful run is matched (and put back) before a
stray joiner can be; whole runs are matched so a shared neighbour is never consumed
by the previous match (👨‍👩‍👧 keeps both joiners)."""


WHITESPACE_PATTERN = r"\s{2,}|[\s&&[^ ]]"
"""A whitespace run, or one whitespace character that is not already a plain space
(rewriting every single space would cost as much as the rest of the function)."""


def normalize_text(expr: pl.Expr) -> pl.Expr:
    """Canonical text: invisibles removed, meaningful joiners kept, NFC, one-space runs."""
    return (
        expr.str.replace_all(REMOVE_PATTERN, "")
        .str.replace_all(JOINER_PATTERN, "${1}${2}")
        .str.normalize("NFC")
        .str.replace_all(WHITESPACE_PATTERN, " ")
        .str.strip_chars(" ")
    )


def normalize_frame(frame: pl.DataFrame, column: str = "text") -> pl.DataFrame:
    """Normalise one text column in place; other columns and row order are unchanged."""
    return frame.with_columns(normalize_text(pl.col(column)).alias(column))
