"""Page segmentation: split a printed page holding several articles into articles in reading order.

A page is read top-down as headings, body paragraphs and bylines:
- a byline at the end of a headlined article ('/吉林日报记者 X 报道' after >= 2 body paragraphs)
  closes it, and so does a jump line ('(下转A04版)'); a byline under the headline or after a
  lead paragraph does not (web pages often set '本报记者 X' there), nor do page credits;
- a heading starts a new article when no article is open (start of page, or after a close), or
  when a byline follows it directly (headline + '本报记者 X' opens the next article); other
  headings are sub-headings and stay in the body;
- body paragraphs met while no article is open are *orphans*: on newspaper pages the lead of an
  article is often set in the column before its headline. Each orphan goes to the later article it
  shares the most distinctive names/terms with (bigrams that occur in only one candidate), with a
  bonus when an unfinished orphan is continued by that article's first paragraph. Orphans open
  their article, in page order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .layout import Paragraph, bigrams, continuation_score
from .metadata import Credits
from .text import ends_sentence


MIN_PARAGRAPHS_BEFORE_CLOSING_BYLINE = 2


@dataclass
class Byline:
    credits: Credits
    line_no: int


@dataclass
class Jump:
    line_no: int


@dataclass
class ArticleDraft:
    start: int  # item index where the article's own material starts
    headings: list[Paragraph] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    orphans: list[Paragraph] = field(default_factory=list)
    credits: Credits = field(default_factory=Credits)
    closed: bool = False

    @property
    def has_body(self) -> bool:
        return any(not p.heading for p in self.paragraphs)

    def ends_at_byline(self) -> bool:
        """A byline ends this article: it has a headline and its body is already under way."""
        n_body = sum(1 for p in self.paragraphs if not p.heading)
        return bool(self.headings) and n_body >= MIN_PARAGRAPHS_BEFORE_CLOSING_BYLINE

    def reading_order(self) -> list[Paragraph]:
        return self.orphans + self.paragraphs

    def text(self) -> str:
        return "".join(p.text for p in self.headings + self.paragraphs)


def split_page(items: list) -> list[ArticleDraft]:
    """items: Paragraph | Byline | Jump in page order -> article drafts with orphans placed."""
    drafts: list[ArticleDraft] = []
    orphans: list[tuple[int, Paragraph]] = []
    current: ArticleDraft | None = None
    for pos, item in enumerate(items):
        if isinstance(item, (Byline, Jump)):
            if current is None:
                current = ArticleDraft(pos)
                drafts.append(current)
            if isinstance(item, Byline):
                current.credits.merge(item.credits)
                current.closed = current.closed or current.ends_at_byline()
            elif current.has_body:  # a jump line ends the page's part of the article
                current.closed = True
            continue
        opens_article = isinstance(items[pos + 1] if pos + 1 < len(items) else None, Byline)
        if item.heading and (current is None or current.closed or (opens_article and current.has_body)):
            current = ArticleDraft(pos, headings=[item])
            drafts.append(current)
        elif item.heading and not current.paragraphs and current.headings:
            current.headings.append(item)  # subtitle / second headline line
        elif current is not None and current.closed:
            orphans.append((pos, item))
        else:
            if current is None:
                current = ArticleDraft(pos)
                drafts.append(current)
            current.paragraphs.append(item)
    _place_orphans(drafts, orphans)
    return drafts


def _place_orphans(drafts: list[ArticleDraft], orphans: list[tuple[int, Paragraph]]) -> None:
    for pos, para in orphans:
        later = [d for d in drafts if d.start > pos]
        if not later:  # nothing follows: it trails the last article
            earlier = [d for d in drafts if d.start < pos]
            earlier[-1].paragraphs.append(para)
            continue
        best = max(later, key=lambda d: (_orphan_score(para, d, later), -d.start))
        best.orphans.append(para)


def _orphan_score(para: Paragraph, draft: ArticleDraft, candidates: list[ArticleDraft]) -> float:
    others = set().union(*(bigrams(d.text()) for d in candidates if d is not draft))
    distinctive = bigrams(draft.text()) - others
    mine = bigrams(para.text)
    headline = bigrams("".join(h.text for h in draft.headings))
    score = 2.0 * len(mine & distinctive & headline) + math.log1p(len(mine & distinctive))
    if not ends_sentence(para.text):
        first = next((p for p in draft.paragraphs if not p.heading), None)
        if first is not None:
            score += continuation_score(para.text, first.text, 0, True, distinctive)
    return score
