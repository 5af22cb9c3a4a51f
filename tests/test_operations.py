"""Operating the pipeline (issue 6, item 6): concurrent runs on one output directory, and a run
killed with SIGKILL in the middle of publishing.

Every run here is the real command line (`newsgate run ... --no-review`) in its own process
session. They all talk to the session's one Prefect server (the `harness` fixture), so no
subprocess starts a temporary server of its own. Every process started here is killed in
teardown, also when a test fails.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CONTRACT

from newsgate.tasks.publish import Lake

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
RUN_TIMEOUT_S = 180
COPIES = 10  # the larger input: the five seeds again, COPIES times, each slightly edited
LOCKED_MESSAGE = re.compile(r"is being written by (pid (\d+) on \S+|another run)")
EXIT_LOCKED = 3
EXIT_FAILED = 1

pytestmark = pytest.mark.slow


def _newsgate_command() -> list[str]:
    script = Path(sys.executable).with_name("newsgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]


class Runs:
    """`newsgate run` subprocesses, each in its own session, all stopped at teardown."""

    def __init__(self, tmp: Path, api_url: str):
        self.tmp = tmp
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update({"PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp / "prefect-home"),
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"})
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.logs: dict[int, tuple[Path, Path]] = {}
        self.n = 0

    def start(self, *sources: Path, out: Path, verbose: bool = False) -> subprocess.Popen:
        self.n += 1
        stdout, stderr = self.tmp / f"run{self.n}.out", self.tmp / f"run{self.n}.err"
        with open(stdout, "w") as so, open(stderr, "w") as se:
            proc = subprocess.Popen(
                [*_newsgate_command(), "run", *map(str, sources), "--out", str(out),
                 "--no-review", *(["-v"] if verbose else [])], cwd=ROOT, env=self.env, stdout=so, stderr=se,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        self.logs[proc.pid] = (stdout, stderr)
        return proc

    def wait(self, proc: subprocess.Popen, timeout_s: float = RUN_TIMEOUT_S) -> int:
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            raise TimeoutError(f"newsgate run (pid {proc.pid}) did not finish in {timeout_s} s:\n"
                               f"{self.stderr(proc)[-3000:]}") from None

    def run(self, *sources: Path, out: Path) -> tuple[int, str]:
        proc = self.start(*sources, out=out)
        return self.wait(proc), self.stderr(proc)

    def stdout(self, proc) -> str:
        return self.logs[proc.pid][0].read_text(encoding="utf-8", errors="replace")

    def stderr(self, proc) -> str:
        return self.logs[proc.pid][1].read_text(encoding="utf-8", errors="replace")

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def runs(harness, tmp_path):
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url, "the harness fixture should provide a Prefect server"
    started = time.perf_counter()
    r = Runs(tmp_path, api_url)
    try:
        yield r
    finally:
        r.stop_all()
        print(f"\n[test_operations] wall time {time.perf_counter() - started:.1f} s")


@pytest.fixture(scope="module")
def larger_input(tmp_path_factory) -> Path:
    """COPIES × the seeds, each copy edited (new documents, near-duplicates of the seeds)."""
    path = tmp_path_factory.mktemp("larger-input")
    seeds = sorted(SEEDS.glob("*.txt"))
    for i in range(1, COPIES + 1):
        for seed in seeds:
            text = seed.read_text(encoding="utf-8")
            (path / f"{seed.stem}_copy{i:02d}.txt").write_text(
                text.replace("。", f"（转载{i}）。", 1), encoding="utf-8")
    return path


def _manifests(out: Path) -> list[str]:
    return sorted(p.stem for p in (out / "releases").glob("*.json"))


def _assert_complete(lake: Lake, release_id: str) -> dict:
    manifest = lake.manifest(release_id)
    assert sorted(manifest["tables"]) == sorted(CONTRACT)
    for table in CONTRACT:
        entry = manifest["tables"][table]
        if table != "quarantine":
            assert entry["rows"] > 0, f"{table} is empty in {release_id}"
        assert len(lake.read_table(table, release_id)) == entry["rows"], table
    return manifest


def _wait_for(predicate, what: str, timeout_s: float, interval_s: float = 0.05, procs=()):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"pid {proc.pid} exited ({proc.returncode}) before {what}")
        time.sleep(interval_s)
    raise TimeoutError(f"no {what} after {timeout_s:.0f} s")


# ------------------------------------------------------------------ two runs, one output

def test_two_simultaneous_runs_cannot_both_publish(runs, tmp_path):
    out = tmp_path / "out"
    first, second = runs.start(SEEDS, out=out), runs.start(SEEDS, out=out)
    codes = {first: runs.wait(first), second: runs.wait(second)}

    winners = [p for p, rc in codes.items() if rc == 0]
    losers = [p for p, rc in codes.items() if rc != 0]
    assert len(winners) == 1 and len(losers) == 1, (
        {p.pid: (rc, runs.stderr(p)[-2000:]) for p, rc in codes.items()})
    winner, loser = winners[0], losers[0]
    # exit 3 whether the loser's CLI pre-check saw the lock or, when both passed the
    # pre-check, the loser's flow met it: either way the holder is named
    assert codes[loser] == EXIT_LOCKED, runs.stderr(loser)[-2000:]
    message = LOCKED_MESSAGE.search(runs.stderr(loser))
    assert message, f"no lock message on stderr:\n{runs.stderr(loser)[-2000:]}"
    if message.group(2):
        assert int(message.group(2)) == winner.pid, message.group(0)

    lake = Lake(out)
    assert len(_manifests(out)) == 1, f"two releases: {_manifests(out)}"
    assert lake.latest_release_id() == _manifests(out)[0]
    _assert_complete(lake, lake.latest_release_id())
    print(f"\n[test_operations] simultaneous runs: winner exit 0, loser exit {codes[loser]}")


def _lock_holders(lock_file: Path) -> set[int]:
    """Pids holding an flock on `lock_file`, from /proc/locks (without touching the lock)."""
    try:
        inode = lock_file.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return set()
    holders = set()
    for line in lines:  # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; "->" = waiting
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and "->" not in parts:
            try:
                if int(parts[5].rsplit(":", 1)[1]) == inode:
                    holders.add(int(parts[4]))
            except ValueError:
                continue
    return holders


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
def test_a_run_started_while_another_holds_the_output_exits_3_naming_the_holder(runs, tmp_path):
    out = tmp_path / "out"
    lock_file = out / ".publish.lock"
    holder = runs.start(SEEDS, out=out)
    # the holder's flow has created runs/<run_id>/, holds the publish lock and has written its
    # name into it (a SIGSTOP between the flock and that write left the file empty) ...
    _wait_for(lambda: any((out / "runs").glob("run-*")) and holder.pid in _lock_holders(lock_file)
              and f"pid {holder.pid}" in lock_file.read_text(),
              "first run holding the lock", RUN_TIMEOUT_S, interval_s=0.02, procs=[holder])
    # ... and is frozen there (SIGSTOP keeps the lock held) so the overlap cannot depend on timing
    os.killpg(holder.pid, signal.SIGSTOP)
    try:
        assert holder.pid in _lock_holders(lock_file)
        t0 = time.perf_counter()
        rc, stderr = runs.run(SEEDS, out=out)
        refused_in = time.perf_counter() - t0
    finally:
        os.killpg(holder.pid, signal.SIGCONT)
    assert rc == EXIT_LOCKED, stderr[-2000:]
    message = LOCKED_MESSAGE.search(stderr)
    assert message and message.group(2) and int(message.group(2)) == holder.pid, stderr[-2000:]
    assert str(out) in stderr and "use another --out" in stderr
    assert not (out / "releases" / "LATEST").exists()

    assert runs.wait(holder) == 0, runs.stderr(holder)[-3000:]
    assert len(_manifests(out)) == 1
    _assert_complete(Lake(out), Lake(out).latest_release_id())
    print(f"\n[test_operations] locked run refused in {refused_in:.1f} s")


# ------------------------------------------------------------------ SIGKILL while publishing

def test_sigkill_while_publishing_leaves_the_previous_release_and_a_rerun_publishes(
        runs, tmp_path, larger_input):
    out = tmp_path / "out"
    lake = Lake(out)
    rc, stderr = runs.run(SEEDS, out=out)
    assert rc == 0, stderr[-3000:]
    release_a = lake.latest_release_id()
    manifest_a = _assert_complete(lake, release_a)
    docs_a = set(lake.read_table("documents")["doc_id"])

    # a larger run; SIGKILL its whole process group as soon as it commits its first new Delta
    # version, i.e. in the middle of `publish` (tables being written, LATEST not yet renamed)
    next_commit = [out / "lake" / t / "_delta_log" / f"{e['version'] + 1:020d}.json"
                   for t, e in manifest_a["tables"].items()]
    victim = runs.start(SEEDS, larger_input, out=out)
    _wait_for(lambda: any(p.exists() for p in next_commit), "new Delta commit", RUN_TIMEOUT_S,
              interval_s=0.005, procs=[victim])
    os.killpg(victim.pid, signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    written = [p.parts[-3] for p in next_commit if p.exists()]

    # nothing of the killed run is visible: LATEST, the manifests and every table read through
    # release A are exactly release A's
    assert lake.latest_release_id() == release_a
    assert _manifests(out) == [release_a], "the killed run left a manifest behind"
    assert lake.manifest() == manifest_a
    for table, entry in manifest_a["tables"].items():
        assert len(lake.read_table(table)) == entry["rows"], table
    assert set(lake.read_table("documents")["doc_id"]) == docs_a

    # the lock died with the process
    with lake.lock():
        pass

    rc, stderr = runs.run(SEEDS, larger_input, out=out)
    assert rc == 0, f"the re-run after the kill failed ({rc}):\n{stderr[-3000:]}"
    release_c = lake.latest_release_id()
    assert release_c != release_a
    manifest_c = _assert_complete(lake, release_c)
    assert manifest_c["previous"] == release_a
    assert manifest_c["tables"]["documents"]["rows"] == 5 * (COPIES + 1)
    assert _manifests(out) == sorted([release_a, release_c])
    for table in written:  # versions written by the killed run are skipped, not reused
        assert manifest_c["tables"][table]["version"] > manifest_a["tables"][table]["version"] + 1
    print(f"\n[test_operations] killed after {len(written)}/{len(next_commit)} tables had a new "
          f"Delta version: {', '.join(written)}")
