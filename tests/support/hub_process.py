"""Run the hub as users run it: the `hub run` command in its own process.

Every HubProcess started is registered here, so that the e2e fixtures can read what each one
logged during a test (`new_errors`) and fail the test on an ERROR it did not expect, as the
in-process fixture does for code running inside the test process.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

# A record at ERROR or worse, in the hub's text format (`12:00:00 ERROR   hub.x: ...`) or as JSON.
_ERROR_RECORD = re.compile(r'^\d\d:\d\d:\d\d (?:ERROR|CRITICAL) |^\{.*"level": "(?:ERROR|CRITICAL)"')

# aiokafka logs these at ERROR while a broker (a fresh one above all) is still electing a group
# coordinator or a partition leader; the client retries by itself. Anything else counts.
_BROKER_SETTLING = re.compile(
    r"aiokafka\.\S+: .*(GroupCoordinatorNotAvailable|NotCoordinatorForGroup|CoordinatorLoadInProgress"
    r"|NotLeaderForPartition|LeaderNotAvailable)"
)

_started: list[HubProcess] = []


def started() -> list[HubProcess]:
    """The hub processes started since the registry was last cleared (running or not)."""
    return list(_started)


def forget_all() -> None:
    _started.clear()


class HubProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env, self._log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self._checked = log_path.stat().st_size if log_path.exists() else 0  # an older run's lines are not ours

    def start(self, timeout: float = 60) -> None:
        if self not in _started:
            _started.append(self)
        self._log = open(self._log_path, "ab")
        since = self._log.tell()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.entrypoints.cli", "run", "--seed-families", "0"],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
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

    def new_errors(self) -> list[str]:
        """ERROR and CRITICAL lines logged since the last call (or since this process was created)."""
        if not self._log_path.exists():
            return []
        with open(self._log_path, "rb") as log:
            log.seek(self._checked)
            text = log.read()
        running = self.process is not None and self.process.poll() is None
        complete = text.rfind(b"\n") + 1 if running else len(text)  # a line being written is read next time
        self._checked += complete
        lines = text[:complete].decode(errors="replace").splitlines()
        return [
            f"{self._log_path}: {line}"
            for line in lines
            if _ERROR_RECORD.search(line) and not _BROKER_SETTLING.search(line)
        ]

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
