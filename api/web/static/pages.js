// pages.js: the Search, Ask, Library and SQL pages. Each renders into <main> from its
// hash route (so Back and shared links work) and returns a cleanup function, if any.

import { api, video } from "./api.js";
import {
  badge,
  clear,
  duration,
  el,
  errorBox,
  highlight,
  link,
  queryWords,
  tc,
  videoLink,
} from "./dom.js";

function searchForm(page, name, label, value, button, extra = { nodes: [], params: () => [] }) {
  const input = el("input", { id: name, name, type: "search", value, autocomplete: "off" });
  const form = el(
    "form",
    { class: "inline", role: "search" },
    el("label", { for: name }, label),
    input,
    el("button", { type: "submit" }, button),
    extra.nodes,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) location.hash = link(page, null, [["q", q], ...extra.params()]);
  });
  return { form, input };
}

// A select of the library's videos ("All videos" or one), set from the route's video_ids.
// Until the list comes, the chosen one is an option already, so it is searched in at once.
export function videoSelect(id, chosen) {
  const all = el("option", { value: "" }, "All videos");
  const select = el("select", { id }, all, chosen ? el("option", { value: chosen }, chosen) : null);
  select.value = chosen || "";
  api("/v1/videos?limit=1000").then((page) => {
    clear(select, all, page.items.map((v) => el("option", { value: v.video_id }, v.file_name)));
    select.value = chosen || "";
  }, () => {});
  return select;
}

const SOURCES = ["speech", "text", "object", "caption", "event", "visual"];

// The search filters: sources, one video, a time span; read from and written to the hash.
function searchFilters(params) {
  const picked = params.getAll("sources");
  const boxes = SOURCES.map((s) =>
    el("input", { type: "checkbox", name: "sources", value: s, checked: picked.includes(s) }));
  const pick = videoSelect("video", params.get("video_ids"));
  const num = (id, key, text) => [
    el("label", { for: id }, text),
    el("input", { id, type: "number", min: 0, step: "any", class: "secs",
      value: params.get(key) || "" }),
  ];
  const from = num("from", "start_s", "From (s)");
  const to = num("to", "end_s", "To (s)");
  const nodes = el(
    "div",
    { class: "filters" },
    el("fieldset", {}, el("legend", {}, "Sources"),
      boxes.map((b) => el("label", { class: "check" }, b, b.value))),
    el("label", { for: "video" }, "Video"),
    pick,
    from,
    to,
  );
  const params2 = () => [
    ...boxes.filter((b) => b.checked).map((b) => ["sources", b.value]),
    ...[["video_ids", pick], ["start_s", from[1]], ["end_s", to[1]]]
      .filter(([, c]) => c.value !== "").map(([k, c]) => [k, c.value]),
  ];
  return { nodes, params: params2 };
}

// Search: moments grouped by video, each a link to the video page at its start.
export function search(main, route) {
  const q = route.params.get("q") || "";
  const filters = searchFilters(route.params);
  const { form, input } = searchForm("search", "q", "Search", q, "Search", filters);
  const out = el("div", { class: "results", "aria-live": "polite" });
  clear(main, el("h1", { class: "sr-only" }, "Search"), form, out);
  if (!q) {
    input.focus();
    out.append(el("p", { class: "muted" }, "Words, a phrase or a code said or shown in a video."));
    return;
  }
  out.append(el("p", { class: "muted" }, "Searching…"));
  const started = performance.now();
  api(`/v1/search?${new URLSearchParams([["q", q], ...filters.params()])}`)
    .then((found) => showMoments(out, found, queryWords(q), performance.now() - started))
    .catch((error) => clear(out, errorBox(error)));
}

async function showMoments(out, found, words, ms) {
  const groups = new Map();
  for (const m of found.moments) {
    if (!groups.has(m.video_id)) groups.set(m.video_id, []);
    groups.get(m.video_id).push(m);
  }
  const names = await Promise.all(
    [...groups.keys()].map((id) => video(id).then((v) => v.file_name, () => `video ${id}`)),
  );
  const n = (count, what) => `${count} ${what}${count === 1 ? "" : "s"}`;
  const summary = found.moments.length
    ? `${n(found.moments.length, "moment")} in ${n(groups.size, "video")}`
    : "Nothing found";
  clear(
    out,
    el("p", { class: "muted" }, `${summary} (${Math.round(ms)} ms).`),
    [...groups.entries()].map(([id, moments], i) =>
      el(
        "section",
        { class: "group" },
        el("h2", {}, el("a", { href: link("video", id) }, names[i])),
        el("ol", { class: "moments" }, moments.map((m) => el("li", {}, moment(m, words)))),
      ),
    ),
  );
}

function moment(m, words) {
  const img = el("img", {
    src: `/v1/videos/${m.video_id}/frame?t=${m.start_s}`,
    alt: "",
    width: 160,
    height: 90,
    loading: "lazy",
    onerror: (event) => event.target.classList.add("missing"),
  });
  return el(
    "a",
    { class: "moment", href: videoLink(m.video_id, m.start_s) },
    img,
    el("span", { class: "meta" },
      el("span", { class: "time" }, tc(m.start_s)), " ", badge(m.source)),
    el("span", { class: "text" }, highlight(m.text, words)),
  );
}

// Ask: the answer (or "I don't know"), its citations as chips, and the plan.
export function ask(main, route) {
  const q = route.params.get("q") || "";
  const scope = videoSelect("scope", route.params.get("video_ids"));
  const extra = {
    nodes: [el("label", { for: "scope" }, "Scope"), scope],
    params: () => (scope.value ? [["video_ids", scope.value]] : []),
  };
  const { form, input } = searchForm("ask", "question", "Question", q, "Ask", extra);
  const out = el("div", { class: "results", "aria-live": "polite" });
  clear(main, el("h1", { class: "sr-only" }, "Ask"), form, out);
  if (!q) {
    input.focus();
    out.append(el("p", { class: "muted" }, "Ask about what was said or shown: when, who, what."));
    return;
  }
  out.append(el("p", { class: "muted" }, "Thinking…"));
  const ids = route.params.getAll("video_ids").map(Number);
  api("/v1/ask", { method: "POST", json: { question: q, video_ids: ids } })
    .then((answer) => showAnswer(out, answer))
    .catch((error) => clear(out, errorBox(error)));
}

async function showAnswer(out, a) {
  const names = new Map();
  for (const c of a.citations) {
    if (!names.has(c.video_id)) names.set(c.video_id, await video(c.video_id).catch(() => null));
  }
  const chip = (c) => {
    const name = names.get(c.video_id)?.file_name || `video ${c.video_id}`;
    return el(
      "a",
      { class: "chip", href: videoLink(c.video_id, c.start_s), title: c.text },
      `${name} · ${tc(c.start_s)} · ${c.source}`,
    );
  };
  const p = a.plan;
  clear(
    out,
    a.known
      ? el("p", { class: "answer" }, a.answer)
      : el("p", { class: "answer unknown" }, "I don't know"),
    a.citations.length
      ? el("ul", { class: "chips", "aria-label": "Citations" }, 
          a.citations.map((c) => el("li", {}, chip(c))))
      : null,
    el(
      "section",
      { class: "plan" },
      el("h2", {}, "Plan"),
      el(
        "dl",
        {},
        el("dt", {}, "Answer type"),
        el("dd", {}, p.answer_type),
        el("dt", {}, "Operator"),
        el("dd", {}, p.operator),
        el("dt", {}, "Terms"),
        el("dd", {}, [...p.terms, ...p.phrases.map((x) => `“${x}”`)].join(", ") || "—"),
      ),
      el("h3", {}, "Steps"),
      el(
        "ol",
        {},
        p.steps.map((s) =>
          el("li", {}, el("strong", {}, s.retriever), ` “${s.query}” — ${s.why}`),
        ),
      ),
      p.notes.length
        ? [el("h3", {}, "Notes"), el("ul", {}, p.notes.map((n) => el("li", {}, n)))]
        : null,
    ),
  );
}

// Library: the videos, each queued or running ingest's progress (server-sent events),
// an upload and a server path to register for keys that may ingest, delete for admins.
const STREAMS = 3; // event streams at once (a browser opens ~6 connections a host); others poll

export function library(main, route, me) {
  const table = el("div", { "aria-live": "polite" }, el("p", { class: "muted" }, "Loading…"));
  const may = (scope) => me.scopes.includes(scope) || me.scopes.includes("admin");
  const jobs = new Map(); // job_id -> {job, close}, the jobs followed
  let left = false;
  const show = (job) => {
    const row = table.querySelector(`tr[data-video="${job.video_id}"]`);
    if (!row) return;
    const pct = Math.round(job.fraction_done * 100);
    row.querySelector(".status").textContent = `${job.status} ${pct}%`;
    const bar = row.querySelector("progress");
    bar.hidden = false;
    bar.value = job.fraction_done;
  };
  const over = (id) => {
    jobs.get(id)?.close();
    jobs.delete(id);
    load();
  };
  const poll = (id) => {
    const timer = setTimeout(() => api(`/v1/jobs/${id}`).then((job) => {
      if (!jobs.has(id)) return;
      jobs.get(id).job = job;
      show(job);
      ["queued", "running"].includes(job.status) ? poll(id) : over(id);
    }, () => over(id)), 2000);
    jobs.get(id).close = () => clearTimeout(timer);
  };
  const follow = (job) => {
    if (left || jobs.has(job.job_id)) return;
    const id = job.job_id;
    jobs.set(id, { job, close: () => {} });
    show(job);
    if ([...jobs.values()].filter((j) => j.stream).length >= STREAMS) return poll(id);
    const source = new EventSource(`/v1/jobs/${id}/events`);
    Object.assign(jobs.get(id), { stream: true, close: () => source.close() });
    source.addEventListener("progress", (e) => show((jobs.get(id).job = JSON.parse(e.data))));
    source.addEventListener("end", () => over(id));
    source.onerror = () => { // the stream broke (or was refused): poll instead
      source.close();
      if (!jobs.has(id)) return;
      jobs.get(id).stream = false;
      poll(id);
    };
  };
  const remove = (v) => api(`/v1/videos/${v.video_id}`, { method: "DELETE" }).then(load);
  const load = () =>
    left || api("/v1/videos?limit=1000")
      .then((page) => {
        clear(table, videoTable(page, may("admin") && remove));
        for (const { job } of jobs.values()) show(job);
        for (const status of ["queued", "running"]) { // the jobs to follow
          api(`/v1/jobs?status=${status}&limit=500`).then((p) => p.items.forEach(follow), () => {});
        }
      })
      .catch((error) => clear(table, errorBox(error)));
  const added = (made) => {
    load();
    if (made.job) follow(made.job);
  };
  const forms = may("ingest")
    ? [uploadForm(added), registerForm(added)]
    : [el("p", { class: "note" }, "This key can only read: no uploads.")];
  clear(main, el("h1", {}, "Library"), forms, table);
  load();
  return () => {
    left = true;
    for (const { close } of jobs.values()) close();
    jobs.clear();
  };
}

function videoTable(page, remove) {
  if (!page.items.length) return el("p", { class: "muted" }, "No videos yet.");
  const cols = ["Id", "File", "Status", "Duration", "Scenes", "Speech", "Text", "Tracks", "Events"];
  if (remove) cols.push("Actions");
  return el(
    "table",
    {},
    el("caption", { class: "muted" }, `${page.total} videos`),
    el("thead", {}, el("tr", {}, cols.map((c) => el("th", { scope: "col" }, c)))),
    el(
      "tbody",
      {},
      page.items.map((v) =>
        el(
          "tr",
          { data: { video: v.video_id } },
          el("td", {}, v.video_id),
          el("td", {}, el("a", { href: link("video", v.video_id) }, v.file_name)),
          el("td", {}, el("span", { class: `status st-${v.status}` }, v.status), " ",
            el("progress", { max: 1, value: 0, hidden: true,
              "aria-label": `Ingest progress of ${v.file_name}` })),
          el("td", { class: "num" }, duration(v.duration_s)),
          [v.scenes, v.speech_segments, v.onscreen_texts, v.tracks, v.events].map((n) =>
            el("td", { class: "num" }, n),
          ),
          remove ? el("td", {}, deleteControl(v, remove)) : null,
        ),
      ),
    ),
  );
}

// Delete in two steps: "Delete" asks "Really delete NAME?", then Confirm or Cancel.
function deleteControl(v, remove) {
  const box = el("span", { class: "confirm" });
  const ask = el("button", { type: "button", class: "danger",
    "aria-label": `Delete ${v.file_name}`, onclick: () => {
      const cancel = el("button", { type: "button", onclick: () => {
        clear(box, ask);
        ask.focus();
      } }, "Cancel");
      const yes = el("button", { type: "button", class: "danger", onclick: () => {
        yes.disabled = cancel.disabled = true;
        remove(v).catch((error) => clear(box, errorBox(error), ask));
      } }, "Confirm");
      clear(box, el("span", { role: "alert" }, `Really delete ${v.file_name}?`), " ", yes, " ",
        cancel);
      cancel.focus();
    } }, "Delete");
  return clear(box, ask);
}

// A form that adds a video (POST /v1/videos), says what came of it, and hands it on.
function addForm(id, label, input, button, send, added) {
  const go = el("button", { type: "submit" }, button);
  const state = el("p", { class: "muted", "aria-live": "polite" });
  const form = el("form", { class: "inline add" }, el("label", { for: id }, label), input, go,
    state);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [body, doing, refused] = send();
    if (!body) return;
    go.disabled = true;
    state.className = "muted";
    state.textContent = doing;
    try {
      const made = await api("/v1/videos", { method: "POST", ...body });
      const what = made.created ? "added" : "already in the library";
      state.textContent = `${made.video.file_name}: ${what}.`;
      added(made);
    } catch (error) {
      state.className = "error";
      state.textContent = `${refused}: ${error.message}`;
    } finally {
      go.disabled = false;
    }
  });
  return form;
}

function uploadForm(added) {
  const file = el("input", { id: "upload-file", type: "file", accept: "video/*,audio/*" });
  return addForm("upload-file", "Add a video", file, "Upload", () => {
    const chosen = file.files[0];
    if (!chosen) return [];
    const form = new FormData();
    form.append("file", chosen);
    return [{ form }, `Uploading ${chosen.name}…`, "Upload refused"];
  }, added);
}

function registerForm(added) {
  const path = el("input", { id: "register-path", type: "text", autocomplete: "off",
    spellcheck: "false", placeholder: "/archive/cam2.mp4" });
  return addForm("register-path", "Or a file on the server", path, "Register", () => {
    const json = { path: path.value.trim() };
    return json.path ? [{ json }, `Registering ${json.path}…`, "Not registered"] : [];
  }, added);
}

// SQL: one read-only statement; refusals show PostgreSQL's reason.
const EXAMPLE = "SELECT kind, start_tc, text FROM v_timeline ORDER BY video_id, start_s LIMIT 20";

export function sql(main) {
  const text = el("textarea", { id: "sql", rows: 5, spellcheck: "false" });
  text.value = sessionStorage.getItem("vidkg_sql") || EXAMPLE;
  const out = el("div", { class: "results", "aria-live": "polite" });
  const form = el(
    "form",
    { class: "sql" },
    el("label", { for: "sql" }, "SQL (one read-only statement)"),
    text,
    el("button", { type: "submit" }, "Run"),
  );
  const run = async () => {
    sessionStorage.setItem("vidkg_sql", text.value);
    clear(out, el("p", { class: "muted" }, "Running…"));
    try {
      const r = await api("/v1/sql", { method: "POST", json: { sql: text.value } });
      clear(out, rowsTable(r));
    } catch (error) {
      clear(out, errorBox(error));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
  });
  clear(main, el("h1", {}, "SQL"), form, out);
}

function rowsTable(r) {
  const cell = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v ?? "");
  return el(
    "table",
    {},
    el("caption", { class: "muted" }, `${r.rows.length} rows${r.truncated ? " (truncated)" : ""}`),
    el("thead", {}, el("tr", {}, r.columns.map((c) => el("th", { scope: "col" }, c)))),
    el(
      "tbody",
      {},
      r.rows.map((row) => el("tr", {}, r.columns.map((c) => el("td", {}, cell(row[c]))))),
    ),
  );
}
