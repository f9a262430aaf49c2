"""Issuing, correcting and revoking documents with in-memory ports and the local signer: the result
waits for its documents, exactly one set per job, retries when the signer is away, twins' family
cards in order, re-sends while documents are made, corrections supersede, revocation is audited."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hub.adapters.signing.local import LocalSigner
from hub.adapters.signing.pki import ca_certificate, ensure_keys
from hub.documents.pades import async_validate_pdf
from hub.documents.qr import verify_payload
from hub.documents.trust import TrustList
from hub.domain.documents import Correction, DocumentKind, DocumentStatus, StatusCode
from hub.errors import OperatorError, SignerUnavailable
from hub.service.document_desk import DocumentDesk
from hub.service.documents import DocumentWorker
from hub.service.documents_content import Issuer
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.register_birth import RegisterBirths
from tests.fakes import FakeState, FakeUnitOfWork
from tests.support.documents import documents_of, pdf_text
from tests.unit.test_register_births import NOW, RESULTS, TOPICS, _population, at, first_birth, raw

ISSUER = Issuer(
    {"3273": "Kota Bandung", "32": "Jawa Barat", "327301": "Sukasari"}.get,
    "Pejabat Uji",
    "http://verify.test",
)
PIPELINE = Pipeline(TOPICS, IntakeLimits(512 * 1024, 32, True), lambda _: True, issuer=ISSUER)


class FlakySigner:
    """The local signer, unavailable while `down` is set."""

    def __init__(self, inner: LocalSigner) -> None:
        self.inner, self.down = inner, False

    async def current_key(self):
        return await self.inner.current_key()

    async def published_keys(self):
        return await self.inner.published_keys()

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        if self.down:
            raise SignerUnavailable("signing service down")
        return await self.inner.sign_digest(digest, kid=kid, idempotency_key=idempotency_key)


@pytest.fixture
def world(tmp_path):
    state = FakeState()
    mother, father = _population(state)
    ensure_keys(tmp_path)
    signer = FlakySigner(LocalSigner(tmp_path))
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    handler = RegisterBirths(uow, PIPELINE, lambda: NOW)
    # The worker signs now: the development key was made today, documents dated NOW would predate it.
    worker = DocumentWorker(uow, signer, ISSUER, TOPICS, lambda: datetime.now(UTC), retry_initial=0.1, retry_max=1)
    spec = first_birth(mother, father)
    return state, handler, worker, signer, spec, tmp_path


def _results(state: FakeState) -> list[dict]:
    return [json.loads(m.value) for m in state.outbox if m.topic == RESULTS]


async def test_the_result_waits_for_the_documents_and_carries_both_signed_pdfs(world):
    state, handler, worker, signer, spec, pki = world
    await handler.handle(raw(spec), at(1))
    assert _results(state) == [] and len(state.document_jobs) == 1
    assert [m.topic for m in state.outbox] == [TOPICS.births_registered, TOPICS.family_cards]
    assert await worker.run_one() == spec.message_id
    (result,) = _results(state)
    attached = documents_of(result)
    assert sorted(d.kind for d in attached) == ["akta-kelahiran", "kartu-keluarga"]
    trust = TrustList.from_signing_keys(await signer.published_keys())
    for document in attached:
        report = await async_validate_pdf(document.pdf, [ca_certificate(pki)])
        assert report.intact and report.valid and report.trusted
        assert verify_payload(document.qr_payload, trust).valid
    assert "Tari Halim" in pdf_text(attached[0].pdf)
    assert [m.topic for m in state.outbox].count(TOPICS.documents_issued) == 1
    assert await worker.run_one() is None, "a finished job is not done twice"


async def test_an_unavailable_signer_keeps_nothing_and_retries_later(world):
    state, handler, worker, signer, spec, _ = world
    await handler.handle(raw(spec), at(1))
    signer.down = True
    assert await worker.run_one() == spec.message_id
    (job,) = state.document_jobs
    assert job["state"] == "pending" and job["attempts"] == 1 and job["next_attempt_at"] > datetime.now(UTC)
    assert state.documents == [] and _results(state) == []
    signer.down = False
    state.document_jobs[0]["next_attempt_at"] = datetime.now(UTC)
    assert await worker.run_one() == spec.message_id
    assert len(state.documents) == 2 and len(_results(state)) == 1


async def test_twins_family_cards_are_issued_in_birth_order_and_the_second_supersedes_the_first(world):
    state, handler, worker, _, spec, _ = world
    first = replace(spec, birth_order=1, plurality=2, message_id=str(uuid.uuid4()))
    second = replace(spec, birth_order=2, plurality=2, message_id=str(uuid.uuid4()), child_name="Tara Halim")
    await handler.handle_batch([(raw(first), at(1)), (raw(second), at(2))])
    await worker.run_one()
    await worker.run_one()
    cards = sorted((d for d in state.documents if d.ref.kind is DocumentKind.KK), key=lambda d: d.ref.version)
    assert [d.message_id for d in cards] == [first.message_id, second.message_id]
    assert [d.ref.status for d in cards] == [DocumentStatus.SUPERSEDED, DocumentStatus.ACTIVE]
    assert cards[1].supersedes == cards[0].ref.document_id


async def test_a_message_id_resent_while_documents_are_made_gets_the_result_when_they_are(world):
    state, handler, worker, _, spec, _ = world
    await handler.handle(raw(spec), at(1))
    await handler.handle(raw(spec), at(2))
    assert _results(state) == [] and state.document_jobs[0]["owed_copies"] == 1
    await worker.run_one()
    first, again = [m for m in state.outbox if m.topic == RESULTS]
    assert first.value == again.value and first.event_id == again.event_id
    await handler.handle(raw(spec), at(3))
    assert [m.value for m in state.outbox if m.topic == RESULTS][-1] == first.value


async def test_a_correction_reissues_new_versions_and_sends_a_further_result(world):
    state, handler, worker, _, spec, _ = world
    await handler.handle(raw(spec), at(1))
    await worker.run_one()
    akta = next(d for d in state.documents if d.ref.kind is DocumentKind.AKTA)
    desk = DocumentDesk(lambda: FakeUnitOfWork(state), TOPICS, lambda: NOW)
    await desk.correct(akta.ref.number, Correction(reason="request 7", child_name="Tari Halimah"), "petugas")
    assert state.inbox[spec.message_id].result_sequence == 2
    assert state.audit[-1].action == "documents.correct" and state.audit[-1].actor == "petugas"
    await worker.run_one()
    versions = await desk.find(akta.ref.number)
    assert [(d.ref.version, d.ref.status) for d in versions] == [
        (1, DocumentStatus.SUPERSEDED),
        (2, DocumentStatus.ACTIVE),
    ]
    latest = _results(state)[-1]
    assert "Tari Halimah" in pdf_text(next(d for d in documents_of(latest) if d.kind == "akta-kelahiran").pdf)
    assert state.persons[akta.content.child_nik].name == "Tari Halimah"
    with pytest.raises(OperatorError):
        await desk.correct(akta.ref.number, Correction(reason="nothing"), "petugas")


async def test_revocation_is_audited_and_announced_and_cannot_happen_twice(world):
    state, handler, worker, _, spec, _ = world
    await handler.handle(raw(spec), at(1))
    await worker.run_one()
    akta = next(d for d in state.documents if d.ref.kind is DocumentKind.AKTA)
    desk = DocumentDesk(lambda: FakeUnitOfWork(state), TOPICS, lambda: NOW)
    await desk.revoke(akta.ref.document_id, "issued in error", "operator")
    assert (await desk.get(akta.ref.document_id)).ref.status is DocumentStatus.REVOKED
    assert state.outbox[-1].topic == TOPICS.document_status
    assert state.audit[-1].action == "documents.revoke"
    async with FakeUnitOfWork(state) as uow:
        statuses, size = await uow.documents.statuses(akta.ref.slot.regency, akta.ref.slot.year)
    assert statuses == {akta.ref.slot.index: StatusCode.INVALID} and size == 2
    with pytest.raises(OperatorError):
        await desk.revoke(akta.ref.document_id, "again", "operator")
