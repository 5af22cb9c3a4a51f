"""Dedup stage: exact, near (containment), canonical rule, metadata, incremental, persistence."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import newsgate.tasks.dedup as dedup
from conftest import needs_shared
from newsgate.tasks.dedup import (NEAR_THRESHOLD, DedupIndex, Member, choose_canonical, dedup_articles,
                         inherit_metadata, normalize_body, overlap_scores, shingle_hashes)

CJK = re.compile(r"[\u4e00-\u9fff]")


def paragraphs(text: str) -> list[str]:
    """Body paragraphs of a seed: lines with at least 30 CJK characters (drops breadcrumbs,
    widget lines and titles)."""
    return [line.strip() for line in text.splitlines() if len(CJK.findall(line)) >= 30]


def frame(bodies: dict[str, str], **meta) -> pd.DataFrame:
    rows = [{"article_id": aid, "doc_id": aid, "body": body, "title": "", "source": aid,
             "n_chars": len(body), "outlet": meta.get("outlet", {}).get(aid),
             "published_date": meta.get("published_date", {}).get(aid)}
            for aid, body in bodies.items()]
    return pd.DataFrame(rows)


def by_id(clusters: pd.DataFrame) -> dict[str, dict]:
    return clusters.set_index("article_id").to_dict("index")


@pytest.fixture(scope="module")
def seeds(seed_texts) -> dict[str, str]:
    """seed bodies keyed s0..s4 (paragraphs joined by \\n, as the clean stage emits them)."""
    return {f"s{i}": "\n".join(paragraphs(text)) for i, text in enumerate(seed_texts.values())}


def assert_near_members_close(clusters: pd.DataFrame, bodies: dict[str, str]) -> None:
    """The gate's invariant, checked against the texts themselves."""
    for row in clusters[clusters["kind"] == "near"].itertuples():
        _, containment = overlap_scores(shingle_hashes(normalize_body(bodies[row.article_id])),
                                        shingle_hashes(normalize_body(bodies[row.canonical_id])))
        assert row.similarity >= NEAR_THRESHOLD
        assert containment == pytest.approx(row.similarity, abs=1e-6)


# ---- normalisation -------------------------------------------------------------------------------
def test_normalisation_folds_width_punctuation_space_and_invisibles():
    assert normalize_body("投资１２亿元，“重点”项目 ") == normalize_body("投资12亿元,\"重点\"项目")
    assert normalize_body("发改\u200b委\ufeff主任\x07\r\n") == "发改委主任"
    assert normalize_body("ＧＤＰ增长") == "gdp增长"


# ---- exact / near / distinct ---------------------------------------------------------------------
def test_byte_copy_is_exact_duplicate(seeds):
    result = dedup_articles(frame({"s3": seeds["s3"], "s3-copy": seeds["s3"]}))
    rows = by_id(result.clusters)
    assert rows["s3-copy"]["kind"] == "exact" and rows["s3-copy"]["similarity"] == 1.0
    assert rows["s3-copy"]["cluster_id"] == rows["s3"]["cluster_id"]
    assert rows["s3"]["is_canonical"] and rows["s3"]["kind"] == "unique"


def test_layout_variants_are_exact_duplicates(seeds):
    body = seeds["s4"]
    variants = {"s4": body, "crlf": body.replace("\n", "\r\n"),
                "zw": body.replace("吉林", "吉\u200b林"), "wide": body.replace("3%", "３％")}
    clusters = dedup_articles(frame(variants)).clusters
    assert clusters["cluster_id"].nunique() == 1
    assert sorted(clusters["kind"]) == ["exact", "exact", "exact", "unique"]


def test_condensed_republication_is_near_by_containment(seeds):
    condensed = "\n".join(paragraphs(seeds["s1"])[1:])  # seed 001 minus its first paragraph
    bodies = {"s1": seeds["s1"], "condensed": condensed}
    # as cleaned: the seed keeps its date line, the condensed copy lost it with its boilerplate
    clusters = dedup_articles(frame(bodies, published_date={"s1": "2019-12-20"})).clusters
    rows = by_id(clusters)
    assert rows["condensed"]["kind"] == "near"
    assert rows["condensed"]["canonical_id"] == "s1"  # the longer text
    assert rows["condensed"]["similarity"] >= 0.99      # containment ~ 1.0
    assert rows["condensed"]["jaccard"] < rows["condensed"]["similarity"]
    assert_near_members_close(clusters, bodies)


def test_distinct_seeds_stay_apart(seeds):
    clusters = dedup_articles(frame(seeds)).clusters
    assert clusters["cluster_id"].nunique() == len(seeds)
    assert set(clusters["kind"]) == {"unique"} and clusters["is_canonical"].all()


def test_short_text_quoted_in_a_story_is_not_swallowed(seeds):
    """Containment alone never merges a text shorter than MIN_SHINGLES_FOR_CONTAINMENT."""
    brief = paragraphs(seeds["s2"])[0][:30]
    clusters = dedup_articles(frame({"s2": seeds["s2"], "brief": brief})).clusters
    assert clusters["cluster_id"].nunique() == 2


@pytest.fixture()
def every_pair_is_a_candidate(monkeypatch):
    """Bypass LSH (whose recall below J=0.8 is probabilistic) to test the clustering alone."""
    def every_pair(keys, is_new):
        return np.array([(i, j) for i in range(len(keys)) for j in range(i + 1, len(keys))
                         if is_new[i] or is_new[j]], dtype=np.int64).reshape(-1, 2)

    monkeypatch.setattr(dedup, "candidate_pairs", every_pair)


def test_chain_is_split_so_every_member_is_close_to_its_canonical(seeds, every_pair_is_a_candidate):
    """a ⊂ long, a ⊂ b, but b shares only a with long: b must not hang under long."""
    p3, p0 = paragraphs(seeds["s3"]), paragraphs(seeds["s0"])
    bodies = {"long": "\n".join(p3), "a": "\n".join(p3[:3]), "b": "\n".join(p3[:3] + p0)}
    clusters = dedup_articles(frame(bodies)).clusters
    assert_near_members_close(clusters, bodies)
    rows = by_id(clusters)
    assert rows["a"]["canonical_id"] == "long"
    assert rows["b"]["cluster_id"] != rows["long"]["cluster_id"]


# ---- canonical rule and metadata -------------------------------------------------------------------
@pytest.mark.parametrize("members, expected", [
    ([Member("a", 900, "人民网", "2020-01-01"), Member("b", 1000, None, None)], "b"),  # completeness
    ([Member("a", 1000, None, None, copies=1), Member("b", 980, None, None, copies=3)], "b"),  # consensus
    ([Member("a", 1000, "新浪财经", None), Member("b", 960, "中国证券报", None)], "b"),  # named > aggregator
    ([Member("a", 1000, None, None), Member("b", 1000, "互联网", None)], "b"),  # aggregator > unknown
    ([Member("a", 1000, "x报", "2020-02-01"), Member("b", 1000, "y报", "2020-01-31")], "b"),  # earliest
    ([Member("b", 1000, None, None, row=0), Member("a", 1000, None, None, row=1)], "b"),  # first seen
    ([Member("a", 1000, None, None, row=1), Member("b", 1000, None, None, row=0)], "b"),  # not the id
    ([Member("a", 1000, None, None, row=0), Member("b", 990, None, None, copies=2, row=1)], "b"),
    ([Member("old", 1000, None, None, True), Member("new", 1090, "人民网", "2019-01-01")], "old"),
    ([Member("old", 1000, None, None, True), Member("new", 1200, None, None)], "new"),  # > margin
])
def test_canonical_rule(members, expected):
    assert choose_canonical(members).article_id == expected


@pytest.mark.parametrize("order", [["seed-004", "7b019a2f-0"], ["7b019a2f-0", "seed-004"]])
def test_byte_copy_canonical_is_the_first_seen_not_the_smallest_id(seeds, order):
    """(a) the copy (smaller id, like gb18030_meta.html) listed after the seed: the seed is
    canonical; (b) the same two listed the other way round: the copy is. Order, not id."""
    result = dedup_articles(frame({aid: seeds["s4"] for aid in order},
                                  outlet={aid: "人民网" for aid in order},
                                  published_date={aid: "2024-02-18" for aid in order}))
    rows = by_id(result.clusters)
    first, second = order
    assert rows[first]["is_canonical"] and rows[first]["kind"] == "unique"
    assert rows[second]["canonical_id"] == first and rows[second]["kind"] == "exact"
    assert rows[first]["cluster_id"] == f"c-{first}"


def test_first_seen_copy_represents_its_group_next_to_a_variant(seeds):
    """Seed, a near variant (an extra line, equally complete) and two later byte copies: the
    seed's body has the most copies, and the seed itself was seen first."""
    variant = seeds["s4"] + "\n责任编辑：王某某"
    bodies = {"seed": seeds["s4"], "0-variant": variant, "0-copy": seeds["s4"], "1-copy": seeds["s4"]}
    rows = by_id(dedup_articles(frame(bodies)).clusters)
    assert {r["canonical_id"] for r in rows.values()} == {"seed"}
    assert rows["0-variant"]["kind"] == "near"


def test_index_rows_are_seen_before_a_runs_rows(seeds):
    """Incrementally the old row is first seen (and the incumbent): a new equal copy with a
    smaller id does not take over."""
    first = dedup_articles(frame({"seed": seeds["s2"]}))
    second = dedup_articles(frame({"0-copy": seeds["s2"]}), first.index)
    assert by_id(second.clusters)["0-copy"]["canonical_id"] == "seed"


def test_canonical_inherits_missing_metadata(seeds):
    articles = frame({"a": seeds["s0"], "b": seeds["s0"], "c": seeds["s0"]},
                     outlet={"b": "新浪网", "c": "吉林日报"},
                     published_date={"b": "2020-06-02", "c": "2020-06-01"})
    result = dedup_articles(articles)
    assert by_id(result.clusters)["c"]["is_canonical"]  # named outlet wins among exact copies
    articles.loc[articles["article_id"] == "c", "published_date"] = None
    result = dedup_articles(articles)
    update = result.articles_update.set_index("article_id").to_dict("index")
    assert update == {"c": {"published_date": "2020-06-02", "outlet": "吉林日报"}}
    patched = inherit_metadata(articles, result.articles_update).set_index("article_id")
    assert patched.loc["c", "published_date"] == "2020-06-02"
    assert pd.isna(patched.loc["a", "published_date"])


def test_an_article_signed_before_inherits_again_when_it_is_cleaned_again(seeds):
    # a re-run re-cleans known articles (own metadata only): the index's clusters must give the
    # canonical its inherited values back, although no cluster changes
    articles = frame({"a": seeds["s0"], "b": seeds["s0"], "c": seeds["s0"]},
                     outlet={"b": "新浪网", "c": "吉林日报"}, published_date={"b": "2020-06-02"})
    first = dedup_articles(articles)
    again = dedup_articles(articles, prior=first.index)
    assert again.clusters.empty  # nothing new, nothing changed
    assert (again.articles_update.to_dict("records") == first.articles_update.to_dict("records")
            != [])


# ---- incremental and persistence ---------------------------------------------------------------------
@pytest.fixture()
def signed_rows(monkeypatch) -> list[int]:
    """Counts the documents MinHash (rensa) is computed for."""
    counts: list[int] = []
    original = dedup.minhash_signatures

    def counting(shingle_sets, *args, **kwargs):
        counts.append(len(shingle_sets))
        return original(shingle_sets, *args, **kwargs)

    monkeypatch.setattr(dedup, "minhash_signatures", counting)
    return counts


def test_republished_story_joins_existing_cluster_without_resigning_old(seeds, signed_rows, tmp_path):
    condensed = "\n".join(paragraphs(seeds["s1"])[1:])
    first_frame = frame({**seeds, "condensed": condensed}, published_date={"s1": "2019-12-20"})
    first = dedup_articles(first_frame)
    assert signed_rows == [6]
    first.index.save(tmp_path / "idx")

    week_later = frame({"reprint": seeds["s1"].replace("\n", "\n\n"),  # exact after normalising
                        "rewrite": "\n".join(paragraphs(seeds["s1"])[:-1]),
                        "fresh": "\n".join(paragraphs(seeds["s3"])[:2] + paragraphs(seeds["s2"])[:2])})
    bodies = dict(zip(first_frame["article_id"], first_frame["body"]))  # the release keeps them
    second = dedup_articles(week_later, DedupIndex.load(
        tmp_path / "idx", fetch=lambda ids: {a: bodies[a] for a in ids}))
    assert signed_rows == [6, 2]  # rewrite + fresh; the exact reprint reuses s1's signature
    rows = by_id(second.clusters)
    assert set(rows) == {"reprint", "rewrite", "fresh"}  # no old row changed
    old = by_id(first.clusters)
    assert rows["reprint"]["cluster_id"] == rows["rewrite"]["cluster_id"] == old["s1"]["cluster_id"]
    assert rows["reprint"]["canonical_id"] == "s1" and rows["reprint"]["kind"] == "exact"
    assert rows["fresh"]["kind"] == "unique"
    assert len(second.index) == len(seeds) + 1 + 3


def test_incumbent_canonical_kept_within_margin_replaced_beyond(seeds):
    p = paragraphs(seeds["s3"])
    first = dedup_articles(frame({"short": "\n".join(p[:-1])}))
    slightly_longer = dedup_articles(frame({"full": "\n".join(p)}), first.index)
    assert by_id(slightly_longer.clusters)["full"]["canonical_id"] == "short"

    much_longer = dedup_articles(frame({"short": "\n".join(p[: len(p) // 2])}))
    grown = dedup_articles(frame({"full": "\n".join(p)}), much_longer.index)
    rows = by_id(grown.clusters)
    assert rows["full"]["is_canonical"]
    assert rows["short"]["canonical_id"] == "full" and rows["short"]["kind"] == "near"
    assert rows["short"]["cluster_id"] == by_id(much_longer.clusters)["short"]["cluster_id"]


def test_bridging_article_merges_two_old_clusters(seeds, every_pair_is_a_candidate):
    p = paragraphs(seeds["s3"])
    half = len(p) // 2
    head, tail = "\n".join(p[:half]), "\n".join(p[half:])
    first = dedup_articles(frame({"head": head, "tail": tail}))
    assert first.clusters["cluster_id"].nunique() == 2
    second = dedup_articles(frame({"whole": "\n".join(p)}), first.index)
    rows = by_id(second.clusters)
    assert set(rows) == {"whole", "head", "tail"}  # both old rows changed canonical
    assert rows["whole"]["is_canonical"]
    assert rows["head"]["cluster_id"] == rows["tail"]["cluster_id"] == rows["whole"]["cluster_id"] == "c-head"
    assert_near_members_close(second.clusters, {"whole": "\n".join(p), "head": head, "tail": tail})


def test_index_round_trip(seeds, tmp_path):
    index = dedup_articles(frame(seeds)).index
    loaded = DedupIndex.load(index.save(tmp_path / "idx"))
    np.testing.assert_array_equal(loaded.signatures, index.signatures)
    assert loaded.signatures.dtype == np.uint32
    pd.testing.assert_frame_equal(loaded.state, index.state.astype(object).where(index.state.notna(), None),
                                  check_dtype=False)
    again = dedup_articles(frame({"copy": seeds["s2"]}), loaded)
    assert by_id(again.clusters)["copy"]["canonical_id"] == "s2"


def test_index_with_other_parameters_is_refused(seeds, tmp_path, monkeypatch):
    dedup_articles(frame(seeds)).index.save(tmp_path / "idx")
    monkeypatch.setattr(dedup, "NGRAM", dedup.NGRAM + 1)
    with pytest.raises(ValueError, match="incompatible"):
        DedupIndex.load(tmp_path / "idx")


def test_index_signed_by_the_old_numpy_minhash_is_refused(seeds, tmp_path):
    directory = dedup_articles(frame(seeds)).index.save(tmp_path / "idx")
    old = {"ngram": dedup.NGRAM, "bands": dedup.BANDS, "rows": dedup.ROWS, "seed": dedup.SEED, "version": 1}
    (directory / "params.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="incompatible"):
        DedupIndex.load(directory)


def test_signatures_and_band_keys_are_per_batch_pure(seeds):
    bodies = list(seeds.values())
    whole = dedup.signatures(bodies)
    parts = np.vstack([dedup.signatures(bodies[:2]), dedup.signatures(bodies[2:])])
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(dedup.band_keys(whole)[3], dedup.band_keys(parts[3:4])[0])


def test_candidates_from_band_slices_union_to_all_bands(seeds):
    """A worker per band slice (bucketed independently) finds the same candidates together."""
    p = paragraphs(seeds["s3"])
    bodies = list(seeds.values()) + ["\n".join(p[:-1]), "\n".join(p[1:]), seeds["s0"][:-40]]
    keys = dedup.band_keys(dedup.signatures(bodies))
    is_new = np.ones(len(bodies), dtype=bool)
    whole = {tuple(pair) for pair in dedup.candidate_pairs(keys, is_new).tolist()}
    sliced = {tuple(pair) for lo in range(0, keys.shape[1], 4)
              for pair in dedup.candidate_pairs(keys[:, lo:lo + 4], is_new).tolist()}
    assert whole == sliced and {(0, 7), (3, 5), (3, 6)} <= whole


def test_empty_input_and_empty_bodies():
    empty = pd.DataFrame(columns=["article_id", "body", "outlet", "published_date"])
    result = dedup_articles(empty)
    assert result.clusters.empty and len(result.index) == 0
    blanks = dedup_articles(frame({"a": "", "b": " ，\n"})).clusters
    assert blanks["cluster_id"].nunique() == 2  # nothing to compare: never grouped


def test_signatures_are_rensa_rminhash(seeds):
    """The signature is rensa's RMinHash of the 5-gram hashes, row for row (no own MinHash)."""
    from rensa import RMinHash
    bodies = list(seeds.values()) + ["", "短"]
    tokens = [dedup.ngram_hashes(normalize_body(b)).tolist() for b in bodies]
    expected = RMinHash.digest_matrix_from_token_hash_sets(tokens, dedup.NUM_PERM, dedup.SEED).to_rows()
    sigs = dedup.signatures(bodies)
    assert sigs.dtype == np.uint32 and sigs.shape == (len(bodies), dedup.NUM_PERM)
    np.testing.assert_array_equal(sigs, np.array(expected, dtype=np.uint32))
    assert (sigs[-2] == np.iinfo(np.uint32).max).all()  # empty body: never in a bucket
    assert dedup.signatures([]).shape == (0, dedup.NUM_PERM)


def test_minhash_estimates_jaccard(seeds):
    p = paragraphs(seeds["s3"])
    a, b = "\n".join(p[:8]), "\n".join(p[2:])
    jaccard, _ = overlap_scores(shingle_hashes(normalize_body(a)), shingle_hashes(normalize_body(b)))
    sig = dedup.signatures([a, b])
    assert abs((sig[0] == sig[1]).mean() - jaccard) < 0.15  # 64 permutations: sd ~ 0.06


# ---- shared corpora ----------------------------------------------------------------------------------
def stand_in_clean(path) -> str:
    """Main text without the clean stage: trafilatura for HTML, CJK lines for crawler text."""
    if path.suffix == ".html":
        import trafilatura
        return trafilatura.extract(path.read_text(encoding="utf-8", errors="replace")) or ""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return "\n".join(line for line in text.splitlines() if CJK.search(line))


@needs_shared
def test_dev_corpus_near_duplicate_sets_and_nothing_else(shared_dir):
    dev = shared_dir / "corpus" / "dev"
    bodies = {p.name: stand_in_clean(p) for p in sorted(dev.iterdir()) if p.suffix in (".txt", ".html")}
    clusters = dedup_articles(frame(bodies)).clusters
    groups = {frozenset(members) for _, members in clusters.groupby("cluster_id")["article_id"]
              if len(members) > 1}
    assert groups == {
        frozenset({"gne_11.html", "gne_12.html"}),
        frozenset({"gerapy_2.html", "gerapy_3.html"}),
        frozenset({"sogouca_2.txt", "sogouca_3.txt"}),
        frozenset({"sinacrawl_1.txt", "sinacrawl_2.txt", "sinacrawl_3.txt"}),
        frozenset({"sinacrawl_4.txt", "sinacrawl_5.txt"}),
    }
    assert_near_members_close(clusters, bodies)


@needs_shared
def test_badinputs_cluster_with_their_seeds(shared_dir, seed_paths):
    bad = shared_dir / "badinputs"
    invisible = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00, 0x07, 0x1B])
    bodies = {p.name[:3]: p.read_text(encoding="utf-8") for p in seed_paths}
    for name in ("dup_of_seed.txt", "near_dup_of_seed.txt", "crlf.txt", "zero_width.txt",
                 "control_chars.txt"):
        bodies[name] = (bad / name).read_text(encoding="utf-8").translate(invisible)
    bodies["utf16_bom.txt"] = (bad / "utf16_bom.txt").read_bytes().decode("utf-16")
    rows = by_id(dedup_articles(frame(bodies)).clusters)
    assert rows["dup_of_seed.txt"]["kind"] == "exact"
    assert rows["dup_of_seed.txt"]["cluster_id"] == rows["003"]["cluster_id"]
    assert rows["dup_of_seed.txt"]["canonical_id"] == "003"  # the seed, listed first
    assert rows["near_dup_of_seed.txt"]["kind"] == "near"
    assert rows["near_dup_of_seed.txt"]["canonical_id"] == "001"
    for name in ("crlf.txt", "zero_width.txt", "control_chars.txt", "utf16_bom.txt"):
        assert rows[name]["kind"] == "exact" and rows[name]["cluster_id"] == rows["004"]["cluster_id"]
        assert rows[name]["canonical_id"] == "004"
    assert len({rows[s]["cluster_id"] for s in ("000", "001", "002", "003", "004")}) == 5


# ---- linear work on template-heavy and very short texts (issue 13) --------------------------------
def test_candidates_are_bounded_per_row_in_huge_buckets():
    """2,000 copies of one sentence, each with another last character, share one bucket per
    band: pairing every row of a bucket with every other gave ~2 million candidates; capped,
    each row is paired with the bucket's first rows only, so candidates grow linearly."""
    sentence = ("本报讯 8月3日，河北省邢台市举行重点项目集中开工活动，共有38个项目开工，总投资216亿元。"
                "项目涵盖装备制造、新能源、现代物流等领域。")
    n = 2000
    keys = dedup.band_keys(dedup.signatures([sentence + chr(0x4E00 + i) for i in range(n)]))
    assert dedup.oversized_buckets(keys)[1] > n  # the case under test: buckets of ~n rows
    pairs = dedup.candidate_pairs(keys, np.ones(n, dtype=bool))
    assert 0 < len(pairs) <= dedup.BANDS * dedup.BUCKET_LEADERS * n
    assert (pairs[:, 0] < pairs[:, 1]).all() and len(np.unique(pairs, axis=0)) == len(pairs)
    # every row meets one of the first rows (a bucket's leaders): copies still find each other
    assert set(pairs[pairs[:, 0] < dedup.BUCKET_LEADERS, 1].tolist()) >= set(range(dedup.BUCKET_LEADERS, n))


def test_template_texts_are_counted_not_compared_all_to_all():
    texts = {f"t{i}": f"河北省邢台市重点项目第{i}号开工建设" for i in range(3000)}
    texts["copy"] = texts["t7"]
    result = dedup_articles(frame(texts))
    stats = result.stats
    assert stats["oversized_buckets"] > 0 and stats["rows_in_oversized_buckets"] > dedup.MAX_BUCKET
    assert stats["skipped_by_estimate"] > 0 and stats["verified_pairs"] < 20 * len(texts)
    rows = by_id(result.clusters)
    assert rows["copy"]["kind"] == "exact" and rows["copy"]["canonical_id"] == "t7"
    assert_near_members_close(result.clusters, texts)


def test_a_story_copied_more_often_than_a_bucket_holds_stays_one_cluster(seeds):
    """Copies of one story fill oversized buckets: each still meets the first copies (the
    bucket's leaders), so all of them end in one cluster under the original."""
    copies = {f"c{i:03d}": seeds["s3"].replace("。", f"（{i}）。", 1)
              for i in range(3 * dedup.MAX_BUCKET)}
    result = dedup_articles(frame({"original": seeds["s3"], **copies}))
    assert result.stats["oversized_buckets"] > 0
    assert result.clusters["canonical_id"].unique().tolist() == ["original"]
    assert_near_members_close(result.clusters, {"original": seeds["s3"], **copies})


def test_a_long_chain_of_overlapping_texts_splits_into_close_clusters(seeds,
                                                                      every_pair_is_a_candidate):
    """Each text overlaps only its neighbours: one component that splits again and again (in
    a loop now: recursion, once per split, would stop at Python's recursion limit)."""
    words = paragraphs(seeds["s3"])[0] * 3
    chain = {f"k{i:04d}": words[i:i + 200] for i in range(0, 1300, 20)}
    clusters = dedup_articles(frame(chain)).clusters
    assert_near_members_close(clusters, chain)
    assert clusters["cluster_id"].nunique() > 10


def test_old_texts_the_assignment_compares_are_fetched_in_one_read(seeds, tmp_path):
    """Two old clusters each gain a longer version that becomes their canonical: their old
    members are scored against it, and the old texts that needs (no candidate pair holds
    their score) are read from the release in one fetch for both clusters, not one per
    cluster (at 200k articles each fetch is a scan of the articles table)."""
    old, new = {}, {}
    for seed in ("s0", "s3"):  # each old cluster: half the story and its first paragraphs
        p = paragraphs(seeds[seed])
        old[f"{seed}-half"], old[f"{seed}-less"] = "\n".join(p[:len(p) // 2]), "\n".join(p[:5])
        new[f"{seed}-full"] = "\n".join(p)
    first = dedup_articles(frame(old))
    assert first.clusters["cluster_id"].nunique() == 2
    first.index.save(tmp_path / "idx")
    fetches: list[list[str]] = []

    def fetch(ids):
        fetches.append(sorted(ids))
        return {a: old[a] for a in ids}

    second = dedup_articles(frame(new), DedupIndex.load(tmp_path / "idx", fetch=fetch))
    rows = by_id(second.clusters)
    assert rows["s0-full"]["is_canonical"] and rows["s3-full"]["is_canonical"]
    assert rows["s0-less"]["canonical_id"] == "s0-full" and rows["s3-less"]["canonical_id"] == "s3-full"
    assert_near_members_close(second.clusters, {**old, **new})
    assert len(fetches) <= 2  # the candidates' texts, then every cluster's at once
    assert {"s0-less", "s3-less"} <= set(sum(fetches, []))
