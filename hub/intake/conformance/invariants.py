"""FHIR R4's core invariants of error severity for the types a birth notification may contain, in
Python (each is one dictionary look-up or two: this runs for every notification). An issue is
FHIR-CONSTRAINT-FAILED with the key as detail, at the element that carries the constraint, as the
reference validator (HAPI FHIR 8.8.0) reports it. tests/unit/test_conformance_rules.py checks each
against the specification's own FHIRPath (fhirpathpy) on the same samples.

| key    | on                      | FHIRPath (profiles-types.xml / profiles-resources.xml)                     | meaning |
|--------|-------------------------|-----------------------------------------------------------------------------|---------|
| ele-1  | every element           | `hasValue() or (children().count() > id.count())`                           | no empty object, empty array or null (HAPI's JSON parser: "Object must have some content") |
| ext-1  | Extension               | `extension.exists() != value.exists()`                                      | sub-extensions or a value, not both, not neither |
| per-1  | Period                  | `start.hasValue().not() or end.hasValue().not() or (start <= end)`          | start not after end; different precisions equal on what both have do not compare, so fail |
| qty-3  | Quantity, Age, Count, Distance, Duration | `code.empty() or system.exists()`                          | a unit code needs its system |
| sqty-1 | SimpleQuantity (Range.low/high, referenceRange.low/high, SampledData.origin) | `comparator.empty()` | no comparator |
| age-1  | Age                     | `(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (value.empty() or value.hasValue().not() or value > 0)` | a code with a value, UCUM, positive |
| cnt-3  | Count                   | `(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (code.empty() or code = '1') and (value.empty() or value.hasValue().not() or value.toString().contains('.').not())` | code "1", UCUM, a whole number |
| dis-1  | Distance                | `(code.exists() or value.empty()) and (system.empty() or system = %ucum)`  | a code with a value, UCUM |
| drt-1  | Duration                | `code.exists() implies ((system = %ucum) and value.exists())`               | a code needs UCUM and a value |
| rng-2  | Range                   | `low.empty() or high.empty() or (low <= high)`                              | low not above high (same unit; other units are not compared) |
| rat-1  | Ratio                   | `(numerator.empty() xor denominator.exists()) and (numerator.exists() or extension.exists())` | both or neither, and then an extension |
| att-1  | Attachment              | `data.empty() or contentType.exists()`                                      | data needs a contentType |
| cpt-2  | ContactPoint            | `value.empty() or system.exists()`                                          | a value needs a system |
| tim-1, -2, -4..-10 | Timing.repeat | e.g. tim-1 `duration.empty() or durationUnit.exists()`, tim-9 `offset.empty() or (when.exists() and ((when in ('C' \\| 'CM' \\| 'CD' \\| 'CV')).not()))` | units with durations and periods, non-negative, maxima need their base, offset needs a non-meal when, timeOfDay excludes when |
| ref-1  | Reference               | `reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))` | a #local reference names a contained resource |
| dom-2  | resource                | `contained.contained.empty()`                                               | no nested contained resources |
| dom-3  | resource                | `contained.where((('#'+id in (%resource.descendants().reference \\| …)) or descendants().where(reference = '#').exists() …).not()).empty()` | every contained resource is referenced from the container, or refers to it ("#") |
| dom-4  | resource                | `contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()`  | contained resources carry no version or lastUpdated |
| dom-5  | resource                | `contained.meta.security.empty()`                                           | contained resources carry no security label |
| obs-3  | Observation.referenceRange | `low.exists() or high.exists() or text.exists()`                         | a range says something |
| obs-6  | Observation             | `dataAbsentReason.empty() or value.empty()`                                 | no dataAbsentReason beside a value |
| obs-7  | Observation             | `value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()` | no value when a component repeats the code |
| org-1  | Organization            | `(identifier.count() + name.count()) > 0`                                   | a name or an identifier |
| org-2  | Organization.address    | `where(use = 'home').empty()`                                               | never a home address |
| org-3  | Organization.telecom    | `where(use = 'home').empty()`                                               | never a home telecom |
| pat-1  | Patient.contact         | `name.exists() or telecom.exists() or address.exists() or organization.exists()` | a contact says who |
| txt-1  | Narrative.div           | `htmlChecks()`                                                              | XHTML `<div>` in the XHTML namespace, only the basic HTML elements and attributes |
| txt-2  | Narrative.div           | `htmlChecks()`                                                              | some non-whitespace content (or an image) |

Not applicable to these types or never failing on JSON: bdl-* (bundle_rules.py), drq-*, exp-1,
trd-* (types a birth notification never carries outside an extension value; extension values of
those types are not checked), mqty-1 (no MoneyQuantity here).
"""

from __future__ import annotations

import json
import re

# A narrative with a DOCTYPE (and so any entity definition) is refused before parsing: no expansion attack.
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.domain import codes
from hub.domain.codes import Issue
from hub.intake.conformance.walk import Node

UCUM_SYSTEM = "http://unitsofmeasure.org"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_SIMPLE_QUANTITY_NAMES = frozenset({"low", "high", "origin", "doseQuantity", "rateQuantity"})
_MEAL_WHEN = frozenset({"C", "CM", "CD", "CV"})
_ENTRY = re.compile(r"Bundle\.entry\[(\d+)\]\.resource")


def _fail(node: Node, key: str, suffix: str = "") -> Issue:
    return Issue(codes.FHIR_CONSTRAINT_FAILED, node.path + suffix, key)


def _has(value: dict[str, Any], key: str) -> bool:
    return value.get(key) not in (None, [], {}, "")


def _has_choice(value: dict[str, Any], prefix: str) -> bool:
    """A choice element present under any of its typed names (valueQuantity, value[x] ...)."""
    return any(key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper() for key in value)


# ele-1 ---------------------------------------------------------------------------------------------
def empty_element_issues(document: dict[str, Any]) -> list[Issue]:
    """ele-1 over the raw JSON: an empty object, an empty array or a null where a value belongs."""
    issues: list[Issue] = []
    _empty_in(document, "Bundle", issues)
    return issues


def _empty_in(value: dict[str, Any], path: str, issues: list[Issue]) -> None:
    for key, item in value.items():
        if not isinstance(item, dict | list):  # a primitive (most keys): no path is built for it
            if item is None:
                issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, f"{path}.{key.lstrip('_')}", "ele-1"))
            continue
        child = f"{path}.{key.lstrip('_')}"
        if not item:
            issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, child, "ele-1"))
        elif isinstance(item, dict):
            _empty_in(item, child, issues)
        else:
            twin = value.get(key[1:] if key.startswith("_") else f"_{key}")
            for index, one in enumerate(item):
                if isinstance(one, dict):
                    if one:
                        _empty_in(one, f"{child}[{index}]", issues)
                    else:
                        issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, f"{child}[{index}]", "ele-1"))
                elif one is None and not isinstance(twin, list):  # null only aligns a primitive with its "_x"
                    issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, f"{child}[{index}]", "ele-1"))


# Datatypes -------------------------------------------------------------------------------------------
def _extension(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if _has(value, "extension") == _has_choice(value, "value"):
        yield _fail(node, "ext-1")


def _period(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    start, end = value.get("start"), value.get("end")
    if isinstance(start, str) and isinstance(end, str):
        order = compare_date_times(start, end)
        if order is None or order > 0:
            yield _fail(node, "per-1")


def _quantity(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    has_code, has_value = _has(value, "code"), "value" in value
    system = value.get("system")
    if has_code and "system" not in value:
        yield _fail(node, "qty-3")
    kind = node.type
    if kind == "Quantity" and node.element.rsplit(".", 1)[-1] in _SIMPLE_QUANTITY_NAMES and "comparator" in value:
        yield _fail(node, "sqty-1")
    ucum_or_none = system is None or system == UCUM_SYSTEM
    number = value.get("value")
    if kind == "Age" and not (
        (has_code or not has_value) and ucum_or_none and (not isinstance(number, int | float) or number > 0)
    ):
        yield _fail(node, "age-1")
    if kind == "Count" and not (
        (has_code or not has_value) and ucum_or_none and value.get("code", "1") == "1" and not isinstance(number, float)
    ):
        yield _fail(node, "cnt-3")
    if kind == "Distance" and not ((has_code or not has_value) and ucum_or_none):
        yield _fail(node, "dis-1")
    if kind == "Duration" and has_code and not (system == UCUM_SYSTEM and has_value):
        yield _fail(node, "drt-1")


def _range(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    low, high = value.get("low"), value.get("high")
    if isinstance(low, dict) and isinstance(high, dict) and _same_unit(low, high):
        low_value, high_value = _decimal(low.get("value")), _decimal(high.get("value"))
        if low_value is not None and high_value is not None and low_value > high_value:
            yield _fail(node, "rng-2")


def _same_unit(low: dict[str, Any], high: dict[str, Any]) -> bool:
    if "code" in low or "code" in high:
        return (low.get("system"), low.get("code")) == (high.get("system"), high.get("code"))
    return low.get("unit") == high.get("unit")


def _decimal(number: Any) -> Decimal | None:
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    try:
        return Decimal(str(number))
    except InvalidOperation:
        return None


def _ratio(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    numerator, denominator = _has(value, "numerator"), _has(value, "denominator")
    if numerator != denominator or not (numerator or _has(value, "extension")):
        yield _fail(node, "rat-1")


def _attachment(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if "data" in value and "contentType" not in value:
        yield _fail(node, "att-1")


def _contact_point(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if "value" in value and "system" not in value:
        yield _fail(node, "cpt-2")
    if node.element in ("Organization.telecom",) and value.get("use") == "home":
        yield _fail(node, "org-3")


def _address(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if node.element == "Organization.address" and value.get("use") == "home":
        yield _fail(node, "org-2")


def _timing(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    repeat = value.get("repeat")
    if not isinstance(repeat, dict):
        return
    present = {key for key in repeat if _has(repeat, key)}
    rules = (
        ("tim-1", "duration" not in present or "durationUnit" in present),
        ("tim-2", "period" not in present or "periodUnit" in present),
        ("tim-4", not _negative(repeat.get("duration"))),
        ("tim-5", not _negative(repeat.get("period"))),
        ("tim-6", "periodMax" not in present or "period" in present),
        ("tim-7", "durationMax" not in present or "duration" in present),
        ("tim-8", "countMax" not in present or "count" in present),
        ("tim-9", "offset" not in present or ("when" in present and not _MEAL_WHEN.intersection(repeat["when"]))),
        ("tim-10", "timeOfDay" not in present or "when" not in present),
    )
    for key, holds in rules:
        if not holds:
            yield _fail(node, key, ".repeat")


def _negative(number: Any) -> bool:
    return isinstance(number, int | float) and not isinstance(number, bool) and number < 0


# Resources and backbone elements -------------------------------------------------------------------
def _observation(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    has_value = _has_choice(value, "value")
    if has_value and _has(value, "dataAbsentReason"):
        yield _fail(node, "obs-6")
    if has_value and _component_repeats_code(value):
        yield _fail(node, "obs-7")


def _codings(concept: Any) -> list[dict[str, Any]]:
    found = concept.get("coding") if isinstance(concept, dict) else None
    return [one for one in found if isinstance(one, dict)] if isinstance(found, list) else []


def _component_repeats_code(value: dict[str, Any]) -> bool:
    """FHIRPath's intersect compares whole Codings (system, code, display ... all equal)."""
    own = _codings(value.get("code"))
    components = value.get("component")
    if not own or not isinstance(components, list):
        return False
    keys = {_coding_key(coding) for coding in own}
    return any(
        _coding_key(coding) in keys
        for component in components
        if isinstance(component, dict)
        for coding in _codings(component.get("code"))
    )


def _coding_key(coding: dict[str, Any]) -> str:
    """A whole Coding as one comparable key (JSON with sorted keys): equal Codings, equal keys."""
    return json.dumps(coding, sort_keys=True, default=str)


def _reference_range(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if node.element == "Observation.referenceRange" and not (
        _has(value, "low") or _has(value, "high") or _has(value, "text")
    ):
        yield _fail(node, "obs-3")


def _patient_contact(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if node.element == "Patient.contact" and not any(
        _has(value, key) for key in ("name", "telecom", "address", "organization")
    ):
        yield _fail(node, "pat-1")


def _domain_resource(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    if node.type == "Organization" and not (_has(value, "identifier") or _has(value, "name")):
        yield _fail(node, "org-1")
    if node.type == "Observation":
        yield from _observation(node, value)
    contained = value.get("contained")
    if not isinstance(contained, list) or not contained:
        return
    inner = [one for one in contained if isinstance(one, dict)]
    if any(_has(one, "contained") for one in inner):
        yield _fail(node, "dom-2")
    metas = [one["meta"] for one in inner if isinstance(one.get("meta"), dict)]
    if any(_has(meta, "versionId") or _has(meta, "lastUpdated") for meta in metas):
        yield _fail(node, "dom-4")
    if any(_has(meta, "security") for meta in metas):
        yield _fail(node, "dom-5")
    yield from _orphans(node, value, inner)


def _orphans(node: Node, value: dict[str, Any], inner: list[dict[str, Any]]) -> Iterator[Issue]:
    """dom-3: a contained resource that nothing in its container points at ("#id" as a reference,
    canonical or uri), and that does not itself point back at the container ("#")."""
    pointers = set(_strings(value))
    for index, one in enumerate(inner):
        resource_id = one.get("id")
        if f"#{resource_id}" not in pointers and "#" not in set(_strings(one)):
            yield _fail(node, "dom-3", f".contained[{index}]")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith("#"):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _reference(node: Node, value: dict[str, Any], roots: dict[int, dict[str, Any]]) -> Iterator[Issue]:
    reference = value.get("reference")
    if not isinstance(reference, str) or not reference.startswith("#"):
        return
    match = _ENTRY.match(node.path)
    root = roots.get(int(match.group(1))) if match else None
    contained = root.get("contained") if root is not None else None
    ids = {one.get("id") for one in contained if isinstance(one, dict)} if isinstance(contained, list) else set()
    if reference != "#" and reference[1:] not in ids:  # "#" alone is the container itself (dom-3)
        yield _fail(node, "ref-1")


# Narrative -------------------------------------------------------------------------------------------
_HTML_ELEMENTS = frozenset(
    """p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite blockquote
    hr address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup col thead tr tfoot tbody th
    td code samp img map area""".split()  # noqa: SIM905
)
_HTML_ATTRIBUTES = frozenset(
    """title style class id lang xml:lang dir accesskey tabindex span width align valign char charoff abbr
    axis headers scope rowspan colspan""".split()  # noqa: SIM905
)
_HTML_ELEMENT_ATTRIBUTES = frozenset(
    """a.href a.name img.src img.border div.xmlns blockquote.cite q.cite a.charset a.type a.hreflang a.rel
    a.rev a.shape a.coords img.alt img.longdesc img.height img.width img.usemap img.ismap map.name
    area.shape area.coords area.href area.nohref area.alt table.summary table.width table.border
    table.frame table.rules table.cellspacing table.cellpadding pre.space td.nowrap""".split()  # noqa: SIM905
)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _narrative(node: Node, value: dict[str, Any]) -> Iterator[Issue]:
    div = value.get("div")
    if not isinstance(div, str):
        return
    root = _parse_xhtml(div)
    if root is None:
        yield _fail(node, "txt-1", ".div")
        yield _fail(node, "txt-2", ".div")
        return
    if root.tag != f"{{{XHTML_NS}}}div" or not all(_allowed(element) for element in root.iter()):
        yield _fail(node, "txt-1", ".div")
    if not "".join(root.itertext()).strip() and root.find(f".//{{{XHTML_NS}}}img") is None:
        yield _fail(node, "txt-2", ".div")


def _parse_xhtml(div: str) -> ET.Element | None:
    if "<!" in div.replace("<!--", ""):  # a DOCTYPE, an entity declaration or CDATA: never narrative
        return None
    try:
        return ET.fromstring(div)  # noqa: S314 (no DOCTYPE here, so no entity can be defined)
    except ET.ParseError:
        return None


def _allowed(element: ET.Element) -> bool:
    if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{XHTML_NS}}}"):
        return False
    name = element.tag[len(XHTML_NS) + 2 :]
    if name not in _HTML_ELEMENTS:
        return False
    for attribute in element.attrib:
        plain = "xml:lang" if attribute == _XML_LANG else attribute
        if plain not in _HTML_ATTRIBUTES and f"{name}.{plain}" not in _HTML_ELEMENT_ATTRIBUTES:
            return False
    return True


# Dispatch --------------------------------------------------------------------------------------------
_Check = Callable[[Node, dict[str, Any]], Iterator[Issue]]
_BY_TYPE: dict[str, _Check] = {
    "Extension": _extension,
    "Period": _period,
    **dict.fromkeys(("Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity"), _quantity),
    "Range": _range,
    "Ratio": _ratio,
    "Attachment": _attachment,
    "ContactPoint": _contact_point,
    "Address": _address,
    "Timing": _timing,
    "Narrative": _narrative,
    "BackboneElement": lambda node, value: _chain(_reference_range(node, value), _patient_contact(node, value)),
}


def _chain(*parts: Iterator[Issue]) -> Iterator[Issue]:
    for part in parts:
        yield from part


def invariant_issues(document: dict[str, Any], nodes: Iterable[Node]) -> list[Issue]:
    """Every invariant above: ele-1 over the raw JSON, the rest over the walker's nodes."""
    issues = empty_element_issues(document)
    roots = _entry_resources(document)
    for node in nodes:
        value = node.value
        if not isinstance(value, dict):
            continue
        check = _BY_TYPE.get(node.type)
        if check is not None:
            issues.extend(check(node, value))
        elif node.type == "Reference":
            issues.extend(_reference(node, value, roots))
        elif value.get("resourceType") == node.type and node.type != "Bundle":
            issues.extend(_domain_resource(node, value))
    return issues


def _entry_resources(document: dict[str, Any]) -> dict[int, dict[str, Any]]:
    entries = document.get("entry")
    if not isinstance(entries, list):
        return {}
    return {
        index: entry["resource"]
        for index, entry in enumerate(entries)
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    }


# per-1's comparison, as the reference validator's FHIRPath engine does it -------------------------------
_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def compare_date_times(left: str, right: str) -> int | None:
    """-1, 0 or 1; None when the two differ in precision and agree on all they both have (FHIRPath:
    empty). A value with a time is compared in UTC, a date as written; seconds and milliseconds
    are one precision (HAPI's BaseDateTimeType.compareTimes)."""
    a, b = _fields(left), _fields(right)
    if a is None or b is None:
        return None
    for position in range(max(len(a), len(b))):
        if position >= len(a) or position >= len(b):
            return None
        if a[position] != b[position]:
            return -1 if a[position] < b[position] else 1
    return 0


def _fields(text: str) -> tuple[int, ...] | None:
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if hour is None:
        return tuple(int(part) for part in (year, month, day) if part is not None)
    offset = 0
    if zone and zone != "Z":
        offset = (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    try:
        day_number = date(int(year), int(month), int(day)).toordinal()
    except ValueError:
        return None
    # A leap second (23:59:60) counts as the last instant of its minute; the arithmetic is on whole
    # seconds, so dates at the ends of the calendar shifted by an offset stay comparable.
    leap = int(second) == 60
    instant = day_number * 86400 + int(hour) * 3600 + int(minute) * 60 + min(int(second), 59) - offset
    millis = 999 if leap else int((fraction or "").ljust(3, "0")[:3])
    days, rest = divmod(instant, 86400)
    if not 1 <= days <= date.max.toordinal():
        days, rest = day_number, instant + offset - day_number * 86400  # beyond the calendar in UTC: as written
    utc_day = date.fromordinal(days)
    # hour and minute are not precisions of their own here: a time always has seconds in FHIR
    return (utc_day.year, utc_day.month, utc_day.day, rest // 3600, rest % 3600 // 60, rest % 60 * 1000 + millis)
