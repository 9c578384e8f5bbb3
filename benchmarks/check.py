"""Rule load and check: wall time of ``etl check RULE`` from process start to exit."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.processes import run_measured

CHECK_TARGET_SECONDS = 0.5


def run_check(log_folder: Path, rule: str = "rules/douyin.yaml", runs: int = 5) -> dict[str, Any]:
    """Run ``etl check RULE`` ``runs`` times as a child process and report the median wall time.

    The time includes starting Python and importing the package, because that is what an
    analyst waits for. Every run must exit with status 0, or the result records the failure.
    """
    seconds = []
    measured = None
    for number in range(runs):
        measured = run_measured(["check", rule], log_folder, f"check-{number}", timeout=60)
        if measured.exit_status != 0:
            return {"command": measured.command_text, "runs": number + 1, "failed": True,
                    "exit_status": measured.exit_status, "stderr": measured.stderr[-2000:]}
        seconds.append(measured.seconds)

    median = statistics.median(seconds)
    return {
        "command": measured.command_text,
        "runs": runs,
        "runs_seconds": [round(value, 3) for value in seconds],
        "median_seconds": round(median, 3),
        "target_seconds": CHECK_TARGET_SECONDS,
        "target_met": median < CHECK_TARGET_SECONDS,
    }
