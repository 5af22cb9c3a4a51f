"""`newsgate run` as a terminal shows it (issue 15): stage progress and the summary, at most 25
lines for the seeds; Prefect's per-task logs in the run's run.log (and on the terminal with
-v); a failure reported once, with the log's path; excluded sources counted.

The runs are the installed command in a subprocess, talking to the session's Prefect server
(the `harness` fixture), so none starts a temporary server of its own.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsgate.tasks.publish import Lake

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
PREFECT_LINE = re.compile(r"Task run|Flow run|Finished in state|\| INFO|Traceback")

pytestmark = pytest.mark.slow


def _newsgate(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONUNBUFFERED": "1",
                "PREFECT_HOME": str(cwd / "prefect-home"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    script = Path(sys.executable).with_name("newsgate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]
    return subprocess.run([*command, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture
def source(tmp_path) -> Path:
    """The seeds, with an answer folder and notes beside them that are not news."""
    folder = tmp_path / "feed"
    shutil.copytree(SEEDS, folder)
    (folder / "_gold").mkdir()
    (folder / "_gold" / "001_answers.txt").write_text("标注答案", encoding="utf-8")
    (folder / "notes.md").write_text("编辑说明", encoding="utf-8")
    (folder / ".newsgateignore").write_text("*.md\n", encoding="utf-8")
    return folder


def test_a_run_prints_progress_and_the_summary_and_logs_the_rest(harness, tmp_path, source):
    out = tmp_path / "out"
    done = _newsgate("run", str(source), "--exclude", "_gold/*", "--out", str(out),
                     "--no-review", cwd=tmp_path)
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) <= 25, shown
    assert not PREFECT_LINE.search(shown), shown
    # the header counts what --exclude and .newsgateignore left out
    assert lines[0] == f"newsgate run: 5 files from {source} (3 excluded) into {out}"
    stages = [line.split()[0] for line in lines[1:] if line.startswith("  ")]
    for stage in ("ingest", "clean", "dedup", "extract", "aggregate", "publish"):
        assert stage in stages, shown
    release = Lake(out).latest_release_id()
    assert lines[-3] == f"release {release} published"
    report, log = Path(lines[-2].split()[1]), Path(lines[-1].split()[1])
    assert report.is_file() and log == report.parent / "run.log"
    logged = log.read_text(encoding="utf-8")
    assert "task run ingest" in logged and "gate documents" in logged  # the terminal was spared
    assert "excluded files" in report.read_text(encoding="utf-8")
    assert Lake(out).manifest()["tables"]["documents"]["rows"] == 5
    assert not list((out / "runs").glob(".run-*.log"))  # the log moved into its run's folder

    # -v: Prefect's own log on the terminal too (a re-run of the same input: nothing new)
    again = _newsgate("run", str(source), "--exclude", "_gold/*", "--out", str(out),
                      "--no-review", "-v", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Task run" in again.stderr and "Finished in state" in again.stderr
    assert f"release {release} (latest, unchanged)" in again.stdout


def test_a_failure_is_reported_once_with_the_log(harness, tmp_path, monkeypatch, capsys):
    import newsgate.tasks.aggregate as aggregate
    from newsgate.flows.cli import EXIT_FAILED, main

    def broken(*args, **kwargs):
        raise RuntimeError("region totals exploded")

    monkeypatch.setattr(aggregate, "region_stats", broken)
    out = tmp_path / "out"
    assert main(["run", str(SEEDS / "004_565aa33160096c90.txt"), "--out", str(out),
                 "--no-review"]) == EXIT_FAILED
    printed, err = capsys.readouterr()
    assert printed.startswith("newsgate run: 1 files")  # the progress up to the failure
    assert err.count("region totals exploded") == 1 and "Traceback" not in printed + err
    first, report, log = err.splitlines()
    assert first == "FAILED: nothing was published: RuntimeError: region totals exploded"
    log = Path(log.split()[1])
    assert log.name == "run.log" and Path(report.split()[1]).parent == log.parent
    assert "Traceback" in log.read_text(encoding="utf-8")  # the detail is in the log
    assert Lake(out).latest_release_id() is None
