// HR: create one-time invite codes bound to a plan (POST /api/v1/invites), with an optional
// candidate label (who it is for: staff see it, the candidate never does) and a link to copy, and
// see every invite's status (GET /api/v1/hr/invites: active / used / expired; the codes themselves
// are not kept). The link carries the code in its fragment (`/#invite=CODE`): a fragment is never
// sent to a server, so the code stays out of access logs and Referer headers.
import { $, api, element, fill, formatDate, showStatus, startStaffPage } from "/static/staff.js";

async function loadPlans() {
  const data = await api("/hr/plans");
  fill(
    $("i-plan"),
    data.plans.map((p) => element("option", { value: p.id, selected: p.id === "full" }, `${p.title} (${p.id})`)),
  );
}

let nextCursor = null;

function inviteRow(i) {
  return element(
    "tr",
    { dataset: { status: i.status } },
    element("td", {}, element("span", { class: `badge invite-${i.status}` }, i.status)),
    element("td", { class: "candidate-label" }, i.candidate_label || "—"),
    element("td", {}, i.plan_title ? `${i.plan_title} (${i.plan})` : i.plan),
    element("td", {}, i.mode),
    element("td", {}, formatDate(i.created_at)),
    element("td", {}, formatDate(i.expires_at)),
    element("td", {}, i.used_at ? formatDate(i.used_at) : "—"),
  );
}

// the list comes a page at a time (newest first); "Show older invites" follows next_cursor
async function loadInvites({ more = false } = {}) {
  const query = more && nextCursor ? `?cursor=${encodeURIComponent(nextCursor)}` : "";
  const data = await api(`/hr/invites${query}`);
  const rows = data.invites.map(inviteRow);
  if (more) $("invites-body").append(...rows);
  else fill($("invites-body"), rows);
  nextCursor = data.next_cursor;
  $("more-invites").hidden = !nextCursor;
  showStatus($("list-status"), $("invites-body").children.length ? "" : "No invites yet.");
}

$("more-invites").addEventListener("click", async () => {
  try {
    await loadInvites({ more: true });
  } catch (err) {
    showStatus($("list-status"), err.message, "error");
  }
});

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.target.querySelector('button[type="submit"]');
  button.disabled = true;
  const hours = Number($("i-hours").value);
  try {
    const created = await api("/invites", {
      method: "POST",
      body: {
        plan: $("i-plan").value,
        mode: $("i-mode").value,
        show_report: $("i-report").checked,
        ttl_hours: Number.isInteger(hours) ? hours : 72,
        candidate_label: $("i-label").value.trim() || null,
      },
    });
    $("invite-code").textContent = created.code;
    $("invite-for").textContent = created.candidate_label ? ` for ${created.candidate_label}` : "";
    $("invite-link").value = inviteLink(created.code);
    showStatus($("copy-status"), "");
    $("invite-created").hidden = false;
    $("i-label").value = "";
    showStatus($("invite-status"), `Invite for ${created.plan} created; valid until ${formatDate(created.expires_at)}.`, "ok");
    await loadInvites();
  } catch (err) {
    showStatus($("invite-status"), err.message, "error");
  } finally {
    button.disabled = false;
  }
});

function inviteLink(code) {
  return `${location.origin}/#invite=${encodeURIComponent(code)}`;
}

$("copy-link").addEventListener("click", async () => {
  const link = $("invite-link");
  try {
    await navigator.clipboard.writeText(link.value);
    showStatus($("copy-status"), "Link copied.", "ok");
  } catch {
    // no clipboard access (a plain-http address other than localhost, or permission refused)
    link.focus();
    link.select();
    showStatus($("copy-status"), "Could not copy: the link is selected, press Ctrl+C (⌘C) to copy it.", "error");
  }
});

startStaffPage(() => Promise.all([loadPlans(), loadInvites()]), $("list-status"));
