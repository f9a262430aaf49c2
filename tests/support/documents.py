"""Reading documents back as a hospital and a verifier would: from the result Bundle, the PDF's
PAdES signature with pyHanko's validator, the QR decoded from the rendered page with zxing-cpp."""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium

from hub.documents.pades import async_validate_pdf
from hub.documents.scan import payloads_in


@dataclass
class AttachedDocument:
    kind: str
    number: str
    version: int
    document_id: str
    pdf: bytes
    qr_payload: str  # as the DocumentReference states it
    replaces: str | None


def documents_of(result: dict[str, Any]) -> list[AttachedDocument]:
    resources = {e["fullUrl"]: e["resource"] for e in result["entry"]}
    found = []
    for resource in resources.values():
        if resource["resourceType"] != "DocumentReference":
            continue
        attachment = resource["content"][0]["attachment"]
        binary = resources[attachment["url"]]
        extensions = {e["url"].rsplit("/", 1)[-1]: e for e in resource["extension"]}
        replaces = resource.get("relatesTo", [{}])[0].get("target", {}).get("identifier", {}).get("value")
        found.append(
            AttachedDocument(
                resource["type"]["coding"][0]["code"],
                resource["identifier"][0]["value"],
                extensions["document-version"]["valueInteger"],
                resource["id"],
                base64.b64decode(binary["data"]),
                extensions["document-qr-payload"]["valueString"],
                replaces,
            )
        )
    return found


def qr_from_pdf(pdf: bytes) -> list[str]:
    """Render every page and decode the document QR codes on it."""
    return payloads_in(pdf)


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


async def signature_report(pdf: bytes, trust_root: bytes):
    return await async_validate_pdf(pdf, [trust_root])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
