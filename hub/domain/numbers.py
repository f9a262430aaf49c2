"""Number formats of the civil registry: NIK, KK number and akta kelahiran number.

All formats live here so that a correction (several parts are unconfirmed, see domain.md) is a
change in one module. Serial allocation is not done here: the registry adapter allocates serials
atomically and asks this module to format them.

    NIK   PP KK CC DDMMYY SSSS   kecamatan of first registration, birth date (+40 for girls),
                                 serial from 0001 within the first 12 digits
    KK    KKKKKK DDMMYY SSSS     issuing kecamatan, recording date, serial   (unconfirmed)
    akta  RRRR-LU-DDMMYYYY-NNNN  issuing regency, LU on time / LT late, issue date, serial
                                 per regency, variant and date              (partly unconfirmed)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.domain.values import Sex

NIK_DIGITS = 16
MAX_SERIAL = 9999
FEMALE_DAY_OFFSET = 40
_DIGITS16 = re.compile(r"[0-9]{16}")
_AKTA = re.compile(r"([0-9]{4})-(LU|LT)-([0-9]{8})-([0-9]{4})")


class InvalidNumber(ValueError):
    """A number that cannot be what it claims to be; `reason` is a short code-like word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NikParts:
    kecamatan: str
    sex: Sex
    birth_date: date
    serial: int

    @property
    def regency(self) -> str:
        return self.kecamatan[:4]

    @property
    def province(self) -> str:
        return self.kecamatan[:2]


def parse_nik(text: str, *, born_in_century_of: date) -> NikParts:
    """Read a NIK's parts, or raise InvalidNumber with the reason.

    The two-digit year is resolved against `born_in_century_of`: the latest year that is not
    after it. A newborn's NIK must therefore be parsed with its own birth date (the popular
    "yy <= today" rule reads a baby born in 2025 as 1925 when today is 2024-something).
    """
    if not _DIGITS16.fullmatch(text):
        raise InvalidNumber("not-16-digits")
    kecamatan = text[:6]
    if kecamatan[2:4] == "00" or kecamatan[4:6] == "00" or kecamatan[:2] == "00":
        raise InvalidNumber("region-zero")
    day, month, yy = int(text[6:8]), int(text[8:10]), int(text[10:12])
    sex = Sex.FEMALE if day > FEMALE_DAY_OFFSET else Sex.MALE
    if sex is Sex.FEMALE:
        day -= FEMALE_DAY_OFFSET
    year = _resolve_century(yy, born_in_century_of.year)
    try:
        birth_date = date(year, month, day)
    except ValueError:
        raise InvalidNumber("birth-date") from None
    serial = int(text[12:])
    if serial == 0:
        raise InvalidNumber("serial-zero")
    return NikParts(kecamatan=kecamatan, sex=sex, birth_date=birth_date, serial=serial)


def _resolve_century(yy: int, reference_year: int) -> int:
    year = reference_year - reference_year % 100 + yy
    return year - 100 if year > reference_year else year


def nik_prefix(kecamatan: str, birth_date: date, sex: Sex) -> str:
    """The first 12 digits of a NIK: the scope within which serials are allocated."""
    _require_digits(kecamatan, 6, "kecamatan")
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex is Sex.FEMALE else 0)
    return f"{kecamatan}{day:02d}{birth_date:%m%y}"


def kk_prefix(kecamatan: str, recorded_on: date) -> str:
    """The first 12 digits of a KK number (issuing kecamatan and recording date)."""
    _require_digits(kecamatan, 6, "kecamatan")
    return f"{kecamatan}{recorded_on:%d%m%y}"


def with_serial(prefix: str, serial: int) -> str:
    """A NIK or KK number from its 12-digit prefix and a serial 1..9999."""
    _require_digits(prefix, 12, "prefix")
    _require_serial(serial)
    return f"{prefix}{serial:04d}"


def akta_prefix(regency: str, *, late: bool, issued_on: date) -> str:
    """The serial scope of an akta kelahiran number, e.g. ``3502-LU-12032024``."""
    _require_digits(regency, 4, "regency")
    return f"{regency}-{'LT' if late else 'LU'}-{issued_on:%d%m%Y}"


def akta_number(prefix: str, serial: int) -> str:
    _require_serial(serial)
    return f"{prefix}-{serial:04d}"


def is_akta_number(text: str) -> bool:
    return _AKTA.fullmatch(text) is not None


def is_kk_number(text: str) -> bool:
    """Structure only: 16 digits whose first six are a plausible kecamatan code."""
    return bool(_DIGITS16.fullmatch(text)) and "00" not in (text[0:2], text[2:4], text[4:6])


def _require_digits(text: str, length: int, what: str) -> None:
    if len(text) != length or not text.isascii() or not text.isdigit():
        raise InvalidNumber(f"{what}-not-{length}-digits")


def _require_serial(serial: int) -> None:
    if not 1 <= serial <= MAX_SERIAL:
        raise InvalidNumber("serial-out-of-range")
