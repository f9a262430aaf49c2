"""Systems, codes and extension URLs of the birth-notification profile (contracts/profile.md).

The hub's own definitions sit under one canonical base, a placeholder until Dukcapil assigns the
real one; everything else is SATUSEHAT's or a standard terminology.
"""

BASE = "https://akta-hub.example/fhir"

# Identifier systems (SATUSEHAT).
NIK = "https://fhir.kemkes.go.id/id/nik"
NIK_IBU = "https://fhir.kemkes.go.id/id/nik-ibu"
KK = "https://fhir.kemkes.go.id/id/kk"

# The hub's message events.
EVENT_SYSTEM = f"{BASE}/CodeSystem/hub-event"
BIRTH_NOTIFICATION = "birth-notification"
BIRTH_RESULT = "birth-result"

# Extensions.
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
BIRTH_REGISTRATION = f"{BASE}/StructureDefinition/birth-registration"
MULTIPLE_BIRTH_TOTAL = f"{BASE}/StructureDefinition/multiple-birth-total"
REGISTRATION_STATUS = f"{BASE}/StructureDefinition/registration-status"
REGISTRATION_NUMBERS = f"{BASE}/StructureDefinition/registration-numbers"

# Sub-extensions of birth-registration.
MARRIAGE_STATUS = "marriageStatus"
REPORTER = "reporter"
WITNESS = "witness"
PLACE_OF_BIRTH_TYPE = "placeOfBirthType"

# Code systems of the hub.
ATTENDANT_SYSTEM = f"{BASE}/CodeSystem/birth-attendant"
ISSUE_CODE_SYSTEM = f"{BASE}/CodeSystem/hub-issue"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
MOTHER_ROLE, FATHER_ROLE = "MTH", "FTH"

# Observations (LOINC) and units (UCUM).
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BIRTH_WEIGHT = "8339-4"
BIRTH_LENGTH = ("89269-5", "8302-2")
GESTATIONAL_AGE = "18185-9"

# Attendant codes, as numbered on form F-2.01.
ATTENDANT_CODES = {"doctor": 1, "midwife-or-nurse": 2, "traditional": 3, "other": 4}

# Offsets of Indonesia's time zones: WIB, WITA, WIT.
INDONESIAN_OFFSETS_MINUTES = (7 * 60, 8 * 60, 9 * 60)

# Documents attached to a result (DocumentReference + Binary).
DOCUMENT_ID_SYSTEM = f"{BASE}/id/document"
AKTA_NUMBER_SYSTEM = f"{BASE}/id/akta-kelahiran"
KK_NUMBER_SYSTEM = KK
DOCUMENT_TYPE_SYSTEM = f"{BASE}/CodeSystem/civil-document"
DOCUMENT_VERSION = f"{BASE}/StructureDefinition/document-version"
DOCUMENT_QR_PAYLOAD = f"{BASE}/StructureDefinition/document-qr-payload"
