"""Shared test fixtures: the project's seeds, and ../shared when it is there."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ (gold scorers) imports as `benchmarks.*`
    sys.path.insert(0, str(ROOT))
SEEDS = ROOT / "seeds"
# the tables every release holds (../shared/DESIGN.md, and the stories of issue 16)
CONTRACT = ["documents", "articles", "removals", "clusters", "stories", "mentions", "projects",
            "indicators", "visits", "keywords", "region_stats", "quarantine"]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("NEWSGATE_SHARED", ROOT.parent / "shared"))
HAS_SHARED = (SHARED / "gold" / "seeds.json").exists()

needs_shared = pytest.mark.skipif(not HAS_SHARED, reason="../shared is absent")


@pytest.fixture(scope="session")
def harness():
    """One temporary Prefect server for every test that runs the flow."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


@pytest.fixture(scope="session")
def seed_texts(seed_paths) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in seed_paths}


@pytest.fixture(scope="session")
def gold() -> dict:
    if not HAS_SHARED:
        pytest.skip("../shared is absent")
    return json.loads((SHARED / "gold" / "seeds.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not HAS_SHARED:
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture(scope="session")
def seed_releases(harness, tmp_path_factory) -> Path:
    """An output folder with two releases the flow made: seed 004, then seed 001 added.
    Read-only: a test that damages it works on a copy."""
    from newsgate.flows.pipeline import newsgate
    out = tmp_path_factory.mktemp("seed-releases")
    for seed in ("004_565aa33160096c90.txt", "001_129ccc3f4079c8cb.txt"):
        result = newsgate(sources=[str(SEEDS / seed)], out=str(out), review_mode="skip")
        assert result["status"] == "published", result["error"]
    return out
