"""How a run runs: its task runner, its Prefect API, its heartbeats and where its logs go.

Every process of a run reports to one Prefect API. Without `PREFECT_API_URL` the run starts one
temporary server (flows/server.py) and hands its address to Dask's worker processes through
the environment (each would start its own otherwise).

Logs: a `newsgate run` on a terminal shows one progress line per stage and newsgate's own
warnings; everything Prefect and the stages log goes to the run's log file, and to the
terminal as well with `-v`.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import tempfile
from pathlib import Path

from prefect.task_runners import ThreadPoolTaskRunner

from newsgate.flows.server import TemporaryServer
from newsgate.tasks.workers import available_cpus


def make_task_runner(runner: str = "local", address: str | None = None, workers: int | None = None):
    if runner == "local":  # threads that hand clean/extract batches to worker processes
        return ThreadPoolTaskRunner(max_workers=workers or available_cpus())
    if runner != "dask":
        raise ValueError(f"unknown runner {runner!r} (local or dask)")
    from prefect_dask import DaskTaskRunner

    logging.getLogger("distributed").setLevel(logging.WARNING)  # cluster chatter, not progress
    if address:
        return DaskTaskRunner(address=address)
    os.environ.setdefault("DASK_TEMPORARY_DIRECTORY", tempfile.gettempdir())
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": workers or available_cpus(), "threads_per_worker": 1,
        "processes": True, "dashboard_address": ":0"})


@contextlib.contextmanager
def shared_prefect_api(runner: str, server: TemporaryServer | None = None):
    """Make every process of the run talk to one Prefect API: the configured one, or else a
    temporary server that stops with the run, even when the run is killed (flows/server.py;
    `server`: one started earlier, to overlap its start-up with the run's imports)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    current = PREFECT_API_URL.value()
    if current:  # a real server, or a test harness: worker processes inherit it
        if server is not None:
            server.stop()  # started before the settings were read: not needed
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = current
        try:
            yield current
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous
        return
    server = server or TemporaryServer()
    try:
        url = server.url()
    except RuntimeError as exc:  # Prefect starts its own (in this process, at its first call)
        logging.getLogger(__name__).warning("%s; using Prefect's own temporary server", exc)
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        yield None
        return
    os.environ["PREFECT_API_URL"] = url  # Dask worker processes read it from the environment
    try:
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)  # ship the run's logs while the server is still up
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


@contextlib.contextmanager
def heartbeats_for(temporary_server: bool):
    """No flow-run heartbeats for a run on a temporary server (the CLI's default). Heartbeats
    let a lasting server mark a crashed run, but a temporary server stops with the run, and
    Prefect's heartbeat thread, which sleeps in 1 s steps, holds up the end of every run by up
    to a second (measured: an empty flow 1.09 s with, 0.09 s without). Deployments and runs
    against a real server keep them; PREFECT_FLOWS_HEARTBEAT_FREQUENCY, when set, decides."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if not temporary_server or "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in os.environ:
        yield
        return
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


# ------------------------------------------------------------------ logs

PROGRESS_LOGGER = "prefect.flow_runs.progress"  # a child of the flow-run logger: the UI gets it too
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s - %(message)s"
LOG_DATE = "%Y-%m-%d %H:%M:%S"


def log_progress(stage: str, seconds: float, counts: list[tuple[str, int]]) -> None:
    """One line for a finished stage: its time and what it counted ("clean 1.2 s articles 8")."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        logger = get_run_logger().getChild("progress")
    except MissingContextError:  # a stage run outside a flow (tests)
        logger = logging.getLogger(PROGRESS_LOGGER)
    counted = ", ".join(f"{name} {n}" for name, n in counts)
    logger.info("%s", f"{stage:<12} {seconds:6.1f} s   {counted}".rstrip())


def _our_code() -> tuple[str, ...]:
    """The folders of newsgate's own modules (log records are told apart by their call site)."""
    return tuple(os.path.dirname(importlib.util.find_spec(m).origin) + os.sep
                 for m in ("newsgate", "newsgate.flows", "newsgate.tasks", "newsgate.schemas"))


class _Terminal(logging.Filter):
    """What a quiet run shows: stage progress and newsgate's own warnings (errors are reported
    once, by the command line, with the log file's path)."""

    def __init__(self):
        super().__init__()
        self.ours = _our_code()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == PROGRESS_LOGGER:
            record.shown = f"  {record.getMessage()}"
            return True
        if record.levelno == logging.WARNING and record.pathname.startswith(self.ours):
            record.shown = f"  warning: {record.getMessage()}"
            return True
        return False


class _Silenced(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


_SILENCED = _Silenced()


def _prefect_consoles() -> list[logging.Handler]:
    from prefect.logging.handlers import PrefectConsoleHandler

    found = []
    for name in ("", "uvicorn", "fastapi"):  # the loggers Prefect's logging.yml gives a console
        found += [h for h in logging.getLogger(name).handlers
                  if isinstance(h, PrefectConsoleHandler) and h not in found]
    return found


def quiet_prefect_console(quiet: bool = True) -> None:
    """Prefect's console output off (or back on) for the rest of this process: the run's log
    file has it all. (For the whole process: the temporary server logs its stop at exit.)"""
    for handler in _prefect_consoles():
        handler.removeFilter(_SILENCED)
        if quiet:
            handler.addFilter(_SILENCED)


@contextlib.contextmanager
def run_log(path: Path, verbose: bool = False):
    """Everything logged while the block runs goes to `path`. The terminal (stdout) gets the
    stage progress and newsgate's warnings; with `verbose`, Prefect's console shows all of it."""
    from prefect.logging.formatters import PrefectFormatter

    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
    to_file.setFormatter(PrefectFormatter(
        LOG_FORMAT, LOG_DATE, flow_run_fmt=LOG_FORMAT.replace(
            "%(name)s", "flow run %(flow_run_name)s"),
        task_run_fmt=LOG_FORMAT.replace("%(name)s", "task run %(task_run_name)s")))
    handlers = [to_file]
    quiet_prefect_console(not verbose)
    if not verbose:
        terminal = logging.StreamHandler(sys.stdout)
        terminal.addFilter(_Terminal())
        terminal.setFormatter(logging.Formatter("%(shown)s"))
        handlers.append(terminal)
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield path
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
