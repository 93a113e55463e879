// DOM helpers of the candidate pages (chat, exercise, report): text goes in as text, never HTML.
const SVG_NS = "http://www.w3.org/2000/svg";

/** An element with an optional class and text content. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** An SVG element with attributes (set as attributes: no inline style) and optional text. */
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text != null) node.textContent = text;
  return node;
}

/** "1 test", "2 tests". */
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
