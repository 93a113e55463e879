// The coding-exercise runs of an interview, as the report and the review page show them: each run
// (examples or submission) with its test results, the submitted code, and the timing curve on
// growing inputs (an SVG line chart with a table of the same figures). Code, test names and
// messages are inserted as text, never as HTML; no inline style (the CSP stays strict).
import { el, plural, svg } from "/static/dom.js";

const number = (x) => (typeof x === "number" && Number.isFinite(x) ? x : Number(x) || 0);

/** One line saying what a run showed: "Submission 2: 5 of 7 tests passed — 1 failed, 1 error". */
export function runSummary(run, label) {
  const passed = number(run.passed);
  const failed = number(run.failed);
  const errors = number(run.errors);
  const total = Array.isArray(run.tests) && run.tests.length ? run.tests.length : passed + failed + errors;
  let text = `${label}: ${passed} of ${plural(total, "test")} passed`;
  const bad = [];
  if (failed) bad.push(`${failed} failed`);
  if (errors) bad.push(plural(errors, "error"));
  if (run.timed_out) bad.push("a test ran over its time limit");
  if (bad.length) text += ` — ${bad.join(", ")}`;
  if (run.duration_ms != null) text += ` (${Math.round(number(run.duration_ms))} ms)`;
  return text;
}

/**
 * The timing curve: milliseconds of CPU against the input size n, for the first timed function
 * (one line), with both axes from 0. `timings`: [{name, n, cpu_ms}].
 */
export function timingCurve(timings) {
  const rows = (Array.isArray(timings) ? timings : []).filter((t) => t.name === timings[0].name);
  const figure = el("figure", "timing-curve");
  figure.append(el("figcaption", null, `Timing on growing inputs (${rows[0].name})`));
  const W = 320;
  const H = 140;
  const pad = { left: 48, right: 12, top: 10, bottom: 28 };
  const maxN = Math.max(...rows.map((r) => number(r.n)), 1);
  const maxMs = Math.max(...rows.map((r) => number(r.cpu_ms)), 1);
  const x = (n) => pad.left + (number(n) / maxN) * (W - pad.left - pad.right);
  const y = (ms) => H - pad.bottom - (number(ms) / maxMs) * (H - pad.top - pad.bottom);
  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "timing-chart",
    role: "img",
    "aria-label": `CPU time against input size: ${rows.map((r) => `n=${r.n}: ${number(r.cpu_ms).toFixed(1)} ms`).join(", ")}`,
  });
  chart.append(
    svg("line", { x1: pad.left, y1: H - pad.bottom, x2: W - pad.right, y2: H - pad.bottom, class: "axis" }),
    svg("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: H - pad.bottom, class: "axis" }),
    svg("text", { x: pad.left - 6, y: pad.top + 8, class: "tick", "text-anchor": "end" }, `${Math.round(maxMs)} ms`),
    svg("text", { x: pad.left - 6, y: H - pad.bottom, class: "tick", "text-anchor": "end" }, "0"),
    svg("text", { x: W - pad.right, y: H - 8, class: "tick", "text-anchor": "end" }, `n = ${maxN}`),
    svg("polyline", { points: rows.map((r) => `${x(r.n).toFixed(1)},${y(r.cpu_ms).toFixed(1)}`).join(" "), class: "curve" }),
  );
  for (const r of rows) chart.append(svg("circle", { cx: x(r.n).toFixed(1), cy: y(r.cpu_ms).toFixed(1), r: 3, class: "point" }));
  figure.append(chart);
  const table = el("table", "timing-table");
  const head = el("tr");
  head.append(el("th", null, "n"), el("th", null, "CPU ms"));
  table.append(head);
  for (const r of rows) {
    const tr = el("tr");
    tr.append(el("td", null, String(r.n)), el("td", null, number(r.cpu_ms).toFixed(1)));
    table.append(tr);
  }
  figure.append(table);
  return figure;
}

function testList(tests) {
  const list = el("ul", "run-tests");
  for (const t of tests) {
    const li = el("li", t.ok ? "test-ok" : "test-bad");
    const mark = el("span", "test-mark", t.ok ? "✓" : "✗");
    mark.setAttribute("aria-hidden", "true");
    li.append(mark, el("span", "visually-hidden", t.ok ? "passed: " : "failed: "), el("span", "test-name", t.name || "test"));
    if (t.message) li.append(el("pre", "test-message", t.message));
    list.append(li);
  }
  return list;
}

/** One run as an <article>: its summary, the crash if any, the tests, the code, the timing curve. */
export function runCard(run, label) {
  const card = el("article", "run-card");
  const ok = !number(run.failed) && !number(run.errors) && !run.timed_out && !run.crash;
  card.append(el("h4", `run-summary ${ok ? "run-ok" : "run-bad"}`, runSummary(run, label)));
  if (run.crash) card.append(el("p", "run-note", `The run ended early: ${run.crash}`));
  const tests = Array.isArray(run.tests) ? run.tests : [];
  if (tests.length) {
    const details = el("details", "run-details");
    details.append(el("summary", null, `Test results (${tests.length})`), testList(tests));
    card.append(details);
  }
  if (run.code) {
    const details = el("details", "run-code");
    details.append(el("summary", null, "Code"));
    const pre = el("pre", "code-block");
    pre.append(el("code", null, run.code));
    details.append(pre);
    card.append(details);
  }
  if (Array.isArray(run.timings) && run.timings.length >= 2) card.append(timingCurve(run.timings));
  return card;
}

/** Every run of the interview, grouped by exercise, labelled "Examples 1", "Submission 2"... */
export function runsList(runs) {
  const root = el("div", "exercise-runs");
  const byExercise = new Map();
  for (const r of Array.isArray(runs) ? runs : []) {
    if (r.status && r.status !== "done") continue;
    if (!byExercise.has(r.exercise_id)) byExercise.set(r.exercise_id, []);
    byExercise.get(r.exercise_id).push(r);
  }
  for (const [exerciseId, list] of byExercise) {
    const section = el("section", "exercise-run-group");
    section.append(el("h3", null, `Exercise ${String(exerciseId).replace(/[-_]+/g, " ")}`));
    const counts = { examples: 0, submit: 0 };
    for (const r of list) {
      counts[r.kind] = (counts[r.kind] || 0) + 1;
      section.append(runCard(r, `${r.kind === "submit" ? "Submission" : "Examples"} ${counts[r.kind]}`));
    }
    root.append(section);
  }
  return root;
}
