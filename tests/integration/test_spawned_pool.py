"""Worker processes end with the hub that spawned them, even when it is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

# A parent that starts a pool, hands one task to it (so its worker runs), prints the worker's pid
# and then waits to be killed.
PARENT = """
import os, sys, time
from hub.adapters.spawned_pool import SpawnedPool

def noted(): pass

if __name__ == "__main__":
    pool = SpawnedPool(1, noted, ())
    print(pool.get().submit(os.getpid).result(), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for init to reap it has ended
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_worker_ends_when_its_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    worker = None
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            worker = int(parent.stdout.readline())
            assert _alive(worker)
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)
            deadline = time.monotonic() + 10
            while _alive(worker) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(worker), "the worker outlived the process that spawned it"
        finally:
            parent.kill()
            if worker is not None and _alive(worker):
                os.kill(worker, signal.SIGKILL)
