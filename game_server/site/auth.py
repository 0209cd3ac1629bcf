"""Signing up and signing in with a name and a password, over the users table.

Synchronous: each call hashes a password (about 0.1 s, see ``passwords.py``) and runs short
database transactions, so the site runs these methods on a thread pool of its own.
"""

from __future__ import annotations

import logging

from game_server.storage.users import UserInfo, UserStore, clean_name

from .passwords import PasswordHasher, check_password

__all__ = ["Auth"]

log = logging.getLogger(__name__)


class Auth:
    """Sign-up and sign-in for the users in ``users``. Thread-safe."""

    def __init__(self, users: UserStore, hasher: PasswordHasher) -> None:
        self.users = users
        self.hasher = hasher

    def sign_up(self, name: str, password: str) -> UserInfo:
        """Create a user with a password and return it.

        Raises:
            InvalidName: the name breaks the naming rules.
            WeakPassword: the password breaks the password rules.
            NameTaken: another user has this name, or one too much like it (any case,
                compatibility forms).
        """
        name = clean_name(name)
        check_password(password, name)
        return self.users.add(name, password_hash=self.hasher.hash(password))

    def sign_in(self, name: str, password: str) -> UserInfo | None:
        """The user, if the name (compared loosely) and password match; else ``None``.

        Unknown names, users without a password and wrong passwords all take the time of
        one hashing and give the same ``None``. A hash weaker than the current parameters
        is replaced by a new one.
        """
        found = self.users.credentials(name)
        stored = found.password_hash if found is not None else None
        if not self.hasher.verify(stored, password) or found is None or stored is None:
            return None
        if self.hasher.needs_rehash(stored):
            self.users.set_password_hash(found.user.id, self.hasher.hash(password))
            log.info("user %d: password hash upgraded to scrypt %s", found.user.id,
                     self.hasher.parameters)
        return found.user
