"""Extraction quality against the checked seed gold.

    python benchmarks/extract_quality.py [--shared ../shared] [--fixture] [--misses]

Default input: the real pipeline front (ingest -> clean_documents) on seeds/*.txt; --fixture uses
tests/fixtures/extract/articles.json instead (articles rebuilt from gold joins/paragraphs).
Prints every target (definitions in tasks/extract/scoring.py): money cases, projects
recall/precision, indicators recall (all / core), visits, places recall, traps; --misses lists
what was missed or extra.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsgate.tasks.extract import extract_articles  # noqa: E402
from scoring import score  # noqa: E402

TARGETS = {"money_cases": 1.0, "projects_recall": 0.95, "projects_precision": 0.90,
           "indicators_recall": 0.90, "indicators_recall_core": None, "visits_recall": 1.0,
           "places_recall": 0.90, "places_traps": 0}


def load(fixture: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    if fixture:
        arts = pd.DataFrame(json.loads((ROOT / "tests/fixtures/extract/articles.json").read_text("utf-8")))
        return arts, dict(zip(arts["article_id"], arts["seed"]))
    from newsgate.tasks.clean import clean_documents
    from newsgate.tasks.ingest import ingest_files
    batch = ingest_files(sorted((ROOT / "seeds").glob("*.txt")))
    arts = clean_documents(batch.documents).articles
    return arts, {r.article_id: Path(r.source).name for r in arts.itertuples()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    gold = json.loads((Path(args.shared) / "gold" / "seeds.json").read_text(encoding="utf-8"))
    articles, seed_of = load(args.fixture)
    t0 = time.perf_counter()
    tables = extract_articles(articles)
    took = time.perf_counter() - t0
    s = score(gold, articles, tables, seed_of)
    print(f"input: {'fixture articles' if args.fixture else 'ingest + clean_documents on seeds/'} "
          f"({len(articles)} articles, extract {took:.2f} s incl. start-up)")
    print("rows: " + ", ".join(f"{k} {len(v)}" for k, v in tables.items()))
    for key, value in s.summary().items():
        target = TARGETS.get(key)
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        goal = "" if target is None else (f"  (target {'==' if key == 'places_traps' else '>='} {target})")
        print(f"{key:24s} {shown}{goal}")
    print(f"money cases {sum(s.money)}/{len(s.money)}, projects {s.projects_found}/{s.projects_gold} "
          f"found, {s.projects_pred_ok}/{s.projects_pred} extracted correct, indicators "
          f"{sum(m for m, _ in s.indicators)}/{len(s.indicators)}, visits {sum(s.visits)}/{len(s.visits)}, "
          f"places {s.places_found}/{s.places_gold}")
    if args.misses:
        for kind, items in s.misses.items():
            print(f"missed {kind}: {items}")
        print(f"traps: {s.traps}")


if __name__ == "__main__":
    main()
