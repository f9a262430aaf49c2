"""Documents under faults: the hub signs through the remote signing service (the reference server
with injected errors, timeouts and lost answers), and is killed with SIGKILL while it produces
documents. Every registration still gets exactly one set of documents, each delivered to the
hospital with a result, and every PDF's signature holds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import asyncpg
import pytest

from hub.devtools.siak.server_faults import Faults
from hub.devtools.simulation.bundles import build_notification
from tests.support.documents import documents_of, signature_report
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, publish, status_of
from tests.support.people import birth, households
from tests.support.signer_process import MemorySigner, SignerServer

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
REGISTRIES = ("embedded",)
HOSPITAL = "103578001"
FAMILIES = 40


@pytest.fixture(scope="module")
def signer():
    backing = MemorySigner()
    server = SignerServer(
        backing, Faults(error_rate=0.3, timeout_rate=0.1, timeout_sleep_s=1.5, drop_after_write_rate=0.1, seed=7)
    )
    server.start()
    yield backing, server
    server.stop()


def _hub(environment, signer, tmp_path_factory) -> HubProcess:
    _, server = signer
    env = environment.env(
        HUB_SIGNER="remote",
        HUB_SIGNER_URL=server.url,
        HUB_SIGNER_TIMEOUT_SECONDS="1",
        HUB_SIGNER_RETRIES="2",
        HUB_SIGNER_BREAKER_RESET_SECONDS="1",
        HUB_DOCUMENT_RETRY_MAX_SECONDS="1",
    )
    return HubProcess(env, tmp_path_factory.mktemp("hub") / "hub.log")


async def _publish_births(environment, households_, count: int) -> list[str]:
    specs = [birth(h, HOSPITAL) for h in households_[:count]]
    await publish(
        environment.settings.kafka_bootstrap,
        environment.settings.topics.notifications,
        [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs],
    )
    return [s.message_id for s in specs]


async def _results_with_documents(environment, message_ids: list[str], timeout: float):
    topics = environment.settings.topics

    def done(collected) -> bool:
        found = collected.results_by_message(topics)
        return all(any(documents_of(r.json()) for r in found.get(mid, [])) for mid in message_ids)

    got = await collect(environment.settings.kafka_bootstrap, [topics.results], until=done, timeout=timeout)
    return got.results_by_message(topics)


async def _document_rows(environment, message_ids: list[str]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        return await conn.fetch(
            """SELECT message_id, kind, version, count(*) OVER (PARTITION BY message_id) AS per_message
                                   FROM documents WHERE message_id = ANY($1::text[])""",
            message_ids,
        )
    finally:
        await conn.close()


def _exactly_one_set(rows, message_ids: list[str]) -> None:
    assert {r["message_id"] for r in rows} == set(message_ids)
    assert all(r["per_message"] == 2 for r in rows), "each registration: one akta and one family card"
    assert all(r["version"] == 1 for r in rows if r["kind"] == "akta-kelahiran")


@pytest.mark.timeout(300)  # measured up to 31 s; waits up to 180 s for documents through a failing signer
async def test_a_failing_remote_signer_still_yields_exactly_one_signed_set_per_birth(
    environment, signer, tmp_path_factory
):
    backing, server = signer
    hub = _hub(environment, signer, tmp_path_factory)
    hub.start()
    try:
        h = await households(environment.settings.dsn, 10)
        ids = await _publish_births(environment, h, 10)
        found = await _results_with_documents(environment, ids, timeout=180)
    finally:
        hub.stop()
    assert sum(server.stats()["faults_injected"].values()) > 0, "the faults must have happened"
    for mid in ids:
        assert {r.headers["event-id"] for r in found[mid]} == {found[mid][0].headers["event-id"]}
        result = found[mid][0].json()
        assert status_of(result) == "registered"
        root = (await backing.current_key()).certificate_chain[-1]
        for document in documents_of(result):
            report = await signature_report(document.pdf, root)
            assert report.intact and report.valid and report.trusted, report
    _exactly_one_set(await _document_rows(environment, ids), ids)
    shown = subprocess.run(
        [sys.executable, "-m", "hub.entrypoints.cli", "registry", "--json"],
        check=True,
        env=environment.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    jobs = json.loads(shown.stdout)["document_jobs"]
    assert jobs["done"]["count"] == len(ids) and "pending" not in jobs


@pytest.mark.timeout(300)  # measured up to 21 s; two hub starts and a 180 s wait for documents
async def test_kill_9_while_documents_are_made_leaves_exactly_one_set_each(environment, signer, tmp_path_factory):
    _, server = signer
    server.faults(latency_ms=400)
    hub = _hub(environment, signer, tmp_path_factory)
    hub.start()
    h = await households(environment.settings.dsn, 40)
    ids = await _publish_births(environment, h[20:], 8)
    await asyncio.sleep(4)  # registrations committed, documents being signed slowly
    hub.kill_hard()
    server.faults()
    restarted = _hub(environment, signer, tmp_path_factory)
    restarted.start()
    try:
        found = await _results_with_documents(environment, ids, timeout=180)
    finally:
        restarted.stop()
    for mid in ids:
        assert len({r.headers["event-id"] for r in found[mid]}) == 1, (
            "one result per notification (re-sends keep its id)"
        )
    _exactly_one_set(await _document_rows(environment, ids), ids)
