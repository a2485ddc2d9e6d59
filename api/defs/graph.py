"""The event knowledge graph: entities, their appearances, traversals."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Built from the graph service's frozen records.
RECORDS = ConfigDict(from_attributes=True)


class EntityOut(BaseModel):
    model_config = RECORDS

    id: int = Field(examples=[5])
    kind: str = Field(description="person, object, text, term or name", examples=["text"])
    name: str = Field(examples=["NORTH BRIDGE CLOSED"])
    first_s: float = Field(description="Start of its first mention in scope (seconds).")
    last_s: float = Field(description="End of its last mention in scope.")
    mentions: int
    videos: list[int] = Field(description="Videos it appears in (within the scope asked).")


class AppearanceOut(BaseModel):
    """One mention of an entity: in which event, when, from which evidence row."""

    model_config = RECORDS

    entity_id: int
    video_id: int
    event_id: int
    start_s: float
    end_s: float
    predicate: str = Field(description="SHOWS (seen) or MENTIONS (said).", examples=["SHOWS"])
    source_kind: str | None = Field(examples=["onscreen_text"])
    source_id: int | None


class NodeOut(BaseModel):
    model_config = RECORDS

    node: str = Field(description="event:ID or entity:ID", examples=["event:3"])
    type: str = Field(description="event or entity")
    id: int
    name: str = Field(description="An event's title, an entity's name.")
    kind: str | None = Field(description="An entity's kind.")
    video_id: int | None = Field(description="An event's video.")
    start_s: float | None = Field(description="An event's start.")
    end_s: float | None


class NeighbourOut(BaseModel):
    hops: int = Field(description="Edges away (either direction).", examples=[1])
    node: NodeOut


class PathStepOut(BaseModel):
    via: str | None = Field(description="The edge that led here (None for the first node).")
    node: NodeOut


class RankedOut(BaseModel):
    model_config = RECORDS

    node: NodeOut
    score: float = Field(description="PageRank over events and entities.")
    mentions: int
    events: int
    neighbours: int
    why: str = Field(description="Why it ranks here, in words.")
