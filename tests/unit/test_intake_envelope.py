"""Opening a raw Kafka value (hub/intake/envelope.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from hub.devtools.simulation import examples
from hub.domain import codes
from hub.intake.envelope import OUT_OF_RANGE, READ_FACTOR, Envelope, Unreadable, json_depth, open_envelope
from tests.unit.builders import bundle, resource

LIMITS = dict(max_bytes=1_000_000, max_depth=64)


def raw(document) -> bytes:
    return json.dumps(document).encode("utf-8")


def minimal(message_id: str = "m-1", **header) -> dict:
    """A readable message of depth 4: Bundle > entry list > entry > MessageHeader."""
    return {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [{"resource": {"resourceType": "MessageHeader", "id": message_id, **header}}],
    }


def test_a_built_notification_opens_with_its_ids_and_no_issues():
    document = bundle()
    header = resource(document, 0)

    opened = open_envelope(raw(document), **LIMITS)

    assert opened == Envelope(header["id"], resource(document, 1)["id"], document, ())


@pytest.mark.parametrize(
    ("payload", "code", "detail"),
    [
        (b"\xff\xfe{}", "DLQ-NOT-UTF8", "invalid byte at position 0"),
        (b'{"a": "\xc3"}', "DLQ-NOT-UTF8", "invalid byte at position 7"),
        (b'{"resourceType": "Bundle",', "DLQ-NOT-JSON", None),
        (b"", "DLQ-NOT-JSON", None),
        (b"[1, 2]", "DLQ-NOT-OBJECT", "the top-level JSON value is an array, not an object"),
        (b'"just text"', "DLQ-NOT-OBJECT", "the top-level JSON value is a string, not an object"),
        (b"null", "DLQ-NOT-OBJECT", "the top-level JSON value is empty (null), not an object"),
    ],
)
def test_unreadable_payloads(payload, code, detail):
    opened = open_envelope(payload, **LIMITS)

    assert isinstance(opened, Unreadable)
    assert opened.reason.code == code
    if detail is not None:
        assert opened.detail == detail


def test_not_json_detail_says_where_without_the_content():
    opened = open_envelope(b'{"nik": 3273015203950001,,}', **LIMITS)

    assert opened.reason is codes.NOT_JSON
    assert "line 1 column" in opened.detail and "3273015203950001" not in opened.detail


@pytest.mark.parametrize(
    "document",
    [
        {"resourceType": "Bundle", "type": "message"},
        {"resourceType": "Bundle", "entry": []},
        {"resourceType": "Bundle", "entry": ["MessageHeader"]},
        {
            "resourceType": "Bundle",
            "entry": [
                {"resource": {"resourceType": "Patient", "id": "p1"}},
                {"resource": {"resourceType": "MessageHeader", "id": "m1"}},
            ],
        },
        minimal(message_id=None),
        minimal(message_id=""),
        minimal(message_id="has space"),
        minimal(message_id="x" * 65),
        minimal(message_id=42),
    ],
)
def test_no_message_header_first_with_an_id_cannot_be_answered(document):
    opened = open_envelope(raw(document), **LIMITS)

    assert opened == Unreadable(codes.NO_MESSAGE_ID)


def test_too_large_is_answerable_with_an_issue():
    payload = raw(bundle())

    opened = open_envelope(payload, max_bytes=len(payload) - 1, max_depth=64)

    assert isinstance(opened, Envelope)
    assert [(i.code.code, i.expression) for i in opened.issues] == [("PAYLOAD-TOO-LARGE", "Bundle")]
    assert opened.issues[0].blocks
    assert opened.issues[0].detail == f"{len(payload)} bytes, limit {len(payload) - 1}"


def test_exactly_the_size_limit_is_allowed():
    payload = raw(bundle())

    assert open_envelope(payload, max_bytes=len(payload), max_depth=64).issues == ()


def test_too_deep_is_answerable_with_an_issue():
    opened = open_envelope(raw(minimal()), max_bytes=10_000, max_depth=3)

    assert isinstance(opened, Envelope) and opened.message_id == "m-1"
    assert [(i.code.code, i.expression, i.detail) for i in opened.issues] == [
        ("PAYLOAD-TOO-DEEP", "Bundle", "limit 3 levels")
    ]


def test_exactly_the_depth_limit_is_allowed():
    assert open_envelope(raw(minimal()), max_bytes=10_000, max_depth=4).issues == ()


def test_large_and_deep_are_both_reported():
    payload = raw(minimal())

    opened = open_envelope(payload, max_bytes=len(payload) - 1, max_depth=2)

    assert [i.code.code for i in opened.issues] == ["PAYLOAD-TOO-LARGE", "PAYLOAD-TOO-DEEP"]


def test_a_hundred_thousand_deep_array_is_not_even_parsed():
    payload = b"[" * 100_000 + b"]" * 100_000

    opened = open_envelope(payload, max_bytes=10**7, max_depth=64)

    assert opened == Unreadable(codes.TOO_DEEP, "more than 256 levels, limit 64: not read")


def deeply_nested_message(depth: int) -> bytes:
    document = minimal(message_id=str(uuid.uuid4()))
    text = json.dumps(document)[:-1] + ', "contained": ' + "[" * depth + "]" * depth + "}"
    return text.encode()


def test_a_message_far_deeper_than_the_limit_is_dead_lettered_unread_even_with_a_message_id():
    # contracts/profile.md section 4, stage 0: more than READ_FACTOR times the depth limit is not parsed
    opened = open_envelope(deeply_nested_message(100_000), max_bytes=10**7, max_depth=64)

    assert opened == Unreadable(codes.TOO_DEEP, "more than 256 levels, limit 64: not read")


def test_up_to_read_factor_times_the_depth_limit_is_read_and_answered():
    message = deeply_nested_message(READ_FACTOR * 8 - 1)  # the arrays start at level 2

    opened = open_envelope(message, max_bytes=10**7, max_depth=8)
    beyond = open_envelope(deeply_nested_message(READ_FACTOR * 8), max_bytes=10**7, max_depth=8)

    assert isinstance(opened, Envelope) and [i.code for i in opened.issues] == [codes.TOO_DEEP]
    assert beyond == Unreadable(codes.TOO_DEEP, "more than 32 levels, limit 8: not read")


def test_a_depth_limit_beyond_the_parsers_own_is_dead_lettered_not_crashed():
    opened = open_envelope(deeply_nested_message(5_000), max_bytes=10**7, max_depth=10_000)

    assert opened == Unreadable(codes.TOO_DEEP, "nested too deeply for the parser")


def test_far_over_the_size_limit_is_dead_lettered_without_being_decoded():
    payload = raw(minimal()) + b" " * 4_000 + b"\xff"  # not even UTF-8: never looked at

    opened = open_envelope(payload, max_bytes=1_000, max_depth=64)

    assert opened == Unreadable(codes.TOO_LARGE, f"{len(payload)} bytes, limit 1000: not read")


def test_up_to_read_factor_times_the_size_limit_is_read_and_answered():
    payload = raw(minimal())

    opened = open_envelope(payload, max_bytes=len(payload) // READ_FACTOR + 1, max_depth=64)

    assert isinstance(opened, Envelope) and [i.code for i in opened.issues] == [codes.TOO_LARGE]


@pytest.mark.parametrize(
    "literal",
    ["1" + "0" * 5000, "-" + "9" * 33, "1" * 20 + "." + "5" * 20, "1e999", "-1e400", "NaN", "Infinity", "-Infinity"],
)
def test_numbers_the_hub_does_not_take_become_the_out_of_range_marker(literal):
    text = json.dumps(minimal(sender={"reference": "Organization/1"}))[:-1] + ', "n": [' + literal + "]}"

    opened = open_envelope(text.encode(), **LIMITS)

    assert isinstance(opened, Envelope) and opened.message_id == "m-1" and opened.hospital_id == "1"
    assert opened.document["n"] == [OUT_OF_RANGE]


@pytest.mark.parametrize(("literal", "value"), [("9" * 32, int("9" * 32)), ("-12.5", -12.5), ("1e308", 1e308)])
def test_ordinary_numbers_are_numbers(literal, value):
    text = json.dumps(minimal())[:-1] + ', "n": ' + literal + "}"

    assert open_envelope(text.encode(), **LIMITS).document["n"] == value


def test_a_top_level_number_out_of_range_is_not_an_object():
    assert open_envelope(b"9" * 5000, **LIMITS) == Unreadable(
        codes.NOT_OBJECT, "the top-level JSON value is a number, not an object"
    )


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"a": "[[[[{{{{"}', 1),
        (r'{"a": "\\"}', 1),
        (r'{"a": "\\\"[["}', 1),
        (r'{"a": "\\", "b": [[1]]}', 3),
        ('{"a": [1, {"b": "]]]"}]}', 3),
        ("[[[]], [[[]]]]", 4),
        ('{"a": "unterminated [[[[', 1),
        ('{"a": "x", "b": [{"c": "]"}], "d": "unterminated [[[[', 3),
        ('[["}"], "{", [[', 3),
        ("", 0),
    ],
)
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_json_depth_reads_a_text_with_escapes_as_one_without():
    """Two ways to find the strings (escapes or none): the same depth for the same structure."""
    valid_singleton = examples.valid_examples()["valid-singleton"]
    plain = json.dumps(valid_singleton)
    escaped = json.dumps({**valid_singleton, "extra": ['a\\"[[b', {"x": ["\\"]}]})
    assert "\\" not in plain and json_depth(plain) == json_depth(json.dumps(valid_singleton, indent=1))
    assert json_depth(escaped) == max(json_depth(plain), 4)


@pytest.mark.parametrize(
    "reference", [r"Organization/\ud800", r"Organization/103\u00001", r"Organization/1\n2", "Organization/" + "1" * 65]
)
def test_a_sender_id_that_is_not_a_fhir_id_is_unknown(reference):
    text = json.dumps(minimal(sender={"reference": "@@"})).replace("@@", reference)

    opened = open_envelope(text.encode(), **LIMITS)

    assert isinstance(opened, Envelope) and opened.hospital_id is None


@pytest.mark.parametrize(
    "reference",
    [
        "Organization/1032730001",
        "https://satusehat.example/fhir/Organization/1032730001",
        "Organization/1032730001/_history/2",
    ],
)
def test_sender_from_an_organization_reference(reference):
    document = minimal(sender={"reference": reference})

    assert open_envelope(raw(document), **LIMITS).hospital_id == "1032730001"


def test_sender_from_a_urn_uuid_full_url():
    org_url = f"urn:uuid:{uuid.uuid4()}"
    document = minimal(sender={"reference": org_url})
    document["entry"].append({"fullUrl": org_url, "resource": {"resourceType": "Organization", "id": "1035780002"}})

    assert open_envelope(raw(document), **LIMITS).hospital_id == "1035780002"


@pytest.mark.parametrize(
    "sender",
    [
        None,
        "Organization/1032730001",  # a string, not a Reference
        {"reference": "Organization/"},
        {"reference": "urn:uuid:7a1e6b8c-0000-4000-8000-000000000001"},  # resolves to nothing
        {"display": "RS Umum Sintetis"},
    ],
)
def test_sender_that_cannot_be_told_is_none(sender):
    document = minimal() if sender is None else minimal(sender=sender)

    opened = open_envelope(raw(document), **LIMITS)

    assert isinstance(opened, Envelope) and opened.hospital_id is None


def test_sender_full_url_of_a_patient_is_not_a_hospital():
    url = f"urn:uuid:{uuid.uuid4()}"
    document = minimal(sender={"reference": url})
    document["entry"].append({"fullUrl": url, "resource": {"resourceType": "Patient", "id": "p-1"}})

    assert open_envelope(raw(document), **LIMITS).hospital_id is None


def _sender_by_the_profile_rules(document: dict) -> dict | None:
    """The oracle: the resource BundleView resolves MessageHeader.sender to, as the profile rules do."""
    from hub.intake.bundle_view import BundleView

    view = BundleView(document)
    found = view.resolve(view.entries[0].resource.get("sender"), view.entries[0])
    return None if found is None else found.resource


BASE, OTHER = "https://fhir.rs.example/R4", "https://elsewhere.example/fhir"
URN = "urn:uuid:7a1e6b8c-0000-4000-8000-00000000000"


@pytest.mark.parametrize("header_url", [None, "", f"{URN}1", f"{BASE}/MessageHeader/m-1", 7])
@pytest.mark.parametrize("org_url", [f"{URN}2", f"{BASE}/Organization/1032730002", f"{OTHER}/Organization/1032730002"])
@pytest.mark.parametrize(
    "reference",
    [f"{URN}2", "Organization/1032730002", f"{BASE}/Organization/1032730002", f"{OTHER}/Organization/1032730002"],
)
@pytest.mark.parametrize("before", ["nothing", "patient-same-url", "entry-without-resource"])
def test_the_envelope_resolves_the_sender_as_the_profile_rules(header_url, org_url, reference, before):
    document = minimal(sender={"reference": reference})
    if header_url is not None:
        document["entry"][0]["fullUrl"] = header_url
    earlier = {
        "nothing": [],
        "patient-same-url": [{"fullUrl": org_url, "resource": {"resourceType": "Patient", "id": "p-1"}}],
        "entry-without-resource": [{"fullUrl": org_url}],
    }[before]
    document["entry"] += [
        *earlier,
        {"fullUrl": org_url, "resource": {"resourceType": "Organization", "id": "1032730002"}},
    ]

    resolved = _sender_by_the_profile_rules(document)
    opened = open_envelope(raw(document), **LIMITS)

    assert isinstance(opened, Envelope)
    if resolved is not None:  # an entry: the hospital if it is an Organization
        assert opened.hospital_id == (resolved["id"] if resolved["resourceType"] == "Organization" else None)
    else:  # not resolved inside: the id a Type/id-shaped reference names, for the answer
        assert opened.hospital_id == ("1032730002" if "Organization/" in reference else None)
