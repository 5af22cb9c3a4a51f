"""Scale with many tiny, similar documents (issue 13, item 7): a whole `newsgate run`.

    .venv/bin/python benchmarks/faults_scale.py [--sizes 20000,50000,200000] [--keep DIR]

For each size N, `tiny_documents` writes N short news items, one JSONL line each, from a few
sentence templates whose slots (place, project, action, amount, date, outlet) are drawn at
random: the corpus is full of exact copies and of texts that differ in a word or a number.
That is what makes LSH buckets huge (before issue 13, dedup paired every text of a bucket with
every other). Then the real command line, `newsgate run FILE --out DIR --no-review`, runs on it
as a subprocess with its own temporary Prefect server, exactly as a user would run it.

Reported per size: wall time of the command, peak RSS of the whole process tree (the command,
its Prefect server and worker processes; /proc sampled every 0.1 s by `e2e.RssSampler`), the
exit code and the funnel it printed. Targets: every size completes, the largest with a peak RSS
of at most 2 GB; time(50k) / time(20k) <= 3 (2.5 would be linear; the server's start-up is in
both).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e import RssSampler  # noqa: E402  (the process-tree RSS sampler of the e2e benchmark)

ROOT = Path(__file__).resolve().parents[1]
TARGET_RSS_GB = 2.0
STAGE_LINE = re.compile(r"^  \w+ +[\d.]+ s +(?P<counts>.+)$", re.M)
TARGET_RATIO = 3.0

PLACES = ["河北省邢台市", "吉林省长春市", "广东省中山市", "浙江省杭州市", "江苏省苏州市",
          "四川省成都市", "湖南省长沙市", "山东省济南市", "河南省郑州市", "安徽省合肥市"]
PROJECTS = ["产业园", "物流中心", "污水处理厂", "高速公路", "智能制造基地", "新能源电站",
            "学校", "医院", "商业综合体", "数据中心"]
ACTIONS = ["开工建设", "竣工投产", "签约落地", "加快推进", "集中开工"]
OUTLETS = ["记者", "通讯员", "本报讯", "新华社"]
TEMPLATES = [
    "{place}{project}项目{action}，总投资{amount}亿元。{outlet}{day}日获悉。",
    "{day}日，{place}举行{project}项目{action}仪式，项目总投资{amount}亿元。",
    "{outlet}从{place}发改委获悉，{project}项目{action}，计划总投资{amount}亿元，预计明年建成。",
    "{place}重点项目：{project}（总投资{amount}亿元）{action}。",
]


def tiny_documents(n: int, seed: int = 20240601):
    """n JSONL records of one or two short sentences each (30–90 characters)."""
    rng = random.Random(seed)
    for i in range(n):
        sentences = [rng.choice(TEMPLATES).format(
            place=rng.choice(PLACES), project=rng.choice(PROJECTS), action=rng.choice(ACTIONS),
            amount=rng.randint(1, 99), outlet=rng.choice(OUTLETS), day=rng.randint(1, 28))
            for _ in range(rng.choice((1, 1, 2)))]
        yield {"id": f"tiny-{i}", "text": "".join(sentences)}


def write_corpus(n: int, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for record in tiny_documents(n):
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def newsgate_command() -> list[str]:
    script = Path(sys.executable).with_name("newsgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]


def run_once(corpus: Path, out: Path) -> dict:
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",  # a loaded machine
           **os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)  # its own temporary server, as on a user's machine
    env.pop("PREFECT_LOGGING_LEVEL", None)  # e2e's WARNING would hide the stage lines (the funnel)
    sampler = RssSampler()
    started = time.perf_counter()
    proc = subprocess.run([*newsgate_command(), "run", str(corpus), "--out", str(out), "--no-review"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak, _ = sampler.read()
    sampler.stop()
    # the CLI's stage lines: "  dedup   25.5 s   canonical articles 171010, clusters 200000"
    funnel = {label: int(n) for m in STAGE_LINE.finditer(proc.stdout)
              for label, n in (part.rsplit(None, 1) for part in m["counts"].split(", "))
              if n.isdigit()}
    return {"seconds": round(seconds, 1), "peak_rss_gb": round(peak / 1e9, 2),
            "exit": proc.returncode, "funnel": funnel,
            "error": proc.stderr[-1500:] if proc.returncode else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20000,50000,200000")
    ap.add_argument("--keep", default=None, help="keep the corpora and outputs in this directory")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="newsgate-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        for n in sizes:
            corpus = write_corpus(n, work / f"tiny_{n}.jsonl")
            out = work / f"out_{n}"
            shutil.rmtree(out, ignore_errors=True)
            results[n] = r = run_once(corpus, out)
            print(f"{n:>8} documents: {r['seconds']:>7.1f} s  peak RSS {r['peak_rss_gb']:.2f} GB  "
                  f"exit {r['exit']}  {r['funnel']}", flush=True)
            if r["exit"]:
                print(r["error"], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if 20000 in results and 50000 in results:
        ratio = results[50000]["seconds"] / results[20000]["seconds"]
        print(f"time(50k) / time(20k) = {ratio:.2f}  (target <= {TARGET_RATIO})")
    largest = max(results)
    print(f"peak RSS at {largest}: {results[largest]['peak_rss_gb']:.2f} GB  (target <= {TARGET_RSS_GB})")
    print(json.dumps({str(n): r for n, r in results.items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
