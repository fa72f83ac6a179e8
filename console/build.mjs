// Builds the console into chalicelib/console_dist/, which the app serves at /console/
// and `chalice package` bundles with the rest of chalicelib/.
//
//   node console/build.mjs            (make console; make run, make test and make package call it)
//
// Output is flat (one path segment per file, see chalicelib/api/console.py) and text only:
// app-<hash>.js and app-<hash>.css are named after their content, so the app can let browsers
// keep them for a year; index.html, favicon.svg and manifest.json keep their names.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "chalicelib", "console_dist");
const scratch = join(here, "..", "build", "console-esbuild");

rmSync(scratch, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(here, "src", "main.jsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: scratch,
  entryNames: "app-[hash]",
  metafile: true,
  // Licence notices of the bundled libraries stay, at the end of each file.
  legalComments: "eof",
  // Catalogues in Cyrillic stay readable and half the size of \u escapes.
  charset: "utf8",
  logLevel: "warning",
});

const TYPES = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};
const typeOf = (name) => TYPES[name.slice(name.lastIndexOf("."))];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = {};
const put = (name, text) => {
  writeFileSync(join(out, name), text);
  files[name] = typeOf(name);
};

const built = readdirSync(scratch);
const script = built.find((name) => name.endsWith(".js"));
const style = built.find((name) => name.endsWith(".css"));
for (const name of [script, style]) put(name, readFileSync(join(scratch, name), "utf8"));

const favicon = readFileSync(join(here, "public", "favicon.svg"), "utf8");
put("favicon.svg", favicon);
const index = readFileSync(join(here, "public", "index.html"), "utf8")
  .replace("%STYLE%", style)
  .replace("%SCRIPT%", script);
put("index.html", index);

const gzipped = [script, style].reduce((sum, name) => sum + gzipSync(readFileSync(join(out, name))).length, 0);
const version = createHash("sha256").update(script + style).digest("hex").slice(0, 12);
put("manifest.json", JSON.stringify({ version, files, script, style, gzipped_bytes: gzipped }, null, 2) + "\n");
console.log(`console built: ${script}, ${style} (${(gzipped / 1024).toFixed(1)} KB gzipped) -> ${out}`);
