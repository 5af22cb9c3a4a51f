"""Character-level helpers shared by the cleaning modules (punctuation classes, line normalisation)."""
from __future__ import annotations

import re

# A paragraph that ends with one of these ends a sentence.
SENTENCE_END = "。！？!?…；;"
# Closing quotes/brackets end a sentence only when they close one (…建设。” but not “4+2”).
CLOSERS = "”’」』）)】》\""
# A line ending with one of these obviously continues.
CONTINUES = "，,、：:“‘「『（(【《—-"

_WIDGET_BULLET = re.compile(r"^(?:[•·▪●◆■]|-(?=\s))\s*")
# Applied by str.replace, one character at a time: translate() with a table of non-Latin-1
# characters looks every character up: 6x slower on our pages' lines.
_SPACES = (("\u00a0", " "), ("\u3000", " "), ("\t", " "), ("\u200b", ""), ("\u200c", ""),
           ("\u200d", ""), ("\u2060", ""), ("\ufeff", ""))
HAN = re.compile(r"[\u3400-\u9fff]")


def normalize_line(raw: str) -> str:
    """The form rules see: outer whitespace and a leading widget bullet ('  • |') removed."""
    for char, replacement in _SPACES:
        raw = raw.replace(char, replacement)
    line = raw.strip()
    return _WIDGET_BULLET.sub("", line).strip()


def ends_sentence(text: str) -> bool:
    """True when the paragraph ends a sentence (terminal punctuation, possibly inside a closer)."""
    text = text.rstrip()
    if not text:
        return True
    last = text[-1]
    if last in SENTENCE_END:
        return True
    if last in CLOSERS:
        inner = text.rstrip(CLOSERS)
        return bool(inner) and inner[-1] in SENTENCE_END
    return False


def has_sentence_stop(text: str) -> bool:
    """True when a full stop/question/exclamation mark occurs anywhere in the text."""
    return any(ch in "。！？!?；;" for ch in text)


def quotes_balanced(text: str) -> bool:
    return all(text.count(o) == text.count(c) for o, c in ("“”", "‘’", "（）", "()", "《》", "「」", "【】"))


def han_count(text: str) -> int:
    return len(HAN.findall(text))


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


_HAS_FULLWIDTH_DIGIT = re.compile("[０-９]")


def ascii_digits(text: str) -> str:
    # translate() looks every character up: skip it for the common text without full-width digits
    return text.translate(_FULLWIDTH_DIGITS) if _HAS_FULLWIDTH_DIGIT.search(text) else text
