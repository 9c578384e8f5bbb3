"""etl run --publish against fake Douyin and Taobao servers and a fake 1688 image CDN on 127.0.0.1.

The fakes check signatures the way the platforms do, keep the products they are sent, and do not
deduplicate, so a duplicate made by the client shows up as two products with one outer id.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from fakes.douyin import FakeDouyin
from fakes.image_cdn import FakeImageCdn
from fakes.taobao import FakeTaobao

from etl.cli import main

# Offers of samples/product.get that map to a valid Douyin payload (the other samples fail on purpose).
DOUYIN_OK = ("672839104523", "715204938861", "698310457726", "684092175530", "729463018854", "662907314458")
IMAGE_PATH = re.compile(r"/(?:img|tps)/[^\"\s\\<>')]+")


class Setup:
    """Fakes, a source folder whose image addresses point at the fake CDN, and the run's files."""

    def __init__(self, tmp_path: Path, cdn: FakeImageCdn, douyin: FakeDouyin, taobao: FakeTaobao) -> None:
        self.tmp = tmp_path
        self.cdn, self.douyin, self.taobao = cdn, douyin, taobao
        self.source = tmp_path / "source"
        self.out = tmp_path / "out"
        self.state = tmp_path / "state.sqlite"
        self.ids = tmp_path / "ids.txt"
        self.ids.write_text("\n".join(DOUYIN_OK) + "\n", encoding="utf-8")
        self.cdn_paths: set[str] = set()
        self._copy_samples()

    def _copy_samples(self) -> None:
        self.source.mkdir()
        for path in (SAMPLES / "product.get").glob("*.json"):
            text = path.read_text(encoding="utf-8")
            text = text.replace('"img/ibank/', f'"{self.cdn.url}/img/ibank/')
            text = text.replace("https://cbu01.alicdn.com/", f"{self.cdn.url}/").replace("https://img.alicdn.com/", f"{self.cdn.url}/")
            for image_path in set(IMAGE_PATH.findall(text)):
                if image_path not in self.cdn_paths:
                    self.cdn.add_image(image_path, kind="png" if image_path.endswith(".png") else "jpeg", width=800, height=800)
                    self.cdn_paths.add(image_path)
            (self.source / path.name).write_text(text, encoding="utf-8")

    def run(self, rule: str, *extra: str, ids: Path | None = None) -> int:
        return main(["run", rule, "--ids", str(ids or self.ids), "--source", str(self.source), "--out", str(self.out),
                     "--state", str(self.state), "--publish", "--lang", "en", "--publish-rate", "500", *extra])

    def report(self) -> dict:
        return json.loads((self.out / "report.json").read_text(encoding="utf-8"))

    def statuses(self) -> dict[str, str]:
        return {entry["offer_id"]: entry["status"] for entry in self.report()["offers"]}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    with FakeImageCdn() as cdn, FakeDouyin() as douyin, FakeTaobao() as taobao:
        monkeypatch.setenv("ETL_DOUYIN_GATEWAY", douyin.url)
        monkeypatch.setenv("ETL_DOUYIN_APP_KEY", douyin.app_key)
        monkeypatch.setenv("ETL_DOUYIN_APP_SECRET", douyin.app_secret)
        monkeypatch.setenv("ETL_DOUYIN_ACCESS_TOKEN", douyin.access_token)
        monkeypatch.setenv("ETL_TAOBAO_GATEWAY", taobao.gateway)
        monkeypatch.setenv("ETL_TAOBAO_APP_KEY", taobao.app_key)
        monkeypatch.setenv("ETL_TAOBAO_APP_SECRET", taobao.app_secret)
        monkeypatch.setenv("ETL_TAOBAO_SESSION", taobao.session)
        monkeypatch.setenv("ETL_IMAGE_HOSTS", "127.0.0.1")
        monkeypatch.setenv("ETL_IMAGE_ALLOW_PRIVATE", "1")
        monkeypatch.delenv("ETL_CREDENTIALS_FILE", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/etl/credentials.yaml
        yield Setup(tmp_path, cdn, douyin, taobao)


def one_product_per_offer(fake_products, outer_ids) -> None:
    for outer_id in outer_ids:
        assert len(fake_products(outer_id)) == 1, f"offer {outer_id} has {len(fake_products(outer_id))} products"


# -- Douyin ---------------------------------------------------------------------------------


def test_douyin_first_run_creates_one_draft_each(setup):
    status = setup.run("douyin")

    assert status == 0
    assert set(setup.statuses().values()) == {"created"}
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)
    assert all(product.is_draft for product in setup.douyin.products)


def test_douyin_report_carries_product_ids(setup):
    setup.run("douyin")

    entries = {entry["offer_id"]: entry for entry in setup.report()["offers"]}
    product = setup.douyin.products_by_outer_id("672839104523")[0]

    assert entries["672839104523"]["product_id"] == str(product.product_id)
    assert setup.report()["summary"]["created"] == len(DOUYIN_OK)


def test_douyin_images_are_rehosted(setup):
    setup.run("douyin")

    for product in setup.douyin.products:
        payload = product.draft or product.data
        images = payload["pic"].split("|") + payload["description"].split("|") + [url for url in payload.get("spec_pic", "").split(",") if url]
        assert images
        assert all(url.startswith(setup.douyin.image_prefix) for url in images), images


def test_douyin_unchanged_rerun_makes_no_calls(setup):
    setup.run("douyin")
    calls_before = len(setup.douyin.calls)

    status = setup.run("douyin")

    assert status == 0
    assert set(setup.statuses().values()) == {"unchanged"}
    assert len(setup.douyin.calls) == calls_before


def test_douyin_changed_markup_updates_drafts(setup):
    setup.run("douyin")

    setup.run("douyin", "--set", "markup=2")

    assert set(setup.statuses().values()) == {"updated"}
    assert setup.douyin.write_counts["product.addV2"] == len(DOUYIN_OK)
    assert setup.douyin.write_counts["product.editV2"] == len(DOUYIN_OK)
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_douyin_images_upload_once_across_runs(setup):
    setup.run("douyin")
    uploads = setup.douyin.write_counts["material.uploadImageSync"]

    setup.run("douyin", "--set", "markup=2")

    assert uploads == len(setup.douyin.materials)
    assert setup.douyin.write_counts["material.uploadImageSync"] == uploads


def test_douyin_lost_state_finds_existing_drafts(setup):
    setup.run("douyin")
    setup.state.unlink()

    status = setup.run("douyin")

    assert status == 0
    assert set(setup.statuses().values()) == {"updated"}
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_douyin_lost_answer_to_create_makes_no_duplicate(setup):
    setup.douyin.drop_after_accept("product.addV2", count=2)

    status = setup.run("douyin")

    assert status == 0
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)
    assert setup.douyin.duplicates() == {}


def test_douyin_upload_server_errors_are_retried(setup):
    setup.douyin.fail_next("material.uploadImageSync", 20000, count=2)

    status = setup.run("douyin")

    assert status == 0
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_douyin_create_server_error_is_not_resent(setup, monkeypatch):
    setup.douyin.fail_next("product.addV2", 20000, count=3)

    first = setup.run("douyin")
    failed = [entry for entry in setup.report()["offers"] if entry["status"] == "failed"]
    monkeypatch.setattr("etl.publish.SETTLE_SECONDS", 0)
    second = setup.run("douyin")

    assert first == 1
    assert [entry["error_code"] for entry in failed] == ["publish.unanswered"] * 3
    assert second == 0
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_immediate_rerun_waits_for_unconfirmed_create(setup):
    setup.douyin.fail_next("product.addV2", 20000, count=1)
    setup.run("douyin")
    creates = setup.douyin.write_counts["product.addV2"]

    status = setup.run("douyin")

    codes = [entry.get("error_code") for entry in setup.report()["offers"]]
    assert status == 1
    assert codes.count("publish.unconfirmed_recent") == 1
    assert setup.douyin.write_counts["product.addV2"] == creates


def test_rate_limited_create_after_acting_makes_no_duplicate(setup):
    setup.douyin.fail_after_accept("product.addV2", 60000, "isp.traffic-limited", count=2)

    status = setup.run("douyin")

    assert status == 0
    assert setup.douyin.duplicates() == {}
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_live_item_stays_live_after_state_loss(setup):
    setup.run("taobao", "--go-live")
    setup.state.unlink()

    setup.run("taobao", "--set", "markup=2")

    assert set(setup.statuses().values()) == {"updated"}
    assert {item.approve_status for item in setup.taobao.items} == {"onsale"}


def test_wrong_gateway_is_named(setup, monkeypatch):
    monkeypatch.setenv("ETL_DOUYIN_GATEWAY", setup.cdn.url)

    status = setup.run("douyin", "--workers", "1")

    entry = setup.report()["offers"][0]
    assert status == 1
    assert entry["error_code"] == "publish.not_platform_answer"
    assert "ETL_DOUYIN_GATEWAY" in entry["reason"]
    assert setup.cdn.url in entry["reason"]


@pytest.mark.parametrize("code", [20000, 50002])
def test_douyin_error_after_create_makes_no_duplicate(setup, code):
    setup.douyin.fail_after_accept("product.addV2", code, "isp.service-error" if code == 20000 else "isv.business-failed:1", count=2)

    status = setup.run("douyin")

    assert setup.douyin.duplicates() == {}
    if code == 20000:
        assert status == 0
        one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_taobao_error_after_create_makes_no_duplicate(setup):
    setup.taobao.fail_after_accept("taobao.item.add", 15, "isp.top-remote-connection-timeout", count=2)

    status = setup.run("taobao")

    assert status == 0
    assert setup.taobao.duplicates() == {}
    one_product_per_offer(setup.taobao.items_by_outer_id, DOUYIN_OK)


def test_taobao_rate_limit_with_sub_code_is_retried(setup):
    setup.taobao.fail_next("taobao.item.add", 7, "accesscontrol.limited-by-app-access-count", count=2)

    status = setup.run("taobao")

    assert status == 0
    one_product_per_offer(setup.taobao.items_by_outer_id, DOUYIN_OK)


def test_taobao_session_error_with_sub_code_stops_run(setup):
    setup.taobao.fail_next("taobao.items.custom.get", 27, "invalid-sessionkey", count=1)

    status = setup.run("taobao", "--workers", "1")

    codes = [entry.get("error_code") for entry in setup.report()["offers"]]
    assert status == 1
    assert codes[0] == "publish.api_error"
    assert set(codes[1:]) == {"publish.aborted"}
    assert setup.taobao.items == []


def test_douyin_rate_limit_errors_are_retried(setup):
    ids = setup.tmp / "two.txt"
    ids.write_text("672839104523\n715204938861\n", encoding="utf-8")
    setup.douyin.set_rate_limit(5)

    status = setup.run("douyin", "--publish-rate", "20", "--workers", "4", ids=ids)

    assert status == 0
    assert any(call.outcome == "rate_limited" for call in setup.douyin.calls)
    one_product_per_offer(setup.douyin.products_by_outer_id, ("672839104523", "715204938861"))


def test_douyin_parameter_error_fails_one_offer(setup):
    setup.douyin.fail_next("product.addV2", 40004, "isv.parameter-invalid:name", sub_msg="商品标题不合法")

    status = setup.run("douyin")

    failed = [entry for entry in setup.report()["offers"] if entry["status"] == "failed"]
    assert status == 1
    assert len(failed) == 1
    assert failed[0]["step"] == "publish"
    assert failed[0]["field"] == "name"
    assert "商品标题不合法" in failed[0]["reason"]
    assert len(setup.douyin.products) == len(DOUYIN_OK) - 1


def test_douyin_failed_offer_is_created_on_rerun(setup):
    setup.douyin.fail_next("product.addV2", 40004, "isv.parameter-invalid:name", sub_msg="商品标题不合法")
    setup.run("douyin")

    status = setup.run("douyin")

    assert status == 0
    assert sorted(setup.statuses().values()).count("created") == 1
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_douyin_bad_token_stops_after_first_offer(setup, monkeypatch, capsys):
    monkeypatch.setenv("ETL_DOUYIN_ACCESS_TOKEN", "wrong-token-123456")

    status = setup.run("douyin", "--workers", "1")

    report_text = (setup.out / "report.json").read_text(encoding="utf-8")
    output = capsys.readouterr()
    assert status == 1
    assert len(setup.douyin.calls) == 1
    assert setup.douyin.products == []
    assert "wrong-token-123456" not in report_text
    assert "wrong-token-123456" not in output.out + output.err
    assert setup.douyin.app_secret not in report_text


def test_douyin_go_live_submits_for_audit(setup):
    setup.run("douyin", "--go-live")

    assert all(not product.is_draft for product in setup.douyin.products)


def test_douyin_deleted_product_is_recreated_after_state_loss(setup):
    setup.run("douyin")
    first = setup.douyin.products_by_outer_id("672839104523")[0]
    setup.douyin.delete_product(first.product_id)
    setup.state.unlink()

    setup.run("douyin")

    entries = setup.statuses()
    assert entries["672839104523"] == "created"
    assert len([product for product in setup.douyin.products_by_outer_id("672839104523")]) == 1


def test_douyin_missing_detail_image_is_dropped(setup):
    path = setup.source / "672839104523.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["productInfo"]["description"] += f'<p>more<img src="{setup.cdn.url}/img/ibank/gone.jpg"></p>'
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")

    status = setup.run("douyin")

    product = setup.douyin.products_by_outer_id("672839104523")[0]
    description = (product.draft or product.data)["description"]
    entry = next(entry for entry in setup.report()["offers"] if entry["offer_id"] == "672839104523")
    assert status == 0
    assert "gone.jpg" not in description
    assert description.split("|")[0].startswith(setup.douyin.image_prefix)
    assert [warning["code"] for warning in entry["warnings"]].count("warning.image_dropped") == 1


def test_douyin_main_image_on_unlisted_host_fails(setup):
    path = setup.source / "672839104523.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["productInfo"]["image"]["images"][0] = "https://images.example.net/a.jpg"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")

    status = setup.run("douyin")

    entry = next(entry for entry in setup.report()["offers"] if entry["offer_id"] == "672839104523")
    assert status == 1
    assert entry["status"] == "failed"
    assert entry["step"] == "images"
    assert entry["field"] == "pic"
    assert entry["error_code"] == "image.host_not_allowed"
    assert setup.douyin.products_by_outer_id("672839104523") == []


def test_go_live_without_publish_is_a_usage_error(setup):
    status = main(["run", "douyin", "--ids", str(setup.ids), "--source", str(setup.source), "--out", str(setup.out), "--go-live"])

    assert status == 2


def test_missing_credentials_name_the_variables(setup, monkeypatch, capsys):
    monkeypatch.delenv("ETL_DOUYIN_APP_SECRET")

    status = setup.run("douyin")

    assert status == 2
    assert "ETL_DOUYIN_APP_SECRET" in capsys.readouterr().err


# -- Taobao ---------------------------------------------------------------------------------


def test_taobao_creates_instock_items_with_rehosted_images(setup):
    status = setup.run("taobao")

    assert status == 0
    assert set(setup.statuses().values()) == {"created"}
    for offer_id in DOUYIN_OK:
        items = setup.taobao.items_by_outer_id(offer_id)
        assert len(items) == 1
        item = items[0]
        assert item.fields["approve_status"] == "instock"
        assert item.fields["pic_path"].startswith(setup.taobao.image_prefix)
        image_sources = re.findall(r'src="([^"]+)"', item.fields["desc"])
        assert all(source.startswith(setup.taobao.image_prefix) for source in image_sources), image_sources


def test_taobao_detail_html_is_cleaned_and_rehosted(setup):
    setup.run("taobao")

    desc = setup.taobao.items_by_outer_id("672839104523")[0].fields["desc"]
    image_sources = re.findall(r'src="([^"]+)"', desc)
    assert len(image_sources) == 4
    assert all(source.startswith(setup.taobao.image_prefix) for source in image_sources)
    assert "面料：100%精梳棉" in desc
    assert "<script" not in desc
    assert "onclick" not in desc
    assert "example.com" not in desc
    assert "data-lazyload-src" not in desc
    assert "&#" not in desc


def test_taobao_unchanged_rerun_makes_no_calls(setup):
    setup.run("taobao")
    calls_before = len(setup.taobao.calls)

    setup.run("taobao")

    assert "created" not in setup.statuses().values()
    assert len(setup.taobao.calls) == calls_before


def test_taobao_lost_state_makes_no_duplicate(setup):
    setup.run("taobao")
    setup.state.unlink()

    setup.run("taobao")

    assert setup.taobao.duplicates() == {}


# -- crashes and concurrent runs ------------------------------------------------------------


def _environment(setup: Setup) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _command(setup: Setup, rule: str = "douyin") -> list[str]:
    return [sys.executable, "-m", "etl", "run", rule, "--ids", str(setup.ids), "--source", str(setup.source), "--out", str(setup.out),
            "--state", str(setup.state), "--publish", "--lang", "en", "--publish-rate", "100"]


def test_killed_run_leaves_one_draft(setup):
    setup.douyin.latency = 0.0
    setup.douyin.hold_after_accept("product.addV2")  # accepted creates wait before responding
    process = subprocess.Popen(_command(setup), env=_environment(setup), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    deadline = time.monotonic() + 60
    while setup.douyin.write_counts["product.addV2"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    setup.douyin.release_held()

    assert setup.douyin.write_counts["product.addV2"] >= 1
    status = setup.run("douyin")

    assert status == 0
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_two_runs_at_once_create_each_offer_once(setup):
    setup.douyin.latency = 0.05
    first = subprocess.Popen(_command(setup), env=_environment(setup), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second_out = setup.tmp / "out-second"
    command = _command(setup)
    command[command.index("--out") + 1] = str(second_out)
    second = subprocess.Popen(command, env=_environment(setup), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first.wait(timeout=120)
    second.wait(timeout=120)

    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)
    assert setup.douyin.duplicates() == {}


def test_long_image_name_keeps_its_extension():
    from etl.publish import _image_name

    name = _image_name("https://cbu01.alicdn.com/img/ibank/O1CN01abcdefghijklmnopqrstuvwxyz_!!2212345678901-0-cib.jpg?x=1", 50)

    assert len(name) == 50
    assert name.endswith(".jpg")


def test_douyin_waits_for_image_audit(tmp_path, monkeypatch):
    with FakeImageCdn() as cdn, FakeDouyin(audit_pending_queries=1, upload_returns_byte_url=False) as douyin, FakeTaobao() as taobao:
        for name, value in (("ETL_DOUYIN_GATEWAY", douyin.url), ("ETL_DOUYIN_APP_KEY", douyin.app_key),
                            ("ETL_DOUYIN_APP_SECRET", douyin.app_secret), ("ETL_DOUYIN_ACCESS_TOKEN", douyin.access_token),
                            ("ETL_IMAGE_HOSTS", "127.0.0.1"), ("ETL_IMAGE_ALLOW_PRIVATE", "1"), ("HOME", str(tmp_path))):
            monkeypatch.setenv(name, value)
        setup = Setup(tmp_path, cdn, douyin, taobao)
        ids = tmp_path / "one.txt"
        ids.write_text("698310457726\n", encoding="utf-8")

        status = setup.run("douyin", ids=ids)

        assert status == 0
        assert douyin.calls_to("material.queryMaterialDetail")
        assert len(douyin.products_by_outer_id("698310457726")) == 1


def test_shop_reads_its_credentials_file_section(setup, monkeypatch):
    credentials = setup.tmp / "credentials.yaml"
    credentials.write_text(
        "douyin/旗舰店:\n"
        f"  app_key: {setup.douyin.app_key}\n  app_secret: {setup.douyin.app_secret}\n  access_token: {setup.douyin.access_token}\n",
        encoding="utf-8")
    monkeypatch.setenv("ETL_DOUYIN_ACCESS_TOKEN", "token-of-the-default-shop")

    status = setup.run("douyin", "--shop", "旗舰店", "--credentials", str(credentials))

    assert status == 0
    one_product_per_offer(setup.douyin.products_by_outer_id, DOUYIN_OK)


def test_shop_without_section_names_it(setup, capsys):
    credentials = setup.tmp / "credentials.yaml"
    credentials.write_text("douyin:\n  app_key: a\n  app_secret: b\n  access_token: c\n", encoding="utf-8")

    status = setup.run("douyin", "--shop", "二店", "--credentials", str(credentials))

    error = capsys.readouterr().err
    assert status == 2
    assert "douyin/二店" in error
    assert setup.douyin.calls == []


@pytest.mark.parametrize("platform", ["douyin", "taobao"])
def test_draft_deleted_in_shop_is_created_again(setup, platform):
    setup.run(platform)
    if platform == "douyin":
        setup.douyin.delete_product(setup.douyin.products_by_outer_id("672839104523")[0].product_id)
        found = setup.douyin.products_by_outer_id
    else:
        setup.taobao.delete_item(setup.taobao.items_by_outer_id("672839104523")[0].num_iid)
        found = setup.taobao.items_by_outer_id

    status = setup.run(platform, "--set", "markup=2")

    assert status == 0
    assert setup.statuses()["672839104523"] == "created"
    assert len(found("672839104523")) == 1


def test_live_item_stays_live_on_later_update(setup, capsys):
    setup.run("taobao", "--go-live")
    assert "created and submitted" in capsys.readouterr().out

    setup.run("taobao", "--set", "markup=2")

    assert set(setup.statuses().values()) == {"updated"}
    assert {item.approve_status for item in setup.taobao.items} == {"onsale"}
