// HR: the question bank — list, an editor (problems shown next to their fields), delete of HR's
// version, and the bank as a zip (export link, import form). Question text is shown as text only.
import { $, api, cookie, element, fill, formatDate, showStatus, StaffApiError, startStaffPage } from "/static/staff.js";
import {
  blankKeyPoint,
  clearProblems,
  controlsOf,
  eachRow,
  editorActions,
  field,
  input,
  keyPointRow,
  list,
  num,
  number,
  onSave,
  readKeyPoint,
  rows,
  saveItem,
  select,
  showEditor,
  textarea,
  versionItems,
} from "/static/hr-form.js";

const TRACKS = ["architecture", "python", "problem_solving"];
const form = $("editor-form");
const status = $("editor-status");
let saveHandler = null;

async function load() {
  const track = $("f-track").value;
  const data = await api(`/hr/questions${track ? `?track=${encodeURIComponent(track)}` : ""}`);
  fill(
    $("questions-body"),
    data.questions.map((q) => {
      const edit = element("button", { type: "button", class: "button" }, "Edit");
      edit.addEventListener("click", () => openQuestion(q.id));
      return element(
        "tr",
        { dataset: { question: q.id } },
        element("td", {}, q.id),
        element("td", {}, q.track),
        element("td", {}, q.topic),
        element("td", { class: "num" }, String(q.difficulty)),
        element("td", { class: "question-text" }, q.question),
        element("td", {}, q.origin === "hr" ? `v${q.version} (HR)` : "shipped file"),
        element("td", {}, edit),
      );
    }),
  );
  showStatus($("page-status"), `${data.questions.length} questions.`);
}

const followUpRow = (fu, i) =>
  element(
    "div",
    {},
    field(`follow_ups.${i}.key_point`, "Probes key point (id)", input(fu.key_point, { maxlength: 80 })),
    field(`follow_ups.${i}.text`, "Follow-up question", textarea(fu.text, { maxlength: 4000 })),
  );

const pitfallRow = (p, i) =>
  element(
    "div",
    {},
    field(`pitfalls.${i}.id`, "Pitfall id", input(p.id, { maxlength: 80 })),
    field(`pitfalls.${i}.claim`, "The wrong claim", textarea(p.claim, { maxlength: 4000 })),
    field(`pitfalls.${i}.why`, "Why it is wrong", textarea(p.why, { maxlength: 4000 })),
  );

const BLANK = {
  id: "",
  track: "python",
  topic: "",
  difficulty: 2,
  question: "",
  key_points: [blankKeyPoint()],
  follow_ups: [{ key_point: "", text: "" }],
  pitfalls: [],
  model_answer: "",
  references: [],
};

async function openQuestion(id) {
  const item = id ? await api(`/hr/questions/${encodeURIComponent(id)}`) : null;
  const q = item ? item.question : structuredClone(BLANK);
  clearProblems(form);
  showStatus(status, "");
  const keyPoints = rows("key_points", "Key points", q.key_points, keyPointRow("What a strong answer states"), {
    empty: blankKeyPoint,
  });
  const followUps = rows("follow_ups", "Follow-ups", q.follow_ups, followUpRow, {
    empty: () => ({ key_point: "", text: "" }),
  });
  const pitfalls = rows("pitfalls", "Pitfalls", q.pitfalls, pitfallRow, {
    empty: () => ({ id: "", claim: "", why: "" }),
  });
  const more = [];
  if (item && item.origin === "hr") {
    const remove = element("button", { type: "button", class: "button" }, "Delete HR version");
    remove.addEventListener("click", () => deleteQuestion(id));
    more.push(remove);
  }
  fill(
    form,
    element(
      "div",
      { class: "field-grid" },
      field("id", "Id", input(q.id, { maxlength: 80, disabled: Boolean(id) }), { help: "lowercase, digits, '-'" }),
      field("track", "Track", select(q.track, TRACKS.map((t) => [t, t]))),
      field("topic", "Topic", input(q.topic, { maxlength: 80 })),
      field("difficulty", "Difficulty (1–3)", number(q.difficulty, { min: 1, max: 3, step: 1 })),
    ),
    field("question", "Question", textarea(q.question, { maxlength: 4000, rows: 3 })),
    keyPoints,
    followUps,
    pitfalls,
    field("model_answer", "Model answer", textarea(q.model_answer, { maxlength: 4000, rows: 6 })),
    field("references", "References (article slugs)", input(q.references.join(", ")), {
      help: "Comma-separated file names of knowledge/articles without .md",
    }),
    editorActions("Save question", ...more),
  );
  $("editor-title").textContent = id ? `Question ${id}` : "New question";
  fill($("versions"), versionItems(item ? item.versions : [], formatDate));
  const value = controlsOf(form);
  saveHandler = () => {
    const doc = {
      id: id || value("id").value.trim(),
      track: value("track").value,
      topic: value("topic").value.trim(),
      difficulty: num(value("difficulty")),
      question: value("question").value,
      key_points: eachRow(keyPoints, readKeyPoint(value)),
      follow_ups: eachRow(followUps, (i) => ({
        key_point: value(`follow_ups.${i}.key_point`).value.trim(),
        text: value(`follow_ups.${i}.text`).value,
      })),
      pitfalls: eachRow(pitfalls, (i) => ({
        id: value(`pitfalls.${i}.id`).value.trim(),
        claim: value(`pitfalls.${i}.claim`).value,
        why: value(`pitfalls.${i}.why`).value,
      })),
      model_answer: value("model_answer").value,
      references: list(value("references")),
    };
    return saveItem("question", id, item && item.version, doc);
  };
  showEditor();
}

onSave(form, status, () => saveHandler, async (saved) => {
  await load();
  await openQuestion(saved.question.id);
  showStatus(status, `Saved as version ${saved.version}; the next interview can ask it.`, "ok");
});

async function deleteQuestion(id) {
  try {
    const result = await api(`/hr/questions/${encodeURIComponent(id)}`, { method: "DELETE" });
    await load();
    if (result.current === "seed") {
      await openQuestion(id);
      showStatus(status, "HR's version deleted; the shipped question is current again.", "ok");
    } else {
      $("editor").hidden = true;
      showStatus($("page-status"), `Question ${id} deleted.`, "ok");
    }
  } catch (err) {
    showStatus(status, err.message, "error");
  }
}

$("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("import-file").files[0];
  const box = $("import-status");
  if (!file) {
    showStatus(box, "Choose a zip file first.", "error");
    return;
  }
  showStatus(box, "Importing…");
  try {
    const res = await fetch("/api/v1/hr/bank/import", {
      method: "POST",
      headers: { "Content-Type": "application/zip", "X-CSRF-Token": cookie("interviewer_csrf") },
      body: await file.arrayBuffer(),
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new StaffApiError(res.status, data.detail);
    const parts = Object.entries(data.imported).map(
      ([kind, n]) => `${kind}: ${n.added} added, ${n.updated} updated, ${n.unchanged} unchanged`,
    );
    showStatus(box, `Imported — ${parts.join("; ")}.`, "ok");
    await load();
  } catch (err) {
    const details = err && Array.isArray(err.detail) ? err.detail : [{ msg: err.message }];
    const text = details.map((d) => [d.file, d.field, d.msg].filter(Boolean).join(": ")).join(" · ");
    showStatus(box, `Not imported: ${text}`, "error");
  }
});

$("f-track").addEventListener("change", () => load());
$("new-question").addEventListener("click", () => openQuestion(null));

startStaffPage(load, $("page-status"));
