"""The review case beside the registry, and the trail as search shows it, with in-memory ports.

`ReviewDecisions.compare` puts what the notification states beside what the registry holds
(highlighting what REVIEW-MOTHER-DATA-MISMATCH and REVIEW-FATHER-NOT-FOUND are decided on) and
lists the mother's other births (REVIEW-BIRTH-SPACING); it writes nothing. hub.service.trail_view
is what `hub status` and the console's search both show: the timeline, the latest result's state,
and personal data masked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.console.pages.review import age
from hub.console.pages.search import normalised
from hub.service.register_birth import RegisterBirths
from hub.service.review import ReviewDecisions
from hub.service.trail_view import initials, latest_result, masked, masked_date, timeline
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_register_births import NOW, PIPELINE, _population, at, first_birth, raw

DECIDED = NOW + timedelta(hours=2)


@pytest.fixture
def world():
    state = FakeState()
    mother, father = _population(state)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    consumer, desk = RegisterBirths(uow, PIPELINE, lambda: NOW), ReviewDecisions(uow, PIPELINE, lambda: DECIDED)
    return state, consumer, desk, mother, father


def _by_field(comparison) -> dict[str, tuple[str | None, str | None, bool]]:
    return {f.field: (f.notification, f.registry, f.differs) for f in comparison.fields}


async def test_a_father_not_in_the_registry_is_the_one_highlighted_difference(world):
    state, consumer, desk, mother, father = world
    state.persons.pop(father.nik)
    spec = first_birth(mother, father)
    await consumer.handle(raw(spec), at(1))
    commits, audit = state.commits, list(state.audit)

    comparison = await desk.compare(spec.hospital_id, spec.message_id)

    assert comparison is not None and comparison.case.reasons == ("REVIEW-FATHER-NOT-FOUND",)
    rows = _by_field(comparison)
    assert rows["father.nik"] == (father.nik, None, True)
    assert rows["father.name"] == (father.name, None, True)
    assert rows["mother.nik"] == (mother.nik, mother.nik, False)
    assert rows["mother.name"] == (mother.name, mother.name, False)
    assert rows["mother.kk"] == (mother.kk_number, mother.kk_number, False)
    assert [f.field for f in comparison.fields if f.differs] == ["father.nik", "father.name"]
    assert comparison.notice is not None and comparison.notice.child_name == spec.child_name
    assert comparison.births == ()
    assert (state.commits, state.audit) == (commits, audit)  # a read


async def test_the_mothers_name_differs_only_beyond_case_accents_and_spacing(world):
    _, consumer, desk, mother, father = world
    other = first_birth(replace(mother, name="Nama Lain Sekali"), father)
    await consumer.handle(raw(other), at(1))

    rows = _by_field(await desk.compare(other.hospital_id, other.message_id))

    assert rows["mother.name"] == ("Nama Lain Sekali", mother.name, True)
    assert rows["mother.birth_date"] == ("1995-04-01", "1995-04-01", False)
    assert not rows["father.nik"][2]


async def test_a_birth_too_soon_after_another_lists_that_birth_highlighted(world):
    _, consumer, desk, mother, father = world
    earlier = replace(first_birth(mother, father), encounter_id="E0", born_at=NOW - timedelta(days=40))
    await consumer.handle(raw(earlier), at(1))
    spec = first_birth(mother, father)
    await consumer.handle(raw(spec), at(2))

    comparison = await desk.compare(spec.hospital_id, spec.message_id)

    assert comparison is not None and comparison.case.reasons == ("REVIEW-BIRTH-SPACING",)
    [other] = comparison.births
    assert (other.message_id, other.too_close, other.akta_number is not None) == (earlier.message_id, True, True)
    assert not any(f.differs for f in comparison.fields)


async def test_a_decided_case_still_compares_and_no_longer_lists_its_own_birth(world):
    state, consumer, desk, mother, father = world
    state.persons.pop(father.nik)
    spec = first_birth(mother, father)
    await consumer.handle(raw(spec), at(1))
    await desk.approve(spec.hospital_id, spec.message_id, "siti (console)", "checked")

    comparison = await desk.compare(spec.hospital_id, spec.message_id)

    assert comparison is not None and (comparison.case.status, comparison.case.decided_by) == (
        "approved",
        "siti (console)",
    )
    assert comparison.births == ()  # the birth it registered is this case's own


async def test_no_case_and_a_purged_notification(world):
    state, consumer, desk, mother, father = world
    assert await desk.compare("100", "no-such-message") is None
    state.persons.pop(father.nik)
    spec = first_birth(mother, father)
    await consumer.handle(raw(spec), at(1))
    key = next(iter(state.reviews))
    state.reviews[key] = replace(state.reviews[key], document=None)

    comparison = await desk.compare(spec.hospital_id, spec.message_id)

    assert comparison is not None and (comparison.notice, comparison.fields, comparison.births) == (None, (), ())


NIK = "3273014104950003"
KK = "3273010202200001"
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _trail(**changes) -> dict:
    trail = {
        "message_id": "m-1",
        "hospital_id": "100",
        "inbox": {
            "status": "registered",
            "codes": [],
            "result_event_id": "00000000-0000-0000-0000-000000000002",
            "result_sequence": 2,
            "mother_nik": NIK,
        },
        "deliveries": [{"topic": "t.n", "partition": 0, "offset": 7, "action": "processed", "handled_at": T0}],
        "registration": {
            "registered_at": T0 + timedelta(minutes=5),
            "stillborn": False,
            "akta_number": "3273-LU-20261130-0001",
            "registration_type": "LU",
            "variant": "both-parents",
            "child_nik": "3273016011260001",
            "kk_number": KK,
            "kk_version": 2,
        },
        "review": {
            "opened_at": T0 + timedelta(seconds=1),
            "reasons": ["REVIEW-FATHER-NOT-FOUND"],
            "status": "approved",
            "decided_at": T0 + timedelta(minutes=5),
            "decided_by": "siti (console)",
            "note": f"KK {KK} checked",
        },
        "published": [
            {"topic": "t.r", "event_id": "00000000-0000-0000-0000-000000000001", "created_at": T0, "sent_at": T0},
            {
                "topic": "t.r",
                "event_id": "00000000-0000-0000-0000-000000000002",
                "created_at": T0 + timedelta(minutes=6),
                "sent_at": None,
            },
        ],
        "audit": [
            {"at": "2026-11-30T08:05:00.5+00:00", "actor": "siti (console)", "action": "review.approve", "reason": "ok"}
        ],
    }
    trail.update(changes)
    return trail


def test_the_timeline_is_in_time_order_with_the_names_hub_status_prints():
    steps = timeline(_trail())
    assert [s.kind for s in steps] == [
        "received",
        "published",
        "review-opened",
        "registered",
        "review-decided",
        "operator",
        "queued",
    ]
    decided = steps[4]
    assert (decided.what, decided.where, decided.values) == (
        "review approved",
        "by siti (console)",
        {"status": "approved"},
    )
    assert steps[3].where == "akta 3273-LU-20261130-0001 (LU, both-parents)"
    assert steps[0].where == "t.n p0 @7"
    assert steps[5].at == datetime(2026, 11, 30, 8, 5, 0, 500000, tzinfo=UTC)  # the audit log's ISO text, read


def test_masking_keeps_the_region_and_hides_the_person():
    shown = masked(_trail())
    assert shown["inbox"]["mother_nik"] == "327301**********"
    assert shown["registration"]["kk_number"] == "327301**********"
    assert shown["review"]["note"] == "KK 327301********** checked"
    assert shown["registration"]["akta_number"] == "3273-LU-20261130-0001"  # not a personal number
    assert NIK not in str([s.detail for s in timeline(shown)]) and KK not in str(timeline(shown))
    assert initials("Siti  nur Rahma") == "S. N. R." and initials(None) is None
    assert masked_date("2026-11-30T08:00+07:00") == "****-**-**" and masked_date(None) is None


def test_the_latest_result_is_sent_queued_or_still_preparing():
    trail = _trail()
    result = latest_result(trail)
    assert result is not None and (result.sequence, result.status, result.state) == (2, "registered", "queued")
    trail["published"][1]["sent_at"] = T0 + timedelta(minutes=7)
    assert latest_result(trail).state == "sent"  # type: ignore[union-attr]
    assert latest_result(_trail(published=trail["published"][:1])).state == "preparing"  # type: ignore[union-attr]
    assert latest_result(_trail(inbox=None)) is None


def test_a_number_typed_in_groups_is_searched_whole_and_other_queries_are_only_stripped():
    assert normalised(" 3273 0141 0495 0003 ") == NIK
    assert normalised("3273.0141.0495.0003") == NIK
    assert normalised("  3273-LU-20261130-0001 ") == "3273-LU-20261130-0001"
    assert normalised(" msg 1 ") == "msg 1"


def test_a_cases_age_is_told_in_its_largest_unit():
    assert age(T0, T0 + timedelta(minutes=59), "id") == "59 menit"
    assert age(T0, T0 + timedelta(hours=5, minutes=59), "id") == "5 jam"
    assert age(T0, T0 + timedelta(days=3, hours=1), "en") == "3 d"
    assert age(T0, T0 - timedelta(minutes=1), "id") == "0 menit"
