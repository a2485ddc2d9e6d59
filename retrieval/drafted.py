"""An answerer's draft, before its evidence ids become citations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Drafted:
    """Text (None: does not know) and the ids of the packed evidence items it rests on."""

    text: str | None
    evidence_ids: tuple[int, ...]
    note: str | None = None
