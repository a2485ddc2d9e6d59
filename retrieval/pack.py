"""Evidence packing for answerers (Video-RAG layout, with timecodes and ids).

The moments ranked best are widened by their neighbourhood (what was said and shown a
little before and after), read back from the store, and laid out chronologically:
``[E3] 0:12:03-0:12:07 speech: "..."``. Each item keeps its row and times, so any id an
answerer cites resolves to a checkable citation; ids that do not resolve are dropped by
the caller. Packing stops at the token budget, best moments first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from graph.evidence import parse_words
from graph.types import Word
from retrieval.drafted import Drafted
from retrieval.text_rules import fmt_tc
from retrieval.types import Citation, EvidenceRef, Hit, Source

NEIGHBOUR_S = 8.0  # context on each side of a moment

_SPEECH = text(
    "SELECT id, start_s, end_s, text, words FROM speech_segments"
    " WHERE video_id = :v AND end_s >= :a AND start_s <= :b ORDER BY start_s"
)
_TEXTS = text(
    "SELECT id, start_s, end_s, text FROM onscreen_text"
    " WHERE video_id = :v AND end_s >= :a AND start_s <= :b ORDER BY start_s, id"
)
_CAPTIONS = text(
    "SELECT id, start_s, end_s, text FROM captions"
    " WHERE video_id = :v AND end_s >= :a AND start_s <= :b ORDER BY start_s"
)
_OBJECTS = text(
    "SELECT min(id), min(start_s), max(end_s), label || ' x' || count(*) FROM tracks"
    " WHERE video_id = :v AND end_s >= :a AND start_s <= :b AND detection_count >= 2"
    " GROUP BY label ORDER BY label"
)
_KEYFRAME = text(
    "SELECT image_path FROM frames WHERE video_id = :v AND image_path IS NOT NULL"
    " ORDER BY abs(t_s - :t) LIMIT 1"
)


@dataclass(frozen=True)
class EvidenceItem:
    id: int  # the answerer cites [E<id>]
    video_id: int
    start_s: float
    end_s: float
    source: Source
    text: str
    ref: EvidenceRef
    words: tuple[Word, ...] = ()
    rank: int | None = None  # the moment's rank when retrieved, None for context

    def citation(self, start_s: float | None = None, end_s: float | None = None) -> Citation:
        return Citation(
            self.video_id,
            round(self.start_s if start_s is None else start_s, 3),
            round(self.end_s if end_s is None else end_s, 3),
            self.source,
            self.text,
            self.ref,
        )

    def line(self) -> str:
        when = f"{fmt_tc(self.start_s)}-{fmt_tc(self.end_s)}"
        return f"[E{self.id}] video {self.video_id} {when} {self.source.value}: {self.text}"


@dataclass(frozen=True)
class Packed:
    items: tuple[EvidenceItem, ...]
    tokens: int
    keyframes: tuple[str, ...] = ()
    computed: tuple[str, ...] = field(default=())  # steps of the plan's operator
    resolved: Drafted | None = None  # the operator's computed answer, if it ran

    def get(self, item_id: int) -> EvidenceItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def render(self) -> str:
        lines = [*(f"Computed: {c}" for c in self.computed), *(i.line() for i in self.items)]
        return "\n".join(lines)


def estimate_tokens(s: str) -> int:
    return int(len(s.split()) / 0.75) + 4


def read_window(s: Session, video_id: int, a: float, b: float) -> list[EvidenceItem]:
    """Every speech segment, text, caption and object summary of a video in [a, b]."""
    p = {"v": video_id, "a": a, "b": b}
    items = [
        EvidenceItem(
            0, video_id, x, y, Source.SPEECH, t, EvidenceRef("speech_segments", i), parse_words(w)
        )
        for i, x, y, t, w in s.execute(_SPEECH, p)
    ]
    for stmt, source, table in (
        (_TEXTS, Source.TEXT, "onscreen_text"),
        (_CAPTIONS, Source.CAPTION, "captions"),
        (_OBJECTS, Source.OBJECT, "tracks"),
    ):
        items += [
            EvidenceItem(0, video_id, x, y, source, t, EvidenceRef(table, i))
            for i, x, y, t in s.execute(stmt, p)
        ]
    return items


def pack(s: Session, moments: Sequence[Hit], budget: int, max_moments: int = 20) -> Packed:
    """The best moments and their neighbourhoods, chronological, within ``budget``."""
    chosen: dict[EvidenceRef, EvidenceItem] = {}
    used = 0
    keyframes: list[str] = []
    for rank, m in enumerate(moments[:max_moments], start=1):
        window = read_window(s, m.video_id, m.start_s - NEIGHBOUR_S, m.end_s + NEIGHBOUR_S)
        refs = {m.ref, *m.refs}
        window.sort(key=lambda i: (i.ref not in refs, abs(i.start_s - m.start_s)))
        for item in window:
            if item.ref in chosen:
                continue
            cost = estimate_tokens(item.text)
            if used + cost > budget:
                break
            used += cost
            hit_rank = rank if item.ref in refs else None
            chosen[item.ref] = EvidenceItem(
                0,
                item.video_id,
                item.start_s,
                item.end_s,
                item.source,
                item.text,
                item.ref,
                item.words,
                hit_rank,
            )
        path = s.execute(_KEYFRAME, {"v": m.video_id, "t": (m.start_s + m.end_s) / 2}).scalar()
        if path and path not in keyframes:
            keyframes.append(path)
    ordered = sorted(chosen.values(), key=lambda i: (i.video_id, i.start_s, i.source.value))
    items = tuple(
        EvidenceItem(n, i.video_id, i.start_s, i.end_s, i.source, i.text, i.ref, i.words, i.rank)
        for n, i in enumerate(ordered, start=1)
    )
    return Packed(items, used, tuple(keyframes))
