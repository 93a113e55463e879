// Rebuilds interviewer/web/static/vendor/codemirror.js from npm packages (see that folder's README.md for the exact commands).
// Copied with this folder into a scratch folder outside the repo: `npm ci && node build.mjs OUTFILE`.
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("./entry.mjs", import.meta.url));
const outfile = process.argv[2];
if (!outfile) throw new Error("usage: node build.mjs OUTFILE");

// style-mod (CodeMirror's style injector) writes a <style> element into a document and uses a
// constructed, adopted stylesheet only inside shadow roots. The app's CSP (style-src 'self', no
// nonces) blocks the <style> element, so the editor would be unstyled: make it adopt a
// constructed sheet for documents too (a CSSOM sheet is not subject to style-src).
const adoptAlways = {
  name: "style-mod-adopt",
  setup(b) {
    b.onLoad({ filter: /style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const src = await readFile(args.path, "utf8");
      const from = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {";
      if (!src.includes(from)) throw new Error("style-mod changed: review the adoptedStyleSheets patch");
      return { contents: src.replace(from, "if (root.adoptedStyleSheets && win.CSSStyleSheet) {"), loader: "js" };
    });
  },
};

await build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  legalComments: "none",
  banner: { js: "/* CodeMirror 6, Lezer and their helpers (MIT): see vendor/README.md and vendor/LICENSE.txt */" },
  outfile,
  plugins: [adoptAlways],
});
