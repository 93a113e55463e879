// Landing page: choose a plan and start a practice interview, or start with an invite code.
import { ApiError, createSession, getPlans, saveToken } from "/static/api.js";

const $ = (id) => document.getElementById(id);

const DEFAULT_PLAN = "full";

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else if (k === "className") node.className = v;
    else if (v === true) node.setAttribute(k, "");
    else if (v !== false && v != null) node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

function trackLabel(track) {
  return String(track).replace(/_/g, " ");
}

function renderPlans(plans) {
  const box = $("plans");
  box.replaceChildren();
  box.removeAttribute("aria-busy");
  const preferred = plans.some((p) => p.id === DEFAULT_PLAN) ? DEFAULT_PLAN : plans[0]?.id;
  for (const plan of plans) {
    const id = `plan-${plan.id}`;
    const tracks = Array.isArray(plan.tracks) ? plan.tracks : [];
    const detail = `${tracks.length} track${tracks.length === 1 ? "" : "s"}: ${tracks
      .map(trackLabel)
      .join(", ")}${plan.mode ? ` · ${plan.mode} mode` : ""}`;
    const input = el("input", {
      type: "radio",
      name: "plan",
      id,
      value: plan.id,
      "aria-describedby": `${id}-detail`,
    });
    input.checked = plan.id === preferred;
    const label = el(
      "label",
      { for: id, className: "plan-option" },
      input,
      el(
        "span",
        { className: "plan-text" },
        el("span", { className: "plan-title", text: plan.title || plan.id }),
        el("span", { className: "plan-detail", id: `${id}-detail`, text: detail }),
      ),
    );
    box.append(label);
  }
  if (!plans.length) box.append(el("p", { className: "muted", text: "No interview plans are available." }));
}

function setBusy(form, busy) {
  for (const control of form.querySelectorAll("button, input")) control.disabled = busy;
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

function showStatus(node, text, kind = "") {
  node.textContent = text;
  node.className = `form-status ${kind}`.trim();
}

async function start(form, statusNode, body) {
  setBusy(form, true);
  showStatus(statusNode, "Starting your interview…");
  try {
    const res = await createSession(body);
    if (!saveToken(res.session_id, res.token)) {
      showStatus(
        statusNode,
        "Your browser blocks local storage, so the interview could not be kept. Allow site data and try again.",
        "error",
      );
      setBusy(form, false);
      return;
    }
    showStatus(statusNode, "Interview started — opening it…", "ok");
    location.assign(`/interview/${encodeURIComponent(res.session_id)}`);
  } catch (err) {
    let text = err instanceof ApiError ? err.message : "Something went wrong. Try again.";
    if (err instanceof ApiError && (err.status === 403 || err.status === 404) && body.invite_code) {
      text = `That invite code was not accepted: ${err.message}`;
    }
    showStatus(statusNode, text, "error");
    setBusy(form, false);
  }
}

/** An invite link (`/#invite=CODE`, from HR's invites page) fills in the code; the fragment is
 * then dropped from the address bar and this history entry, so the code is not left behind. */
function inviteFromLink() {
  const match = /^#invite=([A-Za-z0-9_-]{4,100})$/.exec(location.hash);
  if (!match) return;
  $("invite-code").value = match[1];
  history.replaceState(null, "", location.pathname + location.search);
  $("invite-button").focus();
}

async function init() {
  const practiceForm = $("practice-form");
  const inviteForm = $("invite-form");
  inviteFromLink();

  practiceForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = practiceForm.querySelector("input[name=plan]:checked");
    const body = chosen ? { plan: chosen.value } : {};
    start(practiceForm, $("practice-status"), body);
  });

  inviteForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("invite-code");
    const code = input.value.trim();
    if (!code) {
      showStatus($("invite-status"), "Enter the invite code first.", "error");
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    start(inviteForm, $("invite-status"), { invite_code: code });
  });

  try {
    const data = await getPlans();
    renderPlans(Array.isArray(data.plans) ? data.plans : []);
    if (data.invite_only) {
      $("invite-only-note").hidden = false;
      $("plan-fieldset").disabled = true;
      $("start-button").disabled = true;
      $("practice-form").classList.add("disabled");
    }
  } catch (err) {
    const box = $("plans");
    box.removeAttribute("aria-busy");
    box.replaceChildren(
      el("p", {
        className: "form-status error",
        text: `Could not load the interview plans (${err.message}). The default full interview will be used.`,
      }),
    );
  }
}

init();
