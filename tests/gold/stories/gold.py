"""The story gold as the tests and benchmarks/stories.py read it (see README.md here)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def load_articles() -> pd.DataFrame:
    """The labelled pairs' articles as the pipeline's articles frame (doc_id, n_chars added)."""
    rows = [json.loads(line) for line in (HERE / "articles.jsonl").open(encoding="utf-8")]
    df = pd.DataFrame(rows)
    return df.assign(doc_id=df["article_id"].str.rsplit("-", n=1).str[0],
                     n_chars=df["body"].str.len())


def load_pairs(split: str | None = None) -> list[dict]:
    pairs = [json.loads(line) for line in (HERE / "pairs.jsonl").open(encoding="utf-8")]
    return [p for p in pairs if split is None or p["split"] == split]


def pair_metrics(story_of: dict[str, str], pairs: list[dict]) -> dict:
    """Story-level precision and recall over labelled pairs: a pair is predicted same story when
    both articles have the same story id. Pairs with an article outside `story_of` are skipped."""
    tp = fp = fn = tn = 0
    errors = []
    for p in pairs:
        if p["a"] not in story_of or p["b"] not in story_of:
            continue
        predicted = story_of[p["a"]] == story_of[p["b"]]
        if predicted and p["same_story"]:
            tp += 1
        elif predicted:
            fp += 1
            errors.append(("false merge", p))
        elif p["same_story"]:
            fn += 1
            errors.append(("missed", p))
        else:
            tn += 1
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "errors": errors}
