"""The single-process floor of a run: the unavoidable work, done as plainly as possible.

    python benchmarks/floor.py [CORPUS.jsonl]

Per line of the corpus ({"html": ...} or {"text": ...}): `json.loads` + `trafilatura.extract`
(a), then one `jieba.lcut` pass over the extracted texts (b), in one process. As a command it is
the floor a cold `newsgate run` is compared with (benchmarks/cold_start.py), its own start-up
(imports, jieba's dictionary) included; `floor_per_line` gives the seconds per line
(benchmarks/e2e.py).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

SHARED = Path(os.environ.get("NEWSGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DEFAULT_CORPUS = SHARED / "corpus" / "bench" / "eb.jsonl"


def floor_per_line(lines: list[bytes]) -> list[tuple[float, float]]:
    """(a, b) seconds per line: json.loads + trafilatura.extract, then one jieba.lcut pass."""
    import jieba
    import trafilatura
    jieba.setLogLevel(60)
    jieba.initialize()
    trafilatura.extract("<html><body><p>预热。</p></body></html>")  # imports, lazy init
    texts, a = [], []
    for raw in lines:
        t0 = time.perf_counter()
        row = json.loads(raw)
        html = row.get("html") or row.get("text") or ""
        texts.append(trafilatura.extract(html) or "")
        a.append(time.perf_counter() - t0)
    b = []
    for text in texts:
        t0 = time.perf_counter()
        jieba.lcut(text)
        b.append(time.perf_counter() - t0)
    return list(zip(a, b))


def main(argv: list[str]) -> None:
    corpus = Path(argv[0]) if argv else DEFAULT_CORPUS
    lines = [line for line in corpus.read_bytes().splitlines() if line.strip()]
    seconds = floor_per_line(lines)
    a, b = sum(x for x, _ in seconds), sum(y for _, y in seconds)
    print(f"{len(lines)} lines: trafilatura {a:.2f} s + jieba {b:.2f} s = {a + b:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
