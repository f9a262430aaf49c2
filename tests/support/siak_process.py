"""The reference SIAK server (`hub siak serve`) as its own process, on a free local port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.environment import as_owner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SiakProcess:
    def __init__(self, dsn: str, log_path: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # It plays another system that keeps its own tables in the test's database: the owner role
        # may create them, the hub's runtime role may not.
        self._dsn, self._log_path, self._env = as_owner(dsn), log_path, env
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        self._log = open(self._log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.entrypoints.cli",
                "siak",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                self._dsn,
                "--seed-families",
                "0",
            ],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"siak server exited: {self._log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("siak server did not start")

    def faults(self, **values) -> None:
        response = httpx.put(f"{self.url}/v1/_faults", json=values, timeout=5)
        response.raise_for_status()

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/v1/_stats", timeout=5).json()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()
