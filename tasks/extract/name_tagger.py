"""A learned tagger of project names (issue 12 part 7): a linear-chain CRF over characters.

The rules of projects.py find names in the shapes they were written for; the tagger reads every
clause that holds a project head (项目, 工程, or a facility head of project_words.json: 水库,
产业园, 生产线 …) and labels each character B (a name starts), I (inside) or O. Its features are
the character and its neighbours, the jieba token around it (word, position in the word,
dictionary tag, whether it is a head), the neighbouring tokens, how far the next head is, and the
rules' own names (B/I/O) — so the rules are features, and stay the fallback.

The model file (`project_names.crfsuite`, python-crfsuite) ships with the package and is loaded
once per thread; `benchmarks/train_extract_models.py` rebuilds it from tests/gold/facts/train.jsonl
(deterministic). Nothing is downloaded. Without the file (or the library) `tag_names` returns
nothing and the rules stand alone.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .crf import open_model
from .sentences import Span
from .tokenize import Tokens, word_frequency, word_tag

MODEL_FILE = Path(__file__).with_name("project_names.crfsuite")
DISTANCE_BINS = (0, 2, 5, 9, 15, 25)   # characters to the end of the next head in the clause
WINDOW = 36   # characters read before a head: 99% of the gold's project names are shorter


@lru_cache(maxsize=1)
def _heads() -> frozenset[str]:
    """项目, 工程 and their compounds (project_words.json)."""
    from .projects import _words
    return frozenset(_words()["name_suffixes"]) | frozenset(_words()["compound_suffixes"])


@lru_cache(maxsize=1)
def _head_last_chars() -> frozenset[str]:
    """The characters a head can end with (a cheap test before `is_head`)."""
    from .projects import _words
    return frozenset(w[-1] for w in _heads() | frozenset(_words()["facility_suffixes"]))


@lru_cache(maxsize=65536)
def is_head(word: str) -> bool:
    """A token that can end a project name: 项目/工程 (and their compounds) or a facility head."""
    from .projects import _facility_token
    return word in _heads() or _facility_token(word)


def _char_class(c: str) -> str:
    if c.isdigit():
        return "D"
    if c.isascii() and c.isalpha():
        return "L"
    if "\u4e00" <= c <= "\u9fff":
        return "H"
    return "P"


@lru_cache(maxsize=65536)
def _token_info(word: str) -> tuple[str, str, bool]:
    """(word, dictionary tag or UNK/X, is a head) of a token: the same few thousand words recur."""
    return word, word_tag(word) or ("UNK" if word_frequency(word) == 0 else "X"), is_head(word)


def _bin(distance: int | None) -> str:
    if distance is None:
        return "none"
    return str(next((b for b in reversed(DISTANCE_BINS) if distance >= b), 0))


_DIST = ["dist=" + _bin(d) for d in range(DISTANCE_BINS[-1] + 1)]   # distance -> feature (capped)


def _neighbours(info: list[tuple[str, str, bool]], k: int) -> list[str]:
    """The tokens before and after token k (word, tag, whether a head)."""
    if k > 0:
        pw, pt, ph = info[k - 1]
        f = ["w-1=" + pw, "t-1=" + pt] + (["head-1"] if ph else [])
    else:
        f = ["w-1=^"]
    if k + 1 < len(info):
        nw, nt, nh = info[k + 1]
        f += ["w+1=" + nw, "t+1=" + nt] + (["head+1"] if nh else [])
    else:
        f.append("w+1=$")
    return f


def _positions(start: int, end: int, a: int, b: int) -> str:
    """S/B/M/E of the characters of token [start, end) that lie in [a, b)."""
    if end - start == 1:
        return "S"
    return ("B" + "M" * (end - start - 2) + "E")[max(a, start) - start:min(b, end) - start]


@lru_cache(maxsize=1)
def _bare_heads() -> frozenset[str]:
    """The head words themselves (项目, 中心, 基地 …): a token that is one holds no name of its own."""
    from .projects import _words
    return _heads() | frozenset(_words()["facility_suffixes"])


def _name_can_end(tokens: Tokens, i: int, floor: int) -> bool:
    """A name can end at head token i: the token holds more than a head word (虹桥机场), or a word
    of the clause comes before it (a bare head opening the clause or following punctuation names
    nothing: ，中心… / 、基地). After 的 a name can still end (年产1万吨R134a的生产线)."""
    from .projects import PUNCT_BOUNDARY
    if tokens.words[i] not in _bare_heads():
        return True
    word = tokens.words[i - 1] if i else ""
    return i >= 1 and tokens.starts[i - 1] >= floor and word not in PUNCT_BOUNDARY and not word.isspace()


def tagged_windows(text: str, tokens: Tokens, clauses: Iterable[Span],
                   rule_spans: list[tuple[int, int]] | None = None) -> list[tuple[Span, Span]]:
    """(window, clause) pairs the tagger reads: a name ends at a head, so each head token of a clause
    gives the WINDOW characters before it and itself (overlapping windows merged). With the rules'
    names (`rule_spans`, at run time) a window is skipped when none of its heads can end a new
    name: each is inside a rule's name (a learned name may not overlap one) or is a bare head word
    opening its clause or following punctuation (`_name_can_end`). The windows kept are built
    exactly as in training, where every window is read (`rule_spans` None)."""
    last = _head_last_chars()
    heads = [i for i, w in enumerate(tokens.words) if w[-1] in last and is_head(w)]
    head_starts = [tokens.starts[i] for i in heads]
    out: list[tuple[Span, Span]] = []
    for c in clauses:
        windows: list[list] = []   # [start, end, whether a head of it can end a name]
        for i in heads[bisect_left(head_starts, c.start):bisect_left(head_starts, c.end)]:
            st, e = tokens.starts[i], tokens.ends[i]
            can_end = rule_spans is None or (_name_can_end(tokens, i, c.start)
                                             and not any(x < e and st < y for x, y in rule_spans))
            a, b = max(c.start, st - WINDOW), min(e, c.end)
            if windows and a <= windows[-1][1]:
                windows[-1][1:] = [b, windows[-1][2] or can_end]
            else:
                windows.append([a, b, can_end])
        out += [(Span(a, b), c) for a, b, read in windows if read]
    return out


def clause_features(text: str, tokens: Tokens, clause: Span, rule_spans: list[tuple[int, int]]) -> list[list[str]]:
    """One feature list per character of `clause` (a window of one; see the module doc). Built a
    column at a time, and a token's word features once for all its characters: this runs on every
    window of every article."""
    a, b = clause.start, clause.end
    lo, hi = bisect_right(tokens.ends, a), bisect_right(tokens.starts, b - 1)
    info = [_token_info(w) for w in tokens.words[lo:hi]]
    chars = text[a:b]
    pairs = [x + y for x, y in zip(chars, chars[1:])]
    left = ["c-1=^", *["c-1=" + c for c in chars[:-1]]]
    right = [*["c+1=" + c for c in chars[1:]], "c+1=$"]
    left2 = ["b-1=" + chars[0], *["b-1=" + p for p in pairs]]
    right2 = [*["b+1=" + p for p in pairs], "b+1=" + chars[-1]]
    rule = ["rule=" + y for y in _bio(a, b, rule_spans)]
    cand = ["cand=" + y for y in _bio(a, b, _head_candidates(text, tokens, lo, hi, clause))]
    dist = _distances(a, b, [e for e, (_, _, h) in zip(tokens.ends[lo:hi], info) if h])
    out = []
    j = 0   # character index in the window
    for k, (st, e) in enumerate(zip(tokens.starts[lo:hi], tokens.ends[lo:hi])):
        w, t, h = info[k]
        wf, tf, around = "w=" + w, "t=" + t, _neighbours(info, k)
        for pos in _positions(st, e, a, b):
            c = chars[j]
            out.append(["bias", "c=" + c, _CLASS.get(c) or "cc=" + _char_class(c), left[j], right[j], left2[j],
                        right2[j], cand[j], wf, "wp=" + pos, tf, "tp=" + t + pos, rule[j], dist[j],
                        *(("head" + pos,) if h else ()), *around])
            j += 1
    return out


_CLASS = {c: "cc=" + _char_class(c) for c in map(chr, range(0x3000, 0xa000))}   # CJK: one lookup


def _distances(a: int, b: int, head_ends: list[int]) -> list[str]:
    """The dist= feature of each character of a..b: characters to the end of the next head."""
    out, at = [], a
    for end in head_ends:
        if end > at:
            out += [_DIST[min(end - i - 1, DISTANCE_BINS[-1])] for i in range(at, min(end, b))]
            at = end
    return out + ["dist=none"] * (b - at)


def _bio(a: int, b: int, spans) -> list[str]:
    """B/I/O of the characters a..b for the spans inside them (the first span wins an overlap)."""
    return bio_labels(b - a, [(s - a, e - a) for s, e in spans if a <= s < e <= b])


def _head_candidates(text: str, tokens: Tokens, lo: int, hi: int, clause: Span) -> list[tuple[int, int]]:
    """The name each head token of the clause would close, by the rules' own boundary scan."""
    from .projects import scan_name_start
    out = []
    for i in range(lo, hi):
        if is_head(tokens.words[i]):
            start = scan_name_start(text, tokens, i, clause.start)
            if start is not None:
                out.append((start, tokens.ends[i]))
    return out


def bio_labels(length: int, names: list[tuple[int, int]]) -> list[str]:
    labels = ["O"] * length
    for s, e in names:
        if all(x == "O" for x in labels[s:e]):
            labels[s] = "B"
            for k in range(s + 1, e):
                labels[k] = "I"
    return labels


def spans_of(labels: list[str], offset: int) -> list[tuple[int, int]]:
    """(start, end) of each B I* run, shifted by `offset`."""
    out, start = [], None
    for i, y in enumerate([*labels, "O"]):
        if start is not None and y != "I":
            out.append((offset + start, offset + i))
            start = None
        if y == "B":
            start = i
    return out


def _tagger():
    """The shipped model (None without it or without pycrfsuite)."""
    return open_model(MODEL_FILE)


def tag_names(text: str, tokens: Tokens, clauses: Iterable[Span],
              rule_spans: list[tuple[int, int]]) -> list[tuple[int, int, Span, float]]:
    """Project names the model finds that end in a head: (start, end, clause, probability), in
    text order; the probability is the model's least sure character of the span."""
    tagger = _tagger()
    if tagger is None:
        return []
    ends = dict(zip(tokens.ends, tokens.words))
    out = []
    for window, clause in tagged_windows(text, tokens, clauses, rule_spans):
        labels = tagger.tag(clause_features(text, tokens, window, rule_spans))
        for s, e in spans_of(labels, window.start):
            if e in ends and is_head(ends[e]):
                sure = min(tagger.marginal(labels[i - window.start], i - window.start) for i in range(s, e))
                out.append((s, e, clause, sure))
    return out

