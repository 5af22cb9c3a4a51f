"""Article metadata quality: publication date and time, authors, editors, outlet.

    python benchmarks/metadata_quality.py [--split tune|test|fresh|fresh2|all] [-v] [--bench [--shared ../shared]]

1. The metadata gold (tests/gold/metadata, read from the pages by hand; tests/gold/metadata/README.md):
   every page is cleaned as the pipeline cleans it and judged by its first article
   (`quality.score_metadata`): day right where the page states a full date, no full date where
   it states none, time (HH:MM) right where stated, date_source among the places the page states
   the date, authors right where the page names a writer and none invented where it names none,
   reporters/editors/photographers name by name, the outlet one of the accepted names, and no
   outlet that is a person's name. Tune on `tune`; `test` is held out by the split rule, `fresh`
   and `fresh2` are later annotation rounds (tests/gold/metadata/README.md). For reference,
   htmldate alone (`find_date(original_date=True)`) on the same HTML pages.
2. --bench: the 3,426 pages of corpus/bench/eb.jsonl (no gold): outlets that look like a person
   (must be 0), the share of articles with a full date / a time, and where dates came from.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsgate.tasks.clean import clean_records  # noqa: E402
from newsgate.tasks.clean.metadata import looks_like_person  # noqa: E402
from benchmarks.clean_scoring import (FULL_DATE, first_articles, format_tallies,  # noqa: E402
                                    gold_documents, score_metadata)

GOLD = ROOT / "tests" / "gold" / "metadata"
FIXTURES = ROOT / "tests" / "fixtures" / "metadata"
HEADLINE = ("date", "time", "authors", "outlet_not_person")


def load(split: str) -> list[dict]:
    return [json.loads(line) for line in (GOLD / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def htmldate_alone(records: list[dict], rows: list[dict]) -> tuple[int, int]:
    """Days htmldate gets right on the HTML pages that state a full date."""
    from htmldate import find_date
    ok = total = 0
    for r, row in zip(records, rows):
        if r["format"] == "html" and r["date"]:
            total += 1
            ok += find_date(row["text"], original_date=True, extensive_search=False) == r["date"]
    return ok, total


def gold_report(split: str, verbose: bool) -> dict:
    records = load(split)
    rows = gold_documents(records, FIXTURES)
    start = time.perf_counter()
    articles = clean_records(rows)["articles"]
    seconds = time.perf_counter() - start
    scores = score_metadata(records, first_articles(records, rows, articles), looks_like_person)
    ok, total = htmldate_alone(records, rows)
    print(f"\n== {split}: {len(records)} pages ({sum(r['format'] == 'html' for r in records)} HTML), "
          f"cleaned in {seconds:.1f} s")
    print(format_tallies(dict(sorted(scores.tallies.items()))))
    print(f"{'htmldate alone: date':26s} {ok:4d}/{total:<4d} {100 * ok / max(total, 1):6.1f}%   (HTML pages)")
    if verbose:
        for name, tally in sorted(scores.tallies.items()):
            for failure in tally.failures:
                if failure:
                    print(f"   {name}: {failure}")
    return {name: scores[name].rate for name in HEADLINE}


def bench_report(shared: Path) -> None:
    path = shared / "corpus" / "bench" / "eb.jsonl"
    rows = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            record = json.loads(line)
            rows.append({"doc_id": f"eb{n:05d}", "source": f"{path}#L{n}", "format": "html",
                         "container": "jsonl", "url": None, "title_hint": None, "published_hint": None,
                         "text": record["html"]})
    start = time.perf_counter()
    articles = clean_records(rows)["articles"]
    seconds = time.perf_counter() - start
    persons = [a["outlet"] for a in articles if a["outlet"] and looks_like_person(a["outlet"])]
    full = sum(bool(a["published_date"] and FULL_DATE.match(a["published_date"])) for a in articles)
    print(f"\n== bench: {len(rows)} pages -> {len(articles)} articles in {seconds:.1f} s")
    print(f"outlet is a person:       {len(persons)} {persons[:5]}")
    print(f"full publication date:    {full}/{len(articles)} ({100 * full / max(len(articles), 1):.1f}%)")
    print(f"with an outlet:           {sum(bool(a['outlet']) for a in articles)}")
    print(f"with authors:             {sum(bool(a['authors']) for a in articles)}")
    print("date_source:              " + ", ".join(f"{k}: {v}" for k, v in
                                                   Counter(a["date_source"] for a in articles).most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("tune", "test", "fresh", "fresh2", "all"), default="all")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument("--bench", action="store_true", help="also run the bench corpus (needs --shared)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    for split in (("tune", "test", "fresh", "fresh2") if args.split == "all" else (args.split,)):
        gold_report(split, args.verbose)
    if args.bench:
        bench_report(args.shared)


if __name__ == "__main__":
    main()
