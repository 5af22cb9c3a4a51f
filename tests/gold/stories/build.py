"""Build the story-level labelled pairs (see README.md in this folder). Needs ../shared.

    .venv/bin/python tests/gold/stories/build.py candidates   # -> candidates.jsonl (unlabelled)
    .venv/bin/python tests/gold/stories/build.py finalize     # labels.tsv -> pairs.jsonl, articles.jsonl
    .venv/bin/python tests/gold/stories/build.py candidates2 / finalize2   # part 2 (test2)
    .venv/bin/python tests/gold/stories/build.py candidates3 / finalize3   # part 3 (test3)
    .venv/bin/python tests/gold/stories/build.py candidates4 / finalize4   # part 4 (test4)

`candidates` samples pairs of the bench and dev corpora (cleaned by the project's own stages)
by the rules in README.md, with nothing of the story scorer: character 5-gram Jaccard and
containment on dedup's normalised bodies, and figures found by a plain regex here. The labels
are written by hand into labels.tsv (pair id, relation, note) after reading both texts;
`finalize` joins them, assigns the tune/test split and writes the files the tests read.
"""
from __future__ import annotations

import collections
import hashlib
import itertools
import json
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpora import dev_articles, bench_articles  # noqa: E402

from newsgate.tasks.dedup import normalize_body, shingle_hashes  # noqa: E402

BAND = (0.1, 0.8)            # the Jaccard band every bench pair of which is labelled
RARE_DF = 3                  # a figure in at most this many bench articles is distinctive
ONE_FIGURE_SAMPLE = 24       # pairs below the band sharing exactly one distinctive figure
CONTAINED = 0.3              # below the band, containment of the shorter text at least this
# The five near-duplicate sets of ../shared/corpus/dev/SOURCES.md, and the brief it names as
# not a duplicate (sinacrawl_7) against the set it shares page furniture with.
DEV_SETS = [["gne_11.html", "gne_12.html"], ["gerapy_2.html", "gerapy_3.html"],
            ["sogouca_2.txt", "sogouca_3.txt"],
            ["sinacrawl_1.txt", "sinacrawl_2.txt", "sinacrawl_3.txt"],
            ["sinacrawl_4.txt", "sinacrawl_5.txt"]]
DEV_NEGATIVES = [("sinacrawl_7.txt", f"sinacrawl_{i}.txt") for i in (1, 2, 3, 4, 6)]
FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(亿美元|万美元|亿元|万元|亿|万千瓦|千瓦|万吨|吨|万辆|辆|公里|"
                    r"千米|万平方米|平方米|亩|%|个百分点|万台|台|万套|万户|户|万人|人次|万)")
# The second held-out part (see README.md, "Part 2"): the band is exhausted by part 1, so
# figures are compared by value and paraphrase is found by a bag-of-bigrams cosine.
COSINE_FLOOR = 0.3           # pairs below this cosine are not kept at all (memory)
COSINE_TOP = 40              # below the band, the most similar pairs by cosine
COSINE_FIGURE_TOP = 40       # …and the most similar of those sharing a distinctive figure
COSINE_WEEK_TOP = 30         # …and the most similar of those published within WEEK days
WEEK = 7
ONE_FIGURE_SAMPLE2 = 12      # below the band, one distinctive figure shared: the first by pair hash
RELATIONS = ["copy", "condensed", "rewrite", "same", "different"]


def pair_hash(a: str, b: str) -> int:
    return int(hashlib.sha1(f"{min(a, b)}|{max(a, b)}".encode()).hexdigest()[:12], 16)


def overlaps(bodies: list[str]) -> pd.DataFrame:
    """Every pair sharing a 5-gram: intersection, Jaccard and containment of the shorter."""
    sets = [shingle_hashes(normalize_body(b), 5) for b in bodies]
    hashes, column = np.unique(np.concatenate(sets), return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [s.size for s in sets])
    x = sp.csr_matrix((np.ones(rows.size, dtype=np.int32), (rows, column)),
                      shape=(len(sets), hashes.size))
    inter = (x @ x.T).tocoo()
    keep = inter.row < inter.col
    a, b, n = inter.row[keep], inter.col[keep], inter.data[keep]
    size = np.array([s.size for s in sets])
    return pd.DataFrame({"a": a, "b": b, "jaccard": n / (size[a] + size[b] - n),
                         "containment": n / np.minimum(size[a], size[b]).clip(1)})


def figures(body: str) -> set[str]:
    return {m.group(1) + m.group(2) for m in FIGURE.finditer(unicodedata.normalize("NFKC", body))}


def bench_candidates(articles: pd.DataFrame) -> list[dict]:
    ids = articles["article_id"].tolist()
    pairs = overlaps(articles["body"].tolist())
    score = {(a, b): (j, c) for a, b, j, c in pairs.itertuples(index=False)}
    figs = [figures(b) for b in articles["body"]]
    df = collections.Counter(f for s in figs for f in s)
    rare_shared: dict[tuple[int, int], list[str]] = collections.defaultdict(list)
    posting = collections.defaultdict(list)
    for i, s in enumerate(figs):
        for f in s:
            if df[f] <= RARE_DF:
                posting[f].append(i)
    for f, rows in posting.items():
        for a, b in itertools.combinations(sorted(rows), 2):
            rare_shared[(a, b)].append(f)

    chosen: dict[tuple[int, int], str] = {}
    for (a, b), (j, c) in score.items():
        if BAND[0] <= j < BAND[1]:
            chosen[(a, b)] = "band"
    below = {p for p in set(rare_shared) | set(score) if score.get(p, (0, 0))[0] < BAND[0]}
    for p in below:
        if len(rare_shared.get(p, ())) >= 2:
            chosen[p] = "figures"
    one = sorted((p for p in below if len(rare_shared.get(p, ())) == 1 and p not in chosen),
                 key=lambda p: pair_hash(ids[p[0]], ids[p[1]]))
    for p in one[:ONE_FIGURE_SAMPLE]:
        chosen[p] = "one_figure"
    for p in below:
        if p not in chosen and score.get(p, (0, 0))[1] >= CONTAINED:
            chosen[p] = "contained"
    out = []
    for (a, b), pool in chosen.items():
        j, c = score.get((a, b), (0.0, 0.0))
        out.append({"a": ids[a], "b": ids[b], "corpus": "bench", "pool": pool,
                    "jaccard": round(float(j), 4), "containment": round(float(c), 4),
                    "rare_figures": sorted(rare_shared.get((a, b), []))})
    return out


def dev_candidates(articles: pd.DataFrame) -> list[dict]:
    by_file = {Path(s).name: a for a, s in zip(articles["article_id"], articles["source"])}
    wanted = [(s, x, y) for s in ("dev_set", ) for group in DEV_SETS
              for x, y in itertools.combinations(group, 2)]
    wanted += [("dev_negative", x, y) for x, y in DEV_NEGATIVES]
    body = dict(zip(articles["article_id"], articles["body"]))
    out = []
    for pool, x, y in wanted:
        a, b = by_file[x], by_file[y]
        scores = overlaps([body[a], body[b]])
        j, c = (scores.iloc[0][["jaccard", "containment"]] if len(scores) else (0.0, 0.0))
        out.append({"a": a, "b": b, "corpus": "dev", "pool": pool, "files": [x, y],
                    "jaccard": round(float(j), 4), "containment": round(float(c), 4),
                    "rare_figures": sorted(figures(body[a]) & figures(body[b]))})
    return out


def article_rows(articles: pd.DataFrame, ids: set[str], corpus: str) -> list[dict]:
    rows = articles[articles["article_id"].isin(ids)]
    return [{"article_id": r.article_id, "corpus": corpus,
             "source": r.source.split("eb:")[-1] if corpus == "bench" else Path(r.source).name,
             "title": r.title, "published_date": r.published_date, "outlet": r.outlet,
             "body": r.body} for r in rows.itertuples()]


def cosines(bodies: list[str], floor: float | None = None) -> pd.DataFrame:
    """Character-bigram TF-IDF cosine of every pair of bodies at `floor` (COSINE_FLOOR) or above:
    texts that tell the same facts in their own words (a plain measure, nothing of the story
    scorer)."""
    floor = COSINE_FLOOR if floor is None else floor
    grams = [normalize_body(b) for b in bodies]
    grams = [[g[i:i + 2] for i in range(len(g) - 1)] for g in grams]
    vocab = {t: i for i, t in enumerate(sorted({t for g in grams for t in g}))}
    rows = np.repeat(np.arange(len(grams)), [len(g) for g in grams])
    cols = np.fromiter((vocab[t] for g in grams for t in g), dtype=np.int64, count=rows.size)
    x = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(len(grams), len(vocab)))
    x.sum_duplicates()
    df = np.bincount(x.indices, minlength=len(vocab))
    x = x[:, np.flatnonzero(df <= 0.2 * len(grams))]  # bigrams of most texts say nothing
    df = df[df <= 0.2 * len(grams)]
    x = x.multiply(np.log(len(grams) / df)[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel()).clip(1e-12)
    x = sp.diags(1 / norms) @ x
    sim = (x @ x.T).tocoo()
    keep = (sim.row < sim.col) & (sim.data >= floor)
    return pd.DataFrame({"a": sim.row[keep], "b": sim.col[keep], "cosine": sim.data[keep]})


def figure_values(body: str) -> set[str]:
    """The regex figures keyed by value in one unit (12.6亿元 = 126000万元 = 1260000000元)."""
    out = set()
    for m in FIGURE.finditer(unicodedata.normalize("NFKC", body)):
        value, unit = float(m.group(1)), m.group(2)
        for prefix, factor in (("亿", 1e8), ("万", 1e4), ("千", 1e3)):
            if unit.startswith(prefix) and len(unit) > 1:
                value, unit = value * factor, unit[1:]
        out.add(f"{value:.10g}{unit}")
    return out


# Pool sizes of a held-out part drawn below the band: cosine, cosine_figure, cosine_week, one_figure.
PART2_SIZES = (COSINE_TOP, COSINE_FIGURE_TOP, COSINE_WEEK_TOP, ONE_FIGURE_SAMPLE2)
# Parts 3 and 4: the top cosines are taken by part 2 and few pairs sharing a figure are left above
# COSINE_FLOOR, so the cosine pools go deeper (at least 120 pairs).
PART3_SIZES = (50, 40, 60, 12)
# Part 4: the week pool, the one that held same-story pairs, goes 40 pairs deeper.
PART4_SIZES = (50, 40, 100, 12)
# …and, from part 3, the pairs published within WEEK days whose *titles* are most alike
# (character-bigram TF-IDF cosine of the titles): other outlets' reports of one event.
# Parts of one serialised essay (…(2), …（下）) have near-equal titles and no shared text: they
# would fill the pool, so pairs whose titles are equal without the part marker are left out,
# and each article is taken in one pair at most.
TITLE_WEEK_TOP = 50          # (46 pairs reach COSINE_FLOOR)
# Part 4: part 3 took every title pair at COSINE_FLOOR or above, so the title pool goes deeper.
TITLE_FLOOR = {3: COSINE_FLOOR, 4: 0.2}
SERIAL_PART = re.compile(r"\s*[（(]\s*(?:[一二三四五六七八九十上中下]|\d{1,2})\s*[)）]?\s*$")
# splits whose articles a part may not hold (part 4: test3 was scored twice in the fourth round)
DEVELOPMENT = {2: ("tune",), 3: ("tune", "test2"), 4: ("tune", "test2", "test3")}


def part2_candidates(bench: pd.DataFrame, dev: pd.DataFrame, labelled: list[dict],
                     part: int = 2) -> list[dict]:
    """A held-out part drawn below the band (part 2, and part 3 the same way): pairs of the bench
    and dev corpora (and across them) not yet labelled and with no article of a development pair
    (DEVELOPMENT: nothing tuned on is reported on). Pools are named with the part's suffix."""
    both = pd.concat([bench.assign(corpus="bench"), dev.assign(corpus="dev")], ignore_index=True)
    ids, bodies = both["article_id"].tolist(), both["body"].fillna("").tolist()
    done = {p["pair_id"] for p in labelled}
    tuned = {x for p in labelled if p["split"] in DEVELOPMENT[part] for x in (p["a"], p["b"])}
    cosine_top, cosine_figure_top, cosine_week_top, one_figure_sample = \
        {2: PART2_SIZES, 3: PART3_SIZES, 4: PART4_SIZES}[part]
    band, figures2, one_figure = (("band2", "figures2", "one_figure2") if part == 2 else
                                  (f"band{part}", f"figures{part}", f"one_figure{part}"))
    near_pools = (("cosine", "cosine_figure", "cosine_week") if part == 2 else
                  (f"cosine{part}", f"cosine_figure{part}", f"cosine_week{part}"))
    score = {(a, b): (j, c) for a, b, j, c in overlaps(bodies).itertuples(index=False)}
    cosine = {(a, b): s for a, b, s in cosines(bodies).itertuples(index=False)}
    figs = [figure_values(b) for b in bodies]
    df = collections.Counter(f for s in figs for f in s)
    posting = collections.defaultdict(list)
    for i, s in enumerate(figs):
        for f in s:
            if df[f] <= RARE_DF:
                posting[f].append(i)
    rare_shared: dict[tuple[int, int], list[str]] = collections.defaultdict(list)
    for f, rows in posting.items():
        for a, b in itertools.combinations(sorted(rows), 2):
            rare_shared[(a, b)].append(f)

    def open_(p):
        a, b = p
        return (f"{pair_hash(ids[a], ids[b]):012x}" not in done
                and ids[a] not in tuned and ids[b] not in tuned)

    jac = lambda p: score.get(p, (0.0, 0.0))[0]  # noqa: E731
    chosen: dict[tuple[int, int], str] = {}
    for p in filter(open_, score):
        if BAND[0] <= jac(p) < BAND[1]:
            chosen[p] = band
    for p in filter(open_, rare_shared):
        if p not in chosen and jac(p) < BAND[0] and len(rare_shared[p]) >= 2:
            chosen[p] = figures2
    near = sorted((p for p in filter(open_, cosine) if p not in chosen and jac(p) < BAND[0]),
                  key=lambda p: -cosine[p])
    for p in near[:cosine_top]:
        chosen[p] = near_pools[0]
    for p in [p for p in near if p not in chosen and p in rare_shared][:cosine_figure_top]:
        chosen[p] = near_pools[1]
    day = pd.to_datetime(both["published_date"], format="%Y-%m-%d", errors="coerce")
    week = [p for p in near if p not in chosen and abs((day[p[0]] - day[p[1]]).days) <= WEEK]
    for p in week[:cosine_week_top]:
        chosen[p] = near_pools[2]
    one = sorted((p for p in filter(open_, rare_shared) if p not in chosen and jac(p) < BAND[0]),
                 key=lambda p: pair_hash(ids[p[0]], ids[p[1]]))
    for p in one[:one_figure_sample]:
        chosen[p] = one_figure
    if part >= 3:  # the pools above hold few same-story pairs once part 2 took the top ones
        titles = cosines(both["title"].fillna("").tolist(), TITLE_FLOOR[part])
        title_cos = {(a, b): s for a, b, s in titles.itertuples(index=False)}
        serial = [SERIAL_PART.sub("", t) for t in both["title"].fillna("")]
        by_title = sorted((p for p in filter(open_, title_cos) if p not in chosen and jac(p) < BAND[0]
                           and abs((day[p[0]] - day[p[1]]).days) <= WEEK
                           and serial[p[0]] != serial[p[1]]),
                          key=lambda p: -title_cos[p])
        used: set[int] = set()  # each article once: one portal's essays on one topic would fill it
        for p in by_title:
            if len(used) >= 2 * TITLE_WEEK_TOP:
                break
            if not used & set(p):
                chosen[p] = f"title_week{part}"
                used.update(p)
    out = []
    for (a, b), pool in chosen.items():
        j, c = score.get((a, b), (0.0, 0.0))
        corpus = "+".join(sorted({both.at[a, "corpus"], both.at[b, "corpus"]}))
        out.append({"a": ids[a], "b": ids[b], "corpus": corpus, "pool": pool,
                    "jaccard": round(float(j), 4), "containment": round(float(c), 4),
                    "cosine": round(float(cosine.get((a, b), 0.0)), 4),
                    "rare_figures": sorted(rare_shared.get((a, b), []))})
    return out


def candidates() -> None:
    bench, dev = bench_articles(), dev_articles()
    pairs = bench_candidates(bench) + dev_candidates(dev)
    for p in pairs:
        p["pair_id"] = f"{pair_hash(p['a'], p['b']):012x}"
    pairs.sort(key=lambda p: (p["corpus"], p["pool"], p["pair_id"]))
    ids = {x for p in pairs for x in (p["a"], p["b"])}
    articles = article_rows(bench, ids, "bench") + article_rows(dev, ids, "dev")
    _write(HERE / "candidates.jsonl", pairs)
    _write(HERE / "articles.jsonl", sorted(articles, key=lambda r: r["article_id"]))
    print(f"{len(pairs)} candidate pairs over {len(articles)} articles:",
          dict(collections.Counter(p["pool"] for p in pairs)))


def candidates2(part: int = 2) -> None:
    """Candidates of a held-out part (-> candidates<part>.jsonl), excluding every labelled pair
    and every article of a development pair; its articles are appended to articles.jsonl by
    finalize2."""
    bench, dev = bench_articles(), dev_articles()
    labelled = [json.loads(line) for line in (HERE / "pairs.jsonl").open(encoding="utf-8")]
    pairs = part2_candidates(bench, dev, labelled, part)
    for p in pairs:
        p["pair_id"] = f"{pair_hash(p['a'], p['b']):012x}"
    pairs.sort(key=lambda p: (p["corpus"], p["pool"], p["pair_id"]))
    _write(HERE / f"candidates{part}.jsonl", pairs)
    known = {json.loads(line)["article_id"] for line in (HERE / "articles.jsonl").open(encoding="utf-8")}
    ids = {x for p in pairs for x in (p["a"], p["b"])} - known
    rows = article_rows(bench, ids, "bench") + article_rows(dev, ids, "dev")
    _write(HERE / f"articles{part}.jsonl", sorted(rows, key=lambda r: r["article_id"]))
    print(f"{len(pairs)} part-{part} candidate pairs ({len(rows)} new articles):",
          dict(collections.Counter(p["pool"] for p in pairs)))


def finalize2(part: int = 2) -> None:
    """A held-out part: labels.tsv joined to candidates<part>.jsonl, appended to pairs.jsonl as
    split `test<part>` (held out entirely), its new articles to articles.jsonl. Earlier parts
    stay as they are."""
    pairs = [json.loads(line) for line in (HERE / f"candidates{part}.jsonl").open(encoding="utf-8")]
    labels = _labels()
    missing = [p["pair_id"] for p in pairs if p["pair_id"] not in labels]
    if missing:
        raise SystemExit(f"{len(missing)} candidate pairs have no label, e.g. {missing[:5]}")
    split = f"test{part}"
    for p in pairs:
        relation, note = labels[p["pair_id"]]
        p.update(relation=relation, same_story=relation != "different", note=note, split=split)
    old = [json.loads(line) for line in (HERE / "pairs.jsonl").open(encoding="utf-8")]
    _write(HERE / "pairs.jsonl", [p for p in old if p["split"] != split] + pairs)
    articles = {json.loads(line)["article_id"]: json.loads(line)
                for name in ("articles.jsonl", f"articles{part}.jsonl")
                for line in (HERE / name).open(encoding="utf-8")}
    _write(HERE / "articles.jsonl", sorted(articles.values(), key=lambda r: r["article_id"]))
    counts = collections.Counter(p["same_story"] for p in pairs)
    print(f"part {part}: {len(pairs)} labelled pairs, {counts[True]} same story")


def _labels() -> dict[str, tuple[str, str]]:
    labels = {}
    for line in (HERE / "labels.tsv").open(encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            pair_id, relation, note = (line.rstrip("\n").split("\t") + [""])[:3]
            if relation not in RELATIONS:
                raise ValueError(f"{pair_id}: unknown relation {relation!r}")
            labels[pair_id] = (relation, note)
    return labels


def split_of(pairs: list[dict]) -> dict[str, str]:
    """tune / test by a hash of each connected component of the labelled pairs (its smallest
    article id): no article is in both parts, so a story's pairs never leak across."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for p in pairs:
        ra, rb = find(p["a"]), find(p["b"])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members = collections.defaultdict(list)
    for p in pairs:
        members[find(p["a"])].append(p["pair_id"])
    split = {}
    for root, pair_ids in members.items():
        part = "test" if int(hashlib.sha1(root.encode()).hexdigest(), 16) % 2 else "tune"
        split.update({pid: part for pid in pair_ids})
    return split


def finalize() -> None:
    pairs = [json.loads(line) for line in (HERE / "candidates.jsonl").open(encoding="utf-8")]
    labels = _labels()
    missing = [p["pair_id"] for p in pairs if p["pair_id"] not in labels]
    if missing:
        raise SystemExit(f"{len(missing)} candidate pairs have no label, e.g. {missing[:5]}")
    split = split_of(pairs)
    for p in pairs:
        relation, note = labels[p["pair_id"]]
        p.update(relation=relation, same_story=relation != "different", note=note,
                 split=split[p["pair_id"]])
    _write(HERE / "pairs.jsonl", pairs)
    counts = collections.Counter((p["split"], p["same_story"]) for p in pairs)
    print(f"{len(pairs)} labelled pairs:", dict(sorted(counts.items())))


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    {"candidates": candidates, "finalize": finalize, "candidates2": candidates2,
     "finalize2": finalize2, "candidates3": lambda: candidates2(3),
     "finalize3": lambda: finalize2(3), "candidates4": lambda: candidates2(4),
     "finalize4": lambda: finalize2(4)}[sys.argv[1]]()
