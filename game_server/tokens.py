"""Auth tokens: short-lived, encrypted proofs of "this is user N", issued by the main web site.

This module depends on the standard library and pycryptodome only, so the main site can copy or
import this single file. It never touches the rest of ``game_server``.

Token format, version 1
=======================

A token is the URL-safe base64 encoding (RFC 4648 section 5, alphabet ``A-Z a-z 0-9 - _``)
of the bytes below, **without** ``=`` padding::

    offset  size  field
    0       1     version      always 0x01
    1       1     kid          key id, 0-255: which key of the keyring sealed the token
    2       12    nonce        random, fresh for every token
    14      n     ciphertext   AES-256-GCM encryption of the payload (n = payload length)
    14+n    16    tag          the full 128-bit GCM authentication tag

The two header bytes (version, kid) are the GCM *associated data*: they are not encrypted but
they are authenticated, so changing either one makes the token invalid.

The payload is compact UTF-8 JSON with exactly three integer members, all Unix times in whole
seconds (UTC)::

    {"uid":42,"iat":1764288000,"exp":1764288600}

``uid`` is the user's id (0 <= uid < 2**63), ``iat`` when the token was issued, ``exp`` when it
expires (``iat <= exp``; the default lifetime is 600 s). Member order and whitespace do not
matter to readers, but no other members are allowed and booleans or floats are not integers.

Sealing a token in another language, step by step:

1. ``payload = utf8('{"uid":%d,"iat":%d,"exp":%d}')``; ``header = bytes([1, kid])``.
2. ``nonce = 12 random bytes`` from a cryptographic random source.
3. AES-256-GCM with the 32-byte key of ``kid``, that nonce, associated data ``header`` and a
   16-byte tag: ``ciphertext, tag = seal(payload)``.
4. ``token = base64url(header + nonce + ciphertext + tag)`` with the trailing ``=`` removed.

A reader accepts a token when it decodes, has version 1, names a kid in its keyring, the tag
verifies, the payload has the shape above, and ``iat - 30 <= now <= exp + 30`` (30 s of clock
skew either way). Every failure is the same :class:`InvalidToken`, without detail.

Keys
====

``GAME_TOKEN_KEYS`` is a comma-separated list of ``kid:key`` pairs, for example
``2:q0bq...Jk=,1:7Hc...x_Q``. ``kid`` is a decimal number 0-255; ``key`` is 32 random bytes in
standard or URL-safe base64, with or without padding. The first pair issues new tokens; every
pair verifies. To rotate: put a new pair first and keep the old one listed until every token
it issued has expired (lifetime plus skew), then remove it.

Random 96-bit nonces are safe for about 2**32 tokens per key; rotate keys long before that.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Final

from Crypto.Cipher import AES

__all__ = [
    "DEFAULT_LIFETIME",
    "DEFAULT_SKEW",
    "InvalidToken",
    "Keyring",
    "generate_key",
    "generate_keyring_entry",
    "issue_token",
    "parse_keys",
    "read_token",
]

VERSION: Final = 1
KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
HEADER_SIZE: Final = 2
DEFAULT_LIFETIME: Final = 600
DEFAULT_SKEW: Final = 30
MAX_UID: Final = 2**63 - 1

# A version 1 token is about 110 characters; anything far longer is not worth decoding.
MAX_TOKEN_LENGTH: Final = 512

_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[0-9]{1,3}")
_STANDARD_KEY = re.compile(r"[A-Za-z0-9+/]+")
_URLSAFE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PAYLOAD_FIELDS = frozenset({"uid", "iat", "exp"})


class InvalidToken(Exception):
    """The token cannot be accepted: malformed, tampered, expired, or sealed by an unknown key.

    ``str()`` never says which; ``reason`` (a short fixed word such as ``"expired"``) is for
    server logs and tests only and must not be sent to clients.
    """

    def __init__(self, reason: str = "invalid") -> None:
        super().__init__("invalid token")
        self.reason = reason


class Keyring:
    """The keys a server knows, by key id; the first one issues tokens, all of them verify.

    Build one with :func:`parse_keys`. The ``repr`` lists key ids only, never key bytes.

    Raises:
        ValueError: no keys, a kid outside 0-255, a key that is not 32 bytes, a repeated kid.
    """

    __slots__ = ("_keys", "_issuing_kid")

    def __init__(self, keys: Iterable[tuple[int, bytes]]) -> None:
        ordered: dict[int, bytes] = {}
        for kid, key in keys:
            if isinstance(kid, bool) or not isinstance(kid, int) or not 0 <= kid <= 255:
                raise ValueError(f"key id must be an integer 0-255, got {kid!r}")
            if not isinstance(key, bytes) or len(key) != KEY_SIZE:
                raise ValueError(f"key {kid} must be exactly {KEY_SIZE} bytes")
            if kid in ordered:
                raise ValueError(f"key id {kid} is listed twice")
            ordered[kid] = key
        if not ordered:
            raise ValueError("a keyring needs at least one key")
        self._keys = ordered
        self._issuing_kid = next(iter(ordered))

    @property
    def issuing_kid(self) -> int:
        """The key id that :func:`issue_token` seals new tokens with."""
        return self._issuing_kid

    @property
    def kids(self) -> tuple[int, ...]:
        """All key ids, issuing key first."""
        return tuple(self._keys)

    def key(self, kid: int) -> bytes | None:
        """The 32-byte key with this id, or ``None`` if the keyring does not hold it."""
        return self._keys.get(kid)

    def __repr__(self) -> str:
        return f"<Keyring kids={self.kids!r}>"


def parse_keys(text: str) -> Keyring:
    """Parse ``GAME_TOKEN_KEYS``: comma-separated ``kid:key`` pairs, the first one issuing.

    Spaces around entries are ignored. Error messages name the entry by position and kid and
    never repeat key material.

    >>> parse_keys("7:" + "A" * 43 + ", 3:" + "_" * 43).kids
    (7, 3)

    Raises:
        ValueError: the text is empty or any entry is malformed (see the message).
    """
    if not isinstance(text, str):
        raise TypeError(f"token keys must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("token keys are empty: expected comma-separated kid:key pairs")
    entries = text.split(",")
    pairs: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"token key entry {number} of {len(entries)}"
        entry = entry.strip()
        if not entry:
            raise ValueError(f"{where} is empty (a stray comma?)")
        kid_text, colon, key_text = entry.partition(":")
        if not colon:
            raise ValueError(f"{where} has no ':'; expected kid:key")
        kid_text = kid_text.strip()
        if not _KID.fullmatch(kid_text) or int(kid_text) > 255:
            # The kid is not secret, but it may be a mangled key: keep it out of the message.
            raise ValueError(f"{where}: the key id must be a decimal number 0-255")
        kid = int(kid_text)
        where = f"{where} (key id {kid})"
        if kid in seen:
            raise ValueError(f"{where}: key id {kid} is listed twice")
        seen.add(kid)
        pairs.append((kid, _decode_key(key_text.strip(), where)))
    return Keyring(pairs)


def _decode_key(text: str, where: str) -> bytes:
    """Decode one key in standard or URL-safe base64, padded or not, to exactly 32 bytes."""
    if not text:
        raise ValueError(f"{where}: the key is missing after ':'")
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if _STANDARD_KEY.fullmatch(body):
        alphabet_body = body
    elif _URLSAFE_KEY.fullmatch(body):
        alphabet_body = body.replace("-", "+").replace("_", "/")
    else:
        raise ValueError(
            f"{where}: the key is not base64 (characters outside one base64 alphabet, "
            "or '=' before the end)"
        )
    if padding and (padding > 2 or len(text) % 4):
        raise ValueError(f"{where}: the key's base64 padding is wrong")
    if len(body) % 4 == 1:
        raise ValueError(f"{where}: the key's base64 has an impossible length")
    try:
        key = base64.b64decode(alphabet_body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        raise ValueError(f"{where}: the key is not valid base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(
            f"{where}: the key must be {KEY_SIZE} bytes, but it decodes to {len(key)} bytes"
        )
    return key


def generate_key() -> str:
    """Return a new random 32-byte key as URL-safe base64 without padding (43 characters)."""
    return _b64encode(secrets.token_bytes(KEY_SIZE))


def generate_keyring_entry(kid: int = 1) -> str:
    """Return a ``kid:key`` pair with a new key, ready to put first in ``GAME_TOKEN_KEYS``.

    Raises:
        ValueError: ``kid`` is not 0-255.
    """
    if isinstance(kid, bool) or not isinstance(kid, int) or not 0 <= kid <= 255:
        raise ValueError(f"key id must be an integer 0-255, got {kid!r}")
    return f"{kid}:{generate_key()}"


def issue_token(
    keyring: Keyring,
    uid: int,
    *,
    lifetime: int = DEFAULT_LIFETIME,
    clock: Callable[[], float] = time.time,
) -> str:
    """Seal a token for user ``uid`` with the keyring's issuing key, valid for ``lifetime`` s.

    Raises:
        ValueError: ``uid`` is not an integer 0 to 2**63-1, or ``lifetime`` is not positive.
    """
    if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid <= MAX_UID:
        raise ValueError(f"uid must be an integer 0 to 2**63-1, got {uid!r}")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        raise ValueError(f"lifetime must be a positive number of seconds, got {lifetime!r}")
    now = int(clock())
    payload = json.dumps(
        {"uid": uid, "iat": now, "exp": now + lifetime}, separators=(",", ":")
    ).encode("ascii")
    kid = keyring.issuing_kid
    header = bytes((VERSION, kid))
    nonce = secrets.token_bytes(NONCE_SIZE)
    cipher = AES.new(keyring.key(kid), AES.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)
    cipher.update(header)
    ciphertext, tag = cipher.encrypt_and_digest(payload)
    return _b64encode(header + nonce + ciphertext + tag)


def read_token(
    keyring: Keyring,
    token: str,
    *,
    clock: Callable[[], float] = time.time,
    skew: int = DEFAULT_SKEW,
) -> int:
    """Check a token and return the user id it was issued for.

    Tolerates ``skew`` seconds of clock difference on both ends of the validity window.

    Raises:
        InvalidToken: for every kind of bad token (the message never says which).
    """
    raw = _decode_token(token)
    if raw[0] != VERSION:
        raise InvalidToken("bad_version")
    header, nonce = raw[:HEADER_SIZE], raw[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE]
    ciphertext, tag = raw[HEADER_SIZE + NONCE_SIZE : -TAG_SIZE], raw[-TAG_SIZE:]
    key = keyring.key(raw[1])
    if key is None:
        raise InvalidToken("unknown_key")
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)
    cipher.update(header)
    try:
        payload = cipher.decrypt_and_verify(ciphertext, tag)
    except ValueError:
        raise InvalidToken("bad_tag") from None
    uid, iat, exp = _parse_payload(payload)
    now = clock()
    if now > exp + skew:
        raise InvalidToken("expired")
    if now < iat - skew:
        raise InvalidToken("not_yet_valid")
    return uid


def _decode_token(token: object) -> bytes:
    """Token text to bytes; only canonical unpadded URL-safe base64 of a plausible length."""
    if (
        not isinstance(token, str)
        or len(token) > MAX_TOKEN_LENGTH
        or not _TOKEN_CHARS.fullmatch(token)
        or len(token) % 4 == 1
    ):
        raise InvalidToken("malformed")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Leftover bits in the last character would give several spellings of one token.
    if _b64encode(raw) != token:
        raise InvalidToken("malformed")
    if len(raw) <= HEADER_SIZE + NONCE_SIZE + TAG_SIZE:
        raise InvalidToken("malformed")
    return raw


def _parse_payload(payload: bytes) -> tuple[int, int, int]:
    """The authenticated plaintext to (uid, iat, exp), insisting on the documented shape."""
    try:
        claims = json.loads(payload.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        raise InvalidToken("bad_payload") from None
    if not isinstance(claims, dict) or claims.keys() != _PAYLOAD_FIELDS:
        raise InvalidToken("bad_payload")
    uid, iat, exp = claims["uid"], claims["iat"], claims["exp"]
    if not all(type(value) is int for value in (uid, iat, exp)):
        raise InvalidToken("bad_payload")
    if not 0 <= uid <= MAX_UID or iat > exp:
        raise InvalidToken("bad_payload")
    return uid, iat, exp


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    claims = dict(pairs)
    if len(claims) != len(pairs):
        raise ValueError("duplicate member")
    return claims


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
