"""The signing reference server for tests: a backing signer in memory, and the server on real HTTP.

`MemorySigner` implements the DocumentSigner port with P-256 keys and self-signed certificates made
here, so these tests need neither the local key store nor files. `SignerServer` runs the reference
server's app with uvicorn in a background thread of the test process, on a free local port;
`SignerProcess` runs `hub signer serve` as its own process over a key store in a folder. Both serve
over mutual TLS with the local development PKI (tests/support/siak_process.py): `tls` is the hub's
client side of it.
"""

from __future__ import annotations

import gc
import threading
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from hub.adapters.service_tls import server_ssl_kwargs
from hub.devtools.siak.server_faults import Faults
from hub.devtools.signer.server import create_app
from hub.domain import codes
from hub.errors import PermanentError
from hub.service.ports import SigningKey
from tests.support.siak_process import ReferenceServerProcess, service_pki, service_tls

ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
RETIRED_AT = ISSUED + timedelta(days=30)
# The refusal codes of the hub's local key store (hub/adapters/signing/local.py), for realism.
UNKNOWN_KEY, RETIRED_KEY, REUSED_KEY = (
    codes.SIGNING_KEY_UNKNOWN,
    codes.SIGNING_KEY_RETIRED,
    codes.IDEMPOTENCY_KEY_REUSED,
)


def make_key(kid: str, retired_at: datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey, SigningKey]:
    """A fresh P-256 key and its published form, with a self-signed certificate."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hub test signer {kid}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ISSUED)
        .not_valid_after(ISSUED + timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return private, SigningKey(kid=kid, certificate_chain=(der,), not_before=ISSUED, not_after=retired_at)


def es256(private: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    return private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))


class MemorySigner:
    """A DocumentSigner over in-memory keys: `current` signs, `retired` are published but refuse to
    sign. Idempotent by key, as the port asks. `calls` counts signatures made per idempotency key."""

    def __init__(self, current: str = "test-2026", retired: tuple[str, ...] = ("test-2025",)) -> None:
        self.current = current
        self.keys: dict[str, SigningKey] = {}
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}
        for kid in (*retired, current):
            private, key = make_key(kid, RETIRED_AT if kid in retired else None)
            self._private[kid], self.keys[kid] = private, key
        self._signed: dict[str, tuple[bytes, str, bytes]] = {}
        self.calls: Counter[str] = Counter()

    def private_key(self, kid: str) -> ec.EllipticCurvePrivateKey:
        return self._private[kid]

    async def current_key(self) -> SigningKey:
        return self.keys[self.current]

    async def published_keys(self) -> tuple[SigningKey, ...]:
        return tuple(self.keys.values())

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        if kid not in self.keys:
            raise PermanentError(UNKNOWN_KEY, f"no key {kid}")
        if self.keys[kid].not_after is not None:
            raise PermanentError(RETIRED_KEY, f"key {kid} is retired")
        if idempotency_key in self._signed:
            first_digest, first_kid, signature = self._signed[idempotency_key]
            if (first_digest, first_kid) != (digest, kid):
                raise PermanentError(REUSED_KEY, "another digest under this key")
            return signature
        self.calls[idempotency_key] += 1
        signature = es256(self._private[kid], digest)
        self._signed[idempotency_key] = (digest, kid, signature)
        return signature


class SignerServer:
    """The reference server's app over `signer`, served by uvicorn in a daemon thread."""

    def __init__(self, signer: MemorySigner, faults: Faults | None = None) -> None:
        self.app = create_app(signer, faults or Faults())
        pki = service_pki()
        self.tls = service_tls()  # the hub's client side: pass as httpx's `verify`
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            ws="none",
            lifespan="off",
            timeout_graceful_shutdown=2,
            **server_ssl_kwargs(pki.server_cert, pki.server_key, pki.ca_cert),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="signer-server", daemon=True)
        self.url = ""

    def start(self, timeout: float = 10) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the signing reference server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"https://127.0.0.1:{port}"

    def faults(self, **values) -> None:
        httpx.put(f"{self.url}/v1/_faults", json=values, timeout=5, verify=self.tls).raise_for_status()

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/v1/_stats", timeout=5, verify=self.tls).json()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        # Connections the hub still held when the server's loop ended are closed by the collector:
        # over TLS their transports say so (ResourceWarning), and pytest would blame the next test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


class SignerProcess(ReferenceServerProcess):
    """`hub signer serve` as its own process, over the local key store in `keys_dir`."""

    name, health = "signer", "/healthz"

    def __init__(self, keys_dir: Path, log_path: Path, *, client_names: Sequence[str] = ()) -> None:
        super().__init__(log_path, client_names=client_names)
        self._keys_dir = keys_dir

    def arguments(self) -> list[str]:
        return ["--keys-dir", str(self._keys_dir)]
