"""Signed notifications (hub/intake/signature.py): the detached JWS of RFC 7797 and the trust decision."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain import codes
from hub.domain.values import Hospital, HospitalKey
from hub.errors import OperatorError
from hub.intake import signature
from hub.intake.signature import Parsed, judge, kid_for, new_key, parse, public_jwk_from_pem, sign, verify

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ORG, OTHER_ORG = "1032730001", "1032730002"
RAW = b'{"resourceType":"Bundle","type":"message","entry":[]}\n'
HOSPITAL = Hospital(ORG, "RS Umum Sintetis", "3273", True)

PRIVATE_PEM, PUBLIC_JWK = new_key()
KID = kid_for(ORG, PUBLIC_JWK)
KEY = HospitalKey(KID, ORG, PUBLIC_JWK, AT - timedelta(days=30))


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def private_key() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(PRIVATE_PEM, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def public_key() -> ec.EllipticCurvePublicKey:
    return private_key().public_key()


def es256(signing_input: bytes) -> bytes:
    """ES256 by hand, with `cryptography` alone: DER from OpenSSL, turned into JOSE's r || s."""
    r, s = decode_dss_signature(private_key().sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def forged(header: dict, raw: bytes = RAW, *, payload_part: bytes = b"", encode_payload: bool = False) -> str:
    """A header value with the given protected header, correctly ES256-signed with the hospital's
    key: only the header differs from a good one, so a refusal is the header's doing."""
    protected = b64(json.dumps(header).encode())
    signed = b64(raw) if encode_payload else raw
    return (protected + b"." + payload_part + b"." + b64(es256(protected + b"." + signed))).decode()


def decided(raw: bytes = RAW, header: bytes | str | None = None, **changes):
    values: dict = dict(topic_hospital=HOSPITAL, sender=ORG, key=KEY, at=AT)
    values.update(changes)
    return judge(raw, sign(raw, PRIVATE_PEM, KID) if header is None else header, **values)


GOOD = {"alg": "ES256", "kid": KID, "b64": False, "crit": ["b64"]}


# The format: RFC 7797's unencoded, detached payload, checked independently of the JOSE library.


def test_a_signed_record_is_trusted_and_its_header_names_the_key():
    value = sign(RAW, PRIVATE_PEM, KID)
    assert parse(value) == Parsed(KID, "ES256", value)
    assert parse(value.encode("ascii")) == Parsed(KID, "ES256", value), "Kafka hands the header over as bytes"
    assert verify(RAW, Parsed(KID, "ES256", value), PUBLIC_JWK)
    assert judge(RAW, value, topic_hospital=HOSPITAL, sender=ORG, key=KEY, at=AT) is None


def test_the_header_is_a_detached_jws_whose_protected_header_asks_for_an_unencoded_payload():
    protected, payload, sig = sign(RAW, PRIVATE_PEM, KID).split(".")
    assert payload == "", "the payload part is empty: the record value is the payload"
    assert json.loads(unb64(protected)) == GOOD
    assert len(unb64(sig)) == 64, "r || s, not DER"
    assert "=" not in protected + sig


def test_the_signature_verifies_with_cryptography_alone_over_the_header_a_dot_and_the_exact_bytes():
    protected, _, sig = sign(RAW, PRIVATE_PEM, KID).split(".")
    raw_sig = unb64(sig)
    der = encode_dss_signature(int.from_bytes(raw_sig[:32], "big"), int.from_bytes(raw_sig[32:], "big"))
    public_key().verify(der, protected.encode("ascii") + b"." + RAW, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):  # not the RFC 7515 input with a base64url payload
        public_key().verify(der, protected.encode("ascii") + b"." + b64(RAW), ec.ECDSA(hashes.SHA256()))


def test_a_signature_made_by_hand_as_an_integrator_would_is_trusted():
    assert decided(header=forged(GOOD)) is None
    assert decided(header=forged({"crit": ["b64"], "b64": False, "kid": KID, "alg": "ES256"})) is None, "any order"
    assert decided(header=forged({**GOOD, "typ": "JOSE"})) is None, "an extra header a library adds is ignored"


def test_a_large_record_is_signed_and_verified_whole():
    raw = b'{"resourceType":"Bundle","note":"' + b"x" * 600_000 + b'"}'
    assert decided(raw) is None
    assert decided(raw[:-3] + b'y"}', header=sign(raw, PRIVATE_PEM, KID)) is codes.SIGNATURE_INVALID


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(max_size=2000), flip=st.integers(min_value=0))
def test_any_bytes_round_trip_and_any_changed_byte_is_refused(raw, flip):
    header = sign(raw, PRIVATE_PEM, KID)
    assert decided(raw, header) is None
    if raw:
        i = flip % len(raw)
        changed = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        assert decided(changed, header) is codes.SIGNATURE_INVALID


# What is refused, and with which code.


@pytest.mark.parametrize(
    "tampered",
    [
        RAW.replace(b"message", b"massage"),
        RAW + b" ",
        RAW.rstrip(b"\n"),
        json.dumps(json.loads(RAW), indent=1).encode(),  # the same JSON, other bytes
        b"",
    ],
)
def test_a_changed_body_under_a_valid_header_is_signature_invalid(tampered):
    assert decided(tampered, sign(RAW, PRIVATE_PEM, KID)) is codes.SIGNATURE_INVALID


def test_another_key_s_signature_is_signature_invalid():
    other_pem, _ = new_key()
    assert decided(header=sign(RAW, other_pem, KID)) is codes.SIGNATURE_INVALID


@pytest.mark.parametrize("value", [None, b"", ""])
def test_no_header_is_signature_missing(value):
    assert parse(value) is codes.SIGNATURE_MISSING
    assert judge(RAW, value, topic_hospital=HOSPITAL, sender=ORG, key=None, at=AT) is codes.SIGNATURE_MISSING


def test_an_unknown_kid_or_another_hospital_s_key_is_signature_unknown_key():
    assert decided(key=None) is codes.SIGNATURE_UNKNOWN_KEY
    theirs = HospitalKey(KID, OTHER_ORG, PUBLIC_JWK, AT - timedelta(days=1))
    assert decided(key=theirs) is codes.SIGNATURE_UNKNOWN_KEY, "a key of another hospital, even one that verifies"
    other_kid = HospitalKey(f"{ORG}:other", ORG, PUBLIC_JWK, AT - timedelta(days=1))
    assert decided(key=other_kid) is codes.SIGNATURE_UNKNOWN_KEY, "not the key the header names"


@pytest.mark.parametrize(
    "key",
    [
        HospitalKey(KID, ORG, PUBLIC_JWK, AT - timedelta(days=9), valid_until=AT - timedelta(days=1)),
        HospitalKey(KID, ORG, PUBLIC_JWK, AT - timedelta(days=9), valid_until=AT),
        HospitalKey(KID, ORG, PUBLIC_JWK, AT + timedelta(seconds=1)),
        HospitalKey(KID, ORG, PUBLIC_JWK, AT - timedelta(days=9), revoked_at=AT - timedelta(hours=1)),
        HospitalKey(KID, ORG, PUBLIC_JWK, AT - timedelta(days=9), revoked_at=AT),
    ],
    ids=["expired", "expiring-at-that-instant", "not-yet-valid", "revoked", "revoked-at-that-instant"],
)
def test_a_key_not_valid_at_the_record_s_time_is_signature_key_not_valid(key):
    assert decided(key=key) is codes.SIGNATURE_KEY_NOT_VALID
    assert decided(RAW + b" ", sign(RAW, PRIVATE_PEM, KID), key=key) is codes.SIGNATURE_KEY_NOT_VALID, (
        "the key's validity is judged before the signature"
    )


def test_a_key_is_judged_at_the_given_time_so_a_replay_uses_the_keys_valid_then():
    retired = HospitalKey(KID, ORG, PUBLIC_JWK, AT - timedelta(days=9), valid_until=AT + timedelta(hours=1))
    assert decided(key=retired) is None
    assert decided(key=retired, at=AT + timedelta(hours=1)) is codes.SIGNATURE_KEY_NOT_VALID


@pytest.mark.parametrize(
    "header",
    [
        {**GOOD, "alg": "HS256"},
        {**GOOD, "alg": "none"},
        {**GOOD, "alg": "RS256"},
        {**GOOD, "alg": "ES384"},
        {**GOOD, "alg": "es256"},
        {k: v for k, v in GOOD.items() if k != "alg"},
    ],
)
def test_any_algorithm_but_es256_is_refused_even_with_a_signature_that_verifies(header):
    assert parse(forged(header)) is codes.SIGNATURE_INVALID
    assert decided(header=forged(header)) is codes.SIGNATURE_INVALID


def test_hs256_keyed_with_the_public_key_the_classic_confusion_is_refused():
    public_pem = public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (public_pem, json.dumps(PUBLIC_JWK).encode()):
        protected = b64(json.dumps({**GOOD, "alg": "HS256"}).encode())
        mac = hmac.new(secret, protected + b"." + RAW, hashlib.sha256).digest()
        assert decided(header=(protected + b".." + b64(mac)).decode()) is codes.SIGNATURE_INVALID


def test_alg_none_with_an_empty_signature_is_refused():
    protected = b64(json.dumps({**GOOD, "alg": "none"}).encode())
    assert decided(header=(protected + b"..").decode()) is codes.SIGNATURE_INVALID


def test_an_encoded_payload_is_refused_b64_true_or_absent():
    assert decided(header=forged({**GOOD, "b64": True}, encode_payload=True)) is codes.SIGNATURE_INVALID
    assert decided(header=forged({**GOOD, "b64": True})) is codes.SIGNATURE_INVALID
    plain = {"alg": "ES256", "kid": KID}  # RFC 7515 appendix F: detached, but base64url-encoded
    assert decided(header=forged(plain, encode_payload=True)) is codes.SIGNATURE_INVALID
    assert decided(header=forged({**GOOD, "b64": "false"})) is codes.SIGNATURE_INVALID
    assert decided(header=forged({**GOOD, "b64": 0})) is codes.SIGNATURE_INVALID


@pytest.mark.parametrize("crit", [None, [], ["b64", "exp"], "b64", ["B64"]])
def test_b64_false_must_be_marked_critical_and_nothing_else_may_be(crit):
    header = {k: v for k, v in GOOD.items() if k != "crit"} | ({} if crit is None else {"crit": crit})
    assert parse(forged(header)) is codes.SIGNATURE_INVALID
    assert decided(header=forged(header)) is codes.SIGNATURE_INVALID


def test_the_payload_inside_the_jws_is_refused_the_record_is_the_payload():
    attached = forged(GOOD, payload_part=RAW.strip().replace(b'"', b"").replace(b":", b"")[:10])
    assert parse(attached) is codes.SIGNATURE_INVALID
    assert decided(header=forged(GOOD, payload_part=b64(RAW))) is codes.SIGNATURE_INVALID


def test_a_huge_header_is_refused_before_it_is_decoded():
    padded = [forged({**GOOD, "pad": "p" * n}) for n in range(250, 450)]  # good headers, made longer
    fits = max((v for v in padded if len(v) <= signature.MAX_HEADER_BYTES), key=len)
    over = min((v for v in padded if len(v) > signature.MAX_HEADER_BYTES), key=len)
    assert decided(header=fits) is None, "up to the bound, a header is read"
    assert parse(over) is codes.SIGNATURE_INVALID
    assert parse(over.encode()) is codes.SIGNATURE_INVALID
    huge = "A" * 10_000_000 + ".." + "A" * 86
    assert parse(huge) is codes.SIGNATURE_INVALID
    long_kid = forged({**GOOD, "kid": "k" * (signature.MAX_KID_CHARS + 1)})
    assert parse(long_kid) is codes.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "value",
    [
        "not a jws",
        "a.b",
        "a..b..c",
        "é..é".encode(),
        b"\xff\xfe..AAAA",
        "eyJhbGciOiJFUzI1NiJ9..***",
        " " + sign(RAW, PRIVATE_PEM, KID),
        sign(RAW, PRIVATE_PEM, KID) + "=",
        "A..A",  # one base64 character: not a whole byte
    ],
)
def test_a_malformed_header_is_signature_invalid(value):
    assert parse(value) is codes.SIGNATURE_INVALID
    assert judge(RAW, value, topic_hospital=HOSPITAL, sender=ORG, key=KEY, at=AT) is codes.SIGNATURE_INVALID


def test_a_protected_header_that_is_not_one_json_object_with_a_kid_is_refused():
    sig = sign(RAW, PRIVATE_PEM, KID).split("..")[1]
    for protected in (
        b"[1, 2]",
        b"not json",
        b'{"alg":"ES256","b64":false,"crit":["b64"]}',  # no kid
        b'{"alg":"ES256","kid":7,"b64":false,"crit":["b64"]}',
        b'{"alg":"ES256","kid":"a b","b64":false,"crit":["b64"]}',
        b'{"alg":"ES256","kid":"","b64":false,"crit":["b64"]}',
        b'{"alg":"HS256","alg":"ES256","kid":"k","b64":false,"crit":["b64"]}',  # two readers, two headers
        b"[" * 100_000,
    ):
        assert parse(b64(protected).decode() + ".." + sig) is codes.SIGNATURE_INVALID, protected[:60]


def test_a_der_signature_as_java_and_openssl_make_by_default_is_refused():
    protected = b64(json.dumps(GOOD).encode())
    der = private_key().sign(protected + b"." + RAW, ec.ECDSA(hashes.SHA256()))
    assert parse((protected + b".." + b64(der)).decode()) is codes.SIGNATURE_INVALID
    assert decided(header=(protected + b".." + b64(der)).decode()) is codes.SIGNATURE_INVALID


# The order of the decision.


def test_an_unknown_or_inactive_hospital_is_refused_before_its_signature_is_looked_at():
    assert judge(RAW, None, topic_hospital=None, sender=ORG, key=None, at=AT) is codes.SENDER_UNKNOWN
    inactive = Hospital(ORG, "RS Tutup", "3273", False)
    assert decided(topic_hospital=inactive) is codes.SENDER_INACTIVE, "even signed well"
    assert judge(RAW, "junk", topic_hospital=inactive, sender=None, key=None, at=AT) is codes.SENDER_INACTIVE


def test_a_missing_header_comes_before_an_unknown_key_and_a_malformed_one_before_it_too():
    assert judge(RAW, None, topic_hospital=HOSPITAL, sender=ORG, key=None, at=AT) is codes.SIGNATURE_MISSING
    assert judge(RAW, "junk", topic_hospital=HOSPITAL, sender=ORG, key=None, at=AT) is codes.SIGNATURE_INVALID


def test_a_sender_other_than_the_signer_is_refused_only_once_the_signature_holds():
    assert decided(sender=OTHER_ORG) is codes.SENDER_NOT_SIGNER
    assert decided(sender=None) is codes.SENDER_NOT_SIGNER, "a sender that cannot be read is not the signer"
    assert decided(RAW + b" ", sign(RAW, PRIVATE_PEM, KID), sender=OTHER_ORG) is codes.SIGNATURE_INVALID


def test_verify_is_false_for_a_key_that_is_not_an_ec_p256_public_key():
    parsed = parse(sign(RAW, PRIVATE_PEM, KID))
    assert isinstance(parsed, Parsed)
    _, other = new_key()
    assert not verify(RAW, parsed, other)
    assert not verify(RAW, parsed, {"kty": "oct", "k": "c2VjcmV0"})
    assert not verify(RAW, parsed, {"kty": "EC", "crv": "P-256"})
    assert not verify(RAW, parsed, {**PUBLIC_JWK, "crv": "P-384"})


# Keys for a hospital.


def test_a_new_key_is_a_p256_pair_whose_public_half_is_a_minimal_jwk():
    pem, jwk = new_key()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert set(jwk) == {"kty", "crv", "x", "y"} and jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert new_key()[1] != jwk


def test_a_kid_names_the_hospital_and_the_key_and_is_the_same_for_the_same_key():
    assert KID.startswith(f"{ORG}:") and len(KID) == len(ORG) + 1 + 16
    assert kid_for(ORG, dict(reversed(PUBLIC_JWK.items()))) == KID
    assert kid_for(ORG, new_key()[1]) != KID
    assert kid_for(OTHER_ORG, PUBLIC_JWK) != KID
    # The RFC 7638 thumbprint, computed by hand: SHA-256 of the required members in order, no spaces.
    canonical = json.dumps({k: PUBLIC_JWK[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    assert f"{ORG}:{b64(hashlib.sha256(canonical.encode()).digest()).decode()[:16]}" == KID
    with pytest.raises(OperatorError):
        kid_for("a b", PUBLIC_JWK)


def test_a_public_key_is_read_from_pem_or_jwk():
    pem = public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public_jwk_from_pem(pem) == PUBLIC_JWK
    assert public_jwk_from_pem(b"\n" + pem + b"\n") == PUBLIC_JWK
    assert public_jwk_from_pem(json.dumps({**PUBLIC_JWK, "kid": "theirs", "use": "sig"}).encode()) == PUBLIC_JWK


def _pem(key, private: bool, fmt=serialization.PrivateFormat.PKCS8) -> bytes:
    if private:
        return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(
    ("material", "says"),
    [
        (PRIVATE_PEM, "private key"),
        (
            _pem(ec.generate_private_key(ec.SECP256R1()), True, serialization.PrivateFormat.TraditionalOpenSSL),
            "private",
        ),
        (json.dumps({**PUBLIC_JWK, "d": "c2VjcmV0"}).encode(), "private"),
        (json.dumps({"kty": "oct", "k": "c2VjcmV0"}).encode(), "private"),
        (_pem(ec.generate_private_key(ec.SECP384R1()), False), "P-256"),
        (_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048), False), "P-256"),
        (_pem(ed25519.Ed25519PrivateKey.generate(), False), "P-256"),
        (json.dumps({**PUBLIC_JWK, "crv": "P-384"}).encode(), "P-256"),
        (json.dumps({"kty": "RSA", "n": "AQAB", "e": "AQAB"}).encode(), "P-256"),
        (json.dumps({"keys": [PUBLIC_JWK]}).encode(), "set"),
        (json.dumps({**PUBLIC_JWK, "x": PUBLIC_JWK["y"]}).encode(), "not a valid"),  # not a point on the curve
        (b"{not json", "JSON"),
        (b"ssh-ed25519 AAAAC3Nza", "PEM"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "cannot be read"),
        (b"-----BEGIN PUBLIC KEY-----\n" + b"A" * 20_000, "too large"),
    ],
)
def test_private_material_other_curves_and_other_things_are_refused_with_a_clear_message(material, says):
    with pytest.raises(OperatorError, match=says) as refused:
        public_jwk_from_pem(material)
    assert "c2VjcmV0" not in str(refused.value) and "MIG" not in str(refused.value), "never quotes the file"


def test_signing_needs_a_p256_private_key_and_a_printable_kid():
    with pytest.raises(OperatorError, match="P-256"):
        sign(RAW, _pem(ec.generate_private_key(ec.SECP384R1()), True), KID)
    with pytest.raises(OperatorError, match="P-256"):
        sign(RAW, _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048), True), KID)
    with pytest.raises(OperatorError, match="cannot be read"):
        sign(RAW, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", KID)
    with pytest.raises(OperatorError, match="key id"):
        sign(RAW, PRIVATE_PEM, "with space")
    assert sign(RAW, PRIVATE_PEM.decode(), KID).startswith("eyJ"), "a PEM given as text"


def test_an_rs256_signature_by_an_rsa_key_is_refused():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    protected = b64(json.dumps({**GOOD, "alg": "RS256"}).encode())
    sig = rsa_key.sign(protected + b"." + RAW, padding.PKCS1v15(), hashes.SHA256())
    assert decided(header=(protected + b".." + b64(sig)).decode()) is codes.SIGNATURE_INVALID
