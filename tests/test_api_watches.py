"""Watches end to end: created over HTTP, matched during a real ingest of the sample,
delivered to a real local webhook receiver (which fails once, to prove the retry),
signed, never duplicated by a re-run, listed over HTTP.

One ingest of ``samples/briefing.mp4`` (module fixture) serves every test here; the
watches are created before it, as a client would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.cli.bench_scoring import overlaps
from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from indexer.webhooks import SWEEPER, deliver_pending
from tests.conftest import fresh_database
from tests.support import SAMPLE
from vidkg.db import Database, open_database
from vidkg.settings import Settings

TRUTH = json.loads(SAMPLE.with_name("briefing.truth.json").read_text())
BRIDGE_SAID = next(s for s in TRUTH["speech"] if "north bridge" in s["text"])
BRIDGE_SHOWN = next(s for s in TRUTH["onscreen_text"] if "BRIDGE" in s["text"])
CLIENT_SECRET = "a-client-chosen-secret-0123"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every webhook call; the first
    call of all is answered 500, any call to ``/gone`` 404."""

    calls: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self, watch_id: int | None = None) -> list[Received]:
        with self.lock:
            return [
                c
                for c in self.calls
                if c.status == 200 and watch_id in (None, int(c.headers["x-vidkg-watch"]))
            ]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status = 500 if not receiver.calls else 200
                    status = 404 if self.path == "/gone" else status
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.calls.append(Received(headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@dataclass
class Watched:
    settings: Settings
    db: Database
    client: TestClient
    receiver: Receiver
    pipeline: Pipeline
    video_id: int
    created: dict[str, dict[str, Any]]  # creation responses by role

    def hits(self, role: str) -> list[dict[str, Any]]:
        return self.hits_of(self.created[role]["watch_id"])

    def hits_of(self, watch_id: int) -> list[dict[str, Any]]:
        return self.client.get(f"/v1/watches/{watch_id}/hits").json()["items"]

    def rows(self, sql: str) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql)).mappings()]


@pytest.fixture(scope="module")
def watched(vidkg_home: Path, template_db: str, registry: ModelRegistry) -> Iterator[Watched]:
    receiver = Receiver()
    receiver.start()
    with fresh_database(vidkg_home, template_db) as settings:
        api = settings.api.model_copy(update={"open": True})
        db = open_database(settings)
        video_id = register_video(db.sessions, settings, SAMPLE).video_id
        with TestClient(create_app(settings.model_copy(update={"api": api}))) as client:
            bodies = {
                "said": {
                    "query": "north bridge",
                    "sources": ["speech"],
                    "webhook_url": receiver.url,
                },
                "shown": {
                    "name": "bridge sign",
                    "query": "bridge closed",
                    "sources": ["text"],
                    "secret": CLIENT_SECRET,
                },
                "absent": {"query": "submarine captain", "webhook_url": receiver.url},
                "seen": {"query": "person", "sources": ["object"], "video_ids": [video_id]},
                "captioned": {"query": "coffee machine", "sources": ["caption"]},
            }
            created = {}
            for role, body in bodies.items():
                answer = client.post("/v1/watches", json=body)
                assert answer.status_code == 201, answer.text
                created[role] = answer.json()
            pipeline = Pipeline(db, settings, registry)
            report = pipeline.ingest(video_id, settings.indexer.stages)
            assert report.status == "succeeded", report.failures
            assert SWEEPER.wait_idle(60), "webhook deliveries still running after 60 s"
            yield Watched(settings, db, client, receiver, pipeline, video_id, created)
        SWEEPER.wait_idle(60)
        db.dispose()
    assert receiver.server is not None
    receiver.server.shutdown()


def test_spoken_phrase_is_delivered_signed_after_one_retry(watched: Watched) -> None:
    said = watched.created["said"]
    calls = watched.receiver.delivered(said["watch_id"])
    assert len(calls) == 1, calls
    call = calls[0]
    hit = json.loads(call.body)
    assert hit["watch_id"] == said["watch_id"] and hit["watch_name"] == "north bridge"
    assert hit["video_id"] == watched.video_id and hit["file_name"] == "briefing.mp4"
    assert hit["source"] == "speech" and hit["query"] == "north bridge"
    assert "bridge" in hit["text"].lower() and overlaps(BRIDGE_SAID, hit, 0.5)
    assert BRIDGE_SAID["start_s"] - 1 <= hit["start_s"] <= BRIDGE_SAID["end_s"]
    expected = hmac.new(said["secret"].encode(), call.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-vidkg-signature"], f"sha256={expected}")
    assert call.headers["content-type"] == "application/json"
    assert call.headers["x-vidkg-delivery"] == str(hit["hit_id"])
    # The receiver's first answer was 500: the same hit was sent again, after backoff.
    first = watched.receiver.calls[0]
    assert first.status == 500 and first.body == call.body
    (stored,) = watched.hits("said")
    assert stored["hit_id"] == hit["hit_id"] and stored["delivery"] == "delivered"
    assert stored["attempts"] == 2 and stored["last_error"] == "HTTP 500"
    assert stored["delivered_at"] is not None


def test_words_not_in_the_video_get_no_hit(watched: Watched) -> None:
    absent = watched.created["absent"]
    assert absent["sources"] == ["speech", "text", "object", "caption"]
    assert watched.hits("absent") == []
    assert watched.receiver.delivered(absent["watch_id"]) == []


def test_text_watch_matches_what_is_shown(watched: Watched) -> None:
    shown = watched.created["shown"]
    assert shown["secret"] == CLIENT_SECRET and shown["webhook_url"] is None
    hits = watched.hits("shown")
    assert hits and all(h["source"] == "text" for h in hits)
    assert all(overlaps(BRIDGE_SHOWN, h, 1.0) for h in hits), hits
    assert any("BRIDGE" in h["text"].upper() for h in hits)
    assert all(h["delivery"] == "none" and h["attempts"] == 0 for h in hits)


def test_object_and_caption_watches_match_their_evidence(watched: Watched) -> None:
    assert watched.created["seen"]["video_ids"] == [watched.video_id]
    seen = watched.hits("seen")
    assert seen and all(h["source"] == "object" and h["text"] == "person" for h in seen)
    assert all(any(overlaps(w, h, 1.0) for w in TRUTH["people"]) for h in seen), seen
    captioned = watched.hits("captioned")
    coffee = next(s for s in TRUTH["speech"] if "coffee machine" in s["text"])
    assert len(captioned) == 1 and captioned[0]["source"] == "caption"
    assert "coffee machine" in captioned[0]["text"] and overlaps(coffee, captioned[0], 0.5)


def test_watches_are_listed_without_their_secrets(watched: Watched) -> None:
    client = watched.client
    listed = client.get("/v1/watches")
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == len(watched.created) and page["next_offset"] is None
    names = [w["name"] for w in page["items"]]
    assert names == ["north bridge", "bridge sign", "submarine captain", "person", "coffee machine"]
    said = watched.created["said"]
    one = client.get(f"/v1/watches/{said['watch_id']}")
    assert one.status_code == 200 and one.json()["hits"] == 1
    for answer in (listed, one):
        assert "secret" not in answer.text
        assert said["secret"] not in answer.text and CLIENT_SECRET not in answer.text
    hits = client.get(f"/v1/watches/{said['watch_id']}/hits", params={"limit": 1}).json()
    assert hits["total"] == 1 and hits["items"][0]["file_name"] == "briefing.mp4"
    assert client.get("/v1/watches/999999").status_code == 404
    assert client.get("/v1/watches/999999/hits").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"query": "bridge", "colour": "red"},
        {"query": "bridge", "sources": ["smell"]},
        {"query": "bridge", "sources": []},
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 501},
        {"query": "bridge\x00"},
        {"query": "bridge", "webhook_url": "ftp://example.org/hook"},
        {"query": "bridge", "webhook_url": "file:///etc/passwd"},
        {"query": "bridge", "webhook_url": "http://169.254.169.254/latest/meta-data/"},
        {"query": "bridge", "webhook_url": "http://2852039166/"},
        {"query": "bridge", "webhook_url": "http://[::ffff:169.254.169.254]/"},
        {"query": "bridge", "secret": "too-short"},
        {"query": "bridge", "video_ids": [999999]},
    ],
)
def test_invalid_watches_are_refused(watched: Watched, body: dict[str, Any]) -> None:
    answer = watched.client.post("/v1/watches", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_rerun_adds_no_hit_and_sends_nothing_again(watched: Watched) -> None:
    sql = "SELECT id, watch_id, source, start_s, attempts FROM watch_hits ORDER BY id"
    before, sent = watched.rows(sql), len(watched.receiver.calls)
    with watched.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM ingest_checkpoints WHERE stage = 'asr'"))
    redo = watched.pipeline.ingest(watched.video_id, ["asr"])
    assert redo.stages["asr"].chunks_done == redo.chunks  # speech was matched again
    assert SWEEPER.wait_idle(60)
    assert watched.rows(sql) == before
    assert len(watched.receiver.calls) == sent


def test_a_pending_delivery_left_by_a_dead_process_is_sent_by_the_sweep(
    watched: Watched,
) -> None:
    said = watched.created["said"]
    with watched.db.engine.begin() as conn:  # as if the process died before recording it
        conn.execute(
            text(
                "UPDATE watch_hits SET delivery = 'pending', delivered_at = NULL"
                " WHERE watch_id = :w"
            ),
            {"w": said["watch_id"]},
        )
    report = deliver_pending(watched.db, watched.settings)
    assert (report.delivered, report.failed, report.busy) == (1, 0, 0)
    again = watched.receiver.delivered(said["watch_id"])
    assert len(again) == 2 and again[0].body == again[1].body
    assert again[0].headers["x-vidkg-delivery"] == again[1].headers["x-vidkg-delivery"]
    (stored,) = watched.hits("said")
    assert stored["delivery"] == "delivered" and stored["attempts"] == 3


def test_deleting_a_watch_stops_it_and_keeps_its_hits(watched: Watched) -> None:
    client, shown = watched.client, watched.created["shown"]
    assert client.delete(f"/v1/watches/{shown['watch_id']}").status_code == 204
    after = client.get(f"/v1/watches/{shown['watch_id']}").json()
    assert after["active"] is False and after["hits"] == len(watched.hits("shown")) > 0
    active = client.get("/v1/watches", params={"active": True}).json()
    assert shown["watch_id"] not in [w["watch_id"] for w in active["items"]]
    assert client.delete("/v1/watches/999999").status_code == 404


def test_dead_and_refusing_webhooks_are_given_up(watched: Watched) -> None:
    """Connection refused is retried (with backoff) until the budget is spent; a 4xx
    is final at once."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    urls = {"dead": dead_url, "gone": watched.receiver.url.replace("/hook", "/gone")}
    ids = {}
    for role, url in urls.items():
        made = watched.client.post("/v1/watches", json={"query": role, "webhook_url": url})
        ids[role] = made.json()["watch_id"]
    with watched.db.engine.begin() as conn:
        for watch_id in ids.values():
            conn.execute(
                text(
                    "INSERT INTO watch_hits (watch_id, video_id, chunk_index, start_s, end_s,"
                    " source, text, delivery) VALUES (:w, :v, 0, 1, 2, 'speech', 'x', 'pending')"
                ),
                {"w": watch_id, "v": watched.video_id},
            )
    api = watched.settings.api.model_copy(update={"webhook_retries": 2})
    waits: list[float] = []
    report = deliver_pending(
        watched.db, watched.settings.model_copy(update={"api": api}), sleep=waits.append
    )
    assert (report.delivered, report.failed) == (0, 2)
    assert waits == [1.0, 2.0]
    (dead,) = watched.hits_of(ids["dead"])
    assert dead["delivery"] == "failed" and dead["attempts"] == 3
    assert dead["last_error"].startswith("ConnectError")
    (gone,) = watched.hits_of(ids["gone"])
    assert gone["delivery"] == "failed" and gone["attempts"] == 1
    assert gone["last_error"] == "HTTP 404"
