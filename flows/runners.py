"""Task runners: local threads (default) or a Dask cluster through prefect-dask.

Every process of a run reports to one Prefect API. Without `PREFECT_API_URL` the run starts one
temporary server (flows/server.py) and hands its address to Dask's worker processes through
the environment (each would start its own otherwise).
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile

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
    url = server.url()
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
