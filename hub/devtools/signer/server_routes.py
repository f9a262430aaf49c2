"""The signing reference server's wire models and routes: the contract (`signing`) and the
test-only controls (`control`).

Every route answers with explicit JSON bytes (`model_dump_json`); a replayed signature is rendered
from the values recorded for its key, so it is byte-for-byte the first answer.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hub.adapters.siak.models import Problem as SiakProblem
from hub.devtools.problem_http import REPLAYED, control_router, problems
from hub.devtools.siak.server_problems import Refusal
from hub.devtools.signer.server_store import KEY_REUSED, SIGNER_UNAVAILABLE, SignatureStore, Signed, SignerStats
from hub.errors import SignerUnavailable
from hub.service.ports import DocumentSigner, SigningKey

ALGORITHM = "ES256"
# The canonical (padded, standard alphabet) base64 of exactly 32 bytes: 43 characters, the last of
# which carries 4 data bits and 2 zero bits, then one "=".
DIGEST_BASE64 = r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"
KEY_ID = r"^[!-~]{1,200}$"  # visible ASCII, no spaces

signing = APIRouter(prefix="/v1", tags=["signing"])
control = control_router("Signatures made (replays not counted), replays, requests and injected faults by kind.")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Problem(SiakProblem):
    """Every error body (application/problem+json, RFC 9457)."""

    code: str = Field(
        description="Stable machine-readable reason, e.g. IDEMPOTENCY-KEY-REUSED, REQUEST-INVALID, "
        "SIGNER-UNAVAILABLE, or the key store's reason for refusing a key."
    )


class SignatureRequest(_Model):
    """Sign one SHA-256 digest. Only the digest travels: never the document or personal data."""

    digest: str = Field(
        pattern=DIGEST_BASE64, description="Base64 (standard alphabet, padded) of the 32-byte SHA-256 digest to sign."
    )
    algorithm: Literal["ES256"] = Field(description="ECDSA on P-256 over the SHA-256 digest (JOSE/COSE ES256).")
    key_id: str = Field(
        pattern=KEY_ID, description="The `kid` of the key to sign with, normally `GET /v1/keys/current`'s."
    )


class SignatureOut(_Model):
    key_id: str = Field(description="The key that signed.")
    signature: str = Field(
        description="Base64 of the DER-encoded ECDSA signature (SEQUENCE of r and s), "
        "verifiable with the key's certificate."
    )
    signed_at: datetime = Field(description="When the service made the signature (UTC); replays repeat it.")


class PublishedKey(_Model):
    """A signing key as verifiers need it (the members follow JWK's `kid`, `alg` and `x5c`)."""

    kid: str = Field(description="The key's id, carried by every signature and QR it makes.")
    alg: Literal["ES256"] = Field(description="Always ES256: ECDSA on P-256 with SHA-256.")
    x5c: list[str] = Field(
        min_length=1,
        description="Base64 DER certificates: the key's certificate first, its CA last (as in a JWK's x5c).",
    )
    not_before: datetime = Field(description="Signatures made before this are not valid.")
    not_after: datetime | None = Field(description="When the key was retired; null while it still signs.")

    @classmethod
    def of(cls, key: SigningKey) -> PublishedKey:
        return cls(
            kid=key.kid,
            alg=ALGORITHM,
            x5c=[base64.b64encode(der).decode() for der in key.certificate_chain],
            not_before=key.not_before,
            not_after=key.not_after,
        )


class KeySet(_Model):
    keys: list[PublishedKey] = Field(description="Every key verifiers must know: the current one and retired ones.")
    current: str = Field(description="The `kid` that signs now.")


SAFE = "Safe to retry: it changes nothing."
COMMON = {
    500: "`INTERNAL-ERROR`: a bug in the service. Retryable.",
    503: f"`{SIGNER_UNAVAILABLE}` (the key store or HSM cannot sign now) or, on the reference server, "
    "`INJECTED-FAULT`. Retryable, with backoff.",
}
POST_PROBLEMS = {
    400: "`IDEMPOTENCY-KEY-REQUIRED` (no `Idempotency-Key` header), `IDEMPOTENCY-KEY-INVALID` (longer than 200 "
    "characters) or `REQUEST-INVALID` (the body does not match the schema; `detail` names the fields, "
    "never their values).",
    409: f"`{KEY_REUSED}`: this key was first used with another digest or key id. Nothing was signed.",
    422: "The key store refuses the key (unknown or retired `key_id`); `code` is the key store's reason "
    "(`SIGNING-KEY-UNKNOWN` or `SIGNING-KEY-RETIRED` from the hub's own key store). "
    "Nothing was signed or recorded: not retryable as is (read `GET /v1/keys/current` and sign anew).",
}


def _problems(described: dict[int, str]) -> dict:
    return problems(described, COMMON)


def _store(request: Request) -> SignatureStore:
    return request.app.state.store


def _signer(request: Request) -> DocumentSigner:
    return request.app.state.signer


def _stats(request: Request) -> SignerStats:
    return request.app.state.stats


def _json(body: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


def _rendered(signed: Signed) -> SignatureOut:
    return SignatureOut(
        key_id=signed.key_id, signature=base64.b64encode(signed.signature).decode(), signed_at=signed.signed_at
    )


async def _ask(call):
    """Await a backing signer's read; its unavailability is the contract's retryable 503."""
    try:
        return await call
    except SignerUnavailable:
        raise Refusal(503, SIGNER_UNAVAILABLE, "the key store cannot answer right now") from None


Store = Annotated[SignatureStore, Depends(_store)]
Signer = Annotated[DocumentSigner, Depends(_signer)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Chosen by the client, one per intended signature (the hub derives it from the document and the "
            "attempt). Repeat it, unchanged, on every retry of the same request."
        ),
    ),
]


@signing.post(
    "/signatures",
    status_code=201,
    response_model=SignatureOut,
    summary="Sign a SHA-256 digest",
    response_description="A new signature, recorded under the Idempotency-Key.",
    description="Signs the digest with key `key_id` (ECDSA P-256, ES256). **Safe to retry with the same "
    "`Idempotency-Key`**: the service records the signature under the key and answers a repeat "
    "with it (200, `Idempotent-Replayed: true`) instead of signing again. This matters because "
    "ECDSA signatures are randomised: without the key, a retry after a lost answer would yield a "
    "second, different signature of the same document. A repeat that arrives while the first "
    "is still being signed waits for it. The same key with another digest or key id is a 409.",
    responses={
        200: {
            "model": SignatureOut,
            "headers": REPLAYED,
            "description": "The same key and body again: the first signature, unchanged.",
        },
        **_problems(POST_PROBLEMS),
    },
)
async def create_signature(body: SignatureRequest, key: IdempotencyKey, store: Store) -> Response:
    answer = await store.sign(key, base64.b64decode(body.digest, validate=True), body.key_id)
    if answer.replayed:
        return _json(_rendered(answer.signed), 200, {"Idempotent-Replayed": "true"})
    return _json(_rendered(answer.signed), 201)


@signing.get(
    "/keys",
    response_model=KeySet,
    summary="The published keys",
    response_description="The key set.",
    description="Every key a verifier needs, current and retired, with its certificate chain and validity; "
    "`current` names the key that signs now. Verifiers may cache it: keys are only added, and a "
    "retired key only gains `not_after`. " + SAFE,
    responses=_problems({}),
)
async def published_keys(signer: Signer) -> Response:
    keys = await _ask(signer.published_keys())
    current = await _ask(signer.current_key())
    return _json(KeySet(keys=[PublishedKey.of(key) for key in keys], current=current.kid))


@signing.get(
    "/keys/current",
    response_model=PublishedKey,
    summary="The key that signs now",
    response_description="The current key.",
    description="Use its `kid` in `POST /v1/signatures`. It changes when the key is rotated. " + SAFE,
    responses=_problems({}),
)
async def current_key(signer: Signer) -> Response:
    return _json(PublishedKey.of(await _ask(signer.current_key())))
