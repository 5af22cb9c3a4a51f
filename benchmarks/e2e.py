"""End-to-end benchmark of the `newsgate` flow against the floor of its unavoidable work (issue 7).

    python benchmarks/e2e.py [--corpus PATH] [--sizes 500,1500,all] [--quick] [--json]
                             [--no-workers] [--scale-mode dask|affinity] [--keep DIR]

Input: ../shared/corpus/bench/eb.jsonl (3,426 real HTML pages as {"id","source","html"} lines;
NEWSGATE_SHARED or --corpus override it). For each size N the first N lines are written to a
temporary .jsonl and run through the real flow (local thread runner, default batch size,
review_mode="skip") into a fresh output directory, with the CLI's task runner
(`make_task_runner("local")`: os.cpu_count() threads); --flow-default-runner uses the flow's own
default instead. --corpus may also name a directory of .jsonl/.html/.txt files: it is then run
as one size ("dir") without floors per size.

Every size (with its re-run and 1% run) and every worker count runs in a fresh Python process,
as `newsgate run` or a deployment's flow-run process does (`in_fresh_process`), so no run's
RSS includes the heap of a run before it. One Prefect server serves them all.

Reported per size:
  * stage wall times from the flow's own `timings`, `other` = flow call wall time minus the sum
    of the stages (flow start/end, report, GX Data Docs, artifacts), and the total (flow call
    wall time). The Prefect server is started once for the whole benchmark and its start-up is
    reported separately: it is not the flow's.
  * articles/s (= input documents / total), peak RSS of the process tree (the run's process,
    all its descendants and the Prefect server: a thread samples /proc every 0.1 s, sum of RSS,
    max over the run; also without the Prefect server), Prefect task runs of the flow run.
  * floors, measured in the same run over exactly the same lines: (a) json.loads +
    trafilatura.extract(html), serially in one child process (so its memory is not counted);
    (b) one plain `jieba.lcut` pass over the texts of (a) (after jieba.initialize()).
    Headline: total / (a + b).
Each process first runs 50 documents into a scratch directory (--no-warmup to skip): imports and
one-off initialisation of the process are paid there, not by the run measured after it.
Across sizes: scaling exponent log(t_max/t_min) / log(n_max/n_min) (1.0 = linear).
At the largest size: 1% of the lines (every 100th; `--new N`: N of them, evenly spaced) is
held out of the full run; afterwards
  * the unchanged input is run again into the same output (cache hits): rerun / full;
  * only the held-out lines are run into the same output (releases are cumulative, so this is
    the "1% new documents" case): incremental / full.
Workers (skipped by --quick / --no-workers): the same full run with 1 and with 2 workers.
  --scale-mode affinity (default): local thread runner with 1 | 2 threads and the flow's
    workers=1|2 (worker processes for clean and extract), every thread of the process tree
    (Prefect server included) pinned with sched_setaffinity to 1 | 2 CPUs.
  --scale-mode dask: `make_task_runner("dask", workers=1|2)`, a LocalCluster of 1 or 2
    single-threaded worker processes (cluster start-up is inside the flow's wall time). Dask
    worker processes are daemonic, so clean and extract run inside them (no nested pool).
Targets (issue 7) are printed next to each figure. --json also prints everything as one JSON
object (last line of stdout) so commits can be compared.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("NEWSGATE_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = SHARED / "corpus" / "bench" / "eb.jsonl"
STAGES = ["read release", "ingest", "clean", "dedup", "extract", "aggregate", "publish", "report"]
TARGETS = {"total_over_floor": 2.0, "peak_rss_gb": 1.5, "scaling_exponent": 1.1,
           "rerun_fraction": 0.10, "incremental_fraction": 0.15, "speedup_2_workers": 1.6}
PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------ process-tree RSS sampler

def _tree_rss() -> tuple[int, int]:
    """(RSS of this process + all descendants + the `RssSampler.exclude` subtrees (the Prefect
    server, which the benchmark's parent process started), the same without those subtrees)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total = without = 0
    stack = [(os.getpid(), False)] + [(p, True) for p in RssSampler.exclude
                                      if p not in children.get(os.getpid(), ())]
    seen = set()
    while stack:
        pid, excluded = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        excluded = excluded or pid in RssSampler.exclude
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss = int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            rss = 0
        total += rss
        if not excluded:
            without += rss
        stack.extend((c, excluded) for c in children.get(pid, ()))
    return total, without


class RssSampler:
    exclude: set[int] = set()  # the Prefect server's pid(s)

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak, self.peak_wo = interval, 0, 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            total, without = _tree_rss()
            with self._lock:
                self.peak, self.peak_wo = max(self.peak, total), max(self.peak_wo, without)
            self._stop.wait(self.interval)

    def reset(self) -> None:
        with self._lock:
            self.peak = self.peak_wo = 0

    def read(self) -> tuple[int, int]:
        total, without = _tree_rss()
        with self._lock:
            return max(self.peak, total), max(self.peak_wo, without)

    def stop(self):
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------ floors: benchmarks/floor.py

from floor import floor_per_line  # noqa: E402


# ------------------------------------------------------------------ one flow run

def count_task_runs(flow_run_id) -> int | None:
    try:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        n = 0
        with get_client(sync_client=True) as client:
            while True:  # the API pages by at most 200
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    limit=200, offset=n)
                n += len(page)
                if len(page) < 200:
                    return n
    except Exception as exc:  # the count is informative only
        print(f"  (task runs not counted: {exc})", file=sys.stderr)
        return None


def run_flow(sampler: RssSampler, sources: list[str], out: Path, n_docs: int,
             runner: tuple[str, int | None] | None = None) -> dict:
    from newsgate.flows.pipeline import newsgate
    from newsgate.flows.runners import make_task_runner
    flow_fn = newsgate
    if runner is not None:
        flow_fn = newsgate.with_options(task_runner=make_task_runner(runner[0], None, runner[1]))
    sampler.reset()
    t0 = time.perf_counter()
    workers = runner[1] if runner is not None and runner[0] == "local" else None
    state = flow_fn(sources=sources, out=str(out), review_mode="skip", workers=workers,
                    return_state=True)
    total = time.perf_counter() - t0
    result = state.result(raise_on_failure=False)
    peak, peak_wo = sampler.read()
    if not isinstance(result, dict):
        result = {"status": "failed", "error": repr(result), "timings": {}, "funnel": {}}
    timings = {k: round(float(v), 3) for k, v in (result.get("timings") or {}).items()}
    other = total - sum(timings.values())
    return {
        "n_docs": n_docs, "status": result.get("status"),
        "error": (result.get("error") or "")[-600:] or None,
        "stages_s": timings, "other_s": round(other, 3), "total_s": round(total, 3),
        "articles_per_s": round(n_docs / total, 2) if total else None,
        "peak_rss_mb": round(peak / 2**20), "peak_rss_mb_without_server": round(peak_wo / 2**20),
        "task_runs": count_task_runs(state.state_details.flow_run_id),
        "funnel": result.get("funnel"),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def in_fresh_process(runs: list[dict], warmup: str | None, work: Path) -> list[dict]:
    """Run `runs` ({sources, out, n_docs, runner}) one after the other in a new Python process,
    as `newsgate run` or a deployment's flow-run process starts, after a warm-up run there.

    A fresh process per size (and per worker count) keeps one run's heap out of the next one's
    RSS: in one long-lived process every run inherited the largest heap of the runs before it
    (a 1-worker run that cleaned and extracted the whole corpus in-process left +300 MB for the
    2-worker run after it). The re-run and the 1% run share the full run's process, as before."""
    spec = work / f"child-{time.monotonic_ns()}.json"
    spec.write_text(json.dumps({"runs": runs, "warmup": warmup, "result": str(spec) + ".out",
                                "server_pids": sorted(RssSampler.exclude)}))
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(spec)],
                   check=True, stdin=subprocess.DEVNULL)
    return json.loads(Path(str(spec) + ".out").read_text())


def child_main(spec_path: str) -> None:
    from newsgate.flows.runners import heartbeats_for
    spec = json.loads(Path(spec_path).read_text())
    RssSampler.exclude = set(spec["server_pids"])  # counted in the total, not in "-server"
    sampler = RssSampler()
    # the shared server stands in for the temporary one `newsgate run` starts: its runs send
    # no heartbeats either
    with heartbeats_for(temporary_server=True):
        results = _child_runs(spec, sampler)
    sampler.stop()
    Path(spec["result"]).write_text(json.dumps(results, ensure_ascii=False))


def _child_runs(spec: dict, sampler: RssSampler) -> list[dict]:
    results = []
    if spec["warmup"]:
        warm = run_flow(sampler, [spec["warmup"]], Path(spec["warmup"]).with_suffix(".out"), 0,
                        tuple(spec["runs"][0]["runner"]) if spec["runs"][0]["runner"] else None)
        shutil.rmtree(Path(spec["warmup"]).with_suffix(".out"), ignore_errors=True)
        results.append(warm)
    for r in spec["runs"]:
        results.append(run_flow(sampler, r["sources"], Path(r["out"]), r["n_docs"],
                                tuple(r["runner"]) if r["runner"] else None))
    return results


def _tree_threads() -> list[int]:
    """Thread ids of this process and every descendant (affinity is per thread on Linux)."""
    pids, children = [os.getpid()], {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError):
                pass
    tids, i = [], 0
    while i < len(pids):
        pids.extend(children.get(pids[i], ()))
        i += 1
    for pid in pids:
        with contextlib.suppress(OSError):
            tids.extend(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    return tids


def _pin(cpu_set) -> None:
    for tid in _tree_threads():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, cpu_set)


@contextlib.contextmanager
def cpus(n: int | None):
    """Pin every thread of this process tree (the Prefect server and an already running
    forkserver included; children started meanwhile inherit it) to the first n CPUs."""
    if n is None:
        yield
        return
    before = os.sched_getaffinity(0)
    _pin(set(sorted(before)[:n]))
    try:
        yield
    finally:
        _pin(before)


# ------------------------------------------------------------------ main

def _ratio(x, y):
    return round(x / y, 3) if x is not None and y else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS),
                    help="a .jsonl file (sized by --sizes) or a directory (run as is)")
    ap.add_argument("--sizes", default="500,1500,all")
    ap.add_argument("--quick", action="store_true", help="smallest size only, no worker runs")
    ap.add_argument("--no-workers", action="store_true", help="skip the 1 vs 2 worker runs")
    ap.add_argument("--no-incremental", action="store_true", help="skip re-run and 1%% runs")
    ap.add_argument("--new", type=int, default=None,
                    help="documents held out of the largest full run and run after it (default: 1%%)")
    ap.add_argument("--scale-mode", choices=["dask", "affinity"], default="affinity")
    ap.add_argument("--flow-default-runner", action="store_true",
                    help="size runs use the flow's own default task runner (Prefect's unbounded "
                         "ThreadPoolTaskRunner, as deployments and run_newsgate get) instead of "
                         "the CLI's make_task_runner('local') (os.cpu_count() threads)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="skip the 50-document warm-up run (one-off imports and caches of this "
                         "process would then be charged to the smallest size)")
    ap.add_argument("--json", action="store_true", help="also print all results as JSON")
    ap.add_argument("--keep", default=None, help="work directory to keep (default: a temp dir)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)  # see in_fresh_process
    args = ap.parse_args()
    if args.child:
        child_main(args.child)
        return

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="newsgate-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = Path(args.corpus)
    report: dict = {"corpus": str(corpus), "cpus": os.cpu_count(),
                    "loadavg_start": open("/proc/loadavg").read().split()[:3],
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sizes": []}
    try:
        report["commit"] = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True, text=True).stdout.strip()
    except OSError:
        report["commit"] = None

    from newsgate.flows.runners import shared_prefect_api
    before = {p for p in os.listdir("/proc") if p.isdigit()}
    t0 = time.perf_counter()
    with shared_prefect_api("dask") as api:  # starts one server unless PREFECT_API_URL is set
        report["prefect_server_startup_s"] = round(time.perf_counter() - t0, 3)
        report["prefect_api"] = api
        RssSampler.exclude = {int(p) for p in os.listdir("/proc") if p.isdigit()} - {
            int(p) for p in before}
        try:
            _benchmark(args, corpus, work, report)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    report["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    print_report(report)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))


def _benchmark(args, corpus: Path, work: Path, report: dict) -> None:
    def run(sources, out, n_docs, runner, warmup=None) -> dict:
        [*_, row] = in_fresh_process([{"sources": sources, "out": str(out), "n_docs": n_docs,
                                       "runner": runner}], warmup, work)
        return row

    if corpus.is_dir():
        n = sum(1 for _ in corpus.rglob("*") if _.is_file())
        print(f"[e2e] directory {corpus} ({n} files)", file=sys.stderr)
        report["sizes"].append({"size": "dir", **run([str(corpus)], work / "out-dir", n,
                                                     ("local", None))})
        return
    lines = [ln for ln in corpus.read_bytes().splitlines() if ln.strip()]
    sizes = []
    for s in args.sizes.split(","):
        n = len(lines) if s.strip() == "all" else min(int(s), len(lines))
        if n not in sizes:
            sizes.append(n)
    sizes.sort()
    runner = None if args.flow_default_runner else ("local", None)
    report["size_runner"] = "flow default (unbounded threads)" if runner is None else \
        f"make_task_runner('local') = {os.cpu_count()} threads (as the CLI)"
    if args.quick:
        sizes = sizes[:1]
    largest = sizes[-1]
    print(f"[e2e] floors over {largest} lines (serial trafilatura + jieba) ...", file=sys.stderr)
    t0 = time.perf_counter()
    # in a child process, so the floor's plain-jieba dictionary and trafilatura's caches do not
    # inflate any run's RSS (the measurement itself is serial)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        floors = pool.submit(floor_per_line, lines[:largest]).result()
    report["floor_measure_s"] = round(time.perf_counter() - t0, 1)

    def floor_of(indices) -> dict:
        a = sum(floors[i][0] for i in indices)
        b = sum(floors[i][1] for i in indices)
        return {"a_trafilatura_s": round(a, 3), "b_jieba_s": round(b, 3),
                "a_plus_b_s": round(a + b, 3)}

    def write(name: str, indices) -> Path:
        path = work / f"{name}.jsonl"
        path.write_bytes(b"\n".join(lines[i] for i in indices) + b"\n")
        return path

    # every measured process first runs the same 50 lines into a scratch directory: imports and
    # one-off initialisation of the process are paid there, not by the run measured after it
    warmup = None if args.no_warmup else str(write("warmup", range(min(50, len(lines)))))

    for n in sizes:
        step = max(n // args.new, 1) if args.new else 100  # default: every 100th (1 %)
        held = set(range(step - 1, n, step)) if (n == largest and not args.quick
                                                  and not args.no_incremental) else set()
        main_idx = [i for i in range(n) if i not in held]
        src, out = write(f"first{n}", main_idx), work / f"out-{n}"
        runs = [{"sources": [str(src)], "out": str(out), "n_docs": len(main_idx), "runner": runner}]
        if held:  # in the same process and output directory as the full run
            held_src = write(f"held{n}", sorted(held))
            runs += [dict(runs[0]),
                     {"sources": [str(held_src)], "out": str(out), "n_docs": len(held),
                      "runner": runner}]
        print(f"[e2e] size {n}: full run of {len(main_idx)} lines"
              + (f", unchanged re-run, {len(held)} new documents" if held else "")
              + " (one fresh process) ...", file=sys.stderr)
        results = in_fresh_process(runs, warmup, work)
        if warmup:
            report.setdefault("warmup_s", results.pop(0)["total_s"])
        full, *incremental = results
        row = {"size": n, **full, **floor_of(main_idx)}
        row["total_over_floor"] = _ratio(row["total_s"], row["a_plus_b_s"])
        if incremental:
            rerun, inc = incremental
            row["rerun"], row["rerun_fraction"] = rerun, _ratio(rerun["total_s"], row["total_s"])
            row["incremental"] = inc
            row["incremental_fraction"] = _ratio(inc["total_s"], row["total_s"])
        report["sizes"].append(row)
        shutil.rmtree(out, ignore_errors=True)

    if len(report["sizes"]) >= 2:
        lo, hi = report["sizes"][0], report["sizes"][-1]
        report["scaling_exponent"] = round(
            math.log(hi["total_s"] / lo["total_s"]) / math.log(hi["n_docs"] / lo["n_docs"]), 3)
        report["scaling_exponent_minus_other"] = round(
            math.log((hi["total_s"] - hi["other_s"]) / (lo["total_s"] - lo["other_s"]))
            / math.log(hi["n_docs"] / lo["n_docs"]), 3)

    if not (args.quick or args.no_workers):
        src = write(f"workers{largest}", range(largest))
        runs = {}
        for w in (1, 2):
            print(f"[e2e] workers={w} ({args.scale_mode}) on {largest} lines ...", file=sys.stderr)
            w_runner = ("dask", w) if args.scale_mode == "dask" else ("local", w)
            # pinned before the process starts: it and its workers inherit the CPU set
            with cpus(w if args.scale_mode == "affinity" else None):
                runs[w] = run([str(src)], work / f"out-w{w}", largest, w_runner, warmup)
            shutil.rmtree(work / f"out-w{w}", ignore_errors=True)
        report["workers"] = {"mode": args.scale_mode, "1": runs[1], "2": runs[2],
                             "speedup": _ratio(runs[1]["total_s"], runs[2]["total_s"])}


def print_report(r: dict) -> None:
    p = print
    p(f"newsgate e2e benchmark  commit {r.get('commit')}  corpus {r['corpus']}  cpus {r['cpus']}")
    p(f"loadavg start {' '.join(r['loadavg_start'])}  end {' '.join(r['loadavg_end'])}")
    p(f"size runs: {r.get('size_runner')}")
    p(f"Prefect server start-up (once, not part of any run): {r.get('prefect_server_startup_s')} s"
      f"   floors measured in {r.get('floor_measure_s')} s   warm-up run {r.get('warmup_s')} s")
    head = (f"{'docs':>6} {'status':>9} " + " ".join(f"{s.split()[0][:9]:>9}" for s in STAGES)
            + f" {'other':>7} {'total':>8} {'art/s':>7} {'floor a':>8} {'floor b':>8}"
            f" {'tot/(a+b)':>9} {'RSS MB':>7} {'-server':>7} {'tasks':>5}")
    p("\nper size (seconds; read = reading the previous release, report = report, data docs and "
      "artifacts; other = flow wall - sum of these: "
      "flow start/end)")
    p(head)

    def line(label, x, floors=True):
        st = x.get("stages_s") or {}
        cells = " ".join(f"{st.get(s, float('nan')):9.2f}" for s in STAGES)
        fl = (f" {x['a_trafilatura_s']:8.2f} {x['b_jieba_s']:8.2f} {x['total_over_floor']:9.2f}"
              if floors else f" {'':8} {'':8} {'':9}")
        p(f"{label:>6} {str(x['status']):>9} {cells} {x['other_s']:7.2f} {x['total_s']:8.2f}"
          f" {x['articles_per_s'] or 0:7.1f}{fl} {x['peak_rss_mb']:7d}"
          f" {x['peak_rss_mb_without_server']:7d} {str(x['task_runs']):>5}")
        if x.get("status") != "published" and x.get("error"):
            p(f"        error: {x['error'].splitlines()[-1][:200]}")

    for x in r["sizes"]:
        line(str(x["n_docs"]), x, floors="a_trafilatura_s" in x)
    for x in r["sizes"]:
        if "rerun" in x:
            p("\nincremental, same output directory as the full run above:")
            p(head)
            line("rerun", x["rerun"], floors=False)
            line("+1%", x["incremental"], floors=False)
    if "workers" in r:
        w = r["workers"]
        p(f"\nworkers ({w['mode']}):")
        p(head)
        line("w=1", w["1"], floors=False)
        line("w=2", w["2"], floors=False)

    p("\nheadline vs targets (issue 7)")
    biggest = r["sizes"][-1] if r["sizes"] else {}

    def target(name, value, goal, better="<="):
        ok = None if value is None else (value <= goal if better == "<=" else value >= goal)
        mark = "n/a" if ok is None else ("ok" if ok else "MISS")
        p(f"  {name:<38} {str(value):>10}   target {better} {goal:<5} {mark}")

    target("total/(a+b) at largest size", biggest.get("total_over_floor"),
           TARGETS["total_over_floor"])
    peak = max((x["peak_rss_mb"] for x in r["sizes"]), default=None)
    target("peak RSS of process tree, GB", None if peak is None else round(peak / 1024, 2),
           TARGETS["peak_rss_gb"])
    target("scaling exponent (smallest->largest)", r.get("scaling_exponent"),
           TARGETS["scaling_exponent"])
    target("unchanged re-run / full run", biggest.get("rerun_fraction"), TARGETS["rerun_fraction"])
    target("1% new documents / full run", biggest.get("incremental_fraction"),
           TARGETS["incremental_fraction"])
    target("speed-up 1 -> 2 workers", r.get("workers", {}).get("speedup"),
           TARGETS["speedup_2_workers"], better=">=")
    tasks = [(x["n_docs"], x["task_runs"]) for x in r["sizes"]]
    p(f"  Prefect task runs per run by size: {tasks}  (target: independent of size)")


if __name__ == "__main__":
    main()
