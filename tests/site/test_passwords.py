"""Password hashes (scrypt, self-describing, upgradable) and the rules for new passwords."""

from __future__ import annotations

import pytest

from game_server.site.passwords import (
    DEFAULT_PARAMETERS,
    PasswordHasher,
    ScryptParameters,
    WeakPassword,
    check_password,
)

FAST = ScryptParameters(n=16, r=1, p=1)


def test_a_hash_says_how_it_was_made_and_verifies_only_its_password():
    hasher = PasswordHasher(FAST)
    stored = hasher.hash("correct horse")
    algorithm, parameters, salt, key = stored.split("$")
    assert (algorithm, parameters) == ("scrypt", "n=16,r=1,p=1")
    assert len(salt) == 22 and len(key) == 43  # 16 and 32 bytes, base64 without padding
    assert hasher.verify(stored, "correct horse")
    assert not hasher.verify(stored, "correct horsE")
    assert not hasher.verify(stored, "")


def test_every_hash_has_its_own_salt():
    hasher = PasswordHasher(FAST)
    assert hasher.hash("same password") != hasher.hash("same password")


def test_the_same_password_typed_in_another_unicode_form_matches():
    hasher = PasswordHasher(FAST)
    stored = hasher.hash("Zoë's ﬁne secret")  # composed ë, the "ﬁ" ligature
    assert hasher.verify(stored, "Zoe\u0308's fine secret")


def test_hashes_made_with_other_parameters_still_verify_and_ask_to_be_redone():
    old = PasswordHasher(ScryptParameters(n=8, r=1, p=1)).hash("correct horse")
    current = PasswordHasher(FAST)
    assert current.verify(old, "correct horse")
    assert current.needs_rehash(old)
    assert not current.needs_rehash(current.hash("correct horse"))
    # Stronger than today's is fine as it is.
    stronger = PasswordHasher(ScryptParameters(n=32, r=2, p=1)).hash("correct horse")
    assert not current.needs_rehash(stronger)


@pytest.mark.parametrize("stored", [
    None, "", "plain text", "scrypt$n=16,r=1,p=1$$", "bcrypt$2b$12$abc",
    "scrypt$n=17,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    # Parameters too costly to ever accept from a row: 2**24 would need 16 GiB.
    "scrypt$n=16777216,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
])
def test_missing_or_unreadable_hashes_never_match(stored):
    hasher = PasswordHasher(FAST)
    assert not hasher.verify(stored, "correct horse")
    if stored is not None:
        assert hasher.needs_rehash(stored)


def test_the_default_parameters_are_memory_hard():
    assert DEFAULT_PARAMETERS.n >= 2**15 and DEFAULT_PARAMETERS.r >= 8
    assert 128 * DEFAULT_PARAMETERS.n * DEFAULT_PARAMETERS.r >= 32 * 2**20


@pytest.mark.parametrize(("password", "name", "message"), [
    ("seven77", "Ada", "at least 8 characters"),
    ("x" * 1025, "Ada", "at most 1024"),
    ("ada lovelace", "Ada Lovelace", "cannot be your name"),
    ("ＡＤＡ ＬＯＶＥＬＡＣＥ", "Ada Lovelace", "cannot be your name"),
    ("Password1", "Ada", "most common passwords"),
    ("iloveyou", "Ada", "most common passwords"),
])
def test_weak_passwords_are_refused_with_the_reason(password, name, message):
    with pytest.raises(WeakPassword, match=message):
        check_password(password, name)


@pytest.mark.parametrize("password", ["correct horse", "8 chars!", "Ada Lovelace 1815"])
def test_reasonable_passwords_pass(password):
    check_password(password, "Ada Lovelace")
