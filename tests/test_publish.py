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
