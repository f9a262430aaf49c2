"""`hub sign` and `hub example --signed` through the command line (typer's CliRunner), on the fakes:
what they print verifies with the hospital's registered key, over exactly the bytes meant."""

from __future__ import annotations

import contextlib
import json

import pytest
from typer.testing import CliRunner

from hub import bootstrap
from hub.devtools.simulation import sample
from hub.devtools.simulation.sample import Sample
from hub.domain.values import Hospital
from hub.entrypoints.cli import app
from hub.intake import signature
from hub.service.hospitals import ClientProfile, HospitalDesk, HubPrincipals
from tests.fakes import FakeBrokerAccess, FakeState, FakeUnitOfWork

ORG = "1032730044"
NIK = "3273014101950001"
RAW = b'{"resourceType":"Bundle","type":"message"}\n'


def verifies(raw: bytes, value: str, jwk: dict) -> bool:
    parsed = signature.parse(value)
    return isinstance(parsed, signature.Parsed) and signature.verify(raw, parsed, jwk)


@pytest.fixture
def key_pair(tmp_path):
    private_pem, jwk = signature.new_key()
    path = tmp_path / "signing-key.pem"
    path.write_bytes(private_pem)
    return path, jwk


def test_sign_prints_the_header_value_over_the_file_byte_for_byte(key_pair, tmp_path):
    key, jwk = key_pair
    message = tmp_path / "notification.json"
    message.write_bytes(RAW)
    done = CliRunner().invoke(app, ["sign", "--key", str(key), "--kid", f"{ORG}:abc", str(message)])
    assert done.exit_code == 0, done.output
    value = done.stdout.strip()
    assert signature.parse(value).kid == f"{ORG}:abc"  # type: ignore[union-attr]
    assert verifies(RAW, value, jwk)
    assert not verifies(RAW.rstrip(b"\n"), value, jwk), "the trailing newline is part of what was signed"


def test_sign_reads_standard_input_when_no_file_is_given(key_pair):
    key, jwk = key_pair
    done = CliRunner().invoke(app, ["sign", "--key", str(key), "--kid", "k1"], input=RAW)
    assert done.exit_code == 0, done.output
    assert verifies(RAW, done.stdout.strip(), jwk)


@pytest.mark.parametrize("kid", ["", "with space", "x" * 129])
def test_sign_refuses_a_key_id_the_hub_cannot_carry(key_pair, kid):
    key, _ = key_pair
    done = CliRunner().invoke(app, ["sign", "--key", str(key), "--kid", kid], input=RAW)
    assert done.exit_code == 2 and "key id" in done.output


def test_sign_refuses_what_is_not_a_p256_private_key_without_quoting_it(tmp_path):
    public = tmp_path / "public.pem"
    public.write_text("-----BEGIN PUBLIC KEY-----\nc2VjcmV0LWxvb2tpbmc=\n-----END PUBLIC KEY-----\n")
    done = CliRunner().invoke(app, ["sign", "--key", str(public), "--kid", "k1"], input=RAW)
    assert done.exit_code == 2 and "private key" in done.output
    assert "c2VjcmV0" not in done.output


@pytest.fixture
def state() -> FakeState:
    found = FakeState()
    found.hospitals[ORG] = Hospital(ORG, "RS Sintetis 3273-4", "3273", True)
    return found


@pytest.fixture
def example_on_fakes(monkeypatch, state):
    """`hub example` without a database: the sample comes from here, the desk is on the fakes."""
    asked: list[tuple[str, str | None]] = []

    async def fake_sample(settings, kind, hospital_id=None):
        asked.append((kind, hospital_id))
        document = {"resourceType": "Bundle", "type": "message", "id": "x-1", "note": "Bayi Ny. Ümi"}
        return Sample(NIK[:4], hospital_id or ORG, document)

    @contextlib.asynccontextmanager
    async def on_fakes(settings):
        yield HospitalDesk(
            lambda: FakeUnitOfWork(state),
            FakeBrokerAccess(),
            settings.topics,
            state.clock,
            regency_known=lambda code: True,
            profile=ClientProfile("kafka.example:9093", settings.kafka_ca_file),
            hub=HubPrincipals("hub", "hub-relay", "hub"),
            secrets_dir=settings.hospital_secrets_dir,
            partitions=1,
        )

    monkeypatch.setattr(sample, "sample_notification", fake_sample)
    monkeypatch.setattr(bootstrap, "hospital_desk", on_fakes)
    return asked


def example(tmp_path, *args: str):
    env = {"HUB_HOSPITAL_SECRETS_DIR": str(tmp_path / "hospitals")}
    return CliRunner().invoke(app, ["example", *args], env=env)


def test_example_signed_prints_key_signature_and_the_json_it_covers(example_on_fakes, state, tmp_path):
    done = example(tmp_path, "--signed", "--hospital", ORG)
    assert done.exit_code == 0, done.output
    line = done.stdout.removesuffix("\n")
    assert "\n" not in line
    key, value, text = line.split("\t")
    assert key == NIK[:4] and json.loads(text)["id"] == "x-1"
    parsed = signature.parse(value)
    assert isinstance(parsed, signature.Parsed)
    registered = state.hospital_keys[parsed.kid]
    assert registered.org_id == ORG
    assert verifies(text.encode(), value, registered.jwk), "over the JSON exactly as printed"
    assert example_on_fakes == [("valid", ORG)]
    assert (tmp_path / "hospitals" / ORG / "kafka.password").exists(), "the seeded hospital was onboarded"


def test_example_signs_as_the_hospital_the_sample_came_from(example_on_fakes, state, tmp_path):
    done = example(tmp_path, "--signed", "--kind", "twin")
    assert done.exit_code == 0, done.output
    _, value, _ = done.stdout.strip().split("\t")
    assert signature.parse(value).kid.startswith(f"{ORG}:")  # type: ignore[union-attr]
    assert example_on_fakes == [("twin", None)]


def test_example_signed_refuses_a_hospital_it_cannot_act_as(example_on_fakes, state, tmp_path):
    state.hospitals[ORG] = Hospital(ORG, "RS Tutup", "3273", False)
    done = example(tmp_path, "--signed", "--hospital", ORG)
    assert done.exit_code == 2 and "disabled" in done.output
    assert done.stdout == ""


def test_example_without_signing_prints_as_before(example_on_fakes, tmp_path):
    plain = example(tmp_path)
    keyed = example(tmp_path, "--with-key")
    assert plain.exit_code == keyed.exit_code == 0
    assert json.loads(plain.stdout)["id"] == "x-1"
    key, text = keyed.stdout.strip().split("\t")
    assert key == NIK[:4] and json.loads(text)["id"] == "x-1"
    assert not (tmp_path / "hospitals").exists(), "nothing onboarded when nothing is signed"
