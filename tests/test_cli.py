"""The ``etl`` command: in-process through ``main`` and once as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.cli import main

from conftest import ROOT, SAMPLES

DOUYIN = str(ROOT / "rules" / "douyin.yaml")
TAOBAO = str(ROOT / "rules" / "taobao.yaml")
IDS = str(SAMPLES / "ids.txt")
PRODUCT_GET = str(SAMPLES / "product.get")
ITEM_GET = str(SAMPLES / "item_get")


@pytest.fixture(autouse=True)
def chinese_environment(monkeypatch):
    """Run with a neutral locale so the default language is Chinese, whatever the host has."""
    monkeypatch.delenv("ETL_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)


def read_report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_run_writes_payloads_and_report(tmp_path, capsys):
    out = tmp_path / "out"

    status = main(["run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(out)])

    report = read_report(out)
    statuses = {entry["offer_id"]: entry["status"] for entry in report["offers"]}
    assert status == 1
    assert report["summary"] == {"total": 12, "ok": 8, "failed": 4}
    assert statuses["672839104523"] == "ok"
    assert statuses["655718290347"] == "failed"
    assert sorted(path.name for path in out.glob("*.json") if path.name != "report.json") == sorted(
        f"{offer_id}.json" for offer_id, state in statuses.items() if state == "ok"
    )
    assert "完成：共 12 个商品，成功 8 个，失败 4 个" in capsys.readouterr().out


def test_run_report_failure_names_step_and_reason(tmp_path):
    out = tmp_path / "out"

    main(["run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(out)])

    entries = {entry["offer_id"]: entry for entry in read_report(out)["offers"]}
    unmapped = entries["690245871136"]
    assert unmapped["step"] == "transform"
    assert unmapped["field"] == "transform.category_leaf_id"
    assert unmapped["error_code"] == "table.unmapped"
    assert "99999999" in unmapped["reason"]
    assert "category-douyin.csv" in unmapped["reason"]
    assert entries["655718290347"]["error_code"] == "offer.offline"
    assert entries["703386614920"]["step"] == "source"


def test_run_in_english(tmp_path, capsys):
    status = main(["run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path), "--lang", "en"])

    captured = capsys.readouterr()
    assert status == 1
    assert "done: 12 offer(s), 8 succeeded, 4 failed" in captured.out
    assert "offer not on sale (status expired" in captured.err


def test_run_all_ok_exits_zero(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("672839104523\nhttps://detail.1688.com/offer/715204938861.html\n", encoding="utf-8")

    status = main(["run", TAOBAO, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(tmp_path / "out")])

    assert status == 0
    assert read_report(tmp_path / "out")["summary"] == {"total": 2, "ok": 2, "failed": 0}


def test_run_with_fallback_category_set(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("690245871136\n", encoding="utf-8")

    status = main(["run", DOUYIN, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(tmp_path), "--set", "fallback_category_id=20000"])

    payload = json.loads((tmp_path / "690245871136.json").read_text(encoding="utf-8"))
    assert status == 0
    assert payload["category_leaf_id"] == 20000


def test_run_set_markup_changes_prices(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("698310457726\n", encoding="utf-8")

    main(["run", TAOBAO, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(tmp_path / "a"), "--set", "markup=1", "--set", "price_add=0"])
    main(["run", TAOBAO, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(tmp_path / "b"), "--set", "markup=2", "--set", "price_add=1.5"])

    plain = json.loads((tmp_path / "a" / "698310457726.json").read_text(encoding="utf-8"))
    doubled = json.loads((tmp_path / "b" / "698310457726.json").read_text(encoding="utf-8"))
    assert plain["price"] == "19.50"
    assert doubled["price"] == "40.50"


def test_run_item_get_profile(tmp_path):
    status = main(["run", DOUYIN, "--ids", str(SAMPLES / "item_get" / "ids.txt"), "--source", ITEM_GET, "--profile", "item_get", "--out", str(tmp_path)])

    report = read_report(tmp_path)
    assert status == 1
    assert report["profile"] == "item_get"
    assert report["summary"]["ok"] >= 8


def test_run_wrong_profile_for_shape_fails_offers(tmp_path):
    main(["run", DOUYIN, "--ids", IDS, "--source", ITEM_GET, "--out", str(tmp_path)])

    codes = {entry["error_code"] for entry in read_report(tmp_path)["offers"] if entry["status"] == "failed"}
    assert "extract.shape_mismatch" in codes


def test_run_bad_ids_lines_reported_and_rest_runs(tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_text("672839104523\nnot an id\nhttps://qr.1688.com/s/abc\n", encoding="utf-8")

    status = main(["run", DOUYIN, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(tmp_path / "out")])

    report = read_report(tmp_path / "out")
    err = capsys.readouterr().err
    assert status == 1
    assert report["summary"] == {"total": 1, "ok": 1, "failed": 0}
    assert [problem["line"] for problem in report["ids_problems"]] == [2, 3]
    assert "第 2 行" in err


def test_run_missing_saved_response(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("123456789012\n", encoding="utf-8")

    status = main(["run", DOUYIN, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(tmp_path / "out")])

    entry = read_report(tmp_path / "out")["offers"][0]
    assert status == 1
    assert entry["error_code"] == "source.not_saved"


def test_run_truncated_response(tmp_path):
    source = tmp_path / "saved"
    source.mkdir()
    original = (SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8")
    (source / "672839104523.json").write_text(original[: len(original) // 2], encoding="utf-8")
    ids = tmp_path / "ids.txt"
    ids.write_text("672839104523\n", encoding="utf-8")

    main(["run", DOUYIN, "--ids", str(ids), "--source", str(source), "--out", str(tmp_path / "out")])

    entry = read_report(tmp_path / "out")["offers"][0]
    assert entry["error_code"] == "source.bad_json"
    assert "672839104523.json" in entry["reason"]


def test_run_without_source_is_usage_error(tmp_path, capsys):
    status = main(["run", DOUYIN, "--ids", IDS, "--out", str(tmp_path)])

    assert status == 2
    assert "--source" in capsys.readouterr().err


def test_run_missing_ids_option(capsys):
    status = main(["run", DOUYIN])

    assert status == 2
    assert "缺少 --ids，请补上" in capsys.readouterr().err


def test_unknown_option_suggests(capsys):
    status = main(["run", DOUYIN, "--ids", IDS, "--sourse", PRODUCT_GET])

    assert status == 2
    assert "--source" in capsys.readouterr().err


def test_set_undeclared_var(tmp_path, capsys):
    status = main(["run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path), "--set", "markupp=2"])

    err = capsys.readouterr().err
    assert status == 2
    assert "markupp" in err
    assert "markup" in err.replace("markupp", "")


def test_rule_error_shows_position_and_caret(tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(ROOT / "rules", work / "rules")
    shutil.copytree(ROOT / "targets", work / "targets")
    rule = work / "rules" / "douyin.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("{{ title }}", "{{ titel }}"), encoding="utf-8")
    line = next(number for number, text in enumerate(rule.read_text(encoding="utf-8").splitlines(), 1) if "titel" in text)

    status = main(["run", str(rule), "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert status == 2
    assert f"douyin.yaml:{line}:" in err
    assert "未定义的名字 'titel'（是不是要写 title？）" in err
    assert '  name: "{{ titel }}"' in err
    assert "^" in err
    assert not (tmp_path / "out").exists()


def test_check_bundled_rules(capsys):
    status = main(["check", DOUYIN, TAOBAO])

    assert status == 0
    assert capsys.readouterr().out.count("检查通过") == 2


def test_check_reports_every_file(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("target: douyin\nprofile: product.get\nfields: {}\nfields: {}\n", encoding="utf-8")

    status = main(["check", DOUYIN, str(broken)])

    captured = capsys.readouterr()
    assert status == 2
    assert "检查通过" in captured.out
    assert "broken.yaml:4:1" in captured.err


def test_schema_prints_rule_schema(capsys):
    status = main(["schema"])

    schema = json.loads(capsys.readouterr().out)
    assert status == 0
    assert set(schema["properties"]) >= {"target", "profile", "vars", "tables", "transform", "fields"}


def test_help_in_chinese_and_english(capsys):
    assert main(["run", "--help"]) == 0
    chinese = capsys.readouterr().out
    assert main(["run", "--help", "--lang", "en"]) == 0
    english = capsys.readouterr().out
    assert "ids 文件" in chinese
    assert "ids file" in english


def test_real_subprocess(tmp_path):
    env = dict(os.environ, LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
    env.pop("ETL_LANG", None)

    completed = subprocess.run(
        [sys.executable, "-m", "etl", "run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path / "out")],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False,
    )

    assert completed.returncode == 1
    assert "成功 8 个" in completed.stdout
    assert "✗ 655718290347" in completed.stderr
    assert read_report(tmp_path / "out")["summary"]["ok"] == 8


def test_out_folder_of_responses_is_never_touched(tmp_path):
    responses = tmp_path / "responses"
    shutil.copytree(SAMPLES / "product.get", responses)
    before = {path.name: path.read_bytes() for path in responses.glob("*.json")}
    first = tmp_path / "first"
    main(["run", DOUYIN, "--ids", IDS, "--source", str(responses), "--out", str(first)])

    status = main(["run", DOUYIN, "--ids", IDS, "--source", str(first), "--out", str(responses)])

    after = {path.name: path.read_bytes() for path in responses.glob("*.json") if path.name != "report.json"}
    entries = json.loads((responses / "report.json").read_text(encoding="utf-8"))["offers"]
    assert status == 1
    assert after == before
    assert all(entry["status"] == "failed" for entry in entries)
    assert not any(entry.get("removed_stale_output") for entry in entries)


def test_payload_never_overwrites_a_foreign_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    saved = out / "672839104523.json"
    saved.write_bytes((SAMPLES / "product.get" / "672839104523.json").read_bytes())
    ids = tmp_path / "ids.txt"
    ids.write_text("672839104523\n", encoding="utf-8")

    status = main(["run", DOUYIN, "--ids", str(ids), "--source", PRODUCT_GET, "--out", str(out)])

    assert status == 1
    assert saved.read_bytes() == (SAMPLES / "product.get" / "672839104523.json").read_bytes()
    assert read_report(out)["offers"][0]["error_code"] == "output.foreign_file"


def test_out_folder_of_other_target_refused(tmp_path, capsys):
    main(["run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path)])

    status = main(["run", TAOBAO, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path)])

    assert status == 2
    assert "douyin" in capsys.readouterr().err


def test_rerun_removes_own_stale_payload_only(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(SAMPLES / "product.get", source)
    out = tmp_path / "out"
    main(["run", DOUYIN, "--ids", IDS, "--source", str(source), "--out", str(out)])
    (source / "672839104523.json").write_text('{"success": false, "errorCode": "x", "errorMessage": "gone"}', encoding="utf-8")
    (out / "note.json").write_text("{}", encoding="utf-8")

    main(["run", DOUYIN, "--ids", IDS, "--source", str(source), "--out", str(out)])

    entry = next(item for item in read_report(out)["offers"] if item["offer_id"] == "672839104523")
    assert entry["removed_stale_output"] is True
    assert not (out / "672839104523.json").exists()
    assert (out / "note.json").exists()


def test_report_path_is_a_folder(tmp_path, capsys):
    (tmp_path / "report.json").mkdir()

    status = main(["run", DOUYIN, "--ids", IDS, "--source", PRODUCT_GET, "--out", str(tmp_path)])

    assert status == 2
    assert "report.json" in capsys.readouterr().err


def test_init_copies_bundle_without_overwriting(tmp_path, capsys):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "douyin.yaml").write_text("# mine\n", encoding="utf-8")

    status = main(["init", str(tmp_path)])

    assert status == 0
    assert (tmp_path / "rules" / "douyin.yaml").read_text(encoding="utf-8") == "# mine\n"
    assert (tmp_path / "rules" / "taobao.yaml").is_file()
    assert (tmp_path / "targets" / "douyin" / "target.yaml").is_file()
    assert (tmp_path / "samples" / "ids.txt").is_file()
    assert "1 个已存在" in capsys.readouterr().out
