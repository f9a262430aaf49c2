"""The embedded civil registry: Dukcapil's records kept in the hub's own PostgreSQL schema.

It shares the unit of work's connection, so registry writes, inbox and outbox rows commit in one
transaction. Writers of one regency are serialised by an advisory lock (twins born at the same
time both land, in consecutive KK versions).

A batch is read and written set-based: `prepare` reads what its notices need (the facts, the
families with their members, the serial counters) in two statements; registrations are then
decided and numbered in memory, and their rows written when the unit of work commits (`flush`,
registry_rows.py). A read that a pending write could change writes first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from hub.adapters.postgres.database import PgConnection
from hub.adapters.postgres.lookup import MEMBERS, family_members, lookup_key, prepared_facts, registry_facts
from hub.adapters.postgres.registry_rows import PendingRows
from hub.domain import codes
from hub.domain.decision import Register, RegistryFacts, is_late, registration_date
from hub.domain.documents import Correction
from hub.domain.family import reissue_with_child
from hub.domain.numbers import MAX_SERIAL, akta_number, akta_prefix, nik_prefix, with_serial
from hub.domain.values import BirthNotice, Family, FamilyMember, Person, RegisteredBirth, Relationship, Sex
from hub.errors import NumberSpaceExhausted, PermanentError
from hub.service.ports import Registration

_BIRTH_COLUMNS = """
SELECT b.message_id, b.hospital_id, b.encounter_id, b.birth_order, b.mother_nik, b.born_at,
       b.child_nik, c.akta_number, b.kk_number, b.kk_version, b.stillborn
FROM births b LEFT JOIN birth_certificates c ON c.birth_id = b.id
"""
# The last serial of each scope, and for a NIK scope the serials above it that persons already hold
# (seeded or imported NIKs): allocation skips them.
_SERIALS = """
SELECT u.scope, coalesce(s.last, 0) AS last,
       CASE WHEN u.scope LIKE 'nik:%' THEN ARRAY(
         SELECT right(p.nik, 4)::int FROM persons p
         WHERE p.nik > (substr(u.scope, 5) || lpad(coalesce(s.last, 0)::text, 4, '0'))::bpchar
           AND p.nik <= (substr(u.scope, 5) || '9999')::bpchar) END AS held
FROM unnest($1::text[]) AS u(scope) LEFT JOIN number_serials s ON s.scope = u.scope
"""


WRITE_LOCK = 727_004  # the class of the per-regency advisory locks: (WRITE_LOCK, regency code)
MAX_RESERVED = 64  # family cards a unit of work may reserve at once (a batch of notifications names a few)


class EmbeddedRegistry:
    """Writers of one regency are serialised by a transaction-scoped advisory lock on it.

    Every row a registration writes is scoped by the family's regency or a part of it: the NIK
    serial (kecamatan-day), the akta serial (regency-day), the family and its card. So writers of
    different regencies never touch the same rows and run in parallel (two hub processes, or a
    worker beside the consumer), while gap-free serials keep one regency's registrations in line
    anyway. A unit of work reserves the regencies of the family cards its batch names first, in
    ascending order (`reserve`): two transactions then never hold one regency each while waiting for
    the other's. A registration in a regency not reserved takes its lock when it comes (a rare
    deadlock is detected by PostgreSQL and the transaction retried). Every writer of families,
    persons or serials takes the lock of the regency they belong to (the seeder too), so what this
    unit of work read under the lock stays true until it commits: families and serial counters are
    kept in memory from then on, and the rows written at commit (module docstring)."""

    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self._locked: set[int] = set()
        self._regency_of: dict[str, int] = {}  # family card -> regency, as facts() read it (it never changes)
        self._prepared: dict[tuple, RegistryFacts] = {}  # facts read by prepare(), by the notice's keys
        self._families: dict[str, Family] = {}  # current cards (with members) of families in locked regencies
        self._serials: dict[str, int] = {}  # scope -> last serial issued, read under the regency's lock
        self._held: dict[str, set[int]] = {}  # NIK scope -> serials above `last` that persons already hold
        self._pending = PendingRows()
        self._written: set[object] = set()  # mothers, family cards and birth keys this unit of work wrote

    async def reserve(self, family_cards: Collection[str]) -> None:
        """Lock the regencies where the families of these cards live, in ascending order, in one
        statement; at most MAX_RESERVED cards (beyond that nothing is reserved: each registration
        then takes its own regency when it comes)."""
        cards = sorted(set(family_cards))
        if not cards or len(cards) > MAX_RESERVED:
            return
        rows = await self._conn.fetch(
            """SELECT r.regency, pg_advisory_xact_lock($1, r.regency)
               FROM (SELECT DISTINCT left(kecamatan, 4)::int AS regency FROM families
                     WHERE kk_number = ANY($2::text[]) AND kecamatan ~ '^[0-9]{4}' ORDER BY 1) r""",
            WRITE_LOCK,
            cards,
        )
        self._locked.update(row["regency"] for row in rows)

    async def prepare(self, notices: Sequence[BirthNotice], at: datetime) -> None:
        """Read what registering these notices needs, in two statements: their facts and families
        (members included), then the serial counters of the scopes they would number in. Only
        families of regencies this unit of work has locked are kept for registration; the rest are
        read again, under their lock, when registered."""
        notices = [n for n in notices if not n.stillborn and lookup_key(n) not in self._prepared]
        if not notices:
            return
        await self.flush()
        scopes: set[str] = set()
        for notice, (facts, family) in zip(notices, await prepared_facts(self._conn, notices), strict=True):
            self._prepared[lookup_key(notice)] = facts
            if family is None:
                continue
            try:
                regency = int(family.regency)
                nik_scope = f"nik:{nik_prefix(family.kecamatan, notice.birth_date, notice.sex)}"
                issued_on = registration_date(at, notice.born_at)
                akta_scope = (
                    f"akta:{akta_prefix(family.regency, late=is_late(notice.born_at, at), issued_on=issued_on)}"
                )
            except ValueError:  # a registry record no number can be formed from: left to the decision
                continue
            self._regency_of[family.kk_number] = regency
            if regency not in self._locked:
                continue
            self._families.setdefault(family.kk_number, family)
            scopes.update((nik_scope, akta_scope))
        await self._read_serials(scopes - self._serials.keys())

    async def flush(self) -> None:
        """Write the registrations kept in memory (registry_rows.py). The unit of work calls it
        before it commits; reads that pending rows could change call it first."""
        if self._pending:
            await self._pending.write(self._conn)

    async def _before_write(self, kk_number: str) -> None:
        regency = self._regency_of.get(kk_number)
        if regency is None:
            found = await self._conn.fetchval("SELECT left(kecamatan, 4) FROM families WHERE kk_number = $1", kk_number)
            regency = None if found is None else int(found)
        if regency is not None and regency not in self._locked:
            await self._lock(regency)

    async def _lock(self, code: int) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK, code)
        self._locked.add(code)

    async def facts(self, notice: BirthNotice) -> RegistryFacts:
        """The prepared facts, unless this unit of work has since written to the same mother,
        family card or birth: then, as without preparing, read after writing what is pending."""
        touched = {notice.mother_nik, notice.kk_number, (notice.hospital_id, notice.encounter_id, notice.birth_order)}
        prepared = self._prepared.get(lookup_key(notice))
        if prepared is not None and not touched & self._written:
            return prepared
        await self.flush()
        found = await registry_facts(self._conn, notice)
        if found.family is not None and found.family.regency.isdigit():
            self._regency_of[found.family.kk_number] = int(found.family.regency)
        return found

    async def person(self, nik: str) -> Person | None:
        await self.flush()
        row = await self._conn.fetchrow(
            "SELECT nik, name, sex, birth_date, kk_number, alive FROM persons WHERE nik = $1", nik
        )
        return (
            None
            if row is None
            else Person(row["nik"], row["name"], Sex(row["sex"]), row["birth_date"], row["kk_number"], row["alive"])
        )

    async def family(self, kk_number: str) -> Family | None:
        await self.flush()
        row = await self._conn.fetchrow(
            f"SELECT f.kk_number, f.kecamatan, f.current_version, {MEMBERS} AS members FROM families f WHERE f.kk_number = $1",
            kk_number,
        )
        if row is None:
            return None
        return Family(row["kk_number"], row["kecamatan"], row["current_version"], family_members(row["members"]))

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None:
        await self.flush()
        row = await self._conn.fetchrow(
            _BIRTH_COLUMNS + " WHERE b.hospital_id = $1 AND b.encounter_id = $2 AND b.birth_order = $3",
            hospital_id,
            encounter_id,
            birth_order,
        )
        return None if row is None else RegisteredBirth(**dict(row))

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]:
        await self.flush()
        rows = await self._conn.fetch(_BIRTH_COLUMNS + " WHERE b.mother_nik = $1 ORDER BY b.born_at", mother_nik)
        return [RegisteredBirth(**dict(row)) for row in rows]

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration:
        """Numbers the child, the akta and the next card in memory; the rows are written at flush.
        Without a prepared family (or counters), reads them first under the regency's lock."""
        await self._before_write(notice.kk_number)
        family = self._families.get(notice.kk_number) or await self._locked_family(notice.kk_number)
        if family is None:
            raise PermanentError(codes.KK_NOT_FOUND, "the family card disappeared before registration")
        prefix = nik_prefix(family.kecamatan, notice.birth_date, notice.sex)
        scope = akta_prefix(family.regency, late=decision.late, issued_on=registration_date(at, notice.born_at))
        # Both serials found before either is taken: a refusal (NumberSpaceExhausted) leaves no gap.
        nik_serial, akta_serial = await self._next(f"nik:{prefix}"), await self._next(f"akta:{scope}")
        self._take(f"nik:{prefix}", nik_serial)
        self._take(f"akta:{scope}", akta_serial)
        child_nik, akta = with_serial(prefix, nik_serial), akta_number(scope, akta_serial)
        card = reissue_with_child(
            family, FamilyMember(child_nik, notice.child_name, notice.sex, notice.birth_date, Relationship.CHILD)
        )
        self._pending.child(child_nik, notice, family.kk_number)
        self._pending.birth(notice, child_nik, card.version, at)
        self._pending.certificate(notice, akta, family.regency, decision.variant.value, decision.late, at)
        self._pending.card(card, family.regency, akta, at)
        self._families[family.kk_number] = Family(family.kk_number, family.kecamatan, card.version, card.members)
        self._wrote(notice)
        return Registration(child_nik, akta, family.regency, card, at)

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        # No regency lock: a stillbirth takes no serial and changes no family card.
        self._pending.birth(notice, None, None, at)
        self._pending.stillbirth(notice, at)
        self._wrote(notice)

    async def correct_child(self, child_nik: str, correction: Correction) -> bool:
        """Under the lock of the child's regency, as every writer of persons: a registration into
        the same family meanwhile reads the corrected name for the new card."""
        await self.flush()
        kk_number = await self._conn.fetchval("SELECT kk_number FROM persons WHERE nik = $1", child_nik)
        if kk_number is not None:
            await self._before_write(kk_number)
            self._families.pop(kk_number, None)  # its members' names may change
        fields = correction.fields()
        await self._conn.execute(
            """UPDATE persons SET name = coalesce($2, name), mother_name = coalesce($3, mother_name),
                                  father_name = coalesce($4, father_name), birth_place = coalesce($5, birth_place)
               WHERE nik = $1""",
            child_nik,
            fields.get("child_name"),
            fields.get("mother_name"),
            fields.get("father_name"),
            fields.get("place_of_birth"),
        )
        return True

    def _wrote(self, notice: BirthNotice) -> None:
        self._written.update(
            (notice.mother_nik, notice.kk_number, (notice.hospital_id, notice.encounter_id, notice.birth_order))
        )

    async def _locked_family(self, kk_number: str) -> Family | None:
        # Two statements on purpose: after waiting for the lock, a statement still reads with the
        # snapshot it started with, so members read in the locking statement could be a version old.
        if not await self._conn.fetchval("SELECT true FROM families WHERE kk_number = $1 FOR UPDATE", kk_number):
            return None
        return await self.family(kk_number)

    async def _next(self, scope: str) -> int:
        """The scope's next serial that no person holds (not taken yet: `_take`)."""
        if scope not in self._serials:
            await self._read_serials({scope})
        serial, held = self._serials[scope] + 1, self._held.get(scope, set())
        while serial in held:
            serial += 1
        if serial > MAX_SERIAL:
            raise NumberSpaceExhausted(scope)
        return serial

    def _take(self, scope: str, serial: int) -> None:
        """Gap-free: the counter is written with the registration's rows, or not at all."""
        self._serials[scope] = self._pending.serials[scope] = serial

    async def _read_serials(self, scopes: set[str]) -> None:
        if not scopes:
            return
        for row in await self._conn.fetch(_SERIALS, sorted(scopes)):
            self._serials[row["scope"]] = row["last"]
            if row["held"]:
                self._held[row["scope"]] = set(row["held"])
