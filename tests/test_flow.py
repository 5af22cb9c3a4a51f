"""The whole flow on the seeds under a Prefect test harness: published tables, manifest, gates."""
from __future__ import annotations

import json
import shutil

import pytest

from newsgate.tasks.gates import EXPECTATIONS_DIR
from newsgate.tasks.publish import Lake

from conftest import CONTRACT, FIXTURES, SEEDS


@pytest.fixture(scope="session")
def seeds_run(harness, tmp_path_factory):
    from newsgate.flows.pipeline import newsgate
    out = tmp_path_factory.mktemp("lake")
    return out, newsgate(sources=[str(SEEDS)], out=str(out))


def counted(monkeypatch, name: str) -> list[int]:
    """The sizes of the batches the flow hands to the stage `name` (its function, counted)."""
    import dataclasses

    import newsgate.flows.pipeline as pipeline
    i = [s.name for s in pipeline.PIPELINE].index(name)
    stage, sizes = pipeline.PIPELINE[i], []

    def function(rows):
        sizes.append(len(rows))
        return stage.function(rows)

    stages = list(pipeline.PIPELINE)
    stages[i] = dataclasses.replace(stage, function=function)
    monkeypatch.setattr(pipeline, "PIPELINE", stages)
    return sizes


def test_seeds_publish_a_release_with_every_table(seeds_run):
    out, result = seeds_run
    assert result["status"] == "published", result["blocked_by"] or result["error"]
    lake = Lake(out)
    assert lake.latest_release_id() == result["release_id"]
    manifest = lake.manifest()
    assert sorted(manifest["tables"]) == sorted(CONTRACT)
    for table in CONTRACT:
        if table != "quarantine":
            assert manifest["tables"][table]["rows"] > 0, table
        assert len(lake.read_table(table)) == manifest["tables"][table]["rows"]
    assert manifest["inputs_fingerprint"] and manifest["code_version"]
    assert all(g["fail"] == 0 for g in manifest["gates"].values())
    # the five seeds: seed 000 is a page of four articles
    articles = lake.read_table("articles")
    assert manifest["tables"]["documents"]["rows"] == 5
    assert len(articles) >= 8
    run_dir = out / "runs" / result["run_id"]
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "published" in report and result["release_id"] in report
    # the GX Data Docs of the run: one validation page per gated table, linked from the report
    assert 'href="data_docs/index.html"' in report
    assert "Keyword trends by year" in report and "Visits timeline" in report
    assert "巴音朝鲁" in report  # a visit of the seeds, in the timeline
    assert report.count("<svg") >= 3  # investment by region, projects by status and industry
    pages = {p.parent.parent.parent.name for p in (run_dir / "data_docs" / "validations").rglob("*.html")}
    assert {"articles", "projects", "accounting"} <= pages


def test_a_rewrite_is_published_as_one_story_and_its_index_resumes(harness, tmp_path):
    """Two edits of one steel-market report (bench corpus, pair 5edc932f1f9d of
    tests/gold/stories: a rewrite sharing its paragraphs, 673 and 921 characters, containment
    0.40) are two copy clusters and one story; the story index is saved with the release,
    checksummed, and the next run resumes from it."""
    from newsgate.flows.pipeline import newsgate
    pair = FIXTURES / "stories"
    result = newsgate(sources=[str(pair)], out=str(tmp_path))
    assert result["status"] == "published", result["blocked_by"] or result["error"]
    lake = Lake(tmp_path)
    stories, clusters = lake.read_table("stories"), lake.read_table("clusters")
    assert len(stories) == 2 and stories["story_id"].nunique() == 1
    assert clusters["cluster_id"].nunique() == 2  # not copies: dedup keeps both
    joined = stories[~stories["is_representative"]].iloc[0]
    assert joined["matched_id"] == stories.loc[stories["is_representative"], "article_id"].iloc[0]
    assert joined["relation"] == "rewrite"
    manifest = lake.manifest()
    index = tmp_path / manifest["story_index"]
    assert (index / "fingerprints.parquet").is_file()
    assert any(p.startswith(manifest["story_index"]) for p in manifest["state_files"])
    # a second run over the pair and a seed: the pair's fingerprints come from the index
    again = newsgate(sources=[str(pair), str(SEEDS / "004_565aa33160096c90.txt")], out=str(tmp_path))
    assert again["status"] == "published", again["error"]
    after = Lake(tmp_path).read_table("stories").set_index("article_id")
    assert after.loc[stories["article_id"], "story_id"].tolist() == stories["story_id"].tolist()


def test_every_span_quotes_its_body(seeds_run):
    out, _ = seeds_run
    lake = Lake(out)
    bodies = lake.read_table("articles").set_index("article_id")["body"]
    for table, col in [("mentions", "text"), ("projects", "evidence"), ("indicators", "evidence")]:
        df = lake.read_table(table)
        for row in df.itertuples():
            assert bodies[row.article_id][row.start:row.end] == getattr(row, col), (table, row)


def test_rerun_of_the_same_inputs_reproduces_the_release(seeds_run, harness, tmp_path):
    from newsgate.flows.pipeline import newsgate
    out, first = seeds_run
    lake = Lake(out)
    # other suites (one byte more) are other gates: the run goes through every stage again
    suites = _touched_suites(tmp_path)
    second = newsgate(sources=[str(SEEDS)], out=str(out), expectations_dir=str(suites),
                      cache=False)
    assert second["status"] == "published"
    m1, m2 = lake.manifest(first["release_id"]), lake.manifest(second["release_id"])
    assert {t: e["rows"] for t, e in m1["tables"].items()} == \
           {t: e["rows"] for t, e in m2["tables"].items()}
    assert m1["inputs_fingerprint"] == m2["inputs_fingerprint"]
    # row for row the same: the new release points at the versions the first one wrote
    assert {t: e["version"] for t, e in m2["tables"].items()} == \
           {t: e["version"] for t, e in m1["tables"].items()}


def _touched_suites(tmp_path):
    suites = tmp_path / "suites"
    shutil.copytree(EXPECTATIONS_DIR, suites)
    with open(suites / "articles.json", "a", encoding="utf-8") as fh:
        fh.write("\n")
    return suites


def test_failing_error_expectation_blocks_publishing(seeds_run, harness, tmp_path):
    from newsgate.flows.pipeline import newsgate
    out, _ = seeds_run
    lake = Lake(out)
    latest = lake.latest_release_id()
    versions = {t: e["version"] for t, e in lake.manifest()["tables"].items()}
    strict = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, strict)
    suite = json.loads((strict / "projects.json").read_text(encoding="utf-8"))
    suite["expectations"].append({  # no release may hold more than one project: must fail
        "type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 1},
        "meta": {"description": "test: impossible limit"}, "severity": "critical"})
    (strict / "projects.json").write_text(json.dumps(suite), encoding="utf-8")

    state = newsgate(sources=[str(SEEDS)], out=str(out), expectations_dir=str(strict),
                     return_state=True)
    assert state.is_failed()  # a blocked run is red in the Prefect UI
    result = state.result(raise_on_failure=False)
    assert result["status"] == "blocked"
    assert any("projects" in b and "row_count" in b for b in result["blocked_by"])
    assert lake.latest_release_id() == latest
    from deltalake import DeltaTable
    for table, version in versions.items():
        assert DeltaTable(str(out / "lake" / table)).version() == version, table
    report = (out / "runs" / result["run_id"] / "report.html").read_text(encoding="utf-8")
    assert "blocked" in report and "test: impossible limit" in report


def test_cli_run_prints_release_and_report_and_exits_zero(harness, tmp_path, capsys):
    from newsgate.flows.cli import main
    code = main(["run", str(SEEDS / "004_565aa33160096c90.txt"), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    release = Lake(tmp_path).latest_release_id()
    assert f"release {release} published" in out
    assert "report.html" in out
    assert main(["releases", "--out", str(tmp_path)]) == 0
    assert release in capsys.readouterr().out
    assert main(["show", "articles", "--out", str(tmp_path), "--limit", "1"]) == 0
    assert f"(1 rows of articles in {release})" in capsys.readouterr().out
    target = tmp_path / "projects.csv"
    assert main(["export", "articles", "--format", "csv", "--out", str(tmp_path), "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("article_id") or "article_id" in target.read_text(encoding="utf-8").splitlines()[0]


def test_cli_names_the_failed_gate_and_exits_nonzero(harness, tmp_path, capsys):
    from newsgate.flows.cli import EXIT_BLOCKED, main
    strict = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, strict)
    suite = json.loads((strict / "articles.json").read_text(encoding="utf-8"))
    suite["expectations"].append({"type": "expect_table_row_count_to_be_between",
                                  "kwargs": {"min_value": 1000}, "severity": "critical",
                                  "meta": {"description": "at least 1000 articles"}})
    (strict / "articles.json").write_text(json.dumps(suite), encoding="utf-8")
    code = main(["run", str(SEEDS), "--out", str(tmp_path / "out"), "--expectations", str(strict)])
    err = capsys.readouterr().err
    assert code == EXIT_BLOCKED
    assert "articles" in err and "at least 1000 articles" in err
    assert Lake(tmp_path / "out").latest_release_id() is None


def test_cli_rejects_a_missing_source(tmp_path, capsys):
    from newsgate.flows.cli import EXIT_USAGE, main
    assert main(["run", str(tmp_path / "nope"), "--out", str(tmp_path)]) == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_a_later_run_dedups_against_the_published_release(harness, tmp_path):
    """Releases are cumulative: a republication arriving later joins the original's cluster,
    through the persisted dedup index, and no facts are extracted from it."""
    from newsgate.flows.pipeline import newsgate
    seed = (SEEDS / "001_129ccc3f4079c8cb.txt").read_text(encoding="utf-8")
    paragraphs = [p for p in seed.split("\n") if p.strip()]
    first_body = next(p for p in paragraphs if "一五" in p)  # drop the lead paragraph
    later = tmp_path / "later"
    later.mkdir()
    (later / "repost.txt").write_text(seed.replace(first_body, ""), encoding="utf-8")

    out = tmp_path / "out"
    first = newsgate(sources=[str(SEEDS)], out=str(out), review_mode="skip")
    second = newsgate(sources=[str(later)], out=str(out), review_mode="skip")
    assert first["status"] == second["status"] == "published"
    lake = Lake(out)
    m1, m2 = lake.manifest(first["release_id"]), lake.manifest(second["release_id"])
    assert m2["tables"]["documents"]["rows"] == m1["tables"]["documents"]["rows"] + 1
    assert m2["tables"]["projects"]["rows"] == m1["tables"]["projects"]["rows"]
    assert m2["dedup_index"] != m1["dedup_index"]
    docs = lake.read_table("documents")
    repost_doc = docs.loc[docs["source"].str.endswith("repost.txt"), "doc_id"].item()
    clusters = lake.read_table("clusters")
    row = clusters[clusters["article_id"].str.startswith(repost_doc)].iloc[0]
    canonical = clusters[clusters["article_id"] == row["canonical_id"]].iloc[0]
    assert row["kind"] == "near" and not row["is_canonical"] and canonical["is_canonical"]
    seed_doc = docs.loc[docs["source"].str.endswith("001_129ccc3f4079c8cb.txt"), "doc_id"].item()
    assert row["canonical_id"].startswith(seed_doc)
    assert not lake.read_table("mentions")["article_id"].str.startswith(repost_doc).any()


def test_a_done_stage_keeps_one_copy_of_its_rows_until_publishing(harness, tmp_path, monkeypatch):
    """What publishing commits is the release being built (`run.tables`). Nothing else holds a
    table's rows until then: a stage's own frames (its rows before the gates, in object
    columns, and the gates' kept rows) keep only their documents once it is done (the run's
    accounting counts them); no batch's result stays in Prefect's result store; GX keeps no
    validated frame. Otherwise a first run holds its rows more than once until it publishes."""
    import newsgate.flows.pipeline as pipeline
    import gc

    from prefect._internal.result_records import ResultRecord

    from newsgate.tasks import gates
    seen = {}

    def batches_held() -> int:
        """Results of the extract batches that something still holds (Prefect's result
        store caches every persisted result in memory unless the task says not to)."""
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, ResultRecord)
                   and isinstance(o.result, dict) and "mentions" in o.result)

    def publish(run):
        seen["run"], seen["batches held"] = run, batches_held()
        return release_publish(run)

    release_publish = pipeline.publish
    monkeypatch.setattr(pipeline, "publish", publish)
    result = pipeline.newsgate(sources=[str(SEEDS)], out=str(tmp_path / "out"), review_mode="skip")
    assert result["status"] == "published", result["error"]
    run = seen["run"]
    assert seen["batches held"] == 0
    engine = gates._gx_context().data_sources.get("newsgate").get_execution_engine()
    assert not engine.batch_manager.batch_data_cache
    assert len(run.outputs["extract"].made["mentions"]) == result["funnel"]["mentions"] > 0
    for stage, output in run.outputs.items():
        for table, df in [*output.made.items(), *output.kept.items()]:
            assert set(df.columns) <= {"doc_id"}, (stage, table, list(df.columns))
    assert list(run.outputs["ingest"].kept["documents"].columns) == ["doc_id"]
    published = Lake(tmp_path / "out").read_table("documents")
    assert set(published["doc_id"]) == set(run.outputs["ingest"].kept["documents"]["doc_id"])


def test_a_rerun_of_unchanged_input_publishes_nothing_new(harness, tmp_path, monkeypatch):
    from newsgate.flows.pipeline import newsgate
    # what the flow's clean and extract batches call (in-process: a seeds run starts no workers)
    calls, extracted = counted(monkeypatch, "clean"), counted(monkeypatch, "extract")
    out = tmp_path / "out"
    first = newsgate(sources=[str(SEEDS)], out=str(out), review_mode="skip")
    assert first["status"] == "published" and sum(calls) == 5 and sum(extracted) == 8
    lake = Lake(out)
    # the same inputs, code and suites: the latest release already is the result
    again = newsgate(sources=[str(SEEDS)], out=str(out), review_mode="skip")
    assert again["status"] == "unchanged" and again["release_id"] == first["release_id"]
    assert lake.latest_release_id() == first["release_id"] and len(lake.releases()) == 1
    assert "already in release" in again["error"] and (sum(calls), sum(extracted)) == (5, 8)
    report = (out / "runs" / again["run_id"] / "report.html").read_text(encoding="utf-8")
    assert "unchanged" in report and first["release_id"] in report
    # other gates: every stage runs again, the clean batches come from Prefect's cache and
    # the facts of articles that came out the same carry over (nothing is extracted again)
    suites = _touched_suites(tmp_path)
    second = newsgate(sources=[str(SEEDS)], out=str(out), review_mode="skip",
                      expectations_dir=str(suites))
    assert second["status"] == "published" and (sum(calls), sum(extracted)) == (5, 8)
    assert any((out / "cache").iterdir())
    no_cache = newsgate(sources=[str(SEEDS)], out=str(out), review_mode="skip", cache=False)
    assert no_cache["status"] == "published" and sum(calls) == 10 and sum(extracted) == 8
    first_release, last_release = lake.read_release(first["release_id"]), lake.read_release()
    for table in ("articles", "projects", "indicators"):
        assert first_release[table].equals(last_release[table]), table


def test_cli_reads_releases_back(harness, tmp_path, capsys):
    from newsgate.flows.cli import main
    out = str(tmp_path / "out")
    assert main(["run", str(SEEDS / "004_565aa33160096c90.txt"), "--out", out, "--no-review"]) == 0
    assert main(["run", str(SEEDS / "001_129ccc3f4079c8cb.txt"), "--out", out, "--no-review"]) == 0
    lake = Lake(out)
    r1, r2 = [m["release_id"] for m in lake.releases()]
    capsys.readouterr()
    assert main(["diff", r1, r2, "--out", out]) == 0
    diff = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert diff["table"][:2] == ["added", "removed"] and diff["documents"][:2] == ["1", "0"]
    target = tmp_path / "articles.parquet"
    assert main(["export", "articles", "--format", "parquet", "--release", r1, "--out", out,
                 "-o", str(target)]) == 0
    import pandas as pd
    assert len(pd.read_parquet(target)) == lake.manifest(r1)["tables"]["articles"]["rows"]
    capsys.readouterr()
    assert main(["report", "--out", out]) == 0
    assert capsys.readouterr().out.strip().endswith("report.html")


def test_changed_extractors_re_extract_carried_over_articles(harness, tmp_path, monkeypatch):
    import newsgate.flows.stage_runner as stage_runner
    import newsgate.tasks.extract as extract_module
    from newsgate.flows.pipeline import newsgate
    extracted = counted(monkeypatch, "extract")
    out = tmp_path / "out"
    one = SEEDS / "004_565aa33160096c90.txt"
    assert newsgate(sources=[str(one)], out=str(out), review_mode="skip", cache=False)["status"] == "published"
    assert newsgate(sources=[str(SEEDS / "003_1ff4c3e9b6ed5b66.txt")], out=str(out),
                    review_mode="skip", cache=False)["status"] == "published"
    assert extracted == [1, 1]  # the second run extracts only its new article
    fingerprint = stage_runner.code_fingerprint
    monkeypatch.setattr(stage_runner, "code_fingerprint",  # the extract stage's code, edited
                        lambda *m: "changed" if extract_module.STAGE.code == m else fingerprint(*m))
    assert newsgate(sources=[str(one)], out=str(out), review_mode="skip", cache=False)["status"] == "published"
    assert extracted[-1] == 2  # new extractor code: both canonical articles again


def test_batches_start_longest_first_and_come_back_in_order(harness, tmp_path):
    """The longest batches go to the workers first (the last to start are short, so parallel
    workers finish together); the results keep the batches' order."""
    from prefect import flow
    from prefect.task_runners import ThreadPoolTaskRunner

    from newsgate.flows.run import Run
    from newsgate.flows.stage_runner import _batched
    from newsgate.tasks.stage import Batches, Stage
    started = []

    def first_text(rows: list[dict]) -> dict:
        started.append(rows[0]["text"])
        return {"texts": [{"text": r["text"]} for r in rows]}

    stage = Stage(name="probe", function=first_text, reads={"docs": ("text",)}, key="text",
                  writes={"texts": ("text",)}, code=(), batches=Batches(1, "text", in_workers=False))

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))  # one at a time: a visible order
    def mapped():
        run = Run.begin(["x"], str(tmp_path), batch_size=1, expectations_dir=None)
        run.code = {"probe": "code"}
        rows = [{"text": t} for t in ("短", "最长的一批文字", "中等长度")]
        return _batched(run, stage, rows, 0)["texts"]["text"].tolist()

    assert mapped() == ["短", "最长的一批文字", "中等长度"]
    assert started == ["最长的一批文字", "中等长度", "短"]


def test_batches_are_even_and_an_even_number_only_when_several_are_needed():
    from newsgate.flows.stage_runner import split
    from newsgate.tasks.clean import STAGE as CLEAN
    sizes = lambda n, size, multiple: [len(b) for b in split(list(range(n)), size, multiple)]  # noqa: E731
    # 3,392 documents: 9 batches would leave one of two workers alone for the last round
    batches = sizes(3392, 400, CLEAN.batches.multiple)
    assert len(batches) == 10 and sum(batches) == 3392 and max(batches) - min(batches) <= 1
    assert sizes(5, 400, 2) == [5]  # one batch is enough: no split for its own sake
    assert sizes(0, 400, 2) == [0]
    assert sizes(801, 400, 2) == [200, 200, 200, 201]
    assert len(sizes(3201, 400, 3)) == 9
