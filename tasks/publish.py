"""The lake: Delta tables, immutable release manifests and the LATEST pointer.

Layout (DESIGN.md): `lake/<table>/` Delta tables, `releases/<release>.json` manifests,
`releases/LATEST`, `runs/<run_id>/` staging and reports.

A release is committed by two atomic renames: its manifest, then LATEST. Table versions are
always read through a manifest, so a run that dies between writing the Delta versions and
renaming LATEST leaves nothing visible: readers keep getting the previous release's versions.
A run that fails a gate never reaches `publish` at all.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from newsgate.schemas.tables import SCHEMAS

LATEST = "LATEST"
IO_THREADS = 4  # tables read / written at once


class LakeError(Exception):
    """The lake cannot be read or written as asked; the message says what and where."""


class PublishLocked(LakeError):
    """Another run holds the output directory's publish lock."""


class ReleaseNotFound(LakeError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ReleaseCorrupted(LakeError):
    """A manifest, Delta log or data file is not what the release recorded."""


@dataclass
class Lake:
    root: Path

    def __post_init__(self):
        self.root = Path(self.root)

    # ------------------------------------------------------------------ paths
    @property
    def lake_dir(self) -> Path:
        return self.root / "lake"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    def run_dir(self, run_id: str) -> Path:
        path = self.root / "runs" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def state_dir(self, name: str, release_id: str) -> Path:
        return self.root / "state" / name / release_id

    # ------------------------------------------------------------------ reading
    def latest_release_id(self) -> str | None:
        path = self.releases_dir / LATEST
        return path.read_text().strip() or None if path.exists() else None

    def manifest(self, release_id: str | None = None) -> dict:
        release_id = release_id or self.latest_release_id()
        if not release_id:
            raise ReleaseNotFound("no release has been published yet")
        path = self.releases_dir / f"{release_id}.json"
        if not path.exists():
            raise ReleaseNotFound(f"no release {release_id} in {self.releases_dir}")
        text = path.read_text(encoding="utf-8")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReleaseCorrupted(
                f"manifest {path} is damaged (truncated?): {exc.msg} at line {exc.lineno} "
                f"column {exc.colno} of {len(text)} characters") from None

    def releases(self) -> list[dict]:
        """Published releases, oldest first: the chain LATEST -> previous -> … (a manifest a
        killed run wrote but never committed through LATEST is not a release)."""
        chain, release_id = [], self.latest_release_id()
        while release_id:
            manifest = self.manifest(release_id)
            chain.append(manifest)
            release_id = manifest.get("previous")
        return chain[::-1]

    def read_table(self, table: str, release_id: str | None = None) -> pd.DataFrame:
        entry = self.manifest(release_id)["tables"].get(table)
        if entry is None:
            raise KeyError(f"table {table!r} is not in the release")
        dt = DeltaTable(str(self.lake_dir / table), version=entry["version"])
        return dt.to_pyarrow_table().to_pandas()

    def read_release(self, release_id: str | None = None) -> dict[str, pd.DataFrame]:
        manifest = self.manifest(release_id)
        # threads: delta-rs reads and decodes outside the GIL
        with ThreadPoolExecutor(IO_THREADS) as pool:
            frames = pool.map(lambda t: self.read_table(t, manifest["release_id"]),
                              manifest["tables"])
            return dict(zip(manifest["tables"], frames))

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def lock(self):
        """Hold the output directory for one run; released by the OS even on SIGKILL."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".publish.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            handle.close()
            raise PublishLocked(
                f"{self.root} is being written by {holder}; wait for it to finish "
                f"or use another --out") from None
        holder = f"pid {os.getpid()} on {socket.gethostname()}"
        handle.seek(0)
        if handle.read() != holder:  # (the CLI's check and then its run: written once, so a
            handle.seek(0)           # second run never reads an empty file between the two)
            handle.truncate()
            handle.write(holder)
            handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def publish(self, release_id: str, tables: dict[str, pd.DataFrame], meta: dict) -> dict:
        """Write every changed table as a new Delta version, then commit the manifest and LATEST.

        A table whose content is the same as in the previous release is not written again:
        the new manifest points at the version that release already published."""
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        before = self.manifest()["tables"] if self.latest_release_id() else {}

        def write(name: str) -> dict:
            arrow = to_arrow(name, tables[name])
            digest = content_hash(arrow)
            if before.get(name, {}).get("sha256") == digest:
                return before[name]
            path = self.lake_dir / name
            write_deltalake(str(path), arrow, mode="overwrite", schema_mode="overwrite")
            return {"version": DeltaTable(str(path)).version(), "rows": len(tables[name]),
                    "sha256": digest}

        # threads: delta-rs encodes and writes Parquet outside the GIL
        with ThreadPoolExecutor(IO_THREADS) as pool:
            entries = dict(zip(tables, pool.map(write, tables)))
        manifest = {
            "release_id": release_id,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "previous": self.latest_release_id(),
            "tables": entries,
            **meta,
        }
        _atomic_write(self.releases_dir / f"{release_id}.json",
                      json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
        _atomic_write(self.releases_dir / LATEST, release_id + "\n")
        return manifest


def content_hash(table: pa.Table) -> str:
    """SHA-256 of the table's Arrow IPC stream: same schema and values, same hash."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- pandas -> Arrow

_ARROW_BY_DTYPE = {"str": pa.string(), "string": pa.string(), "int64": pa.int64(),
                   "Int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
                   "boolean": pa.bool_()}


def _declared_types(table: str) -> dict[str, pa.DataType]:
    model = SCHEMAS.get(table)
    if model is None:
        return {}
    types = {}
    for name, column in model.to_schema().columns.items():
        arrow = (column.metadata or {}).get("arrow")
        if arrow == "list<string>":
            types[name] = pa.list_(pa.string())
        else:
            types[name] = _ARROW_BY_DTYPE.get(str(column.dtype), pa.string())
    return types


def to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """Arrow table with the contract's types; extra columns inferred, all-null ones as string."""
    declared = _declared_types(table)
    arrays, fields = [], []
    for col in df.columns:
        values = df[col]
        typ = declared.get(col)
        if typ is None:
            arr = pa.array(_plain(values), from_pandas=True)
            if pa.types.is_null(arr.type):
                arr = arr.cast(pa.string())
        elif _columnar(values.dtype, typ):
            # already typed (Arrow strings, numpy numbers): convert in C, no Python objects
            arr = _columnar_array(values, typ)
        else:
            arr = _strings(values) if pa.types.is_string(typ) else None
            if arr is None:  # lists, mixed objects: row by row
                if pa.types.is_list(typ):
                    values = values.map(lambda v: list(v) if isinstance(v, (list, tuple)) or
                                        hasattr(v, "tolist") else ([] if v is None else [str(v)]))
                arr = pa.array(_plain(values), type=typ, from_pandas=True)
        arrays.append(arr)
        fields.append(pa.field(col, arr.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _columnar(dtype, typ: pa.DataType) -> bool:
    """Can a column of `dtype` become `typ` without a trip through Python objects?"""
    if isinstance(dtype, pd.StringDtype):
        return pa.types.is_string(typ)
    kind = getattr(dtype, "kind", "O")
    return ((kind == "i" and pa.types.is_int64(typ)) or (kind == "f" and pa.types.is_float64(typ))
            or (kind == "b" and pa.types.is_boolean(typ)))


def _strings(values: pd.Series) -> pa.Array | None:
    """An object column of str and missing values as Arrow strings, converted in C (None when
    it holds anything else: the row-by-row path decides)."""
    try:
        return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _columnar_array(values: pd.Series, typ: pa.DataType) -> pa.Array:
    if values.dtype.kind == "f":  # NaN -> null with 0.0 beneath, as from Python None (same hash)
        floats = values.to_numpy()
        missing = np.isnan(floats)
        return pa.array(np.where(missing, 0.0, floats), mask=missing, type=typ)
    arr = pa.array(values, from_pandas=True).cast(typ)
    # one chunk, as from a list: delta-rs writes chunks to separate files, and reads them back
    # in no particular order (the rows of a table must keep their order)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _plain(values: pd.Series) -> list:
    # pandas NA/NaT/NaN -> None so Arrow sees nulls, whatever the column's dtype;
    # numpy arrays (lists read back from Parquet) -> Python lists
    return [_plain_value(v) for v in values.tolist()]


def _plain_value(v):
    if isinstance(v, (list, tuple, dict, str)):
        return v
    if hasattr(v, "tolist"):
        v = v.tolist()
        if isinstance(v, list):
            return v
    return None if v is None or pd.isna(v) else v
