"""`newsgate` command line: run the flow, read releases.

    newsgate run [SOURCE ...] [--out DIR]       run the pipeline (default source: seeds/)
    newsgate releases [--out DIR]               list published releases, * = LATEST
    newsgate show TABLE [--release R]           print rows of a published table
    newsgate export [TABLE] [--release R] [-o PATH]
                                                one table to CSV/Parquet, or a whole release
                                                to a folder (Parquet per table + manifest)
    newsgate diff R1 R2                         rows added/removed/changed per table
    newsgate report [RUN]                       path of a run's report (default: latest run)
    newsgate verify [--release R]               check a release's files against its checksums
    newsgate repair                             point a lost/damaged LATEST at the newest good release
    newsgate review accept CHECK --comment C    accept a warned check of the run awaiting review
    newsgate review pending                     the runs awaiting review and their warned checks
    newsgate quarantine [--reason R] [--release R]
                                                quarantined rows by reason, with their detail
    newsgate maintain [--keep N]                compact the tables; keep the N newest releases

--out is always the output folder a run writes (the lake: lake/, releases/, runs/; default
./data); -o is the file or folder `export` writes. A release id may be LATEST.

exit codes: 0 published (or nothing new) / done, 1 failed, 2 misuse (nothing was run) or a
gate blocked publishing, 3 another run holds --out, 4 the review rejected the release.
Errors are one line; --debug adds the traceback.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from pathlib import Path

from newsgate import package_dir

EXIT_FAILED = 1
EXIT_USAGE = 2  # a misuse, found before anything ran
EXIT_BLOCKED = 2
EXIT_LOCKED = 3
EXIT_REJECTED = 4
EXIT_BY_STATUS = {"published": 0, "unchanged": 0, "failed": EXIT_FAILED, "blocked": EXIT_BLOCKED,
                  "locked": EXIT_LOCKED, "rejected": EXIT_REJECTED}
OUT_HELP = "the output folder runs write into: lake/, releases/, runs/ (default: ./data)"
FORMATS = ("csv", "parquet")


class UsageError(Exception):
    """A misuse: the message says what was wrong and what to do (exit 2)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# ------------------------------------------------------------------ arguments

class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own complaints, in the same one-line form
        message = re.sub(r"'([^']*)'", r"\1", message)  # no Python quoting: 'x' -> x
        raise UsageError(f"{self.prog}: {message} ({self.prog} --help lists the options)")


def _whole(least: int):
    """An argparse type: a whole number of at least `least`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of at least {least}, not {text}")
        return value
    return parse


def _command(sub, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=summary, description=summary,
                            epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of an error")
    return parser


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="data", metavar="DIR", help=OUT_HELP)


def _release(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--release", default=None, metavar="R",
                        help="a release id from `newsgate releases`, or LATEST (the default)")


def _read_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verify", action="store_true",
                        help="check the table's files against the release's checksums first")
    _uncommitted(parser)


def _uncommitted(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--uncommitted", action="store_true",
                        help="read a release whose run never committed it (never moved LATEST)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="newsgate", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--debug", action="store_true", help="print the traceback of an error")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = _command(sub, "run", "run the pipeline and publish a release if every gate passes",
                   "newsgate run ../feeds --out /srv/newsgate --exclude '_gold/*' --workers 2")
    run.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="files or folders to read, recursively (default: seeds/)")
    _out(run)
    run.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                     help="skip files matching GLOB (gitignore style, relative to the source "
                          "folder; repeatable); a source folder's .newsgateignore adds more")
    run.add_argument("--batch-size", type=_whole(1), default=400, metavar="N",
                     help="at most N documents per task (default 400)")
    run.add_argument("--expectations", default=None, metavar="DIR",
                     help="a folder of GX suites to gate with instead of expectations/")
    run.add_argument("--runner", choices=["local", "dask"], default="local",
                     help="local processes (default) or a Dask cluster (prefect-dask)")
    run.add_argument("--dask-address", default=None, metavar="ADDR",
                     help="with --runner dask: an existing cluster's scheduler "
                          "(default: start a local one)")
    run.add_argument("--workers", type=_whole(1), default=None, metavar="N",
                     help="parallel workers for clean and extract, this process included "
                          "(default: the CPUs)")
    decide = run.add_mutually_exclusive_group()
    decide.add_argument("--approve", action="store_true",
                        help="publish without asking even when warnings exceed --max-warnings")
    decide.add_argument("--no-review", action="store_true",
                        help="no review step: the gates alone decide")
    run.add_argument("--max-warnings", type=_whole(0), default=10, metavar="N",
                     help="more gate warnings than N ask for a review (default 10)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show Prefect's log on the terminal too (it is always in the run's "
                          "run.log)")

    releases = _command(sub, "releases", "list the published releases (* = LATEST)",
                        "newsgate releases --out /srv/newsgate")
    _out(releases)

    show = _command(sub, "show", "print the rows of a published table",
                    "newsgate show projects --release LATEST --limit 5")
    show.add_argument("table", metavar="TABLE", help="a table of the release, e.g. projects")
    _release(show)
    show.add_argument("--limit", type=_whole(0), default=20, metavar="N",
                      help="print the first N rows (default 20)")
    _read_flags(show)
    _out(show)

    export = _command(sub, "export", "write one table to a CSV or Parquet file, or a whole "
                                     "release to a folder (Parquet per table + its manifest)",
                      "newsgate export projects --format csv -o projects.csv\n"
                      "  newsgate export --release LATEST -o release-folder")
    export.add_argument("table", nargs="?", metavar="TABLE",
                        help="the table to export (default: every table, as a folder)")
    export.add_argument("--format", choices=FORMATS, default=None,
                        help="csv or parquet (default: from -o's name; a whole release is "
                             "Parquet)")
    _release(export)
    export.add_argument("-o", "--output", default=None, metavar="PATH",
                        help="the file (or, for a whole release, the new folder) to write "
                             "(default: TABLE.FORMAT, or the release id)")
    _read_flags(export)
    _out(export)

    diff = _command(sub, "diff", "compare two releases table by table",
                    "newsgate diff rel-20260101T060000Z-1a2b3c LATEST")
    diff.add_argument("r1", metavar="R1", help="the older release (an id, or LATEST)")
    diff.add_argument("r2", metavar="R2", help="the newer release (an id, or LATEST)")
    _uncommitted(diff)
    _out(diff)

    report = _command(sub, "report", "print the path of a run's report.html",
                      "newsgate report run-20260101T060000Z-1a2b3c")
    report.add_argument("run", nargs="?", default=None, metavar="RUN",
                        help="a run id, a folder under DIR/runs (default: the latest run)")
    _out(report)

    verify = _command(sub, "verify", "check every file of a release against its checksums",
                      "newsgate verify --release LATEST --out /srv/newsgate")
    _release(verify)
    _uncommitted(verify)
    _out(verify)

    review = _command(sub, "review", "accept warned checks of a run awaiting review (waivers)",
                      'newsgate review accept "indicators.expect_column_values_to_not_be_null(period)" '
                      '--comment "reports of this site give no period"')
    actions = review.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    help="accept (a waiver for a warned check) or pending "
                                         "(what waits); `newsgate review ACTION --help`")
    accept = _command(actions, "accept", "accept a warned check for the release of the run "
                                         "awaiting review, with a comment (recorded in its "
                                         "manifest; the check shows as accepted)",
                      'newsgate review accept "articles.expect_column_values_to_match_regex(title)" '
                      '--comment "titles of this site carry a date" --reviewer 李审核')
    accept.add_argument("check", metavar="CHECK",
                        help="the check's id as `newsgate review pending` lists it (table.check)")
    accept.add_argument("--comment", required=True, metavar="TEXT",
                        help="why the warning is acceptable for this release (required)")
    accept.add_argument("--reviewer", default=None, metavar="NAME",
                        help="who accepts it (default: the operating-system user)")
    accept.add_argument("--run", default=None, metavar="RUN",
                        help="the run awaiting review (default: the only, or newest, one)")
    _out(accept)
    pending = _command(actions, "pending", "list the runs awaiting review and their warned checks",
                       "newsgate review pending --out /srv/newsgate")
    _out(pending)

    quarantine = _command(sub, "quarantine", "list a release's quarantined rows, by reason, "
                                             "with their detail",
                          "newsgate quarantine --reason span_matches --limit 5")
    quarantine.add_argument("--reason", default=None, metavar="R",
                            help="only reasons containing R (case-insensitive)")
    _release(quarantine)
    quarantine.add_argument("--limit", type=_whole(0), default=20, metavar="N",
                            help="print at most N rows per reason (default 20)")
    _out(quarantine)

    repair = _command(sub, "repair", "point a missing, empty or damaged LATEST at the newest "
                                     "committed release that verifies",
                      "newsgate repair --out /srv/newsgate")
    _out(repair)

    maintain = _command(sub, "maintain", "compact the tables of the latest release into a new "
                                         "release of the same content, then delete the files no "
                                         "kept release names (every kept release stays readable)",
                        "newsgate maintain --out /srv/newsgate --keep 30")
    maintain.add_argument("--keep", type=_whole(1), default=None, metavar="N",
                          help="keep only the N newest releases (the others are dropped and named); "
                               "default: keep every release")
    _out(maintain)
    return p


# ------------------------------------------------------------------ run

def _default_sources() -> list[str]:
    local = Path("seeds")
    return [str(local if local.is_dir() else package_dir("seeds"))]


def _review_mode(args) -> str:
    """Terminal runs ask; CI and pipes never wait."""
    if args.approve:
        return "approve"
    if args.no_review or os.environ.get("CI") or not sys.stdin.isatty():
        return "skip"
    return "ask"


def check_run(args) -> tuple[int, int]:
    """Every `run` argument checked before anything starts: (files to read, files excluded)."""
    args.sources = args.sources or _default_sources()
    missing = [s for s in args.sources if not os.path.lexists(s)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; --out names the output folder runs write "
                         "into (default ./data)")
    if args.dask_address and args.runner != "dask":
        raise UsageError("--dask-address needs --runner dask")
    if args.expectations is not None:
        from newsgate.tasks.gates import suites_problem
        problem = suites_problem(args.expectations)
        if problem:
            raise UsageError(f"--expectations: {problem}")
    from newsgate.tasks.ingest import discover, exclude_paths
    kept, excluded = exclude_paths(discover(args.sources), args.sources, args.exclude)
    if not kept:
        why = f" ({len(excluded)} excluded)" if excluded else ""
        raise UsageError(f"no files to read in {', '.join(args.sources)}{why}; give files or "
                         "folders of .txt, .html or .jsonl documents")
    return len(kept), len(excluded)


def _run_flow(args, log_path: Path) -> dict:
    """The flow, its logs in `log_path`; its result dict whatever the final state."""
    from newsgate.flows.server import TemporaryServer, api_configured

    # the temporary Prefect server starts first: its start-up overlaps the imports below
    server = None if api_configured() else TemporaryServer()
    try:
        return _run_flow_on(args, log_path, server)
    finally:
        if server is not None:
            server.stop()


def _run_flow_on(args, log_path: Path, server) -> dict:
    from prefect.settings import PREFECT_API_URL

    from newsgate.flows.pipeline import newsgate, run_newsgate
    from newsgate.flows.runners import (heartbeats_for, make_task_runner, run_log,
                                        shared_prefect_api)

    from newsgate.flows.progress import show_on_terminal, terminal_wanted

    show_on_terminal(terminal_wanted() and not args.verbose)  # -v: the log lines say it all
    flow = newsgate.with_options(
        task_runner=make_task_runner(args.runner, args.dask_address, args.workers))
    with run_log(log_path, args.verbose):
        if server is not None:  # while the server starts: GX and pandera, which the first gate loads
            from newsgate.tasks.gates import warm_up
            warm_up()
        with heartbeats_for(temporary_server=not PREFECT_API_URL.value()), \
                shared_prefect_api(args.runner, server):
            return run_newsgate(
                flow, sources=args.sources, out=args.out,
                batch_size=args.batch_size, expectations_dir=args.expectations,
                review_mode=_review_mode(args), max_warnings=args.max_warnings,
                workers=args.workers, exclude=args.exclude)


def cmd_run(args) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    n_files, n_excluded = check_run(args)
    from newsgate.tasks.publish import Lake, PublishLocked

    lake = Lake(Path(args.out))
    try:  # fail fast, before starting Prefect, when another run holds the output
        with lake.lock():
            pass
    except PublishLocked as exc:
        print(f"newsgate run: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    lake.latest_release_id()  # fail fast, too, on a lost LATEST (HistoryBroken: see _explain)
    print(f"newsgate run: {n_files} files from {', '.join(args.sources)} ({n_excluded} excluded) "
          f"into {args.out}", flush=True)
    # the run id is made inside the flow: the log starts here and moves into its run's folder
    pending = Path(args.out) / "runs" / f".run-{os.getpid()}.log"
    try:
        result = _run_flow(args, pending)
        if isinstance(result, BaseException):  # the flow crashed before it could report
            raise result
    except Exception as exc:  # or Prefect itself failed (e.g. its server did not start)
        print(f"FAILED: nothing was published: {type(exc).__name__}: {_one_line(exc)}\n"
              f"log     {pending}", file=sys.stderr)
        return EXIT_FAILED
    log = lake.run_dir(result["run_id"]) / "run.log" if result.get("run_id") else pending
    if pending.exists() and log != pending:
        log.parent.mkdir(parents=True, exist_ok=True)
        os.replace(pending, log)
    return _summary(result, result["report"], log, args.debug)


def _summary(result: dict, report: str | None, log: Path, debug: bool) -> int:
    """The run's outcome, once: on stdout when it published, on stderr when it did not. (A
    report that could not be written is a warning the run logged.)"""
    status = result["status"]
    paths = f"report  {report or '(not written)'}\nlog     {log}"
    if status == "published":
        print(f"release {result['release_id']} published\n{paths}")
    elif status == "unchanged":
        print(f"{result['error']}\nrelease {result['release_id']} (latest, unchanged)\n{paths}")
    elif status == "locked":
        print(f"newsgate run: {result['error']}", file=sys.stderr)
    elif status == "rejected":
        print(f"NOT PUBLISHED: {result['error']}\n{paths}", file=sys.stderr)
    elif status == "blocked":
        gates = "\n".join(f"  - {b}" for b in result["blocked_by"])
        print(f"BLOCKED: nothing was published. Failed gate(s):\n{gates}\n{paths}",
              file=sys.stderr)
    else:
        error = (result["error"] or "").strip()
        shown = error if debug else _one_line(error.splitlines()[-1] if error else "unknown")
        print(f"FAILED: nothing was published: {shown}\n{paths}", file=sys.stderr)
    return EXIT_BY_STATUS.get(status, EXIT_FAILED)


# ------------------------------------------------------------------ reading releases

def _lake(args):
    """The output folder `--out` names, checked: it exists and a run wrote it."""
    from newsgate.tasks.publish import Lake

    out = Path(args.out)
    hint = ""
    if args.command == "export" and out.suffix.lower() in (".csv", ".parquet"):
        hint = f"; to name the exported file, use -o {out}"
    what = "--out names the output folder a run wrote into (default ./data)"
    if not out.exists():
        raise UsageError(f"no newsgate output at {out}: {what}{hint}")
    if not out.is_dir():
        raise UsageError(f"--out {out} is a file: {what}{hint}")
    if not any((out / part).is_dir() for part in ("releases", "runs", "lake")):
        raise UsageError(f"{out} is not a newsgate output folder (no releases, runs or lake "
                         f"in it): {what}")
    return Lake(out)


def _open(args, release: str | None):
    """The release `release` names; with --verify, `args.table`'s files checked first."""
    from newsgate.releases import Release, resolve_release

    lake = _lake(args)
    manifest = lake.manifest(resolve_release(lake, release),
                             uncommitted=getattr(args, "uncommitted", False))
    if getattr(args, "verify", False) and args.table in manifest["tables"]:
        lake.check(manifest, [args.table])
    return Release(lake, manifest)


def cmd_releases(args) -> int:
    from newsgate.releases import LATEST
    lake = _lake(args)
    releases = lake.releases()
    if not releases:
        print(f"no releases in {args.out} yet")
        return 0
    if "damaged" in releases[-1]:  # LATEST itself: nothing a reader asks for can be read
        from newsgate.tasks.publish import ReleaseCorrupted
        raise ReleaseCorrupted(f"{releases[-1]['damaged']}; newsgate repair --out {args.out} "
                               "points LATEST at the newest release that verifies")
    for m in releases:
        mark = "*" if m is releases[-1] else " "
        if "damaged" in m:
            print(f"{mark} {m['release_id']}  DAMAGED: {printable(m['damaged'])}")
            continue
        rows = ", ".join(f"{t}={e.get('rows')}" for t, e in m["tables"].items())
        print(printable(f"{mark} {m['release_id']}  {m.get('created_at')}  {rows}"))
        for line in _review_lines(m.get("review")):
            print(printable(f"    {line}"))
    print(f"(* = {LATEST})")
    return 0


def _review_lines(review: dict | None) -> list[str]:
    """A release's review decision and its waivers, one line each."""
    if not review or not review.get("by"):  # no person decided (no review, or skipped)
        return []
    why = f": {review['comment']}" if review.get("comment") else ""
    lines = [f"review: {review.get('decision')} by {review['by']} at {review.get('at')}{why}"]
    lines += [f"accepted {w['check']} by {w.get('reviewer')} at {w.get('at')}: {w.get('comment')}"
              for w in review.get("waivers", [])]
    return lines


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


def cmd_show(args) -> int:
    import pandas as pd
    release = _open(args, args.release)
    df = release.to_pandas(args.table)
    with pd.option_context("display.max_columns", 20, "display.width", 200,
                           "display.max_colwidth", 40):
        if args.limit:
            print(df.head(args.limit).map(printable).rename(columns=printable).to_string())
    print(f"({len(df)} rows of {args.table} in {release.release_id})")
    return 0


def cmd_export(args) -> int:
    release = _open(args, args.release)
    if args.table is None:
        if args.format == "csv":
            raise UsageError("a whole release exports as Parquet (a file per table); give a "
                             "TABLE to export CSV")
        folder = Path(args.output or release.release_id)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise UsageError(f"-o {folder} exists and is not an empty folder; give a new folder")
        release.export(folder)
        print(f"wrote release {release.release_id} to {folder}: {len(release)} tables as "
              "Parquet and manifest.json")
        return 0
    target, fmt = _export_target(args)
    table = release[args.table]  # checks the table before anything is written
    if fmt == "csv":
        release.to_pandas(args.table).to_csv(target, index=False)
    else:
        import pyarrow.parquet as pq
        pq.write_table(table, target)
    print(f"wrote {table.num_rows} rows of {args.table} ({release.release_id}) to {target}")
    return 0


def _export_target(args) -> tuple[Path, str]:
    """Where one table goes and in which format: --format, else -o's suffix."""
    output = Path(args.output) if args.output else None
    suffix = output.suffix.lower().lstrip(".") if output and not output.is_dir() else ""
    if args.format and suffix in FORMATS and suffix != args.format:
        raise UsageError(f"-o {output} ends in .{suffix} but --format is {args.format}; "
                         "make them agree")
    fmt = args.format or (suffix if suffix in FORMATS else None)
    if fmt is None:
        raise UsageError("give --format csv or --format parquet (or an -o name ending in "
                         ".csv or .parquet)")
    if output is None or output.is_dir():
        return (output or Path()) / f"{args.table}.{fmt}", fmt
    return output, fmt


DIFF_COLUMNS = ("added", "removed", "changed", "unchanged")


def cmd_diff(args) -> int:
    from newsgate.tasks.release_diff import diff_releases
    old, new = _open(args, args.r1), _open(args, args.r2)
    print(f"rows of {new.release_id} against {old.release_id}")
    print(f"{'table':<14}" + "".join(f"{c:>11}" for c in DIFF_COLUMNS))
    for table, d in diff_releases(old.lake, old.release_id, new.release_id,
                                  uncommitted=args.uncommitted).items():
        print(f"{table:<14}" + "".join(f"{d[c]:>11}" for c in DIFF_COLUMNS))
    print("changed: same key, other values (tables without a key count a changed row as one "
          "removed and one added)")
    return 0


def cmd_report(args) -> int:
    runs = _lake(args).root / "runs"
    reports = sorted(runs.glob("*/report.html"), key=lambda p: p.stat().st_mtime)
    if not reports:
        raise UsageError(f"no run reports in {runs} yet")
    if args.run is None:
        print(reports[-1])
        return 0
    path = runs / args.run / "report.html"
    if not path.is_file():
        recent = ", ".join(p.parent.name for p in reports[-3:])
        raise UsageError(f"no run {args.run} in {runs}; latest runs: {recent}")
    print(path)
    return 0


def cmd_verify(args) -> int:
    lake = _lake(args)
    release = _open(args, args.release)
    found = lake.verify(release.release_id, uncommitted=args.uncommitted)
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


def _pending_run(args) -> Path:
    from newsgate.tasks.waivers import pending_runs
    runs = _lake(args).root / "runs"
    waiting = pending_runs(runs)
    if args.run:
        chosen = runs / args.run
        if chosen not in waiting:
            shown = ", ".join(p.name for p in waiting) or "none"
            raise UsageError(f"run {args.run} is not awaiting review; runs awaiting review: {shown}")
        return chosen
    if not waiting:
        raise UsageError(f"no run in {runs} is awaiting review (a run waits when its warnings "
                         "exceed --max-warnings)")
    return waiting[-1]


def cmd_review(args) -> int:
    import getpass

    from newsgate.tasks import waivers
    if args.action == "pending":
        waiting = waivers.pending_runs(_lake(args).root / "runs")
        for run_dir in waiting:
            print(f"{run_dir.name}  report {run_dir / 'report.html'}")
            for check in waivers.warned_checks(run_dir):
                print(printable(f"  {check}"))
        print(f"({len(waiting)} runs awaiting review)")
        return 0
    run_dir = _pending_run(args)
    try:
        waiver = waivers.accept(run_dir, args.check, args.comment, args.reviewer or getpass.getuser(),
                                via="newsgate review accept")
    except waivers.WaiverError as exc:
        raise UsageError(str(exc)) from None
    print(printable(f"accepted {waiver['check']} for run {run_dir.name} by {waiver['reviewer']}: "
                    f"{waiver['comment']}"))
    print("the run records it when its review ends (the prompt's answer, or the resume)")
    return 0


def cmd_quarantine(args) -> int:
    release = _open(args, args.release)
    rows = release.to_pandas("quarantine")
    reasons = rows["reason"].fillna("").value_counts()
    if args.reason is not None:
        wanted = [r for r in reasons.index if args.reason.lower() in r.lower()]
        if not wanted:
            shown = "; ".join(reasons.index) or "none"
            raise UsageError(f"no quarantine reason contains {args.reason} in "
                             f"{release.release_id}; reasons: {shown}")
        reasons = reasons[wanted]
    for reason, n in reasons.items():
        print(printable(f"{reason}: {n} rows"))
        group = rows[rows["reason"].fillna("") == reason].head(args.limit)
        for r in group.itertuples():
            print(printable(f"  {r.stage or ''} {r.source or r.doc_id or ''}: {r.detail or ''}"))
        if n > args.limit:
            print(f"  … {n - args.limit} more (--limit N shows more)")
    print(f"({int(reasons.sum())} of {len(rows)} quarantined rows in {release.release_id})")
    return 0


def cmd_repair(args) -> int:
    print(_lake(args).repair())
    return 0


def cmd_maintain(args) -> int:
    for line in _lake(args).maintain(keep=args.keep):
        print(line)
    return 0


COMMANDS = {"run": cmd_run, "releases": cmd_releases, "show": cmd_show, "export": cmd_export,
            "diff": cmd_diff, "report": cmd_report, "verify": cmd_verify, "repair": cmd_repair,
            "review": cmd_review, "quarantine": cmd_quarantine, "maintain": cmd_maintain}


# ------------------------------------------------------------------ errors

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    where = "newsgate"
    try:
        args = _parser().parse_args(argv)
        where = f"newsgate {args.command}"
        return COMMANDS[args.command](args)
    except UsageError as exc:  # includes argparse's (prefixed with the command already)
        message = str(exc)
        print(message if message.startswith("newsgate") else f"{where}: {message}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code, message = _explain(exc)
        print(f"{where}: {message}", file=sys.stderr)
        if "--debug" in argv:
            traceback.print_exc()
        return code


def _explain(exc: Exception) -> tuple[int, str]:
    """The exit code and the one line for an error raised by a command."""
    from newsgate.releases import TableNotFound
    from newsgate.tasks.publish import LakeError, PublishLocked, ReleaseNotFound

    if isinstance(exc, (ReleaseNotFound, TableNotFound)):  # asked for what is not there
        return EXIT_USAGE, _one_line(exc)
    if isinstance(exc, PublishLocked):
        return EXIT_LOCKED, _one_line(exc)
    if isinstance(exc, LakeError):
        return EXIT_FAILED, _one_line(exc)
    if isinstance(exc, OSError) and exc.filename:
        return EXIT_FAILED, f"cannot use {exc.filename}: {exc.strerror or exc}"
    return EXIT_FAILED, (f"unexpected error: {type(exc).__name__}: {_one_line(exc)} "
                         "(--debug shows the traceback)")


if __name__ == "__main__":
    sys.exit(main())
