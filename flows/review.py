"""The review step: when gates pass but warnings pile up, a person decides before publishing.

Modes (the flow's `review` parameter):
- `auto`: a deployment run pauses and waits for a reviewer in the Prefect UI; any other run
  does not wait (CI, scripts). The default for deployments.
- `pause`: always pause (Prefect `pause_flow_run` with `wait_for_input`).
- `ask`: ask on the terminal (the CLI's default when it runs in a terminal).
- `approve`: pre-approved (`newsgate run --approve`).
- `skip`: no review step (`newsgate run --no-review`); gates alone decide.
"""
from __future__ import annotations

from dataclasses import dataclass

from prefect.input import RunInput

MODES = ("auto", "pause", "ask", "approve", "skip")


class ReviewDecision(RunInput):
    approve: bool = False
    comment: str = ""


@dataclass
class Verdict:
    approved: bool
    by: str  # how the decision was made
    comment: str = ""


def needs_review(n_warnings: int, max_warnings: int) -> bool:
    return n_warnings > max_warnings


def resolve_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"review must be one of {', '.join(MODES)}, not {mode!r}")
    if mode != "auto":
        return mode
    from prefect.runtime import deployment
    return "pause" if deployment.id else "skip"


def review(mode: str, summary_markdown: str, report_path: str, timeout_s: int = 3600,
           ask=input) -> Verdict:
    mode = resolve_mode(mode)
    if mode == "approve":
        return Verdict(True, "pre-approved (--approve)")
    if mode == "skip":
        return Verdict(True, "review skipped")
    if mode == "ask":
        answer = ask(f"\n{summary_markdown}\nReport: {report_path}\n"
                     "Warnings exceed the review threshold. Publish this release? [y/N] ")
        return Verdict(answer.strip().lower() in ("y", "yes"), "terminal")
    from prefect.flow_runs import pause_flow_run

    description = (f"{summary_markdown}\n\nReport: `{report_path}`\n\n"
                   "Set **approve** to publish this release, leave it unset to reject.")
    try:
        decision = pause_flow_run(
            wait_for_input=ReviewDecision.with_initial_data(description=description, approve=False),
            timeout=timeout_s, poll_interval=2)  # a resumed run continues within seconds
    except Exception as exc:  # timed out or aborted: nothing is published
        return Verdict(False, f"no decision ({type(exc).__name__})")
    return Verdict(bool(decision.approve), "Prefect UI", decision.comment)
