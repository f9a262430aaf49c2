"""A throwaway PostgreSQL cluster of its own, for tests that stop and start the database.

Started by the project's own script (deploy/local/postgres.sh) with another folder and port, so
stopping it never disturbs the shared test server. The folder lies under .local/, which the
script makes reachable for the `postgres` account when the tests run as root.
"""

from __future__ import annotations

from tests.support.private_service import ROOT, PrivateService
from tests.support.siak_process import free_port


class PrivatePostgres(PrivateService):
    script = ROOT / "deploy" / "local" / "postgres.sh"

    def __init__(self, name: str, port: int | None = None) -> None:
        """`port`: a fixed one for a cluster that restarts (tests/support/ports.py); else any free port."""
        super().__init__(ROOT / ".local" / "test-pg" / name)
        self.port = port or free_port()
        self.dsn = f"postgresql://hub@127.0.0.1:{self.port}/hub"

    def environment(self) -> dict[str, str]:
        return {"HUB_LOCAL_PG_HOME": str(self.home), "HUB_LOCAL_PG_PORT": str(self.port)}
