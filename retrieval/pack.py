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

# Windows are read all at once: one statement per table over every (video, a, b) window
# (``unnest ... WITH ORDINALITY`` numbers them), not four statements per moment.
_SPEECH = text(
    "SELECT w.n, t.id, t.start_s, t.end_s, t.text, t.words"
    " FROM unnest(CAST(:vs AS bigint[]), CAST(:va AS float8[]), CAST(:vb AS float8[]))"
    " WITH ORDINALITY AS w(v, a, b, n)"
    " JOIN speech_segments t ON t.video_id = w.v AND t.end_s >= w.a AND t.start_s <= w.b"
    " ORDER BY w.n, t.start_s"
)
_TEXTS = text(
    "SELECT w.n, t.id, t.start_s, t.end_s, t.text"
    " FROM unnest(CAST(:vs AS bigint[]), CAST(:va AS float8[]), CAST(:vb AS float8[]))"
    " WITH ORDINALITY AS w(v, a, b, n)"
    " JOIN onscreen_text t ON t.video_id = w.v AND t.end_s >= w.a AND t.start_s <= w.b"
    " ORDER BY w.n, t.start_s, t.id"
)
_CAPTIONS = text(
    "SELECT w.n, t.id, t.start_s, t.end_s, t.text"
    " FROM unnest(CAST(:vs AS bigint[]), CAST(:va AS float8[]), CAST(:vb AS float8[]))"
    " WITH ORDINALITY AS w(v, a, b, n)"
    " JOIN captions t ON t.video_id = w.v AND t.end_s >= w.a AND t.start_s <= w.b"
    " ORDER BY w.n, t.start_s"
)
_OBJECTS = text(
    "SELECT w.n, min(t.id), min(t.start_s), max(t.end_s), t.label || ' x' || count(*)"
    " FROM unnest(CAST(:vs AS bigint[]), CAST(:va AS float8[]), CAST(:vb AS float8[]))"
    " WITH ORDINALITY AS w(v, a, b, n)"
    " JOIN tracks t ON t.video_id = w.v AND t.end_s >= w.a AND t.start_s <= w.b"
    " AND t.detection_count >= 2 GROUP BY w.n, t.label ORDER BY w.n, t.label"
)
_KEYFRAMES = text(
    "SELECT w.n, (SELECT f.image_path FROM frames f WHERE f.video_id = w.v"
    " AND f.image_path IS NOT NULL ORDER BY abs(f.t_s - w.t) LIMIT 1)"
    " FROM unnest(CAST(:vs AS bigint[]), CAST(:ts AS float8[])) WITH ORDINALITY AS w(v, t, n)"
    " ORDER BY w.n"
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
    return read_windows(s, [(video_id, a, b)])[0]


def read_windows(
    s: Session, windows: Sequence[tuple[int, float, float]]
) -> list[list[EvidenceItem]]:
    """``read_window`` of each (video, a, b), in four statements whatever their number."""
    p = {
        "vs": [w[0] for w in windows],
        "va": [w[1] for w in windows],
        "vb": [w[2] for w in windows],
    }
    out: list[list[EvidenceItem]] = [[] for _ in windows]
    for n, i, x, y, t, w in s.execute(_SPEECH, p):
        v = windows[n - 1][0]
        ref = EvidenceRef("speech_segments", i)
        out[n - 1].append(EvidenceItem(0, v, x, y, Source.SPEECH, t, ref, parse_words(w)))
    for stmt, source, table in (
        (_TEXTS, Source.TEXT, "onscreen_text"),
        (_CAPTIONS, Source.CAPTION, "captions"),
        (_OBJECTS, Source.OBJECT, "tracks"),
    ):
        for n, i, x, y, t in s.execute(stmt, p):
            v = windows[n - 1][0]
            out[n - 1].append(EvidenceItem(0, v, x, y, source, t, EvidenceRef(table, i)))
    return out


def _keyframes(s: Session, moments: Sequence[Hit]) -> list[str | None]:
    """The keyframe nearest each moment's middle (one statement)."""
    p = {"vs": [m.video_id for m in moments], "ts": [(m.start_s + m.end_s) / 2 for m in moments]}
    return [path for _, path in s.execute(_KEYFRAMES, p)]


def pack(s: Session, moments: Sequence[Hit], budget: int, max_moments: int = 20) -> Packed:
    """The best moments and their neighbourhoods, chronological, within ``budget``."""
    chosen: dict[EvidenceRef, EvidenceItem] = {}
    used = 0
    keyframes: list[str] = []
    best = list(moments[:max_moments])
    spans = [(m.video_id, m.start_s - NEIGHBOUR_S, m.end_s + NEIGHBOUR_S) for m in best]
    windows = read_windows(s, spans) if best else []
    frames = _keyframes(s, best) if best else []
    for rank, (m, window, path) in enumerate(zip(best, windows, frames, strict=True), start=1):
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
        if path and path not in keyframes:
            keyframes.append(path)
    ordered = sorted(chosen.values(), key=lambda i: (i.video_id, i.start_s, i.source.value))
    items = tuple(
        EvidenceItem(n, i.video_id, i.start_s, i.end_s, i.source, i.text, i.ref, i.words, i.rank)
        for n, i in enumerate(ordered, start=1)
    )
    return Packed(items, used, tuple(keyframes))
