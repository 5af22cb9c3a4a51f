"""`newsgate run ../shared/badinputs` (with the seeds): every file accounted for, nothing crashes."""
from __future__ import annotations

import pytest

from conftest import SEEDS, needs_shared
from newsgate.tasks.publish import Lake

pytestmark = needs_shared


@pytest.fixture(scope="module")
def bad_run(harness, shared_dir, tmp_path_factory):
    from newsgate.flows.pipeline import newsgate
    out = tmp_path_factory.mktemp("bad")
    result = newsgate(sources=[str(SEEDS), str(shared_dir / "badinputs")], out=str(out))
    return Lake(out), result, shared_dir / "badinputs"


def _base(source: str) -> str:
    return source.split("#L", 1)[0]


def test_run_publishes_and_accounts_for_every_file(bad_run):
    lake, result, bad = bad_run
    assert result["status"] == "published", result["blocked_by"] or result["error"]
    docs = lake.read_table("documents")
    quarantine = lake.read_table("quarantine")
    seen = set(docs["source"].map(_base)) | set(quarantine["source"].dropna().map(_base))
    for path in sorted(bad.rglob("*")):
        if path.is_file():
            assert str(path) in seen, f"{path.name} is neither a document nor quarantined"


@pytest.mark.parametrize("name, reason", [
    ("empty.txt", "empty"), ("blank.txt", "blank"), ("binary.bin", "not text"),
    ("png_named.txt", "not text"), ("only_boilerplate.txt", "no article after cleaning"),
    ("EXPECTED.md", "unsupported extension .md"),
])
def test_quarantine_reasons(bad_run, name, reason):
    lake, _, bad = bad_run
    q = lake.read_table("quarantine")
    rows = q[q["source"].map(_base) == str(bad / name)]
    assert len(rows) >= 1, name
    assert any(reason in r for r in rows["reason"]), (name, rows["reason"].tolist())


def test_malformed_jsonl_lines(bad_run):
    lake, _, bad = bad_run
    q = lake.read_table("quarantine")
    rows = q[q["source"].map(_base) == str(bad / "malformed.jsonl")]
    reasons = dict(zip(rows["reason"], rows["detail"]))
    assert "line 2" in reasons["invalid json"]
    assert "line 3" in reasons["text not a string"]
    docs = lake.read_table("documents")
    assert (docs["source"].map(_base) == str(bad / "malformed.jsonl")).sum() == 1


@pytest.mark.parametrize("name, seed, kinds", [
    ("dup_of_seed.txt", "003_", {"exact"}),
    ("gbk.txt", "001_", {"exact", "near"}),
    ("near_dup_of_seed.txt", "001_", {"near"}),
    ("utf16_bom.txt", "004_", {"exact"}),
    ("crlf.txt", "004_", {"exact"}),
    ("zero_width.txt", "004_", {"exact"}),
    ("control_chars.txt", "004_", {"exact"}),
    ("gb18030_meta.html", "004_", {"exact", "near"}),
    ("wrong_meta.html", "000_", {"exact", "near"}),
    ("nested/deeper/seed_copy with space 名字.txt", "002_", {"exact"}),
])
def test_duplicates_join_their_seed_cluster(bad_run, name, seed, kinds):
    lake, _, bad = bad_run
    docs = lake.read_table("documents")
    articles = lake.read_table("articles")
    clusters = lake.read_table("clusters").set_index("article_id")
    doc_of = dict(zip(docs["source"].map(_base), docs["doc_id"]))
    seed_doc = next(d for s, d in doc_of.items() if s.startswith(str(SEEDS)) and seed in s)
    dup_doc = doc_of[str(bad / name)]
    seed_clusters = set(clusters.loc[articles.loc[articles.doc_id == seed_doc, "article_id"], "cluster_id"])
    dup_articles = articles.loc[articles.doc_id == dup_doc, "article_id"]
    assert len(dup_articles) >= 1
    for aid in dup_articles:
        row = clusters.loc[aid]
        assert row["cluster_id"] in seed_clusters, (name, aid)
        assert not row["is_canonical"] and row["kind"] in kinds, (name, row.to_dict())
