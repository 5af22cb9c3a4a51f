"""One release, exactly, for any tool: Arrow, pandas, polars, DuckDB, or a folder of Parquet.

    import newsgate
    release = newsgate.open_release("data")               # LATEST; release="rel-…" for another
    release["projects"]                                   # a pyarrow.Table
    release.to_pandas("projects")                         # pandas.DataFrame
    release.to_polars("projects")                         # polars.DataFrame (newsgate[polars])
    release.duckdb().sql("select * from projects")        # DuckDB views (newsgate[duckdb])
    release.export("rel-folder")                          # Parquet per table + manifest.json

A Delta table under `lake/<table>/` keeps every version ever published, and a release is one
version of each table, named in its manifest. A reader pointed at the folder (polars'
`read_delta`, DuckDB's `delta_scan`) gets the newest version, not necessarily the release's,
and `*.parquet` mixes versions. This module reads the manifest's versions through deltalake
and hands out Arrow tables: DuckDB and polars read those without an extension or a copy.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

LATEST = "LATEST"  # accepted wherever a release id is


def release_ids(lake) -> list[str]:
    """The committed releases of `lake`, oldest first."""
    return [m["release_id"] for m in lake.releases()]


def resolve_release(lake, release: str | None = None) -> str:
    """The id `release` names: None or LATEST for the newest, else a committed release id.
    `ReleaseNotFound` says which releases there are."""
    from newsgate.tasks.publish import ReleaseNotFound

    ids = release_ids(lake)
    if not ids:
        raise ReleaseNotFound(f"no release in {lake.root} yet (newsgate run --out {lake.root} "
                              "publishes one)")
    if release is None or release.upper() == LATEST:
        return ids[-1]
    if release in ids or (lake.releases_dir / f"{release}.json").is_file():
        return release  # (a manifest outside LATEST's chain: the lake decides if it is read)
    shown = ", ".join(ids[-5:]) + (f" and {len(ids) - 5} older" if len(ids) > 5 else "")
    raise ReleaseNotFound(f"no release {release} in {lake.root}; releases: {shown} "
                          f"(newest last), or {LATEST}")


class TableNotFound(KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Release(Mapping):
    """The tables of one release, read on first use, as Arrow (a read-only mapping)."""

    def __init__(self, lake, manifest: dict):
        self.lake = lake
        self.manifest = manifest
        self._read: dict = {}

    @property
    def release_id(self) -> str:
        return self.manifest["release_id"]

    def __repr__(self) -> str:
        return f"<newsgate release {self.release_id}: {', '.join(self)}>"

    def __iter__(self) -> Iterator[str]:
        return iter(self.manifest["tables"])

    def __len__(self) -> int:
        return len(self.manifest["tables"])

    def __getitem__(self, table: str):
        """The table as a pyarrow.Table, at the Delta version the release names."""
        entry = self.manifest["tables"].get(table)
        if entry is None:
            raise TableNotFound(f"no table {table} in release {self.release_id}; tables: "
                                f"{', '.join(self)}")
        if table not in self._read:  # in the order rows were first published (row_seq)
            self._read[table] = self.lake.read_version(table, entry["version"])
        return self._read[table]

    def to_pandas(self, table: str):
        return self[table].to_pandas()

    def to_polars(self, table: str):
        polars = _optional("polars")
        return polars.from_arrow(self[table])

    def duckdb(self, connection=None):
        """A DuckDB connection (a new in-memory one by default) with every table of the release
        registered as a view over its Arrow table."""
        duckdb = _optional("duckdb")
        connection = connection or duckdb.connect()
        for table in self:
            connection.register(table, self[table])
        return connection

    def export(self, folder: str | Path) -> Path:
        """A self-describing copy of the release: `<table>.parquet` for every table (its Arrow
        schema inside) and `manifest.json`, the release's manifest as published. `folder` must
        not exist, or be empty."""
        import pyarrow.parquet as pq

        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise FileExistsError(f"{folder} exists and is not an empty folder")
        folder.mkdir(parents=True, exist_ok=True)
        for table in self:
            pq.write_table(self[table], folder / f"{table}.parquet")
        (folder / "manifest.json").write_text(
            json.dumps(self.manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder


def open_release(out: str | Path = "data", release: str | None = None) -> Release:
    """The tables of one release of the output folder `out` (what `newsgate run --out` wrote):
    `release` is a release id, or None / "LATEST" for the newest."""
    from newsgate.tasks.publish import Lake

    lake = Lake(Path(out))
    return Release(lake, lake.manifest(resolve_release(lake, release)))


def _optional(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is not installed: pip install 'newsgate[{module}]'") from None
