// Calibration (GET /api/v1/review/calibration): machine vs evaluator agreement per track and
// criterion, a bar chart of the kappas (inline SVG built with DOM APIs) with the configured bar,
// and a warning where agreement falls below it.
import { $, api, element, fill, showStatus, staffPage, svgElement } from "/static/staff.js";

const num = (x, digits = 2) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "—");
const label = (g) => `${g.track === "all" ? "all tracks" : g.track} · ${g.criterion}`;

function minPairs() {
  const raw = Number.parseInt(new URLSearchParams(location.search).get("min_pairs") || "3", 10);
  return Number.isFinite(raw) && raw >= 1 && raw <= 100000 ? raw : 3;
}

/** Horizontal bars of QWK on a -1..1 axis, a dashed line at the bar; where there is no figure
 * (too few pairs) no bar, a "no data" label. */
function chart(groups, bar) {
  const rowH = 24;
  const labelW = 260;
  const plotW = 400;
  const width = labelW + plotW + 60;
  const height = groups.length * rowH + 28;
  const x = (v) => labelW + ((Math.max(-1, Math.min(1, v)) + 1) / 2) * plotW;
  const svg = svgElement("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "calibration-chart",
    role: "img",
    "aria-label": `Quadratic-weighted kappa per group; the bar is ${num(bar)}`,
  });
  for (const v of [-1, -0.5, 0, 0.5, 1]) {
    svg.append(svgElement("line", { x1: x(v), x2: x(v), y1: 0, y2: height - 20, class: "chart-grid" }));
    svg.append(svgElement("text", { x: x(v), y: height - 6, class: "chart-axis", "text-anchor": "middle" }, String(v)));
  }
  groups.forEach((g, i) => {
    const y = i * rowH + 4;
    svg.append(svgElement("text", { x: labelW - 8, y: y + 13, class: "chart-label", "text-anchor": "end" }, label(g)));
    const k = g.enough && typeof g.kappa === "number" ? g.kappa : null;
    if (k == null) {
      // no figure: a gap with a label, never a bar (a bar at 0 would read as "no agreement")
      svg.append(
        svgElement(
          "text",
          { x: labelW + plotW + 8, y: y + 13, class: "chart-value chart-missing" },
          `no data (n=${g.n})`,
          svgElement("title", {}, `${label(g)}: no QWK yet — ${g.n} pair(s), ${g.n ? "not enough" : "none"}`),
        ),
      );
      return;
    }
    const from = x(0);
    const to = x(k);
    svg.append(
      svgElement(
        "rect",
        { x: Math.min(from, to), y, width: Math.max(2, Math.abs(to - from)), height: 16, class: `chart-bar ${g.warning ? "warn" : "ok"}` },
        svgElement("title", {}, `${label(g)}: QWK ${num(k)}`),
      ),
    );
    svg.append(svgElement("text", { x: labelW + plotW + 8, y: y + 13, class: "chart-value" }, num(k)));
  });
  svg.append(svgElement("line", { x1: x(bar), x2: x(bar), y1: 0, y2: height - 20, class: "chart-bar-line" }));
  return svg;
}

function row(g) {
  const agreement = !g.enough ? "not enough pairs" : g.warning ? "below the bar" : "ok";
  return element(
    "tr",
    { class: g.warning ? "warn" : null, dataset: { track: g.track, criterion: g.criterion } },
    element("td", {}, g.track),
    element("td", {}, g.criterion),
    element("td", { class: "num n" }, String(g.n)),
    element("td", { class: "num" }, num(g.mean_abs_diff)),
    element("td", { class: "num" }, num(g.bias)),
    element("td", { class: "num" }, num(g.spearman)),
    element("td", { class: "num" }, num(g.kappa)),
    element("td", { class: g.warning ? "warning-text" : "" }, agreement),
  );
}

async function load() {
  const pairs = minPairs();
  $("min-pairs").value = String(pairs);
  let data;
  try {
    data = await api(`/review/calibration?min_pairs=${pairs}`);
  } catch (err) {
    showStatus($("summary"), `Could not load calibration: ${err.message}`, "error");
    return;
  }
  showStatus(
    $("summary"),
    data.pairs
      ? `${data.pairs} overridden score(s); figures need n ≥ ${data.min_pairs}; the bar is QWK ≥ ${num(data.min_kappa)}.`
      : "No overrides yet: calibration needs evaluators' overrides of machine scores.",
  );
  const below = data.groups.filter((g) => g.warning);
  const warning = $("warning");
  if (below.length) {
    fill(
      warning,
      element("p", { class: "notice-title" }, `Agreement below the bar (QWK < ${num(data.min_kappa)}) in ${below.length} group(s):`),
      element("ul", {}, below.map((g) => element("li", {}, `${label(g)}: QWK ${num(g.kappa)}, n=${g.n}`))),
    );
    warning.hidden = false;
  } else {
    warning.hidden = true;
  }
  fill($("groups-body"), data.groups.map(row));
  $("groups").hidden = data.groups.length === 0;
  fill($("chart"), data.groups.length ? chart(data.groups, data.min_kappa) : null);
  $("chart-section").hidden = data.groups.length === 0;
}

$("calibration-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = Number.parseInt($("min-pairs").value, 10);
  if (!Number.isFinite(value) || value < 1) {
    showStatus($("summary"), "n must be a whole number from 1.", "error");
    return;
  }
  history.pushState(null, "", `?min_pairs=${value}`);
  load();
});
window.addEventListener("popstate", load);

await staffPage();
await load();
