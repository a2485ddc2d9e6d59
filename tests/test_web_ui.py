"""The web UI in a real browser: ``vidkg serve`` over the ingested sample (and vtest.avi,
registered only), driven by Playwright with Debian's Chromium (fixtures and checks in
``tests/web_support.py``; the library's controls are in ``test_web_library.py``).

What a person does, checked by what they would see: a search result opens the video at
its moment and plays it; an answer's citation seeks the player; the transcript marks the
word being said, and a text or scene bar seeks; SQL refusals are shown; a read-only key
gets no upload; the key prompt; an AVI no browser plays, played through transcoded clips
across a window's end (windows sized by /v1/me's clip_max_s); search filters kept in the
link; an answer scoped to one video; an entity's timeline opening the video at its moment.
Every page is checked for names of its controls, reachability by Tab, and text contrast.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from api.web import BUDGET_BYTES, STATIC
from tests import web_support
from tests.web_support import (
    NEEDS_CHROMIUM,
    SENTENCE,
    SOURCES,
    UNNAMED,
    OpenPage,
    Ui,
    check_accessible,
    clock_s,
    ensure_playing,
    link_time,
    video_state,
    wait_advancing,
    wait_ready,
)

# The shared fixtures, found by pytest under these names in this module.
browser, open_page, ui = web_support.browser, web_support.open_page, web_support.ui
pytestmark = NEEDS_CHROMIUM


# --- the pages ----------------------------------------------------------------------------


def test_a_search_result_opens_its_moment_and_plays(ui: Ui, open_page: OpenPage) -> None:
    page = open_page("#/search")
    page.get_by_label("Search", exact=True).fill("north bridge")
    page.keyboard.press("Enter")
    first = page.locator(".moment").first
    first.wait_for()
    assert "briefing.mp4" in page.locator(".group h2").first.text_content()
    start = link_time(first.get_attribute("href"))
    assert 14.0 - 0.5 <= start <= 21.0, start
    assert re.fullmatch(rf"0:1\d\.\d ({SOURCES})", first.locator(".meta").text_content().strip())
    marked = {m.lower() for m in first.locator("mark").all_text_contents()}
    assert marked and marked <= {"north", "bridge"}, marked
    page.wait_for_function("() => document.querySelector('.moment img').naturalWidth > 0")
    check_accessible(page, [".moment .text", ".moment .time", ".badge", "mark", ".muted"])
    ui.shot(page, "search", docs=True)

    first.click()
    state = wait_ready(page)
    assert page.url.endswith(f"#/video/{ui.video_id}?t={start:g}")
    assert abs(state["t"] - start) < 1.0, state
    assert state["src"].endswith(f"/v1/videos/{ui.video_id}/file")  # H.264 MP4: as is
    wait_advancing(page, state["t"] + 0.5)  # it plays, after the click, by itself
    assert video_state(page)["error"] is None
    page.locator(".word.current").wait_for()
    page.evaluate("() => document.querySelector('video').pause()")
    check_accessible(page, [".lane .bar", ".transcript .tc", ".word", ".clock", ".lane-name"])
    ui.shot(page, "video", docs=True)


def test_an_answer_cites_and_its_chip_seeks(ui: Ui, open_page: OpenPage) -> None:
    page = open_page("#/ask")
    page.get_by_label("Question").fill("When is the north bridge inspection scheduled?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".answer")
    answer.wait_for(timeout=60_000)
    assert "Monday" in answer.text_content()
    assert "unknown" not in (answer.get_attribute("class") or "")
    chips = page.locator(".chip")
    assert chips.count() >= 1
    chip = chips.first
    assert re.fullmatch(rf"briefing\.mp4 · 0:\d\d\.\d · ({SOURCES})", chip.text_content())
    assert page.locator(".plan dd").first.text_content().strip()
    assert page.locator(".plan ol li").count() >= 1
    check_accessible(page, [".answer", ".chip", ".plan dt", ".plan dd", ".plan li"])
    ui.shot(page, "ask")

    cited = link_time(chip.get_attribute("href"))
    chip.click()
    state = wait_ready(page)
    assert abs(state["t"] - cited) < 1.0, (state, cited)
    # The keyboard: arrows move 5 s, space plays and pauses.
    page.evaluate("() => document.querySelector('video').pause()")
    before = video_state(page)["t"]
    page.locator("body").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "t => Math.abs(document.querySelector('video').currentTime - t) < 0.3", arg=before + 5
    )
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "t => Math.abs(document.querySelector('video').currentTime - t) < 0.3", arg=before
    )
    page.keyboard.press("Space")
    wait_advancing(page, before + 0.3)
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('video').paused")
    # "/" goes to the search box from anywhere.
    page.keyboard.press("/")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'q'")


def test_the_transcript_marks_the_word_being_said(ui: Ui, open_page: OpenPage) -> None:
    speech = httpx.get(
        f"{ui.base}/v1/videos/{ui.video_id}/speech", headers=ui.headers(), timeout=30
    ).json()["items"]
    words = sorted((w for s in speech for w in s["words"]), key=lambda w: w["start_s"])
    sentence = set(re.findall(r"\w+", SENTENCE.lower()))

    def said_at(t: float) -> str:
        return [w for w in words if w["start_s"] <= t][-1]["word"].strip()

    page = open_page(f"#/video/{ui.video_id}?t=15.5")
    wait_ready(page)
    seen = []
    for t in (15.5, 17.5):
        page.evaluate(
            """t => new Promise((done) => { const v = document.querySelector('video');
            v.pause(); v.addEventListener('seeked', done, {once: true}); v.currentTime = t; })""",
            t,
        )
        now = video_state(page)["t"]
        current = page.locator(".word.current")
        said = said_at(now)
        page.wait_for_function(
            "w => { const c = document.querySelectorAll('.word.current');"
            " return c.length === 1 && c[0].textContent === w; }",
            arg=said,
        )
        assert current.get_attribute("aria-current") == "true"
        assert re.sub(r"\W", "", said.lower()) in sentence, said
        box = page.locator(".transcript").bounding_box()
        at = current.bounding_box()
        assert box["y"] <= at["y"] and at["y"] + at["height"] <= box["y"] + box["height"]
        seen.append(said)
    assert seen[0] != seen[1]
    # A lane's bar seeks too: the on-screen card's start.
    texts = httpx.get(
        f"{ui.base}/v1/videos/{ui.video_id}/text", headers=ui.headers(), timeout=30
    ).json()["items"]
    card = next(x for x in texts if "BRIDGE" in x["text"].upper())
    page.locator(".lane-text .bar", has_text=card["text"]).first.click()
    page.wait_for_function(
        "t => Math.abs(document.querySelector('video').currentTime - t) < 1",
        arg=card["start_s"],
    )
    # The first lane is the scenes, a bar each; one seeks to its scene's start.
    scenes = httpx.get(
        f"{ui.base}/v1/videos/{ui.video_id}/scenes", headers=ui.headers(), timeout=30
    ).json()["items"]
    assert len(scenes) >= 9, scenes  # the sample's nine shots
    expect(page.locator(".lane").first).to_have_attribute("aria-label", "Scenes")
    bars = page.locator(".lane-scenes .bar")
    expect(bars).to_have_text([f"Scene {c['scene_index']}" for c in scenes])
    pick = next(i for i, c in enumerate(scenes) if c["start_s"] <= 36.0 < c["end_s"])
    bars.nth(pick).click()
    page.wait_for_function(
        "t => Math.abs(document.querySelector('video').currentTime - t) < 0.5",
        arg=scenes[pick]["start_s"],
    )


def test_search_filters_narrow_and_stay_in_the_link(ui: Ui, open_page: OpenPage) -> None:
    page = open_page("#/search")
    page.get_by_label("text", exact=True).check()
    page.get_by_label("Video").select_option(str(ui.video_id))
    page.get_by_label("Search", exact=True).fill("north bridge")
    page.keyboard.press("Enter")
    page.locator(".moment").first.wait_for()
    assert "sources=text" in page.url and f"video_ids={ui.video_id}" in page.url, page.url
    badges = page.locator(".moment .badge").all_text_contents()
    assert badges and set(badges) == {"text"}, badges
    first = page.locator(".moment").first
    assert "NORTH BRIDGE CLOSED" in first.locator(".text").text_content().upper()
    assert 14.0 - 0.5 <= link_time(first.get_attribute("href")) <= 21.0
    check_accessible(page, [".moment .text", ".badge", "legend", ".check"])
    # The link alone restores the filters and the search.
    page = open_page(f"#/search?q=north+bridge&sources=text&video_ids={ui.video_id}&start_s=1000")
    page.get_by_text("Nothing found").wait_for()
    assert page.get_by_label("text", exact=True).is_checked()
    assert page.get_by_label("From (s)").input_value() == "1000"
    assert page.get_by_label("Video").input_value() == str(ui.video_id)


def test_ask_in_one_video(ui: Ui, open_page: OpenPage) -> None:
    page = open_page("#/ask")
    page.get_by_label("Scope").select_option(str(ui.video_id))
    page.get_by_label("Question").fill("When is the north bridge inspection scheduled?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".answer")
    answer.wait_for(timeout=60_000)
    assert f"video_ids={ui.video_id}" in page.url, page.url
    assert "Monday" in answer.text_content()
    assert page.get_by_label("Scope").input_value() == str(ui.video_id)


def test_an_entity_shows_its_timeline_and_neighbours(ui: Ui, open_page: OpenPage) -> None:
    listed = httpx.get(
        f"{ui.base}/v1/graph/entities", params={"kind": "text"}, headers=ui.headers(), timeout=30
    ).json()["items"]
    card = next(e for e in listed if "NORTH BRIDGE" in e["name"].upper())
    page = open_page("#/search")
    page.get_by_role("link", name="Entities").click()
    page.get_by_label("Kind").select_option("text")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=card["name"], exact=True).click()
    expect(page.locator(".ent-title")).to_have_text(card["name"])
    times = page.locator(".timeline a")
    times.first.wait_for()
    at = next(a for a in times.all() if 14.0 - 0.5 <= link_time(a.get_attribute("href")) <= 21.0)
    assert page.locator(".near li").count() >= 1
    assert page.locator("svg.graph title").text_content().startswith(card["name"])
    check_accessible(page, [".ent-list a", ".timeline a", ".near a", ".muted"])
    ui.shot(page, "entities")

    wanted = link_time(at.get_attribute("href"))
    at.click()
    state = wait_ready(page)
    assert abs(state["t"] - wanted) < 1.0, (state, wanted)


def test_the_clip_window_follows_the_servers_limit(ui: Ui, open_page: OpenPage) -> None:
    """With clip_max_s at 30 (from /v1/me), 45 s is played from the 30-60 s window."""
    page = open_page("#/library")

    def lower(route):  # noqa: ANN001
        served = route.fetch()
        body = served.json()
        body["limits"]["clip_max_s"] = 30
        route.fulfill(response=served, json=body)

    page.route("**/v1/me", lower)
    page.goto(f"{ui.base}/#/video/{ui.vtest_id}?t=45")
    page.reload()  # a new hash alone does not load the page (nor ask /v1/me) again
    page.wait_for_function(
        "() => (document.querySelector('video')?.getAttribute('src') || '')"
        ".endsWith('/clip?start_s=30&end_s=60')"
    )
    expect(page.locator(".video-page .muted").first).to_contain_text("30 s transcoded clips")


def test_sql_shows_rows_and_the_refusal_of_a_write(ui: Ui, open_page: OpenPage) -> None:
    refused = httpx.post(
        f"{ui.base}/v1/sql", json={"sql": "DELETE FROM videos"}, headers=ui.headers(), timeout=30
    )
    assert refused.status_code == 400
    page = open_page("#/sql")
    box = page.get_by_label("SQL (one read-only statement)")
    box.fill("DELETE FROM videos")
    page.get_by_role("button", name="Run").click()
    error = page.locator(".error")
    error.wait_for()
    assert error.text_content() == refused.json()["detail"]
    box.fill("SELECT file_name FROM videos ORDER BY id")
    page.get_by_role("button", name="Run").click()
    page.locator("table").wait_for()
    assert page.locator("th").all_text_contents() == ["file_name"]
    assert "briefing.mp4" in page.locator("td").all_text_contents()
    check_accessible(page, ["th", "td", "caption", "textarea"])
    ui.shot(page, "sql")


def test_a_read_key_gets_no_upload(ui: Ui, open_page: OpenPage, tmp_path: Path) -> None:
    page = open_page("#/library")
    page.locator("table").wait_for()
    names = page.locator("tbody td a").all_text_contents()
    assert "briefing.mp4" in names and "vtest.avi" in names
    assert page.locator("input[type=file]").count() == 0
    assert page.locator(".note").text_content() == "This key can only read: no uploads."
    check_accessible(page, ["th", "td", ".note", ".status"])
    ui.shot(page, "library")

    # A key that may ingest gets the control; a refused upload shows the server's reason.
    page = open_page("#/library", scopes="read,ingest")
    control = page.get_by_label("Add a video")
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes, not a video\n" * 20)
    control.set_input_files(str(notes))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Upload refused:").wait_for()
    assert page.locator(".note").count() == 0


def test_the_key_prompt_asks_and_the_key_then_works(
    ui: Ui, open_page: OpenPage, browser: Browser
) -> None:
    page = open_page("#/search?q=north+bridge", scopes=None)
    dialog = page.locator("#key-dialog")
    dialog.wait_for()
    assert dialog.get_attribute("open") is not None
    assert page.evaluate(UNNAMED) == []
    ui.shot(page, "key")
    field = page.get_by_label("Key (kept in this tab only)")
    field.fill("vk_" + "x" * 43)
    page.get_by_role("button", name="Use key").click()
    page.get_by_text("The key was refused: unknown or revoked API key.").wait_for()
    field.fill(ui.keys["read"])
    page.get_by_role("button", name="Use key").click()
    dialog.wait_for(state="hidden")
    expect(page.locator("#who")).to_contain_text("key “web ui read” (read)")
    # The search the page was opened for ran; its thumbnails load with the cookie.
    page.locator(".moment").first.wait_for()
    page.wait_for_function("() => document.querySelector('.moment img').naturalWidth > 0")
    cookie = next(c for c in page.context.cookies() if c["name"] == "vidkg_key")
    assert (cookie["value"], cookie["path"], cookie["sameSite"]) == (
        ui.keys["read"],
        "/v1",
        "Strict",
    )
    assert cookie["expires"] == -1  # a session cookie
    kept = page.evaluate("() => [sessionStorage.getItem('vidkg_key'), localStorage.length]")
    assert kept == [ui.keys["read"], 0]


def test_an_avi_plays_through_transcoded_clips(ui: Ui, open_page: OpenPage) -> None:
    """vtest.avi (MPEG-4 part 2) plays from 58 s in the 0-60 s clip, then on into the
    next window's clip."""
    page = open_page(f"#/video/{ui.vtest_id}?t=58")
    state = wait_ready(page, timeout=90_000)
    assert f"/v1/videos/{ui.vtest_id}/clip?start_s=0&end_s=60" in state["src"]
    assert abs(state["t"] - 58) < 1.0 and abs(clock_s(page) - 58) < 1.0, state
    ensure_playing(page)
    page.wait_for_function(
        """() => { const v = document.querySelector('video');
        return v.currentSrc.includes('start_s=60') && v.currentTime > 0.5 && !v.paused; }""",
        timeout=90_000,
    )
    state = video_state(page)
    assert state["error"] is None
    assert 60.5 <= clock_s(page) <= 70, state
    ui.shot(page, "clip")


def test_the_ui_is_small_fast_and_talks_only_to_its_server(ui: Ui, open_page: OpenPage) -> None:
    weight = sum(p.stat().st_size for p in STATIC.iterdir())
    assert weight < BUDGET_BYTES, weight
    page = open_page("#/search")
    page.locator("#q").wait_for()
    usable_ms = page.evaluate("() => performance.now()")
    assert usable_ms < 1000, usable_ms
    loaded = page.evaluate(
        "() => performance.getEntriesByType('resource').map((r) => [r.name, r.decodedBodySize])"
    )
    assert loaded and all(name.startswith(ui.base) for name, _ in loaded), loaded
    assert sum(size for name, size in loaded if "/ui/" in name) < BUDGET_BYTES
    # Served with a policy that allows this origin only, and not in the API's document.
    for path in ("/", "/ui/app.js"):
        served = httpx.get(ui.base + path, timeout=10)
        policy = served.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "unsafe" not in policy
        assert served.headers["x-content-type-options"] == "nosniff"
    paths = httpx.get(f"{ui.base}/openapi.json", timeout=10).json()["paths"]
    ops = {"/healthz", "/readyz", "/metrics"}
    assert [p for p in paths if not p.startswith("/v1/") and p not in ops] == []
