// Builds the console into ../dist, which is checked in and embedded in the
// dsgen binary: app.js (the bundle, minified), app.css, index.html. Run by
// `go generate ./internal/serve/console` after `npm ci`; the output depends
// only on the sources and package-lock.json.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("../dist/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  legalComments: "eof",
  outfile: out + "app.js",
  logLevel: "warning",
});
copyFileSync("index.html", out + "index.html");
copyFileSync("app.css", out + "app.css");
