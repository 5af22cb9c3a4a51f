"""A cold `newsgate run` against the single-process floor, and where its seconds go (issue 14).

    python benchmarks/cold_start.py [--corpus eb.jsonl] [--pairs 3] [--no-floor] [--newsgate PATH]

Each pair runs, one after the other and each as a new process, the floor
(`python benchmarks/floor.py CORPUS`: json + trafilatura + one jieba pass, one process) and
`newsgate run CORPUS --out <empty dir> --no-review` without PREFECT_API_URL, so the run starts
its own temporary Prefect server as a user's first run does. Wall times are taken from outside
(start to exit) and the ratio run / floor pair by pair: the machine's speed drifts, a pair's
two commands see the same drift. The median is the headline.

Where the run's seconds go comes from the timestamps of its log (Prefect's INFO lines):
  before the flow   process start -> "Beginning flow run" (imports, the server's start-up)
  to first batch    -> "clean: ... batches" (previous release, ingest, the documents gate)
  batches           -> the last extract batch's end (clean, the articles gate, dedup, extract)
  after the batches -> the flow's end (fact gates, aggregate, publish, report, artifacts)
  exit              -> the process's exit (the server stopped, logs shipped, interpreter exit)
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from floor import DEFAULT_CORPUS  # noqa: E402

STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| \w+ +\| (.*)$")
MARKS = [("before the flow", re.compile(r"Beginning flow run")),
         ("to first batch", re.compile(r" - clean: \d+ ")),
         ("batches", re.compile(r"Task run 'extract-")),  # the last one that finished
         ("after the batches", re.compile(r"Flow run .* - Finished in state"))]


def newsgate() -> list[str]:
    script = Path(sys.executable).with_name("newsgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]


def timed(command: list[str], env: dict, log: Path) -> tuple[float, float]:
    """(start as a wall-clock time, seconds to exit) of `command`, its output in `log`."""
    start, t0 = time.time(), time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode
    seconds = time.perf_counter() - t0
    if code:
        raise SystemExit(f"{' '.join(command)} exited {code}; see {log}")
    return start, seconds


def phases(log: Path, start: float, total: float) -> dict[str, float]:
    """Seconds per phase, from the log's timestamps (local time, this day)."""
    day = datetime.fromtimestamp(start).replace(hour=0, minute=0, second=0, microsecond=0)
    seen: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = STAMP.match(line)
        if not m:
            continue
        h, mi, s, ms, text = m.groups()
        at = day.timestamp() + int(h) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000 - start
        for name, pattern in MARKS:
            if pattern.search(text) and (name == "batches" or name not in seen):
                seen[name] = at
    out, before = {}, 0.0
    for name, _ in MARKS:
        if name in seen:
            out[name], before = seen[name] - before, seen[name]
    out["exit"] = total - before
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--no-floor", action="store_true", help="only the run and its phases")
    p.add_argument("--newsgate", help="the `newsgate` command to time (e.g. another checkout's)")
    args = p.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    work = Path(tempfile.mkdtemp(prefix="newsgate-cold-"))
    ratios = []
    try:
        for i in range(args.pairs):
            floor = None
            if not args.no_floor:
                _, floor = timed([sys.executable, str(HERE / "floor.py"), str(args.corpus)], env,
                                 work / "floor.log")
            shutil.rmtree(work / "out", ignore_errors=True)
            command = [args.newsgate] if args.newsgate else newsgate()
            start, run = timed([*command, "run", str(args.corpus), "--out", str(work / "out"),
                                "--no-review", "-v"], env, work / "run.log")
            parts = "  ".join(f"{k} {v:.1f}" for k, v in phases(work / "run.log", start, run).items())
            line = f"pair {i + 1}: run {run:.1f} s"
            if floor:
                ratios.append(run / floor)
                line += f", floor {floor:.1f} s, run/floor {ratios[-1]:.2f}"
            print(f"{line}  ({parts}; load {os.getloadavg()[0]:.1f})", flush=True)
        if ratios:
            print(f"median run/floor {statistics.median(ratios):.2f} over {len(ratios)} pairs "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
