"""Baselines every evaluation reports beside vidkg: what a user would otherwise build.

- ``transcript``: full-text search over the transcript alone, the best segment answered
  by the same extractive answerer (no on-screen text, objects, graph or operators).
- ``uniform`` (Video-RAG style): 32 frames sampled uniformly, their OCR text and
  detections, plus the transcript, ranked against the question by sentence similarity
  with no persistent index, the best five answered extractively. Its context is built
  once per video here, and that cost is reported as its per-question cost, since a
  system without an index pays it for every question.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import text

from retrieval.answerers.extractive import ExtractiveAnswerer, ExtractiveParams
from retrieval.pack import EvidenceItem, Packed, pack
from retrieval.planner import plan_question
from retrieval.registry import Context
from retrieval.retrievers.lexical import LexicalParams, LexicalRetriever
from retrieval.types import (
    Answer,
    AnswerType,
    Citation,
    EvidenceRef,
    Hit,
    Operator,
    Plan,
    Query,
    Scope,
    Source,
)

UNIFORM_FRAMES = 32
_SPEECH = text(
    "SELECT id, start_s, end_s, text FROM speech_segments WHERE video_id = :v ORDER BY start_s"
)
_DURATION = text("SELECT coalesce(decodable_s, duration_s) FROM videos WHERE id = :v")


@dataclass(frozen=True)
class FrameNote:
    """What one sampled frame shows: texts read and object labels detected."""

    t_s: float
    texts: tuple[str, ...]
    objects: tuple[str, ...]


FrameReader = Callable[[int, Sequence[float]], list[FrameNote]]


def _plain(plan: Plan) -> Plan:
    """The plan without operators: a baseline has no temporal or counting logic."""
    kind = plan.answer_type
    if kind in (AnswerType.CHOICE, AnswerType.COUNT):
        kind = AnswerType.FACT
    return replace(plan, operator=Operator.NONE, answer_type=kind)


def _answer(
    ctx: Context,
    plan: Plan,
    packed: Packed,
    ranked: Sequence[Hit],
    name: str,
    timings: dict[str, float],
) -> Answer:
    drafted = ExtractiveAnswerer(ctx).answer(plan, packed, ExtractiveParams())
    cites: list[Citation] = []
    for i in drafted.evidence_ids:
        item = packed.get(i)
        if item is not None:
            cites.append(item.citation())
    text_ = drafted.text if cites else None
    return Answer(
        plan.question, text_, tuple(cites) if text_ else (), tuple(ranked), plan, name, timings
    )


def transcript_answer(ctx: Context, question: str, scope: Scope) -> Answer:
    t0 = time.perf_counter()
    plan = _plain(plan_question(question, scope))
    query = Query(
        question, replace(scope, sources=frozenset({Source.SPEECH})), plan.terms, plan.phrases
    )
    hits = LexicalRetriever(ctx).retrieve(query, LexicalParams(), ctx.settings.k)
    with ctx.sessions() as s:
        packed = pack(s, hits, ctx.settings.pack_tokens)
    packed = replace(packed, items=tuple(i for i in packed.items if i.source is Source.SPEECH))
    ms = (time.perf_counter() - t0) * 1000
    return _answer(ctx, plan, packed, hits, "transcript", {"total": round(ms, 2)})


class UniformBaseline:
    """Video-RAG style context of one video, built once and reused per question."""

    def __init__(self, ctx: Context, read_frames: FrameReader) -> None:
        self.ctx = ctx
        self.read_frames = read_frames
        self.items: dict[int, list[EvidenceItem]] = {}
        self.vectors: dict[int, list[list[float]]] = {}
        self.build_ms: dict[int, float] = {}

    def _build(self, video_id: int) -> None:
        t0 = time.perf_counter()
        with self.ctx.sessions() as s:
            duration = float(s.execute(_DURATION, {"v": video_id}).scalar_one())
            speech = s.execute(_SPEECH, {"v": video_id}).all()
        step = duration / UNIFORM_FRAMES
        times = [step * (i + 0.5) for i in range(UNIFORM_FRAMES)]
        items = [
            EvidenceItem(0, video_id, a, b, Source.SPEECH, t, EvidenceRef("speech_segments", i))
            for i, a, b, t in speech
        ]
        for n, note in enumerate(self.read_frames(video_id, times)):
            body = "; ".join(
                ([f"text on screen: {' / '.join(note.texts)}"] if note.texts else [])
                + ([f"seen: {', '.join(note.objects)}"] if note.objects else [])
            )
            if body:
                source = Source.TEXT if note.texts else Source.OBJECT
                items.append(
                    EvidenceItem(
                        0,
                        video_id,
                        max(0.0, note.t_s - step / 2),
                        note.t_s + step / 2,
                        source,
                        body,
                        EvidenceRef("uniform_frames", n),
                    )
                )
        assert self.ctx.embed is not None
        self.items[video_id] = items
        self.vectors[video_id] = [list(v) for v in self.ctx.embed([i.text for i in items])]
        self.build_ms[video_id] = (time.perf_counter() - t0) * 1000

    def answer(self, question: str, scope: Scope) -> Answer:
        (video_id,) = scope.videos
        if video_id not in self.items:
            self._build(video_id)
        t0 = time.perf_counter()
        plan = _plain(plan_question(question, scope))
        assert self.ctx.embed is not None
        q = list(self.ctx.embed([question])[0])
        scored = sorted(
            zip(self.items[video_id], self.vectors[video_id], strict=True),
            key=lambda p: -sum(a * b for a, b in zip(q, p[1], strict=True)),
        )[:5]
        chosen = sorted((it for it, _ in scored), key=lambda i: i.start_s)
        rank = {id(it): r for r, (it, _) in enumerate(scored, start=1)}
        items = tuple(replace(i, id=n, rank=rank[id(i)]) for n, i in enumerate(chosen, 1))
        ranked = [
            Hit(i.video_id, i.start_s, i.end_s, i.source, i.text, 0.0, i.ref) for i, _ in scored
        ]
        ms = (time.perf_counter() - t0) * 1000 + self.build_ms[video_id]
        return _answer(
            self.ctx,
            plan,
            Packed(items, 0),
            ranked,
            "uniform",
            {"total": round(ms, 2), "context_build": round(self.build_ms[video_id], 2)},
        )
