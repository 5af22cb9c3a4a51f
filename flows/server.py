"""A temporary Prefect API server for one `newsgate run`, started early and gone with the run.

`TemporaryServer()` starts a small guard process at once and returns: the guard starts Prefect's
own temporary server (the one a run without PREFECT_API_URL would start), so its few seconds
of start-up overlap the run's imports and reading of its inputs; `url()` waits for it. The
guard holds the read end of a pipe from the run: when the run ends, or dies in any way
(SIGKILL included), the pipe closes and the guard stops the server. No server outlives its run.

This module imports nothing heavy: the run starts the guard before importing the pipeline.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


class TemporaryServer:
    def __init__(self):
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        self._guard = subprocess.Popen([sys.executable, "-m", "newsgate.flows.server"], env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._url: str | None = None

    @property
    def pid(self) -> int:
        return self._guard.pid

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


# What the guard becomes once the server is up (it replaces itself: the ~160 MB of Prefect's
# server modules it needed to start one are not kept for the run's length).
_WAITER = """
import os, signal, sys, time
pid = int(sys.argv[1])
sys.stdin.buffer.read()  # returns when the run closes the pipe, or when the run died
os.kill(pid, signal.SIGTERM)
for _ in range(50):
    if os.waitpid(pid, os.WNOHANG)[0]:
        break
    time.sleep(0.1)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""


def _guard() -> None:
    """Start the server, say where it is, then wait for the run's pipe to close and stop it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle, not ours
    report = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the server's own output goes to the terminal, not into the run's pipe
    server = None
    try:
        from prefect.server.api.server import SubprocessASGIServer
        server = SubprocessASGIServer()
        server.start(timeout=120)
        message = server.api_url
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    try:
        report.write(message + "\n")
        report.close()
    except OSError:  # the run is gone already: the waiter below sees it and stops the server
        pass
    if server is None or server.server_process is None:
        return
    os.execv(sys.executable, [sys.executable, "-S", "-c", _WAITER, str(server.server_process.pid)])


if __name__ == "__main__":
    _guard()
