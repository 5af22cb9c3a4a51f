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
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, WriterProperties, write_deltalake
from pyarrow.fs import LocalFileSystem, SubTreeFileSystem

from newsgate.schemas.tables import SCHEMAS

LATEST = "LATEST"
COMMITTED = "COMMITTED"  # every committed release id, oldest first: what `repair` restores from
DROPPED = "DROPPED"  # releases `maintain --keep` dropped: their files may be gone
IO_THREADS = 4  # tables read / written / hashed at once
# Tables of long texts are written in Parquet row groups of at most this many rows (about 12 MB
# of bodies): a read by key decodes whole row groups, and delta-rs's default (up to a million
# rows, one per file here) made a lookup of a few bodies decode hundreds of MB. The other tables
# keep the default: their row groups are cheap to decode, and many small ones cost more scans.
TEXT_ROW_GROUP_ROWS = {"articles": 8192, "documents": 8192}


def writer_properties(table: str) -> WriterProperties | None:
    rows = TEXT_ROW_GROUP_ROWS.get(table)
    # the codec named: given properties without one, delta-rs writes uncompressed Parquet
    return None if rows is None else WriterProperties(max_row_group_size=rows, compression="SNAPPY")


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
        if release_id in self.dropped_ids():
            raise ReleaseNotFound(f"release {release_id} was dropped by `newsgate maintain --keep`"
                                  " (its files are deleted)")
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
        dropped = self.dropped_ids()
        return [m if isinstance(m, dict) else {"release_id": r, "damaged": str(m)}
                for r, m in self._chain() if r not in dropped][::-1]

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
        return self.read_version(table, entry["version"]).to_pandas()

    def read_version(self, table: str, version: int, columns: list[str] | None = None,
                     filter: ds.Expression | None = None,
                     keys: tuple[str, pa.Array] | None = None, ordered: bool = True) -> pa.Table:
        """One Delta version of a table as Arrow, in `SEQUENCE` order (appends and merges put
        rows in new files, and files come back in no particular order; `ordered=False`: in
        scan order, for counts and sums, which the sort's copy would only cost): only `columns`
        (the others are never decoded) of the rows `filter` keeps (pushed into the scan) whose
        `keys[0]` column holds one of `keys[1]`."""
        dataset = self.version_dataset(table, version)
        names = dataset.schema.names
        wanted = None if columns is None else [c for c in columns if c in names] + (
            [SEQUENCE] if SEQUENCE in names and SEQUENCE not in columns else [])
        wide = keys is not None and (wanted is None or bool(set(wanted) - {keys[0], SEQUENCE}))
        if keys is not None:
            column, values = keys
            if wide:
                # a wide read by key: which keys are there is one narrow scan first, and the
                # wide one (bodies, texts) is skipped when none is (an increment's keys are
                # mostly new, and ids are hashes: no file or row group can be pruned by them)
                values = _held(dataset, column, values)
            by_key = key_in(column, values)
            filter = by_key if filter is None else by_key & filter
        if keys is not None and not len(values):
            arrow = dataset.schema.empty_table()
            arrow = arrow if wanted is None else arrow.select(wanted)
        elif wide:
            arrow = _by_row_group(dataset, wanted, filter)
        else:
            arrow = dataset.to_table(columns=wanted, filter=filter)
        if SEQUENCE in names:
            arrow = arrow.sort_by(SEQUENCE) if ordered else arrow
            if columns is not None and SEQUENCE not in columns:
                arrow = arrow.drop_columns([SEQUENCE])
        return arrow

    def bodies_fetch(self, manifest: dict):
        """ids -> bodies of the release's articles, read by a filtered scan of two columns
        (what dedup verifies new articles against; its index keeps no bodies)."""

        def fetch(article_ids: list[str]) -> dict[str, str]:
            found = self.read_version("articles", manifest["tables"]["articles"]["version"],
                                      ["article_id", "body"],
                                      keys=("article_id", pa.array(article_ids, pa.string())))
            return dict(zip(found.column("article_id").to_pylist(), found.column("body").to_pylist()))
        return fetch

    def dataset(self, table: str, manifest: dict):
        """A release's table as a `pyarrow.dataset.Dataset`: scanned in batches, columns and
        filters pushed down (what table-wide checks query, never loading the whole table)."""
        return self.version_dataset(table, manifest["tables"][table]["version"])

    def version_dataset(self, table: str, version: int) -> ds.Dataset:
        """One Delta version of a table as a dataset read through Arrow's own local filesystem
        (delta-rs's default, a Python filesystem over its object store, buffers whole files:
        a read by key of 300 bodies at 200k took twice the time and 200 MB more)."""
        path = str(self.lake_dir / table)
        return DeltaTable(path, version=version).to_pyarrow_dataset(
            filesystem=SubTreeFileSystem(path, LocalFileSystem()))

    # ------------------------------------------------------------------ verifying
    def verify(self, release_id: str | None = None, *, uncommitted: bool = False) -> Verification:
        """Recompute the sha256 of every file the release recorded (each table version's Parquet
        files, its dedup index) and check each Delta version holds exactly those files."""
        return self._verify(self.manifest(release_id, uncommitted=uncommitted))

    def check(self, manifest: dict, tables: list[str] | None = None, state: bool | None = None) -> None:
        """Raise `ReleaseCorrupted` unless the files of `tables` (default: all) and, with
        `state` (default: when all tables are checked), the state files match the manifest."""
        found = self._verify(manifest, tables, state)
        if found.problems:
            more = len(found.problems) - 1
            raise ReleaseCorrupted(
                f"release {found.release_id} is damaged: {found.problems[0]}"
                + (f" (and {more} more: newsgate verify --release {found.release_id})" if more else ""))

    def _verify(self, manifest: dict, tables: list[str] | None = None,
                state: bool | None = None) -> Verification:
        found = Verification(manifest["release_id"])
        expected: dict[str, tuple[str, str]] = {}  # path under root -> (whose, sha256)
        for table in manifest["tables"] if tables is None else tables:
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
        if tables is None if state is None else state:
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

    def publish(self, release_id: str, tables: dict[str, "pd.DataFrame | Change"], meta: dict,
                audit=None) -> dict:
        """Write every changed table as a new Delta version, then commit the manifest and LATEST.

        A table given as a frame is the whole table: written again only when its content
        differs from the previous release's (`content_hash`). A table given as a `Change` holds
        only what is new: its rows are appended, or merged over the rows they replace. Before
        anything is written, each table's head is put back at the previous release's version
        (a run that died or was blocked after writing leaves versions no release names).
        `audit(entries)` runs on the written versions before the commit (table-wide checks over
        the release-to-be); when it raises, nothing is committed. The manifest records the
        sha256 of every data file of each version (new files hashed, the others' digests
        carried from the previous release) and of the release's state files."""
        check_release_id(release_id, "new release")
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        previous = self.latest_release_id()
        before = self.manifest(previous)["tables"] if previous else {}
        self.ensure_free_space({n: t.rows if isinstance(t, Change) else t for n, t in tables.items()})

        def write(name: str) -> dict:
            self._rewind(name, before.get(name))
            if isinstance(tables[name], Change):
                return self._write_change(name, tables[name], before.get(name))
            arrow = with_sequence(to_arrow(name, tables[name]), 0)
            digest = content_hash(arrow)
            if before.get(name, {}).get("sha256") == digest:
                return before[name]
            path = self.lake_dir / name
            write_deltalake(str(path), arrow, mode="overwrite", schema_mode="overwrite",
                            writer_properties=writer_properties(name))
            return self._entry(name, DeltaTable(str(path)).version(), arrow.num_rows,
                               before.get(name), sha256=digest, next_seq=arrow.num_rows)

        # threads: delta-rs encodes and writes Parquet outside the GIL
        with ThreadPoolExecutor(IO_THREADS) as pool:
            entries = dict(zip(tables, pool.map(write, tables)))
        entries.update({t: e for t, e in before.items() if t not in entries})
        if audit is not None:
            audit(entries)
        state = sorted(str(p.relative_to(self.root))
                       for p in (self.root / "state").glob(f"*/{release_id}/**/*") if p.is_file())
        known = self.manifest(previous).get("state_files") or {} if previous else {}
        state_files = {**self._checksums(state), **{  # the earlier segments it builds on
            path: known.get(path) or self._sha256(path) for path in self._segment_files(release_id)}}
        manifest = {
            "release_id": release_id,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "previous": previous,
            "tables": entries,
            "state_files": state_files,
            **meta,
        }
        _atomic_write(self._manifest_path(release_id),
                      json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
        _atomic_write(self.releases_dir / LATEST, release_id + "\n")  # the commit
        self._record_commit(release_id, previous)
        return manifest

    def _segment_dirs(self, state_dir: Path) -> list[Path]:
        """The earlier folders a state folder builds on: those its `segments.json` names
        (siblings, oldest first; a state saved in segments, like the dedup index)."""
        listed = state_dir / "segments.json"
        if not listed.is_file():
            return []
        return [state_dir.parent / name for name in json.loads(listed.read_text())["segments"]]

    def _segment_files(self, release_id: str) -> list[str]:
        """Files of the earlier segments the release's state folders build on."""
        return sorted(str(f.relative_to(self.root))
                      for d in (self.root / "state").glob(f"*/{release_id}")
                      for segment in self._segment_dirs(d) for f in segment.iterdir() if f.is_file())

    def _rewind(self, table: str, entry: dict | None) -> None:
        """Put the table's head back at the version the previous release names, when a run
        that never committed wrote versions after it (its rows must not carry over)."""
        path = self.lake_dir / table
        if entry is None or not (path / "_delta_log").is_dir():
            return
        dt = DeltaTable(str(path))
        if dt.version() != entry["version"]:
            log.warning("table %s: versions %d..%d were written by a run that never committed; "
                        "restoring version %d", table, entry["version"] + 1, dt.version(),
                        entry["version"])
            dt.restore(entry["version"])

    def _write_change(self, table: str, change: "Change", entry: dict | None) -> dict:
        """Rows whose `key` is in the change (its rows' keys and `drop`) go, the change's rows
        come in: one merge (update matched rows, insert the rest) when every key names one row
        and nothing is only dropped; else a merge that deletes, then an append. New rows take
        sequence numbers after the table's last; a row merged over keeps its own (first seen)."""
        path = self.lake_dir / table
        arrow = to_arrow(table, change.rows)
        if entry is None or not (path / "_delta_log").is_dir():
            arrow = with_sequence(arrow, 0)
            write_deltalake(str(path), arrow, mode="overwrite", schema_mode="overwrite",
                            writer_properties=writer_properties(table))
            return self._entry(table, DeltaTable(str(path)).version(), arrow.num_rows, None,
                               next_seq=arrow.num_rows)
        dt = DeltaTable(str(path))
        arrow = self._without_unchanged(table, entry["version"], change.key, arrow)
        keys = pa.array(sorted(set(arrow.column(change.key).to_pylist()) | set(change.drop)),
                        pa.string())
        present = self._present(table, entry["version"], change.key, keys)
        if not arrow.num_rows and not present["keys"]:
            return entry  # nothing changed: the release names the same version
        next_seq = int(entry.get("next_seq", entry["rows"]))
        arrow = with_sequence(arrow, next_seq)
        n_rows = entry["rows"] + arrow.num_rows - present["rows"]
        if not present["keys"]:
            if arrow.num_rows:
                write_deltalake(dt, arrow, mode="append", schema_mode="merge",
                                writer_properties=writer_properties(table))
        elif change.unique and not set(change.drop) - set(arrow.column(change.key).to_pylist()):
            columns = [c for c in arrow.schema.names if c != SEQUENCE]
            (dt.merge(arrow, predicate=f"t.{change.key} = s.{change.key}", source_alias="s",
                      target_alias="t", merge_schema=True, writer_properties=writer_properties(table))
             .when_matched_update({c: f"s.{c}" for c in columns})
             .when_not_matched_insert({c: f"s.{c}" for c in arrow.schema.names})
             .execute())
        else:
            gone = pa.table({change.key: pa.array(present["keys"], pa.string())})
            (dt.merge(gone, predicate=f"t.{change.key} = s.{change.key}", source_alias="s",
                      target_alias="t", writer_properties=writer_properties(table))
             .when_matched_delete().execute())
            if arrow.num_rows:
                write_deltalake(DeltaTable(str(path)), arrow, mode="append", schema_mode="merge",
                                writer_properties=writer_properties(table))
        return self._entry(table, DeltaTable(str(path)).version(), n_rows, entry,
                           next_seq=next_seq + arrow.num_rows)

    def _without_unchanged(self, table: str, version: int, key: str, arrow: pa.Table) -> pa.Table:
        """`arrow` without the keys whose rows the table already holds exactly (a document read
        again): re-running the same input writes no new version."""
        columns = [c for c in arrow.schema.names if c != SEQUENCE]
        held = self.read_version(table, version, columns, keys=(key, arrow.column(key).unique()))
        if set(columns) - set(held.schema.names):
            return arrow  # a new column: every row changes

        def groups(t: pa.Table) -> dict:
            out: dict = {}
            for row in t.select(columns).to_pylist():
                out.setdefault(row[key], []).append(repr(sorted(row.items())))
            return {k: sorted(v) for k, v in out.items()}
        before, now = groups(held), groups(arrow)
        same = [k for k, rows in now.items() if before.get(k) == rows]
        if not same:
            return arrow
        return arrow.filter(pc.invert(pc.is_in(arrow.column(key), value_set=pa.array(same, pa.string()))))

    def _present(self, table: str, version: int, key: str, keys: pa.Array) -> dict:
        """Which of `keys` the table holds at `version`, and in how many rows: one column
        scanned in batches, filtered in Arrow."""
        found = _found(self.version_dataset(table, version), key, keys)
        return {"keys": sorted(set(found.to_pylist())), "rows": len(found)}

    def _entry(self, table: str, version: int, rows: int, before: dict | None, **extra) -> dict:
        """A manifest's table entry: version, rows and the sha256 of every active file (files
        the previous release recorded keep their digest: Delta never rewrites a file)."""
        known = (before or {}).get("files", {})
        files = self._version_files(table, version)
        digests = {f: known[f] if f in known else self._sha256(f) for f in files}
        return {"version": version, "rows": rows, **extra, "files": digests}

    # ------------------------------------------------------------------ maintenance
    def maintain(self, keep: int | None = None, release_id: str | None = None) -> list[str]:
        """Compact and vacuum: what `newsgate maintain` does; returns what it did, line by line.

        1. Every table of the latest release is compacted (small files of appends and merges
           rewritten into few large ones) into a new Delta version, and a new release with the
           same content commits those versions (so the next run appends to compacted tables;
           the release's rows, read in `SEQUENCE` order, are unchanged).
        2. With `keep`, only the `keep` newest releases stay listed: the others are dropped
           (named in what this returns and in releases/DROPPED).
        3. Every data file no listed release names is deleted (the files of dropped releases
           and of runs that never committed); every listed release stays readable and
           verifiable. Delta logs are kept whole, so no listed version loses its history."""
        if keep is not None and keep < 1:
            raise ValueError("--keep must be at least 1")
        done: list[str] = []
        with self.lock():
            latest = self.latest_release_id()
            if latest is None:
                return [f"no release in {self.root}: nothing to maintain"]
            manifest = self._read_manifest(latest)
            entries = {}
            for table, entry in manifest["tables"].items():
                self._rewind(table, entry)
                dt = DeltaTable(str(self.lake_dir / table))
                metrics = dt.optimize.compact(writer_properties=writer_properties(table))
                if metrics.get("numFilesRemoved", 0):
                    entry = self._entry(table, dt.version(), entry["rows"], entry,
                                        **{k: v for k, v in entry.items()
                                           if k in ("sha256", "next_seq")})
                    done.append(f"{table}: {metrics['numFilesRemoved']} files compacted into "
                                f"{metrics['numFilesAdded']} (version {entry['version']})")
                entries[table] = entry
            if entries != manifest["tables"]:
                new_id = check_release_id(release_id or _maintained_id(latest), "new release")
                meta = {k: v for k, v in manifest.items()
                        if k not in ("release_id", "created_at", "previous", "tables")}
                _atomic_write(self._manifest_path(new_id), json.dumps(
                    {"release_id": new_id,
                     "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "previous": latest, "tables": entries, **meta, "maintenance": True},
                    ensure_ascii=False, indent=2, default=str))
                _atomic_write(self.releases_dir / LATEST, new_id + "\n")
                self._record_commit(new_id, latest)
                done.append(f"release {new_id}: the content of {latest}, compacted (LATEST)")
            listed = [m for m in self.releases() if "damaged" not in m]
            dropped = [m["release_id"] for m in listed[:-keep]] if keep else []
            if dropped:
                self._record_dropped(dropped)
                done.append(f"dropped {len(dropped)} releases (no longer readable): "
                            + ", ".join(dropped))
            kept = [m for m in listed if m["release_id"] not in dropped]
            done += self._vacuum(kept)
        return done or ["nothing to do"]

    def _vacuum(self, kept: list[dict]) -> list[str]:
        """Delete the data files and dedup-index folders no kept release names."""
        needed = {path for m in kept for entry in m["tables"].values()
                  for path in entry.get("files", {})}
        indexes = [self.root / m[k] for m in kept for k in m if k.endswith("_index")]
        needed |= {str(d.relative_to(self.root))
                   for index in indexes for d in [index, *self._segment_dirs(index)]}
        unverified = [t for m in kept for t, e in m["tables"].items() if "files" not in e]
        if unverified:  # releases from before checksums: which files they need is unknown
            return [f"vacuum skipped: releases without file lists ({', '.join(sorted(set(unverified)))})"]
        removed, freed = 0, 0
        for table_dir in sorted(p for p in self.lake_dir.iterdir() if p.is_dir()):
            for path in table_dir.rglob("*.parquet"):
                relative = str(path.relative_to(self.root))
                if "_delta_log" not in path.parts and relative not in needed:
                    freed += path.stat().st_size
                    path.unlink()
                    removed += 1
        for state in sorted((self.root / "state").glob("*/rel-*")):
            if state.is_dir() and str(state.relative_to(self.root)) not in needed:
                freed += sum(f.stat().st_size for f in state.rglob("*") if f.is_file())
                shutil.rmtree(state)
                removed += 1
        return [f"vacuum: {removed} files or index folders no listed release names deleted "
                f"({freed / 1e6:.1f} MB)"] if removed else []

    def dropped_ids(self) -> set[str]:
        try:
            text = (self.releases_dir / DROPPED).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return set()
        return {line for line in text.split() if RELEASE_ID.fullmatch(line)}

    def _record_dropped(self, release_ids: list[str]) -> None:
        ids = sorted(self.dropped_ids() | set(release_ids))
        _atomic_write(self.releases_dir / DROPPED, "".join(f"{r}\n" for r in ids))

    def _record_commit(self, release_id: str, previous: str | None = None) -> None:
        """Add a committed release to releases/COMMITTED (what `repair` restores from). The
        release is committed already (LATEST names it), so a failure here is only logged."""
        ids = dict.fromkeys([*self._committed_log(), *filter(None, [previous]), release_id])
        try:
            _atomic_write(self.releases_dir / COMMITTED, "".join(f"{r}\n" for r in ids))
        except OSError as exc:
            log.warning("release %s is committed, but %s was not updated: %s",
                        release_id, self.releases_dir / COMMITTED, exc)


SEQUENCE = "row_seq"  # the order rows were first published in: what "first seen" means


@dataclass(frozen=True)
class Change:
    """What one run changes in a table: `rows` (new rows, and rows replacing the rows with the
    same `key`), and `drop`, keys whose rows go without a replacement. `unique`: a key names
    one row (clusters by article_id), so changed rows are merged over the old ones; otherwise
    (mentions by article_id) a key's old rows are deleted and its new rows appended."""
    rows: pd.DataFrame
    key: str
    drop: tuple = ()
    unique: bool = False


def key_in(column: str, values) -> ds.Expression:
    """A dataset filter: `column` is one of `values` (strings). Files delta-rs rewrote by a
    merge store strings as string_view, so the column is cast before comparing."""
    return pc.is_in(ds.field(column).cast(pa.string()),
                    value_set=pa.array(values, pa.string()) if isinstance(values, list) else values)


def _found(dataset: ds.Dataset, column: str, values) -> pa.ChunkedArray:
    """`dataset`'s `column` in the rows where it holds one of `values`: one column scanned."""
    return dataset.to_table(columns=[column], filter=key_in(column, values)).column(column)


def _held(dataset: ds.Dataset, column: str, values) -> pa.Array:
    """The `values` that `dataset`'s `column` holds (distinct strings)."""
    found = _found(dataset, column, values)
    return pc.unique(found.cast(pa.string())) if len(found) else pa.array([], pa.string())


def _by_row_group(dataset: ds.Dataset, columns: list[str] | None, filter: ds.Expression) -> pa.Table:
    """The rows `filter` keeps, scanned one row group at a time: a wide read by key (bodies of
    a few articles) then holds one group's decoded columns, not every file's at once."""
    parts = [group.to_table(schema=dataset.schema, columns=columns, filter=filter)
             for fragment in dataset.get_fragments() for group in fragment.split_by_row_group()]
    empty = dataset.schema.empty_table()
    return pa.concat_tables([empty if columns is None else empty.select(columns), *parts])


def with_sequence(table: pa.Table, first: int) -> pa.Table:
    """`table` with SEQUENCE numbered from `first` in row order (replacing any it had)."""
    if SEQUENCE in table.schema.names:
        table = table.drop_columns([SEQUENCE])
    return table.append_column(SEQUENCE, pa.array(np.arange(first, first + table.num_rows,
                                                            dtype=np.int64)))


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


def _maintained_id(release_id: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"rel-{stamp}-maintained-{hashlib.sha256(release_id.encode()).hexdigest()[:6]}"


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
    declared = {**_declared_types(table), SEQUENCE: pa.int64()}
    arrays, fields = [], []
    for col in df.columns:
        values = df[col]
        typ = declared.get(col)
        if typ is not None and pa.types.is_integer(typ) and getattr(values.dtype, "kind", "") == "f":
            values = values.astype("Int64")  # nulls read back as NaN: the same array as published
        if typ is None:
            try:
                arr = pa.array(_plain(values), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed values (a column an earlier
                # version inferred as text beside this run's numbers): as text, like it
                arr = pa.array([None if v is None else str(v) for v in _plain(values)], pa.string())
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
