"""Extract stage: canonical articles -> mentions, projects, indicators, visits, keywords.

    extract_records(articles) -> {"mentions", "projects", "indicators", "visits", "keywords"}:
                                 lists of row dicts

One entry, over plain rows (the worker processes that run it import no pandas); `STAGE`
declares it to the flow (tasks/stage.py), and `STAGE.frames(...)` makes frames.

Each article is tokenised once (tokenize.py); the token list feeds places, numbers (to vet
Chinese numerals), projects and keywords. Every row quotes the article: `start`/`end` index its
`body`, and `body[start:end]` is the mention text or the evidence. Pure functions, no Prefect.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsgate.schemas.contract import PROJECT_STATUSES, valid_investment
from newsgate.tasks.stage import Batches, Stage

from .confidence import scored
from .context import RegionLocator
from .indicators import Candidate, find_indicators, indicator_candidates
from .keywords import top_keywords
from .numbers import find_quantities
from .dates import find_dates, resolve_date
from .orgs import find_orgs
from .people import find_people, find_visits
from .places import Region, find_places, home_of, place_candidates, place_surfaces
from .projects import classify_industry, find_projects, project_id
from .sentences import Span, clauses, paragraphs, sentences
from .tokenize import Tokens, tokenize

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXTRACT_INPUTS", "STAGE", "TABLE_COLUMNS", "extract_article", "extract_records"]

# the article columns the facts depend on: same values (and same code) -> same facts
EXTRACT_INPUTS = ["article_id", "title", "body", "published_date", "dateline_place"]

# every fact row says which rule produced it and how sure it is (confidence.py)
SCORE_COLUMNS = ["pattern", "confidence", "needs_review"]
TABLE_COLUMNS = {
    "mentions": ["article_id", "kind", "text", "start", "end", "value", "unit", "normalized",
                 "qualifier", "value_yuan", "value_max", "measure", *SCORE_COLUMNS, "admin_code",
                 "level"],
    "projects": ["project_id", "article_id", "name", "investment_yuan", "investment_yuan_max",
                 "investment_text", "status", "status_text", "place", "place_full", "admin_code",
                 "industry", "evidence", "start", "end", "name_start", "name_end", *SCORE_COLUMNS,
                 "year"],
    "indicators": ["article_id", "region", "region_full", "admin_code", "period", "metric", "value",
                   "value_max", "unit", "value_yuan", "qualifier", "value_text", "measure",
                   *SCORE_COLUMNS, "evidence", "start", "end"],
    "visits": ["article_id", "person", "title", "place", "place_full", "admin_code", "date",
               "date_text", "sites", *SCORE_COLUMNS, "evidence", "start", "end"],
    "keywords": ["article_id", "keyword", "weight", "rank"],
}


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


@dataclass
class Parsed:
    """What every fact table of one article is read from (one tokenisation, one set of spans)."""
    aid: str
    body: str
    published: str | None
    tokens: Tokens
    places: list
    quantities: list
    clauses: list[Span]
    sentences: list[Span]
    paragraphs: list[Span]
    people: list
    projects: list
    orgs: list
    locator: RegionLocator

    @property
    def name_spans(self) -> list[tuple[int, int]]:
        return _name_spans(self.projects, self.orgs)

    def indicator_candidates(self, tagged: bool = True) -> list[Candidate]:
        """Every quantity with a metric and the rule that rejects it (indicators.py); numbers in a
        project's own report clause or inside any name are not statistics. `tagged=False`: the
        rules' candidates alone (what the sequence tagger reads as features)."""
        claimed = [(p.clause.start, p.clause.end) for p in self.projects if p.claims_clause] + self.name_spans \
            + [(p.investment.start, p.investment.end) for p in self.projects if p.investment is not None]
        return indicator_candidates(self.body, self.quantities, self.clauses, self.sentences, claimed,
                                    self.locator, [p.name_start for p in self.projects],
                                    self.tokens if tagged else None)


def _name_spans(projects, orgs) -> list[tuple[int, int]]:
    return [(p.name_start, p.name_end) for p in projects] + [(o.start, o.end) for o in orgs]


def segment(article: dict) -> tuple[Tokens, Tokens]:
    """The tokens of an article's body and of its title."""
    return tokenize(_text(article.get("body")) or ""), tokenize(_text(article.get("title")) or "")


def parse_article(article: dict, segmented: tuple[Tokens, Tokens] | None = None) -> Parsed:
    """Tokens, places, numbers, spans, people, projects and organisations of one article
    (`segmented`: its `segment`, when the caller has it)."""
    aid = str(article["article_id"])
    body = _text(article.get("body")) or ""
    title = _text(article.get("title")) or ""
    tokens, title_tokens = segmented or segment(article)
    candidates = place_candidates(tokens)
    home = home_of(title_tokens, tokens, _text(article.get("dateline_place")), candidates)
    places = find_places(body, tokens, home, candidates)
    quantities = find_quantities(body, set(tokens.starts))
    clause_spans = clauses(body)
    people = find_people(body, tokens)
    projects = find_projects(body, tokens, clause_spans, quantities, {p.name for p in people})
    orgs = find_orgs(body, tokens, place_surfaces())
    paragraph_spans = paragraphs(body)
    locator = RegionLocator(body, places, paragraph_spans, home, _name_spans(projects, orgs),
                            local_home=title_place(title, title_tokens, home),
                            token_bounds={*tokens.starts, *tokens.ends})
    return Parsed(aid, body, _text(article.get("published_date")), tokens, places, quantities, clause_spans,
                  sentences(body), paragraph_spans, people, projects, orgs, locator)


def extract_article(article: dict, segmented: tuple[Tokens, Tokens] | None = None) -> dict[str, list[dict]]:
    """All facts of one article as row dicts (see TABLE_COLUMNS)."""
    a = parse_article(article, segmented)
    aid, body, tokens, places, quantities, people, projects, orgs, locator, published = (
        a.aid, a.body, a.tokens, a.places, a.quantities, a.people, a.projects, a.orgs, a.locator, a.published)
    sentence_spans = a.sentences
    rows: dict[str, list[dict]] = {k: [] for k in TABLE_COLUMNS}

    mentions = rows["mentions"]
    for p in places:
        mentions.append(scored(dict(article_id=aid, kind="place", text=p.text, start=p.start, end=p.end,
                                    normalized=p.region.full, admin_code=p.region.code,
                                    level=p.region.level), f"places.{p.how}"))
    for person in people:
        mentions.append(scored(dict(article_id=aid, kind="person", text=person.name, start=person.start,
                                    end=person.end, normalized=person.title), f"people.{person.how}"))
    for org in orgs:
        mentions.append(scored(dict(article_id=aid, kind="org", text=org.name, start=org.start,
                                    end=org.end, normalized=org.name), "orgs.suffix"))
    for d in find_dates(body, published):
        mentions.append(scored(dict(article_id=aid, kind="date", text=d.text, start=d.start, end=d.end,
                                    normalized=d.iso), "dates.calendar"))
    for q in quantities:
        mentions.append(scored(dict(article_id=aid, kind=q.kind, text=q.text, start=q.start, end=q.end,
                                    value=q.value, unit=q.unit, normalized=q.normalized,
                                    qualifier=q.qualifier, value_yuan=q.value_yuan,
                                    value_max=q.value_max, measure=q.measure),
                               q.pattern, ["vague"] if q.vague else ()))

    for p in projects:
        evidence = body[p.clause.start:p.clause.end]
        surface, region = locator.locate(p.name_start, p.name_end, local=True)
        inv = p.investment
        yuan = inv.value_yuan if inv is not None else None
        yuan = yuan if valid_investment(yuan) else None
        yuan_max = inv.value_yuan_max if yuan is not None else None
        doubts = [d for d, missing in (("no_investment", inv is None), ("no_status", p.status == "unknown"))
                  if missing]
        rows["projects"].append(scored(dict(
            project_id=project_id(aid, p.name, p.clause.start), article_id=aid, name=p.name,
            investment_yuan=yuan, investment_yuan_max=yuan_max,
            investment_text=inv.text if inv is not None else None,
            status=p.status if p.status in PROJECT_STATUSES else "unknown", status_text=p.status_text,
            place=surface or (region.name if region else None),
            place_full=region.full if region else None, admin_code=region.code if region else None,
            industry=classify_industry(p.name, evidence), evidence=evidence, start=p.clause.start,
            end=p.clause.end, name_start=p.name_start, name_end=p.name_end,
            year=published[:4] if published and published[:4].isdigit() else None),
            f"projects.{p.pattern}", doubts))

    for ind in find_indicators(body, tokens, a.indicator_candidates()):
        q = ind.quantity
        doubts = [d for d, yes in (("no_period", ind.period is None), ("no_region", ind.region is None),
                                   ("vague", q.vague)) if yes]
        rows["indicators"].append(scored(dict(
            article_id=aid, region=ind.region or (ind.region_full.name if ind.region_full else None),
            region_full=ind.region_full.full if ind.region_full else None,
            admin_code=ind.region_full.code if ind.region_full else None, period=ind.period,
            metric=ind.metric, value=q.value, value_max=q.value_max, unit=q.unit,
            value_yuan=q.value_yuan, qualifier=q.qualifier, value_text=q.value_text,
            measure=q.measure, evidence=body[ind.clause.start:ind.clause.end],
            start=ind.clause.start, end=ind.clause.end), ind.pattern, doubts, ind.probability))

    visits = find_visits(body, sentence_spans, people, places)
    for k, v in enumerate(visits):
        # sites: projects named after the visit sentence, up to the next visit ("、"-joined)
        until = visits[k + 1].sentence.start if k + 1 < len(visits) else len(body)
        sites = "、".join(p.name for p in projects if v.sentence.start <= p.name_start < until) or None
        date = resolve_date(v.date_text, published)
        rows["visits"].append(scored(dict(
            article_id=aid, person=v.person, title=v.title, place=v.place.text,
            place_full=v.place.region.full, admin_code=v.place.region.code,
            date=date, date_text=v.date_text, sites=sites,
            evidence=body[v.sentence.start:v.sentence.end], start=v.sentence.start,
            end=v.sentence.end), "visits.inspection", ["no_date"] if date is None else ()))

    for rank, (word, weight) in enumerate(top_keywords(tokens), start=1):
        rows["keywords"].append(dict(article_id=aid, keyword=word, weight=weight, rank=rank))
    return rows


LEVEL_DEPTH = {"province": 0, "city": 1, "county": 2, "other": 2}


def title_place(title: str, title_tokens, home) -> Region | None:
    """The most specific place the title names inside the home city (the story's own place)."""
    if home.city is None:
        return None
    inside = [p.region for p in find_places(title, title_tokens, home)
              if p.region.city == home.city.full and p.region.full != home.city.full]
    return max(inside, key=lambda r: LEVEL_DEPTH[r.level]) if inside else None


def extract_records(articles: list[dict]) -> dict[str, list[dict]]:
    """Facts of a batch of (canonical) articles (row dicts, missing values None)."""
    rows: dict[str, list[dict]] = {k: [] for k in TABLE_COLUMNS}
    # The whole batch is segmented before any extractor runs, so that jieba's dictionary stays in
    # the CPU's caches: on the bench corpus, segmenting article by article between the extractors
    # took 7.0-7.8 s, and on its own 5.5 s (the stage's CPU: 0.94x).
    segmented = [segment(article) for article in articles]
    for article, article_tokens in zip(articles, segmented):
        for table, table_rows in extract_article(article, article_tokens).items():
            rows[table].extend(table_rows)
    return rows


def canonical_articles(tables) -> pd.DataFrame:
    """Extraction works on canonical articles only: aggregates count each story once. Of the
    articles this run changed or whose cluster row it changed, those that are canonical
    (`tables`: a tasks.reader.ReleaseView; read by id)."""
    touched = set(tables.changed("articles")["article_id"]) | set(tables.changed("clusters")["article_id"])
    flags = tables.lookup("clusters", "article_id", touched, ["article_id", "is_canonical"])
    canonical = flags.loc[flags["is_canonical"].astype(bool), "article_id"]
    return tables.lookup("articles", "article_id", canonical, EXTRACT_INPUTS)


STAGE = Stage(
    name="extract", function=extract_records, select=canonical_articles, key="article_id",
    reads={"articles": EXTRACT_INPUTS, "clusters": ("article_id", "is_canonical")},
    writes=TABLE_COLUMNS, code=("newsgate.tasks.extract", "newsgate.schemas.contract"),
    carry="unchanged", warm=("newsgate.tasks.extract.tokenize:lexicon",),
    batches=Batches(longest_first="body"),  # articles are independent: batches follow the workers
    dtypes={**dict.fromkeys(("start", "end", "name_start", "name_end", "rank"), "int64"),
            **dict.fromkeys(("value", "value_yuan", "value_max", "investment_yuan",
                             "investment_yuan_max", "weight", "confidence"), "float64"),
            "needs_review": "bool"})
