"""The run's workers: the flow's own process plus a pool; same results everywhere, real other
processes, safe fallbacks."""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time

import pandas as pd
from test_clean_documents import document_row
from worker_probe import clean_extract_and_list_heavy_modules, lexicon_is_loaded, pid_per_item

from newsgate.tasks import workers
from newsgate.tasks.clean import INPUT_COLUMNS, CleanBatch, clean_documents, clean_records
from newsgate.tasks.extract import extract_articles
from newsgate.tasks.records import to_records


def pid_of_caller() -> int:
    return os.getpid()


def die_unless_in(pid: int) -> str:
    """Kills a worker process (as the OOM killer would); returns normally in `pid`."""
    if os.getpid() != pid:
        os._exit(1)
    return "ran in the flow's process"


def _hold(started: threading.Event, release: threading.Event) -> int:
    started.set()
    release.wait(60)
    return os.getpid()


@contextlib.contextmanager
def this_process_busy():
    """A batch occupies the flow's own process (as another runner thread's batch would)."""
    started, release = threading.Event(), threading.Event()
    pids = []
    thread = threading.Thread(target=lambda: pids.append(workers.call(_hold, started, release)))
    thread.start()
    assert started.wait(30)
    try:
        yield
    finally:
        release.set()
        thread.join()
    assert pids == [os.getpid()]  # the held batch ran here, not in a worker


def test_the_flows_own_process_is_one_of_the_workers():
    with workers.worker_pool(2):
        assert workers.parallel()
        # one batch at a time: it runs right here and no process is started for it
        assert workers.call(pid_of_caller) == os.getpid() and workers._pool is None
        with this_process_busy():  # a second batch at the same time goes to the pool
            other = workers.call(pid_of_caller)
        assert other != os.getpid() and workers._pool._max_workers == 1
    assert workers._pool is None


def test_a_warm_pool_starts_at_once_and_loads_before_the_first_batch():
    with workers.worker_pool(2, warm=("newsgate.tasks.extract.tokenize:lexicon",)):
        assert workers._pool is not None  # started with the block, not at the first call
        with this_process_busy():
            assert workers.call(lexicon_is_loaded) is True  # loaded by the warm-up already
    with workers.worker_pool(2):  # without warm-up: started by the call, loads on first use
        with this_process_busy():
            assert workers.call(lexicon_is_loaded) is False


def test_chunks_of_a_list_run_on_every_worker_at_once():
    items = list(range(7))
    assert workers.map_chunks(pid_per_item, items) == [os.getpid()] * 7  # no pool: one call here
    with workers.worker_pool(2):
        pids = workers.map_chunks(pid_per_item, items)
    assert len(pids) == 7 and len(set(pids)) == 2 and pids[0] == os.getpid()  # in order


def test_a_run_that_stops_early_does_not_wait_for_warming_workers():
    started = time.monotonic()
    with workers.worker_pool(2, warm=("worker_probe:slow_start",)):
        warming = list(workers._pool._processes.values())  # e.g. nothing new to publish:
    assert time.monotonic() - started < 3  # no batch reached the pool, the run did not wait
    for process in warming:  # and the 6 s warm-up was stopped, not left to use a CPU
        process.join(timeout=3)
        assert not process.is_alive()


def test_a_batch_cleaned_in_a_worker_equals_the_batch_cleaned_here(seed_texts):
    docs = pd.DataFrame([document_row(text, f"seeds/{name}") for name, text in seed_texts.items()])
    here = clean_documents(docs)
    with workers.worker_pool(2), this_process_busy():
        there = CleanBatch.from_rows(workers.call(clean_records, to_records(docs, INPUT_COLUMNS)))
        # the pool outlives the call: the next batch finds the same, already started worker
        first, second = workers.call(pid_of_caller), workers.call(pid_of_caller)
    assert first == second != os.getpid()
    assert there.articles.equals(here.articles) and there.removals.equals(here.removals)
    assert len(here.articles) == 8  # seed 000 is a page of four articles
    assert not workers.parallel() and workers._pool is None  # shut down with the block


def test_workers_clean_and_extract_without_pandas(seed_texts):
    """Plain rows cross into the workers, so a worker never imports pandas/pyarrow (~100 MB of
    every process that does) and computes the same facts as the flow's process."""
    docs = pd.DataFrame([document_row(text, f"seeds/{name}") for name, text in seed_texts.items()])
    here = extract_articles(clean_documents(docs).articles)
    with workers.worker_pool(2), this_process_busy():
        n_articles, n_mentions, heavy = workers.call(clean_extract_and_list_heavy_modules,
                                                     to_records(docs, INPUT_COLUMNS))
    assert heavy == []
    assert (n_articles, n_mentions) == (8, len(here["mentions"])) and n_mentions > 100


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
    with workers.worker_pool(2), this_process_busy():
        assert workers.call(die_unless_in, os.getpid()) == "ran in the flow's process"
        assert workers.call(pid_of_caller) != os.getpid()  # a fresh pool for what follows
