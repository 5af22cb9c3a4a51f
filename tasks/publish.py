"""The lake: Delta tables, immutable release manifests and the LATEST pointer.

Layout (DESIGN.md): `lake/<table>/` Delta tables, `releases/<release>.json` manifests,
`releases/LATEST`, `releases/COMMITTED`, `runs/<run_id>/` staging and reports.

A release is committed by two atomic renames: its manifest, then LATEST. Table versions are
always read through a manifest, so a run that dies between writing the Delta versions and
renaming LATEST leaves nothing visible: readers keep getting the previous release's versions.
A run that fails a gate never reaches `publish` at all.

What is read is checked, never trusted:
- release ids (from LATEST, a manifest's `previous`, the command line) must match
  `RELEASE_ID` before they become paths;
- a release is readable once committed: it is LATEST, on LATEST's chain of `previous`
  releases, or in `releases/COMMITTED` (every committed id, rewritten after each commit).
  A manifest a killed run wrote without moving LATEST is read only when asked
  (`uncommitted=True`);
- the manifest records the sha256 of every Parquet file of every table version (and of the
  release's dedup index); `verify` recomputes them, `read_release` (what a run builds on) and
  `read_table(verify=True)` stop at the first mismatch, naming the table and the file;
- a missing or empty LATEST while committed releases exist is an error (`HistoryBroken`), not
  a fresh start; `repair` restores LATEST to the newest committed release that verifies.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from newsgate.schemas.tables import SCHEMAS

LATEST = "LATEST"
COMMITTED = "COMMITTED"  # every committed release id, oldest first: what `repair` restores from
IO_THREADS = 4  # tables read / written / hashed at once
# What a release id may be: `rel-` and letters, digits, `_` or `-` (no dot, no slash), so an id
# read from a file can never name a path outside releases/ (`../../etc/passwd`).
RELEASE_ID = re.compile(r"rel-[0-9A-Za-z][0-9A-Za-z_-]{0,99}")
FREE_SPACE_MARGIN = 64 << 20  # bytes kept free beyond the tables' estimate (logs, manifest)

log = logging.getLogger(__name__)


class LakeError(Exception):
    """The lake cannot be read or written as asked; the message says what and where."""


class PublishLocked(LakeError):
    """Another run holds the output directory's publish lock."""


class ReleaseNotFound(LakeError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidReleaseId(LakeError, ValueError):
    """A release id (from a file or the command line) that is not a release id."""


class ReleaseNotCommitted(LakeError):
    """A manifest whose run never moved LATEST to it."""


class ReleaseCorrupted(LakeError):
    """A manifest, Delta log or data file is not what the release recorded."""


class HistoryBroken(LakeError):
    """LATEST is missing or empty although releases were committed."""


class DiskFull(LakeError, OSError):
    """Not enough free space to publish."""


def check_release_id(value: object, where: str) -> str:
    """`value` if it is a release id, else `InvalidReleaseId` naming where it came from."""
    if isinstance(value, str) and RELEASE_ID.fullmatch(value):
        return value
    shown = value[:80] if isinstance(value, str) else value
    raise InvalidReleaseId(f"{where}: {shown!r} is not a release id (rel-[A-Za-z0-9_-]+)")


@dataclass
class Verification:
    """What `Lake.verify` found: files whose checksum did not match (or that are missing), and
    tables published before checksums were recorded (they cannot be verified)."""
    release_id: str
    n_files: int = 0
    problems: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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

    def _manifest_path(self, release_id: str) -> Path:
        return self.releases_dir / f"{release_id}.json"

    # ------------------------------------------------------------------ what is committed
    def latest_release_id(self) -> str | None:
        """The release LATEST names (validated); None when nothing was ever committed.

        A missing or empty LATEST beside committed releases raises `HistoryBroken`: a run
        that took it for a fresh start would silently drop the whole history."""
        path = self.releases_dir / LATEST
        try:
            text = path.read_bytes().decode("utf-8", errors="replace").strip()
        except FileNotFoundError:
            text = ""
        if text:
            return check_release_id(text, str(path))
        committed = self._newest_first(self.committed_ids())
        if committed:
            raise HistoryBroken(
                f"{path} is {'empty' if path.exists() else 'missing'} but releases were "
                f"committed (the newest: {committed[0]}); run `newsgate repair --out {self.root}` "
                f"to point it at the newest release that verifies")
        return None

    def committed_ids(self) -> list[str]:
        """Every committed release id this lake records: releases/COMMITTED, every release a
        manifest names as its `previous` (it was LATEST when that run published), and every
        manifest from before commits were recorded (no `state_files`: committed or not, it
        cannot tell, so it is not ignored)."""
        ids = dict.fromkeys(self._committed_log())
        for path in sorted(self.releases_dir.glob("*.json")):
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
                found = [manifest.get("previous"),
                         None if "state_files" in manifest else manifest.get("release_id")]
            except (OSError, ValueError, AttributeError):
                continue
            ids.update((r, None) for r in found if isinstance(r, str) and RELEASE_ID.fullmatch(r))
        return list(ids)

    def is_committed(self, release_id: str) -> bool:
        return (release_id in self._committed_log()
                or any(r == release_id for r, _ in self._chain()))

    def _committed_log(self) -> list[str]:
        try:
            lines = (self.releases_dir / COMMITTED).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in lines.split() if RELEASE_ID.fullmatch(line)]

    def _chain(self):
        """(release id, manifest or the LakeError reading it), from LATEST back through each
        manifest's `previous`; past a damaged manifest, on through releases/COMMITTED."""
        release_id, seen = self.latest_release_id(), set()
        while release_id and release_id not in seen:
            seen.add(release_id)
            try:
                manifest = self._read_manifest(release_id)
            except LakeError as exc:
                yield release_id, exc
                logged = self._committed_log()
                at = logged.index(release_id) if release_id in logged else 0
                release_id = logged[at - 1] if at > 0 else None
                continue
            yield release_id, manifest
            release_id = manifest.get("previous")

    def _newest_first(self, release_ids: list[str]) -> list[str]:
        """By creation time (ties and unreadable manifests: the order given, later = newer)."""
        def created(position_and_id):
            position, release_id = position_and_id
            try:
                return str(self._read_manifest(release_id).get("created_at", "")), position
            except LakeError:
                return "", position
        return [r for _, r in sorted(enumerate(release_ids), key=created, reverse=True)]

    # ------------------------------------------------------------------ reading
    def manifest(self, release_id: str | None = None, *, uncommitted: bool = False) -> dict:
        """The manifest of `release_id` (default: LATEST's). A release whose run never moved
        LATEST to it is refused unless `uncommitted`."""
        latest = self.latest_release_id()
        release_id = latest if release_id is None else check_release_id(release_id, "release")
        if not release_id:
            raise ReleaseNotFound("no release has been published yet")
        manifest = self._read_manifest(release_id)
        if not uncommitted and release_id != latest and not self.is_committed(release_id):
            raise ReleaseNotCommitted(
                f"release {release_id} was never committed (its run stopped before moving "
                f"LATEST to it); read it anyway with --uncommitted")
        return manifest

    def _read_manifest(self, release_id: str) -> dict:
        path = self._manifest_path(release_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ReleaseNotFound(f"no release {release_id} in {self.releases_dir}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ReleaseCorrupted(f"manifest {path} cannot be read: {exc}") from None
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReleaseCorrupted(
                f"manifest {path} is damaged (truncated?): {exc.msg} at line {exc.lineno} "
                f"column {exc.colno} of {len(text)} characters") from None
        if not (isinstance(manifest, dict) and manifest.get("release_id") == release_id
                and isinstance(manifest.get("tables"), dict)):
            raise ReleaseCorrupted(f"manifest {path} is damaged: not a manifest of {release_id}")
        if manifest.get("previous") is not None:
            try:
                check_release_id(manifest["previous"], "its previous release")
            except InvalidReleaseId as exc:
                raise ReleaseCorrupted(f"manifest {path} is damaged: {exc}") from None
        return manifest

    def releases(self) -> list[dict]:
        """Published releases, oldest first: the chain LATEST -> previous -> … (a manifest a
        killed run wrote but never committed through LATEST is not a release). A manifest that
        cannot be read is listed as {"release_id", "damaged": why}, not a failure of the list."""
        return [m if isinstance(m, dict) else {"release_id": r, "damaged": str(m)}
                for r, m in self._chain()][::-1]

    def read_table(self, table: str, release_id: str | None = None, *, verify: bool = False,
                   uncommitted: bool = False) -> pd.DataFrame:
        """One table of a release; with `verify`, its files are checked against the manifest's
        checksums first (`ReleaseCorrupted` names the table and file that do not match)."""
        manifest = self.manifest(release_id, uncommitted=uncommitted)
        if verify:
            self.check(manifest, [table])
        return self._read(table, manifest)

    def read_release(self, release_id: str | None = None, *, verify: bool = True
                     ) -> dict[str, pd.DataFrame]:
        """Every table of a release, verified first (what a run builds on must be what was
        published: a corrupted file stops the run instead of being published again)."""
        manifest = self.manifest(release_id)
        if verify:
            self.check(manifest)
        # threads: delta-rs reads and decodes outside the GIL
        with ThreadPoolExecutor(IO_THREADS) as pool:
            frames = pool.map(lambda t: self._read(t, manifest), manifest["tables"])
            return dict(zip(manifest["tables"], frames))

    def _read(self, table: str, manifest: dict) -> pd.DataFrame:
        entry = manifest["tables"].get(table)
        if entry is None:
            raise KeyError(f"table {table!r} is not in release {manifest['release_id']}")
        dt = DeltaTable(str(self.lake_dir / table), version=entry["version"])
        return dt.to_pyarrow_table().to_pandas()

    # ------------------------------------------------------------------ verifying
    def verify(self, release_id: str | None = None, *, uncommitted: bool = False) -> Verification:
        """Recompute the sha256 of every file the release recorded (each table version's Parquet
        files, its dedup index) and check each Delta version holds exactly those files."""
        return self._verify(self.manifest(release_id, uncommitted=uncommitted))

    def check(self, manifest: dict, tables: list[str] | None = None) -> None:
        found = self._verify(manifest, tables)
        if found.problems:
            more = len(found.problems) - 1
            raise ReleaseCorrupted(
                f"release {found.release_id} is damaged: {found.problems[0]}"
                + (f" (and {more} more: newsgate verify --release {found.release_id})" if more else ""))

    def _verify(self, manifest: dict, tables: list[str] | None = None) -> Verification:
        found = Verification(manifest["release_id"])
        expected: dict[str, tuple[str, str]] = {}  # path under root -> (whose, sha256)
        for table in tables or manifest["tables"]:
            entry = manifest["tables"].get(table) or {}
            if "files" not in entry:
                found.unverified.append(table)
                continue
            try:
                active = set(self._version_files(table, entry["version"]))
            except Exception as exc:  # noqa: BLE001 - delta-rs raises its own error types
                found.problems.append(f"table {table}: its Delta log cannot be read at version "
                                      f"{entry.get('version')}: {str(exc).splitlines()[0][:300]}")
                continue
            for path in sorted(active - set(entry["files"])):
                found.problems.append(f"table {table}: file {path} is in Delta version "
                                      f"{entry['version']} but not in the manifest")
            expected.update({path: (f"table {table}", digest)
                             for path, digest in entry["files"].items()})
        if tables is None:
            expected.update({path: ("dedup state", digest)
                             for path, digest in (manifest.get("state_files") or {}).items()})
        paths = sorted(expected)
        with ThreadPoolExecutor(IO_THREADS) as pool:  # hashlib hashes outside the GIL
            digests = dict(zip(paths, pool.map(self._sha256, paths)))
        for path in paths:
            whose, recorded = expected[path]
            actual = digests[path]
            if actual != recorded:
                what = ("is missing" if actual is None else
                        f"does not match its checksum (recorded sha256 {recorded[:12]}…, "
                        f"found {actual[:12]}…)")
                found.problems.append(f"{whose}: file {path} {what}")
        found.n_files = len(paths)
        return found

    def _version_files(self, table: str, version: int) -> list[str]:
        """The data files of one Delta version, as paths under the lake root."""
        uris = DeltaTable(str(self.lake_dir / table), version=version).file_uris()
        return sorted(os.path.relpath(u.removeprefix("file://"), self.root) for u in uris)

    def _sha256(self, path: str) -> str | None:
        """sha256 of a file under the root; None when it is missing or the path leaves the root."""
        if Path(path).is_absolute() or ".." in Path(path).parts:
            return None
        digest = hashlib.sha256()
        try:
            with open(self.root / path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        return digest.hexdigest()

    def _checksums(self, paths: list[str]) -> dict[str, str]:
        return {path: self._sha256(path) for path in paths}

    def repair(self) -> str:
        """Point LATEST at the newest committed release that verifies, when LATEST is missing,
        empty, not a release id or names a release that does not verify. Returns what it did."""
        if not self.releases_dir.is_dir():
            return f"no releases in {self.root}: nothing to repair"
        with self.lock():
            latest_path = self.releases_dir / LATEST
            try:
                current = self.latest_release_id()
                why = None if current else "nothing was ever committed"
                if current:
                    found = self._verify(self._read_manifest(current))
                    if found.ok:
                        return (f"LATEST names {current}, which verifies ({found.n_files} files): "
                                "nothing to repair")
                    why = f"{current} does not verify: {found.problems[0]}"
            except LakeError as exc:
                current, why = None, str(exc)
            chain = [r for r, _ in self._chain()] if current else []
            candidates = self._newest_first(list(dict.fromkeys([*self.committed_ids(), *chain])))
            if not candidates:
                return f"no release was ever committed in {self.root}: nothing to repair"
            skipped = []
            for release_id in candidates:
                try:
                    found = self._verify(self._read_manifest(release_id))
                except LakeError as exc:
                    skipped.append(f"{release_id}: {exc}")
                    continue
                if not found.ok:
                    skipped.append(f"{release_id}: {found.problems[0]}")
                    continue
                _atomic_write(latest_path, release_id + "\n")
                self._record_commit(release_id)
                return "\n".join([f"LATEST now names {release_id}, the newest committed release "
                                  f"that verifies ({why})", *(f"  skipped {s}" for s in skipped)])
            raise ReleaseCorrupted("no committed release verifies; LATEST left as it was:\n"
                                   + "\n".join(f"  {s}" for s in skipped))

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

    def ensure_free_space(self, tables: dict[str, pd.DataFrame]) -> None:
        """Refuse to publish, before anything is written, when the tables would not fit: their
        size in memory (more than their compressed Parquet files take) plus a margin."""
        self.root.mkdir(parents=True, exist_ok=True)
        needed = FREE_SPACE_MARGIN + sum(int(df.memory_usage(deep=True).sum())
                                         for df in tables.values())
        free = shutil.disk_usage(self.root).free
        if free < needed:
            raise DiskFull(f"not enough free space to publish into {self.root}: about "
                           f"{needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free; nothing "
                           "was written")

    def publish(self, release_id: str, tables: dict[str, pd.DataFrame], meta: dict) -> dict:
        """Write every changed table as a new Delta version, then commit the manifest and LATEST.

        A table whose content is the same as in the previous release is not written again:
        the new manifest points at the version that release already published. The manifest
        records the sha256 of every data file of each version and of the release's state
        files (`state/<name>/<release>/`), for `verify`."""
        check_release_id(release_id, "new release")
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        previous = self.latest_release_id()
        before = self.manifest(previous)["tables"] if previous else {}
        self.ensure_free_space(tables)

        def write(name: str) -> dict:
            arrow = to_arrow(name, tables[name])
            digest = content_hash(arrow)
            if before.get(name, {}).get("sha256") == digest:
                return before[name]
            path = self.lake_dir / name
            write_deltalake(str(path), arrow, mode="overwrite", schema_mode="overwrite")
            version = DeltaTable(str(path)).version()
            return {"version": version, "rows": len(tables[name]), "sha256": digest,
                    "files": self._checksums(self._version_files(name, version))}

        # threads: delta-rs encodes and writes Parquet outside the GIL
        with ThreadPoolExecutor(IO_THREADS) as pool:
            entries = dict(zip(tables, pool.map(write, tables)))
        state = sorted(str(p.relative_to(self.root))
                       for p in (self.root / "state").glob(f"*/{release_id}/**/*") if p.is_file())
        manifest = {
            "release_id": release_id,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "previous": previous,
            "tables": entries,
            "state_files": self._checksums(state),
            **meta,
        }
        _atomic_write(self._manifest_path(release_id),
                      json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
        _atomic_write(self.releases_dir / LATEST, release_id + "\n")  # the commit
        self._record_commit(release_id, previous)
        return manifest

    def _record_commit(self, release_id: str, previous: str | None = None) -> None:
        """Add a committed release to releases/COMMITTED (what `repair` restores from). The
        release is committed already (LATEST names it), so a failure here is only logged."""
        ids = dict.fromkeys([*self._committed_log(), *filter(None, [previous]), release_id])
        try:
            _atomic_write(self.releases_dir / COMMITTED, "".join(f"{r}\n" for r in ids))
        except OSError as exc:
            log.warning("release %s is committed, but %s was not updated: %s",
                        release_id, self.releases_dir / COMMITTED, exc)


def content_hash(table: pa.Table) -> str:
    """SHA-256 of the table's Arrow IPC stream: same schema and values, same hash. The stream
    is hashed as it is written, never held (it is as large as the table)."""
    sink = _HashingSink()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return sink.sha256.hexdigest()


class _HashingSink:
    """A write-only file that keeps only the SHA-256 of what is written to it."""

    def __init__(self):
        self.sha256, self.closed = hashlib.sha256(), False

    def write(self, data) -> int:
        self.sha256.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _atomic_write(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a part (a full disk leaves the old)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:  # the rename itself survives a power cut
        os.fsync(directory)
    finally:
        os.close(directory)


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
        if typ is not None and pa.types.is_integer(typ) and getattr(values.dtype, "kind", "") == "f":
            values = values.astype("Int64")  # nulls read back as NaN: the same array as published
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
