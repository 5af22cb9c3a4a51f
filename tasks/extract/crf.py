"""The shipped CRFsuite models (package data next to the code), each opened once per thread."""
from __future__ import annotations

import threading
from pathlib import Path

_opened = threading.local()   # path -> Tagger, for this thread


def open_model(path: Path):
    """A `pycrfsuite.Tagger` over the model at `path`; None without the file or pycrfsuite (the
    extractors then fall back to their rules). One per thread: a Tagger keeps the sequence it last
    tagged (`tag`, then `marginal` reads it), so threads (the dask runner's) must not share one."""
    models = _opened.__dict__.setdefault("models", {})
    if path not in models:
        models[path] = _open(path)
    return models[path]


def _open(path: Path):
    try:
        import pycrfsuite
    except ImportError:
        return None
    if not path.exists():
        return None
    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    return tagger
