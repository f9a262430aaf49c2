"""The HospitalDirectory port: the hospitals the hub accepts notifications from, and their signing keys.

Fixtures a concrete suite provides:
- `make`: a unit-of-work factory;
- `hospitals`: two `Hospital`s the directory holds, the first active, the second not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.domain.values import Hospital, HospitalKey
from hub.errors import OperatorError
from hub.intake.signature import new_key
from tests.contracts.support import unique, utc_now


def _org() -> str:
    return f"CT{unique().replace('-', '')[:10]}"


def _key(org_id: str, *, kid: str | None = None, days_ago: float = 1, **changes) -> HospitalKey:
    return HospitalKey(
        kid or f"{org_id}:{unique()[:8]}", org_id, new_key()[1], utc_now() - timedelta(days=days_ago), **changes
    )


async def _added(make, *keys: HospitalKey) -> None:
    """Each key in a unit of work of its own, in this order."""
    for key in keys:
        async with make() as uow:
            await uow.hospitals.add_key(key)
            await uow.commit()


def _same(found: HospitalKey | None, expected: HospitalKey) -> bool:
    """HospitalKey's equality leaves out the JWK: compare it too."""
    return found == expected and found is not None and found.jwk == expected.jwk


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

    # Onboarding.

    async def test_a_hospital_is_added_once_and_found_at_once(self, make, hospitals):
        new = Hospital(_org(), "RS Baru Sintetis", "3578", True)
        async with make() as uow:
            assert await uow.hospitals.hospital(new.org_id) is None, "remembered as unknown first"
            assert await uow.hospitals.add(new)
            assert await uow.hospitals.hospital(new.org_id) == new, "found in the unit of work that added it"
            await uow.commit()
        async with make() as uow:
            assert await uow.hospitals.hospital(new.org_id) == new
            assert not await uow.hospitals.add(Hospital(new.org_id, "RS Lain", "3273", False))
            assert not await uow.hospitals.add(hospitals[1])
            await uow.commit()
        async with make() as uow:
            assert await uow.hospitals.hospital(new.org_id) == new, "the second add changed nothing"
            assert await uow.hospitals.hospital(hospitals[1].org_id) == hospitals[1]

    async def test_a_hospital_added_without_commit_is_not_kept(self, make, hospitals):
        new = Hospital(_org(), "RS Batal Sintetis", "3578", True)
        async with make() as uow:
            assert await uow.hospitals.add(new)
        async with make() as uow:
            assert await uow.hospitals.hospital(new.org_id) is None

    async def test_the_listing_holds_every_hospital_by_organisation_id(self, make, hospitals):
        first, second = sorted([_org(), _org()])
        async with make() as uow:
            for org_id in (second, first):
                assert await uow.hospitals.add(Hospital(org_id, "RS Urut Sintetis", "3578", org_id == first))
            await uow.commit()
        async with make() as uow:
            listed = await uow.hospitals.listed()
        assert [h.org_id for h in listed] == sorted(h.org_id for h in listed)
        assert len({h.org_id for h in listed}) == len(listed)
        assert {*hospitals, Hospital(first, "RS Urut Sintetis", "3578", True)} <= set(listed)
        assert Hospital(second, "RS Urut Sintetis", "3578", False) in listed

    async def test_a_hospital_is_disabled_and_enabled_again(self, make, hospitals):
        active, inactive = hospitals
        async with make() as uow:
            assert await uow.hospitals.hospital(active.org_id) == active, "remembered before the change"
            assert await uow.hospitals.set_active(active.org_id, False)
            assert await uow.hospitals.hospital(active.org_id) == Hospital(
                active.org_id, active.name, active.regency, False
            ), "the unit of work sees its own change"
            assert await uow.hospitals.set_active(inactive.org_id, True)
            await uow.commit()
        async with make() as uow:
            assert not (await uow.hospitals.hospital(active.org_id)).active
            assert (await uow.hospitals.hospital(inactive.org_id)).active
            assert await uow.hospitals.set_active(active.org_id, True)
            assert await uow.hospitals.set_active(active.org_id, True), "already active: still a hospital"
            await uow.commit()
        async with make() as uow:
            assert await uow.hospitals.hospital(active.org_id) == active

    async def test_an_unknown_hospital_is_not_disabled(self, make, hospitals):
        stranger = _org()
        async with make() as uow:
            assert not await uow.hospitals.set_active(stranger, False)
            assert await uow.hospitals.hospital(stranger) is None

    # Signing keys.

    async def test_a_key_is_registered_and_found_by_its_kid(self, make, hospitals):
        key = _key(hospitals[0].org_id, valid_until=utc_now() + timedelta(days=3))
        async with make() as uow:
            await uow.hospitals.add_key(key)
            assert _same(await uow.hospitals.key(key.kid), key), "found in the unit of work that added it"
            await uow.commit()
        async with make() as uow:
            found = await uow.hospitals.key(key.kid)
        assert _same(found, key)
        assert found is not None and found.valid_until == key.valid_until and found.revoked_at is None

    async def test_an_unknown_kid_is_none(self, make, hospitals):
        async with make() as uow:
            assert await uow.hospitals.key(f"{hospitals[0].org_id}:{unique()[:8]}") is None
            assert await uow.hospitals.keys_of(_org()) == []

    async def test_a_kid_is_registered_once_across_hospitals(self, make, hospitals):
        key = _key(hospitals[0].org_id)
        await _added(make, key)
        for again in (_key(hospitals[0].org_id, kid=key.kid), _key(hospitals[1].org_id, kid=key.kid)):
            async with make() as uow:
                with pytest.raises(OperatorError, match="registered already"):
                    await uow.hospitals.add_key(again)
        async with make() as uow:
            assert _same(await uow.hospitals.key(key.kid), key), "the first key is kept"

    async def test_a_key_of_an_unknown_hospital_is_refused(self, make, hospitals):
        key = _key(_org())
        async with make() as uow:
            with pytest.raises(OperatorError, match="no hospital"):
                await uow.hospitals.add_key(key)
        async with make() as uow:
            assert await uow.hospitals.key(key.kid) is None

    async def test_a_key_added_without_commit_is_not_kept(self, make, hospitals):
        key = _key(hospitals[0].org_id)
        async with make() as uow:
            await uow.hospitals.add_key(key)
        async with make() as uow:
            assert await uow.hospitals.key(key.kid) is None

    async def test_a_hospital_s_keys_are_listed_oldest_first(self, make, hospitals):
        org_id = hospitals[0].org_id
        # Registered in this order, though their kids and their valid_from sort the other way round.
        keys = [
            _key(org_id, kid=f"{org_id}:{tag}{unique()[:6]}", days_ago=n) for tag, n in (("c", 1), ("b", 2), ("a", 3))
        ]
        theirs = _key(hospitals[1].org_id)
        await _added(make, keys[0], theirs, keys[1], keys[2])
        async with make() as uow:
            listed = await uow.hospitals.keys_of(org_id)
            assert [k.kid for k in listed] == [k.kid for k in keys]
            assert all(_same(found, key) for found, key in zip(listed, keys, strict=True))
            assert [k.kid for k in await uow.hospitals.keys_of(hospitals[1].org_id)] == [theirs.kid]

    async def test_rotation_ends_every_other_key_that_would_outlive_the_overlap(self, make, hospitals):
        org_id, now = hospitals[0].org_id, utc_now()
        until = now + timedelta(hours=24)
        open_ended = _key(org_id)
        later = _key(org_id, valid_until=now + timedelta(days=30))
        earlier = _key(org_id, valid_until=now + timedelta(hours=1))
        exactly = _key(org_id, valid_until=until)
        expired = _key(org_id, days_ago=9, valid_until=now - timedelta(days=1))
        revoked = _key(org_id, revoked_at=now - timedelta(hours=2))
        keep = _key(org_id, days_ago=0)
        theirs = _key(hospitals[1].org_id)
        await _added(make, open_ended, later, earlier, exactly, expired, revoked, keep, theirs)
        async with make() as uow:
            assert await uow.hospitals.retire_keys(org_id, until, keep.kid) == 3
            await uow.commit()
        async with make() as uow:
            after = {k.kid: k for k in await uow.hospitals.keys_of(org_id)}
            assert after[open_ended.kid].valid_until == until
            assert after[later.kid].valid_until == until
            assert after[revoked.kid].valid_until == until and after[revoked.kid].revoked_at == revoked.revoked_at
            assert after[earlier.kid] == earlier, "already ending sooner: untouched"
            assert after[exactly.kid] == exactly, "ending at that very time: untouched, and not counted"
            assert after[expired.kid] == expired
            assert after[keep.kid] == keep, "the new key is kept open-ended"
            assert await uow.hospitals.key(theirs.kid) == theirs, "another hospital's keys are untouched"
            assert await uow.hospitals.retire_keys(org_id, until, keep.kid) == 0, "a second rotation changes nothing"
            assert await uow.hospitals.retire_keys(org_id, until - timedelta(hours=1), keep.kid) == 4
            assert await uow.hospitals.retire_keys(_org(), until, keep.kid) == 0

    async def test_a_key_is_revoked_once(self, make, hospitals):
        key = _key(hospitals[0].org_id)
        first, second = utc_now(), utc_now() + timedelta(minutes=5)
        await _added(make, key)
        async with make() as uow:
            assert await uow.hospitals.revoke_key(key.kid, first)
            assert not await uow.hospitals.revoke_key(key.kid, second), "already revoked in this unit of work"
            await uow.commit()
        async with make() as uow:
            assert not await uow.hospitals.revoke_key(key.kid, second)
            assert not await uow.hospitals.revoke_key(f"{key.kid}-unknown", second)
            found = await uow.hospitals.key(key.kid)
        assert found is not None and found.revoked_at == first, "the first revocation's time is kept"
        assert not found.valid_at(first) and found.valid_at(first - timedelta(seconds=1))

    async def test_prefetched_hospitals_and_keys_answer_as_without_and_follow_changes(self, make, hospitals):
        """`prefetch` only reads ahead: known and unknown hospitals and keys answer the same, and a
        change made later in the same unit of work is seen."""
        active, inactive = hospitals
        key = _key(active.org_id)
        await _added(make, key)
        stranger, unknown_kid = _org(), f"{active.org_id}:{unique()[:8]}"
        async with make() as uow:
            await uow.hospitals.prefetch([active.org_id, inactive.org_id, stranger], [key.kid, unknown_kid])
            await uow.hospitals.prefetch([], [])
            assert await uow.hospitals.hospital(active.org_id) == active
            assert await uow.hospitals.hospital(inactive.org_id) == inactive
            assert await uow.hospitals.hospital(stranger) is None
            assert _same(await uow.hospitals.key(key.kid), key)
            assert await uow.hospitals.key(unknown_kid) is None
            assert await uow.hospitals.set_active(inactive.org_id, True)
            assert (await uow.hospitals.hospital(inactive.org_id)).active, "a change in the unit of work is seen"
            assert await uow.hospitals.revoke_key(key.kid, utc_now())
            assert (await uow.hospitals.key(key.kid)).revoked_at is not None
