"""Waivers: a reviewer accepts a warned check for one release, with a comment.

A run that waits for review writes the checks that warned to `<out>/runs/<run>/pending.json`.
`newsgate review accept CHECK --comment …` (another terminal, while the run waits) appends a
waiver to `<out>/runs/<run>/waivers.json`; the run reads that file when the review ends (the
terminal answer, or the resume of a paused run) and writes the waivers into the release
manifest under `review.waivers`. Waivers never hide a check: its state becomes `accepted`.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

PENDING_FILE = "pending.json"    # the run is waiting for review: the checks that warned
WAIVERS_FILE = "waivers.json"    # the checks a reviewer accepted, with their comments


class WaiverError(ValueError):
    """A waiver that cannot be recorded; the message says why and what to do."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, value) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        raise WaiverError(f"{path} cannot be read: {exc}") from None


def mark_pending(run_dir: Path, run_id: str, warned: list[str]) -> None:
    """The run waits for review; `warned` are the ids of the checks that warned."""
    _write_json(Path(run_dir) / PENDING_FILE, {"run_id": run_id, "since": now(), "warned": warned})


def end_pending(run_dir: Path) -> None:
    (Path(run_dir) / PENDING_FILE).unlink(missing_ok=True)


def pending_runs(runs_dir: Path) -> list[Path]:
    """The run folders waiting for review, newest last."""
    return sorted((p.parent for p in Path(runs_dir).glob(f"*/{PENDING_FILE}")),
                  key=lambda p: (p / PENDING_FILE).stat().st_mtime)


def warned_checks(run_dir: Path) -> list[str]:
    return _read_json(Path(run_dir) / PENDING_FILE, {}).get("warned", [])


def read_waivers(run_dir: Path) -> list[dict]:
    return _read_json(Path(run_dir) / WAIVERS_FILE, [])


def accept(run_dir: Path, check: str, comment: str, reviewer: str, via: str) -> dict:
    """Record that `reviewer` accepts the warned check `check` of the pending run in `run_dir`.
    Accepting a check again replaces the earlier waiver (the newest comment counts)."""
    warned = warned_checks(run_dir)
    if not (Path(run_dir) / PENDING_FILE).exists():
        raise WaiverError(f"run {Path(run_dir).name} is not waiting for review")
    if check not in warned:
        shown = "; ".join(warned) or "none"
        raise WaiverError(f"{check} did not warn in run {Path(run_dir).name}; its warned checks: {shown}")
    if not comment.strip():
        raise WaiverError("a waiver needs a comment: say why the warning is acceptable")
    if not reviewer.strip():
        raise WaiverError("a waiver needs the reviewer's name (--reviewer NAME)")
    waiver = {"check": check, "comment": comment.strip(), "reviewer": reviewer.strip(),
              "at": now(), "via": via}
    kept = [w for w in read_waivers(run_dir) if w.get("check") != check]
    _write_json(Path(run_dir) / WAIVERS_FILE, kept + [waiver])
    return waiver


def merged(*lists: list[dict]) -> list[dict]:
    """Waivers from several places (the file, the pause form): one per check, the later wins."""
    by_check: dict[str, dict] = {}
    for waivers in lists:
        for w in waivers:
            by_check[w["check"]] = w
    return list(by_check.values())
