// Bundle size of the browser entry (src/index.js): bundled and minified in memory by esbuild
// (format esm, platform browser), then gzipped (level 9). Fails when the gzip size is over the
// budget, or when the bundle reaches the API-key path (mintClientCredentials is server-only; the
// browser entry's createClientCredentials is the official SDK's builder from parts, no key).
//
//   npm run size                       # from sdks/js; or: node sdks/js/scripts/size.mjs
//   node scripts/size.mjs [--budget-kb 30] [--out DIR] [--entry src/index.js]
//
// Writes DIR/sdk_size.json (default build/bench-results/ under the repository root).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

import { build, version as esbuildVersion } from "esbuild";

const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(sdkDir, "../..");
const { values } = parseArgs({
  options: {
    "budget-kb": { type: "string", default: "30" },
    entry: { type: "string", default: "src/index.js" }, // relative to sdks/js
    out: { type: "string", default: path.join(repoRoot, "build", "bench-results") },
  },
});
const budget = Number(values["budget-kb"]) * 1000; // kB as in the issue: 1000 bytes

const bundle = (minifyIdentifiers) =>
  build({
    entryPoints: [path.resolve(sdkDir, values.entry)],
    bundle: true,
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers,
    format: "esm",
    platform: "browser",
    target: "es2020",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
const result = await bundle(true);
const code = result.outputFiles[0].contents;
const raw = code.length;
const gzip = gzipSync(code, { level: 9 }).length;
const inputs = Object.keys(result.metafile.inputs).map((p) => path.relative(sdkDir, p));

// The API-key path must stay out of the browser. Minifying renames a bundled function, so the
// identifier is looked for in a bundle that keeps names, outside string literals and comments (an
// error message may name it: "mint credentials on the server with createClientCredentials()").
// createClientCredentials itself is in the browser entry, as in the official SDK, where it only
// builds credentials from their parts; the minting function is mintClientCredentials.
// The server module itself and its strings must not be there either.
const named = Buffer.from((await bundle(false)).outputFiles[0].contents).toString("utf8");
const codeOnly = named.replace(
  /\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g,
  '""',
);
const leaks = [];
if (/\bmintClientCredentials\b/.test(codeOnly)) leaks.push("mintClientCredentials (code)");
if (inputs.includes(path.join("src", "server.js"))) leaks.push("src/server.js (module)");
for (const marker of ["/v1/client_credentials", "ITHACA_API_KEY"]) {
  if (named.includes(marker)) leaks.push(`${marker} (server-only string)`);
}
const count = (text) => text.split("mintClientCredentials").length - 1;
const mentions = count(named) - count(codeOnly);

const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
console.log(
  `@ithaca/sdk browser entry (${values.entry}), esbuild ${esbuildVersion}, esm, minified`,
);
console.log(`  modules: ${inputs.join(", ")}`);
console.log(`  raw:     ${String(raw).padStart(7)} B  (${kb(raw)})`);
console.log(`  gzip -9: ${String(gzip).padStart(7)} B  (${kb(gzip)}; budget ${kb(budget)})`);
console.log(
  `  mintClientCredentials: ${leaks.length ? "REACHABLE" : "absent"} from the code` +
    (mentions > 0 ? ` (named in ${mentions} message string${mentions > 1 ? "s" : ""})` : ""),
);

const ok = gzip <= budget && leaks.length === 0;
mkdirSync(values.out, { recursive: true });
const file = path.join(values.out, "sdk_size.json");
writeFileSync(
  file,
  JSON.stringify(
    {
      benchmark: "sdk_size",
      at: new Date().toISOString(),
      entry: path.posix.join("sdks/js", values.entry),
      esbuild: esbuildVersion,
      format: "esm",
      platform: "browser",
      unit: "bytes",
      raw,
      gzip,
      gzip_level: 9,
      budget_gzip: budget,
      within_budget: gzip <= budget,
      modules: inputs,
      forbidden_found: leaks,
      ok,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${file}`);

if (leaks.length) {
  console.error(`FAIL: the API-key path reaches the browser bundle: ${leaks.join(", ")}`);
}
if (gzip > budget) console.error(`FAIL: gzip size ${kb(gzip)} is over the ${kb(budget)} budget`);
process.exit(ok ? 0 : 1);
