"""Compare two releases: rows added, removed and changed per table.

Tables with a key (DESIGN.md) are compared by key, so an edited row counts as changed; keyless
tables are compared as multisets of whole rows (a changed row shows as one added + one removed).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from newsgate.schemas.contract import TABLE_KEYS
from newsgate.tasks.publish import SEQUENCE, Lake



def _comparable(values: pd.Series) -> pd.Series:
    """`values` as floats or text, equal when the values are, however they were held: a table
    read from Delta and the same table built in a run differ in representation only (a list
    or a numpy array, None or NaN, 3 or 3.0)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(str)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)  # hashed as numbers: 3 and 3.0 alike, no text made
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], (list, tuple, np.ndarray)):  # a list column
        values = values.map(lambda v: "\x1f".join(map(str, v)) if isinstance(
            v, (list, tuple, np.ndarray)) else v)
    return values.astype(object).fillna(MISSING).astype(str)


MISSING = "\x00"  # None, NaN, NaT and pd.NA alike


def _row_hashes(df: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(
        pd.DataFrame({c: _comparable(df[c]) for c in df.columns}), index=False)


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


def diff_table(table: str, old: pd.DataFrame | None, new: pd.DataFrame | None) -> dict[str, int]:
    """`diff_tables` for the table `table`, which may be missing (or empty) on either side."""
    old = pd.DataFrame() if old is None else old
    new = pd.DataFrame() if new is None else new
    if old.empty or new.empty:
        return {"added": len(new), "removed": len(old), "changed": 0, "unchanged": 0}
    return diff_tables(old, new, TABLE_KEYS.get(table))


def diff_frames(old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame]
                ) -> dict[str, dict[str, int]]:
    """Rows added/removed/changed per table between two sets of tables (name -> frame)."""
    return {table: diff_table(table, old.get(table), new.get(table))
            for table in sorted(set(old) | set(new))}


def diff_releases(lake: Lake, r1: str, r2: str, *, uncommitted: bool = False
                  ) -> dict[str, dict[str, int]]:
    read = {"uncommitted": uncommitted}
    m1, m2 = lake.manifest(r1, **read), lake.manifest(r2, **read)
    return diff_frames({t: lake.read_table(t, r1, **read) for t in m1["tables"]},
                       {t: lake.read_table(t, r2, **read) for t in m2["tables"]})
