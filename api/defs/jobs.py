"""Ingest jobs and their progress (the same JSON as `vidkg jobs show ID --json`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StageProgressOut(BaseModel):
    chunks_total: int
    chunks_done: int
    chunks_failed: int
    chunks_skipped: int
    chunks_running: int
    chunks_pending: int
    seconds_done: float = Field(description="Seconds of the timeline done, skipped or failed.")
    work_s: float = Field(description="Seconds workers spent on this stage in this job.")
    rows_written: int


class UnitError(BaseModel):
    stage: str
    chunk: int
    start_s: float
    end_s: float
    error: str | None


class RecoveryOut(BaseModel):
    unit: str = Field(description="visual, asr, derived, graph or finalize")
    chunk: int
    cause: str = Field(description="worker_lost or message_lost")
    action: str = Field(description="resent, taken_over or failed (poison)")
    reason: str
    worker: str | None = Field(description="The worker that was lost, host:pid.")
    attempts: int = Field(description="Starts of the unit when it was taken back.")
    created_at: str | None


class JobOut(BaseModel):
    job_id: int = Field(examples=[7])
    video_id: int
    file_name: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled")
    stages: dict[str, StageProgressOut]
    timeline_s: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_s: float | None
    eta_s: float | None = Field(description="Estimated seconds left; None when unknown.")
    idle_s: float = Field(description="Seconds since a unit of the job last started or ended.")
    error: str | None
    errors: list[UnitError]
    running: list[dict[str, str | int | float | None]]
    recoveries: list[RecoveryOut] = Field(
        description="Units taken back without a person: when, why, what was done."
    )
    fraction_done: float = Field(ge=0, le=1)


class StartJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video_id: int = Field(ge=1, le=2**63 - 1, description="The video to ingest.")
    stages: list[str] | None = Field(
        default=None, max_length=16, description="Stages to run (default: all configured)."
    )
