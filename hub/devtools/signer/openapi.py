"""The signing contract as an OpenAPI document, generated from the reference server's app.

`hub contracts` writes it to contracts/signer-openapi.json. The app is built over a signer that is
never called: building the app and its document asks the signer nothing.
"""

from __future__ import annotations

from typing import Any

from hub.devtools.siak.server_faults import Faults
from hub.devtools.signer.server import create_app
from hub.service.ports import SigningKey


class _NoSigner:
    """Stands in for the backing signer while the document is generated; any call is a bug."""

    async def current_key(self) -> SigningKey:
        raise AssertionError("the contract document never needs a key")

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        raise AssertionError("the contract document never signs")

    async def published_keys(self) -> tuple[SigningKey, ...]:
        raise AssertionError("the contract document never needs a key")


def openapi_document() -> dict[str, Any]:
    return create_app(_NoSigner(), Faults()).openapi()
