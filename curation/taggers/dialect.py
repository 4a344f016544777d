"""Dialect and regional-variety tagging: lexicon markers plus lid.176's dialect labels.

Policy: a row is tagged with a variety only on positive evidence (characteristic words,
spellings or verb forms of that variety, and/or lid.176's probability for the variety's
own label), never because the text merely looks non-standard. Standard-language text
must stay untagged: that is what makes `dialect_subset` worth having.

Terms:

* *variety*: a code from `data/dialect_varieties.tsv` (`gsw` Swiss German, `gsw-FR`
  Alsatian, `bar`, `nds`, `de-AT`, `sco`, `en-IE`, `nl-BE`, `fr-BE`, `fr-CH`, `fr-CA`,
  `es-x-andalus`, `es-AR`, `es-MX`, `nap`, `scn`, `vec`, `lij`, `lmo`, `pms`, `eml`,
  `fur`, `lld`, `sc`). Its `kind` is `dialect` or `regional` (a regional standard or
  colloquial usage, e.g. Quebec French), so consumers can keep dialects only.
* *marker*: a row of `data/dialect_markers.tsv`: a word or phrase, or a regex over
  single tokens (`regex`) or 2-/3-grams (`regex2`, `regex3`), with a weight (1.0 is
  enough on its own). A marker with scope `home` counts only when the row is *at home*
  for the variety (below): short or ambiguous words ("de", "mi", "is") are dialect
  evidence in German text and ordinary words elsewhere. Scope `any` markers are
  spellings no standard language has, and count everywhere (times `abroad_factor`
  outside home), because dialect text is often mislabelled: Ligurian as Catalan, Low
  Saxon as Dutch, Alsatian as Catalan or English.
* *marker score* `m`: the summed weights of the distinct markers found.
* *lid evidence*: lid.176's probability for the variety's own label (`als`, `bar`,
  `nds`, `scn`, `nap`, `vec`, `lmo`, `pms`, `eml`, `sc`, `sco`, `vls`, `wa`) gives `p`;
  the other dialect labels of its language group give `g` (only when markers were
  found: Ligurian, which lid.176 has no label for, is read as Lombard or Piedmontese).
  Both are multiplied by `lid_gain`, scaled down on texts under `lid_full_letters`
  letters and capped at `lid_cap`, so markers still separate varieties that share a
  label (`als` is both Swiss German and Alsatian).
* `dialect_confidence = 1 - (1 - m / (1 + m)) * (1 - p) * (1 - g)`: one full-weight
  marker, or a lid.176 probability of `0.5 / lid_gain` on a long enough text, reaches
  0.5; evidence adds up. The best variety (ties: more marker weight, then file order) is
  named when its confidence reaches `threshold`; otherwise `dialect` is null and the
  confidence and evidence of the best candidate are still reported, so near misses can
  be inspected.
* *at home*: a row is at home for a variety when lid.176's top label is one of the
  variety's home languages, or when lid.176 gives the variety's group at least
  `lid_home_mass` of dialect probability (dialect text often gets an odd top label).

Pitfalls:

* Matching is token joins, not a regex per row (see `_common`): a marker is a whole
  token, or one of its parts around an apostrophe or hyphen (`l'`, `amica`).
* lid.176 is asked for per-label probabilities only for rows whose
  `language_dialect_mass` (from `curation.langid.identify_language`) is at least
  `lid_min_mass`, so the model runs on a small share of a real corpus. Without that
  column every row with letters is asked.
* lid.176 has no label for Ligurian, Friulian or Ladin, and one label (`als`) for both
  Swiss German and Alsatian: these are told apart by markers alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.taggers._common import (
    DATA_DIR,
    ROW,
    ngram_frame,
    read_table,
    text_view,
    token_frame,
    token_variants,
    with_row_index,
)

OUTPUT_COLUMNS: tuple[str, ...] = (
    "dialect",
    "dialect_confidence",
    "dialect_evidence",
    "dialect_prob",
    "variety",
    "variety_prob",
)
MARKERS_FILE = DATA_DIR / "dialect_markers.tsv"
VARIETIES_FILE = DATA_DIR / "dialect_varieties.tsv"
MASS_COLUMN = "language_dialect_mass"

_VIEW = "__dialect_view"
_LANG = "__dialect_lang"
_MASS = "__dialect_mass"


@dataclass(frozen=True)
class DialectConfig:
    """Knobs of `tag_dialect`; defaults chosen on the tune splits (bench/TAGGERS.md)."""

    threshold: float = 0.5
    """Confidence needed to name a variety."""
    abroad_factor: float = 1.0
    """Weight of a scope-`any` marker when lid.176 names none of the variety's home languages."""
    use_lid: bool = True
    """Add lid.176's per-label probabilities as evidence (one model call per unique text)."""
    lid_gain: float = 2.0
    """Multiplier on lid.176's label probability before it is combined with markers."""
    lid_min_mass: float = 0.05
    """Rows whose dialect mass is below this are not asked for per-label probabilities."""
    lid_home_mass: float = 0.1
    """lid.176 dialect mass of a language group that makes a row count as at home for the
    group's varieties whatever its top label (Ligurian labelled Catalan or French)."""
    lid_cap: float = 0.9
    """lid.176 evidence never exceeds this, so markers still rank varieties that share a
    label (`als` is both Swiss German and Alsatian)."""
    unlabelled_share: float = 0.5
    """Share of its group's lid.176 dialect mass credited to a variety lid.176 has no
    label for (Ligurian, Friulian, Ladin, the regional varieties), when it has markers."""
    lid_full_letters: int = 30
    """lid.176 evidence is scaled by letters / this (capped at 1): on a few words its
    dialect labels are noise ("dat is correct." gets nds 0.26)."""
    max_chars: int = 2_000
    """Text is cut to this many characters before matching: bounded cost per row."""
    use_model: bool = True
    """Add the statistical heads (`curation/taggers/model.py`): dialect vs standard for
    German and Italian, regional variety for de, en, es, pt and fr."""
    markers_path: Path = MARKERS_FILE
    varieties_path: Path = VARIETIES_FILE

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 <= self.abroad_factor <= 1.0:
            raise ValueError(f"abroad_factor must be in [0, 1], got {self.abroad_factor}")
        if self.lid_gain < 0.0:
            raise ValueError(f"lid_gain must be >= 0, got {self.lid_gain}")


@dataclass(frozen=True)
class _Lexicon:
    varieties: pl.DataFrame  # code, name, language, kind, order
    lid_map: pl.DataFrame  # label, variety
    homes: pl.DataFrame  # variety, lang
    words: pl.DataFrame  # marker_id, key, n
    regexes: pl.DataFrame  # marker_id, kind, pattern
    markers: pl.DataFrame  # marker_id, variety, weight, min_count, scope


@lru_cache(maxsize=4)
def load_lexicon(
    markers_path: Path = MARKERS_FILE, varieties_path: Path = VARIETIES_FILE
) -> _Lexicon:
    """Read and validate the two data files once per process."""
    varieties = read_table(
        varieties_path,
        {
            "code": pl.String,
            "name": pl.String,
            "language": pl.String,
            "kind": pl.String,
            "lid_labels": pl.String,
            "home_languages": pl.String,
        },
    ).with_row_index("order")
    codes = set(varieties.get_column("code").to_list())
    if len(codes) != varieties.height:
        raise ValueError(f"{varieties_path.name}: duplicate variety codes")
    bad_kind = set(varieties.get_column("kind").to_list()) - {"dialect", "regional"}
    if bad_kind:
        raise ValueError(f"{varieties_path.name}: unknown kinds {sorted(bad_kind)}")

    def exploded(column: str, alias: str) -> pl.DataFrame:
        return (
            varieties.select(
                pl.col("code").alias("variety"),
                pl.col(column).fill_null("").str.split(",").alias(alias),
            )
            .explode(alias)
            .with_columns(pl.col(alias).str.strip_chars())
            .filter(pl.col(alias) != "")
        )

    markers = (
        read_table(
            markers_path,
            {
                "variety": pl.String,
                "kind": pl.String,
                "marker": pl.String,
                "weight": pl.Float64,
                "min_count": pl.Int32,
                "scope": pl.String,
                "source": pl.String,
            },
        )
        .with_row_index("marker_id")
        .with_columns(pl.col("marker").str.to_lowercase())
    )
    unknown = set(markers.get_column("variety").to_list()) - codes
    if unknown:
        raise ValueError(f"{markers_path.name}: varieties not in {varieties_path.name}: {unknown}")
    bad = markers.filter(
        ~pl.col("kind").is_in(["word", "regex", "regex2", "regex3"])
        | ~pl.col("scope").is_in(["any", "home"])
        | ~pl.col("weight").is_between(0.0, 2.0)
        | (pl.col("min_count") < 1)
        | pl.col("source").is_null()
    )
    if bad.height:
        raise ValueError(f"{markers_path.name}: invalid rows {bad.head(3).to_dicts()}")
    words = markers.filter(pl.col("kind") == "word").select(
        "marker_id",
        pl.col("marker").alias("key"),
        (pl.col("marker").str.count_matches(" ", literal=True) + 1).cast(pl.Int8).alias("n"),
    )
    regexes = markers.filter(pl.col("kind") != "word").select(
        "marker_id", "kind", pl.col("marker").alias("pattern")
    )
    return _Lexicon(
        varieties=varieties.select("code", "name", "language", "kind", "order"),
        lid_map=exploded("lid_labels", "label"),
        homes=exploded("home_languages", "lang"),
        words=words,
        regexes=regexes,
        markers=markers.select("marker_id", "variety", "weight", "min_count", "scope"),
    )


def varieties() -> pl.DataFrame:
    """The varieties the tagger can name: code, name, language, kind."""
    return load_lexicon().varieties.drop("order")


# Classes of the regional-variety model that the lexicon file does not name.
MODEL_VARIETY_NAMES: dict[str, tuple[str, str]] = {
    "de-DE": ("German as written in Germany", "de"), "de-CH": ("Swiss Standard German", "de"),
    "en-GB": ("British English", "en"), "en-other": ("English, not British or Irish", "en"),
    "es-ES": ("Spanish as written in Spain", "es"), "es-419": ("Latin American Spanish", "es"),
    "pt-PT": ("European Portuguese", "pt"), "pt-BR": ("Brazilian Portuguese", "pt"),
    "fr-FR": ("French as written in France", "fr"),
}


def variety_legend(codes: list[str]) -> pl.DataFrame:
    """Code → name, language, kind for the given codes (the UI's legend of a subset's tags);
    a code neither the lexicon nor the model names says so rather than vanish."""
    model = pl.DataFrame([{"code": c, "name": n, "language": lang, "kind": "regional (model class)"}
                          for c, (n, lang) in MODEL_VARIETY_NAMES.items()])
    known = pl.concat([varieties().select("code", "name", "language", "kind"), model]).unique("code", keep="first")
    wanted = pl.DataFrame({"code": sorted(set(codes))}, schema={"code": pl.String})
    return wanted.join(known, on="code", how="left").with_columns(
        pl.col("name").fill_null("(unknown code)"), pl.col("language").fill_null("-"), pl.col("kind").fill_null("-"))


# --- lid.176 per-label probabilities ---------------------------------------------------


@lru_cache(maxsize=2)
def _fasttext(path: str) -> Any:
    """lid.176.ftz loaded once; the same file and binding as `curation.langid`, no download."""
    import fasttext_pybind

    model = fasttext_pybind.fasttext()
    model.loadModel(path)
    return model


def lid_label_probs(texts: list[str], labels: frozenset[str]) -> pl.DataFrame:
    """`__key`, `label`, `prob` for the wanted labels (one model call per text).

    `curation.langid` reports the summed dialect mass only; naming a variety needs the
    individual labels, so candidate texts (already deduplicated) are asked again.
    """
    from curation.langid import bundled_model_path

    predict = _fasttext(str(bundled_model_path())).predict
    wanted = {"__label__" + label: label for label in labels}
    keys: list[str] = []
    out_labels: list[str] = []
    probs: list[float] = []
    for text in texts:
        for prob, label in predict(text + "\n", -1, 1e-3, "strict"):
            short = wanted.get(label)
            if short is not None:
                keys.append(text)
                out_labels.append(short)
                probs.append(min(float(prob), 1.0))
    return pl.DataFrame(
        {"__key": keys, "label": out_labels, "prob": probs},
        schema={"__key": pl.String, "label": pl.String, "prob": pl.Float64},
    )


GROUP_ONLY_LABELS: dict[str, str] = {"lb": "de", "pfl": "de", "frr": "de", "li": "nl"}
"""lid.176 dialect labels that name no variety of ours but show that a text is a
non-standard variety of that language (Luxembourgish, Palatine, North Frisian, Limburgish)."""


def _lid_evidence(
    work: pl.DataFrame, column: str, lex: _Lexicon, config: DialectConfig
) -> pl.DataFrame:
    """`ROW`, `variety`, `p`, `g`, `lid_note` from lid.176's dialect labels.

    `p` is the probability of the variety's own labels. `g` is group evidence, used only
    with markers: for a variety lid.176 has no label for (Ligurian is read as Lombard or
    Piedmontese) `unlabelled_share` of its language group's dialect mass; for the others
    the mass of the group-only labels (Alsatian read as Luxembourgish). Both times
    `lid_gain`, scaled down on short texts, capped at `lid_cap`.
    """
    from curation.langid import clean_for_model

    label_group = pl.concat(
        [
            lex.lid_map.join(
                lex.varieties.select(pl.col("code").alias("variety"), "language"), on="variety"
            ).select("label", pl.col("language").alias("group")),
            pl.DataFrame(
                {"label": list(GROUP_ONLY_LABELS), "group": list(GROUP_ONLY_LABELS.values())}
            ),
        ]
    ).unique()
    labels = frozenset(label_group.get_column("label").to_list())
    has_mass = work.get_column(_MASS).null_count() < work.height
    candidates = (
        work.filter(
            pl.col(_LANG).is_in(list(labels))
            | (pl.col(_MASS) >= config.lid_min_mass if has_mass else pl.lit(True))
        )
        .select(ROW, clean_for_model(pl.col(column)).alias("__key"))
        .with_columns(pl.col("__key").str.count_matches(r"\p{L}").alias("__letters"))
        .filter(pl.col("__letters") >= 3)
    )
    if candidates.height == 0:
        return pl.DataFrame(
            schema={
                ROW: pl.UInt32,
                "variety": pl.String,
                "p": pl.Float64,
                "g": pl.Float64,
                "lid_home": pl.Boolean,
                "lid_note": pl.String,
            }
        )
    probs = lid_label_probs(candidates.get_column("__key").unique().to_list(), labels)
    scale = config.lid_gain * (pl.col("__letters") / config.lid_full_letters).clip(0.0, 1.0)
    per_label = candidates.join(probs, on="__key").join(label_group, on="label")
    groups = (
        per_label.sort("prob", descending=True)
        .group_by(ROW, "group")
        .agg(
            pl.col("prob").sum().alias("group_prob"),
            pl.col("prob")
            .filter(pl.col("label").is_in(list(GROUP_ONLY_LABELS)))
            .sum()
            .alias("free_prob"),
            pl.format("lid.176:{}={}", pl.col("label"), pl.col("prob").round(2))
            .first()
            .alias("lid_note"),
            pl.col("__letters").first(),
        )
    )
    own = (
        per_label.join(lex.lid_map, on="label")
        .group_by(ROW, "variety")
        .agg(pl.col("prob").sum().alias("own_prob"))
    )
    labelled = lex.lid_map.get_column("variety").unique().to_list()
    group_share = (
        pl.when(pl.col("variety").is_in(labelled))
        .then(pl.col("free_prob"))
        .otherwise(pl.col("group_prob") * config.unlabelled_share)
    )
    return (
        groups.join(
            lex.varieties.select(
                pl.col("code").alias("variety"), pl.col("language").alias("group")
            ),
            on="group",
        )
        .join(own, on=[ROW, "variety"], how="left")
        .with_columns(pl.col("own_prob").fill_null(0.0))
        .select(
            ROW,
            "variety",
            (pl.col("own_prob") * scale).clip(0.0, config.lid_cap).alias("p"),
            (group_share * scale).clip(0.0, config.lid_cap).alias("g"),
            (pl.col("group_prob") >= config.lid_home_mass).alias("lid_home"),
            "lid_note",
        )
    )


# --- marker matching -------------------------------------------------------------------


def _marker_hits(work: pl.DataFrame, lex: _Lexicon) -> pl.DataFrame:
    """`ROW`, `marker_id`, `pos`, `evidence`: every marker occurrence in every row."""
    tokens = token_frame(work, _VIEW)
    hits: list[pl.DataFrame] = []
    single = lex.words.filter(pl.col("n") == 1)
    if single.height:
        hits.append(
            token_variants(tokens)
            .join(single.select("marker_id", "key"), on="key")
            .select(ROW, "marker_id", "pos", pl.col("key").alias("evidence"))
        )
    grams = ngram_frame(tokens)
    phrases = lex.words.filter(pl.col("n") > 1)
    if phrases.height:
        hits.append(
            grams.filter(pl.col("n") > 1)
            .join(phrases.select("marker_id", pl.col("key").alias("gram")), on="gram")
            .select(ROW, "marker_id", "pos", pl.col("gram").alias("evidence"))
        )
    for kind, source, key in (
        ("regex", tokens, "tok"),
        ("regex2", grams.filter(pl.col("n") == 2), "gram"),
        ("regex3", grams.filter(pl.col("n") == 3), "gram"),
    ):
        patterns = lex.regexes.filter(pl.col("kind") == kind)
        if not patterns.height:
            continue
        unique = source.select(pl.col(key).unique())
        matched = pl.concat(
            [
                unique.filter(pl.col(key).str.contains(pattern)).with_columns(
                    pl.lit(marker_id, pl.UInt32).alias("marker_id")
                )
                for marker_id, pattern in patterns.select("marker_id", "pattern").iter_rows()
            ]
        )
        hits.append(
            source.join(matched, on=key).select(
                ROW, "marker_id", "pos", pl.col(key).alias("evidence")
            )
        )
    return pl.concat(hits)


def _marker_scores(
    work: pl.DataFrame, lex: _Lexicon, config: DialectConfig, lid_home: pl.DataFrame
) -> pl.DataFrame:
    """`ROW`, `variety`, `m`, `evidence` (distinct markers, weighted by scope and language).

    A row is at home for a variety when its language is one of the variety's home
    languages, or when lid.176 gives the variety's language group at least
    `lid_home_mass` of dialect probability (`lid_home`: `ROW`, `variety`).
    """
    per_marker = (
        _marker_hits(work, lex)
        .group_by(ROW, "marker_id")
        .agg(
            pl.col("pos").n_unique().alias("count"),
            pl.col("evidence").unique(maintain_order=True).head(3),
        )
        .join(lex.markers, on="marker_id")
        .filter(pl.col("count") >= pl.col("min_count"))
        .join(work.select(ROW, _LANG), on=ROW)
        .join(
            lex.homes.with_columns(pl.lit(True).alias("home")),
            left_on=["variety", _LANG],
            right_on=["variety", "lang"],
            how="left",
        )
        .join(
            lid_home.with_columns(pl.lit(True).alias("lid_home")), on=[ROW, "variety"], how="left"
        )
        .with_columns(
            pl.when(pl.col("home").fill_null(False) | pl.col("lid_home").fill_null(False))
            .then(pl.col("weight"))
            .when(pl.col("scope") == "any")
            .then(pl.col("weight") * config.abroad_factor)
            .otherwise(0.0)
            .alias("w")
        )
        .filter(pl.col("w") > 0)
    )
    return per_marker.group_by(ROW, "variety").agg(
        pl.col("w").sum().alias("m"),
        pl.col("evidence").explode().unique().sort().alias("evidence"),
    )


def _language_columns(
    base: pl.DataFrame, column: str, language_column: str, config: DialectConfig
) -> pl.DataFrame:
    """`ROW`, `_LANG`, `_MASS`: from the frame when present, else from `identify_language`."""
    if language_column in base.columns:
        mass = pl.col(MASS_COLUMN) if MASS_COLUMN in base.columns else pl.lit(None, pl.Float64)
        return base.select(
            ROW,
            pl.col(language_column).cast(pl.String).fill_null("und").alias(_LANG),
            mass.cast(pl.Float64).alias(_MASS),
        )
    from curation.langid import LangIdConfig, identify_language

    identified = identify_language(
        base.select(ROW, column), column, LangIdConfig(dialect_mass=config.use_lid)
    )
    return identified.select(
        ROW, pl.col("language").alias(_LANG), pl.col("language_dialect_mass").alias(_MASS)
    )


# --- the statistical heads ----------------------------------------------------------------

DIALECT_HEAD_LANGUAGES: dict[str, frozenset[str]] = {
    "de": frozenset({"de", "als", "bar", "nds", "lb", "pfl", "frr"}),
    "it": frozenset({"it", "nap", "scn", "vec", "lmo", "eml", "pms", "sc", "co"}),
}
"""lid.176 labels whose rows the dialect-vs-standard head of a language reads."""
VARIETY_HEAD_LANGUAGES: dict[str, frozenset[str]] = {
    "de": frozenset({"de"}),
    "en": frozenset({"en", "sco"}),
    "es": frozenset({"es"}),
    "pt": frozenset({"pt"}),
    "fr": frozenset({"fr"}),
}
"""lid.176 labels whose rows the regional-variety head of a language reads."""
UNTAGGED_VARIETIES: frozenset[str] = frozenset({"de-DE", "en-other"})
"""Variety-head classes that never name a `dialect` (the reference standard, or the
catch-all of other countries)."""


def _model_columns(work: pl.DataFrame, column: str) -> pl.DataFrame:
    """`ROW`, `m_dialect`, `dialect_prob`, `variety`, `variety_prob`, `m_variety`.

    `dialect_prob` is the calibrated probability that a German- or Italian-labelled row
    is dialect (1 - P(standard)); `m_dialect` names the head's most probable dialect
    when `dialect_prob` reaches the head's threshold (precision 0.80 for a corpus with 5 %
    dialect rows, bench/TAGGERS.md). `variety` is the variety
    head's class (with `variety_prob`, calibrated) for rows of its languages, and
    `m_variety` the class when it may name a `dialect` and reaches its threshold.
    """
    from curation.taggers.model import featurize_cached, load_model, subset_rows

    model = load_model()
    n = work.height
    langs = work.get_column(_LANG).to_numpy()
    m_dialect = np.full(n, None, dtype=object)
    dialect_prob = np.full(n, np.nan)
    variety = np.full(n, None, dtype=object)
    variety_prob = np.full(n, np.nan)
    m_variety = np.full(n, None, dtype=object)
    covered = set().union(*DIALECT_HEAD_LANGUAGES.values(), *VARIETY_HEAD_LANGUAGES.values())
    rows_all = np.flatnonzero(np.isin(langs, list(covered)))
    if rows_all.size:
        feats = featurize_cached(work.get_column(column))  # all rows: tag_humor reuses them
        position = np.arange(n)
        for heads, kind in ((DIALECT_HEAD_LANGUAGES, "dialect"), (VARIETY_HEAD_LANGUAGES, "variety")):
            for lang, labels in heads.items():
                rows = np.flatnonzero(np.isin(langs, list(labels)))
                if not rows.size:
                    continue
                head = model.head(f"{kind}_{lang}")
                sub = subset_rows(feats, position[rows])
                pred, prob = head.predict(sub)
                names = np.array(head.classes, dtype=object)[pred]
                limits = np.array([head.thresholds.get(c, 2.0) for c in head.classes])[pred]
                named = prob >= limits
                if kind == "dialect":
                    # one threshold on P(not standard); the most probable dialect is named
                    full = head.proba(sub)
                    dialect_prob[rows] = 1.0 - full[:, 0]
                    best = np.array(head.classes, dtype=object)[1 + full[:, 1:].argmax(axis=1)]
                    named = dialect_prob[rows] >= head.thresholds.get("dialect", 2.0)
                    m_dialect[rows] = np.where(named, best, None)
                else:
                    variety[rows] = names
                    variety_prob[rows] = prob
                    may = ~np.isin(names, list(UNTAGGED_VARIETIES))
                    m_variety[rows] = np.where(named & may, names, None)
    return pl.DataFrame(
        {
            ROW: work.get_column(ROW),
            "m_dialect": pl.Series(m_dialect.tolist(), dtype=pl.String),
            "dialect_prob": pl.Series(dialect_prob, dtype=pl.Float64).fill_nan(None),
            "variety": pl.Series(variety.tolist(), dtype=pl.String),
            "variety_prob": pl.Series(variety_prob, dtype=pl.Float64).fill_nan(None),
            "m_variety": pl.Series(m_variety.tolist(), dtype=pl.String),
        }
    )


def tag_dialect(
    frame: pl.DataFrame,
    column: str = "text",
    language_column: str = "language",
    config: DialectConfig | None = None,
) -> pl.DataFrame:
    """`frame` plus `dialect` (variety code or null), `dialect_confidence`, `dialect_evidence`.

    Row order and other columns are kept; existing output columns are replaced. The
    language column (lid.176 labels, from `identify_language`) decides which markers
    count fully; when it is missing, language is identified here and not added.
    """
    config = config or DialectConfig()
    lex = load_lexicon(config.markers_path, config.varieties_path)
    base = with_row_index(frame, column, OUTPUT_COLUMNS)
    work = base.select(ROW, column, text_view(column, config.max_chars).alias(_VIEW)).join(
        _language_columns(base, column, language_column, config), on=ROW
    )
    if config.use_lid:
        lid = _lid_evidence(work, column, lex, config)
        lid_home = lid.filter(pl.col("lid_home")).select(ROW, "variety")
        scores = _marker_scores(work, lex, config, lid_home).join(
            lid.drop("lid_home"), on=[ROW, "variety"], how="full", coalesce=True
        )
    else:
        no_lid = pl.DataFrame(schema={ROW: pl.UInt32, "variety": pl.String})
        scores = _marker_scores(work, lex, config, no_lid).with_columns(
            pl.lit(None, pl.Float64).alias("p"),
            pl.lit(None, pl.Float64).alias("g"),
            pl.lit(None, pl.String).alias("lid_note"),
        )
    m = pl.col("m").fill_null(0.0)
    p = pl.col("p").fill_null(0.0)
    g = pl.when(m > 0).then(pl.col("g").fill_null(0.0)).otherwise(0.0)
    best = (
        scores.with_columns(
            (1.0 - (1.0 / (1.0 + m)) * (1.0 - p) * (1.0 - g)).clip(0.0, 1.0).alias("conf")
        )
        .join(lex.varieties.select(pl.col("code").alias("variety"), "order"), on="variety")
        .sort([ROW, "conf", "m", "order"], descending=[False, True, True, False], nulls_last=True)
        .group_by(ROW, maintain_order=True)
        .first()
        .select(
            ROW,
            pl.when(pl.col("conf") >= config.threshold).then(pl.col("variety")).alias("dialect"),
            pl.col("conf").alias("dialect_confidence"),
            pl.concat_list(
                [
                    pl.col("evidence").fill_null(pl.lit([], pl.List(pl.String))),
                    pl.when((p > 0) | (g > 0)).then(pl.col("lid_note")),
                ]
            )
            .list.drop_nulls()
            .alias("dialect_evidence"),
        )
    )
    out = base.join(best, on=ROW, how="left", maintain_order="left").with_columns(
        pl.col("dialect_confidence").fill_null(0.0),
        pl.col("dialect_evidence").fill_null(pl.lit([], pl.List(pl.String))),
    )
    if not config.use_model:
        return out.with_columns(
            pl.lit(None, pl.Float64).alias("dialect_prob"),
            pl.lit(None, pl.String).alias("variety"),
            pl.lit(None, pl.Float64).alias("variety_prob"),
        ).drop(ROW)
    # markers first (precise, and they name varieties the heads do not know), then the
    # dialect head, then the variety head; each model name shows its probability.
    model_name = pl.coalesce("m_dialect", "m_variety")
    model_p = pl.when(pl.col("m_dialect").is_not_null()).then("dialect_prob").otherwise(
        "variety_prob"
    )
    from_model = pl.col("dialect").is_null() & model_name.is_not_null()
    return (
        out.join(_model_columns(work.select(ROW, column, _LANG), column), on=ROW, how="left",
                 maintain_order="left")
        .with_columns(
            pl.when(from_model).then(model_name).otherwise("dialect").alias("dialect"),
            pl.when(from_model).then(model_p).otherwise("dialect_confidence")
            .alias("dialect_confidence"),
            pl.when(from_model)
            .then(pl.col("dialect_evidence").list.concat(
                pl.concat_list(pl.format("model:{}={}", model_name, model_p.round(2)))))
            .otherwise("dialect_evidence")
            .alias("dialect_evidence"),
        )
        .drop(ROW, "m_dialect", "m_variety")
    )
