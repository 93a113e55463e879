// HR: create one-time invite codes bound to a plan (POST /api/v1/invites) and see every invite's
// status (GET /api/v1/hr/invites: active / used / expired; the codes themselves are not kept).
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
      },
    });
    $("invite-code").textContent = created.code;
    $("invite-created").hidden = false;
    showStatus($("invite-status"), `Invite for ${created.plan} created; valid until ${formatDate(created.expires_at)}.`, "ok");
    await loadInvites();
  } catch (err) {
    showStatus($("invite-status"), err.message, "error");
  } finally {
    button.disabled = false;
  }
});

startStaffPage(() => Promise.all([loadPlans(), loadInvites()]), $("list-status"));
