"""Mutual TLS between the hub and its services, on the real reference servers as processes
(`hub siak serve`, `hub signer serve`) with the local development PKI.

Both servers here also require the hub's name in the client certificate (`--client-name hub`).
A refused client never gets an HTTP answer: the TLS handshake fails (TLS 1.2), or the server closes
the connection before reading a request (TLS 1.3, where the client's certificate is checked after
the client considers the handshake done); and the server's request counter does not move. The
hub's own clients, built as the composition root builds them, are served.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from hub import bootstrap
from hub.adapters.service_tls import client_context, client_ssl_context
from hub.adapters.siak.breaker import CircuitBreaker
from hub.adapters.siak.client import SiakClient
from hub.adapters.signing.remote import RemoteSigner
from hub.config import RegistryKind, Settings, SignerKind
from hub.devtools.service_pki import ServicePki, ensure_service_pki, issue_client
from hub.errors import RegistryUnavailable, SignerUnavailable
from tests.support.people import households
from tests.support.siak_process import SiakProcess
from tests.support.signer_process import SignerProcess

pytestmark = pytest.mark.postgres
TLS_VERSIONS = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class Service:
    name: str
    url: str
    path: str  # a contract path the server counts among its requests
    stats: Callable[[], dict]
    pki: ServicePki


@pytest.fixture(scope="module")
def strict_siak(environment, tmp_path_factory):
    server = SiakProcess(
        environment.settings.dsn, tmp_path_factory.mktemp("siak") / "siak.log", dict(os.environ), client_names=["hub"]
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_signer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signer")
    server = SignerProcess(folder / "keys", folder / "signer.log", client_names=["hub"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["siak", "signer"])
def service(request) -> Service:
    server = request.getfixturevalue(f"strict_{request.param}")
    path = {"siak": "/v1/health", "signer": "/v1/keys"}[request.param]
    return Service(request.param, server.url, path, server.stats, server.pki)


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory) -> ServicePki:
    """Another CA, with a client certificate of its own that names the hub."""
    pki = ServicePki.at(tmp_path_factory.mktemp("other-ca"))
    ensure_service_pki(pki)
    return pki


def trusting(pki: ServicePki, cert=None, key=None, *, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that checks the server against `pki`'s CA and presents `cert` (if any)."""
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    if version is not None:
        context.minimum_version = context.maximum_version = version
    return context


def assert_refused(service: Service, verify: ssl.SSLContext | bool, *, scheme: str = "https") -> httpx.TransportError:
    """The call gets no HTTP answer, and the server counted no request (the stats call only)."""
    before = service.stats()["requests"]
    with pytest.raises(httpx.TransportError) as refused:
        httpx.get(service.url.replace("https://", f"{scheme}://") + service.path, verify=verify, timeout=5)
    assert service.stats()["requests"] == before + 1
    return refused.value


def test_a_client_with_the_hubs_certificate_is_served(service):
    answer = httpx.get(service.url + service.path, verify=client_ssl_context(Settings()), timeout=5)
    assert answer.status_code == 200


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_a_call_without_a_client_certificate_is_refused(service, version):
    refused = assert_refused(service, trusting(service.pki, version=TLS_VERSIONS[version]))
    if version == "tls1.2":
        assert isinstance(refused, httpx.ConnectError)  # the handshake itself failed


def test_a_client_certificate_from_another_ca_is_refused(service, other_pki):
    assert_refused(service, trusting(service.pki, other_pki.client_cert, other_pki.client_key))
    handshake = trusting(service.pki, other_pki.client_cert, other_pki.client_key, version=ssl.TLSVersion.TLSv1_2)
    assert isinstance(assert_refused(service, handshake), httpx.ConnectError)


def test_a_certificate_of_the_same_ca_for_another_client_is_refused(service, tmp_path):
    cert, key = tmp_path / "other-client.crt", tmp_path / "other-client.key"
    issue_client(service.pki, "not-the-hub", cert, key)
    assert_refused(service, trusting(service.pki, cert, key))
    assert httpx.get(service.url + service.path, verify=client_ssl_context(Settings()), timeout=5).is_success


def test_plain_http_is_refused(service):
    assert_refused(service, False, scheme="http")


def test_the_servers_certificate_cannot_serve_as_a_client_certificate(siak):
    """Issued by the right CA, but for serverAuth only: refused even by a server that checks no name."""
    pki = siak.pki
    server = Service("siak", siak.url, "/v1/health", siak.stats, pki)
    assert_refused(server, trusting(pki, pki.server_cert, pki.server_key))
    assert httpx.get(siak.url + "/v1/health", verify=siak.tls, timeout=5).is_success  # the hub's is fine


async def test_the_hubs_registry_client_is_served_and_the_registry_reported_ready(strict_siak, environment):
    settings = environment.settings.model_copy(update={"siak_url": strict_siak.url})
    nik = (await households(environment.settings.dsn, 1))[0].mother.nik
    client = SiakClient(
        settings.siak_url,
        timeout=5,
        retries=0,
        backoff=0.01,
        breaker=CircuitBreaker(failure_threshold=5, reset_after=1),
        ssl_context=client_ssl_context(settings),
    )
    try:
        person = await client.get(f"/v1/persons/{nik}")
    finally:
        await client.close()
    assert person["nik"] == nik
    assert (
        await bootstrap.registry_ready(settings.model_copy(update={"registry": RegistryKind.SIAK_HTTP}))
        == "siak-http 200"
    )


async def test_the_hubs_remote_signer_is_served(strict_signer, environment):
    settings = environment.settings.model_copy(update={"signer": SignerKind.REMOTE, "signer_url": strict_signer.url})
    async with bootstrap.document_signer(settings) as signer:
        key = await signer.current_key()
    assert key.kid and key.certificate_chain


async def test_the_hub_refuses_a_service_whose_certificate_another_ca_issued(strict_siak, strict_signer, other_pki):
    """The hub authenticates the service too: with another CA as its trust, neither is reachable."""
    settings = Settings()
    wrong = client_context(other_pki.ca_cert, settings.service_client_cert, settings.service_client_key)
    breaker = CircuitBreaker(failure_threshold=5, reset_after=1)
    siak = SiakClient(strict_siak.url, timeout=5, retries=0, backoff=0.01, breaker=breaker, ssl_context=wrong)
    signer = RemoteSigner(strict_signer.url, timeout=5, retries=0, backoff=0.01, breaker=breaker, ssl_context=wrong)
    try:
        with pytest.raises(RegistryUnavailable, match="ConnectError"):
            await siak.get("/v1/health")
        with pytest.raises(SignerUnavailable, match="ConnectError"):
            await signer.current_key()
    finally:
        await siak.close()
        await signer.close()
