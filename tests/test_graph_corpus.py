"""The graph across two videos: shared entities, deletion, rebuild, traversal cache, CLI.

Two clips are cut from the 5-minute haystack so that both show the 'LAB 3 EVACUATED'
card while each also holds things the other does not: the card must be one entity
with mentions in both, and deleting one clip must keep it (with the other's mentions)
while removing what only the deleted clip had.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from graph.build import build_video_graph
from graph.service import GraphService
from graph.text import canonical, same_entity
from indexer.catalog import delete_video, register_video
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from tests.conftest import IngestedHaystack, fresh_database
from tests.support import run_cli
from vidkg.db import Database, open_database
from vidkg.settings import Settings

STAGES = ["scenes", "asr", "ocr", "detect", "embed"]
CARD = "LAB 3 EVACUATED"


@dataclass
class Corpus:
    settings: Settings
    db: Database
    first: int  # ends with the card
    second: int  # starts with the card

    def rows(self, sql: str, **params: object) -> list[tuple]:
        with self.db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]


def _cut(video: Path, out: Path, start: float, end: float) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-ss",
            f"{start}",
            "-i",
            str(video),
            "-t",
            f"{end - start}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            str(out),
        ],
        check=True,
    )
    return out


@pytest.fixture(scope="module")
def corpus(
    haystack5: IngestedHaystack,
    vidkg_home: Path,
    template_db: str,
    registry: ModelRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Corpus]:
    card = next(t for t in haystack5.truth["onscreen_text"] if t["text"] == CARD)
    folder = tmp_path_factory.mktemp("corpus")
    a = _cut(haystack5.video, folder / "before.mp4", card["start_s"] - 30, card["end_s"] + 1)
    b = _cut(haystack5.video, folder / "after.mp4", card["start_s"] - 1, card["end_s"] + 14)
    with fresh_database(vidkg_home, template_db) as settings:
        db = open_database(settings)
        ids = []
        for path in (a, b):
            vid = register_video(db.sessions, settings, path).video_id
            report = Pipeline(db, settings, registry).ingest(vid, STAGES)
            assert report.status == "succeeded", report.failures
            ids.append(vid)
        yield Corpus(settings, db, *ids)
        db.dispose()


def _card_entity(c: Corpus) -> int:
    found = c.rows(
        "SELECT id FROM entities WHERE kind = 'text' AND canonical_name = :n", n=canonical(CARD)
    )
    assert found, c.rows("SELECT kind, name FROM entities WHERE kind = 'text'")
    return found[0][0]


def test_a_text_in_both_videos_is_one_entity_with_mentions_in_both(corpus: Corpus) -> None:
    card = _card_entity(corpus)
    videos = corpus.rows(
        "SELECT video_id, count(*) FROM mentions WHERE entity_id = :e GROUP BY 1 ORDER BY 1",
        e=card,
    )
    assert [v for v, _ in videos] == [corpus.first, corpus.second]
    listed = json.loads(
        run_cli(corpus.settings, "graph", "entities", "--kind", "text", "--json").stdout
    )
    entry = next(e for e in listed if e["id"] == card)
    assert set(entry) == {"id", "kind", "name", "first_s", "last_s", "mentions", "videos"}
    assert entry["videos"] == [corpus.first, corpus.second] and entry["mentions"] >= 2


def test_rebuild_is_idempotent_and_invalidates_the_traversal_cache(corpus: Corpus) -> None:
    service = GraphService(corpus.db.sessions)
    before = service.graph(corpus.second)
    assert service.graph(corpus.second) is before and service.cache.loads == 1
    snapshot = corpus.rows(
        "SELECT kind, canonical_name FROM entities e WHERE EXISTS "
        "(SELECT 1 FROM mentions m WHERE m.entity_id = e.id AND m.video_id = :v) ORDER BY 1, 2",
        v=corpus.second,
    )
    first = build_video_graph(corpus.db.sessions, corpus.second, corpus.settings.graph)
    again = build_video_graph(corpus.db.sessions, corpus.second, corpus.settings.graph)
    assert again.counts == first.counts and again.version > first.version
    after = service.graph(corpus.second)
    assert after is not before and service.cache.loads == 2, "a rebuild reloads the graph"
    assert sorted(after.nodes) != sorted(before.nodes), "events are new rows"
    assert after.number_of_edges() == before.number_of_edges()
    assert snapshot == corpus.rows(
        "SELECT kind, canonical_name FROM entities e WHERE EXISTS "
        "(SELECT 1 FROM mentions m WHERE m.entity_id = e.id AND m.video_id = :v) ORDER BY 1, 2",
        v=corpus.second,
    )


def test_cli_rebuild_and_traversal_commands(corpus: Corpus, tmp_path: Path) -> None:
    rebuilt = run_cli(corpus.settings, "graph", "rebuild", "--video", str(corpus.first), "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)[0]["counts"]["events"] > 0
    card = _card_entity(corpus)
    timeline = json.loads(run_cli(corpus.settings, "graph", "timeline", str(card), "--json").stdout)
    assert {t["video_id"] for t in timeline} == {corpus.first, corpus.second}
    event = next(t["event_id"] for t in timeline if t["video_id"] == corpus.first)
    near = json.loads(
        run_cli(corpus.settings, "graph", "neighbors", f"event:{event}", "--json").stdout
    )
    assert any(n["node"] == f"entity:{card}" for n in near)
    before = json.loads(
        run_cli(
            corpus.settings, "graph", "after", str(event), "--before", "--n", "2", "--json"
        ).stdout
    )
    (start,) = corpus.rows("SELECT start_s FROM events WHERE id = :e", e=event)[0]
    assert len(before) == 2, "the card is not the clip's first event"
    assert before[0]["end_s"] <= start + 0.01 and before[1]["end_s"] <= before[0]["start_s"] + 0.01
    for fmt in ("graphml", "json"):
        out = tmp_path / f"g.{fmt}"
        done = run_cli(corpus.settings, "graph", "export", "--format", fmt, str(out))
        assert done.returncode == 0 and out.stat().st_size > 1000, done.stderr
    missing = run_cli(corpus.settings, "graph", "timeline", "999999")
    assert missing.returncode == 1 and "no entity 999999" in missing.stderr
    bad = run_cli(corpus.settings, "graph", "neighbors", "video:1")
    assert bad.returncode == 1 and "event:ID or entity:ID" in bad.stderr


def test_deleting_a_video_keeps_shared_entities_and_drops_its_own(corpus: Corpus) -> None:
    """Last: it deletes the first clip."""
    card = _card_entity(corpus)
    own = corpus.rows(
        "SELECT e.id FROM entities e WHERE EXISTS (SELECT 1 FROM mentions m "
        "WHERE m.entity_id = e.id AND m.video_id = :a) AND NOT EXISTS (SELECT 1 FROM mentions m "
        "WHERE m.entity_id = e.id AND m.video_id <> :a)",
        a=corpus.first,
    )
    assert own, "the first clip has entities of its own"
    assert delete_video(corpus.db.sessions, corpus.settings, corpus.first)
    assert corpus.rows("SELECT video_id FROM mentions WHERE entity_id = :e GROUP BY 1", e=card) == [
        (corpus.second,)
    ]
    left = corpus.rows("SELECT id FROM entities WHERE id = ANY(:ids)", ids=[i for (i,) in own])
    assert left == []
    for table in ("events", "mentions", "relations"):
        assert corpus.rows(f"SELECT count(*) FROM {table} WHERE video_id = :a", a=corpus.first) == [
            (0,)
        ]
    assert corpus.rows(
        "SELECT count(*) FROM entities e WHERE NOT EXISTS (SELECT 1 FROM "
        "mentions m WHERE m.entity_id = e.id) AND NOT EXISTS (SELECT 1 FROM "
        "relations r WHERE r.src_entity_id = e.id)"
    ) == [(0,)]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("LAB 3 EVACUATED", "LAB 3 EVACUATEO", True),  # one letter misread
        ("NORTH BRIDGE CLOSED", "North bridge closed.", True),  # case and punctuation
        ("GATE 14 CLOSED", "GATE 41 CLOSED", False),  # different digits: different signs
        ("CAMERA 2", "CAMERA 3", False),
        ("EXIT", "EXAM", False),  # short forms merge only when identical
        ("RECEPTION AHEAD", "RECEPTION", False),
    ],
)
def test_fuzzy_text_keys(a: str, b: str, same: bool) -> None:
    assert bool(same_entity(canonical(a), canonical(b), 90.0, 6)) is same
