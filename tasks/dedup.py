"""Deduplication of republished stories: exact, near and incremental.

Pure functions over one batch (so the heavy part can run on Dask workers):

    normalize_body ─► ngram_hashes ─► minhash_signatures (rensa) ─► band_keys ─► candidate_pairs
    body_hash (exact groups)                                           verify_pairs (real overlap)
                          touched_components (union-find) ─► canonical + split ─► clusters

* **Exact**: same hash of the normalised body (NFKC so full/half width fold, casefolded;
  whitespace, punctuation, controls and zero-widths removed, so ，/,/、 and “/" never matter).
* **Near**: MinHash (NUM_PERM uint32 hashes, computed by the rensa library's `RMinHash`) over
  character NGRAM-grams of the normalised body; LSH with BANDS bands of ROWS rows finds
  candidates (band keys are ours: see `band_keys`). Work stays linear in the documents: an
  LSH bucket of more than MAX_BUCKET rows (templates, very short texts) pairs each row only
  with its first BUCKET_LEADERS rows, and a candidate whose MinHash estimate is far below what
  a merge needs (`likely_duplicates`) is not verified; both are counted in `DedupResult.stats`.
  Each remaining candidate is verified on the real shingle sets. A pair merges when Jaccard >= NEAR_THRESHOLD, or when the overlap
  coefficient |A∩B| / min(|A|,|B|) (containment of the shorter text) >= NEAR_THRESHOLD and the
  shorter text has >= MIN_SHINGLES_FOR_CONTAINMENT shingles: a condensed republication of a
  longer story is found, a title-plus-dateline template page is not.
* **clusters** rows: `kind` is `unique` for the canonical (singletons included), `exact` for a
  member with the canonical's body hash, `near` otherwise. `similarity` = containment against
  the canonical (1.0 for unique/exact; >= Jaccard, which is kept in the extra `jaccard`
  column). Every `near` row has `similarity >= NEAR_THRESHOLD` (the gate's check): components
  are split around their canonical, so a chain A~B~C never puts C under A unless C ~ A.
* **Canonical** (`choose_canonical`): the most complete body (longest normalised body; within
  COMPLETENESS_TOLERANCE of it counts as equally complete), then the body most exact copies
  agree on, then a named outlet over an aggregator over none, then the earliest
  published_date, then the first seen: the earliest row of the input `articles` frame (rows
  of the index come before this run's, in the order they were first seen), never the
  article_id. "Most copies" chooses between *different* bodies (the text several copies agree
  on over a variant with a promo line or an escaped payload); inside one exact group every
  member has the same count, so a group of byte copies is represented by its best-attributed
  and then first-seen member (the seed, when sources are ingested seeds first).
  Incrementally, an existing canonical stays unless a newcomer's body is more than
  CANONICAL_SWITCH_MARGIN longer (stability beats a marginal preference); the cluster id
  never changes. The canonical inherits a missing date / outlet from its members
  (`DedupResult.articles_update`, applied with `inherit_metadata`).
* **Incremental**: `DedupIndex` persists signatures, body hashes and the cluster assignment
  (no bodies: the old articles a candidate must be verified against are fetched by id).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
from rensa import RMinHash

from newsgate.tasks.stage import Stage

# ---- parameters (chosen by measurement, see benchmarks/README_dedup.md) -----------------------
NGRAM = 5                 # character n-gram length of the shingles
BANDS = 16                # LSH bands
ROWS = 4                  # MinHash rows per band
NUM_PERM = BANDS * ROWS   # MinHash permutations
# LSH S-curve threshold (1/BANDS)**(1/ROWS) ~= 0.50: candidates are generated well below the
# merge threshold (P(candidate | J=0.8) = 0.9998, J=0.5: 0.64), verification does the precision.
LSH_THRESHOLD = (1 / BANDS) ** (1 / ROWS)
NEAR_THRESHOLD = 0.8      # the gate checks similarity >= NEAR_THRESHOLD for every `near` member
MIN_SHINGLES_FOR_CONTAINMENT = 100  # ~100 characters: a paragraph, not a title + dateline template
# Bodies within 5 % of the longest count as equally complete: a kept caption, a promo line or
# an escaped payload is not "more story" than the text six other copies agree on.
COMPLETENESS_TOLERANCE = 0.05
CANONICAL_SWITCH_MARGIN = 0.10
SEED = 20240601
# Linear work on template-heavy or very short texts, whose LSH buckets hold thousands of rows:
# a bucket of up to MAX_BUCKET rows pairs them all; in a larger one each row is paired with
# the bucket's first BUCKET_LEADERS rows only (the first seen: copies of one story still meet
# their original). No bucket of the bench corpus's 3,426 real pages is that large.
MAX_BUCKET = 32
BUCKET_LEADERS = 8
# A candidate is verified only when its MinHash Jaccard estimate is within ESTIMATE_MARGIN of
# the least a merge needs (~4 standard deviations of a 64-permutation estimate at J = 0.5).
ESTIMATE_MARGIN = 0.25
_ESTIMATE_CHUNK = 1 << 16     # pairs estimated at once (64 signature values each)

# Outlets that republish others' stories; a named original outlet is preferred over them.
AGGREGATOR_OUTLETS = (
    "互联网", "网络", "网友", "新浪", "搜狐", "网易", "腾讯", "凤凰", "今日头条", "头条号",
    "一点资讯", "百度", "雅虎", "yahoo", "sina", "sohu", "163.com", "qq.com", "阳光易购",
)

_U32_MAX = np.uint32(0xFFFFFFFF)
_SHINGLE_MULT = np.uint64(0x9E3779B97F4A7C15)
_BAND_MULT = np.uint64(0xC2B2AE3D27D4EB4F)
_RENSA_CHUNK = 1 << 18        # shingles per rensa call: the flat copy of the hashes stays at 2 MiB

log = logging.getLogger(__name__)

CLUSTER_COLUMNS = ["article_id", "cluster_id", "canonical_id", "is_canonical", "kind",
                   "similarity", "jaccard", "cluster_size"]
UPDATE_COLUMNS = ["article_id", "published_date", "outlet"]


# ---- normalisation and exact hash ---------------------------------------------------------------
def _is_dropped(ch: str) -> bool:
    """Whitespace, punctuation, separators, controls and format characters (zero-widths)."""
    category = unicodedata.category(ch)
    return ch.isspace() or category[0] in "PZ" or category in ("Cc", "Cf")


@lru_cache(maxsize=1)
def _dropped_run() -> re.Pattern:
    """A regex matching runs of dropped BMP characters (a character class of ~140 ranges: much
    faster than str.translate with a dict)."""
    ranges: list[list[int]] = []
    for cp in range(0x10000):
        if _is_dropped(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    body = "".join(re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in ranges)
    return re.compile(f"[{body}]+")


def normalize_body(text: str | None) -> str:
    """The text dedup compares: NFKC (full/half width folded), casefolded, and without
    whitespace, punctuation (so ，/,/、 and “/" variants never matter), controls or zero-widths."""
    if not text:
        return ""
    dropped = _dropped_run()
    text = dropped.sub("", text)  # first: full-width punctuation is most of what NFKC would touch
    if not unicodedata.is_normalized("NFKC", text):
        text = dropped.sub("", unicodedata.normalize("NFKC", text))
    return text.casefold()


def body_hash(normalized: str) -> str:
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


# ---- shingles and signatures ---------------------------------------------------------------------
def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole word."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def ngram_hashes(normalized: str, n: int | None = None) -> np.ndarray:
    """64-bit hash of every character n-gram window, in text order, repeats included (MinHash
    does not care; the whole text is one shingle when shorter than n)."""
    codes = np.frombuffer(normalized.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    if codes.size == 0:
        return np.empty(0, dtype=np.uint64)
    n = min(n or NGRAM, codes.size)
    width = codes.size - n + 1
    h = np.zeros(width, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):  # polynomial rolling hash over code points, vectorised over windows
            h = h * _SHINGLE_MULT + codes[k:k + width]
        return mix64(h)


def shingle_hashes(normalized: str, n: int | None = None) -> np.ndarray:
    """The shingle set: sorted unique n-gram hashes (what Jaccard/containment are computed on).
    Sorted, then deduplicated: numpy's hash-based `np.unique` is ~10x slower on a page's
    thousands of hashes."""
    hashes = np.sort(ngram_hashes(normalized, n))
    first = np.ones(hashes.size, dtype=bool)
    np.not_equal(hashes[1:], hashes[:-1], out=first[1:])
    return hashes[first]


def minhash_signatures(token_hashes: list[np.ndarray], num_perm: int | None = None,
                       seed: int = SEED) -> np.ndarray:
    """(len(token_hashes), num_perm) uint32 MinHash signatures, computed by rensa's `RMinHash`.

    Each document's shingles are given as their 64-bit hashes (`ngram_hashes`: repeats are
    harmless) and passed to rensa as one flat buffer with row offsets per chunk of documents
    (`RMinHash.digest_matrix_from_flat_token_hashes`): the same digest as
    `RMinHash(num_perm, seed).update(tokens)` over 5-gram tokens that hash to these values, but
    without one Python string per shingle, and over exactly the hashed set that verification
    computes Jaccard on. Each row depends only on its own document (per-batch pure). Empty
    documents get all-max signatures (they never share an LSH bucket: callers skip them)."""
    num_perm = num_perm or NUM_PERM
    out = np.empty((len(token_hashes), num_perm), dtype=np.uint32)
    sizes = np.fromiter((h.size for h in token_hashes), dtype=np.int64, count=len(token_hashes))
    ends = np.cumsum(sizes)
    start = 0
    while start < len(token_hashes):  # chunks of whole documents, about _RENSA_CHUNK shingles each
        done = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, done + _RENSA_CHUNK, side="right")))
        flat = np.concatenate(token_hashes[start:stop]).astype(np.uint64, copy=False)
        offsets = np.concatenate(([0], np.cumsum(sizes[start:stop]))).astype(np.uint64)
        digests = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, seed)
        out[start:stop] = np.array(digests.to_rows(), dtype=np.uint32).reshape(stop - start, num_perm)
        start = stop
    return out


def signatures(bodies: list[str]) -> np.ndarray:
    """Pure per-batch function: MinHash signatures of raw (or already normalised) bodies."""
    return minhash_signatures([ngram_hashes(normalize_body(b)) for b in bodies])


def band_keys(sigs: np.ndarray, bands: int | None = None) -> np.ndarray:
    """(n, bands) uint64 LSH keys, one per band. A key depends on its band's rows only (and the
    band number), so keys are computed per batch, and buckets can be formed independently per
    band slice or key range (e.g. one Dask worker each) and the candidate pairs unioned.

    Not rensa's `RMinHashLSH`: that is one in-memory index of `RMinHash` objects whose band
    hashes are not exposed, so it can neither be split across workers by band nor be rebuilt
    from the uint32 signatures the index persists (rensa has no constructor from a digest), and
    an incremental run would have to re-sign every old article or pickle the opaque index."""
    n, bands = sigs.shape[0], bands or BANDS
    rows = sigs.reshape(n, bands, sigs.shape[1] // bands).astype(np.uint64)
    keys = np.zeros((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows.shape[2]):
            keys = keys * _BAND_MULT + rows[:, :, r]
        # salt with the band number so equal rows in different bands never share a bucket
        keys = mix64(keys + np.arange(bands, dtype=np.uint64) * _SHINGLE_MULT)
    return keys


def candidate_pairs(keys: np.ndarray, is_new: np.ndarray) -> np.ndarray:
    """(m, 2) sorted row pairs sharing an LSH bucket in any band of `keys`, at least one row new.
    Bands are independent: the pairs of band slices union to those of all bands. A bucket of
    more than MAX_BUCKET rows pairs each row only with its first BUCKET_LEADERS rows, so the
    pairs grow linearly with the rows. Rows whose signature is empty must be left out by the
    caller."""
    n = np.int64(keys.shape[0])
    codes = np.unique(np.concatenate([np.empty(0, dtype=np.int64)] + [
        a * n + b for a, b in (_band_pairs(keys[:, band], is_new) for band in range(keys.shape[1]))]))
    return np.stack([codes // n, codes % n], axis=1) if n else np.empty((0, 2), dtype=np.int64)


def _buckets(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows sorted by key, rows in order within a bucket; the size of each bucket)."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[key.size > 0, sorted_key[1:] != sorted_key[:-1]])
    return order, np.diff(np.r_[starts, key.size]).astype(np.int64)


def _band_pairs(key: np.ndarray, is_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of one band, vectorised: the row at position p of its bucket is paired with
    the p rows before it, or with the first BUCKET_LEADERS in an oversized bucket."""
    rows = np.arange(key.size)
    if not is_new.all():  # incremental: only the buckets a new row falls into matter
        hit = np.isin(key, key[is_new])
        key, rows = key[hit], rows[hit]
    order, sizes = _buckets(key)
    rows = rows[order]  # ascending within each bucket (stable sort): the first seen first
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)  # where each row's bucket starts
    position = np.arange(rows.size) - first
    partners = np.where(np.repeat(sizes, sizes) > MAX_BUCKET,
                        np.minimum(position, BUCKET_LEADERS), position)
    later = np.repeat(np.arange(rows.size), partners)
    offset = np.arange(later.size) - np.repeat(np.cumsum(partners) - partners, partners)
    a, b = rows[first[later] + offset], rows[later]
    new = is_new[a] | is_new[b]
    return a[new].astype(np.int64), b[new].astype(np.int64)


def oversized_buckets(keys: np.ndarray) -> tuple[int, int]:
    """(buckets of more than MAX_BUCKET rows, rows in them) over every band of `keys`."""
    n_buckets = n_rows = 0
    for band in range(keys.shape[1]):
        sizes = _buckets(keys[:, band])[1]
        big = sizes[sizes > MAX_BUCKET]
        n_buckets, n_rows = n_buckets + big.size, n_rows + int(big.sum())
    return n_buckets, n_rows


def likely_duplicates(pairs: np.ndarray, sigs: np.ndarray, norm_len: np.ndarray) -> np.ndarray:
    """Mask of the candidate pairs worth verifying: MinHash-estimated Jaccard within
    ESTIMATE_MARGIN of the least a merge needs, i.e. NEAR_THRESHOLD, or, when the smaller text
    is long enough for containment, the Jaccard that containment NEAR_THRESHOLD implies at the
    two texts' sizes (shingle counts from the normalised lengths)."""
    keep = np.zeros(len(pairs), dtype=bool)
    for lo in range(0, len(pairs), _ESTIMATE_CHUNK):
        a, b = pairs[lo:lo + _ESTIMATE_CHUNK, 0], pairs[lo:lo + _ESTIMATE_CHUNK, 1]
        estimate = (sigs[a] == sigs[b]).mean(axis=1)
        small = np.maximum(np.minimum(norm_len[a], norm_len[b]) - NGRAM + 1, 1).astype(float)
        large = np.maximum(np.maximum(norm_len[a], norm_len[b]) - NGRAM + 1, 1).astype(float)
        contained = NEAR_THRESHOLD * small / (small + large - NEAR_THRESHOLD * small)
        needed = np.where(small >= MIN_SHINGLES_FOR_CONTAINMENT,
                          np.minimum(NEAR_THRESHOLD, contained), NEAR_THRESHOLD)
        keep[lo:lo + _ESTIMATE_CHUNK] = estimate >= needed - ESTIMATE_MARGIN
    return keep


def overlap_scores(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set) of two sorted unique shingle-hash arrays."""
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter), inter / min(a.size, b.size)


def is_near_duplicate(jaccard: float, containment: float, smaller_size: int) -> bool:
    return jaccard >= NEAR_THRESHOLD or (
        containment >= NEAR_THRESHOLD and smaller_size >= MIN_SHINGLES_FOR_CONTAINMENT)


# ---- canonical rule ------------------------------------------------------------------------------
class Member(NamedTuple):
    """What the canonical rule looks at."""
    article_id: str
    norm_len: int
    outlet: str | None
    published_date: str | None
    was_canonical: bool = False
    copies: int = 1  # members with this exact normalised body (itself included)
    row: int = -1  # input position (index rows, then this run's frame order): first seen wins ties


def outlet_rank(outlet: str | None) -> int:
    """0 = named outlet, 1 = aggregator / generic source, 2 = unknown."""
    if not isinstance(outlet, str) or not outlet.strip():
        return 2
    low = outlet.casefold()
    return 1 if any(a in low for a in AGGREGATOR_OUTLETS) else 0


def _date_key(date) -> str:
    return date if isinstance(date, str) and date else "9999"


def best_by_rule(members: list[Member]) -> Member:
    """Most complete body (within COMPLETENESS_TOLERANCE of the longest), then the body most
    copies agree on, then named outlet over aggregator over none, then earliest date, then the
    first seen (smallest row; among equal rows, the first listed: min is stable). Never the
    article_id: ids are content hashes, so the smallest id is an arbitrary copy (in a bad-inputs
    run it made gb18030_meta.html, not seed 004, the canonical of seed 004's byte copies)."""
    longest = max(m.norm_len for m in members)
    return min(members, key=lambda m: (m.norm_len < (1 - COMPLETENESS_TOLERANCE) * longest,
                                       -m.copies, outlet_rank(m.outlet),
                                       _date_key(m.published_date), m.row))


def choose_canonical(members: list[Member]) -> Member:
    """Best member by the rule; an incumbent canonical keeps the role unless the best newcomer's
    body is more than CANONICAL_SWITCH_MARGIN longer than the best incumbent's."""
    best = best_by_rule(members)
    incumbents = [m for m in members if m.was_canonical]
    if not incumbents or best.was_canonical:
        return best
    incumbent = best_by_rule(incumbents)
    return best if best.norm_len > (1 + CANONICAL_SWITCH_MARGIN) * incumbent.norm_len else incumbent


# ---- union-find ----------------------------------------------------------------------------------
class _UnionFind:
    """Over any hashable items (only the rows a run touches, not the whole index)."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, i):
        parent = self.parent
        root = parent.setdefault(i, i)
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    def union(self, i, j) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)

    def groups(self, items) -> dict:
        out: dict = {}
        for i in items:
            out.setdefault(self.find(i), []).append(i)
        return out


# ---- persisted index -----------------------------------------------------------------------------
_STATE_COLUMNS = ["article_id", "body_hash", "norm_len", "outlet", "published_date",
                  "cluster_id", "canonical_id", "kind", "similarity", "jaccard"]


BodyFetch = Callable[[list[str]], dict[str, str]]  # article ids -> their (raw) bodies


@dataclass
class DedupIndex:
    """Published dedup state, one row per article ever seen: `state` (cluster assignment and
    what the canonical rule needs, in first-seen order) and `signatures` (uint32 MinHash,
    row-aligned). No bodies: an old article a new one must be verified against is read from
    where the release keeps it (`fetch`: article ids -> bodies, e.g. the articles table; the
    articles passed to `dedup_articles` are looked in first). `bodies` keeps the normalised
    bodies this process already has (never saved).

    Saved as segments, one folder per release: a release's folder holds only its new rows
    (state and signatures) and the old rows whose assignment it changed, and names the
    folders before it (`segments.json`, oldest first); loading replays them. A folder without
    `segments.json` (a full copy, as releases before segments saved it) is one segment. Every
    `MAX_SEGMENTS` a full copy is saved again, so a load reads a bounded number of folders.
    ~350 bytes per article on disk (`nbytes`)."""
    state: pd.DataFrame
    signatures: np.ndarray
    bodies: dict[str, str] = field(default_factory=dict)
    params: dict = field(default_factory=lambda: current_params())
    fetch: BodyFetch | None = None
    # the saved folders this index was loaded from (oldest first) and a hash per row of the
    # state as loaded: what a save need not write again
    segments: tuple[Path, ...] = ()
    loaded: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))

    @classmethod
    def empty(cls) -> "DedupIndex":
        return cls(pd.DataFrame(columns=_STATE_COLUMNS), np.empty((0, NUM_PERM), dtype=np.uint32))

    def __len__(self) -> int:
        return len(self.state)

    def grown(self, state: pd.DataFrame, signatures: np.ndarray, bodies: dict) -> "DedupIndex":
        """This index with more rows (and some rows changed): saved as a segment over it."""
        return DedupIndex(state, signatures, bodies, self.params, self.fetch, self.segments,
                          self.loaded)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        base = len(self.loaded)
        over = [d.name for d in self.segments]
        if (not over or len(over) >= MAX_SEGMENTS or base > len(self.state)
                or any(d.parent != directory.parent for d in self.segments)):
            over, base, rows = [], 0, self.state  # a full copy
        else:  # the new rows, then the old rows that changed since it was loaded
            changed = _row_hashes(self.state.iloc[:base]) != self.loaded
            rows = pd.concat([self.state.iloc[base:], self.state.iloc[:base][changed]])
        rows.to_parquet(directory / "state.parquet", index=False)
        np.save(directory / "signatures.npy", np.ascontiguousarray(self.signatures[base:]))
        (directory / "params.json").write_text(json.dumps(self.params, indent=2))
        if over:
            (directory / SEGMENTS).write_text(json.dumps(
                {"segments": over, "new_rows": len(self.state) - base}, indent=2))
        return directory

    @staticmethod
    def nbytes(directory: str | Path) -> int:
        """Bytes the saved index takes on disk (with the segments it builds on)."""
        return saved_bytes(directory)

    @classmethod
    def load(cls, directory: str | Path, fetch: BodyFetch | None = None) -> "DedupIndex":
        directory = Path(directory)
        params = json.loads((directory / "params.json").read_text())
        if params != current_params():
            raise ValueError(f"dedup index built with {params}, code uses {current_params()}: "
                             "signatures are incompatible, rebuild the index")
        dirs = segment_dirs(directory)
        parts, signatures, changed = [], [], []
        for d in dirs:
            rows = pd.read_parquet(d / "state.parquet")
            sigs = np.load(d / "signatures.npy", mmap_mode="r")
            parts.append(rows.iloc[:len(sigs)])
            changed.append(rows.iloc[len(sigs):])
            signatures.append(sigs)
        state = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        later = pd.concat(changed, ignore_index=True).drop_duplicates("article_id", keep="last")
        if len(later):  # old rows a later segment changed: in place (first-seen order kept)
            at = pd.Index(state["article_id"]).get_indexer(later["article_id"])
            state.iloc[at[at >= 0]] = later[at >= 0].to_numpy()
        state = state.astype(object).where(state.notna(), None).astype(
            {"norm_len": int, "similarity": float, "jaccard": float})
        return cls(state, signatures[0] if len(signatures) == 1 else np.concatenate(signatures),
                   params=params, fetch=fetch, segments=tuple(dirs), loaded=_row_hashes(state))


SEGMENTS = "segments.json"  # in a saved index's folder: the folders it builds on
MAX_SEGMENTS = 30  # folders a load replays at most: then a full copy is saved


def saved_bytes(directory: str | Path) -> int:
    """Bytes a state saved in segments takes on disk: its folder and the folders it builds on."""
    return sum(f.stat().st_size for d in segment_dirs(Path(directory)) for f in d.iterdir()
               if f.is_file())


def segment_dirs(directory: Path) -> list[Path]:
    """The folders a saved index is made of, oldest first (itself last)."""
    listed = directory / SEGMENTS
    if not listed.exists():
        return [directory]
    return [directory.parent / name for name in json.loads(listed.read_text())["segments"]] + [directory]


def _row_hashes(state: pd.DataFrame) -> np.ndarray:
    """A hash per row of the state, the same for equal values however they are held."""
    return pd.util.hash_pandas_object(state[_STATE_COLUMNS].astype(str), index=False).to_numpy()


def current_params() -> dict:
    """What stored signatures depend on. Version 2: signatures by rensa's RMinHash (version 1
    was a hand-written numpy MinHash: its signatures mean nothing to rensa's); version 3: no
    bodies in the index (they are fetched from the release)."""
    return {"ngram": NGRAM, "bands": BANDS, "rows": ROWS, "seed": SEED,
            "minhash": f"rensa.RMinHash/{RMinHash.ALGORITHM_VERSION}", "version": 3}


@dataclass
class DedupResult:
    clusters: pd.DataFrame        # rows for the new articles + old rows whose assignment changed
    index: DedupIndex             # the state to persist for the next incremental run
    articles_update: pd.DataFrame  # canonicals inheriting published_date / outlet (UPDATE_COLUMNS)
    # what candidate generation left out, counted: oversized buckets and the rows in them,
    # candidates skipped by their MinHash estimate; candidates, verified and near pairs
    stats: dict[str, int] = field(default_factory=dict)


# ---- the stage -----------------------------------------------------------------------------------
def _new_state(articles: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """State rows (not yet clustered) and normalised bodies of new articles."""
    norm = [normalize_body(b) for b in articles["body"].tolist()]

    def optional(col):
        return articles[col].to_numpy(dtype=object) if col in articles else None

    state = pd.DataFrame({
        "article_id": articles["article_id"].astype(str).to_numpy(dtype=object),
        "body_hash": np.array([body_hash(b) for b in norm], dtype=object),
        "norm_len": np.array([len(b) for b in norm], dtype=int),
        "outlet": optional("outlet"),
        "published_date": optional("published_date"),
        "cluster_id": None, "canonical_id": None, "kind": None,
        "similarity": np.nan, "jaccard": np.nan,
    })
    return state, norm


class _Bodies:
    """Normalised bodies by row: new rows from this batch; old rows looked up (and kept) when
    first needed: in the index's own `bodies`, in this run's articles, else `fetch`ed, many
    at once (`prefetch`)."""

    def __init__(self, prior: DedupIndex, articles: pd.DataFrame, new: list[str]):
        self.ids = prior.state["article_id"].tolist()
        self.n_old, self.new, self.known = len(self.ids), new, prior.bodies
        self.fetch = prior.fetch
        self.given = dict(zip(articles["article_id"].astype(str), articles["body"]))

    def __getitem__(self, i: int) -> str:
        if i >= self.n_old:
            return self.new[i - self.n_old]
        self.prefetch([i])
        return self.known[self.ids[i]]

    def prefetch(self, rows) -> None:
        wanted = {self.ids[i] for i in rows if i < self.n_old} - self.known.keys()
        found = {a: self.given[a] for a in wanted if a in self.given}
        missing = sorted(wanted - found.keys())
        if missing:
            if self.fetch is None:
                raise LookupError(f"dedup: the bodies of {len(missing)} published articles are "
                                  f"needed (e.g. {missing[0]}) but the index has no `fetch`")
            found.update(self.fetch(missing))
        self.known.update((a, normalize_body(found.get(a))) for a in wanted)


class _Shingles:
    """Shingle sets on demand, each computed at most once per run (old texts only when needed)."""

    def __init__(self, bodies: _Bodies):
        self.bodies = bodies
        self.cache: dict[int, np.ndarray] = {}

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self.cache:
            self.cache[i] = shingle_hashes(self.bodies[i])
        return self.cache[i]


def exact_representatives(hashes: np.ndarray, nonempty: np.ndarray) -> np.ndarray:
    """rep_of[i] = first row with the same normalised-body hash (itself for empty bodies)."""
    rep_of = np.arange(len(hashes))
    rows = np.flatnonzero(nonempty)
    codes, uniques = pd.factorize(hashes[rows])
    first = np.full(len(uniques), len(hashes))
    np.minimum.at(first, codes, rows)
    rep_of[rows] = first[codes]
    return rep_of


def verify_pairs(pairs: np.ndarray, shingles: _Shingles) -> dict[tuple[int, int], tuple[float, float]]:
    """Candidate pairs that really are near duplicates -> (Jaccard, containment): the scores of
    `overlap_scores`, computed for every partner of a row at once."""
    verified = {}
    if not len(pairs):
        return verified
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    for lo, hi in zip(starts.tolist(), np.r_[starts[1:], len(pairs)].tolist()):
        a, partners = int(pairs[lo, 0]), pairs[lo:hi, 1].tolist()
        mine, theirs = shingles[a], [shingles[b] for b in partners]
        sizes = np.fromiter((t.size for t in theirs), dtype=np.int64, count=len(theirs))
        flat = np.concatenate(theirs)  # each set is sorted and unique (`shingle_hashes`)
        at = np.minimum(np.searchsorted(mine, flat), mine.size - 1)
        shared = mine[at] == flat
        inter = np.add.reduceat(shared, np.r_[0, np.cumsum(sizes)[:-1]]).astype(np.int64)
        smaller = np.minimum(sizes, mine.size)
        for b, n, size, small in zip(partners, inter.tolist(), sizes.tolist(), smaller.tolist()):
            jac, con = n / (mine.size + size - n), n / small
            if is_near_duplicate(jac, con, small):
                verified[(a, b)] = (jac, con)
    return verified


def touched_components(cluster_ids: np.ndarray, rep_of: np.ndarray, verified: dict,
                       is_new: np.ndarray) -> list[list[int]]:
    """Connected components (exact copies, verified pairs, existing clusters) of the rows linked
    to a new article; rows of untouched old clusters are never visited."""
    new_rows = np.flatnonzero(is_new)
    linked = set(new_rows.tolist()) | set(rep_of[new_rows].tolist()) | {r for p in verified for r in p}
    old_clusters = {cluster_ids[i] for i in linked if cluster_ids[i] is not None}
    in_old = pd.Series(cluster_ids, dtype=object).isin(list(old_clusters)).to_numpy()
    rows = linked | set(np.flatnonzero(in_old).tolist())
    uf = _UnionFind()
    for i in rows:
        uf.union(i, int(rep_of[i]))
    by_cluster: dict = {}
    for i in rows:
        if cluster_ids[i] is not None:
            uf.union(i, by_cluster.setdefault(cluster_ids[i], i))
    for a, b in verified:
        uf.union(a, b)
    return list(uf.groups(sorted(rows)).values())


def dedup_articles(articles: pd.DataFrame, prior: DedupIndex | None = None) -> DedupResult:
    """Cluster `articles`, also against `prior` (the previously published state).

    Returns cluster rows for every new article plus every old row whose cluster, canonical,
    kind or similarity changed; the updated index; and the metadata canonicals inherit.
    Articles already in `prior` (same article_id) are not processed again."""
    prior = DedupIndex.empty() if prior is None else prior
    n_old = len(prior)
    known = set(prior.state["article_id"].tolist())
    fresh = articles.loc[np.array([a not in known for a in articles["article_id"].astype(str)], dtype=bool)]
    state, new_bodies = _new_state(fresh.reset_index(drop=True))
    if n_old:
        state = pd.concat([prior.state[_STATE_COLUMNS], state], ignore_index=True)
    is_new = np.arange(len(state)) >= n_old
    bodies = _Bodies(prior, articles, new_bodies)
    shingles = _Shingles(bodies)

    # Exact groups: one representative per body hash (an old row when there is one).
    nonempty = state["norm_len"].to_numpy() > 0
    rep_of = exact_representatives(state["body_hash"].to_numpy(dtype=object), nonempty)
    reps = np.flatnonzero((rep_of == np.arange(len(state))) & nonempty)

    # Signatures only for new representatives: old ones come from the index, copies share.
    sigs = np.full((len(state), NUM_PERM), _U32_MAX, dtype=np.uint32)
    sigs[:n_old] = prior.signatures
    new_reps = reps[is_new[reps]]
    sigs[new_reps] = minhash_signatures([ngram_hashes(bodies[i]) for i in new_reps])
    sigs[is_new] = sigs[rep_of[is_new]]

    pairs, stats = _likely_candidates(band_keys(sigs[reps]), reps, is_new, sigs,
                                      state["norm_len"].to_numpy())
    bodies.prefetch(np.unique(pairs))
    verified = verify_pairs(pairs, shingles)
    stats["near_pairs"] = len(verified)
    components = touched_components(state["cluster_id"].to_numpy(dtype=object), rep_of, verified, is_new)

    assignment = _Assignment(state, shingles, verified, rep_of)
    # one read of the release for the old texts the components compare (each is a scan)
    canonicals = [assignment.canonical(c) for c in components]
    bodies.prefetch(set().union(*map(assignment.texts_needed, components, canonicals)))
    for members, canonical in zip(components, canonicals):
        assignment.assign(members, canonical)
    # Only rows of touched components can change, and their clusters lie wholly inside them.
    touched = np.array(sorted(m for c in components for m in c), dtype=np.int64)
    before = state.iloc[touched][["cluster_id", "canonical_id", "kind", "similarity"]]
    assignment.write_to(state)
    after = state.iloc[touched]
    changed = is_new[touched] | _row_changed(before, after)
    known = {**bodies.known, **dict(zip(state["article_id"].iloc[n_old:], new_bodies))}
    index = prior.grown(state[_STATE_COLUMNS].copy(), sigs, known)
    # inheritance over every cluster, not only touched ones: an article cleaned again in this
    # run arrives with its own metadata and must get its cluster's inherited values back
    return DedupResult(_cluster_rows(after, changed), index, _articles_update(index.state), stats)


def _likely_candidates(keys: np.ndarray, reps: np.ndarray, is_new: np.ndarray, sigs: np.ndarray,
                       norm_len: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Candidate row pairs worth verifying, band by band (only one band's candidates are held
    at a time), and what was left out, counted."""
    found, stats = [np.empty((0, 2), dtype=np.int64)], {"candidates": 0, "skipped_by_estimate": 0}
    for band in range(keys.shape[1]):
        pairs = reps[candidate_pairs(keys[:, [band]], is_new[reps])]
        likely = likely_duplicates(pairs, sigs, norm_len)
        found.append(pairs[likely])
        stats["candidates"] += len(pairs)
        stats["skipped_by_estimate"] += int((~likely).sum())
    stats["oversized_buckets"], stats["rows_in_oversized_buckets"] = oversized_buckets(keys)
    if stats["oversized_buckets"]:
        log.warning("dedup: %d LSH buckets over %d rows (templates or very short texts): their %d "
                    "rows were compared with the first %d rows of the bucket only",
                    stats["oversized_buckets"], MAX_BUCKET, stats["rows_in_oversized_buckets"],
                    BUCKET_LEADERS)
    pairs = np.unique(np.concatenate(found), axis=0)
    stats["verified_pairs"] = len(pairs)
    return pairs, stats


class _Assignment:
    """Cluster assignment of the rows, as plain lists (per-row pandas writes are too slow)."""

    def __init__(self, state: pd.DataFrame, shingles: _Shingles, verified: dict, rep_of: np.ndarray):
        self.ids = state["article_id"].tolist()
        self.hashes = state["body_hash"].tolist()
        self.norm_len = state["norm_len"].tolist()
        self.outlet = state["outlet"].tolist()
        self.date = state["published_date"].tolist()
        self.old_canonical = state["canonical_id"].tolist()
        self.old_jaccard = state["jaccard"].tolist()
        self.old_similarity = state["similarity"].tolist()
        self.cluster_id = state["cluster_id"].tolist()
        self.canonical_id = list(self.old_canonical)
        self.kind = state["kind"].tolist()
        self.similarity = list(self.old_similarity)
        self.jaccard = list(self.old_jaccard)
        self.was_canonical = [c is not None and c == a for a, c in zip(self.ids, self.old_canonical)]
        self.shingles, self.verified, self.rep_of = shingles, verified, rep_of.tolist()
        self.neighbours: dict[int, list[int]] = {}  # verified partners by row
        for a, b in verified:
            self.neighbours.setdefault(a, []).append(b)
            self.neighbours.setdefault(b, []).append(a)
        self.used_cluster_ids = set(self.cluster_id)

    def known_scores(self, i: int, j: int) -> tuple[float, float] | None:
        """(Jaccard, containment) of rows i and j when no text is needed: exact copies 1.0,
        verified pairs reused, an old member's score against an unchanged canonical reused."""
        a, b = sorted((self.rep_of[i], self.rep_of[j]))
        if a == b:
            return 1.0, 1.0
        if (a, b) in self.verified:
            return self.verified[(a, b)]
        if self.old_canonical[i] == self.ids[j] and self.old_similarity[i] == self.old_similarity[i]:
            return self.old_jaccard[i], self.old_similarity[i]
        return None

    def scores(self, i: int, j: int) -> tuple[float, float]:
        """`known_scores`, else computed from the two texts."""
        known = self.known_scores(i, j)
        if known is not None:
            return known
        a, b = sorted((self.rep_of[i], self.rep_of[j]))
        return overlap_scores(self.shingles[a], self.shingles[b])

    def texts_needed(self, members: list[int], canonical: int) -> set[int]:
        """Rows whose text the first `_attach` of `members` compares (pairs with their
        `canonical` that have no known score): fetched for every component at once."""
        return {r for m in members if self.known_scores(m, canonical) is None
                for r in (self.rep_of[m], self.rep_of[canonical])}

    def assign(self, members: list[int], canonical: int) -> None:
        """Attach every member close to the component's `canonical` and split off the rest
        (re-clustered among themselves around their own canonical, depth first), so no member
        is far from its own canonical. A loop, not recursion: a long chain splits many times."""
        todo = [(members, canonical)]
        while todo:
            rest = self._attach(*todo.pop())
            todo.extend((group, self.canonical(group)) for group in reversed(rest))

    def _attach(self, members: list[int], canonical: int) -> list[list[int]]:
        """Cluster `members` around `canonical`; the groups left over, to assign next."""
        attached, rest = [], []
        for m in members:
            jac, con = self.scores(m, canonical)
            # shingle count from the lengths (an upper bound: no old text needs materialising)
            smaller = min(self.norm_len[m], self.norm_len[canonical]) - NGRAM + 1
            if is_near_duplicate(jac, con, smaller):
                attached.append((m, jac, con))
            else:
                rest.append(m)
        # The cluster id survives canonical changes: the canonical's own, else the smallest id
        # among old members, else a new one named after the founding canonical.
        old_ids = sorted(self.cluster_id[m] for m, _, _ in attached if self.cluster_id[m])
        cluster_id = self.cluster_id[canonical] or (old_ids[0] if old_ids else self._fresh_id(canonical))
        for m, jac, con in attached:
            kind = ("unique" if m == canonical else
                    "exact" if self.hashes[m] == self.hashes[canonical] else "near")
            self.cluster_id[m], self.canonical_id[m], self.kind[m] = cluster_id, self.ids[canonical], kind
            self.similarity[m] = 1.0 if kind != "near" else round(con, 6)
            self.jaccard[m] = 1.0 if kind != "near" else round(jac, 6)
        return self._split(rest) if rest else []

    def canonical(self, members: list[int]) -> int:
        """The row `choose_canonical` picks among `members`."""
        copies = Counter(self.hashes[m] for m in members)
        return choose_canonical([
            Member(self.ids[m], self.norm_len[m], self.outlet[m], self.date[m],
                   self.was_canonical[m], copies[self.hashes[m]], m)
            for m in members]).row

    def _fresh_id(self, canonical: int) -> str:
        cluster_id, n = f"c-{self.ids[canonical]}", 1
        while cluster_id in self.used_cluster_ids:  # a split-off group of an existing cluster
            cluster_id, n = f"c-{self.ids[canonical]}-{n}", n + 1
        self.used_cluster_ids.add(cluster_id)
        return cluster_id

    def _split(self, rest: list[int]) -> list[list[int]]:
        for m in rest:  # no longer in the old cluster, nor its incumbent canonical
            self.cluster_id[m], self.was_canonical[m] = None, False
        rest_set = set(rest)
        uf = _UnionFind()
        for m in rest:
            if self.rep_of[m] in rest_set:
                uf.union(m, self.rep_of[m])
            for n in self.neighbours.get(m, ()):
                if n in rest_set:
                    uf.union(m, n)
        return list(uf.groups(rest).values())

    def write_to(self, state: pd.DataFrame) -> None:
        state["cluster_id"] = self.cluster_id
        state["canonical_id"] = self.canonical_id
        state["kind"] = self.kind
        state["similarity"] = np.asarray(self.similarity, dtype=float)
        state["jaccard"] = np.asarray(self.jaccard, dtype=float)


def _row_changed(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    cols = list(before.columns)
    a, b = before.astype(object), after[cols].astype(object)
    same = (a == b) | (a.isna() & b.isna())
    return ~same.all(axis=1).to_numpy()


def _cluster_rows(state: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    sizes = state.groupby("cluster_id")["article_id"].transform("size")
    out = state.loc[rows].assign(cluster_size=sizes[rows])
    out["is_canonical"] = out["article_id"] == out["canonical_id"]
    out = out[CLUSTER_COLUMNS].reset_index(drop=True)
    return out.astype({"similarity": float, "jaccard": float, "cluster_size": int, "is_canonical": bool})


def _articles_update(touched: pd.DataFrame) -> pd.DataFrame:
    """Canonicals missing published_date or outlet take them from their cluster's members:
    the earliest date, the best-ranked outlet (named over aggregator; the first listed among
    equals). Column-wise over every cluster at once."""
    shared = touched[touched.duplicated("cluster_id", keep=False)]  # singletons inherit nothing
    dated = shared["published_date"].map(lambda d: d if isinstance(d, str) and d else None)
    earliest = dated.dropna().groupby(shared["cluster_id"]).min()
    rank = shared["outlet"].map(outlet_rank)
    ranked = shared.assign(rank=rank)[rank < 2].sort_values("rank", kind="stable")
    best_outlet = ranked.groupby("cluster_id")["outlet"].first()
    canonical = shared[(shared["article_id"] == shared["canonical_id"]).to_numpy()]
    canonical = canonical.drop_duplicates("cluster_id").sort_values("cluster_id")
    cluster = canonical["cluster_id"]
    date_from = dated[canonical.index].isna() & cluster.isin(earliest.index)
    outlet_from = (rank[canonical.index] == 2) & cluster.isin(best_outlet.index)
    date = canonical["published_date"].where(~date_from, cluster.map(earliest))
    outlet = canonical["outlet"].where(~outlet_from, cluster.map(best_outlet))
    changed = (date_from | outlet_from).to_numpy()
    return pd.DataFrame({"article_id": canonical["article_id"].to_numpy(dtype=object)[changed],
                         "published_date": date.to_numpy(dtype=object)[changed],
                         "outlet": outlet.to_numpy(dtype=object)[changed]}, columns=UPDATE_COLUMNS)


def inherit_metadata(articles: pd.DataFrame, articles_update: pd.DataFrame) -> pd.DataFrame:
    """`articles` with the canonicals' inherited published_date / outlet filled in (always as
    object columns, so a run with nothing to inherit yields the same dtypes as one with)."""
    patch = articles_update.set_index("article_id")
    out = articles.copy()
    hit = out["article_id"].isin(patch.index)
    for col in ("published_date", "outlet"):
        out[col] = out[col].astype(object)
        if hit.any():
            out.loc[hit, col] = out.loc[hit, "article_id"].map(patch[col]).to_numpy()
    return out


def dedup_stage(tables, prior: DedupIndex | None):
    """The stage's function: this run's articles clustered against `prior`, the index the
    previous release saved (without one: every article of the release); returns the cluster
    rows that are new or changed and the articles whose inherited metadata changed (every
    column: they replace their rows). `tables`: a tasks.reader.ReleaseView."""
    result = dedup_articles(tables["articles"] if prior is None else tables.changed("articles"),
                            prior)
    update = result.articles_update
    now = tables.lookup("articles", "article_id", update["article_id"], UPDATE_COLUMNS)
    after = inherit_metadata(now, update)[UPDATE_COLUMNS[1:]]
    before = now[UPDATE_COLUMNS[1:]].astype(object)
    same = ((before == after) | (before.isna() & after.isna())).all(axis=1).to_numpy()
    changed = tables.lookup("articles", "article_id", now["article_id"][~same])  # every column
    return {"clusters": result.clusters, "articles": inherit_metadata(changed, update)}, result.index


def _counts(output, tables) -> list[tuple[str, int]]:
    flags = tables.release("clusters", ["is_canonical"])["is_canonical"]
    n_canonical = int(flags.astype(bool).sum())
    return [("canonical articles", n_canonical), ("duplicates", len(flags) - n_canonical)]


STAGE = Stage(
    name="dedup", function=dedup_stage, key="article_id",
    reads={"articles": ("article_id", "body", "outlet", "published_date")},
    writes={"clusters": CLUSTER_COLUMNS}, carry="upsert", state=DedupIndex, counts=_counts,
    # the index keys articles by id: one cleaned by other code under the same id is stale
    code=("newsgate.tasks.dedup", "newsgate.tasks.clean"))
