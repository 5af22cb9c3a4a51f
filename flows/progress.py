"""Progress of the batch stages (ingest, clean, extract): batches done out of batches.

- On a terminal (`newsgate run` with stderr a TTY, not in CI): a tqdm bar per stage on stderr,
  cleared when the stage ends (its one-line summary follows). Pipes, files and CI see nothing.
- In a flow run with a Prefect API: one progress artifact per run (`newsgate-progress`),
  updated as batches finish, so a deployment run shows how far it is in the UI.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator

BATCH_STAGES = ("ingest", "clean", "extract")  # the stages counted in batches, in run order
ARTIFACT_KEY = "newsgate-progress"
_terminal = False
_artifacts: dict[str, object] = {}  # flow run id -> its progress artifact's id

log = logging.getLogger(__name__)


def show_on_terminal(enabled: bool) -> None:
    """The CLI turns the bars on for a terminal run."""
    global _terminal
    _terminal = enabled


def terminal_wanted(stream=sys.stderr) -> bool:
    """Bars only where a person watches: a TTY, and not CI."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


def _bar(stage: str, total: int, stream=None):
    from tqdm import tqdm
    # batches are few (tens): every one is shown (mininterval=0), the bar cleared at the end
    return tqdm(total=total, desc=f"  {stage:<11}", unit="batch", leave=False, mininterval=0,
                file=stream or sys.stderr, disable=not _terminal and stream is None,
                bar_format="{desc} {bar:30} {n_fmt}/{total_fmt} batches {elapsed}")


def _artifact_update(stage: str, done: int, total: int) -> None:
    """The run's progress artifact: the share of the batch stages done (each stage one part)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or stage not in BATCH_STAGES:
        return
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    share = (BATCH_STAGES.index(stage) + done / max(total, 1)) / len(BATCH_STAGES) * 100
    description = f"{stage}: {done}/{total} batches"
    run_id = str(ctx.flow_run.id)
    try:
        if run_id not in _artifacts:
            _artifacts[run_id] = create_progress_artifact(share, key=ARTIFACT_KEY,
                                                          description=description)
        else:
            update_progress_artifact(_artifacts[run_id], share, description=description)
    except Exception as exc:  # progress is a convenience: a run never fails for it
        log.debug("progress artifact not updated: %s", exc)


def track(stage: str, futures: Iterable, stream=None) -> Iterator:
    """The results of `futures` in their order, the stage's progress shown as each arrives."""
    futures = list(futures)
    with _bar(stage, len(futures), stream) as bar:
        for done, future in enumerate(futures, 1):
            result = future.result()
            bar.update(1)
            _artifact_update(stage, done, len(futures))
            yield result
