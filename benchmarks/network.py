"""Network stage: ``etl run`` fetching from the fake 1688 gateway under a server-side rate limit.

The fake (``tests/fakes/gateway_1688.py``) runs in this process on 127.0.0.1 and serves
generated responses after ``latency`` seconds, admitting at most ``rate`` requests in any
sliding 1-second window and responding to the rest with the gateway's rate-limit error. ``etl run``
runs as a child process with ``--rate`` set to the same limit. A second run injects faults (HTTP 503, connection reset, the gateway's rate-limit
error) for 1% of the offers and checks that ``report.json`` still lists every offer.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from etl import jsonio

from benchmarks import ROOT
from benchmarks.generate import DEFAULT_SEED, write_ids, write_offers
from benchmarks.processes import child_environment, run_measured

RATE_TARGET_SHARE = 0.95
FAULT_KINDS = ("503", "reset", "qos")
FAULT_SHARE = 0.01

APP_KEY = "fake-app-key"
APP_SECRET = "fake-app-secret"
ACCESS_TOKEN = "fake-access-token"

# The fake's own rate-limit rejection; an injected "qos" fault is recorded as "fault:qos" instead.
RATE_LIMITED = "gw.QosAppFrequencyLimit"


def _fake_gateway_class():
    """Import ``Fake1688`` from the test fakes, which are not part of the installed package."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    from fakes.gateway_1688 import Fake1688

    return Fake1688


def fault_plan(ids: list[str], share: float = FAULT_SHARE) -> dict[str, list[str]]:
    """Spread one fault each over ``share`` of the ids (at least one), cycling through :data:`FAULT_KINDS`."""
    count = max(1, round(len(ids) * share))
    step = len(ids) / count
    return {ids[int(number * step)]: [FAULT_KINDS[number % len(FAULT_KINDS)]] for number in range(count)}


def run_network(work_folder: Path, offers: int = 2000, rate: float = 20.0, latency: float = 0.1, workers: int = 8,
                seed: int = DEFAULT_SEED, rule: str = "rules/douyin.yaml", client_rate: float | None = None) -> dict[str, Any]:
    """Run the clean and the faulty fetch and return both measurements.

    ``rate`` is the fake's limit in requests per second. ``client_rate`` is the ``--rate``
    given to the client, the same as ``rate`` unless set.
    """
    source = work_folder / "network-source"
    ids = write_offers(source, offers, seed)
    ids_file = write_ids(work_folder / f"network-ids-{offers}.txt", ids)
    client_rate = client_rate or rate

    settings = {"rule": rule, "offers": offers, "rate_limit": rate, "client_rate": client_rate, "latency_seconds": latency,
                "workers": workers, "server_limiter": "at most the limit in any sliding 1 s window"}
    clean = _run_against_fake(work_folder, "network-clean", source, ids, ids_file, (rate, client_rate), latency, workers, rule, faults={})
    faulty = _run_against_fake(work_folder, "network-faults", source, ids, ids_file, (rate, client_rate), latency, workers, rule,
                               faults=fault_plan(ids))
    return {"settings": settings, "clean": clean, "faults": faulty}


def _run_against_fake(work_folder: Path, name: str, source: Path, ids: list[str], ids_file: Path, rates: tuple[float, float],
                      latency: float, workers: int, rule: str, faults: dict[str, list[str]]) -> dict[str, Any]:
    rate, client_rate = rates
    fake = _fake_gateway_class()(product_dir=source, latency=latency, rate_limit=rate, limiter="window",
                                 app_key=APP_KEY, app_secret=APP_SECRET, access_token=ACCESS_TOKEN)
    fake.faults = faults
    out = work_folder / f"{name}-out"
    shutil.rmtree(out, ignore_errors=True)

    fake.start()
    try:
        environment = child_environment({
            "ETL_1688_APP_KEY": APP_KEY,
            "ETL_1688_APP_SECRET": APP_SECRET,
            "ETL_1688_ACCESS_TOKEN": ACCESS_TOKEN,
            "ETL_1688_GATEWAY": fake.url + "/openapi",
        })
        arguments = ["run", rule, "--ids", str(ids_file), "--rate", f"{client_rate:g}", "--workers", str(workers), "--out", str(out)]
        # At the full rate the run takes len(ids) / rate seconds. Three times that allows for a
        # client that slows down after rate-limit errors. A slower run is interrupted.
        measured = run_measured(arguments, work_folder / "logs", name, environment, timeout=60 + 3 * len(ids) / rate)
        max_in_window = fake.max_requests_in_window(1.0)
    finally:
        fake.stop()

    result = {
        "command": "ETL_1688_GATEWAY=<fake>/openapi ETL_1688_APP_KEY=... " + measured.command_text,
        "exit_status": measured.exit_status,
        "seconds": round(measured.seconds, 1),
        "timed_out_and_interrupted": measured.timed_out,
        "faults_injected": sum(len(entries) for entries in faults.values()),
        "max_requests_in_1s": max_in_window,
        "max_requests_in_1s_target": int(rate),
        "max_requests_target_met": max_in_window <= int(rate),
    }
    result.update(_request_figures(fake.requests, rate))
    result["end_to_end_offers_per_second"] = round(len(ids) / measured.seconds, 2)
    result.update(_report_figures(out / "report.json", ids))
    return result


def _request_figures(requests: list, rate: float) -> dict[str, Any]:
    """Count requests by outcome and compute the rate of accepted requests at the fake.

    The achieved rate is (accepted - 1) / (last accepted arrival - first accepted arrival):
    accepted requests paced exactly at the limit give the limit.
    """
    outcomes: dict[str, int] = {}
    for record in requests:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1

    accepted = sorted(record.time for record in requests if record.outcome == "ok")
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    achieved = (len(accepted) - 1) / span if span > 0 else 0.0
    return {
        "requests_per_10s_window": _requests_per_window(requests, 10.0),
        "requests": len(requests),
        "requests_by_outcome": outcomes,
        "rejected_by_server_rate_limit": outcomes.get(RATE_LIMITED, 0),
        "accepted_requests": len(accepted),
        "achieved_rate_per_second": round(achieved, 2),
        "achieved_share_of_limit": round(achieved / rate, 3),
        "achieved_share_target": RATE_TARGET_SHARE,
        "achieved_share_target_met": achieved / rate >= RATE_TARGET_SHARE,
    }


def _requests_per_window(requests: list, window: float) -> list[int]:
    """Count the requests that arrived in each ``window`` seconds from the first arrival, to show the client's pace over time."""
    times = sorted(record.time for record in requests)
    if not times:
        return []

    counts = [0] * (int((times[-1] - times[0]) // window) + 1)
    for arrival in times:
        counts[int((arrival - times[0]) // window)] += 1
    return counts


def _report_figures(path: Path, ids: list[str]) -> dict[str, Any]:
    if not path.is_file():
        return {"report": "missing", "every_offer_accounted_for": False}

    report = jsonio.loads(path.read_text(encoding="utf-8"))
    entries = report.get("offers", [])
    failures: dict[str, int] = {}
    for entry in entries:
        if entry.get("status") != "ok":
            failures[entry.get("error_code", "?")] = failures.get(entry.get("error_code", "?"), 0) + 1

    return {
        "report_summary": report.get("summary"),
        "report_failures_by_code": failures,
        "every_offer_accounted_for": sorted(entry["offer_id"] for entry in entries) == sorted(ids),
    }
