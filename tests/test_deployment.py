"""The deployment end to end: a real `prefect server start`, the work pool, `prefect deploy`, a
process worker, and runs of `newsgate/daily` through it (issue 6, item 3).

One server, pool, deployment and worker for the module (started once, ~30 s), three runs:

1. the deployment as scheduled daily (only `out`/`sources` overridden): COMPLETED, a release;
2. a run that needs review (`max_warnings=-1`): PAUSED, resumed with approve=true → a new release;
3. the same, resumed with approve=false → COMPLETED, nothing published (LATEST unchanged).

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
from pathlib import Path
from uuid import UUID

import pytest

from newsgate.tasks.publish import Lake

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEPLOYMENT = "newsgate/daily"
CONTRACT = ["documents", "articles", "removals", "clusters", "mentions", "projects",
            "indicators", "visits", "keywords", "region_stats", "quarantine"]
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
        # the deployment's daily cron must never fire a run into the repository's data/ here
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
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

    def resume(self, flow_run_id: UUID, approve: bool) -> None:
        from prefect.flow_runs import resume_flow_run
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}):
            resume_flow_run(flow_run_id, run_input={"approve": approve,
                                                    "comment": "from test_deployment"})


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


def test_daily_run_through_the_worker_publishes_a_release(stack, lake_dir):
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


def _new_page(stack, name: str) -> str:
    """A page the lake has not seen (a re-run of published input has nothing to review)."""
    seed = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    path = stack.tmp / f"new-{name}.txt"
    path.write_text(seed + f"\n\n{name}：全省项目建设稳步推进。\n", encoding="utf-8")
    return str(path)


def test_review_pause_approved_publishes(stack, lake_dir):
    t0 = time.perf_counter()
    before = Lake(lake_dir).latest_release_id()  # the daily run's (None when run alone)
    runs_before = _runs(lake_dir)
    # any warning count exceeds -1: review_mode auto pauses in a deployment run
    flow_run_id = stack.trigger(out=str(lake_dir), sources=[str(SEEDS), _new_page(stack, "approved")],
                                max_warnings=-1, review_timeout_s=RUN_TIMEOUT_S)
    state = stack.wait_state(flow_run_id, lambda s: s.is_paused(), "paused")
    assert state.is_paused(), f"expected PAUSED for review, got {state!r}"
    assert Lake(lake_dir).latest_release_id() == before, "published before the review"

    stack.resume(flow_run_id, approve=True)
    state = stack.wait_state(flow_run_id, lambda s: False, "finished")
    assert state.is_completed(), f"{state!r}\n{_tail(stack.worker_log)}"

    lake = Lake(lake_dir)
    after = lake.latest_release_id()
    assert after and after != before, "the approved run did not publish"
    manifest = _assert_complete_release(lake, after)
    assert manifest["previous"] == before
    assert "published" in _newest_report(lake_dir, runs_before)
    stack.timings["review approved"] = time.perf_counter() - t0
    print(f"\n[test_deployment] review approved: {stack.timings['review approved']:.1f} s")


def test_review_pause_rejected_publishes_nothing(stack, lake_dir):
    t0 = time.perf_counter()
    lake = Lake(lake_dir)
    before = lake.latest_release_id()  # None when run alone
    manifests_before = sorted(p.name for p in lake.releases_dir.glob("*.json"))
    runs_before = _runs(lake_dir)

    flow_run_id = stack.trigger(out=str(lake_dir), sources=[str(SEEDS), _new_page(stack, "rejected")],
                                max_warnings=-1, review_timeout_s=RUN_TIMEOUT_S)
    state = stack.wait_state(flow_run_id, lambda s: s.is_paused(), "paused")
    assert state.is_paused(), f"expected PAUSED for review, got {state!r}"

    stack.resume(flow_run_id, approve=False)
    state = stack.wait_state(flow_run_id, lambda s: False, "finished")
    # a rejection is a decision, not a crash: the flow run completes, publishing nothing
    assert state.is_completed(), f"{state!r}\n{_tail(stack.worker_log)}"
    assert lake.latest_release_id() == before
    assert sorted(p.name for p in lake.releases_dir.glob("*.json")) == manifests_before
    if before:
        _assert_complete_release(lake, before)
    report = _newest_report(lake_dir, runs_before)
    assert "rejected" in report
    stack.timings["review rejected"] = time.perf_counter() - t0
    print(f"\n[test_deployment] review rejected: {stack.timings['review rejected']:.1f} s")
