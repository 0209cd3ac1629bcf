"""Tests for game_server.tokens: the byte format, validity window, keys and rotation."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from Crypto.Cipher import AES
from hypothesis import given
from hypothesis import strategies as st

from game_server import tokens
from game_server.tokens import (
    InvalidToken,
    Keyring,
    generate_key,
    generate_keyring_entry,
    issue_token,
    parse_keys,
    read_token,
)

NOW = 1_764_288_000
KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))


def clock_at(t: float):
    return lambda: t


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key: bytes, payload: bytes, *, version: int = 1, kid: int = 1) -> str:
    """Build a token by hand, following the module docstring, to test what readers accept."""
    header = bytes([version, kid])
    nonce = secrets.token_bytes(12)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=16)
    cipher.update(header)
    ciphertext, tag = cipher.encrypt_and_digest(payload)
    return b64url(header + nonce + ciphertext + tag)


def claims(uid=42, iat=NOW, exp=NOW + 600) -> bytes:
    return json.dumps({"uid": uid, "iat": iat, "exp": exp}, separators=(",", ":")).encode()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([(1, KEY_A)])


def assert_invalid(keyring: Keyring, token, reason: str | None = None, now: float = NOW):
    with pytest.raises(InvalidToken) as caught:
        read_token(keyring, token, clock=clock_at(now))
    assert str(caught.value) == "invalid token"
    if reason is not None:
        assert caught.value.reason == reason


# --- round trip and layout ------------------------------------------------------------------


def test_round_trip(keyring):
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    assert read_token(keyring, token, clock=clock_at(NOW)) == 42


@given(uid=st.integers(0, 2**63 - 1), lifetime=st.integers(1, 10**6))
def test_round_trip_any_uid_and_lifetime(uid, lifetime):
    ring = Keyring([(9, KEY_B)])
    token = issue_token(ring, uid, lifetime=lifetime, clock=clock_at(NOW))
    assert read_token(ring, token, clock=clock_at(NOW + lifetime)) == uid


def test_tokens_are_fresh_each_time(keyring):
    first = issue_token(keyring, 42, clock=clock_at(NOW))
    second = issue_token(keyring, 42, clock=clock_at(NOW))
    assert first != second


def test_byte_layout_matches_the_documented_format():
    ring = Keyring([(7, KEY_A)])
    token = issue_token(ring, 42, lifetime=600, clock=clock_at(NOW + 0.9))
    assert "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = unb64url(token)
    assert raw[0] == 1  # version
    assert raw[1] == 7  # kid
    nonce, body = raw[2:14], raw[14:]
    ciphertext, tag = body[:-16], body[-16:]
    payload = f'{{"uid":42,"iat":{NOW},"exp":{NOW + 600}}}'.encode()
    assert len(ciphertext) == len(payload)
    assert len(raw) == 1 + 1 + 12 + len(payload) + 16
    # Decrypt by hand with the header as associated data, as another language would.
    cipher = AES.new(KEY_A, AES.MODE_GCM, nonce=nonce, mac_len=16)
    cipher.update(raw[:2])
    assert cipher.decrypt_and_verify(ciphertext, tag) == payload


def test_hand_sealed_token_is_accepted(keyring):
    # A token made from the documented steps alone; member order and spaces do not matter.
    payload = json.dumps({"exp": NOW + 60, "uid": 5, "iat": NOW}).encode()
    assert read_token(keyring, seal(KEY_A, payload), clock=clock_at(NOW)) == 5


def test_issue_uses_the_first_key():
    ring = parse_keys(f"3:{b64url(KEY_B)},1:{b64url(KEY_A)}")
    raw = unb64url(issue_token(ring, 1, clock=clock_at(NOW)))
    assert raw[1] == 3


@pytest.mark.parametrize("uid", [-1, 2**63, True, 1.0, "42", None])
def test_issue_rejects_bad_uid(keyring, uid):
    with pytest.raises(ValueError, match="uid"):
        issue_token(keyring, uid)


@pytest.mark.parametrize("lifetime", [0, -5, 1.5, True])
def test_issue_rejects_bad_lifetime(keyring, lifetime):
    with pytest.raises(ValueError, match="lifetime"):
        issue_token(keyring, 1, lifetime=lifetime)


# --- validity window ------------------------------------------------------------------------


def test_default_lifetime_is_ten_minutes(keyring):
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    payload_exp = NOW + 600
    assert read_token(keyring, token, clock=clock_at(payload_exp + 30)) == 42
    assert_invalid(keyring, token, "expired", now=payload_exp + 31)


@pytest.mark.parametrize(
    ("now", "valid"),
    [
        (NOW + 60, True),  # exactly at exp
        (NOW + 60 + 30, True),  # 30 s after expiry: skew
        (NOW + 60 + 30.5, False),
        (NOW + 60 + 31, False),
        (NOW - 30, True),  # reader's clock 30 s behind the issuer's
        (NOW - 30.5, False),
        (NOW - 31, False),
    ],
)
def test_thirty_seconds_of_skew_both_ways(keyring, now, valid):
    token = issue_token(keyring, 42, lifetime=60, clock=clock_at(NOW))
    if valid:
        assert read_token(keyring, token, clock=clock_at(now)) == 42
    else:
        reason = "expired" if now > NOW else "not_yet_valid"
        assert_invalid(keyring, token, reason, now=now)


def test_skew_is_adjustable(keyring):
    token = issue_token(keyring, 42, lifetime=60, clock=clock_at(NOW))
    assert read_token(keyring, token, clock=clock_at(NOW + 65), skew=5) == 42
    with pytest.raises(InvalidToken):
        read_token(keyring, token, clock=clock_at(NOW + 66), skew=5)


# --- keys and rotation ----------------------------------------------------------------------


def test_rotation_old_key_still_verifies_when_second():
    old = parse_keys(f"1:{b64url(KEY_A)}")
    token = issue_token(old, 42, clock=clock_at(NOW))
    rotated = parse_keys(f"2:{b64url(KEY_B)},1:{b64url(KEY_A)}")
    assert read_token(rotated, token, clock=clock_at(NOW)) == 42
    # New tokens come from the new first key, and the old server cannot read them.
    fresh = issue_token(rotated, 43, clock=clock_at(NOW))
    assert unb64url(fresh)[1] == 2
    assert_invalid(old, fresh, "unknown_key")


def test_key_no_longer_listed_fails():
    token = issue_token(parse_keys(f"1:{b64url(KEY_A)}"), 42, clock=clock_at(NOW))
    retired = parse_keys(f"2:{b64url(KEY_B)}")
    assert_invalid(retired, token, "unknown_key")


def test_same_kid_with_another_key_fails():
    token = issue_token(Keyring([(1, KEY_A)]), 42, clock=clock_at(NOW))
    assert_invalid(Keyring([(1, KEY_B)]), token, "bad_tag")


def test_parse_accepts_both_alphabets_with_and_without_padding():
    # 0xfb 0xff... encodes with '+' and '/' in standard base64 and '-' and '_' in URL-safe.
    key = bytes([0xFB, 0xFF, 0xBF] * 10 + [0xFE, 0xFF])
    standard = base64.b64encode(key).decode()
    urlsafe = base64.urlsafe_b64encode(key).decode()
    assert "+" in standard and "/" in standard and "-" in urlsafe and "_" in urlsafe
    for text in (standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")):
        ring = parse_keys(f"4:{text}")
        assert ring.key(4) == key


def test_parse_order_spaces_and_lookup():
    ring = parse_keys(f" 10:{b64url(KEY_A)} ,  0 : {b64url(KEY_B)} ")
    assert ring.kids == (10, 0)
    assert ring.issuing_kid == 10
    assert ring.key(10) == KEY_A and ring.key(0) == KEY_B
    assert ring.key(5) is None


def test_keyring_repr_hides_keys():
    ring = parse_keys(f"1:{b64url(KEY_A)}")
    assert repr(ring) == "<Keyring kids=(1,)>"
    assert b64url(KEY_A) not in repr(ring)


SECRET = b64url(b"S" * 32)  # "U1NT..." must never appear in an error message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (f"1:{SECRET},", "entry 2 of 2 is empty"),
        (f",1:{SECRET}", "entry 1 of 2 is empty"),
        (SECRET, "has no ':'"),
        (f"x:{SECRET}", "decimal number 0-255"),
        (f"-1:{SECRET}", "decimal number 0-255"),
        (f"256:{SECRET}", "decimal number 0-255"),
        (f"1000:{SECRET}", "decimal number 0-255"),
        (f"٣:{SECRET}", "decimal number 0-255"),  # a non-ASCII digit
        (f":{SECRET}", "decimal number 0-255"),
        ("1:", "missing"),
        (f"1:{SECRET},1:{SECRET}", "listed twice"),
        (f"1:{SECRET[:-4]}", "must be 32 bytes, but it decodes to 29 bytes"),
        (f"1:{SECRET}AAAA", "must be 32 bytes, but it decodes to 35 bytes"),
        (f"1:{SECRET[:-1]}+_", "not base64"),  # mixes the two alphabets
        (f"1:{SECRET[:20]}!{SECRET[21:]}", "not base64"),
        (f"1:{SECRET[:20]}={SECRET[21:]}", "not base64"),
        (f"1:{SECRET}==", "padding"),
        (f"1:{SECRET}A=", "padding"),
        (f"1:{SECRET}AA", "impossible length"),
    ],
)
def test_parse_errors_are_clear_and_keep_keys_secret(text, message):
    with pytest.raises(ValueError) as caught:
        parse_keys(text)
    assert message in str(caught.value)
    assert SECRET[:12] not in str(caught.value)


def test_generate_key_is_32_random_bytes():
    key = generate_key()
    assert len(key) == 43 and "=" not in key
    assert len(unb64url(key)) == 32
    assert generate_key() != key


def test_generate_keyring_entry_parses():
    entry = generate_keyring_entry(3)
    assert entry.startswith("3:")
    ring = parse_keys(entry)
    assert ring.kids == (3,)
    assert read_token(ring, issue_token(ring, 8)) == 8
    assert generate_keyring_entry().startswith("1:")
    with pytest.raises(ValueError):
        generate_keyring_entry(256)


# --- every kind of bad token ----------------------------------------------------------------


def flip(token: str, index: int) -> str:
    raw = bytearray(unb64url(token))
    raw[index] ^= 0x01
    return b64url(bytes(raw))


def test_tampered_tokens(keyring):
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    length = len(unb64url(token))
    for index in range(2, length):  # nonce, ciphertext and tag bytes
        assert_invalid(keyring, flip(token, index), "bad_tag")


def test_associated_data_is_authenticated():
    # Both kids hold the same key and version 1 is the only version, so only the
    # authenticated header can catch these flips.
    ring = Keyring([(2, KEY_A), (3, KEY_A)])
    token = issue_token(ring, 42, clock=clock_at(NOW))
    raw = unb64url(token)
    assert raw[1] == 2
    assert_invalid(ring, b64url(raw[:1] + bytes([3]) + raw[2:]), "bad_tag")
    assert_invalid(ring, flip(token, 0), "bad_version")


def test_wrong_version_even_if_sealed_correctly(keyring):
    assert_invalid(keyring, seal(KEY_A, claims(), version=2), "bad_version")
    assert_invalid(keyring, seal(KEY_A, claims(), version=0), "bad_version")


def test_truncated_tokens(keyring):
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    raw = unb64url(token)
    for size in range(len(raw)):
        assert_invalid(keyring, b64url(raw[:size]))
    for size in range(len(token)):
        assert_invalid(keyring, token[:size])


def test_extended_token(keyring):
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    assert_invalid(keyring, b64url(unb64url(token) + b"\0"), "bad_tag")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "x",
        "not a token",
        "A" * 100,
        "A" * 5000,
        "!!!!" * 30,
        "AQE" + "A" * 60 + "===",
        "\x00" * 40,
        None,
        42,
        b"AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_garbage(keyring, garbage):
    assert_invalid(keyring, garbage)


def test_padding_whitespace_and_standard_alphabet_are_rejected(keyring):
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    assert_invalid(keyring, token + "=" * (-len(token) % 4 or 4), "malformed")
    assert_invalid(keyring, token + "\n", "malformed")
    assert_invalid(keyring, " " + token, "malformed")
    standard = token.replace("-", "+").replace("_", "/")
    if standard != token:
        assert_invalid(keyring, standard, "malformed")


def test_non_canonical_base64_is_rejected(keyring):
    # The last character carries unused low bits; another spelling of the same bytes is refused.
    token = issue_token(keyring, 42, clock=clock_at(NOW))
    assert len(token) % 4  # 74 bytes: the last character has unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    other = token[:-1] + alphabet[last ^ 1]
    assert unb64url(other) == unb64url(token)
    assert_invalid(keyring, other, "malformed")


@pytest.mark.parametrize(
    "token",
    [
        "AQE" + "é" * 60,
        "AQEA" + "\u0661" * 60,  # Arabic-Indic digit one
        "AQEA\u00a0" + "A" * 60,
        "ＡＱＥＡ" + "A" * 60,  # full-width letters
    ],
)
def test_non_ascii(keyring, token):
    assert_invalid(keyring, token, "malformed")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[42]",
        b"42",
        b"null",
        b'"uid"',
        b'{"uid":42}',
        b'{"uid":42,"iat":%d}' % NOW,
        b'{"uid":42,"iat":%d,"exp":%d,"admin":true}' % (NOW, NOW + 60),
        b'{"uid":"42","iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":42.0,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":true,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":null,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":-1,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":9223372036854775808,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":42,"iat":"%d","exp":%d}' % (NOW, NOW + 60),
        b'{"uid":42,"iat":%d,"exp":%d.5}' % (NOW, NOW + 60),
        b'{"uid":42,"iat":%d,"exp":%d}' % (NOW, NOW - 1),  # expires before it is issued
        b'{"uid":42,"uid":43,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
        b'{"uid":42,"iat":%d,"exp":Infinity}' % NOW,
        b"[" * 300,
    ],
)
def test_wrong_payload_shape(keyring, payload):
    assert_invalid(keyring, seal(KEY_A, payload), now=NOW)


def test_invalid_token_message_never_has_detail(keyring):
    for reason in ("expired", "bad_tag"):
        error = InvalidToken(reason)
        assert str(error) == "invalid token"
        assert error.args == ("invalid token",)


def test_module_docstring_documents_the_format():
    doc = tokens.__doc__
    for fact in ("version", "kid", "12", "16", "AES-256-GCM", "associated data", "uid", "iat",
                 "exp", "without", "padding", "30"):
        assert fact in doc
