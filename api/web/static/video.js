// video.js: the Video page: a <video> player and, along the whole timeline, lanes of
// what was indexed (scenes, events, speech, on-screen text, object tracks) that seek
// when clicked, and a transcript that follows playback word by word.
//
// The lanes span the whole timeline but hold only the rows of a window around the playhead
// (LANE_S either side, every page of it), fetched again as the playhead nears the window's
// edge or leaves it, so an hour-long archive loads minutes of rows, not all of them.
//
// A file the browser plays (MP4/WebM with web codecs) is streamed from /file with byte
// ranges. Any other file plays through transcoded clips: the window of CLIP_S seconds
// around the wanted time is loaded from /clip, the player's time is offset by the
// window's start, and leaving the window (seeking, or playing past its end) loads the next.

import { api, video as videoInfo } from "./api.js";
import { clear, el, errorBox, tc } from "./dom.js";

const CLIP_S = 60; // at most; less where /v1/me's limits.clip_max_s is lower; aligned, so cached
const WEB_CONTAINERS = /mp4|webm/;
const WEB_VIDEO = new Set(["h264", "vp8", "vp9", "av1"]);
const WEB_AUDIO = new Set(["aac", "opus", "vorbis", "mp3"]);
const LANE_S = 300; // rows are loaded for the playhead ± this many seconds
const MARGIN_S = 60; // nearer than this to the loaded window's edge: load the next
const KINDS = [
  ["Scenes", "scenes", (c) => `Scene ${c.scene_index}`],
  ["Events", "events", (e) => e.title || e.kind],
  ["Speech", "speech", (s) => s.text],
  ["Text", "text", (x) => x.text],
  ["Tracks", "tracks", (k) => `${k.label} #${k.track_key}`],
];

export function playable(v) {
  return (
    WEB_CONTAINERS.test(v.container) &&
    (!v.video_codec || WEB_VIDEO.has(v.video_codec)) &&
    (!v.audio_codec || WEB_AUDIO.has(v.audio_codec))
  );
}

// Plays one video, whole or window by window; times are always the video's own.
class Player {
  constructor(element, info, report, clipMax) {
    this.v = element;
    this.report = report; // shows why the media failed
    this.clipS = Math.min(CLIP_S, clipMax > 0 ? clipMax : CLIP_S);
    this.id = info.video_id;
    this.end = Math.min(info.duration_s, info.decodable_s ?? info.duration_s);
    this.direct = playable(info);
    this.window = null; // [start, end] of the loaded clip
    this.wanted = null;
    this.v.addEventListener("ended", () => this.next());
    this.v.addEventListener("loadedmetadata", () => this.loaded());
    this.v.addEventListener("error", () => this.failed());
    if (this.direct) this.v.src = `/v1/videos/${this.id}/file`;
  }

  get time() {
    if (this.wanted) return this.window[0] + this.wanted.t;
    return (this.window ? this.window[0] : 0) + this.v.currentTime;
  }

  seek(t, play = false) {
    t = Math.max(0, Math.min(t, this.end - 0.05));
    const w = this.window;
    if (!this.direct && !(w && t >= w[0] && t < w[1])) {
      this.load(t, play || !this.v.paused);
      return;
    }
    this.v.currentTime = w ? t - w[0] : t;
    if (play) this.play();
  }

  load(t, play) {
    let a = Math.floor(t / this.clipS) * this.clipS;
    const b = Math.min(a + this.clipS, this.end);
    if (b - a < 1) a = Math.max(0, b - this.clipS); // no sliver of a last window
    this.window = [a, b];
    this.wanted = { t: t - a, play }; // applied once the clip's metadata is in
    this.v.src = `/v1/videos/${this.id}/clip?start_s=${a}&end_s=${b}`;
  }

  loaded() {
    if (!this.wanted) return;
    this.v.currentTime = this.wanted.t;
    if (this.wanted.play) this.play();
    this.wanted = null;
  }

  // The element only says "failed": ask the server why (a problem's detail, not media).
  async failed() {
    const src = this.v.currentSrc || this.v.src;
    if (!src) return;
    const response = await fetch(src, { headers: { Range: "bytes=0-0" } }).catch(() => null);
    let detail = `${this.v.error?.message || "the browser cannot play this"}`;
    if (response && !response.ok) {
      detail = (await response.json().catch(() => ({}))).detail || response.statusText;
      const most = /at most ([\d.]+) s/.exec(detail);
      if (response.status === 422 && most && Number(most[1]) < this.clipS && this.window) {
        this.clipS = Number(most[1]); // the server's clip_max_s is lower: smaller windows
        this.load(this.window[0] + (this.wanted?.t ?? 0), this.wanted?.play ?? false);
        return;
      }
    }
    this.report(detail);
  }

  next() {
    if (this.window && this.window[1] < this.end - 0.05) this.load(this.window[1], true);
  }

  play() {
    this.v.play().catch(() => {}); // refused without a user gesture: the controls remain
  }

  toggle() {
    this.v.paused ? this.play() : this.v.pause();
  }
}

// Every page of a kind's rows overlapping [a, b] (the evidence endpoints' window).
async function rows(path, a, b, limit) {
  const items = [];
  for (let offset = 0; offset != null; ) {
    const page = await api(`${path}?start_s=${a}&end_s=${b}&limit=${limit}&offset=${offset}`);
    items.push(...page.items);
    offset = page.next_offset;
  }
  return items;
}

// Intervals in rows so that bars never overlap (at most `max` rows; the rest share the last).
function pack(items, max = 4) {
  const ends = [];
  return items
    .slice()
    .sort((x, y) => x.start_s - y.start_s)
    .map((item) => {
      let row = ends.findIndex((end) => end <= item.start_s);
      if (row < 0) row = ends.length < max ? ends.length : max - 1;
      ends[row] = Math.max(ends[row] ?? 0, item.end_s);
      return [item, row];
    });
}

export function render(main, route, me) {
  const id = Number(route.id);
  const start = Number(route.params.get("t") || 0);
  const out = el("div", { class: "video-page" }, el("p", { class: "muted" }, "Loading…"));
  clear(main, out);
  let left = false; // the page was left before the video's details came
  const page = { seek: () => {}, stop: () => (left = true) };
  videoInfo(id)
    .then((info) => left || build(out, info, start, page, route.params.has("t"), me))
    .catch((error) => clear(out, errorBox(error)));
  return page;
}

function build(out, info, start, page, autoplay, me) {
  const element = el("video", { controls: true, preload: "auto", "aria-label": info.file_name });
  const problem = el("p", { class: "error", role: "alert", hidden: true });
  const player = new Player(element, info, (detail) => {
    problem.textContent = `The video cannot be played: ${detail}`;
    problem.hidden = false;
  }, me?.limits?.clip_max_s);
  const clock = el("output", { class: "clock", "aria-label": "Time" });
  const scrub = el("input", {
    type: "range",
    min: 0,
    max: player.end,
    step: 0.1,
    value: start,
    "aria-label": "Position in the video",
  });
  scrub.addEventListener("input", () => player.seek(Number(scrub.value)));
  const transcript = el("ol", { class: "transcript", "aria-label": "Transcript" });
  const shown = el("p", { class: "muted", hidden: true }); // which window, if not all
  const lanes = el("div", { class: "lanes" }, shown);
  const heads = [];
  const pct = (t) => `${(100 * t) / player.end}%`;
  const areas = KINDS.map(([name]) => {
    const area = el("div", { class: "lane-area", onclick: (event) => {
      if (event.target === area) player.seek((player.end * event.offsetX) / area.clientWidth);
    } });
    const title = el("span", { class: "lane-name" }, name);
    lanes.append(el("div", { class: `lane lane-${name.toLowerCase()}`, role: "group",
      "aria-label": name }, title, area));
    return area;
  });
  const lane = (area, [name, , label], items, [a, b]) => {
    const head = el("span", { class: "head", "aria-hidden": "true" });
    heads.push(head);
    const span = el("span", { class: "loaded", hidden: a <= 0 && b >= player.end });
    span.style.left = pct(a);
    span.style.width = pct(b - a);
    const packed = pack(items);
    area.style.setProperty("--rows", Math.max(1, ...packed.map(([, r]) => r + 1)));
    clear(area, span);
    for (const [item, row] of packed) {
      const text = label(item);
      const bar = el(
        "button",
        {
          type: "button",
          class: "bar",
          title: `${text} (${tc(item.start_s)}–${tc(item.end_s)})`,
          "aria-label": `${name}: ${text}, ${tc(item.start_s)}`,
          onclick: () => player.seek(item.start_s),
        },
        text,
      );
      bar.style.left = pct(item.start_s);
      bar.style.width = pct(Math.max(item.end_s - item.start_s, 0.2));
      bar.style.setProperty("--row", row);
      area.append(bar);
    }
    area.append(head);
  };
  const container = /mp4/.test(info.container) ? "MP4" : /webm/.test(info.container) ? "WebM"
    : info.container.split(",")[0].toUpperCase();
  const facts = [
    info.status,
    tc(player.end),
    `${container}, ${info.video_codec || "no video"}`,
    player.direct ? "streamed as is" : `played in ${player.clipS} s transcoded clips`,
  ];
  const indexed = info.scenes + info.speech_segments + info.onscreen_texts + info.tracks > 0;
  const empty = "Nothing indexed yet: the lanes fill after ingest.";
  clear(
    out,
    el("h1", {}, info.file_name),
    el("p", { class: "muted" }, facts.join(" · ")),
    indexed ? null : el("p", { class: "note" }, empty),
    el(
      "div",
      { class: "stage" },
      el("div", { class: "player" }, element, el("div", { class: "scrub" }, clock, scrub), problem),
      el("section", { class: "side" }, el("h2", {}, "Transcript"), transcript),
    ),
    lanes,
  );

  // Words in time order, and the elements showing them.
  let words = [];
  let current = null;
  let loaded = null; // [a, b]: the window whose rows the lanes and transcript show
  let loading = null;
  const limit = Math.min(1000, me?.limits?.page_max || 1000);
  const base = `/v1/videos/${info.video_id}`;
  const want = (t) => {
    if (page.left) return;
    t = Math.max(0, Math.min(t, player.end));
    const w = loading || loaded;
    if (w && t >= (w[0] > 0 ? w[0] + MARGIN_S : 0)) {
      if (w[1] >= player.end || t <= w[1] - MARGIN_S) return;
    }
    const ask = (loading = [Math.max(0, Math.floor(t - LANE_S)),
      Math.min(Math.ceil(player.end), Math.ceil(t + LANE_S))]);
    Promise.all(KINDS.map(([, kind]) => rows(`${base}/${kind}`, ...ask, limit)))
      .then((found) => {
        if (loading !== ask || page.left) return;
        heads.length = 0;
        found.forEach((items, i) => lane(areas[i], KINDS[i], items, ask));
        const whole = ask[0] <= 0 && ask[1] >= player.end;
        shown.className = "muted";
        shown.hidden = whole;
        shown.textContent = `Lanes and transcript: ${tc(ask[0])}–${tc(ask[1])}, `
          + `the ${LANE_S / 60} minutes either side of the playhead.`;
        clear(transcript);
        current = null;
        words = showTranscript(transcript, found[KINDS.findIndex(([, k]) => k === "speech")]);
      })
      .catch((error) => {
        if (loading !== ask) return;
        [shown.className, shown.hidden, shown.textContent] = ["error", false, error.message];
      })
      .finally(() => {
        if (loading !== ask) return;
        [loaded, loading] = [ask, null]; // a failed window is not asked again at once
        tick();
      });
  };
  const tick = () => {
    const t = player.time;
    clock.value = `${tc(t)} / ${tc(player.end)}`;
    if (document.activeElement !== scrub) scrub.value = t;
    if (!player.direct || element.readyState > 0) want(t);
    for (const head of heads) head.style.left = pct(t);
    let lo = 0;
    let hi = words.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (words[mid].start_s <= t) [found, lo] = [mid, mid + 1];
      else hi = mid - 1;
    }
    const word = found >= 0 && t <= words[found].end_s + 0.3 ? words[found].node : null;
    if (word === current) return;
    current?.classList.remove("current");
    current?.removeAttribute("aria-current");
    current = word;
    if (word) {
      word.classList.add("current");
      word.setAttribute("aria-current", "true");
      const box = transcript.getBoundingClientRect();
      const at = word.getBoundingClientRect();
      if (at.top < box.top || at.bottom > box.bottom) {
        transcript.scrollTop += at.top - box.top - box.height / 3;
      }
    }
  };
  let frame = 0;
  const loop = () => {
    tick();
    frame = element.paused ? 0 : requestAnimationFrame(loop);
  };
  element.addEventListener("play", () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(loop);
  });
  element.addEventListener("timeupdate", tick);
  element.addEventListener("seeked", tick);

  transcript.addEventListener("click", (event) => {
    const t = event.target.closest("[data-t]")?.dataset.t;
    if (t !== undefined) player.seek(Number(t));
  });

  want(start);
  const keys = (event) => {
    const target = event.target;
    if (target.closest("input, textarea, select, dialog") || event.ctrlKey || event.metaKey) return;
    if (event.key === " " && (target === element || !target.closest("button, a"))) {
      player.toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      player.seek(player.time + (event.key === "ArrowLeft" ? -5 : 5));
    } else return;
    event.preventDefault();
  };
  document.addEventListener("keydown", keys);
  page.seek = (t) => player.seek(t, true);
  page.stop = () => {
    page.left = true;
    document.removeEventListener("keydown", keys);
    cancelAnimationFrame(frame);
    element.pause();
    element.removeAttribute("src");
    element.load();
  };
  player.seek(start, autoplay);
  tick();
}

// The transcript: a timecode button per segment, words that seek when clicked.
function showTranscript(list, speech) {
  const words = [];
  if (!speech.length) list.append(el("li", { class: "muted" }, "No speech."));
  for (const s of speech) {
    const line = el("span", { class: "words" });
    if (s.words.length) {
      for (const w of s.words) {
        const node = el("span", { class: "word", data: { t: w.start_s } }, w.word.trim());
        words.push({ start_s: w.start_s, end_s: w.end_s, node });
        line.append(node, " ");
      }
    } else line.append(s.text);
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "tc", data: { t: s.start_s }, title: "Play from here" },
          tc(s.start_s),
        ),
        " ",
        line,
      ),
    );
  }
  return words.sort((a, b) => a.start_s - b.start_s);
}
