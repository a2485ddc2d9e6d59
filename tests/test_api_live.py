"""The API as analysts' tools use it: ``vidkg serve`` (uvicorn on a loopback port) over
the embedded PostgreSQL, with a real Redis broker and a real ``vidkg worker``, or with
no broker at all (the server runs the jobs). Every call goes over HTTP.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import text

from api.keys import KeyStore, parse_scopes
from tests.api_support import live_server
from tests.support import SAMPLE, VTEST, cli_env, require, run_cli
from tests.workers import start_worker, stop
from vidkg.db import Database
from vidkg.settings import Settings


def _keys(db: Database) -> dict[str, dict[str, str]]:
    store = KeyStore(db.sessions)
    return {
        s: {"Authorization": f"Bearer {store.create(parse_scopes(s), s).secret}"}
        for s in ("read", "ingest", "admin")
    }


def _events(client: httpx.Client, url: str, headers: dict, **kw: object) -> Iterator[tuple]:
    """Server-sent events of a stream, as (event, data) pairs."""
    with client.stream(kw.pop("method", "GET"), url, headers=headers, timeout=300, **kw) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                yield event, json.loads(line.split(":", 1)[1])
                event = None


def test_upload_ingest_search_ask_evidence_sql_delete_over_http(
    settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    keys = _keys(db)
    env = {"VIDKG_BROKER_URL": broker, "VIDKG_INDEXER__CHUNK_S": "30"}
    worker = start_worker(cli_env(settings) | env, tmp_path / "worker.log")
    try:
        with (
            live_server(settings, tmp_path / "serve.log", env) as base,
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            _flow(client, keys, settings)
    finally:
        stop(worker)
    assert not [p for p in settings.uploads_dir.rglob("*") if p.is_file()]


def _flow(client: httpx.Client, keys: dict, settings: Settings) -> None:
    assert client.get("/v1/videos").status_code == 401
    assert client.get("/readyz").json()["broker"] == "ok"
    with SAMPLE.open("rb") as f:
        refused = client.post("/v1/videos", files={"file": f}, headers=keys["read"])
    assert refused.status_code == 403
    with SAMPLE.open("rb") as f:
        made = client.post(
            "/v1/videos", files={"file": ("briefing.mp4", f)}, headers=keys["ingest"]
        )
    assert made.status_code == 201, made.text
    video_id, job_id = made.json()["video"]["video_id"], made.json()["job"]["job_id"]
    # Progress as server-sent events, until the job ends.
    seen = list(_events(client, f"/v1/jobs/{job_id}/events", keys["read"]))
    assert seen[-1] == ("end", {"status": "succeeded"}), seen[-3:]
    fractions = [d["fraction_done"] for e, d in seen if e == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 2
    job = client.get(f"/v1/jobs/{job_id}", headers=keys["read"]).json()
    assert job["status"] == "succeeded" and job["stages"]["asr"]["chunks_done"] == 2
    _search_and_ask(client, keys, settings, video_id)
    _evidence_media_graph(client, keys["read"], video_id)
    _sql_and_metrics(client, keys, video_id)
    assert client.delete(f"/v1/videos/{video_id}", headers=keys["read"]).status_code == 403
    assert client.delete(f"/v1/videos/{video_id}", headers=keys["admin"]).status_code == 204
    assert client.get(f"/v1/videos/{video_id}", headers=keys["read"]).status_code == 404
    assert not list((settings.home / "clips").glob("*"))  # cached clips went with it
    gone = client.post(
        "/v1/sql", json={"sql": "SELECT count(*) AS n FROM speech_segments"}, headers=keys["read"]
    )
    assert gone.json()["rows"] == [{"n": 0}]


def _search_and_ask(client: httpx.Client, keys: dict, settings: Settings, video_id: int) -> None:
    found = client.get(
        "/v1/search", params={"q": "north bridge", "sources": "text"}, headers=keys["read"]
    ).json()
    top = found["moments"][0]
    assert top["video_id"] == video_id and "BRIDGE" in top["text"]
    assert 13.5 <= top["start_s"] <= 21.0
    question = "When is the north bridge inspection scheduled?"
    asked = client.post(
        "/v1/ask", json={"question": question, "video_ids": [video_id]}, headers=keys["read"]
    )
    answer = asked.json()
    assert "monday" in answer["answer"].lower() and answer["known"]
    cited = answer["citations"][0]
    assert cited["video_id"] == video_id and 14.0 <= cited["start_s"] <= cited["end_s"] <= 18.8
    cli = run_cli(settings, "ask", question, "--video", str(video_id), "--json")
    same = json.loads(cli.stdout)
    assert {k: same[k] for k in ("answer", "citations", "plan")} == {
        k: answer[k] for k in ("answer", "citations", "plan")
    }
    streamed = list(
        _events(
            client,
            "/v1/ask",
            keys["read"],
            method="POST",
            json={"question": question, "stream": True},
        )
    )
    assert [e for e, _ in streamed] == ["plan", "answer", "end"]
    assert streamed[0][1]["answer_type"] == answer["plan"]["answer_type"]
    assert streamed[1][1]["answer"] == answer["answer"]


def _evidence_media_graph(client: httpx.Client, read: dict, video_id: int) -> None:
    said = client.get(
        f"/v1/videos/{video_id}/speech", params={"start_s": 14, "end_s": 19}, headers=read
    ).json()["items"]
    words = [w["word"].strip(" .,").lower() for s in said for w in s["words"]]
    assert "bridge" in words and all(s["end_s"] >= 14 and s["start_s"] <= 19 for s in said)
    head = client.get(f"/v1/videos/{video_id}/file", headers={**read, "Range": "bytes=0-99"})
    assert head.status_code == 206 and head.content == SAMPLE.read_bytes()[:100]
    clip = client.get(
        f"/v1/videos/{video_id}/clip", params={"start_s": 14, "end_s": 21}, headers=read
    )
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    part = client.get(
        f"/v1/videos/{video_id}/clip",
        params={"start_s": 14, "end_s": 21},
        headers={**read, "Range": "bytes=100-199"},
    )
    assert part.status_code == 206 and part.content == clip.content[100:200]
    texts = client.get(
        "/v1/graph/entities", params={"kind": "text", "video_id": video_id}, headers=read
    ).json()["items"]
    assert any("BRIDGE" in e["name"].upper() for e in texts), texts


def _sql_and_metrics(client: httpx.Client, keys: dict, video_id: int) -> None:
    rows = client.post(
        "/v1/sql",
        json={"sql": "SELECT text FROM v_timeline WHERE kind = 'onscreen_text' ORDER BY start_s"},
        headers=keys["read"],
    ).json()["rows"]
    assert any("BRIDGE" in r["text"] for r in rows)
    refused = client.post("/v1/sql", json={"sql": "DROP TABLE videos"}, headers=keys["read"])
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    metrics = client.get("/metrics").text
    assert 'vidkg_jobs{status="succeeded"} 1.0' in metrics
    assert (
        'route="/v1/ask"' in metrics and 'vidkg_retrieval_seconds_count{operation="ask"}' in metrics
    )


def test_without_a_broker_the_server_runs_the_jobs(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    """The laptop case: `vidkg serve` alone; an upload is indexed by its runner."""
    keys = _keys(db)
    with (
        live_server(settings, tmp_path / "serve.log") as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        with require(VTEST).open("rb") as f:
            made = client.post(
                "/v1/videos",
                files={"file": ("vtest.avi", f)},
                params={"stages": "scenes"},
                headers=keys["ingest"],
            )
        assert made.status_code == 201, made.text
        job_id = made.json()["job"]["job_id"]
        end = [d for e, d in _events(client, f"/v1/jobs/{job_id}/events", keys["read"])][-1]
        assert end == {"status": "succeeded"}
        scenes = client.post(
            "/v1/sql", json={"sql": "SELECT count(*) AS n FROM scenes"}, headers=keys["read"]
        ).json()["rows"][0]["n"]
        assert scenes >= 1


def test_a_cut_upload_leaves_nothing_and_the_server_carries_on(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    keys = _keys(db)
    body = require(VTEST).read_bytes()[:2_000_000]
    with live_server(settings, tmp_path / "serve.log") as base:
        port = int(base.rsplit(":", 1)[1])
        boundary = "vidkgboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="cut.avi"\r\nContent-Type: video/x-msvideo\r\n\r\n'
        ).encode()
        request = (
            "POST /v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {keys['ingest']['Authorization']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + len(body) + 64}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(request + head + body[: len(body) // 2])
            _wait(lambda: _files(settings), "the partial upload on disk")
        _wait(lambda: not _files(settings), "the partial upload removed")
        ok = httpx.get(f"{base}/v1/videos", headers=keys["read"]).json()
        assert ok["items"] == []
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM videos")).scalar_one() == 0


def _files(settings: Settings) -> list[Path]:
    root = settings.uploads_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _wait(check, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_serve_warns_when_open_beyond_loopback_and_runs_several_workers(
    settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    env = {"VIDKG_API__OPEN": "true"}
    with live_server(settings, log, env, args=("--host", "0.0.0.0", "--workers", "2")) as base:
        statuses = {httpx.get(f"{base}/v1/videos").status_code for _ in range(4)}
        assert statuses == {200}  # open: no key needed
    text_ = log.read_text()
    assert "VIDKG_API__OPEN=true and bound to 0.0.0.0" in text_
    assert text_.count("Started server process") == 2  # uvicorn's line, once per worker
