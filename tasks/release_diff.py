"""Compare two releases: rows added, removed and changed per table.

Tables with a key (DESIGN.md) are compared by key, so an edited row counts as changed; keyless
tables are compared as multisets of whole rows (a changed row shows as one added + one removed).
"""
from __future__ import annotations

import pandas as pd

from newsgate.schemas.contract import TABLE_KEYS
from newsgate.tasks.publish import SEQUENCE, Lake



def _row_hashes(df: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(df.astype(str), index=False)


def diff_tables(old: pd.DataFrame, new: pd.DataFrame, key: str | None) -> dict[str, int]:
    columns = sorted(set(old.columns) & set(new.columns) - {SEQUENCE})  # content, not bookkeeping
    if key is None:
        a = _row_hashes(old[columns]).value_counts()
        b = _row_hashes(new[columns]).value_counts()
        both = a.index.intersection(b.index)
        unchanged = int(pd.concat([a[both], b[both]], axis=1).min(axis=1).sum())
        return {"added": len(new) - unchanged, "removed": len(old) - unchanged,
                "changed": 0, "unchanged": unchanged}
    a = pd.Series(_row_hashes(old[columns]).values, index=old[key].values)
    b = pd.Series(_row_hashes(new[columns]).values, index=new[key].values)
    common = a.index.intersection(b.index)
    changed = int((a[common] != b[common]).sum())
    return {"added": len(b.index.difference(a.index)), "removed": len(a.index.difference(b.index)),
            "changed": changed, "unchanged": len(common) - changed}


def diff_releases(lake: Lake, r1: str, r2: str, *, uncommitted: bool = False
                  ) -> dict[str, dict[str, int]]:
    read = {"uncommitted": uncommitted}
    m1, m2 = lake.manifest(r1, **read), lake.manifest(r2, **read)
    out = {}
    for table in sorted(set(m1["tables"]) | set(m2["tables"])):
        old = lake.read_table(table, r1, **read) if table in m1["tables"] else pd.DataFrame()
        new = lake.read_table(table, r2, **read) if table in m2["tables"] else pd.DataFrame()
        if old.empty or new.empty:
            out[table] = {"added": len(new), "removed": len(old), "changed": 0, "unchanged": 0}
        else:
            out[table] = diff_tables(old, new, TABLE_KEYS.get(table))
    return out
