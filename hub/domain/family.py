"""The family card (KK) reissued for a birth: same number, next version, the child as ANAK."""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.values import Family, FamilyMember, Relationship


@dataclass(frozen=True, slots=True)
class FamilyCardVersion:
    kk_number: str
    version: int
    kecamatan: str
    members: tuple[FamilyMember, ...]


def reissue_with_child(family: Family, child: FamilyMember) -> FamilyCardVersion:
    """The next KK version with `child` added as ANAK; earlier versions are kept, not changed."""
    if child.relationship is not Relationship.CHILD:
        raise ValueError("a newborn joins the family card as ANAK")
    if any(member.nik == child.nik for member in family.members):
        raise ValueError("the child is already on this family card")
    return FamilyCardVersion(
        kk_number=family.kk_number,
        version=family.version + 1,
        kecamatan=family.kecamatan,
        members=(*family.members, child),
    )
