"""Consent-aware exact and near-duplicate removal across all days (DESIGN.md, `filtered_corpus`).

Policy v2: a repost carries its first author's words, so the words of a duplicate cluster
(exact or near) belong to its EARLIEST copy (by created_at, ties by platform, content_id).
A cluster enters the corpus only through that earliest copy, and only if that copy is
itself eligible. If the earliest copy is excluded for any reason, every eligible copy is
dropped as `copies_excluded_content`; otherwise the earliest copy survives and every other
eligible copy is `duplicate`. (v1 dropped a cluster when ANY copy was a minor's, an
unknown-age person's or an objector's: a minor's later repost removed an adult's words,
and a private message's words could enter through a public copy.) `POLICY_VERSION` names
the policy in every manifest.

Two steps, both pure polars-in/polars-out:

* `cluster_duplicates` groups ALL rows (eligible and excluded, every day: an excluded
  earliest copy decides its cluster, and a repost on day 40 must meet its original from day 3).
* `resolve_clusters` picks the survivor and the `dedup_reason` of every other row.
  `dedup_counts` reports kept / dropped by outcome so nothing disappears without a count.

Terms
-----
canonical text
    The caller's normalised text (NFC, whitespace folded), lower-cased, with apostrophes
    deleted (``don't`` == ``dont``), emoji presentation selectors/keycaps deleted, and every
    other run of characters that are not letters, combining marks or digits (punctuation,
    symbols, emoji, whitespace) turned into one space.
exact key
    The canonical text; when that is empty but the text is not (emoji- or punctuation-only
    posts), the lower-cased text itself, so ``🎉`` and ``😂`` stay apart. Rows whose text is
    empty or null have no exact key and are always singletons: there are no words to carry.
    `text_hash` is the BLAKE2b-128 hex digest of the exact key (stable across machines and
    library versions, unlike `pl.Expr.hash`).
exact duplicates
    Rows with the same exact key: identical text up to case, punctuation and emoji.
near duplicates
    Exact keys whose canonical texts have a Jaccard similarity >= `threshold` (default 0.8)
    over their sets of character 5-shingles, each text padded with 4 boundary markers on
    both sides (so a text of n characters has n + 4 shingles and its first and last words
    count as much as the middle). Character shingles, not word shingles: social posts are
    short, and one changed word in a 20-word post already drops word-3-shingle Jaccard to
    about 0.7. With character 5-shingles, replacing one 5-letter word keeps a post of about
    80+ characters at J >= 0.8, replacing two keeps one of about 160+ characters (J is
    roughly (n - 9c) / (n + 9c) for c changed words); shorter posts changed that much are
    different posts at this threshold. Canonical texts with fewer than
    `min_words_for_near` (5) words take part in exact dedup only: for "thanks so much" a
    one-word change is a different post, and such near matches would be noise.
cluster
    A connected component over exact-duplicate groups and verified near pairs (so the
    relation is transitive: A~B and B~C put A and C together even if A and C are further
    apart). `cluster_id` is the smallest row number of a member after ordering the input by
    (platform, content_id), so it depends on the rows passed in, never on their order.

How near pairs are found (MinHash + LSH, then exact verification)
-----------------------------------------------------------------
Shingles are hashed with a vectorised numpy rolling hash; `rensa` (Rust R-MinHash, a Fast
Similarity Sketching variant costing O(shingles + num_perm) per text) turns them into
128-slot signatures; LSH with 21 bands of 6 slots makes a pair of texts a candidate when
one band is identical (probability 1 - (1 - J^6)^21: 0.998 at J = 0.8, 0.99995 at 0.85,
1.3e-3 at 0.2). Every candidate is verified with the EXACT Jaccard of the two shingle sets
(not the signature estimate, whose standard error at 128 slots is ~0.035 and would both
drop true pairs and link false ones near the threshold). Recall is what protects consent
here: a missed link is a repost that escapes its earliest copy's exclusion, so the banding favours
recall and verification removes the extra candidates. In a bucket larger than 50, each
member is verified against its 49 predecessors and the bucket's first member rather than
all pairs, which bounds the work on template spam.

Why rensa (measured on this two-core machine): datasketch, pure Python, took ~480 us per
post for a 128-slot sketch, i.e. ~8 minutes per million posts for sketching alone; a
vectorised numpy k-mins MinHash (multiply-add-min per permutation) took ~33 s per million
posts (200M shingles x 128 permutations); rensa's flat-buffer sketch takes ~1 s. Its
digests come back as Python lists (no buffer export), which is why they are reduced to
band keys in small chunks.

Common pitfalls
---------------
* Pass every day's rows, excluded ones included, to `cluster_duplicates`: filtering first
  loses the earliest copy and lets a repost of an objector's words through.
* `cluster_id` values are only comparable within one call's output.
* Common short phrases ("happy birthday!") are exact duplicates of each other: when the
  earliest "happy birthday!" is a minor's, every later eligible copy is dropped. That is the
  policy working conservatively (the earliest copy decides), not a bug.
* `(platform, content_id)` must be unique; duplicates raise instead of fanning out joins.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import rensa

COPIES_EXCLUDED_CONTENT = "copies_excluded_content"
DUPLICATE = "duplicate"
POLICY_VERSION = "dedup-v2-earliest-copy-decides"
"""The de-duplication policy; recorded in corpus metadata and release manifests."""

KEPT = "kept"
ALREADY_EXCLUDED = "already_excluded"
OUTCOMES: tuple[str, ...] = (KEPT, DUPLICATE, COPIES_EXCLUDED_CONTENT, ALREADY_EXCLUDED)
"""Every row of `resolve_clusters`' output has exactly one of these (see `dedup_counts`)."""

CLUSTER_INPUT_COLUMNS: tuple[str, ...] = ("content_id", "platform", "text")
RESOLVE_INPUT_COLUMNS: tuple[str, ...] = (
    "content_id",
    "platform",
    "created_at",
    "cluster_id",
    "exclusion_reason",
)

CLUSTER_SCHEMA: dict[str, pl.DataType] = {
    "content_id": pl.String(),
    "platform": pl.String(),
    "text_hash": pl.String(),
    "cluster_id": pl.Int64(),
}

_BUCKET_ALL_PAIRS = 50  # buckets up to this size are verified all-pairs
_CHUNK_CHARS = 400_000  # characters sketched per rensa call: keeps the numpy buffers in cache
_VERIFY_BATCH_PAIRS = 20_000  # candidate pairs verified at once: bounds memory, < 2**23
_HASH_BATCH = 100_000  # exact keys turned into Python strings at once
_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)


@dataclass(frozen=True)
class DedupConfig:
    """Near-duplicate parameters. The defaults favour recall (see the module docstring):
    P(candidate) = 1 - (1 - J**rows)**bands; bands * rows must fit in num_perm."""

    threshold: float = 0.8
    num_perm: int = 128  # a power of two: rensa's fast path
    bands: int = 21
    rows: int = 6
    shingle: int = 5  # characters per shingle
    min_words_for_near: int = 5
    seed: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.num_perm < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("num_perm, bands and rows must be positive")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands * rows ({self.bands * self.rows}) exceeds num_perm ({self.num_perm})"
            )
        if self.shingle < 1:
            raise ValueError(f"shingle must be positive, got {self.shingle}")
        if self.min_words_for_near < 1:
            raise ValueError(f"min_words_for_near must be positive, got {self.min_words_for_near}")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must fit in an unsigned 64-bit integer, got {self.seed}")


DEFAULT_CONFIG = DedupConfig()


# --- text keys ------------------------------------------------------------------------


def canonical_text(text: pl.Expr) -> pl.Expr:
    """The canonical text (see Terms): what exact keys and shingles are computed from."""
    return (
        text.str.to_lowercase()
        .str.replace_all(r"[\x{FE00}-\x{FE0F}\x{E0100}-\x{E01EF}\x{20E3}]", "")
        .str.replace_all(r"['\x{2019}\x{02BC}]", "")
        .str.replace_all(r"[^\p{L}\p{M}\p{N}]+", " ")
        .str.strip_chars()
    )


def exact_key(text: pl.Expr, canonical: pl.Expr | None = None) -> pl.Expr:
    """The exact key (see Terms); null for empty or null text, which is never clustered.
    Pass `canonical` when it is already computed, to run the regexes once."""
    canonical = canonical_text(text) if canonical is None else canonical
    folded = text.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return (
        pl.when(canonical != "")
        .then(canonical)
        .when(folded != "")
        .then(folded)
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def text_hashes(keys: pl.Series) -> pl.Series:
    """`text_hash` of each exact key (null key = empty text: the hash of "")."""
    out: list[pl.Series] = []
    for lo in range(0, len(keys), _HASH_BATCH):
        batch = keys.slice(lo, _HASH_BATCH).fill_null("").to_list()
        out.append(pl.Series("text_hash", [_blake2b_hex(k) for k in batch], pl.String))
    return pl.concat(out) if out else pl.Series("text_hash", [], pl.String)


def _blake2b_hex(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


# --- shingles, sketches, LSH ----------------------------------------------------------


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place: spreads every input bit over the whole word."""
    tmp = np.right_shift(x, _U64(30))
    x ^= tmp
    x *= _MIX1
    np.right_shift(x, _U64(27), out=tmp)
    x ^= tmp
    x *= _MIX2
    np.right_shift(x, _U64(31), out=tmp)
    x ^= tmp
    return x


def _shingle_hashes(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every padded character k-shingle, flat, and the row offsets.

    Texts are joined with k-1 padding markers between and around them, so the shingles
    that overlap text i are exactly positions offsets[i]:offsets[i+1] of the joined
    string: no gather, and no shingle ever spans two texts. The canonical text never
    holds U+0000 (a control character), so the marker is unambiguous.
    """
    pad = "\x00" * (k - 1)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=_U64)
    np.cumsum(lengths + (k - 1), out=offsets[1:])
    codes = np.frombuffer((pad + pad.join(texts) + pad).encode("utf-32-le"), dtype=np.uint32)
    width = len(codes) - k + 1
    with np.errstate(over="ignore"):
        hashes = codes[:width].astype(_U64)
        tmp = np.empty(width, dtype=_U64)
        for j in range(1, k):
            hashes *= _GOLDEN
            tmp[:] = codes[j : j + width]
            hashes += tmp
        return _mix(hashes), offsets


def _chunks(lengths: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """[start, stop) row ranges of about `budget` characters each (at least one row)."""
    bounds = [0]
    ends = np.cumsum(lengths)
    while bounds[-1] < len(lengths):
        start = bounds[-1]
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + budget, side="right"))
        bounds.append(max(stop, start + 1))
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _band_keys(texts: pl.Series, config: DedupConfig) -> np.ndarray:
    """(len(texts), bands) uint64: one hash of each band's `rows` signature slots.

    Signatures are reduced to band keys chunk by chunk so neither the full signature
    matrix (512 MB per million posts) nor a Python list of every text is ever held.
    """
    keys = np.empty((len(texts), config.bands), dtype=_U64)
    used = config.bands * config.rows
    lengths = texts.str.len_chars().to_numpy().astype(np.int64) + config.shingle
    for start, stop in _chunks(lengths, _CHUNK_CHARS):
        hashes, offsets = _shingle_hashes(
            texts.slice(start, stop - start).to_list(), config.shingle
        )
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            hashes, offsets, config.num_perm, config.seed
        )
        signatures = np.array(matrix.to_rows(), dtype=np.uint32)[:, :used]
        slots = signatures.reshape(stop - start, config.bands, config.rows).astype(_U64)
        with np.errstate(over="ignore"):
            key = np.zeros((stop - start, config.bands), dtype=_U64)
            for r in range(config.rows):
                key ^= slots[:, :, r]
                key *= _GOLDEN
                key = _mix(key)
        keys[start:stop] = key
    return keys


def _candidate_pairs(keys: np.ndarray) -> np.ndarray:
    """Unique (a, b) index pairs, a < b, that share at least one band key.

    Within a bucket, members are in index order; each is paired with up to
    `_BUCKET_ALL_PAIRS - 1` predecessors and with the bucket's first member, which is
    every pair for buckets up to `_BUCKET_ALL_PAIRS` and a bounded star + window beyond.
    """
    n = keys.shape[0]
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        same = ordered[1:] == ordered[:-1]
        if not same.any():
            continue
        member = np.zeros(n, dtype=bool)
        member[1:] |= same
        member[:-1] |= same
        idx = order[member]
        bucket_key = ordered[member]
        starts = np.empty(len(idx), dtype=bool)
        starts[0] = True
        starts[1:] = bucket_key[1:] != bucket_key[:-1]
        bucket = np.cumsum(starts) - 1
        first_of_bucket = idx[starts][bucket]
        firsts.append(first_of_bucket[~starts])
        seconds.append(idx[~starts])
        longest = int(np.bincount(bucket).max())
        for d in range(1, min(longest, _BUCKET_ALL_PAIRS)):
            ok = bucket[d:] == bucket[:-d]
            firsts.append(idx[:-d][ok])
            seconds.append(idx[d:][ok])
    if not firsts:
        return np.empty((0, 2), dtype=np.int64)
    first = np.concatenate(firsts).astype(_U64)
    second = np.concatenate(seconds).astype(_U64)
    codes = _sorted_unique((first << _U64(32)) | second)
    return np.stack(
        [(codes >> _U64(32)).astype(np.int64), (codes & _U64(0xFFFFFFFF)).astype(np.int64)],
        axis=1,
    )


def _gather_segments(
    values: np.ndarray, offsets: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """values[offsets[w]:offsets[w+1]] for each w in `which`, concatenated, and the
    position in `which` each gathered value came from."""
    starts = offsets[which]
    lengths = offsets[which + 1] - starts
    owner = np.repeat(np.arange(len(which)), lengths)
    ends = np.cumsum(lengths)
    index = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(
        ends - lengths - starts, lengths
    )
    return values[index], owner


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for 1-D integers by sort + adjacent compare (numpy 2's np.unique is
    ~100x slower on millions of uint64)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _verified_pairs(pairs: np.ndarray, texts: pl.Series, config: DedupConfig) -> np.ndarray:
    """The candidate pairs whose exact shingle-set Jaccard is >= threshold.

    Exact, not the signature estimate: see the module docstring. Pairs are verified in
    batches (bounded memory); per batch each text's shingle hashes are keyed by
    (text, hash) and sorted once, de-duplicated, then b's shingles keyed by (pair, hash)
    form one sorted array in which all of a's are looked up with one searchsorted. Keys
    keep the top 40 bits of each 64-bit hash: a false match needs two of a pair's ~400
    shingles to agree on 40 bits (p ~ 1e-7).
    """
    verified: list[np.ndarray] = [np.empty((0, 2), dtype=np.int64)]
    for lo in range(0, len(pairs), _VERIFY_BATCH_PAIRS):
        batch = pairs[lo : lo + _VERIFY_BATCH_PAIRS]
        involved = _sorted_unique(batch.ravel())
        hashes, offsets = _shingle_hashes(texts.gather(involved).to_list(), config.shingle)
        owner = np.repeat(np.arange(len(involved), dtype=_U64), np.diff(offsets).astype(np.int64))
        keyed = _sorted_unique((owner << _U64(40)) | (hashes >> _U64(24)))
        owner = (keyed >> _U64(40)).astype(np.int64)
        values = keyed & _U64((1 << 40) - 1)
        sizes = np.bincount(owner, minlength=len(involved))
        seg = np.zeros(len(involved) + 1, dtype=np.int64)
        np.cumsum(sizes, out=seg[1:])
        a, b = np.searchsorted(involved, batch[:, 0]), np.searchsorted(involved, batch[:, 1])
        a_vals, a_pair = _gather_segments(values, seg, a)
        b_vals, b_pair = _gather_segments(values, seg, b)
        a_keys = (a_pair.astype(_U64) << _U64(40)) | a_vals
        b_keys = (b_pair.astype(_U64) << _U64(40)) | b_vals
        hit = np.minimum(np.searchsorted(b_keys, a_keys), len(b_keys) - 1)
        inter = np.bincount(a_pair[b_keys[hit] == a_keys], minlength=len(batch))
        jaccard = inter / (sizes[a] + sizes[b] - inter)
        verified.append(batch[jaccard >= config.threshold])
    return np.concatenate(verified)


def _near_edges(texts: pl.Series, config: DedupConfig) -> np.ndarray:
    """Verified near-duplicate pairs (indices into `texts`)."""
    if len(texts) < 2:
        return np.empty((0, 2), dtype=np.int64)
    candidates = _candidate_pairs(_band_keys(texts, config))
    return _verified_pairs(candidates, texts, config)


def _components(parent_of: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Root (smallest member) of every node, given each node's exact-group root and the
    near edges between group roots. Union by smaller id keeps roots order-independent."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    root_of = np.arange(len(parent_of), dtype=np.int64)
    if parent:
        touched = np.fromiter(parent.keys(), dtype=np.int64, count=len(parent))
        root_of[touched] = [find(int(x)) for x in touched]
    return root_of[parent_of]


# --- public API -----------------------------------------------------------------------


def _require(rows: pl.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"missing columns: {missing}")


def cluster_duplicates(rows: pl.DataFrame, config: DedupConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """Cluster exact and near duplicates across every row passed in.

    rows: content_id (str), platform (str), text (str); other columns (created_at, ...)
    are ignored. Pass eligible AND excluded rows of every day: an excluded earliest
    copy decides its cluster, and a repost must meet its original whatever day each fell on.
    Returns one row per input row, in input order: content_id, platform, text_hash (hex
    BLAKE2b-128 of the exact key), cluster_id (Int64; singletons get their own id).
    """
    _require(rows, CLUSTER_INPUT_COLUMNS)
    if rows.height == 0:
        return pl.DataFrame(schema=CLUSTER_SCHEMA)
    frame = (
        rows.select(
            pl.col("content_id").cast(pl.String),
            pl.col("platform").cast(pl.String),
            pl.col("text").cast(pl.String),
        )
        .with_row_index("_input")
        .sort("platform", "content_id", nulls_last=True)
        .with_row_index("doc")
    )
    if frame.select(pl.struct("platform", "content_id").is_duplicated().any()).item():
        raise ValueError("(platform, content_id) must be unique in the rows to cluster")
    frame = (
        frame.with_columns(canonical_text(pl.col("text")).alias("_canonical"))
        .with_columns(exact_key(pl.col("text"), pl.col("_canonical")).alias("_key"))
        .with_columns(
            # Exact groups: every row points at the first row with its key; no key, no group.
            pl.when(pl.col("_key").is_null())
            .then(pl.col("doc"))
            .otherwise(pl.col("doc").min().over("_key"))
            .alias("_group"),
            (
                (pl.col("_canonical") != "")
                & (pl.col("_canonical").str.count_matches(" ") + 1 >= config.min_words_for_near)
            )
            .fill_null(False)
            .alias("_near"),
        )
        .drop("text", "_canonical")
    )
    # Near dedup runs on one row per exact group; there the key is the canonical text.
    near = frame.filter((pl.col("doc") == pl.col("_group")) & pl.col("_near"))
    local_edges = _near_edges(near["_key"], config)
    edges = near["doc"].to_numpy().astype(np.int64)[local_edges]
    cluster = _components(frame["_group"].to_numpy().astype(np.int64), edges.reshape(-1, 2))
    return (
        frame.select(
            "_input",
            "content_id",
            "platform",
            text_hashes(frame["_key"]),
            pl.Series("cluster_id", cluster, pl.Int64),
        )
        .sort("_input")
        .drop("_input")
    )


def resolve_clusters(rows: pl.DataFrame) -> pl.DataFrame:
    """Add `dedup_reason`, keeping every input column and the input row order (policy v2).

    rows: content_id, platform, created_at, cluster_id, exclusion_reason (null = eligible
    under the rules). The words of a cluster belong to its EARLIEST copy by
    (created_at, platform, content_id). If that copy is eligible it survives (`dedup_reason`
    null) and every other eligible copy is `duplicate`; if it is excluded for any reason (a
    minor's, an objector's, an unknown-age person's words, a private message, an assistant
    reply, deleted content, an author still inside the objection window) every eligible copy
    is `copies_excluded_content`. Rows already excluded keep their `exclusion_reason` and get
    a null `dedup_reason`. The result does not depend on row order.
    """
    _require(rows, RESOLVE_INPUT_COLUMNS)
    if rows.select(pl.col("cluster_id").is_null().any()).item():
        raise ValueError("cluster_id must not be null")
    eligible = pl.col("exclusion_reason").cast(pl.String).is_null()
    return (
        rows.with_row_index("_input")
        .sort("cluster_id", "created_at", "platform", "content_id", nulls_last=True)
        .with_columns(
            eligible.first().over("cluster_id").alias("_earliest_eligible"),
            (pl.int_range(pl.len()).over("cluster_id") == 0).alias("_earliest"),
        )
        .with_columns(
            pl.when(~eligible)
            .then(pl.lit(None, dtype=pl.String))
            .when(pl.col("_earliest"))
            .then(pl.lit(None, dtype=pl.String))
            .when(pl.col("_earliest_eligible"))
            .then(pl.lit(DUPLICATE))
            .otherwise(pl.lit(COPIES_EXCLUDED_CONTENT))
            .alias("dedup_reason")
        )
        .sort("_input")
        .drop("_input", "_earliest_eligible", "_earliest")
    )


def dedup_outcome() -> pl.Expr:
    """Each resolved row's outcome, one of OUTCOMES."""
    return (
        pl.when(pl.col("exclusion_reason").cast(pl.String).is_not_null())
        .then(pl.lit(ALREADY_EXCLUDED))
        .when(pl.col("dedup_reason").is_null())
        .then(pl.lit(KEPT))
        .otherwise(pl.col("dedup_reason"))
    )


def dedup_counts(resolved: pl.DataFrame) -> pl.DataFrame:
    """`outcome`, `count` for every outcome in OUTCOMES (zeros included); counts add up to
    the rows of `resolve_clusters`' output, for asset metadata."""
    _require(resolved, ("exclusion_reason", "dedup_reason"))
    counts = resolved.group_by(dedup_outcome().alias("outcome")).agg(pl.len().alias("count"))
    by_outcome = dict(zip(counts["outcome"].to_list(), counts["count"].to_list(), strict=True))
    return pl.DataFrame(
        {"outcome": list(OUTCOMES), "count": [by_outcome.get(o, 0) for o in OUTCOMES]},
        schema={"outcome": pl.String, "count": pl.Int64},
    )
