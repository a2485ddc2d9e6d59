"""What the malformed corpus is made of: :class:`Case` (one file and what vidkg should do
with it) and :class:`Sources` (the clean files the damage is applied to, made once per
corpus from Debian's real media). The cases themselves: ``tests/media/malformed.py``
(truncated, corrupted, mistyped, empty files) and ``tests/media/hostile.py`` (files that
lie about themselves)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.support import ALSA_VOICE, SAMPLE, VTEST, require

Outcome = Literal["refused", "ingested"]


@dataclass(frozen=True)
class Case:
    """One corpus file and what vidkg should do with it."""

    name: str
    path: Path
    damage: str  # what was done to the source
    expect: Outcome
    reason: str | None = None  # the probe's RejectReason value, for a refused file
    stages: str = "scenes"  # what the ingest runs (cheap by default); "": every stage
    chunk_s: float = 4.0  # short chunks: most files are cut in two or more


def ffmpeg(*args: str | bytes | Path) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
        check=True,
        timeout=120,
    )


class Sources:
    """Clean files the damage is applied to, made once per corpus."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        vtest, sample = require(VTEST), require(SAMPLE)
        self.voice = require(ALSA_VOICE)
        # 8 s of the briefing around its first sentence (6.6-10.1 s), stream-copied.
        self.speech_fast = folder / "speech_fast.mp4"
        self.speech_end = folder / "speech_end.mp4"
        cut = ("-ss", "6", "-t", "8", "-i", sample, "-c", "copy")
        ffmpeg(*cut, "-movflags", "+faststart", self.speech_fast)
        ffmpeg(*cut, self.speech_end)
        # 16 s of vtest's MPEG-4, stream-copied into a fresh AVI (its index at the end).
        self.avi = folder / "vtest16.avi"
        ffmpeg("-i", vtest, "-t", "16", "-c", "copy", self.avi)
        # 6 s of vtest at 384x288, H.264 (a keyframe a second) + the ALSA voice in AAC.
        self.small = folder / "small.mp4"
        ffmpeg(
            *("-i", vtest, "-i", self.voice, "-t", "6", "-vf", "scale=384:288"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", self.small),
        )
        self.small_mkv = folder / "small.mkv"
        ffmpeg("-i", self.small, "-c", "copy", self.small_mkv)
