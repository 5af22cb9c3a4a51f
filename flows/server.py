"""A temporary Prefect API server for one `newsgate run`, started early and gone with the run.

`TemporaryServer()` starts a small guard process at once and returns; `url()` waits for the
server. The guard starts the same server Prefect's own temporary one is (uvicorn serving
`prefect.server.api.server:create_app` in ephemeral mode), so its few seconds of start-up
overlap the run's own imports. It holds the read end of a pipe from the run: when the run
ends, or dies in any way (SIGKILL included), the pipe closes and the guard stops the server;
the server dies with its guard (PR_SET_PDEATHSIG). No server outlives its run. When the guard
cannot start it, the run falls back to Prefect's own temporary server (flows/runners.py).

Neither this module nor the guard imports Prefect (seconds, and ~160 MB): only the server does.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from newsgate.tasks.workers import die_with_parent

START_TIMEOUT_S = 120
START_ATTEMPTS = 3


class TemporaryServer:
    def __init__(self):
        self._guard = subprocess.Popen([sys.executable, "-m", "newsgate.flows.server"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._url: str | None = None

    def url(self) -> str:
        """The server's API address, once it answers (it says why when it could not start)."""
        if self._url is None:
            line = self._guard.stdout.readline().strip()
            if not line.startswith("http"):
                self.stop()
                raise RuntimeError(f"the temporary Prefect server did not start: {line or 'no reason given'}")
            self._url = line
        return self._url

    def stop(self) -> None:
        """Let the server go: closing the pipe is the guard's signal to stop it, which takes it
        a moment the run need not wait for. (A guard still starting the server stops it as
        soon as it is up.)"""
        if self._guard.stdin and not self._guard.stdin.closed:
            self._guard.stdin.close()


def api_configured() -> bool:
    """Is a Prefect API configured (the environment, or settings this process already read)?
    Cheap: it imports nothing (importing Prefect takes seconds)."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    settings = sys.modules.get("prefect.settings")
    return bool(settings is not None and settings.PREFECT_API_URL.value())


def server_command(port: int) -> tuple[list[str], dict[str, str]]:
    """What Prefect runs for its own temporary server (prefect.server.api.server:
    SubprocessASGIServer): the API app under uvicorn, in ephemeral mode, without the UI."""
    site = Path(importlib.util.find_spec("prefect").origin).parents[1]
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(site), "--factory",
               "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "error", "--lifespan", "on"]
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return command, env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start() -> tuple[subprocess.Popen, str]:
    """The server and its API address, once /health answers. A server that exits at once (its
    port taken meanwhile) is tried on another port, a few times: what fails every time (another
    Prefect that names its app otherwise) is said at once, and the run uses Prefect's own."""
    deadline = time.monotonic() + START_TIMEOUT_S
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        command, env = server_command(port)
        server = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                  preexec_fn=functools.partial(die_with_parent, os.getpid()))
        url = f"http://127.0.0.1:{port}/api"
        while server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        return server, url
            except OSError:
                time.sleep(0.1)
        if server.poll() is None:  # it never answered
            _stop(server)
            raise RuntimeError(f"no answer from {url} in {START_TIMEOUT_S} s")
        if time.monotonic() >= deadline:
            break
    raise RuntimeError(f"the server exited with code {server.returncode}")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _guard() -> None:
    """Start the server, say where it is, and stop it when the run's pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle, not ours
    report = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the server's own output goes to the terminal, not into the run's pipe
    server = None
    try:
        server, message = _start()
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    try:
        report.write(message + "\n")
        report.close()
    except OSError:  # the run is gone already: stop the server below
        pass
    if server is not None:
        try:
            sys.stdin.buffer.read()  # returns when the run closes the pipe, or when it died
        finally:
            _stop(server)


if __name__ == "__main__":
    _guard()
