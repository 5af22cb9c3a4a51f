"""A run reads the previous release lazily (issue 17): only declared columns, rows by key; it
keeps only its own changes, gates only them, and table-wide rules still block."""
from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest

from conftest import SEEDS
from newsgate.tasks.publish import Change, Lake
from newsgate.tasks.reader import ReleaseReader, ReleaseView


def _articles(ids: list[str], body: str = "正文") -> pd.DataFrame:
    return pd.DataFrame([{"article_id": a, "doc_id": a.rsplit("-", 1)[0], "seq": 0, "title": f"t{a}",
                          "body": f"{body}{a}", "outlet": None, "published_date": None} for a in ids])


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(tmp_path)
    lake.publish("rel-1", {"articles": _articles(["d1-0", "d2-0", "d3-0"])}, {})
    return lake


def test_the_reader_reads_only_the_columns_and_keys_asked_for(lake):
    reader = ReleaseReader(lake, lake.manifest())
    assert reader.reads == []  # nothing is read up front
    two = reader.read("articles", ["article_id", "title"], where=("article_id", ["d2-0", "zz"]))
    assert list(two.columns) == ["article_id", "title"] and two["title"].tolist() == ["td2-0"]
    rest = reader.read("articles", ["article_id"], without=("doc_id", {"d1"}))
    assert rest["article_id"].tolist() == ["d2-0", "d3-0"]  # in first-seen order
    assert reader.reads == [("articles", ("article_id", "title"), True, 1),
                            ("articles", ("article_id",), True, 2)]
    assert not ReleaseReader() and "articles" not in ReleaseReader()


def test_the_view_puts_this_runs_rows_over_the_previous_ones(lake):
    """d2 replaced (its article d2-0 changed), d3-0 dropped, d4-0 new: the release a run
    builds, read whole, by key and counted, without the previous rows being loaded whole."""
    reader = ReleaseReader(lake, lake.manifest())
    mine = _articles(["d2-0", "d4-0"], body="新")
    view = ReleaseView(reader, {"articles": mine},
                       {"articles": Change(mine, "article_id", drop=("d3-0",), unique=True)},
                       reads={"articles": ["article_id", "body"]})
    assert view["articles"].to_dict("records") == [
        {"article_id": "d1-0", "body": "正文d1-0"}, {"article_id": "d2-0", "body": "新d2-0"},
        {"article_id": "d4-0", "body": "新d4-0"}]
    found = view.lookup("articles", "article_id", {"d1-0", "d2-0", "d3-0"}, ["article_id", "body"])
    assert sorted(found["body"]) == ["新d2-0", "正文d1-0"]  # d3-0 went, d2-0 is this run's
    assert view.count("articles") == 3 and view.changed("articles") is mine
    assert all(columns is not None for _, columns, _, _ in reader.reads)
    whole = ReleaseView.of({"articles": mine})  # tests and notebooks: plain frames
    assert whole.whole("articles") and whole["articles"] is mine and "clusters" not in whole


def test_whole_column_checks_count_the_release_in_arrow(lake):
    """Drift and the full-date share count a whole column of the release being built: the
    previous rows come as Arrow from the Delta scan (without the rows this run replaces or
    drops; the frame of the previous release is never built), then this run's rows."""
    from newsgate.tasks.gates import _counts, full_date_share
    from newsgate.tasks.stage import arrow_parts
    dated = _articles(["d1-0", "d2-0", "d3-0"]).assign(published_date=["2024-05-01", "2024", None])
    lake.publish("rel-2", {"articles": dated}, {})
    reader = ReleaseReader(lake, lake.manifest())
    mine = _articles(["d2-0", "d4-0"]).assign(published_date=["2024-06-02", "2024-06-03"])
    view = ReleaseView(reader, {"articles": mine},
                       {"articles": Change(mine, "article_id", drop=("d3-0",), unique=True)})
    parts = arrow_parts(view, "articles", ["article_id", "published_date"])
    assert [p.num_rows for p in parts] == [1, 2]  # d1-0 of the release; d2-0 and d4-0 of this run
    assert full_date_share(parts) == 1.0
    assert _counts(parts, "article_id") == {"d1-0": 1, "d2-0": 1, "d4-0": 1}
    before = arrow_parts(ReleaseView(reader, {}, {}), "articles", ["published_date"])
    assert full_date_share(before) == pytest.approx(1 / 3)
    assert _counts(before, "published_date", "") == {"2024-05-01": 1, "2024": 1, "": 1}
    assert all(columns is not None for _, columns, _, _ in reader.reads)
    assert arrow_parts(view, "articles", ["no_such_column"]) == []


def _increment(seed_releases, tmp_path, monkeypatch, pipeline=None):
    """Seed 002 added to the seed releases (004, then 001) by an in-process flow run, every
    read of the previous release recorded with the phase it happened in."""
    from newsgate.flows import pipeline as flow_module
    out = tmp_path / "out"
    shutil.copytree(seed_releases, out)
    reads, phase = [], ["stages"]
    arrow = ReleaseReader.arrow

    def recorded(self, table, columns=None, where=None, without=None, ordered=True):
        reads.append((phase[0], table, None if columns is None else tuple(columns),
                      where is not None or without is not None))
        return arrow(self, table, columns, where, without, ordered)

    finish = flow_module.finish

    def finishing(run):
        phase[0] = "report"
        return finish(run)

    monkeypatch.setattr(ReleaseReader, "arrow", recorded)
    monkeypatch.setattr(flow_module, "finish", finishing)
    if pipeline is not None:
        monkeypatch.setattr(flow_module, "PIPELINE", pipeline)
    result = flow_module.newsgate(sources=[str(SEEDS / "002_b6da46b685f43c6f.txt")], out=str(out),
                                  review_mode="skip", return_state=True).result(raise_on_failure=False)
    return result, reads, Lake(out)


def test_an_increment_never_reads_the_previous_release_whole(seed_releases, tmp_path, monkeypatch):
    result, reads, lake = _increment(seed_releases, tmp_path, monkeypatch)
    assert result["status"] == "published", result["error"]
    stages = [r for r in reads if r[0] == "stages"]
    assert stages  # it did read what it needs
    # every read names its columns (the quarantine, a few rows written whole, aside) ...
    assert all(columns is not None for _, table, columns, _ in stages if table != "quarantine"), stages
    # ... and texts (documents, bodies) only of the rows it asked for by key
    assert all(filtered for _, _, columns, filtered in stages
               if columns and {"text", "body"} & set(columns)), stages
    # what it published is the seeds' three documents, each once, every rule holding
    assert lake.manifest()["tables"]["documents"]["rows"] == 3
    assert lake.verify().ok


def test_the_report_reads_the_bodies_it_shows_once(seed_releases, tmp_path, monkeypatch):
    """Each read of bodies by key scans every body of the release: the report's sections (low-
    confidence facts of several tables, duplicate pairs, stories) say what they show first,
    and one read serves them all."""
    result, reads, _ = _increment(seed_releases, tmp_path, monkeypatch)
    assert result["status"] == "published", result["error"]
    report = [r for r in reads if r[0] == "report" and r[1] == "articles" and "body" in (r[2] or ())]
    assert len(report) == 1, report
    html = (tmp_path / "out" / "runs").glob("*/report.html")
    assert any("low-confidence projects" in p.read_text(encoding="utf-8")
               and "low-confidence indicators" in p.read_text(encoding="utf-8") for p in html)


def test_a_broken_cluster_of_new_rows_blocks_through_the_invariant(seed_releases, tmp_path,
                                                                    monkeypatch):
    """One canonical per cluster is no longer a GX row check (it spans rows the run does not
    hold): a new article made a second canonical of an old cluster still blocks the run."""
    from newsgate.flows.pipeline import PIPELINE
    from newsgate.tasks import dedup

    def second_canonical(tables, prior):
        made, index = dedup.dedup_stage(tables, prior)
        old = tables.release("clusters", ["cluster_id", "is_canonical"])
        old = old[old["is_canonical"].astype(bool) & ~old["cluster_id"].isin(made["clusters"]["cluster_id"])]
        made["clusters"].loc[made["clusters"].index[0], "cluster_id"] = old["cluster_id"].iloc[0]
        return made, index

    broken = [dataclasses.replace(s, function=second_canonical) if s.name == "dedup" else s
              for s in PIPELINE]
    result, _, lake = _increment(seed_releases, tmp_path, monkeypatch, broken)
    assert result["status"] == "blocked", result
    assert "one canonical per cluster" in result["error"]
    assert lake.manifest()["tables"]["documents"]["rows"] == 2  # LATEST as it was


def test_rows_of_reads_by_key_from_a_view_and_filters_plain_frames(lake):
    """What the gates and the report use on a run's release or on plain frames: the same rows;
    a boolean column compares as Arrow casts it (the report's `needs_review` rows)."""
    from newsgate.tasks.stage import rows_of
    flags = pd.DataFrame({"article_id": ["d1-0", "d2-0", "d3-0"], "needs_review": [True, False, True]})
    lake.publish("rel-2", {"flags": flags}, {})
    reader = ReleaseReader(lake, lake.manifest())
    mine = pd.DataFrame({"article_id": ["d4-0"], "needs_review": [True]})
    view = ReleaseView(reader, {"flags": mine}, {"flags": Change(mine, "article_id", drop=("d3-0",))})
    doubtful = rows_of(view, "flags", None, "needs_review", [True])
    assert doubtful["article_id"].tolist() == ["d1-0", "d4-0"]
    plain = rows_of({"flags": pd.concat([flags, mine])}, "flags", ["article_id"], "needs_review", [True])
    assert plain["article_id"].tolist() == ["d1-0", "d3-0", "d4-0"]
    assert rows_of(view, "flags", None, "no_such_column", [1]) is None
    assert rows_of(view, "clusters", ["article_id"]) is None


def test_the_gates_check_only_this_runs_rows_and_still_catch_a_bad_one(seed_releases, tmp_path,
                                                                        monkeypatch):
    """An increment gates the rows it adds, not the release: a boilerplate line left in a new
    article's body (a critical check) still blocks it."""
    from newsgate.flows import stage_runner
    from newsgate.flows.pipeline import PIPELINE
    from newsgate.tasks import clean

    def leaves_boilerplate(rows):
        made = clean.clean_records(rows)
        first = made["articles"][0]
        first["body"] += "\n责任编辑：刘响"
        first["n_chars"] = len(first["body"])
        return made

    gated, gate = [], stage_runner.gate

    def recorded(table, df, *args, **kwargs):
        gated.append((table, len(df)))
        return gate(table, df, *args, **kwargs)

    monkeypatch.setattr(stage_runner, "gate", recorded)
    broken = [dataclasses.replace(s, function=leaves_boilerplate) if s.name == "clean" else s
              for s in PIPELINE]
    result, _, lake = _increment(seed_releases, tmp_path, monkeypatch, broken)
    assert result["status"] == "blocked", result
    assert any("articles" in b and "boilerplate" in b for b in result["blocked_by"]), result
    # the articles gate saw this run's articles, not the release's (which holds them too)
    mine = result["funnel"]["articles (this run)"]
    published = lake.manifest()["tables"]["articles"]["rows"]
    assert [n for table, n in gated if table == "articles"] == [mine] and published > 0, gated


def test_other_gates_check_the_whole_release_again_and_publish_it(seed_releases, tmp_path,
                                                                  monkeypatch):
    """New gate code (a deploy): the rows the release holds were checked by other checks, so
    this run gates every row again and writes the tables whole; an extra column an earlier
    release stored as text (all missing when first published) is written back as text."""
    from newsgate.flows import pipeline, stage_runner
    fingerprint = pipeline.fingerprint

    def new_gates(run, stages):
        fingerprint(run, stages)
        run.code["gates"] = "other gate code"

    gated, gate = [], stage_runner.gate

    def recorded(table, df, *args, **kwargs):
        gated.append((table, len(df)))
        return gate(table, df, *args, **kwargs)

    monkeypatch.setattr(pipeline, "fingerprint", new_gates)
    monkeypatch.setattr(stage_runner, "gate", recorded)
    before = Lake(seed_releases).manifest()["tables"]
    result, _, lake = _increment(seed_releases, tmp_path, monkeypatch)
    assert result["status"] == "published", result["error"]
    after = lake.manifest()["tables"]
    seen = dict(gated)
    assert seen["articles"] == after["articles"]["rows"] > before["articles"]["rows"]
    assert seen["projects"] == after["projects"]["rows"]
    assert "sha256" in after["projects"]  # written whole
    assert lake.verify().ok


def test_a_wide_read_by_key_scans_only_the_key_column_when_no_key_is_there(lake, monkeypatch):
    """An increment looks up the previous rows of its keys, mostly new ones: the bodies are
    decoded only when one of the keys is in the table (ids are hashes: no file can be skipped
    by its statistics), and the answer is the filtered scan's either way."""
    import newsgate.tasks.publish as publish

    scans = []

    class Counted:
        def __init__(self, dataset):
            self.dataset = dataset

        def __getattr__(self, name):
            return getattr(self.dataset, name)

        def to_table(self, columns=None, filter=None):
            scans.append(tuple(columns or ()))
            return self.dataset.to_table(columns=columns, filter=filter)

    class CountingDeltaTable(publish.DeltaTable):
        def to_pyarrow_dataset(self, *args, **kwargs):
            return Counted(super().to_pyarrow_dataset(*args, **kwargs))

    def by_row_group(dataset, columns, filter, scan=publish._by_row_group):
        scans.append(tuple(columns or ()))  # the wide scan, one row group at a time
        return scan(dataset.dataset, columns, filter)

    monkeypatch.setattr(publish, "DeltaTable", CountingDeltaTable)
    monkeypatch.setattr(publish, "_by_row_group", by_row_group)
    reader = ReleaseReader(lake, lake.manifest())
    absent = reader.read("articles", ["article_id", "body"], where=("article_id", ["d9-0", "d8-0"]))
    assert absent.empty and list(absent.columns) == ["article_id", "body"]
    assert scans == [("article_id",)]  # the key column only
    whole = reader.read("articles", None, where=("article_id", ["d9-0"]))
    assert whole.empty and list(whole.columns) == list(_articles(["x-0"]).columns) + ["row_seq"]
    scans.clear()
    found = reader.read("articles", ["article_id", "body"], where=("article_id", ["d3-0", "d9-0", "d1-0"]))
    assert found.to_dict("records") == [{"article_id": "d1-0", "body": "正文d1-0"},
                                        {"article_id": "d3-0", "body": "正文d3-0"}]
    assert scans == [("article_id",), ("article_id", "body", "row_seq")]
    ids = reader.read("articles", ["article_id"], where=("article_id", ["d2-0", "d9-0"]))
    assert ids["article_id"].tolist() == ["d2-0"] and scans[-1] == ("article_id", "row_seq")
