"""Ingest stage: real bytes in, documents or quarantine rows out.

Every awkward input is generated at test time from seed 004 (or 001), so the suite runs on a
fresh clone; the ``needs_shared`` tests then check each file of ../shared/badinputs against
its EXPECTED.md row.
"""
from __future__ import annotations

import codecs
import hashlib
import json
import random
import pytest
from conftest import SEEDS, needs_shared

from newsgate.schemas.contract import QUARANTINE_COLUMNS
from newsgate.tasks.ingest import (
    DOCUMENT_COLUMNS,
    discover,
    estimate_documents,
    ingest_files,
    ingest_records,
    normalise_text,
    unique_doc_ids,
)
from newsgate.tasks.records import to_columns

SEED_004 = next(SEEDS.glob("004_*.txt"))
SEED_001 = next(SEEDS.glob("001_*.txt"))
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415478da63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def html_page(body: str, charset: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="{charset}">\n'
            f"<title>t</title></head>\n<body>\n<p>{body}</p>\n</body>\n</html>\n")


def with_every(text: str, insert: str, step: int) -> str:
    """``insert`` after every ``step`` characters: noise inside words and names."""
    return insert.join(text[i:i + step] for i in range(0, len(text), step))


@pytest.fixture(scope="module")
def seed() -> str:
    return SEED_004.read_text(encoding="utf-8")


@pytest.fixture()
def ingest_one(tmp_path):
    """Ingest one file written from bytes; return (documents row or None, quarantine row or None)."""
    def run(name: str, data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        batch = ingest_files([path])
        assert batch.n_inputs == 1 == len(batch.documents) + len(batch.quarantine)
        doc = batch.documents.iloc[0] if len(batch.documents) else None
        bad = batch.quarantine.iloc[0] if len(batch.quarantine) else None
        return doc, bad
    return run


# --- decoding: every variant must give back exactly the seed text ---------------------------

def noisy(text: str, insert: str, step: int, label: str) -> tuple[bytes, list[str]]:
    """The seed with ``insert`` every ``step`` characters, and the warning ingest must give."""
    dirty = with_every(text, insert, step)
    return dirty.encode("utf-8"), [f"removed {len(dirty) - len(text)} {label}"]


# name: (expected encoding, seed text -> (bytes, expected warnings))
SEED_VARIANTS = {
    "utf8.txt": ("utf-8", lambda t: (t.encode("utf-8"), [])),
    "utf8_sig.txt": ("utf-8-sig", lambda t: (codecs.BOM_UTF8 + t.encode("utf-8"), [])),
    "utf16le_bom.txt": ("utf-16-le", lambda t: (codecs.BOM_UTF16_LE + t.encode("utf-16-le"), [])),
    "utf16be_bom.txt": ("utf-16-be", lambda t: (codecs.BOM_UTF16_BE + t.encode("utf-16-be"), [])),
    "utf32le_bom.txt": ("utf-32-le", lambda t: (codecs.BOM_UTF32_LE + t.encode("utf-32-le"), [])),
    "gbk.txt": ("gbk", lambda t: (t.encode("gbk"), [])),
    "crlf.txt": ("utf-8", lambda t: (t.replace("\n", "\r\n").encode("utf-8"), [])),
    "cr_only.txt": ("utf-8", lambda t: (t.replace("\n", "\r").encode("utf-8"), [])),
    "zero_width.txt": ("utf-8", lambda t: noisy(t, "\u200b\ufeff", 40, "zero-width characters")),
    "word_joiner.txt": ("utf-8", lambda t: noisy(t, "\u2060\u200c\u200d", 333, "zero-width characters")),
    "control_chars.txt": ("utf-8", lambda t: noisy(t, "\x00\x07\x1b", 500, "control characters")),
}


@pytest.mark.parametrize("name", sorted(SEED_VARIANTS))
def test_variant_decodes_to_the_seed_text(ingest_one, seed, name):
    encoding, make = SEED_VARIANTS[name]
    data, warnings = make(seed)
    doc, bad = ingest_one(name, data)
    assert bad is None
    assert (doc.text, doc.encoding, doc.warnings, doc.n_bytes) == (seed, encoding, warnings, len(data))
    # the id hashes the normalised text, so every variant is an exact duplicate of the seed
    assert doc.doc_id == sha16(seed)


def test_gb18030_only_characters_decode_as_gb18030(ingest_one):
    text = SEED_001.read_text(encoding="utf-8")  # NBSP and • are not in GBK
    doc, _ = ingest_one("gb18030.txt", text.encode("gb18030"))
    assert (doc.encoding, doc.text) == ("gb18030", text)


def test_big5_is_not_read_as_gb18030_mojibake(ingest_one):
    # GB18030 accepts these bytes too, as 狶祇甶э〆穦ヴ…; the guess must find Big5
    text = "吉林省發展改革委員會主任張志新圍繞全省投資和項目建設工作安排情況進行匯報。\n" * 3
    doc, _ = ingest_one("big5.txt", text.encode("big5"))
    assert (doc.encoding, doc.text) == ("big5", text)
    assert doc.warnings == ["encoding guessed: big5 (chaos 0.00)"]


def test_true_meta_charset_is_honoured(ingest_one, seed):
    page = html_page(seed, "gb18030")
    doc, _ = ingest_one("page.html", page.encode("gb18030"))
    assert (doc.format, doc.encoding, doc.text, doc.warnings) == ("html", "gb18030", page, [])


def test_gb2312_label_is_read_as_gbk(ingest_one, seed):
    page = html_page(seed, "gb2312")
    doc, _ = ingest_one("page.htm", page.encode("gbk"))
    assert (doc.encoding, doc.text, doc.warnings) == ("gbk", page, [])


def test_lying_meta_charset_decodes_utf8_with_a_warning(ingest_one, seed):
    page = html_page(seed, "gbk")
    doc, _ = ingest_one("wrong_meta.html", page.encode("utf-8"))
    assert doc.encoding == "utf-8"
    assert doc.text == page
    assert doc.warnings == ["charset conflict: meta says gbk, decoded utf-8"]


def test_ascii_page_never_conflicts_with_its_meta(ingest_one):
    doc, _ = ingest_one("ascii.html", html_page("plain ascii", "gbk").encode("ascii"))
    assert doc.warnings == []


def test_last_resort_guess_is_recorded_as_a_warning(ingest_one):
    # cp1252 text with lone high bytes: neither UTF-8 nor GBK/GB18030 decode it
    text = "Le café est une boisson appréciée en France, servie près de la cheminée. " * 4
    doc, _ = ingest_one("latin.txt", text.encode("cp1252"))
    assert "Le café" in doc.text and "\ufffd" not in doc.text
    assert doc.warnings[0].startswith(f"encoding guessed: {doc.encoding}")


# --- HTML truncation -------------------------------------------------------------------------

@pytest.mark.parametrize("html, truncated", [
    ("<html><body><p>全文</p></body></html>", False),
    ("<html><body><p>全文</p></body>", False),                      # </body> is enough
    ("<div><p>片段</p></div>", False),                               # a fragment is not a page
    ("<html><body><p>第一段</p><p><img src=\"/uploads/remote/", True),  # cut inside a tag
    ("<html><body><p>第一段</p><p>第二段", True),                     # page never closes
])
def test_truncated_html_is_kept_with_a_warning(ingest_one, html, truncated):
    doc, _ = ingest_one("t.html", html.encode("utf-8"))
    assert doc.text == html
    assert ("truncated html" in doc.warnings) is truncated


# --- rejections ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data, reason, detail", [
    ("empty.txt", b"", "empty", "0 bytes"),
    ("blank.txt", " \t \n\n   \r\n\t\n\u3000 \n\n".encode("utf-8"), "blank", "only whitespace (18 bytes)"),
    ("zw_only.txt", "\u200b\ufeff \n".encode("utf-8"), "blank", "only whitespace (8 bytes)"),
    ("png_named.txt", PNG_1X1, "not text", "image/png"),
    ("pdf.html", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not text", "application/pdf"),
    ("gz.jsonl", b"\x1f\x8b\x08\x00" + bytes(40), "not text", "application/gzip"),
    ("random.txt", random.Random(20240601).randbytes(512), "not text", "binary: 11% control bytes"),
    ("random.bin", random.Random(20240601).randbytes(512), "not text", "binary: 11% control bytes"),
    ("notes.md", "# 说明\n".encode("utf-8"), "unsupported extension .md", "notes.md"),
    ("LICENSE", b"MIT\n", "unsupported extension (none)", "LICENSE"),
])
def test_rejected_with_a_reason(ingest_one, name, data, reason, detail):
    doc, bad = ingest_one(name, data)
    assert doc is None
    assert (bad.stage, bad.reason, bad.detail) == ("ingest", reason, detail)
    assert bad.doc_id is None


def test_missing_file_is_unreadable_not_a_crash(tmp_path):
    batch = ingest_files([tmp_path / "vanished.txt"])
    row = batch.quarantine.iloc[0]
    assert (batch.n_inputs, row.reason) == (1, "unreadable")
    assert row.detail.startswith("FileNotFoundError")


# --- JSONL -----------------------------------------------------------------------------------

def test_jsonl_one_unit_per_non_blank_line(tmp_path, seed):
    lines = [
        json.dumps({"id": "seed_004", "text": seed, "url": "http://x/1", "title": "T",
                    "published": "2024-02-18"}, ensure_ascii=False),
        json.dumps({"id": "cut", "text": seed[:50]}, ensure_ascii=False)[:-3],  # cut mid-string
        json.dumps({"id": "n", "text": 42}),
        "",  # blank lines are not input units
        json.dumps({"id": "nothing"}),
        json.dumps({"id": "page", "html": "<p>项目\r\n开工</p>", "text": "ignored"}, ensure_ascii=False),
        json.dumps(["not", "an", "object"]),
        json.dumps({"text": " \u3000\n"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = ingest_files([path])

    assert batch.n_inputs == 7 == len(batch.documents) + len(batch.quarantine)
    docs = batch.documents.set_index("line_no")
    assert list(docs.index) == [1, 6]
    first = docs.loc[1]
    assert (first.text, first.format, first.container, first.source) == (seed, "text", "jsonl", f"{path}#L1")
    assert (first.record_id, first.url, first.title_hint, first.published_hint) == (
        "seed_004", "http://x/1", "T", "2024-02-18")
    assert first.n_bytes == len(lines[0].encode("utf-8")) + 1  # the line and its newline
    assert (docs.loc[6].format, docs.loc[6].text) == ("html", "<p>项目\n开工</p>")

    quarantine = {row.source.rsplit("#", 1)[1]: (row.reason, row.detail)
                  for row in batch.quarantine.itertuples()}
    assert quarantine["L2"][0] == "invalid json"
    assert quarantine["L2"][1].startswith("line 2: Unterminated string")
    assert quarantine["L3"] == ("text not a string", "line 3: int")
    assert quarantine["L5"] == ("no text field", "line 5")
    assert quarantine["L7"] == ("not a json object", "line 7: list")
    assert quarantine["L8"] == ("blank", f"line 8: only whitespace ({len(lines[7]) + 1} bytes)")


def test_jsonl_without_any_line_is_still_accounted_for(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n \n\r\n")
    (tmp_path / "utf16.jsonl").write_bytes(codecs.BOM_UTF16_LE + '{"text": "x"}\n'.encode("utf-16-le"))
    batch = ingest_files(discover([tmp_path]))
    assert batch.n_inputs == 3 and batch.documents.empty
    assert list(batch.quarantine.reason) == ["blank", "empty", "not text"]


def test_jsonl_line_in_gbk_is_decoded_not_garbled(tmp_path, seed):
    good = json.dumps({"text": "第一行"}, ensure_ascii=False).encode("utf-8")
    gbk = json.dumps({"text": seed[:200]}, ensure_ascii=False).encode("gbk")
    path = tmp_path / "mixed_enc.jsonl"
    path.write_bytes(good + b"\n" + gbk + b"\n")
    docs = ingest_files([path]).documents
    assert list(docs.encoding) == ["utf-8", "gbk"]
    assert docs.text.iloc[1] == seed[:200]


# --- ids, discovery, batches -----------------------------------------------------------------

def test_byte_copy_gets_its_own_suffixed_id(tmp_path, seed):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(seed, encoding="utf-8")
    docs = ingest_files(discover([tmp_path])).documents
    base = sha16(seed)
    suffix = hashlib.sha256(str(tmp_path / "b.txt").encode("utf-8")).hexdigest()[:6]
    assert list(docs.doc_id) == [base, f"{base}-{suffix}"]


def test_discover_is_recursive_sorted_and_keeps_odd_names(tmp_path):
    odd = tmp_path / "nested" / "deeper" / "seed_copy with space 名字.txt"
    odd.parent.mkdir(parents=True)
    for path in (odd, tmp_path / "b.txt", tmp_path / "a.html", tmp_path / ".hidden"):
        path.write_text("x", encoding="utf-8")
    found = discover([tmp_path, tmp_path / "b.txt", tmp_path / "missing.txt"])
    assert found[:-1] == sorted(found[:-1]) and found[-1] == tmp_path / "missing.txt"
    assert set(found) == {odd, tmp_path / "b.txt", tmp_path / "a.html", tmp_path / ".hidden",
                          tmp_path / "missing.txt"}  # overlap counted once, missing kept
    assert ingest_files([odd]).documents.source.iloc[0] == str(odd)


def test_seeds_ingest_cleanly(seed_paths, seed_texts):
    batch = ingest_files(seed_paths)
    assert batch.quarantine.empty and batch.n_inputs == 5
    assert list(batch.documents.text) == [seed_texts[p.name] for p in seed_paths]
    assert batch.documents.doc_id.is_unique
    assert all(w == [] for w in batch.documents.warnings)


def test_tables_have_their_columns_even_when_empty():
    batch = ingest_files([])
    assert list(batch.documents.columns) == DOCUMENT_COLUMNS
    assert list(batch.quarantine.columns) == QUARANTINE_COLUMNS
    assert batch.n_inputs == 0


def test_batches_read_apart_get_the_ids_of_one_batch(tmp_path, seed):
    """The flow ingests files in batches (cached apart): the same text in two batches still
    gets two ids, the ones a single batch gives."""
    paths = []
    for name in ("a.txt", "b.txt", "c.txt"):
        paths.append(tmp_path / name)
        paths[-1].write_text(seed, encoding="utf-8")
    whole = ingest_files(paths).documents["doc_id"].tolist()
    apart = [row for p in paths for row in ingest_records([{"path": str(p)}])["documents"]]
    assert [r["doc_id"] for r in apart] == [sha16(seed)] * 3  # each batch alone: no clash
    assert unique_doc_ids(to_columns(apart, ["doc_id", "text", "source"])) == whole
    assert len(set(whole)) == 3


def test_normalise_keeps_layout_whitespace():
    text, warnings = normalise_text("a\u00a0b\u3000c\td\r\ne\x0cf\u2060g")
    assert text == "a\u00a0b\u3000c\td\nefg"
    assert warnings == ["removed 1 control characters", "removed 1 zero-width characters"]


# --- the shared bad inputs, file by file (EXPECTED.md) ---------------------------------------

@needs_shared
def test_shared_badinputs_match_expected(shared_dir, seed_texts):
    bad = shared_dir / "badinputs"
    batch = ingest_files(discover([bad]))
    assert len(batch.documents) + len(batch.quarantine) == batch.n_inputs == 21
    docs = {row.source.removeprefix(f"{bad}/"): row for row in batch.documents.itertuples()}
    quarantined = {row.source.removeprefix(f"{bad}/"): (row.reason, row.detail)
                   for row in batch.quarantine.itertuples()}
    seed = {name[:3]: text for name, text in seed_texts.items()}

    assert quarantined == {
        "EXPECTED.md": ("unsupported extension .md", "EXPECTED.md"),
        "binary.bin": ("not text", "binary: 11% control bytes"),
        "blank.txt": ("blank", "only whitespace (18 bytes)"),
        "empty.txt": ("empty", "0 bytes"),
        "malformed.jsonl#L2": ("invalid json", "line 2: Unterminated string starting at (column 38)"),
        "malformed.jsonl#L3": ("text not a string", "line 3: int"),
        "png_named.txt": ("not text", "image/png"),
    }
    assert docs["gbk.txt"].encoding == "gbk"
    assert docs["gbk.txt"].text == seed["001"].replace("\u00a0", " ").replace("•", "·")
    for name in ("utf16_bom.txt", "crlf.txt", "zero_width.txt", "control_chars.txt", "malformed.jsonl#L1"):
        assert docs[name].text == seed["004"], name
    assert docs["utf16_bom.txt"].encoding == "utf-16-le"
    assert docs["zero_width.txt"].warnings == ["removed 158 zero-width characters"]
    assert docs["control_chars.txt"].warnings == ["removed 12 control characters"]
    assert docs["dup_of_seed.txt"].text == seed["003"]
    assert docs["nested/deeper/seed_copy with space 名字.txt"].text == seed["002"]

    assert docs["gb18030_meta.html"].encoding == "gb18030"
    assert "吉林省发改委" in docs["gb18030_meta.html"].text
    wrong = docs["wrong_meta.html"]
    assert (wrong.encoding, wrong.warnings) == ("utf-8", ["charset conflict: meta says gbk, decoded utf-8"])
    assert "巴音朝鲁" in wrong.text and "鍚" not in wrong.text
    assert docs["truncated.html"].warnings == ["truncated html"]
    assert all("\ufffd" not in row.text and "\r" not in row.text for row in docs.values())
    assert len(set(batch.documents.doc_id)) == len(docs)


@needs_shared
def test_shared_badinputs_with_seeds_keep_every_copy(shared_dir, seed_paths):
    batch = ingest_files(discover([SEEDS, shared_dir / "badinputs"]))
    docs = batch.documents
    assert batch.n_inputs == 26 and len(docs) == 19
    seed_ids = set(docs[docs.source.str.startswith(str(SEEDS))].doc_id)
    copies = docs[docs.doc_id.str.len() > 16]
    # 004 x5 (utf16, crlf, zero_width, control_chars, jsonl L1), 003 and 002 byte copies
    assert len(copies) == 7
    assert set(copies.doc_id.str[:16]) <= seed_ids


def test_a_bug_on_one_input_is_quarantined_not_raised(tmp_path, monkeypatch, seed_texts):
    import newsgate.tasks.ingest as ingest_module
    good = tmp_path / "good.txt"
    good.write_text(seed_texts["004_565aa33160096c90.txt"], encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("项目建设", encoding="utf-8")
    real = ingest_module.decode_bytes

    def flaky(data, is_html=False):
        if data == "项目建设".encode():
            raise ValueError("boom")
        return real(data, is_html)

    monkeypatch.setattr(ingest_module, "decode_bytes", flaky)
    batch = ingest_module.ingest_files([good, bad])
    assert len(batch.documents) == 1 and batch.n_inputs == 2
    row = batch.quarantine.iloc[0]
    assert (row["source"], row["reason"]) == (str(bad), "ingest error")
    assert "ValueError: boom" in row["detail"]


def test_discover_keeps_the_order_of_the_sources(tmp_path):
    from newsgate.tasks.ingest import discover
    a, b = tmp_path / "z_first", tmp_path / "a_second"
    for d in (a, b):
        d.mkdir()
        (d / "2.txt").write_text("项目", encoding="utf-8")
        (d / "1.txt").write_text("建设", encoding="utf-8")
    assert discover([a, b]) == [a / "1.txt", a / "2.txt", b / "1.txt", b / "2.txt"]
    assert discover([b, a])[0] == b / "1.txt"
    assert discover([a, a / "1.txt"]) == [a / "1.txt", a / "2.txt"]  # no repeats


def test_documents_are_estimated_from_newlines_before_ingest(tmp_path):
    """Whether a run starts worker processes is decided before ingest: a .jsonl line counts
    as one document, any other file (also an unreadable one) as one, counting stops early."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"text": f"第{i}条"}) + "\n" for i in range(150)),
                    encoding="utf-8")
    pages = [tmp_path / f"p{i}.txt" for i in range(3)]
    for page in pages:
        page.write_text(SEED_004.read_text(encoding="utf-8"), encoding="utf-8")
    assert estimate_documents([feed, *pages], enough=1000) == 153
    assert estimate_documents([*pages, tmp_path / "missing.jsonl"], enough=1000) == 4
    assert 100 <= estimate_documents([feed, *pages], enough=100) < 153
    assert estimate_documents([], enough=100) == 0


# --- inputs that cannot hang or explode (issue 13) -------------------------------------------

def _within(seconds: float, fn, *args):
    """fn(*args), or a test failure (not a hung suite) when it takes longer than `seconds`."""
    import threading
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("value", fn(*args)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    return box["value"]


def test_special_files_are_quarantined_unopened(tmp_path, seed):
    import os
    import socket
    (tmp_path / "a_good.txt").write_text(seed, encoding="utf-8")
    os.mkfifo(tmp_path / "fifo.txt")
    os.mkfifo(tmp_path / "fifo.jsonl")
    os.mkfifo(tmp_path / "fifo.md")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock.html"))
    try:
        paths = discover([tmp_path])
        assert _within(10, estimate_documents, paths, 1000) == 6
        batch = _within(10, ingest_files, paths)
    finally:
        server.close()
    assert batch.n_inputs == 6 and len(batch.documents) == 1
    got = {row.source.rsplit("/", 1)[1]: (row.reason, row.detail) for row in batch.quarantine.itertuples()}
    assert got == {"fifo.txt": ("not a regular file", "named pipe (FIFO)"),
                   "fifo.jsonl": ("not a regular file", "named pipe (FIFO)"),
                   "fifo.md": ("not a regular file", "named pipe (FIFO)"),
                   "zero.txt": ("not a regular file", "character device"),
                   "sock.html": ("not a regular file", "socket")}


def test_oversize_documents_are_quarantined_without_being_read_whole(tmp_path, seed, monkeypatch):
    import newsgate.tasks.ingest as ingest_module
    monkeypatch.setattr(ingest_module, "MAX_DOCUMENT_BYTES", 4096)
    small = seed[:300]
    (tmp_path / "a_small.txt").write_text(small, encoding="utf-8")
    (tmp_path / "b_big.txt").write_text(seed, encoding="utf-8")  # 6 KB
    lines = [json.dumps({"text": small}, ensure_ascii=False), json.dumps({"text": seed * 40}, ensure_ascii=False),
             json.dumps({"text": small + "。"}, ensure_ascii=False)]
    (tmp_path / "c_feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reads = []
    real_lines = ingest_module.bounded_lines

    def watched(stream, limit):
        for raw, n in real_lines(stream, limit):
            reads.append(0 if raw is None else len(raw))
            yield raw, n
    monkeypatch.setattr(ingest_module, "bounded_lines", watched)
    batch = ingest_files(discover([tmp_path]))
    assert batch.n_inputs == 5 and len(batch.documents) == 3
    assert list(batch.documents.text) == [small, small, small + "。"]
    assert list(batch.documents.line_no.dropna()) == [1, 3]  # the line after the long one
    big = {row.source.rsplit("/", 1)[1]: (row.reason, row.detail) for row in batch.quarantine.itertuples()}
    size = len(seed.encode("utf-8"))
    assert big["b_big.txt"] == ("too large", f"{size} bytes, over the limit of 4096 per document")
    assert big["c_feed.jsonl#L2"] == (
        "too large", f"line 2: {len(lines[1].encode()) + 1} bytes, over the limit of 4096 per document")
    assert max(reads) <= 4097


def test_oversize_text_in_characters_is_quarantined(ingest_one, monkeypatch, seed):
    import newsgate.tasks.ingest as ingest_module
    monkeypatch.setattr(ingest_module, "MAX_DOCUMENT_CHARS", 1000)
    doc, bad = ingest_one("long.txt", seed.encode("utf-16"))
    assert doc is None and (bad.reason, bad.detail) == (
        "too large", f"{len(seed)} characters, over the limit of 1000 per document")


def test_damaged_utf8_in_a_short_jsonl_text_is_quarantined_not_guessed(tmp_path, seed):
    sentence = seed.splitlines()[0][:40]
    good = json.dumps({"id": "ok", "text": sentence}, ensure_ascii=False).encode("utf-8")
    raw = bytearray(good)
    at = raw.index(sentence[5].encode("utf-8"))
    raw[at + 1] = 0x38  # one flipped bit in the second byte of a character: '8'
    cut = good[:good.index(sentence[9].encode()) + 2] + good[good.index(sentence[10].encode()):]
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b"\n".join([good, bytes(raw), cut]) + b"\n")
    batch = ingest_files([path])
    assert list(batch.documents.text) == [sentence]
    rows = batch.quarantine.set_index("source")
    assert rows.loc[f"{path}#L2", "reason"] == "invalid utf-8"
    assert rows.loc[f"{path}#L2", "detail"].startswith(f"line 2: 2 bad byte sequence(s) among")
    assert rows.loc[f"{path}#L2", "detail"].endswith(f"the first at byte {at}")
    assert rows.loc[f"{path}#L3", "reason"] == "invalid utf-8"


def test_no_encoding_is_guessed_from_a_few_bytes(ingest_one):
    doc, bad = ingest_one("short.txt", "Проект начат".encode("cp1251"))
    assert doc is None and bad.reason == "not text"
    assert bad.detail == "undecodable bytes: 12 bytes are too few to guess an encoding from"


def test_a_slow_batch_is_logged_with_its_slowest_input(tmp_path, seed, monkeypatch, caplog):
    import newsgate.tasks.ingest as ingest_module
    monkeypatch.setattr(ingest_module, "BATCH_TIME_BUDGET_S", 0.0)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(seed, encoding="utf-8")
    with caplog.at_level("WARNING", logger="newsgate.tasks.ingest"):
        ingest_records([{"path": str(p)} for p in discover([tmp_path])])
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith("ingest: a batch of 2 inputs took") and "over its budget of 0 s" in message
    assert str(tmp_path) in message
