"""A throwaway Kafka broker of its own, for tests that stop and start the broker.

Started by the project's own script (deploy/local/kafka.sh) with another folder (data,
configuration, pid and logs under .local/test-kafka/<name>) and fixed ports below the ephemeral
range (tests/support/ports.py), so a restart finds its ports free and stopping it never disturbs
the shared test broker. The broker's jars are the shared ones in .local/kafka/libs.
"""

from __future__ import annotations

from tests.support.ports import low_ports
from tests.support.private_service import ROOT, PrivateService


class PrivateKafka(PrivateService):
    script = ROOT / "deploy" / "local" / "kafka.sh"

    def __init__(self, name: str) -> None:
        super().__init__(ROOT / ".local" / "test-kafka" / name)
        self.port, self.controller_port = low_ports(2)
        self.bootstrap = f"127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            "HUB_LOCAL_KAFKA_HOME": str(self.home),
            "HUB_LOCAL_KAFKA_PORT": str(self.port),
            "HUB_LOCAL_KAFKA_CONTROLLER_PORT": str(self.controller_port),
        }

    def start(self) -> None:
        self._run("fetch")  # a no-op once the shared jars are there
        super().start()
