"""The run's workers: the flow's own process plus a pool; same results everywhere, real other
processes, safe fallbacks."""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
from stages import clean_documents, extract_articles
from test_clean_documents import document_row
from worker_probe import clean_extract_and_list_heavy_modules, lexicon_is_loaded, pid_per_item

from newsgate.tasks.clean import STAGE as CLEAN
from newsgate.tasks.records import to_records
from newsgate.tasks.stage import in_columns
from newsgate.tasks.workers import Workers


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
def this_process_busy(workers: Workers):
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
    with Workers(2) as workers:
        assert workers.parallel
        # one batch at a time: it runs right here and no process is started for it
        assert workers.call(pid_of_caller) == os.getpid() and workers._pool is None
        with this_process_busy(workers):  # a second batch at the same time goes to the pool
            other = workers.call(pid_of_caller)
        assert other != os.getpid() and workers._pool._max_workers == 1
    assert workers._pool is None and not workers.parallel


def test_a_warm_pool_starts_at_once_and_loads_before_the_first_batch():
    with Workers(2, warm=("newsgate.tasks.extract.tokenize:lexicon",)) as workers:
        assert workers._pool is not None  # started with the block, not at the first call
        with this_process_busy(workers):
            assert workers.call(lexicon_is_loaded) is True  # loaded by the warm-up already
    with Workers(2) as workers:  # without warm-up: started by the call, loads on first use
        with this_process_busy(workers):
            assert workers.call(lexicon_is_loaded) is False


def test_chunks_of_a_list_run_on_every_worker_at_once():
    items = list(range(7))
    assert Workers(1).map_chunks(pid_per_item, items) == [os.getpid()] * 7  # one call here
    with Workers(2) as workers:
        pids = workers.map_chunks(pid_per_item, items)
    assert len(pids) == 7 and len(set(pids)) == 2 and pids[0] == os.getpid()  # in order


def test_a_run_that_stops_early_does_not_wait_for_warming_workers():
    started = time.monotonic()
    with Workers(2, warm=("worker_probe:slow_start",)) as workers:
        warming = list(workers._pool._processes.values())  # e.g. nothing new to publish:
    assert time.monotonic() - started < 3  # no batch reached the pool, the run did not wait
    for process in warming:  # and the 6 s warm-up was stopped, not left to use a CPU
        process.join(timeout=3)
        assert _stopped(process)


def _stopped(process) -> bool:
    """The process has ended. `is_alive()` alone can say True for a process the pool's own
    manager thread has already reaped (waitpid then fails here and multiprocessing reads that as
    'not yet created'), so on Linux ask the kernel: no such pid, or a zombie."""
    if not process.is_alive():
        return True
    try:
        state = open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: trust is_alive()
        return False
    return state in ("Z", "X")


def test_a_batch_cleaned_in_a_worker_equals_the_batch_cleaned_here(seed_texts):
    """As the runner sends a batch: rows there, one list per column back."""
    docs = pd.DataFrame([document_row(text, f"seeds/{name}") for name, text in seed_texts.items()])
    here = clean_documents(docs)
    with Workers(2) as workers, this_process_busy(workers):
        there = CLEAN.frames(workers.call(in_columns, CLEAN.function, CLEAN.outputs,
                                          to_records(docs, CLEAN.columns)))
        # the pool outlives the call: the next batch finds the same, already started worker
        first, second = workers.call(pid_of_caller), workers.call(pid_of_caller)
    assert first == second != os.getpid()
    assert there["articles"].equals(here.articles) and there["removals"].equals(here.removals)
    assert len(here.articles) == 8  # seed 000 is a page of four articles
    assert not workers.parallel and workers._pool is None  # shut down with the block


def test_workers_clean_and_extract_without_pandas(seed_texts):
    """Plain rows cross into the workers, so a worker never imports pandas/pyarrow (~100 MB of
    every process that does) and computes the same facts as the flow's process."""
    docs = pd.DataFrame([document_row(text, f"seeds/{name}") for name, text in seed_texts.items()])
    here = extract_articles(clean_documents(docs).articles)
    with Workers(2) as workers, this_process_busy(workers):
        n_articles, n_mentions, heavy = workers.call(clean_extract_and_list_heavy_modules,
                                                     to_records(docs, CLEAN.columns))
    assert heavy == []
    assert (n_articles, n_mentions) == (8, len(here["mentions"])) and n_mentions > 100


def test_with_one_worker_the_call_runs_here():
    with Workers(1) as workers:
        assert workers.call(pid_of_caller) == os.getpid() and not workers.parallel


def test_inside_a_daemonic_process_the_call_runs_here(monkeypatch):
    """A Dask worker is daemonic and may not start processes: its cluster is the parallelism."""

    class DaemonProcess:
        daemon = True

    monkeypatch.setattr(multiprocessing, "current_process", lambda: DaemonProcess())
    with Workers(2) as workers:
        assert workers.call(pid_of_caller) == os.getpid()
        assert workers._pool is None  # no process was started


def test_workers_sent_to_another_process_arrive_as_one_worker():
    """A batch task shipped to a Dask worker carries the run's workers: there they are just
    that process (no pool to reach, no process to start)."""
    with Workers(2) as workers:
        copy = pickle.loads(pickle.dumps(workers))
    assert copy.size == 1 and not copy.parallel and copy.call(pid_of_caller) == os.getpid()


def test_a_dead_worker_costs_its_batch_a_rerun_here_not_the_run():
    with Workers(2) as workers, this_process_busy(workers):
        assert workers.call(die_unless_in, os.getpid()) == "ran in the flow's process"
        assert workers.call(pid_of_caller) != os.getpid()  # a fresh pool for what follows


OWNER = """
import time
from newsgate.tasks.workers import Workers
with Workers(3, warm=("newsgate.tasks.clean",)) as workers:
    time.sleep(1)  # the workers are up and warm
    print(" ".join(str(p) for p in workers._pool._processes), flush=True)
    time.sleep(120)
"""


def test_worker_processes_die_with_a_killed_run():
    """kill -9 of the run's process leaves no worker behind (PR_SET_PDEATHSIG)."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        children = [int(p) for p in owner.stdout.readline().split()]
        assert len(children) == 2 and all(_alive(p) for p in children)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if _alive(p)]


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_arrow_allocates_from_the_system_allocator_unless_the_user_chose_one():
    """The flow's module switches Arrow to the system allocator (mimalloc kept freed buffers:
    about 0.1 GB of a 50,000-document run's peak), in its own process with pyarrow already
    loaded and in the processes it starts; an ARROW_DEFAULT_MEMORY_POOL the user set wins."""
    probe = ("import subprocess, sys, pyarrow, newsgate.flows.pipeline; "
             "child = 'import pyarrow; print(pyarrow.default_memory_pool().backend_name)'; "
             "print(pyarrow.default_memory_pool().backend_name, subprocess.run("
             "[sys.executable, '-c', child], capture_output=True, text=True).stdout.strip())")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}

    def pools(**extra) -> str:
        done = subprocess.run([sys.executable, "-c", probe], env={**env, **extra},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert pools() == "system system"
    assert pools(ARROW_DEFAULT_MEMORY_POOL="mimalloc") == "mimalloc mimalloc"
