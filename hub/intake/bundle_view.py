"""A message Bundle as the profile rules see it: entries by index and reference resolution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.intake import references
from hub.intake import vocabulary as v
from hub.intake.elements import Json, has_coding


@dataclass(frozen=True, slots=True)
class Located:
    """A resource with the FHIRPath of its entry (so rules can say where a problem is) and the
    entry's fullUrl (which relative references inside it are read against)."""

    index: int
    resource: Json
    full_url: str | None = None

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    def at(self, element: str) -> str:
        return f"{self.path}.{element}"


class BundleView:
    def __init__(self, document: dict[str, Any]) -> None:
        self.entries: list[Located] = []
        self._by_full_url: dict[str, Located] = {}
        for index, entry in enumerate(document.get("entry") or ()):
            if not (isinstance(entry, dict) and isinstance(entry.get("resource"), dict)):
                continue
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            located = Located(index, entry["resource"], full_url)
            self.entries.append(located)
            if full_url:
                self._by_full_url.setdefault(full_url, located)

    def resolve(self, reference: Json | None, source: Located) -> Located | None:
        """The entry a Reference in `source` points to, by FHIR's bundle rules (hub.intake.references)."""
        target = reference.get("reference") if isinstance(reference, dict) else None
        return references.resolve(target, source.full_url, self._by_full_url)

    def why_unresolved(self, reference: Json | None) -> str | None:
        """A hint when a relative reference names an entry's type and id but FHIR's rules do not
        let it reach that entry (the most common mistake); None otherwise."""
        target = reference.get("reference") if isinstance(reference, dict) else None
        if not references.is_relative(target):
            return None
        kind, _, ident = str(target).partition("/")
        named = any(e.resource.get("resourceType") == kind and e.resource.get("id") == ident for e in self.entries)
        return references.RELATIVE_FROM_URN if named else None

    def outside(self, reference: Json | None, resource_type: str) -> str | None:
        """The id a reference to a `resource_type` outside the Bundle names (`Organization/<id>`, or a
        web URL ending so): a SATUSEHAT resource the hospital refers to on the national server. None
        when it is not such a reference, or when an entry of the Bundle has that type and id (then
        it was meant to resolve inside, and FHIR's rules say it does not)."""
        target = reference.get("reference") if isinstance(reference, dict) else None
        ident = references.outside_id(target, resource_type)
        if ident is None:
            return None
        inside = any(
            e.resource.get("resourceType") == resource_type and e.resource.get("id") == ident for e in self.entries
        )
        return None if inside or target in self._by_full_url else ident

    def of_type(self, resource_type: str) -> list[Located]:
        return [e for e in self.entries if e.resource.get("resourceType") == resource_type]

    def refers_to(self, reference: Json | None, source: Located, target: Located) -> bool:
        found = self.resolve(reference, source)
        return found is not None and found.index == target.index

    def related_person(self, role: str, newborn: Located) -> Located | None:
        """The RelatedPerson with relationship `role` (MTH, FTH) for the newborn."""
        for located in self.of_type("RelatedPerson"):
            concepts = located.resource.get("relationship") or ()
            if any(has_coding(c, v.ROLE_CODE, role) for c in concepts) and self.refers_to(
                located.resource.get("patient"), located, newborn
            ):
                return located
        return None

    def observation(self, codes: str | tuple[str, ...], subject: Located) -> Located | None:
        for located in self.of_type("Observation"):
            resource = located.resource
            if has_coding(resource.get("code"), v.LOINC, codes) and self.refers_to(
                resource.get("subject"), located, subject
            ):
                return located
        return None
