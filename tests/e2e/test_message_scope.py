"""Message ids are scoped by the sending hospital (issue #8): hospital B re-using hospital A's
message id for another mother gets its own registration and its own answer, through the real hub
process, Kafka and PostgreSQL (and, with siak-http, the reference SIAK server). A re-send from
either hospital gets that hospital's result again; operators must say which hospital they mean."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from typer.testing import CliRunner

from hub.devtools.simulation.bundles import build_notification
from hub.entrypoints.cli import app
from tests.support.kafka import Collected, collect, numbers_of, publish, status_of
from tests.support.people import birth, households

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
HOSPITAL = "103578001"
FAMILIES = 20


async def _other_hospital(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT org_id FROM hospitals WHERE active AND org_id <> $1 ORDER BY org_id LIMIT 1", HOSPITAL
        )
    finally:
        await conn.close()


def _results_by_hospital(c: Collected, topics, message_id: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for received in c.results_by_message(topics).get(message_id, []):
        found.setdefault(received.key.decode(), []).append(received)
    return found


@pytest.fixture(scope="module")
async def shared(environment, hub_process):
    """A's notification and B's, under one message id, each sent twice (the second time after
    both were answered)."""
    settings, topics = environment.settings, environment.settings.topics
    h = await households(settings.dsn, 2)
    other = await _other_hospital(settings.dsn)
    mine = birth(h[0], HOSPITAL)
    theirs = birth(h[1], other, message_id=mine.message_id)
    messages = [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in (mine, theirs)]

    def answered(copies: int):
        def done(c: Collected) -> bool:
            found = _results_by_hospital(c, topics, mine.message_id)
            return all(len(found.get(hospital, [])) >= copies for hospital in (HOSPITAL, other))

        return done

    await publish(settings.kafka_bootstrap, topics.notifications, messages)
    await collect(settings.kafka_bootstrap, [topics.results], until=answered(1), timeout=90)
    await publish(settings.kafka_bootstrap, topics.notifications, messages)
    collected = await collect(settings.kafka_bootstrap, [topics.results], until=answered(2), timeout=90)
    return mine, theirs, _results_by_hospital(collected, topics, mine.message_id)


async def test_each_hospital_gets_its_own_answer_and_both_are_registered(environment, shared):
    mine, theirs, results = shared
    assert set(results) == {mine.hospital_id, theirs.hospital_id}, "every result is keyed by its own hospital"
    first = {hospital: copies[0].json() for hospital, copies in results.items()}
    for document in first.values():
        assert status_of(document) == "registered"
        assert document["entry"][0]["resource"]["response"]["identifier"] == mine.message_id
    numbers = {hospital: numbers_of(document) for hospital, document in first.items()}
    assert numbers[mine.hospital_id]["nik"] != numbers[theirs.hospital_id]["nik"]
    assert numbers[mine.hospital_id]["akta-number"] != numbers[theirs.hospital_id]["akta-number"]
    assert results[mine.hospital_id][0].headers["event-id"] != results[theirs.hospital_id][0].headers["event-id"]
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        births = await conn.fetch(
            "SELECT hospital_id, mother_nik FROM births WHERE message_id = $1 ORDER BY hospital_id", mine.message_id
        )
        inbox = await conn.fetch("SELECT hospital_id, status FROM inbox WHERE message_id = $1", mine.message_id)
    finally:
        await conn.close()
    assert sorted((b["hospital_id"], b["mother_nik"]) for b in births) == sorted(
        [(mine.hospital_id, mine.mother.nik), (theirs.hospital_id, theirs.mother.nik)]
    )
    assert sorted((r["hospital_id"], r["status"]) for r in inbox) == sorted(
        [(mine.hospital_id, "registered"), (theirs.hospital_id, "registered")]
    )


async def test_a_resent_message_id_gets_its_own_hospitals_result_again(shared):
    _mine, _theirs, results = shared
    for copies in results.values():
        assert len(copies) == 2
        assert copies[0].value == copies[1].value and copies[0].headers == copies[1].headers


async def test_operators_name_the_hospital_of_a_shared_message_id(environment, shared):
    mine, theirs, _results = shared

    def cli(*args: str):
        return CliRunner().invoke(app, list(args), env=environment.env())

    ambiguous = await asyncio.to_thread(cli, "status", mine.message_id, "--json")
    assert ambiguous.exit_code != 0
    assert "--hospital" in ambiguous.output and theirs.hospital_id in ambiguous.output
    assert mine.mother.nik not in ambiguous.output and theirs.mother.nik not in ambiguous.output
    chosen = await asyncio.to_thread(cli, "status", mine.message_id, "--hospital", theirs.hospital_id, "--json")
    assert chosen.exit_code == 0, chosen.output
    (trail,) = json.loads(chosen.output)
    assert (trail["hospital_id"], trail["inbox"]["status"]) == (theirs.hospital_id, "registered")
    assert {d["offset"] for d in trail["deliveries"]} and len(trail["deliveries"]) == 2
