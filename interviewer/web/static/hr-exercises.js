// HR: the coding exercises — list, an editor (problems shown next to their fields). Saving runs the
// reference solution against all the tests in the sandbox on the server, so it takes a few seconds.
// Every text (statements, code) is shown as text only.
import { $, api, element, fill, formatDate, showStatus, startStaffPage } from "/static/staff.js";
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

const TRACKS = ["problem_solving", "python", "architecture"];
const FAILURES = ["empty_input", "wrong_edge_case", "wrong_answer", "timeout", "error"];
const form = $("editor-form");
const status = $("editor-status");
let saveHandler = null;

async function load() {
  const data = await api("/hr/exercises");
  fill(
    $("exercises-body"),
    data.exercises.map((e) => {
      const edit = element("button", { type: "button", class: "button" }, "Edit");
      edit.addEventListener("click", () => openExercise(e.id));
      return element(
        "tr",
        { dataset: { exercise: e.id } },
        element("td", {}, e.id),
        element("td", {}, e.track),
        element("td", {}, e.topic),
        element("td", { class: "num" }, String(e.difficulty)),
        element("td", { class: "question-text" }, e.title),
        element("td", { class: "num" }, String(e.tests)),
        element("td", {}, e.origin === "hr" ? `v${e.version} (HR)` : "shipped file"),
        element("td", {}, edit),
      );
    }),
  );
  showStatus($("page-status"), `${data.exercises.length} exercises.`);
}

const code = (value, rowsCount = 10) =>
  textarea(value, { rows: rowsCount, class: "code-input", spellcheck: "false", autocapitalize: "off", maxlength: 20000 });

const followUpRow = (fu, i) =>
  element(
    "div",
    {},
    field(`follow_ups.${i}.failure`, "When the submission shows", select(fu.failure, FAILURES.map((f) => [f, f]))),
    field(`follow_ups.${i}.text`, "Follow-up question", textarea(fu.text, { maxlength: 4000 })),
  );

const limitRow = (limit, i) =>
  element(
    "div",
    { class: "field-grid" },
    field(`time_limits.${i}.name`, "Test", input(limit.name, { maxlength: 80 })),
    field(`time_limits.${i}.seconds`, "Seconds", number(limit.seconds, { min: 0.1, max: 10, step: 0.1 })),
  );

const kindRow = (kind, i) =>
  element(
    "div",
    { class: "field-grid" },
    field(`test_kinds.${i}.name`, "Test", input(kind.name, { maxlength: 80 })),
    field(`test_kinds.${i}.kind`, "A failure means", select(kind.kind, FAILURES.map((f) => [f, f]))),
  );

const BLANK = {
  id: "",
  track: "problem_solving",
  topic: "",
  difficulty: 2,
  title: "",
  statement: "",
  starter: "def solve(items):\n    pass\n",
  examples: "from solution import solve\n\n\ndef test_example():\n    assert solve([]) == []\n",
  hidden: "from solution import solve\n\n\ndef test_hidden():\n    assert solve([]) == []\n",
  solution: "def solve(items):\n    return list(items)\n",
  time_limit_s: 2.0,
  time_limits: {},
  test_kinds: {},
  scale_sizes: [],
  key_points: [blankKeyPoint(), blankKeyPoint()],
  follow_ups: [{ failure: "wrong_answer", text: "" }],
};

const pairs = (object, value) => Object.entries(object || {}).map(([name, v]) => ({ name, [value]: v }));

async function openExercise(id) {
  const item = id ? await api(`/hr/exercises/${encodeURIComponent(id)}`) : null;
  const e = item ? item.exercise : structuredClone(BLANK);
  clearProblems(form);
  showStatus(status, "");
  const keyPoints = rows("key_points", "Key points", e.key_points, keyPointRow("What a strong discussion states"), {
    empty: blankKeyPoint,
  });
  const followUps = rows("follow_ups", "Follow-ups", e.follow_ups, followUpRow, {
    empty: () => ({ failure: "wrong_answer", text: "" }),
  });
  const limits = rows("time_limits", "Time limits per test", pairs(e.time_limits, "seconds"), limitRow, {
    empty: () => ({ name: "", seconds: 2 }),
  });
  const kinds = rows("test_kinds", "Test kinds", pairs(e.test_kinds, "kind"), kindRow, {
    empty: () => ({ name: "", kind: "wrong_edge_case" }),
  });
  fill(
    form,
    element(
      "div",
      { class: "field-grid" },
      field("id", "Id", input(e.id, { maxlength: 80, disabled: Boolean(id) }), { help: "lowercase, digits, '-'" }),
      field("track", "Track", select(e.track, TRACKS.map((t) => [t, t]))),
      field("topic", "Topic", input(e.topic, { maxlength: 80 })),
      field("difficulty", "Difficulty (1–3)", number(e.difficulty, { min: 1, max: 3, step: 1 })),
      field("time_limit_s", "Time limit per test (s)", number(e.time_limit_s, { min: 0.1, max: 10, step: 0.1 })),
    ),
    field("title", "Title", input(e.title, { maxlength: 80 })),
    field("statement", "Statement", textarea(e.statement, { maxlength: 4000, rows: 6 })),
    field("starter", "Starter code (the candidate's module `solution`)", code(e.starter, 6)),
    field("examples", "Examples (visible tests: test_* functions)", code(e.examples)),
    field("hidden", "Hidden tests (test_* functions; scale_*(n) functions are timed)", code(e.hidden, 14)),
    field("solution", "Reference solution (must pass every test)", code(e.solution)),
    field("scale_sizes", "Timing sizes (n for the scale_* functions)", input((e.scale_sizes || []).join(", ")), {
      help: "Comma-separated whole numbers, e.g. 1000, 10000, 100000",
    }),
    limits,
    kinds,
    keyPoints,
    followUps,
    editorActions("Save exercise"),
  );
  $("editor-title").textContent = id ? `Exercise ${id}` : "New exercise";
  fill($("versions"), versionItems(item ? item.versions : [], formatDate));
  const value = controlsOf(form);
  const entries = (group, key, read) =>
    Object.fromEntries(eachRow(group, (i) => [value(`${key}.${i}.name`).value.trim(), read(i)]));
  saveHandler = () => {
    const doc = {
      id: id || value("id").value.trim(),
      track: value("track").value,
      topic: value("topic").value.trim(),
      difficulty: num(value("difficulty")),
      title: value("title").value,
      statement: value("statement").value,
      starter: value("starter").value,
      examples: value("examples").value,
      hidden: value("hidden").value,
      solution: value("solution").value,
      time_limit_s: num(value("time_limit_s")),
      time_limits: entries(limits, "time_limits", (i) => num(value(`time_limits.${i}.seconds`))),
      test_kinds: entries(kinds, "test_kinds", (i) => value(`test_kinds.${i}.kind`).value),
      scale_sizes: list(value("scale_sizes")).map((n) => (/^\d+$/.test(n) ? Number(n) : n)),
      key_points: eachRow(keyPoints, readKeyPoint(value)),
      follow_ups: eachRow(followUps, (i) => ({
        failure: value(`follow_ups.${i}.failure`).value,
        text: value(`follow_ups.${i}.text`).value,
      })),
    };
    return saveItem("exercise", id, item && item.version, doc);
  };
  showEditor();
}

onSave(
  form,
  status,
  () => saveHandler,
  async (saved) => {
    await load();
    await openExercise(saved.exercise.id);
    showStatus(status, `Saved as version ${saved.version}; the next interview can give it.`, "ok");
  },
  { busy: "Checking the reference solution in the sandbox…" },
);

$("new-exercise").addEventListener("click", () => openExercise(null));

startStaffPage(load, $("page-status"));
