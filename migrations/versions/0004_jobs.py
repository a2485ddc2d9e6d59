"""Distributed ingest: cancelled videos and a per-job progress view.

- ``videos.status`` may be ``cancelled``: its ingest job was cancelled; what finished is
  kept and ``vidkg jobs retry`` resumes the rest.
- ``v_job_progress``: per job and stage, how many chunks are done, failed, skipped,
  running and pending, the seconds of timeline done and the work time spent: what
  ``vidkg jobs show`` prints, for dashboards in SQL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _comment(kind: str, name: str, comment: str) -> None:
    quote = sa.String().literal_processor(dialect=op.get_bind().dialect)
    op.execute(f"COMMENT ON {kind} {name} IS {quote(comment)}")


def upgrade() -> None:
    op.execute("""
    ALTER TABLE videos
        DROP CONSTRAINT videos_status_check,
        ADD CONSTRAINT videos_status_check CHECK (status IN
            ('registered', 'ingesting', 'ready', 'partial', 'failed', 'cancelled'))""")
    op.execute("""
    CREATE VIEW v_job_progress AS
    SELECT j.id AS job_id, j.video_id, j.status AS job_status, stage.name AS stage,
           count(c.id) FILTER (WHERE c.status = 'done') AS chunks_done,
           count(c.id) FILTER (WHERE c.status = 'failed') AS chunks_failed,
           count(c.id) FILTER (WHERE c.status = 'skipped') AS chunks_skipped,
           count(c.id) FILTER (WHERE c.status = 'running' AND c.job_id = j.id)
               AS chunks_running,
           count(c.id) FILTER (WHERE c.status = 'pending' AND c.job_id = j.id)
               AS chunks_pending,
           jsonb_array_length(j.options -> 'chunks') AS chunks_total,
           coalesce(sum(c.end_s - c.start_s)
               FILTER (WHERE c.status IN ('done', 'skipped', 'failed')), 0) AS seconds_done,
           coalesce(sum(c.elapsed_s) FILTER (WHERE c.job_id = j.id), 0) AS work_s,
           coalesce(sum(c.rows_written) FILTER (WHERE c.job_id = j.id), 0) AS rows_written
    FROM ingest_jobs j
    CROSS JOIN LATERAL unnest(j.stages) AS stage(name)
    LEFT JOIN ingest_checkpoints c
           ON c.video_id = j.video_id AND c.stage = stage.name
          AND c.chunk_index < jsonb_array_length(j.options -> 'chunks')
    GROUP BY j.id, j.video_id, j.status, stage.name, j.options""")
    _comment(
        "COLUMN",
        "videos.status",
        "registered | ingesting | ready | partial (truncated: the readable part is "
        "indexed) | failed | cancelled (its job was cancelled; `vidkg jobs retry` resumes).",
    )
    _comment(
        "COLUMN",
        "ingest_checkpoints.status",
        "pending (sent to a worker) | running | done | failed (with error) | skipped "
        "(the stage cannot run on this video, with why).",
    )
    _comment("COLUMN", "ingest_checkpoints.worker", "host:pid of the process that ran it.")
    _comment(
        "VIEW",
        "v_job_progress",
        "Per ingest job and stage: chunks done, failed, skipped, running and pending out "
        "of chunks_total, seconds of timeline finished, work seconds and rows written.",
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_job_progress")
    op.execute("UPDATE videos SET status = 'failed' WHERE status = 'cancelled'")
    op.execute("""
    ALTER TABLE videos
        DROP CONSTRAINT videos_status_check,
        ADD CONSTRAINT videos_status_check
            CHECK (status IN ('registered', 'ingesting', 'ready', 'partial', 'failed'))""")
