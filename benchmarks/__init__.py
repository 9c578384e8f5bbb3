"""Benchmarks of the etl engine: mapping throughput against a hand-written baseline, rule
check time, peak memory of ``etl run``, the network stage against the fake 1688 gateway, and
the publish re-run (not available until publishing exists).

Run ``python -m benchmarks`` from the repository root; ``python -m benchmarks --help`` lists
the stages and sizes. Results go to ``benchmarks/results.json``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
