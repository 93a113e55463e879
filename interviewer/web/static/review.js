// The evaluator's list of interviews: filters (candidate label search, plan, status, score range,
// injection flag, dates) kept in the address bar, offset paging. Data from GET /api/v1/review/sessions.
import { $, api, element, fill, formatDate, showStatus, staffPage } from "/static/staff.js";

const LIMIT = 20;
const FILTERS = ["q", "plan", "status", "min_score", "max_score", "flagged", "needs_review", "from", "to"];
const form = $("filters");
const status = $("list-status");

function readQuery() {
  const params = new URLSearchParams(location.search);
  const query = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) query[name] = value;
  }
  const offset = Number.parseInt(params.get("offset") || "0", 10);
  query.offset = Number.isFinite(offset) && offset > 0 ? offset : 0;
  return query;
}

function writeForm(query) {
  for (const name of FILTERS) form.elements[name].value = query[name] || "";
}

function formQuery() {
  const query = {};
  for (const name of FILTERS) {
    const value = String(form.elements[name].value || "").trim();
    if (value) query[name] = value;
  }
  return query;
}

function toSearch(query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== "" && v != null && !(k === "offset" && !v)) params.set(k, v);
  return params.toString();
}

const score = (x) => (typeof x === "number" ? x.toFixed(2) : "—");

function row(item) {
  const href = `/review/${encodeURIComponent(item.session_id)}`;
  const flags = [];
  if (item.flagged) flags.push(element("span", { class: "badge flag" }, "injection"));
  if (item.needs_review) flags.push(element("span", { class: "badge" }, "needs review"));
  if (item.overridden) flags.push(element("span", { class: "badge" }, "overridden"));
  return element(
    "tr",
    { dataset: { session: item.session_id } },
    element("td", {}, formatDate(item.created_at)),
    element("td", { class: "candidate-label" }, item.candidate_label || "—"),
    element("td", {}, item.plan_id),
    element("td", {}, item.mode),
    element("td", {}, item.status),
    element("td", { class: "num" }, String(item.answers)),
    element("td", { class: "num" }, score(item.score)),
    element("td", { class: "num" }, score(item.effective_score)),
    element("td", {}, flags),
    element("td", { class: "preview" }, item.first_answer || ""),
    element("td", {}, element("a", { href, class: "open-review" }, "Review")),
  );
}

async function load() {
  const query = readQuery();
  writeForm(query);
  showStatus(status, "Loading…");
  let data;
  try {
    data = await api(`/review/sessions?${toSearch({ ...query, limit: LIMIT })}`);
  } catch (err) {
    showStatus(status, `Could not load the interviews: ${err.message}`, "error");
    $("sessions").hidden = true;
    return;
  }
  fill($("sessions-body"), data.items.map(row));
  $("sessions").hidden = data.items.length === 0;
  showStatus(status, data.items.length ? "" : "No interviews match these filters.");
  const first = data.items.length ? query.offset + 1 : 0;
  $("page-info").textContent = `${first}–${query.offset + data.items.length} of ${data.total}`;
  $("prev").disabled = query.offset <= 0;
  $("next").disabled = query.offset + data.items.length >= data.total;
}

function go(query) {
  const search = toSearch(query);
  history.pushState(null, "", search ? `?${search}` : location.pathname);
  load();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = formQuery();
  if (query.min_score && query.max_score && Number(query.min_score) > Number(query.max_score)) {
    showStatus(status, "“Score from” is above “Score to”.", "error");
    return;
  }
  go(query);
});
$("f-reset").addEventListener("click", () => go({}));
$("prev").addEventListener("click", () => go({ ...readQuery(), offset: Math.max(0, readQuery().offset - LIMIT) }));
$("next").addEventListener("click", () => go({ ...readQuery(), offset: readQuery().offset + LIMIT }));
window.addEventListener("popstate", load);

async function plans() {
  try {
    const data = await api("/plans");
    const list = Array.isArray(data) ? data : data.plans || [];
    const select = $("f-plan");
    for (const plan of list) select.append(element("option", { value: plan.id }, plan.title || plan.id));
  } catch {
    // the filter still works by typing the URL; the list shows regardless
  }
}

await staffPage();
await plans();
await load();
