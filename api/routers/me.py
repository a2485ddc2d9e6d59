"""Who the caller is: the key's name and scopes, so a client (the web UI) can hide what
the key may not do instead of letting the user run into 403s."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import Reader

router = APIRouter(prefix="/v1", tags=["keys"])


class Caller(BaseModel):
    name: str = Field(examples=["laptop"])
    scopes: list[str] = Field(examples=[["read", "ingest"]])
    open: bool = Field(description="The server runs with VIDKG_API__OPEN=true (no keys).")


@router.get("/me", response_model=Caller)
def me(who: Reader, request: Request) -> Caller:
    """The calling key's name and scopes (`admin` implies the others)."""
    return Caller(
        name=who.name,
        scopes=sorted(who.scopes),
        open=request.app.state.settings.api.open,
    )
