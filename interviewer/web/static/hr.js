// HR: tracks and interview plans — the lists, an editor for one item, its version history.
// GET/PUT /api/v1/hr/tracks/{id}, GET/POST/PUT /api/v1/hr/plans[/{id}]. A refused save (422)
// shows each problem next to its field.
import { $, api, element, fill, formatDate, showStatus, startStaffPage } from "/static/staff.js";
import {
  clearProblems,
  controlsOf,
  eachRow,
  editorActions,
  field,
  input,
  list,
  num,
  number,
  problemsOf,
  rows,
  select,
  showEditor,
  showProblems,
} from "/static/hr-form.js";

const TRACKS = ["architecture", "python", "problem_solving"];
const form = $("editor-form");
const status = $("editor-status");

function versionText(item) {
  return item.origin === "hr" ? `v${item.version} (HR)` : "shipped file";
}

function editButton(label, onClick) {
  const button = element("button", { type: "button", class: "button", "aria-label": label }, "Edit");
  button.addEventListener("click", onClick);
  return button;
}

async function load() {
  const [tracks, plans] = await Promise.all([api("/hr/tracks"), api("/hr/plans")]);
  fill(
    $("tracks-body"),
    tracks.tracks.map((t) =>
      element(
        "tr",
        { dataset: { track: t.id } },
        element("th", { scope: "row" }, t.title, element("br"), element("span", { class: "muted" }, t.id)),
        element("td", { class: "num" }, String(t.questions)),
        element("td", { class: "num" }, String(t.follow_up_budget)),
        element("td", {}, `${t.difficulty.min}–${t.difficulty.max} (start ${t.difficulty.start})`),
        element("td", {}, t.topics.length ? t.topics.join(", ") : "all"),
        element("td", { class: "num" }, String(t.pass_threshold)),
        element("td", {}, versionText(t)),
        element("td", {}, editButton(`Edit track ${t.id}`, () => openTrack(t.id))),
      ),
    ),
  );
  fill(
    $("plans-body"),
    plans.plans.map((p) =>
      element(
        "tr",
        { dataset: { plan: p.id } },
        element("th", { scope: "row" }, p.title, element("br"), element("span", { class: "muted" }, p.id)),
        element("td", {}, p.tracks.join(", ")),
        element("td", {}, p.mode),
        element("td", {}, versionText(p)),
        element("td", {}, editButton(`Edit plan ${p.id}`, () => openPlan(p.id))),
      ),
    ),
  );
}

function showVersions(item) {
  fill(
    $("versions"),
    (item ? item.versions : []).map((v) =>
      element(
        "li",
        {},
        v.version === 0 ? "v0 — the shipped file" : `v${v.version} — ${v.author}, ${formatDate(v.created_at)}`,
      ),
    ),
  );
}

let saveHandler = null;
let reopen = null;

/** The version an edit starts from, sent back on save (the server refuses a stale one with 412). */
const ifMatch = (item) => (item ? { "If-Match": `"${item.version}"` } : {});

function openEditor(title, children, onSave, item, again) {
  clearProblems(form);
  showStatus(status, "");
  $("editor-title").textContent = title;
  fill(form, children, editorActions("Save new version"));
  saveHandler = onSave;
  reopen = again;
  showVersions(item);
  showEditor();
  const first = form.querySelector("input, textarea, select");
  if (first) first.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!saveHandler) return;
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  showStatus(status, "Saving…");
  try {
    const saved = await saveHandler();
    await load();
    await reopen(saved);
    showStatus(status, `Saved as version ${saved.version}. New interviews use it from now on.`, "ok");
  } catch (err) {
    showProblems(form, problemsOf(err), status);
  } finally {
    button.disabled = false;
  }
});

// ---- a track ----------------------------------------------------------------------------------

function criterionRow(c, i) {
  const p = `rubric.${i}`;
  return element(
    "div",
    {},
    element(
      "div",
      { class: "field-grid" },
      field(`${p}.id`, "Criterion id", input(c.id, { maxlength: 80 })),
      field(`${p}.title`, "Title", input(c.title, { maxlength: 200 })),
      field(`${p}.weight`, "Weight (0–1)", number(c.weight, { min: 0, max: 1, step: 0.05 })),
    ),
    [1, 2, 3, 4, 5].map((level) =>
      field(`${p}.levels.${level}`, `Level ${level}`, input((c.levels || {})[level] ?? "", { maxlength: 4000 })),
    ),
    element("p", { class: "field-error", hidden: true, dataset: { errorFor: `${p}.levels` } }),
  );
}

async function openTrack(id) {
  const item = await api(`/hr/tracks/${encodeURIComponent(id)}`);
  const t = item.track;
  const rubric = rows("rubric", "Rubric criteria", t.rubric, criterionRow, {
    empty: () => ({ id: "", title: "", weight: "", levels: {} }),
  });
  const children = [
    field("title", "Title", input(t.title, { maxlength: 200 })),
    element(
      "div",
      { class: "field-grid" },
      field("questions", "Main questions (3–5)", number(t.questions, { min: 3, max: 5, step: 1 })),
      field("follow_up_budget", "Follow-ups per question (0–3)", number(t.follow_up_budget, { min: 0, max: 3, step: 1 })),
      field("difficulty.start", "Start difficulty", number(t.difficulty.start, { min: 1, max: 3, step: 1 })),
      field("difficulty.min", "Lowest difficulty", number(t.difficulty.min, { min: 1, max: 3, step: 1 })),
      field("difficulty.max", "Highest difficulty", number(t.difficulty.max, { min: 1, max: 3, step: 1 })),
      field("pass_threshold", "Pass threshold (1–5)", number(t.pass_threshold, { min: 1, max: 5, step: 0.1 })),
    ),
    element("p", { class: "field-error", hidden: true, dataset: { errorFor: "difficulty" } }),
    field("topics", "Topics", input(t.topics.join(", ")), { help: "Comma-separated; empty asks every topic of the track." }),
    rubric,
  ];
  openEditor(`Track: ${t.title}`, children, () => {
    const value = controlsOf(form);
    const doc = {
      kind: "track",
      id: t.id,
      title: value("title").value,
      questions: num(value("questions")),
      follow_up_budget: num(value("follow_up_budget")),
      difficulty: {
        start: num(value("difficulty.start")),
        min: num(value("difficulty.min")),
        max: num(value("difficulty.max")),
      },
      topics: list(value("topics")),
      topic_titles: t.topic_titles || {}, // not edited here: kept as they are
      pass_threshold: num(value("pass_threshold")),
      rubric: eachRow(rubric, (i) => {
        const levels = {};
        for (const level of [1, 2, 3, 4, 5]) levels[level] = value(`rubric.${i}.levels.${level}`).value;
        return {
          id: value(`rubric.${i}.id`).value,
          title: value(`rubric.${i}.title`).value,
          weight: num(value(`rubric.${i}.weight`)),
          levels,
        };
      }),
    };
    // based on the version shown: someone else's save meanwhile is refused (412), not overwritten
    return api(`/hr/tracks/${encodeURIComponent(t.id)}`, { method: "PUT", body: doc, headers: ifMatch(item) });
  }, item, (saved) => openTrack(saved.track.id));
}

// ---- a plan -----------------------------------------------------------------------------------

async function openPlan(id) {
  const item = id ? await api(`/hr/plans/${encodeURIComponent(id)}`) : null;
  const p = item ? item.plan : { id: "", title: "", tracks: [], mode: "practice" };
  const checks = element(
    "div",
    { class: "checks", dataset: { path: "tracks" } },
    TRACKS.map((t) =>
      element("label", {}, element("input", { type: "checkbox", value: t, checked: p.tracks.includes(t) }), ` ${t}`),
    ),
  );
  const children = [
    field("id", "Plan id", input(p.id, { maxlength: 80, disabled: Boolean(id) }), {
      help: "Lowercase letters, digits and '-'; cannot change later.",
    }),
    field("title", "Title", input(p.title, { maxlength: 200 })),
    element(
      "fieldset",
      {},
      element("legend", {}, "Tracks, in interview order"),
      checks,
      element("p", { class: "field-error", hidden: true, dataset: { errorFor: "tracks" } }),
    ),
    field("mode", "Mode", select(p.mode, [["practice", "practice (feedback after each question)"], ["assessment", "assessment"]])),
  ];
  openEditor(id ? `Plan: ${p.title}` : "New plan", children, () => {
    const value = controlsOf(form);
    const doc = {
      kind: "plan",
      id: id || value("id").value.trim(),
      title: value("title").value,
      tracks: [...checks.querySelectorAll("input:checked")].map((n) => n.value),
      mode: value("mode").value,
    };
    return id
      ? api(`/hr/plans/${encodeURIComponent(id)}`, { method: "PUT", body: doc, headers: ifMatch(item) })
      : api("/hr/plans", { method: "POST", body: doc });
  }, item, (saved) => openPlan(saved.plan.id));
}

$("new-plan").addEventListener("click", () => openPlan(null));

startStaffPage(load, $("page-status"));
