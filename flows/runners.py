"""Task runners: local threads (default) or a Dask cluster through prefect-dask.

Dask worker processes report their task runs to the Prefect API. Without `PREFECT_API_URL`
each worker would start its own temporary server, so for a local cluster we start one server
for the whole run and hand its address to the workers through the environment.
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile

from prefect.task_runners import ThreadPoolTaskRunner

from tasks.workers import available_cpus


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
def shared_prefect_api(runner: str):
    """Make sure every process of the run talks to one Prefect API (a no-op for local runs)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    current = PREFECT_API_URL.value()
    if runner == "local":
        yield current
        return
    if current:  # a real server, or a test harness: let worker processes inherit it
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
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=120)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)  # ship the run's logs while the server is still up
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()
