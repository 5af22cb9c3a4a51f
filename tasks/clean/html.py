"""Main text and metadata of an HTML page: trafilatura finds the content, we render it to lines.

trafilatura's own text output glues the paragraphs of a table cell into one line ('| p1 p2 |'),
so the extracted element tree is rendered here with one line per block element. Extraction runs
in attempts, cheapest first, until one yields enough prose (see ENOUGH_PROSE); a last fallback
keeps the <p>/<h*> texts of the page so malformed or truncated HTML still yields text. The title
is chosen among trafilatura's, the <h1>s and <title> by how much the article's opening uses it.
"""
from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field

import trafilatura
from lxml import html as lxml_html

from .metadata import iso_date

BLOCK_TAGS = {"p", "head", "item", "cell", "row", "quote", "list", "table", "code", "div",
              "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "tr", "br", "blockquote"}
_SPACE_RUN = re.compile(r"[ \t\r\n\u00a0\u3000]+")
# '…_中山网', '… - 新华网', '…-新华网', '…｜金融改革｜黄益平_新浪财经_新浪网': one trailing segment.
_SITE_SUFFIX = re.compile(r"\s*(?:[_|｜]+|\s[-–—]+\s|[-–—]{1,2}(?=[^-–—]{1,15}(?:网|报|新闻|频道|网站|订阅|在线)$))"
                          r"[^_|｜]{1,20}$")
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)
_H1_TAG = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_BIGRAM = re.compile(r"(?=(\w\w))")
BREAK = "\x00"
# Only dates the page states in its markup/metadata: the extensive search guesses from any
# number in the text (a '2024年' in the body became 2024-01-01).
DATE_PARAMS = {"extensive_search": False, "original_date": True}
# Settings measured on the dev pages with human gold (benchmarks/clean_quality.py, docs/CLEANING.md).
# Containers that hold other articles, comments or page furniture (readability's "unlikely
# candidates", plus the pinyin names Chinese CMSs use) are pruned before extraction.
# ('share' is not in the list: gne_2 wraps its article in 'js_img_share_area'.)
PRUNED_CONTAINER_WORDS = ("related", "recommend", "morestories", "more-stories", "comment", "sidebar",
                          "footer", "hotnews", "hot-news", "tuijian", "xiangguan")
_LOWER_ID_CLASS = "translate(concat(@id,' ',@class),'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')"
PRUNE_XPATH = "//*[" + " or ".join(f"contains({_LOWER_ID_CLASS},'{w}')" for w in PRUNED_CONTAINER_WORDS) + "]"
# A result with at least this much prose (lines of >= 20 characters with a full stop) is
# accepted from the cheap attempt; otherwise (a pruned-away article, a page the fast path
# misreads, a list of links) the full extractor runs, then once more without pruning, and the
# attempt with the most prose wins.
ENOUGH_PROSE = 200
PROSE_LINE_MIN = 20
_PROSE_STOP = re.compile(r"。")  # headlines end with ！？ too, prose has full stops
EXTRACT_OPTIONS = {"include_comments": False, "include_tables": True, "favor_precision": False,
                   "prune_xpath": PRUNE_XPATH}


@dataclass
class HtmlMain:
    lines: list[str]
    title: str | None = None
    date: str | None = None
    author: str | None = None
    sitename: str | None = None
    warnings: list[str] = field(default_factory=list)


def _attempts() -> list[dict]:
    unpruned = {k: v for k, v in EXTRACT_OPTIONS.items() if k != "prune_xpath"}
    return [dict(EXTRACT_OPTIONS, fast=True), dict(EXTRACT_OPTIONS, fast=False), dict(unpruned, fast=False)]


def prose(lines: list[str]) -> int:
    """Characters in sentence-like lines: what an article has and a link list lacks."""
    return sum(len(line) for line in lines if len(line) >= PROSE_LINE_MIN and _PROSE_STOP.search(line))


def render_lines(root) -> list[str]:
    """One line per block element of an extracted tree; whitespace inside a block collapsed."""
    parts: list[str] = []

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in BLOCK_TAGS or tag == "lb":
            parts.append(BREAK)
        if el.text and tag not in ("script", "style"):
            parts.append(el.text)
        for child in el:
            walk(child)
        if tag in BLOCK_TAGS:
            parts.append(BREAK)
        if el.tail:
            parts.append(el.tail)

    walk(root)
    text = _SPACE_RUN.sub(" ", "".join(parts))
    return [line.strip() for line in text.split(BREAK) if line.strip()]


def _fallback_lines(page: str) -> list[str]:
    try:
        root = lxml_html.fromstring(page)
    except Exception:  # lxml refuses empty or binary-looking input
        return []
    blocks = root.xpath("//h1|//h2|//h3|//p")
    return [t for t in (_SPACE_RUN.sub(" ", b.text_content()).strip() for b in blocks) if t]


def clean_title(title: str | None) -> str | None:
    """Page <title> without trailing site/section names ('…_新闻频道_中国青年网', '…-新华网')."""
    if not title:
        return None
    title = _SPACE_RUN.sub(" ", title).strip()
    while True:
        trimmed = _SITE_SUFFIX.sub("", title)
        if trimmed == title or len(trimmed) < 6:
            return title or None
        title = trimmed


def _title_candidates(page: str, extracted: str | None) -> list[str]:
    """trafilatura's title, every <h1>, the <title> tag: cleaned, in order of preference."""
    found = [extracted] + [_TAG.sub("", h) for h in _H1_TAG.findall(page)[:5]]
    tag = _TITLE_TAG.search(page)
    if tag:
        found.append(tag.group(1))
    cleaned = [clean_title(html_lib.unescape(t)) for t in found if t]
    return [t for t in dict.fromkeys(cleaned) if t and len(t) >= 4]


def choose_title(page: str, extracted: str | None, lines: list[str]) -> str | None:
    """The candidate whose words the article's opening text uses most (site banners use none)."""
    candidates = _title_candidates(page, extracted)
    if not candidates:
        return None
    opening = set(_BIGRAM.findall("".join(lines)[:600]))

    def support(title: str) -> float:
        grams = set(_BIGRAM.findall(title))
        return len(grams & opening) / len(grams) if grams else 0.0

    return max(candidates, key=support)


def extract_main(page: str, url: str | None = None) -> HtmlMain:
    warnings = []
    if "</html" not in page[-2000:].lower():
        warnings.append("truncated html")
    doc, best = None, []
    for options in _attempts():
        try:
            attempt = trafilatura.bare_extraction(page, url=url or None, with_metadata=True,
                                                  date_extraction_params=DATE_PARAMS, **options)
        except Exception as exc:  # trafilatura/lxml on broken markup
            warnings.append(f"trafilatura failed: {type(exc).__name__}")
            continue
        lines = render_lines(attempt.body) if attempt is not None and attempt.body is not None else []
        if doc is None or (prose(lines), len(lines)) > (prose(best), len(best)):
            doc, best = attempt, lines
        if prose(best) >= ENOUGH_PROSE:
            break
    lines = best
    if not lines:
        lines = _fallback_lines(page)
        if lines:
            warnings.append("fallback extractor")
    if doc is None:
        return HtmlMain(lines, warnings=warnings)
    return HtmlMain(lines, choose_title(page, doc.title, lines), iso_date(doc.date), doc.author,
                    doc.sitename, warnings)
