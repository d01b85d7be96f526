// The API as the page calls it: the session cookie authenticates, the CSRF token rides along.

let csrf = "";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function whoami() {
  const response = await fetch("/web/session", { credentials: "same-origin" });
  if (!response.ok || response.status === 204) return null; // 204: no session yet
  const who = await response.json();
  csrf = who.csrf;
  return who;
}

export async function signIn(token) {
  const who = await send("POST", "/web/session", { token });
  csrf = who.csrf;
  return who;
}

export async function signOut() {
  await send("DELETE", "/web/session");
  csrf = "";
}

export const csrfToken = () => csrf;
export const get = (path) => send("GET", path);
export const post = (path, body) => send("POST", path, body);

export async function send(method, path, body, extra = {}) {
  const headers = { "X-CSRF-Token": csrf, ...extra };
  const init = { method, headers, credentials: "same-origin" };
  if (typeof body === "string") {
    headers["Content-Type"] = "application/yaml";
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && path.startsWith("/api/")) {
    location.reload(); // the session is over: back to the sign-in; the caller waits for nothing
    return new Promise(() => {});
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// The record as it happens. EventSource reconnects by itself and sends Last-Event-ID, so the
// stream goes on where it stopped; one the browser gave up on (CLOSED) is opened again, from
// the last id it saw. `onstate` tells the page whether it is live.
export function stream(handlers, onstate, lastId = "") {
  const query = lastId ? `?last_event_id=${encodeURIComponent(lastId)}` : "";
  const source = new EventSource(`/api/events${query}`, { withCredentials: true });
  let seen = lastId;
  source.onopen = () => onstate(true);
  source.onerror = () => {
    onstate(false);
    if (source.readyState !== EventSource.CLOSED) return;
    // Given up: a cut the browser would not retry, or a session that ended (then sign in).
    setTimeout(async () => {
      let signedIn = true;
      try { signedIn = Boolean(await whoami()); } catch { /* the hub is away: try again */ }
      if (signedIn) stream(handlers, onstate, seen);
      else location.reload();
    }, 3000);
  };
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      if (event.lastEventId) seen = event.lastEventId;
      handler(JSON.parse(event.data), name);
    });
  }
  return source;
}
