"""Shared by the web UI's browser tests (``test_web_ui.py``, ``test_web_library.py``):
``vidkg serve`` over the ingested sample (and vtest.avi, registered only) with a register
root, keys of each kind, Playwright with Debian's Chromium (no browser is ever
downloaded), what the player shows, and the accessibility checks every page gets.

Screenshots (1280x800) go to a temporary folder; with VIDKG_UPDATE_SCREENSHOTS=1 the
ones marked ``docs`` also replace docs/screenshots (shown in README).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from api.keys import KeyStore, parse_scopes
from indexer.catalog import delete_video, register_video
from tests.api_support import live_server
from tests.conftest import Ingested
from tests.support import REPO, VTEST, require

CHROMIUM = Path("/usr/bin/chromium")
# A developer without Chromium skips; CI (which installs it with the test media) must
# never pass by skipping the browser.
if not CHROMIUM.exists() and os.environ.get("CI"):
    raise RuntimeError("CI needs /usr/bin/chromium: `make test-media` installs it")
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SENTENCE = "The inspection of the north bridge is scheduled for Monday at nine."
DOCS_SHOTS = REPO / "docs" / "screenshots"
SOURCES = "speech|text|object|caption|event|visual"
SCOPES = ("read", "read,ingest", "admin")


@dataclass
class Ui:
    base: str
    video_id: int  # briefing.mp4, ingested
    vtest_id: int  # vtest.avi, registered only
    keys: dict[str, str]  # scopes -> secret
    shots: Path
    root: Path  # the server's VIDKG_API__REGISTER_ROOTS
    sample: Ingested

    def headers(self, scopes: str = "read") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scopes]}"}

    def shot(self, page: Page, name: str, docs: bool = False) -> None:
        path = self.shots / f"{name}.png"
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.screenshot(path=str(path))
        if docs and os.environ.get("VIDKG_UPDATE_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS_SHOTS / path.name)


def video_ids(sample: Ingested) -> set[int]:
    return {r["id"] for r in sample.rows("SELECT id FROM videos")}


@pytest.fixture(scope="module")
def ui(sample: Ingested, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    """The server (it runs queued jobs itself: no broker); videos the tests add through
    it are deleted afterwards, as is vtest.avi if it was not there before."""
    store = KeyStore(sample.db.sessions)
    keys = {s: store.create(parse_scopes(s), f"web ui {s}").secret for s in SCOPES}
    before = video_ids(sample)
    register_video(sample.db.sessions, sample.settings, require(VTEST))
    vtest_id = sample.rows("SELECT id FROM videos WHERE file_name = 'vtest.avi'")[0]["id"]
    out = tmp_path_factory.mktemp("web-ui")
    root = out / "archive"
    root.mkdir()
    env = {"VIDKG_API__REGISTER_ROOTS": json.dumps([str(root)])}
    try:
        with live_server(sample.settings, out / "serve.log", env) as base:
            yield Ui(base, sample.video_id, vtest_id, keys, out, root, sample)
    finally:  # the sample's database is shared: leave it as it was
        for video_id in video_ids(sample) - before:
            delete_video(sample.db.sessions, sample.settings, video_id)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, ui: Ui) -> Iterator[OpenPage]:
    """Pages in fresh browser contexts (a key in sessionStorage, or none); fails the test
    on a script error or a Content-Security-Policy violation."""
    contexts = []
    errors: list[str] = []

    def make(route: str, scopes: str | None = "read") -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        if scopes:
            secret = json.dumps(ui.keys[scopes])
            context.add_init_script(f"sessionStorage.setItem('vidkg_key', {secret})")
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{ui.base}/{route}")
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == []


# --- what the player shows ------------------------------------------------------------


def video_state(page: Page) -> dict:
    return page.evaluate(
        """() => { const v = document.querySelector('video');
        return {t: v.currentTime, paused: v.paused, ready: v.readyState, src: v.currentSrc,
                error: v.error && v.error.code}; }"""
    )


def wait_ready(page: Page, timeout: float = 20_000) -> dict:
    """The player once its media is loaded and the page's first seek is done (a time of
    0 before that is the page not having seeked yet, not a wrong time)."""
    page.wait_for_function(
        """() => { const v = document.querySelector('video');
        return v && v.readyState >= 1 && !v.seeking && v.currentTime > 0; }""",
        timeout=timeout,
    )
    return video_state(page)


def wait_advancing(page: Page, beyond: float, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "t => { const v = document.querySelector('video');"
        " return !v.paused && v.currentTime > t; }",
        arg=beyond,
        timeout=timeout,
    )


def ensure_playing(page: Page) -> None:
    """Autoplay may be refused without a gesture; a key press is one."""
    if video_state(page)["paused"]:
        page.locator("body").focus()
        page.keyboard.press("Space")


def clock_s(page: Page) -> float:
    """The page's own clock (the video's time, clip offsets included)."""
    shown = page.locator(".clock").text_content() or ""
    h_m_s = [float(x) for x in shown.split(" / ")[0].split(":")]
    return sum(v * 60**i for i, v in enumerate(reversed(h_m_s)))


def link_time(href: str) -> float:
    return float(re.search(r"[?&]t=([\d.]+)", href).group(1))


# --- accessibility basics ---------------------------------------------------------------

UNNAMED = """() => {
  const shown = (e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
  const text = (id) => document.getElementById(id)?.textContent || '';
  const name = (e) => (e.getAttribute('aria-label')
    || (e.getAttribute('aria-labelledby') || '').split(' ').map(text).join(' ')
    || [...(e.labels || [])].map((l) => l.textContent).join(' ')
    || (e.tagName === 'BUTTON' ? e.textContent : '') || e.title || '').trim();
  const controls = [...document.querySelectorAll('input, button, select, textarea, video')];
  const unnamed = controls.filter(shown).filter((e) => !name(e));
  const noAlt = [...document.querySelectorAll('img:not([alt])')];
  return [...unnamed, ...noAlt].map((e) => e.outerHTML.slice(0, 120));
}"""

FOCUSABLE = """() => {
  const sel = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, '
    + 'video[controls], [tabindex]:not([tabindex="-1"])';
  const all = [...document.querySelectorAll(sel)].filter((e) =>
    e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden'
    && !e.closest('dialog:not([open])'));
  all.forEach((e, i) => { e.dataset.tabCheck = i; });
  window.tabReached = new Set();
  document.addEventListener('focusin', (ev) => {
    const i = ev.target.dataset && ev.target.dataset.tabCheck;
    if (i !== undefined) window.tabReached.add(Number(i));
  }, true);
  document.activeElement.blur();
  return all.length;
}"""

CONTRAST = """(selectors) => {
  const rgb = (s) => { const m = s.match(/[\\d.]+/g).map(Number);
                       return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  const back = (e) => { for (; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor); if (c.a > 0.5) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const out = {};
  for (const sel of selectors) {
    const found = [...document.querySelectorAll(sel)].filter((e) => e.getClientRects().length);
    out[sel] = found.slice(0, 20).map((e) => {
      const [hi, lo] = [lum(rgb(getComputedStyle(e).color)), lum(back(e))].sort((a, b) => b - a);
      return (hi + 0.05) / (lo + 0.05);
    });
  }
  return out;
}"""

COMMON = ["body", "header nav a", "#who", "main h1, main h2", "button"]


def check_accessible(page: Page, contrast: list[str]) -> None:
    """Named controls, every focusable element reached by Tab, contrast >= 4.5:1."""
    assert page.evaluate(UNNAMED) == []
    total = page.evaluate(FOCUSABLE)
    assert total > 0
    presses = 0
    while presses < 4 * total + 20:  # every element once, the video's own controls too
        for _ in range(10):
            page.keyboard.press("Tab")
        presses += 10
        if page.evaluate("() => window.tabReached.size") == total:
            break
    missing = page.evaluate(
        """(n) => [...Array(n).keys()].filter((i) => !window.tabReached.has(i))
        .map((i) => document.querySelector(`[data-tab-check="${i}"]`).outerHTML.slice(0, 100))""",
        total,
    )
    assert missing == [], f"not reached by Tab in {presses} presses"
    ratios = page.evaluate(CONTRAST, COMMON + contrast)
    assert all(ratios[sel] for sel in contrast), {s: r for s, r in ratios.items() if not r}
    low = {sel: min(r) for sel, r in ratios.items() if r and min(r) < 4.5}
    assert low == {}
