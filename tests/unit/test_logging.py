"""Masking of NIK and KK numbers in logs (hub/logging.py)."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from hub.logging import JsonFormatter, MaskPersonalNumbers, mask_number
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
