"""newsgate: gated, versioned datasets from Chinese regional news about investment projects.

The code lives in the repository's top-level folders (flows/, tasks/, schemas/) and installs
under this one distinctive name (`newsgate.flows`, `newsgate.tasks`, …; see pyproject.toml).
The suites (expectations/) and the seed documents (seeds/) ship as package data.

Reading a release from other tools: `newsgate.open_release(out, release=None)` (see
newsgate/releases.py), imported on first use so that `import newsgate` stays light.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path


def module_files(module: str) -> list[Path]:
    """The source and data files of a module or package, wherever it is installed."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(module)
    if spec.submodule_search_locations:  # a package: everything below it
        root = Path(next(iter(spec.submodule_search_locations)))
        return sorted(f for f in root.rglob("*")
                      if f.is_file() and f.suffix in (".py", ".json", ".txt")
                      and "__pycache__" not in f.parts)
    return [Path(spec.origin)]


def package_dir(name: str) -> Path:
    """The folder of a data package shipped with newsgate: "seeds" or "expectations".

    Installed, it is newsgate/<name> in site-packages. In a checkout (an editable install
    cannot map folders without an __init__.py) it is the top-level folder beside this one."""
    spec = importlib.util.find_spec(f"newsgate.{name}")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    beside = Path(__file__).resolve().parents[1] / name
    if beside.is_dir():
        return beside
    raise ModuleNotFoundError(f"newsgate.{name}: package data not found")


__all__ = ["open_release", "Release", "module_files", "package_dir"]


def __getattr__(name: str):
    if name in ("open_release", "Release"):  # pandas, deltalake: loaded only when asked for
        from newsgate import releases
        return getattr(releases, name)
    raise AttributeError(f"module newsgate has no attribute {name}")
