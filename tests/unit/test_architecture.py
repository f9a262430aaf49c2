"""The layers hold (import-linter contracts in pyproject.toml) and the code passes its static checks
(ruff lint and format, mypy). These run the tools as the CI does; each fails with the tool's report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_layers_hold():
    done = _run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    "command", [("ruff", "check", "hub", "tests", "bench"), ("ruff", "format", "--check", "hub", "tests", "bench")]
)
def test_ruff_is_clean(command):
    done = _run(str(BIN / command[0]), *command[1:])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_is_clean():
    done = _run(str(BIN / "mypy"))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
