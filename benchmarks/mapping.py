"""Mapping throughput: the rule engine against the hand-written baseline, per rule file.

Offers are generated and parsed with ``etl.jsonio.loads`` before any timing. For each rule
file the engine (``load_rule`` once, then ``Rule.apply`` per offer) and the baseline must
give the same outcome for every offer before either is timed. The same outcome is the same
payload, compared as the JSON text ``etl run`` would write, or a failure with the same
message key. The first difference raises :class:`PayloadMismatch`, and nothing is timed.
"""

from __future__ import annotations

import cProfile
import collections
import io
import pstats
import time
from dataclasses import dataclass
from typing import Any, Callable

from etl import jsonio
from etl.errors import EtlError, OfferError
from etl.rules import load_rule

from benchmarks import ROOT, baseline
from benchmarks.generate import DEFAULT_SEED, describe, generate_texts

RATIO_TARGET = 2.0

# Rule file (relative to the repository) and its hand-written counterpart.
TARGETS: dict[str, tuple[str, Callable[[dict], dict]]] = {
    "douyin": ("rules/douyin.yaml", baseline.douyin_payload),
    "taobao": ("rules/taobao.yaml", baseline.taobao_payload),
}


class PayloadMismatch(Exception):
    """The engine and the baseline disagree on one offer; ``difference`` describes the first field that differs."""

    def __init__(self, target: str, offer_id: str, difference: dict[str, Any]) -> None:
        super().__init__(f"{target}: offer {offer_id}: {difference}")
        self.target = target
        self.offer_id = offer_id
        self.difference = difference


@dataclass(frozen=True)
class Offers:
    """Generated offers, parsed up front: ids and raw responses in the same order."""

    ids: list[str]
    raws: list[dict]
    seed: int


def prepare_offers(count: int, seed: int = DEFAULT_SEED) -> Offers:
    """Generate ``count`` offers and parse each with ``etl.jsonio.loads``, as ``etl run`` reads a saved response."""
    ids, raws = [], []
    for offer_id, text in generate_texts(count, seed):
        ids.append(offer_id)
        raws.append(jsonio.loads(text))
    return Offers(ids, raws, seed)


def _engine_outcome(rule, raw: dict, offer_id: str) -> tuple[str, Any]:
    try:
        return "ok", rule.apply(raw, offer_id).payload
    except OfferError as error:
        return "failed", error.key


def _baseline_outcome(build: Callable[[dict], dict], raw: dict) -> tuple[str, Any]:
    try:
        return "ok", build(raw)
    except EtlError as error:
        return "failed", error.key


def first_difference(engine: tuple[str, Any], hand_written: tuple[str, Any]) -> dict[str, Any] | None:
    """Describe the first difference between two outcomes, or return None when they are equal.

    Payloads are equal when ``jsonio.dumps`` writes the same text for both, so key order, int
    against bool and ``19.9`` against ``19.90`` all count as differences.
    """
    if engine[0] != hand_written[0]:
        return {"field": None, "engine": _short(engine), "baseline": _short(hand_written)}

    if engine[0] == "failed":
        if engine[1] == hand_written[1]:
            return None
        return {"field": None, "engine": engine[1], "baseline": hand_written[1]}

    left, right = dict(engine[1]), dict(hand_written[1])
    if jsonio.dumps(left) == jsonio.dumps(right):
        return None

    for name in list(left) + [key for key in right if key not in left]:
        left_text = jsonio.dumps(left[name]) if name in left else "(absent)"
        right_text = jsonio.dumps(right[name]) if name in right else "(absent)"
        if left_text != right_text:
            return {"field": name, "engine": left_text[:300], "baseline": right_text[:300]}

    return {"field": "(key order)", "engine": list(left), "baseline": list(right)}


def _short(outcome: tuple[str, Any]) -> str:
    status, value = outcome
    return f"failed: {value}" if status == "failed" else "ok: " + jsonio.dumps(dict(value))[:200]


def check_equal(target: str, rule, build: Callable[[dict], dict], offers: Offers) -> collections.Counter:
    """Compare engine and baseline on every offer; return the outcome counts or raise :class:`PayloadMismatch`."""
    counts: collections.Counter = collections.Counter()
    for offer_id, raw in zip(offers.ids, offers.raws):
        engine = _engine_outcome(rule, raw, offer_id)
        hand_written = _baseline_outcome(build, raw)
        difference = first_difference(engine, hand_written)
        if difference is not None:
            raise PayloadMismatch(target, offer_id, difference)
        counts["ok" if engine[0] == "ok" else engine[1]] += 1
    return counts


def time_engine(rule, offers: Offers) -> float:
    """Return the seconds ``rule.apply`` takes over all offers; a failed offer counts like an ok one."""
    started = time.perf_counter()
    for offer_id, raw in zip(offers.ids, offers.raws):
        try:
            rule.apply(raw, offer_id)
        except OfferError:
            pass
    return time.perf_counter() - started


def time_baseline(build: Callable[[dict], dict], offers: Offers) -> float:
    """Return the seconds the hand-written mapper takes over all offers."""
    started = time.perf_counter()
    for raw in offers.raws:
        try:
            build(raw)
        except EtlError:
            pass
    return time.perf_counter() - started


def measure_target(target: str, offers: Offers, repeat: int = 3) -> dict[str, Any]:
    """Check equality, then time baseline and engine ``repeat`` times each and keep the fastest run of each."""
    rule_path, build = TARGETS[target]
    load_started = time.perf_counter()
    rule = load_rule(ROOT / rule_path)
    load_seconds = time.perf_counter() - load_started

    outcomes = check_equal(target, rule, build, offers)

    baseline_runs, engine_runs = [], []
    for _ in range(repeat):
        baseline_runs.append(time_baseline(build, offers))
        engine_runs.append(time_engine(rule, offers))

    engine_seconds, baseline_seconds = min(engine_runs), min(baseline_runs)
    count = len(offers.ids)
    ratio = engine_seconds / baseline_seconds
    return {
        "rule": rule_path,
        "vars": "defaults",
        "offers": count,
        "outcomes": dict(outcomes),
        "payloads_equal": True,
        "rule_load_seconds": round(load_seconds, 4),
        "engine_seconds": round(engine_seconds, 3),
        "baseline_seconds": round(baseline_seconds, 3),
        "engine_offers_per_second": round(count / engine_seconds, 1),
        "baseline_offers_per_second": round(count / baseline_seconds, 1),
        "engine_runs_seconds": [round(value, 3) for value in engine_runs],
        "baseline_runs_seconds": [round(value, 3) for value in baseline_runs],
        "ratio_engine_to_baseline": round(ratio, 2),
        "ratio_target": RATIO_TARGET,
        "ratio_target_met": ratio <= RATIO_TARGET,
    }


def run_mapping(count: int, seed: int = DEFAULT_SEED, repeat: int = 3, targets: tuple[str, ...] = tuple(TARGETS)) -> dict[str, Any]:
    """Measure every target on ``count`` generated offers; raise :class:`PayloadMismatch` on the first difference."""
    started = time.perf_counter()
    offers = prepare_offers(count, seed)
    prepare_seconds = time.perf_counter() - started

    results = {
        "offers": count,
        "seed": seed,
        "repeat": repeat,
        "generate_and_parse_seconds": round(prepare_seconds, 2),
        "generated": describe(offers.raws),
        "targets": {},
    }
    for target in targets:
        results["targets"][target] = measure_target(target, offers, repeat)
    return results


def run_profile(count: int, seed: int = DEFAULT_SEED, target: str = "douyin", top: int = 10) -> dict[str, Any]:
    """Profile the engine's mapping loop with cProfile and return the ``top`` entries by cumulative time.

    Profiling slows Python code several times, so these seconds only rank where the time goes.
    """
    offers = prepare_offers(count, seed)
    rule = load_rule(ROOT / TARGETS[target][0])

    profiler = cProfile.Profile()
    profiler.enable()
    time_engine(rule, offers)
    profiler.disable()

    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top + 5)

    entries = []
    for function, (_, calls, own, cumulative, _) in sorted(stats.stats.items(), key=lambda item: -item[1][3]):
        if len(entries) == top:
            break
        filename, line, name = function
        entries.append({
            "function": f"{_shorten(filename)}:{line}({name})",
            "calls": calls,
            "own_seconds": round(own, 3),
            "cumulative_seconds": round(cumulative, 3),
        })

    return {"rule": TARGETS[target][0], "offers": count, "seed": seed, "sort": "cumulative", "top": entries,
            "own_time_share_by_package": _own_time_by_package(stats), "total_seconds": round(stats.total_tt, 3),
            "text": stream.getvalue()}


def _own_time_by_package(stats: pstats.Stats) -> dict[str, float]:
    """Return each package's share of the profiled own time (tottime), largest first.

    Time spent in C functions (builtins, compiled regexes, lxml's C code) counts under
    "C functions", so a package's share covers its Python code only. Code compiled at run
    time from a string, such as fastjsonschema's validators, counts under "generated code".
    """
    totals: dict[str, float] = collections.defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        totals[_package(filename)] += own

    total = sum(totals.values()) or 1.0
    ordered = sorted(totals.items(), key=lambda item: -item[1])
    return {name: round(seconds / total, 3) for name, seconds in ordered}


def _package(filename: str) -> str:
    """Name the package of a profiled file: ``etl.mapping`` and ``etl.filters`` inside the engine, else the top-level package."""
    if filename == "~":
        return "C functions"
    if filename == "<template>":
        return "jinja2"
    if filename.startswith("<frozen"):
        return "standard library"
    if filename.startswith("<"):
        return "generated code"

    parts = _shorten(filename).split("/")
    if parts[0] == "etl" and len(parts) > 1:
        return "etl." + parts[1].removesuffix(".py")
    if parts[0] == "benchmarks":
        return "benchmarks"
    if "site-packages/" in filename:
        return parts[0].removesuffix(".py")
    return "standard library"


def _shorten(filename: str) -> str:
    """Show a file inside the repository or site-packages by its package path, not its absolute path."""
    for marker in (str(ROOT) + "/", "site-packages/", "lib/python3."):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "lib/python3." and "/" in tail else tail
    return filename
