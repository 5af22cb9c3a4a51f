"""Story clusters (tasks/stories.py) on real text: the labelled pairs of tests/gold/stories.

Every article here is a real bench or dev article as the clean stage produced it; the pair ids
and labels are those of tests/gold/stories/pairs.jsonl (labelled by reading, README there).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import needs_shared

sys.path.insert(0, str(Path(__file__).parent / "gold" / "stories"))
from gold import load_articles, load_pairs, pair_metrics  # noqa: E402

from newsgate.tasks import stories  # noqa: E402
from newsgate.tasks.dedup import dedup_articles  # noqa: E402

PAIRS = {p["pair_id"]: p for p in load_pairs()}


@pytest.fixture(scope="module")
def articles() -> pd.DataFrame:
    return load_articles()


@pytest.fixture(scope="module")
def fingerprints(articles) -> dict[str, stories.Fingerprint]:
    return {r.article_id: stories.fingerprint(r.article_id, r.title, r.body, r.published_date)
            for r in articles.itertuples()}


@pytest.fixture(scope="module")
def built(articles) -> stories.StoryResult:
    return stories.build_stories(articles, dedup_articles(articles).clusters)


def partition(result: stories.StoryResult) -> set[frozenset]:
    return {frozenset(g) for _, g in result.stories.groupby("story_id")["article_id"]}


def over(earlier: stories.StoryResult, later: stories.StoryResult) -> stories.StoryResult:
    """`later`'s rows (the stories it recomputed) over `earlier`'s table, as publishing merges
    them; rows of articles that left the index go."""
    kept = earlier.stories[~earlier.stories["article_id"].isin(later.stories["article_id"])
                           & earlier.stories["article_id"].isin(later.index.members.index)]
    return stories.StoryResult(pd.concat([kept, later.stories], ignore_index=True), later.index)


def evidence(fingerprints, pair_id: str) -> stories.Evidence:
    pair = PAIRS[pair_id]
    return stories.compare(fingerprints[pair["a"]], fingerprints[pair["b"]])


# ---- each signal ----------------------------------------------------------------------------------
def test_condensed_version_is_found_where_whole_text_jaccard_is_low(fingerprints):
    """基本药物统一定价: a 1,055-character version made of the first half of a 2,285-character
    article. Their 5-gram Jaccard is 0.46 (MinHash at 0.8 never proposes them); every clause of
    the short text is in the long one."""
    pair = PAIRS["1ef5346d654f"]
    assert pair["jaccard"] < 0.5 and pair["relation"] == "condensed"
    e = evidence(fingerprints, "1ef5346d654f")
    assert e.containment > 0.95 and e.relation == "condensed" and e.linked


def test_candidates_come_from_clauses_not_whole_text_similarity(fingerprints):
    """The condensed pair is proposed because it shares clauses (posting keys), whatever the
    ratio of the two lengths."""
    a, b = (fingerprints[PAIRS["1ef5346d654f"][k]] for k in "ab")
    assert set(stories.posting_keys(a).tolist()) & set(stories.posting_keys(b).tolist())
    pairs = stories.candidate_pairs([stories.posting_keys(a), stories.posting_keys(b)],
                                    np.array([False, True]))
    assert pairs == {(0, 1)}


def test_template_with_different_figures_is_two_stories(fingerprints):
    """PMI February 52.2% vs March 53.4%: one bureau's monthly template; the figure in the same
    slot of both leads conflicts."""
    e = evidence(fingerprints, "4af8be196849")
    assert "52.2% vs 53.4%" in e.conflicting_figures
    assert not e.linked


def test_notices_of_one_template_for_other_products_are_two_stories(fingerprints):
    """Procurement result notices: the same fixed wording, another product and amount."""
    e = evidence(fingerprints, "19799119c222")
    assert any("元 vs " in c for c in e.conflicting_figures)
    assert not e.linked


def test_lead_support_tells_another_report_from_a_follow_up(fingerprints):
    """力拓 buys 湘电 dump trucks (two reports of one signing) vs Nokia's denial of the channel
    collapse the earlier report described: both share names, only the first shares its lead."""
    same = evidence(fingerprints, "1ac009e0488e")
    follow_up = evidence(fingerprints, "d4f046bc3974")
    assert same.lead_support > 0.2 and same.linked and same.relation == "same"
    assert follow_up.lead_support < 0.05 and not follow_up.linked
    assert "诺基亚" in follow_up.shared_names  # names alone are not enough


def test_rare_title_words_are_names_common_ones_are_not(fingerprints, articles):
    title = articles.set_index("article_id").at[PAIRS["2219ae7c5061"]["a"], "title"]
    assert "海尔" in title and "收购" in title
    names = fingerprints[PAIRS["2219ae7c5061"]["a"]].names
    assert {"海尔", "三洋"} <= set(names) and "收购" not in names  # IDF 6.2: a common word


def test_figures_weigh_by_their_significant_digits(fingerprints):
    assert [stories.figure_weight(v) for v in (10, 20.0, 15, 2.3, 12.8, 6123, 18.8)] == [0, 0, 1, 1, 2, 3, 2]
    fp = fingerprints[PAIRS["20901f0b144a"]["a"]]  # 青岛海尔 18.8亿 acquisition
    # keyed in 元 but shown as first written: the title's 18.8亿 (money by its 收购 context)
    assert fp.figures["1880000000元"] == 2 and fp.figure_text["1880000000元"] == "18.8亿"


def test_reports_far_apart_get_no_news_evidence(fingerprints):
    """Two previews of one 重庆 fair published 82 days apart: the lead evidence does not count
    outside NEWS_WINDOW_DAYS (the pair stays apart; labelled the same story, a known miss)."""
    e = evidence(fingerprints, "9193891af79a")
    assert e.days_apart > stories.NEWS_WINDOW_DAYS and e.lead_support == 0 and not e.linked


def test_event_dates_of_the_leads_are_compared(fingerprints):
    """中国北车: a share placement announced on 22 March vs contracts announced on 26 March."""
    e = evidence(fingerprints, "5d2abc784e43")
    assert e.event_dates == "different" and not e.linked


def test_a_title_and_dateline_page_gives_no_containment(fingerprints):
    """Header-only pages (首页 … 发布时间, under MIN_CONTAINMENT_CHARS) share their header."""
    e = evidence(fingerprints, "8f520e31b3a1")
    assert e.containment == 0 and not e.linked


def test_a_shared_page_header_alone_does_not_link(fingerprints):
    """Two pages of one portal section, the same day: their leads start with the same page
    furniture (首页 陶朱公商圈 商圈资讯 … 发布时间：2011-03-11), so a fifth of each lead is in the
    other text, but they share no name, no figure and at most one clause: no second witness."""
    a, b = fingerprints["d7911809bc6b801b-0"], fingerprints["fc350b0fec521e04-0"]  # 空调 / 以旧换新
    e = stories.compare(a, b)
    assert e.lead_support > 0.2 and e.days_apart == 0
    assert not e.shared_names and not e.shared_figures and e.shared_clauses <= 1
    assert not e.linked


def test_the_deciding_evidence_is_written_out(fingerprints):
    e = evidence(fingerprints, "06c392a3a37c")  # 中怡康 H1 appliance report, rewritten
    text = stories.describe(e)
    assert e.linked and "shared clauses" in text and "6123亿元" in e.shared_figures
    assert "figures 6123亿元" in text or "6123亿元" in text


# ---- the stage ------------------------------------------------------------------------------------
def test_every_clustered_article_gets_a_row_and_copies_share_their_canonicals_story(built, articles):
    rows = built.stories
    clusters = dedup_articles(articles).clusters
    assert sorted(rows["article_id"]) == sorted(clusters["article_id"])
    story = dict(zip(rows["article_id"], rows["story_id"]))
    assert all(story[a] == story[c] for a, c in zip(clusters["article_id"], clusters["canonical_id"]))
    assert (rows.groupby("story_id")["is_representative"].sum() == 1).all()


def test_dev_near_duplicate_sets_and_their_rewrites_are_one_story(built):
    """The five near-duplicate sets of ../shared/corpus/dev/SOURCES.md (their articles are in
    the gold): 孵化器 tax policy reported by two outlets and as the official notice, etc."""
    story = dict(zip(built.stories["article_id"], built.stories["story_id"]))
    for p in load_pairs():
        if p["pool"] == "dev_set":
            assert story[p["a"]] == story[p["b"]], p["note"]
        if p["pool"] == "dev_negative":
            assert story[p["a"]] != story[p["b"]], p["note"]


def test_held_out_pairs_meet_the_measured_level(built):
    """Story level on the test part (labels never used to choose a parameter): at the time of
    writing precision 0.950, recall 0.891 over the gold articles (benchmarks/README_stories.md);
    these floors catch a regression, they are not the targets."""
    m = pair_metrics(dict(zip(built.stories["article_id"], built.stories["story_id"])),
                     load_pairs("test"))
    print(f"\nstories, test pairs: precision {m['precision']:.3f} recall {m['recall']:.3f}")
    assert m["precision"] >= 0.93 and m["recall"] >= 0.85


def test_second_held_out_part_shares_no_article_with_tune():
    """Part 2 of the gold (split test2, tests/gold/stories/README.md) was drawn without any
    article of a tune pair and without any pair labelled before: nothing tuned on is in it."""
    pairs = load_pairs()
    tune = {x for p in pairs if p["split"] == "tune" for x in (p["a"], p["b"])}
    test2 = [p for p in pairs if p["split"] == "test2"]
    assert len(test2) >= 80 and any(p["same_story"] for p in test2)
    assert all(p["a"] not in tune and p["b"] not in tune for p in test2)
    assert len({p["pair_id"] for p in pairs}) == len(pairs)


@pytest.mark.parametrize("part, development, positives", [
    ("test3", ("tune", "test2"), 15),           # tune and test2: development data of round 4
    ("test4", ("tune", "test2", "test3"), 10),  # test3 was scored twice in round 4
])
def test_later_held_out_parts_share_no_article_with_development_data(part, development, positives):
    """Parts 3 and 4 (splits test3, test4) were drawn without any article of a pair of the parts
    developed on before them and without any pair labelled before (pair ids are unique)."""
    pairs = load_pairs()
    used = {x for p in pairs if p["split"] in development for x in (p["a"], p["b"])}
    held_out = [p for p in pairs if p["split"] == part]
    assert len(held_out) >= 120 and sum(p["same_story"] for p in held_out) >= positives
    assert all(p["a"] not in used and p["b"] not in used for p in held_out)
    assert len({p["pair_id"] for p in pairs}) == len(pairs)


def test_second_held_out_part_at_its_measured_level(built):
    """Story level on test2, measured once (benchmarks/README_stories.md): precision 0.538,
    recall 0.438, over bench + dev and over the gold articles since part 4's are in it (0.571 /
    0.500 over the 840 articles before). Far below the targets of issue 16: these floors catch
    a regression, they are not the targets."""
    m = pair_metrics(dict(zip(built.stories["article_id"], built.stories["story_id"])),
                     load_pairs("test2"))
    print(f"\nstories, test2 pairs: precision {m['precision']:.3f} recall {m['recall']:.3f}")
    assert m["precision"] >= 0.45 and m["recall"] >= 0.35



def test_third_held_out_part_at_its_measured_level(built):
    """Story level on test3 (held out, labelled in issue 16's fourth round before any scorer
    ran): precision 0.600, recall 0.333 (benchmarks/README_stories.md). Far below the targets
    of issue 16: these floors catch a regression, they are not the targets."""
    m = pair_metrics(dict(zip(built.stories["article_id"], built.stories["story_id"])),
                     load_pairs("test3"))
    print(f"\nstories, test3 pairs: precision {m['precision']:.3f} recall {m['recall']:.3f}")
    assert m["precision"] >= 0.5 and m["recall"] >= 0.25


def test_fourth_held_out_part_at_its_measured_level(built):
    """Story level on test4 (held out, labelled in issue 16's fifth round before any scorer ran,
    scored once): precision 0.333 (2/6), recall 0.133 (2/15), over bench + dev and over the
    gold articles alike (benchmarks/README_stories.md). Far below the targets of issue 16:
    these floors catch a regression, they are not the targets."""
    m = pair_metrics(dict(zip(built.stories["article_id"], built.stories["story_id"])),
                     load_pairs("test4"))
    print(f"\nstories, test4 pairs: precision {m['precision']:.3f} recall {m['recall']:.3f}")
    assert m["precision"] >= 0.25 and m["recall"] >= 0.1


def test_incremental_equals_full_recompute(articles, tmp_path):
    """Stories of part of the gold, saved and loaded as the published index, then the rest
    added: the same stories as one full run, and no old pair scored again."""
    clusters = dedup_articles(articles).clusters
    full = stories.build_stories(articles, clusters)
    later = pd.Series(np.arange(len(articles)) % 5 == 0, index=articles.index)  # a fifth later
    old = articles[~later.to_numpy()]
    first = stories.build_stories(old, dedup_articles(old).clusters)
    index = stories.StoryIndex.load(first.index.save(tmp_path / "index"))
    assert len(index) == len(first.index) and len(index.links) == len(first.index.links)

    scored = []
    real_compare = stories.compare

    def counting(a, b, corpus=None):
        scored.append((a.article_id, b.article_id))
        return real_compare(a, b, corpus)

    stories.compare = counting
    try:
        recomputed = stories.build_stories(articles, clusters, index)
    finally:
        stories.compare = real_compare
    new = set(articles.loc[later.to_numpy(), "article_id"])
    assert scored and all(a in new or b in new for a, b in scored)
    # only the stories the new articles touch are written again
    assert new <= set(recomputed.stories["article_id"]) and len(recomputed.stories) < len(full.stories)
    second = over(first, recomputed)

    assert partition(second) == partition(full)
    # a story keeps its id; one that merged with another took the smaller of the two ids (also
    # where a new article became the canonical of an old one's copy cluster: copies keep links);
    # one splits only where the new articles made the key of one of its links a template (十二五
    # here: the link is withdrawn, as a full run never makes it) and its first part keeps the id
    again = second.stories.set_index("article_id")["story_id"]
    found = recomputed.index.found
    withdrawn = set(found.loc[~found["live"].astype(bool), ["a", "b"]].to_numpy().ravel())
    assert withdrawn
    for story_id, members in first.stories.groupby("story_id")["article_id"]:
        ids = set(again[members])
        assert len(ids) == 1 or withdrawn & set(members)
        assert story_id in ids or min(ids) < story_id


def grow(releases: list[pd.DataFrame], tmp_path: Path, check=()) -> tuple[stories.StoryResult, list[Path]]:
    """The releases run one after the other, each resuming from the folder the previous one
    saved (only what it added), its stories laid over the earlier ones; after the releases
    numbered in `check`, the stories are those of one full run over that release."""
    table, index, saved = None, None, []
    for i, release in enumerate(releases):
        result = stories.build_stories(release, dedup_articles(release).clusters, index)
        table = result if table is None else over(table, result)
        saved.append(result.index.save(tmp_path / f"rel-{i}"))
        index = stories.StoryIndex.load(saved[-1])
        assert set(index.members.index) == set(release["article_id"])
        if i in check:
            full = stories.build_stories(release, dedup_articles(release).clusters)
            assert partition(table) == partition(full), f"release {i}"
    return table, saved


def test_a_link_goes_when_its_only_key_becomes_a_template_and_returns_when_rare_again(articles, tmp_path):
    """工程机械十二五规划发布 and 机床工业产值“十二五”冲击八千亿, published the same day, share no
    clause and no figure: only the rare title word 十二五 proposes them (score 0.41, linked).
    A key proposes pairs while at most MAX_POSTING articles hold it, so a full run links them
    among 12 holders of the word, not among 24, again among 16. Run as releases, the link made
    while the word was rare must go when it stops being rare, and the pair must be scored
    again when departures make it rare again."""
    pair = ["411ba194b89dd7f9-0", "8e340795d7241abf-0"]
    holders = articles[articles["title"].fillna("").str.contains("十二五")]
    others = [a for a in holders["article_id"] if a not in pair]
    sizes = (12, 24, 16)  # holders in each release
    assert sizes[0] <= stories.MAX_POSTING < sizes[1] and sizes[2] <= stories.MAX_POSTING
    releases = [articles[articles["article_id"].isin(pair + others[:n - 2])] for n in sizes]
    table, _ = grow(releases, tmp_path, check=(0, 1, 2))
    story = table.stories.set_index("article_id")["story_id"]
    assert story[pair[0]] == story[pair[1]]  # rare again: linked, as in the first release
    second = stories.StoryIndex.load(tmp_path / "rel-1")
    withdrawn = second.folder(tmp_path / "rel-1").links()
    assert [tuple(r) for r in withdrawn.loc[~withdrawn["live"], ["a", "b"]].to_numpy()] == [tuple(pair)]
    assert not any({a, b} == set(pair) for a, b in zip(second.links["a"], second.links["b"]))


@pytest.mark.parametrize("split", ["by publication date", "shuffled, with departures"])
def test_releases_grow_like_full_runs_over_the_gold(articles, tmp_path, split):
    """Every article of the gold arriving over releases, in two orders: as news arrives (four
    releases by publication date) and shuffled with a tenth of the first release leaving in
    the last one. After each release the stories are those of one full run."""
    if split == "by publication date":
        ordered = articles.sort_values("published_date", kind="stable", na_position="last")
        cut = np.arange(len(ordered)) * 4 // len(ordered)
        releases = [ordered[cut <= i] for i in range(4)]
    else:
        order = np.random.default_rng(16).permutation(len(articles))
        rank = np.empty(len(articles), int)
        rank[order] = np.arange(len(articles))
        first, leaving = rank < len(articles) // 2, rank % 20 == 0
        releases = [articles[first], articles[rank < len(articles) * 4 // 5],
                    articles[~(first & leaving)]]
    grow(releases, tmp_path, check=range(len(releases)))


def test_releases_saved_as_segments_grow_like_one_full_run(articles, tmp_path, monkeypatch):
    """Three releases: the gold's first 60 %, then 20 % more, then the rest with a tenth of the
    first part gone. Each run resumes from the folder the previous one saved (only what it
    added: fingerprints, postings, links, member rows) and returns only the stories it touched;
    laid over each other they are the stories of one full run, and so after a full copy."""
    part = np.arange(len(articles)) % 10
    releases = [articles[part < 6], articles[part < 8],
                articles[(part >= 6) | (np.arange(len(articles)) % 30 != 0)]]
    table, saved = grow(releases, tmp_path)
    index = stories.StoryIndex.load(saved[-1])
    full = stories.build_stories(releases[-1], dedup_articles(releases[-1]).clusters)
    assert partition(table) == partition(full)
    # row for row too, but for the words of the evidence: a link is described from the
    # article seen first, and these releases saw the articles in another order
    by_id = lambda t: t.set_index("article_id").sort_index()  # noqa: E731
    columns = ["relation", "score", "matched_id", "is_representative", "cluster_id",
               "containment", "shared_clauses", "lead_support", "days_apart", "story_size"]
    pd.testing.assert_frame_equal(by_id(table.stories)[columns], by_id(full.stories)[columns])
    # the second folder holds only the fingerprints its run made, and names the first
    second = stories.StoryIndex.load(saved[1])
    assert [d.name for d in second.folders] == ["rel-0", "rel-1"]
    assert pq.ParquetFile(saved[1] / stories.FINGERPRINTS).metadata.num_rows < len(releases[1]) / 3
    # a full copy (every MAX_SEGMENTS folders) holds what the segments held
    monkeypatch.setattr(stories, "MAX_SEGMENTS", 2)
    copy = stories.StoryIndex.load(stories.StoryIndex.load(saved[2]).save(tmp_path / "rel-3"))
    assert copy.folders == (tmp_path / "rel-3",)
    pd.testing.assert_frame_equal(copy.members.drop(columns="folder"),
                                  index.members.drop(columns="folder"))
    assert copy.links.drop(columns=["hash_a", "hash_b"]).equals(
        index.links.drop(columns=["hash_a", "hash_b"]))
    some = list(index.members.index[::7])
    assert {a: f.text_hash for a, f in copy.fingerprints(some).items()} == \
        {a: f.text_hash for a, f in index.fingerprints(some).items()}


def test_fingerprints_are_held_a_group_at_a_time_with_the_same_stories(articles, built,
                                                                       monkeypatch):
    """A run fingerprints its articles a group at a time and keeps them as Arrow rows: never
    more than a group of Fingerprint objects at once (a first run of 200k documents would
    otherwise hold every one of them), and the same stories, links and saved fingerprints as
    with one group for the whole gold."""
    import weakref
    group = 16
    monkeypatch.setattr(stories, "FINGERPRINT_GROUP", group)
    made, alive, fingerprint = [], [], stories.fingerprint

    def counted(*args):
        fp = fingerprint(*args)
        made.append(weakref.ref(fp))
        alive.append(sum(r() is not None for r in made))
        return fp

    monkeypatch.setattr(stories, "fingerprint", counted)
    grouped = stories.build_stories(articles, dedup_articles(articles).clusters)
    assert len(made) == len(articles) > 4 * group
    assert max(alive) <= group + 1  # (the one being made, while a full group waits)
    pd.testing.assert_frame_equal(grouped.stories, built.stories)
    pd.testing.assert_frame_equal(grouped.index.found, built.index.found)
    assert grouped.index.fresh.rows.equals(built.index.fresh.rows)


def test_an_index_is_resumed_only_once_saved(built):
    with pytest.raises(ValueError, match="saved index"):
        stories.build_stories(load_articles().iloc[:3], built.stories.iloc[:0].reindex(
            columns=["article_id", *stories.CLUSTER_FIELDS]), built.index)


def test_a_changed_text_is_fingerprinted_again(articles, tmp_path):
    first = stories.build_stories(articles, dedup_articles(articles).clusters)
    index = stories.StoryIndex.load(first.index.save(tmp_path / "index"))
    edited = articles.copy()
    aid, other = PAIRS["1ef5346d654f"]["a"], PAIRS["1ef5346d654f"]["b"]  # the long one edited
    before = first.stories.set_index("article_id")
    assert before.at[aid, "story_id"] == before.at[other, "story_id"]
    edited.loc[edited["article_id"] == aid, "body"] = "另一篇完全不同的报道，讲述了别的事情，与原文无关。" * 8
    edited_clusters = dedup_articles(edited).clusters
    second = over(first, stories.build_stories(edited, edited_clusters, index))
    row = second.stories.set_index("article_id")
    assert row.at[aid, "story_id"] != row.at[other, "story_id"]
    # the story split in two: two ids, as a fresh run gives
    fresh = stories.build_stories(edited, edited_clusters)
    assert partition(second) == partition(fresh)
    assert second.index.members.at[aid, "text_hash"] != first.index.members.at[aid, "text_hash"]


def test_an_incompatible_index_is_refused(built, tmp_path):
    directory = built.index.save(tmp_path / "index")
    params = (directory / "params.json").read_text().replace(
        f'"version": {stories.VERSION}', '"version": 0')
    (directory / "params.json").write_text(params)
    with pytest.raises(ValueError, match="rebuild the index"):
        stories.StoryIndex.load(directory)


def test_an_index_of_the_earlier_format_is_rebuilt(built, tmp_path):
    """Before segments, a release saved one full copy (fingerprints, links and stories, no
    `format`): it is refused with a reason, and the stage then recomputes every story once."""
    directory = built.index.save(tmp_path / "index")
    params = json.loads((directory / "params.json").read_text())
    del params["format"]
    (directory / "params.json").write_text(json.dumps(params))
    (directory / stories.MEMBERS).unlink()
    with pytest.raises(ValueError, match="format 2.*rebuild the index"):
        stories.StoryIndex.load(directory)


def test_no_articles_no_stories():
    empty = load_articles().iloc[0:0]
    result = stories.build_stories(empty, dedup_articles(empty).clusters)
    assert result.stories.empty and list(result.stories.columns) == stories.STORY_COLUMNS


@needs_shared
def test_dev_corpus_through_the_real_stages(shared_dir):
    """The dev corpus ingested and cleaned by the project's stages: every near-duplicate set of
    SOURCES.md is one story and no other dev file joins a story."""
    from newsgate.tasks.ingest import ingest_files
    from stages import clean_documents
    paths = sorted(p for p in (shared_dir / "corpus" / "dev").iterdir() if p.suffix in (".txt", ".html"))
    articles = clean_documents(ingest_files(paths).documents).articles
    rows = stories.build_stories(articles, dedup_articles(articles).clusters).stories
    story = {Path(s).name: st for s, st in zip(
        articles.set_index("article_id").loc[rows["article_id"], "source"], rows["story_id"])}
    sets = [["gne_11.html", "gne_12.html"], ["gerapy_2.html", "gerapy_3.html"],
            ["sogouca_2.txt", "sogouca_3.txt"], ["sinacrawl_1.txt", "sinacrawl_2.txt", "sinacrawl_3.txt"],
            ["sinacrawl_4.txt", "sinacrawl_5.txt"]]
    for files in sets:
        assert len({story[f] for f in files}) == 1, files
    in_sets = {f for files in sets for f in files}
    others = [story[f] for f in story if f not in in_sets]
    assert len(others) == len(set(others))


# ---- the contract, the lake and the command line ---------------------------------------------------
def test_stories_pass_their_gate_and_broken_ones_do_not(built):
    from newsgate.tasks.gates import run_gate
    kept, result = run_gate("stories", built.stories, stage="stories")
    assert result.passed and len(kept) == len(built.stories)
    broken = built.stories.copy()
    broken.loc[broken.index[broken["relation"].isin(["condensed", "rewrite", "same"])][0],
               "score"] = 0.01  # a link across copy clusters scored too low to link
    _, result = run_gate("stories", broken, stage="stories")
    assert any("_check_link_meets_threshold" in c.check for c in result.failed_errors)


def test_story_invariants_hold_and_name_what_breaks(built):
    """What spans a story is checked over the whole table, column-wise (tasks/invariants.py)."""
    import pyarrow as pa
    from newsgate.tasks.invariants import check_tables

    def problems(frame):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        return check_tables(lambda t, columns: table.select(columns), {"stories"})

    assert problems(built.stories) == {}
    moved = built.stories.copy()
    joined = moved.index[moved["relation"].isin(["condensed", "rewrite", "same"])][0]
    moved.loc[joined, "story_id"] = "s-elsewhere"  # its match and representative stay behind
    found = problems(moved)["consistent stories"]
    assert any("without exactly one representative" in p and "s-elsewhere" in p for p in found)
    assert any("joined to an article of another story" in p and moved.at[joined, "article_id"] in p
               for p in found)
    resized = built.stories.copy()
    resized.loc[resized.index[0], "story_size"] += 1
    assert "story_size is not" in problems(resized)["consistent stories"][0]


def test_show_stories_prints_a_published_stories_table(built, articles, tmp_path, capsys):
    from newsgate.flows.cli import main
    from newsgate.tasks.publish import Lake
    Lake(tmp_path).publish("rel-1", {"stories": built.stories}, {})
    assert main(["show", "stories", "--out", str(tmp_path), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "story_id" in out and "relation" in out and f"({len(built.stories)} rows of stories in rel-1)" in out
    back = Lake(tmp_path).read_table("stories")
    assert back["shared_figures"].map(list).tolist() == built.stories["shared_figures"].tolist()


def test_articles_printed_on_one_page_are_never_one_story():
    """The seeds' 吉林日报 page carries two “三早” inspection reports, by two leaders in two
    cities (巴音朝鲁 in 长春, 景俊海 in 吉林市): one campaign, one vocabulary, two stories. A
    page prints a story once, so articles split from one document are never linked."""
    from conftest import SEEDS
    from newsgate.tasks.ingest import ingest_files
    from stages import clean_documents
    articles = clean_documents(ingest_files(sorted(SEEDS.glob("*.txt"))).documents).articles
    pages = articles.groupby("doc_id")["article_id"].size()
    assert pages.max() > 1  # the seeds hold a page split into several articles
    rows = stories.build_stories(articles, dedup_articles(articles).clusters).stories
    doc = articles.set_index("article_id")["doc_id"]
    per_story = rows.assign(doc=rows["article_id"].map(doc)).groupby("story_id")["doc"]
    assert (per_story.nunique() == per_story.size()).all()
