"""FHIR R4's rules for a Bundle's entries, as the reference validator (HAPI FHIR 8.8.0, its
org.hl7.fhir.validation 6.7.9) enforces them on a message Bundle.

Every rule below is an error there (probed on variants of contracts/examples/valid-singleton.json),
or an error-level invariant of the specification's Bundle:

| hub code                   | where                          | rule (spec key / HAPI message id)                              |
|----------------------------|--------------------------------|----------------------------------------------------------------|
| BUNDLE-FULLURL-DUPLICATE   | the later entry's `fullUrl`    | bdl-7 `entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()` |
| BUNDLE-FULLURL-INVALID     | `fullUrl` (detail "absolute")  | BUNDLE_ENTRY_URL_ABSOLUTE: a lowercase scheme, something after the colon, no space |
| BUNDLE-FULLURL-INVALID     | `fullUrl` (detail "bdl-8")     | bdl-8 `fullUrl.contains('/_history/').not()`                   |
| BUNDLE-FULLURL-MISMATCH    | `fullUrl`                      | BUNDLE_ENTRY_URL_MATCHES_TYPE_ID / _NO_ID: a fullUrl shaped `[http(s)://base/]Type/id[/_history/v]` (Type an R4 resource type) must end with `/<resourceType>/<id>` |
| ELEMENT-MISSING "fullUrl"  | `Bundle.entry[i].fullUrl`      | BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED: every entry of a Bundle other than a transaction or batch (response) has a fullUrl |
| BUNDLE-ENTRY-DUPLICATE     | the later entry's resource `id`| the same resourceType and id in two entries whose fullUrls differ (the hub's own rule: HAPI says nothing) |
| FHIR-CONSTRAINT-FAILED     | `Bundle.total`                 | bdl-1 `total.empty() or (type = 'searchset') or (type = 'history')` |
| FHIR-CONSTRAINT-FAILED     | `Bundle.entry[i].search`       | bdl-2 `entry.search.empty() or (type = 'searchset')`           |
| FHIR-CONSTRAINT-FAILED     | `Bundle.entry[i].request`      | bdl-3 `entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))` |
| FHIR-CONSTRAINT-FAILED     | `Bundle.entry[i].response`     | bdl-4 `entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))` |
| FHIR-INVALID               | `Bundle.link[i].relation`      | BUNDLE_LINK_SEARCH_PROHIBITED (first/previous/next/last outside a search), BUNDLE_LINK_SEARCH_NO_DUPLICATES (a second "self") |

Not here: a fullUrl's own URI syntax (whitespace, urn:uuid, urn:oid) is datatypes.py's, as for
every uri; a urn:uuid fullUrl whose uuid differs from the resource's id is accepted, as HAPI does
(an id is the server's, a urn:uuid is not); bdl-5 (entry without resource), bdl-12 (MessageHeader
first) are already structure.py's and envelope.py's.
"""

from __future__ import annotations

import re
from typing import Any

from hub.domain import codes
from hub.domain.codes import Issue

# R4's concrete resource types, from profiles-resources.xml (kind resource, not abstract): the
# reference validator recognises a RESTful fullUrl by these names only.
R4_RESOURCE_TYPES = frozenset(
    """Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent Basic
    Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam CatalogEntry
    ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem Communication
    CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage
    CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric
    DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis
    Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
    EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal GraphDefinition Group
    GuidanceResponse HealthcareService ImagingStudy Immunization ImmunizationEvaluation
    ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice Library Linkage List Location Measure
    MeasureReport Media Medication MedicationAdministration MedicationDispense MedicationKnowledge
    MedicationRequest MedicationStatement MedicinalProduct MedicinalProductAuthorization
    MedicinalProductContraindication MedicinalProductIndication MedicinalProductIngredient
    MedicinalProductInteraction MedicinalProductManufactured MedicinalProductPackaged
    MedicinalProductPharmaceutical MedicinalProductUndesirableEffect MessageDefinition MessageHeader
    MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition OperationDefinition
    OperationOutcome Organization OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation
    Person PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse
    RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject
    RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen
    SpecimenDefinition StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid
    SubstancePolymer SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial
    SubstanceSpecification SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport TestScript
    ValueSet VerificationResult VisionPrescription""".split()  # noqa: SIM905
)

# The reference validator's RESTful URL shape (Constants.URI_REGEX_XVER), matched whole.
_RESTFUL = re.compile(
    r"((http|https)://([A-Za-z0-9\\.:%$\-_]*/)*?)?(" + "|".join(sorted(R4_RESOURCE_TYPES)) + r")"
    r"/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
)
_SCHEME_TOKEN = re.compile(r"[a-z][a-z0-9_\[\]]*")
_ISO_URNS = ("urn:iso:", "urn:iso-iec:", "urn:iso-cie:", "urn:iso-astm:", "urn:iso-ieee:", "urn:iec:")

_SEARCH_ONLY_LINKS = frozenset({"first", "previous", "next", "last"})
_FULL_URL_OPTIONAL = frozenset({"transaction", "transaction-response", "batch", "batch-response"})
_REQUEST_TYPES = frozenset({"batch", "transaction", "history"})
_RESPONSE_TYPES = frozenset({"batch-response", "transaction-response", "history"})


def bundle_issues(document: dict[str, Any]) -> list[Issue]:
    """The entry-level rules above over the raw Bundle JSON (after structure.py accepted it)."""
    bundle_type = document.get("type")
    issues = _bundle_level(document, bundle_type)
    entries = document.get("entry")
    if not isinstance(entries, list):
        return issues
    seen_urls: set[str] = set()
    seen_ids: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        path = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry.get("resource"), dict) else None
        issues.extend(_entry_elements(entry, path, bundle_type))
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        if full_url is None and bundle_type not in _FULL_URL_OPTIONAL:
            issues.append(Issue(codes.ELEMENT_MISSING, f"{path}.fullUrl", "fullUrl"))
        if full_url is not None:
            issues.extend(_full_url_issues(full_url, resource, f"{path}.fullUrl"))
            key = full_url + _version_id(resource)
            if key in seen_urls:
                issues.append(Issue(codes.BUNDLE_FULLURL_DUPLICATE, f"{path}.fullUrl", "bdl-7"))
                continue
            seen_urls.add(key)
        issues.extend(_duplicate_resource(resource, seen_ids, f"{path}.resource.id"))
    return issues


def is_absolute_url(url: str) -> bool:
    """The reference validator's Utilities.isAbsoluteUrl: a lowercase scheme (or http, https, urn,
    an ISO URN), then something after the colon, and no space anywhere after it."""
    scheme, colon, rest = url.partition(":")
    if not colon:
        return False
    known = scheme in ("http", "https", "urn") or _SCHEME_TOKEN.fullmatch(scheme) is not None
    return (known or url.startswith(_ISO_URNS)) and rest != "" and " " not in rest


def _bundle_level(document: dict[str, Any], bundle_type: Any) -> list[Issue]:
    issues = []
    if "total" in document and bundle_type not in ("searchset", "history"):
        issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, "Bundle.total", "bdl-1"))
    links = document.get("link")
    if isinstance(links, list) and bundle_type in ("message", "document"):
        selves = 0
        for index, link in enumerate(links):
            relation = link.get("relation") if isinstance(link, dict) else None
            selves += relation == "self"
            if relation in _SEARCH_ONLY_LINKS or (relation == "self" and selves > 1):
                issues.append(Issue(codes.FHIR_INVALID, f"Bundle.link[{index}].relation", "link relation"))
    return issues


def _entry_elements(entry: dict[str, Any], path: str, bundle_type: Any) -> list[Issue]:
    issues = []
    if "search" in entry and bundle_type != "searchset":
        issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, f"{path}.search", "bdl-2"))
    if ("request" in entry) != (bundle_type in _REQUEST_TYPES):
        issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, f"{path}.request", "bdl-3"))
    if ("response" in entry) != (bundle_type in _RESPONSE_TYPES):
        issues.append(Issue(codes.FHIR_CONSTRAINT_FAILED, f"{path}.response", "bdl-4"))
    return issues


def _full_url_issues(full_url: str, resource: dict[str, Any] | None, path: str) -> list[Issue]:
    issues = []
    if "/_history/" in full_url:
        issues.append(Issue(codes.BUNDLE_FULLURL_INVALID, path, "bdl-8"))
    if not is_absolute_url(full_url):
        issues.append(Issue(codes.BUNDLE_FULLURL_INVALID, path, "absolute"))
        return issues
    resource_type = resource.get("resourceType") if resource is not None else None
    if isinstance(resource_type, str) and _RESTFUL.fullmatch(full_url):
        resource_id = resource.get("id") if resource is not None else None
        if not isinstance(resource_id, str) or not full_url.endswith(f"/{resource_type}/{resource_id}"):
            issues.append(Issue(codes.BUNDLE_FULLURL_MISMATCH, path))
    return issues


def _version_id(resource: dict[str, Any] | None) -> str:
    meta = resource.get("meta") if resource is not None else None
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else ""


def _duplicate_resource(resource: dict[str, Any] | None, seen: set[tuple[str, str]], path: str) -> list[Issue]:
    if resource is None:
        return []
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if not isinstance(resource_type, str) or not isinstance(resource_id, str):
        return []
    key = (resource_type, resource_id)
    if key in seen:
        return [Issue(codes.BUNDLE_ENTRY_DUPLICATE, path)]
    seen.add(key)
    return []
