"""Videos: what the library holds and what was extracted from each."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.defs.jobs import JobOut


class VideoOut(BaseModel):
    video_id: int = Field(examples=[1])
    file_name: str = Field(examples=["briefing.mp4"])
    status: str = Field(
        description="registered, ingesting, ready, partial, failed or cancelled",
        examples=["ready"],
    )
    duration_s: float = Field(examples=[42.0])
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    has_audio: bool
    created_at: datetime
    scenes: int = Field(description="Rows extracted so far, by kind.")
    speech_segments: int
    onscreen_texts: int
    tracks: int
    events: int


class VideoDetail(VideoOut):
    sha256: str
    size_bytes: int
    container: str
    video_codec: str | None
    audio_codec: str | None
    decodable_s: float | None = Field(description="Truncated files: where the data ends.")
    error: str | None


class RegisterPath(BaseModel):
    """Register a file already on the server (only inside VIDKG_API__REGISTER_ROOTS)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096, examples=["/archive/2026-11-03/cam2.mp4"])
    ingest: bool = Field(default=True, description="Start its ingest job at once.")
    stages: list[str] | None = Field(
        default=None, max_length=16, description="Stages to run (default: all configured)."
    )


class Registered(BaseModel):
    video: VideoDetail
    created: bool = Field(description="False: the same content was already registered.")
    job: JobOut | None = Field(description="The ingest job started for it, if any.")
