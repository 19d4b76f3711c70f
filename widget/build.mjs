// Builds the widget: widget/src/main.ts and what it imports (the SDK in sdk/js/src, the locale
// files) into one IIFE script, minified. The output depends on the sources only (no time, no
// absolute path), so building twice gives the same bytes, and a test rebuilds it and compares
// it with dist/parlour-widget.js, the script the server serves.
//   node build.mjs <outfile>
import { build } from "esbuild";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const outfile = process.argv[2];
if (!outfile) {
  console.error("usage: node build.mjs <outfile>");
  process.exit(2);
}
process.chdir(dirname(fileURLToPath(import.meta.url)));

await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  charset: "utf8",
  legalComments: "none",
  sourcemap: false,
  banner: {
    js:
      "/* Parlour chat widget, protocol v1. Built from widget/src (TypeScript, on the SDK in sdk/js) " +
      "by widget/build.mjs; README.md says how to embed it. */",
  },
  logLevel: "warning",
});
