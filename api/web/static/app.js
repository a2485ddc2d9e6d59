// app.js: the entry point. Asks who the key is (/v1/me, which opens the key prompt on a
// 401), then routes on the URL's hash: #/search?q=, #/ask?q=, #/video/3?t=14.6,
// #/entities?kind=&name=&id=, #/library, #/sql. Moving within the same video seeks
// instead of reloading the page.

import { api, forgetKey, forgetVideos, hasKey, restoreCookie } from "./api.js";
import { clear, el, errorBox, parseHash } from "./dom.js";
import { entities } from "./entities.js";
import * as pages from "./pages.js";
import * as video from "./video.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
let me = null;
let shown = null; // {page, id, cleanup, seek}

async function whoAmI() {
  me = await api("/v1/me");
  const forget = { type: "button", class: "link", onclick: signOutNow };
  const signOut = me.open || !hasKey() ? null : el("button", forget, "Forget key");
  const name = me.open ? "open server" : `key “${me.name}” (${me.scopes.join(", ")})`;
  clear(who, name, " ", signOut);
}

function signOutNow() {
  forgetKey();
  forgetVideos();
  location.reload();
}

function route() {
  const r = parseHash();
  for (const a of document.querySelectorAll("nav a")) {
    if (a.hash === `#/${r.page}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (shown && shown.page === "video" && r.page === "video" && shown.id === r.id) {
    shown.seek(Number(r.params.get("t") || 0));
    return;
  }
  shown?.cleanup?.();
  shown = null;
  const all = { ...pages, entities };
  const names = ["search", "ask", "entities", "library", "sql"];
  const page = names.includes(r.page) ? all[r.page] : null;
  if (r.page === "video") {
    const ctl = video.render(main, r, me);
    shown = { page: "video", id: r.id, cleanup: () => ctl.stop(), seek: (t) => ctl.seek(t) };
  } else if (page) {
    shown = { page: r.page, cleanup: page(main, r, me) };
  } else {
    const home = el("a", { href: "#/search" }, "search");
    clear(main, el("h1", {}, "Not found"), el("p", {}, "No such page; try ", home, "."));
  }
  document.title = `vidkg · ${r.page}`;
}

// A link to where we already are (a chip clicked twice) still seeks.
document.addEventListener("click", (event) => {
  const a = event.target.closest?.('a[href^="#/"]');
  if (a && a.hash === location.hash && !event.ctrlKey && !event.metaKey && event.button === 0) {
    event.preventDefault();
    route();
  }
});

// "/" focuses the search box from anywhere (but not while typing).
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.target.closest("input, textarea, select, dialog")) return;
  event.preventDefault();
  const box = document.getElementById("q");
  if (box) box.focus();
  else location.hash = "#/search";
});

async function boot() {
  restoreCookie();
  try {
    await whoAmI();
  } catch (error) {
    const again = el("button", { type: "button", onclick: () => location.reload() }, "Try again");
    clear(main, errorBox(error), again);
    return;
  }
  window.addEventListener("hashchange", route);
  route();
}

boot();
