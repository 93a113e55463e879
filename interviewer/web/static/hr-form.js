// Form helpers shared by the HR pages: labelled fields that carry their field path (as the API's
// problems name it, e.g. "key_points.0.text"), an error slot next to each, and the mapping of a
// 422's problems onto those slots. Everything is built with DOM nodes; text stays text.
import { $, api, element, showStatus } from "/static/staff.js";

let counter = 0;

/** An <input>/<textarea>/<select> wrapped with its label and error slot; returns the wrapper. */
export function field(path, label, control, { help = "", cls = "" } = {}) {
  counter += 1;
  const id = `f${counter}-${path.replace(/[^a-zA-Z0-9_-]/g, "-")}`;
  control.id = id;
  control.dataset.path = path;
  const error = element("p", { class: "field-error", id: `${id}-error`, hidden: true, dataset: { errorFor: path } });
  control.setAttribute("aria-describedby", `${id}-error`);
  return element(
    "div",
    { class: `field ${cls}`.trim() },
    element("label", { for: id }, label),
    control,
    help ? element("p", { class: "help" }, help) : null,
    error,
  );
}

export const input = (value, attrs = {}) =>
  element("input", { type: "text", value: value == null ? "" : String(value), ...attrs });

export const number = (value, attrs = {}) =>
  element("input", { type: "number", value: value == null ? "" : String(value), ...attrs });

export function textarea(value, attrs = {}) {
  const node = element("textarea", { rows: 3, ...attrs });
  node.value = value == null ? "" : String(value);
  return node;
}

export function select(value, options, attrs = {}) {
  return element(
    "select",
    attrs,
    options.map(([v, text]) => element("option", { value: v, selected: String(v) === String(value) }, text)),
  );
}

/** A number when the text is one, else the raw text (the server then names the field). */
export function num(node) {
  const text = node.value.trim();
  if (text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

export const list = (node) =>
  node.value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** An error message next to its field: the deepest slot whose path is a prefix of the problem's. */
export function showProblems(form, problems, status) {
  clearProblems(form);
  const general = [];
  for (const problem of problems) {
    const path = String(problem.field || "");
    const parts = path ? path.split(".") : [];
    let slot = null;
    while (parts.length && !slot) {
      slot = form.querySelector(`[data-error-for="${CSS.escape(parts.join("."))}"]`);
      parts.pop();
    }
    if (!slot) {
      general.push(path ? `${path}: ${problem.msg}` : problem.msg);
      continue;
    }
    slot.hidden = false;
    slot.textContent = slot.textContent ? `${slot.textContent} ${problem.msg}` : problem.msg;
    const control = form.querySelector(`[data-path="${CSS.escape(slot.dataset.errorFor)}"]`);
    if (control) control.setAttribute("aria-invalid", "true");
  }
  const text = general.length
    ? `Not saved: ${general.join(" · ")}`
    : "Not saved: fix the fields marked below.";
  showStatus(status, text, "error");
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

export function clearProblems(form) {
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const node of form.querySelectorAll('[aria-invalid="true"]')) node.removeAttribute("aria-invalid");
}

/** The problems of a failed save: 422 details as [{field, msg}], anything else as one message. */
export function problemsOf(err) {
  if (err && err.status === 422 && Array.isArray(err.detail)) {
    return err.detail.map((d) => ({ field: d.field || "", msg: String(d.msg || "invalid") }));
  }
  return [{ field: "", msg: err && err.message ? err.message : "the save failed" }];
}

/** A group of repeated rows ("Key points") with an Add button; `make(item, i)` builds a row. */
export function rows(path, title, items, make, { empty }) {
  const body = element("div", { class: "rows" });
  const error = element("p", { class: "field-error", hidden: true, dataset: { errorFor: path } });
  const add = element("button", { type: "button", class: "button" }, `Add ${title.toLowerCase().replace(/s$/, "")}`);
  const group = element("fieldset", { class: "row-group", dataset: { path } }, element("legend", {}, title), error, body, add);
  const renumber = () => {
    [...body.children].forEach((row, i) => {
      for (const node of row.querySelectorAll("[data-path]")) {
        node.dataset.path = node.dataset.path.replace(/^([a-z_]+)\.\d+/, `$1.${i}`);
      }
      for (const node of row.querySelectorAll("[data-error-for]")) {
        node.dataset.errorFor = node.dataset.errorFor.replace(/^([a-z_]+)\.\d+/, `$1.${i}`);
      }
    });
  };
  const append = (item) => {
    const i = body.children.length;
    const remove = element("button", { type: "button", class: "link-button" }, "Remove");
    const row = element("div", { class: "row card" }, make(item, i), remove);
    remove.addEventListener("click", () => {
      row.remove();
      renumber();
    });
    body.append(row);
  };
  for (const item of items) append(item);
  add.addEventListener("click", () => append(empty()));
  group.rowsBody = body;
  return group;
}

/** The controls inside `scope` by their field path: `control("key_points.0.text").value`. */
export const controlsOf = (scope) => (path) => scope.querySelector(`[data-path="${CSS.escape(path)}"]`);

/** One value per row of a `rows` group, read by the row's index. */
export const eachRow = (group, read) => [...group.rowsBody.children].map((_, i) => read(i));

/** A key point's row (id, weight 1–3, and what the text must state: `states`), for `rows`. */
export const keyPointRow = (states) => (kp, i) =>
  element(
    "div",
    { class: "field-grid" },
    field(`key_points.${i}.id`, "Key point id", input(kp.id, { maxlength: 80 })),
    field(`key_points.${i}.weight`, "Weight (1–3)", number(kp.weight, { min: 1, max: 3, step: 1 })),
    field(`key_points.${i}.text`, states, textarea(kp.text, { maxlength: 4000 }), { cls: "wide" }),
  );

export const blankKeyPoint = () => ({ id: "", text: "", weight: 2 });

/** A key point row's document, read through `control` (see `controlsOf`). */
export const readKeyPoint = (control) => (i) => ({
  id: control(`key_points.${i}.id`).value.trim(),
  text: control(`key_points.${i}.text`).value,
  weight: num(control(`key_points.${i}.weight`)),
});

/** The editor's buttons: save (submits the form), Close (hides the editor), and any `more`. */
export function editorActions(saveLabel, ...more) {
  const save = element("button", { type: "submit", class: "button primary" }, saveLabel);
  const close = element("button", { type: "button", class: "button" }, "Close");
  close.addEventListener("click", () => {
    $("editor").hidden = true;
  });
  return element("div", { class: "editor-actions" }, save, close, ...more);
}

export function showEditor() {
  $("editor").hidden = false;
  $("editor").scrollIntoView({ block: "start" });
}

/** A new item (POST /hr/{kind}s), or a new version of one (PUT with If-Match: the version shown,
 * so that someone else's save meanwhile is refused with 412, not overwritten). */
export function saveItem(kind, id, version, doc) {
  return id
    ? api(`/hr/${kind}s/${encodeURIComponent(id)}`, { method: "PUT", body: doc, headers: { "If-Match": `"${version}"` } })
    : api(`/hr/${kind}s`, { method: "POST", body: doc });
}

/** The editor's submit: `current()` gives the open item's save (null: none open); its result goes
 * to `saved`; a refusal's problems are shown next to their fields and the button is enabled again. */
export function onSave(form, status, current, saved, { busy = "Saving…" } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = current();
    if (!save) return;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    showStatus(status, busy);
    try {
      await saved(await save());
    } catch (err) {
      showProblems(form, problemsOf(err), status);
      button.disabled = false;
    }
  });
}

/** An item's versions as list items (v0: the shipped file). */
export const versionItems = (versions, formatDate) =>
  versions.map((v) =>
    element(
      "li",
      {},
      v.version === 0
        ? "v0 — the shipped file"
        : `v${v.version} — ${v.author}, ${formatDate(v.created_at)}${v.deleted ? " (deleted)" : ""}`,
    ),
  );
