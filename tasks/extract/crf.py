"""The shipped CRFsuite models (package data next to the code), each opened once per process."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def open_model(path: Path):
    """A `pycrfsuite.Tagger` over the model at `path`; None without the file or pycrfsuite (the
    extractors then fall back to their rules)."""
    try:
        import pycrfsuite
    except ImportError:
        return None
    if not path.exists():
        return None
    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    return tagger
