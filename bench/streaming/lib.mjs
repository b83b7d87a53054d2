// Shared by the streaming benchmarks: flags, statistics, a table, the JSON result file. The
// processes and the browser come from the e2e harness (tests/e2e/lib/harness.mjs).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { repoRoot } from "../../tests/e2e/lib/harness.mjs";

export { repoRoot };

/** --runs N, --out DIR, plus the benchmark's own options ({name: {type, default}}). */
export function flags(defaults, extra = {}) {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: String(defaults.runs ?? 20) },
      out: { type: "string", default: path.join(repoRoot, "build", "bench-results") },
      ...extra,
    },
  });
  return { ...values, runs: Number(values.runs) };
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const mean = v.reduce((a, b) => a + b, 0) / (v.length || 1);
  return {
    n: v.length,
    median: percentile(v, 50),
    p90: percentile(v, 90),
    min: v[0] ?? NaN,
    max: v[v.length - 1] ?? NaN,
    mean,
  };
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");

/** Prints rows of {label, ...summary} as a table of milliseconds (or the given unit). */
export function printTable(title, rows, unit = "ms") {
  const width = Math.max(title.length, ...rows.map((r) => r.label.length)) + 2;
  const cols = ["median", "p90", "min", "max", "n"];
  console.log(`${title.padEnd(width)}${cols.map((c) => c.padStart(9)).join("")}   (${unit})`);
  for (const r of rows) {
    const cells = cols.map((c) => (c === "n" ? String(r.n) : fmt(r[c])).padStart(9));
    console.log(`${r.label.padEnd(width)}${cells.join("")}`);
  }
}

/** Writes the result as JSON to DIR/NAME.json and says where. */
export function writeResult(dir, name, result) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ benchmark: name, at: new Date().toISOString(), ...result }, null, 2) + "\n",
  );
  console.log(`wrote ${file}`);
  return file;
}
