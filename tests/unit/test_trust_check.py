"""The trust check inside the use case, on the in-memory ports (the real broker: tests/e2e/test_trust.py).

Each case here was found by a security review of the check: a sender the bundle resolves otherwise
than the envelope reads it, a producer's timestamp, an oversized signature header copied into a
dead letter, a timestamp no clock can hold.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.values import Hospital, HospitalKey
from hub.intake import signature
from hub.service.answers import dead_letter
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.ports import Delivery
from hub.service.register_birth import RegisterBirths
from hub.service.trust import SenderTrust
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_register_births import NOW, TOPICS, _population, first_birth, raw

PEM, JWK = signature.new_key()
KID = "100:test"
TRUSTING = Pipeline(TOPICS, IntakeLimits(512 * 1024, 32, True), lambda _: True, trust=SenderTrust(TOPICS))


@pytest.fixture
def world():
    state = FakeState()
    mother, father = _population(state)
    state.hospitals["200"] = Hospital("200", "RS Lain", "3273", True)
    state.hospital_keys[KID] = HospitalKey(KID, "100", JWK, NOW - timedelta(days=1))
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), TRUSTING, lambda: NOW)
    return state, handler, first_birth(mother, father)


def delivered(value: bytes, offset: int = 1, **fields) -> Delivery:
    header = signature.sign(value, PEM, KID).encode()
    return Delivery(TOPICS.notifications_of("100"), 0, offset, b"k", signature=header, **fields)


def outbox_codes(state: FakeState) -> list[str]:
    found = []
    for message in state.outbox:
        if message.topic == TOPICS.results_of("100"):
            bundle = json.loads(message.value)
            outcome = next(
                e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "OperationOutcome"
            )
            found += [c["code"] for i in outcome["issue"] for c in i.get("details", {}).get("coding", [])]
    return found


async def test_a_signed_record_of_its_own_hospital_registers(world):
    _state, handler, spec = world
    value = raw(spec)
    (handled,) = await handler.handle_batch([(value, delivered(value))])
    assert handled.outcome == "registered"


async def test_a_batch_reads_its_hospitals_and_keys_in_one_go_before_judging(world):
    """The topics' hospitals and the signatures' kids of the new records, once per transaction; a
    record without a readable signature adds no kid, a redelivery nothing."""
    state, handler, spec = world
    value = raw(spec)
    await handler.handle_batch([(value, delivered(value, offset=1))])
    other = Delivery(TOPICS.notifications_of("200"), 0, 7, b"k", signature=b"not a signature")
    state.hospital_prefetches.clear()

    await handler.handle_batch([(value, delivered(value, offset=1)), (value, other)])

    assert state.hospital_prefetches == [(["200"], [])]


async def test_a_sender_resolved_to_another_hospital_inside_the_bundle_is_not_registered(world):
    """`sender` reads like hospital 100 (`…/Organization/100`) but the entry it resolves to says it is
    "200": the hospital is the resolved entry's, for the trust check as for the registration."""
    state, handler, spec = world
    bundle = json.loads(raw(spec))
    web_url = "https://rs.example/fhir/Organization/100"
    bundle["entry"][0]["resource"]["sender"]["reference"] = web_url
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Organization":
            entry["fullUrl"] = web_url
            entry["resource"]["id"] = "200"
    value = json.dumps(bundle).encode()
    (handled,) = await handler.handle_batch([(value, delivered(value))])
    assert handled.codes == ("SENDER-NOT-SIGNER",)
    assert not state.births, "nothing registered, under either hospital"


async def test_a_producers_timestamp_does_not_bring_a_revoked_key_back(world):
    state, handler, spec = world
    state.hospital_keys[KID] = HospitalKey(
        KID, "100", JWK, NOW - timedelta(days=1), revoked_at=NOW - timedelta(hours=1)
    )
    value = raw(spec)
    backdated = int((NOW - timedelta(hours=2)).timestamp() * 1000)
    (handled,) = await handler.handle_batch([(value, delivered(value, timestamp_ms=backdated, broker_time=False))])
    assert handled.codes == ("SIGNATURE-KEY-NOT-VALID",), "judged at the hub's time, not the producer's"
    assert not state.births


async def test_the_brokers_timestamp_is_the_records_time(world):
    """A record the broker stamped before the revocation was signed while the key was good."""
    state, handler, spec = world
    state.hospital_keys[KID] = HospitalKey(
        KID, "100", JWK, NOW - timedelta(days=1), revoked_at=NOW - timedelta(hours=1)
    )
    value = raw(spec)
    stamped = int((NOW - timedelta(hours=2)).timestamp() * 1000)
    (handled,) = await handler.handle_batch([(value, delivered(value, timestamp_ms=stamped, broker_time=True))])
    assert handled.outcome == "registered"


@pytest.mark.parametrize("timestamp_ms", [2**62, 253402300800000, 10**18])
async def test_a_timestamp_no_clock_holds_is_no_time_and_no_crash(world, timestamp_ms):
    _state, handler, spec = world
    value = raw(spec)
    (handled,) = await handler.handle_batch([(value, delivered(value, timestamp_ms=timestamp_ms, broker_time=True))])
    assert handled.outcome == "registered", "judged at the hub's time"
    assert Delivery("t", 0, 0, timestamp_ms=timestamp_ms).origin_at is None


async def test_an_oversized_signature_header_is_not_copied_into_the_dead_letter(world):
    state, handler, spec = world
    value = raw(spec)
    huge = b"A" * 1_000_000
    (handled,) = await handler.handle_batch(
        [(value, Delivery(TOPICS.notifications_of("100"), 0, 1, b"k", signature=huge))]
    )
    assert handled.codes == ("SIGNATURE-INVALID",)
    letter = next(m for m in state.outbox if m.topic == TOPICS.dead_letters)
    assert letter.headers[signature.HEADER] == "oversized"
    assert sum(len(k) + len(v) for k, v in letter.headers.items()) < 4096
    assert outbox_codes(state) == ["SIGNATURE-INVALID"]


def test_a_dead_letter_keeps_a_normal_signature_and_the_time_and_its_kind():
    value = b"{}"
    header = signature.sign(value, PEM, KID).encode()
    at = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    letter = dead_letter(
        TOPICS, value, Delivery("x", 0, 1, signature=header, timestamp_ms=at, broker_time=True), "SIGNATURE-X", None
    )
    assert letter.headers[signature.HEADER] == header.decode()
    assert letter.headers["dlq-original-timestamp"] == str(at)
    assert letter.headers["dlq-original-timestamp-type"] == "LogAppendTime"
