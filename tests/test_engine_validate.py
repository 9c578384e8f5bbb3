"""Payload validation decodes each JSON text field once, and the fast check agrees with the full one."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from etl import jsonio
from etl.targets import load_target
from etl.validate import FastCheck, JsonTexts, make_validator, validate_payload

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "test_validate"


def douyin_payload() -> dict:
    return jsonio.loads((DATA / "douyin_valid.json").read_text(encoding="utf-8"))


class CountingTexts(JsonTexts):
    def __init__(self) -> None:
        super().__init__()
        self.decoded: list[str] = []

    def decode(self, text: str):
        if text not in self._decoded:
            self.decoded.append(text)
        return super().decode(text)


def test_json_texts_decode_once():
    texts = JsonTexts()
    first = texts.decode('[{"price": 1.50}]')

    assert texts.decode('[{"price": 1.50}]') is first
    assert first == [{"price": Decimal("1.50")}]


def test_json_texts_bad_text_raises():
    with pytest.raises(json.JSONDecodeError):
        JsonTexts().decode("[1,")


def test_spec_prices_decoded_once_per_validation(monkeypatch):
    import etl.validate as validate

    counting = CountingTexts()
    monkeypatch.setattr(validate, "JsonTexts", lambda: counting)
    target = load_target(ROOT / "targets" / "douyin" / "target.yaml")

    assert validate_payload(douyin_payload(), target, make_validator(target.schema), FastCheck(target.schema)) == []
    assert counting.decoded == [douyin_payload()["spec_prices"]]


@pytest.mark.parametrize("spec_prices", ["[1,", "[]", '[{"spec_detail_name1": "白色"}]', "{}"])
def test_bad_spec_prices_same_violations(spec_prices):
    target = load_target(ROOT / "targets" / "douyin" / "target.yaml")
    payload = {**douyin_payload(), "spec_prices": spec_prices}

    fast = validate_payload(payload, target, make_validator(target.schema), FastCheck(target.schema))
    full = validate_payload(payload, target)

    assert FastCheck(target.schema)(payload) is False
    assert [(item.field, item.key) for item in fast] == [(item.field, item.key) for item in full]
    assert fast
