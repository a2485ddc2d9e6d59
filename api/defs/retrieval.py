"""Search and ask: the same JSON as `vidkg search --json` and `vidkg ask --json`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.defs.common import AnyId
from retrieval.types import Source


class EvidenceRefOut(BaseModel):
    table: str = Field(examples=["speech_segments"])
    id: int


class MomentOut(BaseModel):
    video_id: int
    start_s: float
    end_s: float
    source: Source
    text: str
    score: float
    ref: EvidenceRefOut
    legs: dict[str, int] = Field(description="Rank of the moment in each retriever's list.")


class ScopeOut(BaseModel):
    videos: list[int]
    start_s: float | None
    end_s: float | None
    sources: list[Source]


class SearchOut(BaseModel):
    query: str
    scope: ScopeOut
    moments: list[MomentOut]
    legs: dict[str, int] = Field(description="Hits each retriever found.")
    skipped: dict[str, str] = Field(description="Retrievers that could not run, and why.")
    timings: dict[str, float] = Field(description="Milliseconds per step.")


class CitationOut(BaseModel):
    video_id: int
    start_s: float
    end_s: float
    source: Source
    text: str
    ref: EvidenceRefOut | None


class StepOut(BaseModel):
    retriever: str
    query: str
    why: str


class PlanOut(BaseModel):
    question: str
    planner: str
    answer_type: str
    operator: str
    terms: list[str]
    phrases: list[str]
    sources: list[Source]
    anchors: list[str]
    options: list[str]
    target: str | None
    scope: ScopeOut
    steps: list[StepOut]
    notes: list[str]


class AnswerOut(BaseModel):
    question: str
    answer: str | None = Field(description="None: vidkg does not know (see plan.notes).")
    known: bool
    answerer: str
    citations: list[CitationOut]
    ranked: list[MomentOut]
    plan: PlanOut
    timings: dict[str, float]


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, examples=["When is the inspection?"])
    video_ids: list[AnyId] = Field(default=[], max_length=1000, description="Empty: the library.")
    answerer: str | None = Field(
        default=None, max_length=50, description="extractive or vlm (default: settings)."
    )
    stream: bool = Field(
        default=False,
        description="Answer as server-sent events: `plan`, then `answer`, then `end`.",
    )
