"""Liveness and readiness."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    ready: bool
    database: str = Field(description="ok, or why not.")
    schema_revision: str | None = Field(description="The database's migration revision.")
    schema_expected: str = Field(description="The revision this code needs.")
    broker: str = Field(description="ok, 'not configured' (in-process jobs), or why not.")
