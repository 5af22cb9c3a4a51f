"""Draw the facts gold sample and render each article's text (needs ../shared; not a test).

    .venv/bin/python tests/gold/facts/sample.py list             # the sample, one id a line
    .venv/bin/python tests/gold/facts/sample.py show ID [ID …]   # title + text to annotate
    .venv/bin/python tests/gold/facts/sample.py dump FILE.jsonl  # {id, source, site, …, text}
    .venv/bin/python tests/gold/facts/sample.py --train list     # the same for the train draw
    .venv/bin/python tests/gold/facts/sample.py --test2 list     # the same for the third draw (test2)

The rule (README.md next to this file): every bench page of eb.jsonl is rendered to text; the
pages whose body is 150–3000 characters, not an ebuy_* dev page and not an exact copy of an
earlier page, form the pool. The pool is split into a *project* stratum (the body says 项目 or
工程, and 投资, states a yuan amount, and names a project event or total: 总投资, 开工, 竣工, 投产,
签约, 开建, 动工, 落户) and the rest; within each stratum the pages of every section are ordered
by sha1(SALT + id) and each section gives its proportional share (largest remainders): 70
project pages and 15 others. A page that is a near copy (5-gram containment >= 0.5) of a dev
page or of a page already drawn is passed over. The dev corpus adds every file but the second
and later members of its near-duplicate sets, and 10 of the 20 mh_* pages (the first 10 by the
same hash). The text is the article body only (the title is kept apart): what a scorer matches
quoted strings against.

The train draw (`--train`) is the same rule, run again with TRAIN_SALT on what the first draw
left: the other 10 mh_* pages, then 115 project and 55 other bench pages, where the project
stratum drops the event condition (too few event pages are left for two thirds), passing over
near copies of the first draw, of the seeds and of pages already drawn.

The test2 draw (`--test2`) is the same rule a third time, with TEST2_SALT, on the bench pages
neither earlier draw took (no dev file is left): 64 project pages (the train draw's wider stratum)
and 32 others, passing over near copies of both earlier draws, of the seeds and of pages already
drawn.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import lxml.html

SALT = "newsgate-facts-gold-2024:"
TRAIN_SALT = "newsgate-facts-gold-train-2025:"
TEST2_SALT = "newsgate-facts-gold-test2-2026:"
SHARED = Path(os.environ.get("NEWSGATE_SHARED", Path(__file__).resolve().parents[4] / "shared"))
BENCH = SHARED / "corpus" / "bench" / "eb.jsonl"
DEV = SHARED / "corpus" / "dev"
N_PROJECT, N_OTHER, N_MH = 70, 15, 10
N_TRAIN_PROJECT, N_TRAIN_OTHER = 115, 55
N_TEST2_PROJECT, N_TEST2_OTHER = 64, 32
SEEDS = Path(__file__).resolve().parents[3] / "seeds"
MIN_CHARS, MAX_CHARS = 150, 3000
# Second and later members of dev's near-duplicate sets (SOURCES.md): one copy of a story.
DEV_DUPLICATES = {"gne_12.html", "gerapy_3.html", "sogouca_3.txt", "sinacrawl_2.txt",
                  "sinacrawl_3.txt", "sinacrawl_5.txt"}

_PROJECT = re.compile(r"项目|工程")
_PROJECT_EVENT = re.compile(r"总投资|开工|竣工|投产|签约|开建|动工|落户")
_YUAN = re.compile(r"[0-9０-９][0-9０-９.．]*\s*(?:多|余)?\s*(?:万|亿)\s*(?:多|余)?\s*元|[0-9０-９][0-9０-９.．]*\s*(?:多|余)?亿")
_SPACES = str.maketrans({"\u00a0": " ", "\u3000": " ", "\t": " ", "\u200b": None, "\ufeff": None})
_BLOCKS = {"p", "div", "br", "tr", "li", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
_OUTLET_WORD = re.compile(r"网|报|社|台|刊|杂志|在线|财经|科技|新闻|证券|资讯|IT|周刊")
_SOURCE_LINE = re.compile(r"^[（(]?(?:来源|稿源|文章来源|信息来源)[:：]\s*([^()（）]+?)[)）]?$")


def lines_text(raw: str) -> str:
    """One paragraph a line: whitespace variants folded, lines stripped, empty lines dropped."""
    lines = (line.translate(_SPACES).strip() for line in raw.splitlines())
    return "\n".join(line for line in lines if line)


def _block_text(element) -> str:
    for node in element.iter():
        if isinstance(node.tag, str) and node.tag.lower() in _BLOCKS:
            node.tail = "\n" + (node.tail or "")
    return element.text_content()


def eb_page(html: str) -> dict:
    """Title, date, named outlet and body text of one portal page (both of its templates)."""
    doc = lxml.html.fromstring(html)
    h1 = doc.xpath("//h1")[0]
    container = h1.getparent()
    for junk in container.xpath(".//script|.//style|.//div[@class='source']|.//div[@class='subtitle']"
                                "|.//div[@class='news_sth']|.//h1"):
        junk.drop_tree()
    outlet = None
    byline = re.search(r"(?:发布人|来源)：\s*-?\s*([^<]*?)\s*<", html)
    if byline and _OUTLET_WORD.search(byline.group(1)) and "ebid360" not in byline.group(1):
        outlet = byline.group(1).strip("- ")
    body = lines_text(_block_text(container))
    trailer = _SOURCE_LINE.match(body.splitlines()[-1]) if body else None
    if outlet is None and trailer:
        outlet = trailer.group(1).strip()
    date = re.search(r"发布时间：\s*([0-9-]+)|class=\"date\">([^<]+)<", html)
    return {"title": h1.text_content().strip(), "published": date and (date.group(1) or date.group(2)),
            "outlet": outlet, "text": body}


def _densest_block(html: str) -> str:
    """Text of the smallest element that holds >= 80 % of the page's full stops."""
    doc = lxml.html.fromstring(html)
    total = html.count("。")
    blocks = [el for el in doc.xpath("//*") if el.text_content().count("。") >= 0.8 * total]
    return _block_text(min(blocks, key=lambda el: len(el.text_content())))


def _rank(record_id: str, salt: str = SALT) -> str:
    return hashlib.sha1((salt + record_id).encode()).hexdigest()


def _shingles(text: str) -> set[str]:
    text = re.sub(r"\s", "", text)
    return {text[i:i + 5] for i in range(len(text) - 4)}


def _near_copy(a: set[str], b: set[str]) -> bool:
    return len(a & b) >= 0.5 * min(len(a), len(b))


def _proportional(groups: dict[str, list[str]], total: int, texts: dict[str, str],
                  taken: list[set[str]], salt: str = SALT) -> list[str]:
    """Largest-remainder allocation of `total` over the groups, first ids by hash in each,
    skipping near copies (5-gram containment >= 0.5) of any text already taken."""
    size = sum(len(ids) for ids in groups.values())
    quota = {g: total * len(ids) / size for g, ids in groups.items()}
    take = {g: int(q) for g, q in quota.items()}
    for g in sorted(quota, key=lambda g: (take[g] - quota[g], g))[: total - sum(take.values())]:
        take[g] += 1
    chosen = []
    for g, ids in sorted(groups.items()):
        picked = 0
        for rid in sorted(ids, key=lambda rid: _rank(rid, salt)):
            if picked == take[g]:
                break
            grams = _shingles(texts[rid])
            if not any(_near_copy(grams, other) for other in taken):
                taken.append(grams)
                chosen.append(rid)
                picked += 1
    return chosen


def ebuy_ids() -> set[str]:
    sources = (DEV / "SOURCES.md").read_text(encoding="utf-8")
    return set(re.findall(r"\| ebuy_\d+\.txt \|.*?/([0-9a-f]{32})\.jsp", sources))


def bench_records() -> dict[str, dict]:
    """Every pool page, keyed by its record id."""
    excluded, seen, pool = ebuy_ids(), set(), {}
    for line in BENCH.open(encoding="utf-8"):
        row = json.loads(line)
        page = eb_page(row["html"])
        if row["id"] in excluded or page["text"] in seen or not MIN_CHARS <= len(page["text"]) <= MAX_CHARS:
            continue
        seen.add(page["text"])
        section = row["source"].split("/")[-2]
        pool["eb:" + row["id"]] = {"id": "eb:" + row["id"], "source": "bench/eb.jsonl:" + row["source"],
                                   "collection": "bench", "site": "eb:" + (page["outlet"] or "unnamed"),
                                   "section": section, **page}
    return pool


def stratum(text: str, events: bool = True) -> str:
    """`project` when the text speaks of a project's investment in yuan (and, with `events`, of
    a project event or total), else `other`."""
    return "project" if (_PROJECT.search(text) and "投资" in text and _YUAN.search(text)
                and (not events or _PROJECT_EVENT.search(text))) else "other"


def dev_record(path: Path) -> dict:
    family = path.stem.split("_")[0]
    raw = path.read_text(encoding="utf-8")
    title, published, outlet = None, None, None
    if family == "mh":  # the magic-html benchmark's human-checked main text
        text = lines_text((DEV / "_gold" / f"{path.stem}.txt").read_text(encoding="utf-8"))
        title = " ".join(lxml.html.fromstring(raw).findtext(".//title").split())
    elif family == "gne" and (DEV / "_gold" / f"{path.stem}.json").exists():
        ref = json.loads((DEV / "_gold" / f"{path.stem}.json").read_text(encoding="utf-8"))
        title, published, text = ref["title"], ref["publish_time"], lines_text(ref["content"])
    elif path.suffix == ".html":
        import trafilatura
        meta = trafilatura.bare_extraction(raw, include_comments=False, include_tables=True,
                                           favor_recall=True, with_metadata=True)
        title, published, text = meta.title, meta.date, lines_text(meta.text or "")
        if "。" not in text:  # trafilatura kept only the page's furniture
            text = lines_text(_densest_block(raw))
    else:
        if family == "sinacrawl":  # crawler output: the article, then the page's ad script
            raw = raw.split("(function(){")[0]
        lines = lines_text(raw).splitlines()
        title, body = lines[0], lines[1:]
        if family == "ebuy" and body and body[0].startswith("发布时间："):
            published, body = body[0].removeprefix("发布时间："), body[1:]
        text = "\n".join(body)
    return {"id": "dev:" + path.name, "source": "dev/" + path.name, "collection": "dev", "site": family,
            "section": None, "title": title, "published": published, "outlet": outlet, "text": text}


def _dev_files() -> tuple[list[Path], list[Path]]:
    """(the first draw's dev files, the mh_* pages it left)."""
    files = sorted(p for p in DEV.iterdir() if p.is_file() and p.suffix in (".txt", ".html")
                   and p.name not in DEV_DUPLICATES)
    mh = sorted((p for p in files if p.name.startswith("mh_")), key=lambda p: _rank("dev:" + p.name))
    return [p for p in files if not p.name.startswith("mh_")] + mh[:N_MH], mh[N_MH:]


def dev_records(files: list[Path], events: bool = True) -> dict[str, dict]:
    return {r["id"]: {**r, "stratum": stratum(r["text"], events)} for r in map(dev_record, files)}


def _draw_bench(records: dict[str, dict], pool: dict[str, dict], counts: dict[str, int],
                taken: list[set[str]], salt: str, events: bool) -> dict[str, dict]:
    """Add each stratum's count of pool pages to `records` (proportional over sections)."""
    texts = {rid: rec["text"] for rid, rec in pool.items()}
    strata: dict[str, dict[str, list[str]]] = {"project": defaultdict(list), "other": defaultdict(list)}
    for rid, rec in pool.items():
        strata[stratum(rec["text"], events)][rec["section"]].append(rid)
    for name, n in counts.items():
        for rid in _proportional(strata[name], n, texts, taken, salt):
            records[rid] = {**pool[rid], "stratum": name}
    return records


def sample(pool: dict[str, dict] | None = None) -> dict[str, dict]:
    """The first draw (tune and test)."""
    records = dev_records(_dev_files()[0])
    pool = bench_records() if pool is None else pool
    taken = [_shingles(rec["text"]) for rec in records.values()]
    return _draw_bench(records, pool, {"project": N_PROJECT, "other": N_OTHER}, taken, SALT, True)


def _seed_shingles() -> list[set[str]]:
    return [_shingles(lines_text(p.read_text(encoding="utf-8"))) for p in sorted(SEEDS.glob("*.txt"))]


def train_sample(pool: dict[str, dict] | None = None) -> dict[str, dict]:
    """The train draw: disjoint from the first draw and the seeds, and from their near copies."""
    pool = bench_records() if pool is None else pool
    first = sample(pool)
    taken = [_shingles(rec["text"]) for rec in first.values()] + _seed_shingles()
    records = {}
    for rid, rec in dev_records(_dev_files()[1], events=False).items():
        grams = _shingles(rec["text"])
        if not any(_near_copy(grams, other) for other in taken):
            taken.append(grams)
            records[rid] = rec
    rest = {rid: rec for rid, rec in pool.items() if rid not in first}
    return _draw_bench(records, rest, {"project": N_TRAIN_PROJECT, "other": N_TRAIN_OTHER},
                       taken, TRAIN_SALT, False)


def test2_sample() -> dict[str, dict]:
    """The third draw (test2): bench pages that neither earlier draw took (no dev file is left),
    with the train draw's wider project stratum, passing over near copies of every earlier
    draw, of the seeds and of pages already drawn."""
    pool = bench_records()
    earlier = {**sample(pool), **train_sample(pool)}
    taken = [_shingles(rec["text"]) for rec in earlier.values()] + _seed_shingles()
    rest = {rid: rec for rid, rec in pool.items() if rid not in earlier}
    return _draw_bench({}, rest, {"project": N_TEST2_PROJECT, "other": N_TEST2_OTHER},
                       taken, TEST2_SALT, False)


DRAWS = {"--train": train_sample, "--test2": test2_sample}


def main(argv: list[str]) -> None:
    draw = next((DRAWS[arg] for arg in argv if arg in DRAWS), sample)
    argv = [arg for arg in argv if arg not in DRAWS]
    records = draw()
    if argv[0] == "list":
        for rid, rec in records.items():
            print(rid, rec["stratum"], rec["site"], rec["section"], len(rec["text"]), rec["title"], sep="\t")
        print(Counter(r["stratum"] for r in records.values()), file=sys.stderr)
    elif argv[0] == "show":
        for rid in argv[1:]:
            rec = records[rid]
            print(f"### {rid}  [{rec['site']}] {rec['title']}\n{rec['text']}\n")
    elif argv[0] == "dump":
        with open(argv[1], "w", encoding="utf-8") as out:
            for rec in records.values():
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
