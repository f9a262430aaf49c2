"""Poison sandwiches: [valid, poison, valid] on every partition, through one and through two hub processes.

Each poison is something a producer can send that once stopped the hub or blocked its partition
(issue #8): a NUL in a name, a lone surrogate escape in `sender.reference`, a 5,000-digit number,
a 10 MB value, arrays nested 50,000 deep, bytes that are not UTF-8, record headers FastStream's
own parser cannot read, a body its JSON decoder would have tried because of a content-type, and
a notification with 60,000 structural errors (whose full answer would not fit in a Kafka record),
and a record with no value at all (a tombstone).
Every record must be answered (a result with a specific code, or a dead letter with the reason),
the valid notification behind each poison must register, and no hub may exit or log an ERROR.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hub.devtools.simulation.bundles import build_notification
from tests.support.hub_process import HubProcess
from tests.support.kafka import Collected, Outgoing, codes_of, collect, publish_records, status_of
from tests.support.people import Household, birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.faults, pytest.mark.slow]
REGISTRIES = ("embedded",)  # the intake is the same whichever registry answers
FAMILIES = 100
HOSPITAL = "103578001"
REGISTERED = ("registered", None)


@dataclass(frozen=True)
class Poison:
    """How to spoil a valid notification, and the answer the spoiled record must get:
    ("rejected", code) on its result, ("dead-letter", reason) on the DLQ, or REGISTERED."""

    name: str
    spoil: Callable[[dict], tuple[bytes | None, tuple[tuple[str, bytes | None], ...]]]
    expected: tuple[str, str | None]


def _text(document: dict) -> str:
    return json.dumps(document)  # ensure_ascii: NUL and a lone surrogate travel as \u escapes


def _nul_in_name(document):
    document["entry"][2]["resource"]["name"][0]["text"] = "Anak\u0000Ayu"
    return _text(document).encode(), ()


def _lone_surrogate_in_sender(document):
    document["entry"][0]["resource"]["sender"]["reference"] = "Organization/\ud800"
    return _text(document).encode(), ()


def _five_thousand_digits(document):
    text = _text(document).replace('"multipleBirthInteger": 0', '"multipleBirthInteger": 1' + "0" * 4999)
    assert "0" * 4999 in text
    return text.encode(), ()


def _ten_megabytes(document):
    document["entry"][2]["resource"]["name"][0]["text"] = "x" * (10 * 1024 * 1024)
    return _text(document).encode(), ()


def _deep_arrays(document):
    text = _text(document).replace('"active": true', '"active": ' + "[" * 50_000 + "]" * 50_000, 1)
    return text.encode(), ()


def _not_utf8(document):
    return _text(document).replace("Anak", "An\xffak", 1).encode("latin-1"), ()


def _unreadable_headers(document):
    return _text(document).encode(), (("x-note", b"\xff\xfe not utf-8"), ("x-empty", None))


def _null_value(_document):
    return None, ()  # a tombstone


def _sixty_thousand_issues(document):
    document["entry"][2]["resource"]["name"] = [1] * 60_000  # each item a structural error
    return _text(document).encode(), ()


def _json_content_type_not_json(_document):
    return b'{"resourceType": "Bundle", "entry": [', (("content-type", b"application/json"),)


POISONS = [
    Poison("nul-in-name", _nul_in_name, ("rejected", "TEXT-CONTROL-CHARACTER")),
    # A sender that is not the signing hospital is refused by the trust check, before the text rules:
    # answered on the topic's owner's results (hub/service/trust.py).
    Poison("lone-surrogate-in-sender", _lone_surrogate_in_sender, ("rejected", "SENDER-NOT-SIGNER")),
    Poison("five-thousand-digits", _five_thousand_digits, ("rejected", "NUMBER-OUT-OF-RANGE")),
    Poison("ten-megabytes", _ten_megabytes, ("dead-letter", "PAYLOAD-TOO-LARGE")),
    Poison("deep-arrays", _deep_arrays, ("dead-letter", "PAYLOAD-TOO-DEEP")),
    Poison("not-utf8", _not_utf8, ("dead-letter", "DLQ-NOT-UTF8")),
    Poison("unreadable-headers", _unreadable_headers, REGISTERED),
    Poison("json-content-type-not-json", _json_content_type_not_json, ("dead-letter", "DLQ-NOT-JSON")),
    Poison("sixty-thousand-issues", _sixty_thousand_issues, ("rejected", "ISSUES-TRUNCATED")),
    Poison("null-value", _null_value, ("dead-letter", "DLQ-NOT-JSON")),
]


@dataclass
class Sandwiches:
    records: list[Outgoing]
    expected: dict[str, tuple[str, str | None]]  # message id (result) or record key (dead letter) -> answer


def _sandwiches(homes: list[Household], partitions: int, run: str) -> Sandwiches:
    records, expected = [], {}
    homes_left = iter(homes)
    for index, poison in enumerate(POISONS):
        partition = index % partitions
        for role in ("before", "poison", "after"):
            spec = birth(next(homes_left), HOSPITAL)
            document = build_notification(spec)
            key = f"{run}-{poison.name}-{role}".encode()
            if role == "poison":
                value, headers = poison.spoil(document)
                answer = poison.expected
            else:
                value, headers, answer = json.dumps(document).encode(), (), REGISTERED
            records.append(Outgoing(partition, key, value, headers))
            expected[key.decode() if answer[0] == "dead-letter" else spec.message_id] = answer
    return Sandwiches(records, expected)


def _answers(collected: Collected, topics) -> dict[str, tuple[str, str | None]]:
    """What each message id (results) and each record key (dead letters) got."""
    found: dict[str, tuple[str, str | None]] = {}
    for message_id, copies in collected.results_by_message(topics).items():
        document = copies[0].json()
        found[message_id] = (status_of(document), ",".join(codes_of(document)) or None)
    for letter in collected.on(topics.dead_letters):
        found[(letter.key or b"").decode()] = ("dead-letter", letter.headers["dlq-reason"])
    return found


def _matches(got: tuple[str, str | None] | None, want: tuple[str, str | None]) -> bool:
    if got is None or got[0] != want[0]:
        return False
    return want[1] is None or want[1] in (got[1] or "").split(",")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("hubs", [1, 2])
async def test_every_poison_is_answered_and_the_partition_moves_on(environment, tmp_path, hubs):
    settings, topics = environment.settings, environment.settings.topics
    homes = await households(settings.dsn, FAMILIES)
    run = uuid.uuid4().hex[:8]
    sandwiches = _sandwiches(homes[(hubs - 1) * 40 :], settings.notification_partitions, run)
    processes = [HubProcess(environment.env(), tmp_path / f"hub-{n}.log") for n in range(hubs)]
    for hub in processes:
        hub.start()
    try:
        await publish_records(settings.kafka_bootstrap, topics.notifications, sandwiches.records)

        def done(c: Collected) -> bool:
            answers = _answers(c, topics)
            return all(key in answers for key in sandwiches.expected) or any(
                hub.process.poll() is not None for hub in processes
            )

        collected = await collect(settings.kafka_bootstrap, [topics.results, *topics.all()], until=done, timeout=120)
        exits = [hub.process.poll() for hub in processes]
    finally:
        for hub in processes:
            hub.stop()
    assert exits == [None] * hubs, f"a hub exited: {exits}"
    answers = _answers(collected, topics)
    wrong = {
        key: (answers.get(key), want)
        for key, want in sandwiches.expected.items()
        if not _matches(answers.get(key), want)
    }
    assert not wrong, f"answered otherwise than expected (got, wanted): {wrong}"
