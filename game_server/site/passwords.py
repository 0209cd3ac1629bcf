"""Password hashes and the rules a new password must meet.

Standard library only (``hashlib.scrypt``, ``hmac``, ``secrets``). A hash is one
self-describing string that carries its parameters, so they can be raised later: a password
checked against an older, weaker hash is hashed again with the current parameters at the next
successful sign-in (:meth:`PasswordHasher.needs_rehash`)::

    scrypt$n=32768,r=8,p=1$<salt>$<key>

``salt`` (16 random bytes per user) and ``key`` (32 bytes) are standard base64 without ``=``
padding. Passwords are hashed as UTF-8 after Unicode NFKC normalisation, so the same password
typed on another keyboard or system still matches. Hashing takes about 0.1 s and 32 MiB with
the default parameters: run it on a thread pool, never on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

__all__ = [
    "COMMON_PASSWORDS",
    "DEFAULT_PARAMETERS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordHasher",
    "ScryptParameters",
    "WeakPassword",
    "check_password",
]

MIN_PASSWORD_LENGTH = 8
#: Longer passwords are refused: hashing any length costs the same, but reading and
#: normalising megabytes does not.
MAX_PASSWORD_LENGTH = 1024
SALT_SIZE = 16
KEY_SIZE = 32

_FORMAT = re.compile(
    r"scrypt\$n=(?P<n>[0-9]{1,8}),r=(?P<r>[0-9]{1,3}),p=(?P<p>[0-9]{1,3})"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,88})\$(?P<key>[A-Za-z0-9+/]{16,88})"
)
# Stored parameters are bounded so a tampered row cannot make a sign-in allocate gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


class WeakPassword(ValueError):
    """A new password breaks a rule; the message says which, for the person choosing it."""


@dataclass(frozen=True, slots=True)
class ScryptParameters:
    """scrypt's cost: ``n`` (CPU and memory, a power of two), ``r`` (block size), ``p``
    (parallelism). Memory is about ``128 * r * n`` bytes.

    Raises:
        ValueError: (constructor) ``n`` is not a power of two above 1, or a value is out of
            range.
    """

    n: int
    r: int
    p: int

    def __post_init__(self) -> None:
        if not 2 <= self.n <= _MAX_N or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two 2-{_MAX_N}, not {self.n}")
        if not 1 <= self.r <= _MAX_R or not 1 <= self.p <= _MAX_P:
            raise ValueError(f"scrypt r must be 1-{_MAX_R} and p 1-{_MAX_P}")

    def weaker_than(self, other: ScryptParameters) -> bool:
        """Whether any of these parameters is below ``other``'s."""
        return self.n < other.n or self.r < other.r or self.p < other.p

    @property
    def maxmem(self) -> int:
        """The memory limit OpenSSL needs for these parameters, with room to spare."""
        return 128 * self.r * (self.n + self.p + 2) + 2**20

    def __str__(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"


#: 2**15 x 8 x 1: 32 MiB and about 0.1 s per hash on one core of the project's machines
#: (2**14 takes 0.06 s, 2**16 0.24 s, 2**17 0.5 s). Raise it as machines get faster; old
#: hashes are upgraded at their users' next sign-in.
DEFAULT_PARAMETERS = ScryptParameters(n=2**15, r=8, p=1)


class PasswordHasher:
    """Hashes new passwords with ``parameters`` and checks passwords against any stored hash.

    Thread-safe (no state besides the parameters).
    """

    def __init__(self, parameters: ScryptParameters = DEFAULT_PARAMETERS) -> None:
        self.parameters = parameters
        # Checked against when a name is unknown, so that a sign-in with an unknown name
        # takes as long as one with a wrong password.
        self._decoy = _parse_required(self.hash(secrets.token_urlsafe(12)))

    def hash(self, password: str) -> str:
        """A new hash of ``password`` with a fresh salt and the current parameters."""
        salt = secrets.token_bytes(SALT_SIZE)
        key = _derive(password, salt, self.parameters, KEY_SIZE)
        return f"scrypt${self.parameters}${_b64(salt)}${_b64(key)}"

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches the stored hash, compared in constant time.

        ``None`` (the user has no password) and a hash this module cannot read never match;
        they still cost one hashing, like a wrong password.
        """
        parsed = _parse(stored) if stored is not None else None
        matches = parsed is not None
        parameters, salt, key = parsed if parsed is not None else self._decoy
        return hmac.compare_digest(_derive(password, salt, parameters, len(key)), key) \
            and matches

    def needs_rehash(self, stored: str) -> bool:
        """Whether the stored hash is weaker than the current parameters (or unreadable)."""
        parsed = _parse(stored)
        if parsed is None:
            return True
        parameters, salt, key = parsed
        return (parameters.weaker_than(self.parameters) or len(salt) < SALT_SIZE
                or len(key) < KEY_SIZE)


def check_password(password: str, name: str) -> None:
    """Check a new password against the rules, for the user ``name``.

    At least 8 characters (after NFKC normalisation), at most 1024, not the user's name
    (in any case), and not one of the most common passwords.

    Raises:
        WeakPassword: a rule is broken; the message says which.
    """
    text = _normalise(password)
    if len(text) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(text) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    folded = text.casefold()
    if folded.strip() == _normalise(name).casefold().strip():
        raise WeakPassword("A password cannot be your name.")
    if folded in COMMON_PASSWORDS:
        raise WeakPassword("This is one of the most common passwords, the first any attacker "
                           "tries. Choose another.")


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _derive(password: str, salt: bytes, parameters: ScryptParameters, size: int) -> bytes:
    return hashlib.scrypt(_normalise(password).encode("utf-8"), salt=salt, n=parameters.n,
                          r=parameters.r, p=parameters.p, maxmem=parameters.maxmem,
                          dklen=size)


def _parse(stored: str) -> tuple[ScryptParameters, bytes, bytes] | None:
    match = _FORMAT.fullmatch(stored) if isinstance(stored, str) else None
    if match is None:
        return None
    try:
        parameters = ScryptParameters(int(match["n"]), int(match["r"]), int(match["p"]))
        salt, key = _unb64(match["salt"]), _unb64(match["key"])
    except (ValueError, binascii.Error):
        return None
    return parameters, salt, key


def _parse_required(stored: str) -> tuple[ScryptParameters, bytes, bytes]:
    parsed = _parse(stored)
    assert parsed is not None, "the decoy hash is made by this module"
    return parsed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


#: The most common passwords of at least 8 characters in public breach lists (shorter ones
#: are refused anyway), case folded. Small on purpose: it stops the first guesses of any
#: attacker without turning sign-up into a guessing game.
COMMON_PASSWORDS = frozenset("""
12345678 123456789 1234567890 12345678910 123123123 987654321 0987654321 11111111
111111111 1111111111 00000000 000000000 0000000000 88888888 66666666 12341234 11223344
12121212 123321123 147258369 159753456 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx
zaq12wsx zaq1zaq1 qwertyui qwertyuiop qwerty123 qwerty1234 1qazxsw2 asdfghjk asdfghjkl
zxcvbnm1 password password1 password12 password123 password! passw0rd p@ssw0rd p@ssword
iloveyou iloveyou1 princess sunshine football baseball basketball superman batman123
starwars whatever trustno1 letmein1 letmein123 welcome1 welcome123 abc12345 abcd1234
abcdefgh abcdefg1 aa123456 a1234567 q1w2e3r4 q1w2e3r4t5 computer michael1 jennifer
jordan23 charlie1 master123 dragon123 monkey123 shadow123 mustang1 liverpool chelsea1
arsenal1 pokemon1 minecraft fortnite cheese123 chocolate butterfly elephant internet
samsung1 asdf1234 asdfasdf qazwsxedc 1234qwer qwer1234 admin123 administrator changeme
changeme1 secret123 default1 football1 baseball1 princess1 sunshine1 123qweasd
""".split())
