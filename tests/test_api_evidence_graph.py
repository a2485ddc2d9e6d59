"""The evidence and graph routes against the ingested sample: what they serve must be
what samples/briefing.truth.json says is said and shown, and when.

One open app for the module (lent the session's loaded models); the sample
is shared and read-only, and ids are looked up, never assumed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from io import BytesIO
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from api.app import create_app
from api.cli import graph_commands
from api.cli.state import CliState
from indexer.models import ModelRegistry
from tests.conftest import Ingested
from tests.support import REPO

TRUTH = json.loads((REPO / "samples" / "briefing.truth.json").read_text())
SLACK_S = 0.6  # text is read on sampled frames: its times are good to about this
Json = dict[str, Any]


@pytest.fixture(scope="module")
def client(sample: Ingested, registry: ModelRegistry) -> Iterator[TestClient]:
    """The open app, lent the session's models."""
    api = sample.settings.api.model_copy(update={"open": True})
    with TestClient(create_app(sample.settings.model_copy(update={"api": api}), registry)) as c:
        yield c


def _get(client: TestClient, path: str, **params: object) -> Json:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _items(client: TestClient, sample: Ingested, kind: str, a: float, b: float) -> list[Json]:
    page = _get(client, f"/v1/videos/{sample.video_id}/{kind}", start_s=a, end_s=b, limit=1000)
    assert page["next_offset"] is None and page["total"] == len(page["items"])
    return page["items"]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{4,}", text.lower()))


def _segment(at: float) -> Json:
    """The truth's segment (a shot between cuts) holding time ``at``."""
    return next(s for s in TRUTH["segments"] if s["start_s"] <= at < s["end_s"])


# ---- evidence ---------------------------------------------------------------------------


def test_speech_in_a_window_is_what_is_said_there(client: TestClient, sample: Ingested) -> None:
    for said in TRUTH["speech"]:
        seg = _segment(said["start_s"])
        items = _items(client, sample, "speech", seg["start_s"], seg["end_s"])
        assert len(items) == 1, items
        words = items[0]["words"]
        heard = _words(" ".join(w["word"] for w in words))
        spoken = _words(said["text"])
        assert len(heard & spoken) >= len(spoken) / 2, (said["text"], items[0]["text"])
        assert all(seg["start_s"] <= w["start_s"] <= w["end_s"] <= seg["end_s"] for w in words)
        assert all(0 <= w["probability"] <= 1 for w in words)
    bridge = _items(client, sample, "speech", 14.0, 21.0)[0]
    assert {"inspection", "north", "bridge", "monday"} <= _words(bridge["text"])
    assert _items(client, sample, "speech", 21.0, 27.0) == [], "nothing is said on the photo"


def test_on_screen_text_at_its_time(client: TestClient, sample: Ingested) -> None:
    for shown in TRUTH["onscreen_text"]:
        inside = (shown["start_s"] + 1.0, shown["end_s"] - 1.0)
        (item,) = _items(client, sample, "text", *inside)
        assert item["text"] == shown["text"]
        assert abs(item["start_s"] - shown["start_s"]) <= SLACK_S
        assert abs(item["end_s"] - shown["end_s"]) <= SLACK_S
        box = item["box"]
        assert 0 <= box["x1"] < box["x2"] <= 1 and 0 <= box["y1"] < box["y2"] <= 1
    assert _items(client, sample, "text", 6.5, 13.5) == [], "no text over the footage"


def test_people_tracks_and_detections_where_people_are(
    client: TestClient, sample: Ingested
) -> None:
    people = [(p["start_s"], p["end_s"]) for p in TRUTH["people"]]

    def where_people(t: float) -> bool:
        return any(a - SLACK_S <= t <= b + SLACK_S for a, b in people)

    detections = _items(client, sample, "detections", 0.0, 60.0)
    assert detections and all(d["label"] == "person" for d in detections)
    assert all(
        d["start_s"] == d["t_s"] == d["end_s"] and where_people(d["t_s"]) for d in detections
    )
    tracks = _items(client, sample, "tracks", 6.0, 14.0)
    assert tracks and all(t["label"] == "person" and where_people(t["start_s"]) for t in tracks)
    for t in tracks:
        first, last = t["first"], t["last"]
        assert t["start_s"] <= first["t_s"] <= last["t_s"] <= t["end_s"]
        assert 0 <= first["box"]["x1"] < first["box"]["x2"] <= 1
    in_window = [d for d in _items(client, sample, "detections", 6.0, 14.0) if d["track_id"]]
    assert {d["track_id"] for d in in_window} <= {t["id"] for t in tracks}


def test_scenes_tile_the_video_and_cut_where_the_truth_does(
    client: TestClient, sample: Ingested
) -> None:
    whole = _items(client, sample, "scenes", 0.0, 60.0)
    assert whole == sorted(whole, key=lambda x: (x["start_s"], x["id"]))
    assert [c["scene_index"] for c in whole] == list(range(len(whole)))
    assert whole[0]["start_s"] == 0.0 and abs(whole[-1]["end_s"] - 60.0) <= 0.1
    assert all(a["end_s"] == pytest.approx(b["start_s"], abs=0.05) for a, b in pairwise(whole))
    cuts = [c["start_s"] for c in whole if c["cut_before"]]
    assert cuts == pytest.approx(TRUTH["cuts"], abs=0.041)  # one frame at 25 fps
    for c in whole:
        (t,) = c["keyframe_times"]
        assert c["start_s"] <= t <= c["end_s"]
        assert c["frame_url"] == f"/v1/videos/{sample.video_id}/frame?t={t}"
    # A window holds the scenes overlapping it (touching counts), and only those.
    for a, b in [(s["start_s"] + 0.5, s["end_s"] - 0.5) for s in TRUTH["segments"]] + [
        (whole[3]["start_s"], whole[3]["start_s"]),
        (10.0, 30.0),
    ]:
        inside = _items(client, sample, "scenes", a, b)
        assert inside == [c for c in whole if c["end_s"] >= a and c["start_s"] <= b], (a, b)
    (mid,) = _items(client, sample, "scenes", 17.0, 18.0)
    assert mid["start_s"] <= 17.0 and mid["end_s"] >= 18.0 and mid["shot_index"] == 2
    # Its frame_url serves the keyframe the indexer kept.
    image = client.get(mid["frame_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["x-frame-source"] == "keyframe"
    assert float(image.headers["x-frame-time"]) == pytest.approx(mid["keyframe_times"][0], abs=1e-3)
    assert _problem(client, "/v1/videos/999999/scenes", 404)["detail"] == "no video 999999"


def test_an_event_lists_the_rows_it_was_fused_from(client: TestClient, sample: Ingested) -> None:
    events = _items(client, sample, "events", 15.0, 20.0)
    (event,) = [e for e in events if e["title"] == "NORTH BRIDGE CLOSED"]
    assert (event["start_s"], event["end_s"]) == (14.0, 21.0)
    sources = {(s["kind"], s["id"]) for s in event["sources"]}
    (text,) = _items(client, sample, "text", 15.0, 20.0)
    (speech,) = _items(client, sample, "speech", 15.0, 20.0)
    assert {("onscreen_text", text["id"]), ("speech_segments", speech["id"])} <= sources


@pytest.mark.parametrize("kind", ["events", "speech", "scenes"])
def test_pages_add_up_to_the_whole_list(client: TestClient, sample: Ingested, kind: str) -> None:
    path = f"/v1/videos/{sample.video_id}/{kind}"
    whole = _get(client, path, limit=1000)["items"]
    assert len(whole) >= 4
    assert whole == sorted(whole, key=lambda x: (x["start_s"], x["id"]))
    pages, offset = [], 0
    while offset is not None:
        page = _get(client, path, limit=2, offset=offset)
        assert page["total"] == len(whole) and len(page["items"]) <= 2
        pages += page["items"]
        offset = page["next_offset"]
    assert pages == whole and len({x["id"] for x in pages}) == len(pages)
    past = _get(client, path, limit=2, offset=len(whole) + 5)
    assert past["items"] == [] and past["total"] == len(whole) and past["next_offset"] is None


def _problem(client: TestClient, path: str, status: int, **params: object) -> Json:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


def test_bad_windows_and_unknown_videos_are_problems(client: TestClient, sample: Ingested) -> None:
    path = f"/v1/videos/{sample.video_id}/speech"
    backwards = _problem(client, path, 422, start_s=20, end_s=10)
    assert "before start_s" in backwards["detail"]
    top = sample.settings.api.page_max
    assert str(top) in _problem(client, path, 422, limit=top + 1)["detail"]
    for bad in ({"limit": 0}, {"start_s": -1}, {"end_s": "nan"}, {"offset": -1}):
        _problem(client, path, 422, **bad)
    missing = _problem(client, "/v1/videos/999999/text", 404)
    assert missing["detail"] == "no video 999999" and missing["status"] == 404
    _problem(client, "/v1/videos/99999999999999999999/events", 404)


# ---- graph ------------------------------------------------------------------------------


def _entity(client: TestClient, kind: str, name: str) -> Json:
    found = _get(client, "/v1/graph/entities", kind=kind, name=name)["items"]
    return next(e for e in found if e["name"] == name)


def test_entities_filter_by_kind_name_and_video(client: TestClient, sample: Ingested) -> None:
    texts = _get(client, "/v1/graph/entities", kind="text", video_id=sample.video_id)
    assert {e["name"] for e in texts["items"]} == {t["text"] for t in TRUTH["onscreen_text"]}
    for e in texts["items"]:
        shown = next(t for t in TRUTH["onscreen_text"] if t["text"] == e["name"])
        assert abs(e["first_s"] - shown["start_s"]) <= SLACK_S and e["videos"] == [sample.video_id]
    page = _get(client, "/v1/graph/entities", kind="text", limit=2)
    assert page["total"] == 4 and page["next_offset"] == 2 and page["items"] == texts["items"][:2]
    bridge = _get(client, "/v1/graph/entities", name="Bridge")["items"]
    assert {(e["kind"], e["name"]) for e in bridge} >= {
        ("text", "NORTH BRIDGE CLOSED"),
        ("name", "North Bridge"),
    }
    assert all("bridge" in e["name"].lower() for e in bridge)
    misread = _get(client, "/v1/graph/entities", name="nort brige closd", fuzzy=True)["items"]
    assert "NORTH BRIDGE CLOSED" in {e["name"] for e in misread}
    assert _get(client, "/v1/graph/entities", name="nort brige closd")["items"] == []
    _problem(client, "/v1/graph/entities", 404, video_id=999999)
    _problem(client, "/v1/graph/entities", 422, name="!!")
    _problem(client, "/v1/graph/entities", 422, kind="planet")


def _cli(sample: Ingested, *args: str) -> Result:
    """``vidkg graph ...`` in-process, on the sample's database."""
    cli = CliState(sample.settings)
    try:
        return CliRunner().invoke(graph_commands.app, list(args), obj=cli)
    finally:
        cli.db.dispose()


def test_the_cli_lists_the_same_entities(client: TestClient, sample: Ingested) -> None:
    listed = _cli(sample, "entities", "--json")
    assert listed.exit_code == 0, listed.output
    served = _get(client, "/v1/graph/entities", limit=1000)["items"]
    assert json.loads(listed.stdout) == served


def test_an_entity_timeline_matches_the_truth(client: TestClient, sample: Ingested) -> None:
    card = _entity(client, "text", "NORTH BRIDGE CLOSED")
    (seen,) = _get(client, f"/v1/graph/entities/{card['id']}/timeline")
    assert seen["predicate"] == "SHOWS" and seen["source_kind"] == "onscreen_text"
    assert abs(seen["start_s"] - 14.0) <= SLACK_S and abs(seen["end_s"] - 21.0) <= SLACK_S
    maria = _entity(client, "name", "Maria Lopez")
    (said,) = _get(client, f"/v1/graph/entities/{maria['id']}/timeline", video_id=sample.video_id)
    spoken = TRUTH["speech"][0]
    assert said["predicate"] == "MENTIONS" and said["source_kind"] == "speech_segments"
    assert spoken["start_s"] - 0.5 <= said["start_s"] < said["end_s"] <= spoken["end_s"]
    assert _problem(client, "/v1/graph/entities/999999/timeline", 404)["detail"] == (
        "no entity 999999"
    )


def _event_at(client: TestClient, sample: Ingested, start_s: float) -> Json:
    events = _items(client, sample, "events", start_s + 0.1, start_s + 0.2)
    return next(e for e in events if e["start_s"] == start_s)


def test_neighbours_of_an_entity_and_of_an_event(client: TestClient, sample: Ingested) -> None:
    card = _entity(client, "text", "NORTH BRIDGE CLOSED")
    near = _get(client, f"/v1/graph/entities/{card['id']}/neighbours")
    events = [n["node"] for n in near if n["node"]["type"] == "event"]
    assert [(e["name"], e["start_s"]) for e in events] == [("NORTH BRIDGE CLOSED", 14.0)]
    assert all(n["hops"] == 1 for n in near)
    event = _event_at(client, sample, 14.0)
    around = _get(client, f"/v1/graph/events/{event['id']}/neighbours", hops=1)
    names = {n["node"]["name"] for n in around}
    assert {"NORTH BRIDGE CLOSED", "North Bridge", "Monday"} <= names
    assert {n["node"]["start_s"] for n in around if n["node"]["type"] == "event"} == {6.0, 21.0}
    wider = _get(client, f"/v1/graph/events/{event['id']}/neighbours", hops=2)
    assert [n["hops"] for n in wider] == sorted(n["hops"] for n in wider) and len(wider) > len(
        around
    )
    _problem(client, f"/v1/graph/events/{event['id']}/neighbours", 422, hops=4)
    _problem(client, "/v1/graph/events/999999/neighbours", 404)


def test_events_after_and_before_an_event(client: TestClient, sample: Ingested) -> None:
    starts = [s["start_s"] for s in TRUTH["segments"]]
    event = _event_at(client, sample, 14.0)
    path = f"/v1/graph/events/{event['id']}"

    def times(kind: str, **params: object) -> list[float]:
        return [n["start_s"] for n in client.get(f"{path}/{kind}", params=params).json()]

    assert times("after", n=2) == starts[3:5] == [21.0, 27.0]
    assert times("before", n=2) == [6.0, 0.0]
    spoken = [_segment(s["start_s"])["start_s"] for s in TRUTH["speech"]]
    assert times("after", n=2, said=True) == [s for s in spoken if s > 14.0][:2]
    assert times("after", n=100) == starts[3:]
    _problem(client, "/v1/graph/events/999999/after", 404)
    _problem(client, f"{path}/after", 422, n=0)


def test_path_and_central_are_the_clis(client: TestClient, sample: Ingested) -> None:
    card = _entity(client, "text", "NORTH BRIDGE CLOSED")
    maria = _entity(client, "name", "Maria Lopez")
    a, b = f"entity:{card['id']}", f"entity:{maria['id']}"
    steps = _get(client, "/v1/graph/path", a=a, b=b)
    assert steps[0]["node"]["node"] == a and steps[-1]["node"]["node"] == b
    assert steps[0]["via"] is None and all(s["via"] for s in steps[1:])
    listed = _cli(sample, "path", a, b, "--json")
    assert json.loads(listed.stdout) == [{"via": s["via"], **s["node"]} for s in steps]
    top = _get(client, "/v1/graph/central", video_id=sample.video_id, top=3)
    assert len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    assert all(t["why"] for t in top)
    _problem(client, "/v1/graph/path", 422, a="entity:x", b=b)
    _problem(client, "/v1/graph/path", 404, a="entity:999999", b=b)


@pytest.mark.parametrize("scope", ["video", "library"])
def test_graphml_and_json_exports_hold_the_same_graph(
    client: TestClient, sample: Ingested, scope: str
) -> None:
    params = {"video_id": sample.video_id} if scope == "video" else {}
    graphml = client.get("/v1/graph/export", params={"format": "graphml", **params})
    assert graphml.status_code == 200 and graphml.headers["content-type"].startswith(
        "application/graphml+xml"
    )
    as_json = client.get("/v1/graph/export", params={"format": "json", **params})
    assert as_json.status_code == 200
    g = nx.read_graphml(BytesIO(graphml.content))
    nodes = {n["id"] for n in as_json.json()["nodes"]}
    assert set(g.nodes) == nodes and len(nodes) > 20
    card = next(n for n, a in g.nodes(data=True) if a.get("name") == "NORTH BRIDGE CLOSED")
    assert g.nodes[card]["type"] in {"event", "entity"}
    assert len(as_json.json()["edges"]) == g.number_of_edges()


def test_the_cli_exports_the_same_file(
    client: TestClient, sample: Ingested, tmp_path: Path
) -> None:
    out = tmp_path / "g.graphml"
    done = _cli(sample, "export", str(out), "--video", str(sample.video_id))
    assert done.exit_code == 0, done.output
    served = client.get("/v1/graph/export", params={"video_id": sample.video_id})
    assert served.content == out.read_bytes()


def test_the_routes_need_a_key(sample: Ingested, registry: ModelRegistry) -> None:
    """A closed app refuses anonymous callers before looking anything up."""
    with TestClient(create_app(sample.settings, registry)) as anonymous:
        for path in (
            f"/v1/videos/{sample.video_id}/speech",
            f"/v1/videos/{sample.video_id}/scenes",
            "/v1/graph/entities",
        ):
            _problem(anonymous, path, 401)
        _problem(anonymous, "/v1/videos/999999/speech", 401, start_s=5, end_s=1)


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = _get(client, "/openapi.json")["paths"]
    for kind in ("scenes", "events", "speech", "text", "tracks", "detections"):
        assert f"/v1/videos/{{video_id}}/{kind}" in paths
    for path in ("/entities", "/entities/{entity_id}/timeline", "/events/{event_id}/after"):
        assert f"/v1/graph{path}" in paths
