"""Watches: standing queries matched against every newly indexed chunk, and their hits.

The webhook secret appears in one response only, the creation's: it signs every
delivery (``X-Vidkg-Signature: sha256=HMAC-SHA256(secret, body)``) and is never shown
again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from indexer.watches import SOURCES
from indexer.webhooks import webhook_url_problem

WatchSource = Literal["speech", "text", "object", "caption"]
VideoId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class WatchCreate(BaseModel):
    """A standing query. Its words are matched with PostgreSQL's web search syntax
    (`"exact phrase"`, `or`, `-word`); on-screen text also matches approximately."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=500, examples=["north bridge"])
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Default: the query."
    )
    sources: list[WatchSource] = Field(
        default=list(SOURCES),
        min_length=1,
        max_length=4,
        description="Evidence to match: speech, text (on screen), object (labels), caption.",
    )
    video_ids: list[VideoId] = Field(
        default=[], max_length=1000, description="Only these videos (default: every video)."
    )
    webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        description="http(s) URL each hit is POSTed to; link-local addresses are refused.",
        examples=["https://hooks.example.org/vidkg"],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC key of the signature (default: 256 random bits, returned once).",
    )

    @field_validator("query", "name", "webhook_url", "secret")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("query", "name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None

    @field_validator("sources")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return [s for s in SOURCES if s in value]

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and (problem := webhook_url_problem(value)):
            raise ValueError(problem)
        return value


class WatchOut(BaseModel):
    watch_id: int = Field(examples=[3])
    name: str
    query: str
    sources: list[str]
    video_ids: list[int]
    webhook_url: str | None
    active: bool = Field(description="False once deleted (its hits stay readable).")
    created_at: datetime
    hits: int = Field(description="Hits stored so far.")


class WatchCreated(WatchOut):
    secret: str = Field(description="Shown in this response only: keep it to verify deliveries.")


class WatchHitOut(BaseModel):
    hit_id: int
    watch_id: int
    video_id: int
    file_name: str
    chunk_index: int
    start_s: float
    end_s: float
    source: str
    text: str
    created_at: datetime
    delivery: str = Field(description="none (no webhook), pending, delivered or failed")
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
