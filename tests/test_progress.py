"""Progress of the batch stages: a bar on a terminal (batches done / total), nothing when piped."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from newsgate.flows import progress


def test_track_returns_results_in_order_and_counts_batches_on_a_terminal_stream():
    shown = io.StringIO()
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(lambda n=n: n * n) for n in range(4)]
        assert list(progress.track("clean", futures, stream=shown)) == [0, 1, 4, 9]
    text = shown.getvalue()
    assert "clean" in text and "4/4 batches" in text


def test_no_bar_when_not_asked_for(capsys):
    progress.show_on_terminal(False)
    with ThreadPoolExecutor(1) as pool:
        assert list(progress.track("extract", [pool.submit(lambda: "x")])) == ["x"]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_bars_only_on_a_terminal_outside_ci(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("CI", raising=False)
    assert progress.terminal_wanted(Tty()) and not progress.terminal_wanted(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not progress.terminal_wanted(Tty())
