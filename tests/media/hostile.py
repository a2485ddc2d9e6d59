"""Files that lie about themselves, for the malformed corpus (``tests/media/malformed.py``
builds them with the rest): absurd sizes, rates and durations in headers, broken audio,
decompression bombs, metadata that is not UTF-8, thousands of streams, and inputs that
never end (a FIFO, a live playlist, a file that concatenates itself)."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

from tests.media.corpus import Case, Sources, ffmpeg
from tests.media.damage import copy, find_box, scribble, truncate, wav_header, write_mkv


def absurd_headers(out: Path, src: Sources) -> list[Case]:
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


def broken_audio(out: Path, src: Sources) -> list[Case]:
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
    ffmpeg("-i", src.voice, "-c:a", "aac", "-b:a", "64k", m4a)
    bad_aac = bytearray(m4a.read_bytes())
    mdat = find_box(bad_aac, b"mdat")
    scribble(bad_aac, mdat + 200, 3000, seed=40)
    (out / "aac_garbage.m4a").write_bytes(bad_aac)
    mp3 = out / "sources" / "voice.mp3"
    ffmpeg("-i", src.voice, "-c:a", "libmp3lame", "-b:a", "64k", mp3)
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


def bombs(out: Path, src: Sources) -> list[Case]:
    """Tiny files that decode to a lot: 8K flat colour, and a 2 h black movie."""
    big = out / "bomb_8k_flat.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", "color=c=navy:s=7680x4320:r=5:d=3"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "51", "-pix_fmt", "yuv420p", big),
    )
    long = out / "bomb_2h_black.mkv"
    ffmpeg(
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


def metadata(out: Path, src: Sources) -> list[Case]:
    tagged = out / "title_not_utf8.mkv"
    marker = "TITLEMARKERXXXXXXXXX"
    ffmpeg(
        "-i", src.small_mkv, "-c", "copy", "-metadata", f"title={marker}",
        "-metadata:s:v:0", f"title={marker}", "-metadata", f"artist={marker}", tagged,
    )  # fmt: skip
    raw = tagged.read_bytes()
    bad = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\x80\x80\x80\xfe\xfe\xff\xff"
    assert len(bad) == len(marker) and raw.count(marker.encode()) >= 2
    tagged.write_bytes(raw.replace(marker.encode(), bad))
    mp4 = out / "title_not_utf8.mp4"
    ffmpeg("-i", src.small, "-c", "copy", "-metadata", f"title={marker}", mp4)
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


def many_streams(out: Path, src: Sources) -> list[Case]:
    """6 s of H.264 and 2000 PCM tracks of one 10 ms block each. ffmpeg itself refuses to
    write (or read) more than 1000 streams, so the Matroska is written by hand."""
    path = out / "streams_2000.mkv"
    write_mkv(path, src.small_mkv, audio_tracks=2000)
    most = out / "streams_999.mkv"
    ffmpeg(
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


def endless(out: Path, src: Sources) -> list[Case]:
    """Formats that make ffmpeg read other files: a live playlist that never ends, and
    a concat list that includes itself."""
    segment = out / "sources" / "segment.ts"
    ffmpeg("-i", src.small, "-c", "copy", "-bsf:v", "h264_mp4toannexb", segment)
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


MAKERS: list[Callable[[Path, Sources], list[Case]]] = [
    absurd_headers,
    broken_audio,
    bombs,
    metadata,
    many_streams,
    endless,
]
