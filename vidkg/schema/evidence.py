"""Evidence extracted from a video: scenes, frames, speech, on-screen text, objects, captions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, INTERVAL, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vidkg.schema.base import (
    Base,
    TextEmbedded,
    TimeSpan,
    VideoOwned,
    fulltext,
    seconds_interval,
)


class Scene(VideoOwned, TimeSpan, Base):
    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("video_id", "scene_index"),)

    scene_index: Mapped[int] = mapped_column(Integer, nullable=False)
    shot_index: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cut_before: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    keyframe_times: Mapped[list[float]] = mapped_column(
        ARRAY(Double), nullable=False, server_default="{}"
    )


class Frame(VideoOwned, Base):
    __tablename__ = "frames"
    __table_args__ = (UniqueConstraint("video_id", "t_s"),)

    t_s: Mapped[float] = mapped_column(Double, nullable=False)
    t_tc: Mapped[timedelta] = mapped_column(INTERVAL, seconds_interval("t_s"))
    image_path: Mapped[str | None] = mapped_column(Text)
    embedding: Mapped[list[float] | None] = mapped_column(Vector())
    embedding_model: Mapped[str | None] = mapped_column(Text)


class SpeechSegment(VideoOwned, TimeSpan, TextEmbedded, Base):
    __tablename__ = "speech_segments"

    text: Mapped[str] = mapped_column(Text, nullable=False)
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default="[]")
    language: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(REAL)
    tsv: Mapped[str] = fulltext("text")


class Box:
    """A bounding box normalised to [0, 1] of the frame's width and height."""

    box_x1: Mapped[float | None] = mapped_column(REAL)
    box_y1: Mapped[float | None] = mapped_column(REAL)
    box_x2: Mapped[float | None] = mapped_column(REAL)
    box_y2: Mapped[float | None] = mapped_column(REAL)


class OnscreenText(VideoOwned, TimeSpan, TextEmbedded, Box, Base):
    __tablename__ = "onscreen_text"

    text: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[float | None] = mapped_column(REAL)
    frame_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    tsv: Mapped[str] = fulltext("text")


class Track(VideoOwned, TimeSpan, Base):
    __tablename__ = "tracks"

    track_key: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(Text, nullable=False)
    detection_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    max_confidence: Mapped[float | None] = mapped_column(REAL)
    model: Mapped[str | None] = mapped_column(Text)
    appearance: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))


class Detection(VideoOwned, Base):
    __tablename__ = "detections"

    track_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tracks.id", ondelete="CASCADE")
    )
    t_s: Mapped[float] = mapped_column(Double, nullable=False)
    t_tc: Mapped[timedelta] = mapped_column(INTERVAL, seconds_interval("t_s"))
    label: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[float] = mapped_column(REAL, nullable=False)
    box_x1: Mapped[float] = mapped_column(REAL, nullable=False)
    box_y1: Mapped[float] = mapped_column(REAL, nullable=False)
    box_x2: Mapped[float] = mapped_column(REAL, nullable=False)
    box_y2: Mapped[float] = mapped_column(REAL, nullable=False)
    model: Mapped[str | None] = mapped_column(Text)


class Caption(VideoOwned, TimeSpan, TextEmbedded, Base):
    __tablename__ = "captions"

    text: Mapped[str] = mapped_column(Text, nullable=False)
    captioner: Mapped[str] = mapped_column(Text, nullable=False)
    tsv: Mapped[str] = fulltext("text")
