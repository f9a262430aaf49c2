"""Shared fixtures. Integration and e2e tests get a private database and topic prefix per module."""

from __future__ import annotations

import logging

import pytest

HUB_LOGGERS = "hub"


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_swallowed_errors(request):
    """Fail any test in which the hub logged an ERROR or worse in-process, unless it expects one."""
    handler = _Errors()
    logger = logging.getLogger(HUB_LOGGERS)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    if "allow_errors" not in request.keywords and handler.records:
        messages = "; ".join(record.getMessage() for record in handler.records)
        pytest.fail(f"the hub logged errors during the test: {messages}")
