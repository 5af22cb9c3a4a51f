"""Releases read from other tools, exactly (issue 15): `newsgate.open_release` gives one
release's tables as Arrow, and pandas, polars and DuckDB read the very same rows; `newsgate
export` writes a folder that says what it holds. Two releases the flow made from seeds, so
the older one is read back from Delta versions that are no longer the newest."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import newsgate
from newsgate.flows.cli import main
from newsgate.tasks.publish import Lake, ReleaseNotFound, content_hash, to_arrow


def _routes(release, table: str) -> dict[str, pa.Table]:
    """The table through every route, each brought back to the release's Arrow schema."""
    arrow = release[table]
    schema = arrow.schema
    return {
        "pandas": pa.Table.from_pandas(release.to_pandas(table), schema=schema,
                                       preserve_index=False),
        "polars": release.to_polars(table).to_arrow().cast(schema),
        "duckdb": release.duckdb().sql(f"select * from {table}").to_arrow_table().cast(schema),
    }


@pytest.fixture(scope="module")
def releases(seed_releases) -> list[str]:
    return [m["release_id"] for m in Lake(seed_releases).releases()]


def test_open_release_reads_exactly_the_release_through_every_route(seed_releases, releases):
    lake = Lake(seed_releases)
    for release_id in releases:
        release = newsgate.open_release(seed_releases, release_id)
        manifest = lake.manifest(release_id)
        assert release.release_id == release_id and list(release) == list(manifest["tables"])
        for table, entry in manifest["tables"].items():
            arrow = release[table]
            # the content the release published: hashed as publishing hashed it, the same
            assert arrow.num_rows == entry["rows"]
            if "sha256" in entry:  # a table written whole (appended ones: each file's checksum)
                assert content_hash(to_arrow(table, release.to_pandas(table))) == entry["sha256"]
            assert "files" in entry and lake.verify(release_id).ok, table
            assert release.to_pandas(table).equals(lake.read_table(table, release_id))
            for route, rows in _routes(release, table).items():
                assert rows.equals(arrow), (release_id, table, route)
    # the older release is not the newest Delta version of a table that changed since
    old, new = (newsgate.open_release(seed_releases, r) for r in releases)
    assert old["documents"].num_rows == 1 and new["documents"].num_rows == 2


def test_latest_is_the_default_and_a_name(seed_releases, releases):
    assert newsgate.open_release(seed_releases).release_id == releases[-1]
    assert newsgate.open_release(seed_releases, "LATEST").release_id == releases[-1]


def test_an_unknown_release_or_table_says_what_there_is(seed_releases, releases):
    with pytest.raises(ReleaseNotFound, match=f"releases: {releases[0]}, {releases[1]}"):
        newsgate.open_release(seed_releases, "rel-nope")
    with pytest.raises(KeyError, match="tables: documents, articles"):
        newsgate.open_release(seed_releases)["nosuch"]


def test_duckdb_sees_every_table_and_joins_them(seed_releases, releases):
    release = newsgate.open_release(seed_releases)  # seed 004 alone names no project
    con = release.duckdb()
    [(joined,)] = con.sql(
        "select count(*) from projects p join articles a using (article_id)").fetchall()
    assert joined == release["projects"].num_rows > 0


def test_export_writes_a_folder_that_describes_itself(seed_releases, releases, tmp_path, capsys):
    folder = tmp_path / "old"
    assert main(["export", "--release", releases[0], "-o", str(folder),
                 "--out", str(seed_releases)]) == 0
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == Lake(seed_releases).manifest(releases[0])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{t}.parquet" for t in manifest["tables"]] + ["manifest.json"])
    release = newsgate.open_release(seed_releases, releases[0])
    for table, entry in manifest["tables"].items():
        written = pq.read_table(folder / f"{table}.parquet")
        assert written.equals(release[table]), table
    assert f"wrote release {releases[0]} to {folder}" in capsys.readouterr().out
