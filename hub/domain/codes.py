"""The catalogue of hub codes: every reason the hub can give a hospital or an operator.

Codes are stable: hospitals program against them. Each has the FHIR IssueType it maps to, a
default severity and a message in Indonesian and English. Messages never contain personal data;
an `Issue` may add a short `detail` that is safe to show (an expected code, a limit).
contracts/error-codes.md is generated from this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    fhir_type: str
    severity: Severity
    id: str
    en: str


CATALOGUE: dict[str, Code] = {}


def _code(code: str, fhir_type: str, severity: Severity, id_: str, en: str) -> Code:
    entry = Code(code, fhir_type, severity, id_, en)
    if code in CATALOGUE:
        raise ValueError(f"duplicate hub code {code}")
    CATALOGUE[code] = entry
    return entry


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFORMATION  # noqa: E741 - short names keep the catalogue one line per code

# Unreadable messages: these go to the dead-letter topic, there is no one to answer.
NOT_UTF8 = _code(
    "DLQ-NOT-UTF8", "structure", Severity.FATAL, "Pesan bukan teks UTF-8.", "The message is not UTF-8 text."
)
NOT_JSON = _code(
    "DLQ-NOT-JSON", "structure", Severity.FATAL, "Pesan bukan JSON yang sah.", "The message is not valid JSON."
)
NOT_OBJECT = _code(
    "DLQ-NOT-OBJECT", "structure", Severity.FATAL, "Pesan JSON bukan objek.", "The JSON message is not an object."
)
NO_MESSAGE_ID = _code(
    "DLQ-NO-MESSAGE-ID",
    "required",
    Severity.FATAL,
    "Pesan tidak memiliki MessageHeader.id, tidak dapat dijawab.",
    "The message has no MessageHeader.id, so it cannot be answered.",
)
RESULT_UNROUTABLE = _code(
    "DLQ-RESULT-UNROUTABLE",
    "exception",
    Severity.FATAL,
    "Hasil tidak dapat dikirim: tidak ada rumah sakit dengan topik hasil untuknya (kesalahan hub).",
    "The result cannot be delivered: no hospital with a results topic is named for it (a hub fault).",
)

# Payload limits.
TOO_LARGE = _code(
    "PAYLOAD-TOO-LARGE", "too-costly", E, "Ukuran pesan melebihi batas.", "The message exceeds the size limit."
)
TOO_DEEP = _code(
    "PAYLOAD-TOO-DEEP", "too-costly", E, "Struktur JSON terlalu dalam.", "The JSON structure is nested too deeply."
)

# Text and numbers that no database can store faithfully, or that no person's name contains.
TEXT_CONTROL_CHARACTER = _code(
    "TEXT-CONTROL-CHARACTER",
    "value",
    E,
    "Teks berisi karakter kendali (mis. NUL); FHIR hanya mengizinkan tab, CR dan LF.",
    "The text contains a control character (such as NUL); FHIR allows only tab, CR and LF.",
)
TEXT_UNPAIRED_SURROGATE = _code(
    "TEXT-UNPAIRED-SURROGATE",
    "value",
    E,
    "Teks berisi escape \\uD800-\\uDFFF tanpa pasangannya: bukan Unicode yang sah.",
    "The text contains a \\uD800-\\uDFFF escape without its pair: not valid Unicode.",
)
NUMBER_OUT_OF_RANGE = _code(
    "NUMBER-OUT-OF-RANGE",
    "value",
    E,
    "Angka terlalu panjang, tak hingga, atau bukan angka (NaN).",
    "The number has too many characters, is infinite, or is not a number (NaN).",
)
NAME_CHARACTER_INVALID = _code(
    "NAME-CHARACTER-INVALID",
    "value",
    E,
    "Nama berisi karakter yang tidak mungkin ada dalam nama orang (karakter kendali, format, baris baru, atau simbol).",
    "The name contains a character no person's name has (a control, format, line-break or symbol character).",
)
NAME_TOO_LONG = _code(
    "NAME-TOO-LONG", "value", E, "Nama melebihi panjang yang wajar.", "The name is longer than any real name."
)
ISSUES_TRUNCATED = _code(
    "ISSUES-TRUNCATED",
    "too-costly",
    I,
    "Masalah lainnya tidak dicantumkan; perbaiki yang tercantum lalu kirim lagi.",
    "Further problems are not listed; fix those listed and send again.",
)

# FHIR structure (fhir.resources).
FHIR_INVALID = _code(
    "FHIR-INVALID", "structure", E, "Elemen tidak sesuai FHIR R4.", "The element does not conform to FHIR R4."
)
FHIR_UNKNOWN_RESOURCE = _code(
    "FHIR-UNKNOWN-RESOURCE", "not-supported", E, "Jenis resource FHIR tidak dikenal.", "Unknown FHIR resource type."
)

# FHIR R4 conformance beyond shapes (hub/intake/conformance): the base specification's own rules,
# as strict as the reference validator. `detail` names the rule: a value set's canonical URL, a
# constraint key (ext-1, bdl-7), never the input.
FHIR_CODE_NOT_IN_VALUE_SET = _code(
    "FHIR-CODE-NOT-IN-VALUE-SET",
    "code-invalid",
    E,
    "Kode tidak termasuk value set yang diwajibkan FHIR R4 untuk elemen ini.",
    "The code is not in the value set FHIR R4 requires for this element.",
)
FHIR_URI_INVALID = _code(
    "FHIR-URI-INVALID",
    "value",
    E,
    "Nilai URI tidak sah (mengandung spasi, atau urn:uuid/urn:oid yang salah bentuk).",
    "The URI is not valid (it contains whitespace, or is a malformed urn:uuid or urn:oid).",
)
FHIR_IDENTIFIER_SYSTEM_NOT_ABSOLUTE = _code(
    "FHIR-IDENTIFIER-SYSTEM-NOT-ABSOLUTE",
    "value",
    E,
    "Identifier.system harus URI absolut, bukan referensi lokal.",
    "Identifier.system must be an absolute URI, not a local reference.",
)
FHIR_UCUM_INVALID = _code(
    "FHIR-UCUM-INVALID",
    "code-invalid",
    E,
    "Satuan menyatakan UCUM tetapi kodenya bukan kode UCUM yang sah.",
    "The unit claims UCUM but its code is not a valid UCUM code.",
)
FHIR_CONSTRAINT_FAILED = _code(
    "FHIR-CONSTRAINT-FAILED",
    "invariant",
    E,
    "Aturan inti (invariant) FHIR R4 tidak terpenuhi; kuncinya ada di diagnostics.",
    "A core FHIR R4 invariant fails; its key is in diagnostics.",
)
BUNDLE_FULLURL_DUPLICATE = _code(
    "BUNDLE-FULLURL-DUPLICATE",
    "invalid",
    E,
    "fullUrl yang sama dipakai oleh lebih dari satu entri.",
    "The same fullUrl is used by more than one entry.",
)
BUNDLE_FULLURL_MISMATCH = _code(
    "BUNDLE-FULLURL-MISMATCH",
    "invalid",
    E,
    "fullUrl berbentuk URL RESTful harus diakhiri jenis dan id resource entri itu.",
    "A RESTful fullUrl must end with its entry's resource type and id.",
)
BUNDLE_FULLURL_INVALID = _code(
    "BUNDLE-FULLURL-INVALID",
    "invalid",
    E,
    "fullUrl harus URI absolut tanpa versi.",
    "The fullUrl must be an absolute URI without a version.",
)
BUNDLE_ENTRY_DUPLICATE = _code(
    "BUNDLE-ENTRY-DUPLICATE",
    "invalid",
    E,
    "Resource yang sama (jenis dan id) muncul di lebih dari satu entri.",
    "The same resource (type and id) appears in more than one entry.",
)

# The message envelope.
NOT_MESSAGE_BUNDLE = _code(
    "BUNDLE-NOT-MESSAGE", "invalid", E, "Harus Bundle FHIR bertipe message.", "Must be a FHIR Bundle of type message."
)
HEADER_NOT_FIRST = _code(
    "MESSAGE-HEADER-NOT-FIRST",
    "structure",
    E,
    "Entri pertama harus MessageHeader.",
    "The first entry must be a MessageHeader.",
)
MESSAGE_ID_INVALID = _code(
    "MESSAGE-ID-INVALID", "value", E, "MessageHeader.id harus UUID.", "MessageHeader.id must be a UUID."
)
EVENT_UNKNOWN = _code(
    "EVENT-CODE-UNKNOWN",
    "code-invalid",
    E,
    "Kode event bukan birth-notification.",
    "The event code is not birth-notification.",
)
REFERENCE_UNRESOLVED = _code(
    "REFERENCE-UNRESOLVED",
    "invalid",
    E,
    "Referensi tidak ditemukan di dalam Bundle.",
    "The reference does not resolve inside the Bundle.",
)
RESOURCE_MISSING = _code(
    "RESOURCE-MISSING", "required", E, "Resource wajib tidak ada.", "A required resource is missing."
)
ELEMENT_MISSING = _code("ELEMENT-MISSING", "required", E, "Elemen wajib tidak ada.", "A required element is missing.")
CODE_UNKNOWN = _code(
    "CODE-UNKNOWN", "code-invalid", E, "Kode tidak dikenal untuk elemen ini.", "The code is not known for this element."
)

# The newborn.
NAME_PLACEHOLDER = _code(
    "NEWBORN-NAME-PLACEHOLDER",
    "business-rule",
    E,
    "Nama bayi masih sementara (mis. 'Bayi Ny.'); akta memerlukan nama pilihan orang tua.",
    "The newborn's name is a placeholder (e.g. 'Bayi Ny.'); the akta needs the name the parents chose.",
)
GENDER_UNSUPPORTED = _code(
    "NEWBORN-GENDER-UNSUPPORTED",
    "value",
    E,
    "Jenis kelamin harus male atau female untuk pencatatan sipil.",
    "Gender must be male or female for civil registration.",
)
BIRTH_TIME_MISSING = _code(
    "BIRTH-TIME-MISSING",
    "required",
    E,
    "Ekstensi patient-birthTime wajib ada.",
    "The patient-birthTime extension is required.",
)
BIRTH_TIME_INVALID = _code(
    "BIRTH-TIME-INVALID",
    "value",
    E,
    "Waktu lahir harus tanggal dan jam lengkap dengan zona waktu.",
    "The birth time must be a full date and time with an offset.",
)
BIRTH_TIME_OFFSET = _code(
    "BIRTH-TIME-OFFSET",
    "value",
    E,
    "Waktu lahir harus berzona WIB (+07:00), WITA (+08:00) atau WIT (+09:00).",
    "The birth time must carry a WIB (+07:00), WITA (+08:00) or WIT (+09:00) offset.",
)
BIRTH_DATE_MISMATCH = _code(
    "BIRTH-DATE-MISMATCH",
    "value",
    E,
    "birthDate tidak sama dengan tanggal pada waktu lahir.",
    "birthDate differs from the date of the birth time.",
)
BIRTH_IN_FUTURE = _code(
    "BIRTH-IN-FUTURE", "business-rule", E, "Waktu lahir berada di masa depan.", "The birth time is in the future."
)
BIRTH_TOO_OLD = _code(
    "BIRTH-TOO-OLD",
    "business-rule",
    E,
    "Kelahiran terlalu lama untuk laporan rumah sakit.",
    "The birth is too old for a hospital notification.",
)
BIRTH_ORDER_INVALID = _code(
    "BIRTH-ORDER-INVALID",
    "value",
    E,
    "Urutan kelahiran kembar tidak sesuai jumlah bayi.",
    "The birth order does not fit the number of babies born together.",
)
NEWBORN_HAS_NIK = _code(
    "NEWBORN-NIK-PRESENT",
    "business-rule",
    E,
    "Bayi belum memiliki NIK; NIK diberikan saat pencatatan. Gunakan identifier nik-ibu.",
    "A newborn has no NIK yet; it is assigned at registration. Use the nik-ibu identifier.",
)
NIK_INVALID = _code("NIK-INVALID", "value", E, "NIK tidak sah secara struktur.", "The NIK has an invalid structure.")
NIK_REGION_UNKNOWN = _code(
    "NIK-REGION-UNKNOWN",
    "value",
    W,
    "Kode wilayah NIK tidak ada di daftar Kemendagri terbaru.",
    "The NIK's region code is not in the current Kemendagri list.",
)
NIK_DATE_MISMATCH = _code(
    "NIK-DATE-MISMATCH",
    "value",
    W,
    "Tanggal lahir pada NIK berbeda dari data yang dikirim.",
    "The birth date in the NIK differs from the date sent.",
)
KK_INVALID = _code(
    "KK-INVALID", "value", E, "Nomor KK tidak sah secara struktur.", "The KK number has an invalid structure."
)
WEIGHT_UNIT = _code(
    "BIRTH-WEIGHT-UNIT", "value", E, "Berat lahir harus dalam gram (UCUM g).", "Birth weight must be in grams (UCUM g)."
)
WEIGHT_IMPLAUSIBLE = _code(
    "BIRTH-WEIGHT-IMPLAUSIBLE",
    "value",
    E,
    "Berat lahir di luar rentang yang masuk akal.",
    "Birth weight is outside the plausible range.",
)
LENGTH_IMPLAUSIBLE = _code(
    "BIRTH-LENGTH-IMPLAUSIBLE",
    "value",
    E,
    "Panjang lahir (cm) di luar rentang yang masuk akal.",
    "Birth length (cm) is outside the plausible range.",
)
GESTATION_IMPLAUSIBLE = _code(
    "GESTATIONAL-AGE-IMPLAUSIBLE",
    "value",
    E,
    "Usia kehamilan (minggu) di luar rentang yang masuk akal.",
    "Gestational age (weeks) is outside the plausible range.",
)

# Registration data (form F-2.01).
REGISTRATION_MISSING = _code(
    "REGISTRATION-DATA-MISSING",
    "required",
    E,
    "Ekstensi birth-registration (data F-2.01) wajib ada.",
    "The birth-registration extension (form F-2.01 data) is required.",
)
WITNESSES_REQUIRED = _code(
    "WITNESSES-REQUIRED",
    "required",
    E,
    "Dua saksi dengan NIK berbeda wajib ada.",
    "Two witnesses with different NIKs are required.",
)
REPORTER_REQUIRED = _code(
    "REPORTER-REQUIRED", "required", E, "Pelapor dengan NIK wajib ada.", "A reporter (pelapor) with a NIK is required."
)
FATHER_REQUIRED = _code(
    "FATHER-REQUIRED",
    "business-rule",
    E,
    "Status kawin tercatat memerlukan data ayah dengan NIK.",
    "A recorded marriage requires the father with his NIK.",
)

# Trust: who sent the message, checked before anything else (hub/intake/signature.py). A refused
# message is never registered; it is kept with the dead letters and answered on the results topic
# of the hospital whose notification topic carried it.
SIGNATURE_MISSING = _code(
    "SIGNATURE-MISSING",
    "security",
    E,
    "Pesan tidak ditandatangani: header hub-signature (JWS terpisah, RFC 7797) wajib ada.",
    "The message is not signed: the hub-signature header (a detached JWS, RFC 7797) is required.",
)
SIGNATURE_UNKNOWN_KEY = _code(
    "SIGNATURE-UNKNOWN-KEY",
    "security",
    E,
    "Kunci penanda tangan (kid) tidak terdaftar untuk rumah sakit ini.",
    "The signing key (kid) is not registered for this hospital.",
)
SIGNATURE_KEY_NOT_VALID = _code(
    "SIGNATURE-KEY-NOT-VALID",
    "security",
    E,
    "Kunci penanda tangan tidak berlaku pada waktu pesan (kedaluwarsa setelah rotasi, atau dicabut).",
    "The signing key was not valid at the message's time (expired after a rotation, or revoked).",
)
SIGNATURE_INVALID = _code(
    "SIGNATURE-INVALID",
    "security",
    E,
    "Tanda tangan tidak sah untuk isi pesan ini (pesan diubah, atau header rusak).",
    "The signature does not verify over this message's bytes (altered message, or a malformed header).",
)
SENDER_NOT_SIGNER = _code(
    "SENDER-NOT-SIGNER",
    "security",
    E,
    "MessageHeader.sender bukan rumah sakit yang menandatangani dan mengirim pesan ini.",
    "MessageHeader.sender is not the hospital that signed and published this message.",
)

# Registry checks.
SENDER_UNKNOWN = _code(
    "SENDER-UNKNOWN",
    "not-found",
    E,
    "Rumah sakit pengirim tidak terdaftar di hub.",
    "The sending hospital is not registered with the hub.",
)
SENDER_INACTIVE = _code(
    "SENDER-INACTIVE", "forbidden", E, "Rumah sakit pengirim tidak aktif.", "The sending hospital is not active."
)
MOTHER_NOT_FOUND = _code(
    "MOTHER-NOT-FOUND",
    "not-found",
    E,
    "NIK ibu tidak ditemukan di data kependudukan.",
    "The mother's NIK is not in the civil registry.",
)
KK_NOT_FOUND = _code(
    "KK-NOT-FOUND",
    "not-found",
    E,
    "Nomor KK tidak ditemukan di data kependudukan.",
    "The KK number is not in the civil registry.",
)
REGISTRY_REJECTED = _code(
    "REGISTRY-REJECTED",
    "business-rule",
    E,
    "Pencatatan ditolak oleh SIAK; lihat alasannya.",
    "The civil registry (SIAK) refused the registration; see its reason.",
)
KK_MOTHER_MISMATCH = _code(
    "KK-MOTHER-MISMATCH",
    "business-rule",
    E,
    "Ibu tidak tercatat pada KK yang dikirim.",
    "The mother is not a member of the KK sent.",
)

NUMBER_SPACE_EXHAUSTED = _code(
    "NUMBER-SPACE-EXHAUSTED",
    "processing",
    E,
    "Nomor urut untuk wilayah dan tanggal ini habis; hubungi Dukcapil.",
    "No serial number is left for this region and date; contact Dukcapil.",
)
INTAKE_UNEXPECTED = _code(
    "INTAKE-UNEXPECTED",
    "exception",
    E,
    "Hub tidak dapat membaca notifikasi ini karena kesalahan internal; operator telah diberi tahu.",
    "The hub could not read this notification because of an internal error; operators have been alerted.",
)
STORE_DATA_REJECTED = _code(
    "STORE-DATA-REJECTED",
    "exception",
    E,
    "Basis data menolak menyimpan sebuah nilai dari notifikasi ini; operator telah diberi tahu.",
    "The database refused to store a value from this notification; operators have been alerted.",
)

# Review: valid, but a person must decide.
REVIEW_MOTHER_DATA = _code(
    "REVIEW-MOTHER-DATA-MISMATCH",
    "business-rule",
    W,
    "Nama atau tanggal lahir ibu berbeda dari data kependudukan; menunggu verifikasi petugas.",
    "The mother's name or birth date differs from the civil registry; waiting for an officer.",
)
REVIEW_SUSPECTED_DUPLICATE = _code(
    "REVIEW-SUSPECTED-DUPLICATE",
    "duplicate",
    W,
    "Diduga kelahiran ganda dengan kelahiran yang sudah tercatat; menunggu verifikasi petugas.",
    "Suspected duplicate of a birth already registered; waiting for an officer.",
)
REVIEW_FATHER_NOT_FOUND = _code(
    "REVIEW-FATHER-NOT-FOUND",
    "not-found",
    W,
    "NIK ayah tidak ditemukan; menunggu verifikasi petugas.",
    "The father's NIK is not in the civil registry; waiting for an officer.",
)

REVIEW_REJECTED = _code(
    "REVIEW-REJECTED",
    "business-rule",
    E,
    "Ditolak oleh petugas Dukcapil setelah verifikasi.",
    "Rejected by a Dukcapil officer after review.",
)

# Information on successful answers.
RESULT_EXPIRED = _code(
    "RESULT-EXPIRED",
    "informational",
    I,
    "Hasil asli pesan ini sudah dihapus setelah masa retensi; status dan kodenya diulang tanpa rincian "
    "dan tanpa dokumen. Nomor dan dokumen dapat diminta ke Dinas Dukcapil.",
    "This message's original result was removed after the retention period; its status and codes are "
    "repeated without details or documents. Numbers and documents are available from Dukcapil.",
)
DUPLICATE_NOTIFICATION = _code(
    "DUPLICATE-NOTIFICATION",
    "duplicate",
    I,
    "Kelahiran ini sudah tercatat; nomor yang ada dikirim ulang.",
    "This birth is already registered; the existing numbers are returned.",
)
LATE_REGISTRATION = _code(
    "LATE-REGISTRATION",
    "informational",
    I,
    "Dicatat sebagai kelahiran terlambat (lebih dari 60 hari).",
    "Registered late (more than 60 days after birth).",
)
DOCUMENTS_ISSUED = _code(
    "DOCUMENTS-ISSUED",
    "informational",
    I,
    "Kutipan akta kelahiran dan kartu keluarga yang ditandatangani elektronik terlampir (PDF).",
    "The electronically signed birth certificate extract and family card are attached (PDF).",
)
DOCUMENTS_CORRECTED = _code(
    "DOCUMENTS-CORRECTED",
    "informational",
    I,
    "Dokumen diterbitkan ulang karena pembetulan data; versi sebelumnya tidak berlaku lagi.",
    "The documents were reissued after a correction; earlier versions are no longer valid.",
)
STILLBIRTH_RECORDED = _code(
    "STILLBIRTH-RECORDED",
    "informational",
    I,
    "Lahir mati dicatat; tidak diterbitkan akta kelahiran.",
    "Stillbirth recorded; no akta kelahiran is issued.",
)
REVIEW_PENDING = _code(
    "REVIEW-PENDING",
    "informational",
    I,
    "Menunggu keputusan petugas Dukcapil; hasil kedua akan menyusul.",
    "Waiting for a Dukcapil officer; a second result will follow.",
)

# Issue #14 (held-out checks): a missing required element says which; births too close to be two pregnancies.
WEIGHT_MISSING = _code(
    "BIRTH-WEIGHT-MISSING",
    "required",
    E,
    "Berat lahir wajib ada: Observation LOINC 8339-4 untuk bayi dengan nilai dalam gram.",
    "The birth weight is required: an Observation LOINC 8339-4 for the newborn with a value in grams.",
)
MOTHER_MISSING = _code(
    "MOTHER-MISSING",
    "required",
    E,
    "Data ibu wajib ada: Patient ibu dengan identifier NIK.",
    "The mother is required: her Patient with a NIK identifier.",
)
MOTHER_LINK_MISSING = _code(
    "MOTHER-LINK-MISSING",
    "required",
    E,
    "RelatedPerson ibu (MTH) yang merujuk ke bayi wajib ada.",
    "The mother's RelatedPerson (MTH) referring to the newborn is required.",
)
REVIEW_BIRTH_SPACING = _code(
    "REVIEW-BIRTH-SPACING",
    "business-rule",
    W,
    "Kelahiran lain dari ibu yang sama tercatat terlalu dekat waktunya untuk kehamilan yang berbeda; menunggu verifikasi petugas.",
    "Another birth of the same mother is registered too close in time to be from another pregnancy; waiting for an officer.",
)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a notification: a code, where (FHIRPath) and a safe detail."""

    code: Code
    expression: str | None = None
    detail: str | None = None
    severity: Severity | None = None

    @property
    def effective_severity(self) -> Severity:
        return self.severity or self.code.severity

    @property
    def blocks(self) -> bool:
        return self.effective_severity in (Severity.FATAL, Severity.ERROR)


# Document signing (operators see these on document jobs; a hospital never does: its documents wait).
SIGNING_KEY_UNKNOWN = _code(
    "SIGNING-KEY-UNKNOWN", "not-found", E, "Kunci tanda tangan tidak dikenal.", "The signing key is unknown."
)
SIGNING_KEY_RETIRED = _code(
    "SIGNING-KEY-RETIRED",
    "business-rule",
    E,
    "Kunci tanda tangan sudah tidak berlaku.",
    "The signing key has been retired.",
)
SIGNING_DIGEST_INVALID = _code(
    "SIGNING-DIGEST-INVALID",
    "value",
    E,
    "Digest yang ditandatangani harus SHA-256 (32 byte).",
    "The digest to sign must be SHA-256 (32 bytes).",
)
IDEMPOTENCY_KEY_REUSED = _code(
    "IDEMPOTENCY-KEY-REUSED",
    "conflict",
    E,
    "Idempotency-Key sudah dipakai untuk permintaan lain.",
    "The idempotency key was used for another request.",
)
SIGNER_BAD_SIGNATURE = _code(
    "SIGNER-BAD-SIGNATURE",
    "security",
    E,
    "Layanan tanda tangan mengembalikan tanda tangan yang tidak sah.",
    "The signing service returned a signature that does not verify.",
)
SIGNER_BAD_RESPONSE = _code(
    "SIGNER-BAD-RESPONSE",
    "exception",
    E,
    "Jawaban layanan tanda tangan tidak sesuai kontrak.",
    "The signing service's answer does not follow the contract.",
)
SIGNER_REFUSED = _code(
    "SIGNER-REFUSED",
    "business-rule",
    E,
    "Layanan tanda tangan menolak permintaan; lihat alasannya.",
    "The signing service refused the request; see its reason.",
)
