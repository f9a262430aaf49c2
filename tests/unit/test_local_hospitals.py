"""Acting as a hospital of the local registry (hub/devtools/local_hospitals.py), on the fakes: the
secrets folder is read, and what is missing is made through the hospital desk (development)."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from hub import bootstrap
from hub.config import Settings, Topics
from hub.devtools.local_hospitals import LocalHospital, local_hospital
from hub.devtools.service_pki import ServicePki, ensure_service_pki
from hub.domain.values import Hospital, HospitalKey
from hub.errors import OperatorError
from hub.intake import signature
from hub.service.broker_policy import hospital_acls, principal
from hub.service.hospitals import ClientProfile, HospitalDesk, HubPrincipals
from tests.fakes import FakeBrokerAccess, FakeState, FakeUnitOfWork

ORG = "1032730055"
BY = "dev@laptop"
RAW = b'{"resourceType":"Bundle","type":"message"}'


@pytest.fixture
def state() -> FakeState:
    found = FakeState()
    found.hospitals[ORG] = Hospital(ORG, "RS Sintetis 3273-5", "3273", True)  # as `hub seed` stores it
    return found


@pytest.fixture
def broker() -> FakeBrokerAccess:
    return FakeBrokerAccess()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(hospital_secrets_dir=tmp_path / "hospitals", topic_prefix="t.", kafka_bootstrap="kafka.local:9093")


@pytest.fixture
def desks(monkeypatch, state, broker, settings) -> list[HospitalDesk]:
    """Every desk local_hospital opens (bootstrap.hospital_desk on the fakes)."""
    opened: list[HospitalDesk] = []

    @contextlib.asynccontextmanager
    async def on_fakes(given: Settings):
        desk = HospitalDesk(
            lambda: FakeUnitOfWork(state),
            broker,
            given.topics,
            state.clock,
            regency_known=lambda code: code == "3273",
            profile=ClientProfile(given.kafka_bootstrap, given.kafka_ca_file),
            hub=HubPrincipals("hub", "hub-relay", "hub"),
            secrets_dir=given.hospital_secrets_dir,
            partitions=2,
        )
        opened.append(desk)
        yield desk

    monkeypatch.setattr(bootstrap, "hospital_desk", on_fakes)
    return opened


def verifies(hospital: LocalHospital, state: FakeState, raw: bytes = RAW) -> bool:
    ((name, value),) = hospital.headers(raw)
    parsed = signature.parse(value)
    assert name == signature.HEADER and isinstance(parsed, signature.Parsed)
    return signature.verify(raw, parsed, state.hospital_keys[parsed.kid].jwk)


async def test_a_seeded_hospital_is_onboarded_on_first_use(settings, state, broker, desks):
    hospital = await local_hospital(settings, ORG, by=BY)
    topics = Topics("t.")
    assert hospital.onboarded and hospital.username == f"hospital-{ORG}"
    assert broker.passwords[f"hospital-{ORG}"] == hospital.password, "the password the broker knows"
    assert await broker.acls_of(principal(f"hospital-{ORG}")) == sorted(hospital_acls(topics, ORG))
    assert set(topics.of_hospital(ORG)) <= set(broker.topics)
    key = state.hospital_keys[hospital.kid]
    assert key.org_id == ORG and key.valid_at(datetime.now(UTC))
    assert verifies(hospital, state)
    assert [(e.actor, e.action) for e in state.audit] == [(BY, "hospitals.sync"), (BY, "hospitals.rotate-key")]


async def test_the_second_use_reads_the_folder_without_the_desk(settings, state, broker, desks):
    first = await local_hospital(settings, ORG, by=BY)
    again = await local_hospital(settings, ORG, by=BY)
    assert len(desks) == 1, "nothing was missing the second time"
    assert not again.onboarded
    assert (again.password, again.kid, again.private_key_pem) == (first.password, first.kid, first.private_key_pem)
    assert len(state.audit) == 2


async def test_onboarding_says_where_in_one_info_line_and_never_a_secret(settings, state, desks, caplog):
    caplog.set_level(logging.DEBUG)
    hospital = await local_hospital(settings, ORG, by=BY)
    [line] = [r for r in caplog.records if r.name == "hub.local_hospitals"]
    assert line.levelno == logging.INFO
    assert "development" in line.getMessage() and str(settings.hospital_secrets_dir / ORG) in line.getMessage()
    secrets = (hospital.password.get_secret_value(), hospital.private_key_pem.decode())
    for record in caplog.records:
        assert not any(secret in record.getMessage() for secret in secrets), record.getMessage()
    shown = repr(hospital)
    assert not any(secret in shown for secret in secrets) and "BEGIN" not in shown


async def test_without_onboarding_a_missing_secret_is_refused_and_nothing_is_made(settings, state, broker, desks):
    with pytest.raises(OperatorError, match="hub hospitals add"):
        await local_hospital(settings, ORG, onboard=False)
    assert (desks, broker.passwords, state.hospital_keys, state.audit) == ([], {}, {}, [])


async def test_a_key_an_integrator_holds_is_never_replaced(settings, state, broker, desks):
    _, jwk = signature.new_key()
    state.hospital_keys["theirs"] = HospitalKey("theirs", ORG, jwk, datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(OperatorError, match="rotate-key"):
        await local_hospital(settings, ORG, by=BY)
    assert list(state.hospital_keys) == ["theirs"] and state.hospital_keys["theirs"].valid_until is None
    assert broker.passwords == {} and state.audit == [], "checked before anything was made"


async def test_a_kafka_user_whose_password_is_elsewhere_is_never_replaced(settings, state, broker, desks):
    await broker.set_password(f"hospital-{ORG}", SecretStr("known-to-the-integrator-only"))
    before = dict(broker.passwords)
    with pytest.raises(OperatorError, match="enable"):
        await local_hospital(settings, ORG, by=BY)
    assert broker.passwords == before and state.hospital_keys == {} and state.audit == []


async def test_a_lost_key_is_replaced_when_the_hospital_has_no_valid_one(settings, state, broker, desks):
    first = await local_hospital(settings, ORG, by=BY)
    (first.folder / "signing-key.pem").unlink()
    await desks[0].revoke_key(first.kid, BY, "the laptop was lost")
    again = await local_hospital(settings, ORG, by=BY)
    assert again.kid != first.kid and again.password == first.password, "a key only: the Kafka user stays"
    assert broker.passwords[f"hospital-{ORG}"] == first.password
    assert verifies(again, state)
    assert [e.action for e in state.audit][-1] == "hospitals.rotate-key"


async def test_a_lost_key_still_valid_is_refused(settings, state, desks):
    first = await local_hospital(settings, ORG, by=BY)
    (first.folder / "signing-key.kid").unlink()
    with pytest.raises(OperatorError, match=f"rotate-key {ORG} --overlap-hours 0"):
        await local_hospital(settings, ORG, by=BY)


@pytest.mark.parametrize(
    ("org", "found", "expected"),
    [("1032730056", None, "no hospital"), (ORG, False, "disabled"), ("../elsewhere", None, "organisation id")],
)
async def test_only_an_active_registered_hospital_is_acted_as(settings, state, broker, desks, org, found, expected):
    if found is False:
        state.hospitals[ORG] = Hospital(ORG, "RS Tutup", "3273", False)
    with pytest.raises(OperatorError, match=expected):
        await local_hospital(settings, org, by=BY)
    assert broker.passwords == {} and state.audit == []


async def test_the_kafka_client_connects_as_the_hospital_to_the_hospitals_bootstrap(settings, state, desks, tmp_path):
    pki = ServicePki.at(tmp_path / "ca")  # never the developer's own .local/service-tls
    ensure_service_pki(pki)
    hospital = await local_hospital(settings, ORG, by=BY)
    config = settings.model_copy(update={"kafka_ca_file": pki.ca_cert})
    kwargs = hospital.kafka(config)
    assert kwargs["bootstrap_servers"] == "kafka.local:9093"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (
        f"hospital-{ORG}",
        hospital.password.get_secret_value(),
    )
    assert (kwargs["security_protocol"], kwargs["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    told = config.model_copy(update={"hospital_bootstrap": "kafka.public:9094"})
    assert hospital.kafka(told)["bootstrap_servers"] == "kafka.public:9094"


async def test_signing_is_over_exactly_the_bytes(settings, state, desks):
    hospital = await local_hospital(settings, ORG, by=BY)
    parsed = signature.parse(hospital.signature(RAW))
    assert isinstance(parsed, signature.Parsed) and parsed.kid == hospital.kid
    assert not signature.verify(RAW + b"\n", parsed, state.hospital_keys[hospital.kid].jwk)
