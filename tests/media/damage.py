"""Byte-level tools for the malformed corpus (``tests/media/malformed.py``): copy and
cut files, overwrite bytes with seeded noise, find an MP4 box, write a WAV header with
any declared size, and a minimal Matroska writer (ffmpeg neither writes nor reads more
than 1000 streams, and PyAV crashes trying, so absurd headers are written by hand).
"""

from __future__ import annotations

import random
import shutil
import struct
from pathlib import Path

import av


def copy(source: Path, dest: Path) -> Path:
    shutil.copyfile(source, dest)
    return dest


def truncate(source: Path, dest: Path, fraction: float) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def scribble(data: bytearray, start: int, length: int, seed: int) -> None:
    """Overwrite ``length`` bytes from ``start`` with seeded random bytes."""
    rng = random.Random(seed)
    end = min(len(data), start + length)
    data[start:end] = bytes(rng.randrange(256) for _ in range(end - start))


def find_box(data: bytes | bytearray, name: bytes, start: int = 0) -> int:
    """Offset of the four-character ``name`` of an MP4 box (the size is 4 bytes before)."""
    at = data.find(name, start)
    assert at > 0, name
    return at


def wav_header(header: bytes, data_size: int) -> bytes:
    head = bytearray(header)
    struct.pack_into("<I", head, len(head) - 4, data_size)
    struct.pack_into("<I", head, 4, len(head) - 8 + data_size)
    return bytes(head)


def _ebml(element_id: int, payload: bytes) -> bytes:
    """One EBML element with an 8-byte size (always valid, simplest to write)."""
    ident = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return ident + (0x01 << 56 | len(payload)).to_bytes(8, "big") + payload


def _uint(element_id: int, value: int) -> bytes:
    return _ebml(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _track_number(n: int) -> bytes:
    return bytes([0x80 | n]) if n < 127 else (0x4000 | n).to_bytes(2, "big")


def write_mkv(
    path: Path, video_source: Path, audio_tracks: int = 0, size: tuple[int, int] | None = None
) -> None:
    """A minimal Matroska of ``video_source``'s H.264 packets (copied), claiming frames of
    ``size`` when given, plus ``audio_tracks`` PCM tracks of one block of silence each."""
    with av.open(str(video_source)) as inp:
        stream = inp.streams.video[0]
        width, height = size or (stream.codec_context.width, stream.codec_context.height)
        extradata = bytes(stream.codec_context.extradata)
        packets = [
            (round(float(p.pts * p.time_base) * 1000), p.is_keyframe, bytes(p))
            for p in inp.demux(stream)
            if p.pts is not None and p.size
        ]
    video = _ebml(0xE0, _uint(0xB0, width) + _uint(0xBA, height))
    entries = [
        _ebml(
            0xAE,
            _uint(0xD7, 1) + _uint(0x73C5, 1) + _uint(0x83, 1)
            + _ebml(0x86, b"V_MPEG4/ISO/AVC") + _ebml(0x63A2, extradata) + video,
        )
    ]  # fmt: skip
    audio = _ebml(0xE1, _ebml(0xB5, struct.pack(">d", 8000.0)) + _uint(0x9F, 1) + _uint(0x6264, 16))
    for n in range(2, audio_tracks + 2):
        entries.append(
            _ebml(
                0xAE,
                _uint(0xD7, n) + _uint(0x73C5, n) + _uint(0x83, 2)
                + _ebml(0x86, b"A_PCM/INT/LIT") + audio,
            )
        )  # fmt: skip
    end_ms = packets[-1][0] + 100
    info = _uint(0x2AD7B1, 1_000_000) + _ebml(0x4489, struct.pack(">d", float(end_ms)))
    blocks = [
        _ebml(0xA3, _track_number(n) + b"\x00\x00\x80" + bytes(160))
        for n in range(2, audio_tracks + 2)
    ]
    for t, key, data in packets:
        flags = b"\x80" if key else b"\x00"
        blocks.append(_ebml(0xA3, _track_number(1) + struct.pack(">h", t) + flags + data))
    segment = (
        _ebml(0x1549A966, info)
        + _ebml(0x1654AE6B, b"".join(entries))
        + _ebml(0x1F43B675, _uint(0xE7, 0) + b"".join(blocks))
    )
    header = _ebml(
        0x1A45DFA3,
        _uint(0x4286, 1) + _uint(0x42F7, 1) + _uint(0x42F2, 4) + _uint(0x42F3, 8)
        + _ebml(0x4282, b"matroska") + _uint(0x4287, 4) + _uint(0x4285, 2),
    )  # fmt: skip
    path.write_bytes(header + _ebml(0x18538067, segment))
