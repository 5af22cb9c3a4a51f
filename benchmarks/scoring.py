"""Score extracted tables against the checked gold (`../shared/gold/seeds.json`).

Used by `benchmarks/extract_quality.py` and the gold tests. Gold articles are matched to extracted
articles by title (whitespace folded). Definitions:
- money cases: a mention whose text equals the case text inside the case context, with equal
  value, unit, value_yuan and qualifier;
- projects: name equal after whitespace folding and investment_yuan equal (both null counts);
  recall over gold items without `optional: true`, precision over extracted projects (a match to an
  optional gold item is not a false positive); duplicates are matched one to one;
- indicators: same value and unit, and the extracted evidence overlaps the gold evidence in the
  body; recall over all gold items and over `core` ones;
- visits: same person, title, place_full and date_text;
- places: per article, the share of gold `places` among the extracted place mentions' full names
  (micro-averaged); traps: gold `places_traps` that were extracted (must be 0);
- for information: place_full accuracy of matched projects, region_full accuracy of matched
  indicators.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

WS = re.compile(r"\s+")


def fold(s) -> str:
    return WS.sub("", s or "")


def _same(a, b, tol=1e-6) -> bool:
    if a is None or (isinstance(a, float) and a != a):
        return b is None or (isinstance(b, float) and b != b)
    if b is None or (isinstance(b, float) and b != b):
        return False
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(a)))


def _none(x):
    return None if x is None or (isinstance(x, float) and x != x) else x


@dataclass
class Score:
    money: list[bool] = field(default_factory=list)
    projects_gold: int = 0
    projects_found: int = 0
    projects_pred: int = 0
    projects_pred_ok: int = 0
    indicators: list[tuple[bool, bool]] = field(default_factory=list)   # (matched, core)
    visits: list[bool] = field(default_factory=list)
    project_places: list[bool] = field(default_factory=list)     # place_full right, matched projects
    indicator_regions: list[bool] = field(default_factory=list)  # region_full right, matched indicators
    places_gold: int = 0
    places_found: int = 0
    traps: list[str] = field(default_factory=list)
    misses: dict[str, list] = field(default_factory=lambda: {"money": [], "projects": [], "extra_projects": [],
                                                             "indicators": [], "visits": [], "places": []})

    @staticmethod
    def _ratio(a, b):
        return a / b if b else 1.0

    def summary(self) -> dict[str, float]:
        core = [m for m, c in self.indicators if c]
        return {
            "money_cases": self._ratio(sum(self.money), len(self.money)),
            "projects_recall": self._ratio(self.projects_found, self.projects_gold),
            "projects_precision": self._ratio(self.projects_pred_ok, self.projects_pred),
            "indicators_recall": self._ratio(sum(m for m, _ in self.indicators), len(self.indicators)),
            "indicators_recall_core": self._ratio(sum(core), len(core)),
            "visits_recall": self._ratio(sum(self.visits), len(self.visits)),
            "places_recall": self._ratio(self.places_found, self.places_gold),
            "places_traps": len(self.traps),
            "project_place_accuracy": self._ratio(sum(self.project_places), len(self.project_places)),
            "indicator_region_accuracy": self._ratio(sum(self.indicator_regions), len(self.indicator_regions)),
        }


def _article_ids(articles: pd.DataFrame, title: str) -> list[str]:
    want = fold(title)
    ids = [r.article_id for r in articles.itertuples() if fold(r.title) == want]
    if not ids:
        ids = [r.article_id for r in articles.itertuples() if r.title and (fold(r.title) in want or want in fold(r.title))]
    return ids


def score(gold: dict, articles: pd.DataFrame, tables: dict[str, pd.DataFrame],
          seed_of: dict[str, str] | None = None) -> Score:
    """`seed_of` maps article_id -> seed file name (to search money contexts within a seed)."""
    s = Score()
    bodies = dict(zip(articles["article_id"], articles["body"]))
    by_article = {name: {aid: df for aid, df in t.groupby("article_id")} for name, t in tables.items()}
    empty = {name: t.iloc[0:0] for name, t in tables.items()}

    def rows(name, aid):
        return by_article[name].get(aid, empty[name])

    for seed, g in gold.items():
        seed_ids = [aid for aid in bodies if seed_of is None or seed_of.get(aid) == seed]
        # money cases
        for case in g.get("money_cases", []):
            ok = False
            for aid in seed_ids:
                at = fold(bodies[aid]).find(fold(case["context"]))
                if at < 0:
                    continue
                for m in rows("mentions", aid).itertuples():
                    if m.text == case["text"] and _same(m.value, case["value"]) and m.unit == case["unit"] \
                            and _same(_none(m.value_yuan), case.get("value_yuan")) \
                            and _none(m.qualifier) == case.get("qualifier") \
                            and fold(case["context"]).find(fold(m.text)) >= 0 \
                            and fold(bodies[aid][m.start:m.end]) == fold(m.text) \
                            and _inside(bodies[aid], m.start, case["context"]):
                        ok = True
                        break
                if ok:
                    break
            s.money.append(ok)
            if not ok:
                s.misses["money"].append(case["text"])
        titles = {a["title"] for a in g["articles"]}
        ids_of = {t: _article_ids(articles, t) for t in titles}
        # projects
        for title in titles:
            ids = ids_of[title]
            gold_p = [p for p in g.get("projects", []) if p["article"] == title]
            pred = pd.concat([rows("projects", aid) for aid in ids]) if ids else empty["projects"]
            pred_items = [(fold(r.name), _none(r.investment_yuan)) for r in pred.itertuples()]
            pred_places = [r.place_full for r in pred.itertuples()]
            used = [False] * len(pred_items)
            for p in gold_p:
                hit = next((k for k, (n, y) in enumerate(pred_items)
                            if not used[k] and n == fold(p["name"]) and _same(p.get("investment_yuan"), y)), None)
                if hit is not None:
                    used[hit] = True
                    if p.get("place_full"):
                        s.project_places.append(pred_places[hit] == p["place_full"])
                if not p.get("optional"):
                    s.projects_gold += 1
                    s.projects_found += hit is not None
                    if hit is None:
                        s.misses["projects"].append(p["name"])
            s.projects_pred += len(pred_items)
            s.projects_pred_ok += sum(used)
            s.misses["extra_projects"] += [n for (n, _), u in zip(pred_items, used) if not u]
        # indicators
        for ind in g.get("indicators", []):
            ids = ids_of.get(ind["article"], [])
            ok = False
            for aid in ids:
                body = bodies[aid]
                span = _locate(body, ind["evidence"])
                for r in rows("indicators", aid).itertuples():
                    if _same(r.value, ind["value"]) and r.unit == ind["unit"] and (
                            span is None and fold(ind["evidence"]) in fold(r.evidence)
                            or span is not None and r.start < span[1] and span[0] < r.end):
                        ok = True
                        s.indicator_regions.append(r.region_full == ind.get("region_full"))
                        break
            s.indicators.append((ok, bool(ind.get("core"))))
            if not ok:
                s.misses["indicators"].append((ind["value"], ind["unit"], ind["metric"]))
        # visits
        for v in g.get("visits", []):
            ids = ids_of.get(v["article"], [])
            ok = any(r.person == v["person"] and r.title == v["title"] and r.place_full == v["place_full"]
                     and _none(r.date_text) == v.get("date_text")
                     for aid in ids for r in rows("visits", aid).itertuples())
            s.visits.append(ok)
            if not ok:
                s.misses["visits"].append((v["person"], v["place_full"]))
        # places
        for title, want in g.get("places", {}).items():
            ids = ids_of.get(title, [])
            got = set()
            for aid in ids:
                m = rows("mentions", aid)
                got |= set(m.loc[m["kind"] == "place", "normalized"])
            s.places_gold += len(want)
            s.places_found += len(set(want) & got)
            s.misses["places"] += [(title[:12], w) for w in want if w not in got]
            s.traps += [t for t in g.get("places_traps", {}).get(title, []) if t in got]
    return s


def _locate(body: str, evidence: str) -> tuple[int, int] | None:
    at = body.find(evidence)
    return (at, at + len(evidence)) if at >= 0 else None


def _inside(body: str, offset: int, context: str) -> bool:
    span = _locate(body, context)
    return span is None or span[0] <= offset < span[1]
