"""The event knowledge graph: events, entities, their mentions and the relations between them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    REAL,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vidkg.schema.base import Base, IdMixin, TextEmbedded, TimeSpan, VideoOwned, fulltext


def _ref(table: str) -> Any:
    return mapped_column(BigInteger, ForeignKey(f"{table}.id", ondelete="CASCADE"))


class Event(VideoOwned, TimeSpan, TextEmbedded, Base):
    __tablename__ = "events"

    kind: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    tsv: Mapped[str] = fulltext("title || ' ' || coalesce(description, '')")


class Entity(IdMixin, Base):
    """Shared across videos: the same person or place seen in two videos is one entity."""

    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("kind", "canonical_name"),)

    kind: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    canonical_name: Mapped[str] = mapped_column(Text, nullable=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    tsv: Mapped[str] = fulltext("name")


class Mention(VideoOwned, TimeSpan, Base):
    __tablename__ = "mentions"

    entity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[int | None] = _ref("events")
    source_kind: Mapped[str] = mapped_column(Text, nullable=False)
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    surface: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(REAL)


class Relation(VideoOwned, Base):
    """An edge; exactly one of src_event_id/src_entity_id and of dst_* is set."""

    __tablename__ = "relations"

    predicate: Mapped[str] = mapped_column(Text, nullable=False)
    src_event_id: Mapped[int | None] = _ref("events")
    src_entity_id: Mapped[int | None] = _ref("entities")
    dst_event_id: Mapped[int | None] = _ref("events")
    dst_entity_id: Mapped[int | None] = _ref("entities")
    confidence: Mapped[float | None] = mapped_column(REAL)
    start_s: Mapped[float | None] = mapped_column(Double)
    end_s: Mapped[float | None] = mapped_column(Double)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")


class EventSource(Base):
    """An evidence row an event was fused from (``source_kind`` names its table)."""

    __tablename__ = "event_sources"

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    source_kind: Mapped[str] = mapped_column(Text, primary_key=True)
    source_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class GraphBuild(Base):
    """A video's graph is built: ``version`` changes with every rebuild."""

    __tablename__ = "graph_builds"

    video_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    built_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    seconds: Mapped[float] = mapped_column(Double, nullable=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
