"""The HTTP API's rules, over the real database: keys and scopes, problem details,
uploads and registration that leave nothing behind, jobs, SQL, limits and metrics.

The app runs in-process (TestClient) here, each test on a database of its own; the
whole flow through a real uvicorn server and worker is in ``test_api_live.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from api.app import create_app
from indexer.catalog import register_video
from indexer.models import ModelRegistry
from tests.api_support import key, with_api
from tests.support import VTEST, require
from vidkg.db import Database
from vidkg.settings import Settings

PROBLEM = "application/problem+json"


@dataclass
class Api:
    client: TestClient
    db: Database
    settings: Settings

    def rows(self, sql: str) -> list[tuple]:
        with self.db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]


@pytest.fixture
def api(settings: Settings, db: Database, registry: ModelRegistry, tmp_path: Path) -> Iterator[Api]:
    roots = tmp_path / "archive"
    roots.mkdir()
    configured = with_api(settings, register_roots=[roots], rate_limit_per_minute=0)
    with TestClient(create_app(configured, registry)) as client:
        yield Api(client, db, configured)


def _problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and "Traceback" not in response.text
    for word in words:
        assert word in body["detail"], body
    return body


def _upload(api: Api, path: Path, headers: dict, **params: str):
    with path.open("rb") as f:
        return api.client.post(
            "/v1/videos",
            files={"file": (path.name, f, "video/mp4")},
            headers=headers,
            params=params,
        )


def _left_behind(api: Api) -> list[Path]:
    root = api.settings.uploads_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---- keys and scopes --------------------------------------------------------------------


def test_no_key_unknown_key_and_revoked_key_get_401(api: Api) -> None:
    body = _problem(api.client.get("/v1/videos"), 401, "API key is required")
    assert body["instance"] == "/v1/videos"
    assert api.client.get("/v1/videos").headers["www-authenticate"].startswith("Bearer")
    _problem(api.client.get("/v1/videos", headers={"Authorization": "Bearer vk_nope"}), 401)
    _problem(api.client.get("/v1/videos", headers={"Authorization": "Basic abc"}), 401)
    from api.keys import KeyStore, parse_scopes

    store = KeyStore(api.db.sessions)
    new = store.create(parse_scopes("read"))
    headers = {"Authorization": f"Bearer {new.secret}"}
    assert api.client.get("/v1/videos", headers=headers).status_code == 200
    assert store.revoke(new.info.id) and not store.revoke(new.info.id)
    _problem(api.client.get("/v1/videos", headers=headers), 401, "revoked")


def test_a_key_cookie_works_for_reads_only(api: Api) -> None:
    """The web UI's media elements send the key as a cookie: reads only, never writes."""
    admin = key(api.db, "admin")["Authorization"].split()[1]
    api.client.cookies.set("vidkg_key", admin)
    try:
        assert api.client.get("/v1/videos").status_code == 200
        refused = api.client.post("/v1/sql", json={"sql": "SELECT 1"})
        _problem(refused, 401, "API key is required")
        _problem(api.client.delete("/v1/videos/1"), 401)
    finally:
        api.client.cookies.clear()


def test_keys_are_stored_hashed_and_hidden_from_analyst_sql(api: Api) -> None:
    admin = key(api.db, "admin")
    secret = admin["Authorization"].split()[1]
    stored = api.rows("SELECT key_hash, prefix FROM api_keys")
    assert stored and secret not in {h for h, _ in stored} and secret.startswith(stored[0][1])
    refused = api.client.post("/v1/sql", json={"sql": "SELECT * FROM api_keys"}, headers=admin)
    _problem(refused, 400, "permission denied")
    hidden = api.client.post("/v1/sql", json={"sql": "SELECT secret FROM watches"}, headers=admin)
    _problem(hidden, 400, "permission denied")


def test_scopes_decide_who_may_upload_and_delete(api: Api, media: Path) -> None:
    read, ingest, admin = (key(api.db, s) for s in ("read", "ingest", "admin"))
    me = api.client.get("/v1/me", headers=read).json()
    assert (me["name"], me["scopes"], me["open"]) == ("test read", ["read"], False)
    assert me["limits"]["clip_max_s"] == api.settings.api.clip_max_s
    _problem(_upload(api, media / "good.mp4", read), 403, "'ingest' scope")
    assert _left_behind(api) == []
    created = _upload(api, media / "good.mp4", ingest, ingest="false")
    assert created.status_code == 201, created.text
    video_id = created.json()["video"]["video_id"]
    _problem(api.client.delete(f"/v1/videos/{video_id}", headers=read), 403, "'admin' scope")
    _problem(api.client.delete(f"/v1/videos/{video_id}", headers=ingest), 403)
    assert api.client.delete(f"/v1/videos/{video_id}", headers=admin).status_code == 204
    _problem(api.client.get(f"/v1/videos/{video_id}", headers=read), 404, f"no video {video_id}")
    assert _left_behind(api) == []  # the uploaded file went with its rows


def test_open_mode_needs_no_key_and_operations_never_do(
    settings: Settings, registry: ModelRegistry
) -> None:
    with TestClient(create_app(with_api(settings, open=True), registry)) as client:
        assert client.get("/v1/videos").json()["items"] == []
    with TestClient(create_app(settings, registry)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["ready"] and ready["schema_revision"] == ready["schema_expected"] == "0008"
        assert ready["broker"] == "not configured"


def test_readyz_reports_an_unreachable_broker(settings: Settings, registry: ModelRegistry) -> None:
    from tests.api_support import free_port

    down = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down, registry)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("unreachable") and not response.json()["ready"]


def test_rate_limit_per_key(settings: Settings, registry: ModelRegistry, db: Database) -> None:
    with TestClient(create_app(with_api(settings, rate_limit_per_minute=3), registry)) as client:
        a, b = key(db, "read"), key(db, "read")
        assert [client.get("/v1/videos", headers=a).status_code for _ in range(3)] == [200] * 3
        limited = client.get("/v1/videos", headers=a)
        _problem(limited, 429, "rate limit")
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/v1/videos", headers=b).status_code == 200  # per key


# ---- uploads and registration -----------------------------------------------------------


def test_upload_is_stored_probed_and_deduplicated(api: Api, media: Path) -> None:
    ingest = key(api.db, "ingest")
    first = _upload(api, media / "good.mp4", ingest)
    assert first.status_code == 201, first.text
    body = first.json()
    video = body["video"]
    assert body["created"] and video["file_name"] == "good.mp4" and video["width"] == 768
    assert video["duration_s"] == pytest.approx(20, abs=0.1)
    assert body["job"]["status"] == "queued" and body["job"]["video_id"] == video["video_id"]
    stored = _left_behind(api)
    assert [p.name for p in stored] == ["good.mp4"]
    assert stored[0].read_bytes() == (media / "good.mp4").read_bytes()
    again = _upload(api, media / "good.mp4", ingest)
    assert again.status_code == 200 and not again.json()["created"]
    assert again.json()["job"]["job_id"] == body["job"]["job_id"]  # its active job
    assert len(_left_behind(api)) == 1 and api.rows("SELECT count(*) FROM videos") == [(1,)]


def test_refused_uploads_leave_nothing_behind(api: Api, media: Path, tmp_path: Path) -> None:
    ingest = key(api.db, "ingest")
    _problem(_upload(api, media / "notes.txt", ingest), 415, "not a video")
    _problem(_upload(api, media / "photo.jpg", ingest), 415, "not a video")
    _problem(_upload(api, media / "empty.mp4", ingest), 415)
    wrong = api.client.post(
        "/v1/videos", content=b"x" * 100, headers={**ingest, "Content-Type": "text/plain"}
    )
    _problem(wrong, 415, "multipart/form-data")
    gif = tmp_path / "one.gif"
    Image.new("RGB", (8, 8)).save(gif)
    _problem(_upload(api, gif, ingest), 415, "too short")
    broken = api.client.post(
        "/v1/videos",
        content=b"--b\r\n\xc3\xb8--b--\r\n",
        headers={**ingest, "Content-Type": "multipart/form-data; boundary=b"},
    )
    _problem(broken, 422, "malformed multipart")
    nofile = api.client.post(
        "/v1/videos", data={"other": "1"}, files={"x": ("a", b"b")}, headers=ingest
    )
    _problem(nofile, 422, "'file' part")
    assert _left_behind(api) == [] and api.rows("SELECT count(*) FROM videos") == [(0,)]


def test_oversized_upload_is_refused(
    settings: Settings, registry: ModelRegistry, db: Database, media: Path
) -> None:
    small = with_api(settings, max_upload_mb=0.1)
    with TestClient(create_app(small, registry)) as client, (media / "good.mp4").open("rb") as f:
        response = client.post(
            "/v1/videos", files={"file": ("good.mp4", f)}, headers=key(db, "ingest")
        )
    _problem(response, 413, "VIDKG_API__MAX_UPLOAD_MB")
    uploads = small.uploads_dir
    assert not uploads.exists() or [p for p in uploads.rglob("*") if p.is_file()] == []
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM videos")).scalar_one() == 0


def test_register_only_inside_the_roots(api: Api, media: Path, tmp_path: Path) -> None:
    ingest = key(api.db, "ingest")
    root = api.settings.api.register_roots[0]
    shutil.copy(media / "good.mp4", root / "cam1.mp4")
    (root / "sub").mkdir()
    outside = tmp_path / "secret.mp4"
    shutil.copy(media / "good.mp4", outside)
    (root / "link.mp4").symlink_to(outside)

    def register(path: str):
        return api.client.post("/v1/videos", json={"path": path, "ingest": False}, headers=ingest)

    ok = register(str(root / "cam1.mp4"))
    assert ok.status_code == 201 and ok.json()["video"]["file_name"] == "cam1.mp4"
    _problem(register(str(root / "sub" / ".." / ".." / "secret.mp4")), 403, "outside")
    _problem(register(str(root / "link.mp4")), 403, "outside")
    _problem(register("/etc/passwd"), 403, "outside")
    _problem(register(str(root / "missing.mp4")), 404, "no such file")
    _problem(register(str(root / "sub")), 422, "not a regular file")
    _problem(register(str(root) + "/\x00x"), 422, "NUL")
    bad = api.client.post("/v1/videos", json={"path": "x", "rm": 1}, headers=ingest)
    _problem(bad, 422, "rm")
    assert api.rows("SELECT count(*) FROM videos") == [(1,)]
    admin = key(api.db, "admin")
    video_id = ok.json()["video"]["video_id"]
    assert api.client.delete(f"/v1/videos/{video_id}", headers=admin).status_code == 204
    assert (root / "cam1.mp4").exists()  # a registered file is the analyst's, not ours


# ---- lists, jobs, search input ----------------------------------------------------------


def test_video_list_filters_and_pages(api: Api, media: Path) -> None:
    for name in ("good.mp4", "voice.m4a"):
        register_video(api.db.sessions, api.settings, media / name)
    register_video(api.db.sessions, api.settings, require(VTEST))
    read = key(api.db, "read")
    page = api.client.get("/v1/videos", params={"limit": 2}, headers=read).json()
    assert [v["file_name"] for v in page["items"]] == ["good.mp4", "voice.m4a"]
    assert page["total"] == 3 and page["next_offset"] == 2
    rest = api.client.get("/v1/videos", params={"offset": 2}, headers=read).json()
    assert [v["file_name"] for v in rest["items"]] == ["vtest.avi"] and rest["next_offset"] is None
    _problem(api.client.get("/v1/videos", params={"name": "a\x00b"}, headers=read), 422, "NUL")
    named = api.client.get("/v1/videos", params={"name": "%"}, headers=read).json()
    assert named["items"] == []  # LIKE wildcards are matched literally
    avi = api.client.get("/v1/videos", params={"name": "vtest"}, headers=read).json()
    assert [v["file_name"] for v in avi["items"]] == ["vtest.avi"]
    _problem(api.client.get("/v1/videos", params={"limit": 10**6}, headers=read), 422, "limit")
    _problem(api.client.get("/v1/videos/abc", headers=read), 422)
    _problem(api.client.get(f"/v1/videos/{2**70}", headers=read), 422)


def test_jobs_start_list_cancel_retry(api: Api, media: Path) -> None:
    video_id = register_video(api.db.sessions, api.settings, media / "good.mp4").video_id
    ingest, read = key(api.db, "ingest"), key(api.db, "read")
    _problem(api.client.post("/v1/jobs", json={"video_id": video_id}, headers=read), 403)
    bad = api.client.post(
        "/v1/jobs", json={"video_id": video_id, "stages": ["nope"]}, headers=ingest
    )
    _problem(bad, 422, "unknown stage")
    _problem(api.client.post("/v1/jobs", json={"video_id": 999999}, headers=ingest), 404)
    made = api.client.post(
        "/v1/jobs", json={"video_id": video_id, "stages": ["asr", "scenes"]}, headers=ingest
    )
    assert made.status_code == 201
    job = made.json()
    assert list(job["stages"]) == ["scenes", "asr"] and job["status"] == "queued"
    same = api.client.post("/v1/jobs", json={"video_id": video_id}, headers=ingest)
    assert same.status_code == 200 and same.json()["job_id"] == job["job_id"]
    listed = api.client.get("/v1/jobs", params={"status": "queued"}, headers=read).json()
    assert [j["job_id"] for j in listed["items"]] == [job["job_id"]] and listed["total"] == 1
    _problem(api.client.get("/v1/jobs", params={"status": "bogus"}, headers=read), 422)
    cancelled = api.client.post(f"/v1/jobs/{job['job_id']}/cancel", headers=ingest)
    assert cancelled.json()["status"] == "cancelled"
    _problem(api.client.post(f"/v1/jobs/{job['job_id']}/cancel", headers=ingest), 409, "already")
    retried = api.client.post(f"/v1/jobs/{job['job_id']}/retry", headers=ingest)
    assert retried.json()["status"] == "queued"
    _problem(api.client.get("/v1/jobs/424242", headers=read), 404, "no job 424242")


def test_search_and_ask_refuse_bad_input(api: Api) -> None:
    read = key(api.db, "read")

    def search(**params: object):
        return api.client.get("/v1/search", params=params, headers=read)

    _problem(search(q=""), 422)
    _problem(search(q="x" * 2001), 422)
    _problem(search(q="bridge", k=10**9), 422, "k must be between")
    _problem(search(q="bridge", start_s=50, end_s=10), 422, "before start_s")
    _problem(search(q="bridge", start_s=-1), 422)
    _problem(search(q="bridge", sources="smell"), 422)
    _problem(search(q="bridge", video_ids=[2**70]), 422)
    _problem(search(q="north\x00bridge"), 422, "NUL")
    ok = search(q="' OR 1=1; DROP TABLE videos; --", video_ids=[1, 2], sources="speech")
    assert ok.status_code == 200 and ok.json()["moments"] == []
    ask = api.client.post("/v1/ask", json={"question": "   "}, headers=read)
    _problem(ask, 422, "empty")
    _problem(
        api.client.post("/v1/ask", json={"question": "x", "answerer": "oracle"}, headers=read),
        422,
        "answerer",
    )
    _problem(api.client.post("/v1/ask", json={"question": "x", "k": 3}, headers=read), 422)
    _problem(
        api.client.post("/v1/ask", json={"question": "x", "video_ids": [-1]}, headers=read), 422
    )
    assert api.rows("SELECT count(*) FROM videos") == [(0,)]  # still there


def test_sql_is_read_only_one_statement(api: Api, media: Path) -> None:
    register_video(api.db.sessions, api.settings, media / "good.mp4")
    read = key(api.db, "read")

    def sql(query: str, **extra: object):
        return api.client.post("/v1/sql", json={"sql": query, **extra}, headers=read)

    ok = sql("SELECT video_id, file_name, duration_tc FROM v_videos")
    assert ok.json()["columns"] == ["video_id", "file_name", "duration_tc"]
    assert ok.json()["rows"][0]["file_name"] == "good.mp4" and not ok.json()["truncated"]
    assert sql("SELECT generate_series(1, 5) AS n", limit=2).json() == {
        "columns": ["n"],
        "rows": [{"n": 1}, {"n": 2}],
        "truncated": True,
    }
    _problem(sql("DELETE FROM videos"), 400, "read-only")
    _problem(sql("SELECT 1; DELETE FROM videos"), 400)
    _problem(sql("UPDATE videos SET status = 'x'"), 400)
    _problem(sql("SELECT pg_read_file('/etc/passwd')"), 400, "permission denied")
    _problem(sql("COPY videos TO '/tmp/x'"), 400)
    _problem(sql("SELECT * FROM nowhere"), 400, "does not exist")
    _problem(sql("SELECT 1", drop=True), 422)
    assert api.rows("SELECT status FROM videos") == [("registered",)]


def test_big_bodies_and_problem_details(api: Api) -> None:
    read = key(api.db, "read")
    huge = api.client.post(
        "/v1/sql",
        content=b'{"sql": "' + b"x" * 400_000 + b'"}',
        headers={**read, "Content-Type": "application/json"},
    )
    _problem(huge, 413, "MAX_BODY_KB")
    _problem(api.client.get("/v1/nowhere", headers=read), 404)
    _problem(api.client.put("/v1/videos", headers=read), 405)
    broken = api.client.post(
        "/v1/sql", content=b"{not json", headers={**read, "Content-Type": "application/json"}
    )
    _problem(broken, 422)


def test_metrics_by_route_template(api: Api, media: Path) -> None:
    read = key(api.db, "read")
    video_id = register_video(api.db.sessions, api.settings, media / "good.mp4").video_id
    api.client.get(f"/v1/videos/{video_id}", headers=read)
    api.client.get("/v1/search", params={"q": "bridge"}, headers=read)
    body = api.client.get("/metrics").text
    assert 'route="/v1/videos/{video_id}"' in body and f'/v1/videos/{video_id}"' not in body
    assert 'vidkg_retrieval_seconds_count{operation="search"} 1.0' in body
    assert "vidkg_jobs" in body and "vidkg_units" in body
