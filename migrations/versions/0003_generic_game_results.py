"""Games as plug-ins: a game's own account of its end, and rooms of any game's size.

`games.blocked` (a Crazy Eights notion) becomes `games.detail`, the JSON a game gives with its
outcome (``{"blocked": true}`` for a blocked game of Crazy Eights; existing rows are carried
over so). Rooms may have 1 to 10 seats; each game checks its own range.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_detail = sa.table("games", sa.column("id", sa.Integer()), sa.column("detail", sa.JSON()))
_games = sa.table("games", sa.column("blocked", sa.Boolean()), sa.column("detail", sa.JSON()),
                  sa.column("status", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("games") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    for blocked in (True, False):
        op.execute(_games.update()
                   .where(_games.c.status == "finished", _games.c.blocked == sa.true() if blocked
                          else _games.c.blocked == sa.false())
                   .values(detail={"blocked": blocked}))
    with op.batch_alter_table("games") as batch:
        batch.drop_column("blocked")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint(op.f("ck_rooms_seats_range"), type_="check")
        batch.create_check_constraint("seats_range", "seats BETWEEN 1 AND 10")


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint(op.f("ck_rooms_seats_range"), type_="check")
        batch.create_check_constraint("seats_range", "seats BETWEEN 2 AND 7")
    with op.batch_alter_table("games") as batch:
        batch.add_column(sa.Column("blocked", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    rows = op.get_bind().execute(sa.select(_detail.c.id, _detail.c.detail)).all()
    for row in rows:
        # Read through the JSON type: SQLite hands raw SQL the JSON text, not a dict.
        detail = row.detail if isinstance(row.detail, dict) else None
        if detail and detail.get("blocked"):
            op.execute(sa.text("UPDATE games SET blocked = :b WHERE id = :i")
                       .bindparams(b=True, i=row.id))
    with op.batch_alter_table("games") as batch:
        batch.drop_column("detail")
