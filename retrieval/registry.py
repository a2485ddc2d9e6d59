"""The plug-in registries: retrievers and answerers register themselves here.

A retriever is one file in ``retrieval/retrievers/`` holding a class that satisfies
:class:`Retriever` and is decorated with :func:`retriever`; its import line in
``retrieval/retrievers/__init__.py`` is the only other change. Built-ins register exactly
as an extension would. Each describes itself (name, description, a pydantic ``Params``
whose JSON schema the planner and the API read), so a contract test can run over
everything registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from graph.types import TextEmbedder
from retrieval.drafted import Drafted
from retrieval.types import Hit, Plan, Query, Source
from vidkg.retrieval_settings import RetrievalSettings

if TYPE_CHECKING:
    from graph.service import GraphService
    from retrieval.pack import Packed
    from retrieval.relisten import Listener


@dataclass(frozen=True)
class Context:
    """What plug-ins may use: the database, the settings, models lent by the process."""

    sessions: sessionmaker[Session]
    settings: RetrievalSettings
    graph: GraphService
    embed: TextEmbedder | None = None  # sentence model of the embed stage
    embed_model: str | None = None
    clip_text: TextEmbedder | None = None  # CLIP text tower, when weights are configured
    clip_model: str | None = None
    listen: Listener | None = None  # whisper over a video's audio (retrieval.relisten)


class Retriever(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    sources: ClassVar[frozenset[Source]]
    Params: ClassVar[type[BaseModel]]

    def __init__(self, ctx: Context) -> None: ...

    def unavailable(self) -> str | None:
        """Why this retriever cannot run here (no model, no weights), or None."""
        ...

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        """At most ``k`` hits, best first, only within ``query.scope``."""
        ...


class Answerer(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    def __init__(self, ctx: Context) -> None: ...

    def unavailable(self) -> str | None: ...

    def answer(self, plan: Plan, packed: Packed, params: BaseModel) -> Drafted: ...


class Plugin:
    """Optional base of a retriever or an answerer: keeps the context; available."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def unavailable(self) -> str | None:
        return None


RETRIEVERS: dict[str, type[Retriever]] = {}
ANSWERERS: dict[str, type[Answerer]] = {}

R = TypeVar("R")


def _register(table: dict[str, Any], what: str) -> Callable[[R], R]:
    def add(cls: R) -> R:
        name = cls.name  # type: ignore[attr-defined]
        if name in table and table[name] is not cls:
            raise ValueError(f"two {what}s are named {name!r}")
        table[name] = cls
        return cls

    return add


retriever = _register(RETRIEVERS, "retriever")
answerer = _register(ANSWERERS, "answerer")


def load_builtins() -> None:
    """Import the built-in plug-ins (each registers itself on import)."""
    import retrieval.answerers  # noqa: F401
    import retrieval.retrievers  # noqa: F401


def describe_retrievers() -> list[dict[str, Any]]:
    """Name, description, sources and parameter schema of every retriever (what the
    planner and ``GET /v1/retrievers`` show)."""
    load_builtins()
    return [
        {
            "name": cls.name,
            "description": cls.description,
            "sources": sorted(s.value for s in cls.sources),
            "params": cls.Params.model_json_schema(),
        }
        for cls in RETRIEVERS.values()
    ]
