"""Acting as a hospital of the local registry: its own Kafka principal and its own signing key.

`hub demo` and `hub example --signed` publish as a hospital does: connected as `hospital-<org>`
(which may write only its own notification topic and read only its own results), every record
signed with the hospital's private key. They read what `hub hospitals` wrote for it under
`HUB_HOSPITAL_SECRETS_DIR/<org>/`: `kafka.password`, `signing-key.pem` (the current private key)
and `signing-key.kid` (its key id).

Development only: when some of these are missing, `local_hospital` makes them with the hospital
desk, as an operator would (`hub hospitals sync ORG`, then `hub hospitals rotate-key ORG
--overlap-hours 0`), audited under the caller's identity. So a hospital `hub seed` (or `make run`)
stored becomes usable on first use. It never replaces what an integrator holds: a hospital that
already has a Kafka user, or a valid key, whose secret is not in the folder is refused with what
to do instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from hub.adapters.kafka.security import KafkaAccess
from hub.config import Settings, is_hospital_id
from hub.errors import OperatorError
from hub.intake import signature
from hub.service.broker_policy import hospital_username
from hub.service.hospitals import HospitalDesk, HospitalStatus

log = logging.getLogger("hub.local_hospitals")
PASSWORD_FILE = "kafka.password"  # noqa: S105 (a file name)
KEY_FILE = "signing-key.pem"
KID_FILE = "signing-key.kid"
_REASON = "development: credentials for hub demo / hub example --signed"


@dataclass(frozen=True)
class LocalHospital:
    """A hospital's secrets as this host holds them. Neither the password nor the key is ever shown
    by repr (a traceback's locals)."""

    org_id: str
    username: str
    password: SecretStr
    kid: str
    private_key_pem: bytes = field(repr=False)
    folder: Path
    onboarded: bool = False  # whether its missing secrets were made just now

    def signature(self, raw: bytes) -> str:
        """The `hub-signature` header value for a record whose value is exactly `raw`."""
        return signature.sign(raw, self.private_key_pem, self.kid)

    def headers(self, raw: bytes) -> list[tuple[str, bytes]]:
        """Kafka record headers that sign `raw` (aiokafka's form)."""
        return [(signature.HEADER, self.signature(raw).encode("ascii"))]

    def kafka(self, settings: Settings) -> dict[str, Any]:
        """aiokafka keyword arguments connecting as this hospital's principal, to the bootstrap that
        hospitals are told (HUB_HOSPITAL_BOOTSTRAP, else HUB_KAFKA_BOOTSTRAP)."""
        bootstrap = settings.hospital_bootstrap or settings.kafka_bootstrap
        return KafkaAccess(bootstrap, self.username, self.password, settings.kafka_ca_file).aiokafka()


async def local_hospital(
    settings: Settings, org_id: str, *, onboard: bool = True, by: str | None = None
) -> LocalHospital:
    """The hospital's secrets from `settings.hospital_secrets_dir/<org_id>/`. Missing ones are made
    when `onboard` (development; see the module docstring), audited under `by` (default: the
    operating system's account of this process). OperatorError when they cannot be had."""
    if not is_hospital_id(org_id):
        raise OperatorError("an organisation id is 1 to 64 letters, digits and hyphens")
    folder = settings.hospital_secrets_dir / org_id
    missing = _missing(folder)
    if not missing:
        return _read(folder, org_id, onboarded=False)
    if not onboard:
        raise OperatorError(f"no {', '.join(missing)} for hospital {org_id} in {folder} (`hub hospitals add`)")
    from hub.bootstrap import hospital_desk

    async with hospital_desk(settings) as desk:
        await _onboard(desk, org_id, folder, missing, by or _operator())
    log.info(
        "hospital %s onboarded for development (only for a development registry and broker): "
        "its Kafka password and signing key are in %s",
        org_id,
        folder,
    )
    return _read(folder, org_id, onboarded=True)


async def _onboard(desk: HospitalDesk, org_id: str, folder: Path, missing: list[str], by: str) -> None:
    """Check everything first, then make what is missing: nothing half done on a refusal."""
    status = await _status(desk, org_id)
    need_password = PASSWORD_FILE in missing
    need_key = KEY_FILE in missing or KID_FILE in missing
    if need_password and status.kafka_user:
        raise OperatorError(
            f"hospital {org_id} has a Kafka user whose password is not in {folder}; "
            f"`hub hospitals disable {org_id}` then `hub hospitals enable {org_id}` gives it a new one"
        )
    now = datetime.now(UTC)
    if need_key and any(k.valid_at(now) for k in status.keys):
        raise OperatorError(
            f"hospital {org_id} has a valid signing key whose private key is not in {folder}; `hub hospitals "
            f"rotate-key {org_id} --overlap-hours 0` makes a new one in the secrets folder (development)"
        )
    if need_password:
        await desk.sync(by, org_id)  # topics, the Kafka user (its password written to the folder), ACLs
    if need_key:
        await desk.rotate_key(org_id, None, timedelta(0), by, _REASON)  # no valid key to overlap with


async def _status(desk: HospitalDesk, org_id: str) -> HospitalStatus:
    found = next((s for s in await desk.listed() if s.hospital.org_id == org_id), None)
    if found is None:
        raise OperatorError(f"no hospital {org_id!r} is registered (`hub seed`, or `hub hospitals add`)")
    if not found.hospital.active:
        raise OperatorError(f"hospital {org_id} is disabled (`hub hospitals enable {org_id}`)")
    return found


def _missing(folder: Path) -> list[str]:
    return [name for name in (PASSWORD_FILE, KEY_FILE, KID_FILE) if not _text(folder / name)]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError):
        raise OperatorError(f"{path} cannot be read") from None


def _read(folder: Path, org_id: str, *, onboarded: bool) -> LocalHospital:
    if missing := _missing(folder):
        raise OperatorError(f"hospital {org_id}: still no {', '.join(missing)} in {folder}")
    return LocalHospital(
        org_id,
        hospital_username(org_id),
        SecretStr(_text(folder / PASSWORD_FILE)),
        _text(folder / KID_FILE),
        (folder / KEY_FILE).read_bytes(),
        folder,
        onboarded,
    )


def _operator() -> str:
    from hub.entrypoints.ops_common import operator_identity

    return operator_identity()
