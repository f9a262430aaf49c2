"""Onboarding hospitals (hub/service/hospitals.py) on the fakes: directory, audit log and broker."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.config import Topics
from hub.errors import BrokerUnavailable, OperatorError
from hub.intake import signature
from hub.service.broker_policy import Operation, Resource, hospital_acls, principal
from hub.service.hospitals import ClientProfile, HospitalDesk, HubPrincipals, public_key_from
from tests.fakes import FakeBrokerAccess, FakeState, FakeUnitOfWork

ORG = "1032730099"
BY = "budi@ops-1"
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def state() -> FakeState:
    return FakeState()


@pytest.fixture
def broker() -> FakeBrokerAccess:
    return FakeBrokerAccess()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(state, broker, clock, tmp_path) -> HospitalDesk:
    return HospitalDesk(
        lambda: FakeUnitOfWork(state),
        broker,
        Topics("t."),
        clock,
        regency_known=lambda code: code in {"3273", "3171"},
        profile=ClientProfile("kafka.example:9093", tmp_path / "ca.crt"),
        hub=HubPrincipals("hub", "hub-relay", "hub"),
        secrets_dir=tmp_path / "hospitals",
        partitions=4,
    )


def public_jwk() -> dict:
    return signature.new_key()[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_add_registers_the_hospital_its_key_and_its_kafka_access(desk, state, broker, tmp_path):
    done = await desk.add(ORG, "RS Contoh  Sehat", "3273", None, BY, "pilot")
    topics = Topics("t.")
    assert state.hospitals[ORG].active and state.hospitals[ORG].name == "RS Contoh Sehat"
    key = state.hospital_keys[done.kid]
    assert key.org_id == ORG and key.valid_from == START and key.valid_until is None
    assert [(e.actor, e.action, e.subject, e.reason) for e in state.audit] == [(BY, "hospitals.add", ORG, "pilot")]
    assert state.audit[0].details == {"name": "RS Contoh Sehat", "regency": "3273", "kid": done.kid, "key": "generated"}
    notifications = broker.topics[topics.notifications_of(ORG)]
    assert notifications.partitions == 4 and notifications.config == {"message.timestamp.type": "LogAppendTime"}
    assert topics.results_of(ORG) in broker.topics
    assert sorted(done.topics_created) == sorted(topics.of_hospital(ORG))
    assert broker.passwords[f"hospital-{ORG}"] == done.access.password
    assert await broker.acls_of(principal(f"hospital-{ORG}")) == sorted(hospital_acls(topics, ORG))
    assert (done.access.notifications, done.access.results) == (topics.notifications_of(ORG), topics.results_of(ORG))


async def test_the_generated_private_key_signs_what_the_registered_key_verifies(desk, state):
    done = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    assert done.private_key_file is not None
    raw = b'{"resourceType": "Bundle"}'
    header = signature.sign(raw, done.private_key_file.read_bytes(), done.kid)
    parsed = signature.parse(header)
    assert isinstance(parsed, signature.Parsed)
    assert signature.verify(raw, parsed, state.hospital_keys[done.kid].jwk)


async def test_secrets_are_written_for_the_operator_only(desk, tmp_path):
    done = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    folder = tmp_path / "hospitals" / ORG
    assert done.access.secrets_dir == folder
    assert mode(folder) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert "client.properties" in files and "kafka.password" in files and "signing-key.pem" in files
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    password = done.access.password.get_secret_value()
    assert (folder / "kafka.password").read_text().strip() == password
    properties = (folder / "client.properties").read_text()
    for expected in (
        "bootstrap.servers=kafka.example:9093",
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        f'username="hospital-{ORG}" password="{password}"',
        f"ssl.truststore.location={(tmp_path / 'ca.crt').resolve()}",
    ):
        assert expected in properties


async def test_the_password_is_in_no_log_record_and_no_audit_entry(desk, state, broker, caplog):
    caplog.set_level(logging.DEBUG)
    added = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    await desk.disable(ORG, BY, "contract ended")
    enabled = await desk.enable(ORG, BY)
    del broker.passwords[f"hospital-{ORG}"]
    synced = await desk.sync(BY, ORG)
    passwords = [a.password.get_secret_value() for a in (added.access, enabled, *synced.new_access)]
    assert len(set(passwords)) == 3
    assert caplog.records, "the desk logs what it does"
    for record in caplog.records:
        for password in passwords:
            assert password not in record.getMessage()
    for entry in state.audit:
        for password in passwords:
            assert password not in repr(entry)
    assert passwords[0] not in repr(added) and passwords[0] not in repr(added.access)


async def test_a_given_public_key_is_registered_and_no_private_key_is_written(desk, state, tmp_path):
    jwk = public_jwk()
    done = await desk.add(ORG, "RS Contoh", "3273", jwk, BY)
    assert done.private_key_file is None
    assert done.kid == signature.kid_for(ORG, jwk)
    assert state.hospital_keys[done.kid].jwk == jwk
    assert state.audit[0].details["key"] == "given"
    assert not list((tmp_path / "hospitals" / ORG).glob("*.pem"))


async def test_a_private_key_is_never_registered(desk, state):
    private_pem, _ = signature.new_key()
    with pytest.raises(OperatorError, match="private"):
        public_key_from(private_pem)
    with pytest.raises(OperatorError, match="private"):
        await desk.add(ORG, "RS Contoh", "3273", {**public_jwk(), "d": "c2VjcmV0"}, BY)
    assert not state.hospitals and not state.audit


async def test_adding_a_registered_hospital_again_is_refused(desk, state, broker):
    first = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    with pytest.raises(OperatorError, match="registered already"):
        await desk.add(ORG, "RS Lain", "3171", None, BY)
    assert state.hospitals[ORG].name == "RS Contoh"
    assert len(state.audit) == 1 and len(state.hospital_keys) == 1
    assert broker.passwords[f"hospital-{ORG}"] == first.access.password


@pytest.mark.parametrize(
    ("org", "name", "regency", "problem"),
    [
        ("10327/0099", "RS", "3273", "organisation id"),
        ("dlq", "RS", "3273", "organisation id"),
        ("-1032", "RS", "3273", "organisation id"),
        (ORG, "RS", "327", "regency"),
        (ORG, "RS", "9999", "regency"),
        (ORG, "   ", "3273", "name"),
        (ORG, "RS\x1b[31m", "3273", "name"),
    ],
)
async def test_invalid_input_is_refused_before_anything_is_done(desk, state, broker, org, name, regency, problem):
    with pytest.raises(OperatorError, match=problem):
        await desk.add(org, name, regency, None, BY)
    assert not state.hospitals and not state.audit and not broker.topics and not broker.passwords


async def test_a_broker_down_after_the_commit_is_repaired_by_sync(desk, state, broker, tmp_path):
    broker.down = True
    with pytest.raises(BrokerUnavailable, match=f"hub hospitals sync {ORG}"):
        await desk.add(ORG, "RS Contoh", "3273", None, BY)
    assert state.hospitals[ORG].active and [e.action for e in state.audit] == ["hospitals.add"]
    assert (tmp_path / "hospitals" / ORG / "signing-key.pem").is_file(), "the generated key is not lost"
    with pytest.raises(OperatorError, match="registered already"):
        await desk.add(ORG, "RS Contoh", "3273", None, BY)
    broker.down = False
    report = await desk.sync(BY, ORG)
    assert report.active == [ORG] and [a.org_id for a in report.new_access] == [ORG]
    assert broker.passwords[f"hospital-{ORG}"] == report.new_access[0].password
    stored = (tmp_path / "hospitals" / ORG / "kafka.password").read_text().strip()
    assert stored == report.new_access[0].password.get_secret_value()
    assert broker.permits(
        principal(f"hospital-{ORG}"), Resource.TOPIC, Topics("t.").notifications_of(ORG), Operation.WRITE
    )
    assert state.audit[-1].action == "hospitals.sync" and state.audit[-1].subject == ORG


async def test_disable_removes_the_kafka_user_and_every_acl_at_once(desk, state, broker):
    await desk.add(ORG, "RS Contoh", "3273", None, BY)
    other = await desk.add("1032730100", "RS Lain", "3273", None, BY)
    removed = await desk.disable(ORG, BY, "contract ended")
    me = principal(f"hospital-{ORG}")
    assert removed == len(hospital_acls(Topics("t."), ORG))
    assert not state.hospitals[ORG].active
    assert await broker.acls_of(me) == []
    assert f"hospital-{ORG}" not in broker.passwords
    assert not broker.permits(me, Resource.TOPIC, Topics("t.").notifications_of(ORG), Operation.WRITE)
    assert not broker.permits(me, Resource.TOPIC, Topics("t.").results_of(ORG), Operation.READ)
    assert broker.passwords["hospital-1032730100"] == other.access.password, "another hospital keeps its access"
    entry = state.audit[-1]
    assert (entry.action, entry.subject, entry.reason, entry.actor) == ("hospitals.disable", ORG, "contract ended", BY)


async def test_disable_needs_a_reason_a_known_hospital_and_an_active_one(desk, state):
    await desk.add(ORG, "RS Contoh", "3273", None, BY)
    with pytest.raises(OperatorError, match="why"):
        await desk.disable(ORG, BY, " ")
    with pytest.raises(OperatorError, match="no hospital"):
        await desk.disable("1032730100", BY, "typo")
    await desk.disable(ORG, BY, "contract ended")
    with pytest.raises(OperatorError, match="disabled already"):
        await desk.disable(ORG, BY, "again")
    assert [e.action for e in state.audit] == ["hospitals.add", "hospitals.disable"]


async def test_enable_gives_a_new_password_and_the_acls_back(desk, state, broker):
    added = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    await desk.disable(ORG, BY, "paused")
    access = await desk.enable(ORG, BY)
    assert state.hospitals[ORG].active
    assert access.password != added.access.password
    assert broker.passwords[f"hospital-{ORG}"] == access.password
    assert await broker.acls_of(principal(f"hospital-{ORG}")) == sorted(hospital_acls(Topics("t."), ORG))
    assert state.audit[-1].action == "hospitals.enable"
    with pytest.raises(OperatorError, match="active already"):
        await desk.enable(ORG, BY)


async def test_rotation_keeps_the_old_key_valid_for_the_overlap_only(desk, state, clock):
    first = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    clock.now = START + timedelta(days=30)
    rotated = await desk.rotate_key(ORG, None, timedelta(hours=24), BY)
    old, new = state.hospital_keys[first.kid], state.hospital_keys[rotated.kid]
    until = clock.now + timedelta(hours=24)
    assert rotated.retired == 1 and rotated.old_keys_valid_until == until
    assert old.valid_until == until and new.valid_from == clock.now and new.valid_until is None
    assert old.valid_at(until - timedelta(seconds=1)) and not old.valid_at(until)
    assert new.valid_at(clock.now) and new.valid_at(until + timedelta(days=365))
    assert rotated.private_key_file is not None and rotated.private_key_file.name == "signing-key.pem"
    entry = state.audit[-1]
    assert (entry.action, entry.subject) == ("hospitals.rotate-key", ORG)
    assert entry.details["kid"] == rotated.kid and entry.details["retired"] == 1


async def test_rotation_with_a_given_key_and_no_overlap(desk, state, clock):
    first = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    jwk = public_jwk()
    rotated = await desk.rotate_key(ORG, jwk, timedelta(0), BY)
    assert rotated.kid == signature.kid_for(ORG, jwk) and rotated.private_key_file is None
    assert not state.hospital_keys[first.kid].valid_at(clock.now)
    with pytest.raises(OperatorError, match="registered already"):
        await desk.rotate_key(ORG, jwk, timedelta(0), BY)
    with pytest.raises(OperatorError, match="no hospital"):
        await desk.rotate_key("1032730100", None, timedelta(0), BY)
    with pytest.raises(OperatorError, match="negative"):
        await desk.rotate_key(ORG, None, timedelta(hours=-1), BY)


async def test_a_revoked_key_is_refused_from_then_on(desk, state, clock):
    first = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    clock.now = START + timedelta(hours=1)
    key, still_valid = await desk.revoke_key(first.kid, BY, "laptop stolen")
    assert key.kid == first.kid and still_valid == 0
    assert not state.hospital_keys[first.kid].valid_at(clock.now)
    assert state.hospital_keys[first.kid].valid_at(START), "replay still verifies what was signed before"
    entry = state.audit[-1]
    assert (entry.action, entry.subject, entry.reason) == ("hospitals.revoke-key", first.kid, "laptop stolen")
    assert entry.details == {"org_id": ORG, "from": clock.now.isoformat()}
    with pytest.raises(OperatorError, match="revoked already"):
        await desk.revoke_key(first.kid, BY, "again")
    with pytest.raises(OperatorError, match="no signing key"):
        await desk.revoke_key(f"{ORG}:unknown", BY, "typo")
    with pytest.raises(OperatorError, match="why"):
        await desk.revoke_key(first.kid, BY, "")


async def test_a_leaked_key_is_refused_from_when_it_leaked(desk, state, clock):
    first = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    leaked = START + timedelta(minutes=10)
    clock.now = START + timedelta(hours=1)
    with pytest.raises(OperatorError, match="future"):
        await desk.revoke_key(first.kid, BY, "leaked", since=clock.now + timedelta(minutes=1))
    await desk.revoke_key(first.kid, BY, "leaked", since=leaked)
    key = state.hospital_keys[first.kid]
    assert key.valid_at(leaked - timedelta(seconds=1)) and not key.valid_at(leaked + timedelta(seconds=1))
    assert state.audit[-1].details == {"org_id": ORG, "from": leaked.isoformat()}


async def test_sync_makes_the_broker_follow_the_directory(desk, state, broker):
    await desk.add(ORG, "RS Contoh", "3273", None, BY)
    await desk.add("1032730100", "RS Lain", "3273", None, BY)
    await desk.disable("1032730100", BY, "closed")
    broker.topics.clear()
    broker.acls.clear()
    broker.passwords.clear()  # a rebuilt broker
    report = await desk.sync(BY)
    assert report.active == [ORG] and report.cut_off == ["1032730100"]
    assert [a.org_id for a in report.new_access] == [ORG]
    assert sorted(report.topics_created) == sorted(Topics("t.").of_hospital(ORG))
    assert await broker.acls_of(principal(f"hospital-{ORG}")) == sorted(hospital_acls(Topics("t."), ORG))
    assert await broker.acls_of(principal("hospital-1032730100")) == []
    assert await broker.users() == [f"hospital-{ORG}"]
    assert broker.permits("User:hub", Resource.TOPIC, Topics("t.").notifications_of(ORG), Operation.READ)
    assert broker.permits("User:hub-relay", Resource.TOPIC, Topics("t.").results_of(ORG), Operation.WRITE)
    again = await desk.sync(BY)
    assert again.new_access == [] and again.topics_created == [], "nothing to do the second time"
    assert [e.action for e in state.audit[-2:]] == ["hospitals.sync", "hospitals.sync"]


async def test_listing_shows_keys_and_kafka_users_and_survives_a_broker_outage(desk, broker):
    added = await desk.add(ORG, "RS Contoh", "3273", None, BY)
    await desk.add("1032730100", "RS Lain", "3171", None, BY)
    await desk.disable("1032730100", BY, "closed")
    listed = await desk.listed()
    assert [(s.hospital.org_id, s.hospital.active, s.kafka_user) for s in listed] == [
        (ORG, True, True),
        ("1032730100", False, False),
    ]
    assert [k.kid for k in listed[0].keys] == [added.kid]
    broker.down = True
    assert [s.kafka_user for s in await desk.listed()] == [None, None]
