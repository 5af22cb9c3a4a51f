"""Story clusters: the copies, condensed versions, rewrites and other reports of one story.

Copy clusters (tasks/dedup.py) join texts made of mostly the same characters. A *story* joins
what a reader counts once: a retitled rewrite that keeps the figures, a condensed version whose
paragraphs all come from a long report, another outlet's report of the same announcement.
Every clustered article is fingerprinted and compared, copies too: a copy's links hold
whichever member of its copy cluster is canonical, so a new article that becomes the canonical
of an old one's cluster does not drop the old article's links. The members of a copy cluster
are always one story (dedup joined them) and are not compared with each other.

    fingerprint (per clustered article)
        ─► candidate_pairs   articles sharing a clause, a distinctive figure or a rare title word
                             (never two articles split from one page: a page prints a story once)
        ─► compare           evidence: containment, lead support, figures shared and in
                             conflict, names, event dates, days apart ─► score, relation
        ─► links (score >= LINK_THRESHOLD) ─► stories = connected components ─► rows

Signals, and why:
* **Clause containment** (`text`). Bodies are cut into clauses at ，。！？；：and line breaks,
  each normalised as dedup normalises bodies; containment = characters of the shorter text's
  clauses found in the other / all its clause characters. A condensed version scores near 1
  whatever the length ratio (whole-text Jaccard is low there), a rewrite keeps many clauses.
  Texts under MIN_CONTAINMENT_CHARS (a title-and-dateline page) give no evidence.
* **Lead support** (`news`, for other reports of one event): the share of each lead's
  character 4-grams found in the other text, the smaller of the two. Two reports of one event
  both tell its lead facts; a follow-up (a denial, the next step) leads with what the earlier
  report could not know, however much of the earlier report it repeats. Support counts only
  with a second witness (a shared name, a shared figure or two shared clauses): two pages of
  one site section can share a lead of page furniture (首页 … 发布时间) and nothing else.
* **Names and figures** (`news` too): rare title words (jieba IDF >= RARE_IDF: 海尔, 诺基亚,
  太子奶; not 中国, 采购: a shared 同比增长 means nothing) together with the leads' distinctive
  figures (the project's number parser; a figure weighs its significant digits minus one, so
  10% or 5吨 weigh nothing and 12.6亿元 weighs 2). Weights are properties of the words and
  figures, not of the corpus: an incremental run scores a pair exactly as a full run does.
* **Conflicting figures**: a figure whose context (the words before it, its measure) occurs
  once in each text with another value, neither value in the other text. Monthly reports of
  one bureau share their template and differ exactly there (2月份…指数为52.2% vs 3月…53.4%).
  A conflict halves `text`; one in both leads (the news itself differs) quarters the score.
* **Dates**: `news` counts only for reports published within NEWS_WINDOW_DAYS, and explicit
  event dates of the leads (7月28日) that differ by more than a day halve it.

score = 1 - (1 - text)(1 - news): either kind of evidence alone can link, weak evidence of both
kinds adds up. The thresholds were chosen on the tune part of tests/gold/stories
(benchmarks/stories.py, README_stories.md).

Incremental: `StoryIndex` keeps every clustered article's fingerprint and every link found so
far, saved in segments (one folder per release with only what its run added). A run
fingerprints only articles new to the index (or whose text changed), looks their posting keys
up in the index's memory-mapped postings, reads the fingerprints of the candidates only, and
recomputes the components of the stories its articles touch (added, changed, departed or newly
linked), from the stored links: old pairs are never scored again, and it returns the rows of
those stories only. A story keeps its id; stories that merge keep the smallest of their ids.
A key proposes pairs only while at most MAX_POSTING articles hold it, so a run whose articles
take a key over the cap withdraws the links of its old holders that no other key under the cap
proposes, and a run whose departures bring a key back under it scores its old holders' pairs:
the links are always those a full run finds, and only the holders of the keys that crossed
(at most MAX_POSTING each) are read.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from newsgate.tasks.dedup import (MAX_SEGMENTS, SEGMENTS, mix64, normalize_body, saved_bytes,
                                  segment_dirs, shingle_hashes)
from newsgate.tasks.stage import Stage
from newsgate.tasks.extract.dates import resolve_date
from newsgate.tasks.extract.numbers import find_quantities

# ---- parameters (chosen on the tune part of tests/gold/stories: benchmarks/stories.py) -------
CLAUSE_BREAK = re.compile(r"[，,。！？!?；;：:\n]+")
MIN_CLAUSE_CHARS = 8        # normalised characters; shorter pieces (a date, a name) say little
MIN_CONTAINMENT_CHARS = 100 # a shorter text below this (a title-and-dateline page) has no containment
LEAD_CHARS = 200            # the lead: the title and the first LEAD_CHARS characters of the body
SUPPORT_CHARS = 150         # the lead whose wording the other text must support (body start)
SUPPORT_NGRAM = 4           # character n-grams of lead support (about two words)
SUPPORT_FULL = 0.35         # lead support that counts as full (unrelated texts: < 0.15)
RARE_IDF = 8.0              # title words at least this rare are names (海尔 8.8; 采购 6.7, 中国 3.0)
DISTINCTIVE_WEIGHT = 2      # figures of 3+ significant digits propose candidates by themselves
MAX_POSTING = 20            # a clause, figure or name of more articles is template: no candidates
CONTEXT_CHARS = 4           # words before a figure that name what it measures (its slot)
NAME_SATURATION = 8.0       # shared name weight (IDF above 6 per name) that counts as full
FIGURE_SATURATION = 2       # shared lead-figure weight that counts as full
NEWS_WINDOW_DAYS = 10       # other reports of one event appear within ten days of each other
EVENT_FACTOR = 0.5          # leads naming different event dates: half the news score
CONFLICT_FACTOR = 0.5       # a figure in conflict halves the text score (a shared template)…
LEAD_CONFLICT_FACTOR = 0.25 # …and one in both leads (the news itself) quarters the whole score
LINK_THRESHOLD = 0.4        # score at or above which two articles are one story
# relation of a link, from the clause containment and the length ratio
COPY_CONTAINMENT = 0.9
COPY_RATIO = 0.9            # …and about as long: the same text
CONDENSED_CONTAINMENT = 0.7
CONDENSED_RATIO = 0.75      # shorter / longer clause characters below this: a condensed version
REWRITE_CONTAINMENT = 0.3

STORY_COLUMNS = ["story_id", "article_id", "relation", "score", "evidence", "matched_id",
                 "is_representative", "cluster_id", "containment", "shared_clauses",
                 "lead_support", "shared_figures", "conflicting_figures", "shared_names",
                 "days_apart", "story_size"]
LIST_COLUMNS = ["shared_figures", "conflicting_figures", "shared_names"]
VERSION = 2                 # 2: copies are fingerprinted and linked too


# ---- fingerprints ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fingerprint:
    """What a story comparison needs of one article (everything plain, so it persists)."""
    article_id: str
    text_hash: str                   # title + body + published_date: a changed text is new
    day: int | None                  # published date as a day number, None when not a full date
    clause_hashes: np.ndarray        # uint64, sorted unique
    clause_chars: np.ndarray         # int32, characters of each clause (aligned)
    figures: dict[str, int]          # figure (value in its base unit) -> weight (0..3)
    figure_text: dict[str, str]      # figure -> as first written (12.6亿元, not 1260000000元)
    lead_figures: frozenset[str]     # the figures of the title and lead
    slots: dict[str, str]            # context|measure -> figure, for contexts seen once
    names: dict[str, float]          # rare title word -> weight (IDF above 6)
    event_days: frozenset[int]       # explicit dates of the title and lead, as day numbers
    norm_lead: str                   # normalised first SUPPORT_CHARS characters of the body
    norm_text: str                   # normalised title and body

    @property
    def n_chars(self) -> int:
        return int(self.clause_chars.sum())


def text_hash(title, body, published) -> str:
    """Of what a fingerprint reads (missing values as empty): equal hashes, equal fingerprints."""
    h = hashlib.blake2b(digest_size=12)
    for part in (title, body, published):
        h.update((part if isinstance(part, str) else "").encode("utf-8") + b"\x00")
    return h.hexdigest()


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


_SEPARATOR = "\ue000"  # a private-use character: normalize_body keeps it, no text contains it
_CODE_MULT, _POSITION_MULT = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


def normalized_clauses(body: str) -> list[str]:
    """The body's clauses as dedup normalises text (one pass: joined by a separator that
    normalize_body keeps), shorter ones included."""
    return normalize_body(_SEPARATOR.join(CLAUSE_BREAK.split(body or ""))).split(_SEPARATOR)


def clause_table(clauses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique hashes, normalised lengths) of the clauses of at least MIN_CLAUSE_CHARS.

    Hashed together in numpy: a clause's hash mixes each character with its position in the
    clause and sums them, so equal clauses hash equal wherever they stand."""
    pieces = [p for p in clauses if len(p) >= MIN_CLAUSE_CHARS]
    if not pieces:
        return np.empty(0, np.uint64), np.empty(0, np.int32)
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    codes = np.frombuffer("".join(pieces).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    position = np.arange(codes.size, dtype=np.uint64) - np.repeat(starts, lengths).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = mix64(codes * _CODE_MULT + position * _POSITION_MULT)
        hashes = mix64(np.add.reduceat(mixed, starts) + lengths.astype(np.uint64))
    hashes, first = np.unique(hashes, return_index=True)
    return hashes, lengths[first].astype(np.int32)


def figure_weight(value: float) -> int:
    """Significant digits - 1, capped at 3: 10 -> 0, 15 -> 1, 12.8 -> 2, 6123 -> 3."""
    text = f"{abs(value):.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    digits = (whole + frac).lstrip("0")
    if not frac:
        digits = digits.rstrip("0")
    return max(0, min(3, len(digits) - 1))


def _figure_key(q) -> str:
    return q.normalized or f"{q.value:g}{q.unit}"


def _slot(text: str, start: int, measure: str) -> str | None:
    """What a figure measures: the last CONTEXT_CHARS word characters before it, filler verbs
    and qualifiers (为, 达到, 约 …) dropped, with its measure; None when there are none."""
    before = normalize_body(text[max(0, start - 3 * CONTEXT_CHARS):start])
    before = re.sub(r"[0-9.]+", "", before).rstrip("为是达到约近逾超过至了共计")
    return f"{before[-CONTEXT_CHARS:]}|{measure}" if len(before) >= 2 else None


def _names(title: str | None) -> dict[str, float]:
    from newsgate.tasks.extract.tokenize import lexicon, tokenize
    lex = lexicon()
    names = {}
    for word in tokenize(title or "").words:
        if len(word) < 2 or not re.search(r"[\u4e00-\u9fff]", word) or re.search(r"\d", word):
            continue
        idf = lex.idf.get(word, lex.median_idf)
        if idf >= RARE_IDF:
            names[word] = round(idf - 6.0, 3)
    return names


EVENT_DATE = re.compile(r"(?:(?P<y>(?:19|20)\d\d)年)?(?:(?P<m>\d{1,2})月)?(?P<d>\d{1,2})日(?!前)")


def _day(iso: str | None) -> int | None:
    try:
        return date.fromisoformat(iso).toordinal() if isinstance(iso, str) and len(iso) == 10 else None
    except ValueError:
        return None


def _event_days(lead: str, published: str | None) -> frozenset[int]:
    """Explicit dates of the lead (7月28日, 2011年6月9日, 28日) as day numbers. 昨日/近日 are left
    out: a reprint's published date lags the original's, so relative dates would shift."""
    days = set()
    for m in EVENT_DATE.finditer(lead):
        y, mo, d = m.group("y"), m.group("m"), m.group("d")
        if y and mo:
            iso = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
        else:
            iso = resolve_date(f"{mo}月{d}日" if mo else f"{d}日", published)
        day = _day(iso)
        if day is not None:
            days.add(day)
    return frozenset(days)


def fingerprint(article_id: str, title: str | None, body: str | None,
                published: str | None) -> Fingerprint:
    """The fingerprint of one article: pure, and the same in every run."""
    published = published if isinstance(published, str) else None
    title, body = title if isinstance(title, str) else "", body if isinstance(body, str) else ""
    clauses = normalized_clauses(body)
    hashes, chars = clause_table(clauses)
    text = f"{title}\n{body}"
    lead_end = len(title) + 1 + LEAD_CHARS
    figures: dict[str, int] = {}
    figure_text: dict[str, str] = {}
    lead_figures: set[str] = set()
    slot_count: dict[str, int] = defaultdict(int)
    slot_value: dict[str, str] = {}
    for q in find_quantities(text):
        key = _figure_key(q)
        figures[key] = max(figures.get(key, 0), figure_weight(q.value))
        figure_text.setdefault(key, q.text)
        if q.start < lead_end:
            lead_figures.add(key)
        slot = _slot(text, q.start, q.measure)
        if slot:
            slot_count[slot] += 1
            slot_value[slot] = key
    return Fingerprint(
        article_id=str(article_id), text_hash=text_hash(title, body, published),
        day=_day(published), clause_hashes=hashes, clause_chars=chars, figures=figures,
        figure_text=figure_text, lead_figures=frozenset(lead_figures),
        slots={s: slot_value[s] for s, n in slot_count.items() if n == 1},
        names=_names(title),
        event_days=_event_days(unicodedata.normalize("NFKC", text[:lead_end]), published),
        norm_lead=normalize_body(body[:SUPPORT_CHARS]),
        norm_text=normalize_body(title) + "".join(clauses))


def _grams(norm: str) -> np.ndarray:
    """Sorted unique hashes of the character SUPPORT_NGRAM-grams of a normalised text."""
    return shingle_hashes(norm, SUPPORT_NGRAM) if len(norm) >= SUPPORT_NGRAM else np.empty(0, np.uint64)


class Grams:
    """Each compared article's lead and text n-grams, computed once per run and only for the
    articles a candidate pair within the news window needs (old texts are not read otherwise)."""

    def __init__(self):
        self.cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, fp: Fingerprint) -> tuple[np.ndarray, np.ndarray]:
        if fp.article_id not in self.cache:
            self.cache[fp.article_id] = (_grams(fp.norm_lead), _grams(fp.norm_text))
        return self.cache[fp.article_id]


def _share(lead: np.ndarray, text: np.ndarray) -> float:
    """Share of `lead` (sorted unique) found in `text` (sorted unique)."""
    if not lead.size or not text.size:
        return 0.0
    at = np.minimum(np.searchsorted(text, lead), text.size - 1)
    return float((text[at] == lead).mean())


def lead_support(a: Fingerprint, b: Fingerprint, grams: Grams | None = None) -> float:
    """How much of each lead's wording the other text repeats, the smaller of the two: other
    reports of one event both tell its lead facts; a follow-up's lead tells what the earlier
    report could not know, however much of the earlier report it repeats."""
    grams = grams or Grams()
    (lead_a, text_a), (lead_b, text_b) = grams(a), grams(b)
    return min(_share(lead_a, text_b), _share(lead_b, text_a))


# ---- comparing two articles ----------------------------------------------------------------------
class Evidence(NamedTuple):
    """Why two articles are (or are not) one story."""
    score: float
    relation: str                    # copy | condensed | rewrite | same | different
    containment: float               # clause characters of the shorter text found in the other
    shared_clauses: int
    lead_support: float              # the smaller share of each lead's wording found in the other
    shared_figures: tuple[str, ...]  # figures (weight >= 1) of both texts, heaviest first
    conflicting_figures: tuple[str, ...]  # "52.2% vs 53.4%": one slot, two values
    shared_names: tuple[str, ...]    # rare title words of both, rarest first
    days_apart: int | None
    event_dates: str                 # "same" | "different" | "" (a lead without an explicit date)

    @property
    def linked(self) -> bool:
        return self.relation != "different"


def _containment(a: Fingerprint, b: Fingerprint) -> tuple[int, float, int, int]:
    """(shared clauses, containment of the shorter text, shorter and longer clause characters)."""
    shorter, longer = sorted((a.n_chars, b.n_chars))
    common = np.intersect1d(a.clause_hashes, b.clause_hashes, assume_unique=True)
    if not common.size or shorter < MIN_CONTAINMENT_CHARS:  # a title-and-dateline page: no evidence
        return int(common.size), 0.0, shorter, longer
    shared = int(a.clause_chars[np.searchsorted(a.clause_hashes, common)].sum())
    return int(common.size), shared / shorter, shorter, longer


def _event(a: Fingerprint, b: Fingerprint) -> str:
    if not (a.event_days and b.event_days):
        return ""
    return "same" if any(abs(x - y) <= 1 for x in a.event_days for y in b.event_days) else "different"


def compare(a: Fingerprint, b: Fingerprint, grams: Grams | None = None) -> Evidence:
    """The evidence for `a` and `b` being one story, its score and the relation it implies."""
    n_shared, containment, shorter, longer = _containment(a, b)
    comparable = shorter >= MIN_CONTAINMENT_CHARS
    days = abs(a.day - b.day) if a.day is not None and b.day is not None else None
    in_window = comparable and (days is None or days <= NEWS_WINDOW_DAYS)

    figures = sorted((k for k in a.figures.keys() & b.figures.keys()
                      if max(a.figures[k], b.figures[k]) >= 1),
                     key=lambda k: (-max(a.figures[k], b.figures[k]), k))
    conflict_slots = [s for s in sorted(a.slots.keys() & b.slots.keys())
                      if a.slots[s] != b.slots[s]
                      and a.slots[s] not in b.figures and b.slots[s] not in a.figures]
    conflicts = tuple(f"{a.figure_text[a.slots[s]]} vs {b.figure_text[b.slots[s]]}"
                      for s in conflict_slots)
    lead_conflict = any(a.slots[s] in a.lead_figures and b.slots[s] in b.lead_figures
                        for s in conflict_slots)
    names = sorted(a.names.keys() & b.names.keys(), key=lambda w: (-a.names[w], w))
    event = _event(a, b)

    # text: a shared template whose figures differ is two stories (monthly reports of a bureau)
    text = containment * (CONFLICT_FACTOR if conflicts else 1.0)
    # news: another report of the same event, told within NEWS_WINDOW_DAYS
    support, news = 0.0, 0.0
    if in_window:
        support = lead_support(a, b, grams)
        name_part = min(1.0, sum(a.names[w] for w in names) / NAME_SATURATION)
        lead_weight = sum(max(a.figures[k], b.figures[k]) for k in a.lead_figures & b.lead_figures)
        figure_part = min(1.0, lead_weight / FIGURE_SATURATION)
        # the leads' wording alone could be a section's page header: it needs a second witness
        corroborated = bool(names or figures) or n_shared >= 2
        news = max(min(1.0, support / SUPPORT_FULL) if corroborated else 0.0, name_part * figure_part)
        if event == "different":
            news *= EVENT_FACTOR
    score = 1 - (1 - text) * (1 - news)  # either signal alone can link
    if lead_conflict:  # the news itself differs: 2月份…52.2% vs 3月份…53.4%
        score *= LEAD_CONFLICT_FACTOR
    score = round(score, 4)
    relation = _relation(containment, shorter / longer if longer else 0.0) \
        if score >= LINK_THRESHOLD else "different"
    return Evidence(score, relation, round(containment, 4), n_shared, round(support, 4),
                    tuple(a.figure_text[k] for k in figures), conflicts, tuple(names), days, event)


def _relation(containment: float, length_ratio: float) -> str:
    if containment >= COPY_CONTAINMENT and length_ratio >= COPY_RATIO:
        return "copy"
    if containment >= CONDENSED_CONTAINMENT and length_ratio < CONDENSED_RATIO:
        return "condensed"
    if containment >= REWRITE_CONTAINMENT:
        return "rewrite"
    return "same"


def describe(evidence: Evidence) -> str:
    """One line a reviewer can check against the two texts."""
    parts = [f"{evidence.shared_clauses} shared clauses ({evidence.containment:.0%} of the shorter text)"]
    if evidence.lead_support:
        parts.append(f"each lead {evidence.lead_support:.0%} repeated by the other")
    if evidence.shared_figures:
        parts.append("figures " + ", ".join(evidence.shared_figures[:6]))
    if evidence.shared_names:
        parts.append("names " + ", ".join(evidence.shared_names[:6]))
    if evidence.conflicting_figures:
        parts.append("conflicting " + "; ".join(evidence.conflicting_figures))
    if evidence.event_dates:
        parts.append(f"{evidence.event_dates} event date")
    if evidence.days_apart is not None:
        parts.append(f"published {evidence.days_apart} days apart")
    return "; ".join(parts)


# ---- candidates -----------------------------------------------------------------------------------
def posting_keys(fp: Fingerprint) -> np.ndarray:
    """What can propose a candidate pair, as uint64 keys: its clauses, distinctive figures and
    names. Never the whole text's similarity, so a short text inside a long one is proposed
    like any other."""
    return _posting_keys(fp.clause_hashes, fp.figures, fp.names)


def _posting_keys(clause_hashes: np.ndarray, figures: dict[str, int], names) -> np.ndarray:
    extra = [_hash64(f"f{k}") for k, w in figures.items() if w >= DISTINCTIVE_WEIGHT]
    extra += [_hash64(f"n{w}") for w in names]
    return np.unique(np.concatenate([clause_hashes, np.array(extra, dtype=np.uint64)]))


def candidate_pairs(keys: list[np.ndarray], is_new: np.ndarray) -> set[tuple[int, int]]:
    """Row pairs sharing a posting key that at most MAX_POSTING rows have, one of them new."""
    flat = np.concatenate(keys) if keys else np.empty(0, np.uint64)
    rows = np.repeat(np.arange(len(keys)), [k.size for k in keys])
    order = np.argsort(flat, kind="stable")
    flat, rows = flat[order], rows[order]
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]]) if flat.size else np.empty(0, int)
    ends = np.r_[starts[1:], flat.size]
    sizes = ends - starts
    # only keys a new row has (an index of N old rows shares many keys among them)
    has_new = (np.maximum.reduceat(is_new[rows].astype(np.int8), starts) > 0
               if flat.size else np.zeros(0, bool))
    wanted = (sizes > 1) & (sizes <= MAX_POSTING) & has_new
    pairs = set()
    for s, e in zip(starts[wanted].tolist(), ends[wanted].tolist()):
        members = np.unique(rows[s:e]).tolist()
        for i in members:
            if is_new[i]:
                pairs.update((min(i, j), max(i, j)) for j in members if j != i)
    return pairs


# ---- the persisted index --------------------------------------------------------------------------
LINK_COLUMNS = ["a", "b", *Evidence._fields]
_FP_COLUMNS = ["article_id", "text_hash", "day", "clause_hashes", "clause_chars", "figure_keys",
               "figure_weights", "figure_texts", "lead_figures", "slot_keys", "slot_values",
               "name_keys", "name_weights", "event_days", "norm_lead", "norm_text"]
INDEX_FORMAT = 4  # 3: one folder per release with only what it added (members, fingerprints,
                  # postings, links); 4: a link row may withdraw an earlier folder's link (`live`)
CLUSTER_FIELDS = ["cluster_id", "canonical_id", "is_canonical", "kind", "similarity"]
# one row per clustered article (by article_id): its first-seen rank, page, text, story, the
# folder holding its fingerprint, and its copy cluster as the index last saw it
MEMBER_COLUMNS = ["seq", "doc_id", "text_hash", "day", "n_chars", "story_id", "folder",
                  *CLUSTER_FIELDS]
FINGERPRINT_GROUP = 1024  # fingerprints per Parquet row group: a candidate's read decodes its group only
_LIST = pa.list_(pa.string())
_FP_SCHEMA = pa.schema([
    ("article_id", pa.string()), ("text_hash", pa.string()), ("day", pa.int64()),
    ("clause_hashes", pa.list_(pa.int64())), ("clause_chars", pa.list_(pa.int64())),
    ("figure_keys", _LIST), ("figure_weights", pa.list_(pa.int64())), ("figure_texts", _LIST),
    ("lead_figures", _LIST), ("slot_keys", _LIST), ("slot_values", _LIST), ("name_keys", _LIST),
    ("name_weights", pa.list_(pa.float64())), ("event_days", pa.list_(pa.int64())),
    ("norm_lead", pa.string()), ("norm_text", pa.string())])
# a saved link names the two texts it compared (their hashes): it holds while both texts do,
# until a later folder saves a row for the same pair; `live` False withdraws it (its pair is no
# longer a candidate: the posting keys it shares all became templates)
_LINK_SCHEMA = pa.schema([
    ("a", pa.string()), ("b", pa.string()), ("score", pa.float64()), ("relation", pa.string()),
    ("containment", pa.float64()), ("shared_clauses", pa.int64()), ("lead_support", pa.float64()),
    ("shared_figures", _LIST), ("conflicting_figures", _LIST), ("shared_names", _LIST),
    ("days_apart", pa.int64()), ("event_dates", pa.string()),
    ("hash_a", pa.string()), ("hash_b", pa.string()), ("live", pa.bool_())])
_MEMBER_SCHEMA = pa.schema([
    ("article_id", pa.string()), ("seq", pa.int64()), ("doc_id", pa.string()),
    ("text_hash", pa.string()), ("day", pa.int64()), ("n_chars", pa.int64()),
    ("story_id", pa.string()), ("folder", pa.string()), ("cluster_id", pa.string()),
    ("canonical_id", pa.string()), ("is_canonical", pa.bool_()), ("kind", pa.string()),
    ("similarity", pa.float64()), ("live", pa.bool_())])
MEMBERS, FINGERPRINTS, LINKS = "members.parquet", "fingerprints.parquet", "links.parquet"
POSTING_KEYS, POSTING_ROWS, POSTING_COUNTS = "posting_keys.npy", "posting_rows.npy", "posting_counts.npy"


def current_params() -> dict:
    return {"version": VERSION, "format": INDEX_FORMAT, "min_clause_chars": MIN_CLAUSE_CHARS,
            "lead_chars": LEAD_CHARS, "rare_idf": RARE_IDF,
            "support": [SUPPORT_CHARS, SUPPORT_NGRAM, SUPPORT_FULL],
            "link_threshold": LINK_THRESHOLD, "news_window_days": NEWS_WINDOW_DAYS,
            "factors": [EVENT_FACTOR, CONFLICT_FACTOR, LEAD_CONFLICT_FACTOR]}


def _no_members() -> pd.DataFrame:
    return _members_frame(_MEMBER_SCHEMA.empty_table().to_pandas())


def _members_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Member rows (a column `article_id`) as the index holds them: by article id, typed."""
    frame = frame.set_index("article_id")
    return frame.reindex(columns=MEMBER_COLUMNS).astype(
        {"seq": "int64", "day": "Int64", "n_chars": "int64", "is_canonical": bool,
         "similarity": float, **dict.fromkeys(["doc_id", "text_hash", "story_id", "folder",
                                              "cluster_id", "canonical_id", "kind"], object)})


def _load_array(path: Path) -> np.ndarray:
    """A saved array, memory-mapped (an empty one cannot be)."""
    try:
        return np.load(path, mmap_mode="r")
    except ValueError:
        return np.load(path)


class _Folder:
    """One saved folder of the index: its fingerprints (read a row group at a time), postings
    (sorted posting keys and the fingerprint row of each, memory-mapped) and links."""

    def __init__(self, path: Path):
        self.path, self.name = path, path.name
        self.keys = _load_array(path / POSTING_KEYS)
        self.rows = _load_array(path / POSTING_ROWS)
        self.counts = np.load(path / POSTING_COUNTS)  # posting keys per fingerprint row
        self.file = pq.ParquetFile(path / FINGERPRINTS)
        self.ids = self.file.read(columns=["article_id"]).column(0).to_numpy(zero_copy_only=False)
        sizes = [self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)]
        self.group_starts = np.cumsum([0, *sizes])

    def current(self, members: pd.DataFrame) -> np.ndarray:
        """Which fingerprint rows are the current ones of live members (not stale copies)."""
        return (members["folder"].reindex(self.ids) == self.name).to_numpy(dtype=bool)

    def _rows(self, ids, columns: list[str] | None = None) -> pd.DataFrame:
        """The fingerprint rows of `ids` (only `columns`), read a row group at a time."""
        rows = pd.Index(self.ids).get_indexer(list(ids))
        groups = np.searchsorted(self.group_starts, rows, side="right") - 1
        return pd.concat([self.file.read_row_group(int(g), columns=columns).take(
            pa.array(rows[groups == g] - self.group_starts[g])).to_pandas() for g in np.unique(groups)])

    def fingerprints(self, ids) -> dict[str, Fingerprint]:
        return {fp.article_id: fp for fp in _fingerprints_of(self._rows(ids))}

    def posting_keys(self, ids) -> dict[str, np.ndarray]:
        """The posting keys of `ids`, from the columns they come from (not the texts)."""
        rows = self._rows(ids, ["article_id", "clause_hashes", "figure_keys", "figure_weights",
                                "name_keys"])
        return {r.article_id: _posting_keys(np.asarray(r.clause_hashes, dtype=np.int64).view(np.uint64),
                                            dict(zip(r.figure_keys, r.figure_weights)), r.name_keys)
                for r in rows.itertuples(index=False)}

    def links(self, ids=None) -> pd.DataFrame:
        filters = None if ids is None else pc.field("a").isin(pa.array(sorted(ids), pa.string()))
        return pq.read_table(self.path / LINKS, filters=filters, schema=_LINK_SCHEMA).to_pandas()


class _Fresh:
    """A run's fingerprints from the stage to the index's save (publishing), as Arrow rows in
    the saved schema with their posting keys and what the member rows take of them (`brief`):
    much less memory than Fingerprint objects (about 5 KB each)."""

    def __init__(self):
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self.keys: list[np.ndarray] = []
        self._briefs: list[tuple] = []  # (page, text hash, day, clause characters)
        self.rows = _FP_SCHEMA.empty_table()

    def add(self, fps: list[Fingerprint], pages: list[str | None]) -> None:
        """One group of fingerprints (of FINGERPRINT_GROUP at most), and their pages."""
        if not fps:
            return
        self.row.update((fp.article_id, len(self.ids) + i) for i, fp in enumerate(fps))
        self.ids += [fp.article_id for fp in fps]
        self.keys += [posting_keys(fp) for fp in fps]
        self._briefs += [(page, fp.text_hash, fp.day, fp.n_chars) for fp, page in zip(fps, pages)]
        self.rows = pa.concat_tables([self.rows, pa.Table.from_pandas(
            _fingerprint_frame(fps), schema=_FP_SCHEMA, preserve_index=False)])

    def brief(self, article_id: str) -> tuple:
        return self._briefs[self.row[article_id]]

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(self.ids)

    def __contains__(self, article_id) -> bool:
        return article_id in self.row

    def fingerprints(self, ids) -> dict[str, Fingerprint]:
        rows = self.rows.take(pa.array([self.row[a] for a in ids], pa.int64()))
        return {fp.article_id: fp for fp in _fingerprints_of(rows.to_pandas())}

    def posting_keys(self, ids) -> dict[str, np.ndarray]:
        return {a: self.keys[self.row[a]] for a in ids}


@dataclass
class StoryIndex:
    """Published story state: a member row per clustered article (`members`: its first-seen
    rank, text hash, story id, copy cluster and the folder holding its fingerprint), every
    article's fingerprint, the postings that propose candidates, and the links found so far.

    Saved as segments, one folder per release, as dedup's index is: a release's folder holds
    the fingerprints, postings and links its run added and the member rows it changed (an
    article that left the clusters as a row marked not live), and names the folders before it
    (`segments.json`). Loading reads only the member rows; postings are memory-mapped and
    searched for a run's new keys only, fingerprints are read for the candidates only (a row
    group each) and links for the stories a run touches. A fingerprint or posting is current
    while its folder is its member's `folder`; a link while both texts hash as they did and no
    later folder withdrew it (a row for the same pair, `live` False: its posting keys became
    templates). Every MAX_SEGMENTS a full copy of what is current is saved again, a folder at a
    time."""
    members: pd.DataFrame = field(default_factory=_no_members)
    fresh: _Fresh = field(default_factory=_Fresh)  # fingerprinted by this run
    found: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_LINK_SCHEMA.names))
    changed: set[str] = field(default_factory=set)  # member rows this run added or changed
    gone: set[str] = field(default_factory=set)  # members that left the clusters in this run
    params: dict = field(default_factory=current_params)
    folders: tuple[Path, ...] = ()  # the saved folders it builds on, oldest first
    _open: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.members)

    def folder(self, path: Path) -> _Folder:
        if path not in self._open:
            self._open[path] = _Folder(path)
        return self._open[path]

    @property
    def links(self) -> pd.DataFrame:
        """Every current link (saved, then found by this run)."""
        return self.links_of(None)

    def links_of(self, ids: set[str] | None) -> pd.DataFrame:
        """The current links of the articles `ids` (None: all), saved ones first: a pair's
        latest row (a later folder's, then this run's) when it is live and both texts hash as
        they did."""
        parts = [self.folder(f).links(ids) for f in self.folders]
        found = self.found if ids is None else self.found[self.found["a"].isin(ids)]
        links = pd.concat([*parts, found], ignore_index=True) if parts else found
        links = links.drop_duplicates(["a", "b"], keep="last")
        held = self.members["text_hash"]
        current = (links["a"].map(held).eq(links["hash_a"]) & links["b"].map(held).eq(links["hash_b"])
                   & links["live"].astype("boolean"))
        return links[current.fillna(False).astype(bool)].reset_index(drop=True)

    def fingerprints(self, ids) -> dict[str, Fingerprint]:
        """The current fingerprints of `ids` (this run's, or read from their folders)."""
        return self._current(ids, _Fresh.fingerprints, _Folder.fingerprints)

    def posting_keys(self, ids) -> dict[str, np.ndarray]:
        """The posting keys of the current fingerprints of `ids` (not reading their texts)."""
        return self._current(ids, _Fresh.posting_keys, _Folder.posting_keys)

    def _current(self, ids, read_fresh, read) -> dict:
        """`read_fresh` of this run's fingerprints of `ids`, `read` from their folders for the others."""
        out = read_fresh(self.fresh, [a for a in ids if a in self.fresh])
        folder_of = self.members["folder"].reindex([a for a in ids if a not in out])
        for path in self.folders:
            mine = folder_of.index[(folder_of == path.name).to_numpy(dtype=bool)]
            if len(mine):
                out.update(read(self.folder(path), mine))
        missing = [a for a in ids if a not in out]
        if missing:
            raise ValueError(f"story index: no fingerprint of {len(missing)} articles, e.g. "
                             f"{missing[:3]}: rebuild the index")
        return out

    def postings(self, query: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The saved postings of the keys `query` (sorted unique): {member: its keys among them}
        for the keys at most MAX_POSTING current members hold, and the keys more hold (a
        template: they propose nothing). Only the query's ranges of each folder are read."""
        raw, slack, spans = np.zeros(query.size, np.int64), 0, []
        for path in self.folders:
            f = self.folder(path)
            current = f.current(self.members)
            slack += int(f.counts.sum() - f.counts[current].sum())  # entries no longer current
            lo, hi = np.searchsorted(f.keys, query, "left"), np.searchsorted(f.keys, query, "right")
            raw += hi - lo
            spans.append((f, current, lo, hi))
        wanted = raw - slack <= MAX_POSTING  # more entries than stale ones explain: a template
        held: dict[str, list] = defaultdict(list)
        for f, current, lo, hi in spans:
            lo, n = lo[wanted], (hi - lo)[wanted]
            if not n.sum():
                continue
            at = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
            rows, keys = np.asarray(f.rows[at]), np.repeat(query[wanted], n)
            keep = current[rows]
            for row, key in zip(rows[keep].tolist(), keys[keep]):
                held[f.ids[row]].append(key)
        return {a: np.array(k, dtype=np.uint64) for a, k in held.items()}, query[~wanted]

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        over = [d.name for d in self.folders]
        full = (not over or len(over) >= MAX_SEGMENTS
                or any(d.parent != directory.parent for d in self.folders))
        writer = _FingerprintWriter(directory)
        if full:  # a full copy: what is current in every folder, a folder at a time
            for path in self.folders:
                f = self.folder(path)
                writer.copy(f, f.current(self.members))
        writer.add(self.fresh)
        writer.close()
        links = self.links if full else self.found
        pq.write_table(pa.Table.from_pandas(links.reindex(columns=_LINK_SCHEMA.names),
                                            schema=_LINK_SCHEMA, preserve_index=False),
                       directory / LINKS)
        self.members.loc[list(self.fresh), "folder"] = directory.name
        if full:
            self.members["folder"] = directory.name
        rows = self.members if full else self.members.loc[
            [a for a in self.members.index if a in self.changed]]
        rows = rows.assign(live=True)
        if not full and self.gone:
            rows = pd.concat([rows, pd.DataFrame({"live": False}, index=sorted(self.gone))])
        pq.write_table(pa.Table.from_pandas(rows.rename_axis("article_id").reset_index(),
                                            schema=_MEMBER_SCHEMA, preserve_index=False),
                       directory / MEMBERS)
        (directory / "params.json").write_text(json.dumps(self.params, indent=2))
        if not full:
            (directory / SEGMENTS).write_text(json.dumps(
                {"segments": over, "new_fingerprints": len(self.fresh)}, indent=2))
        return directory

    @staticmethod
    def nbytes(directory: str | Path) -> int:
        """Bytes the saved index takes on disk (with the folders it builds on)."""
        return saved_bytes(directory)

    @classmethod
    def load(cls, directory: str | Path) -> "StoryIndex":
        """The index saved in `directory` (and the folders it names): member rows only."""
        directory = Path(directory)
        params = json.loads((directory / "params.json").read_text())
        if params.get("format") != INDEX_FORMAT:  # one full copy per release, before segments
            raise ValueError(f"story index saved in format {params.get('format', 2)}, this code "
                             f"reads format {INDEX_FORMAT}: rebuild the index (once)")
        if params != current_params():
            raise ValueError(f"story index built with {params}, code uses {current_params()}: "
                             "rebuild the index")
        folders = segment_dirs(directory)
        rows = pd.concat([pq.read_table(d / MEMBERS, schema=_MEMBER_SCHEMA).to_pandas()
                          for d in folders], ignore_index=True)
        rows = rows.drop_duplicates("article_id", keep="last")
        rows = rows[rows["live"].fillna(False).astype(bool)].sort_values("seq", kind="stable")
        return cls(_members_frame(rows.drop(columns="live")), params=params, folders=tuple(folders))


class _FingerprintWriter:
    """Writes a folder's fingerprints (row groups of FINGERPRINT_GROUP) and their postings."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.parquet = pq.ParquetWriter(directory / FINGERPRINTS, _FP_SCHEMA)
        self.keys, self.rows, self.counts, self.n = [], [], [], 0

    def _write(self, table: pa.Table) -> None:
        self.parquet.write_table(table, row_group_size=FINGERPRINT_GROUP)

    def copy(self, folder: _Folder, keep: np.ndarray) -> None:
        """The rows `keep` of a saved folder, with their postings (renumbered)."""
        for g in range(folder.file.num_row_groups):
            part = keep[folder.group_starts[g]:folder.group_starts[g + 1]]
            if part.any():
                self._write(folder.file.read_row_group(g).filter(pa.array(part)))
        renumber = np.cumsum(keep) - 1 + self.n
        entries = keep[np.asarray(folder.rows)]
        self.keys.append(np.asarray(folder.keys)[entries])
        self.rows.append(renumber[np.asarray(folder.rows)[entries]].astype(np.int32))
        self.counts.append(folder.counts[keep])
        self.n += int(keep.sum())

    def add(self, fresh: _Fresh) -> None:
        self._write(fresh.rows)
        self.keys += fresh.keys
        self.rows += [np.full(k.size, self.n + i, dtype=np.int32) for i, k in enumerate(fresh.keys)]
        self.counts.append(np.array([k.size for k in fresh.keys], dtype=np.int32))
        self.n += len(fresh)

    def close(self) -> None:
        self.parquet.close()
        keys = np.concatenate(self.keys) if self.keys else np.empty(0, np.uint64)
        rows = np.concatenate(self.rows) if self.rows else np.empty(0, np.int32)
        order = np.argsort(keys, kind="stable")
        np.save(self.directory / POSTING_KEYS, keys[order].astype(np.uint64))
        np.save(self.directory / POSTING_ROWS, rows[order].astype(np.int32))
        np.save(self.directory / POSTING_COUNTS, np.concatenate(self.counts).astype(np.int32)
                if self.counts else np.empty(0, np.int32))


def _fingerprint_frame(fps: list[Fingerprint]) -> pd.DataFrame:
    return pd.DataFrame({
        "article_id": [f.article_id for f in fps],
        "text_hash": [f.text_hash for f in fps],
        "day": pd.array([f.day for f in fps], dtype="Int64"),
        "clause_hashes": [f.clause_hashes.view(np.int64).tolist() for f in fps],  # Parquet: int64
        "clause_chars": [f.clause_chars.tolist() for f in fps],
        "figure_keys": [list(f.figures) for f in fps],
        "figure_weights": [list(f.figures.values()) for f in fps],
        "figure_texts": [[f.figure_text[k] for k in f.figures] for f in fps],
        "lead_figures": [sorted(f.lead_figures) for f in fps],
        "slot_keys": [list(f.slots) for f in fps],
        "slot_values": [list(f.slots.values()) for f in fps],
        "name_keys": [list(f.names) for f in fps],
        "name_weights": [list(f.names.values()) for f in fps],
        "event_days": [sorted(f.event_days) for f in fps],
        "norm_lead": [f.norm_lead for f in fps],
        "norm_text": [f.norm_text for f in fps],
    }, columns=_FP_COLUMNS)


def _fingerprints_of(frame: pd.DataFrame) -> list[Fingerprint]:
    out = []
    for r in frame.itertuples(index=False):
        out.append(Fingerprint(
            article_id=r.article_id, text_hash=r.text_hash,
            day=None if pd.isna(r.day) else int(r.day),
            clause_hashes=np.asarray(r.clause_hashes, dtype=np.int64).view(np.uint64),
            clause_chars=np.asarray(r.clause_chars, dtype=np.int32),
            figures=dict(zip(r.figure_keys, map(int, r.figure_weights))),
            figure_text=dict(zip(r.figure_keys, r.figure_texts)),
            lead_figures=frozenset(r.lead_figures),
            slots=dict(zip(r.slot_keys, r.slot_values)),
            names=dict(zip(r.name_keys, map(float, r.name_weights))),
            event_days=frozenset(int(d) for d in r.event_days),
            norm_lead=r.norm_lead, norm_text=r.norm_text))
    return out




# ---- the stage ------------------------------------------------------------------------------------
@dataclass
class StoryResult:
    stories: pd.DataFrame   # the rows of every story this run changed (STORY_COLUMNS)
    index: StoryIndex       # the state to persist for the next incremental run


def clustered_articles(articles: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """The articles of `clusters` (every member of every copy cluster), in the articles' order."""
    return articles[articles["article_id"].isin(set(clusters["article_id"]))]


STORY_INPUTS = ("article_id", "doc_id", "title", "body", "published_date")


class _Brief(NamedTuple):
    """What a story's representative is chosen by (a member row, not its whole fingerprint)."""
    day: int | None
    n_chars: int


def build_stories(articles: pd.DataFrame, clusters: pd.DataFrame,
                  prior: StoryIndex | None = None, gone: set[str] | None = None) -> StoryResult:
    """Stories over the clustered articles, resuming from `prior` (the published index).

    `clusters` is the whole clusters table, or, with `gone` (the article ids that left it),
    its new and changed rows only; `articles` holds at least the clustered articles `prior`
    has no fingerprint of or whose text changed (the others are skipped by their text hash).
    New or changed texts are fingerprinted and compared with the index through its postings;
    pairs already scored are not scored again. Returns the rows of every story that an added,
    changed or departed article touches (without `prior`: every story), and the new index."""
    prior = prior or StoryIndex()
    if prior.fresh or len(prior.found):
        raise ValueError("stories: resume from a saved index (StoryIndex.load), not from a "
                         "run's unsaved one")
    members = prior.members.copy()
    clusters = clusters[["article_id", *CLUSTER_FIELDS]].astype({"article_id": str})
    before = members["story_id"]  # each article's story as published
    if gone is None:
        gone = set(members.index) - set(clusters["article_id"])
    gone = set(gone) & set(members.index) - set(clusters["article_id"])
    members = members.drop(index=sorted(gone))
    fresh = _fingerprint_new(articles, set(clusters["article_id"]) | set(members.index), members)
    members = _with_fresh(members, fresh, clusters)
    touched = _cluster_changes(members, clusters)
    members.loc[touched.index, CLUSTER_FIELDS] = touched[CLUSTER_FIELDS]
    live = StoryIndex(members, folders=prior.folders, _open=prior._open)  # as this run leaves it
    keys = dict(zip(fresh.ids, fresh.keys))
    removed = prior.posting_keys(sorted(gone | (set(fresh) & set(prior.members.index))))
    holders = _Holders.of(live, list(keys.values()), list(removed.values()))
    live.found = _new_links(live, fresh, keys, holders)
    # links that rest on a key this run made a template go, pairs a key freed are scored
    live.found = found = pd.concat([live.found, _cap_crossings(live, holders)], ignore_index=True)

    # the stories to recompute: those of every article added, changed, gone or newly linked,
    # with every story a copy-cluster edge of theirs reaches (old stories are closed otherwise)
    start = set(fresh) | set(touched.index) | set(found["a"]) | set(found["b"])
    stories = set(before.reindex(sorted(start | gone)).dropna())
    affected = set(start)
    while True:
        affected |= set(members.index[members["story_id"].isin(stories)])
        reached = set(members["story_id"].reindex(
            members.loc[sorted(affected), "canonical_id"].unique()).dropna()) - stories
        if not reached:
            break
        stories |= reached
    order = members.loc[sorted(affected)].sort_values("seq", kind="stable").index.tolist()
    links = live.links_of(set(order))
    canonical_of = members.loc[order, "canonical_id"].to_dict()
    untouched = members["story_id"][~members["story_id"].isin(stories)]
    story_of = _assign(order, links, canonical_of, before.reindex(order).dropna().to_dict(),
                       taken=set(untouched.dropna()))
    members.loc[order, "story_id"] = [story_of[a] for a in order]

    given = [a for a in clusters["article_id"] if a in story_of]  # rows in the clusters' order
    listed = set(given)
    shown = members.loc[given + [a for a in order if a not in listed]]
    briefs = {a: _Brief(None if pd.isna(d) else int(d), int(n))
              for a, d, n in zip(shown.index, shown["day"], shown["n_chars"])}
    rows = _story_rows(shown[CLUSTER_FIELDS].rename_axis("article_id").reset_index(), briefs,
                       links, story_of, order, canonical_of)
    index = StoryIndex(members, fresh, found, set(fresh) | set(touched.index) | set(order), gone,
                       prior.params, prior.folders, prior._open)
    return StoryResult(rows, index)


def _fingerprint_new(articles: pd.DataFrame, clustered: set[str], members: pd.DataFrame) -> _Fresh:
    """Fingerprints of the clustered articles the index lacks or whose text changed (in the
    articles' order: the first-seen order of new ones), with their pages (doc ids). Made
    FINGERPRINT_GROUP at a time and kept as Arrow rows: a first run never holds every
    article's Fingerprint objects at once (the stage alone over 200k tiny documents: a peak
    390 MB lower)."""
    fresh, group, pages = _Fresh(), [], []
    rows = articles[articles["article_id"].astype(str).isin(clustered)]
    held = members["text_hash"].reindex(rows["article_id"].astype(str)).tolist()
    doc_ids = rows["doc_id"].tolist() if "doc_id" in rows else [None] * len(rows)
    seen = set()
    for row, old, doc in zip(rows[["article_id", "title", "body", "published_date"]].itertuples(
            index=False), held, doc_ids):
        aid = str(row.article_id)
        if old == text_hash(row.title, row.body, row.published_date) or aid in seen:
            continue
        seen.add(aid)
        group.append(fingerprint(aid, row.title, row.body, row.published_date))
        pages.append(None if pd.isna(doc) else str(doc))
        if len(group) == FINGERPRINT_GROUP:
            fresh.add(group, pages)
            group, pages = [], []
    fresh.add(group, pages)
    return fresh


def _with_fresh(members: pd.DataFrame, fresh: _Fresh, clusters: pd.DataFrame) -> pd.DataFrame:
    """`members` with the fresh fingerprints' rows (a new article takes the next first-seen
    rank and its copy cluster; a changed one keeps its rank, its fingerprint is not saved yet)."""
    new = [a for a in fresh if a not in members.index]
    changed = [a for a in fresh if a in members.index]
    brief = fresh.brief
    if changed:
        members.loc[changed, ["doc_id", "text_hash", "day", "n_chars", "folder"]] = [
            [*brief(a), None] for a in changed]
    missing = set(clusters["article_id"]) - set(members.index) - set(new)
    if missing:
        raise ValueError(f"stories: {len(missing)} clustered articles without a text, e.g. "
                         f"{sorted(missing)[:3]}")
    if not new:
        return members
    first = int(members["seq"].max()) + 1 if len(members) else 0
    cluster = clusters.drop_duplicates("article_id", keep="last").set_index("article_id")
    page, text, day, n_chars = zip(*map(brief, new))
    added = pd.DataFrame({
        "article_id": new, "seq": np.arange(first, first + len(new)),
        "doc_id": list(page), "text_hash": list(text), "day": list(day), "n_chars": list(n_chars),
        "story_id": None, "folder": None, **{c: cluster[c].reindex(new).tolist() for c in CLUSTER_FIELDS}})
    added = _members_frame(added)
    return pd.concat([members, added]) if len(members) else added


def _cluster_changes(members: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """The rows of `clusters` whose copy cluster differs from the index's."""
    rows = _members_frame(clusters.drop_duplicates("article_id", keep="last").assign(
        seq=0, n_chars=0))[CLUSTER_FIELDS]
    held = members.loc[rows.index, CLUSTER_FIELDS]
    same = ((held == rows) | (held.isna() & rows.isna())).all(axis=1)
    return rows[~same.to_numpy(dtype=bool)]


@dataclass
class _Holders:
    """How many articles hold each posting key a run adds or removes, before and after the run:
    the index's current members (`old`, without the fingerprints the run removes), the fresh
    fingerprints, and the removed ones (departed articles, the old texts of changed ones)."""
    query: np.ndarray             # the keys, sorted unique
    held: dict[str, np.ndarray]   # old member -> its keys among them (those at most MAX_POSTING hold)
    old: np.ndarray               # old holders per key (a template: MAX_POSTING + 1, at least)
    fresh: np.ndarray
    removed: np.ndarray

    @classmethod
    def of(cls, live: StoryIndex, fresh: list[np.ndarray], removed: list[np.ndarray]) -> "_Holders":
        query = np.unique(np.concatenate([np.empty(0, np.uint64), *fresh, *removed]))
        held, template = live.postings(query)
        return cls(query, held, _holder_counts(query, held.values(), template),
                   _holder_counts(query, fresh), _holder_counts(query, removed))

    def crossed(self) -> tuple[np.ndarray, np.ndarray]:
        """The keys that crossed MAX_POSTING in this run: (became templates, stopped being one)."""
        before, after = self.old + self.removed, self.old + self.fresh
        return (self.query[(before <= MAX_POSTING) & (after > MAX_POSTING)],
                self.query[(after <= MAX_POSTING) & (before > MAX_POSTING)])

    def old_holders(self, keys: np.ndarray) -> dict[int, list[str]]:
        """The old members holding each of `keys` (keys at most MAX_POSTING old members hold)."""
        out: dict[int, list[str]] = defaultdict(list)
        for member, held in self.held.items():
            for key in held[np.isin(held, keys)].tolist():
                out[key].append(member)
        return out


def _holder_counts(query: np.ndarray, keys, template: np.ndarray = np.empty(0, np.uint64)) -> np.ndarray:
    """Holders of each key of `query` among the arrays `keys` (one per article, unique keys);
    the `template` keys count MAX_POSTING + 1 (more hold them)."""
    flat = np.concatenate([np.empty(0, np.uint64), *keys])
    counts = np.bincount(np.searchsorted(query, flat), minlength=query.size)[:query.size]
    counts[np.isin(query, template)] = MAX_POSTING + 1
    return counts


def _comparable(members: pd.DataFrame, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs a story compares: never two articles split from one page (a page prints a story
    once), nor two of one copy cluster (one story already)."""
    involved = members.loc[sorted({a for pair in pairs for a in pair}), ["doc_id", "canonical_id"]]
    page, canonical = involved["doc_id"].to_dict(), involved["canonical_id"].to_dict()
    return [(a, b) for a, b in pairs
            if not (isinstance(page[a], str) and page[a] == page[b]) and canonical[a] != canonical[b]]


def _scored(live: StoryIndex, pairs: list[tuple[str, str]], fresh: _Fresh | None = None
            ) -> pd.DataFrame:
    """The links among `pairs` (each in first-seen order): this run's fingerprints read from
    `fresh`, the others from the index."""
    ids = {a for pair in pairs for a in pair}
    mine = [a for a in ids if fresh is not None and a in fresh]
    fps = {**live.fingerprints(ids.difference(mine)), **(fresh.fingerprints(mine) if mine else {})}
    found, grams = [], Grams()
    for a, b in pairs:
        evidence = compare(fps[a], fps[b], grams)
        if evidence.linked:
            found.append({**_link_row(a, b, evidence), "hash_a": fps[a].text_hash,
                          "hash_b": fps[b].text_hash, "live": True})
    return pd.DataFrame(found, columns=_LINK_SCHEMA.names)


def _new_links(live: StoryIndex, fresh: _Fresh, keys: dict[str, np.ndarray],
               holders: _Holders) -> pd.DataFrame:
    """The links of the fresh fingerprints: candidates from their postings (`keys`) and the
    index's (each key held by at most MAX_POSTING articles), scored in first-seen order."""
    template = holders.query[holders.old > MAX_POSTING]  # keys the index holds too often
    if template.size and keys:
        # one isin over all the articles' keys (one per article sorted the template keys again:
        # ~5 s for 1,000 new articles on a release of 200k)
        names = list(keys)
        kept = ~np.isin(np.concatenate([keys[a] for a in names]), template)
        ends = np.cumsum([len(keys[a]) for a in names])[:-1]
        keys = {a: keys[a][mask] for a, mask in zip(names, np.split(kept, ends))}
    seq = dict(zip(live.members.index, live.members["seq"].tolist()))
    rows = sorted({*holders.held, *keys}, key=seq.__getitem__)
    pairs = sorted(candidate_pairs([keys[a] if a in keys else holders.held[a] for a in rows],
                                   np.array([a in keys for a in rows], dtype=bool)))
    return _scored(live, _comparable(live.members, [(rows[i], rows[j]) for i, j in pairs]), fresh)


def _cap_crossings(live: StoryIndex, holders: _Holders) -> pd.DataFrame:
    """Old pairs whose candidacy this run changed, as a full run would see them: a key that
    became a template (more than MAX_POSTING holders) withdraws the links of old holders that
    share no other key still under the cap (`live` False); a key that stopped being one (its
    holders left or changed) proposes the pairs of its old holders that no key proposed before
    (the others were scored then: linked or not, that holds). Pairs with a fresh article are
    `_new_links`'s. Reads only the holders of the crossing keys (at most MAX_POSTING each)."""
    up, down = holders.crossed()
    old_holders = holders.old_holders(np.concatenate([up, down]))
    groups = {k: set(old_holders.get(k, ())) for k in [*up.tolist(), *down.tolist()]}
    links = live.links_of(set().union(*groups.values())) if groups else live.found.iloc[:0]
    rested = links[np.array([any({a, b} <= groups[k] for k in up.tolist())
                             for a, b in zip(links["a"], links["b"])], dtype=bool)]
    withdrawn = rested[~_proposed(live, holders, list(zip(rested["a"], rested["b"])), after=True)]
    seq = live.members["seq"]
    freed = sorted({tuple(sorted(p, key=seq.__getitem__))
                    for k in down.tolist() for p in itertools.combinations(sorted(groups[k]), 2)}
                   - set(zip(links["a"], links["b"])), key=lambda p: (seq[p[0]], seq[p[1]]))
    new = [p for p, before in zip(freed, _proposed(live, holders, freed, after=False)) if not before]
    return pd.concat([withdrawn.assign(live=False), _scored(live, _comparable(live.members, new))],
                     ignore_index=True)


def _proposed(live: StoryIndex, holders: _Holders, pairs: list[tuple[str, str]], after: bool
              ) -> np.ndarray:
    """For each pair of old articles, whether they share a posting key that at most MAX_POSTING
    articles hold after this run (`after`) or held before it."""
    if not pairs:
        return np.zeros(0, bool)
    keys = live.posting_keys({a for pair in pairs for a in pair})
    shared = [np.intersect1d(keys[a], keys[b], assume_unique=True) for a, b in pairs]
    flat = np.concatenate(shared)
    rest = np.unique(flat[~np.isin(flat, holders.query)])  # keys this run left as they were
    held, template = live.postings(rest)
    change = holders.fresh if after else holders.removed
    count = dict(zip(holders.query.tolist(), (holders.old + change).tolist()))
    count.update(zip(rest.tolist(), _holder_counts(rest, held.values(), template).tolist()))
    return np.array([any(count[k] <= MAX_POSTING for k in ks.tolist()) for ks in shared], dtype=bool)


def _link_row(a: str, b: str, e: Evidence) -> dict:
    return {"a": a, "b": b, **e._asdict()}


def _evidence(link: dict) -> Evidence:
    """A stored link back as Evidence (lists read back from Parquet as tuples, NA as None)."""
    values = {f: link[f] for f in Evidence._fields}
    for f in LIST_COLUMNS:
        values[f] = tuple(values[f]) if values[f] is not None else ()
    values["days_apart"] = None if pd.isna(values["days_apart"]) else int(values["days_apart"])
    values["shared_clauses"] = int(values["shared_clauses"])
    return Evidence(**values)


def _components(order: list[str], links: pd.DataFrame, canonical_of: dict[str, str]) -> list[list[str]]:
    """Connected components of the links and of the copy clusters (each article with its canonical)."""
    parent = {a: a for a in order}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rank = {a: i for i, a in enumerate(order)}
    edges = [*zip(links["a"], links["b"]), *((a, canonical_of[a]) for a in order if canonical_of[a] != a)]
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            first, second = sorted((ra, rb), key=rank.get)
            parent[second] = first
    groups: dict[str, list[str]] = defaultdict(list)
    for a in order:
        groups[find(a)].append(a)
    return list(groups.values())


def _assign(order: list[str], links: pd.DataFrame, canonical_of: dict[str, str],
            previous: dict[str, str], taken: set[str] = frozenset()) -> dict[str, str]:
    """Story id of every article: a story keeps its id; merged stories keep the smallest; when a
    story splits (an article's text changed, a copy left its cluster), its first part keeps the
    id and the others take a new one (never one of `taken`: the stories not recomputed)."""
    story_of, used = {}, set(taken)
    for members in _components(order, links, canonical_of):
        old = sorted({previous[a] for a in members if a in previous} - used)
        fresh = (f"s-{a}" for a in members if f"s-{a}" not in used)
        story_id = old[0] if old else next(fresh, f"s-{members[0]}-{len(used)}")
        used.add(story_id)
        story_of.update(dict.fromkeys(members, story_id))
    return story_of


def _representative(members: list[str], fps: dict[str, _Brief], rank: dict[str, int]) -> str:
    """The original report: earliest published, then the most complete text, then first seen."""
    return min(members, key=lambda a: (fps[a].day if fps[a].day is not None else math.inf,
                                       -fps[a].n_chars, rank[a]))


def _story_rows(clusters: pd.DataFrame, fps: dict[str, _Brief], links: pd.DataFrame,
                story_of: dict[str, str], order: list[str], canonical_of: dict[str, str]) -> pd.DataFrame:
    """One row per article of `clusters`: a canonical article with the link that joins it to its
    story's representative (or the strongest link of its copy cluster), a copy with its copy
    cluster. The representative is a canonical article."""
    rank = {a: i for i, a in enumerate(order)}
    canonicals = [a for a in order if canonical_of[a] == a]
    members: dict[str, list[str]] = defaultdict(list)
    for a in canonicals:
        members[story_of[a]].append(a)
    representative = {s: _representative(m, fps, rank) for s, m in members.items()}
    link_of: dict[tuple[str, str], Evidence] = {}
    best: dict[str, tuple[str, Evidence]] = {}  # each copy cluster's strongest link (by canonical)
    for link in links.to_dict("records"):
        evidence = _evidence(link)
        for me, other in ((link["a"], link["b"]), (link["b"], link["a"])):
            link_of[(me, other)] = evidence
            cluster = canonical_of[me]
            if cluster not in best or evidence.score > best[cluster][1].score:
                best[cluster] = (other, evidence)
    rows: dict[str, dict] = {}
    for a in canonicals:
        story_id, rep = story_of[a], representative[story_of[a]]
        if a == rep:
            rows[a] = _row(story_id, a, "unique", 1.0, "the story's representative (earliest report)",
                           None, True)
            continue
        partner, evidence = (rep, link_of[(a, rep)]) if (a, rep) in link_of else best[a]
        rows[a] = _row(story_id, a, evidence.relation, evidence.score, describe(evidence),
                       partner, False, evidence)
    for c in clusters[~clusters["is_canonical"].astype(bool)].itertuples():
        if c.canonical_id in story_of:
            rows[c.article_id] = _row(
                story_of[c.canonical_id], c.article_id, "copy", float(c.similarity),
                f"copy of {c.canonical_id} (copy cluster {c.cluster_id}, {c.kind}, "
                f"similarity {float(c.similarity):.2f})", c.canonical_id, False)
    out = pd.DataFrame([rows[a] for a in clusters["article_id"] if a in rows],
                       columns=[c for c in STORY_COLUMNS if c not in ("cluster_id", "story_size")])
    out["cluster_id"] = out["article_id"].map(dict(zip(clusters["article_id"], clusters["cluster_id"])))
    out["story_size"] = out["story_id"].map(out["story_id"].value_counts())
    return out[STORY_COLUMNS].astype({"score": float, "containment": float, "lead_support": float,
                                      "shared_clauses": "int64",
                                      "days_apart": "Int64", "is_representative": bool,
                                      "story_size": "int64"})


def _row(story_id: str, article_id: str, relation: str, score: float, evidence: str,
         matched_id: str | None, representative: bool, e: Evidence | None = None) -> dict:
    """A stories row; `e` the link's evidence (None for the representative and for copies,
    whose containment is their score: 1.0, or the copy cluster's similarity)."""
    return {"story_id": story_id, "article_id": article_id, "relation": relation,
            "score": round(float(score), 4), "evidence": evidence, "matched_id": matched_id,
            "is_representative": representative,
            "containment": e.containment if e else round(float(score), 4),
            "shared_clauses": e.shared_clauses if e else 0,
            "lead_support": e.lead_support if e else 0.0,
            "shared_figures": list(e.shared_figures) if e else [],
            "conflicting_figures": list(e.conflicting_figures) if e else [],
            "shared_names": list(e.shared_names) if e else [],
            "days_apart": e.days_apart if e else None}


# ---- the declared stage ---------------------------------------------------------------------------
def stories_stage(tables, prior: StoryIndex | None):
    """The stage's function: the stories, resuming from the index the previous release saved
    (when the same code made it); the new index is saved with this release. Resuming, it reads
    only this run's cluster rows (and the ids that left), the articles whose text is new to
    the index, and returns the rows of the stories they touch (`tables`: a
    tasks.reader.ReleaseView; the runner merges the rows over the published table)."""
    if prior is None:
        return _output(build_stories(tables["articles"], tables["clusters"]))
    if tables.whole("clusters"):  # written whole by this run: compared with the index's
        clusters, gone = tables["clusters"], None
    else:
        clusters = tables.changed("clusters")
        change = tables.changes.get("clusters")
        gone = set(change.drop) if change is not None else set()
    todo = set(tables.changed("articles")["article_id"]) | (
        set(clusters["article_id"]) - set(prior.members.index))
    articles = tables.lookup("articles", "article_id", todo, STORY_INPUTS)
    return _output(build_stories(articles, clusters, prior, gone))


def _output(result: StoryResult):
    return {"stories": result.stories}, result.index


def _counts(output, tables) -> list[tuple[str, int]]:
    return [("distinct stories", int(tables.release("stories", ["story_id"])["story_id"].nunique()))]


STAGE = Stage(
    name="stories", function=stories_stage, key="article_id",
    reads={"articles": STORY_INPUTS,
           "clusters": ("article_id", "cluster_id", "canonical_id", "is_canonical", "kind",
                        "similarity")},
    writes={"stories": STORY_COLUMNS}, carry="upsert", state=StoryIndex, counts=_counts,
    # fingerprints read numbers, dates and words with extract's parsers; the index keys
    # articles by id, as dedup's does: other cleaning or clustering code makes it stale
    code=("newsgate.tasks.stories", "newsgate.tasks.extract", "newsgate.tasks.dedup",
          "newsgate.tasks.clean"))
