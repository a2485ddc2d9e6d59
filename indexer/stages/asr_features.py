"""Whisper's log-Mel features, computed a block of frames at a time.

faster-whisper computes the features of all the audio it is given in one go: the
framed signal, its spectrum and their squares for every 10 ms frame at once. For a
chunk's speech (up to ``chunk_s`` plus its overlap, 310 s by default) that is about 300
MB that live only for that call; on the 60-minute haystack the process peaked there.
Each frame's features depend only on its own 25 ms window, and the one step over all
of them (the floor set 8 below the loudest value) needs only the finished spectrogram,
so computing blocks of frames into one array gives the same numbers, bit for bit, with
81 MB at most for 310 s (mostly the padded copies of the audio), in half the time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

BLOCK_FRAMES = 3000  # 30 s of 10 ms frames: about 10 MB of spectrum at a time


class BlockFeatureExtractor(FeatureExtractor):
    """A drop-in for faster-whisper's :class:`FeatureExtractor` with the same output."""

    def __call__(
        self, waveform: np.ndarray, padding: int = 160, chunk_length: int | None = None
    ) -> np.ndarray:
        if chunk_length is not None:  # as faster-whisper's own
            self.n_samples = chunk_length * self.sampling_rate
            self.nb_max_frames = self.n_samples // self.hop_length
        waveform = np.asarray(waveform, dtype=np.float32)
        if padding:
            waveform = np.pad(waveform, (0, padding))
        half = self.n_fft // 2
        padded = np.pad(waveform, (half, half), mode="reflect")  # the STFT's centring
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop_length]
        window = np.hanning(self.n_fft + 1)[:-1].astype(np.float32)
        count = len(frames) - 1  # faster-whisper drops the last frame
        log_spec = np.empty((self.mel_filters.shape[0], count), np.float32)
        for a in range(0, count, BLOCK_FRAMES):
            b = min(a + BLOCK_FRAMES, count)
            spectrum = np.fft.rfft(frames[a:b] * window, n=self.n_fft, axis=-1)
            magnitudes = np.abs(spectrum.astype(np.complex64).T) ** 2
            log_spec[:, a:b] = np.log10(np.clip(self.mel_filters @ magnitudes, 1e-10, None))
        np.maximum(log_spec, log_spec.max(initial=-np.inf) - 8.0, out=log_spec)
        return (log_spec + 4.0) / 4.0


def use_block_features(model: Any) -> None:
    """Give a faster-whisper ``WhisperModel`` the block-wise feature extractor."""
    model.feature_extractor = BlockFeatureExtractor(**model.feat_kwargs)
