"""Releases that grow (issue 17): appended and merged Delta versions, the sequence column,
`maintain`, and table-wide invariants over the Delta tables."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from newsgate.tasks.invariants import check_release
from newsgate.tasks.publish import SEQUENCE, Change, Lake, ReleaseNotFound, content_hash, to_arrow


def _clusters(rows: list[tuple[str, str, bool]]) -> pd.DataFrame:
    """(article_id, canonical_id, is_canonical) -> clusters rows."""
    return pd.DataFrame([{
        "article_id": a, "cluster_id": f"c-{c}", "canonical_id": c, "is_canonical": is_c,
        "kind": "unique" if is_c else "near", "similarity": 1.0 if is_c else 0.9,
        "jaccard": 1.0 if is_c else 0.85, "cluster_size": 1} for a, c, is_c in rows])


def _mentions(article_id: str, texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"article_id": [article_id] * len(texts), "kind": ["money"] * len(texts),
                         "text": texts, "start": [0] * len(texts),
                         "end": [len(t) for t in texts], "value": [1e8] * len(texts),
                         "unit": ["元"] * len(texts)})


def _snapshot(lake: Lake, release: str) -> dict[str, str]:
    """sha256 of every table of a release as read back (in sequence order)."""
    tables = lake.manifest(release)["tables"]
    return {t: content_hash(to_arrow(t, lake.read_table(t, release))) for t in tables}


@pytest.fixture
def grown(tmp_path):
    """rel-1 full; rel-2 appends a cluster row, merges a changed one, replaces mentions of a1;
    rel-3 drops a2's mentions."""
    lake = Lake(tmp_path)
    lake.publish("rel-1", {"clusters": _clusters([("a1", "a1", True), ("a2", "a2", True)]),
                           "mentions": pd.concat([_mentions("a1", ["1亿元", "2亿元"]),
                                                  _mentions("a2", ["3亿元"])])}, {})
    lake.publish("rel-2", {
        # a3 is new and near a2; a2 stays canonical, its cluster_size changes
        "clusters": Change(_clusters([("a3", "a2", False), ("a2", "a2", True)]).assign(cluster_size=2),
                           "article_id", unique=True),
        "mentions": Change(_mentions("a1", ["5亿元"]), "article_id")}, {})
    lake.publish("rel-3", {"mentions": Change(_mentions("a1", [])[:0], "article_id",
                                              drop=("a2",))}, {})
    return lake


def test_appends_and_merges_give_the_release_it_names(grown):
    clusters = grown.read_table("clusters", "rel-2")
    assert clusters["article_id"].tolist() == ["a1", "a2", "a3"]  # first seen order
    assert clusters[SEQUENCE].tolist() == [0, 1, 2]  # a2 merged over: keeps its sequence
    assert clusters.set_index("article_id").loc["a3", "canonical_id"] == "a2"
    mentions = grown.read_table("mentions", "rel-2")
    assert mentions["text"].tolist() == ["3亿元", "5亿元"]  # a1's old rows replaced
    assert grown.read_table("mentions", "rel-3")["text"].tolist() == ["5亿元"]
    # rel-3 did not touch clusters: it names rel-2's version
    assert grown.manifest("rel-3")["tables"]["clusters"] == grown.manifest("rel-2")["tables"]["clusters"]
    entry = grown.manifest("rel-2")["tables"]["clusters"]
    assert entry["rows"] == 3 and entry["next_seq"] == 4  # numbers are never reused
    assert clusters["cluster_size"].tolist() == [1, 2, 2]


def test_rows_published_again_unchanged_write_no_version(grown):
    same = grown.read_table("clusters")
    before = grown.manifest()["tables"]
    grown.publish("rel-4", {"clusters": Change(same, "article_id", unique=True),
                            "mentions": Change(_mentions("a1", ["5亿元"]), "article_id")}, {})
    assert grown.manifest()["tables"] == before


def test_old_releases_read_back_byte_equal_after_increments_and_maintain(grown):
    before = {r: _snapshot(grown, r) for r in ("rel-1", "rel-2", "rel-3")}
    assert grown.read_table("mentions", "rel-1")["text"].tolist() == ["1亿元", "2亿元", "3亿元"]
    grown.publish("rel-4", {"clusters": Change(_clusters([("a4", "a4", True)]), "article_id",
                                               unique=True)}, {})
    done = grown.maintain(release_id="rel-5")
    assert any("compacted" in line for line in done), done
    assert grown.latest_release_id() == "rel-5"
    for release, tables in before.items():
        assert _snapshot(grown, release) == tables, release
        assert grown.verify(release).ok, grown.verify(release).problems
    assert _snapshot(grown, "rel-5") == _snapshot(grown, "rel-4")
    assert grown.verify("rel-5").ok
    # the next run appends to the compacted tables
    grown.publish("rel-6", {"clusters": Change(_clusters([("a5", "a5", True)]), "article_id",
                                               unique=True)}, {})
    assert grown.read_table("clusters")["article_id"].tolist() == ["a1", "a2", "a3", "a4", "a5"]
    assert _snapshot(grown, "rel-2") == before["rel-2"]


def test_maintain_keep_drops_the_oldest_and_says_so(grown):
    grown.publish("rel-4", {"clusters": Change(_clusters([("a4", "a4", True)]), "article_id",
                                               unique=True)}, {})
    latest = _snapshot(grown, "rel-4")
    done = grown.maintain(keep=2, release_id="rel-5")  # rel-5: rel-4 compacted
    assert any(line.startswith("dropped 3 releases") and "rel-1, rel-2, rel-3" in line
               for line in done), done
    assert any(line.startswith("vacuum:") for line in done), done
    assert [m["release_id"] for m in grown.releases()] == ["rel-4", "rel-5"]
    with pytest.raises(ReleaseNotFound, match="dropped"):
        grown.read_table("clusters", "rel-1")
    assert _snapshot(grown, "rel-4") == latest == _snapshot(grown, "rel-5")
    assert grown.verify("rel-4").ok and grown.verify("rel-5").ok


def test_a_run_that_never_committed_leaves_no_rows_behind(grown):
    def blocked(entries):
        raise RuntimeError("a table-wide check failed")

    with pytest.raises(RuntimeError):
        grown.publish("rel-4", {"mentions": Change(_mentions("a9", ["9亿元"]), "article_id")}, {},
                      audit=blocked)
    assert grown.latest_release_id() == "rel-3"
    grown.publish("rel-5", {"mentions": Change(_mentions("a8", ["8亿元"]), "article_id")}, {})
    assert grown.read_table("mentions")["text"].tolist() == ["5亿元", "8亿元"]
    assert grown.verify().ok


def test_invariants_hold_and_name_what_breaks(grown):
    assert check_release(grown, grown.manifest("rel-2")["tables"]) == {}
    broken = _clusters([("a6", "a6", True), ("a7", "a6", True)])  # two canonicals in c-a6
    found = {}
    grown.publish("rel-4", {"clusters": Change(broken, "article_id", unique=True)}, {},
                  audit=lambda entries: found.update(check_release(grown, entries)))
    assert list(found) == ["one canonical per cluster"]
    assert "c-a6" in found["one canonical per cluster"][0]
    dup = Change(_clusters([("a8", "a8", True)]), "article_id", unique=True)
    grown.publish("rel-5", {"clusters": dup}, {})
    grown.publish("rel-6", {"clusters": to_arrow("clusters", pd.concat([
        grown.read_table("clusters"), _clusters([("a8", "a8", True)])])).to_pandas()}, {})
    assert "a8" in check_release(grown, grown.manifest()["tables"])["unique keys"][0]


def test_dedup_index_keeps_no_bodies_and_verifies_against_the_release(tmp_path):
    """A near copy of a published article joins its cluster: the index (state + signatures,
    no bodies) finds the candidate, its body is fetched from the release's articles table."""
    from newsgate.tasks.dedup import DedupIndex, dedup_articles

    def articles(bodies: dict[str, str]) -> pd.DataFrame:
        return pd.DataFrame([{"article_id": a, "doc_id": a.rsplit("-", 1)[0], "seq": 0,
                              "title": "t", "body": b, "outlet": None, "published_date": None}
                             for a, b in bodies.items()])

    story = "\n".join(f"第{i}段：某市重点项目建设稳步推进，总投资{i + 3}亿元，计划年内竣工投产。" * 2
                      for i in range(8))
    other = "\n".join(f"第{i}条：本市召开会议部署安全生产工作，要求各部门压实责任{i}次。" * 2
                      for i in range(8))
    first = articles({"d1-0": story, "d2-0": other})
    built = dedup_articles(first)
    lake = Lake(tmp_path)
    index_dir = built.index.save(lake.state_dir("dedup", "rel-1"))
    assert not any(p.name.startswith("bodies") for p in index_dir.iterdir())
    assert DedupIndex.nbytes(index_dir) < 20_000
    lake.publish("rel-1", {"articles": first}, {"dedup_index": str(index_dir.relative_to(tmp_path))})
    fetched = []

    def fetch(ids):
        fetched.extend(ids)
        return lake.bodies_fetch(lake.manifest())(ids)

    copy = articles({"d3-0": story.replace("竣工投产", "建成投用", 1)})
    again = dedup_articles(copy, DedupIndex.load(index_dir, fetch=fetch))
    row = again.clusters.set_index("article_id").loc["d3-0"]
    assert row["canonical_id"] == "d1-0" and row["kind"] == "near"
    assert fetched == ["d1-0"]  # only the candidate's body was read, not the release's


def test_a_flow_increment_appends_and_every_release_reads_back_after_maintain(seed_releases, tmp_path):
    """The flow's second release (seed 001 added to seed 004) keeps the first's files and adds
    its own; both releases read back byte-equal after `maintain`, and verify."""
    import shutil
    out = tmp_path / "out"
    shutil.copytree(seed_releases, out)
    lake = Lake(out)
    first, second = [m["release_id"] for m in lake.releases()]
    old, new = lake.manifest(first)["tables"], lake.manifest(second)["tables"]
    for table in ("documents", "articles", "clusters", "mentions"):
        assert set(old[table]["files"]) < set(new[table]["files"]), table  # appended
    before = {r: _snapshot(lake, r) for r in (first, second)}
    done = lake.maintain()
    assert any("compacted" in line for line in done), done
    for release, tables in before.items():
        assert _snapshot(lake, release) == tables, release
        assert lake.verify(release).ok, lake.verify(release).problems
    assert _snapshot(lake, lake.latest_release_id()) == before[second]


def test_maintain_command_keeps_the_newest_and_names_the_dropped(seed_releases, tmp_path, capsys):
    import shutil
    from newsgate.flows.cli import EXIT_USAGE, main
    out = tmp_path / "out"
    shutil.copytree(seed_releases, out)
    first, second = [m["release_id"] for m in Lake(out).releases()]
    assert main(["maintain", "--out", str(out), "--keep", "1"]) == 0
    printed = capsys.readouterr().out
    assert "dropped" in printed and first in printed
    kept = [m["release_id"] for m in Lake(out).releases()]
    assert first not in kept and len(kept) == 1
    assert main(["verify", "--out", str(out)]) == 0
    assert main(["show", "articles", "--out", str(out), "--release", first]) == EXIT_USAGE
    assert "dropped" in capsys.readouterr().err
    assert main(["maintain", "--out", str(out), "--keep", "0"]) == EXIT_USAGE


def test_scale_corpus_is_deterministic_with_a_known_share_of_near_copies():
    """benchmarks/scale.py: article k is the same in every corpus; planted near copies are
    near duplicates by dedup's own measure, the other articles are not."""
    import random
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from scale import NEAR_SHARE, article
    from newsgate.tasks.dedup import is_near_duplicate, normalize_body, overlap_scores, shingle_hashes

    rng = random.Random(1)
    words = "项目建设投资开工竣工园区产业发展推进实施工程重点城市经济企业服务"
    paragraphs = ["".join(rng.choice(words) for _ in range(rng.randint(40, 120))) for _ in range(400)]
    titles = [f"标题{i}" for i in range(50)]
    corpus = [article(k, paragraphs, titles) for k in range(2000)]
    assert corpus[1234] == article(1234, paragraphs, titles)
    near = [a for a in corpus if "near_copy_of" in a]
    assert abs(len(near) / len(corpus) - NEAR_SHARE) < 0.02
    by_id = {a["id"]: a for a in corpus}

    def near_pair(a, b) -> bool:
        x, y = (shingle_hashes(normalize_body(t["text"])) for t in (a, b))
        jaccard, containment = overlap_scores(x, y)
        return is_near_duplicate(jaccard, containment, min(x.size, y.size))

    assert all(near_pair(a, by_id[a["near_copy_of"]]) for a in near[:50])
    distinct = [a for a in corpus if "near_copy_of" not in a][:60]
    assert not any(near_pair(a, b) for a, b in zip(distinct, distinct[1:]))


def test_dedup_index_is_saved_in_segments_that_replay_to_the_index(tmp_path):
    """Each release saves only its new rows (and the old rows it changed) and names the
    folders before it; loading replays them into the very index the run held. A full copy
    (what releases before segments saved) is one segment; each folder stays loadable."""
    from newsgate.tasks.dedup import SEGMENTS, DedupIndex, dedup_articles

    def articles(bodies: dict[str, str]) -> pd.DataFrame:
        return pd.DataFrame([{"article_id": a, "doc_id": a.rsplit("-", 1)[0], "seq": 0,
                              "title": "t", "body": b, "outlet": None, "published_date": None}
                             for a, b in bodies.items()])

    def text(topic: str, n: int = 8) -> str:
        return "\n".join(f"第{i}段：{topic}项目建设稳步推进，总投资{i + 3}亿元，计划年内竣工投产。" * 2
                         for i in range(n))

    state = tmp_path / "state" / "dedup"
    first = dedup_articles(articles({f"d{i}-0": text(f"城市{i}") for i in range(6)}))
    first.index.save(state / "rel-1")  # no segments before it: a full copy
    assert not (state / "rel-1" / SEGMENTS).exists()
    bodies = {"d1-0": text("城市1")}
    fetch = lambda ids: {a: bodies.get(a) or text(f"城市{a[1:-2]}") for a in ids}  # noqa: E731
    second = dedup_articles(articles({"d9-0": text("城市1").replace("竣工投产", "建成投用", 1),
                                      "d10-0": text("乡镇")}),
                            DedupIndex.load(state / "rel-1", fetch=fetch))
    second.index.save(state / "rel-2")
    assert json.loads((state / "rel-2" / SEGMENTS).read_text())["segments"] == ["rel-1"]
    saved = pd.read_parquet(state / "rel-2" / "state.parquet")
    # the two new articles and the old one whose cluster the near copy joined (its size)
    assert set(saved["article_id"]) <= {"d9-0", "d10-0", "d1-0"} and len(saved) >= 2
    assert len(np.load(state / "rel-2" / "signatures.npy")) == 2
    again = DedupIndex.load(state / "rel-2")
    assert again.state["article_id"].tolist() == [*(f"d{i}-0" for i in range(6)), "d9-0", "d10-0"]
    assert np.array_equal(again.signatures, second.index.signatures)
    expected = second.index.state.astype(str).reset_index(drop=True)
    assert again.state.astype(str).reset_index(drop=True).equals(expected)
    assert again.state.set_index("article_id").loc["d9-0", "canonical_id"] == "d1-0"
    # rel-1 reads back as it was saved; the segment is a fraction of a full copy
    assert DedupIndex.load(state / "rel-1").state["article_id"].tolist() == [f"d{i}-0" for i in range(6)]
    own = sum(f.stat().st_size for f in (state / "rel-2").iterdir())
    assert DedupIndex.nbytes(state / "rel-2") > own
