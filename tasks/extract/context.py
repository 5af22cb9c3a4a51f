"""Which region a fact (project, indicator) belongs to, from the place mentions around it.

Order of evidence:
1. a place inside the fact's own span below province level, in the home province (a company from
   宁波 building in 辽源 stays a 辽源 project; 博大东方新型化工(吉林)公司's 吉林 says little);
2. the last place mentioned before it in the same paragraph, skipping places inside names
   (other projects, companies) — for projects also skipping places outside the home province and
   the bare home province (projects are local: the home city says more);
3. the last section heading that is a place (东丰县 on its own line);
   For statistics, a word for the whole country or the world (全国, 我国, 国内, 中国, 全球) said
   after that place, closer to the fact, is its region instead: 全国发电量 in a page datelined
   北京 is the country's, not 北京's (region as written; `region_full` 中国 or 全球, which no
   gazetteer region stands for);
4. the article's home: for projects the most specific place of the title inside the home city
   (江泽林在长春新区开展项目夏季踏查 -> 长春新区), else its city; for statistics its city or province, whichever
   the article speaks for (我市/全市 vs 我省/全省 — a provincial press release datelined 长春 is
   about 吉林省).
"""
from __future__ import annotations

import re
from bisect import bisect_left

from .places import Home, PlaceMention, Region
from .sentences import Span


# the whole country or the world, which no gazetteer region stands for (国内生产总值 is a measure)
NATION = re.compile(r"全国|我国|国内(?!生产总值)|中国|全球")
COUNTRY = Region(name="中国", full="中国", code=None, level="country", province="", city=None)
WORLD = Region(name="全球", full="全球", code=None, level="world", province="", city=None)
CLAUSE_BREAK = re.compile(r"[，,；;。！？!?\n]")
# …高于全国平均水平, 占全国的, 居全国第: the country a figure is compared with, not its region
COMPARED_WITH = re.compile(r"(?:比|较|高于|低于|快于|慢于|超过|占|居|位居|领先)$")


class RegionLocator:
    def __init__(self, text: str, places: list[PlaceMention], paragraphs: list[Span], home: Home,
                 names: list[tuple[int, int]] = (), local_home: Region | None = None,
                 token_bounds: set[int] | None = None):
        self.text, self.local_home = text, local_home
        self.nation = [m for m in NATION.finditer(text)
                       if (token_bounds is None or {m.start(), m.end()} <= token_bounds)   # 发展中国家
                       and not any(a <= m.start() < b for a, b in names)                   # 中国移动
                       and not COMPARED_WITH.search(text, max(0, m.start() - 2), m.start())
                       and not text.startswith("平均", m.end())]
        self.places = sorted(places, key=lambda p: p.start)
        self.starts = [p.start for p in self.places]
        self.paragraphs = paragraphs
        self.home = home
        self.names = list(names)
        self.headings = [p for p in self.places
                         if any(par.start == p.start and par.end == p.end for par in paragraphs)]
        city_words = sum(1 for p in self.places if p.how == "home" and p.region.level != "province")
        province_words = sum(1 for p in self.places if p.how == "home" and p.region.level == "province")
        self.stats_home = home.province if province_words > city_words or home.city is None else home.city

    def _paragraph(self, offset: int) -> Span | None:
        for par in self.paragraphs:
            if par.start <= offset < par.end:
                return par
        return None

    def _in_home_province(self, region: Region) -> bool:
        return self.home.province is None or region.province == self.home.province.name

    def inside(self, start: int, end: int) -> PlaceMention | None:
        """Preferably a place in the home city (四平至白山天然气管道建设辽源段工程 is 辽源's)."""
        i = bisect_left(self.starts, start)
        found = []
        for p in self.places[i:]:
            if p.start >= end:
                break
            if p.region.level != "province" and self._in_home_province(p.region):
                found.append(p)
        home_city = self.home.city.full if self.home.city else None
        for p in found:
            if home_city and (p.region.city == home_city or p.region.full == home_city):
                return p
        return found[0] if found else None

    def _usable(self, p: PlaceMention, local: bool) -> bool:
        if any(a <= p.start < b for a, b in self.names):
            return False
        if local and (not self._in_home_province(p.region) or
                      (p.region.level == "province" and self.home.city is not None)):
            return False
        return True

    def before(self, offset: int, local: bool = False) -> PlaceMention | None:
        par = self._paragraph(offset)
        i = bisect_left(self.starts, offset) - 1
        while i >= 0 and par is not None and self.places[i].start >= par.start:
            if self._usable(self.places[i], local):
                return self.places[i]
            i -= 1
        for h in reversed(self.headings):
            if h.start < offset:
                return h
        return None

    def _nation_before(self, offset: int, place: PlaceMention | None) -> re.Match | None:
        """The country or world word last said before `offset` in its paragraph, after `place`
        and not in `place`'s clause (我省第一批全国山洪防治县: a national list 我省 is on), when
        `offset`'s own clause names no place (全国156个重点项目，有7个半落户在吉林市)."""
        par = self._paragraph(offset)
        floor = par.start if par else offset
        if place is not None and place.start < offset:
            brk = CLAUSE_BREAK.search(self.text, place.end, offset)
            floor = max(floor, brk.end() if brk else offset)
        said = [m for m in self.nation if floor <= m.start() and m.end() <= offset]
        if not said:
            return None
        opened = max((m.end() for m in CLAUSE_BREAK.finditer(self.text, said[-1].end(), offset)), default=None)
        closed = CLAUSE_BREAK.search(self.text, offset)
        clause = (opened if opened is not None else offset, closed.start() if closed else len(self.text))
        i = bisect_left(self.starts, clause[0])
        if i < len(self.places) and self.places[i].start < clause[1] and self._usable(self.places[i], False):
            return None
        return said[-1]

    def locate(self, start: int, end: int, local: bool = False) -> tuple[str | None, Region | None]:
        """(surface as written or None, region) of a fact spanning [start, end); `local` for projects."""
        p = self.inside(start, end) or self.before(start, local)
        nation = None if local else self._nation_before(start, p)
        if nation is not None:
            return nation.group(), WORLD if nation.group() == "全球" else COUNTRY
        if p is not None:
            return p.text, p.region
        if local:
            return None, self.local_home or self.home.city or self.home.province
        return None, self.stats_home
