"""The HTTP API against the real database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.http import create_app
from indexer.catalog import register_video
from indexer.jobs import JobStore
from tests.support import VTEST, require
from vidkg.db import Database
from vidkg.settings import Settings


def test_health_and_videos(db: Database, settings: Settings) -> None:
    reg = register_video(db.sessions, settings, require(VTEST))
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").json()
        assert health == {"status": "ok", "schema": "0006"}
        videos = client.get("/videos").json()
        assert [(v["video_id"], v["file_name"], v["status"]) for v in videos] == [
            (reg.video_id, "vtest.avi", "registered")
        ]
        one = client.get(f"/videos/{reg.video_id}")
        assert one.status_code == 200 and one.json()["width"] == 768
        missing = client.get("/videos/999999")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no video 999999"
        assert client.get("/videos/not-a-number").status_code == 422


def test_jobs_and_their_progress(db: Database, settings: Settings) -> None:
    reg = register_video(db.sessions, settings, require(VTEST))
    job, _ = JobStore(db.sessions).submit(reg.video_id, ["scenes", "asr"], chunk_s=40)
    with TestClient(create_app(settings)) as client:
        listed = client.get("/jobs").json()
        assert [(j["job_id"], j["status"]) for j in listed] == [(job.id, "queued")]
        one = client.get(f"/jobs/{job.id}").json()
        assert list(one["stages"]) == ["scenes", "asr"]
        assert one["stages"]["asr"]["chunks_total"] == len(job.chunks) == 2
        assert one["fraction_done"] == 0 and one["file_name"] == "vtest.avi"
        assert client.get("/jobs", params={"status": "failed"}).json() == []
        assert client.get("/jobs/999999").status_code == 404
