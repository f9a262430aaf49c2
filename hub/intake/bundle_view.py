"""A message Bundle as the profile rules see it: entries by index and reference resolution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.intake import vocabulary as v
from hub.intake.elements import Json, has_coding


@dataclass(frozen=True, slots=True)
class Located:
    """A resource with the FHIRPath of its entry, so rules can say where a problem is."""

    index: int
    resource: Json

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    def at(self, element: str) -> str:
        return f"{self.path}.{element}"


class BundleView:
    def __init__(self, document: dict[str, Any]) -> None:
        self.entries = [
            Located(index, entry["resource"])
            for index, entry in enumerate(document.get("entry") or ())
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        ]
        self._by_full_url = {}
        for index, entry in enumerate(document.get("entry") or ()):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict) and entry.get("fullUrl"):
                self._by_full_url[entry["fullUrl"]] = Located(index, entry["resource"])

    def resolve(self, reference: Json | None) -> Located | None:
        """The entry a Reference points to: by fullUrl, or by `Type/id` (absolute or relative)."""
        target = (reference or {}).get("reference")
        if not isinstance(target, str):
            return None
        if target in self._by_full_url:
            return self._by_full_url[target]
        for located in self.entries:
            literal = f"{located.resource.get('resourceType')}/{located.resource.get('id')}"
            if target == literal or target.endswith("/" + literal):
                return located
        return None

    def of_type(self, resource_type: str) -> list[Located]:
        return [e for e in self.entries if e.resource.get("resourceType") == resource_type]

    def refers_to(self, reference: Json | None, target: Located) -> bool:
        found = self.resolve(reference)
        return found is not None and found.index == target.index

    def related_person(self, role: str, newborn: Located) -> Located | None:
        """The RelatedPerson with relationship `role` (MTH, FTH) for the newborn."""
        for located in self.of_type("RelatedPerson"):
            concepts = located.resource.get("relationship") or ()
            if any(has_coding(c, v.ROLE_CODE, role) for c in concepts) and self.refers_to(
                located.resource.get("patient"), newborn
            ):
                return located
        return None

    def observation(self, codes: str | tuple[str, ...], subject: Located) -> Located | None:
        for located in self.of_type("Observation"):
            resource = located.resource
            if has_coding(resource.get("code"), v.LOINC, codes) and self.refers_to(resource.get("subject"), subject):
                return located
        return None
