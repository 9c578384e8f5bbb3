"""Peak memory of ``etl run`` over saved responses, for batches of different sizes.

The source folder contains a generated response for every id, so every offer is read, mapped,
validated and written, as in a real batch. The peak resident set size is the child's VmHWM
from /proc (see :data:`benchmarks.processes.PEAK_WRAPPER`), so Linux only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Sequence

from etl import jsonio

from benchmarks.generate import DEFAULT_SEED, write_ids, write_offers
from benchmarks.processes import run_measured

PEAK_TARGET_MIB = 200

# "Not growing with batch size": the largest batch's peak may exceed the smallest's by at most
# this share. The share is this benchmark's choice, not a documented requirement.
GROWTH_TOLERANCE = 0.10


def run_memory(work_folder: Path, sizes: Sequence[int] = (10_000, 100_000), seed: int = DEFAULT_SEED,
               rule: str = "rules/douyin.yaml", keep_outputs: bool = False) -> dict[str, Any]:
    """Run ``etl run RULE --ids FILE --source DIR --out DIR`` once per batch size and report peak RSS."""
    sizes = sorted(sizes)
    source = work_folder / "memory-source"
    ids = write_offers(source, sizes[-1], seed)

    runs = []
    for size in sizes:
        runs.append(_run_size(work_folder, source, ids[:size], rule, keep_outputs))

    peaks = [run["peak_rss_mib"] for run in runs]
    if None in peaks:
        raise RuntimeError("the child reported no VmHWM: the memory stage needs Linux /proc")
    growth = peaks[-1] - peaks[0]
    return {
        "rule": rule,
        "source": f"{len(ids)} generated responses, one per id, so every offer is mapped and written",
        "runs": runs,
        "peak_target_mib": PEAK_TARGET_MIB,
        "peak_target_met": all(peak < PEAK_TARGET_MIB for peak in peaks),
        "growth_mib": round(growth, 1),
        "growth_criterion": f"peak of the largest batch <= (1 + {GROWTH_TOLERANCE}) x peak of the smallest",
        "flat_target_met": len(peaks) < 2 or peaks[-1] <= peaks[0] * (1 + GROWTH_TOLERANCE),
    }


def _run_size(work_folder: Path, source: Path, ids: list[str], rule: str, keep_outputs: bool) -> dict[str, Any]:
    size = len(ids)
    ids_file = write_ids(work_folder / f"memory-ids-{size}.txt", ids)
    out = work_folder / f"memory-out-{size}"
    shutil.rmtree(out, ignore_errors=True)

    # 0.1 s per offer is far above the mapping time per offer, so only a hung run reaches it.
    measured = run_measured(["run", rule, "--ids", str(ids_file), "--source", str(source), "--out", str(out)],
                            work_folder / "logs", f"memory-{size}", timeout=max(600.0, size * 0.1), measure_peak=True)

    run: dict[str, Any] = {
        "ids": size,
        "command": measured.command_text,
        "launched_as": "python -c PEAK_WRAPPER (benchmarks/processes.py): etl.cli.main, then VmHWM from /proc/self/status",
        "exit_status": measured.exit_status,
        "seconds": round(measured.seconds, 1),
        "timed_out_and_interrupted": measured.timed_out,
        "offers_per_second": round(size / measured.seconds, 1),
        "peak_rss_mib": None if measured.peak_rss_mib is None else round(measured.peak_rss_mib, 1),
    }
    run.update(_report_summary(out / "report.json", ids))

    if not keep_outputs:
        shutil.rmtree(out, ignore_errors=True)
    return run


def _report_summary(path: Path, ids: list[str]) -> dict[str, Any]:
    """Read ``report.json``: the summary, and whether it lists every id exactly once."""
    if not path.is_file():
        return {"report": "missing"}

    report = jsonio.loads(path.read_text(encoding="utf-8"))
    listed = [entry["offer_id"] for entry in report.get("offers", [])]
    return {
        "report_summary": report.get("summary"),
        "report_size_mib": round(path.stat().st_size / 2 ** 20, 1),
        "every_offer_accounted_for": sorted(listed) == sorted(ids),
    }
