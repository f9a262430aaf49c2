"""The contract's example notifications: fixed synthetic people, fixed dates, one mistake per invalid one.

contracts/examples/ is generated from these; tests/unit/test_contract_examples.py states the codes
each invalid example must produce.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification
from hub.domain.numbers import nik_prefix, with_serial
from hub.domain.values import Sex
from hub.intake import vocabulary as v

WIB = timezone(timedelta(hours=7))
BORN_AT = datetime(2026, 3, 12, 8, 45, tzinfo=WIB)
AS_OF = datetime(2026, 3, 13, 10, 0, tzinfo=WIB)  # when the examples are "received"
KECAMATAN = "357801"  # Kota Surabaya, Karang Pilang


def _nik(birth: date, sex: Sex, serial: int) -> str:
    return with_serial(nik_prefix(KECAMATAN, birth, sex), serial)


MOTHER = Parent(_nik(date(1994, 7, 21), Sex.FEMALE, 12), "Dewi Kartika Sari", date(1994, 7, 21), "3578011502210007")
FATHER = Parent(_nik(date(1991, 2, 3), Sex.MALE, 31), "Agus Wibowo", date(1991, 2, 3))
WITNESSES = (_nik(date(1980, 5, 9), Sex.MALE, 4), _nik(date(1985, 10, 30), Sex.FEMALE, 8))


def _spec(n: int, **changes: Any) -> BirthSpec:
    base = BirthSpec(
        hospital_id="103578001",
        encounter_id="RSUS-2026-000123",
        mother=MOTHER,
        father=FATHER,
        child_name="Nadia Putri Wibowo",
        sex="female",
        born_at=BORN_AT,
        reporter_nik=FATHER.nik,
        witness_niks=WITNESSES,
        message_id=f"0b6f2a1e-5c4d-4e8f-9a7b-{n:012d}",
        hospital_name="RS Umum Sintetis Surabaya",
    )
    return replace(base, **changes)


def _mutated(spec: BirthSpec, change: Callable[[dict], None]) -> dict[str, Any]:
    document = copy.deepcopy(build_notification(spec))
    change(document)
    return document


def _resource(document: dict, index: int) -> dict:
    return document["entry"][index]["resource"]


def valid_examples() -> dict[str, dict[str, Any]]:
    return {
        "valid-singleton": build_notification(_spec(1)),
        "valid-twin-1": build_notification(
            _spec(2, child_name="Raka Wibowo", sex="male", birth_order=1, plurality=2, weight_g=2450)
        ),
        "valid-twin-2": build_notification(
            _spec(
                3,
                child_name="Rani Wibowo",
                birth_order=2,
                plurality=2,
                weight_g=2380,
                born_at=BORN_AT + timedelta(minutes=4),
            )
        ),
        "valid-mother-only": build_notification(
            _spec(4, father=None, marriage="not-married", reporter_nik=MOTHER.nik, encounter_id="RSUS-2026-000124")
        ),
        "valid-stillbirth": build_notification(
            _spec(5, stillborn=True, weight_g=900, gestational_weeks=26, encounter_id="RSUS-2026-000125")
        ),
    }


def invalid_examples() -> dict[str, dict[str, Any]]:
    def kg_weight(d: dict) -> None:
        _resource(d, 6)["valueQuantity"].update(value=3.2, unit="kg", code="kg")

    def no_birth_time(d: dict) -> None:
        del _resource(d, 2)["_birthDate"]

    def one_witness(d: dict) -> None:
        sub = _resource(d, 0)["extension"][0]["extension"]
        sub[:] = [e for e in sub if e["url"] != v.WITNESS][:3] + [e for e in sub if e["url"] == v.WITNESS][:1]

    def several(d: dict) -> None:
        _resource(d, 2)["gender"] = "unknown"
        _resource(d, 3)["identifier"][0]["value"] = "35780100000"
        kg_weight(d)

    return {
        "invalid-placeholder-name": build_notification(_spec(11, child_name="Bayi Ny. Dewi")),
        "invalid-weight-in-kg": _mutated(_spec(12), kg_weight),
        "invalid-missing-birth-time": _mutated(_spec(13), no_birth_time),
        "invalid-one-witness": _mutated(_spec(14), one_witness),
        "invalid-birth-time-offset": build_notification(
            _spec(15, born_at=BORN_AT.astimezone(timezone(timedelta(hours=5, minutes=30))))
        ),
        "invalid-not-fhir": _mutated(_spec(16), lambda d: _resource(d, 2).update(birthDate="12-03-2026")),
        "invalid-several-mistakes": _mutated(_spec(17), several),
        "invalid-married-without-father": build_notification(_spec(18, father=None, reporter_nik=MOTHER.nik)),
    }
