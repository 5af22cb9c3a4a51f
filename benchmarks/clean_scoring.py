"""Scoring clean output against checked gold (seeds gold, dev-page main text).

Used by the acceptance tests (tests/test_clean_gold.py) and by benchmarks/clean_quality.py, so
both measure the same way. Gold tooling, not the pipeline: editing it changes no stage's code.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from newsgate.tasks.clean.text import normalize_line

META_FIELDS = ("outlet", "published_date", "dateline_place", "reporters", "photographers", "subtitle")
_WHITESPACE = re.compile(r"\s+")


def char_f1(predicted: str, gold: str) -> float:
    """Bag-of-characters F1 (whitespace ignored): order-free, so it scores content, not layout."""
    p = Counter(_WHITESPACE.sub("", predicted or ""))
    g = Counter(_WHITESPACE.sub("", gold or ""))
    overlap = sum((p & g).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(g.values())
    return 2 * precision * recall / (precision + recall)


@dataclass
class Tally:
    ok: int = 0
    total: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, passed: bool, what: str) -> None:
        self.total += 1
        self.ok += bool(passed)
        if not passed:
            self.failures.append(what)

    @property
    def rate(self) -> float:
        return self.ok / self.total if self.total else 1.0


def _paragraph_starts_match(body: str, starts: list[str], alternatives: dict) -> bool:
    paragraphs = body.split("\n")
    if len(paragraphs) != len(starts):
        return False
    for i, (para, start) in enumerate(zip(paragraphs, starts)):
        options = [start] + ([alternatives[str(i)]] if str(i) in alternatives else [])
        if not any(para.startswith(opt) for opt in options):
            return False
    return True


def score_seeds(gold: dict, articles: pd.DataFrame, removals: pd.DataFrame,
                doc_ids: dict[str, str]) -> dict[str, Tally]:
    """Per-check tallies for the seeds gold; doc_ids maps seed file name -> doc_id."""
    t = {k: Tally() for k in ("boilerplate", "joins", "titles", "segmentation", "must_contain",
                              "must_contain_after_join", "must_not_contain", "captions",
                              *("meta_" + f for f in META_FIELDS))}
    for name, g in gold.items():
        doc_id = doc_ids[name]
        arts = articles[articles.doc_id == doc_id]
        bodies = list(arts.body)
        removed = {normalize_line(x) for x in removals[removals.doc_id == doc_id].text}
        for line in g["boilerplate_lines"]:
            gone = normalize_line(line) in removed and not any(line in b for b in bodies)
            t["boilerplate"].check(gone, f"{name}: boilerplate {line!r}")
        for j in g["joins"]:
            t["joins"].check(any(j["end"] + j["start"] in b for b in bodies),
                             f"{name}: join {j['end']}|{j['start']}")
        by_title = {row.title: row for row in arts.itertuples()}
        for ga in g["articles"]:
            row = by_title.get(ga["title"])
            t["titles"].check(row is not None, f"{name}: title {ga['title']!r}")
            if row is None:
                continue
            t["segmentation"].check(
                _paragraph_starts_match(row.body, ga["paragraph_starts"],
                                        ga.get("paragraph_start_alternatives", {})),
                f"{name}: paragraphs of {ga['title'][:20]!r}")
            for key in ("must_contain", "must_contain_after_join"):
                for s in ga.get(key, []):
                    t[key].check(s in row.body, f"{name}: {key} {s!r}")
            for s in ga.get("must_not_contain", []):
                t["must_not_contain"].check(s not in row.body, f"{name}: must_not_contain {s!r}")
            for f in META_FIELDS:
                got, want = getattr(row, f), ga.get(f)
                if isinstance(want, list):
                    got = list(got)
                t["meta_" + f].check(got == want, f"{name}: {f} {got!r} != {want!r}")
        got_captions = [c for caps in arts.captions for c in caps]
        t["captions"].check(sorted(got_captions) == sorted(g.get("captions", [])), f"{name}: captions")
    return t


def format_tallies(tallies: dict[str, Tally]) -> str:
    lines = [f"{name:26s} {tally.ok:4d}/{tally.total:<4d} {100 * tally.rate:6.1f}%"
             for name, tally in tallies.items()]
    return "\n".join(lines)
