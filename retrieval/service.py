"""The one entry point of search and question answering: :class:`RetrievalService`.

The CLI and the HTTP API both call :meth:`RetrievalService.search` and
:meth:`RetrievalService.ask`; models (the sentence embedder, CLIP's text tower) are lent
by the process that builds the service, once. Search runs every available retriever the
scope allows, fuses their ranks and returns moments. Ask plans the question, runs the
plan's operator or a search, packs the evidence and lets an answerer answer; citations
are resolved from the packed evidence only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from retrieval import operators
from retrieval.drafted import Drafted
from retrieval.fusion import fuse
from retrieval.pack import EvidenceItem, Packed, pack
from retrieval.planner import phrases, plan_question
from retrieval.registry import ANSWERERS, RETRIEVERS, Context, Retriever, load_builtins
from retrieval.relisten import relisten
from retrieval.text_rules import content_words, fmt_tc, stem, tokens
from retrieval.types import (
    EVERYWHERE,
    Answer,
    AnswerType,
    Citation,
    Hit,
    Operator,
    Plan,
    Query,
    Scope,
    Source,
    Step,
)

WEIGHTS = {"lexical": 1.0, "fuzzy": 1.0, "dense": 1.0, "graph": 0.5, "objects": 0.8, "visual": 1.0}


class BadRequest(ValueError):
    """The request cannot be served as asked (k too large, an empty query)."""


@dataclass(frozen=True)
class SearchResult:
    query: Query
    moments: tuple[Hit, ...]
    legs: dict[str, int]  # hits each retriever found
    skipped: dict[str, str]  # retrievers that could not run, and why
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = round(timings.get(key, 0.0) + (time.perf_counter() - t0) * 1000, 2)


class RetrievalService:
    def __init__(self, ctx: Context) -> None:
        load_builtins()
        self.ctx = ctx
        self.settings = ctx.settings
        self.retrievers: dict[str, Retriever] = {n: c(ctx) for n, c in RETRIEVERS.items()}

    # ---- search ------------------------------------------------------------------------

    def query(self, text: str, scope: Scope = EVERYWHERE) -> Query:
        text = " ".join(text.split())
        if not text:
            raise BadRequest("the query is empty")
        if len(text) > 2000:
            raise BadRequest("the query is longer than 2000 characters")
        return Query(text, scope, tuple(content_words(text)), phrases(text))

    def search(self, text: str, scope: Scope = EVERYWHERE, k: int | None = None) -> SearchResult:
        """Ranked moments for a query typed by an analyst."""
        return self.run(self.query(text, scope), k)

    def run(self, query: Query, k: int | None = None) -> SearchResult:
        k = self.settings.k if k is None else k
        if not 1 <= k <= self.settings.max_k:
            raise BadRequest(f"k must be between 1 and {self.settings.max_k}")
        timings: dict[str, float] = {}
        legs: dict[str, list[Hit]] = {}
        skipped: dict[str, str] = {}
        depth = max(k, self.settings.leg_depth)
        for name, r in self.retrievers.items():
            if not r.sources & query.scope.sources:
                continue
            if why := r.unavailable():
                skipped[name] = why
                continue
            with _timed(timings, name):
                legs[name] = r.retrieve(query, r.Params(), depth)
        with _timed(timings, "fusion"):
            moments = fuse(legs, WEIGHTS, self.settings.rrf_k, self.settings.merge_gap_s)
        return SearchResult(
            query, tuple(moments[:k]), {n: len(h) for n, h in legs.items()}, skipped, timings
        )

    def _hits(self, query: Query, k: int) -> list[Hit]:
        return list(self.run(query, k).moments)

    # ---- ask ---------------------------------------------------------------------------

    def plan(self, question: str, scope: Scope = EVERYWHERE) -> Plan:
        if not " ".join(question.split()):
            raise BadRequest("the question is empty")
        if len(question) > 2000:
            raise BadRequest("the question is longer than 2000 characters")
        if self.settings.planner == "llm":
            from retrieval.llm_planner import plan_with_llm

            return plan_with_llm(question, scope, self.settings)
        return plan_question(question, scope)

    def ask(self, question: str, scope: Scope = EVERYWHERE, answerer: str | None = None) -> Answer:
        timings: dict[str, float] = {}
        with _timed(timings, "plan"):
            plan = self.plan(question, scope)
        with _timed(timings, "retrieve"):
            ranked, packed, plan = self._evidence(plan)
        if self.ctx.listen is not None and self.settings.relisten:
            with _timed(timings, "relisten"):
                packed, plan = self._listen_again(plan, packed)
        name = answerer or self.settings.answerer
        with _timed(timings, "answer"):
            drafted, used, fallback = self._answer(name, plan, packed)
        citations = _citations(drafted, packed, plan)
        text = drafted.text if citations else None
        notes = (*plan.notes, *(n for n in (fallback, drafted.note) if n))
        timings["total"] = round(sum(timings.values()), 2)
        citations = citations if text else ()
        return Answer(
            question,
            text,
            citations,
            cited_first(ranked, citations),
            replace(plan, notes=notes),
            used,
            timings,
        )

    def _listen_again(self, plan: Plan, packed: Packed) -> tuple[Packed, Plan]:
        assert self.ctx.listen is not None
        floor = self.settings.answer_min_score
        packed, heard = relisten(plan, packed, self.ctx.listen, floor)
        return packed, (replace(plan, notes=(*plan.notes, heard)) if heard else plan)

    def _answer(self, name: str, plan: Plan, packed: Packed) -> tuple[Drafted, str, str | None]:
        """The named answerer's draft; the extractive one's (with why) when it cannot run
        or its model fails."""
        if name not in ANSWERERS:
            raise BadRequest(f"no answerer named {name!r}: {', '.join(ANSWERERS)}")
        a = ANSWERERS[name](self.ctx)
        note = None
        if name != "extractive" and (why := a.unavailable()) is None:
            from retrieval.chat import ChatError

            try:
                return a.answer(plan, packed, a.Params()), name, None
            except ChatError as exc:  # the model failed: the extractive answer still stands
                note = f"{name} failed ({exc}); extractive answer"
        elif name != "extractive":
            note = f"{name} unavailable ({why}); extractive answer"
        e = ANSWERERS["extractive"](self.ctx)
        return e.answer(plan, packed, e.Params()), "extractive", note

    def _evidence(self, plan: Plan) -> tuple[list[Hit], Packed, Plan]:
        """Ranked moments and packed evidence: the operator's, or a search's."""
        if plan.operator in (Operator.COUNT, Operator.ALL_TIMES):
            return self._appearances(plan)
        if plan.operator is not Operator.NONE:
            return self._operate(plan)
        query = Query(
            plan.question,
            replace(plan.scope, sources=frozenset(plan.sources) & plan.scope.sources),
            plan.terms,
            plan.phrases,
        )
        result = self.run(query, self.settings.ask_moments)
        steps = tuple(Step(n, query.text, f"{c} hit(s)") for n, c in result.legs.items())
        with self.ctx.sessions() as s:
            packed = pack(s, result.moments, self.settings.pack_tokens, self.settings.ask_moments)
        return list(result.moments), packed, replace(plan, steps=steps)

    def _operate(self, plan: Plan) -> tuple[list[Hit], Packed, Plan]:
        op = {
            Operator.AFTER: operators.after,
            Operator.BEFORE: operators.after,
            Operator.WHILE: operators.during,
            Operator.ORDER: operators.order,
        }[plan.operator]
        with self.ctx.sessions() as s:
            res = op(s, self._hits, plan, self.settings.answer_min_score)
        return self._resolved(plan, res.text, list(res.evidence), res.steps)

    def _appearances(self, plan: Plan) -> tuple[list[Hit], Packed, Plan]:
        with self.ctx.sessions() as s:
            found = operators.appearances(s, plan)
        items = [
            EvidenceItem(0, h.video_id, h.start_s, h.end_s, h.source, h.text, h.ref) for h in found
        ]
        if plan.operator is Operator.COUNT:
            text = f"{len(found)} times" if found else None
        else:
            text = "; ".join(f"{fmt_tc(h.start_s)}-{fmt_tc(h.end_s)}" for h in found) or None
        _, packed, plan = self._resolved(
            plan, text, items, (f"{len(found)} separate appearance(s)",)
        )
        return found, packed, plan

    def _resolved(
        self, plan: Plan, text: str | None, items: list[EvidenceItem], steps: tuple[str, ...]
    ) -> tuple[list[Hit], Packed, Plan]:
        numbered = tuple(replace(i, id=n, rank=n) for n, i in enumerate(items, start=1))
        drafted = (
            Drafted(text, tuple(i.id for i in numbered))
            if text
            else Drafted(None, (), "; ".join(steps))
        )
        packed = Packed(numbered, 0, (), steps, drafted)
        ranked = [
            Hit(i.video_id, i.start_s, i.end_s, i.source, i.text, 1.0 / n, i.ref)
            for n, i in enumerate(numbered, start=1)
        ]
        steps_typed = tuple(Step(plan.operator.value, s, "computed") for s in steps)
        return ranked, packed, replace(plan, steps=steps_typed)


def cited_first(ranked: list[Hit], citations: tuple[Citation, ...]) -> tuple[Hit, ...]:
    """The ranked moments with those the answer cites first: the answerer read them
    against the question, which fusion's ranks did not."""

    def cited(h: Hit) -> bool:
        return any(
            c.video_id == h.video_id and c.start_s <= h.end_s and h.start_s <= c.end_s
            for c in citations
        )

    return tuple(sorted(ranked, key=lambda h: not cited(h)))


def _citations(drafted: Drafted, packed: Packed, plan: Plan) -> tuple[Citation, ...]:
    """Evidence ids that resolve to packed items become citations (others are dropped);
    speech is cited by the times of its words that the answer or question names."""
    out: list[Citation] = []
    for item_id in dict.fromkeys(drafted.evidence_ids):
        item = packed.get(item_id)
        if item is None:
            continue
        out.append(_cite(item, drafted.text or "", plan))
    return tuple(out)


def _cite(item: EvidenceItem, answer: str, plan: Plan) -> Citation:
    if item.source is not Source.SPEECH or not item.words:
        return item.citation()
    wanted = {stem(t) for t in tokens(answer)} | {stem(t) for t in plan.terms}
    if plan.answer_type is AnswerType.SAID:
        return item.citation(item.words[0].start_s, item.words[-1].end_s)
    hit = [w for w in item.words if stem(w.text) in wanted]
    if not hit:
        return item.citation()
    return item.citation(min(w.start_s for w in hit), max(w.end_s for w in hit))
