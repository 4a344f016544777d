"""The taggers' statistical model: hashed byte n-grams and words, logistic-regression heads.

Policy: one feature space for every head (regional variety per language group, dialect
vs standard for German and Italian, irony/sarcasm), so a text is featurised once; each
head is a linear model over it, trained by `bench/train_taggers.py` on permissively
licensed sets only (MultiPICo CC BY 4.0, UD dialect sentences CC BY-SA, iSarcasmEval
MIT; see data/README.md) and calibrated on cross-validated logits of its training data
(Platt scaling for two classes, a temperature for more). Inference needs numpy alone and
reads `data/tagger_model.npz` and `data/tagger_model.json` from the repository: nothing
is downloaded.

Terms:

* *view*: the text as the model sees it: links and @mentions removed
  (`curation.quality.normalized_text`), lower case, digits folded to `0`, cut to
  `MAX_CHARS` characters, padded with one space on each side.
* *features*: UTF-8 byte n-grams of length `MIN_N`..`MAX_N` (words shorter than that and word
  edges included, thanks to the padding), whole words and word bigrams. Each is hashed
  (32-bit polynomial hash, then a multiplicative mix) into `2**bits` buckets. A row's
  feature values are counts divided by the square root of its feature total, so long
  and short texts score on one scale.
* *head*: a weight block of `len(classes)` columns (one column for two classes), with a
  bias and the calibration (`platt_a`, `platt_b` or `temperature`).

Pitfalls: all hashing is vectorised over one concatenated byte buffer (no per-row Python);
uint32 arithmetic wraps by design. A change to the view or the hashing invalidates the
weights: `FEATURE_VERSION` is stored with them and checked on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.taggers._common import DATA_DIR

MODEL_WEIGHTS = DATA_DIR / "tagger_model.npz"
MODEL_META = DATA_DIR / "tagger_model.json"
FEATURE_VERSION = 1
MAX_CHARS = 600
MAX_N = 5
DEFAULT_BITS = 18

_M = np.uint32(0x01000193)
_MIX1 = np.uint32(0x2C1B3C6D)
_MIX2 = np.uint32(0x297A2D39)
_WORD_SEED = np.uint32(0x9E3779B9)
_BIGRAM = np.uint32(0x85EBCA6B)
MIN_N = 2


def model_view(texts: pl.Series) -> pl.Series:
    """The text each head reads (see the module docstring)."""
    from curation.quality import normalized_text

    frame = pl.DataFrame({"t": texts.cast(pl.String)})
    return frame.select(
        pl.concat_str(
            [
                pl.lit(" "),
                normalized_text(pl.col("t"))
                .str.slice(0, MAX_CHARS)
                .str.to_lowercase()
                .str.replace_all(r"\d", "0")
                .str.replace_all("\x00", " ", literal=True),
                pl.lit(" "),
            ]
        )
    ).to_series()


@dataclass(frozen=True)
class Features:
    """Sparse rows in coordinate form (any order): `row`, `col`, `val` (float32)."""

    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    n_rows: int


def _mix(h: np.ndarray, bits: int) -> np.ndarray:
    h = h ^ (h >> np.uint32(15))
    h = h * _MIX1
    h = h ^ (h >> np.uint32(12))
    h = h * _MIX2
    return (h >> np.uint32(32 - bits)).astype(np.int32)


def featurize(texts: pl.Series | list[str], bits: int = DEFAULT_BITS) -> Features:
    """Hashed features of each text (texts empty after the view get none).

    Rows are not sorted: every consumer reduces with `np.bincount`. N-grams that span two
    rows (and word bigrams across rows) are kept with value 0, so they change no score.
    """
    series = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
    view = model_view(series)
    n_rows = len(view)
    if n_rows == 0:
        empty = np.zeros(0, np.int64)
        return Features(empty, empty.astype(np.int32), np.zeros(0, np.float32), 0)
    joined = view.str.join("\x00").item().encode("utf-8")
    buf = np.frombuffer(joined, dtype=np.uint8)
    sep = buf == 0
    sep_count = np.concatenate([[0], np.cumsum(sep, dtype=np.int32)])
    row_of = sep_count[1:]  # the row of each byte (a separator counts to the next row)
    n = buf.size
    b32 = buf.astype(np.uint32) + np.uint32(1)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    keep: list[np.ndarray] = []
    # byte n-grams: h_n(i) = h_(n-1)(i) * M + b(i + n - 1), one multiply-add per order;
    # n-grams across a row separator stay in place with value 0 (cheaper than dropping them)
    h = b32.copy()
    for order in range(2, MAX_N + 1):
        if n < order:
            break
        h = h[:-1] * _M + b32[order - 1 :]
        width = n - order + 1
        ok = sep_count[order : order + width] == sep_count[:width]
        if order == 2:
            ok &= ~((buf[:width] == 32) & (buf[1 : 1 + width] == 32))
        rows.append(row_of[:width])
        cols.append(_mix(h ^ np.uint32(order), bits))
        keep.append(ok)
    # words: runs of letters, digits, apostrophes and non-ASCII bytes
    is_word = (((buf >= 97) & (buf <= 122)) | (buf == 48) | (buf == 39) | (buf >= 128)) & ~sep
    edge = np.diff(is_word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    w_start = np.flatnonzero(edge == 1)
    w_end = np.flatnonzero(edge == -1)  # exclusive
    if w_start.size:
        powers = np.cumprod(np.full(n, _M, dtype=np.uint32), dtype=np.uint32)  # M^(i+1)
        inv = np.uint32(pow(int(_M), -1, 2**32))
        inv_powers = np.cumprod(np.full(n, inv, dtype=np.uint32), dtype=np.uint32)
        prefix = np.concatenate([[np.uint32(0)], np.cumsum(b32 * powers, dtype=np.uint32)])
        wh = ((prefix[w_end] - prefix[w_start]) * inv_powers[w_start]) ^ _WORD_SEED
        w_row = row_of[w_start]
        rows.append(w_row)
        cols.append(_mix(wh, bits))
        keep.append(np.ones(w_row.size, dtype=bool))
        same = w_row[1:] == w_row[:-1]
        bh = wh[:-1] * _BIGRAM + wh[1:]
        rows.append(w_row[1:])
        cols.append(_mix(bh, bits))
        keep.append(same)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    valid = np.concatenate(keep)
    totals = np.bincount(row, weights=valid, minlength=n_rows).astype(np.float32)
    scale = (1.0 / np.sqrt(np.maximum(totals, 1.0))).astype(np.float32)
    return Features(row, col, scale[row] * valid, n_rows)


_CACHE: list[tuple[bytes, int, Features]] = []
"""The last text column featurised (a digest of its polars hashes) and its features:
`tag_dialect` and `tag_humor` run on the same column one after the other."""


def featurize_cached(texts: pl.Series, bits: int = DEFAULT_BITS) -> Features:
    """`featurize`, reusing the previous call's result when the column is the same texts
    in the same order (checked by a BLAKE2 digest of the per-row hashes and the length)."""
    import hashlib

    digest = hashlib.blake2b(
        texts.cast(pl.String).fill_null("\x00null").hash(seed=17).to_numpy().tobytes(), digest_size=20
    ).digest()
    if _CACHE and _CACHE[0][0] == digest and _CACHE[0][1] == bits and _CACHE[0][2].n_rows == len(texts):
        return _CACHE[0][2]
    features = featurize(texts, bits)
    _CACHE[:] = [(digest, bits, features)]
    return features


def subset_rows(features: Features, rows: np.ndarray) -> Features:
    """The features of the given rows (sorted unique indices), renumbered 0..len(rows)-1."""
    mapping = np.full(features.n_rows, -1, dtype=np.int64)
    mapping[rows] = np.arange(rows.size)
    keep = mapping[features.row] >= 0
    return Features(mapping[features.row[keep]], features.col[keep], features.val[keep], rows.size)


def linear_scores(features: Features, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """`(n_rows, k)` raw scores: bias plus the sum of weight x value over each row's features."""
    k = weights.shape[1]
    out = np.empty((features.n_rows, k), dtype=np.float64)
    for j in range(k):
        contrib = weights[features.col, j].astype(np.float64) * features.val
        out[:, j] = np.bincount(features.row, weights=contrib, minlength=features.n_rows)
    return out + bias[None, :]


# --- heads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """One calibrated linear model over the shared features."""

    name: str
    classes: tuple[str, ...]
    weights: np.ndarray  # (2**bits, 1) for two classes, else (2**bits, len(classes))
    bias: np.ndarray
    calibration: dict[str, float]
    thresholds: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def scores(self, features: Features) -> np.ndarray:
        """Raw scores, `(n_rows, 1)` for two classes else `(n_rows, len(classes))`."""
        return linear_scores(features, self.weights, self.bias)

    def proba(self, features: Features) -> np.ndarray:
        """`(n_rows, len(classes))` calibrated probabilities (rows sum to 1)."""
        return calibrated(self.scores(features), self.calibration)

    def predict(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        """(class index, its calibrated probability) per row; see `decide`."""
        raw = self.scores(features)
        pred = decide(raw)
        prob = calibrated(raw, self.calibration)
        return pred, prob[np.arange(pred.size), pred]


def decide(scores: np.ndarray) -> np.ndarray:
    """The class of each row from raw scores: the heads are trained with balanced class
    weights, so the raw argmax (or score > 0) treats the classes alike, whatever their
    share in the training data; the calibrated probabilities keep the real shares."""
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    return scores.argmax(axis=1)


def calibrated(scores: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    """Probabilities from raw scores: Platt for one column, a softmax temperature for more."""
    if scores.shape[1] == 1:
        z = calibration["platt_a"] * scores[:, 0] + calibration["platt_b"]
        p1 = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        return np.stack([1.0 - p1, p1], axis=1)
    z = scores / calibration["temperature"]
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class TaggerModel:
    """All heads, read from the repository once per process."""

    bits: int
    heads: dict[str, Head]
    meta: dict[str, Any]

    def head(self, name: str) -> Head:
        if name not in self.heads:
            raise KeyError(f"tagger model has no head {name!r}; has {sorted(self.heads)}")
        return self.heads[name]


@lru_cache(maxsize=2)
def load_model(weights_path: Path = MODEL_WEIGHTS, meta_path: Path = MODEL_META) -> TaggerModel:
    """The committed model; raises when the files are missing or from another feature version."""
    if not weights_path.is_file() or not meta_path.is_file():
        raise FileNotFoundError(
            f"tagger model missing ({weights_path.name}, {meta_path.name}); "
            "train it with `python bench/train_taggers.py`"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ValueError(
            f"{meta_path.name} has feature version {meta.get('feature_version')}, "
            f"the code {FEATURE_VERSION}: retrain with bench/train_taggers.py"
        )
    with np.load(weights_path) as arrays:
        stacked = arrays["weights"]
    heads = {}
    for spec in meta["heads"]:
        start, stop = spec["columns"]
        heads[spec["name"]] = Head(
            name=spec["name"],
            classes=tuple(spec["classes"]),
            weights=stacked[:, start:stop].astype(np.float32),
            bias=np.asarray(spec["bias"], dtype=np.float64),
            calibration=spec["calibration"],
            thresholds=spec.get("thresholds", {}),
            meta=spec.get("meta", {}),
        )
    return TaggerModel(int(meta["bits"]), heads, meta)


# --- training (numpy only; deterministic: fixed order, full-batch updates) ---------------


def fit_linear(
    features: Features,
    labels: np.ndarray,
    n_classes: int,
    l2: float = 1e-4,
    epochs: int = 300,
    learning_rate: float = 0.05,
    bits: int = DEFAULT_BITS,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights `(2**bits, k)` and bias `(k,)` of an L2-regularised logistic regression
    (k = 1 for two classes, else softmax over `n_classes`), fitted by full-batch Adam.

    Every step is a fixed sequence of numpy reductions over the data in its given order,
    so the same input gives the same weights bit for bit.
    """
    dim = 2**bits
    k = 1 if n_classes == 2 else n_classes
    n = features.n_rows
    weight = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    weight = weight / weight.sum()
    b = np.zeros(k, dtype=np.float64)
    if k == 1:
        target = labels.astype(np.float64)[:, None]
    else:
        target = np.zeros((n, k))
        target[np.arange(n), labels] = 1.0
    # only the buckets the data touches move; they are optimised as a dense block
    used, local_col = np.unique(features.col, return_inverse=True)
    w = np.zeros((used.size, k), dtype=np.float64)
    m_w = np.zeros_like(w)
    v_w = np.zeros_like(w)
    m_b = np.zeros(k)
    v_b = np.zeros(k)
    val = features.val.astype(np.float64)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        scores = np.empty((n, k))
        for j in range(k):
            scores[:, j] = np.bincount(features.row, weights=w[local_col, j] * val, minlength=n)
        scores += b
        if k == 1:
            prob = 1.0 / (1.0 + np.exp(-np.clip(scores, -40, 40)))
        else:
            z = scores - scores.max(axis=1, keepdims=True)
            e = np.exp(z)
            prob = e / e.sum(axis=1, keepdims=True)
        err = (prob - target) * weight[:, None]
        grad_w = np.empty_like(w)
        for j in range(k):
            grad_w[:, j] = np.bincount(
                local_col, weights=err[features.row, j] * val, minlength=used.size
            )
        grad_w += l2 * w
        grad_b = err.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        corr1 = 1 - beta1**step
        corr2 = 1 - beta2**step
        w -= learning_rate * (m_w / corr1) / (np.sqrt(v_w / corr2) + eps)
        b -= learning_rate * (m_b / corr1) / (np.sqrt(v_b / corr2) + eps)
    full = np.zeros((dim, k), dtype=np.float32)
    full[used] = w
    return full, b


def fit_platt(scores: np.ndarray, labels: np.ndarray, iterations: int = 100) -> dict[str, float]:
    """`platt_a`, `platt_b` of sigmoid(a * score + b) by Newton's method on the log loss,
    with Platt's smoothed targets (so a separable fold cannot blow the slope up)."""
    y = labels.astype(np.float64)
    pos, neg = y.sum(), (1 - y).sum()
    t = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    a, c = 1.0, 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * scores + c, -40, 40)))
        g = np.array([np.sum((p - t) * scores), np.sum(p - t)])
        s = p * (1 - p)
        h = np.array(
            [[np.sum(s * scores * scores), np.sum(s * scores)], [np.sum(s * scores), np.sum(s)]]
        ) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, c = a - step[0], c - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return {"platt_a": float(a), "platt_b": float(c)}


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The softmax temperature (grid 0.2..5) with the lowest log loss."""
    best_t, best_loss = 1.0, np.inf
    for t in np.round(np.exp(np.linspace(np.log(0.2), np.log(5.0), 61)), 4):
        p = calibrated(scores, {"temperature": float(t)})
        loss = -np.mean(np.log(np.maximum(p[np.arange(labels.size), labels], 1e-12)))
        if loss < best_loss - 1e-12:
            best_t, best_loss = float(t), loss
    return {"temperature": best_t}
