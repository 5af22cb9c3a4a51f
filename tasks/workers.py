"""Worker processes for the CPU-bound batch stages (clean, extract), behind one object a run owns.

Prefect's local runner runs tasks on threads, and cleaning and extraction are pure-Python CPU
work: on threads they share one core under the GIL. So `Workers(n)` spreads a run's batches
over n processes: the flow's own process is one of them (a batch runs right here whenever no
other batch does) and the other n - 1 form a process pool that lives as long as the run, not as
long as a batch: they start once and keep their warm state (jieba's dictionary, trafilatura,
the lexicon) from batch to batch. Working here as well saves a whole process (~230 MB with its
own copy of jieba and the lexicon, and its start-up), and nothing crosses a pipe for that batch.

With one worker, or inside a daemonic process (a Dask worker, where the cluster is the
parallelism and children are not allowed), `call` runs the function right here, so the same
task code works under every runner; a `Workers` sent to another process arrives as one worker.
Pool processes die with the process that started them, even when it is killed with SIGKILL
(Linux: PR_SET_PDEATHSIG), so no worker outlives its run.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset / container CPU pinning)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Workers:
    """`size` workers: this process and, when `size` > 1, a pool of `size - 1` processes.

    Without `warm` the pool starts on the first call that needs it, so a run with nothing heavy
    to do starts no process. With `warm` ("module:function" names, e.g. a dictionary loader)
    every process starts when the block opens and calls those as it starts: the workers get
    ready while the flow is still reading its input. Use as a context manager; the pool is shut
    down when the block ends, or earlier with `close()`."""

    def __init__(self, size: int | None = None, warm: tuple[str, ...] = ()):
        self.size = max(1, size or available_cpus())
        self.warm = warm
        self._lock = threading.Lock()
        self._here = threading.Semaphore(1)  # this process works on one batch at a time
        self._pool: ProcessPoolExecutor | None = None
        self._used = False  # has a batch run in the pool?

    def __enter__(self) -> Workers:
        if self.warm and self.parallel:
            pool = self._started_pool()
            for _ in range(self.size - 1):  # spawn every process now (each submit starts one)
                pool.submit(int)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __reduce__(self):  # in another process (a Dask worker) there is no pool: one worker
        return Workers, (1,)

    @property
    def parallel(self) -> bool:
        """Would `call` use worker processes here?"""
        return self.size > 1 and not multiprocessing.current_process().daemon

    def call(self, fn, *args):
        """`fn(*args)` here when no other batch runs in this process, else in one of the pool's
        processes. `fn` and its arguments must be picklable (module-level functions, plain rows)."""
        if not self.parallel:
            return fn(*args)
        if self._here.acquire(blocking=False):  # no other batch runs in this process: this one does
            try:
                return _releasing(fn, *args)
            finally:
                self._here.release()
        pool = self._started_pool()
        if pool is None:  # closed meanwhile
            return fn(*args)
        self._used = True
        try:
            return pool.submit(_releasing, fn, *args).result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): this batch runs here
            log.warning("worker process died; running %s in the flow's process", fn.__name__)
            self._discard(pool)
            return fn(*args)

    def map_chunks(self, fn, items: list) -> list:
        """`fn(items)` computed as one chunk per worker at once (this process and the pool's);
        `fn` maps a list to a list of the same length. With one worker: one call, right here."""
        n = min(self.size, len(items)) if self.parallel else 1
        if n < 2:
            return fn(items)
        with ThreadPoolExecutor(n, thread_name_prefix="newsgate-chunk") as threads:
            parts = threads.map(lambda chunk: self.call(fn, chunk),
                                [items[a:b] for a, b in even_bounds(len(items), n)])
            return [x for part in parts for x in part]

    def close(self) -> None:
        """Shut the pool down (later calls run here); after real work, wait for its processes,
        so that their memory is gone before the run goes on."""
        with self._lock:
            pool, self._pool, self.size = self._pool, None, 1
        if pool is None:
            return
        if not self._used:  # only warming up (the run stopped early): no reason to let it finish
            # (the executor has no public way to stop a worker; Python 3.14 adds one)
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=self._used, cancel_futures=True)

    def _started_pool(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and self.size > 1:
                # spawn, not fork: we are called from Prefect's worker threads, and forking a
                # threaded process can inherit locks held by other threads
                self._pool = ProcessPoolExecutor(
                    max_workers=self.size - 1,  # this process is one more
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(os.getpid(), self.warm))
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None  # the next call starts a fresh pool
        pool.shutdown(wait=False, cancel_futures=True)


def _start_worker(parent: int, warm: tuple[str, ...]) -> None:
    """A pool process's start: die with the process that spawned it, then import each "module"
    (or import it and call "module:function")."""
    die_with_parent(parent)
    warm_up(warm)


def die_with_parent(parent: int) -> None:
    """This process is killed when `parent` ends, however it ends (Linux: PR_SET_PDEATHSIG)."""
    if _libc is not None and hasattr(_libc, "prctl"):
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # it died before prctl: nobody is left to work for
            os._exit(1)


def warm_up(names: tuple[str, ...]) -> None:
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
    if _libc is not None and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)


def _load_libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_libc = _load_libc()  # a constant: the C library, for malloc_trim and prctl (glibc / Linux)


def _releasing(fn, *args):
    try:
        return fn(*args)
    finally:  # the batch's garbage goes back to the OS before the next batch
        release_memory()


def even_bounds(n_items: int, parts: int) -> list[tuple[int, int]]:
    """(start, stop) of `parts` contiguous slices of `n_items` whose sizes differ by at most 1."""
    cuts = [n_items * i // parts for i in range(parts + 1)]
    return list(zip(cuts, cuts[1:]))
