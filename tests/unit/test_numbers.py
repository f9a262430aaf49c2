"""NIK, KK and akta kelahiran number formats (hub/domain/numbers.py)."""

from __future__ import annotations

from datetime import date

import pytest

from hub.domain.numbers import (
    InvalidNumber,
    NikParts,
    akta_number,
    akta_prefix,
    is_akta_number,
    is_kk_number,
    kk_prefix,
    nik_prefix,
    parse_nik,
    with_serial,
)
from hub.domain.values import Sex

KEC = "327301"


def test_female_day_carries_plus_40_and_parses_back():
    prefix = nik_prefix(KEC, date(1995, 3, 12), Sex.FEMALE)

    assert prefix == "327301520395"
    parts = parse_nik(prefix + "0007", born_in_century_of=date(1995, 3, 12))
    assert parts == NikParts(kecamatan=KEC, sex=Sex.FEMALE, birth_date=date(1995, 3, 12), serial=7)


def test_male_day_is_plain_and_parts_expose_region():
    prefix = nik_prefix(KEC, date(1992, 5, 1), Sex.MALE)

    parts = parse_nik(prefix + "0123", born_in_century_of=date(2024, 1, 1))
    assert prefix == "327301010592"
    assert (parts.sex, parts.birth_date, parts.serial) == (Sex.MALE, date(1992, 5, 1), 123)
    assert (parts.province, parts.regency, parts.kecamatan) == ("32", "3273", "327301")


@pytest.mark.parametrize("born", [date(2000, 2, 29), date(1999, 12, 31), date(2025, 1, 1), date(1960, 7, 31)])
@pytest.mark.parametrize("sex", [Sex.MALE, Sex.FEMALE])
def test_round_trip_with_own_birth_date(born, sex):
    number = with_serial(nik_prefix(KEC, born, sex), 9999)

    assert parse_nik(number, born_in_century_of=born) == NikParts(KEC, sex, born, 9999)


def test_newborn_of_2025_is_not_read_as_1925_when_parsed_with_its_birth_date():
    born = date(2025, 1, 15)
    number = with_serial(nik_prefix(KEC, born, Sex.MALE), 1)

    assert parse_nik(number, born_in_century_of=born).birth_date == date(2025, 1, 15)


def test_century_is_the_latest_year_not_after_the_reference():
    number = with_serial(nik_prefix(KEC, date(2025, 1, 15), Sex.MALE), 1)

    # the popular "yy <= this year" rule: with a 2024 reference, yy=25 can only be 1925
    assert parse_nik(number, born_in_century_of=date(2024, 12, 31)).birth_date == date(1925, 1, 15)
    assert parse_nik(number, born_in_century_of=date(2099, 1, 1)).birth_date == date(2025, 1, 15)


@pytest.mark.parametrize(
    "text",
    [
        "3273011213950001",  # month 13
        "3273013202950001",  # 32 February (male day 32)
        "3273017203950001",  # female day 72 = day 32
        "3273014003950001",  # day 40 is neither a male nor a female day
        "3273010003950001",  # day 00
        "3273013002950001",  # 30 February
        "3273012902010001",  # 29 February of a non-leap year (2001)
    ],
)
def test_impossible_birth_date_is_invalid(text):
    with pytest.raises(InvalidNumber) as raised:
        parse_nik(text, born_in_century_of=date(2024, 6, 1))
    assert raised.value.reason == "birth-date"


def test_zero_serial_is_invalid():
    with pytest.raises(InvalidNumber) as raised:
        parse_nik("3273015203950000", born_in_century_of=date(1995, 3, 12))
    assert raised.value.reason == "serial-zero"


@pytest.mark.parametrize("text", ["0073015203950001", "3200015203950001", "3273005203950001"])
def test_zero_region_part_is_invalid(text):
    with pytest.raises(InvalidNumber) as raised:
        parse_nik(text, born_in_century_of=date(1995, 3, 12))
    assert raised.value.reason == "region-zero"


@pytest.mark.parametrize(
    "text",
    [
        "327301520395001",
        "32730152039500011",
        "",
        "327301520395000a",
        "3273 01520395001",
        " 3273015203950001",
        "3273015203950001\n",
    ],
)
def test_not_16_digits_is_invalid(text):
    with pytest.raises(InvalidNumber) as raised:
        parse_nik(text, born_in_century_of=date(1995, 3, 12))
    assert raised.value.reason == "not-16-digits"


def test_invalid_number_is_a_value_error_carrying_its_reason():
    with pytest.raises(ValueError, match="serial-zero"):
        parse_nik("3273015203950000", born_in_century_of=date(1995, 3, 12))


ARABIC_INDIC_NIK = "".join(chr(0x0660 + int(d)) for d in "3273015203950001")


def test_non_ascii_digits_are_not_a_nik():  # was a bug: \d matched any Unicode digit
    with pytest.raises(InvalidNumber):
        parse_nik(ARABIC_INDIC_NIK, born_in_century_of=date(1995, 3, 12))


def test_non_ascii_digits_are_not_a_kk_number():
    assert not is_kk_number(ARABIC_INDIC_NIK)


def test_kk_prefix_is_kecamatan_and_recording_date():
    assert kk_prefix(KEC, date(2019, 1, 5)) == "327301050119"


@pytest.mark.parametrize("bad", ["32730", "3273011", "32730a", "", "３２７３０１"])
def test_prefixes_need_a_six_digit_kecamatan(bad):
    with pytest.raises(InvalidNumber) as by_nik:
        nik_prefix(bad, date(1995, 3, 12), Sex.FEMALE)
    with pytest.raises(InvalidNumber) as by_kk:
        kk_prefix(bad, date(2019, 1, 5))
    assert by_nik.value.reason == by_kk.value.reason == "kecamatan-not-6-digits"


@pytest.mark.parametrize(
    ("serial", "expected"), [(1, "3273015203950001"), (42, "3273015203950042"), (9999, "3273015203959999")]
)
def test_with_serial_pads_to_four_digits(serial, expected):
    assert with_serial("327301520395", serial) == expected


@pytest.mark.parametrize("serial", [0, -1, 10000])
def test_serial_out_of_range(serial):
    with pytest.raises(InvalidNumber) as for_nik:
        with_serial("327301520395", serial)
    with pytest.raises(InvalidNumber) as for_akta:
        akta_number("3502-LU-12032024", serial)
    assert for_nik.value.reason == for_akta.value.reason == "serial-out-of-range"


@pytest.mark.parametrize("prefix", ["32730152039", "3273015203950", "32730152039x"])
def test_with_serial_needs_a_twelve_digit_prefix(prefix):
    with pytest.raises(InvalidNumber) as raised:
        with_serial(prefix, 1)
    assert raised.value.reason == "prefix-not-12-digits"


def test_akta_number_on_time_and_late():
    on_time = akta_number(akta_prefix("3502", late=False, issued_on=date(2024, 3, 12)), 1)
    late = akta_number(akta_prefix("3502", late=True, issued_on=date(2024, 3, 12)), 250)

    assert on_time == "3502-LU-12032024-0001"
    assert late == "3502-LT-12032024-0250"
    assert is_akta_number(on_time) and is_akta_number(late)


@pytest.mark.parametrize("regency", ["350", "35021", "35a2"])
def test_akta_prefix_needs_a_four_digit_regency(regency):
    with pytest.raises(InvalidNumber) as raised:
        akta_prefix(regency, late=False, issued_on=date(2024, 3, 12))
    assert raised.value.reason == "regency-not-4-digits"


@pytest.mark.parametrize(
    "text",
    [
        "3502-LX-12032024-0001",
        "3502-LU-1203202-0001",
        "3502-LU-12032024-001",
        "3502/LU/12032024/0001",
        "3502-LU-12032024-0001 ",
    ],
)
def test_is_akta_number_rejects_other_shapes(text):
    assert not is_akta_number(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3273010501190003", True),
        ("0073010501190003", False),
        ("3200010501190003", False),
        ("3273000501190003", False),
        ("327301050119000", False),
        ("32730105011900031", False),
    ],
)
def test_is_kk_number_checks_structure(text, expected):
    assert is_kk_number(text) is expected
