"""Logging set-up. Logs carry ids and outcomes, never personal data, and cannot be forged by input.

Code logs message ids, hospital ids, Kafka coordinates and outcome codes only, as `key=value`
pairs in the message. Two formats:

- text (local default): `12:00:00 INFO    hub.consumer: notification handled partition=0 ...`;
- JSON lines (HUB_LOG_JSON=true, production): `ts`, `level`, `logger`, `msg`, plus the
  correlation fields as their own keys (`message_id`, `hospital`, `partition`, `offset`,
  `outcome`, ..., and `trace_id`/`span_id` of the current OpenTelemetry span), taken from a log
  call's `extra` or read from the message's `key=value` pairs, so log search can filter on them.

Every record passes one filter before it is written. It masks anything that looks like a NIK or KK
number (16 digits), including in third-party libraries' messages and tracebacks, and escapes
control characters (a newline, carriage return, NUL, ...) in the message, so a value taken from a
message can never start a line of its own: one call, one line.
"""

from __future__ import annotations

import json
import logging
import re
import sys

from opentelemetry import trace

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
FIELDS = (
    "message_id",
    "hospital",
    "partition",
    "offset",
    "outcome",
    "codes",
    "topic",
    "event_id",
    "state",
    "reason",
    "kind",
    "error",
)
_PAIR = re.compile(r"(?<![\w.])(" + "|".join(FIELDS) + r")=(\S+)")
_NUMERIC = frozenset({"partition", "offset"})


def mask_number(text: str) -> str:
    """`3273015203950001` -> `327301**********`: the region stays readable, the person does not."""
    return _SIXTEEN_DIGITS.sub(lambda m: m.group(0)[:6] + "*" * 10, text)


def escape_controls(text: str) -> str:
    """Control characters as visible escapes: `a\\nb` stays on one line as `a\\\\nb`."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def quoted(value: object) -> str:
    """A value that came from a message, fit for a `key=value` log pair: quoted (JSON string
    syntax) when it holds a space, `=` or a quote, so it can never pose as another pair."""
    text = "-" if value is None else str(value)
    return json.dumps(text, ensure_ascii=False) if not text or re.search(r'[\s="\\]', text) else text


class MaskPersonalNumbers(logging.Filter):
    """Masks numbers and escapes control characters in the message; masks the traceback and
    stack text too (a driver's error may quote a key). Tracebacks keep their own line breaks."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = escape_controls(mask_number(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_number(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_number(record.stack_info)
        return True


class TraceContext(logging.Filter):
    """Adds the current OpenTelemetry span's ids (when tracing is on and a span is active)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": message,
        }
        for key, raw in _PAIR.findall(message):
            if raw != "-":  # the hub's "none" in text pairs
                entry[key] = int(raw) if key in _NUMERIC and raw.isdigit() else raw
        for key in (*FIELDS, "trace_id", "span_id"):
            if (value := record.__dict__.get(key)) is not None:
                entry[key] = (
                    value if isinstance(value, int | float | bool) else escape_controls(mask_number(str(value)))
                )
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskPersonalNumbers())
    handler.addFilter(TraceContext())
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "faststream", "asyncio", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
