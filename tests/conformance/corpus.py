"""The conformance corpus: valid notifications from every generator the hub has, and one mutation
per defect (mutations.py), written as files for the reference validator and kept as documents
with the instant they are judged at for the hub.

Valid members: the contract's valid examples, bundles from the demo generator
(hub/devtools/simulation/demo.py over bundles.py: singletons, twins, stillbirths, repeat mothers,
each with fixed synthetic people) plus the builder's other variants (mother only, no length, no
gestational age), and `hub example` output (hub/devtools/simulation/sample.py, its registry query
answered by a stand-in). Synthetic people only; seeded, so the same corpus every run.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from hub.devtools.simulation import examples, sample
from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification
from hub.devtools.simulation.demo import Mother, notification, plan_notifications
from hub.devtools.simulation.population import GIVEN_F, GIVEN_M
from hub.domain.numbers import nik_prefix, with_serial
from hub.domain.values import Sex
from tests.conformance.mutations import Mutation, all_mutations

SEED = 20260312
GENERATED_AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # "now" for the demo generator's bundles
EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
HOSPITALS = [("103578001", "3578"), ("105171001", "5171"), ("109171001", "9171")]
KECAMATAN = ("357801", "517101", "917101")


@dataclass(frozen=True, slots=True)
class Member:
    name: str  # file stem: "valid/example-valid-singleton", "mutation/binding-Patient.gender"
    document: dict[str, Any]
    judged_at: datetime
    mutation: Mutation | None = None

    @property
    def valid(self) -> bool:
        return self.mutation is None


def build() -> list[Member]:
    valid = [*contract_examples(), *generated(), *builder_variants(), *hub_example_output(), *reference_styles()]
    return [*valid, *mutated(examples.valid_examples()["valid-singleton"], examples.AS_OF)]


def write(members: list[Member], folder: Path) -> dict[str, Path]:
    paths = {}
    for member in members:
        path = folder / f"{member.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(member.document, ensure_ascii=False, indent=1), encoding="utf-8")
        paths[member.name] = path
    return paths


def contract_examples() -> list[Member]:
    return [
        Member(f"valid/example-{path.stem}", json.loads(path.read_text(encoding="utf-8")), examples.AS_OF)
        for path in sorted(EXAMPLES.glob("valid-*.json"))
    ]


def _mothers(rng: random.Random, count: int) -> list[Mother]:
    found = []
    for index in range(count):
        kecamatan = KECAMATAN[index % len(KECAMATAN)]
        born_m = date(1988, 1, 1) + timedelta(days=rng.randint(0, 3000))
        born_f = born_m - timedelta(days=rng.randint(0, 2000))
        mother = Parent(
            with_serial(nik_prefix(kecamatan, born_m, Sex.FEMALE), index + 1),
            f"{rng.choice(GIVEN_F)} {rng.choice(GIVEN_F)}",
            born_m,
            f"{kecamatan}{rng.randint(1, 28):02d}0{rng.randint(1, 9)}21{index + 1:04d}",
        )
        father = Parent(
            with_serial(nik_prefix(kecamatan, born_f, Sex.MALE), index + 1), f"{rng.choice(GIVEN_M)} Santoso", born_f
        )
        found.append(Mother(mother, father, kecamatan, recent=index % 7 == 0))
    return found


def _restamped(rng: random.Random, spec: BirthSpec) -> BirthSpec:
    """The generator draws message and encounter ids from uuid4: fixed ones instead, from the seed."""
    message_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return replace(spec, message_id=message_id, encounter_id=f"DEMO-{message_id[:8]}")


class _Skewed(random.Random):
    """The demo plans 5% twins and 1% stillbirths: a few dozen bundles should hold several of each."""

    def random(self) -> float:
        return super().random() / 4


def generated(count: int = 36) -> list[Member]:
    rng = _Skewed(SEED)
    planned = plan_notifications(rng, _mothers(rng, 40), HOSPITALS, count, 0.0, GENERATED_AT)
    return [
        Member(f"valid/demo-{index:02d}-{kind}", notification(kind, _restamped(rng, spec)), GENERATED_AT)
        for index, (kind, spec) in enumerate(planned)
    ]


def builder_variants() -> list[Member]:
    base = examples._spec(40)
    mother = examples.MOTHER
    variants = {
        "mother-only": replace(base, father=None, marriage="not-married", reporter_nik=mother.nik),
        "no-length": replace(base, length_cm=None),
        "no-gestational-age": replace(base, gestational_weeks=None),
        "triplet-3": replace(base, birth_order=3, plurality=3, weight_g=1900),
        "stillbirth-no-length": replace(base, stillborn=True, length_cm=None, weight_g=700, gestational_weeks=24),
        "attendant-doctor": replace(base, attendant="doctor"),
        "born-wita": replace(base, born_at=examples.BORN_AT.astimezone(timezone(timedelta(hours=8)))),
    }
    return [
        Member(f"valid/builder-{name}", build_notification(replace(spec, message_id=_fixed_id(n))), examples.AS_OF)
        for n, (name, spec) in enumerate(variants.items(), start=41)
    ]


def reference_styles() -> list[Member]:
    """The other reference styles FHIR's bundle rules resolve, as hospitals send them: the sender
    as the SATUSEHAT Organization on the national server (no Organization entry; `Organization/<id>`
    points outside the Bundle), and every entry with a RESTful fullUrl on one base, referring to
    each other by relative `Type/id`."""
    singleton = examples.valid_examples()["valid-singleton"]
    outside = json.loads(json.dumps(singleton))
    organisation = next(e for e in outside["entry"] if e["resource"]["resourceType"] == "Organization")
    outside["entry"].remove(organisation)
    by_id = {"reference": f"Organization/{organisation['resource']['id']}"}
    outside["entry"][0]["resource"]["sender"] = dict(by_id)
    _resource_of(outside, "Encounter")["serviceProvider"] = dict(by_id)

    restful = json.loads(json.dumps(singleton))
    base = "https://simrs.rs-sintetis.example/fhir"
    relative = {}
    for entry in restful["entry"]:
        resource = entry["resource"]
        relative[entry["fullUrl"]] = f"{resource['resourceType']}/{resource['id']}"
        entry["fullUrl"] = f"{base}/{relative[entry['fullUrl']]}"
    text = json.dumps(restful)
    for urn, type_and_id in relative.items():
        text = text.replace(f'"reference": "{urn}"', f'"reference": "{type_and_id}"')
    indonesian = json.loads(json.dumps(singleton))
    for entry in indonesian["entry"]:
        entry["resource"]["language"] = "id"  # the country's language: see accepted_differences.py
    return [
        Member("valid/language-indonesian", indonesian, examples.AS_OF),
        Member("valid/style-satusehat-organisation-outside", outside, examples.AS_OF),
        Member("valid/style-restful-fullurls", json.loads(text), examples.AS_OF),
    ]


def _resource_of(document: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == resource_type)


def _fixed_id(n: int) -> str:
    return f"0b6f2a1e-5c4d-4e8f-9a7b-{n:012d}"


class _Registry:
    """Answers `hub example`'s registry queries with one synthetic family (no database)."""

    def __init__(self, rng: random.Random) -> None:
        mother = _mothers(rng, 1)[0]
        self.row = {
            "nik": mother.parent.nik,
            "name": mother.parent.name,
            "birth_date": mother.parent.birth_date,
            "kk_number": mother.parent.kk_number,
            "f_nik": mother.father.nik,
            "f_name": mother.father.name,
            "kecamatan": mother.kecamatan,
        }

    async def fetchrow(self, *_: Any) -> dict[str, Any]:
        return self.row

    async def fetchval(self, *_: Any) -> str:
        return HOSPITALS[0][0]

    async def fetch(self, *_: Any) -> list[dict[str, str]]:
        return [{"nik": examples.WITNESSES[0]}, {"nik": examples.WITNESSES[1]}]

    async def close(self) -> None:
        return None


def hub_example_output() -> list[Member]:
    """What `hub example --kind K` prints, for every kind a valid notification comes from."""
    rng = random.Random(SEED + 1)
    members = []
    state = random.getstate()
    try:
        random.seed(SEED)  # sample.py draws the sex and name from the module's generator
        for kind in ("valid", "twin", "stillbirth"):
            connect = mock.AsyncMock(return_value=_Registry(rng))
            with mock.patch.object(sample.asyncpg, "connect", connect):
                drawn = asyncio.run(sample.sample_notification(SimpleNamespace(dsn="unused"), kind))  # type: ignore[arg-type]
            born = datetime.fromisoformat(drawn.document["timestamp"])
            members.append(Member(f"valid/hub-example-{kind}", drawn.document, born + timedelta(hours=3)))
    finally:
        random.setstate(state)
    return members


def mutated(base: dict[str, Any], judged_at: datetime) -> list[Member]:
    return [Member(f"mutation/{m.name}", m.applied(base), judged_at, m) for m in all_mutations()]
