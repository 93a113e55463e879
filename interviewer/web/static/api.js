// The candidate pages' only way to the server: JSON calls and the streamed answer (API v1).
// No framework, no build step. Every text that reaches the page goes through textContent.

const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detailText(detail) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status; // 0 = network error
    this.detail = detail;
  }
}

/** A readable sentence from a FastAPI `detail` (a string, or a list of validation errors). */
export function detailText(detail) {
  if (detail == null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => (d && typeof d === "object" && "msg" in d ? String(d.msg) : JSON.stringify(d)))
      .join("; ");
  }
  if (typeof detail === "object" && "message" in detail) return String(detail.message);
  return JSON.stringify(detail);
}

// ---- token storage -------------------------------------------------------------------------

const tokenKey = (sessionId) => `interviewer:token:${sessionId}`;

export function saveToken(sessionId, token) {
  try {
    localStorage.setItem(tokenKey(sessionId), token);
    return true;
  } catch {
    return false; // storage disabled (private mode, quota): the caller warns
  }
}

export function loadToken(sessionId) {
  try {
    return localStorage.getItem(tokenKey(sessionId));
  } catch {
    return null;
  }
}

/** The session id from a path like /interview/<id> or /interview/<id>/report. */
export function sessionIdFromPath(pathname = location.pathname) {
  const m = /^\/interview\/([^/]+)/.exec(pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

export function newClientMsgId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Fallback for non-secure contexts (plain http on a LAN address): RFC 4122 v4 from getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- JSON calls ----------------------------------------------------------------------------

async function readError(res) {
  let detail = null;
  try {
    const body = await res.json();
    detail = body && "detail" in body ? body.detail : body;
  } catch {
    detail = res.statusText || null;
  }
  const error = new ApiError(res.status, detail);
  const wait = Number.parseInt(res.headers.get("Retry-After") || "", 10);
  if (Number.isFinite(wait) && wait >= 0) error.retryAfter = wait; // seconds (429, 503)
  return error;
}

export async function request(path, { method = "GET", token = null, body = undefined, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "The server could not be reached. Check your connection.");
  }
  if (!res.ok) throw await readError(res);
  if (res.status === 204) return null;
  return res.json();
}

export const getPlans = () => request("/plans");

export const createSession = (body) => request("/sessions", { method: "POST", body });

export const getSession = (id, token) => request(`/sessions/${encodeURIComponent(id)}`, { token });

export const getReport = (id, token) => request(`/sessions/${encodeURIComponent(id)}/report`, { token });

const exercisePath = (id) => `/sessions/${encodeURIComponent(id)}/exercise`;

/** The open coding exercise and its runs so far; 404/409 when none is open. */
export const getExercise = (id, token) => request(exercisePath(id), { token });

/** Run code against the examples (`kind` "examples") or submit it ("submit"); idempotent per
 * clientMsgId. Resolves with {run, messages, state}. */
export const runExercise = (id, token, { code, kind, clientMsgId }) =>
  request(`${exercisePath(id)}/runs`, {
    method: "POST",
    token,
    body: { code, kind, client_msg_id: clientMsgId },
  });

// ---- the streamed answer -------------------------------------------------------------------

/** Parse a text/event-stream body incrementally; calls onEvent({event, data, id}) per event. */
export function sseParser(onEvent) {
  let buffer = "";
  let event = "message";
  let data = [];
  let id = null;
  const dispatch = () => {
    if (data.length) onEvent({ event, data: data.join("\n"), id });
    event = "message";
    data = [];
  };
  return (chunk, final = false) => {
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = final ? "" : lines.pop();
    for (const line of lines) {
      if (line === "") {
        dispatch();
        continue;
      }
      if (line.startsWith(":")) continue; // comment / keep-alive
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value || "message";
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (final) dispatch();
  };
}

/**
 * Send one answer. Streams the reply when the server supports it (handlers.onDelta / onMessage /
 * onState are called as events arrive) and falls back to the JSON response otherwise.
 * Resolves with {messages, state, streamed}. Rejects with ApiError (status 0 = network error,
 * safe to retry with the same clientMsgId).
 */
export async function sendAnswer(id, token, content, clientMsgId, handlers = {}) {
  const path = `${API}/sessions/${encodeURIComponent(id)}/messages`;
  const body = JSON.stringify({ content, client_msg_id: clientMsgId });
  const headers = {
    Authorization: `Bearer ${token}`,
    "Content-Type": "application/json",
  };
  let res;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { ...headers, Accept: "text/event-stream" },
      body,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "the server could not be reached");
  }
  if (!res.ok) throw await readError(res);

  const type = res.headers.get("Content-Type") || "";
  if (!type.includes("text/event-stream") || !res.body || !res.body.getReader) {
    const json = await res.json();
    return { messages: json.messages || [], state: json.state || null, streamed: false };
  }

  const messages = [];
  let state = null;
  let done = false;
  let failure = null;
  const parse = sseParser(({ event, data }) => {
    let payload = {};
    try {
      payload = data ? JSON.parse(data) : {};
    } catch {
      return; // a malformed event is skipped; the final transcript reload repairs the view
    }
    if (event === "accepted") handlers.onAccepted?.(payload);
    else if (event === "delta") handlers.onDelta?.(payload);
    else if (event === "message") {
      messages.push(payload);
      handlers.onMessage?.(payload);
    } else if (event === "state") {
      state = payload;
      handlers.onState?.(payload);
    } else if (event === "error") failure = new ApiError(500, payload.detail || "The interviewer failed.");
    else if (event === "done") done = true;
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      parse(decoder.decode(value, { stream: true }));
    }
    parse(decoder.decode(), true);
  } catch {
    // The stream broke after the answer was accepted: the caller reloads the transcript.
    return { messages, state, streamed: true, interrupted: true };
  }
  if (failure) throw failure;
  return { messages, state, streamed: true, interrupted: !done };
}

/** A pause of `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `call()`, called again when the connection dropped (an `ApiError` with status 0), up to
 * `retries` more times, waiting 0.8 s, then 1.6 s... Callers retry only requests that are safe to
 * repeat: they carry a `client_msg_id`, and the server answers a repeat with the stored result.
 */
export async function withNetworkRetries(call, retries = 2) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 0 && attempt < retries)) throw err;
      await sleep(800 * (attempt + 1));
    }
  }
}
