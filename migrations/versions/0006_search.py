"""Search indexes: on-screen text as written, and trigram lookups for partial matches.

- ``ix_onscreen_text_simple``: full text of on-screen text in the ``simple``
  configuration (no stemming, no stop words), so codes such as "KL 1092" match as read.
- ``ix_onscreen_text_trgm`` and ``ix_speech_segments_trgm``: trigram indexes on
  ``lower(text)`` serving ``word_similarity`` (``<%``): "RE16" finds "RE16 TGK" and a
  one-letter OCR misread still matches.
- ``vidkg_in_scope(video_id, start_s, end_s, videos, t0, t1)``: the scope filter every
  search statement shares (some videos or all, a time range), written once in SQL so the
  statements stay static text. It is a one-expression SQL function, which PostgreSQL
  inlines: indexes on ``video_id`` still serve it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


IN_SCOPE = """
CREATE FUNCTION vidkg_in_scope(
    video_id bigint, start_s float8, end_s float8, videos bigint[], t0 float8, t1 float8
) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (cardinality(videos) = 0 OR video_id = ANY(videos))
       AND (t0 IS NULL OR end_s >= t0)
       AND (t1 IS NULL OR start_s <= t1)
$$
"""


def upgrade() -> None:
    op.execute(IN_SCOPE)
    op.execute(
        "COMMENT ON FUNCTION vidkg_in_scope(bigint, float8, float8, bigint[], float8, float8)"
        " IS 'Search scope: the row belongs to one of videos (empty: any) and overlaps [t0, t1]"
        " (NULL: open).'"
    )
    op.execute(
        "CREATE INDEX ix_onscreen_text_simple ON onscreen_text"
        " USING gin (to_tsvector('simple'::regconfig, text))"
    )
    op.execute(
        "CREATE INDEX ix_onscreen_text_trgm ON onscreen_text USING gin (lower(text) gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_speech_segments_trgm ON speech_segments"
        " USING gin (lower(text) gin_trgm_ops)"
    )


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS vidkg_in_scope(bigint, float8, float8, bigint[], float8, float8)"
    )
    op.execute("DROP INDEX IF EXISTS ix_speech_segments_trgm")
    op.execute("DROP INDEX IF EXISTS ix_onscreen_text_trgm")
    op.execute("DROP INDEX IF EXISTS ix_onscreen_text_simple")
