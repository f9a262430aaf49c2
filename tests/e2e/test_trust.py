"""Signed notifications on the real secured broker, through the hub process (issue #9).

Records a hospital's principal could write to its own topic, but that the hub must not trust:
unsigned, an unknown key id, another hospital's key id, a signature by another key, a body altered
after signing, a bundle naming another hospital as its sender, a disabled hospital. Each is answered
with its code on the results topic of the hospital whose topic carried it, registers nothing, takes
no message id, is kept with the dead letters, and the consumer goes on (a valid record after them
is registered). Key rotation: the old key is accepted during the overlap and refused after it.
Replay judges a record with the keys valid at its original time.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from typer.testing import CliRunner

from hub.devtools.simulation.bundles import build_notification
from hub.devtools.trusted_hospitals import kid as dev_kid
from hub.domain.values import HospitalKey
from hub.entrypoints.cli import app
from hub.intake import signature
from tests.support import trust
from tests.support.kafka import Collected, Outgoing, codes_of, collect, publish_records, status_of
from tests.support.people import birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
REGISTRIES = ("embedded",)  # the check runs before any registry is asked
FAMILIES = 30
A, B, DISABLED, ROTATING, LATE = trust.ACTIVE[:5]


def _raw(spec) -> bytes:
    return json.dumps(build_notification(spec)).encode()


def _signed(org: str, raw: bytes) -> tuple[tuple[str, bytes], ...]:
    return tuple(trust.signature_headers(org, raw))


def _header(raw: bytes, private_pem: bytes, kid: str) -> tuple[tuple[str, bytes], ...]:
    return ((signature.HEADER, signature.sign(raw, private_pem, kid).encode()),)


def _answers(topic: str, ids: set[str]):
    def done(c: Collected) -> bool:
        return ids <= {r.headers["correlation-id"] for r in c.on(topic)}

    return done


async def _send(settings, hospital: str, records: list[tuple[bytes, tuple]]) -> None:
    await publish_records(
        settings.kafka_bootstrap,
        settings.topics.notifications,
        [Outgoing(0, b"k", raw, headers) for raw, headers in records],
        hospital=hospital,
        sign=False,
    )


async def _results(settings, hospital: str, ids: set[str], timeout: float = 90) -> dict[str, dict]:
    topic = settings.topics.results_of(hospital)
    got = await collect(settings.kafka_bootstrap, [topic], until=_answers(topic, ids), timeout=timeout)
    return {r.headers["correlation-id"]: r.json() for r in got.on(topic)}


@pytest.fixture(scope="module")
async def refused(environment, hub_process):
    """One record of each kind on A's topic (and one on a disabled hospital's), then a valid one."""
    settings = environment.settings
    h = await households(settings.dsn, 10)
    stranger_pem, _ = signature.new_key()
    cases: dict[str, tuple] = {}

    unsigned = birth(h[0], A)
    cases["SIGNATURE-MISSING"] = (unsigned, _raw(unsigned), ())
    unknown = birth(h[1], A)
    cases["SIGNATURE-UNKNOWN-KEY"] = (unknown, _raw(unknown), _header(_raw(unknown), stranger_pem, "stranger-1"))
    borrowed = birth(h[2], A)
    raw = _raw(borrowed)
    cases["SIGNATURE-UNKNOWN-KEY/other-hospital"] = (borrowed, raw, _signed(B, raw))  # B's kid on A's topic
    forged_signature = birth(h[3], A)
    raw = _raw(forged_signature)
    cases["SIGNATURE-INVALID"] = (forged_signature, raw, _header(raw, stranger_pem, dev_kid(A)))
    tampered = birth(h[4], A)
    raw = _raw(tampered)
    cases["SIGNATURE-INVALID/tampered"] = (tampered, raw.replace(b'"gender":', b'"gender" :', 1), _signed(A, raw))
    forged_sender = birth(h[5], B)  # names B as its sender, signed by A, on A's topic
    raw = _raw(forged_sender)
    cases["SENDER-NOT-SIGNER"] = (forged_sender, raw, _signed(A, raw))
    valid = birth(h[6], A)

    await _send(
        settings, A, [(raw, headers) for _, raw, headers in cases.values()] + [(_raw(valid), _signed(A, _raw(valid)))]
    )

    conn = await asyncpg.connect(settings.dsn)
    try:
        await conn.execute("UPDATE hospitals SET active = false WHERE org_id = $1", DISABLED)
    finally:
        await conn.close()
    inactive = birth(h[7], DISABLED)
    await _send(settings, DISABLED, [(_raw(inactive), _signed(DISABLED, _raw(inactive)))])

    results = await _results(settings, A, {spec.message_id for spec, _, _ in cases.values()} | {valid.message_id})
    results |= await _results(settings, DISABLED, {inactive.message_id})
    cases["SENDER-INACTIVE"] = (inactive, None, None)
    return cases, valid, results


@pytest.mark.parametrize(
    "case",
    [
        "SIGNATURE-MISSING",
        "SIGNATURE-UNKNOWN-KEY",
        "SIGNATURE-UNKNOWN-KEY/other-hospital",
        "SIGNATURE-INVALID",
        "SIGNATURE-INVALID/tampered",
        "SENDER-NOT-SIGNER",
        "SENDER-INACTIVE",
    ],
)
async def test_an_untrusted_record_is_answered_with_its_code_kept_and_never_registered(environment, refused, case):
    cases, _, results = refused
    spec = cases[case][0]
    code = case.split("/")[0]
    answer = results[spec.message_id]
    assert status_of(answer) == "rejected"
    assert codes_of(answer) == [code]
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM inbox WHERE message_id = $1", spec.message_id) == 0, (
            "an untrusted record takes no message id"
        )
        assert await conn.fetchval("SELECT count(*) FROM births WHERE mother_nik = $1", spec.mother.nik) == 0
        kept = await conn.fetch("SELECT reason, detail FROM dead_letters WHERE reason = $1", code)
        assert kept, "kept with the dead letters for operators"
    finally:
        await conn.close()


async def test_the_consumer_goes_on_and_registers_the_valid_record_after_them(refused):
    _, valid, results = refused
    assert status_of(results[valid.message_id]) == "registered"


async def test_a_forged_sender_hears_nothing_on_its_own_results(environment, refused):
    cases, _, _ = refused
    forged = cases["SENDER-NOT-SIGNER"][0]
    topic = environment.settings.topics.results_of(B)
    got = await collect(environment.settings.kafka_bootstrap, [topic], until=lambda c: False, timeout=3)
    assert forged.message_id not in {r.headers["correlation-id"] for r in got.on(topic)}


async def _hub(environment, tmp_path, *args: str):
    """A `hub` command as an operator runs it (in a thread: it runs its own event loop)."""
    env = environment.env(HUB_HOSPITAL_SECRETS_DIR=str(tmp_path / "hospitals"))
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_rotation_accepts_the_old_key_during_the_overlap_and_refuses_it_after(environment, hub_process, tmp_path):
    settings = environment.settings
    h = await households(settings.dsn, 16)
    overlap = timedelta(seconds=6)
    result = await _hub(
        environment,
        tmp_path,
        "hospitals",
        "rotate-key",
        ROTATING,
        "--overlap-hours",
        str(overlap.total_seconds() / 3600),
        "--reason",
        "test rotation",
    )
    assert result.exit_code == 0, result.output
    conn = await asyncpg.connect(settings.dsn)
    try:
        rows = await conn.fetch("SELECT kid, valid_until FROM hospital_keys WHERE org_id = $1", ROTATING)
    finally:
        await conn.close()
    old = {r["kid"]: r["valid_until"] for r in rows}[dev_kid(ROTATING)]
    assert old is not None, "the old key got an end"
    during = birth(h[10], ROTATING)
    await _send(settings, ROTATING, [(_raw(during), _signed(ROTATING, _raw(during)))])
    await asyncio.sleep(max(0.0, (old - datetime.now(UTC)).total_seconds()) + 1.0)
    after = birth(h[11], ROTATING)
    await _send(settings, ROTATING, [(_raw(after), _signed(ROTATING, _raw(after)))])
    results = await _results(settings, ROTATING, {during.message_id, after.message_id})
    assert status_of(results[during.message_id]) == "registered", "the old key is valid during the overlap"
    assert codes_of(results[after.message_id]) == ["SIGNATURE-KEY-NOT-VALID"]


async def test_replay_judges_with_the_keys_valid_at_the_records_time(environment, hub_process, tmp_path):
    """A record signed with a key registered only later is refused; once the key is registered (valid
    from before the record, and already expired again by the time of the replay), a replay of the
    dead letter registers it, once."""
    settings = environment.settings
    h = await households(settings.dsn, 20)
    late_pem, late_jwk = signature.new_key()
    spec = birth(h[15], LATE)
    raw = _raw(spec)
    before = datetime.now(UTC) - timedelta(minutes=5)
    await _send(settings, LATE, [(raw, _header(raw, late_pem, "late-key-1"))])
    first = await _results(settings, LATE, {spec.message_id})
    assert codes_of(first[spec.message_id]) == ["SIGNATURE-UNKNOWN-KEY"]

    from hub.adapters.postgres.registry import EmbeddedRegistry
    from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
    from hub.bootstrap import open_pool

    pool = await open_pool(settings)
    try:
        async with PostgresUnitOfWork(pool, EmbeddedRegistry) as uow:
            await uow.hospitals.add_key(
                HospitalKey("late-key-1", LATE, late_jwk, before, valid_until=datetime.now(UTC) + timedelta(seconds=1))
            )
            await uow.commit()
    finally:
        await pool.close()
    await asyncio.sleep(1.5)  # the key has expired: only its validity at the record's time counts
    args = ["replay", "--dlq", "--hospital", LATE, "--reason", "key registered late", "--json"]
    replayed = await _hub(environment, tmp_path, *args)
    assert replayed.exit_code == 0, replayed.output
    # The first answer (refused) is on the topic already: wait for the replay's own, which comes
    # once the documents are made (the first documents of a hub take a while).
    topic = settings.topics.results_of(LATE)

    def registered(c) -> bool:
        mine = [r.json() for r in c.on(topic) if r.headers.get("correlation-id") == spec.message_id]
        return any(status_of(document) == "registered" for document in mine)

    got = await collect(settings.kafka_bootstrap, [topic], until=registered, timeout=90)
    assert registered(got), "the replay registered the record and answered so"
    again = await _hub(environment, tmp_path, *args)
    assert again.exit_code == 0, again.output
    conn = await asyncpg.connect(settings.dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM births WHERE mother_nik = $1", spec.mother.nik) == 1
    finally:
        await conn.close()


async def test_no_secret_reaches_the_hub_log(environment, hub_process, refused):
    """The principals' passwords (and the hospitals' keys' private parts) never appear in a log."""
    secrets_dir = environment.settings.kafka_secrets_dir
    secrets = [p.read_text().strip() for p in secrets_dir.glob("*.password")]
    assert secrets, f"the local broker's passwords are in {secrets_dir}"
    log = hub_process.log_text()
    assert "untrusted record refused" in log, "the log is the hub's, with the refusals in it"
    for secret in secrets:
        assert secret not in log
