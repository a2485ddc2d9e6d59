"""Indexer: audio-only and partly decodable videos, shots, stage timings, objects per scene.

- ``videos``: audio-only files are indexed for speech (no picture: width, height and
  codec are NULL, ``has_video`` false); a truncated file records where its decodable data
  ends (``decodable_s``) and ends as ``partial`` once the readable part is indexed.
- ``scenes``: a row is a span of at most ``max_span_s`` within a shot; ``shot_index``
  numbers the shots and ``cut_before`` marks spans that start at a cut.
- ``ingest_checkpoints.elapsed_s``: seconds a stage spent on a chunk (benchmarks, ETA).
- ``v_scene_objects``: per scene and label, how many objects were seen at once at most.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _comment(kind: str, name: str, comment: str) -> None:
    quote = sa.String().literal_processor(dialect=op.get_bind().dialect)
    op.execute(f"COMMENT ON {kind} {name} IS {quote(comment)}")


def upgrade() -> None:
    op.execute("""
    ALTER TABLE videos
        ALTER COLUMN width DROP NOT NULL,
        ALTER COLUMN height DROP NOT NULL,
        ALTER COLUMN video_codec DROP NOT NULL,
        ADD COLUMN has_video boolean NOT NULL DEFAULT true,
        ADD COLUMN decodable_s double precision CHECK (decodable_s > 0),
        DROP CONSTRAINT videos_status_check,
        ADD CONSTRAINT videos_status_check
            CHECK (status IN ('registered', 'ingesting', 'ready', 'partial', 'failed'))""")
    op.execute("""
    ALTER TABLE scenes
        ADD COLUMN shot_index integer NOT NULL DEFAULT 0 CHECK (shot_index >= 0),
        ADD COLUMN cut_before boolean NOT NULL DEFAULT false""")
    op.execute("ALTER TABLE ingest_checkpoints ADD COLUMN elapsed_s double precision")
    op.execute("""
    CREATE VIEW v_scene_objects AS
    SELECT s.video_id, s.scene_index, s.shot_index, s.start_s, s.end_s, s.start_tc, s.end_tc,
           per_frame.label, max(per_frame.n) AS max_count, count(*) AS frames_with_label
    FROM scenes s
    JOIN LATERAL (
        SELECT d.label, d.t_s, count(*) AS n
        FROM detections d
        WHERE d.video_id = s.video_id AND d.t_s >= s.start_s AND d.t_s < s.end_s
        GROUP BY d.label, d.t_s
    ) per_frame ON true
    GROUP BY s.video_id, s.scene_index, s.shot_index, s.start_s, s.end_s, s.start_tc,
             s.end_tc, per_frame.label""")
    comments = {
        "videos.has_video": "False for audio-only files (indexed for speech only).",
        "videos.decodable_s": "Truncated files: where decodable data ends (NULL: all of it).",
        "videos.status": "registered | ingesting | ready | partial (truncated: the readable "
        "part is indexed, the rest is a failed checkpoint) | failed.",
        "scenes.shot_index": "Shot number (0-based); spans of one long shot share it.",
        "scenes.cut_before": "True when this span starts at a detected cut.",
        "ingest_checkpoints.elapsed_s": "Seconds the stage spent on this chunk.",
    }
    for column, comment in comments.items():
        _comment("COLUMN", column, comment)
    _comment(
        "VIEW",
        "v_scene_objects",
        "Per scene and detected label: the most objects seen in one frame (max_count) and "
        "in how many sampled frames the label appears.",
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_scene_objects")
    op.execute("ALTER TABLE ingest_checkpoints DROP COLUMN elapsed_s")
    op.execute("ALTER TABLE scenes DROP COLUMN shot_index, DROP COLUMN cut_before")
    op.execute("DELETE FROM videos WHERE NOT has_video")  # cannot be represented before 0003
    op.execute("""
    ALTER TABLE videos
        DROP COLUMN has_video,
        DROP COLUMN decodable_s,
        DROP CONSTRAINT videos_status_check,
        ALTER COLUMN width SET NOT NULL,
        ALTER COLUMN height SET NOT NULL,
        ALTER COLUMN video_codec SET NOT NULL""")
    op.execute("UPDATE videos SET status = 'ready' WHERE status = 'partial'")
    op.execute("""
    ALTER TABLE videos ADD CONSTRAINT videos_status_check
        CHECK (status IN ('registered', 'ingesting', 'ready', 'failed'))""")
