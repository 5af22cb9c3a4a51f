"""Flow-run heartbeats: off on a temporary server (they would hold up the end of every run), on
against a real server, and an explicit setting always wins."""
from __future__ import annotations

from prefect.settings import get_current_settings

from newsgate.flows.runners import heartbeats_for


def _frequency():
    return get_current_settings().flows.heartbeat_frequency


def test_a_run_on_a_temporary_server_sends_no_heartbeats(monkeypatch):
    monkeypatch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
    default = _frequency()
    assert default is not None
    with heartbeats_for(temporary_server=True):
        assert _frequency() is None
    assert _frequency() == default
    with heartbeats_for(temporary_server=False):
        assert _frequency() == default


def test_an_explicit_heartbeat_setting_wins(monkeypatch):
    default = _frequency()
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")  # the user's own choice
    with heartbeats_for(temporary_server=True):
        assert _frequency() == default  # left to Prefect's settings, not switched off
