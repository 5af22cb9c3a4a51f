"""Worker processes for the CPU-bound batch stages (clean, extract).

Prefect's local runner runs tasks on threads, and cleaning and extraction are pure-Python CPU
work: on threads they share one core under the GIL. So a batch task hands its batch to a process
pool that lives as long as the run (`worker_pool`), not as long as the batch: workers start once
and keep their warm state (jieba's dictionary, trafilatura, the place index) from batch to batch.

Outside a `worker_pool` block, with one worker, or inside a daemonic process (a Dask worker,
where the cluster is the parallelism and children are not allowed), `call` runs the function
right here, so the same task code works under every runner.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_size = 0   # workers of the pool in use (0: no worker_pool block is open)
_users = 0  # open worker_pool blocks (runs) in this process


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset / container CPU pinning)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def worker_pool(workers: int | None = None):
    """Make `call` use `workers` processes (default: the available CPUs) until the block ends.

    The pool is started on the first call that needs it, so a run with nothing heavy to do
    starts no process. Nested blocks (two runs in one process) share the first block's pool."""
    global _size, _users, _pool
    with _lock:
        _users += 1
        if _users == 1:
            _size = workers or available_cpus()
    try:
        yield _size
    finally:
        with _lock:
            _users -= 1
            pool = _pool if _users == 0 else None
            if _users == 0:
                _pool, _size = None, 0
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def parallel() -> bool:
    """Would `call` use worker processes here?"""
    return _size > 1 and not multiprocessing.current_process().daemon


def call(fn, *args):
    """`fn(*args)` in a worker process when a pool is open, else here. `fn` and its arguments
    must be picklable (module-level functions, DataFrames)."""
    if not parallel():
        return fn(*args)
    pool = _started_pool()
    if pool is None:  # the block closed meanwhile
        return fn(*args)
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:  # a worker died (killed, out of memory): this batch runs here
        log.warning("worker process died; running %s in the flow's process", fn.__name__)
        _discard(pool)
        return fn(*args)


def _started_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and _size > 1:
            # spawn, not fork: we are called from Prefect's worker threads, and forking a
            # threaded process can inherit locks held by other threads
            _pool = ProcessPoolExecutor(max_workers=_size,
                                        mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None  # the next call starts a fresh pool
    pool.shutdown(wait=False, cancel_futures=True)
