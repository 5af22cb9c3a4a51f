"""The report in a real headless Chromium: it renders, logs no console error, executes nothing
from the data (escaped <script>/<img onerror> payloads stay text), and a screenshot is saved."""
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
