"""The HospitalDirectory port: the hospitals the hub accepts notifications from.

Fixtures a concrete suite provides:
- `make`: a unit-of-work factory;
- `hospitals`: two `Hospital`s the directory holds, the first active, the second not.
"""

from __future__ import annotations

from tests.contracts.support import unique


class HospitalDirectoryContract:
    async def test_a_known_hospital_is_found_with_its_regency_and_whether_it_is_active(self, make, hospitals):
        active, inactive = hospitals
        assert active.active and not inactive.active
        async with make() as uow:
            assert await uow.hospitals.hospital(active.org_id) == active
            assert await uow.hospitals.hospital(inactive.org_id) == inactive
            assert await uow.hospitals.hospital(active.org_id) == active, "asked again in one unit of work"

    async def test_an_unknown_hospital_is_none(self, make, hospitals):
        stranger = f"9{unique().replace('-', '')[:8]}"
        async with make() as uow:
            assert await uow.hospitals.hospital(stranger) is None
            assert await uow.hospitals.hospital(stranger) is None
            assert await uow.hospitals.hospital(hospitals[0].org_id) == hospitals[0]
