"""Builds the services the CLI and the HTTP API share, once per process.

This is where layers meet: retrieval takes its models as plain callables, and this module
lends it the indexer's (the embed stage's sentence model, CLIP's text tower when weights
are configured, whisper to listen again), so ``retrieval`` never imports ``indexer``.
"""

from __future__ import annotations

import logging

from graph.service import GraphService
from indexer.graph_step import text_embedder
from indexer.models import ModelRegistry, ModelUnavailable
from retrieval.registry import Context
from retrieval.service import RetrievalService
from vidkg.db import Database
from vidkg.settings import Settings

log = logging.getLogger(__name__)


def retrieval_service(
    settings: Settings, db: Database, registry: ModelRegistry, graph: GraphService | None = None
) -> RetrievalService:
    """The search/ask service with the process's models (loaded here, not per request)."""
    embed, embed_model = text_embedder(registry, settings)
    clip, clip_model = None, None
    if settings.indexer.clip.pretrained:
        from indexer.stages.clip import clip_text_encoder

        try:
            clip, clip_model = clip_text_encoder(registry)
        except ModelUnavailable as exc:
            log.warning("visual search is off: %s", exc)
    graph = graph or GraphService(db.sessions, settings.graph.cache_graphs)
    listen = None
    if settings.retrieval.relisten:
        from api.listen import speech_listener

        try:
            listen = speech_listener(registry, db.sessions)
        except ModelUnavailable as exc:
            log.warning("speech is not listened to again: %s", exc)
    ctx = Context(
        db.sessions, settings.retrieval, graph, embed, embed_model, clip, clip_model, listen
    )
    return RetrievalService(ctx)
