"""Logging set-up. Logs carry ids and outcomes, never personal data.

Code logs message ids, hospital ids, Kafka coordinates and outcome codes only. As a second line
of defence a filter masks anything that looks like a NIK or KK number (16 digits) in every record,
including third-party libraries' messages.
"""

from __future__ import annotations

import json
import logging
import re
import sys

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def mask_number(text: str) -> str:
    """`3273015203950001` -> `327301**********`: the region stays readable, the person does not."""
    return _SIXTEEN_DIGITS.sub(lambda m: m.group(0)[:6] + "*" * 10, text)


class MaskPersonalNumbers(logging.Filter):
    """Masks the message, and the traceback and stack text (a driver's error may quote a key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_number(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_number(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_number(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskPersonalNumbers())
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "faststream", "asyncio", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
