"""Typed records that cross retrieval's boundaries: queries, hits, plans, answers.

Everything here is frozen, so a plan or an answer can be logged, cached and returned
over HTTP without anyone mutating it on the way; statuses and kinds are ``StrEnum``s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Source(StrEnum):
    """Kinds of evidence a moment can come from (``--source``)."""

    SPEECH = "speech"
    TEXT = "text"  # read on screen
    OBJECT = "object"  # people and objects seen (tracks, detections)
    CAPTION = "caption"
    EVENT = "event"  # fused event descriptions of the graph
    VISUAL = "visual"  # frames, by CLIP text-to-image similarity


ALL_SOURCES = frozenset(Source)


class AnswerType(StrEnum):
    FACT = "fact"  # a short span: a day, a number with its unit, a name, a code
    TEXT = "text"  # what is written on screen
    SAID = "said"  # what is said (a sentence)
    TIME = "time"  # when: time windows
    COUNT = "count"
    LIST = "list"
    YESNO = "yes/no"
    CHOICE = "choice"


class Operator(StrEnum):
    """How the plan combines retrieval results; computed, never guessed."""

    NONE = "none"
    AFTER = "after"  # what is said right after anchor A
    BEFORE = "before"  # what is said right before anchor A
    WHILE = "while"  # what is on screen while B is said (time overlap)
    ORDER = "order"  # which of A and B comes first
    COUNT = "count"  # separate appearances of what the question names
    ALL_TIMES = "all_times"  # every window where it appears


@dataclass(frozen=True)
class Scope:
    """Where to look: some videos (empty: the whole library), a time range, sources."""

    videos: tuple[int, ...] = ()
    start_s: float | None = None
    end_s: float | None = None
    sources: frozenset[Source] = ALL_SOURCES

    def allows(self, source: Source) -> bool:
        return source in self.sources


EVERYWHERE = Scope()  # the whole library, all times, all sources


@dataclass(frozen=True)
class Query:
    """One retrieval request. ``terms`` are the key words the planner kept (the text's own
    words when empty); ``phrases`` are strings to match as written (quoted, codes)."""

    text: str
    scope: Scope = Scope()
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvidenceRef:
    """The evidence row a hit came from: table name and id."""

    table: str
    id: int


@dataclass(frozen=True)
class Hit:
    """A moment found by a retriever (or merged by fusion: ``ranks`` then holds every
    leg that found it, with its rank there, 1 = best)."""

    video_id: int
    start_s: float
    end_s: float
    source: Source
    text: str
    score: float
    ref: EvidenceRef
    ranks: dict[str, int] = field(default_factory=dict, compare=False)
    refs: tuple[EvidenceRef, ...] = ()  # other rows merged into this moment

    def overlaps(self, other: Hit, gap_s: float = 0.0) -> bool:
        return (
            self.video_id == other.video_id
            and self.start_s <= other.end_s + gap_s
            and other.start_s <= self.end_s + gap_s
        )


@dataclass(frozen=True)
class Citation:
    """Proof an analyst can click: the video and the seconds to play, what is there."""

    video_id: int
    start_s: float
    end_s: float
    source: Source
    text: str
    ref: EvidenceRef | None = None


@dataclass(frozen=True)
class Step:
    """One retrieval step of a plan: a retriever, its query and why it runs."""

    retriever: str
    query: str
    why: str


@dataclass(frozen=True)
class Plan:
    """What the planner made of a question; always returned with the answer."""

    question: str
    answer_type: AnswerType
    operator: Operator
    terms: tuple[str, ...]
    phrases: tuple[str, ...]
    sources: tuple[Source, ...]
    anchors: tuple[str, ...] = ()  # operator arguments: what to resolve first
    options: tuple[str, ...] = ()  # a choice question's options, as written
    target: str | None = None  # what a count or all-times question is about
    scope: Scope = Scope()
    planner: str = "rules"
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """``text`` is None when vidkg does not know; then ``citations`` is empty."""

    question: str
    text: str | None
    citations: tuple[Citation, ...]
    ranked: tuple[Hit, ...]
    plan: Plan
    answerer: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def known(self) -> bool:
        return self.text is not None
