"""Acceptance against ../shared: seeds gold (100% on every check) and dev HTML main-text F1."""
from __future__ import annotations


import pandas as pd
import trafilatura
from conftest import SEEDS, needs_shared
from stages import clean_documents
from test_clean_documents import document_row

from benchmarks.clean_scoring import char_f1, format_tallies, score_seeds


def test_seeds_gold_every_check_passes(gold):
    rows = [document_row(p.read_text(encoding="utf-8"), str(p)) for p in sorted(SEEDS.glob("*.txt"))]
    ids = {p.name: r["doc_id"] for p, r in zip(sorted(SEEDS.glob("*.txt")), rows)}
    batch = clean_documents(pd.DataFrame(rows))
    tallies = score_seeds(gold, batch.articles, batch.removals, ids)
    print("\nseeds gold\n" + format_tallies(tallies))
    failures = [f for t in tallies.values() for f in t.failures]
    assert not failures
    assert tallies["joins"].total == sum(len(g["joins"]) for g in gold.values())
    assert tallies["titles"].total == sum(len(g["articles"]) for g in gold.values())


@needs_shared
def test_dev_html_main_text_beats_trafilatura_alone(shared_dir):
    dev = shared_dir / "corpus" / "dev"
    pairs = [(dev / f"{g.stem}.html", g.read_text(encoding="utf-8")) for g in sorted(dev.glob("_gold/mh_*.txt"))]
    rows = [document_row(p.read_text(encoding="utf-8", errors="replace"), str(p), "html") for p, _ in pairs]
    batch = clean_documents(pd.DataFrame(rows))
    bodies = batch.articles.groupby("doc_id")["body"].apply("\n".join).to_dict()
    ours = [char_f1(bodies.get(r["doc_id"], ""), g) for r, (_, g) in zip(rows, pairs)]
    theirs = [char_f1(trafilatura.extract(r["text"]) or "", g) for r, (_, g) in zip(rows, pairs)]
    mean_ours, mean_theirs = sum(ours) / len(ours), sum(theirs) / len(theirs)
    print(f"\ndev HTML char F1 over {len(ours)} pages: newsgate {mean_ours:.3f}, trafilatura {mean_theirs:.3f}")
    assert len(ours) == 20 and mean_ours > mean_theirs


@needs_shared
def test_bad_inputs(shared_dir):
    bad = shared_dir / "badinputs"
    rows = [document_row((bad / "only_boilerplate.txt").read_text(encoding="utf-8")),
            document_row((bad / "truncated.html").read_text(encoding="utf-8"), "truncated.html", "html"),
            document_row((bad / "script_title.html").read_text(encoding="utf-8"), "script_title.html", "html")]
    batch = clean_documents(pd.DataFrame(rows))
    assert batch.quarantine.reason.tolist() == ["no article after cleaning"]
    assert batch.quarantine.doc_id.tolist() == [rows[0]["doc_id"]]
    n_lines = sum(1 for line in rows[0]["text"].split("\n") if line.strip())
    assert (batch.removals.doc_id == rows[0]["doc_id"]).sum() == n_lines
    truncated, script = batch.articles.itertuples()
    assert len(truncated.body.split("\n")) == 2
    assert "<script>alert(1)</script>" in script.title and len(script.body.split("\n")) == 10
    assert script.outlet == "人民网" and script.published_date == "2024-02-18"
