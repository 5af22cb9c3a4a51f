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
