"""``vidkg bench search``: search and ask latency on a library of replicated hours.

The caller copies one ingested video's evidence (with its embeddings) N times into a
scratch database and builds every copy's graph; this module then times every question
of a truth file (and the unanswerable ones) as ``search`` and as extractive ``ask`` over
the whole library, warm and in-process, after one cold query each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.evaluate import percentile
from retrieval.service import RetrievalService
from retrieval.types import Scope


@dataclass(frozen=True)
class Latency:
    n: int
    cold_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "cold_ms": self.cold_ms,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "max_ms": self.max_ms,
        }


def _time(call: Callable[[str], object], questions: Sequence[str]) -> Latency:
    t0 = time.perf_counter()
    call(questions[0])
    cold = (time.perf_counter() - t0) * 1000
    ms = []
    for q in questions:
        t0 = time.perf_counter()
        call(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return Latency(
        len(ms),
        round(cold, 1),
        round(percentile(ms, 50), 1),
        round(percentile(ms, 95), 1),
        round(max(ms), 1),
    )


def run_search_bench(
    service: RetrievalService, questions: Sequence[str], scope: Scope
) -> dict[str, dict[str, float]]:
    """Latency of search then of ask over ``scope`` for every question."""
    search = _time(lambda q: service.search(q, scope), questions)
    ask = _time(lambda q: service.ask(q, scope, "extractive"), questions)
    return {"search": search.as_dict(), "ask": ask.as_dict()}
