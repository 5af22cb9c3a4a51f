"""The facts gold (tests/gold/facts/*.jsonl, docs/ANNOTATION.md): loading and the split rule.

    from facts_gold import load
    for record in load("train"): ...   # "train", "tune", "test", "test2" or "seeds"

Each record is one article: its `text` and the `projects`, `indicators`, `money`, `places` a reader
finds in it (schema in tests/gold/facts/README.md). Learn and tune on "train" and "tune"; report
scores on "test" and on "test2" (a third draw that no extractor was tuned against).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent / "gold" / "facts"
SPLITS = ("train", "tune", "test", "test2", "seeds")
HELD_OUT = ("test", "test2")  # scored, never looked at while tuning
DRAWS = ("train", "test2")  # parts that are whole draws of their own (sample.py --train/--test2), not hashed
SPLIT_SALT = "newsgate-facts-split:"


def split_of(record_id: str) -> str:
    """The part an article of the first draw belongs to: half of the ids by a hash, so no one
    chooses. (The train and test2 parts are later draws, `sample.py --train` and `--test2`, and
    are not hashed.)"""
    if record_id.startswith("seed:"):
        return "seeds"
    digest = hashlib.sha1((SPLIT_SALT + record_id).encode("utf-8")).hexdigest()
    return "test" if int(digest, 16) % 2 else "tune"


def load(split: str) -> list[dict]:
    if split not in SPLITS:
        raise ValueError(f"unknown facts gold split {split!r} (one of {', '.join(SPLITS)})")
    path = GOLD_DIR / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
