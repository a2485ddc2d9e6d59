"""Speech recognition: faster-whisper over a chunk's audio, as word-timed speech records.

Long audio is read in chunks with ``overlap_s`` on each side, so words at a chunk's edges
are heard in context; each word is then kept only by the chunk its start falls in, which
stitches neighbouring chunks without duplicated or lost words. Records span their words,
not whisper's segments, whose times include the silence around the speech; and as the
VAD filter joins speech across the silence it removes, a segment is split where its words
are more than ``MAX_GAP_S`` apart.

Whisper sometimes skips, or half hears, a short utterance that follows other speech in
the same 30 s window: on the 60-minute haystacks the alsa "Side, right" 3 s after a
narrated sentence was not heard, and "Front, left" came out as "Left.", yet both are
heard when their second of audio is decoded alone. So a lone VAD speech region heard as
one word or none is decoded again on its own (``AsrSettings.relisten``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from indexer.models import ModelRegistry
from indexer.stages.asr_regions import joined, restored, speech_regions, underheard
from indexer.stages.base import ChunkAudio, SpeechRecord, Word
from vidkg.stage_settings import AsrSettings

MIN_AUDIO_S = 0.1  # shorter audio holds no word, and whisper would make one up
MAX_GAP_S = 2.0  # a longer pause between two words of a segment starts a new record
GLUE_GAP_S = 0.5  # a piece this close after a word, with no space before it, is part of it


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
        regions = speech_regions(samples)
        if not regions:
            return []
        records = self._decode(joined(samples, regions), audio, 0.0, regions)
        if self.settings.relisten:
            records = self._relisten(samples, audio, regions, records)
        return sorted(records, key=lambda r: r.start_s)

    def _relisten(
        self,
        samples: np.ndarray,
        audio: ChunkAudio,
        regions: list[dict],
        records: list[SpeechRecord],
    ) -> list[SpeechRecord]:
        """Each lone region heard barely (one word or none), decoded again alone; its
        new words replace the old if there are more of them."""
        rate = ChunkAudio.SAMPLE_RATE
        for lo, hi, inside in underheard(regions, records, audio):
            i, j = (max(0, round((t - audio.start_s) * rate)) for t in (lo, hi))
            again = self._decode(samples[i:j], audio, i / rate)
            if sum(len(r.words) for r in again) > sum(len(r.words) for r in inside):
                records = [r for r in records if r not in inside] + again
        return records

    def _decode(
        self,
        samples: np.ndarray,
        audio: ChunkAudio,
        offset_s: float,
        regions: list[dict] | None = None,
    ) -> list[SpeechRecord]:
        """Whisper's segments of ``samples`` (which start ``offset_s`` into the chunk's
        audio; ``regions``: the VAD regions they join) as records of kept words."""
        segments, info = decode(self.registry.whisper(), samples, self.settings)
        if regions is not None:
            segments = restored(segments, regions)
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
            for words in _split_at_pauses(self._kept_words(segment.words or (), audio, offset_s))
        ]

    @staticmethod
    def _kept_words(raw: Iterable[Any], audio: ChunkAudio, offset_s: float) -> tuple[Word, ...]:
        """The segment's words in absolute time whose start lies in this chunk's keep
        window; the overlap on either side belongs to the neighbouring chunks."""
        words: list[Word] = []
        kept, last_end = False, None  # the word before this one: kept?, its end
        for w in raw:
            text = " ".join(w.word.split())
            start = audio.start_s + offset_s + float(w.start)
            end = max(start, audio.start_s + offset_s + float(w.end))
            if last_end is not None and _continues(w.word) and start - last_end < GLUE_GAP_S:
                if kept:  # a piece of the word before: kept or dropped with it
                    words[-1] = _glued(words[-1], text, end, float(w.probability))
            else:
                kept = _is_speech(text) and audio.keep_from_s <= start < audio.keep_until_s
                if kept:
                    words.append(Word(start, end, text, float(w.probability)))
            last_end = end
        return tuple(words)


def decode(
    model: Any, samples: np.ndarray, settings: AsrSettings, hotwords: str | None = None
) -> tuple[Any, Any]:
    """Whisper's (lazy segments, info) for ``samples`` as vidkg decodes speech: beam
    search at temperature 0, no conditioning on earlier text, word times, no VAD (the
    caller runs it); ``hotwords`` bias the decoder (ask's listening again)."""
    return model.transcribe(
        samples,
        language=settings.language,
        beam_size=settings.beam_size,
        temperature=0.0,
        vad_filter=False,
        word_timestamps=True,
        condition_on_previous_text=False,
        hotwords=hotwords,
    )


def _continues(raw_word: str) -> bool:
    """Whisper starts each new word with a space; a piece without one continues the word
    before it: "3" + ",000", "semi" + "-final", "Dr" + "."."""
    return bool(raw_word) and not raw_word[0].isspace()


def _glued(word: Word, piece: str, end_s: float, probability: float) -> Word:
    return Word(
        word.start_s, max(word.end_s, end_s), word.text + piece, min(word.probability, probability)
    )


def _split_at_pauses(words: tuple[Word, ...]) -> list[tuple[Word, ...]]:
    """Runs of words with no pause longer than ``MAX_GAP_S`` between them."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and word.start_s - runs[-1][-1].end_s <= MAX_GAP_S:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [tuple(run) for run in runs]
