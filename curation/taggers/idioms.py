"""Idiom tagging: lexicon entries whose content words co-occur within a small window.

Policy: an idiom is tagged when every slot of a lexicon entry is found in the same clause
(no punctuation in between) within `len(slots) - 1 + gap` tokens of its first slot, in
any order, in a text whose language has a lexicon. Matching is tolerant to inflection
(a stem matches any word that starts with it: "broke" / "breaking" for "break|broke"),
to case and accents, and to word order ("the ice was finally broken"). It does not tell
a literal use from an idiomatic one ("the ship broke the ice"); that is the known cost
of a lexicon, visible as precision in bench/TAGGERS.md.

Terms:

* *entry*: a row of `data/idioms_<lang>.tsv`: `id` (`en.break_the_ice`), `canonical`
  form, `stems`, `source`.
* *slot*: one space-separated part of `stems`; `a|b` are alternatives; a plain stem is a
  prefix (at least 3 letters), `=word` must match the whole word (short function words,
  or stems that would match too much as prefixes).
* *folded*: lower case, accents removed, ß -> ss, œ -> oe, æ -> ae, for text and stems
  alike.

Pitfalls: Dialect labels of lid.176 are mapped to their standard language
(`LANGUAGE_ALIASES`), so Bavarian text uses the German lexicon. Elided articles are
split off ("l'acqua" matches `acqua`), hyphenated words match whole or in parts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from curation.taggers._common import (
    BREAK,
    DATA_DIR,
    ROW,
    read_table,
    text_view,
    token_frame,
    token_variants,
    with_row_index,
)

OUTPUT_COLUMNS: tuple[str, ...] = ("idioms",)
LANGUAGES: tuple[str, ...] = ("en", "de", "it", "es", "fr")
LANGUAGE_ALIASES: dict[str, str] = {
    "sco": "en",
    "als": "de",
    "bar": "de",
    "nds": "de",
    "lb": "de",
    "pfl": "de",
    "frr": "de",
    "nap": "it",
    "scn": "it",
    "vec": "it",
    "lmo": "it",
    "eml": "it",
    "pms": "it",
    "sc": "it",
    "co": "it",
    "wa": "fr",
    "ast": "es",
    "an": "es",
}
"""lid.176 labels read with another language's lexicon (dialects -> standard language)."""

_VIEW = "__idiom_view"
_LANG = "__idiom_lang"
_PREFIX_KEY = 3


@dataclass(frozen=True)
class IdiomConfig:
    """Knobs of `tag_idioms`; `gap` chosen on the id10m dev files (bench/TAGGERS.md)."""

    gap: int = 2
    """Extra tokens allowed between the slots: the window is `len(slots) - 1 + gap`."""
    language_gaps: dict[str, int] = field(default_factory=lambda: {"de": 4})
    """Per-language `gap`: German puts verbs at the clause end or splits them ("ich
    drücke dir fest die Daumen"), so its slots stand further apart."""
    max_chars: int = 5_000
    """Text is cut to this many characters before matching: bounded cost per row."""
    data_dir: Path = DATA_DIR
    languages: tuple[str, ...] = LANGUAGES

    def __post_init__(self) -> None:
        if self.gap < 0 or any(g < 0 for g in self.language_gaps.values()):
            raise ValueError(f"gaps must be >= 0, got {self.gap}, {self.language_gaps}")


def fold(text: str) -> str:
    """Case- and accent-free form of a lexicon stem; `fold_expr` does the same for text."""
    text = text.lower().replace("ß", "ss").replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))


def fold_expr(expr: pl.Expr) -> pl.Expr:
    """`fold` for a polars string column."""
    return (
        expr.str.replace_all("ß", "ss", literal=True)
        .str.replace_all("œ", "oe", literal=True)
        .str.replace_all("æ", "ae", literal=True)
        .str.normalize("NFD")
        .str.replace_all(r"\p{M}", "")
    )


@lru_cache(maxsize=4)
def load_idioms(data_dir: Path = DATA_DIR, languages: tuple[str, ...] = LANGUAGES) -> pl.DataFrame:
    """All entries: `lang`, `id`, `canonical`, `stems`, `source` (validated once per process)."""
    frames = []
    for lang in languages:
        frame = read_table(
            data_dir / f"idioms_{lang}.tsv",
            {"id": pl.String, "canonical": pl.String, "stems": pl.String, "source": pl.String},
        ).with_columns(pl.lit(lang).alias("lang"))
        frames.append(frame)
    table = pl.concat(frames).select("lang", "id", "canonical", "stems", "source")
    problems: list[str] = []
    if table.get_column("id").is_duplicated().any():
        dup = table.filter(pl.col("id").is_duplicated()).get_column("id").unique().to_list()
        problems.append(f"duplicate ids {dup[:5]}")
    for ident, stems, source in table.select("id", "stems", "source").iter_rows():
        if not source:
            problems.append(f"{ident}: no source")
        for slot in (stems or "").split():
            for alt in slot.split("|"):
                word = fold(alt.removeprefix("="))
                if not word or (not alt.startswith("=") and len(word) < _PREFIX_KEY):
                    problems.append(f"{ident}: prefix stem {alt!r} shorter than {_PREFIX_KEY}")
        if not (stems or "").split():
            problems.append(f"{ident}: no stems")
    if problems:
        raise ValueError(f"idiom lexicon invalid: {problems[:5]}")
    return table


@lru_cache(maxsize=4)
def _stem_table(data_dir: Path, languages: tuple[str, ...]) -> pl.DataFrame:
    """One row per stem alternative: lang, id, slot, alt (folded), exact, key, n_slots."""
    rows: list[tuple[str, str, int, str, bool, int]] = []
    for lang, ident, stems in (
        load_idioms(data_dir, languages).select("lang", "id", "stems").iter_rows()
    ):
        slots = stems.split()
        for index, slot in enumerate(slots):
            for alt in slot.split("|"):
                exact = alt.startswith("=")
                word = fold(alt.removeprefix("="))
                rows.append((lang, ident, index, word, exact, len(slots)))
    return pl.DataFrame(
        rows,
        schema={
            "lang": pl.String,
            "id": pl.String,
            "slot": pl.Int32,
            "alt": pl.String,
            "exact": pl.Boolean,
            "n_slots": pl.Int32,
        },
        orient="row",
    ).with_columns(pl.col("alt").str.slice(0, _PREFIX_KEY).alias("key3"))


def _languages(base: pl.DataFrame, column: str, language_column: str) -> pl.Series:
    """The lexicon language of each row (lid.176 label, dialects mapped to the standard)."""
    if language_column in base.columns:
        labels = base.get_column(language_column).cast(pl.String)
    else:
        from curation.langid import LangIdConfig, identify_language

        labels = identify_language(
            base.select(column), column, LangIdConfig(dialect_mass=False)
        ).get_column("language")
    return labels.replace(LANGUAGE_ALIASES).alias(_LANG)


def tag_idioms(
    frame: pl.DataFrame,
    column: str = "text",
    language_column: str = "language",
    config: IdiomConfig | None = None,
) -> pl.DataFrame:
    """`frame` plus `idioms`: the sorted ids of the lexicon idioms found in each row.

    Rows whose language has no lexicon (or `und`) get an empty list. When the language
    column is missing, language is identified here and not added.
    """
    config = config or IdiomConfig()
    stems = _stem_table(config.data_dir, config.languages)
    base = with_row_index(frame, column, OUTPUT_COLUMNS)
    work = base.select(
        ROW,
        fold_expr(text_view(column, config.max_chars)).alias(_VIEW),
        _languages(base, column, language_column),
    ).filter(pl.col(_LANG).is_in(list(config.languages)))
    tokens = token_frame(work, _VIEW).with_columns(
        (pl.col("tok") == BREAK).cum_sum().over(ROW).alias("seg")
    )
    occurrences = (
        token_variants(tokens)
        .join(tokens.select(ROW, "pos", "seg"), on=[ROW, "pos"])
        .join(work.select(ROW, _LANG), on=ROW)
        .with_columns(pl.col("key").str.slice(0, _PREFIX_KEY).alias("key3"))
        .join(stems, left_on=[_LANG, "key3"], right_on=["lang", "key3"])
        .filter(
            pl.when(pl.col("exact"))
            .then(pl.col("key") == pl.col("alt"))
            .otherwise(pl.col("key").str.starts_with(pl.col("alt")))
        )
        .select(ROW, "id", "slot", "n_slots", "pos", "seg", _LANG)
        .unique()
    )
    gap = pl.col(_LANG).replace_strict(
        config.language_gaps, default=config.gap, return_dtype=pl.Int32
    )
    window = pl.col("n_slots") - 1 + gap
    anchors = occurrences.filter(pl.col("slot") == 0).select(
        ROW, "id", "n_slots", pl.col("pos").alias("anchor"), "seg", _LANG
    )
    found = (
        anchors.join(occurrences.drop("n_slots", _LANG), on=[ROW, "id", "seg"])
        .filter((pl.col("pos") - pl.col("anchor")).abs() <= window)
        .group_by(ROW, "id", "anchor")
        .agg(
            pl.col("n_slots").first(),
            pl.col("slot").n_unique().alias("slots"),
            pl.col("pos").n_unique().alias("positions"),
        )
        .filter((pl.col("slots") == pl.col("n_slots")) & (pl.col("positions") >= pl.col("n_slots")))
        .group_by(ROW)
        .agg(pl.col("id").unique().sort().alias("idioms"))
    )
    return (
        base.join(found, on=ROW, how="left", maintain_order="left")
        .with_columns(pl.col("idioms").fill_null(pl.lit([], pl.List(pl.String))))
        .drop(ROW)
    )


def idiom_lexicon(config: IdiomConfig | None = None) -> pl.DataFrame:
    """The entries behind the ids in `idioms`: lang, id, canonical, stems, source."""
    config = config or IdiomConfig()
    return load_idioms(config.data_dir, config.languages)
