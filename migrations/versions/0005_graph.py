"""Knowledge graph: event sources, build records, fuzzy entity lookup, person appearance, views.

- ``pg_trgm`` and a trigram index on ``entities.canonical_name``: a new on-screen text or
  name is matched against every stored one in the index, not by scanning the library.
- ``event_sources``: the evidence rows (speech segments, text tracks, object tracks,
  captions, scenes) an event was fused from, so word-level times stay one join away.
- ``graph_builds``: one row per video whose graph is built: when, a version that changes
  with every rebuild (traversal caches key on it) and what was written.
- ``tracks.appearance``: a colour descriptor of the tracked object's crops, written by
  the detect stage; person sightings are linked on it.
- Views ``v_entity_timeline`` and ``v_event_graph`` for analysts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _comment(kind: str, name: str, comment: str) -> None:
    quote = sa.String().literal_processor(dialect=op.get_bind().dialect)
    op.execute(f"COMMENT ON {kind} {name} IS {quote(comment)}")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_entities_trgm ON entities USING gin (canonical_name gin_trgm_ops)")
    op.execute("ALTER TABLE tracks ADD COLUMN appearance real[]")
    op.execute("""
    CREATE TABLE event_sources (
        event_id bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        source_kind text NOT NULL,
        source_id bigint NOT NULL,
        PRIMARY KEY (event_id, source_kind, source_id)
    )""")
    op.execute("CREATE INDEX ix_event_sources_source ON event_sources (source_kind, source_id)")
    op.execute("""
    CREATE TABLE graph_builds (
        video_id bigint PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
        version bigint NOT NULL,
        built_at timestamptz NOT NULL DEFAULT now(),
        seconds double precision NOT NULL,
        counts jsonb NOT NULL DEFAULT '{}'::jsonb
    )""")
    op.execute("CREATE SEQUENCE graph_build_version")
    op.execute("CREATE INDEX ix_mentions_video ON mentions (video_id, entity_id)")
    op.execute("CREATE INDEX ix_relations_video ON relations (video_id, predicate)")
    _views()
    _comments()


def _views() -> None:
    op.execute("""
    CREATE VIEW v_entity_timeline AS
    SELECT e.id AS entity_id, e.kind, e.name AS entity, m.video_id, v.file_name AS video,
           m.start_s, m.end_s, m.start_tc, m.end_tc, m.event_id, m.source_kind, m.source_id,
           coalesce(sp.text, ot.text,
                    t.label || ' track, ' || t.detection_count || ' detections',
                    m.surface) AS evidence,
           m.surface, m.confidence
    FROM mentions m
    JOIN entities e ON e.id = m.entity_id
    JOIN videos v ON v.id = m.video_id
    LEFT JOIN speech_segments sp ON m.source_kind = 'speech_segments' AND sp.id = m.source_id
    LEFT JOIN onscreen_text ot ON m.source_kind = 'onscreen_text' AND ot.id = m.source_id
    LEFT JOIN tracks t ON m.source_kind = 'tracks' AND t.id = m.source_id""")
    op.execute("""
    CREATE VIEW v_event_graph AS
    SELECT r.id AS relation_id, r.video_id, r.predicate,
           CASE WHEN r.src_event_id IS NULL THEN 'entity' ELSE 'event' END AS src_type,
           coalesce(r.src_event_id, r.src_entity_id) AS src_id,
           coalesce(se.title, sn.name) AS src_name,
           coalesce(se.start_s, r.start_s) AS src_start_s,
           coalesce(se.end_s, r.end_s) AS src_end_s,
           CASE WHEN r.dst_event_id IS NULL THEN 'entity' ELSE 'event' END AS dst_type,
           coalesce(r.dst_event_id, r.dst_entity_id) AS dst_id,
           coalesce(de.title, dn.name) AS dst_name,
           coalesce(de.start_s, r.start_s) AS dst_start_s,
           coalesce(de.end_s, r.end_s) AS dst_end_s,
           r.start_s, r.end_s, r.confidence, r.attributes
    FROM relations r
    LEFT JOIN events se ON se.id = r.src_event_id
    LEFT JOIN entities sn ON sn.id = r.src_entity_id
    LEFT JOIN events de ON de.id = r.dst_event_id
    LEFT JOIN entities dn ON dn.id = r.dst_entity_id""")


def _comments() -> None:
    _comment(
        "TABLE",
        "event_sources",
        "The evidence rows each event was fused from: source_kind names the table "
        "(speech_segments, onscreen_text, tracks, captions, scenes), source_id its row.",
    )
    _comment(
        "TABLE",
        "graph_builds",
        "One row per video whose knowledge graph is built: version (new on every "
        "rebuild), when, how long it took and the rows written per kind and predicate.",
    )
    columns = {
        "tracks.appearance": "Colour descriptor of the object's crops (hue-saturation "
        "histogram of the upper and lower halves, L1-normalised); persons are linked on it.",
        "entities.kind": "person | object | text (on-screen) | term (key phrase said) | "
        "name (proper name said).",
        "entities.canonical_name": "Normalised key: lower case, punctuation dropped, "
        "spaces folded; unique per kind.",
        "entities.attributes": "Per kind: display surface counts, aliases merged into it "
        "(text, name) or the linked tracks (person).",
        "events.kind": "span: one or more consecutive spans of one shot that show the same "
        "texts and objects.",
        "events.attributes": "spans: how many scene spans the event covers; shot: whether "
        "it starts at a cut.",
        "relations.predicate": "NEXT (event to the next event of its video), MENTIONS "
        "(event to a term or name said), SHOWS (event to a text, object or person seen), "
        "CO_OCCURS (two entities of one event), DURING (a speech segment's event to another "
        "event the speech overlaps), SAME_AS (an alias entity merged into another).",
        "relations.attributes": "source_kind and source_id of the evidence row, when one.",
    }
    for column, comment in columns.items():
        _comment("COLUMN", column, comment)
    _comment(
        "VIEW",
        "v_entity_timeline",
        "Every appearance of every knowledge-graph entity with the evidence text it comes "
        "from (the speech, the text read, the track), in seconds and as intervals.",
    )
    _comment(
        "VIEW",
        "v_event_graph",
        "Every knowledge-graph edge with both ends' type, id, name and times.",
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_event_graph")
    op.execute("DROP VIEW IF EXISTS v_entity_timeline")
    op.execute("DROP INDEX IF EXISTS ix_relations_video")
    op.execute("DROP INDEX IF EXISTS ix_mentions_video")
    op.execute("DROP SEQUENCE IF EXISTS graph_build_version")
    op.execute("DROP TABLE IF EXISTS graph_builds")
    op.execute("DROP TABLE IF EXISTS event_sources")
    op.execute("ALTER TABLE tracks DROP COLUMN appearance")
    op.execute("DROP INDEX IF EXISTS ix_entities_trgm")
