"""The report in a real headless Chromium: it renders, logs no console error, executes nothing
from the data (escaped <script>/<img onerror> payloads stay text), reads as a decision (the
attention list first, above the fold; the change section naming the previous release; no raw
missing values; no broken link, in the report or the Data Docs), and screenshots are saved."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, SEEDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
SCREENSHOT_DIR = Path(os.environ.get("NEWSGATE_SCREENSHOTS", Path(__file__).parent / "artifacts"))


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(harness, tmp_path_factory) -> Path:
    from newsgate.flows.pipeline import newsgate
    src = tmp_path_factory.mktemp("src")
    for f in (SEEDS / "004_565aa33160096c90.txt", SEEDS / "002_b6da46b685f43c6f.txt",
              FIXTURES / "report" / "script_title.html"):
        shutil.copy(f, src / f.name)
    out = tmp_path_factory.mktemp("out")
    result = newsgate(sources=[str(src)], out=str(out), review_mode="skip")
    assert result["status"] == "published", result
    return Path(result["report"])


def test_report_renders_without_console_errors_and_runs_no_payload(report, tmp_path):
    url = report.resolve().as_uri()
    dom = _chromium(url, tmp_path / "p1", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "newsgate run" in html and "Gates" in html and "Funnel" in html
    # the payload is in the page as text, and no element was created from it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<script[^>]*>\s*alert", html)
    assert not re.search(r"<img[^>]+onerror", html)
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [c for c in console if re.search(r"error|Uncaught", c, re.I)], console

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "report.png"
    taken = _chromium(url, tmp_path / "p2", "--window-size=1280,2400", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.stat().st_size > 20_000, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ the decision screen

def _local_links_broken(page: Path) -> list[str]:
    """Local href/src targets of an HTML file that do not exist (anchors and URLs aside)."""
    text = page.read_text(encoding="utf-8")
    targets = re.findall(r'(?:href|src)="([^"#]+)', text)
    return [t for t in targets if not re.match(r"[a-z]+:", t) and not (page.parent / t).exists()]


LAPTOP, DESKTOP = (1366, 768), (1400, 900)


def test_the_report_of_a_second_release_reads_as_a_decision(seed_releases, tmp_path):
    """A run on top of an earlier release: the change section names it, the attention list
    comes first and starts above the fold at 1400x900, no cell shows nan/None/NaT, and every
    link of the report and of the GX Data Docs resolves to a file that exists."""
    from cdp import Chromium
    from newsgate.tasks.publish import Lake

    manifest = Lake(seed_releases).manifest()
    report = Path(manifest["report"])
    previous = manifest["previous"]
    assert previous
    with Chromium(tmp_path / "profile") as page:
        page.load(report.resolve().as_uri(), *DESKTOP)
        sections = page.evaluate("[...document.querySelectorAll('section')].map(s => s.id)")
        assert sections[:4] == ["verdict", "attention", "changes", "funnel"]
        assert previous in page.evaluate("document.querySelector('#changes h2').textContent")
        assert page.evaluate("document.querySelectorAll('#changes td').length") > 0
        top = page.evaluate("document.querySelector('#attention h2').getBoundingClientRect().bottom")
        first = page.evaluate("(document.querySelector('#attention li') || "
                              "document.querySelector('#attention p')).getBoundingClientRect().top")
        assert top < DESKTOP[1] and first < DESKTOP[1], (top, first)
        cells = page.evaluate("[...document.querySelectorAll('td, th')].map(c => c.textContent)")
        raw = [c for c in cells if re.search(r"\b(nan|NaN|None|NaT)\b|<NA>", c)]
        assert len(cells) > 50 and not raw, raw[:5]
        links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        anchors = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
        assert not page.console_errors()
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(SCREENSHOT_DIR / "report-desktop.png")
        page.load(report.resolve().as_uri(), *LAPTOP)
        assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP[0]  # no sideways scroll
        page.screenshot(SCREENSHOT_DIR / "report-laptop.png")
    assert links
    for link in links:
        target, _, anchor = link.partition("#")
        if target == report.resolve().as_uri():
            assert anchor in anchors, link
        else:
            assert target.startswith("file://") and Path(target[7:]).is_file(), link
    docs = report.parent / "data_docs"
    pages = list(docs.rglob("*.html"))
    assert any("/validations/" in str(p) for p in pages) and any("/expectations/" in str(p) for p in pages)
    assert not {str(p.relative_to(docs)): b for p in pages if (b := _local_links_broken(p))}
