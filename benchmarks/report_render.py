"""The run report in headless Chromium: its size and how long it takes to render (issue 18).

    .venv/bin/newsgate run ../shared/corpus/bench --out /tmp/bench --no-review
    .venv/bin/python benchmarks/report_render.py --out /tmp/bench [--repeat 5]

Targets: report.html < 2 MB, rendered (the load event, layout and first paint done) in < 2 s at
1400x900. Each load is in a fresh page; the median of `--repeat` loads is reported with the
largest. Needs Debian's `chromium`. Exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from cdp import CHROMIUM, Chromium  # noqa: E402

MAX_BYTES = 2_000_000
MAX_SECONDS = 2.0
# the page's own clock: navigation start to the end of the load event, then the first paint
TIMING = ("(() => { const n = performance.getEntriesByType('navigation')[0];"
          " const p = performance.getEntriesByType('paint').map(e => e.startTime);"
          " return [n.loadEventEnd, Math.max(0, ...p)]; })()")


def newest_report(out: Path) -> Path:
    reports = sorted(Path(out).glob("runs/*/report.html"), key=lambda p: p.stat().st_mtime)
    if not reports:
        sys.exit(f"no runs/*/report.html under {out}")
    return reports[-1]


def measure(report: Path, repeat: int) -> list[float]:
    """Seconds to render `report`, once per fresh page."""
    seconds = []
    with tempfile.TemporaryDirectory() as profile, Chromium(Path(profile)) as page:
        for _ in range(repeat):
            page.load("about:blank", 1400, 900)
            page.load(report.resolve().as_uri(), 1400, 900)
            load_end, first_paint = page.evaluate(TIMING)
            seconds.append(max(load_end, first_paint) / 1000)
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="data", help="a newsgate output folder (its newest report)")
    ap.add_argument("--report", default=None, help="a report.html (instead of --out's newest)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    report = Path(args.report) if args.report else newest_report(Path(args.out))
    size = report.stat().st_size
    rows = sorted(p for p in (report.parent / "rows").glob("*.csv"))
    seconds = measure(report, args.repeat)
    median = statistics.median(seconds)
    print(f"report     {report}")
    print(f"size       {size / 1e6:.2f} MB (target < {MAX_BYTES / 1e6:.0f} MB); "
          f"{len(rows)} rows/ files, {sum(p.stat().st_size for p in rows) / 1e6:.2f} MB")
    print(f"render     median {median:.2f} s, max {max(seconds):.2f} s over {len(seconds)} loads "
          f"(target < {MAX_SECONDS:.0f} s)")
    return 0 if size < MAX_BYTES and median < MAX_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
