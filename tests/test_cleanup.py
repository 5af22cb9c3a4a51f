"""A killed run leaves nothing behind (issue 13, item 8): `kill -9` of `newsgate run` ends its
temporary Prefect server and its worker processes within seconds."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SEEDS

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 240  # a temporary server and a pool on a busy 2-core machine


def _newsgate() -> list[str]:
    script = Path(sys.executable).with_name("newsgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, out, stack = _children(), [], [pid]
    while stack:
        for child in tree.get(stack.pop(), ()):
            out.append(child)
            stack.append(child)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def many_documents(tmp_path) -> Path:
    """120 documents (edited copies of the seeds): enough for the run to start its pool."""
    folder = tmp_path / "in"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    for i in range(120):
        text = seeds[i % len(seeds)].read_text(encoding="utf-8")
        (folder / f"{i:03d}.txt").write_text(f"第{i}号。\n{text}", encoding="utf-8")
    return folder


def test_kill_9_of_a_run_leaves_no_server_and_no_worker(tmp_path, many_documents):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(tmp_path / "prefect-home"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    with open(tmp_path / "run.log", "w") as log:
        run = subprocess.Popen([*_newsgate(), "run", str(many_documents), "--out",
                                str(tmp_path / "out"), "--no-review", "--workers", "2"],
                               env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and run.poll() is None:
            seen.update(_descendants(run.pid))
            commands = [_cmdline(p) for p in seen if _alive(p)]
            if any("uvicorn" in c for c in commands) and any("multiprocessing" in c for c in commands):
                break  # the server answers and the pool is up: the run is in full swing
            time.sleep(0.2)
        else:
            pytest.fail(f"the run never had a server and a pool:\n{(tmp_path / 'run.log').read_text()[-3000:]}")
        seen.update(_descendants(run.pid))
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {p: _cmdline(p) for p in seen if _alive(p)}
        assert not left, f"still running 5 s after kill -9 of the run: {left}"
    finally:
        for pid in [run.pid, *seen]:  # whatever a failed test left, by pid
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_server_that_cannot_start_falls_back_to_prefects_own(monkeypatch, caplog):
    """The guard said why it could not start the server: the run goes on with Prefect's own
    temporary server (no API URL set: Prefect starts one at its first call), and says so."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from newsgate.flows.runners import shared_prefect_api

    class Broken:
        stopped = False

        def url(self):
            raise RuntimeError("the temporary Prefect server did not start: exited with code 3")

        def stop(self):
            self.stopped = True

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with caplog.at_level("WARNING", logger="newsgate.flows.runners"), \
            temporary_settings(restore_defaults={PREFECT_API_URL}):
        with shared_prefect_api("local", Broken()) as url:
            assert url is None and "PREFECT_API_URL" not in os.environ
    assert "did not start: exited with code 3; using Prefect's own temporary server" in caplog.text
