"""Per-day de-duplication fingerprints, computed once from one day's rows (DESIGN.md, Scale).

`day_fingerprints` turns the rows of one UTC day (content_id, platform, created_at, text,
the text already normalised and redacted as `curate()` passes it to `cluster_duplicates`)
into what the persisted index (`curation.dedup_index`) needs, so no earlier day is ever
re-read when a new one arrives. The definitions (canonical text, exact key, near
eligibility, shingles, MinHash/LSH bands) are `curation.dedup`'s, reused, not restated.

Document ids
------------
``doc = date.toordinal() << 32 | rank``, where rank (0-based) orders the day's rows by
(created_at, platform, content_id). Days are UTC dates of created_at, so ordering docs by
id orders them by (created_at, platform, content_id) across all days: the earliest copy
of a cluster is simply its smallest doc id, whatever order days arrive in. Ordinals of
real dates are < 2**20, so ids fit in 52 bits (UInt64, and Int64 without loss). A day
holds at most 2**32 rows. Ids are stable only while the day's rows are: a rebuilt day
with other rows renumbers its own docs, which is why the index replaces a day as a whole.

Hashes (persisted, so they must be stable across machines and library versions)
-------------------------------------------------------------------------------
* `key`: XXH3-128 of the exact key's UTF-8 bytes, 16 bytes in XXH3's canonical
  (big-endian) digest order, computed in Rust by the `polars-hash` plugin (no Python
  loop over rows; ~30x faster than the BLAKE2b loop of `dedup.text_hashes`). XXH3's
  output is frozen by its specification since xxHash 0.8.0; the canonical byte order
  makes it equal to `xxhash.xxh3_128_digest` of any other implementation. 128 bits: a
  key collision would merge two unrelated texts into one cluster (p ~ n**2 / 2**129).
  Null for empty or null text (no exact key: always a singleton).
* `band_key`: `dedup._band_keys` (rensa R-MinHash + splitmix64 over each band's slots,
  seed from the config), mixed with the band number so equal values in two different
  bands are not one bucket. These depend on rensa's MinHash algorithm: the index records
  `FINGERPRINT_VERSION` and the config, and tests pin a value so a rensa upgrade that
  changes sketches fails loudly instead of silently splitting the index.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import polars_hash as plh

from curation.dedup import (
    _CHUNK_CHARS,
    DEFAULT_CONFIG,
    DedupConfig,
    _band_keys,
    _chunks,
    _mix,
    _shingle_hashes,
    _sorted_unique,
    canonical_text,
    exact_key,
)

FINGERPRINT_VERSION = "fp1-xxh3_128-rensa0.5-rmh"
"""Changes whenever an id or hash scheme below changes; an index refuses other versions."""

INPUT_COLUMNS: tuple[str, ...] = ("content_id", "platform", "created_at", "text")
DOCS_SCHEMA: dict[str, pl.DataType] = {
    "doc": pl.UInt64(),
    "platform": pl.String(),
    "content_id": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "key": pl.Binary(),
    "near": pl.Boolean(),
    "text": pl.String(),  # the canonical text, only where `near` (what verification needs)
    "shingles": pl.UInt32(),  # size of its shingle set as verification counts it, where `near`
}
BANDS_SCHEMA: dict[str, pl.DataType] = {"band_key": pl.UInt64(), "doc": pl.UInt64()}

_RANK_BITS = 32
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class DayFingerprints:
    """One day's fingerprints.

    docs: one row per input row (DOCS_SCHEMA), sorted by doc.
    bands: (band_key, doc) for each distinct near-eligible exact key of the day, `doc`
      being the day's first doc with that key (the key's band keys depend only on its
      text), `config.bands` rows per key, sorted by band_key then doc.
    """

    day: date
    docs: pl.DataFrame
    bands: pl.DataFrame
    config: DedupConfig = DEFAULT_CONFIG


def write_fingerprints(fp: DayFingerprints, folder: str | os.PathLike) -> None:
    """Keep one day's fingerprints (docs.parquet, bands.parquet, meta.json; each written
    to a temp file then renamed), so the index can be rebuilt without re-reading raw days."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("docs.parquet", fp.docs), ("bands.parquet", fp.bands)):
        tmp = folder / f".{name}.tmp"
        frame.write_parquet(tmp)
        os.replace(tmp, folder / name)
    meta = {"day": fp.day.isoformat(), "config": asdict(fp.config), "version": FINGERPRINT_VERSION}
    tmp = folder / ".meta.json.tmp"
    tmp.write_text(json.dumps(meta, sort_keys=True))
    os.replace(tmp, folder / "meta.json")  # last: a folder with meta.json is complete


def read_fingerprints(folder: str | os.PathLike) -> DayFingerprints:
    """The fingerprints `write_fingerprints` kept; refuses another FINGERPRINT_VERSION."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("version") != FINGERPRINT_VERSION:
        raise ValueError(f"{folder}: fingerprints {meta.get('version')}, expected {FINGERPRINT_VERSION}: recompute")
    return DayFingerprints(
        day=date.fromisoformat(meta["day"]),
        docs=pl.read_parquet(folder / "docs.parquet").cast(DOCS_SCHEMA),  # type: ignore[arg-type]
        bands=pl.read_parquet(folder / "bands.parquet").cast(BANDS_SCHEMA),  # type: ignore[arg-type]
        config=DedupConfig(**meta["config"]),
    )


def day_of_doc(doc: pl.Expr) -> pl.Expr:
    """The UTC day a doc id belongs to (the inverse of the id scheme's high bits)."""
    ordinal_of_epoch = date(1970, 1, 1).toordinal()
    return ((doc // (1 << _RANK_BITS)).cast(pl.Int64) - ordinal_of_epoch).cast(pl.Int32).cast(pl.Date)


def key_hash(column: str) -> pl.Expr:
    """The persisted hash of an exact key column: XXH3-128, canonical byte order."""
    return plh.col(column).nchash.xxh3_128(return_binary=True, byte_order="big")


def key_hash_expr(expr: pl.Expr) -> pl.Expr:
    """`key_hash` of any string expression (the corpus' `text_hash` is its hex form)."""
    return expr.nchash.xxh3_128(return_binary=True, byte_order="big")  # namespace registered by polars_hash


def _require(rows: pl.DataFrame) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"missing columns: {missing}")


def day_fingerprints(
    rows: pl.DataFrame, config: DedupConfig = DEFAULT_CONFIG, *, day: date | None = None
) -> DayFingerprints:
    """Fingerprints of one UTC day's rows (see the module docstring for the id scheme).

    `day` is required for an empty day (a day rebuilt with no rows removes its docs from
    the index) and otherwise checked: every created_at must fall on it. Raises ValueError
    on missing columns, null created_at, rows of several days, duplicate
    (platform, content_id) or more than 2**32 rows.
    """
    _require(rows)
    frame = rows.select(
        pl.col("content_id").cast(pl.String),
        pl.col("platform").cast(pl.String),
        _as_utc(rows.schema["created_at"]),
        pl.col("text").cast(pl.String),
    )
    if frame.select(pl.col("created_at").is_null().any()).item():
        raise ValueError("created_at must not be null: a doc id needs its instant")
    days = frame.select(pl.col("created_at").dt.date().unique())["created_at"].to_list()
    if len(days) > 1:
        raise ValueError(f"rows of one UTC day expected, got {len(days)} days ({min(days)}..{max(days)})")
    if day is None:
        if not days:
            raise ValueError("an empty day needs `day=`")
        day = days[0]
    elif days and days[0] != day:
        raise ValueError(f"rows are of {days[0]}, not of day={day}")
    if frame.height >= 2**_RANK_BITS:
        raise ValueError(f"a day holds at most 2**{_RANK_BITS} rows")
    if frame.select(pl.struct("platform", "content_id").is_duplicated().any()).item():
        raise ValueError("(platform, content_id) must be unique in the rows of a day")
    if frame.select((pl.col("platform").is_null() | pl.col("content_id").is_null()).any()).item():
        raise ValueError("platform and content_id must not be null")

    base = day.toordinal() << _RANK_BITS
    docs = (
        frame.sort("created_at", "platform", "content_id")
        .with_row_index("_rank")
        .with_columns(
            (pl.col("_rank").cast(pl.UInt64) + pl.lit(base, pl.UInt64)).alias("doc"),
            canonical_text(pl.col("text")).alias("_canonical"),
        )
        .with_columns(exact_key(pl.col("text"), pl.col("_canonical")).alias("_key"))
        .with_columns(
            (
                (pl.col("_canonical") != "")
                & (pl.col("_canonical").str.count_matches(" ") + 1 >= config.min_words_for_near)
            )
            .fill_null(False)
            .alias("near"),
        )
        .with_columns(
            key_hash("_key").alias("key"),
            pl.when(pl.col("near")).then(pl.col("_key")).alias("text"),
            pl.lit(None, pl.UInt32).alias("shingles"),
        )
        .select(list(DOCS_SCHEMA))
    )
    # One representative per near key: band keys and set sizes depend only on the text.
    reps = docs.filter(pl.col("near")).unique("key", keep="first", maintain_order=True)
    bands = band_table(reps["text"], reps["doc"], config)
    sizes = reps.select("key", pl.Series("shingles", shingle_set_sizes(reps["text"], config), pl.UInt32))
    docs = docs.drop("shingles").join(sizes, on="key", how="left", maintain_order="left") \
        .select(list(DOCS_SCHEMA))
    return DayFingerprints(day=day, docs=docs, bands=bands, config=config)


def shingle_set_sizes(texts: pl.Series, config: DedupConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Distinct shingles per text, counted exactly as `dedup._verified_pairs` counts them
    (top 40 bits of each 64-bit shingle hash). Jaccard <= min(|A|, |B|) / max(|A|, |B|),
    so the index skips candidate pairs whose sizes alone rule the threshold out: the
    same pairs the verification would reject, without reading their shingles."""
    out = np.zeros(len(texts), dtype=np.uint32)
    lengths = texts.str.len_chars().to_numpy().astype(np.int64) + config.shingle
    for start, stop in _chunks(lengths, _CHUNK_CHARS) if len(texts) else []:
        hashes, offsets = _shingle_hashes(texts.slice(start, stop - start).to_list(), config.shingle)
        owner = np.repeat(np.arange(stop - start, dtype=np.uint64), np.diff(offsets).astype(np.int64))
        keyed = _sorted_unique((owner << np.uint64(40)) | (hashes >> np.uint64(24)))
        out[start:stop] = np.bincount((keyed >> np.uint64(40)).astype(np.int64), minlength=stop - start)
    return out


def band_table(texts: pl.Series, ids: pl.Series, config: DedupConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """Long (band_key u64, doc u64) table of the texts' LSH band keys, sorted by band_key.
    The band number is mixed in, so buckets are per band as in `dedup._candidate_pairs`."""
    if len(texts) == 0:
        return pl.DataFrame(schema=BANDS_SCHEMA)
    keys = _band_keys(texts, config)  # (n, bands)
    with np.errstate(over="ignore"):
        salt = (np.arange(1, config.bands + 1, dtype=np.uint64) * _GOLDEN)[None, :]
        mixed = _mix(keys ^ salt)
    return pl.DataFrame(
        {
            "band_key": mixed.ravel(),
            "doc": np.repeat(ids.cast(pl.UInt64).to_numpy(), config.bands),
        },
        schema=BANDS_SCHEMA,
    ).sort("band_key", "doc")


def _as_utc(dtype: pl.DataType) -> pl.Expr:
    """created_at as Datetime(us, UTC): naive instants are taken as UTC."""
    col = pl.col("created_at")
    if not isinstance(dtype, pl.Datetime):
        raise ValueError(f"created_at must be a Datetime, got {dtype}")
    if dtype.time_zone is None:
        col = col.dt.replace_time_zone("UTC")
    else:
        col = col.dt.convert_time_zone("UTC")
    return col.dt.cast_time_unit("us")
