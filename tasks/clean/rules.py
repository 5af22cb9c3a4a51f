"""The boilerplate rule catalogue (rules.json): load it, match one line, scan a body."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .text import normalize_line

RULES_PATH = Path(__file__).with_name("rules.json")


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: str
    examples: tuple[str, ...]
    regex: re.Pattern = field(compare=False, repr=False)


def _expand(pattern: str, macros: dict[str, str]) -> str:
    """Macros may use other macros (NAME uses SURNAME): expand until nothing changes."""
    while True:
        expanded = pattern
        for name, value in macros.items():
            expanded = expanded.replace("{" + name + "}", value)
        if expanded == pattern:
            return pattern
        pattern = expanded


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """All rules in catalogue order (first match wins)."""
    data = json.loads(RULES_PATH.read_text(encoding="utf-8"))
    macros = data.get("macros", {})
    rules = []
    for entry in data["rules"]:
        pattern = _expand(entry["pattern"], macros)
        rules.append(Rule(entry["id"], entry["description"], pattern,
                          tuple(entry.get("examples", ())), re.compile(pattern)))
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate rule ids in {RULES_PATH}")
    return tuple(rules)


@lru_cache(maxsize=1)
def surname_class() -> str:
    """The catalogue's common-surname character class (also used to vet page-metadata authors)."""
    return json.loads(RULES_PATH.read_text(encoding="utf-8"))["macros"]["SURNAME"]


def match_rule(line: str) -> tuple[Rule, re.Match] | None:
    """The first rule whose regex matches the whole normalised line, with its match."""
    text = normalize_line(line)
    if not text:
        return None
    for rule in load_rules():
        m = rule.regex.fullmatch(text)
        if m:
            return rule, m
    return None


def match_line(line: str) -> str | None:
    """Rule id for a boilerplate line, None for content."""
    hit = match_rule(line)
    return hit[0].id if hit else None


def count_boilerplate(bodies: list[str]) -> list[int]:
    """How many lines of each body the catalogue calls boilerplate (the articles gate)."""
    return [len(boilerplate_hits(b)) for b in bodies]


def boilerplate_hits(body: str) -> list[tuple[str, str]]:
    """(rule_id, line) for every line of a body that the catalogue calls boilerplate."""
    hits = []
    for line in body.split("\n"):
        rule_id = match_line(line)
        if rule_id:
            hits.append((rule_id, line))
    return hits
