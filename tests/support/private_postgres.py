"""A throwaway PostgreSQL cluster of its own, for tests that stop and start the database.

Started by the project's own script (deploy/local/postgres.sh) with another folder and port, so
stopping it never disturbs the shared test server. The folder lies under .local/, which the
script makes reachable for the `postgres` account when the tests run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.siak_process import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local" / "postgres.sh"


class PrivatePostgres:
    def __init__(self, name: str) -> None:
        self.home = ROOT / ".local" / "test-pg" / name
        self.port = free_port()
        self.dsn = f"postgresql://hub@127.0.0.1:{self.port}/hub"

    def _run(self, action: str) -> None:
        env = {**os.environ, "HUB_LOCAL_PG_HOME": str(self.home), "HUB_LOCAL_PG_PORT": str(self.port)}
        done = subprocess.run(
            ["bash", str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"postgres.sh {action} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
