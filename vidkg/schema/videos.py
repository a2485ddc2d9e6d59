"""Videos and the bookkeeping of their ingest jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, CHAR, INTERVAL, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vidkg.schema.base import Base, IdMixin, VideoOwned, seconds_interval

VIDEO_STATUSES = ("registered", "ingesting", "ready", "partial", "failed", "cancelled")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
CHECKPOINT_STATUSES = ("pending", "running", "done", "failed", "skipped")


class Video(IdMixin, Base):
    __tablename__ = "videos"

    source_path: Mapped[str] = mapped_column(Text, nullable=False)
    file_name: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(CHAR(64), nullable=False, unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    container: Mapped[str] = mapped_column(Text, nullable=False)
    duration_s: Mapped[float] = mapped_column(Double, nullable=False)
    duration_tc: Mapped[timedelta] = mapped_column(INTERVAL, seconds_interval("duration_s"))
    fps: Mapped[float | None] = mapped_column(Double)
    width: Mapped[int | None] = mapped_column(Integer)  # NULL: audio-only
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    video_codec: Mapped[str | None] = mapped_column(Text)
    has_video: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    decodable_s: Mapped[float | None] = mapped_column(Double)  # truncated files
    frame_count: Mapped[int | None] = mapped_column(BigInteger)
    has_audio: Mapped[bool] = mapped_column(Boolean, nullable=False)
    audio_codec: Mapped[str | None] = mapped_column(Text)
    audio_sample_rate: Mapped[int | None] = mapped_column(Integer)
    audio_channels: Mapped[int | None] = mapped_column(Integer)
    probe: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="registered")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class IngestJob(VideoOwned, Base):
    __tablename__ = "ingest_jobs"

    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="queued")
    stages: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IngestCheckpoint(VideoOwned, Base):
    __tablename__ = "ingest_checkpoints"
    __table_args__ = (UniqueConstraint("video_id", "stage", "chunk_index"),)

    job_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("ingest_jobs.id", ondelete="SET NULL")
    )
    stage: Mapped[str] = mapped_column(Text, nullable=False)
    chunk_index: Mapped[int] = mapped_column(Integer, nullable=False)
    start_s: Mapped[float] = mapped_column(Double, nullable=False)
    end_s: Mapped[float] = mapped_column(Double, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    rows_written: Mapped[int | None] = mapped_column(Integer)
    elapsed_s: Mapped[float | None] = mapped_column(Double)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UnitRecovery(VideoOwned, Base):
    """A unit taken back without a person: sent again, or failed as poison."""

    __tablename__ = "unit_recoveries"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ingest_jobs.id", ondelete="CASCADE"), nullable=False
    )
    unit_kind: Mapped[str] = mapped_column(Text, nullable=False)
    chunk_index: Mapped[int] = mapped_column(Integer, nullable=False)
    cause: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    worker: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
