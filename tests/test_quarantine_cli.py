"""`newsgate quarantine` lists a release's quarantined rows by reason, with their detail."""
from __future__ import annotations

import shutil

import pytest

from conftest import SEEDS
from newsgate.flows.cli import main


@pytest.fixture(scope="module")
def out_with_quarantine(harness, tmp_path_factory):
    from newsgate.flows.pipeline import newsgate
    src = tmp_path_factory.mktemp("src")
    shutil.copy(SEEDS / "004_565aa33160096c90.txt", src)
    (src / "scan.pdf").write_bytes(b"%PDF-1.4 not a news page")
    (src / "blank.txt").write_text("   \n\n  ", encoding="utf-8")
    (src / "also_blank.txt").write_text("\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    result = newsgate(sources=[str(src)], out=str(out), review_mode="skip")
    assert result["status"] == "published", result["error"]
    return out


def test_quarantine_lists_rows_by_reason_with_their_detail(out_with_quarantine, capsys):
    assert main(["quarantine", "--out", str(out_with_quarantine)]) == 0
    shown = capsys.readouterr().out
    assert "blank: 2 rows" in shown and "not text: 1 rows" in shown
    assert "scan.pdf" in shown and "also_blank.txt" in shown
    assert shown.index("blank: 2 rows") < shown.index("not text")  # largest first
    assert "(3 of 3 quarantined rows in rel-" in shown


def test_quarantine_filters_by_reason_and_limits_rows(out_with_quarantine, capsys):
    assert main(["quarantine", "--reason", "BLANK", "--limit", "1", "--release", "LATEST",
                 "--out", str(out_with_quarantine)]) == 0
    shown = capsys.readouterr().out
    assert "not text" not in shown and "… 1 more" in shown
    assert main(["quarantine", "--reason", "nonsense", "--out", str(out_with_quarantine)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reasons: blank; not text" in err
