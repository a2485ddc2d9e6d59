"""``vidkg search`` and ``vidkg ask``: thin faces over the retrieval service."""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer
from rich import box
from rich.table import Table

from api.cli.state import CliState, console, state
from api.services import retrieval_service
from retrieval.service import BadRequest, RetrievalService
from retrieval.text_rules import fmt_tc
from retrieval.types import ALL_SOURCES, Scope, Source
from retrieval.wire import answer_json, search_json

out = console()
err = console(stderr=True)

VideoOpt = Annotated[
    list[int] | None, typer.Option("--video", help="Only this video (repeatable).")
]
FromOpt = Annotated[float | None, typer.Option("--from", help="From this second.")]
ToOpt = Annotated[float | None, typer.Option("--to", help="Up to this second.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str) -> NoReturn:
    err.print(message, highlight=False)
    raise typer.Exit(1)


def _sources(raw: str | None) -> frozenset[Source]:
    if not raw:
        return ALL_SOURCES
    try:
        return frozenset(Source(s.strip()) for s in raw.split(",") if s.strip())
    except ValueError:
        _fail(f"--source takes a comma-separated list of: {', '.join(s.value for s in Source)}")


def _service(cli: CliState) -> RetrievalService:
    return retrieval_service(cli.settings, cli.db, cli.registry)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to find: words, a phrase, a code.")],
    video: VideoOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    source: Annotated[
        str | None, typer.Option(help="Comma-separated: speech,text,object,caption,event,visual.")
    ] = None,
    k: Annotated[int | None, typer.Option(help="Moments at most (default: settings).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ranked moments for a query across the library, with the legs that found them."""
    scope = Scope(tuple(video or ()), start, end, _sources(source))
    try:
        result = _service(state(ctx)).search(query, scope, k)
    except BadRequest as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(search_json(result), indent=2))
        return
    table = Table("video", "start", "end", "source", "text", "legs", box=box.SIMPLE_HEAD)
    for h in result.moments:
        legs = " ".join(f"{n}#{r}" for n, r in sorted(h.ranks.items(), key=lambda p: p[1]))
        table.add_row(
            str(h.video_id), fmt_tc(h.start_s), fmt_tc(h.end_s), h.source.value, h.text[:80], legs
        )
    out.print(table)
    out.print(f"{len(result.moments)} moment(s)" if result.moments else "nothing relevant found")


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="A question about the indexed videos.")],
    video: VideoOpt = None,
    answerer: Annotated[
        str | None, typer.Option(help="extractive or vlm (default: settings).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question with citations (video, seconds, source, text) and the plan."""
    try:
        answer = _service(state(ctx)).ask(question, Scope(tuple(video or ())), answerer)
    except BadRequest as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(answer_json(answer), indent=2))
        return
    out.print(f"[bold]{answer.text}[/bold]" if answer.known else "I don't know.", highlight=False)
    for c in answer.citations:
        out.print(
            f"  video {c.video_id} {fmt_tc(c.start_s)}-{fmt_tc(c.end_s)} "
            f"{c.source.value}: {c.text}",
            highlight=False,
        )
    p = answer.plan
    parts = [f"plan: {p.answer_type.value}, {p.operator.value}", f"terms {', '.join(p.terms)}"]
    out.print("; ".join([*parts, *p.notes]), highlight=False, style="dim")
