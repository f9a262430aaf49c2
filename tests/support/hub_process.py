"""Run the hub as users run it: the `hub run` command in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class HubProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env, self._log_path = env, log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        self._log = open(self._log_path, "ab")
        since = self._log.tell()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.entrypoints.cli", "run", "--seed-families", "0"],
            env=self._env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            if "hub running" in self.log_text()[since:]:
                return
            time.sleep(0.2)
        raise RuntimeError(f"hub did not start in {timeout}s:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""

    def kill_hard(self) -> None:
        """kill -9: no shutdown code runs, as in a power cut or an OOM kill."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode
