"""A pool of worker processes, spawned (not forked: the parent runs threads and an event loop),
started on first use and started afresh after one of its processes died."""

from __future__ import annotations

import multiprocessing
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
                initializer=self._initializer,
                initargs=self._initargs,
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
