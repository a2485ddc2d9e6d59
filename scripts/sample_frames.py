"""The sample's pictures, frame by frame (``scripts/make_sample.py`` plans and encodes
them): slides of bold text, photos with a slow Ken Burns zoom, and vtest.avi footage
with an optional burned-in caption, each as raw RGB frames of WIDTH x HEIGHT."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

VTEST_PATH = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FONT_APT_PACKAGE = "fonts-dejavu-core"

WIDTH = 640
HEIGHT = 360
FPS = 25
FRAME_BYTES = WIDTH * HEIGHT * 3

SLIDE_BG = (12, 24, 44)
SLIDE_FG = (255, 255, 255)
SLIDE_ACCENT = (245, 158, 11)
PHOTO_BG = (24, 24, 24)
KEN_BURNS_ZOOM = 0.10
CAPTION_FONT_PX = 32


def die(message: str) -> None:
    """Stop with a readable message; a traceback would hide the apt hint."""
    sys.exit(f"make_sample: {message}")


class Shot(Protocol):
    """What a frame source needs of a planned segment (``make_sample.Segment``)."""

    kind: str
    source: str
    duration_s: float
    text: str | None
    clip_start_s: float


def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Load the bold slide font; fall back to Pillow's font so the script still runs."""
    if FONT_PATH.is_file():
        return ImageFont.truetype(str(FONT_PATH), size)
    print(
        f"make_sample: warning: {FONT_PATH} missing (apt-get install {FONT_APT_PACKAGE}); "
        "using Pillow's default font, output will differ from the committed sample",
        file=sys.stderr,
    )
    return ImageFont.load_default(size=size)


def text_width(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont) -> float:
    """Pixel width of a text run, used to wrap slide text to the frame."""
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return right - left


def wrap_words(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, max_w: int
) -> list[str] | None:
    """Greedy word wrap; None when a single word does not fit, so the caller shrinks."""
    lines: list[str] = []
    for word in text.split():
        if text_width(draw, word, font) > max_w:
            return None
        if lines and text_width(draw, f"{lines[-1]} {word}", font) <= max_w:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def render_slide(text: str) -> np.ndarray:
    """Render a high-contrast text slide with the largest font that fits (≥ 48 px).

    Big bold upper-case text on a flat background is what OCR reads reliably,
    which is the point of these slides.
    """
    img = Image.new("RGB", (WIDTH, HEIGHT), SLIDE_BG)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, WIDTH, 8), fill=SLIDE_ACCENT)
    max_w = WIDTH - 2 * 48
    for size in range(80, 47, -4):
        font = load_font(size)
        lines = wrap_words(draw, text, font, max_w)
        if lines is not None and len(lines) * size * 1.3 <= HEIGHT - 80:
            break
    else:
        die(f"slide text does not fit: {text!r}")
    line_h = round(size * 1.3)
    y = (HEIGHT - line_h * len(lines)) // 2
    for line in lines:
        draw.text((WIDTH // 2, y + line_h // 2), line, font=font, fill=SLIDE_FG, anchor="mm")
        y += line_h
    return np.asarray(img)


def slide_frames(text: str, n: int) -> Iterator[bytes]:
    """A still slide: the same frame n times."""
    frame = render_slide(text).tobytes()
    for _ in range(n):
        yield frame


def photo_canvas(name: str, scale: int) -> Image.Image:
    """Fit the photo into a 16:9 canvas at `scale`× resolution for smooth sub-pixel zoom."""
    photo = Image.fromarray(getattr(skimage.data, name.removeprefix("skimage.data."))())
    cw, ch = WIDTH * scale, HEIGHT * scale
    ratio = min(cw / photo.width, ch / photo.height)
    size = (round(photo.width * ratio), round(photo.height * ratio))
    canvas = Image.new("RGB", (cw, ch), PHOTO_BG)
    canvas.paste(
        photo.resize(size, Image.Resampling.LANCZOS), ((cw - size[0]) // 2, (ch - size[1]) // 2)
    )
    return canvas


def photo_frames(name: str, n: int) -> Iterator[bytes]:
    """Slow centred zoom (Ken Burns) so photo shots are not frozen frames."""
    scale = 2
    canvas = photo_canvas(name, scale)
    cw, ch = canvas.size
    for i in range(n):
        zoom = 1.0 + KEN_BURNS_ZOOM * i / max(n - 1, 1)
        bw, bh = cw / zoom, ch / zoom
        box = ((cw - bw) / 2, (ch - bh) / 2, (cw + bw) / 2, (ch + bh) / 2)
        yield canvas.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC, box=box).tobytes()


def caption_patch(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Pre-render a burned-in caption box once; returns (rgb, alpha) for blending."""
    font = load_font(CAPTION_FONT_PX)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    pad = 10
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    rgba = Image.new("RGBA", (w, h), (0, 0, 0, 200))
    ImageDraw.Draw(rgba).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255))
    arr = np.asarray(rgba).astype(np.float32)
    return arr[..., :3], arr[..., 3:] / 255.0


def footage_frames(clip_start_s: float, n: int, caption: str | None) -> Iterator[bytes]:
    """Decode n frames of vtest.avi at the target size/rate, optionally captioned.

    The 4:3 source is cropped to a 16:9 band (biased upwards, where the people
    walk) rather than letterboxed, so people stay as large as possible.
    """
    vf = (
        "crop=iw:trunc(iw*9/16/2)*2:0:trunc((ih-iw*9/16)/3),"
        f"scale={WIDTH}:{HEIGHT}:flags=lanczos,fps={FPS},format=rgb24"
    )
    cmd = [
        "ffmpeg", "-v", "error", "-nostdin", "-ss", f"{clip_start_s}", "-i", str(VTEST_PATH),
        "-an", "-vf", vf, "-frames:v", str(n), "-f", "rawvideo", "-",
    ]  # fmt: skip
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    got = len(raw) // FRAME_BYTES
    if got < n - 2:
        die(f"vtest.avi gave {got} frames from {clip_start_s}s, need {n}")
    frames = [raw[i * FRAME_BYTES : (i + 1) * FRAME_BYTES] for i in range(got)]
    frames += [frames[-1]] * (n - got)  # pad the rare off-by-one at the clip end
    patch = caption_patch(caption) if caption else None
    for frame in frames:
        if patch is None:
            yield frame
            continue
        rgb, alpha = patch
        img = np.frombuffer(frame, np.uint8).reshape(HEIGHT, WIDTH, 3).astype(np.float32)
        h, w = alpha.shape[:2]
        y0, x0 = HEIGHT - 16 - h, 16
        region = img[y0 : y0 + h, x0 : x0 + w]
        img[y0 : y0 + h, x0 : x0 + w] = region * (1 - alpha) + rgb * alpha
        yield np.round(img).astype(np.uint8).tobytes()


def segment_frames(seg: Shot) -> Iterator[bytes]:
    """Dispatch to the renderer for the segment's kind."""
    n = round(seg.duration_s * FPS)
    if seg.kind == "slide":
        assert seg.text is not None
        return slide_frames(seg.text, n)
    if seg.kind == "photo":
        return photo_frames(seg.source, n)
    return footage_frames(seg.clip_start_s, n, seg.text)
