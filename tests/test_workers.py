"""The run-wide worker pool: same results as in-process, real other processes, safe fallbacks."""
from __future__ import annotations

import multiprocessing
import os

import pandas as pd
from test_clean_documents import document_row

from tasks import workers
from tasks.clean import clean_documents


def pid_of_caller() -> int:
    return os.getpid()


def die_unless_in(pid: int) -> str:
    """Kills a worker process (as the OOM killer would); returns normally in `pid`."""
    if os.getpid() != pid:
        os._exit(1)
    return "ran in the flow's process"


def test_a_batch_cleaned_in_a_worker_equals_the_batch_cleaned_here(seed_texts):
    docs = pd.DataFrame([document_row(text, f"seeds/{name}") for name, text in seed_texts.items()])
    here = clean_documents(docs)
    with workers.worker_pool(2):
        assert workers.parallel()
        there = workers.call(clean_documents, docs)
        # the pool outlives the call: the next batch finds the same, already started workers
        first, second = workers.call(pid_of_caller), workers.call(pid_of_caller)
    assert os.getpid() not in (first, second)
    assert there.articles.equals(here.articles) and there.removals.equals(here.removals)
    assert len(here.articles) == 8  # seed 000 is a page of four articles
    assert not workers.parallel() and workers._pool is None  # shut down with the block


def test_without_a_pool_or_with_one_worker_the_call_runs_here():
    assert workers.call(pid_of_caller) == os.getpid()
    with workers.worker_pool(1):
        assert workers.call(pid_of_caller) == os.getpid()


def test_inside_a_daemonic_process_the_call_runs_here(monkeypatch):
    """A Dask worker is daemonic and may not start processes: its cluster is the parallelism."""

    class DaemonProcess:
        daemon = True

    monkeypatch.setattr(multiprocessing, "current_process", lambda: DaemonProcess())
    with workers.worker_pool(2):
        assert workers.call(pid_of_caller) == os.getpid()
        assert workers._pool is None  # no process was started


def test_a_dead_worker_costs_its_batch_a_rerun_here_not_the_run():
    with workers.worker_pool(2):
        assert workers.call(die_unless_in, os.getpid()) == "ran in the flow's process"
        assert workers.call(pid_of_caller) != os.getpid()  # a fresh pool for what follows
