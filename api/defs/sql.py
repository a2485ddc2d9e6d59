"""Read-only analyst SQL."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SqlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(
        min_length=1,
        max_length=20_000,
        examples=["SELECT kind, start_tc, text FROM v_timeline WHERE video_id = 1 LIMIT 20"],
    )
    limit: int | None = Field(default=None, ge=1, le=100_000, description="Rows at most.")


class SqlOut(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(description="More rows existed than the limit.")
