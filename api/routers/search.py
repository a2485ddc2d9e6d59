"""Search and ask: the retrieval service, exactly as `vidkg search` and `vidkg ask`."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from api.auth import Reader
from api.defs.common import AnyId
from api.defs.retrieval import AnswerOut, AskIn, SearchOut
from api.deps import AppServices, Services
from api.problems import Problem
from retrieval.registry import ANSWERERS
from retrieval.types import ALL_SOURCES, Scope, Source
from retrieval.wire import answer_json, plan_json, search_json

router = APIRouter(prefix="/v1", tags=["search"])
VideoIds = Annotated[
    list[AnyId], Query(max_length=1000, description="Only these videos (repeat the parameter).")
]


@router.get("/search", response_model=SearchOut)
def search(
    app: Services,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Words, a phrase, a code.")],
    video_ids: VideoIds = [],  # noqa: B006 - FastAPI copies query defaults
    start_s: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    end_s: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    sources: Annotated[
        list[Source] | None, Query(description="Only these sources (repeat the parameter).")
    ] = None,
    k: Annotated[
        int | None, Query(ge=1, description="Moments at most (default: settings).")
    ] = None,
) -> SearchOut:
    """Ranked moments across the library, each with the retrievers that found it."""
    if start_s is not None and end_s is not None and end_s < start_s:
        raise Problem(422, "end_s is before start_s")
    scope = Scope(tuple(video_ids), start_s, end_s, frozenset(sources) if sources else ALL_SOURCES)
    started = time.perf_counter()
    result = app.retrieval.search(q, scope, k)
    app.metrics.retrieval.labels("search").observe(time.perf_counter() - started)
    return SearchOut.model_validate(search_json(result))


@router.post(
    "/ask",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}, "description": "With stream: SSE."}},
)
async def ask(body: AskIn, app: Services, _: Reader) -> AnswerOut | EventSourceResponse:
    """Answer a question with citations and the plan (`vidkg ask --json`). With
    `stream: true`: server-sent events `plan` (as soon as it is made), `answer`, `end`."""
    if body.answerer is not None and body.answerer not in ANSWERERS:
        raise Problem(422, f"answerer must be one of {', '.join(sorted(ANSWERERS))}")
    scope = Scope(tuple(body.video_ids))
    if body.stream:
        await run_in_threadpool(app.retrieval.plan, body.question, scope)  # 422 before streaming
        return EventSourceResponse(_ask_events(app, body, scope))
    return await run_in_threadpool(_answer, app, body, scope)


def _answer(app: AppServices, body: AskIn, scope: Scope) -> AnswerOut:
    started = time.perf_counter()
    answer = app.retrieval.ask(body.question, scope, body.answerer)
    app.metrics.retrieval.labels("ask").observe(time.perf_counter() - started)
    return AnswerOut.model_validate(answer_json(answer))


async def _ask_events(app: AppServices, body: AskIn, scope: Scope) -> AsyncIterator[dict[str, str]]:
    plan = await run_in_threadpool(app.retrieval.plan, body.question, scope)
    yield {"event": "plan", "data": json.dumps(plan_json(plan))}
    answer = await run_in_threadpool(_answer, app, body, scope)
    yield {"event": "answer", "data": answer.model_dump_json()}
    yield {"event": "end", "data": json.dumps({"known": answer.known})}
