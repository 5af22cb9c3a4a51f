"""Compare two releases table by table, row for row (e.g. the same input before and after a change).

    python benchmarks/compare_releases.py OUT_A OUT_B [--release-a R] [--release-b R]
                                          [--ignore-column T.C ...]

OUT_A and OUT_B are output directories (`--out` of `newsgate run`); each side's release is its
LATEST unless given. For every table of either release it prints `same`, or what differs: a
table missing on one side, the schema (column names and Arrow types), the row count, and the
first rows and columns that differ (rows are compared in their published order; when only the
order differs it says so). Exits 0 when every table is identical, 1 otherwise.

`--ignore-column quarantine.source` leaves a column out of the comparison (e.g. paths that
differ between two checkouts); nothing is ignored by default.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsgate.tasks.publish import SEQUENCE, Lake  # noqa: E402

SHOW_ROWS = 3


def read_release(out: Path, release: str | None) -> dict[str, pa.Table]:
    """Every table of the release as Arrow, exactly as published, in the order rows were first
    published (without that bookkeeping column: two runs number their rows alike or not)."""
    lake = Lake(out)
    manifest = lake.manifest(release)
    tables = {t: lake.read_version(t, e["version"]) for t, e in manifest["tables"].items()}
    return {t: a.drop_columns([SEQUENCE]) if SEQUENCE in a.column_names else a
            for t, a in tables.items()}


def compare_tables(a: pa.Table, b: pa.Table) -> list[str]:
    """What differs between two versions of one table (empty: identical, row for row)."""
    if a.schema.remove_metadata() != b.schema.remove_metadata():
        return [f"schema differs:\n    A {_schema(a)}\n    B {_schema(b)}"]
    if a.num_rows != b.num_rows:
        return [f"{a.num_rows} rows in A, {b.num_rows} in B"]
    a, b = a.combine_chunks(), b.combine_chunks()
    if a.equals(b):
        return []
    diffs = []
    for name in a.column_names:
        left, right = a[name].to_pylist(), b[name].to_pylist()
        rows = [i for i, (x, y) in enumerate(zip(left, right)) if not _same(x, y)]
        if rows:
            shown = ", ".join(f"row {i}: {_short(left[i])!r} != {_short(right[i])!r}"
                              for i in rows[:SHOW_ROWS])
            diffs.append(f"column {name}: {len(rows)} rows differ ({shown})")
    if diffs and _sorted_rows(a) == _sorted_rows(b):
        return [f"same rows in another order ({len(diffs)} columns differ by position)"]
    return diffs


def compare_releases(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> dict[str, list[str]]:
    """{table: differences} over the tables of both releases."""
    out = {}
    for table in sorted(set(a) | set(b)):
        if table not in a or table not in b:
            out[table] = [f"only in {'A' if table in a else 'B'}"]
        else:
            out[table] = compare_tables(a[table], b[table])
    return out


def drop_columns(tables: dict[str, pa.Table], ignored: list[str]) -> dict[str, pa.Table]:
    for spec in ignored:
        table, _, column = spec.partition(".")
        if table in tables and column in tables[table].column_names:
            tables[table] = tables[table].drop_columns([column])
    return tables


def _same(x, y) -> bool:
    return x == y or (x != x and y != y)  # NaN equals NaN here


def _short(value, n: int = 60):
    return value[:n] + "…" if isinstance(value, str) and len(value) > n else value


def _schema(table: pa.Table) -> str:
    return ", ".join(f"{f.name}:{f.type}" for f in table.schema)


def _sorted_rows(table: pa.Table) -> list:
    return sorted(map(repr, table.to_pylist()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--release-a")
    p.add_argument("--release-b")
    p.add_argument("--ignore-column", action="append", default=[], metavar="TABLE.COLUMN")
    args = p.parse_args(argv)
    a = drop_columns(read_release(args.a, args.release_a), args.ignore_column)
    b = drop_columns(read_release(args.b, args.release_b), args.ignore_column)
    result = compare_releases(a, b)
    for table, diffs in result.items():
        rows = a[table].num_rows if table in a else b[table].num_rows
        print(f"{table:<14} {'same' if not diffs else 'DIFFERS'} ({rows} rows)")
        for d in diffs:
            print(f"    {d}")
    return 1 if any(result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
