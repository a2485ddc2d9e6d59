"""The store on real PostgreSQL + pgvector: vector search through HNSW, full-text search,
the analyst views, and deleting a video with everything that hangs off it."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select, text

from indexer.catalog import delete_video, media_dir
from tests.store_rows import add_evidence, add_video, unit
from vidkg.db import Database
from vidkg.schema import Base, Entity, SpeechSegment, Video
from vidkg.settings import Settings


def _plan(conn, sql: str, params: dict) -> str:  # noqa: ANN001
    return "\n".join(conn.execute(text("EXPLAIN " + sql), params).scalars())


def _vacuum(db: Database, table: str) -> None:
    """What autovacuum does after a bulk load: statistics, and the GIN pending list
    merged into the index (until then the planner rightly prefers a sequential scan)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {table}"))


def test_nearest_neighbours_use_the_hnsw_index(db: Database) -> None:
    rng = np.random.default_rng(7)
    vectors = [unit(v) for v in rng.normal(size=(2000, 384))]
    with db.sessions.begin() as session:
        video = add_video(session, "archive.mp4", duration_s=4000.0)
        session.add_all(
            SpeechSegment(
                video_id=video.id,
                start_s=float(i),
                end_s=i + 1.0,
                text=f"segment {i}",
                embedding=vec,
                embedding_model="test",
            )
            for i, vec in enumerate(vectors)
        )
    target = 1234
    query = unit(np.asarray(vectors[target]) + rng.normal(scale=0.05, size=384))
    exact = int(np.argmax(np.asarray(vectors) @ np.asarray(query)))
    assert exact == target  # the query is a slightly perturbed copy of row 1234

    knn = (
        "SELECT start_s, embedding <=> CAST(:q AS vector) AS distance FROM speech_segments "
        "ORDER BY embedding <=> CAST(:q AS vector) LIMIT 5"
    )
    _vacuum(db, "speech_segments")
    with db.engine.begin() as conn:
        plan = _plan(conn, knn, {"q": str(query)})
        rows = conn.execute(text(knn), {"q": str(query)}).all()
    assert "Index Scan using ix_speech_segments_embedding" in plan
    assert rows[0].start_s == float(target)
    assert [r.distance for r in rows] == sorted(r.distance for r in rows)


def test_full_text_search_ranks_the_spoken_sentence(db: Database) -> None:
    sentences = [
        "The spare turbine blades will arrive at dock seven on Thursday.",
        "Our new warehouse manager is called Priya Okafor.",
        "The harbour ferry to Lindholm Island now leaves at half past six.",
    ] + [f"Routine status report number {i} with nothing to note." for i in range(2000)]
    with db.sessions.begin() as session:
        video = add_video(session, "talks.mp4", duration_s=2000.0)
        session.add_all(
            SpeechSegment(video_id=video.id, start_s=i * 3.0, end_s=i * 3.0 + 2.5, text=s)
            for i, s in enumerate(sentences)
        )
    search = (
        "SELECT text, ts_rank(tsv, q) AS rank FROM speech_segments, "
        "websearch_to_tsquery('english', :q) q WHERE tsv @@ q ORDER BY rank DESC"
    )
    _vacuum(db, "speech_segments")
    with db.engine.begin() as conn:
        rows = conn.execute(text(search), {"q": "ferries leaving Lindholm"}).all()
        plan = _plan(conn, search, {"q": "ferries leaving Lindholm"})
        assert conn.execute(text(search), {"q": "turbine OR manager"}).rowcount == 2
    # Stemming: "ferries leaving" matches "ferry ... leaves".
    assert [r.text for r in rows] == [sentences[2]]
    assert "ix_speech_segments_tsv" in plan


def test_timeline_and_other_views(db: Database) -> None:
    with db.sessions.begin() as session:
        video = add_video(session, "gate.mp4")
        add_evidence(session, video)
    with db.engine.connect() as conn:
        timeline = conn.execute(
            text(
                "SELECT kind, start_s, end_s, text, video, start_tc FROM v_timeline "
                "WHERE video_id = :v ORDER BY start_s, kind"
            ),
            {"v": video.id},
        ).all()
        summary = conn.execute(text("SELECT * FROM v_videos")).mappings().one()
        mentions = conn.execute(text("SELECT entity, surface, video FROM v_entity_mentions")).all()
        progress = conn.execute(
            text("SELECT stage, chunks, chunks_done FROM v_ingest_progress")
        ).all()
    kinds = {row.kind: row for row in timeline}
    assert set(kinds) == {"scene", "speech", "onscreen_text", "track", "caption", "event"}
    assert kinds["onscreen_text"].text == "GATE 14 CLOSED"
    assert kinds["track"].text == "person"
    assert kinds["speech"].start_tc.total_seconds() == 2.0
    assert {row.video for row in timeline} == {"gate.mp4"}
    assert (
        summary["scenes"],
        summary["speech_segments"],
        summary["onscreen_texts"],
        summary["tracks"],
        summary["events"],
    ) == (1, 1, 1, 1, 1)
    assert mentions == [("Dock Seven", "dock seven", "gate.mp4")]
    assert progress == [("asr", 1, 1)]


def _row_counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


def test_deleting_a_video_removes_its_rows_files_and_orphan_entities(
    db: Database, settings: Settings
) -> None:
    with db.sessions.begin() as session:
        keep = add_video(session, "keep.mp4")
        kept = add_evidence(session, keep)
        doomed = add_video(session, "doomed.mp4")
        shared = session.get(Entity, kept["entity"])
        add_evidence(session, doomed, entity=shared)  # an entity both videos mention
        own = Entity(kind="person", name="Priya Okafor", canonical_name="priya okafor")
        session.add(own)
        session.flush()
        add_evidence(session, doomed, entity=own, n=1)  # an entity only the doomed video mentions
    files = media_dir(settings, doomed.id)
    (files / "keyframes").mkdir(parents=True)
    (files / "keyframes" / "6.000.jpg").write_bytes(b"\xff\xd8 jpeg")
    before = _row_counts(db)

    assert delete_video(db.sessions, settings, doomed.id) is True

    after = _row_counts(db)
    # graph_builds has one row per built video (none here); entities are shared; keys
    # and watches belong to the service (none here).
    service = ("videos", "entities", "graph_builds", "api_keys", "watches", "watch_hits")
    service += ("unit_recoveries",)  # per video, but only when a unit lost its worker
    per_video = {k: v for k, v in after.items() if k not in service}
    assert all(count > 0 for count in per_video.values())  # keep.mp4 still has every kind
    for table in per_video:
        # doomed.mp4 had twice keep.mp4's evidence; all of it is gone
        assert before[table] == 3 * after[table], table
    assert after["videos"] == 1
    with db.sessions() as session:
        names = set(session.execute(select(Entity.name)).scalars())
        assert session.execute(select(Video.file_name)).scalars().all() == ["keep.mp4"]
    assert names == {"Dock Seven"}  # shared entity kept, orphan removed
    assert not files.exists()
    assert delete_video(db.sessions, settings, doomed.id) is False
