"""Self-healing jobs: unit heartbeats and a log of units taken back.

- ``ingest_checkpoints.heartbeat_at``: a running unit's thread writes it every few
  seconds; a pending unit's is when it was sent. A running unit whose heartbeat is old
  lost its worker; a pending unit sent long ago with its queue empty lost its message.
- ``unit_recoveries``: every unit taken back by a worker's periodic check, or by a worker
  that received a unit another one had left unfinished: when, why, and whether it was
  sent again or failed as poison (it stopped its workers too often).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COMMENTS = {
    ("TABLE", "unit_recoveries"): "Units of ingest jobs taken back without a person. cause: "
    "worker_lost (its heartbeat stopped) or message_lost (sent, never started, its queue "
    "empty); action: resent, taken_over (by the worker that received it again) or failed "
    "(poison: it lost its worker max_unit_attempts times); reason in words.",
    ("COLUMN", "ingest_checkpoints.heartbeat_at"): "Running: when its worker last said it "
    "was alive (every worker.heartbeat_s). Pending: when it was sent.",
}


def upgrade() -> None:
    op.execute("ALTER TABLE ingest_checkpoints ADD COLUMN heartbeat_at timestamptz")
    op.execute("""
    CREATE TABLE unit_recoveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        job_id bigint NOT NULL REFERENCES ingest_jobs(id) ON DELETE CASCADE,
        unit_kind text NOT NULL,
        chunk_index integer NOT NULL,
        cause text NOT NULL CHECK (cause IN ('worker_lost', 'message_lost')),
        action text NOT NULL CHECK (action IN ('resent', 'taken_over', 'failed')),
        reason text NOT NULL,
        worker text,
        attempts integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX ix_unit_recoveries_job ON unit_recoveries (job_id)")
    op.execute(
        "CREATE INDEX ix_checkpoints_in_flight ON ingest_checkpoints (status, heartbeat_at) "
        "WHERE status IN ('pending', 'running')"
    )
    quote = sa.String().literal_processor(dialect=op.get_bind().dialect)
    for (kind, name), comment in COMMENTS.items():
        op.execute(f"COMMENT ON {kind} {name} IS {quote(comment)}")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS unit_recoveries")
    op.execute("DROP INDEX IF EXISTS ix_checkpoints_in_flight")
    op.execute("ALTER TABLE ingest_checkpoints DROP COLUMN IF EXISTS heartbeat_at")
