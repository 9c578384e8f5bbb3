"""``etl preview``: one offer's record, transforms, payload and warnings, with no file written and no network.

tests/data/test_preview/690245871199.json is sample 690245871136 (category 99999999, missing
from the bundled table) with a longer title holding the banned words 最好 and 全网第一, six
main images and one SKU out of stock, so one offer raises every kind of warning.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from etl import jsonio
from etl.cli import main
from etl.preview import default_source, preview_offer, render_json, render_text
from etl.rules import load_rule

from conftest import ROOT, SAMPLES

DOUYIN = str(ROOT / "rules" / "douyin.yaml")
TAOBAO = str(ROOT / "rules" / "taobao.yaml")
TESTS_DATA = Path(__file__).resolve().parent / "data" / "test_preview"
WARNED_ID = "690245871199"
FALLBACK = ["--set", "fallback_category_id=20000"]


@pytest.fixture(autouse=True)
def chinese_environment(monkeypatch):
    """Run with a neutral locale so the default language is Chinese, whatever the host has."""
    monkeypatch.delenv("ETL_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)


@pytest.fixture
def no_network(monkeypatch):
    """Make every socket connection fail, so a preview that tried one would fail."""

    def reject_connection(*args, **kwargs):
        raise AssertionError("etl preview opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", reject_connection)
    monkeypatch.setattr(socket.socket, "connect_ex", reject_connection)
    monkeypatch.setattr(socket, "create_connection", reject_connection)


def preview(capsys, *args) -> tuple[int, str, str]:
    status = main(["preview", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- terminal view -----------------------------------------------------------------------------


def test_preview_zh_warnings(capsys, no_network):
    status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK)

    assert status == 0
    assert "⚠ 提醒（5 条）" in out
    assert "⚠ [transform.title] 标题里的违禁词已删除：最好、全网第一；请确认删除后的标题仍然通顺。" in out
    assert "⚠ [transform.title] 标题显示宽度 89 超过上限 60，末尾的“电低噪音大容量智能恒温宠物用品”已截掉" in out
    assert "⚠ [transform.category_leaf_id] 对照表 category-douyin.csv 里没有 1688 类目 '99999999'，已改用默认类目 20000" in out
    assert "⚠ [review.skus[1].stock] SKU“颜色:浅灰色”库存为 0" in out
    assert "⚠ [offer.images] 商品有 6 张主图，超过平台上限 5 张" in out


def test_preview_en_warnings(capsys):
    status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK, "--lang", "en")

    assert status == 0
    assert "⚠ warnings (5)" in out
    assert "banned words removed from the title: 最好, 全网第一" in out
    assert "the title is 89 columns wide, over the limit of 60, so “电低噪音大容量智能恒温宠物用品” was cut off the end" in out
    assert "mapping table category-douyin.csv has no row for 1688 category '99999999', so the default category 20000 was used" in out
    assert "✓ 690245871199 mapped. The preview wrote no file and made no network call." in out


def test_preview_sections_in_order(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK)

    positions = [out.index(text) for text in ("⚠ 提醒", "── 审核要点", "── 提取出的商品信息 ──", "── transform 的值 ──", "── 平台数据（抖店） ──")]
    assert positions == sorted(positions)


def test_preview_record_key_fields(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK)

    assert "  标题：最好的宠物自动饮水机2L 全网第一" in out
    assert "  类目：99999999 宠物饮水机" in out
    assert "  阶梯价：1 件起 39.5 元" in out
    assert "  主图：6 张" in out
    assert "  SKU 数：2 个" in out
    assert "    颜色:浅灰色｜价格 39.5｜代发价 45.0｜库存 0" in out


def test_preview_review_summary(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK)

    assert "  标题：的宠物自动饮水机2L 猫咪狗狗循环过滤静音喂水器 三重过滤USB供（宽度 59/60）" in out
    assert "  类目：99999999 宠物饮水机 → 20000（类目表里没有，用的是默认类目）" in out
    assert "    颜色:奶白色｜成本 45.00｜售价 67.50｜库存 150" in out


def test_preview_transform_values(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK)

    assert '  title: "的宠物自动饮水机2L 猫咪狗狗循环过滤静音喂水器 三重过滤USB供"' in out
    assert "  category_leaf_id: 20000" in out
    assert "  sku_rows: 列表，2 项" in out


def test_preview_long_list_shortened(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", "672839104523", "--lang", "en")

    assert "  sku_rows: list of 8" in out
    assert "    …and 3 more" in out


def test_preview_payload_long_strings_shortened(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", "672839104523")

    assert '  "outer_product_id": "672839104523",' in out
    assert '  "commit": false,' in out
    assert "（共 " in out
    assert "字）" in out


def test_preview_clean_offer_no_warnings(capsys):
    status, out, _err = preview(capsys, TAOBAO, "--id", "698310457726")

    assert status == 0
    assert "没有提醒。" in out
    assert "⚠" not in out


def test_preview_without_tty_has_no_color(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK)

    assert "\x1b[" not in out


def test_preview_escapes_control_characters(capsys, tmp_path):
    raw = jsonio.loads((SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8"))
    raw["productInfo"]["subject"] = "T恤\x1b[2J清屏\x9b31m红"
    (tmp_path / "672839104523.json").write_text(jsonio.dumps(raw), encoding="utf-8")

    status, out, _err = preview(capsys, DOUYIN, "--id", "672839104523", "--source", str(tmp_path))

    assert status == 0
    assert "  标题：T恤\\x1b[2J清屏\\x9b31m红" in out
    assert "\x1b" not in out
    assert "\x9b" not in out


def test_render_text_styles_warnings():
    rule = load_rule(DOUYIN, {"fallback_category_id": "20000"})

    text = render_text(preview_offer(rule, WARNED_ID, TESTS_DATA), "zh")

    assert "\x1b[33m" in text


def test_preview_set_markup_below_cost(capsys):
    _status, out, _err = preview(capsys, TAOBAO, "--id", "698310457726", "--set", "markup=0.5")

    assert "⚠ [review.skus[0].price] SKU“颜色:曜石黑”售价 9.75 元低于成本 19.50 元" in out


def test_preview_offer_url_as_id(capsys):
    status, out, _err = preview(capsys, DOUYIN, "--id", "https://detail.1688.com/offer/672839104523.html?spm=a26352")

    assert status == 0
    assert "商品 672839104523｜" in out


def test_preview_profile_picks_samples_folder(capsys):
    status, out, _err = preview(capsys, DOUYIN, "--id", "672839104523", "--profile", "item_get")

    assert status == 0
    assert f"来源 {SAMPLES / 'item_get'}" in out


def test_default_source_follows_profile():
    rule = load_rule(DOUYIN)

    assert default_source(rule) == SAMPLES / "product.get"


# --- failures ------------------------------------------------------------------------------------


def test_preview_failed_transform(capsys):
    status, out, err = preview(capsys, DOUYIN, "--id", "690245871136")

    assert status == 1
    assert err.startswith("✗ 690245871136 失败（transform / transform.category_leaf_id）：映射表 ")
    assert "99999999" in err
    assert "失败前已经算出的内容如下。" in out
    assert "  category_leaf_id: ✗ 在这一步失败，原因见上面的错误" in out
    assert '  title: "宠物自动饮水机2L 猫咪狗狗循环过滤 静音喂水器"' in out
    assert "  sku_rows: （没有执行到这一步）" in out
    assert "  标题：宠物自动饮水机2L 猫咪狗狗循环过滤 静音喂水器" in out
    assert "✓" not in out


def test_preview_failed_extract(capsys):
    status, out, err = preview(capsys, DOUYIN, "--id", "655718290347", "--lang", "en")

    assert status == 1
    assert "✗ 655718290347 failed (extract / status): offer not on sale (status expired" in err
    assert "── extracted record ──\n  (not reached)" in out
    assert "── payload (Douyin Shop) ──\n  (not reached)" in out


def test_preview_failed_source(capsys, tmp_path):
    (tmp_path / "620000000001.json").write_text("{not json", encoding="utf-8")

    status, out, err = preview(capsys, DOUYIN, "--id", "620000000001", "--source", str(tmp_path), "--lang", "en")

    assert status == 1
    assert err.startswith("✗ 620000000001 failed (source):")
    assert "(not reached)" in out


def test_preview_unknown_id(capsys):
    status, out, err = preview(capsys, DOUYIN, "--id", "123456789")

    assert status == 2
    assert out == ""
    assert f"目录 {SAMPLES / 'product.get'} 里没有商品 123456789 的返回（123456789.json）" in err
    assert "这个目录里有 12 个商品：655718290347, 662907314458, 672839104523" in err
    assert "729463018854 等。" in err
    assert "736620459081" not in err


def test_preview_unknown_id_few_saved(capsys, tmp_path):
    shutil.copy(SAMPLES / "product.get" / "672839104523.json", tmp_path)

    status, _out, err = preview(capsys, DOUYIN, "--id", "123456789", "--source", str(tmp_path), "--lang", "en")

    assert status == 2
    assert f"folder {tmp_path} has no saved response for offer 123456789 (123456789.json). It contains 1 offer(s): 672839104523." in err


def test_preview_unknown_id_empty_folder(capsys, tmp_path):
    status, _out, err = preview(capsys, DOUYIN, "--id", "123456789", "--source", str(tmp_path), "--lang", "en")

    assert status == 2
    assert "and no <offer_id>.json file at all" in err


def test_preview_missing_folder(capsys, tmp_path):
    status, _out, err = preview(capsys, DOUYIN, "--id", "123456789", "--source", str(tmp_path / "nowhere"))

    assert status == 2
    assert str(tmp_path / "nowhere") in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "--id"),
        (["--id", "   "], "--id"),
        (["--id", "https://www.example.com/offer/1.html"], "--id 的值无法使用"),
        (["--id", "123"], "--id 的值无法使用"),
    ],
    ids=["missing", "blank", "other-site", "too-short"],
)
def test_preview_bad_id(capsys, args, expected):
    status, out, err = preview(capsys, DOUYIN, *args)

    assert status == 2
    assert out == ""
    assert expected in err


def test_preview_unknown_var(capsys):
    status, _out, err = preview(capsys, DOUYIN, "--id", "672839104523", "--set", "markap=2")

    assert status == 2
    assert "markap" in err


# --- JSON --------------------------------------------------------------------------------------


def test_preview_json_shape(capsys, no_network):
    status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK, "--json")
    document = jsonio.loads(out)

    assert status == 0
    assert list(document) == ["offer_id", "status", "rule", "target", "profile", "source", "error", "warnings",
                              "record", "transforms", "payload", "entry"]
    assert document["status"] == "ok"
    assert document["error"] is None
    assert [warning["code"] for warning in document["warnings"]] == [
        "warning.banned_words", "warning.title_truncated", "warning.category_unmapped",
        "warning.sku_no_stock", "warning.images_over_limit",
    ]
    assert document["entry"]["warnings"] == document["warnings"]
    assert document["entry"]["category"] == {"source_id": "99999999", "source_name": "宠物饮水机", "target_id": "20000", "mapped": False}
    assert document["payload"]["category_leaf_id"] == 20000
    assert document["transforms"]["title"] == document["payload"]["name"]


def test_preview_json_keeps_decimals_exact(capsys):
    _status, out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(TESTS_DATA), *FALLBACK, "--json")
    document = jsonio.loads(out)

    assert '"consign_price": 45.0,' in out
    assert document["record"]["consign_price"] == Decimal("45.0")
    assert document["transforms"]["sku_rows"][0]["cost"] == Decimal("45.0")
    assert document["entry"]["skus"][0]["price"] == "67.50"


def test_preview_json_failed(capsys):
    status, out, err = preview(capsys, DOUYIN, "--id", "690245871136", "--json", "--lang", "en")
    document = jsonio.loads(out)

    assert status == 1
    assert err == ""
    assert document["status"] == "failed"
    assert document["error"]["code"] == "table.unmapped"
    assert document["error"]["field"] == "transform.category_leaf_id"
    assert document["payload"] is None
    assert list(document["transforms"]) == ["title"]


def test_render_json_extract_failure():
    rule = load_rule(DOUYIN)

    document = jsonio.loads(render_json(preview_offer(rule, "655718290347")))

    assert document["record"] is None
    assert document["transforms"] == {}
    assert document["error"]["step"] == "extract"


# --- side effects --------------------------------------------------------------------------------


def test_preview_writes_nothing(capsys, tmp_path, monkeypatch, no_network):
    source = tmp_path / "saved"
    shutil.copytree(TESTS_DATA, source)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = sorted((path, path.stat().st_mtime_ns) for path in tmp_path.rglob("*"))

    status, _out, _err = preview(capsys, DOUYIN, "--id", WARNED_ID, "--source", str(source), *FALLBACK)

    assert status == 0
    assert sorted((path, path.stat().st_mtime_ns) for path in tmp_path.rglob("*")) == before


def test_preview_no_network_on_failure(capsys, no_network):
    status, _out, err = preview(capsys, DOUYIN, "--id", "690245871136")

    assert status == 1
    assert "AssertionError" not in err


def test_preview_as_subprocess():
    environment = {**os.environ, "ETL_LANG": "en"}

    result = subprocess.run([sys.executable, "-m", "etl", "preview", DOUYIN, "--id", "672839104523"], cwd=ROOT,
                            capture_output=True, text=True, encoding="utf-8", env=environment, timeout=60)

    assert result.returncode == 0
    assert "── payload (Douyin Shop) ──" in result.stdout
    assert "\x1b[" not in result.stdout
