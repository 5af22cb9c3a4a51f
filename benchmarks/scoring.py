"""Score extracted tables against the checked gold (`../shared/gold/seeds.json`).

Used by `benchmarks/extract_quality.py` and the gold tests (benchmark tooling, not pipeline code). Gold articles are matched to extracted
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
import unicodedata
from collections import Counter
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


# ------------------------------------------------------------------ the facts gold (tests/gold/facts)
# Definitions (tests/gold/facts/README.md, "Scoring"):
# - projects: a predicted name (whitespace folded; a trailing 项目 folded too) equals the gold
#   `name` or one of its `aliases`; the amount must be exact where the gold states one in yuan
#   (a foreign amount must not be taken as yuan). Rows naming the same project (by name or by
#   an alias of a project already matched) count once.
#   Optional gold items count neither way.
# - indicators: same value and unit (or, for money, the same amount in yuan) and the row's
#   evidence overlaps the gold evidence sentence. Optional gold items count neither way.
# - money: every occurrence of a gold amount in the text is found by a money mention that
#   overlaps it; its value is right when it equals the gold value in the gold currency.

CURRENCY = {"元": "CNY", "美元": "USD", "欧元": "EUR", "港元": "HKD", "日元": "JPY", "英镑": "GBP",
            "新台币": "TWD", "印尼盾": "IDR", "澳元": "AUD", "韩元": "KRW", "卢布": "RUB", "加元": "CAD",
            "兰特": "ZAR", "元/平方米": "CNY", "元/亩": "CNY", "元/吨": "CNY", "美元/吨": "USD"}
YUAN_UNITS = {"元": 1, "万元": 1e4, "亿元": 1e8, "万亿元": 1e12, "千万元": 1e7, "百万元": 1e6, "千亿元": 1e11}


def articles_of(records: list[dict]) -> pd.DataFrame:
    """The gold records as the extractor's input articles (article_id = record id)."""
    return pd.DataFrame([{"article_id": r["id"], "doc_id": r["id"], "title": r.get("title"),
                          "body": r["text"], "published_date": _iso_date(r.get("published")),
                          "dateline_place": None, "outlet": r.get("outlet")} for r in records])


def _iso_date(value) -> str | None:
    m = re.match(r"(\d{4})(?:[-年/](\d{1,2}))?(?:[-月/](\d{1,2}))?", value or "")
    if not m:
        return None
    parts = [m.group(1)] + [f"{int(x):02d}" for x in m.groups()[1:] if x]
    return "-".join(parts)


def _name_key(name) -> str:
    folded = fold(name).strip("“”\"")
    return folded[:-2] if folded.endswith("项目") and len(folded) > 2 else folded


@dataclass
class Counts:
    gold: int = 0       # required gold items
    found: int = 0      # required gold items matched
    pred: int = 0       # predictions not matching only optional items
    pred_ok: int = 0    # predictions matching a gold item

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.pred_ok / self.pred if self.pred else 1.0

    def add(self, other: "Counts") -> None:
        for k in ("gold", "found", "pred", "pred_ok"):
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class FactsScore:
    projects: Counts = field(default_factory=Counts)
    projects_named: Counts = field(default_factory=Counts)   # names only, amounts not checked
    indicators: Counts = field(default_factory=Counts)
    money_occurrences: int = 0
    money_found: int = 0
    money_values: list[bool] = field(default_factory=list)   # per found occurrence: value right
    # per matched indicator: (the gold names a region, the row's region is right)
    indicator_regions: list[tuple[bool, bool]] = field(default_factory=list)
    indicator_metrics: list[float] = field(default_factory=list)   # per matched indicator: metric char F1
    # per rule (the rows' `pattern`): did each of its predictions match (its precision on the gold)
    rule_hits: dict[str, dict[str, list[bool]]] = field(default_factory=lambda: {"projects": {}, "indicators": {}})
    misses: dict[str, list] = field(default_factory=lambda: {
        "projects": [], "extra_projects": [], "indicators": [], "extra_indicators": [], "money": [],
        "money_values": []})

    def summary(self) -> dict[str, float]:
        return {
            "projects_recall": self.projects.recall, "projects_precision": self.projects.precision,
            "projects_name_recall": self.projects_named.recall,
            "projects_name_precision": self.projects_named.precision,
            "indicators_recall": self.indicators.recall, "indicators_precision": self.indicators.precision,
            "money_recall": self.money_found / self.money_occurrences if self.money_occurrences else 1.0,
            "money_values_right": sum(self.money_values) / len(self.money_values) if self.money_values else 1.0,
            "indicators_region_right": _share([right for _, right in self.indicator_regions]),
            "indicators_region_right_named": _share([right for named, right in self.indicator_regions if named]),
            "indicators_metric_exact": _share([f == 1.0 for f in self.indicator_metrics]),
            "indicators_metric_f1": sum(self.indicator_metrics) / len(self.indicator_metrics) if self.indicator_metrics else 1.0,
        }


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 1.0


def score_facts(records: list[dict], tables: dict[str, pd.DataFrame]) -> FactsScore:
    s = FactsScore()
    by_article = {name: dict(tuple(t.groupby("article_id"))) for name, t in tables.items()}
    empty = {name: t.iloc[0:0] for name, t in tables.items()}
    for r in records:
        rows = {name: by_article[name].get(r["id"], empty[name]) for name in tables}
        _score_projects(s, r, rows["projects"])
        _score_indicators(s, r, rows["indicators"])
        _score_money(s, r, rows["mentions"])
    return s


def _score_projects(s: FactsScore, r: dict, pred: pd.DataFrame) -> None:
    gold = r["projects"]
    keys = [{_name_key(n) for n in [g["name"], *(g.get("aliases") or [])]} for g in gold]
    # one prediction per name: rows naming the same project count once (any row's amount)
    names: dict[str, list] = {}
    rule_of: dict[str, str] = {}
    for row in pred.itertuples():
        names.setdefault(_name_key(row.name), []).append(_none(row.investment_yuan))
        rule_of.setdefault(_name_key(row.name), getattr(row, "pattern", "?"))
    for named_only, counts in ((True, s.projects_named), (False, s.projects)):
        c, used = Counts(), set()
        for name, amounts in names.items():
            hit = next((k for k, g in enumerate(gold) if name in keys[k] and k not in used
                        and (named_only or _amount_right(g, amounts))), None)
            if hit is None and any(name in keys[k] for k in used):
                continue  # another name (an alias) of a project already matched: the same project
            if hit is not None:
                used.add(hit)
            if hit is not None and gold[hit].get("optional"):
                continue
            c.pred += 1
            c.pred_ok += hit is not None
            if not named_only:
                s.rule_hits["projects"].setdefault(rule_of[name], []).append(hit is not None)
            if hit is None and not named_only:
                s.misses["extra_projects"].append((r["id"], name, amounts))
        for k, g in enumerate(gold):
            if not g.get("optional"):
                c.gold += 1
                c.found += k in used
                if k not in used and not named_only:
                    s.misses["projects"].append((r["id"], g["name"], g.get("investment_yuan")))
        counts.add(c)


def _amount_right(g: dict, amounts: list) -> bool:
    want = g.get("investment_yuan")
    if want is not None:
        return any(_same(a, want) for a in amounts)
    if g.get("investment_value") is not None:   # foreign: never taken as yuan
        return all(a is None for a in amounts)
    return True


def _indicator_match(g: dict, row, span: tuple[int, int] | None) -> bool:
    if span is None or not (row.start < span[1] and span[0] < row.end):
        return False
    if g["unit"] == row.unit and _same(g["value"], row.value):
        return True
    if g["unit"] in YUAN_UNITS and row.unit in YUAN_UNITS:   # the same amount in another magnitude
        return _same(g["value"] * YUAN_UNITS[g["unit"]], row.value * YUAN_UNITS[row.unit])
    return False


def _char_f1(gold: str, found: str) -> float:
    """Character-overlap F1 of two metrics (1.0: the same name, as the guide writes it)."""
    gold, found = (re.sub(r"\s+", "", unicodedata.normalize("NFKC", x or "")) for x in (gold, found))
    if gold == found:
        return 1.0
    common = sum((Counter(gold) & Counter(found)).values())
    return 2 * common / (len(gold) + len(found)) if common else 0.0


COUNTRY_WORDS = {"中国", "我国", "全国", "国内"}   # the gold writes the region as the text names it
HOME_WORDS = {"全省", "全市", "全县", "全区", "我省", "我市", "我县", "我区", "本市", "本省"}


def _region_right(gold: str | None, row) -> bool:
    """The row's region (as written, and resolved) is the gold's: none when the gold names none;
    the country (region_full 中国) for 全国/我国/中国/国内 and the world (全球) for 全球; for a place
    the same name, one a prefix of the other (重庆 / 重庆市) or inside the resolved full name; for
    全省/我市 … a resolved region (the article's own)."""
    said, full = _none(row.region), _none(getattr(row, "region_full", None))
    if gold is None:
        return said is None
    if gold in COUNTRY_WORDS:
        return full == "中国"
    if gold in ("全球", "世界"):
        return full == "全球"
    if said is None:
        return False
    if gold in HOME_WORDS:
        return full is not None
    return gold.startswith(said) or said.startswith(gold) or (full is not None and gold in full)


def _score_indicators(s: FactsScore, r: dict, pred: pd.DataFrame) -> None:
    text, gold = r["text"], r["indicators"]
    spans = [_locate(text, g["evidence"]) for g in gold]
    used: set[int] = set()
    c = Counts()
    for row in pred.itertuples():
        hit = next((k for k, g in enumerate(gold) if k not in used and _indicator_match(g, row, spans[k])), None)
        rule = s.rule_hits["indicators"].setdefault(getattr(row, "pattern", "?"), [])
        if hit is None:  # a second row on an already matched item: the same fact twice
            hit_any = next((k for k, g in enumerate(gold) if _indicator_match(g, row, spans[k])), None)
            c.pred += 1
            rule.append(False)
            if hit_any is None:
                s.misses["extra_indicators"].append((r["id"], row.metric, row.value, row.unit, row.evidence[:60]))
            continue
        used.add(hit)
        if gold[hit].get("optional"):
            continue
        c.pred += 1
        c.pred_ok += 1
        rule.append(True)
        s.indicator_regions.append((gold[hit].get("region") is not None, _region_right(gold[hit].get("region"), row)))
        s.indicator_metrics.append(_char_f1(gold[hit]["metric"], row.metric))
    for k, g in enumerate(gold):
        if not g.get("optional"):
            c.gold += 1
            c.found += k in used
            if k not in used:
                s.misses["indicators"].append((r["id"], g["metric"], g["value"], g["unit"], g["evidence"][:60]))
    s.indicators.add(c)


def _money_occurrences(text: str, gold: list[dict]) -> list[tuple[int, int, dict]]:
    """Where each gold amount occurs: not inside a longer gold amount, not right after a digit."""
    spans: list[tuple[int, int, dict]] = []
    for g in sorted(gold, key=lambda g: -len(g["text"])):
        at = text.find(g["text"])
        while at >= 0:
            end = at + len(g["text"])
            inside = any(a <= at and end <= b for a, b, _ in spans)
            after_digit = at > 0 and (text[at - 1].isdigit() or text[at - 1] in "．.")
            if not inside and not after_digit:
                spans.append((at, end, g))
            at = text.find(g["text"], end)
    return spans


def _score_money(s: FactsScore, r: dict, mentions: pd.DataFrame) -> None:
    money = mentions[mentions["kind"] == "money"] if len(mentions) else mentions
    rows = list(money.itertuples())
    for a, b, g in _money_occurrences(r["text"], r["money"]):
        s.money_occurrences += 1
        over = [m for m in rows if m.start < b and a < m.end]
        if not over:
            s.misses["money"].append((r["id"], g["text"]))
            continue
        s.money_found += 1
        right = any(_money_value_right(g, m) for m in over)
        s.money_values.append(right)
        if not right:
            s.misses["money_values"].append((r["id"], g["text"], g["value"], g["currency"],
                                             [(m.text, m.value, m.unit) for m in over]))


def _money_value_right(g: dict, m) -> bool:
    """The mention's amount (its `normalized` base value and unit) in the gold's currency."""
    found = re.fullmatch(r"(-?[\d.]+(?:e[+-]?\d+)?)(.+)", m.normalized or "")
    if found is None:
        return False
    value, unit = float(found.group(1)), found.group(2)
    if CURRENCY.get(unit) != g["currency"]:
        return False
    high = value / m.value * m.value_max if _none(m.value_max) is not None and m.value else None
    return _same(value, g["value"]) and _same(high, g.get("value_max"))
