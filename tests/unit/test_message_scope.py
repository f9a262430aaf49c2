"""Message ids are scoped by the sending hospital: hospital B re-using hospital A's message id for
another birth gets its own registration and its own result, and a re-send from either hospital
gets that hospital's result again."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from hub.devtools.simulation.bundles import BirthSpec, Parent
from hub.domain.numbers import kk_prefix, nik_prefix, with_serial
from hub.domain.values import Family, FamilyMember, Hospital, Person, Relationship, Sex
from hub.service.register_birth import RegisterBirths
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_register_births import KEC, NOW, PIPELINE, TOPICS, _population, at, first_birth, raw


def _second_household(state: FakeState) -> Parent:
    """Another mother, in a family of her own, who gives birth at hospital 200."""
    born = date(1997, 7, 7)
    mother = Person(with_serial(nik_prefix(KEC, born, Sex.FEMALE), 9), "Rina Wati", Sex.FEMALE, born, None)
    kk = with_serial(kk_prefix(KEC, date(2021, 3, 3)), 2)
    state.persons[mother.nik] = replace(mother, kk_number=kk)
    state.families[kk] = Family(
        kk, KEC, 1, (FamilyMember(mother.nik, mother.name, Sex.FEMALE, born, Relationship.HEAD),)
    )
    state.hospitals["200"] = Hospital("200", "RS Lain", "3273", True)
    return Parent(mother.nik, mother.name, born, kk)


def _results(state: FakeState) -> list[dict]:
    """Every result, on whichever of the two hospitals' results topics it went, with its topic and key."""
    topics = {TOPICS.results_of("100"), TOPICS.results_of("200")}
    return [json.loads(m.value) | {"key": m.key, "topic": m.topic} for m in state.outbox if m.topic in topics]


def _numbers(result: dict) -> dict:
    params = next(e["resource"] for e in result["entry"] if e["resource"]["resourceType"] == "Parameters")
    return {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in params["parameter"]}


async def test_two_hospitals_with_one_message_id_are_both_registered_and_answered_apart():
    state = FakeState()
    mother, father = _population(state)
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), PIPELINE, lambda: NOW)
    spec_a = first_birth(mother, father)
    mother_b = _second_household(state)
    spec_b = BirthSpec(
        hospital_id="200",
        encounter_id="E1",
        mother=mother_b,
        child_name="Budi Wati",
        sex="male",
        born_at=spec_a.born_at,
        message_id=spec_a.message_id,
        marriage="not-married",
        reporter_nik=mother_b.nik,
        witness_niks=(mother_b.nik, father.nik),
    )

    handled = await handler.handle_batch([(raw(spec_a), at(1)), (raw(spec_b), at(2))])

    assert [(h.outcome, h.hospital_id) for h in handled] == [("registered", "100"), ("registered", "200")]
    assert len(state.births) == 2
    result_a, result_b = _results(state)
    assert (result_a["key"], result_b["key"]) == (b"100", b"200")
    assert (result_a["topic"], result_b["topic"]) == (TOPICS.results_of("100"), TOPICS.results_of("200"))
    assert result_a["id"] != result_b["id"], "two messages, two result events"
    assert _numbers(result_a)["nik"] != _numbers(result_b)["nik"]

    resent = await handler.handle_batch([(raw(spec_b), at(3)), (raw(spec_a), at(4))])

    assert [(h.outcome, h.hospital_id) for h in resent] == [("resent-result", "200"), ("resent-result", "100")]
    again_b, again_a = _results(state)[2:]
    assert (again_b["id"], again_b["key"], again_b["topic"]) == (result_b["id"], b"200", result_b["topic"]), (
        "hospital 200 gets its own result again"
    )
    assert (again_a["id"], again_a["key"], again_a["topic"]) == (result_a["id"], b"100", result_a["topic"])
    assert len(state.births) == 2
