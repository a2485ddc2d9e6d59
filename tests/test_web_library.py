"""The library page's controls and the video page's windowed lanes in a real browser
(fixtures and checks in ``tests/web_support.py``; ``vidkg serve`` without a broker runs the
queued jobs itself, so a registered file is really ingested).

An ingest key registers a file under the server's register root and watches its job's
progress (server-sent events) in the row until the video is ready; a path outside the
roots shows the server's refusal; an admin deletes a video only after confirming (cancel
keeps it), other keys get no delete control; on a 20-minute video the lanes and the
transcript hold only the rows of the window around the playhead, and a seek or a click
on a lane far from it loads that window.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import Locator, Page, expect

from tests import web_support
from tests.support import SAMPLE
from tests.web_support import NEEDS_CHROMIUM, OpenPage, Ui, check_accessible, wait_ready
from vidkg.schema import OnscreenText, SpeechSegment

# The shared fixtures, found by pytest under these names in this module.
browser, open_page, ui = web_support.browser, web_support.open_page, web_support.ui
pytestmark = NEEDS_CHROMIUM
LANE_S = 300  # video.js: the lanes hold the rows of the playhead ± this many seconds
SEEN = """() => { window.seen = new Set();
  const note = () => document.querySelectorAll('.status').forEach((s) => seen.add(s.textContent));
  new MutationObserver(note).observe(document.querySelector('main'),
    {subtree: true, childList: true, characterData: true}); }"""


def sample_copy(out: Path, seconds: float = 0, loops: int = 0) -> Path:
    """The sample's first ``seconds``, or it played ``loops`` more times, stream-copied:
    other bytes (another SHA-256), so the library takes it as a new video."""
    cut = ["-t", str(seconds)] if seconds else []
    loop = ["-stream_loop", str(loops)] if loops else []
    command = ["ffmpeg", "-loglevel", "error", "-y", *loop, "-i", str(SAMPLE), *cut]
    subprocess.run([*command, "-c", "copy", str(out)], check=True, timeout=120)
    return out


def register(ui: Ui, path: Path) -> dict:
    """Registered through the API, without an ingest job."""
    made = httpx.post(
        f"{ui.base}/v1/videos",
        json={"path": str(path), "ingest": False},
        headers=ui.headers("admin"),
        timeout=120,
    )
    assert made.status_code == 201, made.text
    return made.json()["video"]


def row(page: Page, name: str) -> Locator:
    return page.locator("tbody tr", has=page.get_by_role("link", name=name, exact=True))


def test_an_ingest_key_registers_a_server_file_and_sees_it_ingested(
    ui: Ui, open_page: OpenPage
) -> None:
    path = sample_copy(ui.root / "cam4.mp4", seconds=4)
    page = open_page("#/library", scopes="read,ingest")
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    page.locator("table").wait_for()
    page.evaluate(SEEN)
    page.get_by_label("Or a file on the server").fill(str(path))
    page.get_by_role("button", name="Register").click()
    page.get_by_text("cam4.mp4: added.").wait_for()
    line = row(page, "cam4.mp4")
    expect(line.get_by_label("Ingest progress of cam4.mp4")).to_be_visible()
    expect(line.locator(".status")).to_have_text(re.compile(r"(queued|running) \d+%"))
    ui.shot(page, "library-progress")
    video_id = int(line.locator("td").first.text_content())
    jobs = httpx.get(
        f"{ui.base}/v1/jobs", params={"video_id": video_id}, headers=ui.headers(), timeout=30
    ).json()["items"]
    assert streams == [f"{ui.base}/v1/jobs/{jobs[0]['job_id']}/events"], streams
    # The runner ingests it; the row follows the job and ends as the ready video.
    expect(line.locator(".status")).to_have_text("ready", timeout=300_000)
    expect(line.get_by_label("Ingest progress of cam4.mp4")).to_be_hidden()
    seen = page.evaluate("() => [...window.seen]")
    assert [s for s in seen if re.fullmatch(r"running \d+%", s)], seen
    assert int(line.locator("td.num").nth(1).text_content()) > 0  # scenes
    check_accessible(page, [".status", "td", "th", ".add label", ".add p"])


def test_a_path_outside_the_roots_shows_the_refusal(ui: Ui, open_page: OpenPage) -> None:
    refused = httpx.post(
        f"{ui.base}/v1/videos",
        json={"path": str(SAMPLE), "ingest": False},
        headers=ui.headers("read,ingest"),
        timeout=30,
    )
    assert refused.status_code == 403
    page = open_page("#/library", scopes="read,ingest")
    page.get_by_label("Or a file on the server").fill(str(SAMPLE))
    page.keyboard.press("Enter")
    error = page.locator(".add .error")
    expect(error).to_have_text(f"Not registered: {refused.json()['detail']}")
    assert "outside VIDKG_API__REGISTER_ROOTS" in error.text_content()
    check_accessible(page, [".add .error"])


def test_an_admin_deletes_after_confirming_and_cancel_keeps_it(ui: Ui, open_page: OpenPage) -> None:
    path = sample_copy(ui.root / "cam3.mp4", seconds=3)
    video_id = register(ui, path)["video_id"]
    for scopes in ("read", "read,ingest"):  # no delete control without admin
        page = open_page("#/library", scopes=scopes)
        row(page, "cam3.mp4").wait_for()
        assert page.get_by_role("button", name=re.compile("Delete")).count() == 0
        assert page.get_by_role("columnheader", name="Actions").count() == 0
    assert page.get_by_label("Or a file on the server").count() == 1
    page = open_page("#/library", scopes="admin")
    line = row(page, "cam3.mp4")
    delete = line.get_by_role("button", name="Delete cam3.mp4")
    delete.focus()
    page.keyboard.press("Enter")  # by keyboard: the question, focus on Cancel
    expect(line.get_by_role("alert")).to_have_text("Really delete cam3.mp4?")
    expect(line.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(delete).to_be_focused()
    expect(line.get_by_role("alert")).to_have_count(0)
    video = f"{ui.base}/v1/videos/{video_id}"
    assert httpx.get(video, headers=ui.headers(), timeout=30).status_code == 200
    check_accessible(page, [".status", "td", "th", "button.danger"])
    ui.shot(page, "library-admin")

    delete.click()
    ui.shot(page, "library-confirm")
    line.get_by_role("button", name="Confirm").click()
    expect(line).to_have_count(0)
    assert httpx.get(video, headers=ui.headers(), timeout=30).status_code == 404
    assert path.exists()  # a registered file is the analyst's: left in place
    expect(row(page, "briefing.mp4")).to_have_count(1)


def test_the_lanes_hold_the_window_around_the_playhead(ui: Ui, open_page: OpenPage) -> None:
    """A 20-minute video (the sample looped) with a card and a spoken "minute N" each
    minute: at 15:00 the lanes hold 10:00-20:00; a seek to 1:40 loads 0:00-6:40, a click
    on an empty lane at the middle 5:00-15:00."""
    video = register(ui, sample_copy(ui.root / "long.mp4", loops=19))
    video_id, end = video["video_id"], video["duration_s"]
    assert 1199 < end < 1201, end
    with ui.sample.db.sessions.begin() as s:
        for m in range(20):
            at = 60.0 * m
            s.add(
                OnscreenText(
                    video_id=video_id, start_s=at + 20, end_s=at + 30, text=f"CARD {m:02d}"
                )
            )
            words = [
                {"text": "minute", "start_s": at + 0.5, "end_s": at + 1.5},
                {"text": str(m), "start_s": at + 1.5, "end_s": at + 3.0},
            ]
            s.add(
                SpeechSegment(
                    video_id=video_id,
                    start_s=at + 0.5,
                    end_s=at + 3.0,
                    text=f"minute {m}",
                    words=words,
                )
            )
    page = open_page("#/library")
    windows: list[tuple[float, float]] = []
    evidence = re.compile(rf"/v1/videos/{video_id}/(events|speech|text|tracks)\?")

    def asked(url: str) -> None:
        if evidence.search(url):
            query = parse_qs(urlsplit(url).query)
            windows.append((float(query["start_s"][0]), float(query["end_s"][0])))

    page.on("request", lambda r: asked(r.url))
    page.goto(f"{ui.base}/#/video/{video_id}?t=900")
    cards = page.locator(".lane-text .bar")
    expect(cards).to_have_text([f"CARD {m:02d}" for m in range(10, 20)])
    assert set(windows) == {(900 - LANE_S, 900 + LANE_S)} and len(windows) == 4, windows
    expect(page.locator(".lanes > p")).to_contain_text("10:00.0–20:00.0")
    expect(page.locator(".transcript li")).to_have_count(10)
    wait_ready(page)
    page.evaluate(
        """() => new Promise((done) => { const v = document.querySelector('video');
        v.pause(); v.addEventListener('seeked', done, {once: true}); v.currentTime = 901; })"""
    )
    expect(page.locator(".word.current")).to_have_text("minute")
    ui.shot(page, "lanes-window")
    expect(page.locator(".transcript li").first).to_contain_text("minute 10")

    page.goto(f"{ui.base}/#/video/{video_id}?t=100")  # the same video: a seek
    expect(cards).to_have_text([f"CARD {m:02d}" for m in range(0, 7)])
    assert windows[-1] == (0, 100 + LANE_S), windows
    page.evaluate("() => document.querySelector('video').pause()")
    area = page.locator(".lane-events .lane-area")
    box = area.bounding_box()
    area.click(position={"x": box["width"] / 2, "y": 5})
    expect(cards).to_have_text([f"CARD {m:02d}" for m in range(5, 15)])
    start, stop = windows[-1]
    assert abs(start - (600 - LANE_S)) <= 2 and abs(stop - (600 + LANE_S)) <= 2, windows
