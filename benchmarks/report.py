"""The results file and the table printed at the end of a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from etl import jsonio

from benchmarks import ROOT

RESULTS_PATH = ROOT / "benchmarks" / "results.json"


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from: CPU, memory, Python and platform."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _proc_value("/proc/cpuinfo", "model name") or platform.processor() or None,
        "memory_total": _proc_value("/proc/meminfo", "MemTotal"),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def _proc_value(path: str, name: str) -> str | None:
    """Return the value of the first ``name: value`` line of a /proc file, or None off Linux."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def source_revision() -> dict[str, Any]:
    """Return the git commit of the checkout and the engine files changed since it.

    Other people may edit ``etl/``, ``rules/`` and ``targets/`` while a long run goes on, so
    each stage records what it measured. ``--no-optional-locks`` keeps git from writing the
    index while they work.
    """
    git = ["git", "--no-optional-locks", "-C", str(ROOT)]
    try:
        commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        changed = subprocess.run(git + ["status", "--porcelain", "--", "etl", "rules", "targets"],
                                 capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}

    return {"commit": commit.stdout.strip() or None, "uncommitted_changes": [line[3:] for line in changed.stdout.splitlines()]}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_results(stages: dict[str, Any], command: str, path: Path = RESULTS_PATH) -> Path:
    """Merge ``stages`` into the results file at ``path`` and write it.

    Stages measured by earlier runs stay, so ``python -m benchmarks memory`` updates only the
    memory figures. Each stage records its own command and time, and ``machine`` describes the
    latest run.
    """
    results: dict[str, Any] = {}
    if path.is_file():
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            results = {}

    results["machine"] = machine()
    results["updated_at"] = now()
    results["last_command"] = command
    results.setdefault("stages", {}).update(stages)
    path.write_text(jsonio.dumps(results, indent=2) + "\n", encoding="utf-8")
    return path


# -- the table -------------------------------------------------------------------------------


def table_rows(stages: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Return (measurement, result, target, met) rows for every stage in ``stages``."""
    rows: list[tuple[str, str, str, str]] = []
    for name, record in stages.items():
        if "error" in record:
            rows.append((f"{name}: failed", record["error"][:120], "", "NO"))
    stages = {name: record for name, record in stages.items() if "error" not in record}

    if "mapping" in stages:
        rows += _mapping_rows(stages["mapping"])
    if "profile" in stages:
        shares = list(stages["profile"]["own_time_share_by_package"].items())[:4]
        rows.append(("engine profile: own time by package", ", ".join(f"{name} {share:.0%}" for name, share in shares), "", ""))
    if "check" in stages:
        rows += _check_rows(stages["check"])
    if "memory" in stages:
        rows += _memory_rows(stages["memory"])
    if "network" in stages:
        rows += _network_rows(stages["network"])
    if "publish" in stages:
        rows += _publish_rows(stages["publish"])
    return rows


def _publish_rows(publish: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    if not publish.get("measured"):
        return [("unchanged re-run of --publish", str(publish.get("status")), "", "")]

    unchanged = publish["unchanged_run"]
    offers = publish["settings"]["offers"]
    return [
        (f"--publish unchanged re-run, {offers} offers: platform writes", str(unchanged["platform_writes"]), "0",
         _met(unchanged["zero_writes_target_met"])),
        ("--publish unchanged re-run: time per offer", f"{unchanged['milliseconds_per_offer']} ms", "", ""),
    ]


def _met(value: bool) -> str:
    return "yes" if value else "NO"


def _mapping_rows(mapping: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    if "mismatch" in mapping:
        mismatch = mapping["mismatch"]
        return [(f"mapping {mismatch['target']}: engine = hand-written", f"differ at offer {mismatch['offer_id']}", "equal", "NO")]

    rows = []
    for target, result in mapping["targets"].items():
        outcomes = ", ".join(f"{key} {value}" for key, value in result["outcomes"].items())
        rows += [
            (f"mapping {target}: payloads equal ({result['offers']} offers)", f"yes ({outcomes})", "equal", "yes"),
            (f"mapping {target}: engine", f"{result['engine_offers_per_second']:,.0f} offers/s ({result['engine_seconds']:.1f} s)", "", ""),
            (f"mapping {target}: hand-written", f"{result['baseline_offers_per_second']:,.0f} offers/s ({result['baseline_seconds']:.1f} s)", "", ""),
            (f"mapping {target}: engine time / hand-written time", f"{result['ratio_engine_to_baseline']:.2f}",
             f"<= {result['ratio_target']:g}", _met(result["ratio_target_met"])),
        ]
    return rows


def _check_rows(check: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    if check.get("failed"):
        return [(f"{check['command']}", f"failed with exit status {check['exit_status']}", "< 0.5 s", "NO")]
    return [(f"etl check (median of {check['runs']})", f"{check['median_seconds']:.3f} s",
             f"< {check['target_seconds']:g} s", _met(check["target_met"]))]


def _memory_rows(memory: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for run in memory["runs"]:
        summary = run.get("report_summary") or {}
        detail = f"{run['peak_rss_mib']:.0f} MiB, {run['seconds']:.0f} s, ok {summary.get('ok', '?')}/{run['ids']}"
        rows.append((f"etl run peak RSS, {run['ids']:,} ids", detail, f"< {memory['peak_target_mib']} MiB",
                     _met(run["peak_rss_mib"] < memory["peak_target_mib"])))
    if len(memory["runs"]) > 1:
        rows.append(("etl run peak RSS growth, smallest to largest batch", f"{memory['growth_mib']:+.1f} MiB", "<= +10%",
                     _met(memory["flat_target_met"])))
    return rows


def _network_rows(network: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    settings = network["settings"]
    clean, faults = network["clean"], network["faults"]
    limit = settings["rate_limit"]
    client = "" if settings.get("client_rate", limit) == limit else f", --rate {settings['client_rate']:g}"
    rows = [
        (f"network: achieved rate / limit ({settings['offers']} offers{client})",
         f"{clean['achieved_share_of_limit']:.3f} ({clean['achieved_rate_per_second']:.1f}/s of {limit:g}/s)",
         f">= {clean['achieved_share_target']}", _met(clean["achieved_share_target_met"])),
        ("network: max requests in any 1 s", str(clean["max_requests_in_1s"]), f"<= {clean['max_requests_in_1s_target']}",
         _met(clean["max_requests_target_met"])),
        ("network: server rate-limit rejections", str(clean["rejected_by_server_rate_limit"]), "", ""),
    ]

    summary = faults.get("report_summary") or {}
    outcome = f"{summary.get('total', 0)}/{settings['offers']} listed, ok {summary.get('ok', 0)}"
    if faults.get("timed_out_and_interrupted"):
        outcome += ", interrupted at the time limit"
    rows += [
        (f"network, {faults['faults_injected']} injected faults: offers in report", outcome, "all",
         _met(faults["every_offer_accounted_for"])),
        (f"network, {faults['faults_injected']} injected faults: achieved rate / limit",
         f"{faults['achieved_share_of_limit']:.3f} ({faults['seconds']:.0f} s)", "", ""),
    ]
    return rows


def format_table(rows: list[tuple[str, str, str, str]]) -> str:
    """Format rows as a plain-text table with a header; every cell is ASCII or counted as such."""
    header = ("measurement", "result", "target", "met")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
