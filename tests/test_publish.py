"""The lake: Delta versions per release, manifests, LATEST, the publish lock, diff."""
from __future__ import annotations

import pandas as pd
import pytest

from newsgate.tasks.publish import Lake, PublishLocked, ReleaseNotFound, content_hash, to_arrow
from newsgate.tasks.release_diff import diff_releases


def _articles(titles: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{
        "article_id": f"d{i}-0", "doc_id": f"d{i}", "seq": 0, "title": t, "subtitle": None,
        "outlet": "吉林日报" if i == 0 else None, "published_date": None, "dateline_place": None,
        "reporters": ["缪友银"] if i == 0 else [], "photographers": [], "body": t * 3,
        "n_chars": len(t) * 3} for i, t in enumerate(titles)])


def test_to_arrow_keeps_lists_and_nulls():
    table = to_arrow("articles", _articles(["推进项目建设 壮大江城工业", "疫情防控见实效"]))
    assert str(table.schema.field("reporters").type) == "list<item: string>"
    assert table.column("reporters").to_pylist() == [["缪友银"], []]
    assert table.column("subtitle").null_count == 2
    assert str(table.schema.field("subtitle").type) == "string"


def _mentions(batch: int) -> pd.DataFrame:
    return pd.DataFrame({"article_id": [f"d{batch}-0"] * 3, "kind": ["money", "place", "money"],
                         "text": ["1亿元", "长春", "二点三亿元"], "start": [0, 5, 9], "end": [3, 7, 14],
                         "value": [1e8, None, 2.3e8], "unit": ["元", None, "元"]})


def test_typed_columns_convert_in_bulk_to_the_same_bytes_in_row_order(tmp_path):
    """Arrow-backed strings and numpy numbers skip the row-by-row path: the same Arrow bytes
    (so the same sha256 as before), one chunk even when pandas holds several, so the rows
    read back in the order they were written."""
    mentions = pd.concat([_mentions(i) for i in range(3)], ignore_index=True)  # chunked strings
    assert isinstance(mentions["text"].dtype, pd.StringDtype)
    bulk, by_row = to_arrow("mentions", mentions), to_arrow("mentions", mentions.astype(object))
    assert content_hash(bulk) == content_hash(by_row)
    assert all(c.num_chunks == 1 for c in bulk.columns)
    assert bulk.column("value").null_count == 3 and bulk.column("unit").null_count == 3
    lake = Lake(tmp_path)
    lake.publish("rel-1", {"mentions": mentions}, {})
    back = lake.read_table("mentions")
    assert back["article_id"].tolist() == mentions["article_id"].tolist()
    assert back["value"].isna().tolist() == mentions["value"].isna().tolist()


def test_publish_versions_and_time_travel(tmp_path):
    lake = Lake(tmp_path)
    assert lake.latest_release_id() is None
    with pytest.raises(ReleaseNotFound):
        lake.manifest()
    m1 = lake.publish("rel-1", {"articles": _articles(["推进项目建设 壮大江城工业"])}, {"run_id": "a"})
    m2 = lake.publish("rel-2", {"articles": _articles(["推进项目建设 壮大江城工业", "疫情防控见实效"])},
                      {"run_id": "b"})
    assert lake.latest_release_id() == "rel-2"
    assert m2["previous"] == "rel-1"
    assert m2["tables"]["articles"]["version"] == m1["tables"]["articles"]["version"] + 1
    assert len(lake.read_table("articles")) == 2
    old = lake.read_table("articles", "rel-1")  # time travel through the manifest
    assert old["title"].tolist() == ["推进项目建设 壮大江城工业"]
    assert list(old["reporters"][0]) == ["缪友银"]
    assert [m["release_id"] for m in lake.releases()] == ["rel-1", "rel-2"]
    d = diff_releases(lake, "rel-1", "rel-2")["articles"]
    assert d == {"added": 1, "removed": 0, "changed": 0, "unchanged": 1}


def test_an_unchanged_table_is_not_written_again(tmp_path):
    lake = Lake(tmp_path)
    one = _articles(["推进项目建设 壮大江城工业"])
    m1 = lake.publish("rel-1", {"articles": one, "removals": _removals(1)}, {})
    m2 = lake.publish("rel-2", {"articles": one.copy(), "removals": _removals(2)}, {})
    # the same articles: rel-2 points at rel-1's Delta version; the changed table is written
    assert m2["tables"]["articles"] == m1["tables"]["articles"]
    assert m2["tables"]["removals"]["version"] == m1["tables"]["removals"]["version"] + 1
    assert len(lake.read_table("articles", "rel-2")) == 1 and len(lake.read_table("removals")) == 2
    changed = one.assign(title="疫情防控见实效")
    m3 = lake.publish("rel-3", {"articles": changed, "removals": _removals(2)}, {})
    assert m3["tables"]["articles"]["version"] == m1["tables"]["articles"]["version"] + 1
    assert m3["tables"]["removals"] == m2["tables"]["removals"]
    assert lake.read_table("articles")["title"].tolist() == ["疫情防控见实效"]


def _removals(n: int) -> pd.DataFrame:
    return pd.DataFrame([{"doc_id": "d0", "rule": "source_line", "text": f"来源：吉林日报{i}",
                          "line_no": i} for i in range(n)])


def test_second_writer_is_refused_while_the_lock_is_held(tmp_path):
    lake = Lake(tmp_path)
    with lake.lock():
        with pytest.raises(PublishLocked, match="pid"):
            with Lake(tmp_path).lock():
                pass
    with lake.lock():  # released again afterwards
        pass


def test_manifest_is_written_atomically(tmp_path):
    lake = Lake(tmp_path)
    lake.publish("rel-1", {"articles": _articles(["推进项目建设"])}, {})
    leftovers = [p.name for p in (tmp_path / "releases").iterdir() if ".tmp" in p.name]
    assert leftovers == []


# ------------------------------------------------------------------ faults (issue 13)
from newsgate.tasks import publish as publish_module  # noqa: E402
from newsgate.tasks.publish import (  # noqa: E402
    DiskFull, HistoryBroken, InvalidReleaseId, ReleaseCorrupted, ReleaseNotCommitted)


@pytest.fixture
def two_releases(tmp_path) -> Lake:
    lake = Lake(tmp_path)
    lake.publish("rel-1", {"articles": _articles(["河北省邢台市项目开工"]), "removals": _removals(1)}, {})
    lake.publish("rel-2", {"articles": _articles(["河北省邢台市项目开工", "疫情防控见实效"]),
                           "removals": _removals(2)}, {})
    return lake


def _flip_one_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_every_file_of_a_release_is_checksummed_and_verifies(two_releases):
    manifest = two_releases.manifest()
    files = manifest["tables"]["articles"]["files"]
    assert files and all(p.startswith("lake/articles/") and p.endswith(".parquet") for p in files)
    found = two_releases.verify()
    assert found.ok and found.n_files >= 2 and not found.unverified


def test_a_flipped_byte_is_found_and_named_and_never_read_silently(two_releases):
    path = next(iter(two_releases.manifest()["tables"]["articles"]["files"]))
    _flip_one_byte(two_releases.root / path)
    found = two_releases.verify()
    assert len(found.problems) == 1
    assert "table articles" in found.problems[0] and path in found.problems[0]
    with pytest.raises(ReleaseCorrupted, match=f"table articles: file {path}"):
        two_releases.read_table("articles", verify=True)
    with pytest.raises(ReleaseCorrupted, match="articles"):
        two_releases.read_release()  # what a run builds on
    assert two_releases.verify("rel-1").ok  # the older version's files are untouched


def test_a_missing_data_file_is_named(two_releases):
    path = next(iter(two_releases.manifest()["tables"]["removals"]["files"]))
    (two_releases.root / path).unlink()
    assert two_releases.verify().problems == [f"table removals: file {path} is missing"]


@pytest.mark.parametrize("content", ["", "\n", None])
def test_a_lost_latest_is_an_error_naming_the_newest_release_and_repair_restores_it(
        two_releases, content):
    latest = two_releases.releases_dir / "LATEST"
    latest.unlink() if content is None else latest.write_text(content)
    with pytest.raises(HistoryBroken, match="newest: rel-2.*newsgate repair"):
        two_releases.latest_release_id()
    with pytest.raises(HistoryBroken):  # a run would build on it: it must not start over
        two_releases.publish("rel-3", {"articles": _articles(["新"])}, {})
    message = two_releases.repair()
    assert "rel-2" in message and two_releases.latest_release_id() == "rel-2"
    assert [m["release_id"] for m in two_releases.releases()] == ["rel-1", "rel-2"]
    assert "nothing to repair" in two_releases.repair()


@pytest.mark.parametrize("text", ["../../etc/passwd", "rel-1/../../x", "rel-\x1b[31m", "/abs"])
def test_release_ids_read_from_files_are_validated_before_use(two_releases, text):
    (two_releases.releases_dir / "LATEST").write_text(text)
    with pytest.raises(InvalidReleaseId, match="LATEST.*not a release id"):
        two_releases.manifest()
    with pytest.raises(InvalidReleaseId):
        two_releases.read_table("articles", text)
    assert "\x1b" not in str(pytest.raises(InvalidReleaseId, two_releases.latest_release_id).value)
    assert two_releases.repair().startswith("LATEST now names rel-2")


def test_repair_skips_a_damaged_newest_release(two_releases):
    path = next(iter(two_releases.manifest()["tables"]["articles"]["files"]))
    _flip_one_byte(two_releases.root / path)
    message = two_releases.repair()
    assert two_releases.latest_release_id() == "rel-1"
    assert "rel-2 does not verify" in message and f"skipped rel-2: table articles: file {path}" in message


def test_a_manifest_never_committed_is_read_only_when_asked(two_releases, monkeypatch):
    real = publish_module._atomic_write

    def full_disk_at_latest(path, text):
        if path.name == "LATEST":
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(publish_module, "_atomic_write", full_disk_at_latest)
    with pytest.raises(OSError, match="No space"):
        two_releases.publish("rel-3", {"articles": _articles(["新项目"])}, {})
    monkeypatch.undo()
    assert two_releases.latest_release_id() == "rel-2"  # the commit did not happen
    assert (two_releases.releases_dir / "rel-3.json").exists()
    assert not list(two_releases.releases_dir.glob(".*tmp*"))
    with pytest.raises(ReleaseNotCommitted, match="rel-3 was never committed.*--uncommitted"):
        two_releases.read_table("articles", "rel-3")
    assert two_releases.read_table("articles", "rel-3", uncommitted=True)["title"].tolist() == ["新项目"]
    assert len(two_releases.read_table("articles", "rel-1")) == 1  # committed: readable
    assert [m["release_id"] for m in two_releases.releases()] == ["rel-1", "rel-2"]
    # LATEST lost now: repair restores the committed rel-2, not the newer uncommitted rel-3
    (two_releases.releases_dir / "LATEST").unlink()
    two_releases.repair()
    assert two_releases.latest_release_id() == "rel-2"


def test_a_truncated_manifest_is_named_and_older_damage_does_not_hide_the_list(two_releases):
    two_releases.publish("rel-3", {"articles": _articles(["新项目"])}, {})
    path = two_releases.releases_dir / "rel-2.json"
    path.write_text(path.read_text()[:150])
    with pytest.raises(ReleaseCorrupted, match=r"manifest .*rel-2\.json is damaged \(truncated\?\)"):
        two_releases.manifest("rel-2")
    listed = two_releases.releases()
    assert [m["release_id"] for m in listed] == ["rel-1", "rel-2", "rel-3"]
    assert "rel-2.json is damaged" in listed[1]["damaged"] and "tables" in listed[0]
    latest = two_releases.releases_dir / "rel-3.json"
    latest.write_text(latest.read_text()[:-40])
    with pytest.raises(ReleaseCorrupted, match="rel-3.json"):
        two_releases.read_table("articles")


def test_publishing_refuses_before_writing_when_the_disk_is_too_full(two_releases, monkeypatch):
    versions = {t: e["version"] for t, e in two_releases.manifest()["tables"].items()}
    monkeypatch.setattr(publish_module.shutil, "disk_usage",
                        lambda path: type("usage", (), {"free": 10 << 20})())
    with pytest.raises(DiskFull, match="not enough free space.*MB needed, 10 MB free"):
        two_releases.publish("rel-3", {"articles": _articles(["新项目"])}, {})
    monkeypatch.undo()
    assert two_releases.latest_release_id() == "rel-2"
    assert {t: e["version"] for t, e in two_releases.manifest()["tables"].items()} == versions
    assert not (two_releases.releases_dir / "rel-3.json").exists()


def test_text_tables_are_written_in_small_compressed_row_groups_and_read_by_key_across_them(tmp_path):
    """Articles (whole, appended, merged) are written in row groups of at most their
    TEXT_ROW_GROUP_ROWS, still Snappy-compressed (delta-rs writes uncompressed Parquet when
    given properties without a codec); other tables keep delta-rs's default. A read by key
    gathers its rows from several groups, in the order they were first published."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from newsgate.tasks.publish import TEXT_ROW_GROUP_ROWS, Change

    limit = TEXT_ROW_GROUP_ROWS["articles"]
    n = 2 * limit + 5
    articles = _articles([f"标题{i}" for i in range(n)])
    lake = Lake(tmp_path)
    lake.publish("rel-1", {"articles": articles, "mentions": _mentions(0)}, {})
    lake.publish("rel-2", {"articles": Change(articles.iloc[[1, n - 1]].assign(title="改"), "article_id",
                                              unique=True)}, {})

    def groups(table):
        dt = DeltaTable(str(lake.lake_dir / table))
        return dt, [(meta.row_group(g).num_rows, meta.row_group(g).column(0).compression)
                    for meta in (pq.ParquetFile(uri).metadata for uri in dt.file_uris())
                    for g in range(meta.num_row_groups)]
    table, written = groups("articles")
    assert len(written) >= 3 and sum(rows for rows, _ in written) == n
    assert all(rows <= limit and codec == "SNAPPY" for rows, codec in written)
    assert groups("mentions")[1] == [(3, "SNAPPY")]
    keys = ("article_id", pa.array(["d1-0", f"d{limit + 3}-0", f"d{n - 1}-0", "d0-0"]))
    found = lake.read_version("articles", table.version(), ["article_id", "title"], keys=keys)
    assert found.to_pylist() == [{"article_id": "d0-0", "title": "标题0"}, {"article_id": "d1-0", "title": "改"},
                                 {"article_id": f"d{limit + 3}-0", "title": f"标题{limit + 3}"},
                                 {"article_id": f"d{n - 1}-0", "title": "改"}]
    unordered = lake.read_version("articles", table.version(), ["article_id", "title"], ordered=False)
    assert sorted(unordered.to_pylist(), key=str) == sorted(
        lake.read_version("articles", table.version(), ["article_id", "title"]).to_pylist(), key=str)
