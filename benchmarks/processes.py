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
from typing import Mapping, Sequence

from benchmarks import ROOT

# Seconds between the SIGINT sent at a timeout and SIGKILL, for ``etl run`` to write its partial report.
KILL_GRACE_SECONDS = 30.0

# Runs the etl command line as the ``etl`` script does (``etl.cli.main``), then writes the
# process's VmHWM line from /proc/self/status to the file named by the first argument.
# VmHWM is the peak resident set size of the process since exec. ``ru_maxrss`` is not usable
# here: Linux keeps the high-water mark of the forked copy of the parent across exec, so a
# child of a benchmark process with 10,000 parsed offers in memory would report the parent's size.
PEAK_WRAPPER = """
import sys
from etl.cli import main
try:
    status = main(sys.argv[2:])
finally:
    with open("/proc/self/status", encoding="ascii") as lines:
        peak = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("VmHWM:")), "")
    with open(sys.argv[1], "w", encoding="ascii") as out:
        out.write(peak)
sys.exit(status)
"""


@dataclass(frozen=True)
class Measured:
    """One finished child process: exit status, wall seconds from start to exit, output.

    ``command`` is the ``etl`` command line the child ran, or ran through
    :data:`PEAK_WRAPPER`. ``peak_rss_mib`` is set only when
    the child ran through :data:`PEAK_WRAPPER`, and is None when /proc gave no VmHWM.
    """

    command: list[str]
    exit_status: int
    seconds: float
    peak_rss_mib: float | None
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
                 timeout: float | None = None, measure_peak: bool = False) -> Measured:
    """Run ``etl ARGUMENTS`` in the repository root and wait for it to exit.

    With ``measure_peak`` the child runs ``etl.cli.main`` through :data:`PEAK_WRAPPER`, which
    reports the child's own peak RSS. Otherwise it runs the ``etl`` script. Output goes to
    ``log_folder/<name>.out`` and ``.err``, so a full pipe never stalls the child. See
    :func:`_wait` for what happens at ``timeout`` seconds.
    """
    log_folder.mkdir(parents=True, exist_ok=True)
    command = etl_command() + list(arguments)
    peak_path = log_folder / f"{name}.vmhwm"
    peak_path.unlink(missing_ok=True)
    launched = [sys.executable, "-c", PEAK_WRAPPER, str(peak_path), *arguments] if measure_peak else command
    out_path, err_path = log_folder / f"{name}.out", log_folder / f"{name}.err"

    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(launched, cwd=ROOT, env=dict(environment or child_environment()), stdout=out, stderr=err)
        status, timed_out = _wait(process, timeout)
        seconds = time.perf_counter() - started

    return Measured(
        command=command,
        exit_status=status,
        seconds=seconds,
        peak_rss_mib=_read_peak(peak_path) if measure_peak else None,
        timed_out=timed_out,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


def _read_peak(path: Path) -> float | None:
    """Read a VmHWM value such as ``"51200 kB"`` and return MiB, or None when it is missing."""
    try:
        amount, unit = path.read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return None
    return int(amount) / 1024 if unit == "kB" else None


def _wait(process: subprocess.Popen, timeout: float | None) -> tuple[int, bool]:
    """Block until the child exits; return its exit status and whether it timed out.

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
        status = process.wait()
    finally:
        for timer in timers:
            timer.cancel()

    return status, interrupted.is_set()
