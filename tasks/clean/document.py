"""Clean one document: classify its lines, segment the page, repair the layout, fill metadata."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from . import metadata as md
from .captions import caption_indexes, page_has_photos
from .html import HtmlMain, extract_main, footer_lines, prose
from .layout import Paragraph, looks_like_heading, repair_joins
from .rules import match_rule
from .segment import ArticleDraft, Byline, Jump, split_page
from .text import normalize_line

_SUBTITLE_DASH = re.compile(r"——|^[—－-]")
BYLINE_RULES = {"byline", "byline_paren", "byline_names"}
# On a web page, what follows a disclaimer/editor/related-list line late in the main text is
# page furniture (reader menus, comment boxes, more links), not article text: after 60 % of the
# text whatever follows, after 30 % when what follows is mostly not prose (lists of headlines).
TRAILER_RULES = {"disclaimer", "copyright", "related_list", "comment_widget", "editor_line"}
TRAILER_LATE_SHARE = 0.6
TRAILER_EARLY_SHARE = 0.3
TRAILER_MAX_PROSE = 0.5


@dataclass
class SourceDoc:
    """A document reduced to numbered lines plus what its container says about it."""
    doc_id: str
    source: str
    fmt: str
    lines: list[tuple[int, str]]
    title_hint: str | None = None
    published_hint: str | None = None
    html: HtmlMain | None = None
    group: str = ""
    url: str | None = None


@dataclass
class DocResult:
    articles: list[dict] = field(default_factory=list)
    removals: list[dict] = field(default_factory=list)


def prepare(doc_id: str, source: str, fmt: str, text: str, title_hint=None, published_hint=None,
            url=None) -> SourceDoc:
    """Text documents keep their own lines; HTML is reduced to its extracted main text."""
    if fmt == "html":
        main = extract_main(text, url)
        lines = list(enumerate(main.lines, start=1))
        return SourceDoc(doc_id, source, fmt, lines, title_hint or main.title, published_hint, main,
                         url=main.url)
    return SourceDoc(doc_id, source, fmt, list(enumerate(text.split("\n"), start=1)),
                     title_hint, published_hint, url=url)


class _Removals:
    def __init__(self, doc_id: str):
        self.doc_id, self.rows = doc_id, []

    def add(self, rule: str, text: str, line_no: int) -> None:
        self.rows.append({"doc_id": self.doc_id, "rule": rule, "text": text, "line_no": line_no})


def clean_document(doc: SourceDoc, template_lines: frozenset[str] = frozenset()) -> DocResult:
    removed = _Removals(doc.doc_id)
    page = md.Credits()
    credit_lines: list[str] = []
    captions: list[tuple[int, str]] = []
    entries: list = []  # (line_no, text) content lines, Byline, Jump — in page order
    trailers: list[int] = []

    for line_no, raw in doc.lines:
        line = normalize_line(raw)
        if not line:
            continue
        hit = match_rule(line)
        if hit:
            rule, match = hit
            removed.add(rule.id, line, line_no)
            if rule.id in TRAILER_RULES:
                trailers.append(line_no)
            credits = md.credits_from_rule(rule.id, match, line)
            if rule.id in BYLINE_RULES:
                entries.append(Byline(credits, line_no))
            elif rule.id == "continuation_marker":
                entries.append(Jump(line_no))
            else:
                page.merge(credits)
                if rule.id == "page_credit":
                    credit_lines.append(line)
                if rule.id == "photo_caption":
                    captions.append((line_no, line))
            continue
        if line in template_lines:
            removed.add("repeated_line", line, line_no)
            continue
        entries.append((line_no, line))

    entries = _lone_byline(entries, removed)
    if doc.fmt == "html":
        entries = _cut_trailer(entries, trailers, removed)
    entries = _take_captions(entries, credit_lines, captions, removed)
    items = _paragraph_items(entries)
    drafts = split_page(items)
    return DocResult(_articles(doc, drafts, page, captions, removed), removed.rows)


LONE_BYLINE_WITHIN = 2  # a writer's name alone on a line, among the first content lines


def _lone_byline(entries, removed):
    """A line holding only a person's name near the top is the writer's byline ('刘霞' under
    the headline of a reprinted story): it becomes an author, not a paragraph."""
    content = [i for i, e in enumerate(entries) if isinstance(e, tuple)][:LONE_BYLINE_WITHIN]
    for i in content:
        line_no, text = entries[i]
        if md.looks_like_person(text):
            removed.add("byline_name", text, line_no)
            entries[i] = Byline(md.Credits(authors=[text]), line_no)
    return entries


def _cut_trailer(entries, trailers, removed):
    """Drop page furniture after the first trailer line that ends the article (see TRAILER_*)."""
    content = [e for e in entries if isinstance(e, tuple)]
    total = sum(len(text) for _, text in content)
    for trailer in trailers:
        before = sum(len(text) for line_no, text in content if line_no < trailer)
        after = [text for line_no, text in content if line_no > trailer]
        mostly_lists = prose(after) < TRAILER_MAX_PROSE * sum(map(len, after))
        if total and (before >= TRAILER_LATE_SHARE * total
                      or (before >= TRAILER_EARLY_SHARE * total and mostly_lists)):
            for line_no, text in content:
                if line_no > trailer:
                    removed.add("after_trailer", text, line_no)
            return [e for e in entries if not (isinstance(e, tuple) and e[0] > trailer)]
    return entries


def _take_captions(entries, credit_lines, captions, removed):
    if not page_has_photos(credit_lines):
        return entries
    content = [(i, e) for i, e in enumerate(entries) if isinstance(e, tuple)]
    found = caption_indexes([text for _, (_, text) in content])
    drop = set()
    for k in sorted(found):
        index, (line_no, text) = content[k]
        removed.add("photo_caption", text, line_no)
        captions.append((line_no, text))
        drop.add(index)
    return [e for i, e in enumerate(entries) if i not in drop]


def _paragraph_items(entries) -> list:
    texts = [e for e in entries if isinstance(e, tuple)]
    following = {id(cur): nxt[1] for cur, nxt in zip(texts, texts[1:])}
    items = []
    for e in entries:
        if isinstance(e, tuple):
            line_no, text = e
            items.append(Paragraph(text, [line_no], looks_like_heading(text, following.get(id(e)))))
        else:
            items.append(e)
    return items


def _first_line(draft: ArticleDraft) -> int:
    return min(p.line_nos[0] for p in draft.headings + draft.reading_order())


def _articles(doc: SourceDoc, drafts: list[ArticleDraft], page: md.Credits,
              captions: list[tuple[int, str]], removed: _Removals) -> list[dict]:
    drafts = [d for d in drafts if d.headings or d.reading_order()]
    starts = [_first_line(d) for d in drafts]
    parts = []
    for k, draft in enumerate(drafts):
        if not any(not p.heading for p in draft.reading_order()):
            for heading in draft.headings + draft.reading_order():  # a headline with no article
                removed.add("heading_without_body", heading.text, heading.line_nos[0])
            continue
        title, subtitle = _titles(doc, draft, removed, bool(doc.title_hint) and len(drafts) == 1, first=k == 0)
        paragraphs = repair_joins(draft.reading_order())
        body = "\n".join(p.text for p in paragraphs)
        if not body:
            continue
        own = [text for line_no, text in sorted(captions)
               if k == max((i for i, s in enumerate(starts) if s <= line_no), default=0)]
        parts.append((draft, title, subtitle, body, own))
    # A web page's header (stamp, source, byline under the headline) dates and sources all its
    # articles, its names belong to the first; its closing credits belong to the last.
    main = doc.html
    header = md.parse_header(main.header) if main else md.Credits()
    page_header = md.Credits(outlet=header.outlet, source=header.source, date=header.date)
    rows = []
    for k, (draft, title, subtitle, body, own) in enumerate(parts):
        footer = (md.parse_footer(footer_lines(main.page_lines, body.split("\n")))
                  if main and k == len(parts) - 1 else md.Credits())
        rows.append(_row(doc, draft, page, title, subtitle, body, own,
                         header if k == 0 else page_header, footer))
    if len(rows) > 1:  # a page's articles share its outlet when one of them lacks a byline
        outlet = md.most_common([r["outlet"] for r in rows])
        for r in rows:
            r["outlet"] = r["outlet"] or outlet
    for seq, r in enumerate(rows):
        r["seq"], r["article_id"] = seq, f"{doc.doc_id}-{seq}"
    return rows


def _titles(doc: SourceDoc, draft: ArticleDraft, removed: _Removals,
            use_hint: bool, first: bool) -> tuple[str | None, str | None]:
    """Title/subtitle of an article.

    With a title from the container (HTML <title>, JSONL title) the leading heading that repeats
    it is dropped from the body and any other leading heading stays body text. Otherwise the
    article's leading heading lines are its title and subtitle (a page's first, headline-less
    article takes the container's title)."""
    headings = draft.headings
    if use_hint:
        lead = headings or draft.paragraphs[:1]
        title = doc.title_hint
        if lead and _same_title(lead[0].text, doc.title_hint, exact_only=not lead[0].heading):
            removed.add("title", lead[0].text, lead[0].line_nos[0])
            title = lead[0].text  # the page's own headline, without <title> decorations
            if headings:
                headings.pop(0)
            else:
                draft.paragraphs.pop(0)
        draft.paragraphs[:0] = headings
        draft.headings = []
        return title, None
    if not headings:  # the page's own title belongs to its first, headline-less article
        return (doc.title_hint if first else None), None
    title = headings[0]
    removed.add("title", title.text, title.line_nos[0])
    subtitle = None
    rest = headings[1:]
    if rest and _SUBTITLE_DASH.search(rest[0].text):  # '——…' marks a subtitle (副题)
        subtitle = rest.pop(0).text
        removed.add("subtitle", subtitle, headings[1].line_nos[0])
    draft.paragraphs[:0] = rest  # other stacked headings stay body sub-headings
    return title.text, subtitle


def _same_title(line: str, hint: str, exact_only: bool = False) -> bool:
    """The line repeats the title: equal, or the title with/without a short site decoration."""
    a, b = line.replace(" ", ""), hint.replace(" ", "")
    if a == b or exact_only or len(a) < 6:
        return a == b
    return a in b or (b in a and len(a) <= len(b) + 12)


def _row(doc, draft, page, title, subtitle, body, captions, header: md.Credits, footer: md.Credits) -> dict:
    credits = md.Credits()
    credits.merge(draft.credits)
    dateline = md.parse_dateline(body)
    if dateline:
        credits.merge(md.Credits(reporters=dateline.reporters))
    credits.merge(md.closing_credits(body))
    credits.fill_from(page)
    stamp = credits.date  # a stamp or byline line of the text itself
    main = doc.html
    credits.merge(header)  # a web page's own byline and closing credits add to the text's
    credits.merge(footer)
    outlets = [header.source, credits.source, dateline.outlet if dateline else None, md.bracket_outlet(body),
               credits.outlet,
               md.named_outlet(main.sitename) if main and main.sitename else None]
    published = md.choose_published([
        header.date, *(md.meta_dates(main.meta) if main else []), stamp, footer.date,
        md.htmldate_stated(main.date) if main else None, md.stated(doc.published_hint, "meta"),
        md.url_date(doc.url)], latest=date.today(), fallback=lambda: md.body_dates(dateline, body))
    return {
        "article_id": None, "doc_id": doc.doc_id, "seq": None,
        "title": title, "subtitle": subtitle,
        "outlet": next((o for o in outlets if o and not md.looks_like_person(o)), None),
        "published_date": published.date if published else None,
        "published_time": published.time if published else None,
        "date_source": published.source if published else None,
        "dateline_place": dateline.place if dateline else None,
        "authors": credits.writers(), "reporters": credits.reporters, "editors": credits.editors,
        "photographers": credits.photographers,
        "body": body, "n_chars": len(body), "captions": captions, "source": doc.source,
        "warnings": list(main.warnings) if main else [],
    }
