"""The review step's decisions (the pause itself is exercised by the deployment test), and where
the terminal prompt goes."""
from __future__ import annotations

import getpass
import os
import pty
import select
import sys
import time

import pytest
from pydantic import ValidationError

from newsgate.flows.review import ReviewDecision, Verdict, needs_review, resolve_mode, review


def test_threshold():
    assert not needs_review(3, 3) and needs_review(4, 3)


def test_terminal_answer_decides_and_names_the_user():
    asked = []
    yes = review("ask", "# summary", "/tmp/r.html", ask=lambda q: asked.append(q) or "y\n")
    assert yes.approved and (yes.by, yes.via) == (getpass.getuser(), "terminal")
    assert "/tmp/r.html" in asked[0] and asked[0].rstrip().endswith("[y/N]")
    assert not review("ask", "", "", ask=lambda q: "").approved  # the default (and EOF) is No


def test_preapproved_and_skipped_do_not_ask():
    never = lambda q: pytest.fail("must not ask")  # noqa: E731
    approved = review("approve", "", "", ask=never)
    assert approved.approved and (approved.by, approved.via) == (getpass.getuser(), "--approve")
    skipped = review("skip", "", "", ask=never)
    assert skipped.approved and skipped.by == ""


def test_auto_outside_a_deployment_never_waits():
    assert resolve_mode("auto") == "skip"
    with pytest.raises(ValueError):
        resolve_mode("sometimes")


def test_a_resume_must_say_who_reviews():
    """Prefect records no user for a resume, so the input asks for one, and requires it."""
    assert "reviewer" in ReviewDecision.model_json_schema()["required"]
    for missing in ({"approve": True}, {"approve": True, "reviewer": ""},
                    {"approve": True, "reviewer": "  "}):
        with pytest.raises(ValidationError):
            ReviewDecision(**missing)
    assert ReviewDecision(approve=True, reviewer="李审核").reviewer == "李审核"


def test_a_verdict_reads_as_a_sentence_and_a_record():
    verdict = Verdict(False, "王编辑", "resume input", "too many warnings")
    assert verdict.describe() == "rejected by 王编辑 via resume input: too many warnings"
    record = verdict.record()
    assert (record["decision"], record["by"], record["comment"]) == (
        "rejected", "王编辑", "too many warnings")
    assert record["at"].endswith("+00:00")


@pytest.mark.skipif(not hasattr(pty, "fork"), reason="needs a pseudo-terminal")
def test_the_prompt_goes_to_the_terminal_even_with_stdout_and_stderr_redirected(tmp_path):
    """`newsgate run > out.txt 2>/dev/null` on a terminal: the question still reaches the user."""
    answer = tmp_path / "answer"
    code = ("import sys; from newsgate.flows.review import ask_terminal; "
            "open(sys.argv[1], 'w').write(ask_terminal('Publish this release? [y/N] '))")
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, stdout/stderr go nowhere
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execv(sys.executable, [sys.executable, "-c", code, str(answer)])
    seen, deadline = b"", time.monotonic() + 60
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        if select.select([terminal], [], [], 1)[0]:
            seen += os.read(terminal, 1024)
    os.write(terminal, b"y\n")
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert b"Publish this release? [y/N]" in seen
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer.read_text(encoding="utf-8").strip() == "y"


def test_a_rejection_records_its_reason_and_the_waivers_given_while_waiting(tmp_path):
    """The terminal review of a waiting run: a waiver given meanwhile (as `newsgate review
    accept` would) and the reason of the "no" are both kept with the run."""
    import json

    import pandas as pd

    from newsgate.flows.review import DECISION_FILE, review_run
    from newsgate.tasks import waivers
    from newsgate.tasks.gates import CheckResult, GateResult
    from newsgate.tasks.report import RunSummary

    warned = CheckResult("indicators", "gx", "expect_column_values_to_not_be_null(period)",
                         "most indicators state their period", "warning", False,
                         observed="57 of 102 unexpected")
    pending = RunSummary("run-9", "awaiting review", None, ["seeds"], [("inputs", 1)],
                         [GateResult("indicators", 1, 1, [warned], pd.DataFrame())], "t0", "t1")
    answers = iter(["n\n", "期间缺失太多，先修抽取\n"])

    def ask(question):
        if "[y/N]" in question:  # while the prompt waits, another terminal accepts the check
            assert waivers.warned_checks(tmp_path) == [warned.id]
            waivers.accept(tmp_path, warned.id, "known gap", "王编辑", "newsgate review accept")
        return next(answers)

    verdict = review_run("ask", pending, tmp_path, ask=ask)
    assert not verdict.approved and verdict.comment == "期间缺失太多，先修抽取"
    assert [w["check"] for w in verdict.waivers] == [warned.id]
    kept = json.loads((tmp_path / DECISION_FILE).read_text(encoding="utf-8"))
    assert (kept["decision"], kept["comment"]) == ("rejected", "期间缺失太多，先修抽取")
    assert kept["waivers"][0]["comment"] == "known gap"
    assert not (tmp_path / waivers.PENDING_FILE).exists()  # no longer waiting
    assert "Awaiting review" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_resume_form_offers_the_warned_checks_and_nothing_else():
    from newsgate.flows.review import review_form

    form = review_form(["indicators.expect_x(period)", "articles.y"])
    items = form.model_json_schema()["properties"]["accept"]["items"]
    assert items["enum"] == ["indicators.expect_x(period)", "articles.y"]
    chosen = form(approve=True, reviewer="李审核", accept=["articles.y"], comment="ok")
    assert chosen.accept == ["articles.y"]
    with pytest.raises(ValidationError):
        form(approve=True, reviewer="李审核", accept=["projects.not_warned"])
    assert review_form([]) is ReviewDecision  # nothing warned: nothing to accept
