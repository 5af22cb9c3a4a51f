"""What a run changes against the previous release: the facts behind the report's change section.

Pure functions over two sets of tables (the previous release's and this run's): rows added,
removed and changed per table (`release_diff`), sources that are new, duplicate clusters that
are new or grew, and the regions whose investment total moved most.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from newsgate.tasks.release_diff import diff_frames, diff_table

TOP_CHANGES = 5  # clusters and regions listed; new sources are counted, the first few named


@dataclass
class Changes:
    previous_release: str
    rows: dict[str, dict[str, int]]  # table -> added/removed/changed/unchanged
    new_sources: list[str] = field(default_factory=list)
    clusters: pd.DataFrame = field(default_factory=pd.DataFrame)  # new or grown, largest growth first
    regions: pd.DataFrame = field(default_factory=pd.DataFrame)   # largest moves of the total first


def new_sources(old: dict, new: dict) -> list[str]:
    before, now = old.get("documents"), new.get("documents")
    if now is None or not len(now):
        return []
    seen = set(before["source"]) if before is not None and len(before) else set()
    return sorted(set(now["source"]) - seen)


def cluster_growth(old: dict, new: dict) -> pd.DataFrame:
    """Duplicate clusters (two or more articles) that are new or have more articles than in
    the previous release: cluster_id, canonical_id, before, now, growth."""
    now = new.get("clusters")
    if now is None or not len(now):
        return pd.DataFrame(columns=["cluster_id", "canonical_id", "before", "now", "growth"])
    before = old.get("clusters")
    size_now = now.groupby("cluster_id").agg(canonical_id=("canonical_id", "first"),
                                             now=("article_id", "size"))
    size_before = (before.groupby("cluster_id")["article_id"].size()
                   if before is not None and len(before) else pd.Series(dtype=int))
    size_now["before"] = size_before.reindex(size_now.index).fillna(0).astype(int)
    size_now["growth"] = size_now["now"] - size_now["before"]
    grown = size_now[(size_now["now"] > 1) & (size_now["growth"] > 0)]
    return grown.sort_values(["growth", "now"], ascending=False).reset_index()[
        ["cluster_id", "canonical_id", "before", "now", "growth"]]


def region_moves(old: dict, new: dict, limit: int = TOP_CHANGES) -> pd.DataFrame:
    """The regions whose investment total (all years, yuan) moved most: region, before, now,
    change, largest absolute change first; unchanged regions are left out."""
    def totals(tables: dict) -> pd.Series:
        stats = tables.get("region_stats")
        if stats is None or not len(stats):
            return pd.Series(dtype=float)
        return stats.groupby("region_full")["investment_yuan_total"].sum()

    before, now = totals(old), totals(new)
    both = pd.concat([before.rename("before"), now.rename("now")], axis=1).fillna(0.0)
    both["change"] = both["now"] - both["before"]
    moved = both[both["change"].abs() > 0]
    order = moved["change"].abs().sort_values(ascending=False).index[:limit]
    return moved.loc[order].rename_axis("region").reset_index()


def changes(previous_release: str | None, old: dict, new: dict) -> Changes | None:
    """The changes of `new` against the release `previous_release` (tables `old`); None when
    there is no previous release or nothing was built to compare. `new` may be a run's
    tasks.reader.ReleaseView (and `old` the previous release's): then only the rows the run
    changed are compared, and the previous rows they replace read by key."""
    if not previous_release or not new:
        return None
    if hasattr(new, "changes"):
        return _changed_by_run(previous_release, old, new)
    rows = diff_frames({t: old[t] for t in new if t in old}, new)
    return Changes(previous_release, rows, new_sources(old, new),
                   cluster_growth(old, new), region_moves(old, new))


def _changed_by_run(previous_release: str, old, new) -> Changes:
    rows = {t: _rows_changed(t, old, new) for t in sorted(set(new) | set(old))}
    documents = new.changed("documents")
    sources = set(documents["source"]) if "source" in documents else set()
    seen = old.lookup("documents", "source", sources, ["source"]) if sources else None
    grown = set(new.changed("clusters").get("cluster_id", ()))
    touched = [{"clusters": v.lookup("clusters", "cluster_id", grown,
                                     ["cluster_id", "canonical_id", "article_id"])}
               for v in (old, new)] if grown else [{}, {}]
    return Changes(previous_release, rows,
                   sorted(sources - (set(seen["source"]) if seen is not None else set())),
                   cluster_growth(*touched), region_moves(old, new))


def _rows_changed(table: str, old, new) -> dict[str, int]:
    """Rows added, removed, changed and unchanged: a table this run did not touch is
    unchanged; one it holds whole is compared whole; of one it changed, its rows are compared
    with the previous rows of the same keys, the others are unchanged."""
    published = old.previous.rows(table)
    if table not in new.tables:
        return {"added": 0, "removed": 0, "changed": 0, "unchanged": published}
    if new.whole(table):
        return diff_table(table, old.get(table), new.tables[table])
    change = new.changes[table]
    before = old.lookup(table, change.key, set(change.rows[change.key]) | set(change.drop))
    found = diff_table(table, before, change.rows)
    found["unchanged"] += published - len(before)
    return found
