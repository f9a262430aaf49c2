"""Documents made in a pool of worker processes: rendering and signing use every core.

Each process builds its own signer once (the local key store, or a client of the remote signing
service: `signer_factory` must be picklable, e.g. a functools.partial of a module-level function)
and its own event loop, then makes documents one at a time with hub.documents.maker. What crosses
the process boundary is the content, the reference, the key and the results: plain data. The
processes start on first use (spawned, not forked: the parent runs threads and an event loop).
A process that dies takes only its current document with it: the job fails, rolls back and is
carried out again, like any other failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

from hub.adapters.spawned_pool import SpawnedPool
from hub.domain.documents import Content, DocumentRef
from hub.errors import SignerUnavailable
from hub.service.ports import DocumentSigner, SigningKey

_loop: asyncio.AbstractEventLoop | None = None
_signer: DocumentSigner | None = None


class ProcessPoolMaker:
    def __init__(self, signer_factory: Callable[[], DocumentSigner], processes: int) -> None:
        self._pool = SpawnedPool(processes, _initialise, (signer_factory,))

    async def make(
        self, content: Content, ref: DocumentRef, key: SigningKey, status_uri: str, location: str
    ) -> tuple[bytes, str]:
        pool = self._pool.get()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, _make, content, ref, key, status_uri, location
            )
        except BrokenProcessPool as exc:  # a worker process died (OOM kill): start afresh, try again later
            self._pool.broken(pool)
            raise SignerUnavailable("a document process died; the job is retried") from exc

    def close(self) -> None:
        self._pool.close()


def _initialise(factory: Callable[[], DocumentSigner]) -> None:
    global _loop, _signer  # noqa: PLW0603 - one loop and one signer per pool process, made once
    _loop = asyncio.new_event_loop()
    _signer = factory()


def _make(content: Content, ref: DocumentRef, key: SigningKey, status_uri: str, location: str) -> tuple[bytes, str]:
    from hub.documents.maker import make_document

    assert _loop is not None and _signer is not None, "the pool's initializer runs first"
    return _loop.run_until_complete(make_document(_signer, content, ref, key, status_uri, location, render_in=False))


def local_signer(directory: str) -> DocumentSigner:
    """The local key store, built in a pool process."""
    from pathlib import Path

    from hub.adapters.signing.local import LocalSigner

    return LocalSigner(Path(directory))


def remote_signer(
    url: str,
    timeout: float,
    retries: int,
    backoff: float,
    failures: int,
    reset: float,
    tls: tuple[str, str, str] | None = None,
) -> DocumentSigner:
    """A client of the remote signing service, built in a pool process (its own circuit breaker).
    `tls`: the CA, client certificate and key files of its mutual TLS (paths cross the process
    boundary; an SSLContext cannot)."""
    from pathlib import Path

    from hub.adapters.service_tls import client_context
    from hub.adapters.siak.breaker import CircuitBreaker
    from hub.adapters.signing.remote import RemoteSigner

    return RemoteSigner(
        url,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        breaker=CircuitBreaker(failure_threshold=failures, reset_after=reset),
        ssl_context=client_context(*(Path(p) for p in tls)) if tls else None,
    )
