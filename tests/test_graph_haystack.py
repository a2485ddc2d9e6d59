"""The knowledge graph of the 5-minute haystack (seed 1), against its exact ground truth.

The haystack is ingested once per session (conftest ``haystack5``); its graph is built
by the job's ``graph`` unit like any ingest's. Measured numbers are printed
(``pytest -s``) for the closing notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rapidfuzz import fuzz
from sqlalchemy import text

from graph import queries
from graph.service import GraphService
from graph.text import canonical
from tests.conftest import IngestedHaystack
from vidkg.db import Database, open_database

FIRST_MENTION_TOLERANCE_S = 1.5
VTEST = "vtest.avi"


@dataclass
class Graph:
    truth: dict
    db: Database
    service: GraphService

    def rows(self, sql: str, **params: object) -> list[dict]:
        with self.db.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]


@pytest.fixture(scope="module")
def hay(haystack5: IngestedHaystack) -> Graph:
    db = open_database(haystack5.settings)
    yield Graph(haystack5.truth, db, GraphService(db.sessions))
    db.dispose()


def _near(a0: float, a1: float, b0: float, b1: float, slack: float) -> bool:
    return a0 - slack < b1 and b0 - slack < a1


def _matches(read: str, truth: str) -> bool:
    """Is an OCR reading (part of) the truth's text? Scene text is read in pieces."""
    r, t = canonical(read), canonical(truth)
    return len(r) >= 4 and fuzz.partial_ratio(r, t) >= 80


def test_every_text_read_is_an_entity_first_mentioned_at_its_start(hay: Graph) -> None:
    mentions = hay.rows(
        "SELECT entity_id, entity, start_s, end_s FROM v_entity_timeline WHERE kind = 'text'"
    )
    texts = hay.rows("SELECT text, start_s, end_s FROM onscreen_text")
    first = {}
    for m in mentions:
        first[m["entity_id"]] = min(first.get(m["entity_id"], 1e9), m["start_s"])
    truth = hay.truth["onscreen_text"]
    read = found = 0
    for t in truth:
        slack = FIRST_MENTION_TOLERANCE_S
        if any(
            _near(r["start_s"], r["end_s"], t["start_s"], t["end_s"], slack)
            and _matches(r["text"], t["text"])
            for r in texts
        ):
            read += 1
        ours = {
            m["entity_id"]
            for m in mentions
            if _near(m["start_s"], m["end_s"], t["start_s"], t["end_s"], slack)
            and _matches(m["entity"], t["text"])
        }
        if ours:
            found += 1
            assert any(abs(first[e] - t["start_s"]) <= slack for e in ours), (t, ours)
    print(f"\non-screen texts: {read} of {len(truth)} read by the indexer, {found} entities")
    assert found == read, "every text the indexer read is an entity"
    assert read >= len(truth) - 1  # measured: 10 of 10


def test_one_entity_per_thing_with_every_mention_its_own(hay: Graph) -> None:
    """The person label is one object entity with a mention per track (and per event of
    untracked sightings); a text entity's mentions all read as that text."""
    repeated = hay.rows(
        "SELECT entity, count(*) AS n FROM v_entity_timeline WHERE kind IN ('text', 'object') "
        "GROUP BY entity HAVING count(*) > 1"
    )
    assert any(r["entity"] == "person" for r in repeated), "one object entity, many tracks"
    per_key = hay.rows(
        "SELECT kind, canonical_name, count(*) AS n FROM entities GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert per_key == []
    tracks = hay.rows("SELECT count(*) AS n FROM tracks WHERE label = 'person'")[0]["n"]
    objects = hay.rows(
        "SELECT source_kind, count(*) AS n FROM v_entity_timeline "
        "WHERE kind = 'object' AND entity = 'person' GROUP BY 1"
    )
    assert {r["source_kind"]: r["n"] for r in objects}.get("tracks") == tracks > 5
    for m in hay.rows("SELECT entity, surface FROM v_entity_timeline WHERE kind = 'text'"):
        assert fuzz.ratio(canonical(m["surface"]), canonical(m["entity"])) >= 90, m


def _windows(truth: dict, source: str) -> list[tuple[float, float]]:
    return [(s["start_s"], s["end_s"]) for s in truth["segments"] if s["source"] == source]


def test_people_of_the_pedestrian_footage_are_person_entities(hay: Graph) -> None:
    people = hay.rows(
        "SELECT entity_id, start_s, end_s FROM v_entity_timeline WHERE kind = 'person'"
    )
    coverage = []
    for a, b in _windows(hay.truth, VTEST):
        inside = [
            (max(a, p["start_s"]), min(b, p["end_s"]))
            for p in people
            if _near(p["start_s"], p["end_s"], a, b, 0.0)
        ]
        assert inside, f"no person entity in the pedestrian footage at {a}-{b} s"
        covered = max(y for _, y in inside) - min(x for x, _ in inside)
        coverage.append(covered / (b - a))
    print("\nperson mentions span of each vtest window:", [round(c, 2) for c in coverage])


def test_person_links_never_join_different_footage(hay: Graph) -> None:
    """A person entity with several tracks: every track must come from one source (the
    same footage recurring); a link across sources is a wrong merge."""
    tracks = hay.rows(
        "SELECT entity_id, start_s, end_s FROM v_entity_timeline WHERE kind = 'person'"
    )
    segments = hay.truth["segments"]

    def source(t: dict) -> str:
        mid = (t["start_s"] + t["end_s"]) / 2
        return next(s["source"] for s in segments if s["start_s"] <= mid <= s["end_s"])

    by_person: dict[int, list[str]] = {}
    for t in tracks:
        by_person.setdefault(t["entity_id"], []).append(source(t))
    linked = {p: s for p, s in by_person.items() if len(s) > 1}
    wrong = [s for s in linked.values() if len(set(s)) > 1]
    print(
        f"\nperson tracks {len(tracks)}, person entities {len(by_person)}, "
        f"linked {len(linked)} ({sorted(map(sorted, linked.values()))}), wrong merges {len(wrong)}"
    )
    assert wrong == []


def test_after_the_lab_card_comes_the_next_sentence(hay: Graph) -> None:
    card = next(t for t in hay.truth["onscreen_text"] if t["text"] == "LAB 3 EVACUATED")
    entity = hay.rows(
        "SELECT id FROM entities WHERE kind = 'text' AND canonical_name = 'lab 3 evacuated'"
    )[0]["id"]
    (appearance,) = hay.service.timeline(entity)
    assert abs(appearance.start_s - card["start_s"]) <= FIRST_MENTION_TOLERANCE_S
    (nxt,) = hay.service.after(appearance.event_id, 1, said=True)
    spoken = next(s for s in hay.truth["speech"] if s["start_s"] >= card["start_s"] and s["text"])
    assert nxt.start_s <= spoken["start_s"] and spoken["end_s"] <= nxt.end_s + 1.0, nxt
    said = hay.rows(
        "SELECT sp.text FROM event_sources es JOIN speech_segments sp ON sp.id = es.source_id "
        "WHERE es.event_id = :e AND es.source_kind = 'speech_segments'",
        e=nxt.id,
    )
    assert "flag" in " ".join(r["text"] for r in said).lower()
    g = hay.service.graph(nxt.video_id)
    assert queries.after_entity(g, entity, 1, said=True) == [nxt], "from the entity too"
    (at_card,) = queries.events_after_time(g, nxt.video_id, card["start_s"] - 0.5, 1)
    assert at_card.id == appearance.event_id, "by time: the card's own event"
    assert queries.first_last(g, entity) == (appearance, appearance)


def test_next_edges_form_one_chain_in_time_order(hay: Graph) -> None:
    events = hay.rows("SELECT id, start_s, end_s FROM events ORDER BY start_s")
    edges = hay.rows(
        "SELECT src_event_id AS a, dst_event_id AS b FROM relations WHERE predicate = 'NEXT'"
    )
    assert len(edges) == len(events) - 1 > 30
    chain = {e["a"]: e["b"] for e in edges}
    walk = [events[0]["id"]]
    while walk[-1] in chain:
        walk.append(chain[walk[-1]])
    assert walk == [e["id"] for e in events], "one chain through every event, in time order"
    assert events[-1]["end_s"] >= hay.truth["meta"]["duration_s"] - 1


def test_analyst_views_and_the_graph_agree(hay: Graph) -> None:
    (counts,) = hay.rows("SELECT counts FROM graph_builds")
    mentions = hay.rows("SELECT count(*) AS n FROM v_entity_timeline")[0]["n"]
    edges = hay.rows(
        "SELECT predicate, count(*) AS n, count(*) FILTER (WHERE src_name IS NULL "
        "OR dst_name IS NULL) AS unnamed FROM v_event_graph GROUP BY 1"
    )
    assert mentions == counts["counts"]["mentions"]
    assert {e["predicate"]: e["n"] for e in edges} == {
        k.removeprefix("relation:"): v
        for k, v in counts["counts"].items()
        if k.startswith("relation:")
    }
    assert all(e["unnamed"] == 0 for e in edges)
    assert {"NEXT", "SHOWS", "MENTIONS", "CO_OCCURS"} <= {e["predicate"] for e in edges}
    embedded = hay.rows(
        "SELECT count(*) FILTER (WHERE embedding IS NULL OR embedding_model IS NULL) AS n "
        "FROM events"
    )
    assert embedded[0]["n"] == 0, "every event description is embedded (the embed stage's model)"
    evidence = hay.rows("SELECT count(*) AS n FROM v_entity_timeline WHERE evidence IS NULL")
    assert evidence[0]["n"] == 0
    g = hay.service.graph(None)
    assert g.number_of_edges() == sum(e["n"] for e in edges)
    top = hay.service.central(top=3)
    assert len(top) == 3 and all("mention" in r.why for r in top)
