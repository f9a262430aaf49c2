"""Mutual TLS between the hub and the services it calls (the SIAK registry, the signing service).

The hub authenticates with a client certificate (Settings.service_client_cert and
service_client_key) and trusts only the CA that issued the services' certificates
(Settings.service_ca_file), never the system's CAs; host names are checked. The service, in turn,
accepts only clients whose certificate its CA issued (and may require the hub's name in it).

- `client_ssl_context(settings)`: the hub's side, for httpx (`verify=`).
- `require_https(url, setting)`: a service URL must be https, or the certificate is never used.
- `server_ssl_kwargs(...)`: uvicorn.Config's keyword arguments for a server that requires a
  client certificate (the reference servers, `hub siak serve` and `hub signer serve`).

A missing or unreadable file is a ConfigurationError that names the setting and the path, never
anything of a key's content. The local development CA and certificates are made by
hub/devtools/service_pki.py (`hub siak serve` and `hub signer serve` make them on first use).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.config import Settings
from hub.errors import ConfigurationError

log = logging.getLogger("hub.service_tls")
MADE_BY = "`hub siak serve` or `hub signer serve` makes the local development ones"


def client_ssl_context(settings: Settings) -> ssl.SSLContext:
    """The hub's TLS client side: verifies the service against service_ca_file (host name included)
    and presents the hub's client certificate."""
    return client_context(settings.service_ca_file, settings.service_client_cert, settings.service_client_key)


def client_context(ca_file: Path, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """`client_ssl_context` from the three files (for processes that get paths, not settings)."""
    _present(ca_file, "HUB_SERVICE_CA_FILE")
    _present(cert_file, "HUB_SERVICE_CLIENT_CERT")
    _present(key_file, "HUB_SERVICE_CLIENT_KEY")
    # A bare client context: CERT_REQUIRED and host names checked, and no CA but the service CA (the
    # system's public CAs must not vouch for the registry or the signer).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except OSError as exc:
        raise ConfigurationError(f"HUB_SERVICE_CA_FILE {ca_file} holds no CA certificate ({_reason(exc)})") from None
    try:
        context.load_cert_chain(str(cert_file), str(key_file))
    except OSError as exc:
        raise ConfigurationError(
            f"HUB_SERVICE_CLIENT_CERT {cert_file} and HUB_SERVICE_CLIENT_KEY {key_file} are not a certificate "
            f"and its private key ({_reason(exc)})"
        ) from None
    return context


def require_https(url: str, setting: str) -> str:
    """`url`, if it is https: over plain HTTP no certificate is checked or presented."""
    if urlsplit(url).scheme != "https":
        raise ConfigurationError(f"{setting} must be an https URL: the service is called over mutual TLS")
    return url


def server_ssl_kwargs(
    cert_file: Path, key_file: Path, ca_file: Path, *, client_names: Collection[str] = ()
) -> dict[str, Any]:
    """uvicorn.Config's keyword arguments for TLS with `cert_file` and a required client certificate
    issued by `ca_file`; with `client_names`, the certificate's common name must also be one of them.

    Why the name as well: the CA says who a client is, not what it may call. A CA that issues only
    the hub's certificate (the local development one) makes the two the same, but a real gateway's
    CA (a PSrE's, a government PKI's, SPLP's) issues certificates to many organisations, and a
    certificate of any of them would pass a check of the issuer alone. Naming the permitted
    clients (here by common name; a gateway keeps such a list per API) narrows it to the hub."""
    for path, option in ((cert_file, "--tls-cert"), (key_file, "--tls-key"), (ca_file, "--client-ca")):
        _present(path, option)
    return {
        "ssl_certfile": str(cert_file),
        "ssl_keyfile": str(key_file),
        "ssl_ca_certs": str(ca_file),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_context_factory": ServerContext(frozenset(client_names)),
    }


class ServerContext:
    """uvicorn's ssl_context_factory: its own context (certificate, CA, CERT_REQUIRED) with TLS 1.2
    at least and, if names are given, a handshake that fails for any other client name."""

    def __init__(self, client_names: frozenset[str]) -> None:
        self.client_names = client_names

    def __call__(self, _config: object, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        context = default()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.client_names:
            context.sslobject_class = _only(self.client_names)
        return context


def _only(names: frozenset[str]) -> type[ssl.SSLObject]:
    """An SSLObject (what asyncio's TLS transport uses) whose handshake also checks the client's name.

    OpenSSL has verified the chain when do_handshake returns; a name not permitted fails the
    handshake there, before the connection reaches the application. (SSLContext.sslobject_class is
    Python's documented hook for this; the standard library has no verify callback.)"""

    class NamedClientOnly(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            if self.server_side and (name := common_name(self.getpeercert())) not in names:
                log.warning("refused a client certificate: its common name is not permitted name=%r", name)
                raise ssl.SSLError(ssl.SSL_ERROR_SSL, "client certificate name not permitted")

    return NamedClientOnly


def common_name(peer: dict[str, Any] | None) -> str | None:
    """The common name in the subject of a certificate as SSLObject.getpeercert() returns it."""
    for rdn in (peer or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


def _reason(exc: OSError) -> str:
    """OpenSSL's reason ("KEY_VALUES_MISMATCH") or the system's ("Permission denied"): never a file's content."""
    return getattr(exc, "reason", None) or exc.strerror or type(exc).__name__


def _present(path: Path, setting: str) -> None:
    if not path.is_file():
        raise ConfigurationError(f"{setting}: {path} not found ({MADE_BY})")
