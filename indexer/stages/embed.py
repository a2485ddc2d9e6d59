"""Sentence embeddings of speech, on-screen text and captions (for semantic search)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexer.models import ModelRegistry
from indexer.stages.evidence import ChunkEvidence
from vidkg.schema import Caption, OnscreenText, SpeechSegment


class TextEmbeddingStage:
    name = "embed"

    def __init__(self, registry: ModelRegistry, dim: int, batch_size: int) -> None:
        self.model = registry.text_embedder()
        self.model_name = registry.text_model_name()
        self.batch_size = batch_size
        got = self.model.get_embedding_dimension()
        if got != dim:
            raise ValueError(
                f"text embedding model {self.model_name} gives {got}-d vectors but the schema "
                f"stores {dim}-d (VIDKG_EMBEDDINGS__TEXT_DIM); use a {dim}-d model"
            )

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length sentence vectors (also lent to the graph for event descriptions)."""
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return [v.tolist() for v in vectors]

    def process(self, evidence: ChunkEvidence) -> list[tuple[Any, int, Any, str]]:
        """(table, row id, vector, model) for every text row of the chunk."""
        items = [
            *((SpeechSegment, r) for r in evidence.speech),
            *((OnscreenText, r) for r in evidence.texts),
            *((Caption, r) for r in evidence.captions),
        ]
        if not items:
            return []
        vectors = self.encode([row.text for _, row in items])
        return [
            (table, row.id, vec, self.model_name)
            for (table, row), vec in zip(items, vectors, strict=True)
        ]
