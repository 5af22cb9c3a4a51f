"""The lock against what its packages declare (issue 15).

SQLAlchemy 2.1.9 satisfied Prefect 3.8's declared `sqlalchemy<3` and still broke its scheduler
(no scheduled run was ever made), so two checks: every requirement Prefect (and every other
locked package) declares is met by the lock's versions, read from the installed metadata with
importlib.metadata and compared with `packaging`; and no locked version, nor any version
pyproject.toml allows, is one known to break Prefect.
"""
from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# versions inside Prefect's declared ranges that break it: the first bad version, and why
KNOWN_BAD = {
    "sqlalchemy": ("2.1", "Prefect 3.8's scheduler fails every loop (bulk DML error) and "
                          "schedules no run"),
    "fastapi": ("0.151", "Prefect 3.8's local server does not start"),
}


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"requirements.lock: {line} is not pinned with =="
            pins[canonicalize_name(name)] = Version(pinned)
    return pins


LOCK = _lock()


def _requirements(package: str) -> list[Requirement]:
    """What `package` declares it needs in this environment (no extras, Python 3.11 markers)."""
    found = []
    for text in distribution(package).requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            found.append(req)
    return found


def _unmet(package: str) -> list[str]:
    problems = []
    for req in _requirements(package):
        pinned = LOCK.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{package} needs {req}, which the lock does not pin")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{package} needs {req}, the lock pins {req.name}=={pinned}")
    return problems


def test_the_lock_pins_the_prefect_that_is_installed():
    assert LOCK["prefect"] == Version(distribution("prefect").version)


def test_the_lock_meets_every_requirement_prefect_declares():
    requirements = _requirements("prefect")
    assert any(canonicalize_name(r.name) == "sqlalchemy" for r in requirements)  # its database
    assert _unmet("prefect") == []


def test_the_lock_meets_every_requirement_of_every_locked_package():
    problems = []
    for name in LOCK:
        try:
            problems += _unmet(name)
        except PackageNotFoundError:  # locked but not installed here: nothing to read
            continue
    assert problems == []


@pytest.mark.parametrize("name", sorted(KNOWN_BAD))
def test_no_version_known_to_break_prefect_is_locked_or_allowed(name):
    first_bad, why = KNOWN_BAD[name]
    assert LOCK[name] < Version(first_bad), f"requirements.lock pins {name}=={LOCK[name]}: {why}"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [spec] = [Requirement(d).specifier for d in declared["project"]["dependencies"]
              if canonicalize_name(Requirement(d).name) == name]
    assert not spec.contains(first_bad), f"pyproject.toml allows {name} {first_bad}: {why}"
