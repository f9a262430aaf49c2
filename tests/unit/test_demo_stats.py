"""`hub demo`'s pure parts: result reading, matching answers to sent notifications, counting, percentiles,
and the plan of notifications (checked against the hub's own profile rules). No network."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.devtools.simulation.bundles import Parent
from hub.devtools.simulation.demo import Mother, notification, plan_notifications
from hub.devtools.simulation.demo_stats import (
    ResultView,
    Tally,
    figures,
    kind_rows,
    percentile,
    read_result,
    utc_offset_hours,
)
from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.outcomes import ResultStatus
from hub.domain.values import Sex
from hub.intake import results as r
from hub.intake.profile import read_notice
from tests.unit.builders import kk, nik

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def result(message_id: str, status: str, *issues: Issue) -> dict:
    content = r.ResultContent(str(uuid.uuid4()), message_id, "103273001", status, issues)
    return r.build_result(content, NOW)


def view(message_id: str, status: str = ResultStatus.REGISTERED, *found: str, code: str | None = None) -> ResultView:
    return ResultView(message_id, status, code or ("fatal-error" if status == ResultStatus.REJECTED else "ok"), found)


# Percentiles.


def test_percentile_of_nothing_is_none():
    assert percentile([], 50) is None


def test_percentile_is_nearest_rank_on_unsorted_values():
    values = list(range(100, 0, -1))  # 1..100, reversed

    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50, 95, 100)
    assert percentile(values, 0) == 1


def test_percentile_of_few_values_takes_an_actual_value():
    assert percentile([0.010, 0.030, 0.020], 50) == 0.020
    assert percentile([0.010, 0.030, 0.020], 95) == 0.030
    assert percentile([7.0], 95) == 7.0


# Reading the hub's result Bundles.


def test_read_result_of_a_registration():
    found = read_result(result("m-1", ResultStatus.REGISTERED))

    assert found == ResultView("m-1", ResultStatus.REGISTERED, "ok", ())


def test_read_result_of_a_rejection_lists_every_issue_code():
    found = read_result(result("m-2", ResultStatus.REJECTED, Issue(codes.WEIGHT_UNIT, "x"), Issue(codes.KK_NOT_FOUND)))

    assert (found.status, found.response_code) == (ResultStatus.REJECTED, "fatal-error")
    assert found.codes == ("BIRTH-WEIGHT-UNIT", "KK-NOT-FOUND")


@pytest.mark.parametrize(
    "bundle",
    [
        None,
        {},
        {"entry": []},
        {"entry": [{"resource": {"resourceType": "MessageHeader"}}]},
        {"entry": [{"resource": {"response": {"identifier": "m"}, "extension": []}}]},
    ],
)
def test_read_result_of_something_else_is_none(bundle):
    assert read_result(bundle) is None


# Matching and counting.


def test_answers_are_counted_by_status_with_latency_from_the_send():
    tally = Tally()
    for index, message_id in enumerate(("a", "b", "c", "d", "e")):
        tally.sent(message_id, at=10.0 + index)
    tally.answer(view("a"), at=10.5)
    tally.answer(view("b", ResultStatus.REJECTED, "KK-NOT-FOUND"), at=11.2)
    tally.answer(view("c", ResultStatus.REVIEW, "REVIEW-PENDING", "REVIEW-SUSPECTED-DUPLICATE"), at=12.1)
    tally.answer(view("d", ResultStatus.STILLBIRTH), at=13.3)

    assert tally.counts == Counter(
        {ResultStatus.REGISTERED: 1, ResultStatus.REJECTED: 1, ResultStatus.REVIEW: 1, ResultStatus.STILLBIRTH: 1}
    )
    assert (tally.answered, tally.unanswered, tally.complete) == (4, 1, False)
    assert tally.latencies == pytest.approx([0.5, 0.2, 0.1, 0.3])
    assert tally.latency_ms(50) == pytest.approx(200)
    assert tally.top_codes(ResultStatus.REJECTED) == [("KK-NOT-FOUND", 1)]


def test_answers_to_others_and_repeated_answers_are_not_counted():
    tally = Tally()
    tally.sent("mine", at=0.0)

    assert tally.answer(view("someone-elses"), at=1.0) is False
    assert tally.answer(view("mine", ResultStatus.REVIEW), at=1.0) is True
    assert tally.answer(view("mine", ResultStatus.REGISTERED), at=9.0) is False  # the decision after review

    assert tally.counts == Counter({ResultStatus.REVIEW: 1})
    assert (tally.repeats, tally.complete, tally.latencies) == (1, True, [1.0])


def test_a_notification_refused_by_kafka_is_not_waited_for():
    tally = Tally()
    tally.sent("ok", at=0.0)
    tally.sent("refused", at=0.0)
    tally.send_failed("refused")
    tally.answer(view("ok"), at=0.1)

    assert (tally.complete, tally.failed_sends, len(tally.sent_at)) == (True, 1, 1)


def test_a_response_code_that_does_not_fit_the_status_is_noted():
    tally = Tally()
    tally.sent("a", at=0.0)
    tally.answer(view("a", ResultStatus.REJECTED, code="ok"), at=0.1)

    assert tally.code_mismatches == 1
    assert any("response.code" in line for line in tally.warnings("complete", 30))


def test_outcomes_by_kind_show_surprises_and_unanswered():
    tally = Tally()
    tally.sent("v1", 0.0, "valid")
    tally.sent("v2", 0.0, "valid")
    tally.sent("kg", 0.0, "weight-in-kg")
    tally.sent("late", 0.0, "twin")
    tally.answer(view("v1"), 0.1)
    tally.answer(view("v2", ResultStatus.REJECTED, "NIK-INVALID"), 0.1)
    tally.answer(view("kg", ResultStatus.REJECTED, "BIRTH-WEIGHT-UNIT"), 0.1)

    assert tally.by_kind() == {
        "valid": Counter({ResultStatus.REGISTERED: 1, ResultStatus.REJECTED: 1}),
        "weight-in-kg": Counter({ResultStatus.REJECTED: 1}),
        "twin": Counter({"unanswered": 1}),
    }
    assert tally.surprises() == Counter({("valid", ResultStatus.REJECTED): 1})
    lines = tally.warnings("timeout", 30)
    assert lines[0] == "stopped waiting 30s after the last send: 1 unanswered"
    assert lines[1] == "unexpected answers: valid -> rejected x1"
    assert kind_rows(tally)[0] == ("twin (registered)", "0", "0", "0", "0", "0", "1")


def test_figures_add_up():
    tally = Tally()
    for message_id in "abc":
        tally.sent(message_id, 0.0)
    tally.answer(view("a"), 0.02)
    tally.answer(view("b", ResultStatus.DUPLICATE), 0.04)
    shown = dict(figures(tally, elapsed=2.0))

    assert (shown["sent"], shown["answered"], shown["unanswered"]) == ("3", "2", "1")
    assert (shown["registered"], shown["duplicate"], shown["rejected"]) == ("1", "1", "0")
    assert (shown["answers/s"], shown["latency p50 ms"], shown["latency p95 ms"]) == ("1.0", "20", "40")
    assert dict(figures(Tally(), 0.0))["latency p50 ms"] == "-"


# Time zones of hospitals.


@pytest.mark.parametrize(
    ("regency", "hours"),
    [
        ("1271", 7),
        ("3174", 7),
        ("3578", 7),
        ("3671", 7),
        ("6171", 7),
        ("6271", 7),
        ("6371", 8),
        ("6471", 8),
        ("6571", 8),
        ("5171", 8),
        ("5371", 8),
        ("7371", 8),
        ("7671", 8),
        ("8171", 9),
        ("8271", 9),
        ("9171", 9),
        ("9471", 9),
        ("9671", 9),
    ],
)
def test_utc_offset_follows_the_province(regency, hours):
    assert utc_offset_hours(regency) == hours


# The plan: what the synthetic hospitals send.


def mothers(count: int, recent: int = 0) -> list[Mother]:
    found = []
    for index in range(count):
        kecamatan = "327301" if index % 2 else "737101"
        mother = Parent(nik(kecamatan, date(1995, 3, 12), Sex.FEMALE), "Siti Rahma", date(1995, 3, 12), kk(kecamatan))
        father = Parent(nik(kecamatan, date(1992, 5, 1), Sex.MALE), "Budi Santoso", date(1992, 5, 1))
        found.append(Mother(mother, father, kecamatan, recent=index < recent))
    return found


HOSPITALS = [("103273001", "3273"), ("107371001", "7371"), ("109171001", "9171")]


def test_plan_sends_the_asked_number_of_notifications_with_unique_ids():
    planned = plan_notifications(random.Random(3), mothers(80), HOSPITALS, 60, 0.0, NOW)

    assert len(planned) == 60
    assert len({spec.message_id for _, spec in planned}) == 60
    assert all(spec.encounter_id.startswith("DEMO-") for _, spec in planned)
    assert {kind for kind, _ in planned} <= {"valid", "twin", "stillbirth"}


def test_plan_people_are_consistent_and_births_are_recent_in_local_time():
    for _kind, spec in plan_notifications(random.Random(5), mothers(40), HOSPITALS, 40, 0.0, NOW):
        hospital_regency = dict(HOSPITALS)[spec.hospital_id]
        assert spec.reporter_nik == spec.father.nik
        assert len(set(spec.witness_niks)) == 2
        assert not set(spec.witness_niks) & {spec.mother.nik, spec.father.nik}
        assert spec.born_at.utcoffset() == timedelta(hours=utc_offset_hours(hospital_regency))
        assert NOW - timedelta(hours=48) <= spec.born_at < NOW
        assert hospital_regency == spec.mother.kk_number[:4]  # a hospital where she lives, when there is one


def test_twins_share_the_encounter_and_are_numbered():
    planned = plan_notifications(random.Random(1), mothers(400), HOSPITALS, 400, 0.0, NOW)
    twins = [spec for kind, spec in planned if kind == "twin"]

    assert twins, "about 5% of deliveries are twins"
    by_encounter: dict[str, list] = {}
    for spec in twins:
        by_encounter.setdefault(spec.encounter_id, []).append(spec)
    for pair in by_encounter.values():
        assert sorted(s.birth_order for s in pair) == [1, 2]
        assert {s.plurality for s in pair} == {2}


def test_mothers_without_a_recent_birth_come_first():
    planned = plan_notifications(random.Random(2), mothers(30, recent=10), HOSPITALS, 20, 0.0, NOW)

    assert "repeat-mother" not in {kind for kind, _ in planned}
    more = plan_notifications(random.Random(2), mothers(30, recent=10), HOSPITALS, 40, 0.0, NOW)
    assert "repeat-mother" in {kind for kind, _ in more}


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        ("placeholder-name", "NEWBORN-NAME-PLACEHOLDER"),
        ("weight-in-kg", "BIRTH-WEIGHT-UNIT"),
        ("unknown-kk", None),
    ],
)
def test_each_mistake_is_the_one_the_profile_sees(mistake, expected):
    planned = [
        (kind, spec)
        for kind, spec in plan_notifications(random.Random(9), mothers(300), HOSPITALS, 300, 0.5, NOW)
        if kind == mistake
    ]
    assert planned
    for kind, spec in planned[:5]:
        profile = read_notice(notification(kind, spec), now=NOW, strict_nik=True, region_known=lambda _: True)
        found = {issue.code.code for issue in profile.issues if issue.blocks}
        assert found == ({expected} if expected else set())
        if mistake == "unknown-kk":  # structurally fine: only the registry can say it exists nowhere
            assert profile.notice.kk_number[6:12] == "010100"


def test_sound_notifications_pass_the_profile():
    planned = plan_notifications(random.Random(4), mothers(200), HOSPITALS, 200, 0.0, NOW)
    for kind, spec in planned:
        profile = read_notice(notification(kind, spec), now=NOW, strict_nik=True, region_known=lambda _: True)
        assert [i.code.code for i in profile.issues if i.blocks] == [], kind
        assert profile.notice.stillborn == (kind == "stillbirth")
