// The report page: overall score and recommendation, then per track: score, pass/fail, a bar
// chart of the per-criterion scores (SVG built with DOM APIs), strengths, gaps, what to study.
// Everything is named as the report names it: criteria by the track's rubric titles, articles by
// their own titles (slugs in words only for reports from before those were kept).
import { ApiError, getReport, loadToken, sessionIdFromPath } from "/static/api.js";
import { el, svg } from "/static/dom.js";
import { runsList } from "/static/runs.js";

const $ = (id) => document.getElementById(id);

const RECOMMENDATIONS = {
  practice: {
    strong: { text: "Strong — well above the bar", cls: "rec-strong" },
    pass: { text: "Pass — meets the bar", cls: "rec-pass" },
    "not yet": { text: "Not yet — keep practising", cls: "rec-notyet" },
  },
  assessment: {
    strong: { text: "Strong — well above the bar", cls: "rec-strong" },
    pass: { text: "Meets the bar", cls: "rec-pass" },
    "not yet": { text: "Below the bar in this interview", cls: "rec-notyet" },
  },
};

const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : Number(x) || 0);
const fmt = (x) => num(x).toFixed(1);
const humanise = (s) => {
  const t = String(s).replace(/[-_]+/g, " ").trim();
  return t.charAt(0).toUpperCase() + t.slice(1);
};

function showMessage(text, link) {
  $("loading").hidden = true;
  const box = $("message");
  box.replaceChildren(el("p", null, text));
  if (link) {
    const p = el("p");
    const a = el("a", "button", link.text);
    a.href = link.href;
    p.append(a);
    box.append(p);
  }
  box.hidden = false;
}

/** Horizontal bars, one per criterion, on a 1–5 scale. Decorative: a table beside it carries the data. */
function criteriaChart(criteria, titles) {
  const entries = Object.entries(criteria || {});
  const rowH = 30;
  const labelW = 200;
  const barW = 220;
  const width = labelW + barW + 50;
  const height = entries.length * rowH + 22;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    "aria-hidden": "true",
    focusable: "false",
    preserveAspectRatio: "xMinYMin meet",
  });
  // grid lines at 0..5
  for (let v = 0; v <= 5; v++) {
    const x = labelW + (v / 5) * barW;
    chart.append(svg("line", { x1: x, x2: x, y1: 0, y2: height - 18, class: "chart-grid" }));
    chart.append(svg("text", { x, y: height - 4, class: "chart-axis", "text-anchor": "middle" }, String(v)));
  }
  entries.forEach(([name, value], i) => {
    const y = i * rowH + 6;
    const v = Math.min(5, Math.max(0, num(value)));
    const w = Math.max(2, (v / 5) * barW);
    const level = v >= 3.8 ? "high" : v >= 2.5 ? "mid" : "low";
    const title = titles(name);
    const shown = title.length > 30 ? `${title.slice(0, 29)}…` : title; // the table has it whole
    chart.append(svg("text", { x: labelW - 8, y: y + 13, class: "chart-label", "text-anchor": "end" }, shown));
    chart.append(svg("rect", { x: labelW, y, width: barW, height: 18, rx: 4, class: "chart-track" }));
    chart.append(svg("rect", { x: labelW, y, width: w, height: 18, rx: 4, class: `chart-bar bar-${level}` }));
    chart.append(svg("text", { x: labelW + barW + 8, y: y + 13, class: "chart-value" }, fmt(value)));
  });
  return chart;
}

/** The chart's data for screen readers. Hidden in a 1-pixel box that clips it: a table ignores
 * the width it is given, and would widen the page on a phone. */
function criteriaTable(criteria, trackTitle, titles) {
  const box = el("div", "visually-hidden");
  const table = el("table");
  box.append(table);
  table.append(el("caption", null, `Criterion scores for ${trackTitle}, out of 5`));
  const head = el("tr");
  head.append(el("th", null, "Criterion"), el("th", null, "Score"));
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  for (const [name, value] of Object.entries(criteria || {})) {
    const tr = el("tr");
    const th = el("th", null, titles(name));
    th.scope = "row";
    tr.append(th, el("td", null, fmt(value)));
    tbody.append(tr);
  }
  table.append(thead, tbody);
  return box;
}

function list(title, items, className, empty) {
  const section = el("div", `list-block ${className}`);
  section.append(el("h3", null, title));
  if (!items || !items.length) {
    section.append(el("p", "muted", empty));
    return section;
  }
  const ul = el("ul");
  for (const item of items) ul.append(el("li", null, String(item)));
  section.append(ul);
  return section;
}

function studyList(t) {
  const section = el("div", "list-block study");
  section.append(el("h3", null, "What to study"));
  const reading = Array.isArray(t.reading) && t.reading.length
    ? t.reading
    : (t.study || []).map((slug) => ({ slug, title: humanise(slug) }));
  if (!reading.length) {
    section.append(el("p", "muted", "Nothing in particular — well done."));
    return section;
  }
  const ul = el("ul");
  for (const { slug, title } of reading) {
    const li = el("li");
    const a = el("a", null, String(title));
    a.href = `/articles/${encodeURIComponent(slug)}`;
    li.append(a);
    ul.append(li);
  }
  section.append(ul);
  return section;
}

function trackCard(t) {
  const card = el("section", "card track-report");
  const titleId = `track-${String(t.track).replace(/[^a-z0-9_-]/gi, "")}`;
  card.setAttribute("aria-labelledby", titleId);
  card.dataset.track = t.track;

  const head = el("div", "track-head");
  const h2 = el("h2", null, t.title || humanise(t.track));
  h2.id = titleId;
  const verdict = el("span", `badge ${t.passed ? "pass" : "fail"}`, t.passed ? "Passed" : "Not passed");
  head.append(h2, verdict);
  card.append(head);

  const scoreLine = el("p", "track-score");
  scoreLine.append(el("strong", "score-number", fmt(t.score)), document.createTextNode(" / 5"));
  if (t.pass_threshold != null) {
    scoreLine.append(el("span", "muted", ` · pass mark ${fmt(t.pass_threshold)}`));
  }
  if (Array.isArray(t.questions) && t.questions.length) {
    const n = t.questions.length;
    scoreLine.append(el("span", "muted", ` · ${n} question${n === 1 ? "" : "s"} assessed`));
  }
  card.append(scoreLine);

  const criteria = t.criteria || {};
  const names = t.criteria_titles || {};
  const titles = (id) => names[id] || humanise(id);
  if (Object.keys(criteria).length) {
    const figure = el("figure", "chart-figure");
    figure.append(criteriaChart(criteria, titles), criteriaTable(criteria, t.title || t.track, titles));
    figure.append(el("figcaption", "muted", "Score per criterion (1 = weak, 5 = excellent)"));
    card.append(figure);
  }

  const cols = el("div", "columns");
  cols.append(
    list("Strengths", t.strengths, "strengths", "No clear strengths were found in this track yet."),
    list("Gaps", t.gaps, "gaps", t.passed ? "No important gaps." : "Below the pass mark: see the scores per criterion."),
  );
  card.append(cols, studyList(t));
  return card;
}

function render(report) {
  const score = num(report.score);
  $("overall-score").textContent = fmt(score);
  const wording = RECOMMENDATIONS[report.mode] || RECOMMENDATIONS.practice;
  const rec = wording[report.recommendation] || { text: String(report.recommendation || ""), cls: "" };
  const recNode = $("recommendation");
  recNode.textContent = rec.text;
  if (rec.cls) recNode.classList.add(rec.cls);
  $("overall-score-box").classList.add(score >= 3.8 ? "high" : score >= 2.5 ? "mid" : "low");
  const tracks = Array.isArray(report.tracks) ? report.tracks : [];
  $("overall-sub").textContent = `Overall score across ${tracks.length} track${tracks.length === 1 ? "" : "s"}.`;

  const flags = Array.isArray(report.flags) ? report.flags : [];
  if (flags.length) {
    const box = $("flags");
    box.append(el("span", "muted", "Noted: "));
    for (const f of flags) box.append(el("span", "badge flag", humanise(f)));
    box.hidden = false;
  }

  const container = $("tracks");
  for (const t of tracks) container.append(trackCard(t));
  if (!tracks.length) container.append(el("p", "muted", "No track was assessed in this interview."));

  const runs = Array.isArray(report.exercise_runs) ? report.exercise_runs : [];
  if (runs.length) {
    $("runs").append(runsList(runs));
    $("runs-section").hidden = false;
  }

  document.title = `Report: ${fmt(score)} / 5 — interviewer`;
  $("loading").hidden = true;
  $("report").hidden = false;
}

async function init() {
  const id = sessionIdFromPath();
  const transcriptHref = id ? `/interview/${encodeURIComponent(id)}` : "/";
  $("back-link").href = transcriptHref;
  if (!id) {
    showMessage("This address does not name an interview.", { href: "/", text: "Back to the start page" });
    return;
  }
  const token = loadToken(id);
  if (!token) {
    showMessage("This browser does not hold the key to this interview, so its report cannot be shown here.", {
      href: "/",
      text: "Back to the start page",
    });
    return;
  }
  try {
    render(await getReport(id, token));
  } catch (err) {
    const status = err instanceof ApiError ? err.status : -1;
    if (status === 409) {
      showMessage("The interview is not finished yet: the report appears once it has ended.", {
        href: transcriptHref,
        text: "Continue the interview",
      });
    } else if (status === 403) {
      showMessage(err.message || "The report of this interview is not available to you.");
    } else if (status === 401) {
      showMessage(err.message, { href: "/", text: "Back to the start page" }); // the link expired
    } else if (status === 404) {
      showMessage("This interview was not found, or this browser does not have access to it.", {
        href: "/",
        text: "Back to the start page",
      });
    } else {
      showMessage(`Could not load the report: ${err.message}. Reload the page to try again.`);
    }
  }
}

init();
