"""The previous release read lazily, and the release a run builds as a view over it.

    previous = ReleaseReader(lake, manifest)        # nothing read yet
    previous.read("articles", ["article_id", "doc_id"], where=("doc_id", ids))
    view = ReleaseView(previous, run.tables, run.changes, reads=stage.reads)
    view["clusters"]             # the release-to-be's clusters, in the columns the stage reads
    view.changed("articles")     # this run's new and changed articles
    view.lookup("articles", "article_id", ids)   # the release-to-be's rows of those articles

A run keeps only what it changes (`run.tables`: new and changed rows; `run.changes`: their key
and the keys that go). Everything else stays in the previous release's Delta versions and is
read from there when asked: only the columns asked for (projection) and, given keys, only
the rows holding them (a filter pushed into the scan). Nothing here reads a whole release.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import pyarrow as pa

from newsgate.tasks.publish import SEQUENCE, Change, Lake, key_in

Keys = tuple[str, Iterable]  # (column, values): the rows whose column holds one of the values


class ReleaseReader:
    """A committed release's tables, read on demand by columns and keys. A table's files are
    checked against the release's checksums the first time it is read (what a run builds on
    must be what was published). `reads` records every read (table, columns, filtered, rows)."""

    def __init__(self, lake: Lake | None = None, manifest: dict | None = None):
        self.lake, self.manifest = lake, manifest
        self.reads: list[tuple[str, tuple | None, bool, int]] = []
        self._verified: set[str] = set()

    def __bool__(self) -> bool:
        return self.manifest is not None

    def __contains__(self, table: str) -> bool:
        return bool(self) and table in self.manifest["tables"]

    def rows(self, table: str) -> int:
        return int(self.manifest["tables"][table]["rows"]) if table in self else 0

    def columns(self, table: str) -> list[str]:
        """The table's columns as published (`row_seq` among them when it has one)."""
        return self.lake.dataset(table, self.manifest).schema.names if table in self else []

    def arrow(self, table: str, columns: Sequence[str] | None = None, where: Keys | None = None,
              without: Keys | None = None, ordered: bool = True) -> pa.Table:
        """`columns` of the rows of `table` (in `row_seq` order unless not `ordered`) whose
        `where` column holds one of its values and whose `without` column holds none of its
        values."""
        if table not in self:
            raise KeyError(f"table {table!r} is not in the previous release")
        if table not in self._verified:
            self.lake.check(self.manifest, [table])
            self._verified.add(table)
        wanted = None if columns is None else [*dict.fromkeys(columns)]
        condition = None if without is None else ~key_in(without[0], _strings(without[1]))
        keys = None if where is None else (where[0], _strings(where[1]))
        found = self.lake.read_version(table, self.manifest["tables"][table]["version"],
                                       wanted, condition, keys, ordered)
        self.reads.append((table, None if wanted is None else tuple(wanted),
                           where is not None or without is not None, found.num_rows))
        return found

    def read(self, table: str, columns: Sequence[str] | None = None, where: Keys | None = None,
             without: Keys | None = None) -> pd.DataFrame:
        return self.arrow(table, columns, where, without).to_pandas()


def _strings(values: Iterable) -> pa.Array:
    """Key values as the strings `key_in` compares a column cast to string with (a boolean
    reads "true" / "false", as Arrow casts it)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(sorted({str(v).lower() if isinstance(v, bool) else str(v)
                            for v in values if v is not None}), pa.string())


class ReleaseView(Mapping):
    """The release a run builds: this run's rows (`tables`, with `changes` naming their key and
    the keys that go) over the previous release's. `view[table]` is the whole table in the
    columns the stage `reads`; `changed` and `lookup` read no more than their rows."""

    def __init__(self, previous: ReleaseReader, tables: Mapping[str, pd.DataFrame],
                 changes: Mapping[str, Change | None], reads: Mapping[str, Sequence[str]] = {}):
        self.previous, self.tables, self.changes, self.reads = previous, tables, changes, reads
        self._cache: dict[str, pd.DataFrame] = {}

    @classmethod
    def of(cls, tables: Mapping[str, pd.DataFrame]) -> ReleaseView:
        """A view over whole tables and no previous release (tests, benchmarks, notebooks)."""
        return cls(ReleaseReader(), tables, {t: None for t in tables})

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self:
            raise KeyError(table)
        if table not in self._cache:
            self._cache[table] = self.release(table, self.reads.get(table))
        return self._cache[table]

    def __iter__(self):
        return iter(dict.fromkeys([*self.tables, *(self.previous.manifest or {}).get("tables", {})]))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, table: object) -> bool:
        return table in self.tables or table in self.previous

    def count(self, table: str) -> int:
        """Rows of the release-to-be's `table` (the previous rows counted from their keys)."""
        mine = self.tables.get(table)
        if mine is not None and self.whole(table) or table not in self.previous:
            return 0 if mine is None else len(mine)
        gone = self.gone(table)
        key = gone[0] if gone else self.previous.columns(table)[0]
        before = self.previous.arrow(table, [key], without=gone if gone and gone[1] else None)
        return before.num_rows + (0 if mine is None else len(mine))

    def columns(self, table: str) -> list[str]:
        """The columns of the release-to-be's `table`."""
        mine = self.tables.get(table)
        return list(mine.columns) if mine is not None else self.previous.columns(table)

    def whole(self, table: str) -> bool:
        """Does this run hold the whole table (no previous rows beneath it)?"""
        return table in self.tables and self.changes.get(table) is None

    def gone(self, table: str) -> tuple[str, set] | None:
        """(key, keys): the previous rows this run's rows replace or drop."""
        change = self.changes.get(table)
        if change is None:
            return None
        return change.key, set(change.drop) | set(change.rows[change.key])

    def release(self, table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """`columns` (default: all) of the release-to-be's `table`: the previous release's
        rows this run keeps, then this run's."""
        mine = self.tables.get(table)
        if mine is not None and self.whole(table):
            return mine if columns is None else mine.reindex(columns=list(columns))
        if table not in self.previous:
            return mine if mine is not None else pd.DataFrame(columns=list(columns or []))
        return _stacked(self._previous(table, columns, None), mine)

    def arrow_parts(self, table: str, columns: Sequence[str], ordered: bool = False) -> list[pa.Table]:
        """`columns` of the release-to-be's `table` as Arrow, in two parts to be counted or
        summed column-wise: the previous release's rows this run keeps (read from the Delta
        version, never as pandas; in `row_seq` order only when `ordered`), then this run's."""
        mine = self.tables.get(table)
        parts = [] if mine is None else [
            pa.Table.from_pandas(mine.reindex(columns=list(columns)), preserve_index=False)]
        if self.whole(table) or table not in self.previous:
            return parts
        gone = self.gone(table)
        before = self.previous.arrow(table, columns, without=gone if gone and gone[1] else None,
                                     ordered=ordered)
        return [before, *parts]

    def changed(self, table: str) -> pd.DataFrame:
        """This run's new and changed rows of `table` (all of it when this run holds it whole)."""
        mine = self.tables.get(table)
        if mine is None:
            return pd.DataFrame(columns=list(self.reads.get(table) or []))
        return mine

    def lookup(self, table: str, column: str, values: Iterable,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The release-to-be's rows of `table` whose `column` holds one of `values`."""
        values = set(values)
        mine = self.tables.get(table)
        if mine is not None:
            mine = mine[mine[column].isin(values)]
            if columns is not None:
                mine = mine.reindex(columns=list(columns))
        if self.whole(table) or table not in self.previous or not values:
            return mine if mine is not None else pd.DataFrame(columns=list(columns or []))
        return _stacked(self._previous(table, columns, (column, values)), mine)

    def _previous(self, table: str, columns, where: Keys | None) -> pd.DataFrame:
        """The previous release's rows of `table` that this run neither replaces nor drops."""
        gone = self.gone(table)
        found = self.previous.arrow(table, columns, where, gone if gone and gone[1] else None)
        if columns is None:  # all columns: the sequence is the lake's, not the table's
            return found.drop_columns([SEQUENCE] if SEQUENCE in found.schema.names else []).to_pandas()
        return found.to_pandas().reindex(columns=list(columns))


def _stacked(before: pd.DataFrame, mine: pd.DataFrame | None) -> pd.DataFrame:
    """The previous release's rows, then this run's, in the previous rows' columns."""
    if mine is None or not len(mine):
        return before.reset_index(drop=True)
    return pd.concat([before, mine.reindex(columns=before.columns)], ignore_index=True)


def key_values(frame: pd.DataFrame | None, column: str) -> set:
    """The distinct values of `column` (an empty set for a missing frame or column)."""
    if frame is None or column not in frame:
        return set()
    return set(frame[column].dropna())


