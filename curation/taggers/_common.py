"""Shared pieces of the taggers: the text view they read, tokens, n-grams, data files.

Why tokens and joins instead of one big regex: a case-insensitive alternation of ~1,400
words with Unicode word boundaries runs at ~6 k texts/s in polars (no DFA), while
splitting into tokens once and hash-joining them to the lexicon tables runs at over
500 k texts/s. Patterns that are not plain words are matched against the *unique*
tokens (or n-grams), which are few compared with the rows.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.quality import normalized_text

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Lexicons and the irony model, read at run time (never eval data)."""

ROW = "__tagger_row"
"""Private row-index column; dropped before a tagger returns."""

WORD_PATTERN = r"'?[\p{L}\p{M}]+(?:['\-][\p{L}\p{M}]+)*'?"
"""A word with inner apostrophes and hyphens kept (l'é, c'est-tu, a-o) and a leading or
trailing elision apostrophe kept ('o, dint'), because dialect spelling lives there."""
BREAK_PATTERN = r"[.,;:!?()\[\]{}\"«»„“”…|/\n]+"
BREAK = "|"
"""Punctuation is kept as a `|` token so that phrases and idioms never span a comma or a
sentence end ("(… al 1949), è" is not the Friulian "al è")."""
TOKEN_PATTERN = WORD_PATTERN + "|" + BREAK_PATTERN

MAX_NGRAM = 3


def text_view(column: str, max_chars: int) -> pl.Expr:
    """The lower-cased text the lexicons are matched against.

    Links and @mentions are not language; curly apostrophes are folded to ASCII so that
    one spelling of "l'è" matches both; long texts are cut so one post cannot cost much.
    """
    return (
        normalized_text(pl.col(column))
        .str.slice(0, max_chars)
        .str.replace_all("’", "'", literal=True)
        .str.replace_all("`", "'", literal=True)
        .str.to_lowercase()
    )


def token_frame(frame: pl.DataFrame, view: str) -> pl.DataFrame:
    """One row per token: `ROW`, `pos` (0-based), `tok` (edge apostrophes kept; `BREAK`
    stands for a run of punctuation)."""
    return (
        frame.select(ROW, pl.col(view).str.extract_all(TOKEN_PATTERN).alias("tok"))
        .explode("tok")
        .drop_nulls("tok")
        .with_columns(
            pl.int_range(pl.len()).over(ROW).cast(pl.Int32).alias("pos"),
            pl.when(pl.col("tok").str.contains(r"^[\p{L}\p{M}']"))
            .then(pl.col("tok"))
            .otherwise(pl.lit(BREAK))
            .alias("tok"),
        )
    )


def ngram_frame(tokens: pl.DataFrame, max_n: int = MAX_NGRAM) -> pl.DataFrame:
    """`ROW`, `pos`, `n`, `gram`: tokens (edge apostrophes stripped) and their 2..max_n-grams.

    Tokens are exploded in row order, so a shift plus a same-row test replaces a window
    function.
    """
    bare = tokens.with_columns(pl.col("tok").str.strip_chars("'-").alias("w"))
    parts = [bare.select(ROW, "pos", pl.lit(1, pl.Int8).alias("n"), pl.col("w").alias("gram"))]
    for n in range(2, max_n + 1):
        same_row = pl.col(ROW).shift(-(n - 1)) == pl.col(ROW)
        gram = pl.concat_str([pl.col("w").shift(-k) for k in range(n)], separator=" ")
        parts.append(
            bare.select(
                ROW,
                "pos",
                pl.lit(n, pl.Int8).alias("n"),
                pl.when(same_row).then(gram).alias("gram"),
            ).drop_nulls("gram")
        )
    return pl.concat(parts).filter(
        (pl.col("gram") != "") & ~pl.col("gram").str.contains(BREAK, literal=True)
    )


def token_variants(tokens: pl.DataFrame) -> pl.DataFrame:
    """`ROW`, `pos`, `key`: each token as written, without edge apostrophes, and its parts.

    "l'amica" yields "l'amica", "l'" and "amica"; "'o" yields "'o" and "o"; "c'est-tu"
    yields "c'est-tu", "c'est" and "tu"; so a lexicon entry may be any of these forms.
    Only the few tokens with an apostrophe or hyphen pay for the splitting.
    """
    tok = pl.col("tok")
    words = tokens.filter(tok != BREAK)
    marked = words.filter(tok.str.contains(r"['\-]"))
    bare = marked.select(ROW, "pos", tok.str.strip_chars("'-").alias("key"))
    elided = marked.select(
        ROW,
        "pos",
        pl.concat_list(
            [
                tok.str.extract(r"^('?[\p{L}\p{M}]+')[\p{L}\p{M}]", 1),
                tok.str.extract(r"^'?[\p{L}\p{M}]+'([\p{L}\p{M}].*)$", 1),
            ]
        ).alias("key"),
    ).explode("key")
    hyphenated = (
        marked.filter(tok.str.contains("-", literal=True))
        .select(ROW, "pos", tok.str.strip_chars("'").str.split("-").alias("key"))
        .explode("key")
    )
    extra = (
        pl.concat([bare, elided, hyphenated])
        .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
        .join(marked.select(ROW, "pos", "tok"), on=[ROW, "pos"])
        .filter(pl.col("key") != pl.col("tok"))
        .select(ROW, "pos", "key")
        .unique()
    )
    return pl.concat([words.select(ROW, "pos", tok.alias("key")), extra])


def read_table(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A tab-separated lexicon with `#` comment lines; every column is read as text first.

    Read without a quote character: idioms and markers contain apostrophes and quotes.
    """
    if not path.is_file():
        raise FileNotFoundError(f"tagger data file missing: {path}")
    frame = pl.read_csv(
        path,
        separator="\t",
        comment_prefix="#",
        quote_char=None,
        infer_schema=False,
        encoding="utf8",
    )
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"{path.name} lacks columns {missing}; has {frame.columns}")
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def with_row_index(frame: pl.DataFrame, column: str, outputs: tuple[str, ...]) -> pl.DataFrame:
    """`frame` without stale output columns, plus the private row index; checks the input."""
    if column not in frame.columns:
        raise ValueError(f"frame lacks text column {column!r}; has {frame.columns}")
    if ROW in frame.columns:
        raise ValueError(f"frame must not contain the private column {ROW!r}")
    return frame.drop([c for c in outputs if c in frame.columns]).with_row_index(ROW)
