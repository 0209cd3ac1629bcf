"""User ids are never given twice; games whose room closed while they ran are abandoned.

``users.id`` on SQLite becomes ``INTEGER PRIMARY KEY AUTOINCREMENT``. Without it SQLite gives a
new user the largest id in use plus one, so after the newest user is deleted the next one gets
the same id, and the deleted user's sign-in tokens (which name the user by id) sign in as the
new one. PostgreSQL's sequences never go back: nothing changes there. The table is copied
(Alembic's batch mode); ids are kept, and SQLite's counter starts at the largest of them.

``games.status`` may be ``'abandoned'`` (the column widens to 16 characters for it): the move
log marks a game so when its room closes before the game ends. Games left ``'playing'`` in
rooms closed before this revision are marked now, ``finished_at`` being when the room closed.
The downgrade makes them ``'playing'`` again, as the older code wrote them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_games = sa.table("games", sa.column("room_id", sa.String()), sa.column("status", sa.String()),
                  sa.column("finished_at", sa.DateTime()))
_rooms = sa.table("rooms", sa.column("id", sa.String()), sa.column("status", sa.String()),
                  sa.column("closed_at", sa.DateTime()))


def _users_autoincrement(on: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: a sequence, never reused
    with op.batch_alter_table("users", recreate="always",
                              table_kwargs={"sqlite_autoincrement": on}):
        pass


def upgrade() -> None:
    _users_autoincrement(True)
    with op.batch_alter_table("games") as batch:
        batch.alter_column("status", existing_type=sa.String(length=8),
                           type_=sa.String(length=16), existing_nullable=False)
        batch.drop_constraint(op.f("ck_games_status_value"), type_="check")
        batch.create_check_constraint("status_value",
                                      "status IN ('playing', 'finished', 'abandoned')")
    closed = (sa.select(_rooms.c.closed_at)
              .where(_rooms.c.id == _games.c.room_id, _rooms.c.status == "closed")
              .scalar_subquery())
    op.execute(_games.update()
               .where(_games.c.status == "playing",
                      sa.exists().where(_rooms.c.id == _games.c.room_id,
                                        _rooms.c.status == "closed"))
               .values(status="abandoned", finished_at=closed))


def downgrade() -> None:
    op.execute(_games.update().where(_games.c.status == "abandoned")
               .values(status="playing", finished_at=None))
    with op.batch_alter_table("games") as batch:
        batch.drop_constraint(op.f("ck_games_status_value"), type_="check")
        batch.create_check_constraint("status_value", "status IN ('playing', 'finished')")
        batch.alter_column("status", existing_type=sa.String(length=16),
                           type_=sa.String(length=8), existing_nullable=False)
    _users_autoincrement(False)
