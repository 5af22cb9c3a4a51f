"""Places: every mention resolved to a full administrative name and code, using the article's context.

The gazetteer is jionlp's bundled administrative-division dictionary (china_location.txt, read
straight from the installed package, province/city/county levels only — no network, no writes),
extended by `place_aliases.json` for functional zones (长春新区), dev-zone short names (长春经开),
one-character abbreviations (来辽) and deictic words (我市, 全省).

Resolution works on the article's tokens, in two passes:
1. candidates: a token (or up to three adjacent tokens: 长春+新区) equal to a full name (西安区)
   or an alias (西安, 吉林). Aliases that are not marked as place names in jieba's dictionary and
   full names are both kept; 东辽河 is one token (user dictionary), so it never reads as 东辽县.
2. home: the article's province and city are voted by its unambiguous mentions (title and
   dateline included; a county votes for its city). Ambiguous surfaces then take the candidate
   closest to home (西安区 in a 辽源 article is 辽源's 西安区, not 西安市), 吉林 alone is the province
   (the city is always written 吉林市). A bare alias that is a common non-place word in jieba's
   dictionary (和平, 通道, 振兴) is dropped anywhere. A bare alias outside the home province is kept only if
   jieba's dictionary tags it as a place name (珠海 yes, 和平 no), and for a county only as the end
   of a route (辽源至西丰高速公路) — otherwise 新建项目, 北湖科技园, 金州生态产业园 would become
   counties of 南昌, 郴州 and 大连.
"""
from __future__ import annotations

import importlib.util
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .tokenize import Token, Tokens, as_tokens, segmenter, word_frequency, word_tag

ALIASES_FILE = Path(__file__).with_name("place_aliases.json")
MAX_JOIN = 3


@dataclass(frozen=True)
class Region:
    name: str            # 西安区
    full: str            # 吉林省辽源市西安区
    code: str | None     # 220403
    level: str           # province | city | county | other
    province: str        # 吉林省
    city: str | None     # 吉林省辽源市 (full name) for counties/zones, itself for cities


@dataclass
class PlaceMention:
    text: str
    start: int
    end: int
    region: Region
    how: str             # name | alias | zone | home | abbreviation


@dataclass
class Gazetteer:
    by_surface: dict[str, list[Region]] = field(default_factory=dict)
    alias_surfaces: set[str] = field(default_factory=set)
    by_full: dict[str, Region] = field(default_factory=dict)

    def add(self, surface: str, region: Region, alias: bool = False) -> None:
        bucket = self.by_surface.setdefault(surface, [])
        if region not in bucket:
            bucket.append(region)
        if alias:
            self.alias_surfaces.add(surface)


def _location_lines() -> list[str]:
    spec = importlib.util.find_spec("jionlp")
    folder = Path(spec.origin).parent / "dictionary"
    txt = folder / "china_location.txt"
    if txt.exists():
        with txt.open(encoding="utf-8") as fh:
            return [line for line in fh if not line.startswith("\t\t\t")]
    with zipfile.ZipFile(folder / "china_location.zip") as zf:  # not unzipped yet: read in memory
        name = next(n for n in zf.namelist() if n.endswith(".txt"))
        with io.TextIOWrapper(zf.open(name), encoding="utf-8") as fh:
            return [line for line in fh if not line.startswith("\t\t\t")]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    gaz = Gazetteer()
    province = city = None
    for line in _location_lines():
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip().split("\t")
        if len(parts) != 3:
            continue
        name, code, alias = parts
        if depth == 0:
            province = Region(name, name, code, "province", name, None)
            region = province
        elif depth == 1:
            full = name if name == province.name else province.full + name  # 北京市 (municipality)
            city = Region(name, full, code, "city", province.name, full)
            region = city
        else:
            region = Region(name, city.full + name, code, "county", province.name, city.full)
        if depth == 1 and name == province.name:
            continue  # the municipality's own city line adds nothing
        gaz.by_full[region.full] = region
        gaz.add(name, region)
        for a in alias.split("/"):
            if len(a) >= 2 and a != name and not a.endswith("区") or a in ("浦东",):
                gaz.add(a, region, alias=True)
    ext = json.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    for zone in ext["zones"]:
        parent = gaz.by_full.get(zone["parent"])
        if parent is None:
            continue
        full = parent.full + zone["name"]
        region = gaz.by_full.get(full) or Region(
            zone["name"], full, None if zone["level"] == "other" else parent.code, zone["level"],
            parent.province, parent.city or (parent.full if parent.level == "city" else None))
        gaz.by_full[full] = region
        for s in zone["surface"]:
            gaz.by_surface[s] = [region]  # a zone's spelled-out name is unambiguous
    return gaz


@lru_cache(maxsize=1)
def place_surfaces() -> frozenset[str]:
    """Every spelling the gazetteer resolves (full names, aliases, zones)."""
    return frozenset(gazetteer().by_surface)


@lru_cache(maxsize=1)
def _extension() -> dict:
    return json.loads(ALIASES_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _place_tagged_aliases() -> frozenset[str]:
    """Aliases that jieba's general dictionary tags `ns` (place name): 西丰, 四平 — not 和平, 城区."""
    jieba = segmenter()
    aliases = gazetteer().alias_surfaces
    dict_path = Path(jieba.__file__).with_name("dict.txt")
    content = dict_path.read_text(encoding="utf-8")
    tagged = {w for w in re.findall(r"^(\S+) \d+ ns$", content, re.M) if w in aliases}
    return frozenset(tagged)


@dataclass
class Home:
    province: Region | None
    city: Region | None


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    """Every prefix of every gazetteer surface: a token that is not one cannot start a place."""
    surfaces = set(gazetteer().by_surface) | set(_extension()["not_places"])
    return frozenset(s[:k] for s in surfaces for k in range(1, len(s) + 1))


Candidate = tuple  # (start, end, surface, regions)


def place_candidates(tokens: Tokens) -> list[Candidate]:
    """(start, end, surface, regions) for the longest gazetteer surface at each token."""
    gaz = gazetteer().by_surface
    not_places = set(_extension()["not_places"])
    prefixes = _prefixes()
    tokens = as_tokens(tokens)
    words, starts, ends = tokens.words, tokens.starts, tokens.ends
    out, n_tokens = [], len(words)
    i = 0
    while i < n_tokens:
        first = words[i]
        if first not in prefixes:
            i += 1
            continue
        hit, surface = None, first
        joined = [first]
        for k in range(i + 1, min(i + MAX_JOIN, n_tokens)):
            nxt = surface + words[k]
            if nxt not in prefixes:
                break
            surface = nxt
            joined.append(nxt)
        for n in range(len(joined), 0, -1):
            s = joined[n - 1]
            if s in not_places:
                hit = (n, None)
                break
            regions = gaz.get(s)
            if regions:
                hit = (n, regions, s)
                break
        if hit is None:
            i += 1
            continue
        n = hit[0]
        if hit[1]:
            out.append((starts[i], ends[i + n - 1], hit[2], hit[1]))
        i += n
    return out


def _vote_home(unambiguous: list[Region], dateline: Region | None) -> Home:
    provinces, cities = Counter(), Counter()
    for r in unambiguous:
        provinces[r.province] += 1
        if r.city:
            cities[r.city] += 1
    if dateline is not None:
        provinces[dateline.province] += 3
        if dateline.city:
            cities[dateline.city] += 3
    gaz = gazetteer()
    province = gaz.by_full.get(provinces.most_common(1)[0][0]) if provinces else None
    city = None
    for full, _ in cities.most_common():
        region = gaz.by_full.get(full)
        if region and province and region.province == province.name:
            city = region
            break
    return Home(province, city)


def _closeness(region: Region, home: Home) -> int:
    if home.city is not None and (region.city == home.city.full or region.full == home.city.full):
        return 3
    if home.province is not None and region.province == home.province.name:
        return 2
    return 0


LEVEL_RANK = {"province": 3, "city": 2, "county": 1, "other": 0}


ROUTE_MARKS = "至到—-~～"
COMMON_WORD_FREQ = 300


def _choose(surface: str, regions: list[Region], home: Home, alias: bool, route: bool = False) -> Region | None:
    if len(regions) == 1:
        region = regions[0]
    else:
        region = max(regions, key=lambda r: (_closeness(r, home), LEVEL_RANK[r.level]))
        if _closeness(region, home) == 0 and sum(1 for r in regions if r.level == region.level) > 1:
            return None  # ambiguous and nothing in the article decides
    if alias and region.level in ("county", "city") and not route \
            and word_frequency(surface) > COMMON_WORD_FREQ and word_tag(surface) != "ns":
        return None  # 和平, 通道, 振兴: common words that happen to be county names
    if alias and region.level in ("county", "city") and _closeness(region, home) == 0:
        if surface not in _place_tagged_aliases():
            return None
        if region.level == "county" and not route:
            return None  # a far county's bare name (北湖, 新建, 金州) is usually a word or a brand
    if not alias and region.level == "county" and len(surface) <= 2 and _closeness(region, home) == 0:
        return None  # 北区, 城区, 矿区: two-character district names far from home are common words
    return region


def home_of(title_tokens: Tokens, body_tokens: Tokens, dateline: str | None,
            body_candidates: list[Candidate] | None = None) -> Home:
    """The article's province and city, voted by its unambiguous place mentions."""
    unambiguous = []
    if body_candidates is None:
        body_candidates = place_candidates(body_tokens)
    for candidates in (place_candidates(title_tokens), body_candidates):
        for _, _, surface, regions in candidates:
            if len(regions) == 1 and surface not in gazetteer().alias_surfaces:
                unambiguous.append(regions[0])
            elif len(regions) == 1 and regions[0].level == "province":
                unambiguous.append(regions[0])
    dl = None
    if dateline:
        dl_regions = gazetteer().by_surface.get(dateline) or []
        dl = max(dl_regions, key=lambda r: LEVEL_RANK[r.level]) if dl_regions else None
    return _vote_home(unambiguous, dl)


def find_places(text: str, tokens: Tokens, home: Home,
                candidates: list[Candidate] | None = None) -> list[PlaceMention]:
    """Place mentions of `text` (tokens of the same text), resolved against `home`."""
    gaz = gazetteer()
    out: list[PlaceMention] = []
    if candidates is None:
        candidates = place_candidates(tokens)
    for start, end, surface, regions in candidates:
        alias = surface in gaz.alias_surfaces and not any(r.name == surface for r in regions)
        route = (start > 0 and text[start - 1] in ROUTE_MARKS) or text[end:end + 1] in ROUTE_MARKS
        region = _choose(surface, regions, home, alias, route)
        if region is not None:
            out.append(PlaceMention(surface, start, end, region, "alias" if alias else "name"))
    home_words, heads, verbs, abbreviations = _deictic_tables()
    tokens = as_tokens(tokens)
    words = tokens.words
    n = len(words)
    for i in _deictic_positions(words):
        text_i = words[i]
        level = home_words.get(text_i)
        if level is None and text_i in heads and i + 1 < n and text_i + words[i + 1] in home_words:
            tok = Token(text_i + words[i + 1], tokens.starts[i], tokens.ends[i + 1])
            level = home_words[tok.text]
        elif level:
            tok = tokens[i]
        if level:
            region = home.city if level == "city" else home.province
            if region is not None:
                out.append(PlaceMention(tok.text, tok.start, tok.end, region, "home"))
            continue
        if text_i[0] in verbs:
            abbr = _abbreviation(tokens, i, verbs, abbreviations, home)
            if abbr is not None:
                out.append(abbr)
    out.sort(key=lambda p: p.start)
    return out


def _deictic_positions(words: list[str]) -> list[int]:
    """Indices of the tokens that can open a deictic place (我市, 全省) or a movement verb + an
    abbreviation (来辽): a few per article, found with set lookups instead of a loop over all."""
    openers, verbs = _deictic_openers()
    return [i for i, w in enumerate(words) if w in openers or w[:1] in verbs]


@lru_cache(maxsize=1)
def _deictic_openers() -> tuple[frozenset[str], frozenset[str]]:
    home_words, heads, verbs, _ = _deictic_tables()
    return frozenset(home_words) | heads, verbs


@lru_cache(maxsize=1)
def _deictic_tables():
    """(home word -> level, their first characters, movement verbs, abbreviation chars)."""
    ext = _extension()
    home_words = {w: "city" for w in ext["home_words"]["city"]}
    home_words.update({w: "province" for w in ext["home_words"]["province"]})
    heads = frozenset(w[:k] for w in home_words for k in range(1, len(w)))
    return home_words, heads, frozenset(ext["abbreviations"]["verbs"]), dict(ext["abbreviations"]["chars"])


def _abbreviation(tokens, i, verbs, abbreviations, home: Home) -> PlaceMention | None:
    """来辽 / 返辽: a movement verb + a one-character abbreviation of the article's own region."""
    tok = tokens[i]
    if len(tok.text) == 2 and tok.text[0] in verbs and tok.text[1] in abbreviations:
        char_start = tok.start + 1
    elif tok.text in verbs and i + 1 < len(tokens) and tokens[i + 1].text in abbreviations:
        char_start = tokens[i + 1].start
    else:
        return None
    char = tok.text[1] if len(tok.text) == 2 else tokens[i + 1].text
    gaz = gazetteer()
    for full in abbreviations[char]:
        region = gaz.by_full.get(full)
        if region is not None and _closeness(region, home) >= (3 if region.level == "city" else 2):
            return PlaceMention(char, char_start, char_start + 1, region, "abbreviation")
    return None


def resolve_name(name: str | None) -> Region | None:
    """A place written on its own (a dateline, a region label) -> Region, preferring higher levels."""
    if not name:
        return None
    regions = gazetteer().by_surface.get(name) or []
    return max(regions, key=lambda r: LEVEL_RANK[r.level]) if regions else None
