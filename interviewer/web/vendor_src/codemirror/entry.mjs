// The one CodeMirror 6 module the chat page imports (/static/vendor/codemirror.js): a lean setup
// (no autocompletion, search or lint panels) with what a Python exercise needs. Bundled by build.mjs.
export { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, drawSelection } from "@codemirror/view";
export { EditorState } from "@codemirror/state";
export { history, historyKeymap, defaultKeymap, indentWithTab } from "@codemirror/commands";
export { indentOnInput, bracketMatching, syntaxHighlighting, defaultHighlightStyle, indentUnit }
  from "@codemirror/language";
export { python } from "@codemirror/lang-python";
