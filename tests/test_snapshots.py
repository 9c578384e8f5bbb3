"""Snapshot of every rule file applied to every bundled sample, ok or failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl import jsonio
from etl.errors import OfferError
from etl.rules import load_rule

from conftest import ROOT, RULES, SAMPLE_SHAPES, sample_files

RULE_FILES = sorted(RULES.glob("*.yaml"))
CASES = [
    pytest.param(rule, shape, sample, id=f"{rule.stem}-{shape}-{sample.stem}")
    for rule in RULE_FILES
    for shape in SAMPLE_SHAPES
    for sample in sample_files(shape)
]


@pytest.fixture(scope="module")
def compiled():
    cache = {}

    def get(rule: Path, shape: str):
        if (rule, shape) not in cache:
            cache[rule, shape] = load_rule(rule, profile=shape)
        return cache[rule, shape]

    return get


def outcome(rule, sample: Path) -> str:
    """The payload as JSON text, or the failure's step, field and English reason.

    Paths in reasons are made relative to the repository, so the snapshots match in any clone.
    """
    raw = jsonio.loads(sample.read_text(encoding="utf-8"))
    try:
        mapped = rule.apply(raw, sample.stem)
    except OfferError as error:
        return jsonio.dumps(
            {"status": "failed", "step": error.step, "field": error.field, "sku_index": error.sku_index,
             "error_code": error.key, "reason": error.render("en").replace(str(ROOT) + "/", "")},
            indent=2,
        )
    return jsonio.dumps(mapped.payload, indent=2)


def test_every_rule_and_shape_has_samples():
    assert len(RULE_FILES) >= 2
    for shape in SAMPLE_SHAPES:
        assert len(sample_files(shape)) >= 10


@pytest.mark.parametrize(("rule_path", "shape", "sample"), CASES)
def test_rule_on_sample(rule_path, shape, sample, compiled, snapshot):
    assert outcome(compiled(rule_path, shape), sample) == snapshot
