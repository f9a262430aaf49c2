"""The registration decision: given a valid notice and what the registry knows, what to do.

`decide` is pure. The service gathers the facts, calls it, and carries the decision out:

- `Register`          issue akta, NIK and a new KK version (LT when late);
- `RecordStillbirth`  record in the stillbirth register, no akta, no NIK;
- `AlreadyRegistered` the same birth (hospital, encounter, birth order) is already registered:
                      answer ok with the existing numbers and a duplicate notice;
- `Review`            valid, but a Dukcapil officer must decide (the reasons say why);
- `Reject`            permanent: the hospital must fix the notification (the issues say what).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.values import (
    VARIANT_BY_MARRIAGE,
    AktaVariant,
    BirthNotice,
    Family,
    Hospital,
    Person,
    RegisteredBirth,
)

REGISTRATION_LIMIT_DAYS = 60  # UU 24/2013: later than this is a late registration (LT)
DUPLICATE_WINDOW_DAYS = 30  # births of one mother closer than this (not one delivery) look like a duplicate

# Births of one delivery (twins, triplets): same mother, same hospital and delivery encounter, hours
# apart at most. Further apart, even under the same encounter, they are not taken for one delivery.
# A real delayed-interval delivery (days between twins) is rare: it goes to review, a person decides.
SAME_DELIVERY_WINDOW = timedelta(hours=24)

# (unconfirmed) The shortest interval between the births of two pregnancies of one woman: 23 weeks.
# = 20 weeks from conception to the earliest viable birth (22 weeks of gestation, which is counted
#   from a last period about two weeks before conception; WHO's perinatal period starts at 22 weeks)
# + 3 weeks, the earliest return of ovulation after a birth in a woman who does not breastfeed
#   (reported from about day 25 postpartum; the same after a stillbirth).
# Chosen at the low end on purpose: a sooner non-twin birth of the same mother is biologically
# impossible, a duplicate or a data error (wrong NIK, wrong date), and goes to an officer. An
# extremely premature second birth that is real is registered after review, not refused.
MIN_BIRTH_INTERVAL = timedelta(weeks=23)


@dataclass(frozen=True, slots=True)
class RegistryFacts:
    hospital: Hospital | None
    mother: Person | None
    family: Family | None
    father: Person | None = None
    same_birth: RegisteredBirth | None = None
    mothers_births: tuple[RegisteredBirth, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Register:
    variant: AktaVariant
    late: bool


@dataclass(frozen=True, slots=True)
class RecordStillbirth:
    pass


@dataclass(frozen=True, slots=True)
class AlreadyRegistered:
    existing: RegisteredBirth


@dataclass(frozen=True, slots=True)
class Review:
    reasons: tuple[Issue, ...]


@dataclass(frozen=True, slots=True)
class Reject:
    issues: tuple[Issue, ...]


Decision = Register | RecordStillbirth | AlreadyRegistered | Review | Reject


def decide(notice: BirthNotice, facts: RegistryFacts, now: datetime, *, reviewed: bool = False) -> Decision:
    """Decide what to do with a notice. Rejections list every registry problem found.

    `reviewed`: a Dukcapil officer has approved the notice, so the review reasons no longer apply;
    every other rule still does (the birth may have been registered meanwhile).
    """
    problems = _sender_problems(facts.hospital)
    if problems:
        return Reject(problems)
    if facts.same_birth is not None and facts.same_birth.message_id != notice.message_id:
        return AlreadyRegistered(facts.same_birth)
    # The same message id: our own earlier registry write, cut off before we could answer (an external
    # registry after a crash). Registering again repeats its idempotency key and gets the same numbers.
    problems = _family_problems(notice, facts)
    if problems:
        return Reject(problems)
    if notice.stillborn:
        return RecordStillbirth()
    reasons = () if reviewed else _review_reasons(notice, facts)
    if reasons:
        return Review(reasons)
    return Register(variant=VARIANT_BY_MARRIAGE[notice.marriage], late=is_late(notice.born_at, now))


def is_late(born_at: datetime, registered_at: datetime) -> bool:
    """Late (LT) when registered more than 60 days after the birth, counted in local dates."""
    registered_on = registered_at.astimezone(born_at.tzinfo).date()
    return (registered_on - born_at.date()).days > REGISTRATION_LIMIT_DAYS


def _sender_problems(hospital: Hospital | None) -> tuple[Issue, ...]:
    where = "Bundle.entry[0].resource.sender"
    if hospital is None:
        return (Issue(codes.SENDER_UNKNOWN, where),)
    if not hospital.active:
        return (Issue(codes.SENDER_INACTIVE, where),)
    return ()


def _family_problems(notice: BirthNotice, facts: RegistryFacts) -> tuple[Issue, ...]:
    problems = []
    if facts.mother is None:
        problems.append(Issue(codes.MOTHER_NOT_FOUND, MOTHER_NIK_PATH))
    if facts.family is None:
        problems.append(Issue(codes.KK_NOT_FOUND, MOTHER_KK_PATH))
    elif facts.mother is not None and facts.mother.kk_number != facts.family.kk_number:
        problems.append(Issue(codes.KK_MOTHER_MISMATCH, MOTHER_KK_PATH))
    return tuple(problems)


# Paths are by role: the intake maps them to the entry index the hospital sent (see intake).
MOTHER_NIK_PATH = "mother.identifier.where(system='https://fhir.kemkes.go.id/id/nik').value"
MOTHER_KK_PATH = "mother.identifier.where(system='https://fhir.kemkes.go.id/id/kk').value"
MOTHER_PATH = "mother"
FATHER_NIK_PATH = "father.identifier.where(system='https://fhir.kemkes.go.id/id/nik').value"
NEWBORN_PATH = "newborn"


def _review_reasons(notice: BirthNotice, facts: RegistryFacts) -> tuple[Issue, ...]:
    reasons = []
    mother = facts.mother
    if mother is not None and not _same_person_data(notice, mother):
        reasons.append(Issue(codes.REVIEW_MOTHER_DATA, MOTHER_PATH))
    reasons.extend(_spacing_reasons(notice, facts.mothers_births))
    if notice.father_nik is not None and facts.father is None:
        reasons.append(Issue(codes.REVIEW_FATHER_NOT_FOUND, FATHER_NIK_PATH))
    return tuple(reasons)


def _same_person_data(notice: BirthNotice, mother: Person) -> bool:
    if normalise_name(notice.mother_name) != normalise_name(mother.name):
        return False
    return notice.mother_birth_date in (None, mother.birth_date)


_SPACING_ISSUES = (
    Issue(codes.REVIEW_SUSPECTED_DUPLICATE, NEWBORN_PATH),
    Issue(
        codes.REVIEW_BIRTH_SPACING,
        NEWBORN_PATH,
        f"births of different pregnancies are at least {MIN_BIRTH_INTERVAL.days} days apart",
    ),
)


def _spacing_reasons(notice: BirthNotice, mothers_births: tuple[RegisteredBirth, ...]) -> list[Issue]:
    """At most one reason per kind: the mother's other births (live or stillborn, at any hospital,
    before or after this one) that cannot be another delivery of their own."""
    found = {_too_close(notice, other) for other in mothers_births} - {None}
    return [issue for issue in _SPACING_ISSUES if issue.code in found]


def _too_close(notice: BirthNotice, other: RegisteredBirth) -> codes.Code | None:
    """Which review reason the other birth gives, if any: within the duplicate window it is most
    likely the same child notified twice; beyond it, still too soon for another pregnancy."""
    apart = abs(notice.born_at - other.born_at)
    if _same_delivery(notice, other, apart):
        return None  # twins of one delivery are different births
    if apart < timedelta(days=DUPLICATE_WINDOW_DAYS):
        return codes.REVIEW_SUSPECTED_DUPLICATE
    if apart < MIN_BIRTH_INTERVAL:
        return codes.REVIEW_BIRTH_SPACING
    return None


def _same_delivery(notice: BirthNotice, other: RegisteredBirth, apart: timedelta) -> bool:
    same_encounter = other.hospital_id == notice.hospital_id and other.encounter_id == notice.encounter_id
    return same_encounter and apart <= SAME_DELIVERY_WINDOW


def normalise_name(name: str) -> str:
    """Compare names the way an officer would: case, accents, spacing and punctuation ignored (a hyphen separates)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("-", " "))
    kept = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(kept.casefold().split())


def registration_date(now: datetime, born_at: datetime) -> date:
    """The registration's calendar date, on the clock of the place of birth."""
    return now.astimezone(born_at.tzinfo).date()
