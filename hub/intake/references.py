"""Resolving a `Reference.reference` inside a Bundle, by FHIR R4's rules (Bundle §2.36.4.1).

- An absolute reference (`urn:uuid:…`, `urn:oid:…`, `https://…`) is the entry whose `fullUrl` is
  exactly that text.
- A relative reference `Type/id` has no meaning on its own inside a Bundle: it is read against the
  fullUrl of the entry that holds it. Only when that fullUrl is a RESTful URL `<base>/Type2/id2` does
  it become `<base>/Type/id`, which must then be an entry's fullUrl. From an entry whose fullUrl is a
  `urn:uuid:` (or that has none) a relative reference points outside the Bundle.
- Local (`#id`), versioned (`…/_history/n`) and logical (identifier-only) references do not resolve
  to an entry.

The reference validator follows these rules, so the hub does too: a reference the hub resolves is one
every FHIR tool resolves the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")

_RELATIVE = re.compile(r"[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}")
_RESTFUL = re.compile(r"(https?://[^\s]+)/[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")

# Why a reference did not resolve, in words a hospital can act on (never the reference itself).
RELATIVE_FROM_URN = (
    "a relative reference Type/id resolves only from an entry whose fullUrl is a RESTful URL; "
    "refer to the target entry's fullUrl (urn:uuid) instead"
)


def absolute(reference: str, source_full_url: str | None) -> str | None:
    """The full URL a reference stands for inside a Bundle, or None when it leaves the Bundle."""
    if "/_history/" in reference or reference.startswith("#"):
        return None
    if _RELATIVE.fullmatch(reference):
        base = _RESTFUL.fullmatch(source_full_url or "")
        return f"{base.group(1)}/{reference}" if base else None
    return reference if _ABSOLUTE.fullmatch(reference) else None


def resolve(reference: object, source_full_url: str | None, by_full_url: Mapping[str, T]) -> T | None:
    """The entry `reference` (a Reference.reference string) points to, from an entry whose fullUrl
    is `source_full_url`; None when it does not resolve inside the Bundle."""
    if not isinstance(reference, str):
        return None
    target = absolute(reference, source_full_url)
    return by_full_url.get(target) if target is not None else None


def is_relative(reference: object) -> bool:
    return isinstance(reference, str) and _RELATIVE.fullmatch(reference) is not None


def outside_id(reference: object, resource_type: str) -> str | None:
    """The id in `Type/id` or `https://…/Type/id` when Type is `resource_type`; None otherwise."""
    if not isinstance(reference, str) or "/_history/" in reference:
        return None
    if _RELATIVE.fullmatch(reference):
        kind, _, ident = reference.partition("/")
    else:
        restful = _RESTFUL.fullmatch(reference)
        if restful is None:
            return None
        kind, _, ident = reference[len(restful.group(1)) + 1 :].partition("/")
    return ident if kind == resource_type else None
