"""Extraction quality against the gold: the seeds gold and the facts gold (each part).

    python benchmarks/extract_quality.py [--shared ../shared] [--fixture] [--misses] [--metrics]
                                         [--only seeds|train|tune|test|test2]

Seeds gold (`../shared/gold/seeds.json`, skipped when absent): the real pipeline front (ingest ->
the clean stage) on seeds/*.txt, or tests/fixtures/extract/articles.json with --fixture; money
cases, projects recall/precision, indicators recall (all / core), visits, places, traps.
Facts gold (`tests/gold/facts/`, in the repository): projects P/R (names match after whitespace
folding, the amount exact where the gold states one), indicators P/R, money recall and the share
of found amounts whose value is right — on the train, tune, test and test2 parts separately
(definitions in benchmarks/scoring.py). --misses lists what the train or tune part missed or
added (never a held-out part, test or test2: they are not looked at while tuning). --metrics prints the 20 most frequent
indicator metrics over the bench corpus and the count of one-character or function-word metrics
(must be 0), and --calibrate the precision of each project and indicator rule on the train/tune part
(the priors of tasks/extract/confidence.json).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(ROOT / "tests"))

from facts_gold import HELD_OUT, SPLITS, load  # noqa: E402
from stages import clean_documents, extract_articles  # noqa: E402  (the stages over frames)
from scoring import articles_of, score, score_facts  # noqa: E402

SEED_TARGETS = {"money_cases": 1.0, "projects_recall": 0.95, "projects_precision": 0.90,
                "indicators_recall": 0.90, "indicators_recall_core": None, "visits_recall": 1.0,
                "places_recall": 0.90, "places_traps": 0}
FACT_TARGETS = {"projects_recall": 0.85, "projects_precision": 0.90, "indicators_recall": 0.85,
                "indicators_precision": 0.90, "money_recall": 0.97, "money_values_right": 1.0}


def load_seeds(fixture: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    if fixture:
        arts = pd.DataFrame(json.loads((ROOT / "tests/fixtures/extract/articles.json").read_text("utf-8")))
        return arts, dict(zip(arts["article_id"], arts["seed"]))
    from newsgate.tasks.ingest import ingest_files
    batch = ingest_files(sorted((ROOT / "seeds").glob("*.txt")))
    arts = clean_documents(batch.documents).articles
    return arts, {r.article_id: Path(r.source).name for r in arts.itertuples()}


def _show(summary: dict, targets: dict) -> None:
    for key, value in summary.items():
        target = targets.get(key)
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        goal = "" if target is None else f"  (target {'==' if key == 'places_traps' else '>='} {target})"
        print(f"  {key:26s} {shown}{goal}")


def seeds_report(shared: Path, fixture: bool, misses: bool) -> None:
    gold_file = shared / "gold" / "seeds.json"
    if not gold_file.exists():
        print("seeds gold: ../shared absent, skipped")
        return
    gold = json.loads(gold_file.read_text(encoding="utf-8"))
    articles, seed_of = load_seeds(fixture)
    tables = extract_articles(articles)
    s = score(gold, articles, tables, seed_of)
    print(f"seeds gold ({'fixture articles' if fixture else 'ingest + clean on seeds/'}, "
          f"{len(articles)} articles)")
    _show(s.summary(), SEED_TARGETS)
    print(f"  money cases {sum(s.money)}/{len(s.money)}, projects {s.projects_found}/{s.projects_gold} found, "
          f"{s.projects_pred_ok}/{s.projects_pred} extracted correct, indicators "
          f"{sum(m for m, _ in s.indicators)}/{len(s.indicators)}, visits {sum(s.visits)}/{len(s.visits)}, "
          f"places {s.places_found}/{s.places_gold}")
    if misses:
        for kind, items in s.misses.items():
            print(f"  missed {kind}: {items}")


def facts_report(split: str, misses: bool, calibrate: bool) -> None:
    records = load(split)
    articles = articles_of(records)
    t0 = time.perf_counter()
    tables = extract_articles(articles)
    took = time.perf_counter() - t0
    s = score_facts(records, tables)
    print(f"facts gold, {split} part ({len(records)} articles, extract {took:.1f} s)")
    _show(s.summary(), FACT_TARGETS)
    print(f"  projects {s.projects.found}/{s.projects.gold} found, {s.projects.pred_ok}/{s.projects.pred} right; "
          f"indicators {s.indicators.found}/{s.indicators.gold} found, {s.indicators.pred_ok}/{s.indicators.pred} right; "
          f"money {s.money_found}/{s.money_occurrences} found, {sum(s.money_values)}/{len(s.money_values)} values right")
    certain = score_facts(records, {name: t[~t["needs_review"]] if "needs_review" in t else t
                                    for name, t in tables.items()})
    print(f"  rows published as certain (not needs_review): projects P {certain.projects.precision:.3f} "
          f"R {certain.projects.recall:.3f}; indicators P {certain.indicators.precision:.3f} "
          f"R {certain.indicators.recall:.3f}")
    if misses and split not in HELD_OUT:
        for kind, items in s.misses.items():
            print(f"  {kind} ({len(items)}):")
            for item in items:
                print(f"    {item}")
    if calibrate and split not in HELD_OUT:
        print("  precision per rule (tune):")
        for name, rows in (("projects", s.rule_hits["projects"]), ("indicators", s.rule_hits["indicators"])):
            for rule, hits in sorted(rows.items()):
                print(f"    {rule:28s} {sum(hits)}/{len(hits)} = {sum(hits) / len(hits):.2f}")


def metrics_report(shared: Path) -> None:
    from extract_speed import as_articles, bench_texts
    from newsgate.tasks.extract.sense import names_a_measure
    articles = as_articles(bench_texts(shared))
    metrics = extract_articles(articles)["indicators"]["metric"]
    bad = [m for m in metrics if len(m) < 2 or not names_a_measure(m)]
    print(f"bench corpus: {len(articles)} articles, {len(metrics)} indicator rows; "
          f"one-character or function-word metrics: {len(bad)}")
    for metric, n in Counter(metrics).most_common(20):
        print(f"  {n:5d}  {metric}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--metrics", action="store_true")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--only", choices=SPLITS)
    args = ap.parse_args()
    if args.only in (None, "seeds"):
        seeds_report(Path(args.shared), args.fixture, args.misses)
    for split in (s for s in SPLITS if s != "seeds"):
        if args.only in (None, split):
            facts_report(split, args.misses, args.calibrate)
    if args.metrics:
        metrics_report(Path(args.shared))


if __name__ == "__main__":
    main()
