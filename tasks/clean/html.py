"""Main text and metadata of an HTML page: trafilatura finds the content, we render it to lines.

trafilatura's own text output glues the paragraphs of a table cell into one line ('| p1 p2 |'),
so the extracted element tree is rendered here with one line per block element. Extraction runs
in attempts, cheapest first, until one yields enough prose (see ENOUGH_PROSE); a last fallback
keeps the <p>/<h*> texts of the page so malformed or truncated HTML still yields text. The title
is chosen among trafilatura's, the <h1>s and <title> by how much the article's opening uses it.

For the metadata the page is also read as a whole (`read_page`): its meta tags (and JSON-LD
datePublished), its URL (given, else canonical / og:url) and the visible lines under the
headline (`header_lines`), where pages print their stamp and byline ('2019-09-26 12:11来源：
证券时报网作者：李在山'), which trafilatura leaves out of the main text. metadata.py reads them.
"""
from __future__ import annotations

import copy
import html as html_lib
import json
import re
import string
from dataclasses import dataclass, field

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.utils import load_html

from .metadata import parse_datetime

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
# number in the text (a '2024年' in the body became 2024-01-01). With the time, where stated.
DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d %H:%M:%S"}
# Settings measured on the dev pages with human gold (benchmarks/clean_quality.py, docs/CLEANING.md).
# Containers that hold other articles, comments or page furniture (readability's "unlikely
# candidates", plus the pinyin names Chinese CMSs use) are pruned before extraction.
# ('share' is not in the list: gne_2 wraps its article in 'js_img_share_area'.)
PRUNED_CONTAINER_WORDS = ("related", "recommend", "morestories", "more-stories", "comment", "sidebar",
                          "footer", "hotnews", "hot-news", "tuijian", "xiangguan")
# Case is folded as XPath's translate() would: ASCII letters only.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# A result with at least this much prose (lines of >= 20 characters with a full stop) is
# accepted from the cheap attempt; otherwise (a pruned-away article, a page the fast path
# misreads, a list of links) the full extractor runs, then once more without pruning, and the
# attempt with the most prose wins.
ENOUGH_PROSE = 200
PROSE_LINE_MIN = 20
_PROSE_STOP = re.compile(r"。")  # headlines end with ！？ too, prose has full stops
EXTRACT_OPTIONS = {"include_comments": False, "include_tables": True, "favor_precision": False}
# Never rendered: code, and markup hidden from readers (e.g. a display:none block for search
# spiders whose '作者：' names the editor).
SKIPPED_TAGS = {"script", "style", "noscript", "template", "select", "option", "title"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# A page's stamp and byline sit within this many lines under its headline, before the text;
# its closing credits ('责任编辑：…', '[作者: … ]') within this many after the text (share
# buttons, counters and 'like' widgets come between).
HEADER_LINES = 10
FOOTER_LINES = 12


@dataclass
class HtmlMain:
    lines: list[str]
    title: str | None = None
    date: str | None = None          # htmldate's find: 'YYYY-MM-DD HH:MM:SS'
    sitename: str | None = None
    warnings: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)      # visible lines under the headline
    page_lines: list[str] = field(default_factory=list)  # every visible line (footer_lines reads them)
    meta: dict[str, str] = field(default_factory=dict)   # meta tag name -> content (lower-cased, no spaces)
    url: str | None = None


@dataclass
class PageView:
    """What the whole page says besides its main text."""
    lines: list[str] = field(default_factory=list)  # visible text lines of <body>
    meta: dict[str, str] = field(default_factory=dict)
    url: str | None = None


def pruned_containers(root) -> list:
    """The elements whose id or class names a container of other content (PRUNED_CONTAINER_WORDS),
    in document order. A Python walk: the same test as an XPath `translate(concat(@id,' ',@class))`
    per word, which cost a fifth of trafilatura's time."""
    found = []
    for el in root.iter(etree.Element):
        names = el.get("id"), el.get("class")
        if names != (None, None):
            folded = f"{names[0] or ''} {names[1] or ''}".translate(_ASCII_LOWER)
            if any(word in folded for word in PRUNED_CONTAINER_WORDS):
                found.append(el)
    return found


def _attempts(root) -> list[tuple[object, dict]]:
    """(tree, options) per attempt: the pruned tree fast, then in full, then the unpruned tree in
    full. trafilatura copies a tree it is given, so the trees are shared by the attempts."""
    pruned = prune_unwanted_nodes(copy.deepcopy(root), [pruned_containers])
    return [(pruned, dict(EXTRACT_OPTIONS, fast=True)), (pruned, dict(EXTRACT_OPTIONS, fast=False)),
            (root, dict(EXTRACT_OPTIONS, fast=False))]


def prose(lines: list[str]) -> int:
    """Characters in sentence-like lines: what an article has and a link list lacks."""
    return sum(len(line) for line in lines if len(line) >= PROSE_LINE_MIN and _PROSE_STOP.search(line))


def _hidden(el) -> bool:
    return not isinstance(el.tag, str) or el.tag in SKIPPED_TAGS or "hidden" in el.attrib \
        or bool(_HIDDEN_STYLE.search(el.get("style", "")))


def render_lines(root) -> list[str]:
    """One line per block element of a tree (an extracted one, or a page's <body>); whitespace
    inside a block collapsed; comments, code and hidden elements left out."""
    parts: list[str] = []

    def walk(el) -> None:
        if _hidden(el):
            if el.tail:
                parts.append(el.tail)
            return
        tag = el.tag
        if tag in BLOCK_TAGS or tag == "lb":
            parts.append(BREAK)
        if el.text:
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


def _json_ld_published(root) -> str | None:
    """datePublished of the page's JSON-LD, wherever it is nested."""
    def find(node):
        if isinstance(node, dict):
            if isinstance(node.get("datePublished"), str):
                return node["datePublished"]
            node = list(node.values())
        if isinstance(node, list):
            return next((found for found in map(find, node) if found), None)
        return None

    for script in root.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            try:
                found = find(json.loads(script.text))
            except ValueError:
                continue
            if found:
                return found
    return None


def parse_page(page: str):
    """The page's lxml tree, or None where lxml cannot parse it."""
    try:
        return load_html(page)
    except Exception:  # lxml refuses some inputs; the main-text path reports those
        return None


def read_page(page: str, url: str | None = None) -> PageView:
    """The page's visible body lines, meta tags and URL; an empty view when lxml cannot parse it."""
    return view_page(parse_page(page), url)


def view_page(root, url: str | None = None) -> PageView:
    if root is None:
        return PageView(url=url)
    meta: dict[str, str] = {}
    for tag in root.iter("meta"):
        key = tag.get("name") or tag.get("property") or tag.get("itemprop") or tag.get("http-equiv")
        if key and tag.get("content"):
            meta.setdefault(re.sub(r"\s+", "", key).lower(), tag.get("content").strip())
    published = _json_ld_published(root)
    if published:
        meta.setdefault("datepublished", published)
    canonical = next((link.get("href") for link in root.iter("link")
                      if (link.get("rel") or "").lower() == "canonical" and link.get("href")), None)
    body = next(root.iter("body"), root)  # a page fragment (a JSP template) has no <body>
    return PageView(render_lines(body), meta, url or canonical or meta.get("og:url"))


def header_lines(lines: list[str], titles: list[str], text_lines: list[str] = ()) -> list[str]:
    """The lines under the page's headline, up to its first prose line: the first occurrence
    of a title (or <h1>) followed by a date, else the first occurrence; on a page whose title
    is nowhere in its text, the lines right above the article's first prose line."""
    keys = [re.sub(r"\s+|(?:\.\.\.|…)+$", "", t) for t in titles if t]
    keys = [k for k in keys if len(k) >= 4]
    windows = []
    for i, line in enumerate(lines):
        flat = re.sub(r"\s+", "", line)
        if not any(k == flat or (k in flat and len(flat) <= len(k) + 12)
                   or (flat in k and len(flat) >= max(8, 0.6 * len(k))) for k in keys):
            continue
        window = []
        for nxt in lines[i + 1: i + 1 + HEADER_LINES]:
            if prose([nxt]):
                break
            window.append(nxt)
        if any(parse_datetime(w) for w in window):
            return window
        windows.append(window)
    if windows:
        return windows[0]
    first = next((line for line in text_lines if prose([line])), None)
    key = re.sub(r"\s+", "", first)[:20] if first else None
    at = next((i for i, line in enumerate(lines) if key and key in re.sub(r"\s+", "", line)), None)
    return lines[max(0, at - HEADER_LINES // 2): at] if at else []


def footer_lines(lines: list[str], text_lines: list[str]) -> list[str]:
    """The page lines after the article's last prose line (where the page has it)."""
    last = next((line for line in reversed(text_lines) if prose([line])), None)
    if last is None:
        return []
    key = re.sub(r"\s+", "", last)[:20]
    at = next((i for i in range(len(lines) - 1, -1, -1) if key in re.sub(r"\s+", "", lines[i])), None)
    return [] if at is None else lines[at + 1: at + 1 + FOOTER_LINES]


def extract_main(page: str, url: str | None = None) -> HtmlMain:
    warnings = []
    if "</html" not in page[-2000:].lower():
        warnings.append("truncated html")
    root = parse_page(page)
    # The metadata is the page's, whatever the attempt: read once (trafilatura would per attempt).
    metadata, doc, best = None, None, []
    if root is not None:
        try:
            metadata = trafilatura.extract_metadata(root, url or None, DATE_PARAMS)
        except Exception as exc:  # trafilatura/lxml on broken markup
            warnings.append(f"trafilatura failed: {type(exc).__name__}")
    for tree, options in _attempts(root) if metadata is not None else ():
        try:
            attempt = trafilatura.bare_extraction(tree, url=url or None, **options)
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
    view = view_page(root, url)
    if doc is None:
        return HtmlMain(lines, warnings=warnings, meta=view.meta, url=view.url, page_lines=view.lines,
                        header=header_lines(view.lines, _title_candidates(page, None), lines))
    title = choose_title(page, metadata.title, lines)
    header = header_lines(view.lines, [title] + _title_candidates(page, metadata.title), lines)
    return HtmlMain(lines, title, metadata.date, metadata.sitename, warnings, header, view.lines,
                    view.meta, view.url)
