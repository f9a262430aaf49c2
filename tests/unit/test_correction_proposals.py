"""Corrections an officer proposes and a supervisor decides, with in-memory ports and the local
signer: a proposal changes nothing until approved; approving applies it and marks it approved in one
transaction (or neither); rejecting needs a note; nobody decides their own proposal; a proposal made
before the akta's current version is not applied; every step is audited with field names only. Also
the audited copies and views of a document (view, reprint), and how the console masks its numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.adapters.signing.local import LocalSigner
from hub.adapters.signing.pki import ensure_keys
from hub.console.pages import documents as console_documents
from hub.domain.documents import AktaContent, Correction, DocumentKind, DocumentStatus, KkContent
from hub.errors import OperatorError
from hub.service.document_desk import DocumentDesk
from hub.service.documents import DocumentWorker
from hub.service.ports import AuditEntry
from hub.service.proposals import ProposalDesk, checked_correction
from hub.service.register_birth import RegisterBirths
from hub.service.trail_view import masked
from tests.fakes import FakeState, FakeUnitOfWork
from tests.support.documents import pdf_text
from tests.unit.test_document_service import ISSUER, PIPELINE
from tests.unit.test_register_births import NOW, TOPICS, _population, at, first_birth, raw

OFFICER, SUPERVISOR = "siti (console)", "budi (console)"


@pytest.fixture
async def desk(tmp_path):
    """A registered birth with its documents issued; (state, worker, documents, proposals, akta)."""
    state = FakeState()
    mother, father = _population(state)
    ensure_keys(tmp_path)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    worker = DocumentWorker(
        uow, LocalSigner(tmp_path), ISSUER, TOPICS, lambda: datetime.now(UTC), retry_initial=0.1, retry_max=1
    )
    await RegisterBirths(uow, PIPELINE, lambda: NOW).handle(raw(first_birth(mother, father)), at(1))
    await worker.run_one()
    documents = DocumentDesk(uow, TOPICS, lambda: NOW)
    # Proposals are dated on the clock the worker dates versions on (an approval compares the two).
    proposals = ProposalDesk(uow, documents, lambda: datetime.now(UTC))
    akta = next(d for d in state.documents if d.ref.kind is DocumentKind.AKTA)
    return state, worker, documents, proposals, akta


def _actions(state: FakeState) -> list[tuple[str, str]]:
    return [(e.action, e.actor) for e in state.audit]


async def test_a_proposal_changes_nothing_until_a_supervisor_approves_it(desk):
    state, worker, documents, proposals, akta = desk
    jobs = len(state.document_jobs)
    proposal_id = await proposals.propose(
        akta.ref.number, Correction(reason="request 7", child_name="Tari Halimah"), OFFICER
    )
    assert len(state.document_jobs) == jobs and await worker.run_one() is None
    found = await proposals.get(proposal_id)
    assert (found.status, found.changes, found.proposed_by) == ("open", {"child_name": "Tari Halimah"}, OFFICER)
    assert [p.id for p in await proposals.listed()] == [proposal_id]
    propose = state.audit[-1]
    assert (propose.action, propose.actor, propose.subject) == ("documents.propose", OFFICER, akta.ref.number)
    assert propose.details == {"proposal": proposal_id, "fields": ["child_name"]}
    assert "Tari Halimah" not in repr(propose), "the audit log names fields, never their values"

    reissued = await proposals.approve(proposal_id, "checked the hospital record", SUPERVISOR)
    assert reissued == ["AktaContent", "KkContent"]
    decided = await proposals.get(proposal_id)
    assert (decided.status, decided.decided_by, decided.note) == ("approved", SUPERVISOR, "checked the hospital record")
    assert await proposals.listed() == []
    assert _actions(state)[-2:] == [("proposals.approve", SUPERVISOR), ("documents.correct", SUPERVISOR)]
    assert state.audit[-1].reason == f"request 7 (proposal #{proposal_id})"

    await worker.run_one()
    versions = await documents.find(akta.ref.number)
    assert [(d.ref.version, d.ref.status) for d in versions] == [
        (1, DocumentStatus.SUPERSEDED),
        (2, DocumentStatus.ACTIVE),
    ]
    assert versions[1].content.child_name == "Tari Halimah"
    assert "Tari Halimah" in pdf_text(versions[1].pdf)


async def test_a_rejection_needs_a_note_and_leaves_the_documents_alone(desk):
    state, worker, documents, proposals, akta = desk
    proposal_id = await proposals.propose(akta.ref.number, Correction(reason="r", mother_name="Sari Dewi A"), OFFICER)
    with pytest.raises(OperatorError, match="note"):
        await proposals.reject(proposal_id, "  ", SUPERVISOR)
    assert (await proposals.get(proposal_id)).status == "open"
    await proposals.reject(proposal_id, "the birth record says otherwise", SUPERVISOR)
    rejected = await proposals.get(proposal_id)
    assert (rejected.status, rejected.decided_by) == ("rejected", SUPERVISOR)
    assert _actions(state)[-1] == ("proposals.reject", SUPERVISOR)
    assert await worker.run_one() is None
    assert [d.ref.version for d in await documents.find(akta.ref.number)] == [1]
    with pytest.raises(OperatorError, match="rejected already"):
        await proposals.approve(proposal_id, "", SUPERVISOR)
    with pytest.raises(OperatorError, match="rejected already"):
        await proposals.reject(proposal_id, "again", SUPERVISOR)


async def test_nobody_decides_their_own_proposal(desk):
    state, _, _, proposals, akta = desk
    proposal_id = await proposals.propose(akta.ref.number, Correction(reason="r", child_name="X Y"), SUPERVISOR)
    audited = len(state.audit)
    with pytest.raises(OperatorError, match="other than its proposer"):
        await proposals.approve(proposal_id, "", SUPERVISOR)
    with pytest.raises(OperatorError, match="other than its proposer"):
        await proposals.reject(proposal_id, "no", SUPERVISOR)
    assert (await proposals.get(proposal_id)).status == "open" and len(state.audit) == audited


async def test_an_approval_that_cannot_be_applied_leaves_the_proposal_open(desk):
    """The akta was revoked after the proposal: the correction fails, and so does the approval."""
    state, _, documents, proposals, akta = desk
    proposal_id = await proposals.propose(akta.ref.number, Correction(reason="r", child_name="X Y"), OFFICER)
    await documents.revoke(akta.ref.document_id, "issued in error", SUPERVISOR)
    jobs, audited = len(state.document_jobs), len(state.audit)
    with pytest.raises(OperatorError, match="no active akta"):
        await proposals.approve(proposal_id, "ok", SUPERVISOR)
    assert (await proposals.get(proposal_id)).status == "open"
    assert len(state.document_jobs) == jobs and len(state.audit) == audited


async def test_a_failure_of_the_work_done_first_keeps_no_correction(desk):
    state, _, documents, _, akta = desk
    jobs, audited, sequence = len(state.document_jobs), len(state.audit), state.inbox[akta.message_id].result_sequence

    async def refuse(uow) -> None:
        await uow.audit.append(AuditEntry(SUPERVISOR, "proposals.approve", akta.ref.number, "", {}), NOW)
        raise OperatorError("refused")

    with pytest.raises(OperatorError, match="refused"):
        await documents.correct(akta.ref.number, Correction(reason="r", child_name="X Y"), SUPERVISOR, first=refuse)
    assert len(state.document_jobs) == jobs and len(state.audit) == audited
    assert state.inbox[akta.message_id].result_sequence == sequence


async def test_a_proposal_needs_an_active_akta_a_field_and_a_reason(desk):
    state, _, _, proposals, akta = desk
    with pytest.raises(OperatorError, match="no active akta"):
        await proposals.propose("3273-LU-01012026-9999", Correction(reason="r", child_name="X"), OFFICER)
    with pytest.raises(OperatorError, match="at least one field"):
        await proposals.propose(akta.ref.number, Correction(reason="r"), OFFICER)
    with pytest.raises(OperatorError, match="reason"):
        await proposals.propose(akta.ref.number, Correction(reason=" ", child_name="X"), OFFICER)
    assert state.proposals == {}


def test_form_input_becomes_a_correction_of_the_filled_in_fields():
    correction = checked_correction({"child_name": "  Tari   Halimah ", "mother_name": "", "father_name": None}, "r 7")
    assert correction.fields() == {"child_name": "Tari Halimah"} and correction.reason == "r 7"
    with pytest.raises(OperatorError, match="at least one field"):
        checked_correction({"child_name": " "}, "r")
    with pytest.raises(OperatorError, match="reason"):
        checked_correction({"child_name": "A"}, "")
    with pytest.raises(OperatorError, match="child_name") as refused:
        checked_correction({"child_name": "Tari\x00Halimah"}, "r")
    assert "Tari" not in str(refused.value)
    with pytest.raises(OperatorError, match="place_of_birth"):
        checked_correction({"place_of_birth": "x" * 101}, "r")
    with pytest.raises(OperatorError, match="cannot be corrected"):
        checked_correction({"child_nik": "1"}, "r")


async def test_copies_of_a_document_are_audited_and_a_reprint_needs_a_reason(desk):
    state, _, documents, _, akta = desk
    seen = await documents.copy(akta.ref.document_id, OFFICER)
    assert seen.pdf.startswith(b"%PDF") and state.audit[-1].action == "documents.view"
    with pytest.raises(OperatorError, match="reason"):
        await documents.copy(akta.ref.document_id, OFFICER, reprint=True)
    printed = await documents.copy(akta.ref.document_id, OFFICER, reason="lost the copy", reprint=True)
    assert printed.pdf == akta.pdf
    entry = state.audit[-1]
    assert (entry.action, entry.actor, entry.subject, entry.reason) == (
        "documents.reprint",
        OFFICER,
        akta.ref.document_id,
        "lost the copy",
    )
    assert entry.details == {"kind": "akta-kelahiran", "version": 1, "status": "active"}
    with pytest.raises(OperatorError, match="no document"):
        await documents.copy("00000000-0000-0000-0000-000000000000", OFFICER)


async def test_an_approval_is_refused_when_the_akta_got_a_newer_version_after_the_proposal(desk):
    """Proposed against version 1; a supervisor's own correction then issued version 2: applying the
    proposal now would rewrite version 2 with values its proposer never saw. Refused, left open."""
    state, worker, documents, proposals, akta = desk
    stale = await proposals.propose(akta.ref.number, Correction(reason="r 1", child_name="Tari Halimah"), OFFICER)
    await documents.correct(akta.ref.number, Correction(reason="r 2", place_of_birth="Kota Lain"), SUPERVISOR)
    await worker.run_one()
    [_, current] = await documents.find(akta.ref.number)
    assert current.ref.version == 2 and current.ref.issued_at > (await proposals.get(stale)).proposed_at
    jobs, audited, sequence = len(state.document_jobs), len(state.audit), state.inbox[akta.message_id].result_sequence

    with pytest.raises(OperatorError, match="the certificate changed since this proposal; propose again"):
        await proposals.approve(stale, "ok", SUPERVISOR)
    assert (await proposals.get(stale)).status == "open"
    assert len(state.document_jobs) == jobs and len(state.audit) == audited
    assert state.inbox[akta.message_id].result_sequence == sequence
    # Still open: it can be rejected; proposed again, against version 2, it is applied.
    await proposals.reject(stale, "proposed against an older version", SUPERVISOR)
    again = await proposals.propose(akta.ref.number, Correction(reason="r 1", child_name="Tari Halimah"), OFFICER)
    assert await proposals.approve(again, "ok", SUPERVISOR) == ["AktaContent", "KkContent"]
    await worker.run_one()
    newest = (await documents.find(akta.ref.number))[-1]
    assert newest.ref.version == 3
    assert (newest.content.child_name, newest.content.place_of_birth) == ("Tari Halimah", "Kota Lain")


async def test_showing_a_document_is_audited_as_a_view_of_its_content(desk):
    state, _, documents, _, akta = desk
    shown = await documents.show(akta.ref.document_id, OFFICER)
    assert shown.ref == akta.ref
    entry = state.audit[-1]
    assert (entry.action, entry.actor, entry.subject, entry.reason) == (
        "documents.view",
        OFFICER,
        akta.ref.document_id,
        "",
    )
    assert entry.details == {"kind": "akta-kelahiran", "version": 1, "status": "active", "shown": "content"}
    audited = len(state.audit)
    with pytest.raises(OperatorError, match="no document"):
        await documents.show("00000000-0000-0000-0000-000000000000", OFFICER)
    assert len(state.audit) == audited


async def test_the_console_masks_niks_and_kk_numbers_as_search_does(desk):
    """One masking (trail_view's, search's): the first six digits. The document page also shows the
    date of birth and the sex, which give digits 7 to 12 of a NIK away; so no more than the region."""
    state, _, _, _, akta = desk
    assert console_documents.masked is masked
    card = next(d for d in state.documents if d.ref.kind is DocumentKind.KK)
    assert isinstance(akta.content, AktaContent) and isinstance(card.content, KkContent)
    nik, kk_number = akta.content.child_nik, card.content.kk_number

    on_akta = console_documents.content_of(akta)
    assert on_akta["child_nik"] == masked(nik) == nik[:6] + "*" * 10
    on_card = console_documents.content_of(card)
    assert on_card["kk_number"] == masked(kk_number) == kk_number[:6] + "*" * 10
    assert [m["nik"] for m in on_card["members"]] == [m.nik[:6] + "*" * 10 for m in card.content.members]
    assert console_documents.summary(card)["number"] == kk_number[:6] + "*" * 10
    assert console_documents.summary(akta)["number"] == akta.ref.number  # an akta number is no NIK
    shown = repr([on_akta, on_card, console_documents.summary(akta), console_documents.summary(card)])
    for number in [nik, kk_number, *(m.nik for m in card.content.members)]:
        assert number[6:] not in shown
