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
import threading
import time

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


class CollapseRepeats(logging.Filter):
    """Collapses a client library's floods: while a broker is down aiokafka logs thousands of
    identical errors a second. Records of the `libraries` at WARNING or above are grouped by kind
    (logger, level and message template, digits aside). The first of a kind passes; repeats are
    counted, and the first repeat after `window` seconds passes as their summary ("812 more like
    this in the last 30 s, the latest: ..."). A kind that stayed quiet for a window, or a record
    below WARNING from the same library (it reconnected, say), starts afresh: the next failure
    passes at once, so every change of state shows. Other records always pass."""

    LIBRARIES = ("aiokafka", "faststream", "hub.faststream", "asyncpg")
    _DIGITS = re.compile(r"\d+")
    _KINDS_KEPT = 1000  # a bound on memory, should templates vary

    def __init__(self, libraries: tuple[str, ...] = LIBRARIES, window: float = 30.0, clock=time.monotonic) -> None:
        super().__init__()
        self._libraries, self._window, self._clock = libraries, window, clock
        self._kinds: dict[tuple[str, int, str], list[float]] = {}  # kind -> [first, last seen, repeats]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        library = next((n for n in self._libraries if record.name == n or record.name.startswith(n + ".")), None)
        if library is None:
            return True
        with self._lock:
            if record.levelno < logging.WARNING:
                for kind in [k for k in self._kinds if k[0] == library or k[0].startswith(library + ".")]:
                    del self._kinds[kind]
                return True
            return self._count(record, self._clock())

    def _count(self, record: logging.LogRecord, now: float) -> bool:
        kind = (record.name, record.levelno, self._DIGITS.sub("#", str(record.msg)))
        seen = self._kinds.get(kind)
        if seen is None or now - seen[1] >= self._window:
            if seen is not None and seen[2]:  # the end of the last flood, not yet summarised
                quiet = now - seen[1]
                record.msg = (
                    f"{record.getMessage()} (the last flood had {seen[2]} more unshown; {quiet:.0f} s quiet since)"
                )
                record.args = None
            if len(self._kinds) >= self._KINDS_KEPT:
                self._kinds.clear()
            self._kinds[kind] = [now, now, 0]
            return True
        seen[1], seen[2] = now, seen[2] + 1
        if now - seen[0] < self._window:
            return False
        record.msg = f"{seen[2]} more like this in the last {now - seen[0]:.0f} s, the latest: {record.getMessage()}"
        record.args = None
        seen[0], seen[2] = now, 0
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
    handler.addFilter(CollapseRepeats())
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
