// The interview chat: transcript, progress, answering (streamed reply), resume after reload.
// All interviewer and candidate text is inserted with textContent / text nodes, never as HTML.
import {
  ApiError,
  getSession,
  loadToken,
  newClientMsgId,
  sendAnswer,
  sessionIdFromPath,
  sleep,
  withNetworkRetries,
} from "/static/api.js";
import { el } from "/static/dom.js";
import { exercisePanel } from "/static/exercise.js";

const MAX_ANSWER = 8000;
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);

const KIND_LABELS = {
  greeting: "",
  question: "Question",
  follow_up: "Follow-up",
  nudge: "",
  clarification: "Clarification",
  feedback: "Feedback",
  summary: "Summary",
  report: "Report",
  answer: "",
};

const ui = {
  transcript: $("transcript"),
  textarea: $("answer"),
  send: $("send-button"),
  form: $("composer"),
  error: $("composer-error"),
  count: $("answer-count"),
  thinking: $("thinking"),
  pendingNote: $("pending-note"),
  completed: $("completed"),
  reportLink: $("report-link"),
  position: $("position"),
  steps: $("track-steps"),
  planName: $("plan-name"),
};

const session = {
  id: sessionIdFromPath(),
  token: null,
  state: null,
  inFlight: false,
  poll: null, // the running poll (a promise) while the server processes an answer
  rendered: new Map(), // server message id -> element
  failed: null, // {content, clientMsgId, bubble} of an answer that could not be sent
};

const draftKey = () => `interviewer:draft:${session.id}`;

// ---- DOM helpers ---------------------------------------------------------------------------

function fatal(text, withHomeLink = true) {
  $("loading").hidden = true;
  $("session").hidden = true;
  const box = $("fatal");
  box.replaceChildren(el("p", null, text));
  if (withHomeLink) {
    const p = el("p");
    const a = el("a", "button", "Back to the start page");
    a.href = "/";
    p.append(a);
    box.append(p);
  }
  box.hidden = false;
}

function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Show the newest message above the (sticky) answer box; a long one from its start. */
function scrollToEnd() {
  const last = ui.transcript.lastElementChild;
  if (!last) return;
  const smooth = session.loaded && !matchMedia("(prefers-reduced-motion: reduce)").matches;
  const behavior = smooth ? "smooth" : "auto";
  const below = ui.form.hidden ? 0 : ui.form.offsetHeight;
  if (last.offsetHeight > window.innerHeight - below - 32) {
    last.scrollIntoView({ block: "start", behavior });
  } else {
    window.scrollTo({ top: document.documentElement.scrollHeight, behavior });
  }
}

// ---- messages ------------------------------------------------------------------------------

function buildBubble(role, kind, createdAt) {
  const isCandidate = role === "candidate";
  const item = el("article", `msg ${isCandidate ? "msg-candidate" : "msg-interviewer"}`);
  if (kind) item.classList.add(`kind-${kind}`);
  const head = el("header", "msg-head");
  head.append(el("span", "msg-who", isCandidate ? "You" : "Interviewer"));
  const label = KIND_LABELS[kind] ?? "";
  if (label && !isCandidate) head.append(el("span", "msg-kind", label));
  const time = formatTime(createdAt);
  if (time) {
    const t = el("time", "msg-time", time);
    t.dateTime = createdAt;
    head.append(t);
  }
  const body = el("div", "msg-body");
  item.append(head, body);
  return item;
}

function setBody(item, text) {
  item.querySelector(".msg-body").textContent = text;
}

function renderMessage(msg) {
  const item = buildBubble(msg.role, msg.kind, msg.created_at);
  setBody(item, msg.content ?? "");
  if (msg.id != null) {
    item.dataset.id = String(msg.id);
    session.rendered.set(msg.id, item);
  }
  return item;
}

/** Put a message's bubble in id order: a reply that streamed live may already be on the page
 * when an earlier message of the same turn (say, practice feedback) arrives. */
function placeInOrder(node, id) {
  const later =
    id == null
      ? null
      : [...ui.transcript.children].find((c) => c.dataset.id && Number(c.dataset.id) > Number(id));
  if (later) ui.transcript.insertBefore(node, later);
  else ui.transcript.append(node);
}

/** Add server messages not yet on the page (keyed by id); adopt local candidate bubbles. Text
 * that streamed but was not kept (the server's copy is the truth) is removed. */
function syncMessages(messages) {
  let added = false;
  const known = new Set(messages.map((m) => String(m.id)));
  for (const node of ui.transcript.querySelectorAll(".streaming")) {
    if (!known.has(node.dataset.id)) {
      session.rendered.delete(Number(node.dataset.id));
      node.remove();
    }
  }
  for (const msg of messages) {
    if (msg.id != null && session.rendered.has(msg.id)) {
      const existing = session.rendered.get(msg.id);
      if (existing.classList.contains("streaming")) finishStreaming(existing, msg);
      continue;
    }
    if (msg.role === "candidate") {
      const local = [...ui.transcript.querySelectorAll(".msg-candidate.local:not([data-id])")].find(
        (node) => node.querySelector(".msg-body").textContent === msg.content,
      );
      if (local) {
        local.dataset.id = String(msg.id);
        session.rendered.set(msg.id, local);
        markSent(local);
        continue;
      }
    }
    placeInOrder(renderMessage(msg), msg.id);
    added = true;
  }
  if (added) scrollToEnd();
}

function streamingBubble(messageId) {
  let item = session.rendered.get(messageId);
  if (!item) {
    item = buildBubble("interviewer", null, null);
    item.classList.add("streaming");
    item.dataset.id = String(messageId);
    session.rendered.set(messageId, item);
    ui.transcript.append(item);
  }
  return item;
}

function finishStreaming(item, msg) {
  const fresh = renderMessage(msg);
  item.replaceWith(fresh);
}

function onDelta({ message_id: id, text }) {
  if (id == null || typeof text !== "string") return;
  ui.thinking.hidden = true;
  const item = streamingBubble(id);
  if (!item.classList.contains("streaming")) return; // already complete
  item.querySelector(".msg-body").append(document.createTextNode(text));
  scrollToEnd();
}

function onMessage(msg) {
  ui.thinking.hidden = true;
  const existing = msg.id != null ? session.rendered.get(msg.id) : null;
  if (existing) finishStreaming(existing, msg);
  else placeInOrder(renderMessage(msg), msg.id);
  scrollToEnd();
}

// ---- candidate answer status ---------------------------------------------------------------

function setAnswerStatus(bubble, status, text) {
  let box = bubble.querySelector(".msg-status");
  if (!box) {
    box = el("div", "msg-status");
    bubble.append(box);
  }
  box.className = `msg-status status-${status}`;
  box.replaceChildren(el("span", "status-text", text));
  return box;
}

function markSent(bubble) {
  bubble.classList.remove("failed", "sending");
  setAnswerStatus(bubble, "sent", "sent ✓");
}

function markFailed(bubble, message) {
  bubble.classList.remove("sending");
  bubble.classList.add("failed");
  const box = setAnswerStatus(bubble, "failed", "failed — ");
  const retry = el("button", "link-button retry-button", "retry");
  retry.type = "button";
  retry.setAttribute("aria-label", "Retry sending this answer");
  retry.addEventListener("click", () => retryFailed());
  box.append(retry);
  if (message) box.append(el("span", "status-detail", ` (${message})`));
  return retry;
}

// ---- state and progress --------------------------------------------------------------------

function applyState(state) {
  if (!state) return;
  session.state = state;
  const planTitle = state.plan_title || state.plan_id || "";
  ui.planName.replaceChildren();
  if (planTitle) ui.planName.append(el("span", null, planTitle));
  if (state.mode) ui.planName.append(el("span", `badge mode-${state.mode}`, state.mode));

  ui.steps.replaceChildren();
  const tracks = Array.isArray(state.tracks) ? state.tracks : [];
  tracks.forEach((t, i) => {
    const current = state.status !== "completed" && t.track === state.track;
    const li = el("li", `step${t.done ? " done" : ""}${current ? " current" : ""}`);
    li.append(el("span", "step-mark", t.done ? "✓" : String(i + 1)));
    li.append(el("span", "step-title", t.title || t.track));
    const status = t.done ? "finished" : current ? "in progress" : "not started";
    li.append(el("span", "visually-hidden", ` (${status})`));
    if (current) li.setAttribute("aria-current", "step");
    ui.steps.append(li);
  });

  let position;
  if (state.status === "completed") {
    position = "Interview complete";
  } else if (state.track) {
    const title = state.track_title || state.track;
    const k = state.question_index;
    const n = state.questions_total;
    position = k && n ? `${title} — question ${k} of ${n}` : title;
  } else {
    position = "Getting started";
  }
  if (ui.position.textContent !== position) ui.position.textContent = position;
  document.title = `${position} — interviewer`;

  session.exercise?.update(state);
  if (state.status === "completed") showCompleted(state.show_report !== false);
}

/** The end: the report link, or — when HR keeps the report for the hiring team — no link. */
function showCompleted(reportShown) {
  ui.form.hidden = true;
  ui.thinking.hidden = true;
  ui.pendingNote.hidden = true;
  $("report-link-row").hidden = !reportShown;
  $("completed-text").textContent = reportShown
    ? "Thank you. Your report is ready."
    : "Thank you for your time. The hiring team will review your interview and be in touch about the next steps.";
  const wasHidden = ui.completed.hidden;
  ui.completed.hidden = false;
  if (wasHidden && session.loaded) (reportShown ? ui.reportLink : $("completed-title")).focus({ preventScroll: false });
  try {
    localStorage.removeItem(draftKey());
  } catch {
    /* ignore */
  }
}

// ---- composer --------------------------------------------------------------------------------

function setComposerEnabled(enabled) {
  const on = enabled && !session.failed && session.state?.status !== "completed";
  ui.textarea.disabled = !on;
  ui.send.disabled = !on;
  ui.form.setAttribute("aria-busy", on ? "false" : "true");
}

function updateCount() {
  const n = ui.textarea.value.length;
  ui.count.textContent = `${n} / ${MAX_ANSWER}`;
  ui.count.classList.toggle("near-limit", n > MAX_ANSWER * 0.9);
}

function saveDraft() {
  try {
    if (ui.textarea.value) localStorage.setItem(draftKey(), ui.textarea.value);
    else localStorage.removeItem(draftKey());
  } catch {
    /* storage unavailable: drafts are a convenience */
  }
}

function showComposerError(text) {
  ui.error.textContent = text;
}

function focusAnswer() {
  if (!ui.textarea.disabled && !ui.form.hidden) ui.textarea.focus();
}

async function submitAnswer() {
  if (session.inFlight || session.failed) return;
  const content = ui.textarea.value;
  showComposerError("");
  if (!content.trim()) {
    showComposerError("Write an answer first (or say “I don't know” to move on).");
    ui.textarea.focus();
    return;
  }
  if (content.length > MAX_ANSWER) {
    showComposerError(`Your answer is too long: at most ${MAX_ANSWER} characters.`);
    ui.textarea.focus();
    return;
  }
  const bubble = buildBubble("candidate", "answer", new Date().toISOString());
  bubble.classList.add("local");
  setBody(bubble, content);
  ui.transcript.append(bubble);
  scrollToEnd();
  ui.textarea.value = "";
  updateCount();
  saveDraft();
  await deliver({ content, clientMsgId: newClientMsgId(), bubble });
}

async function retryFailed() {
  const pending = session.failed;
  if (!pending || session.inFlight) return;
  session.failed = null;
  showComposerError("");
  await deliver(pending);
}


async function deliver(pending) {
  const { content, clientMsgId, bubble } = pending;
  session.inFlight = true;
  setComposerEnabled(false);
  bubble.classList.add("sending");
  bubble.classList.remove("failed");
  setAnswerStatus(bubble, "sending", "sending…");
  ui.thinking.hidden = false;
  ui.transcript.setAttribute("aria-busy", "true");

  let result = null;
  let error = null;
  try {
    // The same client_msg_id may be retried safely: the server returns the original result.
    result = await withNetworkRetries(() =>
      sendAnswer(session.id, session.token, content, clientMsgId, {
        onDelta: (d) => {
          markSent(bubble);
          onDelta(d);
        },
        onMessage: (m) => {
          markSent(bubble);
          onMessage(m);
        },
        onState: applyState,
        onAccepted: () => markSent(bubble),
      }),
    );
  } catch (err) {
    error = err;
  }

  ui.transcript.setAttribute("aria-busy", "false");
  ui.thinking.hidden = true;
  session.inFlight = false;

  if (error) {
    handleSendError(error, pending);
    return;
  }

  markSent(bubble);
  if (!result.streamed) for (const m of result.messages) onMessage(m);
  if (result.state) applyState(result.state);
  if (result.interrupted || !result.messages.length || !result.state) {
    // The reply stream broke after the answer was accepted: the transcript has the truth.
    let data = null;
    try {
      data = await refresh();
    } catch {
      /* polled below */
    }
    if (!data || (data.state && data.state.pending)) {
      await pollUntilIdle();
      return;
    }
  }
  setComposerEnabled(true);
  focusAnswer();
}

function handleSendError(err, pending) {
  const status = err instanceof ApiError ? err.status : -1;
  const message = err instanceof ApiError ? err.message : "Unexpected error";
  if (status === 400 || status === 413 || status === 422) {
    // Not accepted and will not be: give the text back to edit.
    pending.bubble.remove();
    ui.textarea.value = pending.content;
    updateCount();
    saveDraft();
    showComposerError(`Your answer was not accepted: ${message}`);
    setComposerEnabled(true);
    focusAnswer();
    return;
  }
  if (status === 404) {
    markFailed(pending.bubble, message).disabled = true;
    fatalBanner("This interview was not found or this browser no longer has access to it.");
    return;
  }
  if (status === 409 || status === 503) {
    // Either this answer is saved and still being processed, or another answer (sent before a
    // reload, or from another tab) is. Wait for the interviewer, then see whether ours is in.
    setAnswerStatus(pending.bubble, "sending", "waiting for the interviewer…");
    pollUntilIdle().then(() => {
      if (pending.bubble.dataset.id) return; // adopted by the transcript: it was received
      pending.bubble.remove();
      if (!ui.textarea.value) {
        ui.textarea.value = pending.content;
        updateCount();
        saveDraft();
      }
      showComposerError(`Your answer was not sent (${message}). Check it and send it again.`);
      focusAnswer();
    });
    return;
  }
  session.failed = pending;
  const retry = markFailed(pending.bubble, message);
  showComposerError(
    status === 0 ? "Could not reach the server. Your answer is kept: retry when you are back online." : "",
  );
  setComposerEnabled(false);
  retry.focus();
}

function fatalBanner(text) {
  const box = $("fatal");
  box.replaceChildren(el("p", null, text));
  const a = el("a", "button", "Back to the start page");
  a.href = "/";
  const p = el("p");
  p.append(a);
  box.append(p);
  box.hidden = false;
  ui.form.hidden = true;
}

// ---- loading, refresh and polling ------------------------------------------------------------

async function refresh() {
  const data = await getSession(session.id, session.token);
  syncMessages(data.messages || []);
  applyState(data.state);
  return data;
}

function pollUntilIdle() {
  if (!session.poll) {
    session.poll = pollLoop().finally(() => {
      session.poll = null;
    });
  }
  return session.poll;
}

async function pollLoop() {
  setComposerEnabled(false);
  ui.pendingNote.hidden = false;
  ui.thinking.hidden = false;
  let delay = POLL_MS;
  const started = Date.now();
  try {
    for (;;) {
      await sleep(delay);
      let data;
      try {
        data = await refresh();
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          fatalBanner("This interview was not found or this browser no longer has access to it.");
          return;
        }
        continue; // transient: keep polling
      }
      if (!data.state || !data.state.pending) break;
      if (Date.now() - started > 60000) delay = 5000;
    }
  } finally {
    ui.pendingNote.hidden = true;
    ui.thinking.hidden = true;
  }
  showComposerError("");
  setComposerEnabled(true);
  focusAnswer();
}

async function init() {
  if (!session.id) {
    fatal("This address does not name an interview.");
    return;
  }
  session.token = loadToken(session.id);
  if (!session.token) {
    fatal(
      "This browser does not hold the key to this interview. Interviews can only be continued " +
        "in the browser where they were started. Start a new one from the start page.",
    );
    return;
  }
  ui.reportLink.href = `/interview/${encodeURIComponent(session.id)}/report`;
  session.exercise = exercisePanel({ sessionId: session.id, token: session.token, onMessage, onState: applyState });

  let data;
  try {
    data = await getSession(session.id, session.token);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      fatal(err.message); // the link expired (INTERVIEWER_CANDIDATE_TOKEN_DAYS)
    } else if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
      fatal("This interview was not found, or this browser does not have access to it.");
    } else {
      fatal(`Could not load the interview: ${err.message}. Reload the page to try again.`, false);
    }
    return;
  }

  $("loading").hidden = true;
  $("session").hidden = false;
  syncMessages(data.messages || []);
  applyState(data.state);
  session.loaded = true;

  try {
    ui.textarea.value = localStorage.getItem(draftKey()) || "";
  } catch {
    /* ignore */
  }
  updateCount();

  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitAnswer();
  });
  ui.textarea.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      submitAnswer();
    }
  });
  ui.textarea.addEventListener("input", () => {
    updateCount();
    saveDraft();
    if (ui.error.textContent) showComposerError("");
  });

  if (data.state && data.state.status === "completed") return;
  if (data.state && data.state.pending) {
    pollUntilIdle();
    return;
  }
  setComposerEnabled(true);
  focusAnswer();
}

init();
