"""The run's outcome tells the truth (issue 13, items 1 and 9): parameters are checked before
any work, the run is published exactly when the commit returned, what follows the commit
cannot turn it into a failure, a full disk is said before anything is written; and two
releases compare table by table, row for row (benchmarks/compare_releases.py)."""
from __future__ import annotations

import json
import shutil
from collections import namedtuple

import pandas as pd
import pytest

from benchmarks.compare_releases import compare_releases, main as compare_main, read_release
from conftest import SEEDS
from newsgate.tasks.gates import EXPECTATIONS_DIR
from newsgate.tasks.publish import Lake

SEED = SEEDS / "004_565aa33160096c90.txt"


# ------------------------------------------------------------------ comparing releases

def _publish(out, articles: pd.DataFrame, release: str) -> None:
    Lake(out).publish(release, {"articles": articles, "quarantine": pd.DataFrame(
        {"stage": ["ingest"], "source": ["a.bin"], "doc_id": [None], "reason": ["not text"],
         "detail": [""]})}, {})


def test_identical_releases_compare_the_same_and_a_changed_cell_is_named(tmp_path, capsys):
    articles = pd.DataFrame({"article_id": ["a-0", "b-0"], "body": ["项目开工。", "总投资1亿元。"],
                             "n_chars": [5, 7]})
    _publish(tmp_path / "a", articles, "rel-a")
    _publish(tmp_path / "b", articles.copy(), "rel-b")
    assert compare_main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "articles       same (2 rows)" in capsys.readouterr().out

    changed = articles.copy()
    changed.loc[1, "body"] = "总投资2亿元。"
    _publish(tmp_path / "c", changed, "rel-c")
    assert compare_main([str(tmp_path / "a"), str(tmp_path / "c")]) == 1
    out = capsys.readouterr().out
    assert "articles       DIFFERS" in out and "column body: 1 rows differ (row 1:" in out
    assert "quarantine     same" in out

    _publish(tmp_path / "d", articles.iloc[::-1].reset_index(drop=True), "rel-d")
    diffs = compare_releases(read_release(tmp_path / "a", None), read_release(tmp_path / "d", None))
    assert diffs["articles"] == ["same rows in another order (3 columns differ by position)"]


# ------------------------------------------------------------------ parameters, up front

@pytest.mark.parametrize("params, says", [
    ({"batch_size": 0}, "batch_size"),
    ({"workers": -2}, "workers"),
    ({"review_mode": "maybe"}, "review_mode"),
])
def test_invalid_parameters_fail_the_run_before_any_work(harness, tmp_path, params, says):
    from newsgate.flows.pipeline import run_newsgate
    result = run_newsgate(sources=[str(SEED)], out=str(tmp_path / "out"), **params)
    assert result["status"] == "failed" and says in result["error"]
    assert not (tmp_path / "out").exists()  # nothing was started, nothing written


def test_a_suites_folder_is_checked_up_front_naming_the_file(harness, tmp_path):
    from newsgate.flows.pipeline import run_newsgate
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_newsgate(sources=[str(SEED)], out=str(tmp_path / "out"), expectations_dir=str(empty))
    assert result["status"] == "failed" and f"{empty} holds no suites" in result["error"]
    broken = tmp_path / "broken"
    shutil.copytree(EXPECTATIONS_DIR, broken)
    (broken / "projects.json").write_text('{"expectations": [', encoding="utf-8")
    result = run_newsgate(sources=[str(SEED)], out=str(tmp_path / "out"), expectations_dir=str(broken))
    assert result["status"] == "failed" and f"{broken}/projects.json is not valid JSON" in result["error"]
    (broken / "projects.json").write_text('{"expectations": [{"type": "expect_x"}]}', encoding="utf-8")
    result = run_newsgate(sources=[str(SEED)], out=str(tmp_path / "out"), expectations_dir=str(broken))
    assert f"{broken}/projects.json: expectation 0 needs a \"type\" and a \"severity\"" in result["error"]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ around the commit

def test_a_failure_after_the_commit_is_a_warning_on_a_published_run(harness, tmp_path, monkeypatch, capsys):
    """A full disk when the report is written, after LATEST moved: the release stands, the run
    says `published` (exit 0) and warns, it does not claim to have failed."""
    import newsgate.flows.release as release
    from newsgate.flows.cli import main

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(release, "write_report", no_space)
    out = tmp_path / "out"
    assert main(["run", str(SEED), "--out", str(out), "--no-review"]) == 0
    printed = capsys.readouterr()
    lake = Lake(out)
    assert f"release {lake.latest_release_id()} published" in printed.out
    # the run's warnings are shown on the terminal as it runs (stdout), and kept in its log
    assert "warning: report not written: OSError: [Errno 28] No space left on device" in printed.out
    assert "report  (not written)" in printed.out
    assert lake.manifest()["tables"]["documents"]["rows"] == 1


def test_a_full_disk_is_said_before_anything_is_written(harness, tmp_path, monkeypatch, capsys):
    from newsgate.flows.cli import EXIT_FAILED, main
    usage = namedtuple("usage", "total used free")
    import newsgate.tasks.publish as publish
    monkeypatch.setattr(publish.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    out = tmp_path / "out"
    assert main(["run", str(SEED), "--out", str(out), "--no-review"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"not enough free space to publish into {out}: about" in err and "0 MB free" in err
    assert "Traceback" not in err
    assert Lake(out).latest_release_id() is None and not (out / "lake").exists()
    runs = list((out / "runs").iterdir())  # the report still says what happened
    assert "not enough free space" in (runs[0] / "report.html").read_text(encoding="utf-8")
