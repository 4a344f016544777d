"""A persisted, incrementally updated de-duplication index (DESIGN.md, Scale; SCALE-NOTES.md).

`update(index_dir, fingerprints)` merges one day's `DayFingerprints` into the index by
joins (`update_days` several days in one pass, as a range build does);
`cluster_assignments(index_dir, days)` then gives every row of those days its cluster
and the cluster's earliest copy, so a day's corpus can apply policy v2 ("the earliest
copy decides", `curation.dedup`) reading only that day and the index, never the other
raw days. The clusters are, by construction, those `dedup.cluster_duplicates` would
find over all days at once (the tests check the partition and the earliest copies).

Model
-----
node
    One distinct exact key (XXH3-128 `key` of `curation.fingerprints`), with a sequential
    UInt64 id given when the key is first seen and never reused. Exact duplicates are one
    node, so the near-duplicate graph has one vertex per distinct text, as in the batch.
edge
    A verified near pair of nodes (exact Jaccard of padded character shingles >=
    threshold, `dedup._verified_pairs`), found when the later of the two nodes arrived:
    its band keys are joined with the stored band keys of every live node, candidates
    verified against the stored canonical texts of the candidate nodes only.
cluster
    A connected component of nodes; its id is its smallest node id (internal: ids move
    when clusters merge or split; `cluster_assignments` names clusters by their earliest
    doc). Its earliest copy is its smallest doc id (doc ids order by
    (created_at, platform, content_id): see `curation.fingerprints`). Rows with no exact
    key (empty text) are singletons outside the graph.

Persisted tables (Parquet, one folder)
--------------------------------------
``manifest.json`` (the commit point), ``docs/<day>.g<N>.parquet`` (doc, platform,
content_id, created_at, node: every row of that day), ``nodes`` (node, key, near, cluster,
first_doc), ``key_days`` (node, day, min_doc, docs: which days hold a node),
``clusters`` (cluster → earliest doc and its identity), ``edges`` (a < b),
``bands/*.parquet`` (band_key, node; each run sorted by band_key) and ``texts/*.parquet``
(node, canonical text of near-eligible nodes). Bands and texts are append-only runs (one
per update that adds nodes), merged into one run when there are more than `_MAX_RUNS`;
entries of nodes that died are ignored on read and dropped on merge. Every update writes
new files named by a new generation, then replaces ``manifest.json`` atomically
(temp file + `os.replace`), then deletes files no manifest names: a crash leaves the
previous index intact. One writer at a time (an exclusive `flock` on ``.lock``).

Updating one day D
------------------
1. Map D's keys to nodes (join on key); unseen keys get new node ids.
2. Replace D's rows of ``key_days``: re-adding D replaces its docs, and a node no day
   holds any more dies (with its edges, bands and text). Days may arrive in any order.
3. New near-eligible nodes only: join their band keys with the stored ones; within a
   bucket, pair as `dedup._candidate_pairs` does (all pairs up to
   `dedup._BUCKET_ALL_PAIRS` members, beyond that a window of predecessors plus the
   bucket's first member, members in node order), keep pairs with a new node, skip
   pairs whose shingle-set sizes alone put them under the threshold (J <= min/max: what
   verification would reject; ~1/3 of the candidates on the sample), verify the rest.
4. Frontier: the clusters holding any node D held before or holds now, or touched by a
   new edge. Their components are recomputed from their stored edges (min-label hooking
   with pointer jumping in numpy), so merges (a bridge) and splits (a removed bridge) are
   both exact; no other cluster can have changed.
5. Report: a row's outcome under policy v2 depends only on its cluster's earliest copy,
   so `affected_days` are the days other than D holding a row whose earliest copy
   changed (a new earlier copy, a merge into an older cluster, a split, a removed
   earliest copy). Members of a cluster that absorbed a younger one keep their earliest
   copy and their day is not named.

Divergence from the batch: only in buckets of more than `_BUCKET_ALL_PAIRS` members,
where both sides verify a bounded subset of pairs and the subsets are ordered
differently (input order there, node order here).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from curation.dedup import _BUCKET_ALL_PAIRS, DedupConfig, _verified_pairs
from curation.fingerprints import FINGERPRINT_VERSION, DayFingerprints, day_of_doc

MANIFEST = "manifest.json"
FORMAT = 1
_MAX_RUNS = 8
_U64 = pl.UInt64()

DOCS_SCHEMA: dict[str, pl.DataType] = {
    "doc": _U64,
    "platform": pl.String(),
    "content_id": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "node": _U64,
}
NODES_SCHEMA: dict[str, pl.DataType] = {
    "node": _U64, "key": pl.Binary(), "near": pl.Boolean(), "cluster": _U64, "first_doc": _U64,
}
KEY_DAYS_SCHEMA: dict[str, pl.DataType] = {"node": _U64, "day": pl.Date(), "min_doc": _U64, "docs": pl.UInt32()}
CLUSTERS_SCHEMA: dict[str, pl.DataType] = {
    "cluster": _U64,
    "earliest_doc": _U64,
    "earliest_platform": pl.String(),
    "earliest_content_id": pl.String(),
    "earliest_created_at": pl.Datetime("us", "UTC"),
}
EDGES_SCHEMA: dict[str, pl.DataType] = {"a": _U64, "b": _U64}
BANDS_SCHEMA: dict[str, pl.DataType] = {"band_key": _U64, "node": _U64}
TEXTS_SCHEMA: dict[str, pl.DataType] = {"node": _U64, "text": pl.String(), "shingles": pl.UInt32()}
ASSIGNMENT_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "content_id": pl.String(),
    "platform": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "doc": _U64,
    "cluster_id": pl.Int64(),
    "earliest_platform": pl.String(),
    "earliest_content_id": pl.String(),
    "earliest_created_at": pl.Datetime("us", "UTC"),
    "is_earliest": pl.Boolean(),
}
CHANGED_SCHEMA: dict[str, pl.DataType] = {
    "cluster": _U64, "earliest_doc": _U64, "previous_earliest_docs": pl.List(_U64),
}
MERGED_SCHEMA: dict[str, pl.DataType] = {"alias": _U64, "cluster": _U64}
AFFECTED_SCHEMA: dict[str, pl.DataType] = {"day": pl.Date(), "rows": pl.UInt32()}


@dataclass
class UpdateResult:
    """What one `update` changed.

    changed_clusters: clusters (new ids) holding a row whose earliest copy changed, with
      the earliest doc now and the earliest docs its members had before.
    merged: old cluster ids (`alias`) that are now part of another cluster (`cluster`).
    day / days: the first day of the update / all of its days.
    affected_days: days outside `days` whose rows' earliest copy changed: their corpus
      outcome may change, rebuild them.
    affected_rows: (day, rows) for those days: how many of their rows changed earliest
      copy (usually a few per day: a rebuild could patch only them).
    """

    day: date
    docs: int
    removed_docs: int
    new_nodes: int
    dead_nodes: int
    candidate_pairs: int
    new_edges: int
    pruned_pairs: int
    changed_clusters: pl.DataFrame
    merged: pl.DataFrame
    affected_days: list[date] = field(default_factory=list)
    affected_rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=AFFECTED_SCHEMA))
    days: list[date] = field(default_factory=list)


@dataclass
class _State:
    manifest: dict
    nodes: pl.DataFrame
    key_days: pl.DataFrame
    clusters: pl.DataFrame
    edges: pl.DataFrame


# --- files ----------------------------------------------------------------------------


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Atomic: write beside, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)


def _write_json(obj: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextmanager
def _locked(index_dir: Path, shared: bool = False) -> Iterator[None]:
    """One writer, or any number of readers (a reader must not see files vanish)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read(index_dir: Path, name: str | None, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if name is None:
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(index_dir / name).cast(schema)  # type: ignore[arg-type]


def _manifest(index_dir: Path) -> dict | None:
    path = index_dir / MANIFEST
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("fingerprints") != FINGERPRINT_VERSION:
        raise ValueError(
            f"{path}: index format {manifest.get('format')}/{manifest.get('fingerprints')}, "
            f"expected {FORMAT}/{FINGERPRINT_VERSION}: rebuild the index from the days' fingerprints"
        )
    return manifest


def _load(index_dir: Path, config: DedupConfig | None) -> _State:
    manifest = _manifest(index_dir)
    if manifest is None:
        if config is None:
            raise FileNotFoundError(f"no de-duplication index in {index_dir}")
        manifest = {
            "format": FORMAT, "fingerprints": FINGERPRINT_VERSION, "config": asdict(config),
            "generation": 0, "next_node": 0, "days": {}, "bands": [], "texts": [],
            "nodes": None, "key_days": None, "clusters": None, "edges": None,
        }
    elif config is not None and manifest["config"] != asdict(config):
        raise ValueError(
            f"{index_dir}: index built with {manifest['config']}, fingerprints use {asdict(config)}"
        )
    return _State(
        manifest=manifest,
        nodes=_read(index_dir, manifest["nodes"], NODES_SCHEMA),
        key_days=_read(index_dir, manifest["key_days"], KEY_DAYS_SCHEMA),
        clusters=_read(index_dir, manifest["clusters"], CLUSTERS_SCHEMA),
        edges=_read(index_dir, manifest["edges"], EDGES_SCHEMA),
    )


def _scan_runs(index_dir: Path, runs: list[str], schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    if not runs:
        return pl.LazyFrame(schema=schema)
    return pl.scan_parquet([str(index_dir / r) for r in runs]).cast(schema)  # type: ignore[arg-type]


def _collect_garbage(index_dir: Path, manifest: dict) -> None:
    """Delete the Parquet files the manifest does not name (older generations)."""
    keep = {manifest[k] for k in ("nodes", "key_days", "clusters", "edges") if manifest[k]}
    keep |= set(manifest["bands"]) | set(manifest["texts"]) | set(manifest["days"].values())
    for path in index_dir.rglob("*.parquet"):
        if str(path.relative_to(index_dir)) not in keep:
            path.unlink(missing_ok=True)


def indexed_days(index_dir: str | os.PathLike) -> list[date]:
    """The days the index holds, sorted."""
    manifest = _manifest(Path(index_dir))
    return sorted(date.fromisoformat(d) for d in (manifest or {"days": {}})["days"])


# --- graph helpers --------------------------------------------------------------------


def _window_pairs(bands: pl.DataFrame, first_new: int) -> pl.DataFrame:
    """Candidate (a, b) node pairs, a < b, b new (>= first_new), of (band_key, node) rows
    sorted by band_key then node: the bucket rule of `dedup._candidate_pairs`."""
    key = bands["band_key"].to_numpy()
    node = bands["node"].to_numpy()
    if len(key) < 2:
        return pl.DataFrame(schema=EDGES_SCHEMA)
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    bucket = np.cumsum(starts) - 1
    firsts, seconds = [node[starts][bucket][~starts]], [node[~starts]]
    longest = int(np.bincount(bucket).max())
    for d in range(1, min(longest, _BUCKET_ALL_PAIRS)):
        ok = bucket[d:] == bucket[:-d]
        firsts.append(node[:-d][ok])
        seconds.append(node[d:][ok])
    pairs = pl.DataFrame(
        {"a": np.concatenate(firsts), "b": np.concatenate(seconds)}, schema=EDGES_SCHEMA
    )
    return pairs.filter((pl.col("b") >= first_new) & (pl.col("a") != pl.col("b"))).unique().sort("a", "b")


def _components(nodes: np.ndarray, edges: pl.DataFrame) -> np.ndarray:
    """Smallest node of each node's connected component; `nodes` sorted, unique, and
    holding both ends of every edge. Min-label hooking + pointer jumping, vectorised."""
    labels = np.arange(len(nodes), dtype=np.int64)
    if edges.height == 0:
        return nodes
    a = np.searchsorted(nodes, edges["a"].to_numpy())
    b = np.searchsorted(nodes, edges["b"].to_numpy())
    while True:
        la, lb = labels[a], labels[b]
        low = np.minimum(la, lb)
        hooked = labels.copy()
        np.minimum.at(hooked, la, low)  # hook the roots of both ends to the smaller label
        np.minimum.at(hooked, lb, low)
        while True:  # pointer jumping: every label to its root
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, labels):
            return nodes[labels]
        labels = hooked


def _identities(index_dir: Path, manifest: dict, docs: Iterable[int], updated: list[date],
                todays: pl.DataFrame) -> pl.DataFrame:
    """doc, platform, content_id, created_at of the given docs (the updated days' from
    `todays`, other days' from their stored docs files)."""
    wanted = pl.DataFrame({"doc": list(docs)}, schema={"doc": _U64}).with_columns(
        day_of_doc(pl.col("doc")).alias("day"))
    frames = [todays.join(wanted.select("doc"), on="doc", how="semi")]
    for day in wanted.filter(~pl.col("day").is_in(pl.Series(updated, dtype=pl.Date()).implode()))["day"] \
            .unique().sort().to_list():
        name = manifest["days"].get(day.isoformat())
        if name is None:
            raise RuntimeError(f"index inconsistent: doc of {day} referenced, day not indexed")
        frames.append(pl.scan_parquet(index_dir / name)
                      .join(wanted.lazy().select("doc"), on="doc", how="semi").collect())
    return pl.concat([f.select("doc", "platform", "content_id", "created_at") for f in frames])


# --- update ---------------------------------------------------------------------------


def update(index_dir: str | os.PathLike, fingerprints: DayFingerprints) -> UpdateResult:
    """Merge (or replace) one day's fingerprints into the index in `index_dir`; see the
    module docstring. Idempotent: the same fingerprints twice leave the same index."""
    return update_days(index_dir, [fingerprints])


def update_days(index_dir: str | os.PathLike, fingerprints: Sequence[DayFingerprints]) -> UpdateResult:
    """Merge (or replace) several days' fingerprints in one update: one read and one rewrite
    of the index tables, one band join and one component pass for all of them, instead of
    one per day (a full build of 90 days paid 90 growing rewrites). The index it leaves is
    the one the days would leave one by one in date order; `affected_days` names only days
    outside the set."""
    if not fingerprints:
        raise ValueError("no fingerprints to add")
    configs = {fp.config for fp in fingerprints}
    if len(configs) != 1:
        raise ValueError(f"fingerprints of one update must share one config, got {len(configs)}")
    if len({fp.day for fp in fingerprints}) != len(fingerprints):
        raise ValueError("each day may appear once in an update")
    index_dir = Path(index_dir)
    with _locked(index_dir):
        return _update(index_dir, list(fingerprints), keep_day=True)


def _update(index_dir: Path, fps: list[DayFingerprints], keep_day: bool) -> UpdateResult:
    config = fps[0].config
    st = _load(index_dir, config)
    manifest = dict(st.manifest)
    set_days = sorted(fp.day for fp in fps)
    isos = [d.isoformat() for d in set_days]
    generation = manifest["generation"] + 1
    next_node = int(manifest["next_node"])
    old_docs = pl.concat([_read(index_dir, manifest["days"].get(iso), DOCS_SCHEMA) for iso in isos])
    all_docs = pl.concat([fp.docs for fp in fps]).sort("doc")
    all_bands = pl.concat([fp.bands for fp in fps])

    # 1. keys -> nodes; new keys numbered in doc order (deterministic).
    keyed = all_docs.filter(pl.col("key").is_not_null())
    per_key = keyed.group_by("key").agg(
        pl.col("doc").min().alias("rep"), pl.col("near").first(), pl.col("text").first(),
        pl.col("shingles").first(),
    )
    known = per_key.join(st.nodes.select("key", "node"), on="key", how="inner")
    fresh = (per_key.join(st.nodes.select("key"), on="key", how="anti").sort("rep")
             .with_row_index("node", offset=0)
             .with_columns((pl.col("node").cast(_U64) + next_node).alias("node")))
    key_node = pl.concat([known.select("key", "node"), fresh.select("key", "node")])
    todays = all_docs.join(key_node, on="key", how="left").select(list(DOCS_SCHEMA)).sort("doc")
    in_set = pl.col("day").is_in(pl.Series(set_days, dtype=pl.Date()).implode())

    # 2. replace the days' rows of key_days; nodes nobody holds die.
    key_days = pl.concat([
        st.key_days.filter(~in_set),
        todays.filter(pl.col("node").is_not_null()).with_columns(day_of_doc(pl.col("doc")).alias("day"))
        .group_by("node", "day").agg(pl.col("doc").min().alias("min_doc"), pl.len().cast(pl.UInt32).alias("docs")),
    ]).select(list(KEY_DAYS_SCHEMA))
    first = key_days.group_by("node").agg(pl.col("min_doc").min().alias("first_doc"))
    dead = st.nodes.join(first, on="node", how="anti")["node"]
    nodes = pl.concat([
        st.nodes.drop("first_doc").join(first, on="node", how="inner"),
        fresh.select("node", "key", "near", pl.lit(None, _U64).alias("cluster"))
        .join(first, on="node", how="inner"),
    ]).select(list(NODES_SCHEMA))
    edges = st.edges.filter(~pl.col("a").is_in(dead.implode()) & ~pl.col("b").is_in(dead.implode()))

    # 3. candidates of new near nodes against every live node, verified on stored texts.
    new_near = fresh.filter(pl.col("near")).select("node", "rep", "text", "shingles")
    new_bands = all_bands.join(new_near.select(pl.col("rep").alias("doc"), "node"), on="doc", how="inner") \
        .select("band_key", "node")
    pairs = pl.DataFrame(schema=EDGES_SCHEMA)
    verified = pl.DataFrame(schema=EDGES_SCHEMA)
    pruned = 0
    if new_bands.height:
        old_bands = (
            _scan_runs(index_dir, manifest["bands"], BANDS_SCHEMA)
            .join(new_bands.lazy().select("band_key").unique(), on="band_key", how="semi")
            .join(nodes.lazy().select("node"), on="node", how="semi")  # live ones only
            .collect()
        )
        candidates = pl.concat([old_bands, new_bands]).sort("band_key", "node")
        pairs = _window_pairs(candidates, next_node)
    if pairs.height:
        involved = pl.concat([pairs["a"], pairs["b"]]).unique().sort()
        old_involved = involved.filter(involved < next_node)
        old_texts = (_scan_runs(index_dir, manifest["texts"], TEXTS_SCHEMA)
                     .filter(pl.col("node").is_in(old_involved.implode())).collect())
        texts = pl.concat([old_texts, new_near.select(list(TEXTS_SCHEMA))]) \
            .join(involved.to_frame("node"), on="node", how="semi").unique("node").sort("node")
        if texts.height != involved.len():
            raise RuntimeError(f"index inconsistent: {involved.len() - texts.height} candidate texts not stored")
        # Jaccard <= min/max of the set sizes: skip what verification would reject anyway.
        sizes = texts.select("node", "shingles")
        before_prune = pairs.height
        pairs = (pairs.join(sizes.rename({"node": "a", "shingles": "sa"}), on="a")
                 .join(sizes.rename({"node": "b", "shingles": "sb"}), on="b")
                 .filter(pl.min_horizontal("sa", "sb").cast(pl.Float64)
                         >= config.threshold * pl.max_horizontal("sa", "sb").cast(pl.Float64))
                 .select("a", "b").sort("a", "b"))
        pruned = before_prune - pairs.height
        ids = texts["node"].to_numpy()
        local = np.stack([np.searchsorted(ids, pairs["a"].to_numpy()),
                          np.searchsorted(ids, pairs["b"].to_numpy())], axis=1).astype(np.int64)
        ok = _verified_pairs(local, texts["text"], config)
        verified = pl.DataFrame({"a": ids[ok[:, 0]], "b": ids[ok[:, 1]]}, schema=EDGES_SCHEMA)
        edges = pl.concat([edges, verified]).unique().sort("a", "b")

    # 4. frontier: clusters touched by the day (before or now) or by a new edge.
    touched = pl.concat([old_docs["node"].drop_nulls(), todays["node"].drop_nulls(),
                         verified["a"], verified["b"]]).unique()
    old_clusters = st.nodes.filter(pl.col("node").is_in(touched.implode()))["cluster"].unique()
    frontier = nodes.filter(pl.col("cluster").is_in(old_clusters.implode()) | pl.col("cluster").is_null())
    frontier_ids = frontier["node"].sort().to_numpy()
    inside = pl.Series(frontier_ids).implode()
    frontier_edges = edges.filter(pl.col("a").is_in(inside) & pl.col("b").is_in(inside))
    roots = pl.DataFrame({"node": frontier_ids, "new_cluster": _components(frontier_ids, frontier_edges)},
                         schema={"node": _U64, "new_cluster": _U64})
    nodes = (nodes.join(roots, on="node", how="left")
             .with_columns(pl.coalesce("new_cluster", "cluster").alias("cluster"))
             .select(list(NODES_SCHEMA)).sort("node"))
    regrouped = (nodes.join(roots.select("node"), on="node", how="semi")
                 .group_by("cluster").agg(pl.col("first_doc").min().alias("earliest_doc")))
    who = _identities(index_dir, manifest, regrouped["earliest_doc"].to_list(), set_days, todays)
    if who.height != regrouped.height:
        raise RuntimeError(f"index inconsistent: {regrouped.height - who.height} earliest docs not found")
    regrouped = regrouped.join(who.rename({"doc": "earliest_doc", "platform": "earliest_platform",
                                           "content_id": "earliest_content_id",
                                           "created_at": "earliest_created_at"}), on="earliest_doc")
    clusters = pl.concat([st.clusters.filter(~pl.col("cluster").is_in(old_clusters.implode())),
                          regrouped.select(list(CLUSTERS_SCHEMA))]).sort("cluster")

    # 5. report: rows (of surviving nodes) whose earliest copy changed, and merges.
    before = st.nodes.filter(pl.col("cluster").is_in(old_clusters.implode())).select(
        "node", pl.col("cluster").alias("old_cluster")).join(
        st.clusters.select(pl.col("cluster").alias("old_cluster"), pl.col("earliest_doc").alias("old_earliest")),
        on="old_cluster")
    after = nodes.join(roots.select("node"), on="node", how="semi").select("node", "cluster").join(
        clusters.select("cluster", "earliest_doc"), on="cluster")
    compared = after.join(before, on="node", how="inner")
    changed_nodes = compared.filter(pl.col("earliest_doc") != pl.col("old_earliest"))
    changed = (changed_nodes.group_by("cluster").agg(
        pl.col("earliest_doc").first(), pl.col("old_earliest").unique().sort().alias("previous_earliest_docs"))
        .select(list(CHANGED_SCHEMA)).sort("cluster"))
    merged = (compared.select(pl.col("old_cluster").alias("alias"), "cluster").unique()
              .filter(pl.col("cluster").n_unique().over("alias").eq(1)
                      & pl.col("alias").n_unique().over("cluster").gt(1)
                      & (pl.col("alias") != pl.col("cluster")))
              .select(list(MERGED_SCHEMA)).sort("alias"))
    affected_rows = (key_days.join(changed_nodes.select("node"), on="node", how="semi")
                     .filter(~in_set).group_by("day").agg(pl.col("docs").sum().alias("rows"))
                     .select(list(AFFECTED_SCHEMA)).cast(AFFECTED_SCHEMA).sort("day"))  # type: ignore[arg-type]
    affected = affected_rows["day"].to_list()

    # 6. write a new generation, then commit by replacing the manifest.
    g = f"g{generation:06d}"
    days = dict(manifest["days"])
    for iso in isos:
        days.pop(iso, None)
    if keep_day:  # an empty day stays indexed (with no rows); `remove_day` forgets it
        by_day = todays.with_columns(day_of_doc(pl.col("doc")).alias("_day")).partition_by("_day", as_dict=True)
        for day, iso in zip(set_days, isos, strict=True):
            days[iso] = f"docs/{iso}.{g}.parquet"
            part = by_day.get((day,))
            _write_parquet(part.drop("_day") if part is not None else todays.clear(), index_dir / days[iso])
    bands, texts = list(manifest["bands"]), list(manifest["texts"])
    if new_bands.height:
        bands.append(f"bands/{g}.parquet")
        _write_parquet(new_bands.sort("band_key", "node"), index_dir / bands[-1])
    if new_near.height:
        texts.append(f"texts/{g}.parquet")
        _write_parquet(new_near.select(list(TEXTS_SCHEMA)).sort("node"), index_dir / texts[-1])
    live = nodes.lazy().select("node")
    if len(bands) > _MAX_RUNS:
        merged_bands = _scan_runs(index_dir, bands, BANDS_SCHEMA).join(live, on="node", how="semi") \
            .sort("band_key", "node").collect()
        bands = [f"bands/{g}m.parquet"]
        _write_parquet(merged_bands, index_dir / bands[0])
    if len(texts) > _MAX_RUNS:
        merged_texts = _scan_runs(index_dir, texts, TEXTS_SCHEMA).join(live, on="node", how="semi") \
            .sort("node").collect()
        texts = [f"texts/{g}m.parquet"]
        _write_parquet(merged_texts, index_dir / texts[0])
    for name, frame in (("nodes", nodes), ("key_days", key_days.sort("node", "day")),
                        ("clusters", clusters), ("edges", edges)):
        manifest[name] = f"{name}.{g}.parquet"
        _write_parquet(frame, index_dir / manifest[name])
    manifest.update(generation=generation, next_node=next_node + fresh.height,
                    days=days, bands=bands, texts=texts)
    _write_json(manifest, index_dir / MANIFEST)
    _collect_garbage(index_dir, manifest)

    removed = old_docs.join(todays, on=["platform", "content_id"], how="anti").height
    return UpdateResult(day=set_days[0], days=set_days, docs=todays.height, removed_docs=removed,
                        new_nodes=fresh.height, dead_nodes=dead.len(), candidate_pairs=pairs.height + pruned,
                        pruned_pairs=pruned,
                        new_edges=verified.height,
                        changed_clusters=changed, merged=merged, affected_days=affected,
                        affected_rows=affected_rows)


def remove_day(index_dir: str | os.PathLike, day: date, config: DedupConfig | None = None) -> UpdateResult:
    """Take a day out of the index: its docs leave, and the day is no longer indexed
    (`update` with an empty day keeps the day, with no rows)."""
    from curation.fingerprints import day_fingerprints

    index_dir = Path(index_dir)
    manifest = _manifest(index_dir)
    if config is None:
        config = DedupConfig(**manifest["config"]) if manifest else DedupConfig()
    empty = pl.DataFrame(schema={"content_id": pl.String, "platform": pl.String,
                                 "created_at": pl.Datetime("us", "UTC"), "text": pl.String})
    with _locked(index_dir):
        return _update(index_dir, [day_fingerprints(empty, config, day=day)], keep_day=False)


# --- reading --------------------------------------------------------------------------


def cluster_assignments(index_dir: str | os.PathLike, days: Iterable[date]) -> pl.DataFrame:
    """For every row of `days`: its cluster and the cluster's earliest copy (ASSIGNMENT_SCHEMA).

    `cluster_id` is the earliest copy's doc id (unique per cluster; comparable only
    within one state of the index). With this, policy v2 needs only the earliest copy's
    exclusion reason, which the caller joins on (earliest_platform, earliest_content_id):
    eligibility changes over time, so the index stores identity only. Raises ValueError
    for a day the index does not hold.
    """
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST).exists():
        raise FileNotFoundError(f"no de-duplication index in {index_dir}")
    with _locked(index_dir, shared=True):
        st = _load(index_dir, None)
        frames = []
        for day in sorted(set(days)):
            name = st.manifest["days"].get(day.isoformat())
            if name is None:
                raise ValueError(f"day {day} is not in the index {index_dir}")
            frames.append(pl.read_parquet(index_dir / name).with_columns(pl.lit(day).alias("day")))
    if not frames:
        return pl.DataFrame(schema=ASSIGNMENT_SCHEMA)
    docs = pl.concat(frames)
    out = (
        docs.join(st.nodes.select("node", "cluster"), on="node", how="left")
        .join(st.clusters, on="cluster", how="left")
        .with_columns(
            pl.coalesce("earliest_doc", "doc").alias("earliest_doc"),
            pl.coalesce("earliest_platform", "platform").alias("earliest_platform"),
            pl.coalesce("earliest_content_id", "content_id").alias("earliest_content_id"),
            pl.coalesce("earliest_created_at", "created_at").alias("earliest_created_at"),
        )
        .with_columns(
            pl.col("earliest_doc").cast(pl.Int64).alias("cluster_id"),
            (pl.col("earliest_doc") == pl.col("doc")).alias("is_earliest"),
        )
    )
    return out.select(list(ASSIGNMENT_SCHEMA)).cast(ASSIGNMENT_SCHEMA)  # type: ignore[arg-type]
