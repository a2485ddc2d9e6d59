// api.js: every call to the public /v1 API goes through here, so the key handling lives
// in one place: a 401 opens the key prompt and the call is retried with the key; the key
// is kept in sessionStorage only, sent as "Authorization: Bearer" on fetch calls, and set
// as the session cookie vidkg_key (path /v1, SameSite=Strict), which the server honours
// for GET only, so <video src>, <img src> and EventSource can read media and progress.

const STORE = "vidkg_key";
const KEY_SHAPE = /^[A-Za-z0-9_.~-]{8,200}$/;
let asking = null; // the open prompt's promise, shared by calls that got a 401 meanwhile

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function hasKey() {
  return Boolean(sessionStorage.getItem(STORE));
}

function setKey(key) {
  if (key) sessionStorage.setItem(STORE, key);
  else sessionStorage.removeItem(STORE);
  const life = key ? "" : "; max-age=0";
  document.cookie = `vidkg_key=${key}; path=/v1; SameSite=Strict${life}`;
}

export function forgetKey() {
  setKey("");
}

// The cookie goes with the browser session; the stored key outlives a reload: re-set it.
export function restoreCookie() {
  const key = sessionStorage.getItem(STORE);
  if (key) setKey(key);
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// Call the API: JSON in (json) or a FormData (form), JSON out; non-2xx throws ApiError.
export async function api(path, { method = "GET", json, form, signal } = {}) {
  for (;;) {
    const headers = {};
    const key = sessionStorage.getItem(STORE);
    if (key) headers.Authorization = `Bearer ${key}`;
    let body = form;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    const response = await fetch(path, { method, headers, body, signal });
    if (response.status === 401) {
      await askKey(await problem(response));
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, await problem(response));
    return response.status === 204 ? null : response.json();
  }
}

// Open the key prompt; resolves once a key is entered, rejects if it is dismissed.
export function askKey(reason) {
  asking ??= new Promise((resolve, reject) => {
    const dialog = document.getElementById("key-dialog");
    const form = dialog.querySelector("form");
    const input = dialog.querySelector("input");
    const note = dialog.querySelector(".key-note");
    const refused = `The key was refused: ${reason}.`;
    const first = "This server needs an API key (vidkg apikeys create).";
    note.textContent = hasKey() ? refused : first;
    input.value = "";
    const done = (ok) => {
      form.onsubmit = dialog.oncancel = null;
      asking = null;
      if (dialog.open) dialog.close();
      ok ? resolve() : reject(new ApiError(401, reason));
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!KEY_SHAPE.test(key)) {
        note.textContent = "That does not look like a key (vk_… from vidkg apikeys create).";
        return;
      }
      setKey(key);
      done(true);
    };
    dialog.oncancel = () => done(false);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

// Videos by id (file name, container, duration...), fetched once per page load.
const videos = new Map();
export function video(id) {
  id = Number(id);
  if (!videos.has(id)) {
    const pending = api(`/v1/videos/${id}`);
    pending.catch(() => videos.delete(id));
    videos.set(id, pending);
  }
  return videos.get(id);
}

export function forgetVideos() {
  videos.clear();
}
