// entities.js: the Entities page (#/entities?kind=text&name=bridge&id=5): the graph's
// entities as a filterable list; one chosen shows its timeline (times open the video
// there), its neighbours, and a small drawing of them (SVG, no library).

import { api, video } from "./api.js";
import { clear, el, errorBox, link, tc, videoLink } from "./dom.js";

const KINDS = ["text", "name", "term", "object", "person"];
const SVG = "http://www.w3.org/2000/svg";

export function entities(main, route, me) {
  const p = route.params;
  const kind = el("select", { id: "kind" }, el("option", { value: "" }, "All kinds"),
    KINDS.map((k) => el("option", { value: k }, k)));
  kind.value = p.get("kind") || "";
  const name = el("input", { id: "name", type: "search", value: p.get("name") || "" });
  const form = el(
    "form",
    { class: "inline" },
    el("label", { for: "kind" }, "Kind"),
    kind,
    el("label", { for: "name" }, "Name"),
    name,
    el("button", { type: "submit" }, "Filter"),
  );
  const filter = () => [["kind", kind.value], ["name", name.value.trim()]].filter(([, v]) => v);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = link("entities", null, filter());
  });
  const list = el("div", { "aria-live": "polite" }, el("p", { class: "muted" }, "Loading…"));
  const detail = el("section", { class: "entity", "aria-live": "polite" });
  clear(main, el("h1", {}, "Entities"), form, el("div", { class: "ents" }, list, detail));
  const limit = Math.min(200, me?.limits?.page_max || 200);
  const query = new URLSearchParams([...filter(), ["limit", limit]]);
  const id = p.get("id");
  api(`/v1/graph/entities?${query}`)
    .then((page) => {
      clear(list, entityList(page, filter(), id));
      const self = page.items.find((e) => String(e.id) === id);
      if (id) return show(detail, Number(id), self?.name || `entity ${id}`);
    })
    .catch((error) => clear(detail, errorBox(error)));
}

function entityList(page, filter, chosen) {
  if (!page.items.length) return el("p", { class: "muted" }, "No entities.");
  return [
    el("p", { class: "muted" }, `${page.total} entities`),
    el("ul", { class: "ent-list" }, page.items.map((e) => el("li", {},
      el("a", {
        href: link("entities", null, [...filter, ["id", e.id]]),
        "aria-current": String(e.id) === chosen ? "true" : null,
      }, e.name),
      " ", el("span", { class: "muted" }, `${e.kind} · ${e.mentions}× · ${tc(e.first_s)}`)))),
  ];
}

async function show(out, id, title) {
  clear(out, el("p", { class: "muted" }, "Loading…"));
  const [times, near] = await Promise.all([
    api(`/v1/graph/entities/${id}/timeline`),
    api(`/v1/graph/entities/${id}/neighbours?hops=1`),
  ]);
  const names = new Map();
  for (const a of times) {
    if (!names.has(a.video_id)) {
      const named = video(a.video_id).then((v) => v.file_name, () => `video ${a.video_id}`);
      names.set(a.video_id, await named);
    }
  }
  const nodeLink = (n) => n.type === "entity"
    ? link("entities", null, [["kind", n.kind], ["id", n.id]])
    : videoLink(n.video_id, n.start_s ?? 0);
  clear(
    out,
    el("h2", { class: "ent-title" }, title),
    el("h3", {}, "Timeline"),
    el("ol", { class: "timeline" }, times.map((a) => el("li", {},
      el("a", { class: "at", href: videoLink(a.video_id, a.start_s) },
        `${names.get(a.video_id)} · ${tc(a.start_s)}`),
      " ", el("span", { class: "muted" }, `${a.predicate} · ${a.source_kind || "—"}`)))),
    el("h3", {}, "Neighbours"),
    near.length
      ? el("ul", { class: "near" }, near.map(({ node: n }) => el("li", {},
          el("a", { href: nodeLink(n) }, n.name),
          " ", el("span", { class: "muted" },
            n.type === "entity" ? n.kind : `event · ${tc(n.start_s ?? 0)}`))))
      : el("p", { class: "muted" }, "None."),
    drawing(title, near.map((x) => x.node)),
  );
}

// The entity in the middle, its neighbours on a circle around it, a line to each.
function drawing(name, nodes) {
  const svg = (tag, attrs, ...kids) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    node.append(...kids);
    return node;
  };
  const shown = nodes.slice(0, 12);
  const label = `${name} and ${shown.length} neighbours`;
  const box = { viewBox: "0 0 400 260", role: "img", "aria-label": label, class: "graph" };
  const root = svg("svg", box, svg("title", {}, label));
  const at = shown.map((_, i) => {
    const a = (2 * Math.PI * i) / Math.max(shown.length, 1) - Math.PI / 2;
    return [200 + 150 * Math.cos(a), 130 + 95 * Math.sin(a)];
  });
  for (const [x, y] of at) root.append(svg("line", { x1: 200, y1: 130, x2: x, y2: y }));
  const dot = (x, y, text, cls) => root.append(svg("g", { class: cls },
    svg("circle", { cx: x, cy: y, r: cls === "me" ? 10 : 6 }),
    svg("text", { x, y: y - 12, "text-anchor": "middle" }, text.slice(0, 24))));
  shown.forEach((n, i) => dot(...at[i], n.name, n.type));
  dot(200, 130, name, "me");
  return root;
}
