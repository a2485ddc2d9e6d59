"""Entity linking on the real store: OCR misreads merge (with an undoable SAME_AS alias),
different digits never do, names link across videos, and two builds at once stay
consistent. Evidence rows are written directly (no model runs here)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from graph.build import build_video_graph
from indexer.catalog import delete_video
from tests.store_rows import add_video
from vidkg.db import Database
from vidkg.schema import OnscreenText, Scene, SpeechSegment
from vidkg.settings import Settings


def _video(db: Database, name: str, texts: list[tuple[float, str]], said: str = "") -> int:
    """A 60 s video in two spans, with on-screen texts at the given times."""
    with db.sessions.begin() as s:
        video = add_video(s, name)
        s.add_all(
            [
                Scene(video_id=video.id, scene_index=0, start_s=0, end_s=30, cut_before=True),
                Scene(video_id=video.id, scene_index=1, start_s=30, end_s=60, cut_before=True),
            ]
        )
        for t, shown in texts:
            s.add(
                OnscreenText(video_id=video.id, start_s=t, end_s=t + 4, text=shown, confidence=0.9)
            )
        if said:
            words = [
                {"text": " " + w, "start_s": 40 + i * 0.4, "end_s": 40.3 + i * 0.4}
                for i, w in enumerate(said.split())
            ]
            s.add(SpeechSegment(video_id=video.id, start_s=40, end_s=45, text=said, words=words))
        return video.id


def _rows(db: Database, sql: str, **params: object) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_a_misread_merges_with_an_alias_that_records_it(db: Database, settings: Settings) -> None:
    first = _video(
        db,
        "a.mp4",
        [
            (2, "LAB 3 EVACUATED"),
            (33, "LAB 3 EVACUATEO"),
            (35, "GATE 14 CLOSED"),
            (50, "GATE 41 CLOSED"),
        ],
    )
    build_video_graph(db.sessions, first, settings.graph)
    texts = _rows(
        db,
        "SELECT entity, count(*) FROM v_entity_timeline WHERE kind = 'text' GROUP BY 1 ORDER BY 1",
    )
    assert texts == [("GATE 14 CLOSED", 1), ("GATE 41 CLOSED", 1), ("LAB 3 EVACUATED", 2)]
    same_as = _rows(db, "SELECT src_name, dst_name FROM v_event_graph WHERE predicate = 'SAME_AS'")
    assert same_as == [("LAB 3 EVACUATEO", "LAB 3 EVACUATED")]
    surfaces = _rows(
        db,
        "SELECT surface FROM mentions m JOIN entities e ON e.id = m.entity_id "
        "WHERE e.canonical_name = 'lab 3 evacuated' ORDER BY start_s",
    )
    assert surfaces == [("LAB 3 EVACUATED",), ("LAB 3 EVACUATEO",)], "the reading is kept"


def test_across_videos_a_misread_and_a_name_link_to_stored_entities(
    db: Database, settings: Settings
) -> None:
    said = "Today Priya Okafor will inspect the harbour."
    first = _video(db, "a.mp4", [(2, "NORTH BRIDGE CLOSED")], said)
    second = _video(db, "b.mp4", [(5, "NORTH BRIDGE CL0SED")], said)  # O read as 0
    for video in (first, second):
        build_video_graph(db.sessions, video, settings.graph)
    linked = _rows(
        db,
        "SELECT kind, entity, array_agg(DISTINCT video_id ORDER BY video_id) "
        "FROM v_entity_timeline WHERE kind IN ('text', 'name') GROUP BY 1, 2",
    )
    assert sorted(linked) == [
        ("name", "Priya Okafor", [first, second]),
        ("text", "NORTH BRIDGE CLOSED", [first, second]),
    ]
    assert delete_video(db.sessions, settings, first)
    kept = _rows(db, "SELECT entity, video_id FROM v_entity_timeline WHERE kind = 'text'")
    assert kept == [("NORTH BRIDGE CLOSED", second)], "the entity stays with video b"
    aliases = _rows(
        db, "SELECT src_name, dst_name, video_id FROM v_event_graph WHERE predicate = 'SAME_AS'"
    )
    assert aliases == [("NORTH BRIDGE CL0SED", "NORTH BRIDGE CLOSED", second)]


def test_builds_at_once_share_entities_without_duplicates(db: Database, settings: Settings) -> None:
    videos = [
        _video(db, f"v{i}.mp4", [(2, "DELIVERIES AT REAR"), (31, f"BAY {i}")]) for i in range(6)
    ]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda v: build_video_graph(db.sessions, v, settings.graph), videos))
    shared = _rows(
        db,
        "SELECT count(DISTINCT entity_id), count(DISTINCT video_id) "
        "FROM v_entity_timeline WHERE entity = 'DELIVERIES AT REAR'",
    )
    assert shared == [(1, 6)]
    bays = _rows(db, "SELECT count(*) FROM entities WHERE canonical_name LIKE 'bay %'")
    assert bays == [(6,)], "BAY 0..5 differ by their digits"
    chains = _rows(
        db, "SELECT video_id, count(*) FROM relations WHERE predicate = 'NEXT' GROUP BY 1"
    )
    assert sorted(chains) == [(v, 1) for v in videos]
