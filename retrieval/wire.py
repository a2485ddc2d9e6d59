"""Plain-JSON forms of retrieval's records (what ``--json`` prints and the API returns)."""

from __future__ import annotations

from typing import Any

from retrieval.service import SearchResult
from retrieval.types import Answer, Citation, Hit, Plan, Scope


def scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "videos": list(scope.videos),
        "start_s": scope.start_s,
        "end_s": scope.end_s,
        "sources": sorted(s.value for s in scope.sources),
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "video_id": hit.video_id,
        "start_s": round(hit.start_s, 3),
        "end_s": round(hit.end_s, 3),
        "source": hit.source.value,
        "text": hit.text,
        "score": hit.score,
        "ref": {"table": hit.ref.table, "id": hit.ref.id},
        "legs": dict(sorted(hit.ranks.items(), key=lambda p: p[1])),
    }


def citation_json(c: Citation) -> dict[str, Any]:
    return {
        "video_id": c.video_id,
        "start_s": c.start_s,
        "end_s": c.end_s,
        "source": c.source.value,
        "text": c.text,
        "ref": None if c.ref is None else {"table": c.ref.table, "id": c.ref.id},
    }


def plan_json(p: Plan) -> dict[str, Any]:
    return {
        "question": p.question,
        "planner": p.planner,
        "answer_type": p.answer_type.value,
        "operator": p.operator.value,
        "terms": list(p.terms),
        "phrases": list(p.phrases),
        "sources": [s.value for s in p.sources],
        "anchors": list(p.anchors),
        "options": list(p.options),
        "target": p.target,
        "scope": scope_json(p.scope),
        "steps": [{"retriever": s.retriever, "query": s.query, "why": s.why} for s in p.steps],
        "notes": list(p.notes),
    }


def answer_json(a: Answer) -> dict[str, Any]:
    return {
        "question": a.question,
        "answer": a.text,
        "known": a.known,
        "answerer": a.answerer,
        "citations": [citation_json(c) for c in a.citations],
        "ranked": [hit_json(h) for h in a.ranked],
        "plan": plan_json(a.plan),
        "timings": a.timings,
    }


def search_json(r: SearchResult) -> dict[str, Any]:
    return {
        "query": r.query.text,
        "scope": scope_json(r.query.scope),
        "moments": [hit_json(h) for h in r.moments],
        "legs": r.legs,
        "skipped": r.skipped,
        "timings": r.timings,
    }
