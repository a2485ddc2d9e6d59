"""Declarative base and the column groups that many tables share."""

from __future__ import annotations

from datetime import timedelta

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Computed, Double, ForeignKey, Identity, Text
from sqlalchemy.dialects.postgresql import INTERVAL, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Base of every vidkg table. The DDL itself lives in migrations/ (the analysts'
    contract); tests/test_schema.py checks that these models and it agree."""


def seconds_interval(col: str) -> Computed:
    return Computed(f"{col} * interval '1 second'", persisted=True)


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)


class VideoOwned(IdMixin):
    """Rows that belong to one video and are deleted with it."""

    video_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), nullable=False
    )


class TimeSpan:
    """A [start_s, end_s] window in seconds from the start of the video."""

    start_s: Mapped[float] = mapped_column(Double, nullable=False)
    end_s: Mapped[float] = mapped_column(Double, nullable=False)
    start_tc: Mapped[timedelta] = mapped_column(INTERVAL, seconds_interval("start_s"))
    end_tc: Mapped[timedelta] = mapped_column(INTERVAL, seconds_interval("end_s"))


def fulltext(expr: str) -> Mapped[str]:
    """A generated English tsvector of ``expr`` (GIN indexed in the migration)."""
    return mapped_column(
        TSVECTOR, Computed(f"to_tsvector('english'::regconfig, {expr})", persisted=True)
    )


class TextEmbedded:
    """A text-bearing row's sentence embedding (cosine HNSW index in the migration)."""

    embedding: Mapped[list[float] | None] = mapped_column(Vector())
    embedding_model: Mapped[str | None] = mapped_column(Text)
