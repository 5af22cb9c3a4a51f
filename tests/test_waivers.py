"""Waivers: a reviewer accepts a warned check, with a comment, before a pending run resumes;
the release manifest, `newsgate releases` and the report show it. Round trips from the command
line (a real `newsgate run` waiting at its terminal prompt) and through the Prefect pause form
(a real server: the session's test harness)."""
from __future__ import annotations

import json
import os
import pty
import select
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SEEDS
from newsgate.flows.cli import main
from newsgate.tasks import waivers

SEED_FILES = [str(SEEDS / "004_565aa33160096c90.txt"), str(SEEDS / "001_129ccc3f4079c8cb.txt")]


def test_a_waiver_needs_a_pending_run_a_warned_check_and_a_comment(tmp_path):
    runs = tmp_path / "runs"
    run = runs / "run-1"
    run.mkdir(parents=True)
    with pytest.raises(waivers.WaiverError, match="not waiting for review"):
        waivers.accept(run, "projects.x", "ok", "王编辑", "test")
    waivers.mark_pending(run, "run-1", ["projects.expect_a(b)", "articles.c"])
    with pytest.raises(waivers.WaiverError, match="its warned checks: projects.expect_a\\(b\\); articles.c"):
        waivers.accept(run, "projects.other", "ok", "王编辑", "test")
    with pytest.raises(waivers.WaiverError, match="needs a comment"):
        waivers.accept(run, "articles.c", "  ", "王编辑", "test")
    waivers.accept(run, "articles.c", "first", "王编辑", "test")
    waivers.accept(run, "articles.c", "second thoughts", "李审核", "test")  # replaces
    kept = waivers.read_waivers(run)
    assert [(w["check"], w["comment"], w["reviewer"]) for w in kept] == [
        ("articles.c", "second thoughts", "李审核")]
    assert waivers.pending_runs(runs) == [run]
    waivers.end_pending(run)
    assert waivers.pending_runs(runs) == []


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _releases_output(out: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["releases", "--out", str(out)]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(pty, "fork"), reason="needs a pseudo-terminal")
def test_cli_round_trip_accept_then_publish(tmp_path, capsys):
    """`newsgate run --max-warnings 0` on a terminal waits at its prompt; `newsgate review
    accept` records a waiver; answering y publishes it into the manifest, and `newsgate
    releases` and the report show it."""
    out = tmp_path / "out"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("CI", None)
    env.pop("PREFECT_API_URL", None)  # its own temporary server, like a user's run
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `newsgate run` with the pty as its terminal
        os.execve(sys.executable, [sys.executable, "-m", "newsgate.flows.cli", "run", *SEED_FILES,
                                   "--out", str(out), "--max-warnings", "0"], env)
    seen = b""

    def read_until(marker: bytes, timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            if select.select([terminal], [], [], 1)[0]:
                try:
                    seen += os.read(terminal, 4096)
                except OSError:
                    break
        assert marker in seen, seen.decode(errors="replace")[-2000:]

    try:
        read_until(b"[y/N]", 300)
        run_dir = _wait_for(lambda: next(iter(waivers.pending_runs(out / "runs")), None), 30,
                            "the pending run")
        check = waivers.warned_checks(run_dir)[0]
        assert main(["review", "accept", "projects.not_a_check", "--comment", "x",
                     "--out", str(out)]) == 2
        assert check in capsys.readouterr().err  # the misuse lists the checks that warned
        assert main(["review", "accept", check, "--comment", "已核对：指标未注明期间属正常",
                     "--reviewer", "王编辑", "--out", str(out)]) == 0
        assert f"accepted {check}" in capsys.readouterr().out
        os.write(terminal, b"y\n")
        read_until(b"published", 300)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")[-2000:]

    manifest = json.loads(next((out / "releases").glob("rel-*.json")).read_text(encoding="utf-8"))
    (waiver,) = manifest["review"]["waivers"]
    assert (waiver["check"], waiver["reviewer"], waiver["via"]) == (check, "王编辑", "newsgate review accept")
    assert manifest["review"]["decision"] == "approved"
    listed = _releases_output(out, capsys)
    assert f"accepted {check} by 王编辑" in listed and "已核对：指标未注明期间属正常" in listed
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert '<span class="state accepted">accepted</span>' in report
    assert "已核对：指标未注明期间属正常" in report
    assert not (run_dir / waivers.PENDING_FILE).exists()


@pytest.mark.slow
def test_pause_form_lists_the_warned_checks_and_records_the_accepted_ones(harness, tmp_path, capsys):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run
    from prefect.input.run_input import keyset_from_paused_state, read_flow_run_input
    from prefect.utilities.asyncutils import run_coro_as_sync

    from newsgate.flows.pipeline import newsgate
    from newsgate.flows.progress import ARTIFACT_KEY

    out = tmp_path / "out"
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(newsgate(
        sources=SEED_FILES, out=str(out), review_mode="pause", max_warnings=0)), daemon=True)
    runner.start()

    async def paused_runs():
        async with get_client() as client:
            return await client.read_flow_runs(flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))

    paused = _wait_for(lambda: run_coro_as_sync(paused_runs()), 600, "a paused run")
    flow_run = paused[0]
    keyset = keyset_from_paused_state(flow_run.state)
    schema = read_flow_run_input(keyset["schema"], flow_run_id=flow_run.id)
    warned = waivers.warned_checks(next(iter(waivers.pending_runs(out / "runs"))))
    options = json.dumps(schema)
    assert warned and all(json.dumps(check) in options for check in warned)  # offered to accept
    resume_flow_run(flow_run.id, run_input={"approve": True, "reviewer": "李审核",
                                            "comment": "期间缺失已知", "accept": warned[:1]})
    runner.join(600)
    assert result.get("status") == "published", result

    review = json.loads((out / "releases" / f"{result['release_id']}.json")
                        .read_text(encoding="utf-8"))["review"]
    assert [(w["check"], w["reviewer"], w["comment"]) for w in review["waivers"]] == [
        (warned[0], "李审核", "期间缺失已知")]
    listed = _releases_output(out, capsys)
    assert f"accepted {warned[0]} by 李审核" in listed
    report = Path(result["report"]).read_text(encoding="utf-8")
    assert "期间缺失已知" in report and '<tr class="accepted">' in report

    async def progress():
        async with get_client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY])))

    # the run's progress artifact reached 100 % (every batch stage done)
    assert any(a.flow_run_id == flow_run.id and float(a.data) == 100.0
               for a in run_coro_as_sync(progress()))
