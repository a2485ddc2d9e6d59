"""The HTTP API (FastAPI). The database is opened once per process, at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import text

from indexer.job_progress import job_progress
from indexer.jobs import JobStore
from vidkg.db import Database, migrate, open_database
from vidkg.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = open_database(settings)
        yield
        app.state.db.dispose()

    app = FastAPI(title="vidkg", version="0.1.0", lifespan=lifespan)

    def db(request: Request) -> Database:
        return request.app.state.db

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """Liveness plus the schema revision (proves the database answers)."""
        return {"status": "ok", "schema": migrate.current_revision(db(request).engine)}

    @app.get("/videos")
    def list_videos(request: Request) -> list[dict[str, Any]]:
        with db(request).engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM v_videos ORDER BY video_id")).mappings()
            return [_jsonable(r) for r in rows]

    @app.get("/videos/{video_id}")
    def get_video(request: Request, video_id: int) -> dict[str, Any]:
        with db(request).engine.connect() as conn:
            row = (
                conn.execute(text("SELECT * FROM v_videos WHERE video_id = :id"), {"id": video_id})
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise HTTPException(404, f"no video {video_id}")
        return _jsonable(row)

    @app.get("/jobs")
    def list_jobs(request: Request, status: str | None = None) -> list[dict[str, Any]]:
        """Ingest jobs, newest first (at most 50), with their progress."""
        sessions = db(request).sessions
        return [job_progress(sessions, j).to_json() for j in JobStore(sessions).list(status=status)]

    @app.get("/jobs/{job_id}")
    def get_job(request: Request, job_id: int) -> dict[str, Any]:
        """What `vidkg jobs show ID --json` prints: status, per-stage progress, errors, ETA."""
        sessions = db(request).sessions
        try:
            return job_progress(sessions, JobStore(sessions).get(job_id)).to_json()
        except LookupError:
            raise HTTPException(404, f"no job {job_id}") from None

    return app


def _jsonable(row: Any) -> dict[str, Any]:
    return {k: (str(v) if k.endswith("_tc") or k.endswith("_at") else v) for k, v in row.items()}
