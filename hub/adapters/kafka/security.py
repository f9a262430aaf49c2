"""How every Kafka client of the hub connects: TLS, then SASL/SCRAM-SHA-512, as one principal.

The hub has three principals, each with only the ACLs its work needs (hub/service/broker_policy.py;
deploy/kafka/strimzi/ holds the same as Strimzi KafkaUser resources):
- `hub` (Settings.kafka_username): the consumer; reads the hospitals' notification topics and
  the dead-letter topic (replay), commits its group's offsets, describes them (consumer lag);
- `hub-relay`: the outbox relay; writes results, civil events and dead letters;
- `hub-admin`: admin tasks; creates topics, ACLs and hospitals' SCRAM credentials.

A password left unset in the settings is read from `<kafka_secrets_dir>/<username>.password`
(deploy/local/kafka.sh writes the local broker's there). Passwords stay SecretStr until the
moment a client is built and are never logged.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from hub.config import Settings
from hub.errors import ConfigurationError

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_SSL"


class Role(str, Enum):
    CONSUMER = "consumer"
    RELAY = "relay"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class KafkaAccess:
    """One principal's connection to the brokers."""

    bootstrap: str
    username: str
    password: SecretStr
    ca_file: Path

    def __repr__(self) -> str:  # the password never, even in a traceback's locals
        return f"KafkaAccess(bootstrap={self.bootstrap!r}, username={self.username!r})"

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the broker's certificate (and its host name) against the configured CA only."""
        if not self.ca_file.is_file():
            raise ConfigurationError(
                f"Kafka CA certificate {self.ca_file} not found (HUB_KAFKA_CA_FILE; "
                "deploy/local/kafka.sh creates the local one)"
            )
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": PROTOCOL,
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password.get_secret_value(),
            "ssl_context": self.ssl_context(),
        }

    def faststream(self):
        """FastStream's security object (documented in the AsyncAPI as scramSha512)."""
        from faststream.security import SASLScram512

        return SASLScram512(self.username, self.password.get_secret_value(), ssl_context=self.ssl_context())

    def librdkafka(self) -> dict[str, str]:
        """Configuration for confluent-kafka (librdkafka) clients and for any standard client's properties."""
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": PROTOCOL,
            "sasl.mechanisms": MECHANISM,
            "sasl.username": self.username,
            "sasl.password": self.password.get_secret_value(),
            "ssl.ca.location": str(self.ca_file),
        }


def access(settings: Settings, role: Role = Role.CONSUMER) -> KafkaAccess:
    """The connection of one of the hub's principals."""
    username, password = {
        Role.CONSUMER: (settings.kafka_username, settings.kafka_password),
        Role.RELAY: (settings.kafka_relay_username, settings.kafka_relay_password),
        Role.ADMIN: (settings.kafka_admin_username, settings.kafka_admin_password),
    }[role]
    return KafkaAccess(
        settings.kafka_bootstrap, username, password or _password_file(settings, username), settings.kafka_ca_file
    )


def _password_file(settings: Settings, username: str) -> SecretStr:
    path = settings.kafka_secrets_dir / f"{username}.password"
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigurationError(
            f"no password for Kafka principal {username!r}: set it in the environment (HUB_KAFKA_*_PASSWORD) "
            f"or put it in {path} (deploy/local/kafka.sh writes the local broker's)"
        ) from None
    if not secret:
        raise ConfigurationError(f"{path} is empty")
    return SecretStr(secret)
