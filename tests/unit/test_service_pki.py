"""The local development PKI of the hub's mutual TLS (hub/devtools/service_pki.py) and the TLS
contexts made from it (hub/adapters/service_tls.py): files, modes, names, usages, renewal, two
makers at once, and the errors that name a setting."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub import bootstrap
from hub.adapters.service_tls import (
    ServerContext,
    client_context,
    client_ssl_context,
    common_name,
    require_https,
    server_ssl_kwargs,
)
from hub.config import RegistryKind, Settings, SignerKind
from hub.devtools.service_pki import LEAF_DAYS, ServicePki, ensure_service_pki, issue_client
from hub.errors import ConfigurationError

ALL = ["ca.crt", "ca.key", "server.crt", "server.key", "hub-client.crt", "hub-client.key"]


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def usages(cert: x509.Certificate) -> list:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def contents(pki: ServicePki) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (pki.ca_cert, pki.ca_key, pki.server_cert, pki.server_key)} | {
        pki.client_cert.name: pki.client_cert.read_bytes(),
        pki.client_key.name: pki.client_key.read_bytes(),
    }


@pytest.fixture
def pki(tmp_path) -> ServicePki:
    made = ServicePki.at(tmp_path / "service-tls")
    assert ensure_service_pki(made) == ALL
    return made


def test_a_second_call_changes_nothing(pki):
    before = contents(pki)
    assert ensure_service_pki(pki) == []
    assert contents(pki) == before


def test_private_keys_are_mode_600_in_a_folder_of_mode_700(pki):
    for key in (pki.ca_key, pki.server_key, pki.client_key):
        assert key.stat().st_mode & 0o777 == 0o600, key.name
    assert pki.ca_cert.parent.stat().st_mode & 0o777 == 0o700
    assert not list(pki.ca_cert.parent.glob("*.tmp"))  # written under a temporary name, then renamed


def test_the_ca_signs_certificates_and_nothing_else(pki):
    ca = certificate(pki.ca_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and not usage.digital_signature


def test_the_server_certificate_names_the_local_hosts_and_serves_only(pki):
    server = certificate(pki.server_cert)
    server.verify_directly_issued_by(certificate(pki.ca_cert))
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert usages(server) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_client_certificate_names_the_hub_and_is_for_clients_only(pki):
    client = certificate(pki.client_cert)
    client.verify_directly_issued_by(certificate(pki.ca_cert))
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "hub"
    assert usages(client) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_a_missing_certificate_is_issued_again_by_the_same_ca(pki):
    before = contents(pki)
    pki.client_cert.unlink()
    assert ensure_service_pki(pki) == ["hub-client.crt", "hub-client.key"]
    after = contents(pki)
    assert {name: after[name] for name in ALL[:4]} == {name: before[name] for name in ALL[:4]}
    certificate(pki.client_cert).verify_directly_issued_by(certificate(pki.ca_cert))


def test_a_new_ca_brings_new_certificates(pki):
    pki.ca_key.unlink()
    assert ensure_service_pki(pki) == ALL
    ca = certificate(pki.ca_cert)
    for leaf in (pki.server_cert, pki.client_cert):
        certificate(leaf).verify_directly_issued_by(ca)


def test_certificates_near_their_end_are_renewed_by_the_same_ca(pki):
    ca = pki.ca_cert.read_bytes()
    later = datetime.now(UTC) + timedelta(days=LEAF_DAYS - 10)
    assert ensure_service_pki(pki, now=later) == ALL[2:]
    assert pki.ca_cert.read_bytes() == ca
    assert certificate(pki.client_cert).not_valid_after_utc > later + timedelta(days=30)


def test_two_makers_at_once_make_one_pki(tmp_path):
    pki = ServicePki.at(tmp_path / "service-tls")
    start, results = threading.Barrier(4), []

    def make() -> None:
        start.wait()
        results.append(ensure_service_pki(pki))

    makers = [threading.Thread(target=make) for _ in range(4)]
    for maker in makers:
        maker.start()
    for maker in makers:
        maker.join()
    assert sorted(results) == [[], [], [], ALL]
    ca = certificate(pki.ca_cert)
    for leaf in (pki.server_cert, pki.client_cert):
        certificate(leaf).verify_directly_issued_by(ca)
    client_context(pki.ca_cert, pki.client_cert, pki.client_key)  # the key belongs to the certificate


def test_the_settings_name_the_files_and_the_hubs_client_context_uses_them(tmp_path):
    settings = Settings(
        service_ca_file=tmp_path / "ca" / "ca.crt",
        service_client_cert=tmp_path / "client" / "hub.crt",
        service_client_key=tmp_path / "client" / "hub.key",
    )
    pki = ServicePki.of(settings)
    ensure_service_pki(pki)
    assert settings.service_client_key.stat().st_mode & 0o777 == 0o600
    assert pki.server_cert == tmp_path / "ca" / "server.crt"
    context = client_ssl_context(settings)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("missing", "setting"),
    [
        ("ca_cert", "HUB_SERVICE_CA_FILE"),
        ("client_cert", "HUB_SERVICE_CLIENT_CERT"),
        ("client_key", "HUB_SERVICE_CLIENT_KEY"),
    ],
)
def test_a_missing_file_names_its_setting(pki, missing, setting):
    getattr(pki, missing).unlink()
    with pytest.raises(ConfigurationError, match=setting):
        client_context(pki.ca_cert, pki.client_cert, pki.client_key)


def test_a_key_of_another_certificate_is_refused_without_showing_the_key(pki):
    with pytest.raises(ConfigurationError) as refused:
        client_context(pki.ca_cert, pki.client_cert, pki.server_key)
    text = str(refused.value)
    assert "HUB_SERVICE_CLIENT_CERT" in text and "HUB_SERVICE_CLIENT_KEY" in text
    key_lines = [line for line in pki.server_key.read_text().splitlines() if "-----" not in line]
    assert "PRIVATE" not in text and not any(line in text for line in key_lines)


def test_service_urls_must_be_https():
    assert require_https("https://siak.example", "HUB_SIAK_URL") == "https://siak.example"
    with pytest.raises(ConfigurationError, match="HUB_SIAK_URL"):
        require_https("http://siak.example", "HUB_SIAK_URL")


async def test_the_composition_root_refuses_plain_http_services():
    plain = Settings(registry=RegistryKind.SIAK_HTTP, siak_url="http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="HUB_SIAK_URL"):
        async with bootstrap.units_of_work(plain, None):  # refused before the pool is used
            pass
    signer = Settings(signer=SignerKind.REMOTE, signer_url="http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="HUB_SIGNER_URL"):
        async with bootstrap.document_signer(signer):
            pass


def test_a_server_requires_a_client_certificate_of_its_ca(pki):
    kwargs = server_ssl_kwargs(pki.server_cert, pki.server_key, pki.ca_cert)
    assert kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED and kwargs["ssl_ca_certs"] == str(pki.ca_cert)
    context = kwargs["ssl_context_factory"](None, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert context.sslobject_class is ssl.SSLObject and context.minimum_version >= ssl.TLSVersion.TLSv1_2
    named = ServerContext(frozenset({"hub"}))(None, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert issubclass(named.sslobject_class, ssl.SSLObject) and named.sslobject_class is not ssl.SSLObject
    pki.server_key.unlink()
    with pytest.raises(ConfigurationError, match="--tls-key"):
        server_ssl_kwargs(pki.server_cert, pki.server_key, pki.ca_cert)


def test_a_client_certificate_for_another_name(pki, tmp_path):
    cert, key = tmp_path / "other.crt", tmp_path / "other.key"
    issue_client(pki, "not-the-hub", cert, key)
    issued = certificate(cert)
    issued.verify_directly_issued_by(certificate(pki.ca_cert))
    assert issued.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "not-the-hub"
    assert key.stat().st_mode & 0o777 == 0o600


def test_the_common_name_of_a_peer_certificate():
    peer = {"subject": ((("countryName", "ID"),), (("commonName", "hub"),))}
    assert common_name(peer) == "hub"
    assert common_name({}) is None and common_name(None) is None


def test_the_hubs_client_trusts_the_service_ca_and_no_public_ca(pki):
    """The registry and the signer are vouched for by the service CA alone: a publicly issued
    certificate for their host name must not do."""
    context = client_context(pki.ca_cert, pki.client_cert, pki.client_key)
    trusted = context.get_ca_certs()
    assert len(trusted) == 1 and context.cert_store_stats()["x509_ca"] == 1
    assert trusted[0]["subject"] == ssl._ssl._test_decode_cert(str(pki.ca_cert))["subject"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
