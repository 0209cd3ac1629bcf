"""Users who sign in on the main site: a password hash and a loosely compared name key.

``users.password_hash`` (nullable): the self-describing scrypt hash of
``game_server.site.passwords``. Users made before, or by the --dev sign-in, have none and
cannot sign in on the site.

``users.name_key`` (nullable, unique index): the name compared loosely, NFKC and case folded
(``game_server.storage.users.name_key``), so "Ada" and "ＡＤＡ" cannot both sign up. The first
user of each key holds it; existing users that look alike (the --dev sign-in allowed "ada" next
to "Ada") keep their names, and only the oldest of them gets the key. The upgrade fills the
column with a frozen copy of the key function below: if that function ever changes, a new
revision recomputes the keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _name_key(name: str) -> str:
    """``users.name_key`` as of this revision: NFKC case fold, without the emoji
    presentation selectors U+FE0E and U+FE0F, inner whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.translate({0xFE0E: None, 0xFE0F: None}).split())


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))

    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
                     sa.column("name_key", sa.Text()))
    connection = op.get_bind()
    taken: set[str] = set()
    rows = connection.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)).all()
    for row in rows:
        key = _name_key(row.name)
        if key in taken:
            continue  # a look-alike of an older user: no key
        taken.add(key)
        connection.execute(users.update().where(users.c.id == row.id).values(name_key=key))

    with op.batch_alter_table("users") as batch:
        batch.create_index("ix_users_name_key", ["name_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_name_key")
        batch.drop_column("password_hash")
        batch.drop_column("name_key")
