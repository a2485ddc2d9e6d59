"""Speech recognition: faster-whisper over a chunk's audio, as word-timed speech records.

Long audio is read in chunks with ``overlap_s`` on each side, so words at a chunk's edges
are heard in context; each word is then kept only by the chunk its start falls in, which
stitches neighbouring chunks without duplicated or lost words. Records span their words,
not whisper's segments, whose times include the silence around the speech; and as the
VAD filter joins speech across the silence it removes, a segment is split where its words
are more than ``MAX_GAP_S`` apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from indexer.models import ModelRegistry
from indexer.stages.base import ChunkAudio, SpeechRecord, Word
from vidkg.stage_settings import AsrSettings

MIN_AUDIO_S = 0.1  # shorter audio holds no word, and whisper would make one up
MAX_GAP_S = 2.0  # a longer pause between two words of a segment starts a new record


def _is_speech(text: str) -> bool:
    """Whisper hallucinates lone punctuation ("." or "-") on noise: no letter or digit,
    no word."""
    return any(c.isalnum() for c in text)


class SpeechStage:
    """Transcribes a chunk's audio: a record per whisper segment (split at long pauses)."""

    name: ClassVar[str] = "asr"

    def __init__(self, registry: ModelRegistry, settings: AsrSettings) -> None:
        self.registry = registry
        self.settings = settings

    def process(self, audio: ChunkAudio) -> list[SpeechRecord]:
        samples = np.asarray(audio.samples, dtype=np.float32).reshape(-1)
        if len(samples) < MIN_AUDIO_S * ChunkAudio.SAMPLE_RATE or not samples.any():
            return []  # nothing to hear: skip loading and running the model
        # Deterministic decoding (temperature 0, no conditioning on earlier text) keeps
        # one chunk's hallucinations from spreading and makes re-runs give the same rows.
        # The mel features go through numpy's BLAS, whose thread count changes their last
        # bits and so can flip a borderline word ("night shift" with 1 thread, "high -t
        # shift" with 2, on the sample): pinned, a worker and an in-process run agree.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._transcribe(samples, audio)

    def _transcribe(self, samples: np.ndarray, audio: ChunkAudio) -> list[SpeechRecord]:
        segments, info = self.registry.whisper().transcribe(
            samples,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            temperature=0.0,
            vad_filter=True,
            word_timestamps=True,
            condition_on_previous_text=False,
        )
        return [
            SpeechRecord(
                start_s=words[0].start_s,
                end_s=max(w.end_s for w in words),
                text=" ".join(w.text for w in words),
                words=words,
                language=info.language,
                confidence=float(np.mean([w.probability for w in words])),
            )
            for segment in segments
            for words in _split_at_pauses(self._kept_words(segment.words or (), audio))
        ]

    @staticmethod
    def _kept_words(raw: Iterable[Any], audio: ChunkAudio) -> tuple[Word, ...]:
        """The segment's words in absolute time whose start lies in this chunk's keep
        window; the overlap on either side belongs to the neighbouring chunks."""
        words = []
        for w in raw:
            text = " ".join(w.word.split())
            start = audio.start_s + float(w.start)
            end = max(start, audio.start_s + float(w.end))
            if _is_speech(text) and audio.keep_from_s <= start < audio.keep_until_s:
                words.append(Word(start, end, text, float(w.probability)))
        return tuple(words)


def _split_at_pauses(words: tuple[Word, ...]) -> list[tuple[Word, ...]]:
    """Runs of words with no pause longer than ``MAX_GAP_S`` between them."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and word.start_s - runs[-1][-1].end_s <= MAX_GAP_S:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [tuple(run) for run in runs]
