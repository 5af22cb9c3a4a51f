"""The facts gold is well formed: fields, quotes that occur in the text, numbers, the split rule.

Needs nothing outside the repository (the gold carries each article's text).
"""
from __future__ import annotations

import json

import pytest
from facts_gold import DRAWS, GOLD_DIR, SPLITS, load, split_of

from newsgate.schemas.contract import PROJECT_STATUSES
from newsgate.tasks.extract.numbers import UNITS_FILE

RECORD = {"id": str, "source": str, "collection": str, "site": str, "outlet": (str, type(None)),
          "section": (str, type(None)), "stratum": str, "title": (str, type(None)),
          "published": (str, type(None)), "text": str, "projects": list, "indicators": list,
          "money": list, "places": list, "places_optional": list, "notes": list}
PROJECT = {"name", "aliases", "investment_text", "investment_value", "investment_value_max",
           "investment_currency", "investment_yuan", "investment_yuan_max", "investment_qualifier",
           "status", "status_class", "place", "optional"}
INDICATOR = {"region", "period", "metric", "value_text", "value", "value_max", "unit", "qualifier",
             "evidence", "optional"}
MONEY = {"text", "value", "value_max", "currency", "value_yuan", "value_yuan_max", "qualifier", "per",
         "threshold", "vague", "occurrences"}
QUALIFIERS = {None, "多", "余", "近", "约", "左右", "以上", "以下", "超", "逾", "不足", "至少"}
STATUS_CLASSES = set(PROJECT_STATUSES) - {"unknown"} | {None}


@pytest.fixture(scope="module", params=SPLITS)
def records(request) -> list[dict]:
    return load(request.param)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_range(low, high, where: str) -> None:
    assert is_number(low), f"{where}: {low!r} is not a number"
    assert high is None or (is_number(high) and high >= low), f"{where}: range {low}–{high}"


def quotes(record: dict) -> list[tuple[str, str]]:
    """(what, string) for every string the gold claims to quote from the text."""
    out = [("place", place) for place in record["places"] + record["places_optional"]]
    for p in record["projects"]:
        out += [("project name", s) for s in [p["name"], *p["aliases"]]]
        out += [(field, p[field]) for field in ("investment_text", "status", "place") if p[field]]
    for i in record["indicators"]:
        out += [(field, i[field]) for field in ("value_text", "evidence", "region", "period") if i[field]]
    return out + [("money", m["text"]) for m in record["money"]]


def test_records_have_the_schema(records):
    assert records
    for r in records:
        assert set(r) == set(RECORD), r["id"]
        for field, kind in RECORD.items():
            assert isinstance(r[field], kind), f"{r['id']}: {field}"
        assert r["text"].strip(), r["id"]
        assert all(set(p) == PROJECT for p in r["projects"]), r["id"]
        assert all(set(i) == INDICATOR for i in r["indicators"]), r["id"]
        assert all(set(m) == MONEY for m in r["money"]), r["id"]
        assert len({m["text"] for m in r["money"]}) == len(r["money"]), f"{r['id']}: a money text twice"
        assert not set(r["places"]) & set(r["places_optional"]), r["id"]


def test_every_quoted_string_occurs_in_its_text(records):
    missing = [(r["id"], what, s) for r in records for what, s in quotes(r) if s not in r["text"]]
    assert not missing
    for r in records:
        for i in r["indicators"]:
            assert i["value_text"] in i["evidence"], (r["id"], i["value_text"])
        for m in r["money"]:
            assert 1 <= m["occurrences"] <= r["text"].count(m["text"]), (r["id"], m["text"])


def test_values_are_numbers_that_agree_with_their_currency(records):
    for r in records:
        for m in r["money"]:
            where = f"{r['id']} money {m['text']}"
            check_range(m["value"], m["value_max"], where)
            assert len(m["currency"]) == 3 and m["currency"].isupper(), where
            yuan = m["currency"] == "CNY"
            assert (m["value_yuan"], m["value_yuan_max"]) == ((m["value"], m["value_max"]) if yuan else (None, None)), where
            assert m["qualifier"] in QUALIFIERS, where
        for p in r["projects"]:
            where = f"{r['id']} project {p['name']}"
            assert p["status_class"] in STATUS_CLASSES and (p["status"] is None) == (p["status_class"] is None), where
            assert p["investment_qualifier"] in QUALIFIERS, where
            if p["investment_text"] is None:
                assert p["investment_value"] is None and p["investment_currency"] is None, where
                continue
            check_range(p["investment_value"], p["investment_value_max"], where)
            yuan = p["investment_currency"] == "CNY"
            assert p["investment_yuan"] == (p["investment_value"] if yuan else None), where
        for i in r["indicators"]:
            where = f"{r['id']} indicator {i['metric']}"
            check_range(i["value"], i["value_max"], where)
            assert i["metric"] and i["unit"] and i["qualifier"] in QUALIFIERS, where


def test_split_is_the_hash_rule_and_ids_are_unique():
    ids = []
    for split in SPLITS:
        for r in load(split):
            assert split in DRAWS or split_of(r["id"]) == split, r["id"]
            ids.append(r["id"])
    assert len(ids) == len(set(ids))


def test_both_parts_mix_sites_and_topics():
    for split in ("tune", "test"):
        records = load(split)
        families = {r["site"].split(":")[0] for r in records}
        assert len(records) >= 60 and len(families) >= 5, split
        assert {r["stratum"] for r in records} == {"project", "other"}, split


@pytest.mark.parametrize("split, least", [("train", 170), ("test2", 90)])
def test_a_later_draw_is_mixed_and_no_near_copy_of_the_other_parts(split, least):
    """A later draw (train, test2) mixes project and other news from many outlets and holds no
    copy of an article that another part holds: no text shares half of its character 5-grams
    with one of theirs (the sampler's rule)."""
    drawn = load(split)
    projects = sum(r["stratum"] == "project" for r in drawn)
    assert len(drawn) >= least and 0.55 <= projects / len(drawn) <= 0.75
    assert len({r["site"] for r in drawn}) >= 10
    others = [shingles(r["text"]) for other in SPLITS if other != split for r in load(other)]
    for r in drawn:
        grams = shingles(r["text"])
        assert not any(len(grams & other) >= 0.5 * min(len(grams), len(other)) for other in others), r["id"]


def shingles(text: str) -> set[str]:
    text = "".join(text.split())
    return {text[i:i + 5] for i in range(len(text) - 4)}


def test_number_phrases_are_well_formed():
    """tests/gold/number_phrases.tsv (conventions in tests/gold/README.md)."""
    money = {row["base"] for row in json.loads(UNITS_FILE.read_text(encoding="utf-8"))["units"]
             if row["kind"] == "money" and "/" not in row["base"]}   # a currency the extractor knows
    units = {"money": money, "count": {"个", "家", "项", "台"},
             "percent": {"%"}, "area": {"亩", "平方米", "公顷", "平方公里"}, "duration": {"年", "月", "天"}}
    lines = (GOLD_DIR.parent / "number_phrases.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["phrase", "kind", "value", "value_max", "unit", "qualifier"]
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) >= 80 and len({row[0] for row in rows}) == len(rows)
    for phrase, kind, value, value_max, unit, qualifier in rows:
        assert unit in units[kind], phrase
        check_range(float(value), float(value_max) if value_max else None, phrase)
        assert (qualifier or None) in QUALIFIERS, phrase
