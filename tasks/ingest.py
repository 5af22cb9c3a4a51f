"""Ingest stage: turn source files into a ``documents`` table plus ``quarantine`` rows.

Every input unit (one file, or one non-blank line of a ``.jsonl`` file) ends up either as a
document or as a quarantine row with a reason, so ``len(documents) + len(quarantine) ==
n_inputs`` always holds. Nothing here parses HTML: ``.html`` documents keep their decoded
source in ``text`` and the clean stage extracts the article later.

Decoding order for bytes (files): BOM -> strict UTF-8 -> the HTML ``<meta charset>`` (only if
the bytes decode strictly with it; a lying meta is recorded as a warning) -> GBK / GB18030
strict, if the result looks like Chinese rather than Big5/Shift-JIS mojibake ->
charset-normalizer with a confidence check. Binary content (magic numbers, many control bytes,
nothing decodes) is rejected as ``not text``; bytes are never decoded with ``errors="replace"``.

Inputs that could hang or exhaust the run never get that far: only regular files are opened
(a FIFO, device or socket is quarantined as ``not a regular file`` without being opened), a
document over ``MAX_DOCUMENT_BYTES`` or ``MAX_DOCUMENT_CHARS`` is quarantined as ``too large``
(a JSONL line is read at most that far), UTF-8 with a few bad byte sequences is quarantined as
``invalid utf-8`` rather than guessed at (any other codec turns the whole text into mojibake),
and no encoding is guessed from fewer than ``MIN_GUESS_BYTES``. A batch slower than
``BATCH_TIME_BUDGET_S`` is logged with its slowest input.

Entry points: ``discover`` -> ``ingest_records`` (the stage's function over a batch of files,
declared to the flow by ``STAGE``) or ``ingest_files`` (the same as frames). The contract is
docs/INTERFACES.md; this module has no Prefect imports (the flow runs it).
"""
from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from newsgate.schemas.contract import QUARANTINE_COLUMNS
from newsgate.tasks.stage import Batches, Stage

__all__ = [
    "DOCUMENT_COLUMNS",
    "IngestBatch",
    "decode_bytes",
    "discover",
    "ingest_files",
    "ingest_records",
    "iter_jsonl_outcomes",
    "normalise_text",
]

DOCUMENT_COLUMNS = [
    "doc_id", "source", "format", "container", "line_no", "encoding", "n_bytes", "text",
    "url", "title_hint", "published_hint", "record_id", "warnings",
]

# Extension (lower-cased) -> how the file is read.
FILE_KINDS = {".txt": "text", ".text": "text", ".html": "html", ".htm": "html", ".jsonl": "jsonl"}

# Magic numbers of common binary formats; checked before any decoding.
MAGIC_MIME: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"(\xb5/\xfd", "application/zstd"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc/.xls
    (b"\x7fELF", "application/x-elf"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
)

# UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# C0 controls that real text never needs; \t \n \r \f are layout, not binary noise.
_BINARY_CONTROL_BYTES = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D})
MAX_CONTROL_BYTE_RATIO = 0.05      # control_chars.txt has 0.2 %, random bytes ~11 %
CONTROL_SNIFF_BYTES = 64 * 1024    # sample enough to decide, cheaply, on huge files
MAX_GUESS_CHAOS = 0.2              # charset-normalizer "mess" above this = unreliable guess
MIN_GUESS_BYTES = 100              # fewer bytes are too little evidence to guess an encoding from
# UTF-8 with at least this many valid multi-byte characters per bad sequence is damaged UTF-8
# (a flipped or cut byte), not another encoding: GBK, Big5 or cp1251 text decoded as UTF-8
# gives far fewer valid characters than bad sequences.
DAMAGED_UTF8_RATIO = 3
META_SNIFF_BYTES = 8 * 1024

# Per-document limits. The largest real page of the dev corpus is 0.9 MB; cleaning takes about
# 3.5 s per MB of HTML, so the limits bound one document to about half a minute, and memory.
MAX_DOCUMENT_BYTES = 8 << 20
MAX_DOCUMENT_CHARS = 4_000_000
BATCH_TIME_BUDGET_S = 60.0         # a slower ingest batch is logged, with its slowest input

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
# Web labels Python does not know, and gb2312 read as its superset: gb2312-labelled pages
# routinely contain GBK-only characters.
LABEL_DECODERS = {"gb2312": "gbk", "x-gbk": "gbk", "gb_2312-80": "gbk", "csgb2312": "gbk", "chinese": "gbk"}
# Codec families: labels in one family do not conflict (a gb2312 page decoded as gbk is fine).
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz"}
# gbk first: it round-trips what GBK files hold; gb18030 (the superset) catches the rest.
GB_DECODERS = ("gbk", "gb18030")

# GB18030 (and mostly GBK) decode nearly any double-byte data, so Big5 / Shift-JIS / EUC-KR
# bytes come out as "valid" text full of scripts Chinese news hardly uses: kana, Cyrillic,
# Greek, Hangul, box drawing, private use. Above this share of non-ASCII chars, it is mojibake.
_UNLIKELY_IN_CHINESE = re.compile(r"[\u0370-\u04ff\u2500-\u257f\u3040-\u30ff\uac00-\ud7af\ue000-\uf8ff]")
MAX_UNLIKELY_SHARE = 0.02

# Normalisation: (pattern, warning label). \r is handled before, as a newline.
_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\x00-\x08\x0b-\x1f]"), "control characters"),
    (re.compile("[\u200b\u200c\u200d\u2060\ufeff]"), "zero-width characters"),
    (re.compile(r"[\ud800-\udfff]"), "lone surrogates"),  # only JSON escapes can produce these
)
# One scan finds whether any normaliser applies: most documents are clean (hot path).
_ANY_TO_REMOVE = re.compile("|".join(pattern.pattern for pattern, _ in _NORMALISERS))

_CLOSING_PAGE_TAG = re.compile(r"</(?:html|body)\s*>", re.IGNORECASE)
_OPENING_PAGE_TAG = re.compile(r"<(?:html|body)[\s>]", re.IGNORECASE)


class Rejected(Exception):
    """An input unit that cannot become a document: carries the quarantine reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class Document:
    """A document row without its doc_id (assigned per batch, to keep keys unique)."""

    source: str
    format: str
    container: str
    encoding: str
    n_bytes: int
    text: str
    warnings: list[str]
    line_no: int | None = None
    url: str | None = None
    title_hint: str | None = None
    published_hint: str | None = None
    record_id: str | None = None


@dataclass(frozen=True)
class Rejection:
    source: str
    reason: str
    detail: str


Outcome = Document | Rejection


@dataclass
class IngestBatch:
    documents: pd.DataFrame
    quarantine: pd.DataFrame
    n_inputs: int


# ---------------------------------------------------------------------------------------------
# discovery

def discover(sources: Iterable[str | Path]) -> list[Path]:
    """Every file under ``sources`` (files or directories, recursive), without repeats.

    Sources keep the order given and each one's files are sorted, so the input order (which
    decides ties such as "the first-seen copy is canonical") is the order the user wrote.
    Paths are kept as given (no resolve), so spaces and non-ASCII names survive. A source that
    does not exist is returned as is: reading it later yields an ``unreadable`` quarantine row
    instead of vanishing silently. Directory symlinks are followed, but never in a loop.
    """
    ordered: dict[Path, None] = {}  # insertion-ordered set
    for source in sources:
        for path in sorted(_files_under(Path(source))):
            ordered.setdefault(path, None)
    return list(ordered)


IGNORE_FILE = ".newsgateignore"  # in a source folder: gitignore-style patterns, one a line


def exclude_paths(paths: Iterable[Path], sources: Iterable[str | Path],
                  exclude: Iterable[str] = ()) -> tuple[list[Path], list[Path]]:
    """`paths` (from `discover`) split into (kept, excluded), the order kept.

    A file under a source folder is excluded when its path relative to that folder matches a
    pattern of `exclude` (`--exclude`) or of the folder's own `.newsgateignore`, with
    gitignore's rules (pathspec): `_gold/*` is the folder's top `_gold/`, `*.md` any `.md`.
    The ignore files themselves are excluded too. A file named as a source is always kept."""
    import pathspec

    sources = [Path(s) for s in sources]
    folders = [s for s in sources if s.is_dir()]
    named = set(sources) - set(folders)
    specs = {}
    for folder in folders:
        lines = list(exclude)
        ignore = folder / IGNORE_FILE
        if ignore.is_file():
            lines += ignore.read_text(encoding="utf-8", errors="replace").splitlines()
        specs[folder] = pathspec.GitIgnoreSpec.from_lines([*lines, f"/{IGNORE_FILE}"])
    kept, excluded = [], []
    for path in paths:
        folder = next((f for f in folders if path.is_relative_to(f)), None)
        if (path not in named and folder is not None
                and specs[folder].match_file(path.relative_to(folder).as_posix())):
            excluded.append(path)
        else:
            kept.append(path)
    return kept, excluded


def estimate_documents(paths: Iterable[str | Path], enough: int) -> int:
    """How many documents `paths` hold, counted up to `enough`: a .jsonl line is one, any other
    file one. Cheap (newlines, no parsing), so a run knows before ingest whether it is large
    enough to start worker processes; unreadable files count as one."""
    n = 0
    for path in paths:
        if n >= enough:
            break
        if Path(path).suffix.lower() != ".jsonl":
            n += 1
            continue
        try:
            with open_regular(Path(path))[0] as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    n += chunk.count(b"\n")
                    if n >= enough:
                        break
        except (OSError, Rejected):
            n += 1
    return n


def _files_under(root: Path) -> set[Path]:
    if not root.is_dir():
        return {root}
    found: set[Path] = set()
    visited: set[str] = set()
    # A directory that cannot be listed is returned itself, to be quarantined as unreadable.
    walk = os.walk(root, followlinks=True, onerror=lambda error: found.add(Path(error.filename)))
    for dirpath, dirnames, filenames in walk:
        visited.add(os.path.realpath(dirpath))
        dirnames[:] = [d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) not in visited]
        found.update(Path(dirpath) / name for name in filenames)
    return found


# ---------------------------------------------------------------------------------------------
# opening: regular files only, never more than a document's worth

_SPECIAL_FILES = ((stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISCHR, "character device"),
                  (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"),
                  (stat.S_ISDIR, "directory"))


def special_file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for is_kind, kind in _SPECIAL_FILES if is_kind(mode)), "special file")


def open_regular(path: Path):
    """(binary stream, size) of a regular file; anything else is ``Rejected`` unopened: reading
    a FIFO waits for a writer forever, a device never ends. O_NONBLOCK keeps a FIFO swapped in
    between the check and the open from blocking; the open file is checked again."""
    kind = special_file_kind(os.stat(path).st_mode)
    if kind is None:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        info = os.fstat(fd)
        kind = special_file_kind(info.st_mode)
        if kind is None:
            return os.fdopen(fd, "rb"), info.st_size
        os.close(fd)
    raise Rejected("not a regular file", kind)


def too_large(amount: int, unit: str, limit: int) -> Rejected:
    return Rejected("too large", f"{amount} {unit}, over the limit of {limit} per document")


def read_document(path: Path) -> bytes:
    """A regular file's bytes; ``Rejected`` as too large beyond MAX_DOCUMENT_BYTES (never read
    whole: at most one byte more than the limit, should the file grow while it is read)."""
    stream, size = open_regular(path)
    with stream:
        if size > MAX_DOCUMENT_BYTES:
            raise too_large(size, "bytes", MAX_DOCUMENT_BYTES)
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large(len(data), "bytes or more", MAX_DOCUMENT_BYTES)
    return data


def bounded_lines(stream, limit: int) -> Iterator[tuple[bytes | None, int]]:
    """(line, its length in bytes) per line; a line longer than ``limit`` comes as (None,
    length) and is skipped in chunks, never held whole."""
    while raw := stream.readline(limit + 1):
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw, len(raw)
            continue
        n = len(raw)
        while not raw.endswith(b"\n") and (raw := stream.readline(1 << 20)):
            n += len(raw)
        yield None, n


# ---------------------------------------------------------------------------------------------
# bytes -> text

def sniff_mime(data: bytes) -> str | None:
    """MIME type of a known binary format, from its magic number."""
    for magic, mime in MAGIC_MIME:
        if data.startswith(magic):
            return mime
    return None


def detect_bom(data: bytes) -> tuple[str, int] | None:
    """(codec, BOM length) when ``data`` starts with a byte-order mark."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    return None


def control_byte_ratio(data: bytes) -> float:
    sample = data[:CONTROL_SNIFF_BYTES]
    return (len(sample) - len(sample.translate(None, _BINARY_CONTROL_BYTES))) / max(len(sample), 1)


def binary_detail(data: bytes) -> str | None:
    """Why ``data`` is binary (by content, never by name), or None if it may be text.

    Control bytes are only meaningful without a BOM: UTF-16/32 text is full of NULs.
    """
    mime = sniff_mime(data)
    if mime:
        return mime
    if detect_bom(data) is None and (ratio := control_byte_ratio(data)) > MAX_CONTROL_BYTE_RATIO:
        return f"binary: {ratio:.0%} control bytes"
    return None


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in ``<meta>`` (lower-cased label), if any."""
    match = _META_CHARSET.search(data, 0, META_SNIFF_BYTES)
    return match.group(1).decode("ascii").lower() if match else None


def decoder_for_label(label: str) -> str | None:
    """Python codec to decode a declared charset label with (None if unknown)."""
    codec = LABEL_DECODERS.get(label, label)
    try:
        return codecs.lookup(codec).name
    except LookupError:
        return None


def codec_family(label: str) -> str | None:
    """Canonical codec name, with byte order / BOM variants and the GB family folded."""
    name = decoder_for_label(label)
    if name is None:
        return None
    name = re.sub(r"-(le|be|sig)$", "", name.replace("_", "-"))
    return "gb18030" if name in _GB_FAMILY else name


def decode_strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def guess_with_charset_normalizer(data: bytes) -> Decoded:
    """Last resort; refuses to guess from fewer than MIN_GUESS_BYTES, and guesses the library
    itself finds messy."""
    if len(data) < MIN_GUESS_BYTES:
        raise Rejected("not text", f"undecodable bytes: {len(data)} bytes are too few to guess "
                                   "an encoding from")
    from charset_normalizer import from_bytes  # imported lazily: rarely needed

    best = from_bytes(data).best()
    if best is None:
        raise Rejected("not text", "undecodable bytes: no encoding fits")
    if best.chaos > MAX_GUESS_CHAOS:
        guess = f"best guess {best.encoding} is unreliable (chaos {best.chaos:.2f})"
        raise Rejected("not text", f"undecodable bytes: {guess}")
    return Decoded(str(best), best.encoding, [f"encoding guessed: {best.encoding} (chaos {best.chaos:.2f})"])


def declared_decoder(declared: str | None) -> str | None:
    codec = decoder_for_label(declared) if declared else None
    if codec and codec.startswith(("utf-16", "utf-32")):
        return None  # a meta tag readable as ASCII cannot be UTF-16/32 (WHATWG rule)
    return codec


def looks_chinese(text: str) -> bool:
    """False for GBK/GB18030 mojibake of another double-byte encoding."""
    n_non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return len(_UNLIKELY_IN_CHINESE.findall(text)) <= MAX_UNLIKELY_SHARE * n_non_ascii


def damaged_utf8(data: bytes) -> str | None:
    """Why ``data`` is UTF-8 with a few bad byte sequences (a flipped or cut byte), or None when
    it is not UTF-8 at all. Only called on bytes strict UTF-8 refused."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as error:
        first = error.start
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    bad = replaced - data.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", "ignore")) - replaced  # multi-byte characters
    if bad and valid >= DAMAGED_UTF8_RATIO * bad:
        return f"{bad} bad byte sequence(s) among {valid} valid characters, the first at byte {first}"
    return None


def decode_without_bom(data: bytes, declared: str | None) -> Decoded:
    """Strict UTF-8 first (valid UTF-8 is almost never anything else), then the declared
    charset; UTF-8 with a few bad bytes is rejected (not guessed at); then GBK / GB18030 if the
    result looks Chinese, then a guess."""
    trusted = ["utf-8", *filter(None, [declared_decoder(declared)])]
    for codec in trusted:
        text = decode_strict(data, codec)
        if text is not None:
            return Decoded(text, codec)
    damage = damaged_utf8(data)
    if damage:
        raise Rejected("invalid utf-8", damage)
    for codec in GB_DECODERS:
        text = decode_strict(data, codec)
        if text is not None and looks_chinese(text):
            return Decoded(text, codec)
    return guess_with_charset_normalizer(data)


def charset_conflict(declared: str | None, decoded: Decoded, data: bytes) -> str | None:
    """Warning when the page's declared charset is not what its bytes turned out to be."""
    if declared is None or data.isascii():  # pure ASCII is valid in every label we accept
        return None
    if codec_family(declared) == codec_family(decoded.encoding):
        return None
    return f"charset conflict: meta says {declared}, decoded {decoded.encoding}"


def decode_bytes(data: bytes, is_html: bool = False) -> Decoded:
    """Decode one input unit's bytes, or raise ``Rejected`` (empty / not text)."""
    if not data:
        raise Rejected("empty", "0 bytes")
    binary = binary_detail(data)
    if binary:
        raise Rejected("not text", binary)
    declared = declared_charset(data) if is_html else None
    bom = detect_bom(data)
    if bom:
        codec, skip = bom
        text = decode_strict(data[skip:], codec)
        if text is None:
            raise Rejected("not text", f"undecodable bytes after a {codec} BOM")
        decoded = Decoded(text, codec)
    else:
        decoded = decode_without_bom(data, declared)
    conflict = charset_conflict(declared, decoded, data)
    return Decoded(decoded.text, decoded.encoding, decoded.warnings + ([conflict] if conflict else []))


# ---------------------------------------------------------------------------------------------
# text normalisation and checks

def normalise_text(text: str) -> tuple[str, list[str]]:
    """Newlines to ``\\n``; drop C0 controls (but \\t \\n), zero-width chars and lone surrogates.

    Returns the text and one warning per kind of removal, with its count. NBSP and U+3000 are
    kept on purpose: whitespace is the clean stage's business.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    warnings: list[str] = []
    if not _ANY_TO_REMOVE.search(text):
        return text, warnings
    for pattern, label in _NORMALISERS:
        text, n = pattern.subn("", text)
        if n:
            warnings.append(f"removed {n} {label}")
    return text, warnings


def looks_truncated_html(html: str) -> bool:
    """Cut inside a tag, or a full page (``<html>``/``<body>``) that never closes."""
    tail = html[-4096:].rstrip()
    if tail.rfind("<") > tail.rfind(">"):
        return True
    return bool(_OPENING_PAGE_TAG.search(html)) and not _CLOSING_PAGE_TAG.search(html)


def make_document(text: str, *, source: str, fmt: str, container: str, encoding: str,
                  n_bytes: int, warnings: list[str], **hints: str | int | None) -> Document:
    """Normalise and check decoded text; raise ``Rejected`` when nothing but whitespace is left."""
    text, normalise_warnings = normalise_text(text)
    if not text.strip():  # str.strip() treats U+3000 and NBSP as whitespace
        raise Rejected("blank", f"only whitespace ({n_bytes} bytes)")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise too_large(len(text), "characters", MAX_DOCUMENT_CHARS)
    warnings = warnings + normalise_warnings
    if fmt == "html" and looks_truncated_html(text):
        warnings.append("truncated html")
    return Document(source=source, format=fmt, container=container, encoding=encoding,
                    n_bytes=n_bytes, text=text, warnings=warnings, **hints)


# ---------------------------------------------------------------------------------------------
# input units -> outcomes

def read_error_detail(error: OSError) -> str:
    return f"{type(error).__name__}: {error.strerror or error}"


def file_outcome(path: Path, fmt: str) -> Outcome:
    """One plain-text or HTML file -> a document or a rejection."""
    source = str(path)
    try:
        data = read_document(path)
    except OSError as error:
        return Rejection(source, "unreadable", read_error_detail(error))
    except Rejected as rejected:
        return Rejection(source, rejected.reason, rejected.detail)
    try:
        decoded = decode_bytes(data, is_html=fmt == "html")
        return make_document(decoded.text, source=source, fmt=fmt, container="file",
                             encoding=decoded.encoding, n_bytes=len(data), warnings=decoded.warnings)
    except Rejected as rejected:
        return Rejection(source, rejected.reason, rejected.detail)


def optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def record_outcome(record: object, source: str, line_no: int, n_bytes: int, decoded_line: Decoded) -> Outcome:
    """One parsed JSONL record -> a document or a rejection."""
    if not isinstance(record, dict):
        return Rejection(source, "not a json object", f"line {line_no}: {type(record).__name__}")
    field_name = "html" if record.get("html") is not None else "text"
    body = record.get(field_name)
    if body is None:
        return Rejection(source, "no text field", f"line {line_no}")
    if not isinstance(body, str):
        return Rejection(source, f"{field_name} not a string", f"line {line_no}: {type(body).__name__}")
    if not body:
        return Rejection(source, "empty", f"line {line_no}: empty {field_name}")
    try:
        return make_document(
            body, source=source, fmt="html" if field_name == "html" else "text", container="jsonl",
            encoding=decoded_line.encoding, n_bytes=n_bytes, warnings=decoded_line.warnings, line_no=line_no,
            url=optional_str(record.get("url")), title_hint=optional_str(record.get("title")),
            published_hint=optional_str(record.get("published")), record_id=optional_str(record.get("id")),
        )
    except Rejected as rejected:
        return Rejection(source, rejected.reason, f"line {line_no}: {rejected.detail}")


def jsonl_line_outcome(raw: bytes, path: Path, line_no: int) -> Outcome:
    source = f"{path}#L{line_no}"
    try:
        line = decode_bytes(raw)  # strict UTF-8 is the fast path; a BOM on line 1 is handled
    except Rejected as rejected:
        return Rejection(source, rejected.reason, f"line {line_no}: {rejected.detail}")
    try:
        record = json.loads(line.text.rstrip("\r\n"))  # a cut line must not blame its newline
    except json.JSONDecodeError as error:
        # The parser's own "line 1" would mislead: it only ever sees this one line.
        return Rejection(source, "invalid json", f"line {line_no}: {error.msg} (column {error.colno})")
    return record_outcome(record, source, line_no, len(raw), line)


def iter_jsonl_outcomes(path: Path) -> Iterator[Outcome]:
    """Stream a JSONL file: one outcome per non-blank line, each line parsed once.

    A file that yields no line at all (0 bytes, only blank lines, binary, unreadable) still
    yields one rejection for the file, so it is accounted for.
    """
    source = str(path)
    n_units = 0
    try:
        stream, _ = open_regular(path)
        with stream:
            head = stream.read(16)
            if not head:
                yield Rejection(source, "empty", "0 bytes")
                return
            bom = detect_bom(head)
            mime = sniff_mime(head)
            if mime or (bom and bom[0].startswith("utf-") and bom[0] != "utf-8-sig"):
                # UTF-16/32 cannot be split on b"\n"; RFC 8259 requires UTF-8 for JSON anyway.
                yield Rejection(source, "not text", mime or f"jsonl must be UTF-8, found a {bom[0]} BOM")
                return
            stream.seek(0)
            for line_no, (raw, n_bytes) in enumerate(bounded_lines(stream, MAX_DOCUMENT_BYTES), 1):
                if raw is None:
                    n_units += 1
                    rejected = too_large(n_bytes, "bytes", MAX_DOCUMENT_BYTES)
                    yield Rejection(f"{source}#L{line_no}", rejected.reason,
                                    f"line {line_no}: {rejected.detail}")
                elif raw.strip():
                    n_units += 1
                    yield guarded(jsonl_line_outcome, raw, path, line_no)
    except OSError as error:
        yield Rejection(source, "unreadable", read_error_detail(error))
        return
    except Rejected as rejected:
        yield Rejection(source, rejected.reason, rejected.detail)
        return
    if n_units == 0:
        yield Rejection(source, "blank", "no non-blank line")


def unsupported_outcome(path: Path) -> Rejection:
    """A file we do not ingest; binary content is still called ``not text`` (by content)."""
    source = str(path)
    try:
        stream, _ = open_regular(path)
        with stream:
            head = stream.read(CONTROL_SNIFF_BYTES)
    except OSError as error:
        return Rejection(source, "unreadable", read_error_detail(error))
    except Rejected as rejected:
        return Rejection(source, rejected.reason, rejected.detail)
    binary = binary_detail(head) if head else None
    if binary:
        return Rejection(source, "not text", binary)
    return Rejection(source, f"unsupported extension {path.suffix.lower() or '(none)'}", path.name)


def iter_outcomes(paths: Iterable[Path]) -> Iterator[Outcome]:
    """Outcomes of every input unit in ``paths``, in order."""
    for path in paths:
        path = Path(path)
        kind = FILE_KINDS.get(path.suffix.lower())
        if path.is_dir():  # only discover's record of a directory it could not list
            yield Rejection(str(path), "unreadable", "directory could not be listed")
        elif kind is None:
            yield unsupported_outcome(path)
        elif kind == "jsonl":
            yield from iter_jsonl_outcomes(path)
        else:
            yield guarded(file_outcome, path, kind)


def guarded(outcome_of, *args) -> Outcome:
    """A bug met on one input becomes that input's quarantine row, not the run's crash."""
    try:
        return outcome_of(*args)
    except Exception as error:  # noqa: BLE001 - deliberately broad: never lose the input
        path = next(a for a in args if isinstance(a, Path))
        where = f"#L{args[-1]}" if outcome_of is jsonl_line_outcome else ""
        return Rejection(f"{path}{where}", "ingest error", f"{type(error).__name__}: {error}")


# ---------------------------------------------------------------------------------------------
# outcomes -> tables

def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assign_doc_id(text: str, source: str, taken: set[str]) -> str:
    """sha256 of the text; a repeat gets ``-<sha256(source)[:6]>`` so no document is dropped."""
    doc_id = sha256_hex(text)[:16]
    if doc_id in taken:
        doc_id = f"{doc_id}-{sha256_hex(source)[:6]}"
        base, n = doc_id, 1
        while doc_id in taken:  # only if one source is ingested twice
            n += 1
            doc_id = f"{base}-{n}"
    taken.add(doc_id)
    return doc_id


def outcome_rows(outcomes: Iterable[Outcome], taken_ids: set[str]) -> dict[str, list[dict]]:
    """Documents and quarantine rows of ``outcomes``, doc_ids kept unique through ``taken_ids``."""
    documents, quarantine = [], []
    for outcome in outcomes:
        if isinstance(outcome, Document):
            row = vars(outcome) | {"doc_id": assign_doc_id(outcome.text, outcome.source, taken_ids)}
            documents.append(row)
        else:
            quarantine.append({"stage": "ingest", "source": outcome.source, "doc_id": None,
                               "reason": outcome.reason, "detail": outcome.detail})
    return {"documents": documents, "quarantine": quarantine}


def unique_doc_ids(documents: Mapping[str, list]) -> list[str]:
    """The doc_ids of several batches' documents (one list per column, `records.to_columns`)
    made unique across them (``assign_doc_id``'s rule: the first one seen keeps its id), each
    batch's own ids having been made unique within it."""
    taken: set[str] = set()
    out = []
    for doc_id, text, source in zip(documents["doc_id"], documents["text"], documents["source"]):
        if doc_id in taken:
            doc_id = assign_doc_id(text, source, taken)
        else:
            taken.add(doc_id)
        out.append(doc_id)
    return out


def build_batch(outcomes: Iterable[Outcome], taken_ids: set[str]) -> IngestBatch:
    rows = outcome_rows(outcomes, taken_ids)
    docs = pd.DataFrame(rows["documents"], columns=DOCUMENT_COLUMNS).astype(DOCUMENT_DTYPES)
    quarantined = pd.DataFrame(rows["quarantine"], columns=QUARANTINE_COLUMNS).astype({"doc_id": object})
    return IngestBatch(docs, quarantined, n_inputs=len(docs) + len(quarantined))


def ingest_files(paths: Iterable[str | Path], taken_ids: set[str] | None = None) -> IngestBatch:
    """Ingest a batch of file paths (as returned by ``discover``).

    Pass the same ``taken_ids`` set to successive calls to keep doc_ids unique across batches.
    A batch slower than BATCH_TIME_BUDGET_S is logged with its slowest input.
    """
    clock = _Clock()
    batch = build_batch(clock.timed(iter_outcomes(Path(p) for p in paths)),
                        set() if taken_ids is None else taken_ids)
    clock.report(batch.n_inputs)
    return batch


@dataclass
class _Clock:
    """Time of a stream of outcomes, and its slowest input."""
    total: float = 0.0
    slowest: str = ""
    slowest_s: float = 0.0

    def timed(self, outcomes: Iterable[Outcome]) -> Iterator[Outcome]:
        start = time.perf_counter()
        for outcome in outcomes:
            took = time.perf_counter() - start
            self.total += took
            if took > self.slowest_s:
                self.slowest, self.slowest_s = outcome.source, took
            yield outcome
            start = time.perf_counter()

    def report(self, n_inputs: int) -> None:
        if self.total > BATCH_TIME_BUDGET_S:
            log.warning("ingest: a batch of %d inputs took %.0f s, over its budget of %.0f s; the "
                        "slowest was %s (%.1f s)", n_inputs, self.total, BATCH_TIME_BUDGET_S,
                        self.slowest, self.slowest_s)


def ingest_records(files: list[Mapping]) -> dict[str, list[dict]]:
    """The stage's function: documents and quarantine rows of a batch of files ({"path", ...}).
    A batch slower than BATCH_TIME_BUDGET_S is logged with its slowest input."""
    clock = _Clock()
    rows = outcome_rows(clock.timed(iter_outcomes(Path(f["path"]) for f in files)), set())
    clock.report(len(rows["documents"]) + len(rows["quarantine"]))
    return rows


def _join_batches(tables: dict[str, dict[str, list]]) -> dict[str, dict[str, list]]:
    documents = tables["documents"]
    return {**tables, "documents": {**documents, "doc_id": unique_doc_ids(documents)}}


def _inputs(output, tables) -> list[tuple[str, int]]:
    """Input units: every one is a document or a quarantine row."""
    return [("inputs", len(output.made["documents"]) + len(output.rejected))]


DOCUMENT_DTYPES = {"line_no": "Int64", "n_bytes": "int64"}

STAGE = Stage(
    # a file's size and modification time are part of the key: an edited file is read again
    name="ingest", function=ingest_records, reads={"files": ("path", "size", "mtime_ns")},
    key="path", writes={"documents": DOCUMENT_COLUMNS},
    code=("newsgate.tasks.ingest", "newsgate.schemas.contract"),
    carry="replace", batches=Batches(in_workers=False), dtypes=DOCUMENT_DTYPES,
    join=_join_batches, counts=_inputs)
