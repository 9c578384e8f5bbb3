"""``python -m benchmarks [STAGE ...]``: run the benchmarks, print a table, write results.json.

Stages: ``mapping``, ``check``, ``memory``, ``network``, ``publish`` (all by default) and
``profile`` (only when named, because profiling slows the code it measures). Run from the
repository root with the project's virtual environment.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from benchmarks import report
from benchmarks.generate import DEFAULT_SEED

DEFAULT_STAGES = ("mapping", "check", "memory", "network", "publish")
ALL_STAGES = DEFAULT_STAGES + ("profile",)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="*", metavar="STAGE", help=f"stages to run: {', '.join(ALL_STAGES)} (default: {' '.join(DEFAULT_STAGES)})")
    parser.add_argument("--offers", type=int, default=10_000, help="generated offers for the mapping stage (default 10000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each mapping loop; the fastest counts (default 3)")
    parser.add_argument("--check-runs", type=int, default=5, help="runs of etl check; the median counts (default 5)")
    parser.add_argument("--memory-ids", default="10000,100000", help="comma-separated batch sizes for the memory stage (default 10000,100000)")
    parser.add_argument("--network-offers", type=int, default=2000, help="offers fetched in each network run (default 2000, about 100 s at 20/s)")
    parser.add_argument("--network-rate", type=float, default=20.0, help="requests per second the fake admits and --rate asks for (default 20)")
    parser.add_argument("--network-client-rate", type=float, help="etl run --rate, when it should differ from --network-rate")
    parser.add_argument("--network-latency", type=float, default=0.1, help="seconds the fake waits before each response (default 0.1)")
    parser.add_argument("--network-workers", type=int, default=8, help="etl run --workers (default 8)")
    parser.add_argument("--publish-offers", type=int, default=10_000, help="offers published twice in the publish stage (default 10000)")
    parser.add_argument("--profile-offers", type=int, default=2000, help="offers in the profiled mapping loop (default 2000)")
    parser.add_argument("--profile-top", type=int, default=10, help="entries listed by the profile stage (default 10)")
    parser.add_argument("--work-dir", type=Path, help="folder for generated files and outputs, kept afterwards (default: a temporary folder, removed)")
    parser.add_argument("--results", type=Path, default=report.RESULTS_PATH, help="results file (default benchmarks/results.json)")

    arguments = parser.parse_args(argv)
    unknown = [stage for stage in arguments.stages if stage not in ALL_STAGES]
    if unknown:
        parser.error(f"unknown stage {unknown[0]!r}: use one of {', '.join(ALL_STAGES)}")
    arguments.stages = tuple(arguments.stages) or DEFAULT_STAGES
    arguments.memory_sizes = _sizes(parser, arguments.memory_ids)
    return arguments


def _sizes(parser: argparse.ArgumentParser, text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        parser.error(f"--memory-ids must be whole numbers separated by commas, got {text!r}")
    if not sizes or min(sizes) < 1:
        parser.error(f"--memory-ids needs at least one batch size >= 1, got {text!r}")
    return sizes


def _stage_command(stage: str, options: list[str]) -> str:
    return shlex.join(["python", "-m", "benchmarks", stage, *options])


def run_stage(stage: str, arguments: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run one stage and return its record, with the command that repeats it and when it ran."""
    runners: dict[str, Callable[[], tuple[dict[str, Any], list[str]]]] = {
        "mapping": lambda: _mapping(arguments),
        "profile": lambda: _profile(arguments),
        "check": lambda: _check(arguments, work),
        "memory": lambda: _memory(arguments, work),
        "network": lambda: _network(arguments, work),
        "publish": lambda: _publish(arguments, work),
    }
    print(f"benchmarks: {stage} ...", file=sys.stderr, flush=True)
    revision = report.source_revision()
    try:
        record, options = runners[stage]()
    except Exception as error:  # one broken stage must not lose the figures of the others
        print(f"benchmarks: {stage} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return {"command": _stage_command(stage, []), "measured_at": report.now(), "source_revision": revision,
                "error": f"{type(error).__name__}: {error}"}
    return {"command": _stage_command(stage, options), "measured_at": report.now(), "source_revision": revision, **record}


def _mapping(arguments) -> tuple[dict[str, Any], list[str]]:
    from benchmarks.mapping import PayloadMismatch, run_mapping

    options = ["--offers", str(arguments.offers), "--seed", str(arguments.seed), "--repeat", str(arguments.repeat)]
    try:
        return run_mapping(arguments.offers, arguments.seed, arguments.repeat), options
    except PayloadMismatch as mismatch:
        return {"mismatch": {"target": mismatch.target, "offer_id": mismatch.offer_id, **mismatch.difference}}, options


def _profile(arguments) -> tuple[dict[str, Any], list[str]]:
    from benchmarks.mapping import run_profile

    result = run_profile(arguments.profile_offers, arguments.seed, top=arguments.profile_top)
    print(result.pop("text"))
    return result, ["--profile-offers", str(arguments.profile_offers), "--seed", str(arguments.seed)]


def _check(arguments, work: Path) -> tuple[dict[str, Any], list[str]]:
    from benchmarks.check import run_check

    return run_check(work / "logs", runs=arguments.check_runs), ["--check-runs", str(arguments.check_runs)]


def _memory(arguments, work: Path) -> tuple[dict[str, Any], list[str]]:
    from benchmarks.memory import run_memory

    options = ["--memory-ids", ",".join(map(str, arguments.memory_sizes)), "--seed", str(arguments.seed)]
    return run_memory(work, arguments.memory_sizes, arguments.seed), options


def _network(arguments, work: Path) -> tuple[dict[str, Any], list[str]]:
    from benchmarks.network import run_network

    options = ["--network-offers", str(arguments.network_offers), "--network-rate", f"{arguments.network_rate:g}",
               "--network-latency", f"{arguments.network_latency:g}", "--network-workers", str(arguments.network_workers)]
    if arguments.network_client_rate:
        options += ["--network-client-rate", f"{arguments.network_client_rate:g}"]
    result = run_network(work, arguments.network_offers, arguments.network_rate, arguments.network_latency,
                         arguments.network_workers, arguments.seed, client_rate=arguments.network_client_rate)
    return result, options


def _publish(arguments, work: Path) -> tuple[dict[str, Any], list[str]]:
    from benchmarks.publish import run_publish

    options = ["--publish-offers", str(arguments.publish_offers)]
    return run_publish(work, arguments.publish_offers, arguments.seed), options


def main(argv: list[str] | None = None) -> int:
    """Run the chosen stages; return 1 when a stage failed or the engine and the baseline disagree, else 0."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    work = arguments.work_dir or Path(tempfile.mkdtemp(prefix="etl-benchmarks-"))
    work.mkdir(parents=True, exist_ok=True)

    stages: dict[str, Any] = {}
    status = 0
    try:
        for stage in arguments.stages:
            stages[stage] = run_stage(stage, arguments, work)
            if "error" in stages[stage]:
                status = 1
            if "mismatch" in stages[stage]:
                print(f"benchmarks: engine and hand-written payloads differ, stopping: {stages[stage]['mismatch']}", file=sys.stderr)
                status = 1
                break
    finally:
        if arguments.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)

    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    path = report.write_results(stages, command, arguments.results)
    print(report.format_table(report.table_rows(stages)))
    print(f"\nresults: {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
