// The transcript review of one interview (GET /api/v1/review/sessions/{id}): every question with
// its turns, the reason of each follow-up (the key point it probes), the evidence of each
// criterion highlighted inside the answers (<mark> nodes built from the API's offsets, never
// markup), key points covered and missed, flags, the offline scorer's second opinion; evaluators
// override scores (a reason is required) and give the final recommendation; the audit trail.
import { runsList } from "/static/runs.js";
import { $, StaffApiError, api, element, fill, formatDate, showStatus, staffPage } from "/static/staff.js";

const sessionId = decodeURIComponent((/^\/review\/([^/]+)/.exec(location.pathname) || [])[1] || "");
const base = `/review/sessions/${encodeURIComponent(sessionId)}`;
const DISAGREEMENT_BAR = 1.0; // machine vs offline difference worth a warning
const MIN_REASON = 5;
let canWrite = false;

const num = (x, digits = 2) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "—");
const humanise = (s) => String(s || "").replace(/[-_]+/g, " ");
const QUOTE_CHARS = 280;
/** A long quote shortened for the table (it is highlighted in full inside the answer). */
const clip = (text) => {
  const chars = Array.from(String(text));
  return chars.length > QUOTE_CHARS ? `${chars.slice(0, QUOTE_CHARS).join("")}…` : chars.join("");
};

// ---- evidence highlighting -------------------------------------------------------------------

/**
 * The answer text as nodes: plain text, and <mark class="evidence"> where evidence spans lie.
 * Offsets count code points (the server's str indices), so emoji do not shift the marks.
 * `spans`: [{start, end, label}] — overlapping spans are split into segments with their labels.
 */
export function highlighted(content, spans) {
  const chars = Array.from(content);
  const cuts = new Set([0, chars.length]);
  const valid = spans.filter((s) => s.start >= 0 && s.end <= chars.length && s.start < s.end);
  for (const s of valid) {
    cuts.add(s.start);
    cuts.add(s.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const nodes = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const text = chars.slice(a, b).join("");
    const covering = valid.filter((s) => s.start <= a && s.end >= b);
    const labels = [...new Set(covering.map((s) => s.label))];
    if (labels.length) {
      const ids = [...new Set(covering.map((s) => s.id))].join(" ");
      nodes.push(element("mark", { class: "evidence", title: `Evidence for ${labels.join(", ")}`, dataset: { criteria: ids } }, text));
    } else {
      nodes.push(document.createTextNode(text));
    }
  }
  return nodes;
}

/** Evidence spans per candidate turn seq, from all criteria of a question's assessment. */
function spansByTurn(assessment) {
  const out = new Map();
  for (const c of assessment?.criteria || []) {
    for (const ev of c.evidence || []) {
      for (const s of ev.spans || []) {
        if (!out.has(s.turn)) out.set(s.turn, []);
        out.get(s.turn).push({ start: s.start, end: s.end, label: c.title || c.id, id: c.id });
      }
    }
  }
  return out;
}

// ---- the parts of the page ---------------------------------------------------------------------

function turnNode(turn, spans) {
  const who = turn.role === "candidate" ? "Candidate" : "Interviewer";
  const head = element(
    "div",
    { class: "turn-head" },
    element("strong", {}, who),
    element("span", {}, humanise(turn.kind)),
    element("span", {}, formatDate(turn.created_at)),
    turn.status && turn.status !== "done" ? element("span", { class: "badge" }, turn.status) : null,
  );
  const body = element("p", { class: "turn-body" });
  if (turn.role === "candidate") body.append(...highlighted(turn.content, spans.get(turn.seq) || []));
  else body.textContent = turn.content;
  const reason =
    turn.kind === "follow_up"
      ? element(
          "p",
          { class: "followup-reason" },
          "Asked because this key point was not yet covered: ",
          element("em", {}, turn.key_point_text || turn.key_point || "(no key point recorded)"),
        )
      : null;
  return element("div", { class: `turn turn-${turn.role}`, dataset: { seq: turn.seq } }, head, reason, body);
}

/** A button that scrolls to the criterion's first highlighted evidence in this question's answers. */
function showInAnswer(criterionId) {
  const button = element("button", { type: "button", class: "link-button show-evidence" }, "show in the answer");
  button.addEventListener("click", () => {
    const card = button.closest(".question-card");
    for (const old of document.querySelectorAll("mark.evidence.active")) old.classList.remove("active");
    const marks = [...card.querySelectorAll("mark.evidence")].filter((m) =>
      (m.dataset.criteria || "").split(" ").includes(criterionId),
    );
    for (const mark of marks) mark.classList.add("active");
    if (marks.length) marks[0].scrollIntoView({ block: "center" });
  });
  return element("span", {}, " ", button);
}

function overrideForm(question, criterion) {
  const label = criterion.title;
  const current = criterion.effective;
  const form = element("form", {
    class: "inline-form override-form write-only",
    novalidate: true,
    dataset: { question: question.question_id, criterion: criterion.id },
  });
  const score = element("input", {
    type: "number",
    name: "score",
    min: "1",
    max: "5",
    step: "0.5",
    required: true,
    value: typeof current === "number" ? String(Math.round(current * 2) / 2) : "3",
    "aria-label": `New score for ${label}`,
  });
  const reason = element("input", {
    type: "text",
    name: "reason",
    maxlength: "2000",
    required: true,
    placeholder: "Reason (required)",
    "aria-label": `Reason for overriding ${label}`,
  });
  const button = element("button", { class: "button", type: "submit" }, "Override");
  const status = element("p", { class: "form-status", role: "status" });
  form.append(
    element("div", { class: "field" }, score),
    element("div", { class: "field grow" }, reason),
    button,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = Number(score.value);
    const why = reason.value.trim();
    if (!Number.isFinite(value) || value < 1 || value > 5) {
      showStatus(status, "The score must be between 1 and 5.", "error");
      score.setAttribute("aria-invalid", "true");
      score.focus();
      return;
    }
    if (why.length < MIN_REASON) {
      showStatus(status, `A reason is required (at least ${MIN_REASON} characters).`, "error");
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    button.disabled = true;
    showStatus(status, "Saving…");
    try {
      await api(`${base}/overrides`, {
        method: "POST",
        body: { question_id: question.question_id, criterion: criterion.id, score: value, reason: why },
      });
    } catch (err) {
      showStatus(status, `Not saved: ${err.message}`, "error");
      button.disabled = false;
      return;
    }
    await load();
    const again = document.querySelector(
      `form.override-form[data-question="${CSS.escape(question.question_id)}"][data-criterion="${CSS.escape(criterion.id)}"] .form-status`,
    );
    if (again) showStatus(again, "Override saved.", "ok");
  });
  return form;
}

function criteriaTable(question, a) {
  const rows = [
    {
      id: "overall",
      title: "Overall (question score)",
      weight: null,
      machine: a.score,
      effective: a.effective_score,
      overridden: a.overridden,
      evidence: [],
      rationale: "",
    },
    ...a.criteria.map((c) => ({
      id: c.id,
      title: c.title || c.id,
      weight: c.weight,
      machine: c.score,
      effective: c.effective_score,
      overridden: c.overridden,
      unsupported: c.unsupported,
      evidence: c.evidence || [],
      rationale: c.rationale || "",
    })),
  ];
  const body = rows.map((c) =>
    element(
      "tr",
      { dataset: { criterion: c.id } },
      element("th", { scope: "row" }, c.title, c.unsupported ? element("span", { class: "badge" }, " unsupported") : null),
      element("td", { class: "num" }, c.weight == null ? "" : num(c.weight)),
      element("td", { class: "num machine-score" }, num(c.machine)),
      element(
        "td",
        { class: "num effective-score" },
        num(c.effective, 2),
        c.overridden ? element("span", { class: "badge" }, " overridden") : null,
      ),
      element(
        "td",
        {},
        c.evidence.map((ev) =>
          element(
            "p",
            { class: "evidence-quote" },
            `“${clip(ev.quote)}”`,
            ev.found ? showInAnswer(c.id) : element("span", { class: "muted" }, " (not found in the answer)"),
          ),
        ),
        c.rationale ? element("p", {}, c.rationale) : null,
      ),
      element("td", { class: "override-cell" }, canWrite ? overrideForm(question, c) : null),
    ),
  );
  return element(
    "div",
    { class: "table-wrap" },
    element(
      "table",
      { class: "data-table criteria-table" },
      element("caption", { class: "visually-hidden" }, "Scores per criterion"),
      element(
        "thead",
        {},
        element(
          "tr",
          {},
          ["Criterion", "Weight", "Machine", "Effective", "Evidence and rationale", canWrite ? "Override" : ""].map((h) =>
            element("th", { scope: "col" }, h),
          ),
        ),
      ),
      element("tbody", {}, body),
    ),
  );
}

function keyPoints(question) {
  const covered = question.key_points.filter((k) => k.status === "covered");
  const missed = question.key_points.filter((k) => k.status === "missed");
  const other = question.key_points.filter((k) => k.status == null);
  const list = (items, cls) =>
    items.length
      ? element("ul", { class: cls }, items.map((k) => element("li", {}, k.text)))
      : element("p", { class: "muted" }, "none");
  return element(
    "div",
    { class: "keypoints" },
    element("div", { class: "kp-box" }, element("h4", {}, `Key points covered (${covered.length})`), list(covered, "kp-covered")),
    element("div", { class: "kp-box" }, element("h4", {}, `Key points missed (${missed.length})`), list(missed, "kp-missed")),
    other.length ? element("div", { class: "kp-box" }, element("h4", {}, "Not judged"), list(other, "")) : null,
  );
}

function overridesList(overrides) {
  if (!overrides.length) return null;
  return element(
    "div",
    { class: "overrides" },
    element("h4", {}, "Overrides"),
    element(
      "ul",
      { class: "audit-list" },
      overrides.map((o) =>
        element(
          "li",
          {},
          `${formatDate(o.created_at)} — ${o.evaluator}: ${humanise(o.criterion)} ${num(o.old_score)} → ${num(o.new_score)} (machine ${num(o.machine_score)}). Reason: `,
          element("q", {}, o.reason),
        ),
      ),
    ),
  );
}

function assessmentBlock(question) {
  const a = question.assessment;
  if (!a) return element("p", { class: "muted" }, "Not assessed yet.");
  const disagreement =
    a.offline_score == null
      ? element("p", { class: "muted" }, "No offline second opinion.")
      : element(
          "p",
          { class: a.disagreement >= DISAGREEMENT_BAR ? "disagreement" : "muted" },
          `Offline scorer: ${num(a.offline_score)} — disagreement with the ${a.scorer} scorer: ${num(a.disagreement)}`,
          a.disagreement >= DISAGREEMENT_BAR ? " (large: check this answer)" : "",
        );
  const flags = (a.flags || []).length
    ? element("div", { class: "flag-list" }, a.flags.map((f) => element("span", { class: "badge flag" }, humanise(f))))
    : null;
  const pitfalls = question.pitfalls.length
    ? element(
        "div",
        {},
        element("h4", {}, "Pitfalls in the answer"),
        element(
          "ul",
          {},
          question.pitfalls.map((p) =>
            element("li", {}, p.quote ? `“${p.quote}” — reads as: ${p.claim} Why it is wrong: ${p.why}` : `${p.claim} — ${p.why}`),
          ),
        ),
      )
    : null;
  return element(
    "div",
    { class: "assessment" },
    element(
      "p",
      { class: "scores-line" },
      `Machine score ${num(a.score)} (${a.scorer}), effective `,
      element("strong", { class: "question-effective" }, num(a.effective_score)),
      a.versions > 1 ? ` — assessed ${a.versions} times, the latest counts` : "",
    ),
    disagreement,
    a.confidence == null
      ? null
      : element(
          "p",
          { class: a.confidence < 0.2 ? "disagreement" : "muted" },
          `Scorer confidence: ${num(a.confidence)}`,
          a.confidence < 0.2 ? " (low: read this answer)" : "",
        ),
    flags,
    keyPoints(question),
    pitfalls,
    (a.notes || []).length ? element("ul", { class: "muted" }, a.notes.map((n) => element("li", {}, n))) : null,
    criteriaTable(question, a),
    overridesList(question.overrides),
  );
}

function questionCard(question, index, turns) {
  const spans = spansByTurn(question.assessment);
  const mine = turns.filter((t) => t.question_id === question.question_id);
  const meta = [
    humanise(question.track),
    humanise(question.topic),
    question.difficulty ? `difficulty ${question.difficulty}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  return element(
    "section",
    { class: "card question-card", dataset: { question: question.question_id }, "aria-labelledby": `q-${index}` },
    element("h2", { id: `q-${index}` }, `Question ${index + 1}`, meta ? element("span", { class: "muted" }, ` — ${meta}`) : null),
    question.question && question.question !== question.asked
      ? element("p", { class: "muted" }, "Bank question: ", question.question)
      : null,
    element("div", { class: "turns" }, mine.map((t) => turnNode(t, spans))),
    element("h3", {}, "Assessment"),
    assessmentBlock(question),
  );
}

function facts(doc) {
  const items = [
    ["Candidate", doc.candidate_label || "—"],
    ["Plan", doc.plan_title ? `${doc.plan_title} (${doc.plan_id})` : doc.plan_id],
    ["Mode", doc.mode],
    ["Status", doc.status],
    ["Started", formatDate(doc.created_at)],
    ["Answers", String(doc.answers)],
    ["Machine score", num(doc.score)],
    ["Effective score", num(doc.effective_score)],
  ];
  const nodes = items.map(([k, v]) => element("li", {}, element("strong", {}, `${k}: `), element("span", { dataset: { fact: k } }, v)));
  if (doc.flagged) nodes.push(element("li", {}, element("span", { class: "badge flag" }, "prompt injection flagged")));
  return nodes;
}

function exportLinks() {
  const formats = [
    ["json", "JSON"],
    ["csv", "CSV"],
    ["md", "Markdown"],
    ["html", "Print-friendly HTML"],
  ];
  return formats.map(([fmt, label]) =>
    element(
      "a",
      { class: "button", href: `/api/v1${base}/export?format=${fmt}`, download: "", dataset: { format: fmt } },
      `Export ${label}`,
    ),
  );
}

function auditItem(entry) {
  const d = entry.data || {};
  let detail;
  switch (entry.action) {
    case "review.override":
      detail = `${d.question_id} / ${humanise(d.criterion)}: ${num(d.old)} → ${num(d.new)}; reason: ${d.reason}`;
      break;
    case "review.recommendation":
      detail = `${d.recommendation}${d.note ? ` — ${d.note}` : ""}`;
      break;
    default:
      detail = Object.keys(d).length ? JSON.stringify(d) : "";
  }
  return element(
    "li",
    { dataset: { action: entry.action } },
    element("time", { datetime: entry.created_at }, formatDate(entry.created_at)),
    ` — ${entry.actor} — ${entry.action}`,
    detail ? `: ${detail}` : "",
  );
}

function render(doc) {
  document.title = `Review ${doc.candidate_label ? `${doc.candidate_label} · ` : ""}${doc.plan_title || doc.plan_id} — interviewer staff`;
  fill($("title"), "Interview review", element("span", { class: "muted" }, ` — ${doc.plan_title || doc.plan_id}`));
  fill($("facts"), facts(doc));
  fill($("exports"), exportLinks());
  const rec = doc.recommendation;
  $("machine-recommendation").textContent = `Machine recommendation: ${rec.machine || "—"}`;
  const ev = rec.evaluator;
  fill(
    $("evaluator-recommendation"),
    "Evaluator recommendation: ",
    ev ? element("strong", { id: "current-recommendation" }, ev.recommendation) : "—",
    ev ? ` by ${ev.evaluator}, ${formatDate(ev.created_at)}${ev.note ? ` — ${ev.note}` : ""}` : "",
  );
  const turns = doc.transcript;
  fill($("questions"), doc.questions.map((q, i) => questionCard(q, i, turns)));
  const known = new Set(doc.questions.map((q) => q.question_id));
  const other = turns.filter((t) => !t.question_id || !known.has(t.question_id));
  fill($("other"), other.map((t) => turnNode(t, new Map())));
  $("other-section").hidden = other.length === 0;
  const runs = Array.isArray(doc.exercise_runs) ? doc.exercise_runs : [];
  fill($("runs"), runs.length ? runsList(runs) : []);
  $("runs-section").hidden = runs.length === 0;
  fill($("audit"), doc.audit.length ? doc.audit.map(auditItem) : element("li", { class: "muted" }, "Nothing yet."));
  for (const node of document.querySelectorAll(".write-only")) node.hidden = !canWrite;
  for (const node of document.querySelectorAll(".read-only-note")) node.hidden = canWrite;
  $("recommendation-form").hidden = !canWrite || doc.status !== "completed";
}

async function load() {
  let doc;
  try {
    doc = await api(base);
  } catch (err) {
    $("loading").hidden = true;
    const box = $("message");
    box.textContent = err instanceof StaffApiError && err.status === 404 ? "There is no such interview." : `Could not load the interview: ${err.message}`;
    box.hidden = false;
    return;
  }
  render(doc);
  $("loading").hidden = true;
  $("review").hidden = false;
}

$("recommendation-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("rec-status");
  const recommendation = $("rec-value").value;
  if (!recommendation) {
    showStatus(status, "Choose a recommendation.", "error");
    $("rec-value").focus();
    return;
  }
  const note = $("rec-note").value.trim();
  try {
    await api(`${base}/recommendation`, { method: "POST", body: { recommendation, note: note || null } });
  } catch (err) {
    showStatus(status, `Not saved: ${err.message}`, "error");
    return;
  }
  await load();
  $("rec-note").value = "";
  showStatus(status, "Recommendation saved.", "ok");
});

const user = await staffPage();
canWrite = user.role === "evaluator";
if (!sessionId) {
  $("loading").hidden = true;
  $("message").textContent = "No interview given.";
  $("message").hidden = false;
} else {
  await load();
}
