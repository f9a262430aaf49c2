"""The reference SIAK server (`hub siak serve`) as its own process, on a free local port, over
mutual TLS with the local development PKI (made if missing): `tls` is the hub's client side of it."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from hub.adapters.service_tls import client_ssl_context
from hub.config import Settings
from hub.devtools.service_pki import ServicePki, ensure_service_pki
from tests.support.environment import as_owner


def service_pki() -> ServicePki:
    """The local development PKI of the settings (HUB_SERVICE_*), made if missing, as absolute paths."""
    pki = ServicePki.of(Settings())
    ensure_service_pki(pki)
    return pki.resolved()


def service_tls() -> ssl.SSLContext:
    """The hub's TLS client side (its certificate, the servers' CA) of the local development PKI."""
    service_pki()
    return client_ssl_context(Settings())


def tls_arguments(pki: ServicePki, client_names: Sequence[str] = ()) -> list[str]:
    """`hub siak serve` / `hub signer serve` options serving with `pki`'s server certificate."""
    names = [argument for name in client_names for argument in ("--client-name", name)]
    return [
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--client-ca",
        str(pki.ca_cert),
        *names,
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReferenceServerProcess:
    """A `hub <name> serve` reference server as its own process on a free port, over mutual TLS:
    started with `arguments`, ready once `health` answers 200 through the hub's client side."""

    name: str
    health: str

    def __init__(self, log_path: Path, *, env: dict[str, str] | None = None, client_names: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.pki, self.client_names = service_pki(), tuple(client_names)
        self.tls = service_tls()  # the hub's client side: pass as httpx's `verify`
        self._log_path, self._env = log_path, env
        self.process: subprocess.Popen | None = None

    def arguments(self) -> list[str]:
        """The `serve` command's own options (the port and TLS options are added)."""
        raise NotImplementedError

    def start(self, timeout: float = 30) -> None:
        self._log = open(self._log_path, "ab")
        command = [self.name, "serve", "--port", str(self.port), *self.arguments()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.entrypoints.cli", *command, *tls_arguments(self.pki, self.client_names)],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited: {self._log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}{self.health}", timeout=1, verify=self.tls).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not start")

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/v1/_stats", timeout=5, verify=self.tls).json()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


class SiakProcess(ReferenceServerProcess):
    name, health = "siak", "/v1/health"

    def __init__(self, dsn: str, log_path: Path, env: dict[str, str], *, client_names: Sequence[str] = ()) -> None:
        super().__init__(log_path, env=env, client_names=client_names)
        # It plays another system that keeps its own tables in the test's database: the owner role
        # may create them, the hub's runtime role may not.
        self._dsn = as_owner(dsn)

    def arguments(self) -> list[str]:
        return ["--database-url", self._dsn, "--seed-families", "0"]

    def faults(self, **values) -> None:
        response = httpx.put(f"{self.url}/v1/_faults", json=values, timeout=5, verify=self.tls)
        response.raise_for_status()
