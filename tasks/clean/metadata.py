"""Article metadata: bylines, datelines, publication date and time, outlet.

Where it comes from:
- lines the cleaner moved out of the body (bylines, credits, date stamps: rules.json);
- on web pages, the lines under the headline (the page's own stamp and byline, which
  trafilatura leaves out of the main text: `html.header_lines`) and the page's metadata (publication
  meta tags, htmldate's original-date search, the URL);
- the text itself: datelines ('人民网长春2月18日电'), print-edition credits ('《光明日报》（2024年05月11日
  09版）'), the years it reports about.

Dates are kept at the precision the page gives (`published_date` full or partial, `published_time`
where a time is stated) with the place they were read from (`date_source`). Candidates come in a
fixed order of trust, the first plausible one wins: the page's byline/stamp, its publication meta
tags, a stamp line in the text, the page's closing credits, htmldate, the container's date, the
URL, and the body only when none of these gives a full date. A date after
`latest` (the crawl, or today) or before 1990 is no publication date. No year is ever taken from
world knowledge.

Names: `authors` are the writers of any kind (记者, 作者, 文/, 撰稿, a dateline's names, a forum
poster); `reporters` are those named as 记者/通讯员 (and a news agency dateline's names); `editors`
the 责任编辑/编辑/责编/选稿 credits. The outlet is an organisation: a value that looks like a
person's name (the extractor's name rule, `looks_like_person`) is never one.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import unquote, urlparse

from .text import ascii_digits

EARLIEST = date(1990, 1, 1)  # no page in this corpus predates the Chinese web; earlier dates are history
CHINA_TZ = timezone(timedelta(hours=8))  # a timestamp with a zone is read as the outlets' local time

# Source values that name no outlet.
GENERIC_OUTLETS = {"本报", "本网", "本站", "本刊", "互联网", "网络", "网友", "综合", "网络综合", "网友上传", "本台",
                   "无", "未知", "不详", "佚名", "原创"}
# Words that follow names in credits but are not names.
CREDIT_VERBS = {"报道", "撰写", "整理", "拍摄", "摄", "提供", "采写", "综合报道", "翻摄", "摄影", "制图",
                "整合", "综合", "编译", "编辑", "报道组", "发自"}
# Other roles in a credit line: the names after them are not the labelled role's ('编辑 周褶褶 ｜ 排版 魏蔚').
OTHER_ROLES = {"排版", "监制", "统筹", "策划", "设计", "制作", "出品", "美编", "视觉", "审校", "终审", "初审",
               "校对", "审核", "校审", "编审", "翻译"}
# Prefixes of a source value that are not part of the outlet's name.
SOURCE_PREFIXES = ("综合自", "综合", "转自", "转载自", "摘自", "来自", "稿源")
# Widget words glued to a source value by the page's layout ('求是网参与互动').
WIDGET_TAILS = ("参与互动", "参与讨论", "我要评论", "手机看新闻", "字号", "打印", "分享到", "分享", "关注")
_NOT_AN_OUTLET = re.compile(r"版权|Copyright|©|All Rights|\(c\)", re.I)
# Endings of organisations, outlets and places: such a text is never a person's name.
ORG_ENDINGS = re.compile(r"(?:报|网|社|台|刊|站|局|委|办|厅|部|院|所|会|处|司|署|馆|队|团|组|室|科|校|"
                         r"中心|公司|集团|频道|新闻|财经|资讯|在线|客户端|发布|日报|晚报|周刊|杂志|"
                         r"省|市|县|区|镇|乡|村|州|盟|旗)$")
COMPOUND_SURNAMES = {"欧阳", "上官", "司马", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙",
                     "宇文", "司徒", "夏侯", "轩辕", "端木", "西门", "南宫", "独孤", "澹台"}
_PERSON_SHAPE = re.compile(r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff·]{1,10}")
_NAME_TOKEN = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
_SPACED_NAME = re.compile(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]) ([\u4e00-\u9fff])(?![\u4e00-\u9fff])")  # '贾 丽'
_STAFF_CODE = re.compile(r"[_\s]*[A-Za-z]{1,4}\d{2,6}\b")  # '李曦_NN2587', '朱家浒 PN054'
_BRACKETS = str.maketrans("", "", "《》“”\"「」【】[]（）()")
# '新华社发（刘满仓摄）', '…图片记者黎旭阳、李妍摄', '中新社记者 刘关关 摄'
_PHOTO_CREDIT = re.compile(r"[（(]([^（()）]{2,30}?)\s*(?:翻)?摄\s*[)）]|(?:记者|通讯员|摄影师?|摄影队)\s*"
                           r"([\u4e00-\u9fff·、\s]{2,20}?)\s*(?:翻)?摄\s*$")
_BRACKET_CREDIT = re.compile(r"^\s*【([^】]{2,16})】")
_CLOSING_CREDIT = re.compile(r"[（(]([^（()）]{2,30})[)）]\s*$")  # '…先行区。（中国证券报）', '…（记者 王日谭）'
_NAME_BEFORE_ROLE = re.compile(r"([\u4e00-\u9fff·]{2,4})\s*[（(]\s*$")
_OUTLET_BEFORE = re.compile(r"([\u4e00-\u9fff·]{2,12})$")
# Parts of a source value ('北青网-北京青年报', '澎湃新闻·澎湃号·政务', '参考消息、海外网'); spaces
# separate Chinese names only ('Yahoo Finance' is one name).
_OUTLET_PARTS = re.compile(r"[、,，|｜]+|[-－—·]+|(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])")
# A widget prompt, not a name ('下载客户端', '关注我们').
_PROMPT = re.compile(r"^(?:下载|打开|扫码|扫一扫|关注|登录|进入|查看|点击|返回|分享|订阅)")

_DATETIME = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:[-/.年]\s*|\s+(?=\d{1,2}/))(?P<m>\d{1,2})\s*[-/.月]\s*"
    r"(?P<d>\d{1,2})(?:(?!\d)|(?=\d{1,2}[:：]\d{2}))\s*日?"
    r"(?:\s*(?:[T\-]|星期.|週.|周.)?\s*(?P<ampm>上午|下午|中午|晚上|凌晨)?\s*(?P<H>\d{1,2})\s*[:：时]\s*"
    r"(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?(?:\.\d+)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?")
_YEAR_MONTH = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})(?:\s*月)?$")
_YEAR_ONLY = re.compile(r"((?:19|20)\d{2})\s*年?$")
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12]\d|3[01])(?!\d)")
_PRINT_CREDIT = re.compile(r"《[^》]{2,12}》\s*[（(]\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")
_DATELINE = re.compile(
    r"^(?P<outlet>新华社|中新社|中新网|人民网|新华网|央视网|光明网|国际在线|本报|本网|"
    r"[\u4e00-\u9fff]{2,6}?(?:社|网|报|台))"
    r"(?P<place>[\u4e00-\u9fff]{2,8}?)?"
    r"(?:(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日(?:电|讯)"
    r"(?:\s*[（(](?P<reporter>[\u4e00-\u9fff]{0,6}?(?:记者|通讯员))?\s*(?P<names>[^)）]{2,30})[)）])?"
)
_REPORTER_LEAD = re.compile(r"^(?P<outlet>[\u4e00-\u9fff·]{2,12}?)?(?:首席|特约|实习)?记者\s*"
                            r"(?P<names>[\u4e00-\u9fff]{2,4}(?:[、\s][\u4e00-\u9fff]{2,4})*?)\s*"
                            r"(?:(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日(?:报道|电|讯)")
# '本报讯（记者叶婉）', '北京商报讯（记者 岳品瑜 董晗萱）'
_BAOXUN = re.compile(r"^(?P<outlet>本报|本网|[\u4e00-\u9fff]{2,10}?(?:报|网|社|台|刊))讯\s*"
                     r"(?:[（(](?:记者|通讯员)\s*(?P<names>[^)）]{2,30})[)）])?")
_YEAR_MENTION = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*[-—–~～至到]\s*((?:19|20)\d{2}))?\s*年(前|之前|以前|将)?")
# A year right after these words is a plan, forecast or target, not the time of writing.
_FUTURE_CUE = re.compile(r"(?:(?<!截)[到至]|力争|计划|预计|预测|预期|展望|规划|有望|争取|目标|将于|将在|、)\W?$")

# Publication timestamps in page metadata, most specific first (keys lower-cased, spaces removed).
PUBLISHED_META = ("article:published_time", "datepublished", "og:release_date", "og:time", "pubdate",
                  "publishdate", "publish_date", "publishtime", "publish-date", "firstpublishedtime",
                  "weibo:article:create_at", "dc.date.issued", "parsely-pub-date", "sailthru.date")

# Credit labels of byline lines, each with the field it fills. A short label needs a separator.
_SEP = r"\s*[:：/／|｜]\s*"
CREDIT_LABELS = (
    ("updated", r"最后更新|更新时间|更新于|修改时间"),
    ("published", r"发布时间|发布日期|发稿时间|发表时间|发表日期|发帖时间|发布于|发表于|出版时间|"
                  r"(?:时间|日期)(?=" + _SEP + ")"),
    ("source", r"(?<!图片)(?<!资料)(?<!数据)(?:信息|文章|稿件|新闻|本文)?来源(?:于)?|稿源|转载自|转自"),
    ("poster", r"发布人|发布者|发帖人|发表人|楼主|上传者"),
    ("editor", r"责任编辑|責任編輯|责编|值班编辑|(?<!摄)编辑|選稿|选稿|编审"),
    ("author", r"作者|撰文|撰稿|原创|编译(?=" + _SEP + ")|文(?=" + _SEP + ")"),
    ("reporter", r"(?:首席|特约|实习|见习)?记者|通讯员"),
    ("photographer", r"摄影|摄像|图(?=" + _SEP + ")"),
)
_LABEL = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in CREDIT_LABELS))
_LABEL_SEP = re.compile(r"^\s*[:：/／|｜]?\s*")


# ---------------------------------------------------------------- names

@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    from .rules import surname_class
    return frozenset(surname_class().strip("[]"))


@lru_cache(maxsize=4096)
def looks_like_person(text: str) -> bool:
    """A personal name: 2-4 Han characters (or a transcribed name with '·') that start with a
    common surname, do not end like an organisation or a place, and that the extractor's name
    rule accepts (jieba does not know them as another kind of word)."""
    from newsgate.tasks.extract.people import _looks_like_name
    text = (text or "").strip()
    if not _PERSON_SHAPE.fullmatch(text) or ORG_ENDINGS.search(text):
        return False
    if "·" in text:
        return True
    if text[:2] not in COMPOUND_SURNAMES and text[0] not in _surnames():
        return False
    return _looks_like_name(text)


def _name_at_edges(segment: str) -> str | None:
    """The name in '方敏北京大学经济学院教授' or '研究员徐占忱': a person-like start or end whose
    remainder begins/ends with a dictionary word of two or more characters."""
    from newsgate.tasks.extract.tokenize import word_tag
    for n in (3, 2):
        head, rest = segment[:n], segment[n:]
        if looks_like_person(head) and any(word_tag(rest[:k]) for k in range(min(len(rest), 6), 1, -1)):
            return head
        tail, rest = segment[-n:], segment[:-n]
        if looks_like_person(tail) and any(word_tag(rest[-k:]) for k in range(min(len(rest), 6), 1, -1)):
            return tail
    return None


def split_names(text: str, strict: bool = False) -> list[str]:
    """Personal names from a credit value: 2-4 Han characters each, credit verbs and staff codes
    dropped; a name glued to an affiliation or after a job title is found at its edge. `strict`
    (values without a credit label) keeps only tokens that look like a person."""
    names = []
    text = _STAFF_CODE.sub(" ", text.translate(_BRACKETS))
    text = _SPACED_NAME.sub(lambda m: m.group(1) + m.group(2) if m.group(1) in _surnames() else m.group(0), text)
    for token in re.split(r"[\s、,，/／|｜;；:：\-－—]+", text.strip()):
        for verb in sorted(CREDIT_VERBS, key=len, reverse=True):
            if token.endswith(verb) and len(token) > len(verb):
                token = token[: -len(verb)]
                break
        if token in OTHER_ROLES or _PROMPT.match(token):
            break
        if token in CREDIT_VERBS or not token:
            continue
        if _NAME_TOKEN.match(token) and (looks_like_person(token) if strict else not ORG_ENDINGS.search(token)):
            names.append(token)
        elif len(token) > 4 and re.fullmatch(r"[\u4e00-\u9fff]+", token):
            name = _name_at_edges(token)
            if name:
                names.append(name)
    return list(dict.fromkeys(names))


def named_outlet(value: str | None) -> str | None:
    """The outlet a source value names: its first part ('北青网-北京青年报' -> 北青网), without
    dates, brackets and glued widget words; None for generic or copyright text and for a
    person's name."""
    if not value or _NOT_AN_OUTLET.search(value):
        return None
    value = _DATETIME.sub(" ", ascii_digits(value)).translate(_BRACKETS).strip(" /|｜:：-－—·")
    for prefix in SOURCE_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix):]
    first = next((p for p in _OUTLET_PARTS.split(value) if p), "")
    for tail in WIDGET_TAILS:
        if first.endswith(tail) and len(first) > len(tail) + 1:
            first = first[: -len(tail)]
    if (not first or first in GENERIC_OUTLETS or first.startswith("本") or len(first) > 20
            or _PROMPT.match(first) or looks_like_person(first)):
        return None
    return first


def bracket_outlet(body: str) -> str | None:
    """A reprint credit opening or closing the text: '【慧聪印刷网】如今的出版社…',
    '…先行区。（中国证券报）'."""
    for m in (_BRACKET_CREDIT.match(body), _CLOSING_CREDIT.search(body)):
        if m and looks_like_outlet(m.group(1)):
            return m.group(1)
    return None


def closing_credits(body: str) -> Credits:
    """Credits in brackets closing the text: '…前景良好。（记者 王日谭）'."""
    m = _CLOSING_CREDIT.search(body)
    return parse_credit_line(m.group(0)) if m and _labels(m.group(1)) else Credits()


def looks_like_outlet(text: str) -> bool:
    """An unlabelled line that names an outlet ('新浪财经', '中国新闻网', 'www.ebid360.com')."""
    text = text.strip()
    return (2 <= len(text) <= 16 and not _PROMPT.match(text) and not looks_like_person(text)
            and bool(re.fullmatch(r"[\u4e00-\u9fff·]+(?:报|网|社|台|刊|新闻|财经|客户端|日报|晚报|周刊)"
                                  r"|(?:www\.)?[a-z0-9-]+\.(?:com|cn|net|org)(?:\.cn)?", text)))


# ---------------------------------------------------------------- dates

@dataclass(frozen=True)
class Stated:
    """A publication date as the page states it: ISO date (full or partial), time, where from."""
    date: str
    time: str | None
    source: str


def parse_datetime(text: str | None) -> tuple[str, str | None] | None:
    """(ISO date, time or None) of the first full date in the text: 2019-09-26 12:11,
    2019年09月09日 20:52, 2024 05/09 22:27:02, 2011年09月29, 2024年5月22日週三 上午8:21,
    2024-05-22T00:21:04Z (a zone is converted to UTC+8). None when no valid full date."""
    if not text:
        return None
    for m in _DATETIME.finditer(ascii_digits(str(text))):
        try:
            day = date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            continue
        if m["H"] is None:
            return day.isoformat(), None
        hour, minute, second = int(m["H"]), int(m["M"]), m["S"]
        if m["ampm"] in ("下午", "晚上") and hour < 12:
            hour += 12
        if hour > 23 or minute > 59 or (second and int(second) > 59):
            return day.isoformat(), None
        if m["tz"]:
            zone = m["tz"].replace(":", "")
            offset = timezone.utc if zone == "Z" else timezone(
                (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
            moment = datetime(day.year, day.month, day.day, hour, minute, int(second or 0), tzinfo=offset)
            moment = moment.astimezone(CHINA_TZ)
            day, hour, minute = moment.date(), moment.hour, moment.minute
        time = f"{hour:02d}:{minute:02d}" + (f":{int(second):02d}" if second else "")
        return day.isoformat(), time
    return None


def iso_date(text: str | None) -> str | None:
    """ISO form of a stated date: YYYY-MM-DD, or YYYY-MM / YYYY when only that is stated."""
    if not text:
        return None
    full = parse_datetime(text)
    if full:
        return full[0]
    text = ascii_digits(str(text)).strip()
    m = _YEAR_MONTH.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    m = _YEAR_ONLY.match(text)
    return m.group(1) if m else None


def stated(text: str | None, source: str) -> Stated | None:
    """A Stated date from a text holding one (a stamp line, a meta value)."""
    found = parse_datetime(text)
    if found:
        return Stated(found[0], found[1], source)
    partial = iso_date(text)
    return Stated(partial, None, source) if partial else None


def plausible(iso: str, latest: date) -> bool:
    """Not before 1990, not after `latest` (the crawl, or today), at the precision given."""
    parts = [int(p) for p in iso.split("-")]
    return (EARLIEST.year <= parts[0] and
            tuple(parts) <= (latest.year, latest.month, latest.day)[:len(parts)])


def meta_dates(meta: dict[str, str]) -> list[Stated]:
    """Publication timestamps from the page's meta tags (PUBLISHED_META order)."""
    found = (stated(meta.get(key), "meta") for key in PUBLISHED_META)
    return [s for s in found if s and len(s.date) == 10]


def htmldate_stated(value: str | None) -> Stated | None:
    """htmldate's find (via trafilatura, '%Y-%m-%d %H:%M:%S'): midnight means 'no time given'."""
    found = stated(value, "meta")
    if found and found.time in ("00:00", "00:00:00"):
        found = replace(found, time=None)
    return found


def url_date(url: str | None) -> Stated | None:
    """A date in the URL's path: /2005-03-21/, /20220213/, /2016/11/22/, /2024/0517/, t20240513_."""
    if not url:
        return None
    m = _URL_DATE.search(unquote(urlparse(str(url)).path))
    if not m:
        return None
    try:
        return Stated(date(*map(int, m.groups())).isoformat(), None, "url")
    except ValueError:
        return None


def infer_year(text: str) -> int | None:
    """Latest year the text reports about; plan/forecast years ('力争2030年', '2020年前') are skipped.

    Single years win over periods; a period ('2014—2018年' review) counts by its end year only
    when the text names no single year, since a period may also be a plan ('2019-2021年')."""
    text = ascii_digits(text)
    single, period_ends = [], []
    for m in _YEAR_MENTION.finditer(text):
        if m.group(3) or _FUTURE_CUE.search(text[max(0, m.start() - 4): m.start()]):
            continue
        if m.group(2):
            period_ends.append(int(m.group(2)))
        else:
            single.append(int(m.group(1)))
    years = single or period_ends
    return max(years) if years else None


def body_dates(dateline: "Dateline | None", body: str) -> list[Stated]:
    """Dates the text gives: a print-edition credit ('《光明日报》（2024年05月11日 09版）'), a
    dateline month/day with a year the text names, else the year alone."""
    found = []
    credit = _PRINT_CREDIT.search(ascii_digits(body))
    if credit:
        found.append(stated(credit.group(1), "body"))
    year = infer_year(body)
    if dateline and dateline.month and year:
        try:
            found.append(Stated(date(year, dateline.month, dateline.day).isoformat(), None, "body"))
        except ValueError:
            pass
    if year:
        found.append(Stated(f"{year:04d}", None, "body"))
    return [s for s in found if s]


def choose_published(candidates: list[Stated | None], latest: date,
                     fallback: Callable[[], list[Stated]] | None = None) -> Stated | None:
    """The first plausible candidate (they come most trusted first), refined by a later one that
    gives the same date more precisely (the day of a year, the time of a day). `fallback` (the
    body's dates, slower to find) is read only when the candidates give no full date."""
    kept = [c for c in candidates if c and plausible(c.date, latest)]
    if fallback and not any(len(c.date) == 10 for c in kept):
        kept += [c for c in fallback() if plausible(c.date, latest)]
    if not kept:
        return None
    best = kept[0]
    for other in kept[1:]:
        if len(other.date) > len(best.date) and other.date.startswith(best.date):
            best = replace(other, source=best.source if len(best.date) == 10 else other.source)
        elif other.date == best.date and best.time is None and other.time:
            best = replace(best, time=other.time)
    return best


# ---------------------------------------------------------------- bylines and credits

@dataclass
class Credits:
    """What credit lines say about an article (names appended in page order)."""
    outlet: str | None = None        # named by a byline prefix ('/吉林日报记者'), a poster, a bare outlet line
    source: str | None = None        # named by a source line ('来源：…'): the stronger outlet
    authors: list[str] = field(default_factory=list)       # writers not named as 记者
    reporters: list[str] = field(default_factory=list)
    photographers: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    date: Stated | None = None

    _LISTS = ("authors", "reporters", "photographers", "editors")

    def merge(self, other: "Credits") -> None:
        """Add what `other` says (names appended, first outlet/source/date kept)."""
        self.outlet = self.outlet or other.outlet
        self.source = self.source or other.source
        self.date = self.date or other.date
        for name in self._LISTS:
            mine = getattr(self, name)
            mine.extend(n for n in getattr(other, name) if n not in mine)

    def fill_from(self, other: "Credits") -> None:
        """Take `other`'s values only where this says nothing (page credits under an article's own)."""
        self.outlet = self.outlet or other.outlet
        self.source = self.source or other.source
        self.date = self.date or other.date
        for name in self._LISTS:
            if not getattr(self, name):
                setattr(self, name, list(getattr(other, name)))

    def writers(self) -> list[str]:
        """Every writer: authors and reporters, in page order, each once."""
        return list(dict.fromkeys(self.authors + self.reporters))


def _labels(text: str) -> list[re.Match]:
    """Credit labels that stand as labels: followed by a separator or a space, or set off from
    the text before them ('版权归原作者所有', '仅代表作者本人', '网站地图' hold no label). A label
    of one character ('文/', '图：') needs both."""
    found = []
    for m in _LABEL.finditer(text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        set_off = not before.isalpha() or before.isascii()
        separated = after.isspace() or after in ":：/／|｜"
        if (set_off and separated) if len(m.group()) == 1 else (set_off or separated):
            found.append(m)
    return found


def _value(text: str) -> str:
    """A label's value up to an unbalanced closing bracket or the next 'word：' label
    ('徐占忱）返回搜狐，查看更多', '南帆 分享到：')."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "（(【[":
            depth += 1
        elif ch in "）)】]":
            if depth == 0:
                return text[:i]
            depth -= 1
    return re.split(r"\s\S{1,6}[:：]", text, maxsplit=1)[0]


def parse_credit_line(line: str) -> Credits:
    """A byline/stamp line read by its labels: '2019-09-26 12:11来源：证券时报网作者：李在山',
    '来源：光明日报 作者：南帆', '[作者: 刘满仓 责任编辑: 杨丹宇 ]', '楼主：X 发表于 2008-3-4 12:33'.
    A date before any label is the line's stamp; an unlabelled remainder is a bare outlet
    ('2024-05-20 14:33·新华社') or a name after the date ('2005年3月21日 11:21 张三')."""
    credits = Credits()
    text = ascii_digits(line)
    labels = _labels(text)
    date_found, has_byline = None, False
    lead = text[: labels[0].start()] if labels else text
    lead_date = parse_datetime(lead)
    if lead_date:
        date_found = lead_date
        lead = _DATETIME.sub(" ", lead)
    pieces = [p for p in re.split(r"[\s·|｜]+", lead.translate(_BRACKETS)) if p]
    for piece in pieces if len(pieces) <= 2 else ():  # more is a widget row ('QQ空间 新浪微博 人人网')
        if looks_like_outlet(piece):
            credits.outlet = credits.outlet or piece
        elif looks_like_person(piece) and (lead_date or (labels and labels[0].lastgroup == "published")):
            credits.authors.append(piece)  # the poster's name before '发表于', a name after the date
    for i, m in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        raw = _LABEL_SEP.sub("", text[m.end():end])
        kind = m.lastgroup
        if kind in ("published", "updated"):
            found = parse_datetime(raw)
            if found and (kind == "published" or not date_found):
                date_found = date_found if (date_found and kind == "updated") else found
            continue
        date_found = date_found or parse_datetime(raw)  # '来源：光明网-《光明日报》2024-05-20 03:15'
        value = _value(_DATETIME.sub(" ", raw)).strip()
        has_byline = True
        if kind == "reporter" and re.search(r"摄\s*$", value):
            kind = "photographer"  # '新华社记者 李梦馨 摄' credits a photo
        if kind == "source":
            credits.source = credits.source or named_outlet(value)
        elif kind in ("poster", "author"):
            names = split_names(value, strict=kind == "poster")
            if names:
                credits.authors.extend(n for n in names if n not in credits.authors)
                if re.match(r"图\s", value):  # '文/图 刘玺东 易赛楠': text and pictures
                    credits.photographers.extend(names)
            elif kind == "poster" or not _NAME_TOKEN.match(value):
                credits.source = credits.source or named_outlet(value)  # '作者：新京报', '发布人：证券时报'
        elif kind == "reporter":
            before = text[:m.start()]
            named = _NAME_BEFORE_ROLE.search(before)  # '王海玲（记者）'
            credits.reporters.extend(split_names(value, strict=True) or ([named.group(1)] if named else []))
            prefix = _OUTLET_BEFORE.search(before)  # '东方早报记者', '中青报·中青网记者', not '…本刊记者'
            if prefix and looks_like_outlet(prefix.group(1).split("·")[-1]) and not re.search(
                    r"本[报刊网台社]$", prefix.group(1)):
                credits.outlet = credits.outlet or prefix.group(1)
        elif kind == "editor":
            credits.editors.extend(split_names(value))
        elif kind == "photographer":
            credits.photographers.extend(split_names(value))
    if date_found:
        # a labelled time ('发布时间：') is the page's stamp; an unlabelled date in a line of
        # credits ('2019-09-26 12:11来源：…作者：…') is its byline
        labelled = any(m.lastgroup in ("published", "updated") for m in labels)
        byline = not labelled and (has_byline or credits.outlet or credits.authors)
        credits.date = Stated(date_found[0], date_found[1], "byline" if byline else "stamp")
    return credits


def parse_header(lines: list[str]) -> Credits:
    """The credits of the lines under a web page's headline, the first line's date first."""
    credits = Credits()
    for line in lines:
        credits.merge(parse_credit_line(line))
    return credits


FOOTER_CONTINUATION = 12  # '杨丹宇 ]' continues '[作者: 刘满仓 责任编辑:'; a longer line is something else


def parse_footer(lines: list[str]) -> Credits:
    """The credits after a web page's text: only lines with a credit label count (the rest are
    links and furniture); a line ending in a bare label continues on the next ('[作者: 刘满仓 责任编辑:'
    + '杨丹宇 ]')."""
    credits, carry = Credits(), ""
    for line in lines:
        if carry and len(line) <= FOOTER_CONTINUATION and not re.search(r"[:：]", line):
            line = carry + " " + line
        carry = line if re.search(r"(?:" + _LABEL.pattern + r")\s*[:：]?\s*$", line) else ""
        if not carry and not re.search(r"[。！？!?]", line) and _labels(line):
            credits.merge(parse_credit_line(line))
    return credits


# ---------------------------------------------------------------- datelines and rule credits

@dataclass
class Dateline:
    outlet: str | None
    place: str | None
    month: int | None
    day: int | None
    reporters: list[str]


def parse_dateline(paragraph: str) -> Dateline | None:
    """'人民网长春2月18日电 (记者王海跃)…' / '新华社北京5月19日电（刘艺、杨吉）' at the start of a paragraph."""
    head = ascii_digits(paragraph[:60])
    m = _DATELINE.match(head)
    if m:
        names = m.group("names") or ""
        agency = m.group("reporter") or m.group("outlet") not in ("本报", "本网")
        return Dateline(named_outlet(m.group("outlet")), m.group("place"),
                        int(m.group("month")) if m.group("month") else None, int(m.group("day")),
                        split_names(names, strict=not m.group("reporter")) if agency else [])
    m = _REPORTER_LEAD.match(head)
    if m:
        return Dateline(named_outlet(m.group("outlet")), None,
                        int(m.group("month")) if m.group("month") else None, int(m.group("day")),
                        split_names(m.group("names"), strict=True))
    m = _BAOXUN.match(head)
    if m:
        return Dateline(named_outlet(m.group("outlet")), None, None, None, split_names(m.group("names") or ""))
    return None


def _page_credit(line: str) -> Credits:
    """'本版稿件由本报记者 王超 撰写' / '本版图片由…拍摄' / '本版策划 戚凯慧' (possibly several in one line)."""
    credits = Credits()
    for part in re.split(r"(?=本版)", line):
        if not part:
            continue
        after = part.split("记者", 1)[1] if "记者" in part else re.sub(r"^本版\S{2}(?:由)?", "", part)
        names = split_names(after)
        if re.search(r"图片|摄影|照片|拍摄|供图", part):
            credits.photographers += names
        elif re.search(r"稿件|文字|撰稿|撰文|撰写|整理", part):
            credits.reporters += names
        else:
            credits.editors += names
    return credits


# Rules whose lines are read label by label (parse_credit_line).
CREDIT_RULES = {"author_line", "editor_line", "credit_line", "source_line", "source_line_paren",
                "date_source_line"}


def credits_from_rule(rule_id: str, match: re.Match, line: str) -> Credits:
    """What a matched boilerplate line says about the article."""
    groups = match.groupdict()
    if rule_id == "page_credit":
        return _page_credit(line)
    credits = Credits()
    if rule_id.startswith("byline"):
        credits.reporters = split_names(groups.get("names") or "")
        credits.outlet = named_outlet(groups.get("outlet"))
    elif rule_id in CREDIT_RULES:
        credits = parse_credit_line(line)
        if rule_id == "author_line" and not credits.writers():
            credits.authors = split_names(groups.get("names") or "")
    elif rule_id == "photo_caption":
        credit = groups.get("photographers") or " ".join(" ".join(m) for m in _PHOTO_CREDIT.findall(line))
        credits.photographers = split_names(credit, strict=True)
    if groups.get("date") and not credits.date:
        credits.date = stated(groups["date"], "byline" if rule_id == "date_source_line" else "stamp")
    return credits


def most_common(values: list[str | None]) -> str | None:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else None
