"""Documents end to end: a hospital publishes births and gets back the signed akta and family card;
a verifier checks the PAdES signature (pyHanko's validator) and the QR decoded from the rendered
page (zxing-cpp) against the published keys and the status list the running hub serves; an officer
corrects a name with `hub documents correct` and revokes with `hub documents revoke`, and the old
QR then verifies as superseded or revoked. Runs once per civil-registry adapter."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from dataclasses import replace

import asyncpg
import httpx
import pytest

from hub.adapters.signing.pki import ca_certificate
from hub.devtools.simulation.bundles import build_notification
from hub.documents.qr import AktaFacts
from hub.documents.trust import TrustList
from hub.domain.documents import DocumentStatus
from hub.service.verification import verify_offline
from tests.support.documents import documents_of, free_port, pdf_text, qr_from_pdf, signature_report
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, numbers_of, publish, status_of
from tests.support.people import birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
HOSPITAL = "103578001"
FAMILIES = 30
STATUS_LIST_CACHE = 1.2


@pytest.fixture(scope="module")
def verify_url(environment):
    port = free_port()
    # Status lists are cached for half their TTL: 1 s here, so a change shows after a short wait.
    environment.extra.update(
        HUB_VERIFY_PORT=str(port), HUB_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", HUB_STATUS_LIST_TTL_SECONDS="2"
    )
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def hub(environment, verify_url, tmp_path_factory):
    process = HubProcess(environment.env(), tmp_path_factory.mktemp("hub") / "hub.log")
    process.start()
    yield process
    if process.process.poll() is None:
        process.stop()


@pytest.fixture(scope="module")
def trust(environment, hub, verify_url) -> TrustList:
    return TrustList.from_json(httpx.get(f"{verify_url}/keys", timeout=10).json())


@pytest.fixture(scope="module")
async def births(environment, hub):
    """A singleton, twins, a stillbirth and a case for review, and the results they got."""
    h = await households(environment.settings.dsn, 6)
    twins = f"TWINS-{uuid.uuid4().hex[:8]}"
    specs = {
        "single": birth(h[0], HOSPITAL),
        "twin-1": birth(h[1], HOSPITAL, encounter_id=twins, birth_order=1, plurality=2),
        "twin-2": birth(h[1], HOSPITAL, encounter_id=twins, birth_order=2, plurality=2),
        "still": birth(h[2], HOSPITAL, stillborn=True, weight_g=900, gestational_weeks=26),
        "review": birth(replace(h[3], mother=replace(h[3].mother, name="Nama Berbeda Sekali")), HOSPITAL),
    }
    await publish(
        environment.settings.kafka_bootstrap,
        environment.settings.topics.notifications,
        [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs.values()],
    )
    ids = {name: spec.message_id for name, spec in specs.items()}
    topics = environment.settings.topics
    got = await collect(
        environment.settings.kafka_bootstrap,
        [topics.results, topics.documents_issued],
        until=lambda c: set(ids.values()) <= set(c.results_by_message(topics)),
        timeout=90,
    )
    by_message = got.results_by_message(topics)
    return {name: by_message[mid][0].json() for name, mid in ids.items()}, ids, got


async def test_a_registration_is_answered_with_the_signed_akta_and_family_card(births, environment):
    results, _, _ = births
    for name in ("single", "twin-1", "twin-2"):
        attached = documents_of(results[name])
        assert status_of(results[name]) == "registered"
        assert sorted(d.kind for d in attached) == ["akta-kelahiran", "kartu-keluarga"]
        numbers = numbers_of(results[name])
        akta = next(d for d in attached if d.kind == "akta-kelahiran")
        assert akta.number == numbers["akta-number"] and akta.version == 1
        assert numbers["nik"] in pdf_text(akta.pdf)
        card = next(d for d in attached if d.kind == "kartu-keluarga")
        assert card.number == numbers["kk-number"] and numbers["nik"] in pdf_text(card.pdf)
    for name in ("still", "review"):
        assert documents_of(results[name]) == [], f"{name} must get no document"


async def test_each_pdf_carries_a_pades_signature_a_validator_accepts(births, environment):
    results, _, _ = births
    root = ca_certificate(environment.settings.pki_dir)
    for document in documents_of(results["single"]):
        report = await signature_report(document.pdf, root)
        assert report.intact and report.valid and report.trusted, report


async def test_the_qr_on_the_page_verifies_offline_and_names_the_child(births, trust, verify_url):
    results, _, _ = births
    akta = next(d for d in documents_of(results["single"]) if d.kind == "akta-kelahiran")
    (payload,) = qr_from_pdf(akta.pdf)
    assert payload == akta.qr_payload
    verdict = verify_offline(payload, trust)
    assert verdict.accepted, verdict.headline()
    assert isinstance(verdict.check.claims.facts, AktaFacts)
    assert verdict.check.claims.facts.child_nik == numbers_of(results["single"])["nik"]
    tampered = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    assert not verify_offline(tampered, trust).check.valid


async def test_the_second_twin_supersedes_the_first_twins_family_card(births, trust):
    """The twin registered second (with an external registry, sagas may finish in either order)
    joins the later card version, and that card supersedes the earlier one."""
    results, _, _ = births
    first, second = sorted(
        (next(d for d in documents_of(results[twin]) if d.kind == "kartu-keluarga") for twin in ("twin-1", "twin-2")),
        key=lambda d: d.version,
    )
    assert second.version == first.version + 1 and second.replaces == first.document_id
    assert verify_offline(first.qr_payload, trust).status is DocumentStatus.SUPERSEDED
    assert verify_offline(second.qr_payload, trust).status is DocumentStatus.ACTIVE


async def test_a_resent_message_id_gets_the_same_documents_byte_for_byte(births, environment):
    _results, ids, got = births
    async with _conn(environment) as conn:
        spec_bytes = await conn.fetchval(
            "SELECT value FROM outbox WHERE headers->>'correlation-id' = $1 AND topic = $2 ORDER BY id LIMIT 1",
            ids["single"],
            environment.settings.topics.results_of(HOSPITAL),
        )
    first = next(r for r in got.on(environment.settings.topics.results) if r.headers["correlation-id"] == ids["single"])
    assert first.value == bytes(spec_bytes)
    notification = await _notification_of(environment, ids["single"])
    await publish(
        environment.settings.kafka_bootstrap, environment.settings.topics.notifications, [(b"again", notification)]
    )
    topics = environment.settings.topics
    again = await collect(
        environment.settings.kafka_bootstrap,
        [topics.results],
        until=lambda c: len(c.results_by_message(topics).get(ids["single"], [])) >= 2,
        timeout=60,
    )
    copies = again.results_by_message(topics)[ids["single"]]
    assert len(copies) == 2 and copies[0].value == copies[1].value


async def test_a_correction_reissues_both_documents_and_supersedes_the_old_ones(births, environment, trust):
    results, ids, _ = births
    old = {d.kind: d for d in documents_of(results["single"])}
    akta_number = old["akta-kelahiran"].number
    _hub_cli(
        environment,
        "documents",
        "correct",
        akta_number,
        "--child-name",
        "Nama Yang Dibetulkan",
        "--reason",
        "request 42",
    )
    topics = environment.settings.topics
    got = await collect(
        environment.settings.kafka_bootstrap,
        [topics.results],
        until=lambda c: (
            len(c.results_by_message(topics).get(ids["single"], [])) >= 2
            and any(d.version > 1 for r in c.results_by_message(topics)[ids["single"]] for d in documents_of(r.json()))
        ),
        timeout=60,
    )
    newest = [
        r.json()
        for r in got.results_by_message(topics)[ids["single"]]
        if any(d.version > 1 for d in documents_of(r.json()))
    ][-1]
    new = {d.kind: d for d in documents_of(newest)}
    assert new["akta-kelahiran"].version == 2 and new["akta-kelahiran"].replaces == old["akta-kelahiran"].document_id
    assert new["kartu-keluarga"].replaces == old["kartu-keluarga"].document_id
    assert "Nama Yang Dibetulkan" in pdf_text(new["akta-kelahiran"].pdf)
    assert "Nama Yang Dibetulkan" in pdf_text(new["kartu-keluarga"].pdf)
    await asyncio.sleep(STATUS_LIST_CACHE)
    assert verify_offline(old["akta-kelahiran"].qr_payload, trust).status is DocumentStatus.SUPERSEDED
    assert verify_offline(new["akta-kelahiran"].qr_payload, trust).accepted
    shown = json.loads(_hub_cli(environment, "status", akta_number, "--json").stdout)
    aktas = [(d["version"], d["status"]) for t in shown for d in t["documents"] if d["kind"] == "akta-kelahiran"]
    assert aktas == [(1, "superseded"), (2, "active")]
    assert [(j["reason"], j["state"]) for t in shown for j in t["document_jobs"]] == [
        ("registration", "done"),
        ("correction", "done"),
    ]


async def test_a_revoked_document_verifies_as_revoked_on_the_cli_and_the_public_page(
    births, environment, trust, verify_url, tmp_path
):
    results, _, _ = births
    akta = next(d for d in documents_of(results["twin-2"]) if d.kind == "akta-kelahiran")
    pdf = tmp_path / "akta.pdf"
    pdf.write_bytes(akta.pdf)
    before = _hub_cli(environment, "documents", "verify", str(pdf), "--keys", f"{verify_url}/keys", check=False)
    assert before.returncode == 0, before.stdout + before.stderr
    _hub_cli(environment, "documents", "revoke", akta.document_id, "--reason", "issued in error")
    await asyncio.sleep(STATUS_LIST_CACHE)
    after = _hub_cli(environment, "documents", "verify", str(pdf), "--keys", f"{verify_url}/keys", check=False)
    assert after.returncode == 1 and "revoked" in after.stdout
    page = httpx.post(f"{verify_url}/verify", data={"payload": akta.qr_payload}, timeout=10)
    assert page.status_code == 200 and "revoked" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    api = httpx.post(f"{verify_url}/api/verify", json={"payload": akta.qr_payload}, timeout=10).json()
    assert api["valid"] and api["status"] == "revoked" and not api["accepted"]
    upload = httpx.post(f"{verify_url}/verify", files={"file": ("akta.pdf", akta.pdf, "application/pdf")}, timeout=30)
    assert "revoked" in upload.text


def _hub_cli(environment, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "hub.entrypoints.cli", *args],
        check=False,
        env=environment.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


class _conn:
    def __init__(self, environment) -> None:
        self._dsn = environment.settings.dsn

    async def __aenter__(self) -> asyncpg.Connection:
        self._c = await asyncpg.connect(self._dsn)
        return self._c

    async def __aexit__(self, *exc) -> None:
        await self._c.close()


async def _notification_of(environment, message_id: str) -> bytes:
    async with _conn(environment) as conn:
        row = await conn.fetchrow('SELECT topic, partition, "offset" FROM inbox WHERE message_id = $1', message_id)
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from tests.support.kafka import client

    consumer = AIOKafkaConsumer(**client(environment.settings.kafka_bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(row["topic"], row["partition"])
        consumer.assign([partition])
        consumer.seek(partition, row["offset"])
        record = await consumer.getone()
        return record.value
    finally:
        await consumer.stop()
