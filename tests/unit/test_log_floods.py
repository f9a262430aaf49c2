"""A client library's log flood is collapsed (hub/logging.py CollapseRepeats): the first record of
a kind, one summary per window, and every change of state; the hub's own records untouched."""

from __future__ import annotations

import logging

import pytest

from hub.logging import CollapseRepeats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def collapse(clock):
    return CollapseRepeats(window=30.0, clock=clock)


def _record(name: str, level: int, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def _unable(node: int = 1) -> logging.LogRecord:
    return _record("aiokafka", logging.ERROR, "Unable connect to node with id %s: %s", node, "[Errno 111] refused")


def test_the_first_record_of_a_kind_passes_and_its_repeats_within_the_window_do_not(collapse, clock):
    assert collapse.filter(_unable())
    passed = []
    for _ in range(4000):
        clock.now += 0.005
        passed.append(collapse.filter(_unable()))
    assert not any(passed)


def test_after_the_window_one_repeat_passes_as_the_summary_of_all_of_them(collapse, clock):
    collapse.filter(_unable())
    for _ in range(811):
        clock.now += 0.03
        collapse.filter(_unable())
    clock.now = 1030.5
    summary = _unable()
    assert collapse.filter(summary)
    assert summary.getMessage() == (
        "812 more like this in the last 30 s, the latest: Unable connect to node with id 1: [Errno 111] refused"
    )
    clock.now += 1
    assert not collapse.filter(_unable()), "a new window began with the summary"


def test_kinds_are_told_apart_by_logger_level_and_template_not_by_their_numbers(collapse):
    assert collapse.filter(_unable(1))
    assert not collapse.filter(_unable(2))
    assert collapse.filter(_record("aiokafka", logging.ERROR, "Failed fetch messages from 3: timed out"))
    assert not collapse.filter(_record("aiokafka", logging.ERROR, "Failed fetch messages from 4: timed out"))
    assert collapse.filter(_record("aiokafka", logging.ERROR, "Unable to update metadata from %s", [1]))
    assert collapse.filter(_record("aiokafka", logging.WARNING, "Unable connect to node with id %s: %s", 1, "x"))
    assert collapse.filter(
        _record("aiokafka.consumer.fetcher", logging.ERROR, "Unable connect to node with id %s: %s", 1, "x")
    )


def test_a_kind_quiet_for_a_window_passes_again_at_once_with_what_went_unshown(collapse, clock):
    collapse.filter(_unable())
    for _ in range(5):
        clock.now += 1
        collapse.filter(_unable())
    clock.now += 120
    again = _unable()
    assert collapse.filter(again)
    assert again.getMessage().endswith("(the last flood had 5 more unshown; 120 s quiet since)")


def test_a_calmer_record_of_the_library_ends_its_floods(collapse, clock):
    collapse.filter(_unable())
    assert not collapse.filter(_unable())
    assert collapse.filter(_record("aiokafka.conn", logging.INFO, "connected to %s", "broker"))
    assert collapse.filter(_unable()), "the failure after a recovery is a change of state"


@pytest.mark.parametrize("name", ["hub.relay", "hub.consumer", "uvicorn.error", "aiokafkax"])
def test_other_loggers_always_pass(collapse, name):
    assert all(collapse.filter(_record(name, logging.ERROR, "the same thing again")) for _ in range(50))
