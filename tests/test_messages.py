"""Tests of the message catalogue (zh and en for every key) and the user's language choice."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from etl.messages import catalog, detect_language, render
from etl.yamlfile import load_yaml

CATALOG_DIR = Path(__file__).resolve().parent.parent / "etl" / "catalog"
KEYS = sorted(catalog())


def placeholders(template: str) -> set[str]:
    """Return the field names a ``str.format`` template uses, without attribute or index parts."""
    names = set()
    for _text, field, _spec, _conversion in string.Formatter().parse(template):
        if field is not None:
            names.add(field.split(".")[0].split("[")[0])
    return names


# --- the catalogue --------------------------------------------------------------------------


def test_catalogue_is_not_empty():
    assert len(KEYS) > 100


@pytest.mark.parametrize("key", KEYS)
def test_key_has_zh_and_en(key):
    texts = catalog()[key]

    assert isinstance(texts.get("zh"), str) and texts["zh"].strip()
    assert isinstance(texts.get("en"), str) and texts["en"].strip()


@pytest.mark.parametrize("key", KEYS)
def test_languages_share_placeholders(key):
    texts = catalog()[key]

    assert placeholders(texts["zh"]) == placeholders(texts["en"])


@pytest.mark.parametrize("key", KEYS)
def test_every_template_formats(key):
    # Every placeholder filled with a value must format in both languages, so a malformed
    # template (a stray brace, an unknown conversion) fails here instead of in a user's error.
    params = {name: "X" for name in placeholders(catalog()[key]["en"])}

    assert isinstance(catalog()[key]["zh"].format(**params), str)
    assert isinstance(catalog()[key]["en"].format(**params), str)


@pytest.mark.parametrize("path", sorted(CATALOG_DIR.glob("*.yaml")), ids=lambda path: path.name)
def test_catalogue_file_has_no_duplicate_keys(path):
    # yaml.safe_load, which the catalogue uses, lets a repeated key silently win.
    document = load_yaml(path)

    assert isinstance(document.data, dict)


def test_zh_text_is_chinese():
    # The default language is Simplified Chinese, so a zh text must contain Chinese characters.
    english_only = [key for key in KEYS if not any("\u4e00" <= char <= "\u9fff" for char in catalog()[key]["zh"])]

    assert english_only == []


# --- render ---------------------------------------------------------------------------------


def test_render_fills_params():
    assert render("yaml.missing", "zh", path="rules/x.yaml") == "找不到文件 rules/x.yaml，请检查路径"
    assert render("yaml.missing", "en", path="rules/x.yaml") == "file rules/x.yaml not found; check the path"


def test_render_suggestion_text():
    assert render("rule.unknown_filter", "zh", name="yuan_to_fenn", suggestion="yuan_to_fen") == (
        "没有名为 'yuan_to_fenn' 的过滤器（是不是要写 yuan_to_fen？）"
    )
    assert render("rule.unknown_filter", "en", name="yuan_to_fenn", suggestion="yuan_to_fen") == (
        "no filter named 'yuan_to_fenn' (did you mean yuan_to_fen?)"
    )


def test_render_without_suggestion():
    assert render("rule.unknown_filter", "en", name="frobnicate", suggestion="") == "no filter named 'frobnicate'"


def test_render_missing_param_falls_back():
    text = render("yaml.duplicate_key", "en", key="markup")

    assert text.startswith('key "{key}" appears twice: line {first_line} already has it')
    assert "'key': 'markup'" in text


def test_render_unknown_key_falls_back():
    assert render("no.such.key", "zh", value=3) == "no.such.key {'value': 3}"
    assert render("no.such.key", "zh") == "no.such.key"


def test_render_unknown_language_uses_english():
    assert render("yaml.missing", "fr", path="a.yaml") == "file a.yaml not found; check the path"


def test_render_default_language_is_chinese():
    assert render("yaml.missing", path="a.yaml") == "找不到文件 a.yaml，请检查路径"


# --- detect_language ------------------------------------------------------------------------


@pytest.fixture
def clean_locale(monkeypatch):
    for name in ("ETL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("explicit", "environment", "expected"),
    [
        ("en", {"ETL_LANG": "zh", "LANG": "zh_CN.UTF-8"}, "en"),
        ("zh", {"ETL_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
        ("fr", {"LANG": "en_US.UTF-8"}, "zh"),
        (None, {"ETL_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"ETL_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"LANG": "en_GB"}, "en"),
        (None, {"LANG": "C.UTF-8"}, "zh"),
        (None, {"LANG": "C"}, "zh"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LC_ALL": "C.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LC_MESSAGES": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"ETL_LANG": "de", "LANG": "en_US.UTF-8"}, "en"),
    ],
)
def test_detect_language(clean_locale, explicit, environment, expected):
    for name, value in environment.items():
        clean_locale.setenv(name, value)

    assert detect_language(explicit) == expected


def test_detect_language_process_locale(clean_locale):
    clean_locale.setattr("locale.getlocale", lambda: ("en_US", "UTF-8"))

    assert detect_language() == "en"


def test_detect_language_no_locale(clean_locale):
    clean_locale.setattr("locale.getlocale", lambda: (None, None))

    assert detect_language() == "zh"
