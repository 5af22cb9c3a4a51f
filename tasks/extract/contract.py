"""The extract tables' contract and the helpers a gate can call.

    sanitize(tables) -> tables      coerce what the contract allows (unknown status, bad amounts)
    violations(tables, articles) -> list[str]   what still breaks it (empty = fine)

The enums mirror schemas/tables.py (a test keeps them equal); they live here too so that the
extract stage does not import pandera.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the extract stage runs in worker processes that import no pandas
    import pandas as pd

MENTION_KINDS = ["place", "person", "org", "money", "date", "percent", "count", "area"]
PROJECT_STATUSES = ["planned", "new_start", "under_construction", "completed", "in_operation",
                    "trial_production", "unknown"]
MAX_INVESTMENT_YUAN = 1e13  # no single project comes near 10^13 yuan (10万亿)


def valid_investment(yuan) -> bool:
    return yuan is not None and yuan == yuan and 0 < float(yuan) < MAX_INVESTMENT_YUAN


def sanitize(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Status outside the enum -> 'unknown'; investment outside (0, 1e13) -> null (text kept);
    mentions of an unknown kind are dropped. Returns new frames."""
    out = dict(tables)
    if "projects" in out and len(out["projects"]):
        p = out["projects"].copy()
        p.loc[~p["status"].isin(PROJECT_STATUSES), "status"] = "unknown"
        bad = ~p["investment_yuan"].map(valid_investment) & p["investment_yuan"].notna()
        p.loc[bad, "investment_yuan"] = None
        out["projects"] = p
    if "mentions" in out and len(out["mentions"]):
        m = out["mentions"]
        out["mentions"] = m[m["kind"].isin(MENTION_KINDS)].reset_index(drop=True)
    return out


def violations(tables: dict[str, pd.DataFrame], articles: pd.DataFrame | None = None) -> list[str]:
    """Contract breaches: enums, investment range, and (given articles) span quotes."""
    problems: list[str] = []
    m, p = tables.get("mentions"), tables.get("projects")
    if m is not None and len(m):
        bad = sorted(set(m.loc[~m["kind"].isin(MENTION_KINDS), "kind"]))
        if bad:
            problems.append(f"mentions.kind outside the enum: {bad}")
    if p is not None and len(p):
        bad = sorted(set(p.loc[~p["status"].isin(PROJECT_STATUSES), "status"]))
        if bad:
            problems.append(f"projects.status outside the enum: {bad}")
        inv = p["investment_yuan"].dropna()
        n_bad = int((~inv.map(valid_investment)).sum())
        if n_bad:
            problems.append(f"projects.investment_yuan outside (0, 1e13): {n_bad} rows")
        if not p["project_id"].is_unique:
            problems.append("projects.project_id not unique")
    if articles is not None:
        body = dict(zip(articles["article_id"], articles["body"]))
        for name, quoted in (("mentions", "text"), ("projects", "evidence"), ("indicators", "evidence"),
                             ("visits", "evidence")):
            df = tables.get(name)
            if df is None or not len(df):
                continue
            n_bad = sum(1 for a, s, e, q in zip(df["article_id"], df["start"], df["end"], df[quoted])
                        if body.get(a, "")[int(s):int(e)] != q)
            if n_bad:
                problems.append(f"{name}: {n_bad} rows whose span does not quote the body")
    return problems
