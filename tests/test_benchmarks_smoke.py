"""Smoke test of the benchmark runner at tiny sizes: every stage runs and records its keys.

No assertion here depends on how fast anything is; the figures are only checked to exist.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

import pytest

from conftest import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.check import run_check  # noqa: E402
from benchmarks.generate import OfferGenerator, describe, generate_texts  # noqa: E402
from benchmarks.mapping import first_difference, prepare_offers, run_mapping  # noqa: E402
from benchmarks.memory import run_memory  # noqa: E402
from benchmarks.network import fault_plan, run_network  # noqa: E402
from benchmarks.publish import run_publish  # noqa: E402
from etl.filters.tables import load_table  # noqa: E402

MAPPING_KEYS = ("engine_seconds", "baseline_seconds", "engine_offers_per_second", "baseline_offers_per_second",
                "ratio_engine_to_baseline", "ratio_target_met", "outcomes")


def test_generator_is_deterministic_by_index():
    first = dict(generate_texts(5))
    longer = dict(generate_texts(8))
    assert all(longer[offer_id] == text for offer_id, text in first.items())


def test_generator_stays_within_limits():
    raws = [OfferGenerator().offer(index) for index in range(300)]
    categories = load_table(ROOT / "rules" / "tables" / "category-douyin.csv").rows
    summary = describe(raws)

    assert all(str(raw["productInfo"]["categoryID"]) in categories for raw in raws)
    assert summary["spec_rows_max"] <= 600
    assert 1 <= summary["skus_per_offer_max"] <= 200
    assert summary["offers_without_skus"] > 0
    assert set(summary["offers_by_spec_dimensions"]) <= {"1", "2", "3"}


def test_generated_prices_have_one_or_two_decimals():
    prices = []
    for raw in (OfferGenerator().offer(index) for index in range(50)):
        prices += [tier["price"] for tier in raw["productInfo"]["saleInfo"]["priceRanges"]]
        prices += [sku["price"] for sku in raw["productInfo"].get("skuInfos", []) if "price" in sku]
    assert len(prices) > 50
    assert all(isinstance(price, Decimal) and -price.as_tuple().exponent in (1, 2) for price in prices)


@pytest.mark.parametrize(
    ("engine", "baseline", "field"),
    [
        (("ok", {"a": 1, "b": 2}), ("ok", {"b": 2, "a": 1}), "(key order)"),
        (("ok", {"price": Decimal("19.9")}), ("ok", {"price": Decimal("19.90")}), "price"),
        (("ok", {"commit": False}), ("ok", {"commit": 0}), "commit"),
        (("ok", {"a": 1}), ("ok", {"a": 1, "weight": Decimal("0.2")}), "weight"),
        (("ok", {"a": 1}), ("failed", "sku.taobao_too_long"), None),
        (("failed", "sku.taobao_too_long"), ("failed", "table.unmapped"), None),
    ],
)
def test_first_difference_finds(engine, baseline, field):
    difference = first_difference(engine, baseline)
    assert difference is not None
    assert difference["field"] == field


def test_first_difference_equal_outcomes():
    assert first_difference(("ok", {"a": Decimal("1.50")}), ("ok", {"a": Decimal("1.50")})) is None
    assert first_difference(("failed", "money.no_cost"), ("failed", "money.no_cost")) is None


def test_mapping_stage_payloads_equal():
    result = run_mapping(20)

    assert set(result["targets"]) == {"douyin", "taobao"}
    for target in result["targets"].values():
        assert target["payloads_equal"] is True
        assert sum(target["outcomes"].values()) == 20
        for key in MAPPING_KEYS:
            assert key in target


def test_prepared_offers_parse_prices_as_decimal():
    offers = prepare_offers(3)
    assert len(offers.ids) == len(offers.raws) == 3
    tiers = offers.raws[0]["productInfo"]["saleInfo"]["priceRanges"]
    assert isinstance(tiers[0]["price"], Decimal)


def test_check_stage_records_median(tmp_path):
    result = run_check(tmp_path, runs=1)

    assert "failed" not in result
    assert result["runs"] == 1
    assert "median_seconds" in result
    assert "target_met" in result


def test_memory_stage_maps_every_offer(tmp_path):
    result = run_memory(tmp_path, sizes=(10,))
    run = result["runs"][0]

    assert run["exit_status"] == 0
    assert run["report_summary"] == {"total": 10, "ok": 10, "failed": 0}
    assert run["every_offer_accounted_for"] is True
    assert run["peak_rss_mib"] > 0
    assert "flat_target_met" in result


def test_fault_plan_spreads_faults():
    ids = [str(number) for number in range(1000)]
    plan = fault_plan(ids)

    assert len(plan) == 10
    assert {entries[0] for entries in plan.values()} == {"503", "reset", "qos"}
    assert fault_plan(ids[:10]) == {"0": ["503"]}


def test_network_stage_accounts_for_every_offer(tmp_path):
    result = run_network(tmp_path, offers=10)

    for run in (result["clean"], result["faults"]):
        assert run["every_offer_accounted_for"] is True
        assert run["report_summary"]["total"] == 10
        assert "achieved_share_of_limit" in run
        assert "max_requests_in_1s" in run
    assert result["faults"]["faults_injected"] == 1


@pytest.fixture(scope="module")
def publish_result(tmp_path_factory):
    return run_publish(tmp_path_factory.mktemp("publish"), offers=12, workers=2, image_pool=4)


def test_publish_stage_runs_twice(publish_result):
    first, unchanged = publish_result["first_run"], publish_result["unchanged_run"]

    assert publish_result["measured"] is True
    assert first["summary"]["created"] >= 1
    assert unchanged["summary"]["unchanged"] == first["summary"]["created"]
    assert unchanged["platform_writes"] == 0
    assert "milliseconds_per_offer" in unchanged


def test_results_file_and_table(tmp_path, publish_result):
    stages = {"publish": {"command": "python -m benchmarks publish", **publish_result}}
    path = report.write_results(stages, "python -m benchmarks publish", tmp_path / "results.json")
    written = json.loads(path.read_text(encoding="utf-8"))

    assert written["stages"]["publish"]["measured"] is True
    assert written["machine"]["cpu_count"] >= 1
    assert written["machine"]["python"]
    assert "updated_at" in written
    assert "--publish" in report.format_table(report.table_rows(stages))


def test_results_file_keeps_earlier_stages(tmp_path):
    path = tmp_path / "results.json"
    report.write_results({"check": {"median_seconds": 0.3}}, "first", path)
    report.write_results({"publish": {"status": "x"}}, "second", path)
    written = json.loads(path.read_text(encoding="utf-8"))

    assert set(written["stages"]) == {"check", "publish"}
    assert written["last_command"] == "second"
    assert written["stages"]["check"]["median_seconds"] == 0.3
