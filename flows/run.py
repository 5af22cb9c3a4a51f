"""One run's state: where it writes, what it builds on, and what it has built, gated and counted.

The stages fill it (flows/stage_runner.py), publishing commits it (flows/release.py). Its status
is decided in one place, `Run.outcome()`: whatever a stage raises ends the run blocked,
rejected, unchanged, locked or failed, and only a committed release makes it published.
"""
from __future__ import annotations

import contextlib
import os
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from newsgate.tasks.gates import GateResult
from newsgate.flows.runners import log_progress
from newsgate.tasks.publish import Change, Lake, LakeError, PublishLocked
from newsgate.tasks.reader import ReleaseReader, ReleaseView
from newsgate.tasks.workers import Workers, release_memory

# the name of the flow run's final (red) state when nothing was published
FINAL_STATES = {"blocked": "Blocked", "rejected": "Rejected"}


class GateBlocked(RuntimeError):
    """A gate failed an error-severity check: nothing is published."""


class InvariantBroken(GateBlocked):
    """A table-wide invariant does not hold over the written Delta versions: not committed."""


class ReviewRejected(RuntimeError):
    """The reviewer (or the lack of one) did not approve the release."""


class NothingNew(Exception):
    """Every input is already in the latest release, made by the same code and gates."""


@dataclass
class StageOutput:
    """What one stage did in this run."""
    made: dict[str, pd.DataFrame]  # this run's rows of each table (before carry-over and gates)
    rejected: pd.DataFrame  # input rows the stage's function quarantined
    kept: dict[str, pd.DataFrame] = field(default_factory=dict)  # what each table's gate kept
    quarantined: int = 0  # rows quarantined by the function and by the gates

    def settle(self) -> None:
        """The stage is done: its frames keep their rows' documents only (what the run's
        accounting counts), not every column. The release being built holds the rows; with
        the pre-gate copy (object columns) held until publishing, 200k tiny documents peaked
        at 4.16 GB, without it at 3.84 GB."""
        for frames in (self.made, self.kept):
            for table, df in frames.items():
                frames[table] = df[["doc_id"] if "doc_id" in df else []]


@dataclass
class Run:
    lake: Lake
    sources: list[str]
    batch_size: int
    expectations_dir: str | None
    run_id: str
    release_id: str
    started_at: str
    files: list[str] = field(default_factory=list)  # every file under the sources, in order
    workers: Workers = field(default_factory=lambda: Workers(1))
    cache_storage: Any = None  # Prefect result storage of the batch tasks (None: no cache)
    # the previous release, read lazily: the columns and rows a stage asks for (tasks/reader.py)
    previous: ReleaseReader = field(default_factory=ReleaseReader)
    previous_manifest: dict = field(default_factory=dict)
    # fingerprints of this run's code per stage (+ "gates") and of its suites, computed once:
    # they key the caches, the carry-over decisions and the manifest
    code: dict[str, str] = field(default_factory=dict)
    suites: str = ""
    # this run's new and changed rows of each table (the whole table when it is written whole)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # their key and the keys whose previous rows go (None: `tables` holds the whole table)
    changes: dict[str, Change | None] = field(default_factory=dict)
    outputs: dict[str, StageOutput] = field(default_factory=dict)  # by stage name
    # saved with the release, by stage name: (its manifest key, the state)
    states: dict[str, tuple[str, Any]] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)  # doc ids of this run's documents
    gates: list[GateResult] = field(default_factory=list)
    quarantine: list[pd.DataFrame] = field(default_factory=list)  # in the order it was found
    funnel: list[tuple[str, int]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    status: str = "failed"
    error: str | None = None
    blocked_by: list[str] = field(default_factory=list)
    verdict: Any = None  # the review step's Verdict, when it ran (recorded in the manifest)
    manifest: dict | None = None
    warnings: list[str] = field(default_factory=list)  # what went wrong after the commit
    background: list = field(default_factory=list)  # futures of work finished by `finish`

    @classmethod
    def begin(cls, sources: list[str], out: str, **options) -> Run:
        now = datetime.now(timezone.utc)
        stamp, tag = now.strftime("%Y%m%dT%H%M%SZ"), uuid.uuid4().hex[:6]
        return cls(Lake(Path(out)), sources, run_id=f"run-{stamp}-{tag}",
                   release_id=f"rel-{stamp}-{tag}", started_at=now.isoformat(timespec="seconds"),
                   **options)

    @property
    def run_dir(self) -> Path:
        return self.lake.run_dir(self.run_id)

    def file_rows(self) -> list[dict]:
        """The files as the ingest stage reads them: an edited file (size, modification time)
        is another input (and another cache key)."""
        rows = []
        for path in self.files:
            try:
                st = os.stat(path)
                rows.append({"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
            except OSError:
                rows.append({"path": path, "size": -1, "mtime_ns": -1})
        return rows

    @contextlib.contextmanager
    def timed(self, stage: str):
        """Time a stage; when it is done, one progress line with what it counted."""
        t0, counted = time.perf_counter(), len(self.funnel)
        try:
            yield
        finally:
            release_memory()  # what the stage freed goes back to the OS, not on to the next stage
            seconds = time.perf_counter() - t0
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        log_progress(stage, seconds, self.funnel[counted:])

    def read_previous_release(self) -> None:
        """What this run builds on: the latest release, if any (its manifest and state files
        checked now; each table's files when a stage first reads it)."""
        with self.timed("read release"):
            if self.lake.latest_release_id():
                self.previous_manifest = self.lake.manifest()
                self.lake.check(self.previous_manifest, [], state=True)
                self.previous = ReleaseReader(self.lake, self.previous_manifest)

    def view(self, reads=None) -> ReleaseView:
        """The release being built (this run's rows over the previous release's), for a stage
        that reads `reads` ({table: columns})."""
        return ReleaseView(self.previous, self.tables, self.changes, reads or {})

    def built_like_previous(self, *names: str, suites: bool = False) -> bool:
        """Was the previous release made by this run's code for `names` (stages, "gates"), and,
        with `suites`, gated by the same suites?"""
        if not self.previous:
            return False
        recorded = self.previous_manifest.get("code", {})
        return (all(recorded.get(n) == self.code[n] for n in names)
                and (not suites or self.previous_manifest.get("expectations") == self.suites))

    def same_gates(self) -> bool:
        """Was the previous release gated by the same checks (gate code, rules, suites)?"""
        return self.built_like_previous("gates", suites=True)

    @contextlib.contextmanager
    def outcome(self, log):
        """The one place that decides how a run that did not publish ended."""
        try:
            yield
        except GateBlocked as exc:
            self.status, self.error = "blocked", str(exc)
        except ReviewRejected as exc:
            self.status, self.error = "rejected", str(exc)
        except NothingNew as exc:  # a re-run of published input: LATEST already holds the result
            self.status, self.error = "unchanged", str(exc)
            log.info("%s", exc)
        except PublishLocked as exc:  # another run holds `out`: nothing was touched
            self.status, self.error = "locked", str(exc)
        except LakeError as exc:  # a full disk, a lost LATEST, a damaged release: one line
            self.status, self.error = "failed", str(exc)  # that names the file
            log.error("run failed: %s", exc)
        except Exception:  # the report must still say what happened
            self.status, self.error = "failed", traceback.format_exc()
            log.error("run failed: %s", self.error)

    def result(self, report: Path | None) -> dict:
        release = {"published": self.release_id,
                   "unchanged": self.previous_manifest.get("release_id")}.get(self.status)
        return {"status": self.status, "run_id": self.run_id, "release_id": release,
                "report": str(report) if report else None, "blocked_by": self.blocked_by,
                "error": self.error, "warnings": self.warnings, "manifest": self.manifest,
                "funnel": dict(self.funnel), "timings": self.timings}
