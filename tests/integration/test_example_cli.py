"""`hub example` on the real database: a notification from the hospital asked for, signed with the
key its secrets folder holds (prepared here, so no broker is needed)."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from typer.testing import CliRunner

from hub.entrypoints.cli import app
from hub.intake import signature
from hub.intake import vocabulary as v
from hub.intake.envelope import Envelope, open_envelope
from tests.support.trust import ACTIVE

pytestmark = pytest.mark.postgres
ORG = ACTIVE[1]


def _example(environment, tmp_path, *args: str):
    env = environment.env(HUB_HOSPITAL_SECRETS_DIR=str(tmp_path / "hospitals"))
    return CliRunner().invoke(app, ["example", *args], env=env)


@pytest.fixture
def secrets(tmp_path):
    """What `hub hospitals add` leaves for a hospital on a development host."""
    private_pem, jwk = signature.new_key()
    kid = signature.kid_for(ORG, jwk)
    folder = tmp_path / "hospitals" / ORG
    folder.mkdir(parents=True)
    (folder / "kafka.password").write_text("not-used-here\n")
    (folder / "signing-key.pem").write_bytes(private_pem)
    (folder / "signing-key.kid").write_text(kid + "\n")
    return kid, jwk


def test_a_signed_example_comes_from_the_hospital_asked_for(environment, secrets, tmp_path):
    kid, jwk = secrets
    done = _example(environment, tmp_path, "--signed", "--hospital", ORG)
    assert done.exit_code == 0, done.output
    key, value, text = done.stdout.removesuffix("\n").split("\t")
    envelope = open_envelope(text.encode(), max_bytes=1 << 20, max_depth=100)
    assert isinstance(envelope, Envelope) and envelope.hospital_id == ORG
    parsed = signature.parse(value)
    assert isinstance(parsed, signature.Parsed) and parsed.kid == kid
    assert signature.verify(text.encode(), parsed, jwk)
    mothers = [
        i["value"]
        for e in json.loads(text)["entry"]
        if e["resource"]["resourceType"] == "Patient"
        for i in e["resource"].get("identifier", ())
        if i["system"] == v.NIK
    ]
    relationship, kk_number = asyncio.run(_relationship(environment.settings.dsn, mothers[0]))
    assert relationship == "ISTRI", "a mother of the registry"
    assert key == kk_number[:4], "keyed by the regency of her family card"


async def _relationship(dsn: str, nik: str) -> tuple[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT relationship, kk_number FROM persons WHERE nik = $1", nik)
        return row["relationship"], row["kk_number"]
    finally:
        await conn.close()


def test_an_unknown_or_inactive_hospital_is_refused(environment, tmp_path):
    for org in ("999999999", "100000000"):  # never registered; the seed's closed hospital
        done = _example(environment, tmp_path, "--hospital", org)
        assert done.exit_code == 1 and f"no active hospital {org}" in done.output
