"""What every scenario needs: the template, the output folder, progress display, options."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from rich.console import Console
from rich.progress import Progress

from bench.env import Template


@dataclass
class Context:
    template: Template
    out: Path
    progress: Progress
    console: Console
    stall_timeout: float = 60.0

    @property
    def logs(self) -> Path:
        path = self.out / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def task(self, description: str, total: float | None) -> int:
        return self.progress.add_task(description, total=total)

    def done(self, task: int) -> None:
        self.progress.remove_task(task)


class MachineLoad:
    """Machine-wide CPU busy share between start() and stop() (all cores: 1.0 = every core busy)."""

    def start(self) -> None:
        self._before = psutil.cpu_times()

    def stop(self) -> float:
        after = psutil.cpu_times()
        total = sum(after) - sum(self._before)
        idle = (after.idle + getattr(after, "iowait", 0)) - (self._before.idle + getattr(self._before, "iowait", 0))
        return round(1 - idle / total, 3) if total > 0 else 0.0


class Profiler:
    """py-spy on the hub process and its worker processes: a flame graph (SVG) and collapsed stacks for a top-functions table."""

    def __init__(self, pid: int, out: Path, seconds: int) -> None:
        self.svg, self.raw = out / "profile.svg", out / "profile.txt"
        beside = Path(sys.executable).parent / "py-spy"  # the venv's bin/, which may not be on PATH
        spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if spy is None:
            raise RuntimeError("py-spy not found: pip install py-spy (it is in the bench extra)")
        common = [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "100",
            "--nonblocking",
            "--subprocesses",
        ]
        self._procs = [
            subprocess.Popen(
                [*common, "--format", fmt, "-o", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
            for fmt, path in (("flamegraph", self.svg), ("raw", self.raw))
        ]
        self.started = time.monotonic()

    def wait(self, timeout: float = 60) -> None:
        for proc in self._procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
