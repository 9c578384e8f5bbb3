"""Shared fixtures: the repository's folders and the optional reference samples beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
RULES = ROOT / "rules"

# Reference responses collected by the team; CI has them beside the repository, a user's clone may not.
REFERENCE_SAMPLES = ROOT.parent / "shared" / "reference" / "samples"

SAMPLE_SHAPES = ("product.get", "item_get")


def sample_files(shape: str) -> list[Path]:
    return sorted((SAMPLES / shape).glob("*.json"))


@pytest.fixture(autouse=True)
def state_file(tmp_path, monkeypatch) -> Path:
    """Keep each test's state store (snapshots, published products) in its own folder, not the working directory."""
    path = tmp_path / "etl-state" / "state.sqlite"
    monkeypatch.setenv("ETL_STATE", str(path))
    return path


@pytest.fixture
def reference_samples() -> Path:
    if not REFERENCE_SAMPLES.is_dir():
        pytest.skip("reference samples not present beside the repository")
    return REFERENCE_SAMPLES
