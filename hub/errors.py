"""The hub's one error tree. Retryability is a type.

    HubError
     ├── PermanentError          the input is wrong: answer with a code, never retry
     │    ├── NumberSpaceExhausted  a serial scope is full (9999 NIKs in one kecamatan-day)
     │    └── StoreRefusedData      the database cannot store a value (SQLSTATE class 22, or text
     │                              UTF-8 cannot encode): the message that carried it is refused
     └── TransientError          something outside is unavailable: retry with backoff, keep the offset
          ├── StoreUnavailable      PostgreSQL down, connection lost, serialisation conflicts
          ├── BrokerUnavailable     Kafka not reachable or not acknowledging
          ├── RegistryUnavailable   the civil registry (SIAK) not answering
          ├── RegistryConflict      the registry recorded the same birth concurrently: decide again
          └── SignerUnavailable     the document signing service not answering
     └── OperatorError           an operator's request that cannot be done as asked (CLI refusals)

Adapters translate driver errors into these at the boundary. Anything else is a bug: the
consumer lets it crash the process and the message is redelivered.
"""

from __future__ import annotations

from hub.domain import codes
from hub.domain.codes import Code


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class PermanentError(HubError):
    """A refusal with a code from the catalogue (hub/domain/codes.py): what the hospital or the
    operator is told. `message` says more, without personal data; `origin` is the code a remote
    service (SIAK, the signer) gave, when the hub's catalogue has no such code."""

    def __init__(self, code: Code, message: str, *, origin: str | None = None) -> None:
        super().__init__(f"{code.code}: {message}")
        self.code, self.origin = code, origin


class NumberSpaceExhausted(PermanentError):
    def __init__(self, scope: str) -> None:
        super().__init__(codes.NUMBER_SPACE_EXHAUSTED, f"no free serial left in {scope}")


class StoreRefusedData(PermanentError):
    """The database refused a value as data (SQLSTATE class 22: out of range, untranslatable, too
    long, ...) or the value could not be encoded for it. Retrying the same transaction fails the
    same way: the one message that carried the value is answered STORE-DATA-REJECTED instead.
    `kind` names the error (type and SQLSTATE), never its text, which may quote the value."""

    def __init__(self, kind: str) -> None:
        super().__init__(codes.STORE_DATA_REJECTED, kind)
        self.kind = kind


class TransientError(HubError):
    """Worth retrying: the same operation may succeed later."""


class StoreUnavailable(TransientError):
    pass


class BrokerUnavailable(TransientError):
    pass


class RegistryUnavailable(TransientError):
    pass


class RegistryConflict(TransientError):
    """The registry saw a concurrent write of the same birth: decide again, it will be found."""


class SignerUnavailable(TransientError):
    """The signing service (local key store or remote PSrE-style API) cannot sign right now."""


class OperatorError(HubError):
    """An operator's request that cannot be carried out as asked (unknown id, already decided)."""


class ConfigurationError(HubError):
    """The settings cannot work (raised at start-up, before anything connects)."""
