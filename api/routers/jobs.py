"""Ingest jobs: start, list, status with per-stage progress and ETA, cancel, retry, and
progress as server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse

from api.auth import Ingester, Reader
from api.defs.common import JobId, Page
from api.defs.jobs import JobOut, StartJob
from api.deps import AppServices, Services
from api.jobs_service import progress, retry_job, start_job
from api.problems import Problem, documented
from indexer.jobs import Job, JobStore
from vidkg.schema.videos import JOB_STATUSES

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def _out(app: AppServices, job: Job) -> JobOut:
    return JobOut(**progress(app.db, job).to_json())


@router.post(
    "",
    status_code=201,
    response_model=JobOut,
    responses={
        200: {"model": JobOut, "description": "The video already has an active job."},
        **documented(503),
    },
)
def create_job(body: StartJob, app: Services, _: Ingester) -> JSONResponse:
    """Start a video's ingest (every configured stage unless `stages` says which). What
    is already done is not redone; a video with an active job gets that job back."""
    job, created = start_job(app.db, app.settings, body.video_id, body.stages)
    return JSONResponse(_out(app, job).model_dump(mode="json"), 201 if created else 200)


@router.get("", response_model=Page[JobOut])
def jobs(
    app: Services,
    _: Reader,
    status: Annotated[str | None, Query(description=", ".join(JOB_STATUSES))] = None,
    video_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Page[JobOut]:
    """Jobs, newest first."""
    if status is not None and status not in JOB_STATUSES:
        raise Problem(422, f"status must be one of {', '.join(JOB_STATUSES)}")
    found, total = JobStore(app.db.sessions).page(
        status=status, video_id=video_id, limit=limit, offset=offset
    )
    return Page[JobOut].of([_out(app, j) for j in found], total, offset, limit)


@router.get("/{job_id}", response_model=JobOut)
def job(job_id: JobId, app: Services, _: Reader) -> JobOut:
    """Status, per-stage progress, errors and ETA (`vidkg jobs show ID --json`)."""
    return _out(app, JobStore(app.db.sessions).get(job_id))


@router.post("/{job_id}/cancel", response_model=JobOut, responses=documented(409))
def cancel(job_id: JobId, app: Services, _: Ingester) -> JobOut:
    """No new unit starts; running units finish and keep their rows; retry resumes."""
    return _out(app, JobStore(app.db.sessions).cancel(job_id))


@router.post("/{job_id}/retry", response_model=JobOut, responses=documented(409, 503))
def retry(
    job_id: JobId,
    app: Services,
    _: Ingester,
    force: Annotated[bool, Query(description="Re-send an active job's units.")] = False,
) -> JobOut:
    """Queue a failed or cancelled job again: done work stays done, failed units rerun."""
    return _out(app, retry_job(app.db, app.settings, job_id, force))


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events."}},
)
async def job_events(
    job_id: int, request: Request, app: Services, _: Reader
) -> EventSourceResponse:
    """Server-sent events: `progress` (the job's JSON) whenever it changes, then `end`."""
    store = JobStore(app.db.sessions)
    await run_in_threadpool(store.get, job_id)  # 404 before the stream starts
    return EventSourceResponse(_progress_events(app, store, job_id, request), ping=15)


async def _progress_events(
    app: AppServices, store: JobStore, job_id: int, request: Request
) -> AsyncIterator[dict[str, str]]:
    last = None
    while not await request.is_disconnected():
        state = await run_in_threadpool(lambda: progress(app.db, store.get(job_id)))
        data = state.to_json()
        idle = data.pop("idle_s", None)  # changes every poll; not news
        body = json.dumps(data, default=str)
        if body != last:
            yield {"event": "progress", "data": json.dumps({**data, "idle_s": idle}, default=str)}
            last = body
        if state.over:
            yield {"event": "end", "data": json.dumps({"status": state.status})}
            return
        await asyncio.sleep(app.settings.api.job_poll_s)
