"""The speech listener lent to retrieval (:mod:`retrieval.relisten`): whisper, as the asr
stage runs it, over a few seconds of a video's audio, with hotwords.

Built once per process, with the service; it reads the video's own file, so a video
whose file has moved or been damaged since it was ingested is simply not listened to
again (the answer is then what the stored evidence gives).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import av.error
import numpy as np
from sqlalchemy.orm import Session, sessionmaker
from threadpoolctl import threadpool_limits

from graph.types import Word
from indexer.media import read_audio
from indexer.models import ModelRegistry
from indexer.stages.asr import decode
from retrieval.relisten import Heard, Listener
from vidkg.schema import Video
from vidkg.stage_settings import AsrSettings

log = logging.getLogger(__name__)
PAD_S = 0.5  # audio taken on each side: a soft onset starts before the stored word


def speech_listener(registry: ModelRegistry, sessions: sessionmaker[Session]) -> Listener:
    model = registry.whisper()
    settings = registry.settings.asr

    def listen(video_id: int, start_s: float, end_s: float, hotwords: str) -> Heard | None:
        with sessions() as s:
            video = s.get(Video, video_id)
            path = Path(video.source_path) if video is not None else None
        if path is None or not path.is_file():
            return None
        lo = max(0.0, start_s - PAD_S)
        try:
            samples = read_audio(path, lo, end_s + PAD_S)
        except (OSError, av.error.FFmpegError) as exc:  # replaced or damaged since ingest
            log.warning("video %d not listened to again: %s", video_id, exc)
            return None
        if not samples.any():
            return None
        return _heard(_decode(model, samples, settings, hotwords), lo)

    return listen


def _decode(model: Any, samples: np.ndarray, settings: AsrSettings, hot: str) -> list:
    with threadpool_limits(limits=1, user_api="blas"):  # as the asr stage decodes
        segments, _ = decode(model, samples, settings, hotwords=hot)
        return list(segments)


def _heard(segments: list, offset_s: float) -> Heard | None:
    words = tuple(
        Word(w.word.strip(), offset_s + float(w.start), offset_s + float(w.end))
        for seg in segments
        for w in seg.words or ()
        if w.word.strip()
    )
    text = " ".join(seg.text.strip() for seg in segments if seg.text.strip())
    return Heard(text, words) if text else None
