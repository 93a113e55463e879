// The staff pages' shared module (HR and evaluator): the API wrapper, safe DOM building, the
// header with navigation and logout. No framework, no build step.
//
// Authentication is the HttpOnly `interviewer_staff` cookie set by POST /api/v1/auth/login; every
// request that changes something echoes the readable `interviewer_csrf` cookie in X-CSRF-Token
// (double submit). Text from the server is only ever inserted as text (textContent, DOM nodes):
// candidate answers are hostile input.

const API = "/api/v1";
const SVG_NS = "http://www.w3.org/2000/svg";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export class StaffApiError extends Error {
  constructor(status, detail) {
    super(detailText(detail) || `HTTP ${status}`);
    this.name = "StaffApiError";
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
      .map((d) => {
        if (!d || typeof d !== "object" || !("msg" in d)) return JSON.stringify(d);
        const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        return loc ? `${loc}: ${d.msg}` : String(d.msg);
      })
      .join("; ");
  }
  if (typeof detail === "object" && "message" in detail) return String(detail.message);
  return JSON.stringify(detail);
}

/** The value of a (readable) cookie, or "". */
export function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

/** The login page, coming back to this page afterwards. */
export function loginUrl(next = location.pathname + location.search) {
  return `/staff/login?next=${encodeURIComponent(next)}`;
}

/**
 * Call the API as the logged-in staff member. `path` is relative to /api/v1 (or absolute from
 * "/api/"). JSON in and out; 204 → null. A 401 sends the browser to the login page (and the
 * promise never settles); other failures throw StaffApiError with `status` and the server's `detail`.
 */
export async function api(path, { method = "GET", body = undefined, signal, redirect = true, headers: extra = {} } = {}) {
  const url = path.startsWith("/api/") ? path : API + path;
  const headers = { ...extra, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE.has(method.toUpperCase())) headers["X-CSRF-Token"] = cookie("interviewer_csrf");
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new StaffApiError(0, "The server could not be reached. Check your connection.");
  }
  if (res.status === 401 && redirect) {
    location.assign(loginUrl());
    return new Promise(() => {}); // the page is going away
  }
  if (!res.ok) {
    let detail = null;
    try {
      const data = await res.json();
      detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
    } catch {
      detail = res.statusText || null;
    }
    throw new StaffApiError(res.status, detail);
  }
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  return type.includes("json") ? res.json() : res.text();
}

/** The logged-in staff member ({email, role}); redirects to the login page when there is none. */
export const me = () => api("/auth/me");

// ---- DOM building --------------------------------------------------------------------------

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) throw new Error(`element(): no inline handlers (${key}); use addEventListener`);
    if (key === "class" || key === "className") node.setAttribute("class", String(value));
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "hidden" || key === "disabled" || key === "checked" || key === "selected" || key === "required")
      node[key] = Boolean(value);
    else if (key === "value") node.value = String(value);
    else if (key === "href" || key === "src" || key === "action") node.setAttribute(key, safeUrl(value));
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

/** Only same-origin paths and http(s) URLs become links; anything else (javascript:, data:) is "#". */
export function safeUrl(value) {
  const text = String(value);
  if (text.startsWith("/") && !text.startsWith("//")) return text;
  try {
    const url = new URL(text, location.origin);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : "#";
  } catch {
    return "#";
  }
}

/**
 * element("p", {class: "x"}, "text", child, [more]) — attributes set one by one (no inline `on*`,
 * URLs checked), children appended as nodes; strings become text nodes, never markup.
 */
export function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  return append(node, children);
}

/** The same for SVG elements (charts). */
export function svgElement(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k.startsWith("on")) throw new Error("svgElement(): no inline handlers");
    node.setAttribute(k, String(v));
  }
  return append(node, children);
}

/** Replace a container's content with the given children. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export const $ = (id) => document.getElementById(id);

/** Show a message in a status box (role=status / role=alert in the markup). */
export function showStatus(node, text, kind = "") {
  node.textContent = text || "";
  node.classList.toggle("error", kind === "error");
  node.classList.toggle("ok", kind === "ok");
  node.hidden = !text;
}

export function formatDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// ---- header, navigation, logout ------------------------------------------------------------

const NAV = [
  { href: "/review", text: "Sessions", roles: ["evaluator", "hr"] },
  { href: "/calibration", text: "Calibration", roles: ["evaluator", "hr"] },
  { href: "/hr", text: "Tracks", roles: ["hr"] },
  { href: "/hr/questions", text: "Questions", roles: ["hr"] },
  { href: "/hr/exercises", text: "Exercises", roles: ["hr"] },
  { href: "/hr/invites", text: "Invites", roles: ["hr"] },
];

/** A button that revokes the staff login (POST /auth/logout) and goes to the login page. */
export function logoutButton() {
  const button = element("button", { type: "button", class: "button staff-logout" }, "Log out");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("/auth/logout", { method: "POST", redirect: false });
    } catch {
      // already logged out or expired: the login page is where we go either way
    }
    location.assign("/staff/login");
  });
  return button;
}

/**
 * The staff header: brand, the links this role may use (the current one marked), who is logged
 * in, and the logout button. `user` is the result of me(). Prepended to <body>.
 */
export function staffHeader(user, { current = location.pathname } = {}) {
  const links = NAV.filter((item) => item.roles.includes(user.role)).map((item) => {
    const active = current === item.href || (item.href !== "/hr" && current.startsWith(`${item.href}/`));
    return element("a", { href: item.href, class: "staff-nav-link", "aria-current": active ? "page" : null }, item.text);
  });
  const header = element(
    "header",
    { class: "site-header staff-header" },
    element(
      "div",
      { class: "wrap staff-header-row" },
      element("a", { class: "brand", href: user.role === "hr" ? "/hr" : "/review" }, "interviewer · staff"),
      element("nav", { class: "staff-nav", "aria-label": "Staff pages" }, links),
      element(
        "div",
        { class: "staff-user" },
        element("span", { class: "muted staff-who" }, `${user.email} (${user.role})`),
        logoutButton(),
      ),
    ),
  );
  const existing = document.querySelector("header.staff-header");
  if (existing) existing.replaceWith(header);
  else document.body.prepend(header);
  return header;
}

/** Typical page start: who is logged in (or off to the login page), then the header. */
export async function staffPage() {
  const user = await me();
  staffHeader(user);
  document.body.dataset.role = user.role;
  return user;
}

/** Start a staff page: the header for whoever is logged in, then `load()`; a failure to load is
 * shown in `statusNode`. */
export async function startStaffPage(load, statusNode) {
  await staffPage();
  try {
    await load();
  } catch (err) {
    showStatus(statusNode, err.message, "error");
  }
}
