"""A backing service of a test's own, started and stopped by the project's script for it in
deploy/local/ with another folder and port, so stopping it never disturbs the shared one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class PrivateService:
    script: Path  # deploy/local/<service>.sh

    def __init__(self, home: Path) -> None:
        self.home = home

    def environment(self) -> dict[str, str]:
        """The HUB_LOCAL_* variables that point the script at this instance."""
        raise NotImplementedError

    def _run(self, action: str) -> None:
        done = subprocess.run(
            ["bash", str(self.script), action],
            env={**os.environ, **self.environment()},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.script.name} {action} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
