"""Unchanged re-run of ``etl run --publish``: recorded as not available until publishing exists."""

from __future__ import annotations

from typing import Any

NOT_AVAILABLE = "not available (publishing not built)"


def run_publish() -> dict[str, Any]:
    """Record why the publish re-run is not measured. No figure is ever invented for it.

    The stage looks for a ``--publish`` option on ``etl run``. Without it the result records
    that publishing is not built. With it, the result records that the option exists but this
    benchmark has no stage for it yet.
    """
    from etl.cli import build_cli

    run = build_cli("en").commands["run"]
    has_publish = any("--publish" in getattr(parameter, "opts", ()) for parameter in run.params)
    if not has_publish:
        return {"status": NOT_AVAILABLE, "measured": False,
                "reason": "etl run has no --publish option, so there is no publish step to re-run"}

    return {"status": "not measured (no benchmark stage for --publish yet)", "measured": False,
            "reason": "etl run now has --publish, but this benchmark does not measure it yet"}
