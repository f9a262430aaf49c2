"""Small readers of FHIR JSON elements, shared by the profile rules."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def identifier_value(resource: Json, system: str) -> tuple[int, str] | None:
    """The index and value of the first identifier with `system`."""
    for index, identifier in enumerate(resource.get("identifier") or ()):
        if isinstance(identifier, dict) and identifier.get("system") == system:
            value = identifier.get("value")
            if isinstance(value, str) and value:
                return index, value
    return None


def display_name(resource: Json) -> str | None:
    """A person's name as one string: `text`, or given names then family."""
    for name in resource.get("name") or ():
        if not isinstance(name, dict):
            continue
        if name.get("text"):
            return str(name["text"]).strip()
        parts = [*name.get("given", ()), name.get("family") or ""]
        joined = " ".join(str(p).strip() for p in parts if p)
        if joined:
            return joined
    return None


def has_coding(concept: Json | None, system: str, codes: str | tuple[str, ...]) -> bool:
    wanted = (codes,) if isinstance(codes, str) else codes
    for coding in (concept or {}).get("coding") or ():
        if coding.get("system") == system and coding.get("code") in wanted:
            return True
    return False


def first_code(concept: Json | None, system: str) -> str | None:
    for coding in (concept or {}).get("coding") or ():
        if coding.get("system") == system:
            return coding.get("code")
    return None


def extension(element: Json | None, url: str) -> Json | None:
    for ext in (element or {}).get("extension") or ():
        if ext.get("url") == url:
            return ext
    return None


def extensions(element: Json | None, url: str) -> list[Json]:
    return [ext for ext in (element or {}).get("extension") or () if ext.get("url") == url]
