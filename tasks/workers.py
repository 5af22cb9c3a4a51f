"""Worker processes for the CPU-bound batch stages (clean, extract).

Prefect's local runner runs tasks on threads, and cleaning and extraction are pure-Python CPU
work: on threads they share one core under the GIL. So `worker_pool(n)` makes the run's batches
use n processes: the flow's own process is one of them (a batch runs right here whenever no
other batch does) and the other n - 1 form a process pool that lives as long as the run, not as
long as a batch: they start once and keep their warm state (jieba's dictionary, trafilatura,
the lexicon) from batch to batch. Working here as well saves a whole process (~230 MB with its
own copy of jieba and the lexicon, and its start-up), and nothing crosses a pipe for that batch.

Outside a `worker_pool` block, with one worker, or inside a daemonic process (a Dask worker,
where the cluster is the parallelism and children are not allowed), `call` runs the function
right here, so the same task code works under every runner.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_size = 0   # workers in use, this process included (0: no worker_pool block is open)
_here = threading.Semaphore(1)  # this process works on one batch at a time
_warm: tuple[str, ...] = ()  # what each worker process calls as it starts
_used = False  # has a batch run in the pool?
_users = 0  # open worker_pool blocks (runs) in this process


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset / container CPU pinning)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def worker_pool(workers: int | None = None, warm: tuple[str, ...] = ()):
    """Make `call` use `workers` processes (default: the available CPUs) until the block ends.

    Without `warm` the pool starts on the first call that needs it, so a run with nothing heavy
    to do starts no process. With `warm` ("module:function" names, e.g. a dictionary loader) it
    starts at once and each worker process calls those as it starts: the workers get ready
    while the flow is still reading its input. Nested blocks (two runs in one process) share
    the first block's pool."""
    global _size, _users, _pool, _warm, _used
    with _lock:
        _users += 1
        if _users == 1:
            _size, _warm, _used = workers or available_cpus(), warm, False
    if warm and parallel():
        pool = _started_pool()
        for _ in range(_size - 1):  # spawn every process now (each submit starts one)
            pool.submit(int)
    try:
        yield _size
    finally:
        with _lock:
            _users -= 1
            pool = _pool if _users == 0 else None
            used = _used
            if _users == 0:
                _pool, _size, _warm = None, 0, ()
        if pool is not None:
            if not used:  # only warming up (the run stopped early): no reason to let it finish
                # (the executor has no public way to stop a worker; Python 3.14 adds one)
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.kill()
            # after real work, wait: the workers' memory is gone before the run goes on
            pool.shutdown(wait=used, cancel_futures=True)


def _warm_up(names: tuple[str, ...]) -> None:
    """Import each "module", or import it and call "module:function"."""
    for name in names:
        module, _, function = name.partition(":")
        imported = importlib.import_module(module)
        if function:
            getattr(imported, function)()


def release_memory() -> None:
    """Give the heap's free pages back to the OS. glibc keeps freed memory in the process, so a
    stage that held a corpus of Python strings for a moment (parsed JSON, HTML) would keep its
    peak as RSS for the rest of the run; measured: -45 MB after ingesting the bench corpus."""
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # not glibc


_libc = _load_libc()


def _releasing(fn, *args):
    try:
        return fn(*args)
    finally:  # the batch's garbage goes back to the OS before the next batch
        release_memory()


def even_bounds(n_items: int, parts: int) -> list[tuple[int, int]]:
    """(start, stop) of `parts` contiguous slices of `n_items` whose sizes differ by at most 1."""
    cuts = [n_items * i // parts for i in range(parts + 1)]
    return list(zip(cuts, cuts[1:]))


def parallel() -> bool:
    """Would `call` use worker processes here?"""
    return _size > 1 and not multiprocessing.current_process().daemon


def call(fn, *args):
    """`fn(*args)` here when no other batch runs in this process (or no pool is open), else in
    one of the pool's processes. `fn` and its arguments must be picklable (module-level
    functions, plain rows)."""
    global _used
    if not parallel():
        return fn(*args)
    if _here.acquire(blocking=False):  # no other batch runs in this process: this one does
        try:
            return _releasing(fn, *args)
        finally:
            _here.release()
    pool = _started_pool()
    if pool is None:  # the block closed meanwhile
        return fn(*args)
    _used = True
    try:
        return pool.submit(_releasing, fn, *args).result()
    except BrokenProcessPool:  # a worker died (killed, out of memory): this batch runs here
        log.warning("worker process died; running %s in the flow's process", fn.__name__)
        _discard(pool)
        return fn(*args)


def map_chunks(fn, items: list) -> list:
    """`fn(items)` computed as one chunk per worker at once (this process and the pool's);
    `fn` maps a list to a list of the same length. Without a pool: one call, right here."""
    n = min(_size, len(items)) if parallel() else 1
    if n < 2:
        return fn(items)
    with ThreadPoolExecutor(n, thread_name_prefix="newsgate-chunk") as threads:
        parts = threads.map(lambda chunk: call(fn, chunk),
                            [items[a:b] for a, b in even_bounds(len(items), n)])
        return [x for part in parts for x in part]


def _started_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and _size > 1:
            # spawn, not fork: we are called from Prefect's worker threads, and forking a
            # threaded process can inherit locks held by other threads
            _pool = ProcessPoolExecutor(max_workers=_size - 1,  # this process is one more
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_warm_up, initargs=(_warm,))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None  # the next call starts a fresh pool
    pool.shutdown(wait=False, cancel_futures=True)
