"""The deployment end to end: a real `prefect server start` with its scheduler on, the work
pool, `prefect deploy`, a process worker, and runs of `newsgate/daily` through it (issues 6, 15).

One server, pool, deployment and worker for the module (started once, ~30 s):

1. the server's scheduler (loop of 1 s here) creates the daily runs of `newsgate/daily` at
   06:00 Asia/Shanghai; the cron schedule is then switched off, before any worker exists, so
   no 06:00 run can fire into the checkout's data/ during a test;
2. the deployment run by the README's command (only `out`/`sources` overridden): a release;
3. a schedule added with `out` overridden fires within seconds and runs through the worker;
4. a run that needs review (`max_warnings=-1`): PAUSED, resumed with approve=true → a release;
5. the same, resumed with approve=false → a red `Rejected` state, nothing published;
6. the server's log holds no error (SQLAlchemy 2.1 broke the scheduler with one every loop).

Everything runs against loopback with its own PREFECT_HOME; every process started here (server,
worker, and the worker's flow-run processes, which Prefect puts in their own sessions) is killed
in teardown, also when a test fails. Run with `-s` to see the timings.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from conftest import CONTRACT

from newsgate.tasks.publish import Lake

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEPLOYMENT = "newsgate/daily"
SERVER_TIMEOUT_S = 120
RUN_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ processes

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), including those in other sessions."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _stop(proc: subprocess.Popen | None, grace_s: float = 10) -> None:
    """SIGTERM the process group, SIGKILL what is left, and every descendant (own sessions too)."""
    if proc is None:
        return
    descendants = _descendants(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        with _ignore_gone():
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    with _ignore_gone():
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in descendants:
        with _ignore_gone():
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


class _ignore_gone:
    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        return typ is not None and issubclass(typ, (ProcessLookupError, PermissionError))


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _isolated_env(home: Path, api_url: str) -> dict[str, str]:
    """This process's environment minus any PREFECT_* (user profile, CI), plus a fresh home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        # the scheduler on, looping every 5 s (not every 60 s) and looking at newly changed
        # deployments every second, so a test sees its runs soon; the `daily_schedule` fixture
        # switches the 06:00 cron off before any worker starts
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"prefect server not healthy at {url} after {timeout_s:.0f} s:\n{_tail(log)}")


def _prefect(env: dict, *args: str, timeout_s: float = 120) -> str:
    try:
        done = subprocess.run([PREFECT, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"`prefect {' '.join(args)}` took more than {timeout_s} s") from exc
    assert done.returncode == 0, (
        f"`prefect {' '.join(args)}` exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


# ------------------------------------------------------------------ the stack

class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.env = _isolated_env(tmp / "prefect-home", self.api_url)
        self.server_log = tmp / "server.log"
        self.worker_log = tmp / "worker.log"
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen:
        fh = open(log, "w", encoding="utf-8")
        try:
            return subprocess.Popen([PREFECT, *args], cwd=ROOT, env=self.env, stdout=fh,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        finally:
            fh.close()

    def start(self) -> None:
        t0 = time.perf_counter()
        self.server = self._spawn(["server", "start", "--host", "127.0.0.1",
                                   "--port", str(self.port)], self.server_log)
        _wait_healthy(self.server, f"{self.api_url}/health", self.server_log, SERVER_TIMEOUT_S)
        self.timings["server start"] = time.perf_counter() - t0

        # the README's commands (deployments/README.md), from the repository root
        t0 = time.perf_counter()
        _prefect(self.env, "work-pool", "create", "newsgate-pool", "--type", "process")
        _prefect(self.env, "--no-prompt", "deploy", "--all",
                 "--prefect-file", "deployments/prefect.yaml")
        self.timings["pool + deploy"] = time.perf_counter() - t0

    def start_worker(self) -> None:
        self.worker = self._spawn(["worker", "start", "--pool", "newsgate-pool",
                                   "--type", "process"], self.worker_log)

    def stop(self) -> None:
        try:
            _stop(self.worker, grace_s=5)  # first: it owns the flow-run processes
        finally:
            _stop(self.server, grace_s=10)

    # ------------------------------------------------------------ client helpers
    def client(self):
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        class _Client:
            def __enter__(inner):
                inner.settings = temporary_settings({PREFECT_API_URL: self.api_url})
                inner.settings.__enter__()
                inner.client = get_client(sync_client=True)
                return inner.client.__enter__()

            def __exit__(inner, *exc):
                try:
                    inner.client.__exit__(*exc)
                finally:
                    inner.settings.__exit__(*exc)

        return _Client()

    def wait_state(self, flow_run_id: UUID, done, what: str, timeout_s: float = RUN_TIMEOUT_S):
        deadline = time.monotonic() + timeout_s
        state = None
        with self.client() as client:
            while time.monotonic() < deadline:
                if self.worker is not None and self.worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with {self.worker.returncode}:\n"
                                       f"{_tail(self.worker_log)}")
                state = client.read_flow_run(flow_run_id).state
                if state is not None and (done(state) or state.is_final()):
                    return state
                time.sleep(1)
        raise TimeoutError(f"flow run {flow_run_id} not {what} after {timeout_s:.0f} s "
                           f"(last state {state!r}); worker log:\n{_tail(self.worker_log)}")

    def trigger(self, **parameters) -> UUID:
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}):
            run = run_deployment(DEPLOYMENT, parameters=parameters, timeout=0, as_subflow=False)
        return run.id

    def resume(self, flow_run_id: UUID, **run_input) -> None:
        from prefect.flow_runs import resume_flow_run
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}):
            resume_flow_run(flow_run_id, run_input=run_input)

    def scheduled_runs(self, client, deployment_id: UUID) -> list:
        from prefect.client.schemas.filters import (
            FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState, FlowRunFilterStateType)
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        return client.read_flow_runs(flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC)

    def wait_scheduled(self, client, deployment_id: UUID, at_least: int,
                       timeout_s: float = 60) -> list:
        """The scheduled runs of the deployment, once the scheduler has made `at_least`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            runs = self.scheduled_runs(client, deployment_id)
            if len(runs) >= at_least:
                return runs
            time.sleep(0.5)
        raise TimeoutError(f"the scheduler made no runs in {timeout_s:.0f} s; server log:\n"
                           f"{_tail(self.server_log)}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    started = time.perf_counter()
    s = Stack(tmp_path_factory.mktemp("deployment"))
    try:
        s.start()
        yield s
    finally:
        s.stop()
        s.timings["module total"] = time.perf_counter() - started
        print("\n[test_deployment] wall times: " +
              ", ".join(f"{k} {v:.1f} s" for k, v in s.timings.items()))


@pytest.fixture(scope="module")
def daily_schedule(stack):
    """What the scheduler made of the deployment's cron; then the cron is switched off, which
    deletes those runs: nothing scheduled at 06:00 can fire into the checkout's data/."""
    with stack.client() as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        t0 = time.perf_counter()
        runs = stack.wait_scheduled(client, deployment.id, at_least=3)
        stack.timings["first scheduled runs"] = time.perf_counter() - t0
        for schedule in deployment.schedules:
            client.update_deployment_schedule(deployment.id, schedule.id, active=False)
        left = stack.scheduled_runs(client, deployment.id)
    return {"deployment": deployment, "runs": runs, "left": left}


@pytest.fixture(scope="module")
def worker(stack, daily_schedule):
    """The process worker, started only once the daily cron is off."""
    stack.start_worker()
    return stack.worker


@pytest.fixture(scope="module")
def lake_dir(stack) -> Path:
    """The output directory the three runs share (outside the repository)."""
    path = stack.tmp / "lake"
    path.mkdir()
    return path


def _assert_complete_release(lake: Lake, release_id: str) -> dict:
    manifest = lake.manifest(release_id)
    assert sorted(manifest["tables"]) == sorted(CONTRACT)
    for table in CONTRACT:
        rows = manifest["tables"][table]["rows"]
        if table != "quarantine":
            assert rows > 0, f"{table} is empty in {release_id}"
        assert len(lake.read_table(table, release_id)) == rows, table
    return manifest


def _newest_report(lake_dir: Path, before: set[str]) -> str:
    new = [p for p in (lake_dir / "runs").iterdir() if p.name not in before]
    assert len(new) == 1, f"expected one new run directory, got {new}"
    return (new[0] / "report.html").read_text(encoding="utf-8")


def _runs(lake_dir: Path) -> set[str]:
    runs = lake_dir / "runs"
    return {p.name for p in runs.iterdir()} if runs.exists() else set()


# ------------------------------------------------------------------ the scenarios

def test_deployment_is_registered_as_configured(stack):
    with stack.client() as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    assert deployment.entrypoint == "flows/pipeline.py:newsgate"
    assert deployment.work_pool_name == "newsgate-pool"
    assert [s.schedule.cron for s in deployment.schedules] == ["0 6 * * *"]
    assert deployment.schedules[0].schedule.timezone == "Asia/Shanghai"
    assert deployment.parameters == {"sources": ["seeds"], "out": "data", "batch_size": 400,
                                     "review_mode": "auto", "max_warnings": 10}
    # the worker runs the flow from this checkout
    assert deployment.pull_steps == [{"prefect.deployments.steps.set_working_directory": {
        "directory": str(ROOT)}}]


def test_the_scheduler_makes_the_daily_runs(daily_schedule):
    """Scheduled runs of newsgate/daily, every day at 06:00 in Shanghai, with the deployment's
    parameters (with SQLAlchemy 2.1 the scheduler made none: issue 15)."""
    deployment, runs = daily_schedule["deployment"], daily_schedule["runs"]
    [cron] = deployment.schedules
    shanghai = ZoneInfo("Asia/Shanghai")
    starts = [r.expected_start_time.astimezone(shanghai) for r in runs]
    assert all((t.hour, t.minute, t.second) == (6, 0, 0) for t in starts), starts[:5]
    assert all(b - a == timedelta(days=1) for a, b in zip(starts, starts[1:])), starts[:5]
    now = datetime.now(timezone.utc)
    assert now < starts[0] <= now + timedelta(days=1)
    for run in runs:
        assert run.auto_scheduled and run.created_by.type == "SCHEDULE"
        assert run.created_by.id == cron.id
        assert run.parameters == deployment.parameters
    # switching the cron off deleted them: no 06:00 run can reach the worker of these tests
    assert daily_schedule["left"] == []


def test_daily_run_through_the_worker_publishes_a_release(stack, worker, lake_dir):
    t0 = time.perf_counter()
    # the documented command; only the output and the sources are overridden
    out = _prefect(stack.env, "deployment", "run", DEPLOYMENT,
                   "--param", f"out={lake_dir}", "--param", f"sources={json.dumps([str(SEEDS)])}")
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, f"no flow run id in:\n{out}"
    flow_run_id = UUID(match.group(1))

    state = stack.wait_state(flow_run_id, lambda s: s.is_paused(), "finished")
    assert not state.is_paused(), (
        "the daily run paused for review: the seeds now give more than max_warnings=10 warnings")
    assert state.is_completed(), f"{state!r}\n{_tail(stack.worker_log)}"

    lake = Lake(lake_dir)
    release_id = lake.latest_release_id()
    assert release_id, f"no release in {lake_dir}\n{_tail(stack.worker_log)}"
    manifest = _assert_complete_release(lake, release_id)
    assert manifest["tables"]["documents"]["rows"] == 5
    assert manifest["sources"] == [str(SEEDS)]
    stack.timings["daily run"] = time.perf_counter() - t0
    print(f"\n[test_deployment] daily run: {stack.timings['daily run']:.1f} s")


def test_a_schedule_fires_and_its_run_goes_through_the_worker(stack, worker, lake_dir):
    """A schedule of the deployment (every hour from 15 s ahead, writing into the test's
    output): the scheduler makes the run (runs are made for future times only, hence the
    lead), the worker runs it to the end."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import IntervalSchedule

    t0 = time.perf_counter()
    runs_before = _runs(lake_dir)
    first = datetime.now(timezone.utc) + timedelta(seconds=15)
    with stack.client() as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        [schedule] = client.create_deployment_schedules(deployment.id, [DeploymentScheduleCreate(
            schedule=IntervalSchedule(interval=timedelta(hours=1), anchor_date=first),
            active=True, parameters={"out": str(lake_dir), "sources": [str(SEEDS)]})])
        try:
            runs = stack.wait_scheduled(client, deployment.id, at_least=1)
            fired = runs[0]
            assert fired.created_by.id == schedule.id and fired.auto_scheduled
            assert fired.parameters["out"] == str(lake_dir)
            assert abs(fired.expected_start_time - first) < timedelta(seconds=1)
            state = stack.wait_state(fired.id, lambda s: False, "finished")
        finally:  # its later runs (one an hour) must not outlive the test
            client.update_deployment_schedule(deployment.id, schedule.id, active=False)
    assert state.is_completed(), f"{state!r}\n{_tail(stack.worker_log)}"
    # published, or `unchanged` after the daily run of the same seeds: a report either way
    report = _newest_report(lake_dir, runs_before)
    assert "published" in report or "unchanged" in report
    assert Lake(lake_dir).latest_release_id()
    stack.timings["scheduled run"] = time.perf_counter() - t0


def _new_page(stack, name: str) -> str:
    """A page the lake has not seen (a re-run of published input has nothing to review)."""
    seed = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    path = stack.tmp / f"new-{name}.txt"
    path.write_text(seed + f"\n\n{name}：全省项目建设稳步推进。\n", encoding="utf-8")
    return str(path)


def test_review_pause_approved_publishes(stack, worker, lake_dir):
    t0 = time.perf_counter()
    before = Lake(lake_dir).latest_release_id()  # the daily run's (None when run alone)
    runs_before = _runs(lake_dir)
    # any warning count exceeds -1: review_mode auto pauses in a deployment run
    flow_run_id = stack.trigger(out=str(lake_dir), sources=[str(SEEDS), _new_page(stack, "approved")],
                                max_warnings=-1, review_timeout_s=RUN_TIMEOUT_S)
    state = stack.wait_state(flow_run_id, lambda s: s.is_paused(), "paused")
    assert state.is_paused(), f"expected PAUSED for review, got {state!r}"
    assert Lake(lake_dir).latest_release_id() == before, "published before the review"

    # Prefect records no user for a resume: the reviewer states who they are, and must
    with pytest.raises(RuntimeError, match="reviewer"):
        stack.resume(flow_run_id, approve=True)
    stack.resume(flow_run_id, approve=True, reviewer="李审核", comment="warnings read")
    state = stack.wait_state(flow_run_id, lambda s: False, "finished")
    assert state.is_completed(), f"{state!r}\n{_tail(stack.worker_log)}"

    lake = Lake(lake_dir)
    after = lake.latest_release_id()
    assert after and after != before, "the approved run did not publish"
    manifest = _assert_complete_release(lake, after)
    assert manifest["previous"] == before
    review = manifest["review"]
    assert (review["decision"], review["by"], review["comment"]) == (
        "approved", "李审核", "warnings read")
    assert "resume input" in review["via"]
    assert "published" in _newest_report(lake_dir, runs_before)
    stack.timings["review approved"] = time.perf_counter() - t0
    print(f"\n[test_deployment] review approved: {stack.timings['review approved']:.1f} s")


def test_review_pause_rejected_publishes_nothing_and_reads_rejected(stack, worker, lake_dir):
    t0 = time.perf_counter()
    lake = Lake(lake_dir)
    before = lake.latest_release_id()  # None when run alone
    manifests_before = sorted(p.name for p in lake.releases_dir.glob("*.json"))
    runs_before = _runs(lake_dir)

    flow_run_id = stack.trigger(out=str(lake_dir), sources=[str(SEEDS), _new_page(stack, "rejected")],
                                max_warnings=-1, review_timeout_s=RUN_TIMEOUT_S)
    state = stack.wait_state(flow_run_id, lambda s: s.is_paused(), "paused")
    assert state.is_paused(), f"expected PAUSED for review, got {state!r}"

    stack.resume(flow_run_id, approve=False, reviewer="王编辑", comment="too many warnings")
    state = stack.wait_state(flow_run_id, lambda s: False, "finished")
    # not green in the UI: a red state named Rejected, saying by whom and why
    assert state.is_failed() and state.name == "Rejected", f"{state!r}\n{_tail(stack.worker_log)}"
    assert "王编辑" in state.message and "too many warnings" in state.message
    assert lake.latest_release_id() == before
    assert sorted(p.name for p in lake.releases_dir.glob("*.json")) == manifests_before
    if before:
        _assert_complete_release(lake, before)
    report = _newest_report(lake_dir, runs_before)
    assert "rejected" in report
    stack.timings["review rejected"] = time.perf_counter() - t0
    print(f"\n[test_deployment] review rejected: {stack.timings['review rejected']:.1f} s")


# where a record of the server's log starts: Prefect's "12:00:00.000 | LEVEL |", uvicorn's
# "LEVEL:"; the lines up to the next one (a traceback) belong to it
RECORD = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3} \||[A-Z]+:\s)")
# SQLite refusing a write while another holds the database, on a starved CPU: Prefect's own
# contention (a worker heartbeat not stored, sent again a moment later), reported, not failed
CONTENTION = "database is locked"


def _records(log: str) -> list[str]:
    records: list[list[str]] = []
    for line in log.splitlines():
        if RECORD.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return ["\n".join(r) for r in records]


def test_the_server_log_has_no_errors(stack, daily_schedule):
    """Last in the module: every scheduler loop so far (one every 5 s) ran without an error."""
    errors = [r for r in _records(stack.server_log.read_text(encoding="utf-8", errors="replace"))
              if re.search(r"\b(ERROR|CRITICAL)\b|Traceback|Exception", r)]
    contention = [r for r in errors if CONTENTION in r]
    if contention:
        print(f"\n[test_deployment] {len(contention)} SQLite lock errors in the server log "
              f"(contention on a busy machine):\n{contention[0].splitlines()[0]}")
    errors = [r for r in errors if CONTENTION not in r]
    assert not errors, "\n\n".join(errors[:5])
