"""The registration decision (hub/domain/decision.py) and the KK reissue (hub/domain/family.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.domain import codes
from hub.domain.decision import (
    FATHER_NIK_PATH,
    MIN_BIRTH_INTERVAL,
    MOTHER_KK_PATH,
    MOTHER_NIK_PATH,
    SAME_DELIVERY_WINDOW,
    AlreadyRegistered,
    RecordStillbirth,
    Register,
    Reject,
    Review,
    decide,
    is_late,
    normalise_name,
)
from hub.domain.family import reissue_with_child
from hub.domain.values import (
    AktaVariant,
    FamilyMember,
    Hospital,
    MarriageStatus,
    Relationship,
    Sex,
)
from tests.unit.builders import BORN_AT, NOW, WIB, facts, nik, notice, registered


def codes_of(issues) -> list[str]:
    return [issue.code.code for issue in issues]


@pytest.mark.parametrize(
    ("marriage", "variant"),
    [
        (MarriageStatus.MARRIED_RECORDED, AktaVariant.BOTH_PARENTS),
        (MarriageStatus.MARRIED_UNRECORDED, AktaVariant.BOTH_PARENTS_WITH_NOTE),
        (MarriageStatus.NOT_MARRIED, AktaVariant.MOTHER_ONLY),
        (MarriageStatus.PARENTS_UNKNOWN, AktaVariant.NO_PARENTS_KNOWN),
    ],
)
def test_register_with_the_variant_of_the_parents_status(marriage, variant):
    birth = notice(marriage=marriage)

    assert decide(birth, facts(birth), NOW) == Register(variant=variant, late=False)


# Born 1 January 2024 at 23:30 WIB; 2024 is a leap year, so 1 March is day 60 and 2 March day 61.
LATE_EVENING_BIRTH = datetime(2024, 1, 1, 23, 30, tzinfo=WIB)


def test_sixty_days_in_local_dates_is_on_time():
    now = datetime(2024, 3, 1, 16, 0, tzinfo=UTC)  # 23:00 WIB on 1 March
    birth = notice(born_at=LATE_EVENING_BIRTH)

    assert decide(birth, facts(birth), now) == Register(AktaVariant.BOTH_PARENTS, late=False)


def test_sixty_one_days_in_local_dates_is_late_even_when_utc_says_sixty():
    now = datetime(2024, 3, 1, 17, 30, tzinfo=UTC)  # 00:30 WIB on 2 March
    birth = notice(born_at=LATE_EVENING_BIRTH)

    assert now.date() == date(2024, 3, 1)
    assert decide(birth, facts(birth), now) == Register(AktaVariant.BOTH_PARENTS, late=True)


@pytest.mark.parametrize(("days", "late"), [(0, False), (59, False), (60, False), (61, True), (400, True)])
def test_is_late_counts_whole_local_days(days, late):
    assert is_late(BORN_AT, BORN_AT.replace(hour=23, minute=59) + timedelta(days=days)) is late


def test_stillbirth_is_recorded_not_registered():
    birth = notice(stillborn=True)

    assert decide(birth, facts(birth), NOW) == RecordStillbirth()


def test_same_birth_already_registered_returns_the_existing_numbers():
    birth = notice()
    existing = registered(birth)

    assert decide(birth, facts(birth, same_birth=existing), NOW) == AlreadyRegistered(existing)


@pytest.mark.parametrize(
    ("registry_name", "registry_birth"),
    [
        ("Siti Rahayu Lestari", date(1995, 3, 12)),  # another name
        ("Siti Rahayu", date(1995, 3, 13)),  # another birth date
    ],
)
def test_mother_data_mismatch_goes_to_review(registry_name, registry_birth):
    birth = notice(mother_name="Siti Rahayu", mother_birth_date=date(1995, 3, 12))
    registry = facts(birth)
    mother = replace(registry.mother, name=registry_name, birth_date=registry_birth)

    decision = decide(birth, replace(registry, mother=mother), NOW)

    assert decision == Review((codes.Issue(codes.REVIEW_MOTHER_DATA, "mother"),))


@pytest.mark.parametrize("sent", ["SITI  RAHAYU", "Sìti Rahayu", " siti rahayu. "])
def test_spelling_differences_an_officer_ignores_do_not_go_to_review(sent):
    birth = notice(mother_name=sent)
    mother = replace(facts(birth).mother, name="Siti Rahayu")

    assert isinstance(decide(birth, facts(birth, mother=mother), NOW), Register)


def test_missing_mother_birth_date_is_not_a_mismatch():
    birth = notice(mother_birth_date=None)

    assert isinstance(decide(birth, facts(birth), NOW), Register)


def test_birth_of_the_same_mother_from_another_encounter_within_30_days_is_a_suspected_duplicate():
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-other", born_at=BORN_AT - timedelta(days=10))

    decision = decide(birth, facts(birth, mothers_births=(earlier,)), NOW)

    assert decision == Review((codes.Issue(codes.REVIEW_SUSPECTED_DUPLICATE, "newborn"),))


def test_same_encounter_number_at_another_hospital_is_another_encounter():
    birth = notice()
    elsewhere = registered(birth, hospital_id="1035780001", born_at=BORN_AT - timedelta(hours=3))

    decision = decide(birth, facts(birth, mothers_births=(elsewhere,)), NOW)

    assert codes_of(decision.reasons) == ["REVIEW-SUSPECTED-DUPLICATE"]


def test_twin_of_the_same_encounter_is_not_a_duplicate():
    second = notice(birth_order=2, plurality=2, born_at=BORN_AT + timedelta(minutes=7))
    first = registered(second, birth_order=1, born_at=BORN_AT)

    assert isinstance(decide(second, facts(second, mothers_births=(first,)), NOW), Register)


def test_birth_of_the_same_mother_30_days_apart_is_not_a_duplicate_but_too_soon_for_another_pregnancy():
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-old", born_at=BORN_AT - timedelta(days=30))

    assert codes_of(decide(birth, facts(birth, mothers_births=(earlier,)), NOW).reasons) == ["REVIEW-BIRTH-SPACING"]


def test_earlier_birth_just_inside_the_window_is_a_suspected_duplicate():
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-earlier", born_at=BORN_AT - timedelta(days=29, hours=23))

    assert isinstance(decide(birth, facts(birth, mothers_births=(earlier,)), NOW), Review)


def test_duplicate_window_is_the_same_whichever_birth_came_first():  # was a bug: timedelta.days floors
    birth = notice()
    later = registered(birth, encounter_id="ENC-later", born_at=BORN_AT + timedelta(days=29, hours=23))

    assert isinstance(decide(birth, facts(birth, mothers_births=(later,)), NOW), Review)


# Birth spacing: two births of one mother closer than a pregnancy plus recovery are not two pregnancies.

SPACING = codes.Issue(
    codes.REVIEW_BIRTH_SPACING,
    "newborn",
    f"births of different pregnancies are at least {MIN_BIRTH_INTERVAL.days} days apart",
)


def test_spacing_threshold_lies_between_a_viable_pregnancy_and_a_year():
    # 20 weeks from conception to a birth at 22 weeks of gestation, plus the earliest return of ovulation
    assert timedelta(weeks=20) < MIN_BIRTH_INTERVAL <= timedelta(weeks=20 + 4)


def test_second_birth_weeks_after_another_delivery_goes_to_review():
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-earlier", born_at=BORN_AT - timedelta(days=90))

    assert decide(birth, facts(birth, mothers_births=(earlier,)), NOW) == Review((SPACING,))


@pytest.mark.parametrize(
    ("apart", "reviewed"),
    [
        (MIN_BIRTH_INTERVAL - timedelta(minutes=1), True),
        (MIN_BIRTH_INTERVAL, False),
        (timedelta(days=365), False),
    ],
)
def test_spacing_threshold_is_exclusive(apart, reviewed):
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-sibling", born_at=BORN_AT - apart)

    decision = decide(birth, facts(birth, mothers_births=(earlier,)), NOW)

    assert isinstance(decision, Review if reviewed else Register)


def test_an_earlier_stillbirth_counts_as_a_pregnancy():
    birth = notice()
    stillbirth = registered(
        birth,
        encounter_id="ENC-stillbirth",
        born_at=BORN_AT - timedelta(days=100),
        child_nik=None,
        akta_number=None,
        kk_version=None,
        stillborn=True,
    )

    assert decide(birth, facts(birth, mothers_births=(stillbirth,)), NOW) == Review((SPACING,))


def test_an_earlier_birth_at_another_hospital_counts():
    birth = notice()
    elsewhere = registered(
        birth, hospital_id="1035780001", encounter_id="RS-LAIN-0001", born_at=BORN_AT - timedelta(days=120)
    )

    assert decide(birth, facts(birth, mothers_births=(elsewhere,)), NOW) == Review((SPACING,))


def test_spacing_is_the_same_whichever_birth_was_notified_first():
    birth = notice()
    later = registered(birth, encounter_id="ENC-later", born_at=BORN_AT + timedelta(days=60))

    assert decide(birth, facts(birth, mothers_births=(later,)), NOW) == Review((SPACING,))


@pytest.mark.parametrize(
    ("apart", "reason"),
    [
        (timedelta(days=3), "REVIEW-SUSPECTED-DUPLICATE"),
        (timedelta(days=45), "REVIEW-BIRTH-SPACING"),
    ],
)
def test_same_encounter_days_apart_is_not_one_delivery(apart, reason):
    second = notice(birth_order=2, plurality=2, born_at=BORN_AT + apart)
    first = registered(second, birth_order=1, born_at=BORN_AT)

    assert codes_of(decide(second, facts(second, mothers_births=(first,)), NOW).reasons) == [reason]


@pytest.mark.parametrize(
    ("apart", "one_delivery"),
    [
        (SAME_DELIVERY_WINDOW, True),
        (SAME_DELIVERY_WINDOW + timedelta(minutes=1), False),
    ],
)
def test_one_delivery_is_hours_apart_at_most(apart, one_delivery):
    second = notice(birth_order=2, plurality=2, born_at=BORN_AT + apart)
    first = registered(second, birth_order=1, born_at=BORN_AT)

    decision = decide(second, facts(second, mothers_births=(first,)), NOW)

    assert isinstance(decision, Register if one_delivery else Review)


def test_a_duplicate_is_one_reason_not_also_a_spacing_reason():
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-again", born_at=BORN_AT - timedelta(days=2))

    assert decide(birth, facts(birth, mothers_births=(earlier,)), NOW) == Review(
        (codes.Issue(codes.REVIEW_SUSPECTED_DUPLICATE, "newborn"),)
    )


def test_two_other_births_give_each_reason_once():
    birth = notice()
    others = (
        registered(birth, encounter_id="ENC-a", born_at=BORN_AT - timedelta(days=2)),
        registered(birth, encounter_id="ENC-b", born_at=BORN_AT - timedelta(days=3)),
        registered(birth, encounter_id="ENC-c", born_at=BORN_AT - timedelta(days=80)),
        registered(birth, encounter_id="ENC-d", born_at=BORN_AT + timedelta(days=90)),
    )

    decision = decide(birth, facts(birth, mothers_births=others), NOW)

    assert codes_of(decision.reasons) == ["REVIEW-SUSPECTED-DUPLICATE", "REVIEW-BIRTH-SPACING"]


def test_own_earlier_write_is_not_another_birth():  # see decide: our write cut off before the answer
    birth = notice()
    own_write = registered(birth, message_id=birth.message_id)

    decision = decide(birth, facts(birth, same_birth=own_write, mothers_births=(own_write,)), NOW)

    assert isinstance(decision, Register)


def test_an_officer_approval_overrides_the_spacing_reason():
    birth = notice()
    earlier = registered(birth, encounter_id="ENC-earlier", born_at=BORN_AT - timedelta(days=90))

    decision = decide(birth, facts(birth, mothers_births=(earlier,)), NOW, reviewed=True)

    assert decision == Register(AktaVariant.BOTH_PARENTS, late=False)


def test_a_stillbirth_soon_after_another_birth_is_still_recorded():
    birth = notice(stillborn=True)
    earlier = registered(birth, encounter_id="ENC-earlier", born_at=BORN_AT - timedelta(days=90))

    assert decide(birth, facts(birth, mothers_births=(earlier,)), NOW) == RecordStillbirth()


def test_father_nik_not_in_registry_goes_to_review():
    birth = notice(father_nik=nik(sex=Sex.MALE), father_name="Budi Santoso")

    decision = decide(birth, facts(birth, father=None), NOW)

    assert decision == Review((codes.Issue(codes.REVIEW_FATHER_NOT_FOUND, FATHER_NIK_PATH),))


def test_every_review_reason_is_given():
    birth = notice(father_nik=nik(sex=Sex.MALE), mother_name="Siti Aminah")
    earlier = registered(birth, encounter_id="ENC-x", born_at=BORN_AT - timedelta(days=2))
    mother = replace(facts(birth).mother, name="Dewi Lestari")

    decision = decide(birth, facts(birth, mother=mother, mothers_births=(earlier,)), NOW)

    assert codes_of(decision.reasons) == [
        "REVIEW-MOTHER-DATA-MISMATCH",
        "REVIEW-SUSPECTED-DUPLICATE",
        "REVIEW-FATHER-NOT-FOUND",
    ]


@pytest.mark.parametrize(
    ("hospital", "code"),
    [
        (None, "SENDER-UNKNOWN"),
        (Hospital("1032730001", "RS Sintetis (tutup)", "3273", active=False), "SENDER-INACTIVE"),
    ],
)
def test_unknown_or_inactive_hospital_is_rejected(hospital, code):
    birth = notice()

    decision = decide(birth, facts(birth, hospital=hospital), NOW)

    assert isinstance(decision, Reject)
    assert [(i.code.code, i.expression) for i in decision.issues] == [(code, "Bundle.entry[0].resource.sender")]


def test_mother_not_in_registry_is_rejected():
    birth = notice()

    decision = decide(birth, facts(birth, mother=None), NOW)

    assert decision == Reject((codes.Issue(codes.MOTHER_NOT_FOUND, MOTHER_NIK_PATH),))


def test_kk_not_in_registry_is_rejected():
    birth = notice()

    decision = decide(birth, facts(birth, family=None), NOW)

    assert decision == Reject((codes.Issue(codes.KK_NOT_FOUND, MOTHER_KK_PATH),))


def test_mother_on_another_kk_is_rejected():
    birth = notice()
    mother = replace(facts(birth).mother, kk_number="3273010202200007")

    decision = decide(birth, facts(birth, mother=mother), NOW)

    assert decision == Reject((codes.Issue(codes.KK_MOTHER_MISMATCH, MOTHER_KK_PATH),))


def test_registry_problems_are_reported_together():
    birth = notice()

    decision = decide(birth, facts(birth, mother=None, family=None), NOW)

    assert isinstance(decision, Reject)
    assert codes_of(decision.issues) == ["MOTHER-NOT-FOUND", "KK-NOT-FOUND"]


def test_registry_rejection_wins_over_review_and_stillbirth():
    birth = notice(stillborn=True, father_nik=nik(sex=Sex.MALE))

    decision = decide(birth, facts(birth, family=None), NOW)

    assert codes_of(decision.issues) == ["KK-NOT-FOUND"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Siti Rahayu", "siti rahayu"),
        ("  Siti\tRahayu ", "Siti Rahayu"),
        ("Sìti Rähayu", "Siti Rahayu"),
        ("Nur'aini", "Nuraini"),
        ("ＳＩＴＩ", "siti"),  # full-width letters (NFKD)
    ],
)
def test_normalise_name_ignores_case_accents_spacing_and_punctuation(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(("a", "b"), [("Siti Rahayu", "Siti Rahayuni"), ("Siti Rahayu", "Sitira Hayu")])
def test_normalise_name_keeps_different_names_different(a, b):
    assert normalise_name(a) != normalise_name(b)


def child_member(**overrides) -> FamilyMember:
    values = dict(
        nik=nik(born=BORN_AT.date()),
        name="Putri Ayu Santoso",
        sex=Sex.FEMALE,
        birth_date=BORN_AT.date(),
        relationship=Relationship.CHILD,
    )
    values.update(overrides)
    return FamilyMember(**values)


def test_reissue_adds_the_child_as_anak_in_the_next_version():
    family = facts(notice()).family
    child = child_member()

    card = reissue_with_child(family, child)

    assert (card.kk_number, card.version, card.kecamatan) == (family.kk_number, family.version + 1, family.kecamatan)
    assert card.members == (*family.members, child)
    assert card.members[-1].relationship is Relationship.CHILD
    assert len(family.members) == 1  # the earlier version is unchanged


def test_reissue_rejects_a_child_already_on_the_card():
    family = facts(notice()).family
    card = reissue_with_child(family, child_member())
    again = replace(family, version=card.version, members=card.members)

    with pytest.raises(ValueError, match="already"):
        reissue_with_child(again, card.members[-1])


def test_reissue_rejects_a_member_who_is_not_a_child():
    family = facts(notice()).family

    with pytest.raises(ValueError, match="ANAK"):
        reissue_with_child(family, child_member(relationship=Relationship.OTHER))


def test_a_birth_registered_under_the_same_message_id_is_registered_again_not_a_duplicate():
    birth = notice()
    own_write = registered(birth, message_id=birth.message_id)
    decision = decide(birth, facts(birth, same_birth=own_write), NOW)
    assert isinstance(decision, Register)
