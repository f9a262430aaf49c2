"""Operators on the real Kafka and PostgreSQL: trace, dead letters, review decisions, replay, audit.

The hub runs as its own process (its relay publishes what the commands queue); the commands run
through the CLI as an operator would type them, with the environment pointing at this test's hub.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import asyncpg
import pytest
from typer.testing import CliRunner

from hub.adapters.postgres.operations import table_counts
from hub.devtools.simulation.bundles import Parent, build_notification
from hub.entrypoints.cli import app
from tests.support import trust
from tests.support.kafka import Collected, Outgoing, collect, publish, publish_records, status_of
from tests.support.people import birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
HOSPITAL = "103578001"
FAMILIES = 40


@pytest.fixture(scope="module")
async def sent(environment, hub_process):
    settings, topics = environment.settings, environment.settings.topics
    homes = await households(settings.dsn, 12)
    valid = [birth(h, HOSPITAL) for h in homes[:8]]
    newcomer = Parent("3578016105990007", "Ibu Baru Pindah", None, homes[8].mother.kk_number)
    fixable = birth(replace(homes[8], mother=newcomer), HOSPITAL)
    reviews = [birth(replace(h, mother=replace(h.mother, name="Nama Berbeda")), HOSPITAL) for h in homes[9:11]]
    specs = [*valid, fixable, *reviews]
    messages = [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs]
    await publish(settings.kafka_bootstrap, topics.notifications, messages)
    # The hospital's own unreadable record (on its topic, signed by it): every message here is HOSPITAL's.
    junk = Outgoing(0, b"junk", b"{not json")
    await publish_records(settings.kafka_bootstrap, topics.notifications, [junk], hospital=HOSPITAL)
    await _results(environment, {s.message_id for s in specs})
    return {"valid": valid, "fixable": fixable, "reviews": reviews, "newcomer": newcomer}


async def _results(environment, wanted: set[str], copies: int = 1) -> dict:
    topics = environment.settings.topics

    def done(c: Collected) -> bool:
        found = c.results_by_message(topics)
        return all(len({r.headers["event-id"] for r in found.get(m, [])}) >= copies for m in wanted)

    collected = await collect(environment.settings.kafka_bootstrap, [topics.results], until=done, timeout=60)
    return collected.results_by_message(topics)


def cli(environment, *args: str):
    result = CliRunner().invoke(app, list(args), env=environment.env())
    return result


async def test_status_shows_the_trail_masked_as_text_and_json(environment, sent):
    message_id = sent["valid"][0].message_id
    text = await asyncio.to_thread(cli, environment, "status", message_id)
    assert text.exit_code == 0, text.output
    assert "registered" in text.output and "birth.result.v1" in text.output
    assert sent["valid"][0].mother.nik not in text.output
    data = json.loads((await asyncio.to_thread(cli, environment, "status", message_id, "--json")).output)
    assert data[0]["inbox"]["status"] == "registered" and data[0]["registration"]["akta_number"]
    assert "*" in data[0]["inbox"]["mother_nik"]
    by_nik = json.loads(
        (await asyncio.to_thread(cli, environment, "status", sent["valid"][0].mother.nik, "--json")).output
    )
    assert [t["message_id"] for t in by_nik] == [message_id]


async def test_showing_personal_data_needs_a_reason_and_is_audited(environment, sent):
    message_id = sent["valid"][1].message_id
    refused = await asyncio.to_thread(cli, environment, "status", message_id, "--show-personal-data")
    assert refused.exit_code != 0
    shown = await asyncio.to_thread(
        cli, environment, "status", message_id, "--show-personal-data", "--reason", "citizen request 42", "--json"
    )
    assert sent["valid"][1].mother.nik in shown.output
    audit = json.loads((await asyncio.to_thread(cli, environment, "audit", "list", "--json")).output)
    assert any(a["action"] == "personal-data.view" and a["subject"] == message_id for a in audit)


async def test_dlq_list_groups_dead_letters_and_rejections(environment, sent):
    data = json.loads((await asyncio.to_thread(cli, environment, "dlq", "list", "--json")).output)
    assert data["by_reason"] == {"MOTHER-NOT-FOUND": 1, "DLQ-NOT-JSON": 1}
    assert [r["message_id"] for r in data["rejected"]] == [sent["fixable"].message_id]
    text = await asyncio.to_thread(cli, environment, "dlq", "list", "--reason", "MOTHER-NOT-FOUND")
    assert text.exit_code == 0 and sent["fixable"].message_id in text.output and "DLQ-NOT-JSON" not in text.output


async def test_replaying_the_whole_topic_twice_registers_nothing_new(environment, sent):
    before = await _counts(environment)
    unnamed = await asyncio.to_thread(cli, environment, "replay", "--json", "--reason", "test")
    refusal = " ".join(unnamed.output.split())  # the message as one line, however the console wrapped it
    assert unnamed.exit_code == 2 and "--hospital ORG" in refusal, "each hospital has its own topic"
    for _ in range(2):
        result = await asyncio.to_thread(
            cli, environment, "replay", "--hospital", HOSPITAL, "--json", "--reason", "test"
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["counts"] == {
            "already-processed": 10,
            "newly-processed": 0,
            "rejected": 1,
            "unreadable": 1,
            "skipped": 0,
        }
    after = await _counts(environment)
    assert after["births"] == before["births"] and after["outbox"] == before["outbox"]
    resumed = json.loads(
        (await asyncio.to_thread(cli, environment, "replay", "--json", "--resume", str(report["run"]))).output
    )
    assert sum(resumed["counts"].values()) == 0, "a finished run resumes at its saved end positions"
    other = await asyncio.to_thread(cli, environment, "replay", "--hospital", trust.DEFAULT_HOSPITAL, "--json")
    assert other.exit_code == 0 and sum(json.loads(other.output)["counts"].values()) == 0, "another hospital's topic"
    args = ("replay", "--hospital", HOSPITAL, "--error-code", "MOTHER-NOT-FOUND")
    text = await asyncio.to_thread(cli, environment, *args)
    assert "already processed" in text.output and text.exit_code == 0


async def test_a_fixed_rejection_succeeds_on_replay_and_dry_run_writes_nothing(environment, sent):
    await _add_mother(environment, sent["newcomer"])
    before, offsets = await _counts(environment), await _end_offsets(environment)
    dry = json.loads(
        (
            await asyncio.to_thread(
                cli, environment, "replay", "--dry-run", "--json", "--message-id", sent["fixable"].message_id
            )
        ).output
    )
    assert dry["counts"]["newly-processed"] == 1 and dry["run"] is None
    await asyncio.sleep(1)
    assert await _counts(environment) == before and await _end_offsets(environment) == offsets

    real = json.loads(
        (
            await asyncio.to_thread(
                cli,
                environment,
                "replay",
                "--json",
                "--reason",
                "mother added",
                "--message-id",
                sent["fixable"].message_id,
            )
        ).output
    )
    assert real["counts"]["newly-processed"] == 1
    results = (await _results(environment, {sent["fixable"].message_id}, copies=2))[sent["fixable"].message_id]
    statuses = [status_of(r.json()) for r in results]
    assert statuses == ["rejected", "registered"]


async def test_review_decisions_send_exactly_one_result_each_and_are_audited(environment, sent):
    approve, reject = (s.message_id for s in sent["reviews"])
    listed = json.loads((await asyncio.to_thread(cli, environment, "review", "list", "--json")).output)
    assert {c["message_id"] for c in listed} == {approve, reject}
    ok = await asyncio.to_thread(
        cli, environment, "review", "approve", approve, "--note", "mother's name checked at the office"
    )
    assert ok.exit_code == 0, ok.output
    no = await asyncio.to_thread(cli, environment, "review", "reject", reject, "--note", "not the same mother")
    assert no.exit_code == 0, no.output
    again = await asyncio.to_thread(cli, environment, "review", "approve", approve, "--note", "twice")
    assert again.exit_code == 2 and "already decided" in again.output
    results = await _results(environment, {approve, reject}, copies=2)
    assert [status_of(r.json()) for r in results[approve]] == ["review-pending", "registered"]
    assert [status_of(r.json()) for r in results[reject]] == ["review-pending", "rejected"]
    audit = json.loads((await asyncio.to_thread(cli, environment, "audit", "list", "--json")).output)
    actions = {(a["action"], a["subject"]) for a in audit}
    assert {("review.approve", approve), ("review.reject", reject)} <= actions


async def test_audit_verify_detects_a_tampered_row(environment, sent):
    intact = await asyncio.to_thread(cli, environment, "audit", "verify")
    assert intact.exit_code == 0 and "intact" in intact.output
    runtime = await asyncpg.connect(environment.settings.dsn)
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):  # the hub's own role
            await runtime.execute("UPDATE audit_log SET reason = 'edited' WHERE id = 1")
    finally:
        await runtime.close()
    conn = await asyncpg.connect(environment.owner_dsn)  # whoever holds the owner's credentials
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("UPDATE audit_log SET reason = 'edited' WHERE id = 1")
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE id = (SELECT min(id) FROM audit_log)")
    finally:
        await conn.close()
    broken = await asyncio.to_thread(cli, environment, "audit", "verify", "--json")
    assert broken.exit_code == 1 and json.loads(broken.output)["intact"] is False


async def _counts(environment) -> dict[str, int]:
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        return await table_counts(conn)
    finally:
        await conn.close()


async def _end_offsets(environment) -> dict:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from tests.support.kafka import client

    consumer = AIOKafkaConsumer(**client(environment.settings.kafka_bootstrap))
    await consumer.start()
    try:
        topics = environment.settings.topics
        tps = [TopicPartition(t, p) for t in topics.all() for p in range(3)]
        tps += [TopicPartition(topics.results_of(org), 0) for org in trust.ACTIVE]  # one partition each
        return {f"{tp.topic}:{tp.partition}": o for tp, o in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def _add_mother(environment, mother: Parent) -> None:
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        await conn.execute(
            """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship)
               VALUES ($1, $2, 'female', '1999-05-21', $3, 'FAMILI LAIN')""",
            mother.nik,
            mother.name,
            mother.kk_number,
        )
    finally:
        await conn.close()
