"""The hub as users run it (`hub run` in its own process), with its memory and CPU sampled.

A thread samples the process's RSS every 100 ms (peak reported in MiB) and its CPU time. The
ready time is when the log says "hub running" (the log is polled every 20 ms).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

READY_LINE = "hub running"


class HubProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self.spawned = self.ready = 0.0
        self.peak_rss = 0
        self.cpu_seconds = self.cpu_at_ready = 0.0
        self._sampling = threading.Event()

    def spawn(self) -> None:
        self._log = open(self.log_path, "ab")
        self._offset = self._log.tell()
        self.spawned = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.entrypoints.cli", "run", "--seed-families", "0"],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    async def wait_ready(self, timeout: float = 90) -> float:
        deadline = time.monotonic() + timeout
        with open(self.log_path, "rb") as log:
            log.seek(self._offset)
            seen = b""
            while time.monotonic() < deadline:
                seen += log.read()
                if READY_LINE.encode() in seen:
                    self.ready, self.cpu_at_ready = time.time(), self.cpu_seconds
                    return self.ready - self.spawned
                if self.process.poll() is not None:
                    raise RuntimeError(f"hub exited with {self.process.returncode}: {self.tail()}")
                await asyncio.sleep(0.02)
        raise RuntimeError(f"hub not ready in {timeout}s: {self.tail()}")

    def _sample(self) -> None:
        try:
            proc = psutil.Process(self.process.pid)
            while not self._sampling.is_set():
                with proc.oneshot():
                    self.peak_rss = max(self.peak_rss, proc.memory_info().rss)
                    times = proc.cpu_times()
                    seconds = times.user + times.system
                # and its worker processes' (validation, documents): they live as long as the hub
                for child in proc.children(recursive=True):
                    try:
                        child_times = child.cpu_times()
                    except psutil.Error:
                        continue
                    seconds += child_times.user + child_times.system
                self.cpu_seconds = max(self.cpu_seconds, seconds)
                self._sampling.wait(0.1)
        except psutil.Error:
            pass  # the process ended

    def stop(self, timeout: float = 30) -> int:
        """SIGINT (as Ctrl-C), the hub drains and exits; killed if it takes longer than `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._sampling.set()
        self._sampler.join(2)
        self._log.close()
        return self.process.returncode

    def tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def errors_logged(self) -> int:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return sum(1 for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line)

    @property
    def peak_rss_mib(self) -> float:
        return round(self.peak_rss / 2**20, 1)
