"""Frame embeddings with open_clip, one per span keyframe (for visual search).

No CLIP weights ship offline: without a configured checkpoint the registry raises
ModelUnavailable, which the pipeline records as ``skipped`` with that message; every
other stage runs as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from indexer.models import ModelRegistry
from indexer.stages.base import FrameEmbeddingRecord, SampledFrame, Span


class FrameEmbeddingStage:
    name = "clip"

    def __init__(self, registry: ModelRegistry) -> None:
        self.model, self.preprocess, self.model_name = registry.clip()  # may raise
        self.device = registry.device

    def start_chunk(self, chunk_start_s: float, chunk_end_s: float) -> None:
        pass

    def process(self, span: Span, frames: Sequence[SampledFrame]) -> list[FrameEmbeddingRecord]:
        chosen = [f for f in frames if f.t_s in span.keyframe_times]
        if not chosen:
            return []
        import torch

        batch = torch.stack([self.preprocess(Image.fromarray(f.image)) for f in chosen])
        with torch.no_grad():
            vectors = self.model.encode_image(batch.to(self.device)).float()
        vectors = torch.nn.functional.normalize(vectors, dim=-1).cpu().numpy()
        return [
            FrameEmbeddingRecord(f.t_s, np.asarray(v, np.float32), self.model_name)
            for f, v in zip(chosen, vectors, strict=True)
        ]

    def finish_chunk(self) -> list[FrameEmbeddingRecord]:
        return []


def clip_text_encoder(registry: ModelRegistry) -> tuple[Any, str]:
    """(encode, model name) of the CLIP text tower matching the frame embeddings, for
    visual search; ModelUnavailable without weights."""
    model, _, name = registry.clip()
    import open_clip

    tokenizer = open_clip.get_tokenizer(name.split(":")[1])

    def encode(texts: Sequence[str]) -> list[list[float]]:
        import torch

        with torch.no_grad():
            vectors = model.encode_text(tokenizer(list(texts)).to(registry.device)).float()
        return torch.nn.functional.normalize(vectors, dim=-1).cpu().numpy().tolist()

    return encode, name
