"""Whisper's VAD regions of a chunk: found once, joined for decoding, and checked for
speech whisper left (nearly) unheard.

``transcribe(vad_filter=True)`` finds the regions, joins them, decodes the joined audio
and maps the times back; doing those steps here, with faster-whisper's own functions,
gives the same words and lets :mod:`indexer.stages.asr` reuse the regions to listen
again, instead of running the VAD twice (0.75 s per 5-minute chunk on this 2-core CPU).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from indexer.stages.base import ChunkAudio, SpeechRecord

FEW_WORDS = 1  # a lone speech region heard as this many words or fewer: listen again
RELISTEN_PAD_S = 0.5  # audio taken on each side of a region listened to again


def speech_regions(samples: np.ndarray) -> list[dict]:
    """Sample ranges (``start``, ``end``) of speech, by whisper's default VAD options."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(samples, VadOptions())


def joined(samples: np.ndarray, regions: list[dict]) -> np.ndarray:
    from faster_whisper.vad import collect_chunks

    pieces, _ = collect_chunks(samples, regions)
    return np.concatenate(pieces, axis=0)


def restored(segments: Iterable[Any], regions: list[dict]) -> Iterable[Any]:
    """Segments of the joined audio with their (and their words') times in the chunk's."""
    from faster_whisper.transcribe import restore_speech_timestamps

    return restore_speech_timestamps(segments, regions, ChunkAudio.SAMPLE_RATE)


def underheard(
    regions: list[dict], records: list[SpeechRecord], audio: ChunkAudio
) -> list[tuple[float, float, list[SpeechRecord]]]:
    """(from s, to s, the records in it) of each region of the keep window that is heard
    alone (no record runs past it) but barely: as ``FEW_WORDS`` words or none. Each costs
    a whole decode (whisper's encoder always reads 30 s: 1.1-1.5 s here), so the bar is
    low: a test on the share of the region its words fill re-decoded every alsa voice
    ("Side, left.", slow, with a pause), 20 an hour, to change one. The span is padded by
    ``RELISTEN_PAD_S``, short of other speech: the VAD starts a region after a soft
    onset ("Front, left" is "Left." without the pad)."""
    rate, out = ChunkAudio.SAMPLE_RATE, []
    for region in regions:
        a, b = (audio.start_s + region[k] / rate for k in ("start", "end"))
        if b <= audio.keep_from_s or a >= audio.keep_until_s:
            continue
        inside = [r for r in records if r.start_s < b and r.end_s > a]
        if any(r.start_s < a or r.end_s > b for r in inside):
            continue  # part of longer speech, which whisper heard in context
        if sum(len(r.words) for r in inside) > FEW_WORDS:
            continue
        others = [r for r in records if r not in inside]
        lo = max([a - RELISTEN_PAD_S, *(r.end_s for r in others if r.end_s <= a)])
        hi = min([b + RELISTEN_PAD_S, *(r.start_s for r in others if r.start_s >= b)])
        out.append((lo, hi, inside))
    return out
