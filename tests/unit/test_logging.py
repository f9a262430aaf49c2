"""Masking of NIK and KK numbers in logs (hub/logging.py)."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider

from hub.logging import JsonFormatter, MaskPersonalNumbers, TraceContext, mask_number, quoted
from tests.unit.builders import kk, nik


@pytest.fixture
def masked_log():
    """A private logger whose handler carries the filter; yields (logger, captured text)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalNumbers())
    logger = logging.getLogger(f"tests.masking.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_sixteen_digits_keep_the_region_and_hide_the_person():
    number = nik()

    assert mask_number(f"mother {number} not found") == f"mother {number[:6]}********** not found"


@pytest.mark.parametrize("text", ["327301520395000", "32730152039500011", "ref 123456789012345", "no digits"])
def test_other_lengths_are_left_alone(text):
    assert mask_number(text) == text


def test_every_number_in_a_text_is_masked_also_next_to_letters():
    mother, card = nik(), kk()

    masked = mask_number(f"nik={mother},kk:{card};NIK{mother}x")

    assert mother not in masked and card not in masked
    assert masked == f"nik={mother[:6]}**********,kk:{card[:6]}**********;NIK{mother[:6]}**********x"


def test_filter_masks_a_nik_passed_as_an_argument(masked_log):
    logger, stream = masked_log
    number = nik()

    logger.info("lookup of %s failed after %d tries", number, 3)

    assert stream.getvalue() == f"lookup of {number[:6]}********** failed after 3 tries\n"


def test_filter_masks_a_nik_passed_as_an_integer(masked_log):
    logger, stream = masked_log
    number = nik()

    logger.warning("kk %d", int(number))

    assert number not in stream.getvalue() and number[:6] in stream.getvalue()


def test_filter_keeps_records_without_numbers_untouched(masked_log):
    logger, stream = masked_log
    records = []
    logger.addFilter(lambda record: records.append(record) or True)

    logger.info("message %s from hospital %s", "5a1c", "1032730001")

    assert stream.getvalue() == "message 5a1c from hospital 1032730001\n"
    assert records[0].args == ("5a1c", "1032730001")


def test_filter_with_caplog(caplog):
    number = nik()
    caplog.handler.addFilter(MaskPersonalNumbers())
    try:
        with caplog.at_level(logging.INFO, logger="tests.masking.caplog"):
            logging.getLogger("tests.masking.caplog").info("mother %s", number)
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])

    assert caplog.messages == [f"mother {number[:6]}**********"]
    assert number not in caplog.text


def test_json_formatter_writes_the_masked_message(masked_log):
    logger, stream = masked_log
    logger.handlers[0].setFormatter(JsonFormatter())
    number = nik()

    logger.info("mother %s", number)

    entry = json.loads(stream.getvalue())
    assert entry["msg"] == f"mother {number[:6]}**********" and entry["level"] == "INFO"


@pytest.mark.parametrize("json_format", [False, True])
def test_numbers_in_a_logged_exception_are_masked(masked_log, json_format):
    logger, stream = masked_log
    if json_format:
        logger.handlers[0].setFormatter(JsonFormatter())
    number = nik()

    try:
        raise ValueError(f"duplicate key value violates unique constraint: Key (nik)=({number}) already exists")
    except ValueError:
        logger.warning("insert failed", exc_info=True)

    assert "duplicate key" in stream.getvalue()
    assert number not in stream.getvalue()


@pytest.fixture
def json_log():
    """A private logger with the hub's filters and JSON formatter; yields (logger, captured text)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalNumbers())
    handler.addFilter(TraceContext())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"tests.json.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("hostile", ["a\nb", "a\r\nb", "a\x00b", "a\x1b[31mb", "a\u2028b", "a\x85b"])
def test_a_control_character_from_input_cannot_start_a_new_line(masked_log, hostile):
    logger, stream = masked_log

    logger.info("notification handled message_id=%s outcome=%s", hostile + " outcome=registered", "rejected")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("outcome=rejected")
    assert not any(ch in stream.getvalue()[:-1] for ch in "\n\r\x00\x1b\u2028\x85")


def test_a_value_posing_as_a_field_is_quoted_and_the_real_field_wins(json_log):
    logger, stream = json_log
    forged = "103578001 outcome=registered"

    logger.info(
        "notification handled hospital=%s outcome=%s",
        quoted(forged),
        "rejected",
        extra={"hospital": forged, "outcome": "rejected"},
    )

    entry = json.loads(stream.getvalue())
    assert entry["msg"] == 'notification handled hospital="103578001 outcome=registered" outcome=rejected'
    assert entry["outcome"] == "rejected" and entry["hospital"] == forged


def test_json_lines_carry_the_correlation_fields_from_the_message(json_log):
    logger, stream = json_log
    message_id = str(uuid.uuid4())

    logger.info("notification handled partition=%d offset=%d message_id=%s outcome=%s", 2, 41, message_id, "registered")

    entry = json.loads(stream.getvalue())
    assert (entry["partition"], entry["offset"], entry["message_id"], entry["outcome"]) == (
        2,
        41,
        message_id,
        "registered",
    )
    assert "trace_id" not in entry


def test_json_lines_carry_the_active_span_and_mask_numbers_in_fields(json_log):
    logger, stream = json_log
    tracer = TracerProvider().get_tracer("tests")
    number = nik()

    with tracer.start_as_current_span("work") as span:
        logger.info("lookup failed", extra={"reason": f"no person {number}"})

    entry = json.loads(stream.getvalue())
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["span_id"] == format(span.get_span_context().span_id, "016x")
    assert number not in stream.getvalue() and entry["reason"] == f"no person {number[:6]}**********"
