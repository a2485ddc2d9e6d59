"""A corpus of damaged and hostile media files, made from Debian's real media.

``build_corpus(out_dir)`` writes every file and returns one :class:`Case` per file:
what was done to it and whether vidkg should refuse it (with a probe reason) or ingest
what it holds. Damage is deterministic (fixed seeds, fixed offsets, fixed encode
settings); ffmpeg's Matroska muxer writes random segment UIDs, so those files differ
in a few bytes from build to build, never in what they hold. The corpus stays small
(about 27 MB) and builds in seconds. Byte-level tools: ``tests/media/damage.py``.

Sources: ``vtest.avi`` (MPEG-4 in AVI, 768x576, 10 fps), ``Megamind_bugy.avi`` (a
damaged AVI that opencv-doc ships), the ALSA test sounds, and ``samples/briefing.mp4``
(H.264 + AAC with speech); derived files are made with the ``ffmpeg`` CLI and PyAV.
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av

from tests.media.damage import copy, find_box, scribble, truncate, wav_header, write_mkv
from tests.support import ALSA_VOICE, OPENCV_DATA, SAMPLE, VTEST, require

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


# Every case, in build order: the test module parametrizes over these before building.
CASE_NAMES: tuple[str, ...] = (
    "empty",
    "directory",
    "symlink_loop",
    "endless_fifo",
    "trunc_mp4_faststart_1",
    "trunc_mp4_faststart_10",
    "trunc_mp4_faststart_50",
    "trunc_mp4_faststart_90",
    "trunc_mp4_moov_end_10",
    "trunc_mp4_moov_end_90",
    "trunc_mp4_moov_end_99_9",
    "trunc_avi_1",
    "trunc_avi_10",
    "trunc_avi_50",
    "trunc_avi_90",
    "header_garbage",
    "moov_garbage",
    "middle_garbage",
    "avi_header_garbage",
    "avi_middle_garbage",
    "megamind_bugy",
    "wav_as_mp4",
    "jpeg_as_mp4",
    "text_as_mp4",
    "avi_as_mp4",
    "mp4_as_wav",
    "video_stream_no_packets",
    "audio_stream_no_packets",
    "dims_65535_mp4",
    "dims_100000_avi",
    "dims_100000_mkv",
    "fps_1e6_mp4",
    "fps_1e6_avi",
    "fps_1e-5_avi",
    "frames_2e9_avi",
    "duration_31y_mkv",
    "wav_claims_2gb",
    "wav_noise_samples",
    "wav_header_only",
    "aac_garbage",
    "mp3_truncated",
    "bomb_8k_flat",
    "bomb_2h_black",
    "title_not_utf8_mkv",
    "title_not_utf8_mp4",
    "filename_not_utf8",
    "streams_2000",
    "streams_999",
    "live_playlist",
    "concat_self",
    "sdp_stream",
    "control_speech_mp4",
    "control_vtest_avi",
)


def build_corpus(out_dir: Path) -> list[Case]:
    """Write the corpus into ``out_dir`` (created) and describe each file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    src = _Sources(out_dir / "sources")
    cases: list[Case] = []
    for make in _MAKERS:
        cases.extend(make(out_dir, src))
    names = tuple(c.name for c in cases)
    assert names == CASE_NAMES, "CASE_NAMES must list the cases, in order"
    return cases


# ---- sources ---------------------------------------------------------------------------


def _ffmpeg(*args: str | bytes | Path) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
        check=True,
        timeout=120,
    )


class _Sources:
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
        _ffmpeg(*cut, "-movflags", "+faststart", self.speech_fast)
        _ffmpeg(*cut, self.speech_end)
        # 16 s of vtest's MPEG-4, stream-copied into a fresh AVI (its index at the end).
        self.avi = folder / "vtest16.avi"
        _ffmpeg("-i", vtest, "-t", "16", "-c", "copy", self.avi)
        # 6 s of vtest at 384x288, H.264 (a keyframe a second) + the ALSA voice in AAC.
        self.small = folder / "small.mp4"
        _ffmpeg(
            *("-i", vtest, "-i", self.voice, "-t", "6", "-vf", "scale=384:288"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", self.small),
        )
        self.small_mkv = folder / "small.mkv"
        _ffmpeg("-i", self.small, "-c", "copy", self.small_mkv)


# ---- cases -----------------------------------------------------------------------------


def _empty_and_special(out: Path, src: _Sources) -> list[Case]:
    empty = out / "empty.mp4"
    empty.write_bytes(b"")
    folder = out / "folder.mp4"
    folder.mkdir()
    loop = out / "symlink_loop.mp4"
    loop.symlink_to(loop.name)
    fifo = out / "endless_fifo.mp4"
    os.mkfifo(fifo)  # nothing ever writes to it: reading it would block forever
    return [
        Case("empty", empty, "a zero-byte file named .mp4", "refused", "empty"),
        Case("directory", folder, "a directory named folder.mp4", "refused", "not_a_file"),
        Case("symlink_loop", loop, "a symlink that points at itself", "refused", "missing"),
        Case(
            "endless_fifo", fifo, "a named pipe no one writes to (endless)", "refused", "not_a_file"
        ),
    ]


def _truncations(out: Path, src: _Sources) -> list[Case]:
    cases = []
    plan: list[tuple[str, Path, str, str, float, Outcome, str | None]] = [
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.01, "refused", None),
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.10, "refused", None),
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.50, "ingested", None),
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.90, "ingested", None),
        ("mp4_moov_end", src.speech_end, "mp4", "moov last", 0.10, "refused", "truncated"),
        ("mp4_moov_end", src.speech_end, "mp4", "moov last", 0.90, "refused", "truncated"),
        ("mp4_moov_end", src.speech_end, "mp4", "moov last", 0.999, "ingested", None),
        ("avi", src.avi, "avi", "index last", 0.01, "refused", None),
        ("avi", src.avi, "avi", "index last", 0.10, "ingested", None),
        ("avi", src.avi, "avi", "index last", 0.50, "ingested", None),
        ("avi", src.avi, "avi", "index last", 0.90, "ingested", None),
    ]
    for stem, source, ext, layout, fraction, expect, reason in plan:
        pct = f"{fraction * 100:g}".replace(".", "_")
        name = f"trunc_{stem}_{pct}"
        path = truncate(source, out / f"{name}.{ext}", fraction)
        what = f"{source.name} ({layout}) cut to its first {fraction:.1%} of bytes"
        stages = "scenes,asr" if ext == "mp4" and expect == "ingested" else "scenes"
        cases.append(Case(name, path, what, expect, reason, stages))
    return cases


def _corruptions(out: Path, src: _Sources) -> list[Case]:
    fast = bytearray(src.speech_fast.read_bytes())
    head = bytearray(fast)
    scribble(head, 0, 64, seed=1)
    (out / "header_garbage.mp4").write_bytes(head)
    moov = bytearray(fast)
    stbl = find_box(moov, b"stbl")
    scribble(moov, stbl + 40, 48, seed=2)
    (out / "moov_garbage.mp4").write_bytes(moov)
    middle = bytearray(fast)
    mdat = find_box(middle, b"mdat")
    for i in range(8):  # eight 2 KB blocks spread over the coded data
        at = mdat + 64 + (len(middle) - mdat - 4096) * i // 8
        scribble(middle, at, 2048, seed=10 + i)
    (out / "middle_garbage.mp4").write_bytes(middle)
    avi = bytearray(src.avi.read_bytes())
    avi_head = bytearray(avi)
    scribble(avi_head, 12, 180, seed=3)  # the hdrl list: stream headers and format
    (out / "avi_header_garbage.avi").write_bytes(avi_head)
    avi_mid = bytearray(avi)
    for i in range(16):
        scribble(avi_mid, len(avi) // 4 + i * len(avi) // 40, 1024, seed=20 + i)
    (out / "avi_middle_garbage.avi").write_bytes(avi_mid)
    bugy = copy(require(OPENCV_DATA / "Megamind_bugy.avi"), out / "megamind_bugy.avi")
    return [
        Case(
            "header_garbage",
            out / "header_garbage.mp4",
            "first 64 bytes (ftyp, moov header) of speech_fast.mp4 overwritten with random bytes",
            "refused",
            "not_a_video",
        ),
        Case(
            "moov_garbage",
            out / "moov_garbage.mp4",
            "48 random bytes written over the sample tables (stbl) in the moov",
            "ingested",
        ),
        Case(
            "middle_garbage",
            out / "middle_garbage.mp4",
            "eight 2 KB blocks of random bytes spread over the coded pictures and sound (mdat)",
            "ingested",
            stages="scenes,asr",
        ),
        Case(
            "avi_header_garbage",
            out / "avi_header_garbage.avi",
            "180 random bytes over the AVI's hdrl (main and stream headers)",
            "refused",
        ),
        Case(
            "avi_middle_garbage",
            out / "avi_middle_garbage.avi",
            "sixteen 1 KB blocks of random bytes over the middle of the movi data",
            "ingested",
        ),
        Case(
            "megamind_bugy",
            bugy,
            "opencv-doc's own damaged Megamind_bugy.avi, as shipped",
            "ingested",
        ),
    ]


def _wrong_types(out: Path, src: _Sources) -> list[Case]:
    wav = copy(src.voice, out / "wav_named.mp4")
    jpeg = copy(require(OPENCV_DATA / "baboon.jpg"), out / "jpeg_named.mp4")
    text = out / "text_named.mp4"
    text.write_text("Quarterly meeting notes\n" * 200)
    avi = copy(src.avi, out / "avi_named.mp4")
    mp4 = copy(src.speech_fast, out / "mp4_named.wav")
    return [
        Case("wav_as_mp4", wav, "the ALSA Front_Center.wav named .mp4", "ingested", stages="asr"),
        Case("jpeg_as_mp4", jpeg, "opencv-doc's baboon.jpg named .mp4", "refused", "still_image"),
        Case("text_as_mp4", text, "a text file named .mp4", "refused", "not_a_video"),
        Case("avi_as_mp4", avi, "vtest16.avi (MPEG-4 in AVI) named .mp4", "ingested"),
        Case("mp4_as_wav", mp4, "speech_fast.mp4 named .wav", "ingested", stages="scenes,asr"),
    ]


def _empty_streams(out: Path, src: _Sources) -> list[Case]:
    """Streams declared in the header that hold no packet at all."""
    no_video = out / "video_stream_no_packets.mkv"
    no_audio = out / "audio_stream_no_packets.mkv"
    _remux(src.small_mkv, no_video, keep={"audio"})
    _remux(src.small_mkv, no_audio, keep={"video"})
    return [
        Case(
            "video_stream_no_packets",
            no_video,
            "an H.264 video stream declared with no packet, beside 1.4 s of AAC speech",
            "ingested",
            stages="scenes,asr",
        ),
        Case(
            "audio_stream_no_packets",
            no_audio,
            "an AAC audio stream declared with no packet, beside 6 s of video",
            "ingested",
            stages="scenes,asr",
        ),
    ]


def _remux(source: Path, dest: Path, keep: set[str]) -> None:
    """Copy ``source``'s streams into ``dest`` but only the packets of ``keep`` types."""
    with av.open(str(source)) as inp, av.open(str(dest), "w") as outp:
        pairs = {s.index: outp.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None or packet.stream.type not in keep:
                continue
            packet.stream = pairs[packet.stream.index]
            outp.mux(packet)


def _absurd_headers(out: Path, src: _Sources) -> list[Case]:
    small = src.small.read_bytes()
    # MP4: the avc1 sample entry and the track header both claim 65535x65535 (the
    # largest a 16-bit field holds: 4.3 gigapixels a frame).
    dims = bytearray(small)
    avc1 = find_box(dims, b"avc1")
    struct.pack_into(">HH", dims, avc1 + 28, 65535, 65535)
    tkhd = find_box(dims, b"tkhd")
    size = struct.unpack_from(">I", dims, tkhd - 4)[0]
    struct.pack_into(">II", dims, tkhd - 4 + size - 8, 65535 << 16, 65535 << 16)
    (out / "dims_65535.mp4").write_bytes(dims)
    avi = src.avi.read_bytes()
    # AVI: 32-bit sizes in the main header and the stream format: claim 100000x100000.
    huge = bytearray(avi)
    avih, strf = find_box(huge, b"avih"), find_box(huge, b"strf")
    struct.pack_into("<II", huge, avih + 8 + 32, 100_000, 100_000)
    struct.pack_into("<ii", huge, strf + 12, 100_000, 100_000)
    (out / "dims_100000.avi").write_bytes(huge)
    write_mkv(out / "dims_100000.mkv", src.small_mkv, size=(100_000, 100_000))
    # MP4: the video track's time scale multiplied so 10 fps become 1e6 fps.
    fast = bytearray(small)
    mdhd = find_box(fast, b"mdhd")
    scale = struct.unpack_from(">I", fast, mdhd + 16)[0]
    struct.pack_into(">I", fast, mdhd + 16, min(scale * 100_000, 0xFFFFFFFF))
    (out / "fps_1e6.mp4").write_bytes(fast)
    # AVI: the stream header's rate/scale claim 1e6 fps, and 1e-5 fps.
    for name, scale_v, rate_v in (("fps_1e6.avi", 1, 1_000_000), ("fps_1e-5.avi", 100_000, 1)):
        patched = bytearray(avi)
        strh = find_box(patched, b"strh")
        struct.pack_into("<II", patched, strh + 28, scale_v, rate_v)
        (out / name).write_bytes(patched)
    # AVI: the main header and the stream header claim two billion frames.
    frames = bytearray(avi)
    avih = find_box(frames, b"avih")
    struct.pack_into("<I", frames, avih + 8 + 16, 2_000_000_000)  # dwTotalFrames
    strh = find_box(frames, b"strh")
    struct.pack_into("<I", frames, strh + 40, 2_000_000_000)  # dwLength
    (out / "frames_2e9.avi").write_bytes(frames)
    # Matroska: the segment's Duration claims 1e12 ms (31 years) over 6 s of data.
    long = bytearray(src.small_mkv.read_bytes())
    at = long.find(b"\x44\x89\x88")
    assert at > 0
    struct.pack_into(">d", long, at + 3, 1e12)
    (out / "duration_31y.mkv").write_bytes(long)
    return [
        Case(
            "dims_65535_mp4",
            out / "dims_65535.mp4",
            "avc1 and tkhd patched to claim 65535x65535 pictures (the SPS says 384x288)",
            "ingested",
        ),
        Case(
            "dims_100000_avi",
            out / "dims_100000.avi",
            "AVI main header and BITMAPINFOHEADER patched to claim 100000x100000 pictures",
            "refused",
            "no_decodable_frames",
        ),
        Case(
            "dims_100000_mkv",
            out / "dims_100000.mkv",
            "Matroska (hand-written) whose PixelWidth/PixelHeight claim 100000x100000",
            "ingested",
        ),
        Case(
            "fps_1e6_mp4",
            out / "fps_1e6.mp4",
            "video track time scale x100000: 60 frames at 1e6 fps (60 us) in a 6 s movie",
            "ingested",
            stages="scenes,asr",
        ),
        Case(
            "fps_1e6_avi",
            out / "fps_1e6.avi",
            "AVI stream header rate/scale patched to 1e6 fps (160 frames in 160 us)",
            "refused",
            "too_short",
        ),
        Case(
            "fps_1e-5_avi",
            out / "fps_1e-5.avi",
            "AVI stream header rate/scale patched to 1e-5 fps (160 frames over 185 days)",
            "refused",
            "bad_frame_rate",
        ),
        Case(
            "frames_2e9_avi",
            out / "frames_2e9.avi",
            "AVI main and stream headers claim 2e9 frames (6.3 years at 10 fps) over 16 s",
            "ingested",
        ),
        Case(
            "duration_31y_mkv",
            out / "duration_31y.mkv",
            "Matroska segment Duration patched to 1e12 ms (31 years) over 6 s of data",
            "ingested",
        ),
    ]


def _broken_audio(out: Path, src: _Sources) -> list[Case]:
    voice = src.voice.read_bytes()
    data = voice.find(b"data")
    huge = bytearray(voice)
    struct.pack_into("<I", huge, data + 4, 2_000_000_000)  # 2 GB of samples declared
    struct.pack_into("<I", huge, 4, 2_000_000_036)  # and the RIFF size to match
    (out / "wav_claims_2gb.wav").write_bytes(huge)
    noisy = bytearray(voice)
    for i in range(6):
        scribble(noisy, data + 8 + 8000 + i * 16000, 4000, seed=30 + i)
    (out / "wav_noise_samples.wav").write_bytes(noisy)
    (out / "wav_header_only.wav").write_bytes(wav_header(voice[: data + 8], 0))
    m4a = out / "sources" / "voice.m4a"
    _ffmpeg("-i", src.voice, "-c:a", "aac", "-b:a", "64k", m4a)
    bad_aac = bytearray(m4a.read_bytes())
    mdat = find_box(bad_aac, b"mdat")
    scribble(bad_aac, mdat + 200, 3000, seed=40)
    (out / "aac_garbage.m4a").write_bytes(bad_aac)
    mp3 = out / "sources" / "voice.mp3"
    _ffmpeg("-i", src.voice, "-c:a", "libmp3lame", "-b:a", "64k", mp3)
    truncate(mp3, out / "mp3_truncated.mp3", 0.5)
    return [
        Case(
            "wav_claims_2gb",
            out / "wav_claims_2gb.wav",
            "Front_Center.wav with RIFF and data sizes claiming 2 GB (5.8 h); 1.4 s present",
            "ingested",
            stages="asr",
        ),
        Case(
            "wav_noise_samples",
            out / "wav_noise_samples.wav",
            "six 4 KB blocks of random bytes written over the PCM samples",
            "ingested",
            stages="asr",
        ),
        Case(
            "wav_header_only",
            out / "wav_header_only.wav",
            "a WAV header declaring 0 bytes of samples, nothing after it",
            "refused",
        ),
        Case(
            "aac_garbage",
            out / "aac_garbage.m4a",
            "Front_Center.wav in AAC, 3 KB of random bytes over its packets",
            "ingested",
            stages="asr",
        ),
        Case(
            "mp3_truncated",
            out / "mp3_truncated.mp3",
            "Front_Center.wav in MP3, cut at half its bytes (0.7 s left)",
            "ingested",
            stages="asr",
        ),
    ]


def _bombs(out: Path, src: _Sources) -> list[Case]:
    """Tiny files that decode to a lot: 8K flat colour, and a 2 h black movie."""
    big = out / "bomb_8k_flat.mp4"
    _ffmpeg(
        *("-f", "lavfi", "-i", "color=c=navy:s=7680x4320:r=5:d=3"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "51", "-pix_fmt", "yuv420p", big),
    )
    long = out / "bomb_2h_black.mkv"
    _ffmpeg(
        *("-f", "lavfi", "-i", "color=c=black:s=32x32:r=1:d=7200"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-g", "600", "-crf", "51", long),
    )
    return [
        Case(
            "bomb_8k_flat",
            big,
            f"3 s of flat 7680x4320 H.264 ({big.stat().st_size // 1024} KB; 50 MB a frame decoded)",
            "ingested",
        ),
        Case(
            "bomb_2h_black",
            long,
            f"2 h of 32x32 black at 1 fps in {long.stat().st_size // 1024} KB of Matroska",
            "ingested",
            chunk_s=600.0,
        ),
    ]


def _metadata(out: Path, src: _Sources) -> list[Case]:
    tagged = out / "title_not_utf8.mkv"
    marker = "TITLEMARKERXXXXXXXXX"
    _ffmpeg(
        "-i", src.small_mkv, "-c", "copy", "-metadata", f"title={marker}",
        "-metadata:s:v:0", f"title={marker}", "-metadata", f"artist={marker}", tagged,
    )  # fmt: skip
    raw = tagged.read_bytes()
    bad = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\x80\x80\x80\xfe\xfe\xff\xff"
    assert len(bad) == len(marker) and raw.count(marker.encode()) >= 2
    tagged.write_bytes(raw.replace(marker.encode(), bad))
    mp4 = out / "title_not_utf8.mp4"
    _ffmpeg("-i", src.small, "-c", "copy", "-metadata", f"title={marker}", mp4)
    mp4.write_bytes(mp4.read_bytes().replace(marker.encode(), bad))
    # A file name that is not UTF-8 (bytes a Latin-1 system would write).
    odd = Path(os.fsdecode(bytes(out) + b"/caf\xe9_latin1.mp4"))
    copy(src.small, odd)
    return [
        Case(
            "title_not_utf8_mkv",
            tagged,
            "Matroska title, artist and stream title tags of invalid UTF-8 bytes",
            "ingested",
        ),
        Case(
            "title_not_utf8_mp4",
            mp4,
            "MP4 (udta/ilst) title tag of invalid UTF-8 bytes",
            "ingested",
        ),
        Case(
            "filename_not_utf8",
            odd,
            "a valid MP4 whose file name holds the byte 0xE9 (Latin-1, not UTF-8)",
            "refused",
            "bad_path",
        ),
    ]


def _many_streams(out: Path, src: _Sources) -> list[Case]:
    """6 s of H.264 and 2000 PCM tracks of one 10 ms block each. ffmpeg itself refuses to
    write (or read) more than 1000 streams, so the Matroska is written by hand."""
    path = out / "streams_2000.mkv"
    write_mkv(path, src.small_mkv, audio_tracks=2000)
    most = out / "streams_999.mkv"
    _ffmpeg(
        *("-i", src.small_mkv, "-f", "lavfi", "-t", "0.01", "-i", "anullsrc=r=8000:cl=mono"),
        *("-map", "0:v", *["-map", "1:a"] * 998, "-c:v", "copy", "-c:a", "pcm_s16le", most),
    )
    return [
        Case(
            "streams_2000",
            path,
            "6 s of H.264 plus 2000 PCM audio tracks of 10 ms each (hand-written Matroska)",
            "refused",
            "too_many_streams",
        ),
        Case(
            "streams_999",
            most,
            "6 s of H.264 plus 998 PCM tracks of 10 ms: 999 streams (ffmpeg reads up to 1000)",
            "ingested",
        ),
    ]


def _endless(out: Path, src: _Sources) -> list[Case]:
    """Formats that make ffmpeg read other files: a live playlist that never ends, and
    a concat list that includes itself."""
    segment = out / "sources" / "segment.ts"
    _ffmpeg("-i", src.small, "-c", "copy", "-bsf:v", "h264_mp4toannexb", segment)
    live = out / "live_playlist.m3u8"
    live.write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:6.0,\nsources/{segment.name}\n"  # no #EXT-X-ENDLIST: a live stream
    )
    loop = out / "concat_self.ffconcat"
    loop.write_text(f"ffconcat version 1.0\nfile sources/{segment.name}\nfile {loop.name}\n")
    sdp = out / "camera_stream.mp4"  # an RTP session description, named .mp4
    sdp.write_text(
        "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=camera\nc=IN IP4 127.0.0.1\nt=0 0\n"
        "m=video 5004 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
    )
    return [
        Case(
            "live_playlist",
            live,
            "an HLS playlist without #EXT-X-ENDLIST (live: endless) naming a local segment",
            "refused",
            "not_a_video",
        ),
        Case(
            "concat_self",
            loop,
            "an ffconcat list of a segment and of itself (an endless loop)",
            "refused",
            "not_a_video",
        ),
        Case(
            "sdp_stream",
            sdp,
            "an SDP description of a live RTP camera on localhost, named .mp4 (endless)",
            "refused",
            "not_a_video",
        ),
    ]


def _healthy(out: Path, src: _Sources) -> list[Case]:
    """Controls: undamaged files, with every default stage."""
    return [
        Case(
            "control_speech_mp4",
            copy(src.speech_fast, out / "control_speech.mp4"),
            "undamaged: 8 s of the briefing (stream copy), every default stage",
            "ingested",
            stages="",
        ),
        Case(
            "control_vtest_avi",
            copy(src.avi, out / "control_vtest.avi"),
            "undamaged: 16 s of vtest.avi (stream copy), every default stage",
            "ingested",
            stages="",
        ),
    ]


_MAKERS: list[Callable[[Path, _Sources], list[Case]]] = [
    _empty_and_special,
    _truncations,
    _corruptions,
    _wrong_types,
    _empty_streams,
    _absurd_headers,
    _broken_audio,
    _bombs,
    _metadata,
    _many_streams,
    _endless,
    _healthy,
]
