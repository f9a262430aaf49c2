"""The realistic mix every scenario sends, built once per run and reused by throughput, ceilings and scale.

Shares of the notifications (not of deliveries): ~85% valid singletons, ~5% twins (both
notifications of a pair), ~1% stillbirths, ~6% invalid of five kinds, ~2% the same message id
re-sent (same bytes again), ~1% a new message id for a birth already sent. Every delivery is to
a different seeded mother, so no mother has two births within the 30-day duplicate window
(that would turn a birth into a review). Re-sent and duplicate copies come after their original
and share its key (the mother's NIK), so they land on the same partition, after it.

Every message goes to its hospital's own notification topic, signed by that hospital (the seeded
hospitals' development key, hub/devtools/trusted_hospitals.py). The signature is made here, when
the plan is built, so that publishing measures publishing and not signing. An "unknown sender" is a
hospital that names another (unregistered) organisation as the sender in its bundle: the hub
refuses it as not signed by that sender.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

from hub.devtools.simulation.bundles import BirthSpec, build_notification, record_key
from hub.devtools.simulation.demo import Mother
from hub.devtools.simulation.demo_stats import utc_offset_hours
from hub.devtools.simulation.population import GIVEN_F, GIVEN_M
from hub.devtools.trusted_hospitals import signature_headers
from hub.intake import vocabulary as v

MIX = {"valid": 0.85, "twin": 0.05, "stillbirth": 0.01, "invalid": 0.06, "resent": 0.02, "duplicate": 0.01}
INVALID = ("placeholder-name", "weight-in-kg", "fhir-invalid", "unknown-kk", "unknown-sender")
# What the hub should answer to each kind (a re-sent message gets its original's answer again).
EXPECTED = {
    "valid": "registered",
    "twin": "registered",
    "stillbirth": "stillbirth-recorded",
    "resent": "registered",
    "duplicate": "duplicate",
    **{f"invalid:{kind}": "rejected" for kind in INVALID},
}


CONTENT_TYPE = ("content-type", b"application/fhir+json")


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    kind: str
    key: bytes
    value: bytes
    hospital: str  # whose notification topic it goes to, and who signed it
    headers: tuple[tuple[str, bytes], ...]  # content type and the hospital's signature over `value`


def mothers_needed(count: int) -> int:
    """Deliveries (one mother each) in a plan of `count` notifications, with a margin."""
    return math.ceil(count * (1 - MIX["twin"] / 2 - MIX["resent"] - MIX["duplicate"])) + 20


def plan(mothers: list[Mother], hospitals: list[tuple[str, str]], count: int, seed: int) -> list[Message]:
    rng = random.Random(seed)
    shares = {kind: round(count * share) for kind, share in MIX.items() if kind != "valid"}
    shares["twin"] -= shares["twin"] % 2
    valid = count - sum(shares.values())
    kinds = (
        ["valid"] * valid
        + ["twin"] * (shares["twin"] // 2)
        + ["stillbirth"] * shares["stillbirth"]
        + [f"invalid:{INVALID[i % len(INVALID)]}" for i in range(shares["invalid"])]
    )
    rng.shuffle(kinds)
    if len(kinds) > len(mothers):
        raise RuntimeError(f"{len(kinds)} mothers needed, the template has {len(mothers)}: seed more families")
    chosen = rng.sample(mothers, len(kinds))
    adults = [n for m in rng.sample(mothers, min(len(mothers), 400)) for n in (m.parent.nik, m.father.nik)]
    now = datetime.now(UTC)
    base: list[tuple[str, BirthSpec, str]] = []
    for kind, mother in zip(kinds, chosen, strict=False):
        base += _delivery(rng, kind, mother, hospitals, adults, now)
    singles = [i for i, (kind, _, _) in enumerate(base) if kind == "valid"]
    originals = rng.sample(singles, shares["resent"] + shares["duplicate"])
    ordered = [(float(i), kind, spec, hospital) for i, (kind, spec, hospital) in enumerate(base)]
    for n, index in enumerate(originals):
        _, spec, hospital = base[index]
        kind, spec = (
            ("resent", spec) if n < shares["resent"] else ("duplicate", replace(spec, message_id=str(uuid.uuid4())))
        )
        ordered.append((rng.uniform(index + 0.5, len(base)), kind, spec, hospital))
    ordered.sort(key=lambda item: item[0])
    return [_message(kind, spec, hospital) for _, kind, spec, hospital in ordered]


def kinds_of(messages: list[Message]) -> dict[str, int]:
    return dict(sorted(Counter(m.kind for m in messages).items()))


def _delivery(
    rng: random.Random, kind: str, mother: Mother, hospitals: list[tuple[str, str]], adults: list[str], now: datetime
) -> list[tuple[str, BirthSpec, str]]:
    """(kind, spec, the hospital that sends it) per notification of one delivery."""
    hospital = rng.choice([h for h in hospitals if h[1] == mother.kecamatan[:4]] or hospitals)
    return [(kind, spec, hospital[0]) for kind, spec in _specs(rng, kind, mother, hospital, adults, now)]


def _specs(
    rng: random.Random, kind: str, mother: Mother, hospital: tuple[str, str], adults: list[str], now: datetime
) -> list[tuple[str, BirthSpec]]:
    hospital_id, regency = hospital
    born = now.astimezone(timezone(timedelta(hours=utc_offset_hours(regency))))
    born = (born - timedelta(seconds=rng.uniform(3600, 40 * 3600))).replace(microsecond=0)
    parents = {mother.parent.nik, mother.father.nik}
    witnesses = tuple([n for n in rng.sample(adults, 4) if n not in parents][:2])
    sex = rng.choice(("male", "female"))
    spec = BirthSpec(
        hospital_id=hospital_id,
        encounter_id=f"BENCH-{uuid.UUID(int=rng.getrandbits(128))}",
        mother=mother.parent,
        father=mother.father,
        child_name=_name(rng, sex, mother),
        sex=sex,
        born_at=born,
        message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        reporter_nik=mother.father.nik,
        witness_niks=witnesses,
        hospital_name=f"RS Sintetis {regency}",
        weight_g=rng.randint(2600, 4100),
        length_cm=round(rng.uniform(46, 53), 1),
        gestational_weeks=float(rng.randint(37, 41)),
    )
    if kind == "twin":
        second_sex = rng.choice(("male", "female"))
        first = replace(spec, birth_order=1, plurality=2, weight_g=rng.randint(1900, 2800), gestational_weeks=36.0)
        second = replace(
            first,
            birth_order=2,
            born_at=born + timedelta(minutes=6),
            sex=second_sex,
            child_name=_name(rng, second_sex, mother),
            message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        )
        return [("twin", first), ("twin", second)]
    if kind == "stillbirth":
        return [
            (
                kind,
                replace(
                    spec, stillborn=True, weight_g=rng.randint(900, 2500), gestational_weeks=float(rng.randint(28, 38))
                ),
            )
        ]
    if kind == "invalid:placeholder-name":
        return [(kind, replace(spec, child_name=f"Bayi Ny. {mother.parent.name.split()[0]}"))]
    if kind == "invalid:unknown-kk":  # recorded on 1 January 2000: no seeded or issued card has that date
        return [
            (
                kind,
                replace(
                    spec, mother=replace(mother.parent, kk_number=f"{mother.kecamatan}010100{rng.randint(1, 9999):04d}")
                ),
            )
        ]
    if kind == "invalid:unknown-sender":
        return [(kind, replace(spec, hospital_id="999999999"))]
    return [(kind, spec)]  # valid; weight-in-kg and fhir-invalid are changed in the document


def _name(rng: random.Random, sex: str, mother: Mother) -> str:
    surname = mother.father.name.split()[-1] if mother.father.name else "Putra"
    return f"{rng.choice(GIVEN_M if sex == 'male' else GIVEN_F)} {surname}"


def _message(kind: str, spec: BirthSpec, hospital: str) -> Message:
    document = build_notification(spec)
    for entry in document["entry"]:
        resource = entry["resource"]
        if (
            kind == "invalid:weight-in-kg"
            and resource["resourceType"] == "Observation"
            and resource["code"]["coding"][0]["code"] == v.BIRTH_WEIGHT
        ):
            resource["valueQuantity"].update(value=round(spec.weight_g / 1000, 2), unit="kg", code="kg")
        if (
            kind == "invalid:fhir-invalid"
            and resource["resourceType"] == "Patient"
            and "multipleBirthInteger" in resource
        ):
            resource["birthDate"] = "kemarin sore"  # not a FHIR date: fhir.resources rejects it
    value = json.dumps(document, ensure_ascii=False).encode()
    headers = (CONTENT_TYPE, *signature_headers(hospital, value))
    return Message(spec.message_id, kind, record_key(spec.mother), value, hospital, headers)
