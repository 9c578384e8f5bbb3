"""Run the ``etl`` command as a child process and measure its wall time and peak memory."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from benchmarks import ROOT

# Seconds between the SIGINT sent at a timeout and SIGKILL, for ``etl run`` to write its partial report.
KILL_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Measured:
    """One finished child process: exit status, wall seconds from start to exit, peak RSS in MiB."""

    command: list[str]
    exit_status: int
    seconds: float
    peak_rss_mib: float
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def command_text(self) -> str:
        return shlex.join(self.command)


def etl_command() -> list[str]:
    """Return the command that starts ``etl``: the ``etl`` script beside this Python, else ``python -m etl``."""
    script = Path(sys.executable).parent / "etl"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "etl"]


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment with UTF-8 output and English messages, plus ``extra``."""
    environment = dict(os.environ)
    environment.update({"PYTHONIOENCODING": "utf-8", "ETL_LANG": "en"})
    environment.update(extra or {})
    return environment


def run_measured(arguments: Sequence[str], log_folder: Path, name: str, environment: Mapping[str, str] | None = None,
                 timeout: float | None = None) -> Measured:
    """Run ``etl ARGUMENTS`` in the repository root and wait for it with ``os.wait4``.

    ``os.wait4`` returns the resource usage of that one child, so ``ru_maxrss`` is its own peak
    resident set size (Linux reports KiB), not the maximum over every child this process
    started. Output goes to ``log_folder/<name>.out`` and ``.err`` so a full pipe never stalls
    the child. See :func:`_wait` for what happens at ``timeout`` seconds.
    """
    log_folder.mkdir(parents=True, exist_ok=True)
    command = etl_command() + list(arguments)
    out_path, err_path = log_folder / f"{name}.out", log_folder / f"{name}.err"

    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=dict(environment or child_environment()), stdout=out, stderr=err)
        status, usage, timed_out = _wait(process, timeout)
        seconds = time.perf_counter() - started

    return Measured(
        command=command,
        exit_status=status,
        seconds=seconds,
        peak_rss_mib=usage.ru_maxrss / 1024,
        timed_out=timed_out,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


def _wait(process: subprocess.Popen, timeout: float | None) -> tuple[int, Any, bool]:
    """Block until the child exits; return its exit status, resource usage and whether it timed out.

    After ``timeout`` seconds the child gets SIGINT, as from Ctrl-C, so ``etl run`` can write
    its partial report, and SIGKILL :data:`KILL_GRACE_SECONDS` later. Polling instead of
    blocking would add up to one poll interval to the measured wall time.
    """
    interrupted = threading.Event()

    def interrupt() -> None:
        interrupted.set()
        process.send_signal(signal.SIGINT)

    timers = []
    if timeout:
        timers = [threading.Timer(timeout, interrupt), threading.Timer(timeout + KILL_GRACE_SECONDS, process.kill)]
    for timer in timers:
        timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        for timer in timers:
            timer.cancel()

    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage, interrupted.is_set()
