// dom.js: the few DOM and formatting helpers every page uses. Nodes are built with
// el() and text nodes only (never innerHTML), so text from videos cannot inject markup.

// el("a", {href: "#/x", class: "c", onclick: f}, "text", child, [more]) -> Element
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "data") Object.assign(node.dataset, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// Seconds as a timecode: 14.6 -> "0:14.6", 3725.2 -> "1:02:05.2".
export function tc(seconds) {
  const tenths = Math.max(0, Math.round(seconds * 10));
  const s = Math.floor(tenths / 10) % 60;
  const m = Math.floor(tenths / 600) % 60;
  const h = Math.floor(tenths / 36000);
  const ss = `${String(s).padStart(2, "0")}.${tenths % 10}`;
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function duration(seconds) {
  return tc(seconds).replace(/\.\d$/, "");
}

// The query's words (two characters or more), for highlighting.
export function queryWords(query) {
  return [...new Set((query.match(/[\p{L}\p{N}]{2,}/gu) || []).map((w) => w.toLowerCase()))];
}

// Text with the query's words wrapped in <mark>, as a list of nodes.
export function highlight(text, words) {
  if (!words.length) return [text];
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`(${escaped.join("|")})`, "giu");
  return text.split(re).map((part, i) => (i % 2 ? el("mark", {}, part) : part));
}

// "#/video/3?t=14.6" -> {page: "video", id: "3", params: URLSearchParams}
export function parseHash(hash = location.hash) {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [page = "", id = null] = path.split("/");
  return { page: page || "search", id, params: new URLSearchParams(query) };
}

export function link(page, id = null, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/${page}${id === null ? "" : `/${id}`}${query ? `?${query}` : ""}`;
}

export function videoLink(videoId, t) {
  return link("video", videoId, { t: (Math.round(t * 10) / 10).toString() });
}

// A problem's message for a person (RFC 7807 detail, else the error's text).
export function errorBox(error) {
  return el("p", { class: "error", role: "alert" }, error.message || String(error));
}

export function badge(source) {
  return el("span", { class: `badge src-${source}` }, source);
}
