"""The annotator's checking pass over a facts gold file (not a test: its output is for a person).

    .venv/bin/python tests/gold/facts/check.py tests/gold/facts/train.jsonl

1. Every amount written with Arabic digits (money `text`, a project's `investment_text`, an
   indicator's `value_text`) is re-read by a small parser and printed where the parser's reading
   differs from the annotated value: either the annotation or the parser is wrong, a person decides.
2. Every 元, 亿 and currency word next to a numeral that no annotated money amount covers is
   printed with its context, so an amount the annotator passed over is seen (words in which 元
   is no money, such as 元旦 or 单元, are left out).
"""
from __future__ import annotations

import json
import re
import sys
from decimal import Decimal

FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
MULTIPLIERS = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8, "兆": 10**12}
# A number, an optional 多/余 or 个, then multiplier characters (3000万, 1.2万亿, 120余亿, 12个亿);
# not a number of years, months or days (5年内投资180亿元).
AMOUNT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:多|余)?\s*个?(?:多|余)?([十百千万亿兆]*)"
                    r"(?![\d.,年月天周岁]|日(?![元圆]))")
RANGE_SIGN = re.compile(r"\s*[-—~～至到]")
UNIT_KILO = re.compile(r"千(?=[瓦克米伏焦])")  # 千瓦, 千克 …: a unit, not a multiplier
NO_MONEY = re.compile(r"元旦|单元|多元|元素|公元|元件|元器件|元宵|元年|元老|元首|元帅|状元|纪元|元气|亿万|"
                      r"[一二三]元[化论结]|元月|元宝|美元区|欧元区")
CURRENCY_MARKS = re.compile(r"[元亿镑]|人民币|港币|卢布|比索|卢比|印尼盾|韩币|台币|美金")
NUMERAL = re.compile(r"[0-9０-９〇零一二两三四五六七八九十百千万亿几数]")


def multiplier(chars: str) -> int:
    value = 1
    for ch in chars:
        value *= MULTIPLIERS[ch]
    return value


def read_amounts(text: str) -> list[Decimal]:
    """The Arabic amounts in a phrase, multipliers applied. A range's bare low end takes the
    multiplier of its high end (6-8亿元 is 6亿 to 8亿, 4000元~2.2万元 is 4000 to 22000)."""
    text = re.sub(r"(\d)\s+\.", r"\1.", UNIT_KILO.sub("", text.translate(FULL_WIDTH)))  # 1 .8亿元
    hits = list(AMOUNT.finditer(text))
    found = [(Decimal(hit.group(1).replace(",", "")), hit.group(2)) for hit in hits]
    if len(found) == 2 and not found[0][1] and RANGE_SIGN.match(text, hits[0].end()):
        found[0] = (found[0][0], found[1][1])
    return [n * multiplier(mult) for n, mult in found]


def annotated(low, high) -> list[Decimal]:
    return [Decimal(str(v)) for v in (low, high) if v is not None]


def differs(phrase: str, values: list[Decimal], scale: int = 1) -> bool:
    read = read_amounts(phrase)
    return bool(read) and [v * scale for v in values] != read


def number_report(record: dict) -> list[str]:
    out = []
    for m in record["money"]:
        if not m["vague"] and differs(m["text"], annotated(m["value"], m["value_max"])):
            out.append(f"money {m['text']!r}: annotated {m['value']}–{m['value_max']}, "
                       f"read {read_amounts(m['text'])}")
    for p in record["projects"]:
        value = annotated(p["investment_value"], p["investment_value_max"])
        if p["investment_text"] and differs(p["investment_text"], value):
            out.append(f"project {p['name']} {p['investment_text']!r}: annotated {p['investment_value']}, "
                       f"read {read_amounts(p['investment_text'])}")
    for i in record["indicators"]:
        # The value is in the unit as written, so the multiplier of the unit is read back off.
        scale = multiplier(re.match(r"[十百千万亿兆]*", UNIT_KILO.sub("", i["unit"])).group())
        percent = i["unit"] in ("%", "个百分点")
        if not percent and differs(i["value_text"], annotated(i["value"], i["value_max"]), scale):
            out.append(f"indicator {i['metric']} {i['value_text']!r}: "
                       f"annotated {i['value']}–{i['value_max']} {i['unit']}")
    return out


def near_numeral(text: str, mark: re.Match) -> bool:
    return bool(NUMERAL.search(text[max(0, mark.start() - 4):mark.start()] + text[mark.end():mark.end() + 2]))


def uncovered_report(record: dict) -> list[str]:
    text = record["text"]
    covered = set()
    for m in record["money"]:
        for hit in re.finditer(re.escape(m["text"]), text):
            covered.update(range(hit.start(), hit.end()))
    for word in NO_MONEY.finditer(text):
        covered.update(range(word.start(), word.end()))
    marks = [mark for mark in CURRENCY_MARKS.finditer(text)
             if mark.start() not in covered and near_numeral(text, mark)]
    return [f"uncovered {mark.group()!r}: …{text[max(0, mark.start() - 15):mark.end() + 8]}…".replace("\n", " ⏎ ")
            for mark in marks]


def main(path: str) -> None:
    for line in open(path, encoding="utf-8"):
        record = json.loads(line)
        report = number_report(record) + uncovered_report(record)
        if report:
            print(f"## {record['id']}")
            print("\n".join("   " + item for item in report))


if __name__ == "__main__":
    main(sys.argv[1])
