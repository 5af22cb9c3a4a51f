"""The review step: when gates pass but warnings pile up, a person decides before publishing.

Modes (the flow's `review` parameter):
- `auto`: a deployment run pauses and waits for a reviewer in the Prefect UI; any other run
  does not wait (CI, scripts). The default for deployments.
- `pause`: always pause (Prefect `pause_flow_run` with `wait_for_input`).
- `ask`: ask on the terminal (the CLI's default when it runs in a terminal).
- `approve`: pre-approved (`newsgate run --approve`).
- `skip`: no review step (`newsgate run --no-review`); gates alone decide.

Waivers: while a run waits, the reviewer may accept warned checks, each with a comment: from
another terminal (`newsgate review accept CHECK --comment …`, tasks/waivers.py) or, for a paused
run, in the resume form, which lists the warned checks as options (`accept`). The run reads them
when the review ends; they go into the manifest with the decision (`review.waivers`).

Who decided is recorded as given. Prefect 3.8 records no user when a paused run is resumed
(the open-source server has no accounts: `resume_flow_run` and the UI's Resume send only the
run input), so a paused run asks the reviewer to state their name in the resume input
(`reviewer`, required). On the terminal and with `--approve` it is the operating-system user.
"""
from __future__ import annotations

import getpass
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, create_model
from prefect.input import RunInput

from newsgate.tasks import waivers as waiver_files
from newsgate.tasks.waivers import now as _now

MODES = ("auto", "pause", "ask", "approve", "skip")
VIA_RESUME = "resume input (Prefect UI or API; the reviewer's name as they stated it)"


class ReviewDecision(RunInput):
    approve: bool = Field(False, description="tick to publish this release, leave unticked to "
                                             "reject")
    reviewer: str = Field(..., min_length=1, pattern=r"\S",
                          description="your name: Prefect does not record who resumes a run")
    comment: str = Field("", description="why (shown in the run's final state and the manifest; "
                                         "also the comment of the checks you accept)")


def review_form(warned: list[str]) -> type[ReviewDecision]:
    """The resume form of a run whose checks `warned`: ReviewDecision plus `accept`, the warned
    checks as options (a multi-select in the Prefect UI)."""
    if not warned:
        return ReviewDecision
    return create_model("ReviewDecision", __base__=ReviewDecision, accept=(
        list[Literal[tuple(warned)]],  # type: ignore[valid-type]
        Field(default_factory=list, description="warned checks you accept for this release "
                                                "(each gets the comment; they stay visible)")))


@dataclass
class Verdict:
    approved: bool
    by: str  # who decided, as given ("" when no person did)
    via: str  # how the decision was made
    comment: str = ""
    at: str = field(default_factory=_now)
    waivers: list[dict] = field(default_factory=list)  # warned checks accepted (tasks/waivers.py)

    def describe(self) -> str:
        """One line for logs and the run's final state: 'rejected by X via Y: comment'."""
        who = f" by {self.by}" if self.by else ""
        why = f": {self.comment}" if self.comment else ""
        accepted = f" ({len(self.waivers)} warned checks accepted)" if self.waivers else ""
        return f"{'approved' if self.approved else 'rejected'}{who} via {self.via}{why}{accepted}"

    def record(self) -> dict:
        """What the release manifest keeps of the decision."""
        return {"decision": "approved" if self.approved else "rejected", **asdict(self)}


def needs_review(n_warnings: int, max_warnings: int) -> bool:
    return n_warnings > max_warnings


def resolve_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"review must be one of {', '.join(MODES)}, not {mode}")
    if mode != "auto":
        return mode
    from prefect.runtime import deployment
    return "pause" if deployment.id else "skip"


def ask_terminal(question: str) -> str:
    """The answer to `question` on the terminal the user is looking at: /dev/tty when there is
    one (so `2>/dev/null` or `> file` never hide a waiting prompt), else stdout and stdin.
    End of input is an empty answer."""
    try:  # two handles: a terminal cannot seek, which a read-write text file would need
        with open("/dev/tty", "w", encoding="utf-8") as shown, \
                open("/dev/tty", encoding="utf-8") as typed:
            shown.write(question)
            shown.flush()
            return typed.readline()
    except OSError:  # no controlling terminal (cron, CI)
        sys.stdout.write(question)  # not print(): the flow's log_prints would log it
        sys.stdout.flush()
        return sys.stdin.readline()


def review(mode: str, summary_markdown: str, report_path: str, timeout_s: int = 3600,
           ask=ask_terminal, warned: list[str] = ()) -> Verdict:
    mode = resolve_mode(mode)
    if mode == "approve":
        return Verdict(True, getpass.getuser(), "--approve")
    if mode == "skip":
        return Verdict(True, "", "no review (skipped)")
    if mode == "ask":
        answer = ask(f"\nMore gate warnings than --max-warnings; the report lists them:\n"
                     f"  {report_path}\n(accept a warned check first, from another terminal: "
                     f"newsgate review accept CHECK --comment \"why\")\nPublish this release? [y/N] ")
        approved = answer.strip().lower() in ("y", "yes")
        reason = "" if approved else ask("Why not? (one line, recorded with the run) ").strip()
        return Verdict(approved, getpass.getuser(), "terminal", reason)
    from prefect.flow_runs import pause_flow_run

    description = (f"{summary_markdown}\n\nReport: `{report_path}`\n\n"
                   "Tick **approve** to publish this release, leave it unticked to reject. "
                   "**reviewer**: your name (Prefect does not record who resumes a run). "
                   "**accept**: warned checks you accept for this release, with **comment** "
                   "saying why.")
    form = review_form(list(warned))
    try:
        decision = pause_flow_run(
            wait_for_input=form.with_initial_data(description=description, approve=False),
            timeout=timeout_s, poll_interval=2)  # a resumed run continues within seconds
    except Exception as exc:  # timed out or aborted: nothing is published
        return Verdict(False, "", f"no decision ({type(exc).__name__})")
    reviewer, comment = decision.reviewer.strip(), decision.comment.strip()
    accepted = [{"check": c, "comment": comment, "reviewer": reviewer, "at": _now(),
                 "via": VIA_RESUME} for c in getattr(decision, "accept", [])]
    return Verdict(bool(decision.approve), reviewer, VIA_RESUME, comment, waivers=accepted)


DECISION_FILE = "review.json"  # in the run's folder: the decision, published or not


def review_run(mode: str, pending, run_dir: Path, timeout_s: int = 3600,
               ask=ask_terminal) -> Verdict:
    """The review of a run awaiting it (`pending`, its RunSummary): its report written, the run
    marked pending (so `newsgate review accept` can find it), the decision taken, the waivers
    of the file and of the form merged into the verdict, the decision kept in the run's folder."""
    from newsgate.tasks.report import render_markdown, write_report

    run_dir = Path(run_dir)
    warned = [c.id for g in pending.gates for c in g.warnings]
    report = write_report(pending, run_dir)
    waiver_files.mark_pending(run_dir, pending.run_id, warned)
    try:
        verdict = review(mode, render_markdown(pending), str(report), timeout_s, ask, warned)
    finally:
        waiver_files.end_pending(run_dir)
    verdict.waivers = waiver_files.merged(waiver_files.read_waivers(run_dir), verdict.waivers)
    (run_dir / DECISION_FILE).write_text(json.dumps(verdict.record(), ensure_ascii=False, indent=2),
                                         encoding="utf-8")
    return verdict
