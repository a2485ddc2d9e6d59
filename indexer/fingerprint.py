"""A video's indexed rows without ids or run timestamps, to compare two ingests.

Two ingests of the same video with the same chunks must give the same rows, whoever
ran them and whatever went wrong on the way (worker kills, outages, redelivered units):
the distributed tests and ``vidkg bench recovery`` compare these snapshots with an
in-process run. Floats are rounded where models compute them (identical inputs give
identical results; the rounding only absorbs the last bits of float32 arithmetic).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from vidkg.db import Database

SNAPSHOT = {
    "scenes": "SELECT scene_index, shot_index, cut_before, start_s, end_s, keyframe_times "
    "FROM scenes ORDER BY start_s",
    "frames": "SELECT t_s, embedding IS NOT NULL AS embedded FROM frames ORDER BY t_s",
    "speech": "SELECT start_s, end_s, text, words::text, embedding IS NOT NULL AS embedded "
    "FROM speech_segments ORDER BY start_s",
    "texts": "SELECT text, start_s, end_s, round(box_x1::numeric, 3) AS x1, "
    "round(box_y1::numeric, 3) AS y1, embedding IS NOT NULL AS embedded "
    "FROM onscreen_text ORDER BY start_s, text",
    "tracks": "SELECT track_key, label, start_s, end_s, detection_count, "
    "round(max_confidence::numeric, 3) AS conf FROM tracks ORDER BY track_key",
    "detections": "SELECT t.track_key, d.t_s, d.label, round(d.confidence::numeric, 3) AS conf, "
    "round(d.box_x1::numeric, 3) AS x1, round(d.box_y2::numeric, 3) AS y2 "
    "FROM detections d LEFT JOIN tracks t ON t.id = d.track_id ORDER BY d.t_s, x1, conf",
    "captions": "SELECT start_s, end_s, text, captioner, embedding IS NOT NULL AS embedded "
    "FROM captions ORDER BY start_s",
    "checkpoints": "SELECT stage, chunk_index, status, rows_written FROM ingest_checkpoints "
    "ORDER BY stage, chunk_index",
    # The knowledge graph: the same events, entities per kind and edges per predicate.
    "graph": "SELECT counts::text FROM graph_builds ORDER BY video_id",
    "events": "SELECT start_s, end_s, title, description FROM events ORDER BY start_s",
    # People are named after their video ("v3 person 2"): compared without its id.
    "entities": "SELECT e.kind, regexp_replace(e.canonical_name, '^v[0-9]+ ', 'v ') AS name, "
    "count(*) FROM entities e JOIN mentions m ON m.entity_id = e.id GROUP BY 1, 2 ORDER BY 1, 2",
    "relations": "SELECT predicate, count(*) FROM relations GROUP BY 1 ORDER BY 1",
}


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(q))] for name, q in SNAPSHOT.items()}


def duplicates(db: Database) -> dict[str, int]:
    """Rows that appear more than once by what identifies them (must all be 0)."""
    checks = {
        "scenes": "SELECT count(*) - count(DISTINCT start_s) FROM scenes",
        "speech": "SELECT count(*) - count(DISTINCT (start_s, text)) FROM speech_segments",
        "texts": "SELECT count(*) - count(DISTINCT (start_s, text)) FROM onscreen_text",
        "detections": "SELECT count(*) - count(DISTINCT (t_s, box_x1, box_y1, box_x2, box_y2)) "
        "FROM detections",
        "captions": "SELECT count(*) - count(DISTINCT start_s) FROM captions",
    }
    with db.engine.connect() as conn:
        return {k: conn.execute(text(q)).scalar_one() for k, q in checks.items()}
