"""The DocumentMaker port, one specification for both adapters: in the hub's own process and in a
pool of worker processes (each with its own local signer). Each makes a PDF whose PAdES signature
pyHanko's validator accepts and whose QR payload, decoded from the rendered page, verifies against
the published keys and names the document."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pytest

from hub.adapters import documents_pool
from hub.adapters.signing.local import LocalSigner
from hub.adapters.signing.pki import ca_certificate, ensure_keys
from hub.devtools.simulation.document_samples import samples
from hub.documents.maker import InProcessMaker
from hub.documents.qr import verify_payload
from hub.documents.trust import TrustList
from hub.domain.documents import DocumentKind, DocumentRef, StatusSlot, document_id
from tests.support.documents import qr_from_pdf, signature_report


@pytest.fixture(params=["in-process", "process-pool"])
async def maker(request, tmp_path):
    ensure_keys(tmp_path)
    if request.param == "in-process":
        yield InProcessMaker(LocalSigner(tmp_path)), tmp_path
        return
    pool = documents_pool.ProcessPoolMaker(partial(documents_pool.local_signer, str(tmp_path)), processes=1)
    try:
        yield pool, tmp_path
    finally:
        pool.close()


async def test_a_made_document_is_signed_and_its_qr_verifies(maker):
    make, pki = maker
    content, _, _ = samples()["akta-both-parents"]
    key = await LocalSigner(pki).current_key()
    ref = DocumentRef(
        document_id(DocumentKind.AKTA, content.akta_number, 1),
        DocumentKind.AKTA,
        content.akta_number,
        1,
        datetime.now(UTC),
        StatusSlot("3578", 2026, 7),
    )
    pdf, payload = await make.make(content, ref, key, "http://verify.test/status/3578/2026", "Kota Surabaya")
    report = await signature_report(pdf, ca_certificate(pki))
    assert report.intact and report.valid and report.trusted
    assert qr_from_pdf(pdf) == [payload]
    check = verify_payload(payload, TrustList.from_signing_keys(await LocalSigner(pki).published_keys()))
    assert check.valid and check.document_id == ref.document_id and check.status_index == 7
