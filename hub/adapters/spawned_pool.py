"""A pool of worker processes, spawned (not forked: the parent runs threads and an event loop),
started on first use and started afresh after one of its processes died.

A worker ends when its parent does, however the parent ended: killed (SIGKILL, the OOM killer), a
parent leaves its pool's processes waiting for work forever, since each holds both ends of the
pool's queue and never sees it close. A thread in each worker waits on the parent's sentinel."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


class SpawnedPool:
    def __init__(self, processes: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
        self._processes, self._initializer, self._initargs = processes, initializer, initargs
        self._pool: ProcessPoolExecutor | None = None

    @property
    def running(self) -> ProcessPoolExecutor | None:
        return self._pool

    def get(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_watching_parent,
                initargs=(self._initializer, self._initargs),
            )
        return self._pool

    def broken(self, pool: ProcessPoolExecutor) -> None:
        """`pool` lost a process: drop it (once, however many callers noticed), the next get() starts anew."""
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _watching_parent(initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    """Each worker's initializer: end with the parent, then the pool's own initializer."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), name="end-with-parent", daemon=True).start()
    initializer(*initargs)


def _end_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)  # the work in hand belongs to a parent that is gone
