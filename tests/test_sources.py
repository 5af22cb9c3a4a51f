"""Source selection (issue 15): `--exclude GLOB` and a source folder's `.newsgateignore`, with
gitignore's rules, relative to the folder; what is excluded is counted, never silently lost."""
from __future__ import annotations

from pathlib import Path

import pytest

from newsgate.tasks.ingest import IGNORE_FILE, discover, exclude_paths

from conftest import needs_shared, SHARED


@pytest.fixture
def tree(tmp_path) -> Path:
    for name in ("a.txt", "b.html", "notes.md", "_gold/a.txt", "_gold/b.txt", "sub/_gold/c.txt",
                 "sub/keep.md", "sub/d.jsonl"):
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("某市重点项目建设稳步推进。", encoding="utf-8")
    return tmp_path / "src"


def _names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_patterns_match_relative_to_the_source_folder(tree):
    kept, excluded = exclude_paths(discover([tree]), [tree], ["_gold/*", "*.md"])
    assert _names(excluded, tree) == ["_gold/a.txt", "_gold/b.txt", "notes.md", "sub/keep.md"]
    # `_gold/*` is the folder's own top _gold/, as in .gitignore; the order is discover's
    assert _names(kept, tree) == ["a.txt", "b.html", "sub/_gold/c.txt", "sub/d.jsonl"]


def test_the_ignore_file_adds_patterns_and_is_not_read_as_a_document(tree):
    (tree / IGNORE_FILE).write_text("# answers, not news\n_gold/\n\n*.md\n!sub/keep.md\n",
                                    encoding="utf-8")
    kept, excluded = exclude_paths(discover([tree]), [tree])
    # `_gold/` (no slash before it) is any folder named _gold, as in .gitignore
    assert _names(excluded, tree) == [IGNORE_FILE, "_gold/a.txt", "_gold/b.txt", "notes.md",
                                      "sub/_gold/c.txt"]
    assert "sub/keep.md" in _names(kept, tree)  # negation, as in .gitignore


def test_nothing_is_excluded_without_patterns_and_a_named_file_is_always_kept(tree):
    everything = discover([tree])
    assert exclude_paths(everything, [tree]) == (everything, [])
    named = tree / "notes.md"
    kept, excluded = exclude_paths(discover([named, tree]), [named, tree], ["*.md"])
    assert kept[0] == named and named not in excluded
    assert tree / "sub" / "keep.md" in excluded


def test_each_source_folder_has_its_own_ignore_file(tree, tmp_path):
    other = tmp_path / "other"
    (other / "_gold").mkdir(parents=True)
    (other / "_gold" / "x.txt").write_text("x", encoding="utf-8")
    (other / IGNORE_FILE).write_text("_gold/\n", encoding="utf-8")
    kept, excluded = exclude_paths(discover([tree, other]), [tree, other])
    assert excluded == [other / IGNORE_FILE, other / "_gold" / "x.txt"]
    assert tree / "_gold" / "a.txt" in kept  # the other folder's rules stay there


@needs_shared
def test_the_dev_corpus_without_its_answers():
    dev = SHARED / "corpus" / "dev"
    found = discover([dev])
    kept, excluded = exclude_paths(found, [dev], ["_gold/*"])
    gold = [p for p in found if p.relative_to(dev).parts[0] == "_gold"]
    assert gold and excluded == gold
    assert len(kept) + len(excluded) == len(found)
