"""Who the caller is: the key's name and scopes, so a client (the web UI) can hide what
the key may not do instead of letting the user run into 403s."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import Reader

router = APIRouter(prefix="/v1", tags=["keys"])


class Limits(BaseModel):
    """The server's limits a client plans with (clip windows, page sizes, uploads)."""

    clip_max_s: float
    page_max: int
    max_upload_mb: float


class Caller(BaseModel):
    name: str = Field(examples=["laptop"])
    scopes: list[str] = Field(examples=[["read", "ingest"]])
    open: bool = Field(description="The server runs with VIDKG_API__OPEN=true (no keys).")
    limits: Limits


@router.get("/me", response_model=Caller)
def me(who: Reader, request: Request) -> Caller:
    """The calling key's name and scopes (`admin` implies the others), and the limits a
    client plans with."""
    api = request.app.state.settings.api
    limits = Limits(
        clip_max_s=api.clip_max_s, page_max=api.page_max, max_upload_mb=api.max_upload_mb
    )
    return Caller(name=who.name, scopes=sorted(who.scopes), open=api.open, limits=limits)
