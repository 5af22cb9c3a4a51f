"""A learned tagger of project names (issue 12 part 7): a linear-chain CRF over characters.

The rules of projects.py find names in the shapes they were written for; the tagger reads every
clause that holds a project head (项目, 工程, or a facility head of project_words.json: 水库,
产业园, 生产线 …) and labels each character B (a name starts), I (inside) or O. Its features are
the character and its neighbours, the jieba token around it (word, position in the word,
dictionary tag, whether it is a head), the neighbouring tokens, how far the next head is, and the
rules' own names (B/I/O) — so the rules are features, and stay the fallback.

The model file (`project_names.crfsuite`, python-crfsuite) ships with the package and is loaded
once per process; `benchmarks/train_extract_models.py` rebuilds it from tests/gold/facts/train.jsonl
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


def _tag(word: str) -> str:
    return word_tag(word) or ("UNK" if word_frequency(word) == 0 else "X")


def _bin(distance: int | None) -> str:
    if distance is None:
        return "none"
    return str(next((b for b in reversed(DISTANCE_BINS) if distance >= b), 0))


def tagged_windows(tokens: Tokens, clauses: Iterable[Span]) -> list[tuple[Span, Span]]:
    """(window, clause) pairs the tagger reads: a name ends at a head, so each head token of a clause
    gives the WINDOW characters before it and itself (overlapping windows merged). Clauses with no
    head hold no name; reading only these windows keeps the tagger's cost small."""
    last = _head_last_chars()
    heads = [(st, e) for w, st, e in zip(tokens.words, tokens.starts, tokens.ends) if w[-1] in last and is_head(w)]
    head_starts = [st for st, _ in heads]
    out: list[tuple[Span, Span]] = []
    for c in clauses:
        windows: list[list[int]] = []
        for st, e in heads[bisect_left(head_starts, c.start):bisect_left(head_starts, c.end)]:
            a, b = max(c.start, st - WINDOW), min(e, c.end)
            if windows and a <= windows[-1][1]:
                windows[-1][1] = b
            else:
                windows.append([a, b])
        out += [(Span(a, b), c) for a, b in windows]
    return out


def clause_features(text: str, tokens: Tokens, clause: Span, rule_spans: list[tuple[int, int]]) -> list[list[str]]:
    """One feature list per character of `clause` (a window of one; see the module doc)."""
    a, b = clause.start, clause.end
    lo, hi = bisect_right(tokens.ends, a), bisect_right(tokens.starts, b - 1)
    words, starts, ends = tokens.words[lo:hi], tokens.starts[lo:hi], tokens.ends[lo:hi]
    info = [(w, _tag(w), is_head(w)) for w in words]
    head_ends = [e for e, (_, _, h) in zip(ends, info) if h]
    rule = _bio(a, b, rule_spans)
    cand = _bio(a, b, _head_candidates(text, tokens, lo, hi, clause))
    out = []
    k = h_at = 0
    for i in range(a, b):
        while k + 1 < len(starts) and starts[k + 1] <= i:
            k += 1
        while h_at < len(head_ends) and head_ends[h_at] <= i:
            h_at += 1
        w, t, h = info[k] if info else ("", "X", False)
        pos = "S" if ends[k] - starts[k] == 1 else ("B" if i == starts[k] else ("E" if i == ends[k] - 1 else "M"))
        nxt = head_ends[h_at] if h_at < len(head_ends) else None
        c = text[i]
        f = ["bias", "c=" + c, "cc=" + _char_class(c), "c-1=" + (text[i - 1] if i > a else "^"),
             "c+1=" + (text[i + 1] if i + 1 < b else "$"),
             "b-1=" + text[max(a, i - 1):i + 1], "b+1=" + text[i:min(b, i + 2)], "cand=" + cand[i - a],
             "w=" + w, "wp=" + pos, "t=" + t, "tp=" + t + pos, "rule=" + rule[i - a],
             "dist=" + _bin(None if nxt is None else nxt - i - 1)]
        if h:
            f.append("head" + pos)
        if k > 0:
            pw, pt, ph = info[k - 1]
            f += ["w-1=" + pw, "t-1=" + pt] + (["head-1"] if ph else [])
        else:
            f.append("w-1=^")
        if k + 1 < len(info):
            nw, nt, nh = info[k + 1]
            f += ["w+1=" + nw, "t+1=" + nt] + (["head+1"] if nh else [])
        else:
            f.append("w+1=$")
        out.append(f)
    return out


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
    for window, clause in tagged_windows(tokens, clauses):
        labels = tagger.tag(clause_features(text, tokens, window, rule_spans))
        for s, e in spans_of(labels, window.start):
            if e in ends and is_head(ends[e]):
                sure = min(tagger.marginal(labels[i - window.start], i - window.start) for i in range(s, e))
                out.append((s, e, clause, sure))
    return out

