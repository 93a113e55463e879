// The coding exercise in the chat page: statement, examples, a CodeMirror editor, "Run examples"
// and "Submit". Shown while the session state names an open exercise (`state.exercise`).
// Bank text (title, statement, examples) and run results are inserted as text, never as HTML.
// CodeMirror is vendored (/static/vendor/codemirror.js, see vendor/README.md): no CDN, strict CSP.
import { ApiError, getExercise, newClientMsgId, runExercise, withNetworkRetries } from "/static/api.js";
import { el, plural } from "/static/dom.js";
import {
  EditorState,
  EditorView,
  bracketMatching,
  defaultHighlightStyle,
  defaultKeymap,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  history,
  historyKeymap,
  indentOnInput,
  indentUnit,
  indentWithTab,
  keymap,
  lineNumbers,
  python,
  syntaxHighlighting,
} from "/static/vendor/codemirror.js";

const $ = (id) => document.getElementById(id);


/**
 * The exercise panel. `onMessage(msg)` shows an interviewer message in the chat, `onState(state)`
 * applies a new session state (which calls `update` again).
 */
export function exercisePanel({ sessionId, token, onMessage, onState }) {
  const ui = {
    root: $("exercise"),
    title: $("exercise-title"),
    limit: $("exercise-limit"),
    statement: $("exercise-statement"),
    examples: $("exercise-examples"),
    exampleList: $("exercise-example-list"),
    editor: $("editor"),
    run: $("run-examples"),
    submit: $("submit-code"),
    status: $("exercise-status"),
    submissions: $("exercise-submissions"),
    error: $("exercise-error"),
    results: $("exercise-results"),
  };
  const current = { id: null, view: null, pending: false, loading: null, submitted: 0, maxSubmissions: 0 };
  const draftKey = (exerciseId) => `interviewer:code:${sessionId}:${exerciseId}`;

  function loadDraft(exerciseId) {
    try {
      return sessionStorage.getItem(draftKey(exerciseId));
    } catch {
      return null;
    }
  }

  function saveDraft(code) {
    try {
      sessionStorage.setItem(draftKey(current.id), code);
    } catch {
      /* storage unavailable: the draft is a convenience */
    }
  }

  function makeEditor(doc) {
    const extensions = [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      indentUnit.of("    "),
      EditorState.tabSize.of(4),
      indentOnInput(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      bracketMatching(),
      highlightActiveLine(),
      python(),
      keymap.of([
        { key: "Mod-Enter", run: () => (run("examples"), true) },
        ...defaultKeymap,
        ...historyKeymap,
        indentWithTab, // Escape, then Tab, moves focus on (CodeMirror's tab focus mode)
      ]),
      EditorView.contentAttributes.of({
        "aria-labelledby": "editor-label",
        "aria-describedby": "editor-help",
        spellcheck: "false",
        autocapitalize: "off",
        autocorrect: "off",
      }),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) saveDraft(u.state.doc.toString());
      }),
    ];
    return new EditorView({ state: EditorState.create({ doc, extensions }), parent: ui.editor });
  }

  function renderExercise(ex, runs) {
    ui.title.textContent = ex.title || "Coding exercise";
    const minutes = Number(ex.time_limit_s) > 0 ? Math.round(Number(ex.time_limit_s) / 60) : 0;
    ui.limit.hidden = !minutes;
    ui.limit.textContent = minutes ? `Suggested time: about ${plural(minutes, "minute")}.` : "";
    ui.statement.textContent = ex.statement || "";
    const examples = Array.isArray(ex.examples) ? ex.examples : [];
    ui.exampleList.replaceChildren(
      ...examples.map((x) => {
        const fig = el("figure", "exercise-example");
        fig.append(el("figcaption", null, x.name || "Example"));
        const pre = el("pre");
        pre.append(el("code", null, x.code || ""));
        fig.append(pre);
        return fig;
      }),
    );
    ui.examples.hidden = !examples.length;
    const code = loadDraft(ex.id) ?? ex.starter_code ?? "";
    if (current.view) current.view.destroy();
    current.view = makeEditor(code);
    showError("");
    current.submitted = Number(ex.submissions) || 0;
    current.maxSubmissions = Number(ex.max_submissions) || 0;
    showSubmissions();
    const last = Array.isArray(runs) && runs.length ? runs[runs.length - 1] : null;
    if (last) renderRun(last);
    else ui.results.hidden = true;
  }

  function renderRun(result) {
    const passed = Number(result.passed) || 0;
    const failed = Number(result.failed) || 0;
    const errors = Number(result.errors) || 0;
    const what = result.kind === "submit" ? "Submission" : "Examples";
    const head = el("p", "run-summary");
    const ok = !failed && !errors && !result.timed_out;
    head.classList.add(ok ? "run-ok" : "run-bad");
    let summary = `${what}: ${plural(passed, "test")} passed`;
    if (failed) summary += `, ${failed} failed`;
    if (errors) summary += `, ${plural(errors, "error")}`;
    if (result.duration_ms != null) summary += ` — ran in ${Math.round(Number(result.duration_ms))} ms`;
    head.textContent = summary;
    const nodes = [head];
    if (result.timed_out) nodes.push(el("p", "run-note", "The run hit the time limit and was stopped."));
    if (result.stdout_truncated) nodes.push(el("p", "run-note", "The output was too long and was cut off."));
    const tests = Array.isArray(result.tests) ? result.tests : [];
    if (tests.length) {
      const list = el("ul", "run-tests");
      for (const t of tests) {
        const li = el("li", t.ok ? "test-ok" : "test-bad");
        li.append(el("span", "test-mark", t.ok ? "✓" : "✗"));
        li.lastChild.setAttribute("aria-hidden", "true");
        li.append(el("span", "visually-hidden", t.ok ? "passed: " : "failed: "));
        li.append(el("span", "test-name", t.name || "test"));
        if (t.message) li.append(el("pre", "test-message", t.message));
        list.append(li);
      }
      nodes.push(list);
    }
    ui.results.replaceChildren(...nodes);
    ui.results.hidden = false;
  }

  /** "Submissions: 1 of 3 used." — and Submit is disabled once they are all used. */
  function showSubmissions() {
    const max = current.maxSubmissions;
    const left = max ? max - current.submitted : 1;
    ui.submissions.textContent = max && current.submitted ? `Submissions: ${current.submitted} of ${max} used.` : "";
    ui.submit.disabled = current.pending || left <= 0;
    ui.submit.title = left <= 0 ? "No submissions left: answer the interviewer's question in the chat." : "";
  }

  function showError(text) {
    ui.error.textContent = text;
  }

  function setPending(pending, text = "") {
    current.pending = pending;
    ui.run.disabled = pending;
    showSubmissions();
    ui.root.setAttribute("aria-busy", pending ? "true" : "false");
    ui.status.textContent = text;
  }

  function errorText(err) {
    const status = err instanceof ApiError ? err.status : -1;
    const detail = err instanceof ApiError ? err.message : "unexpected error";
    const wait = err instanceof ApiError && err.retryAfter ? ` Try again in ${plural(err.retryAfter, "second")}.` : "";
    switch (status) {
      case 0:
        return "Could not reach the server. Your code is kept: try again when you are back online.";
      case 409:
        return `Your code is already being run (${detail}). Wait for that run to finish, then try again.`;
      case 429:
        return `Too many runs in a short time.${wait || " Wait a moment, then try again."}`;
      case 503:
        return `The code runner is unavailable or busy right now.${wait || " Try again in a moment."}`;
      case 404:
        return "This exercise is no longer open.";
      default:
        return `Your code could not be run: ${detail}`;
    }
  }

  async function run(kind) {
    if (current.pending || !current.view || !current.id) return;
    const code = current.view.state.doc.toString();
    if (kind === "submit" && !code.trim()) {
      showError("Write some code first.");
      current.view.focus();
      return;
    }
    showError("");
    const clientMsgId = newClientMsgId(); // one per click; an automatic retry reuses it
    setPending(true, kind === "submit" ? "Submitting your code…" : "Running the examples…");
    let response = null;
    let error = null;
    try {
      response = await withNetworkRetries(() => runExercise(sessionId, token, { code, kind, clientMsgId }));
    } catch (err) {
      error = err;
    }
    setPending(false);
    if (error) {
      showError(errorText(error));
      return;
    }
    if (response.run) renderRun({ kind, ...response.run });
    if (kind === "submit") {
      current.submitted += 1;
      showSubmissions();
    }
    for (const m of response.messages || []) onMessage(m);
    if (response.state) onState(response.state);
  }

  async function open(exerciseId) {
    current.id = exerciseId;
    let data;
    try {
      data = await getExercise(sessionId, token);
    } catch (err) {
      if (current.id !== exerciseId) return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 409)) {
        close(); // closed in the meantime: the next state says so
        return;
      }
      ui.root.hidden = false;
      showError(`Could not load the exercise: ${err.message}. Reload the page to try again.`);
      return;
    }
    if (current.id !== exerciseId || !data || !data.exercise) return;
    renderExercise(data.exercise, data.runs);
    ui.root.hidden = false;
  }

  function close() {
    current.id = null;
    if (current.view) current.view.destroy();
    current.view = null;
    ui.root.hidden = true;
  }

  ui.run.addEventListener("click", () => run("examples"));
  ui.submit.addEventListener("click", () => run("submit"));

  return {
    /** Follow the session state: open the named exercise, or close the panel when none is open. */
    update(state) {
      const ex = state && state.status !== "completed" ? state.exercise : null;
      if (!ex || !ex.id) {
        if (current.id) close();
        return;
      }
      if (ex.id === current.id) return;
      ui.title.textContent = ex.title || "Coding exercise";
      current.loading = open(ex.id);
    },
  };
}
