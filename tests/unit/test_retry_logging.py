"""A long run of transient failures is a few log lines (hub/service/retry.py): when it begins, a
reminder now and then, and when it ends."""

from __future__ import annotations

import logging
import re

import pytest

from hub.errors import StoreUnavailable
from hub.service import retry
from hub.service.retry import retry_transient


def _failing(times: int):
    calls = []

    async def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise StoreUnavailable("ConnectionRefusedError: [Errno 111] Connect call failed")
        return "done"

    return operation


def _lines(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hub.retry" and r.levelno == level]


async def test_a_run_of_failures_is_one_warning_and_one_line_when_it_ends(caplog):
    with caplog.at_level(logging.INFO, logger="hub.retry"):
        assert await retry_transient(_failing(40), initial=0.0001, maximum=0.0002, what="relay") == "done"
    assert len(_lines(caplog, logging.WARNING)) == 1
    (recovered,) = _lines(caplog, logging.INFO)
    assert recovered.startswith("recovered what=relay attempts=41 ")


async def test_a_run_that_lasts_is_recalled_now_and_then(caplog, monkeypatch):
    monkeypatch.setattr(retry, "REMIND_EVERY", 0.0)
    with caplog.at_level(logging.INFO, logger="hub.retry"):
        await retry_transient(_failing(5), initial=0.0001, maximum=0.0002, what="relay")
    warned = [re.search(r" attempt=(\d+) ", line).group(1) for line in _lines(caplog, logging.WARNING)]
    assert warned == ["1", "2", "3", "4", "5"]


async def test_success_at_once_logs_nothing(caplog):
    with caplog.at_level(logging.INFO, logger="hub.retry"):
        await retry_transient(_failing(0), initial=0.0001, maximum=0.0002, what="relay")
    assert not _lines(caplog, logging.INFO) and not _lines(caplog, logging.WARNING)


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("x")])
async def test_anything_but_a_transient_failure_passes_straight_through(error):
    async def broken():
        raise error

    with pytest.raises(type(error)):
        await retry_transient(broken, initial=0.0001, maximum=0.0002, what="relay")
