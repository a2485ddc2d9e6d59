"""Span captions: from a VLM over an OpenAI-compatible API when configured, else composed.

The composed caption states only what was extracted (people and objects detected, text
shown, words said), so it never invents; it is what search and the extractive answerer
use when no VLM runs. A VLM caption sees the span's keyframes with the same evidence as
context. A VLM that fails falls back to the composed caption for that span (logged), so
a flaky endpoint never loses a chunk; ``captioner`` records which made each caption.
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from pathlib import Path

import httpx

from indexer.stages.base import CaptionRecord
from indexer.stages.evidence import ChunkEvidence, SceneRow
from vidkg.stage_settings import CaptionSettings

log = logging.getLogger(__name__)
COMPOSED = "evidence"
_MAX_SAID = 300  # characters of speech quoted in a composed caption


def _clock(t: float) -> str:
    t = int(t)
    return (
        f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"
    )


def compose(evidence: ChunkEvidence, scene: SceneRow) -> str:
    """A factual sentence or three about one span, from its evidence only."""
    a, b = scene.start_s, scene.end_s
    parts = [f"{_clock(a)}-{_clock(b)}."]
    tracks = evidence.within(evidence.tracks, a, b)
    if tracks:
        counts = Counter(t.label for t in tracks)
        seen = ", ".join(f"{n} {label}{'s' if n > 1 else ''}" for label, n in counts.most_common())
        parts.append(f"Seen: {seen}.")
    texts = list(dict.fromkeys(r.text for r in evidence.within(evidence.texts, a, b)))
    if texts:
        parts.append("Text on screen: " + "; ".join(f'"{t}"' for t in texts) + ".")
    said = " ".join(r.text for r in evidence.within(evidence.speech, a, b)).strip()
    if said:
        if len(said) > _MAX_SAID:
            said = said[:_MAX_SAID].rsplit(" ", 1)[0] + " ..."
        parts.append(f'Said: "{said}"')
    if len(parts) == 1:
        parts.append("No speech, text or detected objects.")
    return " ".join(parts)


class CaptionStage:
    name = "caption"

    def __init__(self, settings: CaptionSettings) -> None:
        self.settings = settings
        self._client: httpx.Client | None = None
        if settings.vlm_url:
            headers = {}
            if settings.vlm_api_key is not None:
                headers["Authorization"] = f"Bearer {settings.vlm_api_key.get_secret_value()}"
            self._client = httpx.Client(
                base_url=settings.vlm_url.rstrip("/"),
                headers=headers,
                timeout=settings.vlm_timeout_s,
            )

    def process(self, evidence: ChunkEvidence) -> list[CaptionRecord]:
        scenes = evidence.scenes or [SceneRow(evidence.start_s, evidence.end_s)]
        out = []
        for scene in scenes:
            facts = compose(evidence, scene)
            text, captioner = facts, COMPOSED
            if self._client is not None and scene.keyframe_paths:
                vlm = self._ask_vlm(scene, facts)
                if vlm:
                    text, captioner = vlm, f"vlm:{self.settings.vlm_model}"
            out.append(CaptionRecord(scene.start_s, scene.end_s, text, captioner))
        return out

    def _ask_vlm(self, scene: SceneRow, facts: str) -> str | None:
        assert self._client is not None
        images = [
            {"type": "image_url", "image_url": {"url": _data_url(Path(p))}}
            for p in scene.keyframe_paths[: self.settings.keyframes_per_span]
        ]
        prompt = (
            "Describe this video segment in one or two factual sentences: who or what is "
            "visible and what happens. Use the extracted evidence below; do not invent "
            f"names or text.\nEvidence: {facts}"
        )
        body = {
            "model": self.settings.vlm_model,
            "temperature": 0.0,
            "max_tokens": 120,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}, *images]}],
        }
        try:
            resp = self._client.post("/chat/completions", json=body)
            resp.raise_for_status()
            text = resp.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning(
                "VLM caption failed for %.1f-%.1f s (%s); using evidence",
                scene.start_s,
                scene.end_s,
                exc,
            )
            return None
        return text.strip() or None


def _data_url(path: Path) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
