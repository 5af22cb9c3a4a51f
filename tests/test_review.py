"""The review step's decisions (the pause itself is exercised by the deployment test)."""
from __future__ import annotations

import pytest

from newsgate.flows.review import needs_review, resolve_mode, review


def test_threshold():
    assert not needs_review(3, 3) and needs_review(4, 3)


def test_terminal_answer_decides():
    asked = []
    yes = review("ask", "# summary", "/tmp/r.html", ask=lambda q: asked.append(q) or "y")
    assert yes.approved and yes.by == "terminal"
    assert "/tmp/r.html" in asked[0] and "# summary" in asked[0]
    assert not review("ask", "", "", ask=lambda q: "").approved  # the default is No


def test_preapproved_and_skipped_do_not_ask():
    never = lambda q: pytest.fail("must not ask")  # noqa: E731
    assert review("approve", "", "", ask=never).approved
    assert review("skip", "", "", ask=never).approved


def test_auto_outside_a_deployment_never_waits():
    assert resolve_mode("auto") == "skip"
    with pytest.raises(ValueError):
        resolve_mode("sometimes")
