"""Tables hosted per server: each room's epoch, the fence of its move log.

`rooms.server_id` already names the hosting server; `rooms.epoch` goes up by one each time
another server takes the room over (after its host died, or when a draining host hands it
on). A server commits moves for a room only while the room's row still carries its own id
and the epoch it took the room at, checked in the same transaction as the moves, so two
servers can never both commit to one room.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False,
                                   server_default=sa.text("1")))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("epoch")
