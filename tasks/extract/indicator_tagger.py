"""Indicator candidates from a sequence tagger over whole sentences (issue 12, round 4).

The rules of indicators.py name a metric for a quantity only in the shapes they know (the words
right before it, the noun phrase after it, a carried comparison); a statistic written another way
(2009年全市粮食加工能力150万吨 with the period inside, 已核准核电机组32台，在建核电机组23台) gets no
candidate at all, and no scorer can recover it. This tagger reads each sentence as one sequence:
its jieba tokens, with every quantity of the number reader folded into one item, and labels each
item

- `M`: a token of the phrase that names a statistic's measure (the metric),
- `V`: a quantity that is a statistic of a region or sector (docs/ANNOTATION.md §2),
- `Q`: any other quantity,
- `O`: any other token.

Its features are the token (word, dictionary tag, whether it is or ends in a measure head of
`measures.json`), its neighbours, and for a quantity its measure, unit, qualifier and the rules'
own verdict on it (the metric's source, the rule that rejects it, or none) — so the rules are
features. It reads a sentence in spans (`tagged_spans`): a quantity's comma-separated part and the
two parts before it, overlapping spans merged — on tune as good as whole sentences, and a fifth
cheaper. At run time it only reads the spans of quantities the rules gave no metric, and only
such quantities become new candidates: a quantity tagged `V` with a marginal of at least
`TAGGED_MIN` (chosen on the tune part), its metric the `M` run nearest before it in the
sentence (else one that starts right after it). The metric must still name a measure whose unit
fits the quantity (the sense gate), or, for a count, name what is counted (核电机组 -> 核电机组数). The model
(`indicator_tags.crfsuite`) is rebuilt from the train part by benchmarks/train_extract_models.py;
without it the rules stand alone.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from .crf import open_model
from .numbers import Quantity
from .sense import head_span
from .sentences import Span
from .tokenize import Tokens, word_frequency, word_tag

MODEL_FILE = Path(__file__).with_name("indicator_tags.crfsuite")
TAGGED_MIN = 0.1    # least marginal of `V` for a new candidate (chosen on the tune part: 12 of 16 right)
PUNCT = set("，,。；;：:、！？!?（）()“”\"' \n")
SEGMENT_END = re.compile(r"[，,；;：:]")
SEGMENTS_BEFORE = 2   # parts read before a quantity's own (chosen on tune: 1 lost 2 tagged rows, 2 = whole sentences)


class Item(NamedTuple):
    """One element of a sentence's sequence: a token, or a quantity folded into one item."""
    start: int
    end: int
    word: str
    quantity: Quantity | None


def tagged_spans(text: str, sentence: Span, starts) -> list[Span]:
    """What the tagger reads of `sentence` for the quantities starting at `starts`: the comma-separated
    part each one is in and the SEGMENTS_BEFORE parts before it (a metric is rarely further back),
    overlapping spans merged. Training reads the same spans for every quantity of a sentence."""
    cuts = [sentence.start, *(m.end() for m in SEGMENT_END.finditer(text, sentence.start, sentence.end)),
            sentence.end]
    spans: list[list[int]] = []
    for start in sorted(starts):
        i = bisect_right(cuts, start) - 1
        a, b = cuts[max(0, i - SEGMENTS_BEFORE)], cuts[min(i + 1, len(cuts) - 1)]
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return [Span(a, b) for a, b in spans]


def sentence_items(text: str, tokens: Tokens, sentence: Span, quantities: list[Quantity]) -> list[Item]:
    """The tokens of `sentence` in order, each quantity in it replacing the tokens it covers."""
    inside = [q for q in quantities if sentence.start <= q.start < sentence.end]
    out: list[Item] = []
    k = 0
    i = bisect_left(tokens.ends, sentence.start + 1)
    while i < len(tokens.words) and tokens.starts[i] < sentence.end:
        st, e = tokens.starts[i], tokens.ends[i]
        while k < len(inside) and inside[k].end <= st:
            k += 1
        if k < len(inside) and inside[k].start < e:
            q = inside[k]
            if not out or out[-1].quantity is not q:
                out.append(Item(q.start, q.end, "<Q>", q))
        elif not tokens.words[i].isspace():
            out.append(Item(st, e, tokens.words[i], None))
        i += 1
    return out


@lru_cache(maxsize=65536)
def _word_features(word: str) -> tuple[str, ...]:
    """A token's own features: the word, its dictionary tag, whether it is (or ends in) a measure
    head, its shape. The same few thousand words recur: cached."""
    tag = word_tag(word) or ("UNK" if word_frequency(word) == 0 else "X")
    head = head_span(word)
    shape = "P" if word in PUNCT else "D" if any(c.isdigit() for c in word) else \
        "L" if word.isascii() else "H"
    f = ["w=" + word, "t=" + tag, "shape=" + shape, "last=" + word[-1]]
    if head:
        f.append("head" if head == (0, len(word)) else "headend" if head[1] == len(word) else "headin")
    return tuple(f)


def _quantity_features(q: Quantity, rule) -> tuple[str, ...]:
    """A quantity's features; `rule` is the rules' candidate for it (indicators.Candidate) or None."""
    f = ["w=<Q>", "measure=" + q.measure, "unit=" + q.unit, "kind=" + q.kind, "qual=" + str(q.qualifier),
         "range=" + str(q.value_max is not None), "pat=" + q.pattern, "thr=" + str(q.threshold)]
    if rule is None:
        f.append("rule=none")
    else:
        f += ["rule=" + rule.indicator.pattern, "rej=" + str(rule.rejected_by)]
    return tuple(f)


def sequence_features(items: list[Item], rules: dict[int, object]) -> list[list[str]]:
    """One feature list per item; `rules` maps a quantity's start to the rules' candidate for it.
    Built a column at a time (a word's features are cached): this runs on many sentences."""
    own = [_quantity_features(it.quantity, rules.get(it.start)) if it.quantity is not None
           else _word_features(it.word) for it in items]
    words = [f[0][2:] for f in own]
    n = len(items)
    padded = ["^", "^", *words, "$", "$"]
    near = [() if it.quantity is not None else _near_features(it.word) for it in items]
    left = [(), *(tuple("-1:" + x for x in f) for f in near[:-1])]
    right = [*(tuple("+1:" + x for x in f) for f in near[1:]), ()]
    return [["bias", *own[k], "w-2=" + padded[k], "w-1=" + padded[k + 1], "w+1=" + padded[k + 3],
             "w+2=" + padded[k + 4], *left[k], *right[k], f"w-1|w={padded[k + 1]}|{words[k]}"]
            for k in range(n)]


@lru_cache(maxsize=65536)
def _near_features(word: str) -> tuple[str, ...]:
    """What a token tells its neighbours: its dictionary tag and whether it is a measure head."""
    return tuple(x for x in _word_features(word)[1:] if x.startswith(("t=", "head")))


def _tagger():
    return open_model(MODEL_FILE)


def _runs(labels: list[str]) -> list[tuple[int, int]]:
    """(first, last + 1) item indices of each run of `M`."""
    out, start = [], None
    for k, y in enumerate([*labels, "O"]):
        if y == "M" and start is None:
            start = k
        elif y != "M" and start is not None:
            out.append((start, k))
            start = None
    return out


def tag_quantities(text: str, tokens: Tokens, sentence: Span, quantities: list[Quantity],
                   rules: dict[int, object], wanted: set[int]) -> list[tuple[Quantity, str, float]]:
    """(quantity, metric span text, P(V)) of every quantity starting at an offset in `wanted` whose
    marginal of `V` is at least TAGGED_MIN and for which the model tags a metric."""
    tagger = _tagger()
    if tagger is None:
        return []
    items = sentence_items(text, tokens, sentence, quantities)
    if not items:
        return []
    labels = tagger.tag(sequence_features(items, rules))
    runs = _runs(labels)
    out = []
    for k, it in enumerate(items):
        if it.quantity is None or it.start not in wanted:
            continue
        p = tagger.marginal("V", k)
        if p < TAGGED_MIN:
            continue
        before = [r for r in runs if r[1] <= k]
        # else the phrase right after it (127个 + 重点项目), never one past the next item
        run = before[-1] if before else next((r for r in runs if r[0] == k + 1), None)
        if run is None:
            continue
        out.append((it.quantity, text[items[run[0]].start:items[run[1] - 1].end], p))
    return out


def training_labels(text: str, items: list[Item], gold: list[tuple[int, str]]) -> list[str]:
    """Labels of one sentence's items from the gold: `gold` holds (start, metric) of each quantity
    that is a statistic. A metric's tokens are
    those inside the longest part of it (two characters or more) written in the sentence before its
    quantity (the nearest occurrence), else after it."""
    labels = ["Q" if it.quantity is not None else "O" for it in items]
    at = {it.start: k for k, it in enumerate(items) if it.quantity is not None}
    lo, hi = (items[0].start, items[-1].end) if items else (0, 0)
    for q_start, metric in gold:
        k = at.get(q_start)
        if k is None:
            continue
        labels[k] = "V"
        span = _metric_span(text, metric, lo, q_start, hi, items[k].end)
        if span:
            for j, it in enumerate(items):
                if it.quantity is None and span[0] <= it.start and it.end <= span[1] and labels[j] == "O":
                    labels[j] = "M"
    return labels


def _metric_span(text: str, metric: str, lo: int, q_start: int, hi: int, q_end: int) -> tuple[int, int] | None:
    """The longest part of `metric` in text[lo:q_start] (last occurrence), else in text[q_end:hi]."""
    for a, b, last in ((lo, q_start, True), (q_end, hi, False)):
        window = text[a:b]
        for length in range(len(metric), 1, -1):
            for s in range(len(metric) - length + 1):
                part = metric[s:s + length]
                at = window.rfind(part) if last else window.find(part)
                if at >= 0:
                    return a + at, a + at + length
    return None
