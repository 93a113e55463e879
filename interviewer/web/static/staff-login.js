// The staff login page: POST /api/v1/auth/login sets the HttpOnly login cookie and the CSRF
// cookie; then on to `next` (only a same-origin path) or the role's home page.
import { $, api, showStatus } from "/static/staff.js";

const HOME = { evaluator: "/review", hr: "/hr" };

/** `next` if it is a path on this site (not "//host", not a URL, not the login page itself). */
export function safeNext(raw) {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return null;
  try {
    const url = new URL(raw, location.origin);
    if (url.origin !== location.origin || url.pathname.startsWith("/staff/login")) return null;
    return url.pathname + url.search + url.hash;
  } catch {
    return null;
  }
}

const form = $("login-form");
const status = $("login-status");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  if (!email || !password) {
    showStatus(status, "Enter your email and password.", "error");
    return;
  }
  $("login-button").disabled = true;
  showStatus(status, "Logging in…");
  try {
    const result = await api("/auth/login", { method: "POST", body: { email, password }, redirect: false });
    const next = safeNext(new URLSearchParams(location.search).get("next"));
    location.assign(next || HOME[result.role] || "/review");
  } catch (err) {
    showStatus(status, err.status === 401 ? "Wrong email or password." : err.message, "error");
    $("login-button").disabled = false;
    $("password").focus();
  }
});
