"""Initial schema: videos, ingest bookkeeping, extracted evidence, knowledge graph, views.

Written as plain SQL on purpose: this file is the contract analysts read. Every table
carries a COMMENT, times are seconds (double precision) with a generated ``interval``
twin (``*_tc``) for readable SQL, and every row hangs off a video with ON DELETE CASCADE.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _dims() -> tuple[int, int]:
    """Vector sizes from the settings passed in by vidkg.db.migrate (validated ints)."""
    settings = context.config.attributes["settings"]
    text_dim = int(settings.embeddings.text_dim)
    frame_dim = int(settings.embeddings.frame_dim)
    if not (0 < text_dim <= 16000 and 0 < frame_dim <= 16000):
        raise ValueError("embedding dimensions must be between 1 and 16000")
    return text_dim, frame_dim


def _comment(kind: str, name: str, comment: str) -> None:
    """COMMENT ON takes no bind parameters: quote the text with the dialect's own quoting."""
    quote = sa.String().literal_processor(dialect=op.get_bind().dialect)
    op.execute(f"COMMENT ON {kind} {name} IS {quote(comment)}")


def _tc(col: str) -> str:
    """A generated interval column mirroring a seconds column."""
    return f"{col}_tc interval GENERATED ALWAYS AS ({col}_s * interval '1 second') STORED"


def _span() -> str:
    return (
        "start_s double precision NOT NULL, end_s double precision NOT NULL, "
        f"{_tc('start')}, {_tc('end')}, CHECK (end_s >= start_s AND start_s >= 0)"
    )


def _tsv(expr: str) -> str:
    return f"tsv tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, {expr})) STORED"


TABLE_COMMENTS = {
    "videos": "One row per registered video file (identified by sha256). Every other row "
    "references a video and is deleted with it.",
    "ingest_jobs": "One row per ingest request for a video: which stages, status, timing, error.",
    "ingest_checkpoints": "Progress of each stage over each chunk of a video's timeline; a "
    "finished (video, stage, chunk) is never redone, which makes ingest resumable.",
    "scenes": "Shots found by the scene detector, split into spans of bounded length; "
    "keyframe_times lists the seconds of the frames chosen to represent each.",
    "frames": "Sampled frames (keyframes) with their visual embedding.",
    "speech_segments": "Transcribed speech: one row per segment, with word timings in words.",
    "onscreen_text": "Text read from the picture (OCR), merged over consecutive frames into "
    "one row per text shown, with its bounding box normalised to [0, 1].",
    "tracks": "Object tracks: one row per tracked object (label, first and last seen).",
    "detections": "Per-frame object detections, linked to their track when tracked.",
    "captions": "Natural-language descriptions of spans, and which captioner wrote them.",
    "events": "Knowledge-graph events: something that happened in a video between two times.",
    "entities": "Knowledge-graph entities (people, objects, places, texts...), shared across "
    "videos; canonical_name is the lower-cased key.",
    "mentions": "Where an entity appears: in which video, when, in which evidence row.",
    "relations": "Typed edges of the knowledge graph between events and/or entities.",
}


def upgrade() -> None:
    text_dim, frame_dim = _dims()
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.execute(f"""
    CREATE TABLE videos (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_path text NOT NULL,
        file_name text NOT NULL,
        sha256 char(64) NOT NULL UNIQUE,
        size_bytes bigint NOT NULL CHECK (size_bytes > 0),
        container text NOT NULL,
        duration_s double precision NOT NULL CHECK (duration_s > 0),
        {_tc("duration")},
        fps double precision,
        width integer NOT NULL,
        height integer NOT NULL,
        rotation integer NOT NULL DEFAULT 0,
        video_codec text NOT NULL,
        frame_count bigint,
        has_audio boolean NOT NULL,
        audio_codec text,
        audio_sample_rate integer,
        audio_channels integer,
        probe jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        status text NOT NULL DEFAULT 'registered'
            CHECK (status IN ('registered', 'ingesting', 'ready', 'failed')),
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")

    op.execute("""
    CREATE TABLE ingest_jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        stages text[] NOT NULL,
        options jsonb NOT NULL DEFAULT '{}'::jsonb,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
    )""")
    op.execute("CREATE INDEX ix_ingest_jobs_video ON ingest_jobs (video_id)")

    op.execute("""
    CREATE TABLE ingest_checkpoints (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        job_id bigint REFERENCES ingest_jobs(id) ON DELETE SET NULL,
        stage text NOT NULL,
        chunk_index integer NOT NULL CHECK (chunk_index >= 0),
        start_s double precision NOT NULL,
        end_s double precision NOT NULL,
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
        attempts integer NOT NULL DEFAULT 0,
        rows_written integer,
        error text,
        worker text,
        started_at timestamptz,
        finished_at timestamptz,
        UNIQUE (video_id, stage, chunk_index)
    )""")
    op.execute("CREATE INDEX ix_ingest_checkpoints_job ON ingest_checkpoints (job_id)")

    op.execute(f"""
    CREATE TABLE scenes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        scene_index integer NOT NULL,
        {_span()},
        keyframe_times double precision[] NOT NULL DEFAULT '{{}}',
        UNIQUE (video_id, scene_index)
    )""")

    op.execute(f"""
    CREATE TABLE frames (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        t_s double precision NOT NULL CHECK (t_s >= 0),
        {_tc("t")},
        image_path text,
        embedding vector({frame_dim}),
        embedding_model text,
        UNIQUE (video_id, t_s)
    )""")

    op.execute(f"""
    CREATE TABLE speech_segments (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        {_span()},
        text text NOT NULL,
        words jsonb NOT NULL DEFAULT '[]'::jsonb,
        language text,
        confidence real,
        embedding vector({text_dim}),
        embedding_model text,
        {_tsv("text")}
    )""")

    op.execute(f"""
    CREATE TABLE onscreen_text (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        {_span()},
        text text NOT NULL,
        confidence real,
        box_x1 real, box_y1 real, box_x2 real, box_y2 real,
        frame_count integer NOT NULL DEFAULT 1,
        embedding vector({text_dim}),
        embedding_model text,
        {_tsv("text")}
    )""")

    op.execute(f"""
    CREATE TABLE tracks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        track_key integer NOT NULL,
        label text NOT NULL,
        {_span()},
        detection_count integer NOT NULL DEFAULT 0,
        max_confidence real,
        model text
    )""")

    op.execute(f"""
    CREATE TABLE detections (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        track_id bigint REFERENCES tracks(id) ON DELETE CASCADE,
        t_s double precision NOT NULL CHECK (t_s >= 0),
        {_tc("t")},
        label text NOT NULL,
        confidence real NOT NULL,
        box_x1 real NOT NULL, box_y1 real NOT NULL, box_x2 real NOT NULL, box_y2 real NOT NULL,
        model text
    )""")
    op.execute("CREATE INDEX ix_detections_track ON detections (track_id)")

    op.execute(f"""
    CREATE TABLE captions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        {_span()},
        text text NOT NULL,
        captioner text NOT NULL,
        embedding vector({text_dim}),
        embedding_model text,
        {_tsv("text")}
    )""")

    op.execute(f"""
    CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        {_span()},
        kind text NOT NULL,
        title text NOT NULL,
        description text,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        embedding vector({text_dim}),
        embedding_model text,
        {_tsv("title || ' ' || coalesce(description, '')")}
    )""")

    op.execute(f"""
    CREATE TABLE entities (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        name text NOT NULL,
        canonical_name text NOT NULL,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        {_tsv("name")},
        UNIQUE (kind, canonical_name)
    )""")

    op.execute(f"""
    CREATE TABLE mentions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        entity_id bigint NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        event_id bigint REFERENCES events(id) ON DELETE CASCADE,
        {_span()},
        source_kind text NOT NULL,
        source_id bigint,
        surface text,
        confidence real
    )""")
    op.execute("CREATE INDEX ix_mentions_entity ON mentions (entity_id)")
    op.execute("CREATE INDEX ix_mentions_event ON mentions (event_id)")

    op.execute("""
    CREATE TABLE relations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        predicate text NOT NULL,
        src_event_id bigint REFERENCES events(id) ON DELETE CASCADE,
        src_entity_id bigint REFERENCES entities(id) ON DELETE CASCADE,
        dst_event_id bigint REFERENCES events(id) ON DELETE CASCADE,
        dst_entity_id bigint REFERENCES entities(id) ON DELETE CASCADE,
        confidence real,
        start_s double precision,
        end_s double precision,
        attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
        CHECK (num_nonnulls(src_event_id, src_entity_id) = 1),
        CHECK (num_nonnulls(dst_event_id, dst_entity_id) = 1)
    )""")
    for col in ("src_event_id", "src_entity_id", "dst_event_id", "dst_entity_id"):
        op.execute(f"CREATE INDEX ix_relations_{col} ON relations ({col})")

    # Time-range lookups per video, on every timed table.
    for table in (
        "scenes",
        "speech_segments",
        "onscreen_text",
        "tracks",
        "captions",
        "events",
        "mentions",
        "relations",
    ):
        op.execute(f"CREATE INDEX ix_{table}_video_time ON {table} (video_id, start_s)")
    for table in ("frames", "detections"):
        op.execute(f"CREATE INDEX ix_{table}_video_time ON {table} (video_id, t_s)")

    # Full-text (GIN) and vector (HNSW, cosine) indexes.
    for table in ("speech_segments", "onscreen_text", "captions", "events", "entities"):
        op.execute(f"CREATE INDEX ix_{table}_tsv ON {table} USING gin (tsv)")
    for table in ("frames", "speech_segments", "onscreen_text", "captions", "events"):
        op.execute(
            f"CREATE INDEX ix_{table}_embedding ON {table} USING hnsw (embedding vector_cosine_ops)"
        )

    for table, comment in TABLE_COMMENTS.items():
        _comment("TABLE", table, comment)
    _comment_columns()
    _create_views()


def _comment_columns() -> None:
    comments = {
        "videos.source_path": "Absolute path of the file when it was registered.",
        "videos.sha256": "SHA-256 of the file's bytes; the same file is never registered twice.",
        "videos.duration_s": "Duration in seconds (duration_tc: the same as an interval).",
        "videos.rotation": "Display rotation in degrees from the stream's metadata.",
        "videos.probe": "Everything the prober read (streams, format), as JSON.",
        "videos.status": "registered | ingesting | ready | failed.",
        "ingest_checkpoints.stage": "Pipeline stage name, e.g. scenes, asr, ocr, detect.",
        "ingest_checkpoints.chunk_index": "Index of the chunk of the timeline [start_s, end_s).",
        "scenes.keyframe_times": "Seconds of the frames chosen to represent the scene.",
        "frames.image_path": "Keyframe image, relative to VIDKG_HOME/media.",
        "frames.embedding": "Visual embedding (open_clip), cosine distance.",
        "speech_segments.words": 'Word timings: [{"word", "start_s", "end_s", "probability"}].',
        "speech_segments.confidence": "Mean word probability, 0..1.",
        "speech_segments.tsv": "English full-text vector of text (GIN indexed).",
        "onscreen_text.frame_count": "Number of sampled frames the text was read in.",
        "tracks.track_key": "The tracker's id for the object within its chunk.",
        "captions.captioner": "Who wrote the caption: a VLM model name or 'extractive'.",
        "events.kind": "What happened, e.g. span, speech, text_shown, object_appears.",
        "entities.kind": "person, object, text, place, organization, concept...",
        "mentions.source_kind": "Evidence table the mention comes from (speech_segments, ...).",
        "mentions.source_id": "Row id in that evidence table.",
        "relations.predicate": "Edge type, e.g. before, after, involves, says, shows.",
    }
    for column, comment in comments.items():
        _comment("COLUMN", column, comment)


def _create_views() -> None:
    op.execute("""
    CREATE VIEW v_timeline AS
    SELECT x.video_id, v.file_name AS video, x.kind, x.start_s, x.end_s,
           x.start_s * interval '1 second' AS start_tc,
           x.end_s * interval '1 second' AS end_tc,
           x.text, x.confidence, x.source_table, x.source_id
    FROM (
        SELECT video_id, 'scene' AS kind, start_s, end_s, 'scene ' || scene_index AS text,
               NULL::real AS confidence, 'scenes' AS source_table, id AS source_id
        FROM scenes
        UNION ALL
        SELECT video_id, 'speech', start_s, end_s, text, confidence, 'speech_segments', id
        FROM speech_segments
        UNION ALL
        SELECT video_id, 'onscreen_text', start_s, end_s, text, confidence, 'onscreen_text', id
        FROM onscreen_text
        UNION ALL
        SELECT video_id, 'track', start_s, end_s, label, max_confidence, 'tracks', id
        FROM tracks
        UNION ALL
        SELECT video_id, 'caption', start_s, end_s, text, NULL, 'captions', id
        FROM captions
        UNION ALL
        SELECT video_id, 'event', start_s, end_s,
               title || coalesce(': ' || description, ''), NULL, 'events', id
        FROM events
    ) AS x
    JOIN videos v ON v.id = x.video_id""")
    _comment(
        "VIEW",
        "v_timeline",
        "One row per thing that happened in a video: scenes, speech, on-screen text, "
        "object tracks, captions and events, with times.",
    )

    op.execute("""
    CREATE VIEW v_videos AS
    SELECT v.id AS video_id, v.file_name, v.source_path, v.status, v.duration_s, v.duration_tc,
           v.width, v.height, v.fps, v.has_audio, v.created_at,
           (SELECT count(*) FROM scenes s WHERE s.video_id = v.id) AS scenes,
           (SELECT count(*) FROM speech_segments s WHERE s.video_id = v.id) AS speech_segments,
           (SELECT count(*) FROM onscreen_text s WHERE s.video_id = v.id) AS onscreen_texts,
           (SELECT count(*) FROM tracks s WHERE s.video_id = v.id) AS tracks,
           (SELECT count(*) FROM events s WHERE s.video_id = v.id) AS events
    FROM videos v""")
    _comment("VIEW", "v_videos", "Videos with their status and how much was extracted.")

    op.execute("""
    CREATE VIEW v_entity_mentions AS
    SELECT e.id AS entity_id, e.kind AS entity_kind, e.name AS entity, m.video_id,
           v.file_name AS video, m.start_s, m.end_s, m.start_tc, m.end_tc,
           m.source_kind, m.source_id, m.surface, m.confidence, m.event_id
    FROM mentions m
    JOIN entities e ON e.id = m.entity_id
    JOIN videos v ON v.id = m.video_id""")
    _comment(
        "VIEW", "v_entity_mentions", "Every appearance of every entity, with its video and times."
    )

    op.execute("""
    CREATE VIEW v_ingest_progress AS
    SELECT c.video_id, v.file_name AS video, c.stage,
           count(*) AS chunks,
           count(*) FILTER (WHERE c.status IN ('done', 'skipped')) AS chunks_done,
           count(*) FILTER (WHERE c.status = 'running') AS chunks_running,
           count(*) FILTER (WHERE c.status = 'failed') AS chunks_failed,
           max(c.finished_at) AS last_finished_at
    FROM ingest_checkpoints c
    JOIN videos v ON v.id = c.video_id
    GROUP BY c.video_id, v.file_name, c.stage""")
    _comment(
        "VIEW",
        "v_ingest_progress",
        "Per video and stage: how many timeline chunks are done, running or failed.",
    )


def downgrade() -> None:
    for view in ("v_ingest_progress", "v_entity_mentions", "v_videos", "v_timeline"):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    for table in (
        "relations",
        "mentions",
        "entities",
        "events",
        "captions",
        "detections",
        "tracks",
        "onscreen_text",
        "speech_segments",
        "frames",
        "scenes",
        "ingest_checkpoints",
        "ingest_jobs",
        "videos",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    # The vector extension is left installed: other schemas in the database may use it.
