"""`hub hospitals` through the command line (typer's CliRunner), on the fakes."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from hub.config import Topics
from hub.entrypoints import ops_hospitals
from hub.entrypoints.cli import app
from hub.intake import signature
from hub.service.broker_policy import principal
from hub.service.hospitals import ClientProfile, HospitalDesk, HubPrincipals
from tests.fakes import FakeBrokerAccess, FakeState, FakeUnitOfWork

ORG = "1032730077"


@pytest.fixture
def state() -> FakeState:
    return FakeState()


@pytest.fixture
def broker() -> FakeBrokerAccess:
    return FakeBrokerAccess()


@pytest.fixture(autouse=True)
def desk_on_fakes(monkeypatch, state, broker, tmp_path):
    @contextlib.asynccontextmanager
    async def on_fakes(settings):
        yield HospitalDesk(
            lambda: FakeUnitOfWork(state),
            broker,
            Topics(),
            state.clock,
            regency_known=lambda code: code == "3273",
            profile=ClientProfile("kafka.example:9093", tmp_path / "ca.crt"),
            hub=HubPrincipals("hub", "hub-relay", "hub"),
            secrets_dir=tmp_path / "hospitals",
            partitions=settings.hospital_partitions,
        )

    monkeypatch.setattr(ops_hospitals, "hospital_desk", on_fakes)


def hub(*args: str):
    return CliRunner().invoke(app, ["hospitals", *args])


def test_add_prints_the_client_configuration_with_the_password_once(state, broker, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    done = hub("add", ORG, "--name", "RS Contoh", "--regency", "3273", "--reason", "pilot")
    assert done.exit_code == 0, done.output
    password = broker.passwords[f"hospital-{ORG}"].get_secret_value()
    assert done.stdout.count(password) == 1
    kid = next(iter(state.hospital_keys))
    for expected in (
        "kafka.example:9093",
        "SASL_SSL",
        "SCRAM-SHA-512",
        f"hospital-{ORG}",
        str((tmp_path / "ca.crt").resolve()),
        Topics().notifications_of(ORG),
        Topics().results_of(ORG),
        kid,
        str(tmp_path / "hospitals" / ORG / "signing-key.pem"),
        str(tmp_path / "hospitals" / ORG / "client.properties"),
    ):
        assert expected in done.stdout, expected
    assert all(password not in record.getMessage() for record in caplog.records)
    assert state.audit[-1].action == "hospitals.add" and state.audit[-1].reason == "pilot"
    assert "@" in state.audit[-1].actor, "the operator as the system knows them"


def test_add_with_the_hospitals_public_key(state, tmp_path):
    private_pem, jwk = signature.new_key()
    key_file = tmp_path / "rs.jwk"
    key_file.write_text(json.dumps(jwk))
    done = hub("add", ORG, "--name", "RS Contoh", "--regency", "3273", "--public-key", str(key_file))
    assert done.exit_code == 0, done.output
    assert list(state.hospital_keys) == [signature.kid_for(ORG, jwk)]
    assert "private signing key" not in done.stdout
    private_file = tmp_path / "private.pem"
    private_file.write_bytes(private_pem)
    refused = hub("add", "1032730078", "--name", "RS", "--regency", "3273", "--public-key", str(private_file))
    assert refused.exit_code == 2 and "private key" in refused.output
    assert private_pem.decode().splitlines()[1] not in refused.output, "the file is never quoted"


def test_refusals_exit_2_and_an_unreachable_broker_1(broker):
    assert hub("add", ORG, "--name", "RS", "--regency", "9999").exit_code == 2
    assert hub("add", ORG, "--name", "RS", "--regency", "3273").exit_code == 0
    again = hub("add", ORG, "--name", "RS", "--regency", "3273")
    assert again.exit_code == 2 and "registered already" in again.output
    broker.down = True
    down = hub("add", "1032730078", "--name", "RS", "--regency", "3273")
    assert down.exit_code == 1 and "unavailable" in down.output
    assert "hub hospitals sync 1032730078" in " ".join(down.output.split())
    broker.down = False
    synced = hub("sync")
    assert synced.exit_code == 0, synced.output
    assert broker.passwords["hospital-1032730078"].get_secret_value() in synced.stdout
    assert "1 new Kafka user" in synced.output


def test_list_as_json(state):
    hub("add", ORG, "--name", "RS Contoh", "--regency", "3273")
    listed = hub("list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert (row["org_id"], row["active"], row["kafka_user"]) == (ORG, True, True)
    assert [k["kid"] for k in row["keys"]] == list(state.hospital_keys)
    assert hub("list").exit_code == 0


def test_disable_needs_a_reason_and_cuts_the_hospital_off(state, broker):
    hub("add", ORG, "--name", "RS Contoh", "--regency", "3273")
    assert hub("disable", ORG).exit_code == 2
    done = hub("disable", ORG, "--reason", "contract ended")
    assert done.exit_code == 0, done.output
    assert not state.hospitals[ORG].active and not broker.passwords
    assert not [a for a in broker.acls if a.principal == principal(f"hospital-{ORG}")]
    enabled = hub("enable", ORG)
    assert enabled.exit_code == 0 and broker.passwords[f"hospital-{ORG}"].get_secret_value() in enabled.stdout


def test_rotate_and_revoke_keys(state):
    hub("add", ORG, "--name", "RS Contoh", "--regency", "3273")
    [first] = list(state.hospital_keys)
    rotated = hub("rotate-key", ORG, "--overlap-hours", "2")
    assert rotated.exit_code == 0, rotated.output
    new = state.hospital_keys[next(k for k in state.hospital_keys if k != first)]
    assert state.hospital_keys[first].valid_until == new.valid_from + timedelta(hours=2)
    assert "signing-key.pem" in rotated.stdout
    assert hub("revoke-key", first).exit_code == 2, "a reason is needed"
    revoked = hub("revoke-key", new.kid, "--reason", "leaked")
    assert revoked.exit_code == 0, revoked.output
    assert state.hospital_keys[new.kid].revoked_at is not None
    assert state.audit[-1].action == "hospitals.revoke-key"


def test_help_says_what_each_command_does():
    done = hub("--help")
    assert done.exit_code == 0
    for command in ("add", "list", "disable", "enable", "rotate-key", "revoke-key", "sync"):
        assert command in done.output
