"""Releases that grow (issue 17): what a run costs against a release of 2k, 20k and 200k articles.

    .venv/bin/python benchmarks/scale.py corpus N FILE [--first K]    # write a synthetic corpus
    .venv/bin/python benchmarks/scale.py build N --work DIR           # build a release of N (once)
    .venv/bin/python benchmarks/scale.py increment N --work DIR [--new 1000]
    .venv/bin/python benchmarks/scale.py increment N --work DIR --keep     # keep its result, then
    .venv/bin/python benchmarks/scale.py increment N --work DIR --base inc_N_1000 --first N+1000
    .venv/bin/python benchmarks/scale.py all --work DIR [--sizes 2000,20000,200000]

**Corpus.** The paragraphs of the bench pages (../shared/corpus/bench, cleaned by the project's
own clean stage: `corpora.bench_articles`) are recombined: article k takes 3–7 paragraphs drawn
at random (seeded by k) from the whole pool, a title from the pool of titles and a date in
2010–2011. Two articles share a paragraph now and then (as real reprints do), never most of
their text, so they are distinct to dedup. A known share (`NEAR_SHARE`, 5 %) of articles are
planted near copies of an earlier article (same paragraphs, one character in three hundred
changed and a short line added: Jaccard well above dedup's 0.8), so the expected number of
canonical articles is known. Article k is the same in every corpus, so the corpus of 2k is the
first 2k of the 200k, and the increment (`--first N`: articles N … N+999) plants its near
copies of articles of the release it joins.

**Runs.** Each figure is one cold `newsgate run FILE --out DIR --no-review` subprocess with its
own temporary Prefect server, as a user runs it; time is the wall time of the command, peak RSS
the whole process tree's (command, server, worker processes: `e2e.RssSampler`). An increment
runs on a copy of the release (`cp -al`: Delta files are immutable, the pointer files are
replaced by renames), so the release is built once and measured many times.

Targets (issue 17): increment on 200k ≤ 1.5× the increment on 2k, its peak RSS ≤ 1.0 GB; the
200k build completes (time, peak RSS, scaling exponent of the builds ≤ 1.1); 100 new documents
on a release of 12k ≤ 10 % of the full run's time, ≤ 1.0 GB.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e import RssSampler  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NEAR_SHARE = 0.05          # planted near copies among all articles
MIN_PARAGRAPH = 20         # characters: shorter lines (bylines, "来源") are not paragraphs
PARAGRAPHS = (3, 7)        # paragraphs per article
SEED = 17
TARGET_RATIO, TARGET_RSS_GB, TARGET_EXPONENT, TARGET_SHARE = 1.5, 1.0, 1.1, 0.10


# ------------------------------------------------------------------ corpus

def paragraph_pool() -> tuple[list[str], list[str]]:
    """(distinct paragraphs, distinct titles) of the bench pages' cleaned articles."""
    from corpora import bench_articles
    articles = bench_articles()
    paragraphs = {p.strip(): None for body in articles["body"].dropna()
                  for p in body.split("\n") if len(p.strip()) >= MIN_PARAGRAPH}
    titles = {t.strip(): None for t in articles["title"].dropna() if t.strip()}
    return list(paragraphs), list(titles)


def article(k: int, paragraphs: list[str], titles: list[str]) -> dict:
    """Article k: the same for every corpus it is part of."""
    rng = random.Random(SEED * 1_000_003 + k)
    if k >= 20 and rng.random() < NEAR_SHARE:
        return near_copy(k, article(rng.randrange(k), paragraphs, titles), rng)
    body = "\n".join(rng.sample(paragraphs, rng.randint(*PARAGRAPHS)))
    date = f"{rng.choice((2010, 2011))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {"id": f"scale-{k}", "title": rng.choice(titles), "published": date, "text": body}


def near_copy(k: int, original: dict, rng: random.Random) -> dict:
    """A republication of `original`: one character in ~300 replaced, a short line added."""
    text = list(original["text"])
    for _ in range(max(1, len(text) // 300)):
        at = rng.randrange(len(text))
        if text[at] != "\n":
            text[at] = "之"
    return {**original, "id": f"scale-{k}", "near_copy_of": original["id"],
            "text": "".join(text) + "\n（转载自本网综合报道）"}


def write_corpus(n: int, path: Path, first: int = 0) -> dict:
    """Articles first … first+n-1 as JSONL; returns how many are planted near copies."""
    paragraphs, titles = paragraph_pool()
    near = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for k in range(first, first + n):
            record = article(k, paragraphs, titles)
            near += "near_copy_of" in record
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {"articles": n, "near_copies": near, "paragraph_pool": len(paragraphs)}


# ------------------------------------------------------------------ runs

def newsgate_command() -> list[str]:
    script = Path(sys.executable).with_name("newsgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]


def run_once(corpus: Path, out: Path) -> dict:
    """One cold `newsgate run`: wall time, peak RSS of the process tree, exit code, and the
    log it printed (`-v`: a line per stage with its time) in `<out>.stdout`."""
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
           **os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_LOGGING_LEVEL", None)   # e2e's quiet default would hide the `-v` stage lines
    sampler = RssSampler()
    started = time.perf_counter()
    proc = subprocess.run([*newsgate_command(), "run", str(corpus), "--out", str(out),
                           "--no-review", "-v"], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak, _ = sampler.read()
    sampler.stop()
    out.with_name(out.name + ".stdout").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return {"seconds": round(seconds, 1), "peak_rss_gb": round(peak / 1e9, 3),
            **index_bytes_per_article(out),
            "exit": proc.returncode, "stages": stage_times(proc.stdout + proc.stderr),
            "error": (proc.stdout[-800:] + proc.stderr[-1500:]) if proc.returncode else ""}


def stage_times(log: str) -> dict[str, float]:
    """{stage: seconds} from the run's progress lines (`flow_runs.progress - clean  12.3 s`)."""
    found = re.findall(r"progress - (\S[^\n]*?)\s+(\d+(?:\.\d+)?) s\b", log)
    times: dict[str, float] = {}
    for stage, seconds in found:
        times[stage.strip()] = times.get(stage.strip(), 0.0) + float(seconds)
    return times


def index_bytes_per_article(out: Path) -> dict[str, float | None]:
    """Size on disk of the latest release's dedup and story indexes (with the segments they
    build on), per article each holds."""
    from newsgate.tasks.dedup import DedupIndex
    from newsgate.tasks.publish import Lake
    from newsgate.tasks.stories import StoryIndex
    try:
        manifest = Lake(out).manifest()
    except Exception:  # noqa: BLE001 - no release (a failed run): nothing to measure
        return {}
    sizes = {}
    for name, index in (("dedup_index", DedupIndex), ("story_index", StoryIndex)):
        try:
            directory = out / manifest[name]
            n = len(index.load(directory))
        except Exception:  # noqa: BLE001 - an index of another format: not measured
            sizes[f"{name}_bytes_per_article"] = None
            continue
        sizes[f"{name}_bytes_per_article"] = round(index.nbytes(directory) / max(n, 1), 1)
    return sizes


def build(n: int, work: Path) -> dict:
    corpus = work / f"corpus_{n}.jsonl"
    if not corpus.exists():
        write_corpus(n, corpus)
    out = work / f"release_{n}"
    shutil.rmtree(out, ignore_errors=True)
    return {"build": n, **run_once(corpus, out)}


def increment(n: int, work: Path, new: int = 1000, first: int | None = None,
              base: str | None = None, keep: bool = False) -> dict:
    """`new` articles (first … first+new-1; first = n) against a copy of the release of n (or
    of the folder `base` in `work`: an earlier increment kept with `keep`)."""
    first = n if first is None else first
    corpus = work / f"increment_{first}_{new}.jsonl"
    if not corpus.exists():
        write_corpus(new, corpus, first=first)
    release, copy = work / (base or f"release_{n}"), work / f"inc_{first}_{new}"
    if not release.exists():
        raise SystemExit(f"no release {release.name} in {work}: run `scale.py build {n}` first")
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-al", str(release), str(copy)], check=True)
    try:
        return {"increment": n, "first": first, "new": new, "base": release.name,
                **run_once(corpus, copy)}
    finally:
        logs = sorted(copy.glob("runs/*/run.log"), key=lambda p: p.stat().st_mtime)
        if logs:  # the increment's own log and report (the newest): its stage timings
            shutil.copy(logs[-1], work / f"inc_{first}_{new}.run.log")
            if (logs[-1].parent / "report.html").exists():
                shutil.copy(logs[-1].parent / "report.html", work / f"inc_{first}_{new}.report.html")
        if not keep:
            shutil.rmtree(copy, ignore_errors=True)


def exponent(builds: dict[int, dict]) -> float | None:
    """Least-squares slope of log(time) over log(size) of the builds."""
    points = [(math.log(n), math.log(r["seconds"])) for n, r in builds.items() if r["exit"] == 0]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    return (sum((x - mx) * (y - my) for x, y in points)
            / sum((x - mx) ** 2 for x, _ in points))


def show(result: dict) -> None:
    print(json.dumps(result, ensure_ascii=False), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["corpus", "build", "increment", "all"])
    ap.add_argument("n", nargs="?", type=int)
    ap.add_argument("file", nargs="?")
    ap.add_argument("--first", type=int, default=None,
                    help="the first article's number (corpus: 0; increment: N)")
    ap.add_argument("--base", help="increment: the folder in --work to copy (default release_N)")
    ap.add_argument("--keep", action="store_true", help="increment: keep its result (inc_FIRST_NEW)")
    ap.add_argument("--work", default=str(ROOT / "benchmarks" / ".scale"))
    ap.add_argument("--new", type=int, default=1000)
    ap.add_argument("--sizes", default="2000,20000,200000")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.what == "corpus":
        show(write_corpus(args.n, Path(args.file), args.first or 0))
    elif args.what == "build":
        show(build(args.n, work))
    elif args.what == "increment":
        show(increment(args.n, work, args.new, args.first, args.base, args.keep))
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        builds = {}
        for n in sizes:
            builds[n] = build(n, work)
            show(builds[n])
        incs = {n: increment(n, work, args.new) for n in sizes}
        for r in incs.values():
            show(r)
        small, large = min(sizes), max(sizes)
        print(f"increment {large} / {small}: {incs[large]['seconds'] / incs[small]['seconds']:.2f} "
              f"(target <= {TARGET_RATIO}); peak RSS at {large}: {incs[large]['peak_rss_gb']:.2f} GB "
              f"(target <= {TARGET_RSS_GB}); build exponent: {exponent(builds)} "
              f"(target <= {TARGET_EXPONENT})")


if __name__ == "__main__":
    main()
