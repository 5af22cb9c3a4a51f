"""Scoring clean output against checked gold (seeds gold, dev-page main text, article metadata).

Used by the acceptance tests (tests/test_clean_gold.py) and by benchmarks/clean_quality.py, so
both measure the same way. Gold tooling, not the pipeline: editing it changes no stage's code.
"""
from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from newsgate.tasks.clean.text import normalize_line
from newsgate.tasks.ingest import decode_bytes

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


# ---------------------------------------------------------------- article metadata (tests/gold/metadata)

FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def gold_split(key: str) -> str:
    """tune or test, by a hash of the page's site (tests/gold/metadata/README.md)."""
    return "test" if int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 2 else "tune"


def gold_documents(records: list[dict], fixtures) -> list[dict]:
    """Document rows (as ingest makes them) for metadata gold records: bench pages carry their
    HTML inline, dev pages are gzipped copies under `fixtures` (decoded like ingest does)."""
    rows = []
    for r in records:
        if "html" in r:
            text, container = r["html"], "jsonl"
        else:
            raw = gzip.decompress((Path(fixtures) / r["page"]).read_bytes())
            text, container = decode_bytes(raw, is_html=r["format"] == "html").text, None
        rows.append({"doc_id": hashlib.sha256(r["id"].encode()).hexdigest()[:16], "source": r["source"],
                     "format": r["format"], "container": container, "url": None, "title_hint": None,
                     "published_hint": None, "text": text})
    return rows


def first_articles(records: list[dict], rows: list[dict], articles: list[dict]) -> dict[str, dict]:
    """Gold record id -> the first article its page gave (none when the page gave none)."""
    first: dict[str, dict] = {}
    for article in articles:
        first.setdefault(article["doc_id"], article)
    return {r["id"]: first[row["doc_id"]] for r, row in zip(records, rows) if row["doc_id"] in first}


@dataclass
class MetadataScores:
    """Per-field tallies over gold pages; each page is judged by its first article."""
    tallies: dict[str, Tally] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally())


def _names(value) -> list[str]:
    return [] if value is None else [str(v) for v in value]


def score_metadata(records: list[dict], first_articles: dict[str, dict],
                   is_person) -> MetadataScores:
    """Scores of article metadata against gold records (`first_articles`: record id -> the
    page's first article row, missing when the page gave none; `is_person`: the recogniser the
    outlet must not satisfy).

    date: day right where the page states a full date; no_false_date: no full date where it
    states none; time: HH:MM right where stated; date_source among the places the page states
    the date; authors: the set right where the page names a writer, and none invented where it
    names none; outlet: one of the accepted names where the page names one; outlet_not_person:
    every page."""
    s = MetadataScores()
    for r in records:
        art = first_articles.get(r["id"]) or {}
        got_date = art.get("published_date")
        label = r["id"]
        if r["date"]:
            s["date"].check(got_date == r["date"], f"{label}: date {got_date!r} != {r['date']!r}")
            if got_date == r["date"]:
                s["date_source"].check(art.get("date_source") in r["date_stated_in"],
                                       f"{label}: date_source {art.get('date_source')!r} not in {r['date_stated_in']}")
        else:
            s["no_false_date"].check(not (got_date and FULL_DATE.match(got_date)),
                                     f"{label}: invented date {got_date!r}")
        if r["time"]:
            got_time = art.get("published_time") or ""
            s["time"].check(got_time[:5] == r["time"][:5], f"{label}: time {got_time!r} != {r['time']!r}")
        if r["authors"] is not None:
            got = sorted(set(_names(art.get("authors"))))
            want = sorted(set(r["authors"]))
            if want:
                s["authors"].check(got == want, f"{label}: authors {got} != {want}")
            else:
                s["no_false_author"].check(not got, f"{label}: invented authors {got}")
        for role in ("reporters", "editors", "photographers"):
            got, want = set(_names(art.get(role))), set(r[role])
            for name in want:
                s[role + "_recall"].check(name in got, f"{label}: {role} missed {name}")
            for name in got - want:
                s[role + "_precision"].check(False, f"{label}: {role} extra {name}")
            for name in got & want:
                s[role + "_precision"].check(True, "")
        outlet = art.get("outlet")
        if r["outlet"]:
            s["outlet"].check(outlet in r["outlet"], f"{label}: outlet {outlet!r} not in {r['outlet']}")
        s["outlet_not_person"].check(not (outlet and is_person(outlet)), f"{label}: outlet {outlet!r} is a person")
    return s
