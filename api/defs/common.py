"""Shapes shared by every domain: pages of a list, and a plain message."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, Field

T = TypeVar("T")
MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger id is a bad request, not a server error

VideoId = Annotated[int, Path(ge=1, le=MAX_ID, description="A video's id.")]
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="A job's id.")]
AnyId = Annotated[int, Field(ge=1, le=MAX_ID)]  # an id inside a body or a query list


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, and where the next page starts (``None``: last)."""

    items: list[T]
    total: int = Field(description="Items matching the filters, over all pages.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Pass as `offset` for the next page.")

    @classmethod
    def of(cls, items: list[T], total: int, offset: int, limit: int) -> Page[T]:
        more = offset + len(items) < total
        return cls(
            items=items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=offset + len(items) if more else None,
        )


class Message(BaseModel):
    detail: str
