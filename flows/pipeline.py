"""The `newsgate` flow: ingest → clean → dedup → stories → extract → aggregate → publish, every stage gated.

Reads top-down like a recipe: the stages in order (each declared next to its code, see
tasks/stage.py), then the run's own checks, the decision, the commit and the report. The
runner (flows/stage_runner.py) does the same for every stage; the run's state and its one
place to decide its status are flows/run.py; committing and reporting are flows/release.py.
Nothing is published unless every gate passed; a blocked or failed run still writes its report.
"""
from __future__ import annotations

import os
from typing import Annotated, Literal

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Arrow allocates from the system allocator, which hands freed buffers back at once; the
# wheels' default (mimalloc) kept them: 50,000 tiny documents peaked at 1.93 GB with it and at
# 1.75-1.84 GB without, in the same time. An ARROW_DEFAULT_MEMORY_POOL the user set wins.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"  # the processes this one starts
    import pyarrow
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())  # this one, pyarrow already loaded or not

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import AfterValidator, Field

from newsgate import package_dir
from newsgate.flows.release import decide, finish, gate_run, publish
from newsgate.flows.review import MODES
from newsgate.flows.run import FINAL_STATES, Run
from newsgate.flows.stage_runner import apply, cache_storage, fingerprint
from newsgate.tasks import aggregate, clean, dedup, extract, ingest, stories
from newsgate.tasks.gates import EXPECTATIONS_DIR, suites_problem
from newsgate.tasks.workers import Workers, available_cpus

PIPELINE = [ingest.STAGE, clean.STAGE, dedup.STAGE, stories.STAGE, extract.STAGE, aggregate.STAGE]
IN_WORKERS = [s for s in PIPELINE if s.batches and s.batches.in_workers]
GATED = [t for s in PIPELINE for t in s.writes] + ["accounting", "quarantine"]
# what a worker loads before its first batch: the stages' code, their dictionaries
WARM_UP = tuple(dict.fromkeys(m for s in IN_WORKERS for m in (s.function.__module__, *s.warm)))
DEFAULT_SOURCES = [str(package_dir("seeds"))]
PARALLEL_MIN_DOCS = 100  # below this, starting worker processes costs more than it saves


def _suites(path: str | None) -> str | None:
    """A suites directory with a readable suite for every gated table (else: which file not)."""
    problem = path and suites_problem(path)
    if problem:
        raise ValueError(problem)
    return path


# The flow's parameters are checked before any work starts (Prefect validates them with
# pydantic): a bad value fails the run at once, naming the parameter.
AtLeastOne = Annotated[int, Field(ge=1)]
SuitesDir = Annotated[str | None, AfterValidator(_suites)]


# Bounded: Prefect's default ThreadPoolTaskRunner() starts a thread per submitted task, and
# every in-flight batch holds its documents in memory.
@flow(name="newsgate", log_prints=True,
      task_runner=ThreadPoolTaskRunner(max_workers=available_cpus()))
def newsgate(sources: list[str] | None = None, out: str = "data", batch_size: AtLeastOne = 400,
             expectations_dir: SuitesDir = None, review_mode: Literal[MODES] = "auto",
             max_warnings: int = 10, review_timeout_s: AtLeastOne = 3600,
             cache: bool = True, workers: AtLeastOne | None = None,
             exclude: list[str] | None = None):
    """Run every stage over `sources` and publish a new release into `out` if all gates pass.

    When the gates pass with more than `max_warnings` warnings, the review step decides
    (see flows/review.py for `review_mode`). Clean and extract batches run in `workers`
    processes (default: the available CPUs; 1 = in the flow's own process). Files matching
    `exclude` (gitignore-style globs) or a source folder's `.newsgateignore` are not read, and
    counted in the funnel."""
    run = Run.begin([str(s) for s in sources or DEFAULT_SOURCES], out, batch_size=batch_size,
                    expectations_dir=expectations_dir)
    with run.outcome(get_run_logger()), run.lake.lock():
        with prepare(run, cache, workers, exclude or ()):
            run.read_previous_release()
            for stage in PIPELINE:
                # the last stage on the workers lets them go before its gates run (memory)
                apply(run, stage, close_workers=stage is IN_WORKERS[-1])
        gate_run(run)
        decide(run, review_mode, max_warnings, review_timeout_s)
        publish(run)
    result = run.result(finish(run))
    if run.status in ("published", "unchanged"):
        return result
    # blocked, rejected, locked or failed: the flow run ends in a red state named for what
    # happened (Blocked, Rejected, Failed) with the reason, the result attached
    return Failed(name=FINAL_STATES.get(run.status, "Failed"), data=result,
                  message=f"newsgate run {run.status}: {run.error}"[:2000])


def prepare(run: Run, cache: bool, workers: int | None, exclude) -> Workers:
    """The run's files, code fingerprints, cache and workers. A large run starts its worker
    processes at once: they import and load their dictionaries while this process reads the
    release and ingests (not under Dask, whose worker processes run the batches themselves)."""
    kept, excluded = ingest.exclude_paths(ingest.discover(run.sources), run.sources, exclude)
    run.files = [str(p) for p in kept]
    run.funnel.append(("excluded files", len(excluded)))
    fingerprint(run, PIPELINE)
    run.cache_storage = cache_storage(run.lake.root) if cache else None
    large = ingest.estimate_documents(run.files, PARALLEL_MIN_DOCS) >= PARALLEL_MIN_DOCS
    local = isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner)
    run.workers = Workers(workers if large else 1, WARM_UP if large and local else ())
    return run.workers


def run_newsgate(flow_fn=None, **params) -> dict:
    """Run the flow and return its result dict whatever the final state (the CLI and tests):
    a flow that could not start (invalid parameters) is a failed run with the reason."""
    state = (flow_fn or newsgate)(**params, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict):
        return result
    return {"status": "failed", "error": str(result) or state.message, "run_id": None,
            "release_id": None, "report": None, "blocked_by": [], "warnings": [],
            "manifest": None, "funnel": {}, "timings": {}}


__all__ = ["EXPECTATIONS_DIR", "PIPELINE", "newsgate", "run_newsgate"]
