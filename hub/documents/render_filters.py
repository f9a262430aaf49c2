"""Formatting helpers that the document templates use as Jinja filters.

Civil documents write dates the Indonesian way: month names in Indonesian ("10 Maret 2024"),
the date of birth also in words on the akta ("sepuluh Maret dua ribu dua puluh empat"), numeric
dates as dd-mm-yyyy, clock times as 08.30 followed by the zone of the place (WIB, WITA, WIT).
The bilingual akta needs the English forms too. Pure functions of the standard library, so a
template designer can read exactly what each filter prints.

    tanggal            date -> "10 Maret 2024"
    tanggal_terbilang  date -> "sepuluh Maret dua ribu dua puluh empat"
    ddmmyyyy           date -> "10-03-2024"
    date_en            date -> "10 March 2024"
    jam                datetime -> "08.30"
    zona_waktu         datetime -> "WIB" (+07), "WITA" (+08), "WIT" (+09), else "UTC+05.30"
    terbilang          int -> Indonesian words ("dua belas")
    ordinal_en         int -> "1st", "2nd", "11th"
    dash               value -> the value, or "-" when it is empty
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Indonesia's three time zones, by UTC offset.
ZONES = {timedelta(hours=7): "WIB", timedelta(hours=8): "WITA", timedelta(hours=9): "WIT"}

_WORDS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas")
_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}
_SCALES = ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (10**3, "ribu"))


def terbilang(number: int) -> str:
    """An integer in Indonesian words: 12 -> "dua belas", 2024 -> "dua ribu dua puluh empat"."""
    if number < 0:
        return f"minus {terbilang(-number)}"
    if number < 12:
        return _WORDS[number]
    if number < 20:
        return f"{_WORDS[number - 10]} belas"
    if number < 100:
        return _followed(f"{_WORDS[number // 10]} puluh", number % 10)
    if number < 1000:
        head = "seratus" if number < 200 else f"{_WORDS[number // 100]} ratus"
        return _followed(head, number % 100)
    if number < 2000:
        return _followed("seribu", number - 1000)
    return _large(number)


def _large(number: int) -> str:
    for scale, word in _SCALES:
        if number >= scale:
            return _followed(f"{terbilang(number // scale)} {word}", number % scale)
    raise ValueError(f"{number} is not a large number")


def _followed(head: str, rest: int) -> str:
    return head if rest == 0 else f"{head} {terbilang(rest)}"


def tanggal(day: date) -> str:
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"


def tanggal_terbilang(day: date) -> str:
    return f"{terbilang(day.day)} {BULAN[day.month - 1]} {terbilang(day.year)}"


def ddmmyyyy(day: date) -> str:
    return f"{day.day:02d}-{day.month:02d}-{day.year:04d}"


def date_en(day: date) -> str:
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def jam(moment: datetime) -> str:
    return f"{moment.hour:02d}.{moment.minute:02d}"


def zona_waktu(moment: datetime) -> str:
    """The zone name of the moment's own offset; a moment without an offset is a caller's bug."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a time without a UTC offset has no time zone to print")
    if offset in ZONES:
        return ZONES[offset]
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}.{minutes % 60:02d}"


def ordinal_en(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{_SUFFIXES.get(number % 10, 'th')}"


def dash(value: Any) -> str:
    text = str(value).strip()
    return text or "-"


FILTERS: dict[str, Callable[..., str]] = {
    "tanggal": tanggal,
    "tanggal_terbilang": tanggal_terbilang,
    "ddmmyyyy": ddmmyyyy,
    "date_en": date_en,
    "jam": jam,
    "zona_waktu": zona_waktu,
    "terbilang": terbilang,
    "ordinal_en": ordinal_en,
    "dash": dash,
}
