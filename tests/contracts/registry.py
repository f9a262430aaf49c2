"""The CivilRegistry port (Dukcapil's records): lookups, and registration as one atomic change.

`register_birth` assigns the child's NIK (in the family's kecamatan), issues the akta (LU on time,
LT late) and reissues the KK with the child last; twins land in consecutive KK versions.
Registration is refused with KK-NOT-FOUND when the family card does not exist.

Fixtures a concrete suite provides:
- `make`: a unit-of-work factory whose `registry` is the adapter under test;
- `home`: a fresh `Home` per test, a household (mother, father, family card) the registry holds,
  and a hospital it knows.
Class attributes:
- `transactional`: registry writes belong to the unit of work (embedded registry) rather than
  being made at once by an external registry (siak-http), which repeats an answer for a message id;
- `corrects_children`: `correct_child` changes the record (False: the registry takes corrections
  from the civil.documents-issued event and answers False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import pytest

from hub.domain.decision import Register
from hub.domain.documents import Correction
from hub.domain.values import AktaVariant, BirthNotice, Relationship, Sex
from hub.errors import PermanentError
from tests.contracts.support import minutes, unique, utc_now
from tests.support.people import WIB, Household
from tests.unit import builders

ON_TIME = Register(AktaVariant.BOTH_PARENTS, late=False)
LATE = Register(AktaVariant.MOTHER_ONLY, late=True)
STRANGER_KECAMATAN = "110101"  # a kecamatan no test registry is seeded with


@dataclass(frozen=True)
class Home:
    mother_nik: str
    mother_name: str
    mother_birth_date: date
    kk_number: str
    father_nik: str
    father_name: str
    kecamatan: str
    kk_version: int
    hospital_id: str

    @classmethod
    def of(cls, household: Household, hospital_id: str) -> Home:
        mother, father = household.mother, household.father
        return cls(
            mother.nik,
            mother.name,
            mother.birth_date,
            mother.kk_number,
            father.nik,
            father.name,
            household.kecamatan,
            household.kk_version,
            hospital_id,
        )


def notice_of(home: Home, **changes) -> BirthNotice:
    """A live birth into `home`, born three hours ago, with a fresh message id and encounter."""
    values = dict(
        message_id=unique(),
        hospital_id=home.hospital_id,
        encounter_id=f"ENC-{unique()[:12]}",
        mother_nik=home.mother_nik,
        kk_number=home.kk_number,
        mother_name=home.mother_name,
        mother_birth_date=home.mother_birth_date,
        father_nik=home.father_nik,
        father_name=home.father_name,
        child_name="Anak Kontrak",
        born_at=(utc_now() - timedelta(hours=3)).astimezone(WIB),
    )
    values.update(changes)
    return builders.notice(**values)


class CivilRegistryContract:
    transactional: ClassVar[bool] = True
    corrects_children: ClassVar[bool] = True

    async def _register(self, make, notice: BirthNotice, decision: Register = ON_TIME):
        async with make() as uow:
            registration = await uow.registry.register_birth(notice, decision, utc_now())
            await uow.commit()
        return registration

    async def test_a_unit_of_work_that_reserved_family_cards_registers_them_and_others(self, make, home):
        """Reserving is a promise about order, not a limit: a registration of a family not reserved
        still lands; numbers that are no family card are ignored."""
        notice = notice_of(home, sex=Sex.FEMALE, child_name="Sekar Kontrak")
        async with make() as uow:
            await uow.registry.reserve({"9999000000000001", home.kk_number, "not-a-card", ""})
            await uow.registry.reserve({home.kk_number})  # again: nothing new to take
            inside = await uow.registry.register_birth(notice, ON_TIME, utc_now())
            await uow.commit()
        assert inside.issuing_regency == home.kecamatan[:4]
        async with make() as uow:
            await uow.registry.reserve({"9999000000000001"})
            second = await uow.registry.register_birth(
                notice_of(home, sex=Sex.MALE, child_name="Bayu Kontrak", encounter_id="ENC-RESERVE-2"),
                ON_TIME,
                utc_now(),
            )
            await uow.commit()
        assert second.issuing_regency == home.kecamatan[:4]

    async def test_a_registration_issues_numbers_and_the_next_family_card(self, make, home):
        notice = notice_of(home, sex=Sex.MALE, child_name="Bima Kontrak")
        async with make() as uow:
            before = await uow.registry.family(home.kk_number)
        at = utc_now()
        async with make() as uow:
            registration = await uow.registry.register_birth(notice, ON_TIME, at)
            await uow.commit()
        assert registration.child_nik.startswith(home.kecamatan) and len(registration.child_nik) == 16
        assert registration.akta_number.startswith(f"{home.kecamatan[:4]}-LU-")
        assert registration.issuing_regency == home.kecamatan[:4]
        assert abs(registration.registered_at - at) < minutes(1)
        card = registration.family_card
        assert (card.kk_number, card.version, card.kecamatan) == (home.kk_number, home.kk_version + 1, home.kecamatan)
        assert card.members[:-1] == before.members, "everyone stays, in card order, the child last"
        child = card.members[-1]
        assert (child.nik, child.name, child.sex, child.birth_date, child.relationship) == (
            registration.child_nik,
            "Bima Kontrak",
            Sex.MALE,
            notice.birth_date,
            Relationship.CHILD,
        )
        async with make() as uow:
            family = await uow.registry.family(home.kk_number)
            person = await uow.registry.person(registration.child_nik)
            found = await uow.registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order)
            mothers = await uow.registry.births_of_mother(home.mother_nik)
        assert (family.version, family.members) == (card.version, card.members)
        assert (person.nik, person.name, person.sex, person.birth_date, person.kk_number, person.alive) == (
            registration.child_nik,
            "Bima Kontrak",
            Sex.MALE,
            notice.birth_date,
            home.kk_number,
            True,
        )
        assert (
            found.message_id,
            found.child_nik,
            found.akta_number,
            found.kk_number,
            found.kk_version,
            found.stillborn,
            found.born_at,
            found.mother_nik,
        ) == (
            notice.message_id,
            registration.child_nik,
            registration.akta_number,
            home.kk_number,
            card.version,
            False,
            notice.born_at,
            home.mother_nik,
        )
        assert mothers == [found]

    async def test_a_late_registration_gets_an_lt_akta(self, make, home):
        registration = await self._register(make, notice_of(home), LATE)
        assert registration.akta_number.startswith(f"{home.kecamatan[:4]}-LT-")

    async def test_people_and_family_cards_are_found_by_their_numbers(self, make, home):
        async with make() as uow:
            mother = await uow.registry.person(home.mother_nik)
            family = await uow.registry.family(home.kk_number)
        assert (mother.nik, mother.name, mother.sex, mother.birth_date, mother.kk_number) == (
            home.mother_nik,
            home.mother_name,
            Sex.FEMALE,
            home.mother_birth_date,
            home.kk_number,
        )
        assert (family.kk_number, family.kecamatan, family.version) == (home.kk_number, home.kecamatan, home.kk_version)
        members = {m.nik: m.relationship for m in family.members}
        assert members[home.mother_nik] is Relationship.WIFE and members[home.father_nik] is Relationship.HEAD

    async def test_unknown_people_families_and_births_are_none(self, make, home):
        async with make() as uow:
            assert await uow.registry.person(builders.nik(STRANGER_KECAMATAN)) is None
            assert await uow.registry.family(builders.kk(STRANGER_KECAMATAN)) is None
            assert await uow.registry.birth_by_key(home.hospital_id, f"ENC-{unique()}", 0) is None
            assert await uow.registry.births_of_mother(builders.nik(STRANGER_KECAMATAN)) == []

    async def test_facts_gather_what_the_decision_needs(self, make, home):
        notice = notice_of(home)
        async with make() as uow:
            facts = await uow.registry.facts(notice)
        assert facts.hospital is None, "hospitals are the hub's own directory"
        assert (facts.mother.nik, facts.mother.name, facts.mother.kk_number) == (
            home.mother_nik,
            home.mother_name,
            home.kk_number,
        )
        assert facts.father.nik == home.father_nik
        assert (facts.family.kk_number, facts.family.kecamatan, facts.family.version) == (
            home.kk_number,
            home.kecamatan,
            home.kk_version,
        )
        assert (facts.same_birth, facts.mothers_births) == (None, ())
        registration = await self._register(make, notice)
        async with make() as uow:
            again = await uow.registry.facts(notice)
        assert (
            again.same_birth.message_id,
            again.same_birth.child_nik,
            again.same_birth.akta_number,
            again.same_birth.born_at,
        ) == (notice.message_id, registration.child_nik, registration.akta_number, notice.born_at)
        assert [b.message_id for b in again.mothers_births] == [notice.message_id]
        assert again.family.version == home.kk_version + 1

    async def test_facts_of_strangers_are_empty(self, make, home):
        stranger = notice_of(
            home,
            mother_nik=builders.nik(STRANGER_KECAMATAN),
            kk_number=builders.kk(STRANGER_KECAMATAN),
            father_nik=None,
            father_name=None,
        )
        async with make() as uow:
            facts = await uow.registry.facts(stranger)
        assert (facts.mother, facts.father, facts.family, facts.same_birth, facts.mothers_births) == (
            None,
            None,
            None,
            None,
            (),
        )

    async def test_a_stillbirth_is_recorded_without_numbers_and_leaves_the_family_card(self, make, home):
        notice = notice_of(home, stillborn=True, weight_g=900, gestational_weeks=27.0)
        async with make() as uow:
            await uow.registry.record_stillbirth(notice, utc_now())
            await uow.commit()
        async with make() as uow:
            found = await uow.registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order)
            mothers = await uow.registry.births_of_mother(home.mother_nik)
            family = await uow.registry.family(home.kk_number)
        assert (found.message_id, found.stillborn, found.child_nik, found.akta_number, found.kk_version) == (
            notice.message_id,
            True,
            None,
            None,
            None,
        )
        assert mothers == [found] and family.version == home.kk_version

    async def test_births_of_a_mother_come_oldest_first(self, make, home):
        recent = notice_of(home)
        older = notice_of(home, stillborn=True, weight_g=800, born_at=recent.born_at - timedelta(days=700))
        await self._register(make, recent)
        async with make() as uow:
            await uow.registry.record_stillbirth(older, utc_now())
            await uow.commit()
        async with make() as uow:
            mothers = await uow.registry.births_of_mother(home.mother_nik)
        assert [b.message_id for b in mothers] == [older.message_id, recent.message_id]

    async def test_twins_land_in_consecutive_family_card_versions(self, make, home):
        encounter = f"ENC-{unique()[:12]}"
        first = notice_of(home, encounter_id=encounter, birth_order=1, plurality=2, child_name="Kembar Satu")
        second = notice_of(home, encounter_id=encounter, birth_order=2, plurality=2, child_name="Kembar Dua")
        one = await self._register(make, first)
        two = await self._register(make, second)
        assert (one.family_card.version, two.family_card.version) == (home.kk_version + 1, home.kk_version + 2)
        assert one.child_nik != two.child_nik and one.akta_number != two.akta_number
        assert [m.nik for m in two.family_card.members[-2:]] == [one.child_nik, two.child_nik]
        async with make() as uow:
            by_order = [await uow.registry.birth_by_key(home.hospital_id, encounter, order) for order in (1, 2)]
        assert [b.child_nik for b in by_order] == [one.child_nik, two.child_nik]

    async def test_a_prepared_batch_answers_and_numbers_as_one_registration_at_a_time(self, make, home):
        """`prepare` only reads ahead: in one unit of work, the facts of a twin registered after the
        first include the first, the twins land in consecutive cards, reads see what was registered
        before them, and the serials run on."""
        encounter = f"ENC-{unique()[:12]}"
        born_at = (utc_now() - timedelta(hours=2)).astimezone(WIB)
        first, second = (
            notice_of(
                home,
                encounter_id=encounter,
                birth_order=order,
                plurality=2,
                sex=Sex.FEMALE,
                born_at=born_at,
                child_name=f"Kembar Siap {order}",
            )
            for order in (1, 2)
        )
        async with make() as uow:
            alone = await uow.registry.facts(first)
        at = utc_now()
        async with make() as uow:
            await uow.registry.reserve({home.kk_number})
            await uow.registry.prepare([first, second], at)
            assert await uow.registry.facts(first) == alone, "what prepare read is what facts() reads"
            one = await uow.registry.register_birth(first, ON_TIME, at)
            facts = await uow.registry.facts(second)
            assert [b.message_id for b in facts.mothers_births][-1:] == [first.message_id]
            assert facts.family.version == home.kk_version + 1
            two = await uow.registry.register_birth(second, ON_TIME, at)
            assert (await uow.registry.family(home.kk_number)).version == home.kk_version + 2
            found = await uow.registry.birth_by_key(home.hospital_id, encounter, 2)
            assert found is not None and found.child_nik == two.child_nik
            await uow.commit()
        assert (one.family_card.version, two.family_card.version) == (home.kk_version + 1, home.kk_version + 2)
        assert [m.nik for m in two.family_card.members[-2:]] == [one.child_nik, two.child_nik]
        assert int(two.child_nik[-4:]) == int(one.child_nik[-4:]) + 1, "one NIK scope: consecutive serials"
        assert int(two.akta_number[-4:]) == int(one.akta_number[-4:]) + 1, "one akta scope: consecutive serials"
        third = await self._register(make, notice_of(home, sex=Sex.FEMALE, born_at=born_at, child_name="Adik Siap"))
        assert int(third.child_nik[-4:]) == int(two.child_nik[-4:]) + 1, "the counters were written with the batch"
        assert third.family_card.version == home.kk_version + 3
        async with make() as uow:
            mothers = {b.message_id for b in await uow.registry.births_of_mother(home.mother_nik)}
        assert {first.message_id, second.message_id} <= mothers

    async def test_registering_into_an_unknown_family_is_refused(self, make, home):
        notice = notice_of(home, kk_number=builders.kk(STRANGER_KECAMATAN))
        with pytest.raises(PermanentError) as refused:
            async with make() as uow:
                await uow.registry.register_birth(notice, ON_TIME, utc_now())
        assert refused.value.code.code == "KK-NOT-FOUND"
        async with make() as uow:
            assert await uow.registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order) is None

    async def test_a_registration_not_committed_is_kept_only_by_an_external_registry(self, make, home):
        notice = notice_of(home)
        async with make() as uow:
            first = await uow.registry.register_birth(notice, ON_TIME, utc_now())
        async with make() as uow:
            found = await uow.registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order)
            family = await uow.registry.family(home.kk_number)
        if self.transactional:
            assert found is None and family.version == home.kk_version
        else:
            assert found.child_nik == first.child_nik and family.version == home.kk_version + 1
        again = await self._register(make, notice)
        assert (again.child_nik, again.akta_number, again.family_card.version) == (
            first.child_nik,
            first.akta_number,
            first.family_card.version,
        ), "rolled back: the numbers are given back; external: the registry repeats its answer"

    async def test_correct_child_applies_a_pembetulan_where_the_registry_takes_it(self, make, home):
        registration = await self._register(make, notice_of(home, child_name="Nama Salah"))
        async with make() as uow:
            answered = await uow.registry.correct_child(
                registration.child_nik, Correction(reason="request 7", child_name="Nama Benar", mother_name="Ibu Benar")
            )
            await uow.commit()
        assert answered is self.corrects_children
        async with make() as uow:
            person = await uow.registry.person(registration.child_nik)
        assert person.name == ("Nama Benar" if self.corrects_children else "Nama Salah")

    async def test_correcting_an_unknown_child_creates_nobody(self, make):
        stranger = builders.nik(STRANGER_KECAMATAN)
        async with make() as uow:
            answered = await uow.registry.correct_child(stranger, Correction(reason="request 8", child_name="Siapa"))
            await uow.commit()
        assert answered is self.corrects_children
        async with make() as uow:
            assert await uow.registry.person(stranger) is None
