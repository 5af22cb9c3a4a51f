"""`newsgate` command line: run the flow, read releases.

    newsgate run [SOURCE ...] [--out DIR]       run the pipeline (default source: seeds/)
    newsgate releases [--out DIR]               list published releases
    newsgate show TABLE [--release R] [--limit N]
    newsgate export TABLE --format csv|parquet [--release R] [-o FILE]
    newsgate diff R1 R2                         rows added/removed per table
    newsgate report [RUN]                       path of a run's report (default: latest run)
    newsgate verify [--release R]               check a release's files against its checksums
    newsgate repair                             point a lost/damaged LATEST at the newest good release
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from newsgate import package_dir

EXIT_BLOCKED = 2
EXIT_FAILED = 1
EXIT_LOCKED = 3
EXIT_REJECTED = 4


def _review_mode(args) -> str:
    """Terminal runs ask; CI and pipes never wait."""
    if args.approve:
        return "approve"
    if args.no_review or os.environ.get("CI") or not sys.stdin.isatty():
        return "skip"
    return "ask"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsgate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the pipeline and publish a release if every gate passes")
    run.add_argument("sources", nargs="*", help="files or directories (default: seeds/)")
    run.add_argument("--out", default="data", help="output directory (default: ./data)")
    run.add_argument("--batch-size", type=int, default=400,
                     help="at most this many documents per task (default 400)")
    run.add_argument("--expectations", default=None,
                     help="directory of GX suites to use instead of expectations/")
    run.add_argument("--runner", choices=["local", "dask"], default="local",
                     help="local threads (default) or a Dask cluster (prefect-dask)")
    run.add_argument("--dask-address", default=None,
                     help="scheduler of an existing Dask cluster (default: start a LocalCluster)")
    run.add_argument("--workers", type=int, default=None,
                     help="parallel workers: processes for clean and extract with the local "
                          "runner, this one included, Dask worker processes with --runner dask "
                          "(default: CPUs)")
    decide = run.add_mutually_exclusive_group()
    decide.add_argument("--approve", action="store_true",
                        help="publish without asking even when warnings exceed --max-warnings")
    decide.add_argument("--no-review", action="store_true",
                        help="no review step: the gates alone decide")
    run.add_argument("--max-warnings", type=int, default=10,
                     help="more warnings than this ask for a review (default 10)")

    for name, helptext in [("releases", "list releases")]:
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("--out", default="data")

    show = sub.add_parser("show", help="print rows of a published table")
    show.add_argument("table")
    show.add_argument("--release", default=None)
    show.add_argument("--limit", type=int, default=20)
    show.add_argument("--out", default="data")
    _read_flags(show)

    export = sub.add_parser("export", help="write a published table to csv or parquet")
    export.add_argument("table")
    export.add_argument("--format", choices=["csv", "parquet"], required=True)
    export.add_argument("--release", default=None)
    export.add_argument("-o", "--output", default=None)
    export.add_argument("--out", default="data")
    _read_flags(export)

    diff = sub.add_parser("diff", help="compare two releases table by table")
    diff.add_argument("r1")
    diff.add_argument("r2")
    diff.add_argument("--out", default="data")
    diff.add_argument("--uncommitted", action="store_true",
                      help="also read releases whose run never committed them")

    report = sub.add_parser("report", help="print the path of a run's report.html")
    report.add_argument("run", nargs="?", default=None)
    report.add_argument("--out", default="data")

    verify = sub.add_parser("verify", help="check every file of a release against its checksums")
    verify.add_argument("--release", default=None, help="release id (default: LATEST)")
    verify.add_argument("--out", default="data")
    verify.add_argument("--uncommitted", action="store_true",
                        help="also verify a release whose run never committed it")

    repair = sub.add_parser("repair", help="point a missing, empty or damaged LATEST at the "
                                           "newest committed release that verifies")
    repair.add_argument("--out", default="data")
    return p


def _read_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verify", action="store_true",
                        help="check the table's files against the release's checksums first")
    parser.add_argument("--uncommitted", action="store_true",
                        help="read a release whose run never committed it (moved LATEST)")


def _default_sources() -> list[str]:
    local = Path("seeds")
    if local.is_dir():
        return [str(local)]
    return [str(package_dir("seeds"))]


def cmd_run(args) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    missing = [s for s in args.sources if not Path(s).exists()]
    if missing:
        print(f"newsgate: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_FAILED
    from newsgate.flows.pipeline import newsgate, run_newsgate
    from newsgate.tasks.publish import Lake, PublishLocked

    lake = Lake(Path(args.out))
    try:  # fail fast, before starting Prefect, when another run holds the output
        with lake.lock():
            pass
    except PublishLocked as exc:
        print(f"newsgate: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    lake.latest_release_id()  # fail fast, too, on a lost LATEST (LakeError: see main)
    from prefect.settings import PREFECT_API_URL

    from newsgate.flows.runners import heartbeats_for, make_task_runner, shared_prefect_api

    flow = newsgate.with_options(
        task_runner=make_task_runner(args.runner, args.dask_address, args.workers))
    with heartbeats_for(temporary_server=not PREFECT_API_URL.value()), \
            shared_prefect_api(args.runner):
        result = run_newsgate(
            flow, sources=args.sources or _default_sources(), out=args.out,
            batch_size=args.batch_size, expectations_dir=args.expectations,
            review_mode=_review_mode(args), max_warnings=args.max_warnings, workers=args.workers)
    print()
    for stage, count in result["funnel"].items():
        print(f"  {stage:<28} {count}")
    if result["status"] == "published":
        print(f"\nrelease {result['release_id']} published")
        print(f"report  {result['report']}")
        return 0
    if result["status"] == "unchanged":
        print(f"\n{result['error']}\nrelease {result['release_id']} (latest, unchanged)")
        print(f"report  {result['report']}")
        return 0
    if result["status"] == "locked":
        print(f"newsgate: {result['error']}", file=sys.stderr)
        return EXIT_LOCKED
    if result["status"] == "rejected":
        print(f"\nNOT PUBLISHED: {result['error']}", file=sys.stderr)
        print(f"report  {result['report']}", file=sys.stderr)
        return EXIT_REJECTED
    if result["status"] == "blocked":
        print("\nBLOCKED: nothing was published. Failed gate(s):", file=sys.stderr)
        for b in result["blocked_by"]:
            print(f"  - {b}", file=sys.stderr)
        print(f"report  {result['report']}", file=sys.stderr)
        return EXIT_BLOCKED
    print(f"\nFAILED: nothing was published.\n{result['error']}", file=sys.stderr)
    print(f"report  {result['report']}", file=sys.stderr)
    return EXIT_FAILED


def cmd_releases(args) -> int:
    from newsgate.tasks.publish import Lake
    lake = Lake(Path(args.out))
    latest = lake.latest_release_id()
    releases = lake.releases()
    if not releases:
        print(f"no releases in {args.out}")
        return 0
    for m in releases:
        mark = "*" if m["release_id"] == latest else " "
        if "damaged" in m:
            print(f"{mark} {m['release_id']}  DAMAGED: {printable(m['damaged'])}")
            continue
        rows = ", ".join(f"{t}={e.get('rows')}" for t, e in m["tables"].items())
        print(printable(f"{mark} {m['release_id']}  {m.get('created_at')}  {rows}"))
    return 0


# C0/C1 controls and bidi overrides: printed raw, data could move the cursor, recolour or
# rewrite the terminal (ESC sequences) or reorder what is shown. `show` prints them escaped.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value):
    """`value` with control characters escaped (\\x1b, \\x00, \\n, \\u202e); lists element-wise."""
    if isinstance(value, str):
        return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [printable(v) for v in items] if isinstance(items, list) else items
    return value


def _read(args):
    from newsgate.tasks.publish import Lake
    return Lake(Path(args.out)).read_table(args.table, args.release, verify=args.verify,
                                           uncommitted=args.uncommitted)


def cmd_show(args) -> int:
    import pandas as pd
    rows = _read(args)
    shown = rows.head(args.limit).map(printable).rename(columns=printable)
    with pd.option_context("display.max_columns", 20, "display.width", 200,
                           "display.max_colwidth", 40):
        print(shown.to_string())
    print(f"({len(rows)} rows)")
    return 0


def cmd_export(args) -> int:
    df = _read(args)
    target = Path(args.output or f"{args.table}.{args.format}")
    if args.format == "csv":
        df.to_csv(target, index=False)
    else:
        df.to_parquet(target, index=False)
    print(f"wrote {len(df)} rows to {target}")
    return 0


def cmd_diff(args) -> int:
    from newsgate.tasks.publish import Lake
    from newsgate.tasks.release_diff import diff_releases
    lake = Lake(Path(args.out))
    for table, d in diff_releases(lake, args.r1, args.r2, uncommitted=args.uncommitted).items():
        print(printable(f"{table:<14} +{d['added']:<6} -{d['removed']:<6} ~{d['changed']:<6} "
                        f"={d['unchanged']}"))
    return 0


def cmd_report(args) -> int:
    runs = Path(args.out) / "runs"
    if args.run:
        path = runs / args.run / "report.html"
    else:
        reports = sorted(runs.glob("*/report.html"), key=lambda p: p.stat().st_mtime)
        if not reports:
            print(f"no run reports under {runs}", file=sys.stderr)
            return EXIT_FAILED
        path = reports[-1]
    if not path.exists():
        print(f"no report at {path}", file=sys.stderr)
        return EXIT_FAILED
    print(path)
    return 0


def cmd_verify(args) -> int:
    from newsgate.tasks.publish import Lake
    found = Lake(Path(args.out)).verify(args.release, uncommitted=args.uncommitted)
    for table in found.unverified:
        print(f"{found.release_id}: table {table} has no recorded checksums (published before "
              "they were recorded): not verified")
    if found.problems:
        for problem in found.problems:
            print(f"{found.release_id}: {printable(problem)}", file=sys.stderr)
        print(f"release {found.release_id} is DAMAGED ({len(found.problems)} problems)",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"release {found.release_id} verifies: {found.n_files} files match their checksums")
    return 0


def cmd_repair(args) -> int:
    from newsgate.tasks.publish import Lake
    print(Lake(Path(args.out)).repair())
    return 0


COMMANDS = {"run": cmd_run, "releases": cmd_releases, "show": cmd_show, "export": cmd_export,
            "diff": cmd_diff, "report": cmd_report, "verify": cmd_verify, "repair": cmd_repair}


def main(argv: list[str] | None = None) -> int:
    from newsgate.tasks.publish import LakeError
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (KeyError, FileNotFoundError, LakeError) as exc:
        print(f"newsgate: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
