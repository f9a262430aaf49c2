"""A mixed batch of notifications through the real hub process, Kafka and PostgreSQL.

Every message gets exactly one answer (a re-sent message id gets the same answer again), every
registration produces exactly its rows and events, and unreadable messages are kept on the DLQ.
A bundle naming a sender that has no notification topic (unknown, or not active) arrives on
DEFAULT_HOSPITAL's topic signed by it (tests/support/kafka.py): not trusted (SENDER-NOT-SIGNER), it
is kept on the DLQ too and answered on DEFAULT_HOSPITAL's results, and never takes its message id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg
import pytest

from hub.devtools.simulation.bundles import Parent, build_notification
from hub.devtools.simulation.examples import invalid_examples
from tests.support.kafka import DEFAULT_HOSPITAL, Collected, codes_of, collect, numbers_of, publish, status_of
from tests.support.people import WIB, birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
HOSPITAL = "103578001"

EXPECTED_INVALID = {
    "invalid-placeholder-name": "NEWBORN-NAME-PLACEHOLDER",
    "invalid-weight-in-kg": "BIRTH-WEIGHT-UNIT",
    "invalid-missing-birth-time": "BIRTH-TIME-MISSING",
    "invalid-one-witness": "WITNESSES-REQUIRED",
    "invalid-birth-time-offset": "BIRTH-TIME-OFFSET",
    "invalid-not-fhir": "FHIR-INVALID",
    "invalid-married-without-father": "FATHER-REQUIRED",
}


@dataclass
class Batch:
    expected: dict[str, tuple[str, str | None]]  # message id -> (status, a code that must be present)
    messages: list[tuple[bytes | None, bytes]]
    resent_id: str
    duplicate_of: tuple[str, str]  # (original message id, the new id for the same birth)
    dead_letters: int  # records kept on the DLQ: the unreadable and the untrusted ones
    registered: int
    untrusted: frozenset[str]  # message ids refused by the trust check, answered on DEFAULT_HOSPITAL's results

    def results_topic(self, topics, message_id: str) -> str:
        """Where the message's answer goes: the results of the hospital whose topic carried it."""
        return topics.results_of(DEFAULT_HOSPITAL if message_id in self.untrusted else HOSPITAL)


def _bundle(spec) -> bytes:
    return json.dumps(build_notification(spec)).encode()


async def _build_batch(dsn: str) -> Batch:
    h = await households(dsn, 22)
    expected, messages = {}, []

    def add(spec, status, code=None, document=None):
        expected[spec.message_id] = (status, code)
        value = json.dumps(document).encode() if document is not None else _bundle(spec)
        messages.append((spec.mother.nik.encode(), value))
        return spec

    singles = [add(birth(h[i], HOSPITAL), "registered") for i in range(5)]
    twin_encounter = "TWINS-" + uuid.uuid4().hex[:8]
    for order in (1, 2):
        add(birth(h[5], HOSPITAL, encounter_id=twin_encounter, birth_order=order, plurality=2), "registered")
    add(
        birth(h[6], HOSPITAL, stillborn=True, weight_g=850, gestational_weeks=25),
        "stillbirth-recorded",
        "STILLBIRTH-RECORDED",
    )
    add(birth(h[7], HOSPITAL, born_at=datetime.now(WIB) - timedelta(days=70)), "registered", "LATE-REGISTRATION")
    for name, document in invalid_examples().items():
        if name in EXPECTED_INVALID:
            message_id = document["entry"][0]["resource"]["id"]
            expected[message_id] = ("rejected", EXPECTED_INVALID[name])
            messages.append((b"example", json.dumps(document).encode()))
    # An unknown and an inactive sender: neither has a topic, so DEFAULT_HOSPITAL's carries them.
    untrusted = [
        add(birth(h[8], "999999999"), "rejected", "SENDER-NOT-SIGNER").message_id,
        add(birth(h[9], "100000000"), "rejected", "SENDER-NOT-SIGNER").message_id,
    ]
    stranger = Parent("3578016507990001", "Orang Asing", None, h[10].mother.kk_number)
    add(birth(replace(h[10], mother=stranger), HOSPITAL), "rejected", "MOTHER-NOT-FOUND")
    add(
        birth(replace(h[11], mother=replace(h[11].mother, kk_number=h[12].mother.kk_number)), HOSPITAL),
        "rejected",
        "KK-MOTHER-MISMATCH",
    )
    add(
        birth(replace(h[13], mother=replace(h[13].mother, kk_number="3578010101990001")), HOSPITAL),
        "rejected",
        "KK-NOT-FOUND",
    )
    add(
        birth(replace(h[14], mother=replace(h[14].mother, name="Nama Lain Sekali")), HOSPITAL),
        "review-pending",
        "REVIEW-MOTHER-DATA-MISMATCH",
    )
    add(
        birth(replace(h[15], father=Parent("3578011203880009", "Ayah Tak Dikenal")), HOSPITAL),
        "review-pending",
        "REVIEW-FATHER-NOT-FOUND",
    )
    deep = build_notification(birth(h[16], HOSPITAL))
    nested: dict = {"url": "urn:x", "valueString": "end"}
    for _ in range(40):
        nested = {"url": "urn:x", "extension": [nested]}
    deep["entry"][1]["resource"]["extension"] = [nested]
    add(birth(h[16], HOSPITAL, message_id=deep["entry"][0]["resource"]["id"]), "rejected", "PAYLOAD-TOO-DEEP", deep)
    huge = build_notification(birth(h[17], HOSPITAL))
    huge["entry"][1]["resource"]["alias"] = ["x" * 1000] * 600
    add(birth(h[17], HOSPITAL, message_id=huge["entry"][0]["resource"]["id"]), "rejected", "PAYLOAD-TOO-LARGE", huge)
    odd = build_notification(birth(h[18], HOSPITAL))
    odd["entry"].append({"fullUrl": "urn:uuid:odd", "resource": {"resourceType": "Spaceship", "id": "x"}})
    add(birth(h[18], HOSPITAL, message_id=odd["entry"][0]["resource"]["id"]), "rejected", "FHIR-UNKNOWN-RESOURCE", odd)
    collection = build_notification(birth(h[19], HOSPITAL))
    collection["type"] = "collection"
    add(
        birth(h[19], HOSPITAL, message_id=collection["entry"][0]["resource"]["id"]),
        "rejected",
        "BUNDLE-NOT-MESSAGE",
        collection,
    )
    # Re-sent: the same bytes again. New id for an already registered birth: same encounter and order.
    messages.append(messages[0])
    again = replace(singles[1], message_id=str(uuid.uuid4()))
    add(again, "duplicate", "DUPLICATE-NOTIFICATION")
    # Unreadable: nothing to answer to, kept on the DLQ.
    messages.append((b"garbage", b"\x89PNG not a notification"))
    messages.append((b"no-id", json.dumps({"resourceType": "Bundle", "type": "message", "entry": []}).encode()))
    patient_first = build_notification(birth(h[20], HOSPITAL))
    patient_first["entry"].reverse()
    messages.append((b"patient-first", json.dumps(patient_first).encode()))
    return Batch(
        expected,
        messages,
        singles[0].message_id,
        (singles[1].message_id, again.message_id),
        dead_letters=3 + len(untrusted),
        registered=8,
        untrusted=frozenset(untrusted),
    )


def all_answered(batch: Batch, topics, c: Collected) -> bool:
    """Every message answered, the re-sent one twice, the unreadable ones dead-lettered."""
    results = c.results_by_message(topics)
    return (
        set(batch.expected) <= set(results)
        and len(results[batch.resent_id]) >= 2
        and len(c.on(topics.dead_letters)) >= batch.dead_letters
    )


@pytest.fixture(scope="module")
async def outcome(environment, hub_process):
    settings = environment.settings
    batch = await _build_batch(settings.dsn)
    await publish(settings.kafka_bootstrap, settings.topics.notifications, batch.messages)
    topics = settings.topics

    def done(c: Collected) -> bool:
        return all_answered(batch, topics, c) and len(c.on(topics.family_cards)) >= batch.registered

    collected = await collect(settings.kafka_bootstrap, [topics.results, *topics.all()], until=done, timeout=90)
    return batch, collected


async def test_every_notification_gets_exactly_one_result_with_the_expected_status(environment, outcome):
    batch, collected = outcome
    results = collected.results_by_message(environment.settings.topics)
    assert set(results) == set(batch.expected)
    for message_id, (status, code) in batch.expected.items():
        event_ids = {r.headers["event-id"] for r in results[message_id]}
        assert len(event_ids) == 1, f"{message_id} got {len(event_ids)} different results"
        assert {r.topic for r in results[message_id]} == {batch.results_topic(environment.settings.topics, message_id)}
        document = results[message_id][0].json()
        assert status_of(document) == status, (message_id, codes_of(document))
        if code:
            assert code in codes_of(document), (message_id, status, codes_of(document))
        response = document["entry"][0]["resource"]["response"]
        assert response["identifier"] == message_id
        assert response["code"] == ("fatal-error" if status == "rejected" else "ok")


async def test_a_resent_message_id_gets_the_same_result_again(environment, outcome):
    batch, collected = outcome
    copies = collected.results_by_message(environment.settings.topics)[batch.resent_id]
    assert len(copies) == 2
    assert copies[0].value == copies[1].value and copies[0].headers == copies[1].headers


async def test_a_new_message_for_a_registered_birth_returns_the_existing_numbers(environment, outcome):
    batch, collected = outcome
    results = collected.results_by_message(environment.settings.topics)
    original, again = (numbers_of(results[mid][0].json()) for mid in batch.duplicate_of)
    assert again["akta-number"] == original["akta-number"] and again["nik"] == original["nik"]


async def test_registrations_produce_their_rows_and_civil_events(environment, outcome):
    batch, collected = outcome
    topics = environment.settings.topics
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        certificates = await conn.fetch("SELECT akta_number, registration_type FROM birth_certificates")
        births = await conn.fetchval("SELECT count(*) FROM births")
        stillbirths = await conn.fetchval("SELECT count(*) FROM stillbirths")
        reviews = await conn.fetchval("SELECT count(*) FROM reviews")
        inbox = await conn.fetchval("SELECT count(*) FROM inbox")
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    finally:
        await conn.close()
    assert len(certificates) == batch.registered
    assert [c["registration_type"] for c in certificates].count("LT") == 1
    assert births == batch.registered + stillbirths and stillbirths == 1
    assert reviews == 2 and inbox == len(batch.expected) - len(batch.untrusted) and unsent == 0, "untrusted: no id"
    registered = collected.on(topics.births_registered)
    assert sorted(json.loads(r.value)["akta_number"] for r in registered) == sorted(
        c["akta_number"] for c in certificates
    )
    assert all(r.key.decode() == json.loads(r.value)["akta_number"] for r in registered)
    cards = [json.loads(r.value) for r in collected.on(topics.family_cards)]
    assert len(cards) == batch.registered
    twins_card = max(cards, key=lambda card: card["version"])
    assert all(card["previous_version"] == card["version"] - 1 for card in cards)
    assert sum(m["relationship"] == "ANAK" for m in twins_card["members"]) >= 1


async def test_unreadable_messages_are_kept_on_the_dead_letter_topic_with_the_reason(environment, outcome):
    _batch, collected = outcome
    topics = environment.settings.topics
    letters = collected.on(topics.dead_letters)
    assert sorted(r.headers["dlq-reason"] for r in letters) == [
        "DLQ-NO-MESSAGE-ID",
        "DLQ-NO-MESSAGE-ID",
        "DLQ-NOT-UTF8",
        "SENDER-NOT-SIGNER",
        "SENDER-NOT-SIGNER",
    ]
    garbage = next(r for r in letters if r.key == b"garbage")
    assert garbage.value == b"\x89PNG not a notification"
    assert garbage.headers["dlq-original-topic"] == topics.notifications_of(DEFAULT_HOSPITAL), "no sender: the default"


async def test_untrusted_notifications_are_kept_on_the_dead_letter_topic_with_their_code(environment, outcome):
    batch, collected = outcome
    topics = environment.settings.topics
    sent = {mid: value for _key, value in batch.messages if (mid := _message_id(value)) in batch.untrusted}
    letters = [r for r in collected.on(topics.dead_letters) if r.headers["dlq-reason"] == "SENDER-NOT-SIGNER"]
    assert sorted(r.value for r in letters) == sorted(sent.values()), "the exact bytes, each kept once"
    assert {r.headers["dlq-original-topic"] for r in letters} == {topics.notifications_of(DEFAULT_HOSPITAL)}


async def test_results_never_echo_personal_data(environment, outcome):
    batch, collected = outcome
    niks = set()
    for _key, value in batch.messages:
        try:
            document = json.loads(value)
        except ValueError:
            continue
        niks.update(_niks_in(document))
    for result in collected.on(environment.settings.topics.results):
        document = result.json()
        rejected_or_review = status_of(document) in ("rejected", "review-pending")
        if rejected_or_review:
            assert not (niks & set(_niks_in(document))), "a rejection echoed a NIK"


def _message_id(value: bytes) -> str | None:
    try:
        return json.loads(value)["entry"][0]["resource"]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _niks_in(document) -> list[str]:
    text = json.dumps(document)
    import re

    return re.findall(r"(?<!\d)\d{16}(?!\d)", text)
